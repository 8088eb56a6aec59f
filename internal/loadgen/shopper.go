package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	openapitypes "github.com/oapi-codegen/runtime/types"

	cartapi "github.com/agoracommerce/agora/gen/openapi/cart"
	catalogapi "github.com/agoracommerce/agora/gen/openapi/catalog"
	orderingapi "github.com/agoracommerce/agora/gen/openapi/ordering"
)

// PaymentToken is the payment method every checkout sends: the payment
// gateway's test token that approves.
const PaymentToken = "tok_approve"

// Shopper behaviour.
const (
	pageSize         = 20  // products per browse or search page
	maxKnown         = 200 // products a shopper remembers
	maxPlaceAttempts = 3   // a checkout answered 503 is retried with the same key
	maxRetryAfter    = 2 * time.Second
)

// errStopped ends a session between two steps once the load stops.
var errStopped = errors.New("loadgen: the load stopped")

// shopper is one virtual customer: its own subject (through the token
// source), random stream and memory of the products it saw. A shopper
// belongs to one worker goroutine and is never shared.
type shopper struct {
	id    int
	rng   *rand.Rand
	known []product
	index map[uuid.UUID]int
	email string
}

func newShopper(id int, seed uint64) *shopper {
	return &shopper{
		id:    id,
		rng:   rand.New(rand.NewPCG(seed, uint64(id))), // #nosec G404 G115 -- a reproducible load shape, not a secret
		index: map[uuid.UUID]int{},
		email: "shopper" + strconv.Itoa(id) + "@loadgen.example.com",
	}
}

// learn remembers p, forgetting a random older product when memory is full.
func (s *shopper) learn(p product) {
	if _, ok := s.index[p.id]; ok || p.id == uuid.Nil {
		return
	}
	if len(s.known) < maxKnown {
		s.index[p.id] = len(s.known)
		s.known = append(s.known, p)
		return
	}
	i := s.rng.IntN(len(s.known))
	delete(s.index, s.known[i].id)
	s.known[i] = p
	s.index[p.id] = i
}

func (s *shopper) learnPage(page catalogapi.ProductPage) {
	for _, p := range page.Items {
		if p.Status == catalogapi.ProductStatusActive {
			s.learn(productOf(p))
		}
	}
}

// session is one shopper session under way: admit ends it between steps,
// requests are sent with reqCtx so that they can finish after admit ends.
type session struct {
	r       *runner
	s       *shopper
	admit   context.Context
	reqCtx  context.Context
	token   string
	started bool
}

// step waits for the think time before every request but the first and
// reports whether the session may go on.
func (ss *session) step() error {
	if ss.admit.Err() != nil {
		return errStopped
	}
	if ss.started && ss.r.cfg.Think > 0 {
		// Exponentially distributed pauses around the mean think time.
		pause := time.Duration(ss.s.rng.ExpFloat64() * float64(ss.r.cfg.Think))
		t := time.NewTimer(min(pause, 10*ss.r.cfg.Think))
		select {
		case <-ss.admit.Done():
			t.Stop()
			return errStopped
		case <-t.C:
		}
	}
	ss.started = true
	return nil
}

func (ss *session) send(c call) (result, error) {
	if err := ss.step(); err != nil {
		return result{}, err
	}
	c.token = ss.token
	return ss.r.api.send(ss.reqCtx, c)
}

// run plays one session of kind.
func (ss *session) run(kind Kind) error {
	tok, err := ss.r.cfg.Tokens.Token(ss.reqCtx, ss.s.id)
	if err != nil {
		ss.r.rec.tokenFailed()
		return fmt.Errorf("shopper %d: %w", ss.s.id, err)
	}
	ss.token = tok
	switch kind {
	case KindBrowse:
		return ss.browse()
	case KindSearch:
		return ss.search()
	case KindCart:
		_, err := ss.fillCart()
		return err
	case KindCheckout:
		return ss.checkout()
	default:
		return fmt.Errorf("loadgen: unknown session kind %q", kind)
	}
}

// browse lists a page of products, of one category now and then, and opens
// one to three of them.
func (ss *session) browse() error {
	q := url.Values{"limit": {strconv.Itoa(pageSize)}}
	if cats := ss.r.catalog.categories; len(cats) > 0 && ss.s.rng.IntN(10) < 4 {
		q.Set("category_id", cats[ss.s.rng.IntN(len(cats))].String())
	}
	var page catalogapi.ProductPage
	if _, err := ss.send(call{op: OpBrowseList, method: http.MethodGet, path: "/v1/products", query: q, ok: []int{http.StatusOK}, out: &page}); err != nil {
		return err
	}
	ss.s.learnPage(page)
	choices := make([]product, 0, len(page.Items))
	for _, p := range page.Items {
		if p.Status == catalogapi.ProductStatusActive {
			choices = append(choices, productOf(p))
		}
	}
	if len(choices) == 0 {
		choices = ss.knownProducts("")
	}
	for range 1 + ss.s.rng.IntN(3) {
		p := choices[ss.s.rng.IntN(len(choices))]
		var got catalogapi.Product
		if _, err := ss.send(call{op: OpBrowseProduct, method: http.MethodGet, path: "/v1/products/" + p.id.String(), ok: []int{http.StatusOK}, out: &got}); err != nil {
			return err
		}
		if got.Status == catalogapi.ProductStatusActive {
			ss.s.learn(productOf(got))
		}
	}
	return nil
}

