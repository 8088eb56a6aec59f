// Package saga_test runs the checkout saga across every Agora service, each
// in its own `agora serve` process, on the test environment's Kafka and
// PostgreSQL, and checks the final state in every service and the exact
// events each topic carries for every order.
package saga_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
)

// shop holds what the scenarios share: tokens and the seeded products.
type shop struct {
	p     *platform
	admin string
}

func TestCheckoutSaga(t *testing.T) {
	if testing.Short() {
		t.Skip("starts every service as a process on real Kafka and PostgreSQL")
	}
	p := startPlatform(t, map[string]map[string]string{
		"shipping":     {"CARRIER_PICKUP_AFTER": "1s", "CARRIER_DELIVER_AFTER": "1s", "CARRIER_ADVANCE_INTERVAL": "200ms"},
		"payment":      {"SIM_PROCESSOR_ERRORS": "2"},
		"ordering":     {"DEADLINE_SHIPPING": "20s", "DEADLINE_INTERVAL": "250ms"},
		"notification": {"DISPATCH_INTERVAL": "200ms"},
	})
	s := &shop{p: p, admin: p.token("saga-admin", auth.AdminScopes())}

	// The scenarios that need every service run side by side; each has
	// its own SKU, customer and order.
	t.Run("parallel", func(t *testing.T) {
		t.Run("happy path", func(t *testing.T) { t.Parallel(); s.happyPath(t) })
		t.Run("out of stock", func(t *testing.T) { t.Parallel(); s.outOfStock(t) })
		t.Run("payment declined", func(t *testing.T) { t.Parallel(); s.declined(t) })
		t.Run("retryable processor errors", func(t *testing.T) { t.Parallel(); s.processorErrors(t) })
		t.Run("cancel after capture", func(t *testing.T) { t.Parallel(); s.cancelAfterCapture(t) })
	})
	// The deadline scenario stops the shipping service, so it runs alone.
	t.Run("shipping deadline passed", s.deadline)
	t.Run("200 checkouts for 50 units", s.contention)
}

// stock is what the inventory reports for a SKU.
type stock struct{ OnHand, Reserved, Available int64 }

func (s *shop) seed(t *testing.T, sku string, price, units int64) string {
	t.Helper()
	category := s.p.must(http.StatusCreated, "catalog", http.MethodPost, "/v1/categories", s.admin,
		fmt.Sprintf(`{"slug":"c-%s","name":"Category %s"}`, lower(sku), sku))
	product := s.p.must(http.StatusCreated, "catalog", http.MethodPost, "/v1/products", s.admin,
		fmt.Sprintf(`{"sku":%q,"name":"Product %s","price":{"amount_minor":%d,"currency":"EUR"},"category_id":%q,"status":"active"}`,
			sku, sku, price, category["id"]))
	if units > 0 {
		s.p.must(http.StatusOK, "inventory", http.MethodPost, "/v1/stock/"+sku+"/receipts", s.admin,
			fmt.Sprintf(`{"warehouse_id":"ams-1","quantity":%d}`, units), "Idempotency-Key", "receipt-"+sku)
	}
	return product["id"].(string)
}

func (s *shop) stock(t *testing.T, sku string) stock {
	t.Helper()
	out := s.p.must(http.StatusOK, "inventory", http.MethodGet, "/v1/stock/"+sku, s.admin, "")
	return stock{OnHand: int64(out["on_hand"].(float64)), Reserved: int64(out["reserved"].(float64)), Available: int64(out["available"].(float64))}
}

// cart creates a cart for the customer with quantity of product; the
// cart learns of the product from the catalog's events, so adding is
// retried until it has.
func (s *shop) cart(t *testing.T, customer, product string, quantity int) string {
	t.Helper()
	cart := s.p.must(http.StatusCreated, "cart", http.MethodPost, "/v1/carts", customer, `{"currency":"EUR"}`)
	id := cart["id"].(string)
	line := fmt.Sprintf(`{"product_id":%q,"quantity":%d}`, product, quantity)
	require.NoError(t, eventually(60*time.Second, func() error {
		status, body := s.p.call("cart", http.MethodPost, "/v1/carts/"+id+"/lines", customer, line)
		switch status {
		case http.StatusCreated, http.StatusOK:
			return nil
		case http.StatusUnprocessableEntity:
			return fmt.Errorf("product not yet known to the cart: %v", body)
		default:
			t.Fatalf("add line: %d %v", status, body)
			return nil
		}
	}))
	return id
}

