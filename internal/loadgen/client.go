package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Op names one kind of request a shopper sends; the report has a line for
// each.
type Op string

// The operations of the report.
const (
	OpBrowseList    Op = "browse.list"    // GET /v1/products
	OpBrowseProduct Op = "browse.product" // GET /v1/products/{id}
	OpSearch        Op = "search"         // GET /v1/products?q=
	OpCartCreate    Op = "cart.create"    // POST /v1/carts
	OpCartAddLine   Op = "cart.add_line"  // POST /v1/carts/{id}/lines
	OpCheckoutPlace Op = "checkout.place" // POST /v1/orders
	OpOrderPoll     Op = "order.poll"     // GET /v1/orders/{id}
)

// Ops lists the operations in report order.
var Ops = []Op{OpBrowseList, OpBrowseProduct, OpSearch, OpCartCreate, OpCartAddLine, OpCheckoutPlace, OpOrderPoll}

// opSetup counts the requests that prepare the run (catalog discovery, the
// token check); they are reported apart from the load.
const opSetup Op = "setup"

// Error kinds, the keys of the report's errors: an HTTP status that the
// operation does not expect is "http_<status>".
const (
	ErrTransport       = "transport"        // no answer: refused, reset, DNS, TLS
	ErrTimeout         = "timeout"          // no answer within the request timeout
	ErrAborted         = "aborted"          // cut off when the drain timeout ran out
	ErrInvalidResponse = "invalid_response" // an expected status with a body that does not decode
	// ErrToken counts sessions that could not get their shopper's token;
	// they send no request.
	ErrToken = "token"
)

// maxBody bounds how much of an answer is read.
const maxBody = 4 << 20

// callError is a failed request: kind is one of the error kinds.
type callError struct {
	op     Op
	kind   string
	status int
	detail string
	err    error
}

func (e *callError) Error() string {
	switch {
	case e.status != 0 && e.detail != "":
		return fmt.Sprintf("%s: HTTP %d: %s", e.op, e.status, e.detail)
	case e.status != 0:
		return fmt.Sprintf("%s: HTTP %d", e.op, e.status)
	case e.err != nil:
		return fmt.Sprintf("%s: %s: %v", e.op, e.kind, e.err)
	default:
		return fmt.Sprintf("%s: %s", e.op, e.kind)
	}
}

func (e *callError) Unwrap() error { return e.err }

// call is one request.
type call struct {
	op     Op
	method string
	path   string
	query  url.Values
	token  string
	header http.Header
	body   any
	ok     []int // statuses that count as success
	out    any   // decoded from a 2xx answer other than 304
}

// result is an answered request.
type result struct {
	status int
	header http.Header
}

// api sends requests to the gateway and records each in rec.
type api struct {
	base   string
	client *http.Client
	rec    *recorder
}

// send performs c, records it, and returns a *callError for a transport
// failure or a status outside c.ok.
func (a *api) send(ctx context.Context, c call) (result, error) {
	var body io.Reader
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			return result{}, fmt.Errorf("%s: encode request: %w", c.op, err)
		}
		body = bytes.NewReader(b)
	}
	target := a.base + c.path
	if len(c.query) > 0 {
		target += "?" + c.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, c.method, target, body)
	if err != nil {
		return result{}, fmt.Errorf("%s: build request: %w", c.op, err)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", "agora-loadgen")
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, vs := range c.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	start := time.Now()
	resp, err := a.client.Do(req)
	if err != nil {
		kind := transportKind(ctx, err)
		a.rec.observe(c.op, 0, kind, false)
		return result{}, &callError{op: c.op, kind: kind, err: err}
	}
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_ = resp.Body.Close()
	elapsed := time.Since(start)
	if readErr != nil {
		kind := transportKind(ctx, readErr)
		a.rec.observe(c.op, 0, kind, false)
		return result{}, &callError{op: c.op, kind: kind, err: readErr}
	}
	res := result{status: resp.StatusCode, header: resp.Header}
	if !slices.Contains(c.ok, resp.StatusCode) {
		kind := "http_" + strconv.Itoa(resp.StatusCode)
		a.rec.observe(c.op, elapsed, kind, true)
		return res, &callError{op: c.op, kind: kind, status: resp.StatusCode, detail: problemDetail(data)}
	}
	if c.out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, c.out); err != nil {
			a.rec.observe(c.op, elapsed, ErrInvalidResponse, true)
			return res, &callError{op: c.op, kind: ErrInvalidResponse, status: resp.StatusCode, err: err}
		}
	}
	a.rec.observe(c.op, elapsed, "", true)
	return res, nil
}

// transportKind classifies a request that got no answer.
func transportKind(ctx context.Context, err error) string {
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		return ErrAborted
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ErrTimeout
	default:
		return ErrTransport
	}
}

// problemDetail summarises an RFC 9457 problem body, or the start of any
// other body.
func problemDetail(data []byte) string {
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(data, &p) == nil && (p.Title != "" || p.Detail != "") {
		return strings.TrimSuffix(strings.Join([]string{p.Title, p.Detail}, ": "), ": ")
	}
	s := strings.TrimSpace(string(data))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// opStats is the record of one operation.
type opStats struct {
	count, errors int64
	latency       *Histogram
}

// recorder collects what every request did. Safe for concurrent use.
type recorder struct {
	mu     sync.Mutex
	ops    map[Op]*opStats
	errors map[string]int64

	// Totals read by the progress line without the lock.
	requests, failed atomic.Int64
	placed, finished atomic.Int64
}

func newRecorder() *recorder {
	r := &recorder{ops: map[Op]*opStats{}, errors: map[string]int64{}}
	for _, op := range append([]Op{opSetup}, Ops...) {
		r.ops[op] = &opStats{latency: NewHistogram()}
	}
	return r
}

// observe records one request: latency counts only when an answer came
// (answered), errKind is empty on success.
func (r *recorder) observe(op Op, latency time.Duration, errKind string, answered bool) {
	r.mu.Lock()
	s := r.ops[op]
	s.count++
	if answered {
		s.latency.Record(latency)
	}
	if errKind != "" {
		s.errors++
		if op != opSetup {
			r.errors[errKind]++
		}
	}
	r.mu.Unlock()
	if op == opSetup {
		return
	}
	r.requests.Add(1)
	if errKind != "" {
		r.failed.Add(1)
	}
}

// tokenFailed counts a session that got no token.
func (r *recorder) tokenFailed() {
	r.mu.Lock()
	r.errors[ErrToken]++
	r.mu.Unlock()
}
