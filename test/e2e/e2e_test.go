// Package e2e_test drives Agora's critical business flows through the HTTP
// API of its gateway: browse, cart, checkout and the saga to COMPLETED,
// notifications and the order-history timeline, out of stock, a declined
// payment, cancellation and refund, idempotent checkout, and the access
// rules between customers and operators. By default it starts `agora run`
// (embedded mode); with AGORA_E2E_URL it targets a running deployment.
package e2e_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestShop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole platform")
	}
	tg := newTarget(t)
	t.Run("browse, buy and follow an order to COMPLETED", func(t *testing.T) { t.Parallel(); purchase(t, tg) })
	t.Run("out of stock is rejected", func(t *testing.T) { t.Parallel(); outOfStock(t, tg) })
	t.Run("a declined payment cancels the order", func(t *testing.T) { t.Parallel(); declined(t, tg) })
	t.Run("cancellation and refund", func(t *testing.T) { t.Parallel(); cancellation(t, tg) })
	t.Run("a retried checkout creates one order", func(t *testing.T) { t.Parallel(); retriedCheckout(t, tg) })
	t.Run("customers only see their own carts and orders", func(t *testing.T) { t.Parallel(); isolation(t, tg) })
	t.Run("operator operations refuse customer tokens", func(t *testing.T) { t.Parallel(); operatorOnly(t, tg) })
}

// product finds a seeded product by search term.
func product(t *testing.T, s *shopper, q string) map[string]any {
	t.Helper()
	page := s.must(http.StatusOK, http.MethodGet, "/v1/products?q="+q, nil)
	list := items(page)
	require.NotEmpty(t, list, "no product matches %q", q)
	return list[0]
}

func productBySKU(t *testing.T, s *shopper, sku string) map[string]any {
	t.Helper()
	var found map[string]any
	cursor := ""
	for found == nil {
		page := s.must(http.StatusOK, http.MethodGet, "/v1/products?limit=100"+cursor, nil)
		for _, p := range items(page) {
			if p["sku"] == sku {
				found = p
			}
		}
		next, _ := page["next_cursor"].(string)
		if found == nil {
			require.NotEmpty(t, next, "no product %s in the catalog", sku)
			cursor = "&cursor=" + next
		}
	}
	return found
}

func newCart(t *testing.T, s *shopper, lines map[string]int) string {
	t.Helper()
	cart := s.must(http.StatusCreated, http.MethodPost, "/v1/carts", map[string]any{"currency": "EUR"})
	id := cart["id"].(string)
	for productID, qty := range lines {
		eventually(t, 30*time.Second, func() error {
			status, out, _ := s.call(http.MethodPost, "/v1/carts/"+id+"/lines", map[string]any{"product_id": productID, "quantity": qty})
			if status == http.StatusCreated || status == http.StatusOK {
				return nil
			}
			require.Equal(t, http.StatusUnprocessableEntity, status, "%v", out)
			return fmt.Errorf("cart does not know product %s yet: %v", productID, out)
		})
	}
	return id
}

func checkoutBody(cart, paymentToken string) map[string]any {
	return map[string]any{
		"cart_id": cart, "payment_token": paymentToken, "email": "e2e@example.com",
		"shipping_address": map[string]any{"name": "Ada Shopper", "line1": "Rua Augusta 1", "city": "Lisbon", "postal_code": "1100-053", "country": "PT"},
	}
}

func placeOrder(t *testing.T, s *shopper, cart, paymentToken string) map[string]any {
	t.Helper()
	order := s.must(http.StatusCreated, http.MethodPost, "/v1/orders", checkoutBody(cart, paymentToken), "Idempotency-Key", uuid.NewString())
	require.Equal(t, "PENDING", order["status"])
	return order
}

// awaitStatus polls the order until it reaches status; reaching another
// final status fails at once.
func awaitStatus(t *testing.T, s *shopper, id, status string) map[string]any {
	t.Helper()
	var order map[string]any
	eventually(t, 90*time.Second, func() error {
		order = s.must(http.StatusOK, http.MethodGet, "/v1/orders/"+id, nil)
		got := order["status"].(string)
		if got == status {
			return nil
		}
		if got == "COMPLETED" || got == "REJECTED" || got == "CANCELLED" {
			t.Fatalf("order %s ended %s, want %s: %v", id, got, status, order)
		}
		return fmt.Errorf("order %s is %s", id, got)
	})
	return order
}

