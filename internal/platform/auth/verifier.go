// Package auth verifies the JWT bearer tokens that Agora's HTTP APIs
// accept and enforces OAuth 2.0 scopes and object ownership.
//
// A Verifier checks a token against one issuer: the signature with a key
// from the issuer's JWKS (RS256 or ES256 only), and the iss, aud and exp
// claims (exp is required), with a small leeway for clock skew. The JWKS is
// cached and refreshed lazily; an unknown key ID triggers a refetch at a
// bounded rate. A verified token becomes a Principal in the request context
// (WithPrincipal, PrincipalFrom). Guard turns an operation's OpenAPI
// security requirements into 401 and 403 problem+json responses, and
// RequireOwner is the object-level check a use case makes.
//
// # Amazon Cognito
//
// Cognito access tokens have no aud claim: they name the app client in
// client_id and say token_use "access", and their scopes carry the
// resource server's identifier ("agora/orders:write"). Config.ClientIDs
// accepts such tokens from the listed app clients, and Config.ScopePrefix
// grants each prefixed scope under its plain name too ("orders:write",
// the name the OpenAPI documents and scopes.go use), so the same security
// requirements hold for Cognito and for the development issuer. A token
// whose token_use is anything but "access" (a Cognito ID token) is never
// accepted, with or without aud.
//
// Errors are the sentinels in errors.go; the HTTP edge maps them to
// statuses and problem documents (StatusOf, ProblemOf).
package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Algorithms a Verifier may accept. Anything else (none, HS256 and the other
// HMAC algorithms, PS*, EdDSA...) is rejected before any key is looked up.
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
)

// Defaults applied by NewVerifier to zero Config fields.
const (
	DefaultLeeway          = 30 * time.Second
	DefaultRefreshInterval = 15 * time.Minute
	DefaultMinRefetch      = 30 * time.Second
	DefaultFetchTimeout    = 10 * time.Second
	// MaxTokenBytes bounds the size of a token the verifier will parse.
	MaxTokenBytes = 16 << 10
	// minRSABits is the smallest RSA modulus accepted.
	minRSABits = 2048
)

// Config configures a Verifier. Issuer, JWKSURL and Audiences or
// ClientIDs (or both) are required.
type Config struct {
	// Issuer is the exact iss claim expected.
	Issuer string
	// Audiences lists the accepted aud values; a token with an aud claim
	// must name at least one of them. It may be empty when ClientIDs is
	// set: tokens with aud are then all refused.
	Audiences []string
	// ClientIDs lists the OAuth 2.0 clients whose access tokens are
	// accepted without an aud claim, as Amazon Cognito issues them: such a
	// token must carry a client_id claim naming one of these clients and
	// a token_use claim of "access". Empty refuses every token without
	// aud.
	ClientIDs []string
	// ScopePrefix is the prefix of the scopes of the API's resource
	// server, such as Cognito's "agora/". A granted scope that starts with
	// it is granted under its name without the prefix as well, so
	// "agora/catalog:read" satisfies a requirement of "catalog:read".
	// Scopes with any other prefix match only exactly. Empty turns this
	// off.
	ScopePrefix string
	// JWKSURL is where the issuer publishes its public keys.
	JWKSURL string
	// Algorithms is the allow-list; empty means RS256 and ES256. Only those
	// two may appear.
	Algorithms []string
	// Leeway tolerates clock skew on exp, nbf and iat. Zero means
	// DefaultLeeway; it may not exceed five minutes.
	Leeway time.Duration
	// RefreshInterval is how old the cached JWKS may get before the next
	// verification refetches it. Zero means DefaultRefreshInterval.
	RefreshInterval time.Duration
	// MinRefetchInterval is the least time between two fetches of the JWKS,
	// whatever triggers them (unknown kid, expiry, failure). Zero means
	// DefaultMinRefetch.
	MinRefetchInterval time.Duration
	// HTTPClient fetches the JWKS. Nil means a client with
	// DefaultFetchTimeout.
	HTTPClient *http.Client
	// Clock returns the current time; nil means time.Now. Tests set it.
	Clock func() time.Time
	// VerifiedCacheSize bounds how many verified tokens are remembered so
	// that a token sent again is not checked again until VerifiedCacheTTL
	// passed or it expired. Zero means DefaultVerifiedCacheSize; negative
	// turns the cache off.
	VerifiedCacheSize int
	// VerifiedCacheTTL is how long a verification is trusted (never past
	// the token's exp). Zero means DefaultVerifiedCacheTTL; at most five
	// minutes.
	VerifiedCacheTTL time.Duration
}

