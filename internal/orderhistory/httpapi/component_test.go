package httpapi_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/orderhistory"
	"github.com/agoracommerce/agora/internal/orderhistory/app"
	"github.com/agoracommerce/agora/internal/orderhistory/httpapi"
	"github.com/agoracommerce/agora/internal/orderhistory/orderhistorytest"
	"github.com/agoracommerce/agora/internal/orderhistory/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/chassis/chassistest"
	"github.com/agoracommerce/agora/internal/platform/problem"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// service is the order history's HTTP edge as the process assembles it:
// the chassis over the spec, the real SQLite store and a development
// issuer; events reach the read model through the app, as the projector
// hands them over.
type service struct {
	edge *chassistest.Edge
	svc  *app.Service
}

func newService(t *testing.T) *service {
	t.Helper()
	ctx := context.Background()
	store, err := sqlstore.New(ctx, sqldbtest.SQLite(t))
	require.NoError(t, err)
	svc, err := app.New(store, store, app.Config{})
	require.NoError(t, err)
	doc, err := httpapi.Document()
	require.NoError(t, err)
	problems, err := httpapi.Problems()
	require.NoError(t, err)
	api, err := httpapi.New(svc)
	require.NoError(t, err)
	return &service{edge: chassistest.NewEdge(t, doc, problems, api.Mount), svc: svc}
}

func (s *service) record(t *testing.T, entries ...orderhistory.Entry) {
	t.Helper()
	_, err := s.svc.Record(context.Background(), entries...)
	require.NoError(t, err)
}

func (s *service) get(t *testing.T, target, token string, headers ...string) chassistest.Response {
	t.Helper()
	return s.edge.Do(t, "GET", target, "", append([]string{"Authorization", token}, headers...)...)
}

var t0 = orderhistorytest.T0

func TestOrderHistory(t *testing.T) {
	t.Parallel()
	s := newService(t)
	s.record(t, orderhistorytest.Saga("order-1", "alice", t0)...)
	s.record(t, orderhistorytest.Refund("order-1", "alice", t0)...)
	owner := s.edge.Token(t, "alice", auth.CustomerScopes()...)
	stranger := s.edge.Token(t, "bob", auth.CustomerScopes()...)
	ops := s.edge.Token(t, "ops-1", auth.ScopeOrdersRead, auth.ScopeOrdersAdmin)
	admin := s.edge.Token(t, "admin-1", auth.AdminScopes()...)
	noScope := s.edge.Token(t, "alice", auth.ScopeCatalogRead)
	path := "/v1/order-history/order-1"

	chassistest.RequireProblem(t, s.edge.Do(t, "GET", path, ""), 401, problem.TypeUnauthorized)
	chassistest.RequireProblem(t, s.get(t, path, noScope), 403, auth.TypeInsufficientScope)
	chassistest.RequireProblem(t, s.get(t, path, stranger), 404, httpapi.TypeOrderNotFound)
	chassistest.RequireProblem(t, s.get(t, "/v1/order-history/order-404", admin), 404, httpapi.TypeOrderNotFound)
	res := s.get(t, "/v1/order-history/-bad", owner)
	chassistest.RequireProblem(t, res, 400, problem.TypeValidation)
	require.Equal(t, "order_id", res.Problem.Errors[0].Parameter)

	var etag string
	for _, tok := range []string{owner, ops, admin} {
		res := s.get(t, path, tok)
		require.Equal(t, 200, res.Status, "%s", res.Raw)
		etag = res.Header.Get("ETag")
		require.Equal(t, `"14.`+fmt.Sprint(t0.Add(21*time.Second).UnixMicro())+`"`, etag)
		summary := res.Body["summary"].(map[string]any)
		require.Equal(t, map[string]any{
			"order_id": "order-1", "customer_id": "alice", "status": "CANCELLED",
			"lines": []any{
				map[string]any{"sku": "SHIRT-RED-M", "product_id": "01936f0e-6b2c-7d4e-9f10-2a3b4c5d6e7f", "name": "Red shirt", "quantity": float64(2),
					"unit_price": map[string]any{"amount_minor": float64(1999), "currency": "EUR"}},
				map[string]any{"sku": "MUG-1", "product_id": "01936f0e-6b2c-7d4e-9f10-2a3b4c5d6e80", "name": "Mug", "quantity": float64(1),
					"unit_price": map[string]any{"amount_minor": float64(999), "currency": "EUR"}},
			},
			"total":      map[string]any{"amount_minor": float64(4997), "currency": "EUR"},
			"refunded":   map[string]any{"amount_minor": float64(4997), "currency": "EUR"},
			"tracking":   map[string]any{"carrier": "agora-sim", "tracking_number": "AG-order-1"},
			"end_reason": map[string]any{"code": "operator_request", "reason": "damaged in transit"},
			"placed_at":  "2030-01-02T03:04:06Z",
			"updated_at": "2030-01-02T03:04:26Z",
		}, summary)
		timeline := res.Body["timeline"].([]any)
		require.Len(t, timeline, 14)
		var types []string
		for _, e := range timeline {
			types = append(types, e.(map[string]any)["type"].(string))
		}
		require.Equal(t, []string{"order.placed", "stock.reserved", "order.payment_requested", "payment.authorized", "order.confirmed",
			"shipment.created", "shipment.shipped", "order.shipped", "payment.captured", "stock.committed", "order.completed",
			"shipment.delivered", "order.cancelled", "payment.refunded"}, types)
		require.Equal(t, map[string]any{
			"event_id": "order-1/21", "type": "payment.refunded", "service": "payment", "occurred_at": "2030-01-02T03:04:26Z",
			"description": "49.97 EUR refunded",
			"facts": map[string]any{"amount": map[string]any{"amount_minor": float64(4997), "currency": "EUR"},
				"refunded_total": map[string]any{"amount_minor": float64(4997), "currency": "EUR"},
				"payment_id":     "pay-order-1", "reason": "damaged in transit"},
		}, timeline[13])
		require.Equal(t, map[string]any{"carrier": "agora-sim", "tracking_number": "AG-order-1", "shipment_id": "ship-order-1"},
			timeline[6].(map[string]any)["facts"])
		require.Equal(t, "shipping", timeline[6].(map[string]any)["service"])
	}
	res = s.get(t, path, owner, "If-None-Match", etag)
	require.Equal(t, 304, res.Status)
	require.Equal(t, etag, res.Header.Get("ETag"))

	// A late step changes the ETag.
	s.record(t, orderhistory.Entry{EventID: "late-1", OrderID: "order-1", Type: orderhistory.StockReleased,
		OccurredAt: t0.Add(22 * time.Second), Facts: orderhistory.Facts{Reason: "order cancelled"}})
	res = s.get(t, path, owner, "If-None-Match", etag)
	require.Equal(t, 200, res.Status)
	require.NotEqual(t, etag, res.Header.Get("ETag"))
}

