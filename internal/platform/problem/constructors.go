package problem

import (
	"net/http"
	"strconv"
	"strings"
)

// New returns a problem of the given type and status. An empty title becomes
// the status text.
func New(status int, typ, title, detail string) *Details {
	if title == "" {
		title = http.StatusText(status)
	}
	return &Details{Type: typ, Title: title, Status: status, Detail: detail}
}

// Validation is a 400 listing every offending field or parameter.
func Validation(detail string, errs ...FieldError) *Details {
	d := New(http.StatusBadRequest, TypeValidation, "Invalid request", detail)
	d.Errors = errs
	return d
}

// MalformedBody is a 400 for a body that cannot be decoded at all.
func MalformedBody(detail string) *Details {
	d := New(http.StatusBadRequest, TypeMalformedBody, "Malformed request body", detail)
	d.Errors = []FieldError{{Pointer: "", Detail: detail}}
	return d
}

// NotFound is a 404.
func NotFound(detail string) *Details {
	return New(http.StatusNotFound, TypeNotFound, "Not found", detail)
}

// MethodNotAllowed is a 405; the caller sets the Allow header.
func MethodNotAllowed(method string) *Details {
	return New(http.StatusMethodNotAllowed, TypeMethodNotAllowed, "Method not allowed",
		"this resource does not support "+method)
}

// Unauthorized is a 401: the caller is not authenticated.
func Unauthorized(detail string) *Details {
	return New(http.StatusUnauthorized, TypeUnauthorized, "Unauthorized", detail)
}

// Forbidden is a 403: the caller is authenticated but not allowed.
func Forbidden(detail string) *Details {
	return New(http.StatusForbidden, TypeForbidden, "Forbidden", detail)
}

// Conflict is a 409.
func Conflict(detail string) *Details {
	return New(http.StatusConflict, TypeConflict, "Conflict", detail)
}

// PreconditionFailed is a 412: the If-Match precondition did not hold.
func PreconditionFailed(detail string) *Details {
	return New(http.StatusPreconditionFailed, TypePreconditionFailed, "Precondition failed", detail)
}

// PreconditionRequired is a 428: the request must be conditional.
func PreconditionRequired(detail string) *Details {
	return New(http.StatusPreconditionRequired, TypePreconditionRequired, "Precondition required", detail)
}

// PayloadTooLarge is a 413.
func PayloadTooLarge(limit int64) *Details {
	return New(http.StatusRequestEntityTooLarge, TypePayloadTooLarge, "Request body too large",
		"the request body exceeds the limit of "+strconv.FormatInt(limit, 10)+" bytes")
}

// UnsupportedMediaType is a 415 naming the media types the operation
// accepts (none when it takes no body).
func UnsupportedMediaType(accepted []string) *Details {
	detail := "this operation accepts no request body"
	if len(accepted) > 0 {
		detail = "the request body must be one of: " + strings.Join(accepted, ", ")
	}
	return New(http.StatusUnsupportedMediaType, TypeUnsupportedMediaType, "Unsupported media type", detail)
}

// TooManyRequests is a 429; the caller sets Retry-After.
func TooManyRequests() *Details {
	return New(http.StatusTooManyRequests, TypeRateLimited, "Too many requests",
		"the request rate limit was exceeded; retry after the time in Retry-After")
}

// Internal is the generic 500. It never says what went wrong: the server
// logs that under the correlation ID the problem carries.
func Internal() *Details {
	return New(http.StatusInternalServerError, TypeInternal, "Internal server error",
		"the server could not complete the request; quote the correlation ID when reporting it")
}

// Unavailable is a 503 for a transient failure worth retrying.
func Unavailable(detail string) *Details {
	return New(http.StatusServiceUnavailable, TypeUnavailable, "Service unavailable", detail)
}

// Timeout is a 503 for a request that ran out of time.
func Timeout() *Details {
	return New(http.StatusServiceUnavailable, TypeTimeout, "Request timed out",
		"the request did not complete within its deadline; it may be retried")
}
