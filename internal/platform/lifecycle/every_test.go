package lifecycle_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agoracommerce/agora/internal/platform/lifecycle"
)

func TestEveryRunsRoundsReportsErrorsAndStops(t *testing.T) {
	t.Parallel()
	var rounds, reported atomic.Int32
	boom := errors.New("boom")
	c := lifecycle.Every("job", time.Millisecond, func(context.Context) error {
		if rounds.Add(1)%2 == 0 {
			return boom
		}
		return nil
	}, func(err error) {
		if errors.Is(err, boom) {
			reported.Add(1)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for reported.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Every did not stop")
	}
	if reported.Load() < 2 || rounds.Load() < 4 {
		t.Fatalf("rounds %d, reported %d: failed rounds must be reported and must not stop the loop", rounds.Load(), reported.Load())
	}
	if c.Name() != "job" {
		t.Fatalf("Name = %q", c.Name())
	}
}

func TestEveryRejectsNonPositiveInterval(t *testing.T) {
	t.Parallel()
	err := lifecycle.Every("job", 0, func(context.Context) error { return nil }, nil).Run(context.Background())
	if err == nil {
		t.Fatal("a zero interval must fail")
	}
}
