package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Report is the outcome of a run; it encodes to the JSON report as is.
type Report struct {
	// Target is the gateway's base URL.
	Target string `json:"target"`
	// Model is "open" (a constant arrival rate) or "closed" (a fixed
	// number of shoppers).
	Model       string         `json:"model"`
	Rate        float64        `json:"rate_per_second,omitempty"`
	MaxInFlight int            `json:"max_in_flight,omitempty"`
	Concurrency int            `json:"concurrency,omitempty"`
	Mix         map[string]int `json:"mix"`
	Seed        uint64         `json:"seed"`
	StartedAt   time.Time      `json:"started_at"`
	// DurationSeconds is the load's length, drain included; SettleSeconds
	// the time spent following orders afterwards.
	DurationSeconds float64 `json:"duration_seconds"`
	SettleSeconds   float64 `json:"settle_seconds"`
	// Interrupted is true when the run was cancelled (Ctrl-C).
	Interrupted bool `json:"interrupted"`

	Discovery DiscoveryReport `json:"discovery"`
	Requests  RequestsReport  `json:"requests"`
	Sessions  SessionsReport  `json:"sessions"`
	Orders    OrdersReport    `json:"orders"`
	// Operations has one entry for every Op, keyed by its name.
	Operations map[string]OpReport `json:"operations"`
	// Errors counts failed requests by kind: http_<status>, transport,
	// timeout, aborted, invalid_response; and token, the sessions that
	// could not get a token (they sent nothing).
	Errors map[string]int64 `json:"errors"`
	Saga   SagaReport       `json:"saga"`
}

// DiscoveryReport describes the preparation of the run.
type DiscoveryReport struct {
	// Requests counts the catalog pages read and the token check.
	Requests   int64 `json:"requests"`
	Products   int   `json:"products"`
	Categories int   `json:"categories"`
	Words      int   `json:"search_words"`
}

// RequestsReport counts the load's requests (setup excluded, the order
// polls of the settling included); PerSecond is the rate during the load.
type RequestsReport struct {
	Total     int64   `json:"total"`
	Errors    int64   `json:"errors"`
	PerSecond float64 `json:"per_second"`
}

// SessionsReport counts the sessions.
type SessionsReport struct {
	Started int64 `json:"started"`
	// Completed sessions ran every step; Failed ones stopped at a failed
	// request; CutShort ones were stopped by the end of the load.
	Completed int64 `json:"completed"`
	Failed    int64 `json:"failed"`
	CutShort  int64 `json:"cut_short"`
	// Dropped (open model) arrivals found every shopper busy; Late ones
	// were dispatched behind their schedule.
	Dropped int64            `json:"dropped"`
	Late    int64            `json:"late"`
	ByKind  map[string]int64 `json:"by_kind"`
}

// OrdersReport counts the orders placed (answered 201).
type OrdersReport struct {
	Placed    int64   `json:"placed"`
	PerSecond float64 `json:"per_second"`
}

// OpReport is one operation's record. Latency covers every answered
// request, whatever its status.
type OpReport struct {
	Count   int64          `json:"count"`
	Errors  int64          `json:"errors"`
	Latency LatencySummary `json:"latency"`
}

// LatencySummary gives percentiles of a Histogram in milliseconds.
type LatencySummary struct {
	Count  uint64  `json:"count"`
	MeanMS float64 `json:"mean_ms"`
	P50MS  float64 `json:"p50_ms"`
	P95MS  float64 `json:"p95_ms"`
	P99MS  float64 `json:"p99_ms"`
	MaxMS  float64 `json:"max_ms"`
}

// SagaReport follows placed orders through the checkout saga.
type SagaReport struct {
	Placed int64 `json:"placed"`
	// Tracked is how many of them were followed (the first ones).
	Tracked    int64 `json:"tracked"`
	Completed  int64 `json:"completed"`
	Rejected   int64 `json:"rejected"`
	Cancelled  int64 `json:"cancelled"`
	Unfinished int64 `json:"unfinished"`
	// ByStatus counts the followed orders by their last status seen.
	ByStatus map[string]int64 `json:"by_status"`
	// Completion is the time from the 201 of the checkout to the first
	// poll that saw COMPLETED, so it is late by up to PollInterval.
	Completion   LatencySummary `json:"completion"`
	PollInterval string         `json:"poll_interval"`
}

func summarize(h *Histogram) LatencySummary {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return LatencySummary{Count: h.Count(), MeanMS: ms(h.Mean()), P50MS: ms(h.Quantile(0.50)), P95MS: ms(h.Quantile(0.95)),
		P99MS: ms(h.Quantile(0.99)), MaxMS: ms(h.Max())}
}