func purchase(t *testing.T, tg *target) {
	ada := tg.customer("customer-ada")
	mug := product(t, tg.anonymous(), "mug")
	require.Equal(t, "active", mug["status"])
	ada.must(http.StatusOK, http.MethodGet, "/v1/products/"+mug["id"].(string), nil)
	tea := product(t, ada, "sencha")

	cart := newCart(t, ada, map[string]int{mug["id"].(string): 2, tea["id"].(string): 1})
	view := ada.must(http.StatusOK, http.MethodGet, "/v1/carts/"+cart, nil)
	require.Len(t, view["lines"], 2)

	order := placeOrder(t, ada, cart, "tok_approve")
	id := order["id"].(string)
	require.Equal(t, view["total"], order["total"], "the order costs what the cart said")

	// The saga moves the order along on its own.
	seen := map[string]bool{}
	eventually(t, 90*time.Second, func() error {
		o := ada.must(http.StatusOK, http.MethodGet, "/v1/orders/"+id, nil)
		seen[o["status"].(string)] = true
		if o["status"] != "COMPLETED" {
			return fmt.Errorf("order is %v", o["status"])
		}
		return nil
	})
	mine := ada.must(http.StatusOK, http.MethodGet, "/v1/orders", nil)
	require.Contains(t, ids(items(mine)), id)

	// Notifications reached the customer.
	eventually(t, 60*time.Second, func() error {
		msgs := ada.must(http.StatusOK, http.MethodGet, "/v1/notifications?limit=100", nil)
		var about int
		for _, m := range items(msgs) {
			if m["order_id"] == id {
				about++
			}
		}
		if about < 4 {
			return fmt.Errorf("%d notifications about the order", about)
		}
		return nil
	})
	// The order-history timeline shows every step of the saga.
	eventually(t, 60*time.Second, func() error {
		status, h, _ := ada.call(http.MethodGet, "/v1/order-history/"+id, nil)
		if status != http.StatusOK {
			return fmt.Errorf("history %d %v", status, h)
		}
		if got := h["summary"].(map[string]any)["status"]; got != "COMPLETED" {
			return fmt.Errorf("history says %v", got)
		}
		types := map[string]bool{}
		for _, e := range h["timeline"].([]any) {
			types[e.(map[string]any)["type"].(string)] = true
		}
		for _, want := range []string{"order.placed", "stock.reserved", "payment.authorized", "order.confirmed", "shipment.shipped", "payment.captured", "order.completed"} {
			if !types[want] {
				return fmt.Errorf("timeline lacks %s: %v", want, types)
			}
		}
		return nil
	})
}

func outOfStock(t *testing.T, tg *target) {
	bo := tg.customer("customer-bo")
	tee := productBySKU(t, bo, "TSHIRT-LOGO-L") // three in stock
	cart := newCart(t, bo, map[string]int{tee["id"].(string): 4})
	order := placeOrder(t, bo, cart, "tok_approve")
	rejected := awaitStatus(t, bo, order["id"].(string), "REJECTED")
	require.Equal(t, "OUT_OF_STOCK", rejected["end_reason"].(map[string]any)["code"])
	pays := tg.operator().must(http.StatusOK, http.MethodGet, "/v1/payments?order_id="+order["id"].(string), nil)
	require.Empty(t, items(pays), "nothing charged")
}

func declined(t *testing.T, tg *target) {
	cy := tg.customer("customer-cy")
	tea := product(t, cy, "assam")
	cart := newCart(t, cy, map[string]int{tea["id"].(string): 1})
	order := placeOrder(t, cy, cart, "tok_decline")
	cancelled := awaitStatus(t, cy, order["id"].(string), "CANCELLED")
	require.Equal(t, "PAYMENT_DECLINED", cancelled["end_reason"].(map[string]any)["code"])
	eventually(t, 30*time.Second, func() error {
		r := tg.operator().must(http.StatusOK, http.MethodGet, "/v1/reservations/"+order["id"].(string), nil)
		if r["status"] != "released" {
			return fmt.Errorf("reservation is %v", r["status"])
		}
		return nil
	})
}

func cancellation(t *testing.T, tg *target) {
	di := tg.customer("customer-di")
	op := tg.operator()
	mug := product(t, di, "enamel")

	// Cancelled by the customer before it ships: stock back, nothing paid.
	cart := newCart(t, di, map[string]int{mug["id"].(string): 1})
	order := placeOrder(t, di, cart, "tok_approve")
	id := order["id"].(string)
	cancelled := di.must(http.StatusOK, http.MethodPost, "/v1/orders/"+id+"/cancellation", map[string]any{"reason": "ordered by mistake"})
	require.Equal(t, "CANCELLED", cancelled["status"])
	again := di.must(http.StatusOK, http.MethodPost, "/v1/orders/"+id+"/cancellation", map[string]any{})
	require.Equal(t, "CANCELLED", again["status"], "cancelling twice is fine")
	eventually(t, 30*time.Second, func() error {
		status, r, _ := op.call(http.MethodGet, "/v1/reservations/"+id, nil)
		if status == http.StatusNotFound || (status == http.StatusOK && r["status"] == "released") {
			return nil
		}
		return fmt.Errorf("reservation %d %v", status, r["status"])
	})

	// Completed, then cancelled by an operator: refunded in full.
	cart = newCart(t, di, map[string]int{mug["id"].(string): 1})
	order = placeOrder(t, di, cart, "tok_approve")
	id = order["id"].(string)
	awaitStatus(t, di, id, "COMPLETED")
	status, _, _ := di.call(http.MethodPost, "/v1/orders/"+id+"/cancellation", map[string]any{})
	require.Equal(t, http.StatusConflict, status, "a customer cannot cancel a completed order")
	op.must(http.StatusOK, http.MethodPost, "/v1/orders/"+id+"/cancellation", map[string]any{"reason": "returned"})
	eventually(t, 60*time.Second, func() error {
		o := di.must(http.StatusOK, http.MethodGet, "/v1/orders/"+id, nil)
		if o["status"] != "CANCELLED" || o["refunded"] != true {
			return fmt.Errorf("order %v refunded %v", o["status"], o["refunded"])
		}
		return nil
	})
	pays := items(op.must(http.StatusOK, http.MethodGet, "/v1/payments?order_id="+id, nil))
	require.Len(t, pays, 1)
	require.Equal(t, "refunded", pays[0]["status"])
	require.Equal(t, pays[0]["captured"], pays[0]["refunded"])
}