// An order becomes visible when its OrderPlaced event is projected, even
// when other services' events came first.
func TestOrderVisibleOncePlaced(t *testing.T) {
	t.Parallel()
	s := newService(t)
	owner := s.edge.Token(t, "alice", auth.CustomerScopes()...)
	saga := orderhistorytest.Saga("order-1", "alice", t0)
	s.record(t, saga[1:5]...)
	chassistest.RequireProblem(t, s.get(t, "/v1/order-history/order-1", owner), 404, httpapi.TypeOrderNotFound)
	res := s.get(t, "/v1/order-history", owner)
	require.Equal(t, 200, res.Status)
	require.Equal(t, []any{}, res.Body["items"])

	s.record(t, saga[0])
	res = s.get(t, "/v1/order-history/order-1", owner)
	require.Equal(t, 200, res.Status)
	require.Equal(t, "CONFIRMED", res.Body["summary"].(map[string]any)["status"])
	require.Len(t, res.Body["timeline"], 5)
}

func TestListOrderHistory(t *testing.T) {
	t.Parallel()
	s := newService(t)
	for i := range 5 {
		id := fmt.Sprintf("order-%d", i)
		at := t0.Add(time.Duration(i) * time.Minute)
		switch i {
		case 1:
			s.record(t, orderhistorytest.Rejected(id, "alice", at)...)
		case 3:
			s.record(t, orderhistorytest.Saga(id, "alice", at)[:5]...)
		default:
			s.record(t, orderhistorytest.Saga(id, "alice", at)...)
		}
	}
	s.record(t, orderhistorytest.Saga("order-bob", "bob", t0)...)
	alice := s.edge.Token(t, "alice", auth.CustomerScopes()...)
	admin := s.edge.Token(t, "admin-1", auth.AdminScopes()...)

	chassistest.RequireProblem(t, s.edge.Do(t, "GET", "/v1/order-history", ""), 401, problem.TypeUnauthorized)
	chassistest.RequireProblem(t, s.get(t, "/v1/order-history", s.edge.Token(t, "alice", auth.ScopeCartRead)), 403, auth.TypeInsufficientScope)
	for _, bad := range []string{"status=lost", "limit=0", "limit=101", "cursor=!!", "cursor=" + url.QueryEscape("bm90LWEtY3Vyc29y")} {
		res := s.get(t, "/v1/order-history?"+bad, alice)
		chassistest.RequireProblem(t, res, 400, problem.TypeValidation)
	}

	ids := func(res chassistest.Response) []string {
		var out []string
		for _, item := range res.Body["items"].([]any) {
			out = append(out, item.(map[string]any)["order_id"].(string))
		}
		return out
	}
	res := s.get(t, "/v1/order-history", alice)
	require.Equal(t, 200, res.Status, "%s", res.Raw)
	require.Equal(t, []string{"order-4", "order-3", "order-2", "order-1", "order-0"}, ids(res))
	require.Nil(t, res.Body["next_cursor"])
	rejected := res.Body["items"].([]any)[3].(map[string]any)
	require.Equal(t, "REJECTED", rejected["status"])
	require.Equal(t, map[string]any{"code": "out_of_stock", "reason": "out of stock"}, rejected["end_reason"])
	require.Nil(t, rejected["tracking"])

	// The admin's own list is their own orders: none.
	res = s.get(t, "/v1/order-history", admin)
	require.Equal(t, 200, res.Status)
	require.Equal(t, []any{}, res.Body["items"])

	res = s.get(t, "/v1/order-history?status=COMPLETED", alice)
	require.Equal(t, []string{"order-4", "order-2", "order-0"}, ids(res))
	res = s.get(t, "/v1/order-history?status=CONFIRMED", alice)
	require.Equal(t, []string{"order-3"}, ids(res))

	var all []string
	target := "/v1/order-history?limit=2"
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		res := s.get(t, target, alice)
		require.Equal(t, 200, res.Status)
		all = append(all, ids(res)...)
		next, ok := res.Body["next_cursor"].(string)
		if !ok {
			break
		}
		target = "/v1/order-history?limit=2&cursor=" + next
	}
	require.Equal(t, []string{"order-4", "order-3", "order-2", "order-1", "order-0"}, all)
}