// Validate reports the first problem with c, naming the field.
func (c Config) Validate() error {
	switch {
	case c.Issuer == "":
		return errors.New("auth: Config.Issuer is required")
	case len(c.Audiences) == 0 && len(c.ClientIDs) == 0:
		return errors.New("auth: Config.Audiences needs at least one audience, unless Config.ClientIDs accepts tokens without aud")
	case slices.Contains(c.Audiences, ""):
		return errors.New("auth: Config.Audiences may not contain an empty audience")
	case slices.Contains(c.ClientIDs, ""):
		return errors.New("auth: Config.ClientIDs may not contain an empty client ID")
	case strings.ContainsFunc(c.ScopePrefix, unicode.IsSpace):
		return fmt.Errorf("auth: Config.ScopePrefix %q may not contain white space", c.ScopePrefix)
	case c.JWKSURL == "":
		return errors.New("auth: Config.JWKSURL is required")
	case c.Leeway < 0 || c.Leeway > 5*time.Minute:
		return fmt.Errorf("auth: Config.Leeway %s is outside 0..5m", c.Leeway)
	case c.RefreshInterval < 0 || c.MinRefetchInterval < 0:
		return errors.New("auth: Config refresh intervals may not be negative")
	case c.VerifiedCacheTTL < 0 || c.VerifiedCacheTTL > 5*time.Minute:
		return fmt.Errorf("auth: Config.VerifiedCacheTTL %s is outside 0..5m", c.VerifiedCacheTTL)
	}
	if !strings.HasPrefix(c.JWKSURL, "https://") && !strings.HasPrefix(c.JWKSURL, "http://") {
		return fmt.Errorf("auth: Config.JWKSURL %q is not an http(s) URL", c.JWKSURL)
	}
	for _, a := range c.Algorithms {
		if a != AlgRS256 && a != AlgES256 {
			return fmt.Errorf("auth: Config.Algorithms: %q is not allowed (only RS256 and ES256)", a)
		}
	}
	return nil
}

// TokenVerifier turns a raw bearer token into a Principal. Implementations
// return errors wrapping ErrInvalidToken for tokens they reject and
// ErrKeysUnavailable when they cannot check any token. Safe for concurrent
// use.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*Principal, error)
}

// Verifier verifies JWT access tokens of one issuer. Safe for concurrent use.
type Verifier struct {
	issuer      string
	audiences   []string
	clientIDs   []string
	scopePrefix string
	algs        []string
	leeway      time.Duration
	now         func() time.Time
	keys        *keyCache
	verified    *verifiedCache
}

var _ TokenVerifier = (*Verifier)(nil)

// NewVerifier validates cfg and returns a Verifier. It does not fetch the
// JWKS yet: the first verification does.
func NewVerifier(cfg Config) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = DefaultRefreshInterval
	}
	if cfg.MinRefetchInterval == 0 {
		cfg.MinRefetchInterval = DefaultMinRefetch
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultFetchTimeout}
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.VerifiedCacheSize == 0 {
		cfg.VerifiedCacheSize = DefaultVerifiedCacheSize
	}
	if cfg.VerifiedCacheTTL == 0 {
		cfg.VerifiedCacheTTL = DefaultVerifiedCacheTTL
	}
	algs := slices.Clone(cfg.Algorithms)
	if len(algs) == 0 {
		algs = []string{AlgRS256, AlgES256}
	}
	return &Verifier{
		issuer:      cfg.Issuer,
		audiences:   slices.Clone(cfg.Audiences),
		clientIDs:   slices.Clone(cfg.ClientIDs),
		scopePrefix: cfg.ScopePrefix,
		algs:        algs,
		leeway:      cfg.Leeway,
		now:         cfg.Clock,
		verified:    newVerifiedCache(cfg.VerifiedCacheSize, cfg.VerifiedCacheTTL, cfg.Clock),
		keys: &keyCache{
			url:         cfg.JWKSURL,
			client:      cfg.HTTPClient,
			refresh:     cfg.RefreshInterval,
			minInterval: cfg.MinRefetchInterval,
			now:         cfg.Clock,
		},
	}, nil
}