func retriedCheckout(t *testing.T, tg *target) {
	ed := tg.customer("customer-ed")
	mug := product(t, ed, "stoneware")
	cart := newCart(t, ed, map[string]int{mug["id"].(string): 1})
	key := uuid.NewString()
	first := ed.must(http.StatusCreated, http.MethodPost, "/v1/orders", checkoutBody(cart, "tok_approve"), "Idempotency-Key", key)
	second := ed.must(http.StatusCreated, http.MethodPost, "/v1/orders", checkoutBody(cart, "tok_approve"), "Idempotency-Key", key)
	require.Equal(t, first["id"], second["id"], "the retry replays the first answer")
	status, _, _ := ed.call(http.MethodPost, "/v1/orders", checkoutBody(cart, "tok_decline"), "Idempotency-Key", key)
	require.Equal(t, http.StatusUnprocessableEntity, status, "same key, other body")
	status, _, _ = ed.call(http.MethodPost, "/v1/orders", checkoutBody(cart, "tok_approve"))
	require.Equal(t, http.StatusBadRequest, status, "checkout needs an Idempotency-Key")
	status, _, _ = ed.call(http.MethodPost, "/v1/orders", checkoutBody(cart, "tok_approve"), "Idempotency-Key", uuid.NewString())
	require.Equal(t, http.StatusConflict, status, "one order per cart")
	var mine int
	for _, o := range items(ed.must(http.StatusOK, http.MethodGet, "/v1/orders", nil)) {
		if o["cart_id"] == cart {
			mine++
		}
	}
	require.Equal(t, 1, mine)
}

func isolation(t *testing.T, tg *target) {
	a, b := tg.customer("customer-fay"), tg.customer("customer-fay-b")
	mug := product(t, a, "mug")
	cart := newCart(t, a, map[string]int{mug["id"].(string): 1})
	order := placeOrder(t, a, cart, "tok_approve")
	id := order["id"].(string)

	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/v1/carts/" + cart},
		{http.MethodGet, "/v1/orders/" + id},
		{http.MethodGet, "/v1/order-history/" + id},
	} {
		status, _, _ := b.call(c.method, c.path, nil)
		require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, status, "%s %s as another customer", c.method, c.path)
	}
	status, _, _ := b.call(http.MethodPost, "/v1/carts/"+cart+"/lines", map[string]any{"product_id": mug["id"], "quantity": 1})
	require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, status)
	status, _, _ = b.call(http.MethodPost, "/v1/orders/"+id+"/cancellation", map[string]any{})
	require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, status)
	require.NotContains(t, ids(items(b.must(http.StatusOK, http.MethodGet, "/v1/orders", nil))), id)
	status, _, _ = tg.anonymous().call(http.MethodGet, "/v1/orders/"+id, nil)
	require.Equal(t, http.StatusUnauthorized, status)
}

func operatorOnly(t *testing.T, tg *target) {
	gus := tg.customer("customer-gus")
	for _, c := range []struct {
		method, path string
		body         any
		headers      []string
	}{
		{http.MethodPost, "/v1/categories", map[string]any{"slug": "nope", "name": "Nope"}, nil},
		{http.MethodPost, "/v1/stock/MUG-STONE-350/receipts", map[string]any{"warehouse_id": "main", "quantity": 5}, []string{"Idempotency-Key", uuid.NewString()}},
		{http.MethodGet, "/v1/mailbox/messages", nil, nil},
	} {
		status, out, _ := gus.call(c.method, c.path, c.body, c.headers...)
		require.Equal(t, http.StatusForbidden, status, "%s %s: %v", c.method, c.path, out)
	}
}

func ids(list []map[string]any) []string {
	out := make([]string, len(list))
	for i, it := range list {
		out[i] = str(it["id"])
	}
	return out
}
