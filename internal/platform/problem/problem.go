// Package problem is Agora's one shape for HTTP errors: RFC 9457
// "application/problem+json" documents, the constructors for the cases every
// service meets, and the single place where errors become problems at the
// edge (Mapper). Domain packages declare sentinel errors and know nothing of
// HTTP; each service's HTTP adapter builds one Mapper that turns those
// errors into stable problem types and statuses. Anything the Mapper does not
// know becomes a generic 500 whose detail reveals nothing: the caller logs the
// real error next to the correlation ID that the problem carries.
package problem

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/agoracommerce/agora/internal/platform/correlation"
)

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// Stable identifiers of the problem types the platform itself produces.
// Clients may switch on them; they never change meaning once published.
const (
	TypeBase                 = "https://agora.dev/problems/"
	TypeValidation           = TypeBase + "validation"
	TypeMalformedBody        = TypeBase + "malformed-body"
	TypeNotFound             = TypeBase + "not-found"
	TypeMethodNotAllowed     = TypeBase + "method-not-allowed"
	TypeUnauthorized         = TypeBase + "unauthorized"
	TypeForbidden            = TypeBase + "forbidden"
	TypeConflict             = TypeBase + "conflict"
	TypePreconditionFailed   = TypeBase + "precondition-failed"
	TypePreconditionRequired = TypeBase + "precondition-required"
	TypePayloadTooLarge      = TypeBase + "payload-too-large"
	TypeUnsupportedMediaType = TypeBase + "unsupported-media-type"
	TypeRateLimited          = TypeBase + "rate-limited"
	TypeInternal             = TypeBase + "internal"
	TypeUnavailable          = TypeBase + "unavailable"
	TypeTimeout              = TypeBase + "timeout"
	TypeNotReady             = TypeBase + "not-ready"
)

// FieldError names one offending part of a request. Pointer is an RFC 6901
// JSON pointer into the request body ("" is the whole body, "/items/0/qty" a
// nested member); for a parameter, Parameter and In ("path", "query",
// "header", "cookie") name it instead.
type FieldError struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
	In        string `json:"in,omitempty"`
	Detail    string `json:"detail"`
}

// Details is one problem document. The RFC 9457 members are Type, Title,
// Status, Detail and Instance; Errors and CorrelationID are Agora's standard
// extension members, and Extensions holds any other extension member (its
// keys must not collide with the standard ones; colliding keys are dropped).
//
// *Details implements error, so a handler or an authenticator can return a
// ready-made problem and the Mapper passes it through unchanged.
type Details struct {
	Type          string
	Title         string
	Status        int
	Detail        string
	Instance      string
	Errors        []FieldError
	CorrelationID string
	Extensions    map[string]any
}

// Error reports the problem's status, title and detail.
func (d *Details) Error() string {
	if d.Detail == "" {
		return fmt.Sprintf("%d %s", d.Status, d.Title)
	}
	return fmt.Sprintf("%d %s: %s", d.Status, d.Title, d.Detail)
}

var reserved = map[string]bool{
	"type": true, "title": true, "status": true, "detail": true,
	"instance": true, "errors": true, "correlation_id": true,
}

// MarshalJSON writes the standard members and the extension members as one
// flat object.
func (d Details) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, 7+len(d.Extensions))
	for k, v := range d.Extensions {
		if !reserved[k] {
			m[k] = v
		}
	}
	typ := d.Type
	if typ == "" {
		typ = "about:blank"
	}
	m["type"] = typ
	m["title"] = d.Title
	m["status"] = d.Status
	if d.Detail != "" {
		m["detail"] = d.Detail
	}
	if d.Instance != "" {
		m["instance"] = d.Instance
	}
	if len(d.Errors) > 0 {
		m["errors"] = d.Errors
	}
	if d.CorrelationID != "" {
		m["correlation_id"] = d.CorrelationID
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads a problem document; members it does not know land in
// Extensions.
func (d *Details) UnmarshalJSON(data []byte) error {
	var std struct {
		Type          string       `json:"type"`
		Title         string       `json:"title"`
		Status        int          `json:"status"`
		Detail        string       `json:"detail"`
		Instance      string       `json:"instance"`
		Errors        []FieldError `json:"errors"`
		CorrelationID string       `json:"correlation_id"`
	}
	if err := json.Unmarshal(data, &std); err != nil {
		return fmt.Errorf("problem: decode: %w", err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return fmt.Errorf("problem: decode: %w", err)
	}
	*d = Details{
		Type: std.Type, Title: std.Title, Status: std.Status, Detail: std.Detail,
		Instance: std.Instance, Errors: std.Errors, CorrelationID: std.CorrelationID,
	}
	for k, raw := range all {
		if reserved[k] {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("problem: decode member %q: %w", k, err)
		}
		if d.Extensions == nil {
			d.Extensions = make(map[string]any)
		}
		d.Extensions[k] = v
	}
	return nil
}

// Write sends d as the response. A zero Status becomes 500, an empty Title
// the status text, an empty CorrelationID the one in the request's context
// and an empty Instance the request path. The write error, if any, is
// returned for the caller to log; the response is lost either way.
func Write(w http.ResponseWriter, r *http.Request, d Details) error {
	if d.Status < 400 || d.Status > 599 {
		d.Status = http.StatusInternalServerError
	}
	if d.Title == "" {
		d.Title = http.StatusText(d.Status)
	}
	if d.CorrelationID == "" && r != nil {
		d.CorrelationID = correlation.ID(r.Context())
	}
	if d.Instance == "" && r != nil && r.URL != nil {
		d.Instance = r.URL.EscapedPath()
	}
	body, err := json.Marshal(d)
	if err != nil {
		// Only an unmarshalable extension member gets here: drop the
		// extensions rather than send a broken document.
		d.Extensions = nil
		body, err = json.Marshal(d)
		if err != nil {
			return fmt.Errorf("problem: encode: %w", err)
		}
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	h.Del("ETag")
	w.WriteHeader(d.Status)
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("problem: write: %w", err)
	}
	return nil
}
