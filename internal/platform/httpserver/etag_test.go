package httpserver_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

func TestETag(t *testing.T) {
	t.Parallel()
	if got := httpserver.ETag("42"); got != `"42"` {
		t.Errorf("ETag(42) = %s", got)
	}
	hashed := httpserver.ETag(`v "1" é`)
	if !strings.HasPrefix(hashed, `"`) || strings.Count(hashed, `"`) != 2 || strings.ContainsAny(hashed[1:len(hashed)-1], "\" é") {
		t.Errorf("unsafe version not hashed: %s", hashed)
	}
	if httpserver.ETag(`v "1"`) == httpserver.ETag(`v "2"`) {
		t.Error("different versions share an ETag")
	}
	if a, b := httpserver.ETagOf([]byte("a")), httpserver.ETagOf([]byte("b")); a == b || a != httpserver.ETagOf([]byte("a")) {
		t.Errorf("ETagOf not a stable digest: %s %s", a, b)
	}
}

func TestCheckIfMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		header   []string
		current  string
		required bool
		want     int // 0 = proceed
	}{
		{"absent, optional", nil, `"1"`, false, 0},
		{"absent, required", nil, `"1"`, true, http.StatusPreconditionRequired},
		{"match", []string{`"1"`}, `"1"`, true, 0},
		{"match in list", []string{`"0", "1"`}, `"1"`, true, 0},
		{"match across header lines", []string{`"0"`, `"1"`}, `"1"`, true, 0},
		{"comma inside a tag", []string{`"a,b"`}, `"a,b"`, true, 0},
		{"star on existing", []string{"*"}, `"1"`, true, 0},
		{"star on missing resource", []string{"*"}, "", true, http.StatusPreconditionFailed},
		{"weak never matches", []string{`W/"1"`}, `"1"`, true, http.StatusPreconditionFailed},
		{"stale", []string{`"2"`}, `"1"`, true, http.StatusPreconditionFailed},
		{"unquoted", []string{`1`}, `"1"`, true, http.StatusPreconditionFailed},
		{"unterminated", []string{`"1`}, `"1"`, true, http.StatusPreconditionFailed},
		{"empty", []string{``}, `"1"`, true, http.StatusPreconditionFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPut, "/", nil)
			for _, h := range tc.header {
				r.Header.Add("If-Match", h)
			}
			err := httpserver.CheckIfMatch(r, tc.current, tc.required)
			if tc.want == 0 {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			var p *problem.Details
			if !errors.As(err, &p) || p.Status != tc.want {
				t.Fatalf("err = %v, want a %d problem", err, tc.want)
			}
		})
	}
}

func TestNotModified(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, header, current string
		want                          bool
	}{
		{"match", http.MethodGet, `"1"`, `"1"`, true},
		{"weak match", http.MethodGet, `W/"1"`, `"1"`, true},
		{"star", http.MethodHead, `*`, `"1"`, true},
		{"list", http.MethodGet, `"0", "1"`, `"1"`, true},
		{"no match", http.MethodGet, `"2"`, `"1"`, false},
		{"no header", http.MethodGet, "", `"1"`, false},
		{"unsafe method", http.MethodPost, `"1"`, `"1"`, false},
		{"resource missing", http.MethodGet, `*`, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tc.method, "/", nil)
			if tc.header != "" {
				r.Header.Set("If-None-Match", tc.header)
			}
			rec := httptest.NewRecorder()
			got := httpserver.NotModified(rec, r, tc.current)
			if got != tc.want {
				t.Fatalf("NotModified = %v, want %v", got, tc.want)
			}
			if got && (rec.Code != http.StatusNotModified || rec.Header().Get("ETag") != tc.current) {
				t.Errorf("response %d ETag %q", rec.Code, rec.Header().Get("ETag"))
			}
		})
	}
}
