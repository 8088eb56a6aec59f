package resilience

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Instrument names.
const (
	MetricAttempts           = "agora.resilience.attempts"
	MetricRetries            = "agora.resilience.retries"
	MetricBreakerTransitions = "agora.resilience.breaker.transitions"
	MetricBreakerState       = "agora.resilience.breaker.state"
)

// Metrics records what the retry and breaker machinery does:
//
//   - agora.resilience.attempts (counter): every attempt, with target and
//     outcome (success, retryable_error, permanent_error, breaker_open);
//   - agora.resilience.retries (counter): every retry scheduled, by target;
//   - agora.resilience.breaker.transitions (counter): breaker state changes,
//     by target, from and to;
//   - agora.resilience.breaker.state (gauge): each breaker's state, by
//     target (0 closed, 1 half-open, 2 open).
//
// A nil *Metrics records nothing. It is safe for concurrent use.
type Metrics struct {
	attempts    metric.Int64Counter
	retries     metric.Int64Counter
	transitions metric.Int64Counter

	mu       sync.Mutex
	breakers []*Breaker
}

// NewMetrics creates the instruments on mp's meter.
func NewMetrics(mp metric.MeterProvider) (*Metrics, error) {
	if mp == nil {
		return nil, errors.New("resilience: meter provider is nil")
	}
	meter := mp.Meter("github.com/agoracommerce/agora/internal/platform/resilience")
	m := &Metrics{}
	var err error
	if m.attempts, err = meter.Int64Counter(MetricAttempts, metric.WithDescription("Calls attempted, by target and outcome."), metric.WithUnit("{attempt}")); err != nil {
		return nil, fmt.Errorf("resilience: metric %s: %w", MetricAttempts, err)
	}
	if m.retries, err = meter.Int64Counter(MetricRetries, metric.WithDescription("Retries scheduled, by target."), metric.WithUnit("{retry}")); err != nil {
		return nil, fmt.Errorf("resilience: metric %s: %w", MetricRetries, err)
	}
	if m.transitions, err = meter.Int64Counter(MetricBreakerTransitions, metric.WithDescription("Circuit breaker state changes."), metric.WithUnit("{transition}")); err != nil {
		return nil, fmt.Errorf("resilience: metric %s: %w", MetricBreakerTransitions, err)
	}
	_, err = meter.Int64ObservableGauge(MetricBreakerState,
		metric.WithDescription("Circuit breaker state: 0 closed, 1 half-open, 2 open."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, b := range m.breakers {
				o.Observe(stateValue(b.State()), metric.WithAttributes(attribute.String("target", b.Name())))
			}
			return nil
		}))
	if err != nil {
		return nil, fmt.Errorf("resilience: metric %s: %w", MetricBreakerState, err)
	}
	return m, nil
}

func stateValue(s State) int64 {
	switch s {
	case StateHalfOpen:
		return 1
	case StateOpen:
		return 2
	default:
		return 0
	}
}

func (m *Metrics) register(b *Breaker) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.breakers = append(m.breakers, b)
}

func (m *Metrics) attempt(ctx context.Context, target string, err error) {
	if m == nil {
		return
	}
	outcome := "success"
	switch {
	case err == nil:
	case errors.Is(err, ErrOpen):
		outcome = "breaker_open"
	case fault.IsRetryable(err):
		outcome = "retryable_error"
	default:
		outcome = "permanent_error"
	}
	m.attempts.Add(ctx, 1, metric.WithAttributes(attribute.String("target", target), attribute.String("outcome", outcome)))
}

func (m *Metrics) retry(ctx context.Context, target string) {
	if m == nil {
		return
	}
	m.retries.Add(ctx, 1, metric.WithAttributes(attribute.String("target", target)))
}

func (m *Metrics) transition(target string, from, to State) {
	if m == nil {
		return
	}
	m.transitions.Add(context.Background(), 1, metric.WithAttributes(
		attribute.String("target", target), attribute.String("from", string(from)), attribute.String("to", string(to))))
}
