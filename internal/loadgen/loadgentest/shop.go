// Package loadgentest is an in-memory Agora shop behind one HTTP handler,
// for testing the load generator without the platform: the catalog, cart
// and ordering endpoints a shopper uses, with ownership checks,
// Idempotency-Key replays, ETags and orders that move through the checkout
// saga's statuses as time passes. It counts every request it answers.
package loadgentest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	cartapi "github.com/agoracommerce/agora/gen/openapi/cart"
	catalogapi "github.com/agoracommerce/agora/gen/openapi/catalog"
	orderingapi "github.com/agoracommerce/agora/gen/openapi/ordering"
)

// Endpoints, the keys of Shop.Counts.
const (
	ListProducts   = "GET /v1/products"
	SearchProducts = "GET /v1/products?q"
	GetProduct     = "GET /v1/products/{id}"
	ListCarts      = "GET /v1/carts"
	CreateCart     = "POST /v1/carts"
	AddLine        = "POST /v1/carts/{id}/lines"
	PlaceOrder     = "POST /v1/orders"
	GetOrder       = "GET /v1/orders/{id}"
)

// Options shape a Shop. The zero value is a shop of 30 products.
type Options struct {
	// Products is how many active products the catalog has; negative
	// means none. Zero means 30.
	Products int
	// Delay is added to every answer.
	Delay time.Duration
	// SagaStep is how long an order stays in each of PENDING, CONFIRMED
	// and SHIPPED before it is COMPLETED; zero means 30ms.
	SagaStep time.Duration
	// RejectEvery rejects every n-th order instead of completing it.
	RejectEvery int
	// UnavailableEvery answers every n-th checkout request 503 with
	// Retry-After: 1 (before looking at it).
	UnavailableEvery int
	// Authenticate returns the caller's subject; nil takes the bearer
	// token itself as the subject.
	Authenticate func(r *http.Request) (subject string, ok bool)
}

// Shop is the fake. Safe for concurrent use.
type Shop struct {
	opts     Options
	mux      *http.ServeMux
	products []catalogapi.Product
	byID     map[uuid.UUID]int

	mu        sync.Mutex
	counts    map[string]int
	subjects  map[string]bool
	carts     map[uuid.UUID]*cartapi.Cart
	orders    map[uuid.UUID]*order
	keys      map[string]replay
	checkouts int
}

type order struct {
	body     orderingapi.Order
	placed   time.Time
	rejected bool
}

type replay struct {
	body   []byte
	status int
	answer []byte
}

var _ http.Handler = (*Shop)(nil)

// Words that product names are made of.
var (
	adjectives = []string{"Red", "Blue", "Green", "Linen", "Wool", "Ceramic", "Oak", "Steel", "Velvet", "Amber"}
	nouns      = []string{"Mug", "Scarf", "Lamp", "Chair", "Notebook", "Teapot", "Blanket", "Vase", "Backpack", "Kettle"}
)

// NewShop returns a shop with its catalog filled.
func NewShop(opts Options) *Shop {
	if opts.Products == 0 {
		opts.Products = 30
	}
	if opts.SagaStep == 0 {
		opts.SagaStep = 30 * time.Millisecond
	}
	s := &Shop{opts: opts, mux: http.NewServeMux(), byID: map[uuid.UUID]int{}, counts: map[string]int{}, subjects: map[string]bool{},
		carts: map[uuid.UUID]*cartapi.Cart{}, orders: map[uuid.UUID]*order{}, keys: map[string]replay{}}
	cats := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	now := time.Now().UTC()
	for i := range max(opts.Products, 0) {
		currency := "EUR"
		if i%5 == 4 {
			currency = "USD"
		}
		p := catalogapi.Product{
			Id:          uuid.New(),
			Sku:         fmt.Sprintf("SKU-%04d", i),
			Name:        adjectives[i%len(adjectives)] + " " + nouns[(i/len(adjectives)+i)%len(nouns)],
			Description: "A fine thing.",
			Price:       catalogapi.Money{AmountMinor: int64(500 + 100*i), Currency: currency},
			CategoryId:  cats[i%len(cats)],
			Attributes:  catalogapi.Attributes{},
			ImageUrls:   []string{},
			Status:      catalogapi.ProductStatusActive,
			Version:     1,
			CreatedAt:   now,
			UpdatedAt:   now,
		}
		s.byID[p.Id] = len(s.products)
		s.products = append(s.products, p)
	}
	s.mux.HandleFunc("GET /v1/products", s.listProducts)
	s.mux.HandleFunc("GET /v1/products/{id}", s.getProduct)
	s.mux.HandleFunc("GET /v1/carts", s.authed(s.listCarts))
	s.mux.HandleFunc("POST /v1/carts", s.authed(s.createCart))
	s.mux.HandleFunc("POST /v1/carts/{id}/lines", s.authed(s.addLine))
	s.mux.HandleFunc("POST /v1/orders", s.authed(s.placeOrder))
	s.mux.HandleFunc("GET /v1/orders/{id}", s.authed(s.getOrder))
	return s
}

