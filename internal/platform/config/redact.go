package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.uber.org/zap/zapcore"
)

// Mask replaces the value of a secret that is set.
const Mask = "[REDACTED]"

// Secret is a string that never prints itself: fmt, JSON and text
// marshalling show Mask. Use Value to read it. Fields of this type are
// treated as secret:"true".
type Secret string

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

// String returns Mask, or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Mask
}

// GoString masks the secret for %#v.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }

// MarshalText masks the secret for encoders (JSON, YAML, zap).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Redacted returns the configuration as a map from each field's env tag
// path (without the prefix, such as HTTP_ADDR or KAFKA_BROKERS) to its
// value as text, with secrets masked. cfg is the struct or a pointer to
// it; anything else yields an empty map.
func Redacted(cfg any) map[string]string {
	out := map[string]string{}
	rv := reflect.ValueOf(cfg)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return out
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return out
	}
	fields, err := walk(rv, "", "")
	if err != nil {
		return out
	}
	for _, f := range fields {
		switch {
		case f.secret && isEmpty(f.v):
			out[f.tag] = ""
		case f.secret:
			out[f.tag] = Mask
		default:
			out[f.tag] = display(f.v)
		}
	}
	return out
}

// Format returns Redacted(cfg) as "KEY=value" pairs sorted by key and
// separated by spaces, for printing.
func Format(cfg any) string {
	m := Redacted(cfg)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	return b.String()
}

// Loggable wraps cfg for zap: zap.Object("config", config.Loggable(cfg))
// writes Redacted(cfg) as an object.
func Loggable(cfg any) zapcore.ObjectMarshaler { return loggable{cfg: cfg} }

type loggable struct{ cfg any }

func (l loggable) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for k, v := range Redacted(l.cfg) {
		enc.AddString(k, v)
	}
	return nil
}

// display renders a field value as text; lists are comma-separated.
func display(v reflect.Value) string {
	switch {
	case v.Kind() == reflect.String:
		return v.String()
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		return strings.Join(items(v), ",")
	}
	return fmt.Sprint(v.Interface())
}
