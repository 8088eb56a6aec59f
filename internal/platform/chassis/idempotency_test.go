package chassis_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/chassis"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// An operation flagged x-agora-idempotency: required refuses a POST
// without a key, runs a keyed POST once and replays it afterwards, per
// caller.
func TestIdempotencyRequiredReplays(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edgeOptions{idempotency: chassis.IdempotencyRequired})
	alice := e.token(t, "alice", scopeWrite)
	body := `{"name":"flange","quantity":4}`

	res := e.do(t, http.MethodPost, "/v1/widgets", body, "Authorization", alice)
	require.Equal(t, http.StatusBadRequest, res.status)
	require.Equal(t, problem.TypeValidation, res.problem.Type)
	require.Equal(t, []problem.FieldError{{Parameter: idempotency.KeyHeader, In: "header",
		Detail: "This operation requires an Idempotency-Key header."}}, res.problem.Errors)
	require.Equal(t, res.header.Get("X-Correlation-ID"), res.problem.CorrelationID)
	require.Zero(t, e.api.created.Load())

	first := e.do(t, http.MethodPost, "/v1/widgets", body, "Authorization", alice, idempotency.KeyHeader, "k-1")
	require.Equal(t, http.StatusCreated, first.status, "%s", first.body)
	require.Empty(t, first.header.Get(idempotency.ReplayedHeader))

	again := e.do(t, http.MethodPost, "/v1/widgets", body, "Authorization", alice, idempotency.KeyHeader, "k-1")
	require.Equal(t, http.StatusCreated, again.status)
	require.Equal(t, "true", again.header.Get(idempotency.ReplayedHeader))
	require.Equal(t, first.body, again.body, "byte-identical replay")
	require.Equal(t, first.header.Get("ETag"), again.header.Get("ETag"))
	require.NotEqual(t, first.header.Get("X-Correlation-ID"), again.header.Get("X-Correlation-ID"), "each request keeps its own correlation ID")
	require.EqualValues(t, 1, e.api.created.Load(), "the handler ran once")
	require.EqualValues(t, 1, e.outboxBacklog(t), "one event, not two")

	other := e.do(t, http.MethodPost, "/v1/widgets", `{"name":"flange","quantity":5}`, "Authorization", alice, idempotency.KeyHeader, "k-1")
	require.Equal(t, http.StatusUnprocessableEntity, other.status)
	require.Equal(t, idempotency.TypeKeyReused, other.problem.Type)

	bob := e.do(t, http.MethodPost, "/v1/widgets", `{"name":"washer","quantity":1}`,
		"Authorization", e.token(t, "bob", scopeWrite), idempotency.KeyHeader, "k-1")
	require.Equal(t, http.StatusCreated, bob.status, "keys are scoped to the caller")
	require.Empty(t, bob.header.Get(idempotency.ReplayedHeader))
	require.EqualValues(t, 2, e.api.created.Load())
}

// Without the extension a POST takes keys but does not require them; an
// operation opted out with "none" ignores them.
func TestIdempotencyOptionalAndNone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		policy     string
		wantReplay bool
	}{
		{"", true},
		{chassis.IdempotencyOptional, true},
		{chassis.IdempotencyNone, false},
	}
	for _, tt := range tests {
		t.Run("policy "+tt.policy, func(t *testing.T) {
			t.Parallel()
			e := newEdge(t, edgeOptions{idempotency: tt.policy})
			alice := e.token(t, "alice", scopeWrite)
			require.Equal(t, http.StatusCreated, e.do(t, http.MethodPost, "/v1/widgets", `{"name":"a","quantity":1}`, "Authorization", alice).status)
			require.Equal(t, http.StatusCreated, e.do(t, http.MethodPost, "/v1/widgets", `{"name":"b","quantity":1}`, "Authorization", alice).status)
			require.EqualValues(t, 2, e.api.created.Load(), "no key, no protection")

			first := e.do(t, http.MethodPost, "/v1/widgets", `{"name":"c","quantity":1}`, "Authorization", alice, idempotency.KeyHeader, "k")
			second := e.do(t, http.MethodPost, "/v1/widgets", `{"name":"c","quantity":1}`, "Authorization", alice, idempotency.KeyHeader, "k")
			require.Equal(t, http.StatusCreated, first.status)
			require.Equal(t, http.StatusCreated, second.status)
			require.Equal(t, tt.wantReplay, second.header.Get(idempotency.ReplayedHeader) == "true")
			want := int64(4)
			if tt.wantReplay {
				want = 3
			}
			require.Equal(t, want, e.api.created.Load())
		})
	}
}