func (s *shop) checkout(t *testing.T, customer, cart, paymentToken, key string) map[string]any {
	t.Helper()
	body := fmt.Sprintf(`{"cart_id":%q,"payment_token":%q,"email":"shopper@example.com",
		"shipping_address":{"name":"Ada Shopper","line1":"Damrak 1","city":"Amsterdam","postal_code":"1012 LG","country":"NL"}}`,
		cart, paymentToken)
	order := s.p.must(http.StatusCreated, "ordering", http.MethodPost, "/v1/orders", customer, body, "Idempotency-Key", key)
	require.Equal(t, "PENDING", order["status"])
	return order
}

// await polls the order until it has status (and no saga step left when
// the status is final), failing on any other final status.
func (s *shop) await(t *testing.T, token, id, status string) map[string]any {
	t.Helper()
	var order map[string]any
	err := eventually(90*time.Second, func() error {
		order = s.p.must(http.StatusOK, "ordering", http.MethodGet, "/v1/orders/"+id, token, "")
		got := order["status"].(string)
		if got == status {
			return nil
		}
		if final(got) {
			t.Fatalf("order %s ended %s, want %s: %v", id, got, status, order)
		}
		return fmt.Errorf("order %s is %s/%v", id, got, order["step"])
	})
	require.NoError(t, err)
	return order
}

func final(status string) bool {
	return status == "COMPLETED" || status == "REJECTED" || status == "CANCELLED"
}

// payment returns the order's payment, or nil when it has none.
func (s *shop) payment(t *testing.T, order string) map[string]any {
	t.Helper()
	out := s.p.must(http.StatusOK, "payment", http.MethodGet, "/v1/payments?order_id="+order, s.admin, "")
	items := out["items"].([]any)
	if len(items) == 0 {
		return nil
	}
	require.Len(t, items, 1)
	return items[0].(map[string]any)
}

func (s *shop) shipment(t *testing.T, order string) map[string]any {
	t.Helper()
	out := s.p.must(http.StatusOK, "shipping", http.MethodGet, "/v1/shipments?order_id="+order, s.admin, "")
	items := out["items"].([]any)
	if len(items) == 0 {
		return nil
	}
	return items[0].(map[string]any)
}

// awaitEvents waits until every topic carries exactly the expected events
// for the order (checked again after a pause, so late extras fail).
func (s *shop) awaitEvents(t *testing.T, order string, want map[string][]string) {
	t.Helper()
	check := func() error {
		for topic, events := range want {
			got := s.p.orderEvents(topic)[order]
			if diff := cmp.Diff(events, got); diff != "" {
				return fmt.Errorf("events of order %s on %s (-want +got):\n%s", order, topic, diff)
			}
		}
		return nil
	}
	require.NoError(t, eventually(60*time.Second, check))
	time.Sleep(time.Second)
	require.NoError(t, check())
}

func (s *shop) cartStatus(t *testing.T, customer, cart string) string {
	t.Helper()
	var status string
	require.NoError(t, eventually(30*time.Second, func() error {
		out := s.p.must(http.StatusOK, "cart", http.MethodGet, "/v1/carts/"+cart, customer, "")
		status = out["status"].(string)
		if status == "open" {
			return fmt.Errorf("cart %s still open", cart)
		}
		return nil
	}))
	return status
}

func (s *shop) happyPath(t *testing.T) {
	customer := s.p.token("cust-happy", auth.CustomerScopes())
	product := s.seed(t, "SAGA-HAPPY", 1250, 10)
	cart := s.cart(t, customer, product, 2)
	order := s.checkout(t, customer, cart, "tok_approve", "happy-1")
	id := order["id"].(string)

	done := s.await(t, customer, id, "COMPLETED")
	require.EqualValues(t, 2500, done["total"].(map[string]any)["amount_minor"])
	require.Equal(t, stock{OnHand: 8, Reserved: 0, Available: 8}, s.stock(t, "SAGA-HAPPY"), "two units left the warehouse")
	pay := s.payment(t, id)
	require.Equal(t, "captured", pay["status"])
	require.EqualValues(t, 2500, pay["captured"].(map[string]any)["amount_minor"])
	require.Equal(t, "checked_out", s.cartStatus(t, customer, cart))
	require.NoError(t, eventually(30*time.Second, func() error {
		if sh := s.shipment(t, id); sh == nil || sh["status"] != "delivered" {
			return fmt.Errorf("shipment %v", sh)
		}
		return nil
	}))
	s.awaitEvents(t, id, map[string][]string{
		"ordering.orders.v1":    {"OrderPlaced", "OrderPaymentRequested", "OrderConfirmed", "OrderShipped", "OrderCompleted"},
		"inventory.stock.v1":    {"StockReserved", "StockCommitted"},
		"payment.payments.v1":   {"PaymentAuthorized", "PaymentCaptured"},
		"shipping.shipments.v1": {"ShipmentCreated", "ShipmentShipped", "ShipmentDelivered"},
	})
	s.awaitHistory(t, customer, id, "COMPLETED", "order.placed", "stock.reserved", "payment.authorized", "order.confirmed",
		"shipment.shipped", "payment.captured", "order.completed")
	s.awaitMail(t, id, 4)
}

