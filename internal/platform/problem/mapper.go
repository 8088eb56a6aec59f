package problem

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Rule maps errors to one problem. Err matches with errors.Is (a sentinel);
// Match, when set instead, decides for typed errors. Type is a stable
// absolute URI, Title a short summary that never varies between occurrences,
// and Detail the client-facing explanation: it is fixed text because error
// messages carry internals (wrapped operation names, identifiers of other
// tenants) that must not leave the service.
type Rule struct {
	Err    error
	Match  func(error) bool
	Status int
	Type   string
	Title  string
	Detail string
}

// Mapper is the one mapping from errors to problems at a service's edge. It
// is immutable once built and safe for concurrent use.
type Mapper struct {
	rules []Rule
}

// NewMapper validates rules and returns a Mapper that tries them in order.
// A rule needs Err or Match, a 4xx or 5xx Status, an absolute Type URI and a
// Title.
func NewMapper(rules ...Rule) (*Mapper, error) {
	for i, r := range rules {
		if (r.Err == nil) == (r.Match == nil) {
			return nil, fmt.Errorf("problem: rule %d: exactly one of Err and Match must be set", i)
		}
		if r.Status < 400 || r.Status > 599 {
			return nil, fmt.Errorf("problem: rule %d: status %d is not a 4xx or 5xx", i, r.Status)
		}
		u, err := url.Parse(r.Type)
		if err != nil || !u.IsAbs() {
			return nil, fmt.Errorf("problem: rule %d: type %q is not an absolute URI", i, r.Type)
		}
		if r.Title == "" {
			return nil, fmt.Errorf("problem: rule %d: title is empty", i)
		}
	}
	return &Mapper{rules: append([]Rule(nil), rules...)}, nil
}

// FromError turns err into the problem to send. In order: a *Details in the
// chain is used as it is; the first matching rule decides; a deadline
// becomes a 503 timeout and any other retryable error (fault.IsRetryable) a
// 503; everything else is the generic 500. A nil Mapper has no rules. A nil
// err is a programming error and also yields the generic 500.
//
// FromError never puts err's message into the problem: log err whenever the
// returned Status is 500 or more.
func (m *Mapper) FromError(err error) Details {
	if err == nil {
		return *Internal()
	}
	var d *Details
	if errors.As(err, &d) && d != nil {
		out := *d
		return out
	}
	if m != nil {
		for _, r := range m.rules {
			if (r.Err != nil && errors.Is(err, r.Err)) || (r.Match != nil && r.Match(err)) {
				return Details{Type: r.Type, Title: r.Title, Status: r.Status, Detail: r.Detail}
			}
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return *Timeout()
	case fault.IsRetryable(err):
		return *Unavailable("a dependency is temporarily unavailable; the request may be retried")
	default:
		return *Internal()
	}
}

// FromError maps err with no service rules: problems pass through, deadlines
// and retryable errors become 503 and the rest the generic 500.
func FromError(err error) Details {
	var m *Mapper
	return m.FromError(err)
}
