package loadgen

import (
	"context"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	orderingapi "github.com/agoracommerce/agora/gen/openapi/ordering"
)

// pollWorkers is how many order polls may be in flight at once.
const pollWorkers = 4

// trackedOrder is a placed order whose saga the run follows.
type trackedOrder struct {
	id      string
	shopper int
	placed  time.Time
	status  orderingapi.OrderStatus
	etag    string
	due     time.Time
	polling bool
	final   bool
}

// tracker follows the checkout saga of the first placed orders, up to a
// limit, by polling GET /v1/orders/{id} at a bounded rate until each order
// reaches a final status. Safe for concurrent use.
type tracker struct {
	limit    int
	interval time.Duration
	limiter  *rate.Limiter
	api      *api
	tokens   TokenSource
	rec      *recorder
	wake     chan struct{}

	mu         sync.Mutex
	orders     []*trackedOrder
	unfinished int
	completion *Histogram
}

func newTracker(cfg Config, a *api, rec *recorder) *tracker {
	return &tracker{
		limit:      max(cfg.TrackOrders, 0),
		interval:   cfg.PollInterval,
		limiter:    rate.NewLimiter(rate.Limit(cfg.PollRate), 1),
		api:        a,
		tokens:     cfg.Tokens,
		rec:        rec,
		wake:       make(chan struct{}, 1),
		completion: NewHistogram(),
	}
}

// offer hands the tracker a placed order; it is followed while fewer than
// the limit are.
func (t *tracker) offer(id string, shopper int, placed time.Time) {
	t.mu.Lock()
	if len(t.orders) >= t.limit {
		t.mu.Unlock()
		return
	}
	t.orders = append(t.orders, &trackedOrder{id: id, shopper: shopper, placed: placed, status: orderingapi.PENDING, due: placed.Add(t.interval)})
	t.unfinished++
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// pending returns how many followed orders have not reached a final status.
func (t *tracker) pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.unfinished
}

// run polls until admit ends, sending requests with reqCtx; it returns when
// every poller has stopped.
func (t *tracker) run(admit, reqCtx context.Context) {
	var wg sync.WaitGroup
	for range pollWorkers {
		wg.Go(func() {
			for {
				o := t.next(admit)
				if o == nil {
					return
				}
				t.poll(admit, reqCtx, o)
			}
		})
	}
	wg.Wait()
}

// next waits for the unfinished order that is due first and claims it;
// nil once ctx ends.
func (t *tracker) next(ctx context.Context) *trackedOrder {
	for {
		t.mu.Lock()
		var first *trackedOrder
		for _, o := range t.orders {
			if !o.final && !o.polling && (first == nil || o.due.Before(first.due)) {
				first = o
			}
		}
		var wait time.Duration
		if first != nil {
			if wait = time.Until(first.due); wait <= 0 {
				first.polling = true
				t.mu.Unlock()
				return first
			}
		}
		t.mu.Unlock()
		var timer *time.Timer
		var fire <-chan time.Time
		if first != nil {
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case <-t.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// poll reads o once, when the rate limit allows, and records a final status.
func (t *tracker) poll(admit, reqCtx context.Context, o *trackedOrder) {
	release := func(now time.Time) {
		t.mu.Lock()
		o.polling = false
		o.due = now.Add(t.interval)
		t.mu.Unlock()
	}
	if err := t.limiter.Wait(admit); err != nil {
		release(time.Now())
		return
	}
	tok, err := t.tokens.Token(reqCtx, o.shopper)
	if err != nil {
		release(time.Now())
		return
	}
	t.mu.Lock()
	etag := o.etag
	t.mu.Unlock()
	var header http.Header
	if etag != "" {
		header = http.Header{"If-None-Match": {etag}}
	}
	var order orderingapi.Order
	res, err := t.api.send(reqCtx, call{op: OpOrderPoll, method: http.MethodGet, path: "/v1/orders/" + o.id, token: tok, header: header,
		ok: []int{http.StatusOK, http.StatusNotModified}, out: &order})
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	o.polling = false
	o.due = now.Add(t.interval)
	if err != nil || res.status != http.StatusOK {
		return
	}
	if e := res.header.Get("ETag"); e != "" {
		o.etag = e
	}
	o.status = order.Status
	if !finalStatus(order.Status) {
		return
	}
	o.final = true
	t.unfinished--
	if order.Status == orderingapi.COMPLETED {
		t.completion.Record(now.Sub(o.placed))
		t.rec.finished.Add(1)
	}
}

// finalStatus reports whether an order's saga is over.
func finalStatus(s orderingapi.OrderStatus) bool {
	return s == orderingapi.COMPLETED || s == orderingapi.REJECTED || s == orderingapi.CANCELLED
}

// sagaReport summarises the followed orders.
func (t *tracker) sagaReport(placed int64) SagaReport {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := SagaReport{Placed: placed, Tracked: int64(len(t.orders)), ByStatus: map[string]int64{}, PollInterval: t.interval.String(),
		Completion: summarize(t.completion)}
	for _, o := range t.orders {
		r.ByStatus[string(o.status)]++
		switch {
		case o.status == orderingapi.COMPLETED:
			r.Completed++
		case o.status == orderingapi.REJECTED:
			r.Rejected++
		case o.status == orderingapi.CANCELLED:
			r.Cancelled++
		default:
			r.Unfinished++
		}
	}
	return r
}