func (s *shop) outOfStock(t *testing.T) {
	customer := s.p.token("cust-oos", auth.CustomerScopes())
	product := s.seed(t, "SAGA-OOS", 900, 1)
	cart := s.cart(t, customer, product, 2)
	id := s.checkout(t, customer, cart, "tok_approve", "oos-1")["id"].(string)

	order := s.await(t, customer, id, "REJECTED")
	require.Equal(t, "OUT_OF_STOCK", endCode(order))
	require.Nil(t, s.payment(t, id), "nothing is charged for a rejected order")
	require.Equal(t, stock{OnHand: 1, Reserved: 0, Available: 1}, s.stock(t, "SAGA-OOS"))
	s.awaitEvents(t, id, map[string][]string{
		"ordering.orders.v1":    {"OrderPlaced", "OrderRejected"},
		"inventory.stock.v1":    {"ReservationRejected"},
		"payment.payments.v1":   nil,
		"shipping.shipments.v1": nil,
	})
}

func (s *shop) declined(t *testing.T) {
	customer := s.p.token("cust-declined", auth.CustomerScopes())
	product := s.seed(t, "SAGA-DECLINED", 4000, 5)
	cart := s.cart(t, customer, product, 3)
	id := s.checkout(t, customer, cart, "tok_decline", "declined-1")["id"].(string)

	order := s.await(t, customer, id, "CANCELLED")
	require.Equal(t, "PAYMENT_DECLINED", endCode(order))
	require.Equal(t, "declined", s.payment(t, id)["status"])
	require.NoError(t, eventually(30*time.Second, func() error {
		if got := s.stock(t, "SAGA-DECLINED"); got != (stock{OnHand: 5, Available: 5}) {
			return fmt.Errorf("stock not released: %+v", got)
		}
		return nil
	}))
	require.Nil(t, s.shipment(t, id))
	s.awaitEvents(t, id, map[string][]string{
		"ordering.orders.v1":    {"OrderPlaced", "OrderPaymentRequested", "OrderCancelled"},
		"inventory.stock.v1":    {"StockReserved", "StockReleased"},
		"payment.payments.v1":   {"PaymentDeclined"},
		"shipping.shipments.v1": nil,
	})
}

func (s *shop) processorErrors(t *testing.T) {
	customer := s.p.token("cust-flaky", auth.CustomerScopes())
	product := s.seed(t, "SAGA-FLAKY", 1999, 5)
	cart := s.cart(t, customer, product, 1)
	id := s.checkout(t, customer, cart, "tok_processor_error", "flaky-1")["id"].(string)

	s.await(t, customer, id, "COMPLETED")
	pay := s.payment(t, id)
	require.Equal(t, "captured", pay["status"])
	require.EqualValues(t, 1999, pay["captured"].(map[string]any)["amount_minor"], "charged exactly once")
	var captures int
	for _, op := range pay["operations"].([]any) {
		if op.(map[string]any)["kind"] == "capture" {
			captures++
		}
	}
	require.Equal(t, 1, captures, "one capture operation: %v", pay["operations"])
	s.awaitEvents(t, id, map[string][]string{
		"ordering.orders.v1":  {"OrderPlaced", "OrderPaymentRequested", "OrderConfirmed", "OrderShipped", "OrderCompleted"},
		"payment.payments.v1": {"PaymentAuthorized", "PaymentCaptured"},
	})
}

