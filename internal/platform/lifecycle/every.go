package lifecycle

import (
	"context"
	"time"
)

// Every returns a component that runs round every interval until its
// context ends, then returns nil. A failed round goes to onError (which may
// be nil) and does not stop the loop; a round that fails because the
// component is stopping is not reported. A non-positive interval makes the
// component fail at once. Services use it for their periodic jobs
// (expiring reservations or carts, advancing shipments, purging the inbox),
// which keeps the jobs themselves plain use cases.
func Every(name string, interval time.Duration, round func(ctx context.Context) error, onError func(error)) Component {
	return Func(name, func(ctx context.Context) error {
		if interval <= 0 {
			return &intervalError{name: name, interval: interval}
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				if err := round(ctx); err != nil && onError != nil && ctx.Err() == nil {
					onError(err)
				}
			}
		}
	}, nil)
}

type intervalError struct {
	name     string
	interval time.Duration
}

func (e *intervalError) Error() string {
	return "lifecycle: " + e.name + ": interval must be positive, not " + e.interval.String()
}
