package loadgen

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// interactiveRefresh is how often the progress line is redrawn on a
// terminal.
const interactiveRefresh = 500 * time.Millisecond

// progress writes the live progress to cfg.Progress until ctx ends: one
// redrawn line on a terminal, periodic plain lines otherwise.
func (r *runner) progress(ctx context.Context) {
	w := r.cfg.Progress
	if w == nil {
		return
	}
	every := r.cfg.ProgressInterval
	if r.cfg.Interactive {
		every = interactiveRefresh
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	lastAt, lastReq := time.Now(), int64(0)
	for {
		select {
		case <-ctx.Done():
			if r.cfg.Interactive {
				_, _ = fmt.Fprintf(w, "\r\x1b[2K%s\n", r.progressLine(0))
			}
			return
		case now := <-tick.C:
			req := r.rec.requests.Load()
			perSec := float64(req-lastReq) / now.Sub(lastAt).Seconds()
			lastAt, lastReq = now, req
			if r.cfg.Interactive {
				_, _ = fmt.Fprintf(w, "\r\x1b[2K%s", r.progressLine(perSec))
			} else {
				_, _ = fmt.Fprintf(w, "loadgen: %s\n", r.progressLine(perSec))
			}
		}
	}
}

// progressLine describes the run so far; perSec is the recent request rate.
func (r *runner) progressLine(perSec float64) string {
	elapsed := time.Since(r.begin)
	orders := fmt.Sprintf("orders %d placed, %d completed", r.rec.placed.Load(), r.rec.finished.Load())
	errs := fmt.Sprintf("%d errors", r.rec.failed.Load())
	phase, _ := r.phase.Load().(string)
	switch phase {
	case "settle":
		since := elapsed - time.Duration(r.loadEndNanos.Load())
		return fmt.Sprintf("settling %s/%s  %s  %s, %d pending", round(since), round(r.cfg.Settle), errs, orders, r.tracker.pending())
	case "drain":
		return fmt.Sprintf("draining %s  %s  %s", round(elapsed), errs, orders)
	}
	bar := ""
	if r.cfg.Interactive {
		bar = progressBar(float64(elapsed)/float64(r.cfg.Duration), 20) + " "
	}
	return fmt.Sprintf("%s%s/%s  %.0f req/s  %d requests  %s  %s", bar, round(elapsed), round(r.cfg.Duration), perSec, r.rec.requests.Load(), errs, orders)
}

// progressBar draws a bar of width cells filled to fraction.
func progressBar(fraction float64, width int) string {
	filled := int(min(max(fraction, 0), 1) * float64(width))
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "]"
}

func round(d time.Duration) time.Duration {
	return d.Round(time.Second)
}
