package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/agoracommerce/agora/internal/platform/auth"
)

// FuzzVerify feeds arbitrary strings to the verifier. Invariants: it never
// panics, every error is one of the package's sentinels, and whatever it
// accepts carries a valid signature by one of the trusted keys. The keys in
// testdata/fuzz-keys.jwks.json exist only for this test; the seed corpus in
// testdata/fuzz/FuzzVerify holds tokens signed with them, forgeries (alg
// none, HS256 keyed with the public key, a kid pointing at the other key's
// type) and malformed input.
func FuzzVerify(f *testing.F) {
	raw, err := os.ReadFile("testdata/fuzz-keys.jwks.json")
	if err != nil {
		f.Fatal(err)
	}
	private, err := jwk.Parse(raw)
	if err != nil {
		f.Fatal(err)
	}
	public, err := jwk.PublicSetOf(private)
	if err != nil {
		f.Fatal(err)
	}
	jwks, err := json.Marshal(public)
	if err != nil {
		f.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	f.Cleanup(srv.Close)
	fixed := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	v, err := auth.NewVerifier(auth.Config{
		Issuer:    "https://issuer.test",
		Audiences: []string{"agora"},
		JWKSURL:   srv.URL,
		Clock:     func() time.Time { return fixed },
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		p, err := v.Verify(context.Background(), token)
		if err != nil {
			if !errors.Is(err, auth.ErrInvalidToken) && !errors.Is(err, auth.ErrMissingToken) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			if p != nil {
				t.Fatal("principal returned with an error")
			}
			return
		}
		if p == nil || p.Subject == "" {
			t.Fatal("accepted token without a principal subject")
		}
		for i := range public.Len() {
			key, _ := public.Key(i)
			alg, _ := key.Algorithm()
			sigAlg, ok := jwa.LookupSignatureAlgorithm(alg.String())
			if !ok {
				continue
			}
			if _, err := jws.Verify([]byte(token), jws.WithKey(sigAlg, key)); err == nil {
				return
			}
		}
		t.Fatalf("accepted a token no trusted key signed: %q", token)
	})
}
