package schemaregistry

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/correlation"
)

// ContentType is Confluent's media type; responses always carry it.
const ContentType = "application/vnd.schemaregistry.v1+json"

var (
	errBadRequest       = errors.New("malformed request")
	errTooLarge         = errors.New("request body too large")
	errUnsupportedMedia = errors.New("unsupported media type")
	errInvalidSubject   = errors.New("invalid subject")
	errInvalidMode      = errors.New("invalid mode")
)

// maxSubjectLen bounds subject names.
const maxSubjectLen = 1024

// apiError is Confluent's error body.
type apiError struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

// errorStatus maps an error to the HTTP status and Confluent error code.
// This is the one place where errors become statuses.
func errorStatus(err error) (status, code int) {
	switch {
	case errors.Is(err, ErrSubjectNotFound):
		return http.StatusNotFound, 40401
	case errors.Is(err, ErrVersionNotFound):
		return http.StatusNotFound, 40402
	case errors.Is(err, ErrSchemaNotFound):
		return http.StatusNotFound, 40403
	case errors.Is(err, ErrSubjectSoftDeleted):
		return http.StatusNotFound, 40404
	case errors.Is(err, ErrSubjectNotSoftDeleted):
		return http.StatusNotFound, 40405
	case errors.Is(err, ErrVersionSoftDeleted):
		return http.StatusNotFound, 40406
	case errors.Is(err, ErrVersionNotSoftDeleted):
		return http.StatusNotFound, 40407
	case errors.Is(err, errSubjectNotConfigured):
		return http.StatusNotFound, 40408
	case errors.Is(err, errIncompatible):
		return http.StatusConflict, 409
	case errors.Is(err, errInvalidSchema):
		return http.StatusUnprocessableEntity, 42201
	case errors.Is(err, errInvalidVersion):
		return http.StatusUnprocessableEntity, 42202
	case errors.Is(err, ErrInvalidCompatibility):
		return http.StatusUnprocessableEntity, 42203
	case errors.Is(err, errInvalidMode):
		return http.StatusUnprocessableEntity, 42204
	case errors.Is(err, errOperationNotPermitted):
		return http.StatusUnprocessableEntity, 42205
	case errors.Is(err, ErrReferenceExists):
		return http.StatusUnprocessableEntity, 42206
	case errors.Is(err, errInvalidSubject):
		return http.StatusUnprocessableEntity, 42208
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest, 400
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge, 413
	case errors.Is(err, errUnsupportedMedia):
		return http.StatusUnsupportedMediaType, 415
	default:
		return http.StatusInternalServerError, 50001
	}
}

type api struct {
	reg     *registry
	log     *zap.Logger
	maxBody int64
}

func (a *api) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(a.recoverer, a.correlate)
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, apiError{ErrorCode: 404, Message: "HTTP 404 Not Found"})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, apiError{ErrorCode: 405, Message: "HTTP 405 Method Not Allowed"})
	})
	r.Get("/", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, struct{}{}) })
	r.Get("/schemas/types", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, []string{SchemaTypeProtobuf})
	})
	r.Get("/schemas/ids/{id}", a.schemaByID)
	r.Get("/schemas/ids/{id}/schema", a.schemaTextByID)
	r.Get("/schemas/ids/{id}/subjects", a.subjectsByID)
	r.Get("/schemas/ids/{id}/versions", a.versionsByID)
	r.Get("/subjects", a.subjects)
	r.Post("/subjects/{subject}", a.lookup)
	r.Delete("/subjects/{subject}", a.deleteSubject)
	r.Get("/subjects/{subject}/versions", a.versions)
	r.Post("/subjects/{subject}/versions", a.register)
	r.Get("/subjects/{subject}/versions/{version}", a.version)
	r.Get("/subjects/{subject}/versions/{version}/schema", a.versionText)
	r.Delete("/subjects/{subject}/versions/{version}", a.deleteVersion)
	r.Post("/compatibility/subjects/{subject}/versions", a.compatibility)
	r.Post("/compatibility/subjects/{subject}/versions/{version}", a.compatibility)
	r.Get("/config", a.getConfig)
	r.Put("/config", a.putConfig)
	r.Delete("/config", a.deleteConfig)
	r.Get("/config/{subject}", a.getConfig)
	r.Put("/config/{subject}", a.putConfig)
	r.Delete("/config/{subject}", a.deleteConfig)
	r.Get("/mode", a.getMode)
	r.Put("/mode", a.putMode)
	r.Get("/mode/{subject}", a.getMode)
	r.Put("/mode/{subject}", a.putMode)
	return r
}