func (s *shop) cancelAfterCapture(t *testing.T) {
	customer := s.p.token("cust-refund", auth.CustomerScopes())
	product := s.seed(t, "SAGA-REFUND", 3000, 5)
	cart := s.cart(t, customer, product, 1)
	id := s.checkout(t, customer, cart, "tok_approve", "refund-1")["id"].(string)
	s.await(t, customer, id, "COMPLETED")

	// The customer may no longer cancel a completed order; an operator can.
	status, body := s.p.call("ordering", http.MethodPost, "/v1/orders/"+id+"/cancellation", customer, `{"reason":"changed my mind"}`)
	require.Equal(t, http.StatusConflict, status, "%v", body)
	s.p.must(http.StatusOK, "ordering", http.MethodPost, "/v1/orders/"+id+"/cancellation", s.admin, `{"reason":"returned"}`)

	require.NoError(t, eventually(60*time.Second, func() error {
		order := s.p.must(http.StatusOK, "ordering", http.MethodGet, "/v1/orders/"+id, customer, "")
		if order["status"] != "CANCELLED" || order["refunded"] != true {
			return fmt.Errorf("order %s is %v, refunded %v", id, order["status"], order["refunded"])
		}
		return nil
	}))
	pay := s.payment(t, id)
	require.Equal(t, "refunded", pay["status"])
	require.EqualValues(t, 3000, pay["refunded"].(map[string]any)["amount_minor"])
	s.awaitEvents(t, id, map[string][]string{
		"ordering.orders.v1":  {"OrderPlaced", "OrderPaymentRequested", "OrderConfirmed", "OrderShipped", "OrderCompleted", "OrderCancelled"},
		"payment.payments.v1": {"PaymentAuthorized", "PaymentCaptured", "PaymentRefunded"},
		"inventory.stock.v1":  {"StockReserved", "StockCommitted"},
	})
}

// deadline stops the shipping service: the confirmed order passes its
// shipping deadline and is compensated (authorization voided, stock
// released). When shipping comes back it creates the shipment it was
// asked for and then cancels it, as the later OrderCancelled says.
func (s *shop) deadline(t *testing.T) {
	customer := s.p.token("cust-deadline", auth.CustomerScopes())
	product := s.seed(t, "SAGA-DEADLINE", 700, 4)
	cart := s.cart(t, customer, product, 2)
	s.p.stop("shipping")
	restarted := false
	defer func() {
		if !restarted {
			s.p.start("shipping")
		}
	}()
	id := s.checkout(t, customer, cart, "tok_approve", "deadline-1")["id"].(string)
	s.await(t, customer, id, "CONFIRMED")

	order := s.await(t, customer, id, "CANCELLED")
	require.Equal(t, "DEADLINE_EXCEEDED", endCode(order))
	require.NoError(t, eventually(30*time.Second, func() error {
		if got := s.payment(t, id)["status"]; got != "voided" {
			return fmt.Errorf("payment is %v", got)
		}
		if got := s.stock(t, "SAGA-DEADLINE"); got != (stock{OnHand: 4, Available: 4}) {
			return fmt.Errorf("stock not released: %+v", got)
		}
		return nil
	}))

	s.p.start("shipping")
	restarted = true
	s.p.waitReady("shipping")
	require.NoError(t, eventually(60*time.Second, func() error {
		sh := s.shipment(t, id)
		if sh == nil || sh["status"] != "cancelled" {
			return fmt.Errorf("shipment %v", sh)
		}
		return nil
	}))
	s.awaitEvents(t, id, map[string][]string{
		"ordering.orders.v1":    {"OrderPlaced", "OrderPaymentRequested", "OrderConfirmed", "OrderCancelled"},
		"inventory.stock.v1":    {"StockReserved", "StockReleased"},
		"payment.payments.v1":   {"PaymentAuthorized", "PaymentVoided"},
		"shipping.shipments.v1": {"ShipmentCreated", "ShipmentCancelled"},
	})
}

