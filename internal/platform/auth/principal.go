package auth

import (
	"context"
	"slices"
)

// Principal is the authenticated caller of one request, taken from a
// verified access token.
type Principal struct {
	// Subject is the token's sub claim: the customer's or operator's ID, or
	// the client ID for a client-credentials token.
	Subject string
	// Scopes are the OAuth 2.0 scopes granted to the token, sorted. With
	// Config.ScopePrefix, a prefixed scope is listed both as granted
	// ("agora/orders:read") and without the prefix ("orders:read").
	Scopes []string
	// ClientID is the OAuth 2.0 client the token was issued to, when the
	// token says (client_id, azp or cid claim).
	ClientID string
	// Claims holds every claim of the token as decoded JSON values.
	Claims map[string]any
	// Token is the raw bearer token the caller authenticated with (set by
	// Guard), for a service that calls another one on the caller's behalf
	// with the caller's own credentials. It is a secret: never log it or
	// store it.
	Token string
}

// clone returns a copy of p that shares no scope list with it, so that
// a caller changing its principal's scopes cannot change another's. The
// claims map is shared: it is read only.
func (p *Principal) clone() *Principal {
	cp := *p
	cp.Scopes = slices.Clone(p.Scopes)
	return &cp
}

// HasScope reports whether the principal was granted scope.
func (p *Principal) HasScope(scope string) bool {
	return p != nil && slices.Contains(p.Scopes, scope)
}

// HasAllScopes reports whether the principal was granted every one of scopes.
func (p *Principal) HasAllScopes(scopes ...string) bool {
	for _, s := range scopes {
		if !p.HasScope(s) {
			return false
		}
	}
	return true
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx; ok is false for an anonymous
// request.
func PrincipalFrom(ctx context.Context) (p *Principal, ok bool) {
	p, ok = ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// RequireOwner is the object-level check: it returns nil when the caller in
// ctx owns the object (its subject equals ownerID) or holds ScopeAdmin or
// one of adminScopes (for example ScopeOrdersAdmin). It returns
// ErrUnauthenticated when ctx has no principal and ErrForbidden otherwise.
func RequireOwner(ctx context.Context, ownerID string, adminScopes ...string) error {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return ErrUnauthenticated
	}
	if ownerID != "" && p.Subject == ownerID {
		return nil
	}
	if p.HasScope(ScopeAdmin) {
		return nil
	}
	for _, s := range adminScopes {
		if p.HasScope(s) {
			return nil
		}
	}
	return ErrForbidden
}
