// Package idempotency makes POST requests safe to retry with the
// Idempotency-Key header, with the semantics Stripe's API made familiar:
//
//   - the first request with a key claims it, runs, and its response is
//     stored;
//   - a retry with the same key and the same request gets the stored
//     response again, byte for byte, marked Idempotent-Replayed: true;
//   - the same key with a different request is refused with 422;
//   - the same key while the first request still runs is refused with 409;
//   - a response with a 5xx status is not stored: the key is released so the
//     client can retry (a 4xx is stored and replayed, like any result);
//   - keys expire after Options.Retention and can then be used again.
//
// Keys are scoped to the caller (the authenticated principal's subject, or
// an anonymous scope), the method and the route, so two callers cannot
// collide or read each other's responses. Records live in a Store; this
// package defines the port, sqlstore and redisstore implement it and
// idempotencytest holds the contract suite both pass.
package idempotency

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// State is the lifecycle of a record.
type State int

// States of a record.
const (
	// InProgress: the key is claimed and its request is running.
	InProgress State = iota
	// Completed: the response is stored and is replayed on retries.
	Completed
)

// Response is a stored HTTP response.
type Response struct {
	Status int
	// Header holds only the headers worth replaying (Options.ReplayHeaders).
	Header http.Header
	Body   []byte
}

// Record is what a Store keeps per key.
type Record struct {
	State       State
	Fingerprint string
	// Token identifies the claim that owns an in-progress record; only its
	// holder may complete or release it.
	Token     string
	Response  *Response // set when Completed
	ExpiresAt time.Time
}

// Claim asks a Store for a key.
type Claim struct {
	Token       string
	Fingerprint string
	// Now is the caller's clock; a record whose ExpiresAt is not after Now
	// counts as absent.
	Now time.Time
	// ExpiresAt is when an unfinished claim lapses (so a crashed request
	// does not block its key for the whole retention).
	ExpiresAt time.Time
}

// Errors a Store returns.
var (
	// ErrNotOwner: Complete or Release with a token that no longer holds the
	// key (it expired and was claimed again, or was released).
	ErrNotOwner = errors.New("idempotency: key is not held by this claim")
)

// Store keeps idempotency records. IDs are opaque strings of at most 64
// bytes chosen by the middleware. Implementations are safe for concurrent
// use by many processes; errors from the backing store are wrapped and
// marked retryable where a retry may help.
type Store interface {
	// Claim atomically creates an in-progress record for id unless an
	// unexpired one exists. It returns claimed=true when the caller now
	// holds the key; otherwise it returns the existing record.
	Claim(ctx context.Context, id string, c Claim) (existing Record, claimed bool, err error)
	// Complete stores resp for id, keeping it until expiresAt, if token
	// still holds the in-progress record; otherwise it returns ErrNotOwner.
	Complete(ctx context.Context, id, token string, resp Response, expiresAt time.Time) error
	// Release deletes id's in-progress record if token holds it; otherwise
	// it returns ErrNotOwner.
	Release(ctx context.Context, id, token string) error
	// Purge deletes records that expired at or before now and reports how
	// many. Stores that expire records by themselves return 0.
	Purge(ctx context.Context, now time.Time) (int64, error)
}
