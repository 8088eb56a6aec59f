package httpserver_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// fuzzServer is the whole chain over the well-behaved widgets (no magic
// names), small limits so that fuzzing reaches them.
func fuzzServer(f *testing.F) http.Handler {
	return mustServer(f, func(c *httpserver.Config) {
		c.MaxBodyBytes = 4 << 10
		c.ResponseValidation = nil
	}, newWidgets(false), nil).Handler()
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// headerSafe reports whether v could arrive as a header value at all.
func headerSafe(v string) bool { return !strings.ContainsAny(v, "\r\n\x00") }

// checkInvariant fails on any 5xx and on a 4xx that is not a problem.
func checkInvariant(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("server error %d: %s", rec.Code, rec.Body)
	}
	if rec.Code >= 400 {
		var p problem.Details
		if ct := rec.Header().Get("Content-Type"); ct != problem.ContentType {
			t.Fatalf("%d with content type %q", rec.Code, ct)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code || p.Type == "" || p.Title == "" {
			t.Fatalf("%d with bad problem %q: %v", rec.Code, rec.Body, err)
		}
	}
}

// FuzzRequest drives arbitrary methods, targets, headers and bodies through
// the whole middleware chain: never a 5xx, never a panic.
func FuzzRequest(f *testing.F) {
	h := fuzzServer(f)
	f.Add("POST", "/v1/widgets", "application/json", []byte(`{"name":"a","quantity":1}`), "", "", true)
	f.Add("PUT", "/v1/widgets/0190b4b0-0000-7000-8000-000000000000", "application/merge-patch+json", []byte(`{"quantity":2}`), "id-1", `"1"`, true)
	f.Add("GET", "/v1/widgets?limit=5&color=red", "", []byte(nil), "", "", false)
	f.Add("GET", "/v1/widgets/%zz", "", []byte(nil), "bad id", "*", true)
	f.Fuzz(func(t *testing.T, method, target, contentType string, body []byte, corrID, ifMatch string, authenticated bool) {
		if !isToken(method) || !strings.HasPrefix(target, "/") || !headerSafe(contentType) || !headerSafe(corrID) || !headerSafe(ifMatch) {
			return
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		req := &http.Request{
			Method: method, URL: u, RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Host: "agora.test", RemoteAddr: "192.0.2.1:1234",
			Body: http.NoBody,
		}
		if len(body) > 0 {
			req.Body = io.NopCloser(bytes.NewReader(body))
			req.ContentLength = int64(len(body))
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if corrID != "" {
			req.Header.Set("X-Correlation-ID", corrID)
		}
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
			req.Header.Set("If-None-Match", ifMatch)
		}
		if authenticated {
			req.Header.Set("Authorization", writer)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkInvariant(t, rec)
	})
}

// FuzzCreateWidget aims at body decoding and validation: arbitrary JSON-ish
// bodies for the richest operation. Only the documented outcomes may occur.
func FuzzCreateWidget(f *testing.F) {
	h := fuzzServer(f)
	f.Add([]byte(`{"name":"a","quantity":1,"color":"red","tags":["x"]}`), "application/json")
	f.Add([]byte(`{"name":1,"quantity":"x","extra":null}`), "application/json; charset=utf-8")
	f.Add([]byte(`[`), "application/json")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		if !headerSafe(contentType) {
			return
		}
		req := httptest.NewRequest(http.MethodPost, "/v1/widgets", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", writer)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkInvariant(t, rec)
		switch rec.Code {
		case http.StatusCreated, http.StatusBadRequest, http.StatusConflict,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("undocumented status %d: %s", rec.Code, rec.Body)
		}
	})
}