// recoverer turns a panic into a logged 500 instead of a dropped connection.
func (a *api) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.log.Error("schema registry handler panicked",
					zap.Any("panic", p), zap.String("method", r.Method), zap.String("path", r.URL.Path),
					zap.String("correlation_id", correlation.ID(r.Context())))
				writeJSON(w, http.StatusInternalServerError, apiError{ErrorCode: 50001, Message: "Error in the backend data store"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// correlate carries the caller's correlation ID (or a new one) into the
// request context and back in the response.
func (a *api) correlate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(correlation.HTTPHeader)
		if !correlation.Valid(id) {
			id = correlation.New()
		}
		w.Header().Set(correlation.HTTPHeader, id)
		next.ServeHTTP(w, r.WithContext(correlation.WithID(r.Context(), id)))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error_code":50001,"message":"Error encoding the response"}`)
	}
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := errorStatus(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		a.log.Error("schema registry request failed", zap.Error(err),
			zap.String("method", r.Method), zap.String("path", r.URL.Path),
			zap.String("correlation_id", correlation.ID(r.Context())))
		msg = "Error in the backend data store"
	}
	writeJSON(w, status, apiError{ErrorCode: code, Message: msg})
}

// decode reads a JSON body of at most maxBody bytes into v.
func (a *api) decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		switch {
		case err != nil:
			return fmt.Errorf("%w: content type %q", errUnsupportedMedia, ct)
		case mt == ContentType, mt == "application/vnd.schemaregistry+json",
			mt == "application/json", mt == "application/octet-stream":
		default:
			return fmt.Errorf("%w: %q (send %s or application/json)", errUnsupportedMedia, mt, ContentType)
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return fmt.Errorf("%w: the limit is %d bytes", errTooLarge, a.maxBody)
		}
		return fmt.Errorf("%w: read body: %w", errBadRequest, err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body is not the expected JSON: %s", errBadRequest, err.Error())
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after the JSON body", errBadRequest)
	}
	return nil
}

// pathParam returns a decoded path parameter. chi matches on the escaped
// path when the request has one, so the value may still need unescaping.
func pathParam(r *http.Request, name string) (string, error) {
	v := chi.URLParam(r, name)
	if r.URL.RawPath == "" {
		return v, nil
	}
	u, err := url.PathUnescape(v)
	if err != nil {
		return "", fmt.Errorf("%w: bad escaping in %s", errBadRequest, name)
	}
	return u, nil
}

func subjectParam(r *http.Request) (string, error) {
	s, err := pathParam(r, "subject")
	if err != nil {
		return "", err
	}
	if s == "" || len(s) > maxSubjectLen || !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("%w: %q: a subject is 1 to %d printable characters", errInvalidSubject, s, maxSubjectLen)
	}
	return s, nil
}

func versionParam(r *http.Request) (int, error) {
	v, err := pathParam(r, "version")
	if err != nil {
		return 0, err
	}
	return parseVersion(v)
}

func idParam(r *http.Request) (int, error) {
	v, err := pathParam(r, "id")
	if err != nil {
		return 0, err
	}
	id, err := strconv.Atoi(v)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("%w: schema id %q", ErrSchemaNotFound, v)
	}
	return id, nil
}

func boolQuery(r *http.Request, name string) bool {
	b, _ := strconv.ParseBool(r.URL.Query().Get(name))
	return b
}

// schemaRequest is the body of register, lookup and compatibility calls.
type schemaRequest struct {
	Schema     *string         `json:"schema"`
	SchemaType string          `json:"schemaType"`
	References []Reference     `json:"references"`
	ID         int             `json:"id"`
	Version    int             `json:"version"`
	Metadata   json.RawMessage `json:"metadata"`
	RuleSet    json.RawMessage `json:"ruleSet"`
}

func (a *api) decodeSchema(w http.ResponseWriter, r *http.Request) (schemaInput, schemaRequest, error) {
	var req schemaRequest
	if err := a.decode(w, r, &req); err != nil {
		return schemaInput{}, req, err
	}
	if req.Schema == nil {
		return schemaInput{}, req, invalidSchema("the body has no schema")
	}
	return schemaInput{Type: req.SchemaType, Text: *req.Schema, References: req.References}, req, nil
}

