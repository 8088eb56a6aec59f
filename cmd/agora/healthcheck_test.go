package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHealthcheck(t *testing.T) {
	ready := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)

	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"healthcheck", "--port", u.Port()}, &out, &out))
	t.Setenv("PORT", u.Port())
	require.NoError(t, run(context.Background(), []string{"healthcheck"}, &out, &out))

	ready = false
	require.ErrorContains(t, run(context.Background(), []string{"healthcheck"}, &out, &out), "answered 503")
	t.Setenv("PORT", "http")
	require.ErrorContains(t, run(context.Background(), []string{"healthcheck"}, &out, &out), "PORT")
	require.ErrorContains(t, run(context.Background(), []string{"healthcheck", "--port", "0"}, &out, &out), "out of range")
}