// Products returns the catalog.
func (s *Shop) Products() []catalogapi.Product { return s.products }

// Counts returns how many requests each endpoint answered.
func (s *Shop) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// Subjects returns the distinct callers seen on authenticated endpoints.
func (s *Shop) Subjects() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.subjects))
	for k := range s.subjects {
		out = append(out, k)
	}
	return out
}

// ServeHTTP answers one request.
func (s *Shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.Delay > 0 {
		t := time.NewTimer(s.opts.Delay)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Shop) count(endpoint string) {
	s.mu.Lock()
	s.counts[endpoint]++
	s.mu.Unlock()
}

func (s *Shop) listProducts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	text := strings.ToLower(q.Get("q"))
	if text != "" {
		s.count(SearchProducts)
	} else {
		s.count(ListProducts)
	}
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			problem(w, http.StatusBadRequest, "limit must be 1 to 100")
			return
		}
		limit = n
	}
	offset := 0
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			problem(w, http.StatusBadRequest, "bad cursor")
			return
		}
		offset = n
	}
	var category uuid.UUID
	if v := q.Get("category_id"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			problem(w, http.StatusBadRequest, "category_id is not a UUID")
			return
		}
		category = id
	}
	page := catalogapi.ProductPage{Items: []catalogapi.Product{}}
	matched := 0
	for _, p := range s.products {
		if category != uuid.Nil && p.CategoryId != category || text != "" && !strings.Contains(strings.ToLower(p.Name), text) {
			continue
		}
		matched++
		if matched <= offset {
			continue
		}
		if len(page.Items) == limit {
			next := strconv.Itoa(offset + limit)
			page.NextCursor = &next
			break
		}
		page.Items = append(page.Items, p)
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Shop) getProduct(w http.ResponseWriter, r *http.Request) {
	s.count(GetProduct)
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		problem(w, http.StatusBadRequest, "productId is not a UUID")
		return
	}
	i, ok := s.byID[id]
	if !ok {
		problem(w, http.StatusNotFound, "no such product")
		return
	}
	writeJSON(w, http.StatusOK, s.products[i])
}

// authed checks the bearer token and passes the caller's subject on.
func (s *Shop) authed(next func(w http.ResponseWriter, r *http.Request, subject string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var subject string
		var ok bool
		if s.opts.Authenticate != nil {
			subject, ok = s.opts.Authenticate(r)
		} else {
			subject, ok = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			ok = ok && subject != ""
		}
		if !ok {
			s.count(r.Pattern)
			w.Header().Set("WWW-Authenticate", "Bearer")
			problem(w, http.StatusUnauthorized, "a valid bearer token is required")
			return
		}
		s.mu.Lock()
		s.subjects[subject] = true
		s.mu.Unlock()
		next(w, r, subject)
	}
}