// contention: 200 customers check out one unit each of a SKU with 50 in
// stock, all at once.
func (s *shop) contention(t *testing.T) {
	const shoppers, units = 200, 50
	product := s.seed(t, "SAGA-HOT", 500, units)
	type shopper struct{ token, cart, order string }
	all := make([]*shopper, shoppers)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 20)
	for i := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			sh := &shopper{token: s.p.token(fmt.Sprintf("cust-hot-%03d", i), auth.CustomerScopes())}
			sh.cart = s.cart(t, sh.token, product, 1)
			all[i] = sh
		}()
	}
	wg.Wait()
	require.False(t, t.Failed())

	start := make(chan struct{})
	for i, sh := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			sh.order = s.checkout(t, sh.token, sh.cart, "tok_approve", fmt.Sprintf("hot-%03d", i))["id"].(string)
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	require.False(t, t.Failed())
	t.Logf("200 checkouts accepted in %s", time.Since(began).Round(time.Millisecond))

	counts := map[string]int{}
	for _, sh := range all {
		var status string
		require.NoError(t, eventually(3*time.Minute, func() error {
			order := s.p.must(http.StatusOK, "ordering", http.MethodGet, "/v1/orders/"+sh.order, sh.token, "")
			status = order["status"].(string)
			if status == "PENDING" {
				return fmt.Errorf("order %s still pending", sh.order)
			}
			return nil
		}))
		counts[status]++
	}
	t.Logf("settled in %s: %v", time.Since(began).Round(time.Millisecond), counts)
	require.Equal(t, shoppers-units, counts["REJECTED"], "%v", counts)
	require.Equal(t, units, counts["CONFIRMED"]+counts["SHIPPED"]+counts["COMPLETED"], "%v", counts)
	require.Zero(t, counts["CANCELLED"], "%v", counts)

	// The confirmed orders go on to completion; the rejected are never
	// charged.
	for _, sh := range all {
		order := s.p.must(http.StatusOK, "ordering", http.MethodGet, "/v1/orders/"+sh.order, sh.token, "")
		if order["status"] == "REJECTED" {
			require.Nil(t, s.payment(t, sh.order), "no payment for rejected order %s", sh.order)
			continue
		}
		s.await(t, sh.token, sh.order, "COMPLETED")
	}
	t.Logf("all %d confirmed orders completed %s after the checkouts", units, time.Since(began).Round(time.Millisecond))
	require.Equal(t, stock{}, s.stock(t, "SAGA-HOT"), "every unit sold once")

	// Exactly one reservation per confirmed order, none for the rejected.
	mine := map[string]bool{}
	for _, sh := range all {
		mine[sh.order] = true
	}
	reserved := map[string]int{}
	for order, evs := range s.p.orderEvents("inventory.stock.v1") {
		if !mine[order] {
			continue
		}
		for _, ev := range evs {
			if ev == "StockReserved" {
				reserved[order]++
			}
		}
	}
	require.Len(t, reserved, units)
	for order, n := range reserved {
		require.Equal(t, 1, n, "order %s reserved %d times", order, n)
	}
}

func endCode(order map[string]any) string {
	r, _ := order["end_reason"].(map[string]any)
	code, _ := r["code"].(string)
	return code
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// awaitHistory waits until the order-history read model shows the order
// with status and a timeline holding (at least) the given entry types in
// that order of time.
func (s *shop) awaitHistory(t *testing.T, customer, order, status string, types ...string) {
	t.Helper()
	require.NoError(t, eventually(60*time.Second, func() error {
		code, out := s.p.call("orderhistory", http.MethodGet, "/v1/order-history/"+order, customer, "")
		if code != http.StatusOK {
			return fmt.Errorf("order history %d: %v", code, out)
		}
		if got := out["summary"].(map[string]any)["status"]; got != status {
			return fmt.Errorf("order history status %v", got)
		}
		var got []string
		for _, e := range out["timeline"].([]any) {
			got = append(got, e.(map[string]any)["type"].(string))
		}
		i := 0
		for _, g := range got {
			if i < len(types) && g == types[i] {
				i++
			}
		}
		if i < len(types) {
			return fmt.Errorf("timeline %v lacks %v in order", got, types[i:])
		}
		return nil
	}))
}

// awaitMail waits until the local mailbox holds at least n messages about
// the order.
func (s *shop) awaitMail(t *testing.T, order string, n int) {
	t.Helper()
	require.NoError(t, eventually(60*time.Second, func() error {
		out := s.p.must(http.StatusOK, "notification", http.MethodGet, "/v1/mailbox/messages?to=shopper@example.com&limit=100", s.admin, "")
		var got int
		for _, m := range out["items"].([]any) {
			if m.(map[string]any)["order_id"] == order {
				got++
			}
		}
		if got < n {
			return fmt.Errorf("%d messages about order %s, want %d", got, order, n)
		}
		return nil
	}))
}
