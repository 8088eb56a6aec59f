package httpserver

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/agoracommerce/agora/internal/platform/problem"
)

// ETag returns the strong entity tag for an aggregate version (its version
// number or content hash as text). Versions made only of characters allowed
// in an entity tag are used as they are; others are hashed.
func ETag(version string) string {
	if version == "" || !etagSafe(version) {
		sum := sha256.Sum256([]byte(version))
		version = base64.RawURLEncoding.EncodeToString(sum[:16])
	}
	return `"` + version + `"`
}

// ETagOf returns a strong entity tag derived from a representation's bytes.
func ETagOf(representation []byte) string {
	sum := sha256.Sum256(representation)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
}

func etagSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == '"' || c > 0x7e {
			return false
		}
	}
	return true
}

// CheckIfMatch evaluates If-Match (RFC 9110 13.1.1) for an update of a
// resource whose current entity tag is current ("" when it does not exist).
// It returns nil when the update may proceed, a *problem.Details 428 when
// required is set and the header is missing, and a *problem.Details 412 when
// no listed tag matches with strong comparison.
func CheckIfMatch(r *http.Request, current string, required bool) error {
	return CheckIfMatchHeader(joinedHeader(r, "If-Match"), current, required)
}

// CheckIfMatchHeader is CheckIfMatch for a header value already extracted,
// as generated strict handlers receive it: nil means the header is absent.
func CheckIfMatchHeader(ifMatch *string, current string, required bool) error {
	if ifMatch == nil {
		if required {
			return problem.PreconditionRequired("this update requires an If-Match header with the resource's current ETag")
		}
		return nil
	}
	for _, tag := range etagList(*ifMatch) {
		if tag == "*" && current != "" {
			return nil
		}
		if !strings.HasPrefix(tag, "W/") && current != "" && tag == current {
			return nil
		}
	}
	return problem.PreconditionFailed("the resource has changed since it was read; fetch it again and retry")
}

// NotModified evaluates If-None-Match (RFC 9110 13.1.2) for a GET or HEAD of
// a resource whose current entity tag is current, with weak comparison. When
// a tag matches it writes a 304 carrying the ETag and reports true; the
// handler then sends nothing else.
func NotModified(w http.ResponseWriter, r *http.Request, current string) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if !IfNoneMatchHeader(joinedHeader(r, "If-None-Match"), current) {
		return false
	}
	w.Header().Set("ETag", current)
	w.WriteHeader(http.StatusNotModified)
	return true
}

// IfNoneMatchHeader reports whether an If-None-Match value (nil when
// absent) lists current, with weak comparison, or is "*". A strict GET
// handler answers 304 Not Modified when it is true.
func IfNoneMatchHeader(ifNoneMatch *string, current string) bool {
	if ifNoneMatch == nil || current == "" {
		return false
	}
	want := strings.TrimPrefix(current, "W/")
	for _, tag := range etagList(*ifNoneMatch) {
		if tag == "*" || strings.TrimPrefix(tag, "W/") == want {
			return true
		}
	}
	return false
}

func joinedHeader(r *http.Request, name string) *string {
	values := r.Header.Values(name)
	if len(values) == 0 {
		return nil
	}
	v := strings.Join(values, ", ")
	return &v
}

// etagList splits header values into entity tags; quoted tags may contain
// commas.
func etagList(header string) []string {
	var tags []string
	for v := strings.TrimSpace(header); v != ""; v = strings.TrimLeft(strings.TrimSpace(v), ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			break
		}
		if v[0] == '*' {
			tags = append(tags, "*")
			v = v[1:]
			continue
		}
		start := 0
		if strings.HasPrefix(v, "W/") {
			start = 2
		}
		if len(v) <= start || v[start] != '"' {
			// Not an entity tag: skip to the next comma.
			i := strings.IndexByte(v, ',')
			if i < 0 {
				break
			}
			v = v[i:]
			continue
		}
		end := strings.IndexByte(v[start+1:], '"')
		if end < 0 {
			break
		}
		tags = append(tags, v[:start+1+end+1])
		v = v[start+1+end+1:]
	}
	return tags
}
