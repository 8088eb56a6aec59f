package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/gateway"
)

// upstream answers with its name, the path and the Authorization header it
// received.
func upstream(t *testing.T, name string) *url.URL {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"service": name, "path": r.URL.RequestURI(), "auth": r.Header.Get("Authorization"),
			"forwarded_host": r.Header.Get("X-Forwarded-Host"),
		})
	}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	return u
}

func TestGatewayRoutesByServicePaths(t *testing.T) {
	t.Parallel()
	orders, catalog := upstream(t, "ordering"), upstream(t, "catalog")
	routes := append(gateway.RoutesFromPaths("ordering", orders, []string{"/v1/orders", "/v1/orders/{order_id}", "/v1/orders/{order_id}/cancellation"}),
		gateway.RoutesFromPaths("catalog", catalog, []string{"/v1/products", "/v1/products/{id}", "/v1/categories"})...)
	g, err := gateway.New(gateway.Config{Routes: routes, Mounts: map[string]http.Handler{
		"/docs": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "docs") }),
	}})
	require.NoError(t, err)
	require.Len(t, g.Routes(), 3)
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)

	for path, want := range map[string]string{
		"/v1/orders":                  "ordering",
		"/v1/orders/123?x=1":          "ordering",
		"/v1/orders/1/cancellation":   "ordering",
		"/v1/products?q=mug&limit=10": "catalog",
		"/v1/categories":              "catalog",
	} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer abc")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var got map[string]string
		require.NoError(t, json.NewDecoder(res.Body).Decode(&got))
		_ = res.Body.Close()
		require.Equal(t, want, got["service"], path)
		require.Equal(t, path, got["path"], "path and query pass unchanged")
		require.Equal(t, "Bearer abc", got["auth"], "the token passes to the service")
		require.NotEmpty(t, got["forwarded_host"])
	}

	res, err := http.Get(srv.URL + "/docs/x")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	require.Equal(t, "docs", string(body))

	// /v1/ordersx is not below /v1/orders.
	for _, path := range []string{"/v1/ordersx", "/v2/orders", "/"} {
		res, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		_ = res.Body.Close()
		require.Equal(t, http.StatusNotFound, res.StatusCode, path)
		require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"), path)
	}
	require.NoError(t, g.Ready(context.Background()))
}

func TestGatewayAnswers502WhenAServiceIsDown(t *testing.T) {
	t.Parallel()
	dead := httptest.NewServer(http.NotFoundHandler())
	u, err := url.Parse(dead.URL)
	require.NoError(t, err)
	dead.Close()
	g, err := gateway.New(gateway.Config{Routes: gateway.RoutesFromPaths("cart", u, []string{"/v1/carts"})})
	require.NoError(t, err)
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL + "/v1/carts")
	require.NoError(t, err)
	var p map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&p))
	_ = res.Body.Close()
	require.Equal(t, http.StatusBadGateway, res.StatusCode)
	require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	require.Contains(t, p["detail"], "cart")
	require.ErrorContains(t, g.Ready(context.Background()), "cart")
}

func TestGatewayRejectsConflictingRoutes(t *testing.T) {
	t.Parallel()
	u := &url.URL{Scheme: "http", Host: "127.0.0.1:1"}
	_, err := gateway.New(gateway.Config{Routes: []gateway.Route{
		{Prefix: "/v1/orders", Service: "ordering", Upstream: u},
		{Prefix: "/v1/orders", Service: "orderhistory", Upstream: u},
	}})
	require.ErrorContains(t, err, "claimed by both")
	_, err = gateway.New(gateway.Config{Routes: []gateway.Route{{Prefix: "v1", Service: "x", Upstream: u}}})
	require.Error(t, err)
	_, err = gateway.New(gateway.Config{Routes: []gateway.Route{{Prefix: "/v1/x", Service: "x"}}})
	require.Error(t, err)
}