// search looks for a word from the name of a product the shopper knows.
func (ss *session) search() error {
	var words []string
	for _, p := range ss.s.known {
		words = append(words, p.words...)
	}
	if len(words) == 0 {
		words = ss.r.catalog.words
	}
	if len(words) == 0 { // names without a searchable word: search by a name
		words = []string{ss.r.catalog.products[ss.s.rng.IntN(len(ss.r.catalog.products))].name}
	}
	q := url.Values{"q": {words[ss.s.rng.IntN(len(words))]}, "limit": {strconv.Itoa(pageSize)}}
	var page catalogapi.ProductPage
	if _, err := ss.send(call{op: OpSearch, method: http.MethodGet, path: "/v1/products", query: q, ok: []int{http.StatusOK}, out: &page}); err != nil {
		return err
	}
	ss.s.learnPage(page)
	return nil
}

// knownProducts returns the products the shopper saw, in currency when it
// is not empty, or the discovered catalog's when it saw none.
func (ss *session) knownProducts(currency string) []product {
	var out []product
	for _, p := range ss.s.known {
		if currency == "" || p.currency == currency {
			out = append(out, p)
		}
	}
	if len(out) > 0 {
		return out
	}
	if currency == "" {
		return ss.r.catalog.products
	}
	return ss.r.catalog.byCurrency[currency]
}

// fillCart creates a cart in the currency of a product the shopper knows
// and puts one to three known products of that currency in it.
func (ss *session) fillCart() (uuid.UUID, error) {
	all := ss.knownProducts("")
	anchor := all[ss.s.rng.IntN(len(all))]
	candidates := ss.knownProducts(anchor.currency)
	var cart cartapi.Cart
	if _, err := ss.send(call{op: OpCartCreate, method: http.MethodPost, path: "/v1/carts", body: cartapi.NewCart{Currency: anchor.currency},
		ok: []int{http.StatusCreated}, out: &cart}); err != nil {
		return uuid.Nil, err
	}
	picked := []product{anchor}
	for n, draws := 1+ss.s.rng.IntN(3), 0; len(picked) < n && draws < 10; draws++ {
		p := candidates[ss.s.rng.IntN(len(candidates))]
		if !slices.ContainsFunc(picked, func(q product) bool { return q.id == p.id }) {
			picked = append(picked, p)
		}
	}
	for _, p := range picked {
		line := cartapi.NewLine{ProductId: p.id, Quantity: int64(1 + ss.s.rng.IntN(2))}
		if _, err := ss.send(call{op: OpCartAddLine, method: http.MethodPost, path: "/v1/carts/" + cart.Id.String() + "/lines", body: line,
			ok: []int{http.StatusOK, http.StatusCreated}}); err != nil {
			return uuid.Nil, err
		}
	}
	return cart.Id, nil
}

// checkout fills a cart and places an order for it with a fresh
// Idempotency-Key, retrying a 503 with the same key after Retry-After.
func (ss *session) checkout() error {
	cartID, err := ss.fillCart()
	if err != nil {
		return err
	}
	addresses := shippingAddresses
	body := orderingapi.NewOrder{
		CartId:          cartID,
		PaymentToken:    PaymentToken,
		Email:           ptr(openapitypes.Email(ss.s.email)),
		ShippingAddress: addresses[ss.s.rng.IntN(len(addresses))],
	}
	key := uuid.NewString()
	for attempt := 1; ; attempt++ {
		var order orderingapi.Order
		res, err := ss.send(call{op: OpCheckoutPlace, method: http.MethodPost, path: "/v1/orders", body: body,
			header: http.Header{"Idempotency-Key": {key}}, ok: []int{http.StatusCreated}, out: &order})
		if err == nil {
			ss.r.rec.placed.Add(1)
			ss.r.tracker.offer(order.Id.String(), ss.s.id, time.Now())
			return nil
		}
		if res.status != http.StatusServiceUnavailable || attempt >= maxPlaceAttempts {
			return err
		}
		wait := retryAfter(res.header.Get("Retry-After"))
		t := time.NewTimer(wait)
		select {
		case <-ss.admit.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// retryAfter reads a Retry-After in seconds, bounded by maxRetryAfter.
func retryAfter(v string) time.Duration {
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return min(time.Duration(n)*time.Second, maxRetryAfter)
	}
	return 200 * time.Millisecond
}

func ptr[T any](v T) *T { return &v }

// shippingAddresses are the addresses shoppers ship to.
var shippingAddresses = []orderingapi.Address{
	{Name: "Ada Lovelace", Line1: "12 Analytical Row", City: "London", PostalCode: "EC1A 1BB", Country: "GB"},
	{Name: "Émilie du Châtelet", Line1: "3 Rue des Sciences", City: "Paris", PostalCode: "75005", Country: "FR"},
	{Name: "Emmy Noether", Line1: "Bunsenstraße 3", City: "Göttingen", PostalCode: "37073", Country: "DE"},
	{Name: "Maria Gaetana Agnesi", Line1: "Via Pantano 8", City: "Milano", PostalCode: "20122", Country: "IT"},
	{Name: "Sofia Kovalevskaya", Line1: "Drottninggatan 20", City: "Stockholm", PostalCode: "111 51", Country: "SE"},
}
