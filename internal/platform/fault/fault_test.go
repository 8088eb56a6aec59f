package fault_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestIsRetryable(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"unmarked", base, false},
		{"retryable", fault.Retryable(base), true},
		{"wrapped retryable", fmt.Errorf("op: %w", fault.Retryable(base)), true},
		{"permanent", fault.Permanent(base), false},
		{"retryable over permanent", fault.Retryable(fmt.Errorf("op: %w", fault.Permanent(base))), true},
		{"permanent over retryable", fault.Permanent(fault.Retryable(base)), false},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), true},
		{"canceled", fmt.Errorf("call: %w", context.Canceled), false},
		{"net timeout", fmt.Errorf("dial: %w", timeoutErr{}), true},
		{"joined with retryable", errors.Join(base, fault.Retryable(base)), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := fault.IsRetryable(tc.err); got != tc.want {
				t.Fatalf("IsRetryable(%v) = %v, want %v", tc.err, got, tc.want)
			}
			if tc.err != nil && fault.IsPermanent(tc.err) == tc.want {
				t.Fatalf("IsPermanent(%v) = %v, want %v", tc.err, !tc.want, !tc.want)
			}
		})
	}
}

func TestMarksKeepMessageAndChain(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	err := fmt.Errorf("op: %w", fault.Retryable(base))
	if err.Error() != "op: boom" {
		t.Fatalf("message = %q", err.Error())
	}
	if !errors.Is(err, base) || !errors.Is(err, fault.ErrRetryable) || errors.Is(err, fault.ErrPermanent) {
		t.Fatal("chain does not match the marks")
	}
	if fault.Retryable(nil) != nil || fault.Permanent(nil) != nil {
		t.Fatal("marking nil must stay nil")
	}
}
