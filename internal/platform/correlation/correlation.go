// Package correlation carries the correlation ID of one business flow
// through a context: set from the X-Correlation-ID header at the HTTP edge
// (or generated there), written to every log line, copied into the
// correlation_id header of every Kafka event the flow causes, and restored
// from that header by consumers.
package correlation

import (
	"context"

	"github.com/google/uuid"
)

// Header names used at the edges.
const (
	HTTPHeader  = "X-Correlation-ID"
	KafkaHeader = "correlation_id"
)

type ctxKey struct{}

// WithID returns a context carrying id.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// ID returns the correlation ID in ctx, or "" when there is none.
func ID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// New returns a fresh, time-ordered correlation ID.
func New() string {
	return uuid.Must(uuid.NewV7()).String()
}

// Ensure returns ctx with its correlation ID, adding a new one when missing.
func Ensure(ctx context.Context) (context.Context, string) {
	if id := ID(ctx); id != "" {
		return ctx, id
	}
	id := New()
	return WithID(ctx, id), id
}

// Valid reports whether an ID received from outside is acceptable: 1 to 128
// printable ASCII characters without spaces.
func Valid(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}