func (r *runner) report(interrupted bool) *Report {
	load := time.Duration(r.loadEndNanos.Load())
	rep := &Report{
		Target:          r.cfg.BaseURL,
		Model:           "closed",
		Concurrency:     r.cfg.Concurrency,
		Mix:             r.cfg.Mix.Weights(),
		Seed:            r.cfg.Seed,
		StartedAt:       r.begin.UTC(),
		DurationSeconds: load.Seconds(),
		SettleSeconds:   time.Duration(r.settleNanos.Load()).Seconds(),
		Interrupted:     interrupted,
		Discovery: DiscoveryReport{Products: len(r.catalog.products), Categories: len(r.catalog.categories),
			Words: len(r.catalog.words)},
		Sessions: SessionsReport{Started: r.started.Load(), Completed: r.ok.Load(), Failed: r.failed.Load(),
			Dropped: r.dropped.Load(), Late: r.late.Load(), ByKind: map[string]int64{}},
		Operations: map[string]OpReport{},
		Errors:     map[string]int64{},
	}
	if r.cfg.Rate > 0 {
		rep.Model, rep.Rate, rep.MaxInFlight, rep.Concurrency = "open", r.cfg.Rate, r.cfg.MaxInFlight, 0
	}
	rep.Sessions.CutShort = rep.Sessions.Started - rep.Sessions.Completed - rep.Sessions.Failed
	for _, k := range Kinds {
		rep.Sessions.ByKind[string(k)] = r.kinds[k].Load()
	}
	r.rec.mu.Lock()
	for _, op := range Ops {
		s := r.rec.ops[op]
		rep.Operations[string(op)] = OpReport{Count: s.count, Errors: s.errors, Latency: summarize(s.latency)}
		rep.Requests.Total += s.count
		rep.Requests.Errors += s.errors
	}
	rep.Discovery.Requests = r.rec.ops[opSetup].count
	maps.Copy(rep.Errors, r.rec.errors)
	r.rec.mu.Unlock()
	rep.Orders.Placed = r.rec.placed.Load()
	if secs := load.Seconds(); secs > 0 {
		rep.Requests.PerSecond = float64(r.loadRequests) / secs
		rep.Orders.PerSecond = float64(rep.Orders.Placed) / secs
	}
	rep.Saga = r.tracker.sagaReport(rep.Orders.Placed)
	return rep
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("loadgen: write the JSON report: %w", err)
	}
	return nil
}

// WriteText writes the report for people to read.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	model := fmt.Sprintf("closed model, %d shoppers", rep.Concurrency)
	if rep.Model == "open" {
		model = fmt.Sprintf("open model, %g sessions/s, at most %d in flight", rep.Rate, rep.MaxInFlight)
	}
	mix := make([]string, 0, len(Kinds))
	for _, k := range Kinds {
		mix = append(mix, fmt.Sprintf("%s=%d", k, rep.Mix[string(k)]))
	}
	fmt.Fprintf(&b, "Agora load run against %s\n", rep.Target)
	fmt.Fprintf(&b, "  %s, mix %s, seed %d\n", model, strings.Join(mix, ","), rep.Seed)
	if rep.Interrupted {
		b.WriteString("  interrupted: the run was cancelled before its end\n")
	}
	fmt.Fprintf(&b, "\nduration      %.1fs of load, %.1fs settling\n", rep.DurationSeconds, rep.SettleSeconds)
	fmt.Fprintf(&b, "catalog       %d products, %d categories, %d search words (%d setup requests)\n",
		rep.Discovery.Products, rep.Discovery.Categories, rep.Discovery.Words, rep.Discovery.Requests)
	fmt.Fprintf(&b, "requests      %d, %.1f/s, %d errors (%s)\n", rep.Requests.Total, rep.Requests.PerSecond, rep.Requests.Errors,
		percent(rep.Requests.Errors, rep.Requests.Total))
	kinds := make([]string, 0, len(Kinds))
	for _, k := range Kinds {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, rep.Sessions.ByKind[string(k)]))
	}
	s := rep.Sessions
	fmt.Fprintf(&b, "sessions      %d started (%s): %d completed, %d failed, %d cut short", s.Started, strings.Join(kinds, ", "),
		s.Completed, s.Failed, s.CutShort)
	if rep.Model == "open" {
		fmt.Fprintf(&b, "; %d dropped, %d late", s.Dropped, s.Late)
	}
	fmt.Fprintf(&b, "\norders        %d placed, %.2f/s\n\n", rep.Orders.Placed, rep.Orders.PerSecond)

	fmt.Fprintf(&b, "%-16s %8s %7s %9s %9s %9s %9s\n", "operation", "count", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms")
	for _, op := range Ops {
		o := rep.Operations[string(op)]
		fmt.Fprintf(&b, "%-16s %8d %7d %9s %9s %9s %9s\n", op, o.Count, o.Errors, ms(o.Latency.P50MS), ms(o.Latency.P95MS),
			ms(o.Latency.P99MS), ms(o.Latency.MaxMS))
	}

	b.WriteString("\nerrors")
	if len(rep.Errors) == 0 {
		b.WriteString("        none\n")
	} else {
		b.WriteString("\n")
		for _, k := range slices.Sorted(maps.Keys(rep.Errors)) {
			fmt.Fprintf(&b, "  %-18s %d\n", k, rep.Errors[k])
		}
	}

	sg := rep.Saga
	fmt.Fprintf(&b, "\ncheckout saga %d of %d placed orders followed (polled every %s)\n", sg.Tracked, sg.Placed, sg.PollInterval)
	if sg.Tracked > 0 {
		c := sg.Completion
		fmt.Fprintf(&b, "  placed -> COMPLETED  p50 %s  p95 %s  p99 %s  max %s ms (%d orders)\n", ms(c.P50MS), ms(c.P95MS),
			ms(c.P99MS), ms(c.MaxMS), c.Count)
		fmt.Fprintf(&b, "  final   COMPLETED %d, REJECTED %d, CANCELLED %d; unfinished %d", sg.Completed, sg.Rejected, sg.Cancelled, sg.Unfinished)
		var open []string
		for _, st := range slices.Sorted(maps.Keys(sg.ByStatus)) {
			if st != "COMPLETED" && st != "REJECTED" && st != "CANCELLED" {
				open = append(open, fmt.Sprintf("%s %d", st, sg.ByStatus[st]))
			}
		}
		if len(open) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(open, ", "))
		}
		b.WriteString("\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("loadgen: write the report: %w", err)
	}
	return nil
}

func ms(v float64) string {
	switch {
	case v == 0:
		return "-"
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 1000:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

func percent(n, of int64) string {
	if of == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(n)/float64(of))
}
