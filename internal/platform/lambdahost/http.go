// Package lambdahost runs an Agora service's parts inside AWS Lambda: it
// turns API Gateway HTTP API requests (payload format 2.0) into calls of
// the service's own HTTP handler, Amazon MSK event source batches into
// runs of the service's consumer handler chain, and DynamoDB Streams
// batches into the outbox relay, and it flushes what an invocation left
// buffered (outbox rows, produced records, telemetry) before the
// invocation returns. The service code is the one `agora serve` runs; only
// the way requests and records arrive differs.
package lambdahost

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

type requestContextKey struct{}

// RequestContext returns the API Gateway request context (stage, request
// ID, source IP and, with a JWT authorizer, the token's claims and scopes)
// of the invocation that ctx belongs to. The claims are informative: the
// service verifies the bearer token itself.
func RequestContext(ctx context.Context) (events.APIGatewayV2HTTPRequestContext, bool) {
	rc, ok := ctx.Value(requestContextKey{}).(events.APIGatewayV2HTTPRequestContext)
	return rc, ok
}

// HTTPHandler is the Lambda handler of an HTTP API route integration.
type HTTPHandler func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// HTTP adapts h to API Gateway HTTP API events (payload format 2.0). A
// request that cannot be converted (a malformed path or base64 body)
// answers 400 without reaching h; h's answer is returned whatever its
// status, so errors reach the client as h wrote them (problem+json).
func HTTP(h http.Handler) HTTPHandler {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		r, err := Request(ctx, ev)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{
				StatusCode: http.StatusBadRequest,
				Headers:    map[string]string{"Content-Type": "application/problem+json"},
				Body:       `{"type":"about:blank","title":"Bad Request","status":400}`,
			}, nil
		}
		w := newResponseWriter()
		h.ServeHTTP(w, r)
		return w.response(), nil
	}
}

// Request converts an API Gateway HTTP API event into the request the
// service would have received directly: method, raw path and query,
// headers (repeated headers arrive joined by commas, as API Gateway sends
// them), cookies as one Cookie header, the body (decoded when base64),
// the client's address, and the request context in ctx.
func Request(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	rawPath := ev.RawPath
	if rawPath == "" {
		rawPath = "/"
	}
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		return nil, fmt.Errorf("lambdahost: path %q: %w", rawPath, err)
	}
	u := &url.URL{Path: path, RawPath: rawPath, RawQuery: ev.RawQueryString}
	if u.EscapedPath() != rawPath {
		u.RawPath = ""
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("lambdahost: base64 body: %w", err)
		}
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	r, err := http.NewRequestWithContext(context.WithValue(ctx, requestContextKey{}, ev.RequestContext), method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("lambdahost: request: %w", err)
	}
	r.RequestURI = u.RequestURI()
	for name, value := range ev.Headers {
		r.Header.Set(name, value)
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = ev.RequestContext.DomainName
	}
	r.URL.Host = ""
	r.ContentLength = int64(len(body))
	if len(body) == 0 {
		r.Body = http.NoBody
	}
	if ip := ev.RequestContext.HTTP.SourceIP; ip != "" {
		r.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	if p := ev.RequestContext.HTTP.Protocol; p != "" {
		if major, minor, ok := http.ParseHTTPVersion(p); ok {
			r.Proto, r.ProtoMajor, r.ProtoMinor = p, major, minor
		}
	}
	return r, nil
}

// responseWriter buffers the handler's answer for the Lambda response.
type responseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newResponseWriter() *responseWriter { return &responseWriter{header: http.Header{}} }

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// Flush is a no-op: the response leaves as a whole.
func (w *responseWriter) Flush() {}

// response is the payload format 2.0 answer: repeated headers joined by
// commas (the format has no multi-value headers), Set-Cookie headers as
// cookies, and a body that is not UTF-8 text base64-encoded.
func (w *responseWriter) response() events.APIGatewayV2HTTPResponse {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	resp := events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{}}
	for name, values := range w.header {
		if name == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, values...)
			continue
		}
		resp.Headers[name] = strings.Join(values, ",")
		if len(values) > 1 {
			if resp.MultiValueHeaders == nil {
				resp.MultiValueHeaders = map[string][]string{}
			}
			resp.MultiValueHeaders[name] = append([]string(nil), values...)
		}
	}
	body := w.body.Bytes()
	if _, set := resp.Headers["Content-Length"]; !set && len(body) > 0 {
		resp.Headers["Content-Length"] = strconv.Itoa(len(body))
	}
	if isText(w.header.Get("Content-Type"), body) {
		resp.Body = string(body)
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(body)
		resp.IsBase64Encoded = true
	}
	return resp
}

// isText reports whether body can travel as a JSON string unchanged: valid
// UTF-8 of a textual media type (or of none, when empty).
func isText(contentType string, body []byte) bool {
	if len(body) == 0 {
		return true
	}
	if !utf8.Valid(body) {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/yaml", mt == "application/x-yaml",
		mt == "application/javascript", mt == "application/x-www-form-urlencoded":
		return true
	}
	return false
}
