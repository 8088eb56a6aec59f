package devissuer

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// maxFormBytes bounds the token request body.
const maxFormBytes = 16 << 10

// Handler serves the JWKS, the OpenID discovery document and the token
// endpoint at their well-known paths.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+JWKSPath, i.serveJWKS)
	mux.HandleFunc("GET "+DiscoveryPath, i.serveDiscovery)
	mux.HandleFunc("POST "+TokenPath, i.serveToken)
	return mux
}

func (i *Issuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, i.public)
}

func (i *Issuer) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	scopes := map[string]bool{}
	for _, c := range i.clients {
		for _, s := range c.Scopes {
			scopes[s] = true
		}
	}
	list := make([]string, 0, len(scopes))
	for s := range scopes {
		list = append(list, s)
	}
	slices.Sort(list)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                i.cfg.Issuer,
		"jwks_uri":                              i.cfg.Issuer + JWKSPath,
		"token_endpoint":                        i.cfg.Issuer + TokenPath,
		"grant_types_supported":                 []string{"client_credentials"},
		"response_types_supported":              []string{"token"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"subject_types_supported":               []string{"public"},
		"scopes_supported":                      list,
	})
}

// tokenError is the RFC 6749 section 5.2 error body.
type tokenError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (i *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_request", "the body must be application/x-www-form-urlencoded"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_request", "the form cannot be parsed"})
		return
	}
	form := r.PostForm
	for _, k := range []string{"grant_type", "scope", "client_id", "client_secret"} {
		if len(form[k]) > 1 {
			writeJSON(w, http.StatusBadRequest, tokenError{"invalid_request", k + " is repeated"})
			return
		}
	}
	id, secret, basic, ok := clientCredentials(r, form)
	if !ok {
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_request", "send the client credentials once, with HTTP Basic or in the form"})
		return
	}
	client, known := i.clients[id]
	if !known || !secretsEqual(secret, client.Secret) {
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="agora"`)
		}
		writeJSON(w, http.StatusUnauthorized, tokenError{"invalid_client", "client authentication failed"})
		return
	}
	switch gt := form.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_request", "grant_type is required"})
		return
	default:
		writeJSON(w, http.StatusBadRequest, tokenError{"unsupported_grant_type", "only client_credentials is supported"})
		return
	}
	scopes := client.Scopes
	if raw, asked := form["scope"]; asked {
		scopes = strings.Fields(raw[0])
		for _, s := range scopes {
			if !slices.Contains(client.Scopes, s) {
				writeJSON(w, http.StatusBadRequest, tokenError{"invalid_scope", "scope " + s + " is not allowed for this client"})
				return
			}
		}
	}
	tok, err := i.mint(client.ID, client.ID, scopes, i.cfg.TokenTTL)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, tokenError{"server_error", "the token could not be issued"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int(i.cfg.TokenTTL.Seconds()),
		"scope":        strings.Join(scopes, " "),
	})
}

// clientCredentials takes the client ID and secret from HTTP Basic
// (form-encoded per RFC 6749 section 2.3.1) or from the form; ok is false
// when both are used.
func clientCredentials(r *http.Request, form url.Values) (id, secret string, basic, ok bool) {
	bid, bsecret, hasBasic := r.BasicAuth()
	_, formID := form["client_id"]
	_, formSecret := form["client_secret"]
	switch {
	case hasBasic && (formSecret || (formID && form.Get("client_id") != bid)):
		return "", "", true, false
	case hasBasic:
		uid, err1 := url.QueryUnescape(bid)
		usecret, err2 := url.QueryUnescape(bsecret)
		if err1 != nil || err2 != nil {
			return "", "", true, false
		}
		return uid, usecret, true, true
	case formID && formSecret:
		return form.Get("client_id"), form.Get("client_secret"), false, true
	default:
		// No credentials at all: the caller fails as an unknown client.
		return "", "", false, true
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