func (s *Shop) listCarts(w http.ResponseWriter, _ *http.Request, subject string) {
	s.count(ListCarts)
	s.mu.Lock()
	page := cartapi.CartPage{Items: []cartapi.Cart{}}
	for _, c := range s.carts {
		if c.CustomerId == subject && len(page.Items) < 20 {
			page.Items = append(page.Items, *c)
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, page)
}

func (s *Shop) createCart(w http.ResponseWriter, r *http.Request, subject string) {
	s.count(CreateCart)
	var in cartapi.NewCart
	if !decode(w, r, &in) {
		return
	}
	if len(in.Currency) != 3 {
		problem(w, http.StatusBadRequest, "currency must be an ISO 4217 code")
		return
	}
	now := time.Now().UTC()
	c := &cartapi.Cart{Id: uuid.New(), CustomerId: subject, Status: cartapi.Open, Currency: in.Currency, Lines: []cartapi.Line{},
		Total: cartapi.Money{Currency: in.Currency}, Version: 1, CreatedAt: now, UpdatedAt: now}
	s.mu.Lock()
	s.carts[c.Id] = c
	out := *c
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

func (s *Shop) addLine(w http.ResponseWriter, r *http.Request, subject string) {
	s.count(AddLine)
	var in cartapi.NewLine
	if !decode(w, r, &in) {
		return
	}
	if in.Quantity < 1 || in.Quantity > 99 {
		problem(w, http.StatusUnprocessableEntity, "quantity must be 1 to 99")
		return
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		problem(w, http.StatusBadRequest, "cartId is not a UUID")
		return
	}
	i, known := s.byID[in.ProductId]
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.carts[id]
	switch {
	case !ok || c.CustomerId != subject:
		problem(w, http.StatusNotFound, "no such cart")
		return
	case c.Status != cartapi.Open:
		problem(w, http.StatusConflict, "the cart is not open")
		return
	case !known:
		problem(w, http.StatusConflict, "the product is not on sale")
		return
	}
	p := s.products[i]
	if p.Price.Currency != c.Currency {
		problem(w, http.StatusConflict, "the product is not sold in the cart's currency")
		return
	}
	status := http.StatusCreated
	for j := range c.Lines {
		if c.Lines[j].ProductId == p.Id {
			c.Lines[j].Quantity += in.Quantity
			status = http.StatusOK
		}
	}
	price := cartapi.Money{AmountMinor: p.Price.AmountMinor, Currency: p.Price.Currency}
	if status == http.StatusCreated {
		c.Lines = append(c.Lines, cartapi.Line{ProductId: p.Id, Sku: p.Sku, Name: p.Name, Quantity: in.Quantity, UnitPrice: price,
			CurrentPrice: &price, Available: true, AddedAt: time.Now().UTC()})
	}
	c.ItemCount, c.Total.AmountMinor = 0, 0
	for j := range c.Lines {
		l := &c.Lines[j]
		l.LineTotal = cartapi.Money{AmountMinor: l.Quantity * l.UnitPrice.AmountMinor, Currency: c.Currency}
		c.ItemCount += l.Quantity
		c.Total.AmountMinor += l.LineTotal.AmountMinor
	}
	c.Version++
	c.UpdatedAt = time.Now().UTC()
	writeJSON(w, status, *c)
}

func (s *Shop) placeOrder(w http.ResponseWriter, r *http.Request, subject string) {
	s.count(PlaceOrder)
	s.mu.Lock()
	s.checkouts++
	unavailable := s.opts.UnavailableEvery > 0 && s.checkouts%s.opts.UnavailableEvery == 0
	s.mu.Unlock()
	if unavailable {
		w.Header().Set("Retry-After", "1")
		problem(w, http.StatusServiceUnavailable, "the cart service is unavailable")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" || len(key) > 255 {
		problem(w, http.StatusBadRequest, "the Idempotency-Key header is required")
		return
	}
	raw, err := readBody(r)
	if err != nil {
		problem(w, http.StatusBadRequest, "the body cannot be read")
		return
	}
	var in orderingapi.NewOrder
	if err := json.Unmarshal(raw, &in); err != nil {
		problem(w, http.StatusBadRequest, "the body is not a NewOrder")
		return
	}
	if in.PaymentToken == "" || in.ShippingAddress.Name == "" || in.ShippingAddress.Country == "" {
		problem(w, http.StatusBadRequest, "payment_token and shipping_address are required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	scoped := subject + "\x00" + key
	if prev, ok := s.keys[scoped]; ok {
		if !bytes.Equal(prev.body, raw) {
			problem(w, http.StatusUnprocessableEntity, "the Idempotency-Key was used with another body")
			return
		}
		writeRaw(w, prev.status, prev.answer)
		return
	}
	c, ok := s.carts[in.CartId]
	switch {
	case !ok || c.CustomerId != subject:
		problem(w, http.StatusNotFound, "no such cart")
		return
	case c.Status != cartapi.Open:
		problem(w, http.StatusConflict, "the cart is not open")
		return
	case len(c.Lines) == 0:
		problem(w, http.StatusUnprocessableEntity, "the cart is empty")
		return
	}
	now := time.Now().UTC()
	o := orderingapi.Order{Id: uuid.New(), CustomerId: subject, CartId: c.Id, Status: orderingapi.PENDING, Step: orderingapi.ReservingStock,
		ShippingAddress: in.ShippingAddress, Total: orderingapi.Money{AmountMinor: c.Total.AmountMinor, Currency: c.Currency},
		Version: 1, CreatedAt: now, UpdatedAt: now}
	if in.Email != nil {
		o.Email = string(*in.Email)
	}
	for _, l := range c.Lines {
		o.Lines = append(o.Lines, orderingapi.OrderLine{ProductId: l.ProductId, Sku: l.Sku, Name: l.Name, Quantity: l.Quantity,
			UnitPrice: orderingapi.Money(l.UnitPrice), LineTotal: orderingapi.Money(l.LineTotal)})
	}
	orderID := o.Id.String()
	c.Status, c.OrderId = cartapi.CheckedOut, &orderID
	s.orders[o.Id] = &order{body: o, placed: time.Now(), rejected: s.opts.RejectEvery > 0 && (len(s.orders)+1)%s.opts.RejectEvery == 0}
	answer, _ := json.Marshal(o)
	s.keys[scoped] = replay{body: raw, status: http.StatusCreated, answer: answer}
	w.Header().Set("Location", "/v1/orders/"+orderID)
	writeRaw(w, http.StatusCreated, answer)
}

func (s *Shop) getOrder(w http.ResponseWriter, r *http.Request, subject string) {
	s.count(GetOrder)
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		problem(w, http.StatusBadRequest, "orderId is not a UUID")
		return
	}
	s.mu.Lock()
	o, ok := s.orders[id]
	if !ok || o.body.CustomerId != subject {
		s.mu.Unlock()
		problem(w, http.StatusNotFound, "no such order")
		return
	}
	body := o.advance(s.opts.SagaStep)
	s.mu.Unlock()
	etag := fmt.Sprintf(`"%d"`, body.Version)
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// advance moves the order along the saga by the time passed since it was
// placed and returns it.
func (o *order) advance(step time.Duration) orderingapi.Order {
	stages := []struct {
		status orderingapi.OrderStatus
		step   orderingapi.SagaStep
	}{
		{orderingapi.PENDING, orderingapi.ReservingStock},
		{orderingapi.CONFIRMED, orderingapi.Shipping},
		{orderingapi.SHIPPED, orderingapi.CapturingPayment},
		{orderingapi.COMPLETED, orderingapi.Done},
	}
	i := min(int(time.Since(o.placed)/step), len(stages)-1)
	status, sagaStep := stages[i].status, stages[i].step
	if o.rejected && i > 0 {
		status, sagaStep = orderingapi.REJECTED, orderingapi.Done
	}
	if status != o.body.Status {
		o.body.Status, o.body.Step = status, sagaStep
		o.body.Version++
		o.body.UpdatedAt = time.Now().UTC()
	}
	return o.body
}

const maxBody = 1 << 20

func readBody(r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(http.MaxBytesReader(nil, r.Body, maxBody))
	return b.Bytes(), err
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, err := readBody(r)
	if err == nil {
		err = json.Unmarshal(raw, v)
	}
	if err != nil {
		problem(w, http.StatusBadRequest, "the body is not valid JSON for this operation")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		problem(w, http.StatusInternalServerError, "encode")
		return
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func problem(w http.ResponseWriter, status int, detail string) {
	b, _ := json.Marshal(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