type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }

// Verify checks token and returns its principal. Rejections wrap
// ErrInvalidToken (or are ErrMissingToken for an empty token); a JWKS that
// cannot be fetched gives ErrKeysUnavailable.
func (v *Verifier) Verify(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, ErrMissingToken
	}
	if len(token) > MaxTokenBytes {
		return nil, invalid("token too large", nil)
	}
	// Only the compact serialisation is a JWT; jws would also parse JSON.
	if strings.Count(token, ".") != 2 || strings.ContainsAny(token, " \t\r\n{") {
		return nil, invalid("not a compact JWS", nil)
	}
	if p, ok := v.verified.get(token); ok {
		return p, nil
	}
	msg, err := jws.Parse([]byte(token))
	if err != nil {
		return nil, invalid("parse", err)
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return nil, invalid("want exactly one signature", nil)
	}
	hdr := sigs[0].ProtectedHeaders()
	if hdr == nil {
		return nil, invalid("no protected header", nil)
	}
	alg, ok := hdr.Algorithm()
	if !ok || !slices.Contains(v.algs, alg.String()) {
		return nil, invalid(fmt.Sprintf("algorithm %q not allowed", alg.String()), nil)
	}
	kid, _ := hdr.KeyID()
	key, err := v.keys.lookup(ctx, kid)
	if err != nil {
		return nil, err
	}
	pub, err := publicKeyFor(alg, key)
	if err != nil {
		return nil, err
	}
	tok, err := jwt.Parse([]byte(token),
		jwt.WithKey(alg, pub),
		jwt.WithValidate(true),
		jwt.WithIssuer(v.issuer),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithAcceptableSkew(v.leeway),
		jwt.WithClock(clockFunc(v.now)),
	)
	if err != nil {
		return nil, invalid("verify", err)
	}
	// Whom the token is for: a token with aud must name an accepted
	// audience; one without must be an access token of an accepted client
	// (Amazon Cognito). Only access tokens are accepted either way.
	r, err := recipientOf(tok)
	if err != nil {
		return nil, err
	}
	switch {
	case r.hasUse && r.tokenUse != tokenUseAccess:
		return nil, invalid(fmt.Sprintf("token_use %q is not an access token", r.tokenUse), nil)
	case r.hasAud:
		if !slices.ContainsFunc(r.aud, func(a string) bool { return slices.Contains(v.audiences, a) }) {
			return nil, invalid(fmt.Sprintf("audience %q not accepted", r.aud), nil)
		}
	case len(v.clientIDs) == 0:
		return nil, invalid("no aud claim", nil)
	case r.clientID == "":
		return nil, invalid("neither aud nor client_id claim", nil)
	case !r.hasUse:
		return nil, invalid("token without aud has no token_use claim", nil)
	case !slices.Contains(v.clientIDs, r.clientID):
		return nil, invalid(fmt.Sprintf("client_id %q not accepted", r.clientID), nil)
	}
	p, err := principalOf(tok, v.scopePrefix)
	if err != nil {
		return nil, err
	}
	exp, _ := tok.Expiration()
	v.verified.put(token, p, exp)
	return p.clone(), nil
}

// Claims of Amazon Cognito's tokens.
const (
	claimTokenUse  = "token_use"
	claimClientID  = "client_id"
	tokenUseAccess = "access"
)

// recipient is what a token says about whom it is for: its audiences
// or, without aud, the client it was issued to, and what kind of token it
// is (Cognito's token_use).
type recipient struct {
	aud      []string
	hasAud   bool
	clientID string
	tokenUse string
	hasUse   bool
}