// schemaResponse is a subject version as the API shows it.
type schemaResponse struct {
	Subject    string      `json:"subject"`
	Version    int         `json:"version"`
	ID         int         `json:"id"`
	SchemaType string      `json:"schemaType"`
	References []Reference `json:"references,omitempty"`
	Schema     string      `json:"schema"`
	Deleted    bool        `json:"deleted,omitempty"`
}

func toResponse(v SubjectVersion) schemaResponse {
	return schemaResponse{
		Subject: v.Subject, Version: v.Version, ID: v.Schema.ID, SchemaType: v.Schema.Type,
		References: v.Schema.References, Schema: v.Schema.Text, Deleted: v.Deleted,
	}
}

func (a *api) register(w http.ResponseWriter, r *http.Request) {
	subject, err := subjectParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	in, req, err := a.decodeSchema(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if req.ID > 0 || req.Version > 0 {
		a.fail(w, r, fmt.Errorf("%w: registering with an explicit id or version needs IMPORT mode, which this registry does not offer", errOperationNotPermitted))
		return
	}
	id, err := a.reg.register(r.Context(), subject, in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"id": id})
}

func (a *api) lookup(w http.ResponseWriter, r *http.Request) {
	subject, err := subjectParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	in, _, err := a.decodeSchema(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v, err := a.reg.lookup(r.Context(), subject, in, boolQuery(r, "deleted"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toResponse(v))
}

func (a *api) compatibility(w http.ResponseWriter, r *http.Request) {
	subject, err := subjectParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	version, err := pathParam(r, "version")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	in, _, err := a.decodeSchema(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	msgs, err := a.reg.checkCompatibility(r.Context(), subject, version, in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	resp := struct {
		IsCompatible bool     `json:"is_compatible"`
		Messages     []string `json:"messages,omitempty"`
	}{IsCompatible: len(msgs) == 0}
	if boolQuery(r, "verbose") {
		resp.Messages = msgs
		if resp.Messages == nil {
			resp.Messages = []string{}
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (a *api) subjects(w http.ResponseWriter, r *http.Request) {
	subjects, err := a.reg.store.Subjects(r.Context(), boolQuery(r, "deleted"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []string{}
	prefix := r.URL.Query().Get("subjectPrefix")
	for _, s := range subjects {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) versions(w http.ResponseWriter, r *http.Request) {
	subject, err := subjectParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	vs, err := a.reg.store.Versions(r.Context(), subject, boolQuery(r, "deleted"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, vs)
}

func (a *api) subjectVersion(w http.ResponseWriter, r *http.Request) (SubjectVersion, bool) {
	subject, err := subjectParam(r)
	if err != nil {
		a.fail(w, r, err)
		return SubjectVersion{}, false
	}
	version, err := versionParam(r)
	if err != nil {
		a.fail(w, r, err)
		return SubjectVersion{}, false
	}
	v, err := a.reg.store.Version(r.Context(), subject, version, boolQuery(r, "deleted"))
	if err != nil {
		a.fail(w, r, err)
		return SubjectVersion{}, false
	}
	return v, true
}

func (a *api) version(w http.ResponseWriter, r *http.Request) {
	if v, ok := a.subjectVersion(w, r); ok {
		writeJSON(w, http.StatusOK, toResponse(v))
	}
}

func (a *api) versionText(w http.ResponseWriter, r *http.Request) {
	if v, ok := a.subjectVersion(w, r); ok {
		writeText(w, v.Schema.Text)
	}
}

func writeText(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, text)
}

func (a *api) schemaFromID(w http.ResponseWriter, r *http.Request) (Schema, bool) {
	id, err := idParam(r)
	if err == nil {
		var s Schema
		if s, err = a.reg.store.SchemaByID(r.Context(), id); err == nil {
			return s, true
		}
	}
	a.fail(w, r, err)
	return Schema{}, false
}

func (a *api) schemaByID(w http.ResponseWriter, r *http.Request) {
	s, ok := a.schemaFromID(w, r)
	if !ok {
		return
	}
	text := s.Text
	if r.URL.Query().Get("format") == "serialized" {
		c, err := a.reg.compileStored(r.Context(), s)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		b, err := c.schema.Serialized()
		if err != nil {
			a.fail(w, r, err)
			return
		}
		text = base64.StdEncoding.EncodeToString(b)
	}
	writeJSON(w, http.StatusOK, struct {
		SchemaType string      `json:"schemaType"`
		Schema     string      `json:"schema"`
		References []Reference `json:"references,omitempty"`
	}{SchemaType: s.Type, Schema: text, References: s.References})
}

func (a *api) schemaTextByID(w http.ResponseWriter, r *http.Request) {
	if s, ok := a.schemaFromID(w, r); ok {
		writeText(w, s.Text)
	}
}

func (a *api) usages(w http.ResponseWriter, r *http.Request) ([]SubjectVersion, bool) {
	id, err := idParam(r)
	if err != nil {
		a.fail(w, r, err)
		return nil, false
	}
	us, err := a.reg.store.SchemaUsages(r.Context(), id, boolQuery(r, "deleted"))
	if err != nil {
		a.fail(w, r, err)
		return nil, false
	}
	return us, true
}

func (a *api) subjectsByID(w http.ResponseWriter, r *http.Request) {
	us, ok := a.usages(w, r)
	if !ok {
		return
	}
	out := []string{}
	for _, u := range us {
		if len(out) == 0 || out[len(out)-1] != u.Subject {
			out = append(out, u.Subject)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) versionsByID(w http.ResponseWriter, r *http.Request) {
	us, ok := a.usages(w, r)
	if !ok {
		return
	}
	type subjectVersion struct {
		Subject string `json:"subject"`
		Version int    `json:"version"`
	}
	out := []subjectVersion{}
	for _, u := range us {
		out = append(out, subjectVersion{Subject: u.Subject, Version: u.Version})
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) deleteSubject(w http.ResponseWriter, r *http.Request) {
	subject, err := subjectParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	vs, err := a.reg.store.DeleteSubject(r.Context(), subject, boolQuery(r, "permanent"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, vs)
}

func (a *api) deleteVersion(w http.ResponseWriter, r *http.Request) {
	subject, err := subjectParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	version, err := versionParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v, err := a.reg.store.DeleteVersion(r.Context(), subject, version, boolQuery(r, "permanent"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// configScope returns the subject of a /config or /mode call, "" for the
// global one.
func configScope(r *http.Request) (string, error) {
	if chi.URLParam(r, "subject") == "" {
		return "", nil
	}
	return subjectParam(r)
}

func (a *api) getConfig(w http.ResponseWriter, r *http.Request) {
	subject, err := configScope(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var level Compatibility
	switch {
	case subject == "":
		level, err = a.reg.level(r.Context(), "")
	case boolQuery(r, "defaultToGlobal"):
		level, err = a.reg.level(r.Context(), subject)
	default:
		level, err = a.reg.store.Compatibility(r.Context(), subject)
		if errors.Is(err, ErrConfigNotFound) {
			err = fmt.Errorf("%w: subject %q (ask with defaultToGlobal=true for the level in force)", errSubjectNotConfigured, subject)
		}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]Compatibility{"compatibilityLevel": level})
}

func (a *api) putConfig(w http.ResponseWriter, r *http.Request) {
	subject, err := configScope(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req struct {
		Compatibility string `json:"compatibility"`
	}
	if err := a.decode(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	level, err := ParseCompatibility(req.Compatibility)
	if err == nil {
		err = a.reg.store.SetCompatibility(r.Context(), subject, level)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]Compatibility{"compatibility": level})
}

func (a *api) deleteConfig(w http.ResponseWriter, r *http.Request) {
	subject, err := configScope(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	level, err := a.reg.store.DeleteCompatibility(r.Context(), subject)
	if errors.Is(err, ErrConfigNotFound) {
		if subject != "" {
			err = fmt.Errorf("%w: subject %q", errSubjectNotConfigured, subject)
		} else {
			level, err = a.reg.defaultLevel, nil
		}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// Confluent's clients read either name; send both.
	writeJSON(w, http.StatusOK, map[string]Compatibility{"compatibilityLevel": level, "compatibility": level})
}

const modeReadWrite = "READWRITE"

func (a *api) getMode(w http.ResponseWriter, r *http.Request) {
	if _, err := configScope(r); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"mode": modeReadWrite})
}

func (a *api) putMode(w http.ResponseWriter, r *http.Request) {
	if _, err := configScope(r); err != nil {
		a.fail(w, r, err)
		return
	}
	var req struct {
		Mode string `json:"mode"`
	}
	if err := a.decode(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if !strings.EqualFold(req.Mode, modeReadWrite) {
		a.fail(w, r, fmt.Errorf("%w: %q: this registry only runs in READWRITE mode", errInvalidMode, req.Mode))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"mode": modeReadWrite})
}
