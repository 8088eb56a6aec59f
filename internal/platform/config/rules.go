package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// rule is one parsed entry of a validate tag.
type rule struct {
	name  string // as written in the tag, e.g. "min=1ms"
	check func(f field) error
}

// parseRules parses a validate tag for a field of type t.
func parseRules(tag string, t reflect.Type) ([]rule, error) {
	if strings.TrimSpace(tag) == "" {
		return nil, nil
	}
	var rules []rule
	for _, part := range strings.Split(tag, ",") {
		part = strings.TrimSpace(part)
		name, arg, hasArg := strings.Cut(part, "=")
		var check func(field) error
		switch name {
		case "required":
			check = func(f field) error {
				if isEmpty(f.v) {
					return errors.New("required")
				}
				return nil
			}
		case "oneof":
			if !hasArg || arg == "" {
				return nil, errors.New("oneof needs values: oneof=a|b")
			}
			allowed := strings.Split(arg, "|")
			check = func(f field) error {
				for _, s := range items(f.v) {
					if !contains(allowed, s) {
						return f.ruleError(part, s)
					}
				}
				return nil
			}
		case "min", "max":
			if !hasArg {
				return nil, fmt.Errorf("%s needs a bound: %s=N", name, name)
			}
			cmp, err := comparator(t, arg)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", part, err)
			}
			isMin := name == "min"
			check = func(f field) error {
				c, shown := cmp(f.v)
				if (isMin && c < 0) || (!isMin && c > 0) {
					return f.ruleError(part, shown)
				}
				return nil
			}
		case "url":
			check = func(f field) error {
				for _, s := range items(f.v) {
					u, err := url.Parse(s)
					if err != nil || u.Scheme == "" || u.Host == "" {
						return f.ruleError(part, s)
					}
				}
				return nil
			}
		case "hostport":
			check = func(f field) error {
				for _, s := range items(f.v) {
					if !validHostPort(s) {
						return f.ruleError(part, s)
					}
				}
				return nil
			}
		default:
			return nil, fmt.Errorf("unknown validation rule %q", part)
		}
		rules = append(rules, rule{name: part, check: check})
	}
	return rules, nil
}

// validate applies the rules; when no value was given (present is false)
// only required is checked.
func (f field) validate(present bool) []error {
	var errs []error
	for _, r := range f.rules {
		if r.name != "required" && !present {
			continue
		}
		if err := r.check(f); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// ruleError names the rule and, unless the field is secret, the value.
func (f field) ruleError(rule, got string) error {
	if f.secret {
		return errors.New(rule)
	}
	return fmt.Errorf("%s (got %q)", rule, got)
}

func isEmpty(v reflect.Value) bool {
	if v.Kind() == reflect.Slice {
		return v.Len() == 0
	}
	return v.IsZero()
}

// items returns the value as strings: each element of a list, or the one
// value.
func items(v reflect.Value) []string {
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String {
		out := make([]string, v.Len())
		for i := range out {
			out[i] = v.Index(i).String()
		}
		return out
	}
	return []string{display(v)}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// comparator parses a min/max bound for type t and returns a function
// comparing a value to it (-1, 0, 1) and showing the compared quantity.
func comparator(t reflect.Type, arg string) (func(reflect.Value) (int, string), error) {
	sign := func(d float64) int {
		switch {
		case d < 0:
			return -1
		case d > 0:
			return 1
		}
		return 0
	}
	if t == durationType {
		b, err := time.ParseDuration(arg)
		if err != nil {
			return nil, errors.New("bound is not a duration")
		}
		return func(v reflect.Value) (int, string) {
			d := time.Duration(v.Int())
			return sign(float64(d - b)), d.String()
		}, nil
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b, err := strconv.ParseInt(arg, 10, 64)
		if err != nil {
			return nil, errors.New("bound is not an integer")
		}
		return func(v reflect.Value) (int, string) {
			n := v.Int()
			return sign(float64(n) - float64(b)), strconv.FormatInt(n, 10)
		}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		b, err := strconv.ParseUint(arg, 10, 64)
		if err != nil {
			return nil, errors.New("bound is not an unsigned integer")
		}
		return func(v reflect.Value) (int, string) {
			n := v.Uint()
			return sign(float64(n) - float64(b)), strconv.FormatUint(n, 10)
		}, nil
	case reflect.Float32, reflect.Float64:
		b, err := strconv.ParseFloat(arg, 64)
		if err != nil {
			return nil, errors.New("bound is not a number")
		}
		return func(v reflect.Value) (int, string) {
			x := v.Float()
			return sign(x - b), strconv.FormatFloat(x, 'g', -1, 64)
		}, nil
	case reflect.String, reflect.Slice:
		b, err := strconv.Atoi(arg)
		if err != nil || b < 0 {
			return nil, errors.New("length bound is not a non-negative integer")
		}
		return func(v reflect.Value) (int, string) {
			return sign(float64(v.Len() - b)), "length " + strconv.Itoa(v.Len())
		}, nil
	}
	return nil, fmt.Errorf("min/max do not apply to %s", t)
}

// validHostPort accepts host:port with a numeric port; the host may be
// empty (listen on every interface).
func validHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || strings.ContainsAny(host, " /") {
		return false
	}
	n, err := strconv.ParseUint(port, 10, 16)
	return err == nil && (n > 0 || port == "0")
}