// recipientOf reads the token's recipient claims, refusing a token_use or
// client_id that is not a string. Verify decides whether to accept them.
func recipientOf(tok jwt.Token) (recipient, error) {
	var (
		r   recipient
		err error
	)
	if r.tokenUse, r.hasUse, err = stringClaim(tok, claimTokenUse); err != nil {
		return recipient{}, err
	}
	if r.hasAud = tok.Has(jwt.AudienceKey); r.hasAud {
		r.aud, _ = tok.Audience()
		return r, nil
	}
	if r.clientID, _, err = stringClaim(tok, claimClientID); err != nil {
		return recipient{}, err
	}
	return r, nil
}

// stringClaim reads the claim name, which must be a string when present.
func stringClaim(tok jwt.Token, name string) (value string, ok bool, err error) {
	if !tok.Has(name) {
		return "", false, nil
	}
	if err := tok.Get(name, &value); err != nil {
		return "", false, invalid(name+" claim is not a string", err)
	}
	return value, true, nil
}

// publicKeyFor exports key as the Go public key alg needs, refusing a key
// of the wrong type or curve, a weak RSA key, or a key whose own alg
// differs from the token's.
func publicKeyFor(alg jwa.SignatureAlgorithm, key jwk.Key) (any, error) {
	if ka, ok := key.Algorithm(); ok && ka.String() != alg.String() {
		return nil, invalid(fmt.Sprintf("key is for %s, token says %s", ka, alg), nil)
	}
	if use, ok := key.KeyUsage(); ok && use != "" && use != string(jwk.ForSignature) {
		return nil, invalid("key is not a signing key", nil)
	}
	pk, err := jwk.PublicKeyOf(key)
	if err != nil {
		return nil, invalid("public key", err)
	}
	var raw any
	if err := jwk.Export(pk, &raw); err != nil {
		return nil, invalid("export key", err)
	}
	switch k := raw.(type) {
	case *rsa.PublicKey:
		if alg.String() != AlgRS256 {
			return nil, invalid("RSA key for "+alg.String(), nil)
		}
		if k.N.BitLen() < minRSABits {
			return nil, invalid("RSA key too small", nil)
		}
		return k, nil
	case *ecdsa.PublicKey:
		if alg.String() != AlgES256 || k.Curve != elliptic.P256() {
			return nil, invalid("EC key does not match "+alg.String(), nil)
		}
		return k, nil
	default:
		return nil, invalid(fmt.Sprintf("unsupported key type %T", raw), nil)
	}
}

func principalOf(tok jwt.Token, scopePrefix string) (*Principal, error) {
	sub, _ := tok.Subject()
	if sub == "" {
		return nil, invalid("no sub claim", nil)
	}
	claims := make(map[string]any, len(tok.Keys()))
	for _, k := range tok.Keys() {
		var v any
		if err := tok.Get(k, &v); err == nil {
			claims[k] = v
		}
	}
	p := &Principal{Subject: sub, Claims: claims, Scopes: scopesOf(claims, scopePrefix)}
	for _, k := range []string{"client_id", "azp", "cid"} {
		if s, ok := claims[k].(string); ok && s != "" {
			p.ClientID = s
			break
		}
	}
	return p, nil
}

// scopesOf reads the space-separated scope claim (RFC 8693, Cognito) or
// the scp claim (a list, or a string in some issuers). A scope starting
// with prefix (when not empty) is listed under its name without the
// prefix too.
func scopesOf(claims map[string]any, prefix string) []string {
	var out []string
	add := func(v any) {
		switch s := v.(type) {
		case string:
			out = append(out, strings.Fields(s)...)
		case []any:
			for _, e := range s {
				if str, ok := e.(string); ok && str != "" {
					out = append(out, str)
				}
			}
		case []string:
			out = append(out, s...)
		}
	}
	add(claims["scope"])
	add(claims["scp"])
	if prefix != "" {
		for _, s := range out {
			if name, ok := strings.CutPrefix(s, prefix); ok && name != "" {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
