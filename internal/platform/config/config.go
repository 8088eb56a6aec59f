// Package config loads the typed configuration of an Agora service from
// environment variables (and optionally a file), resolves secret references
// against AWS Secrets Manager and SSM Parameter Store, validates it, and
// prints it with secrets masked.
//
// A service declares one struct; each field's tags name its variable, its
// default and its rules:
//
//	type Config struct {
//		HTTPAddr     string        `env:"HTTP_ADDR" default:":8080" validate:"required,hostport"`
//		KafkaBrokers []string      `env:"KAFKA_BROKERS" validate:"required"`
//		Timeout      time.Duration `env:"TIMEOUT" default:"5s" validate:"min=1ms,max=1m"`
//		LogLevel     string        `env:"LOG_LEVEL" default:"info" validate:"oneof=debug|info|warn|error"`
//		DatabaseURL  string        `env:"DATABASE_URL" secret:"true" validate:"required,url"`
//		Kafka        KafkaConfig   `env:"KAFKA"` // nested: variables AGORA_ORDERING_KAFKA_...
//	}
//
//	err := config.Load(ctx, &cfg, config.Options{Prefix: "AGORA_ORDERING", Resolver: config.NewAWSResolver(awsCfg)})
//
// The variable of a field is Prefix + "_" + its env tag. Supported field
// types: string, bool, all int and uint sizes, float32/64, time.Duration,
// []string (comma-separated), Secret, and any type implementing
// encoding.TextUnmarshaler. The rules of the validate tag, comma-separated:
//
//   - required: a non-empty value must come from the environment, the file
//     or the default (a list needs at least one item);
//   - oneof=a|b|c: the value is one of those;
//   - min=N, max=N: bounds for numbers and durations (N is then a duration
//     such as 100ms), and for the length of strings and lists;
//   - url: an absolute URL with a scheme and a host;
//   - hostport: host:port with a numeric port (the host may be empty, as in
//     ":8080").
//
// Rules other than required apply only when a value is given. A value may
// be a reference that the Resolver replaces at load time:
// "secretsmanager:<secret-id>", "secretsmanager:<secret-id>#<json-key>"
// or "ssm:<parameter name>" (decrypted). Every problem is reported at once,
// each naming the variable: "AGORA_ORDERING_HTTP_ADDR: required".
//
// Fields tagged secret:"true", and fields of type Secret, are masked by
// Redacted and Loggable. Adapters receive the loaded struct and never read
// the environment themselves.
package config

import (
	"context"
	"encoding"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cast"
	"github.com/spf13/viper"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Resolver turns a reference ("secretsmanager:..." or "ssm:...") into the
// value it points to. AWSResolver is the production implementation.
type Resolver interface {
	Resolve(ctx context.Context, ref string) (string, error)
}

// Options configures Load.
type Options struct {
	// Prefix starts every variable name, for example AGORA_ORDERING.
	// Required.
	Prefix string
	// File, when set, is a configuration file (YAML, JSON, TOML or .env,
	// by extension) whose keys are the env tag names in lower case
	// (http_addr, kafka_brokers). The environment overrides it; defaults
	// fill what neither sets.
	File string
	// Resolver resolves secret references. Without one, a reference is an
	// error.
	Resolver Resolver
	// LookupEnv reads a variable; nil means os.LookupEnv. Tests inject
	// their own.
	LookupEnv func(name string) (string, bool)
}

// Load fills the struct dst points to and validates it. The returned error
// joins every problem found (errors.Join), each naming its variable; it is
// marked permanent, except that a failure to reach the secret stores
// keeps the mark the Resolver gave it.
func Load(ctx context.Context, dst any, opts Options) error {
	if opts.Prefix == "" {
		return fault.Permanent(errors.New("config: prefix is required"))
	}
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fault.Permanent(fmt.Errorf("config: destination must be a pointer to a struct, got %T", dst))
	}
	fields, err := walk(rv.Elem(), strings.TrimSuffix(opts.Prefix, "_")+"_", "")
	if err != nil {
		return fault.Permanent(err)
	}
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}

	v := viper.New()
	if opts.File != "" {
		v.SetConfigFile(opts.File)
		if err := v.ReadInConfig(); err != nil {
			return fault.Permanent(fmt.Errorf("config: read %s: %w", opts.File, err))
		}
	}
	for _, f := range fields {
		if val, ok := lookup(f.env); ok {
			v.Set(f.key, val)
		}
		if f.hasDefault {
			v.SetDefault(f.key, f.def)
		}
	}

	var errs []error
	for _, f := range fields {
		raw, err := rawValue(v.Get(f.key))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.env, err))
			continue
		}
		resolved, err := resolve(ctx, opts.Resolver, raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.env, err))
			continue
		}
		if err := f.set(resolved); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.env, err))
			continue
		}
		for _, err := range f.validate(strings.TrimSpace(strings.Join(resolved, "")) != "") {
			errs = append(errs, fmt.Errorf("%s: %w", f.env, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		if fault.IsRetryable(err) {
			return err
		}
		return fault.Permanent(err)
	}
	return nil
}

// rawValue turns what viper holds (an environment string, a file value,
// a default) into strings: one for scalars, several for file lists.
func rawValue(x any) ([]string, error) {
	switch t := x.(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, err := cast.ToStringE(e)
			if err != nil {
				return nil, fmt.Errorf("list element %v: %w", e, err)
			}
			out = append(out, s)
		}
		return out, nil
	case []string:
		return t, nil
	default:
		s, err := cast.ToStringE(t)
		if err != nil {
			return nil, fmt.Errorf("unsupported value %T: %w", x, err)
		}
		return []string{s}, nil
	}
}

// isReference reports whether s points into a secret store.
func isReference(s string) bool {
	return strings.HasPrefix(s, SchemeSecretsManager) || strings.HasPrefix(s, SchemeSSM)
}

func resolve(ctx context.Context, r Resolver, raw []string) ([]string, error) {
	out := make([]string, len(raw))
	for i, s := range raw {
		if !isReference(s) {
			out[i] = s
			continue
		}
		if r == nil {
			return nil, fmt.Errorf("reference %q but no resolver configured", s)
		}
		val, err := r.Resolve(ctx, s)
		if err != nil {
			return nil, err
		}
		out[i] = val
	}
	return out, nil
}

// field is one leaf of the configuration struct.
type field struct {
	env        string // full variable name
	key        string // viper and file key: the env tag path in lower case
	tag        string // env tag path without the prefix, for Redacted
	def        string
	hasDefault bool
	secret     bool
	rules      []rule
	v          reflect.Value
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[Secret]()
	textType     = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// walk collects the tagged leaves of a struct value. Untagged fields are
// ignored; a struct field with an env tag is a nested group; an embedded
// struct without one is flattened into its parent (its variables share the
// parent's prefix).
func walk(sv reflect.Value, envPrefix, tagPrefix string) ([]field, error) {
	var out []field
	st := sv.Type()
	for i := range st.NumField() {
		sf := st.Field(i)
		name, ok := sf.Tag.Lookup("env")
		if !ok && sf.Anonymous && sf.IsExported() && sf.Type.Kind() == reflect.Struct {
			flat, err := walk(sv.Field(i), envPrefix, tagPrefix)
			if err != nil {
				return nil, err
			}
			out = append(out, flat...)
			continue
		}
		if !ok || !sf.IsExported() {
			continue
		}
		if name == "" {
			return nil, fmt.Errorf("config: field %s: empty env tag", sf.Name)
		}
		fv := sv.Field(i)
		if sf.Type.Kind() == reflect.Struct && sf.Type != durationType && !reflect.PointerTo(sf.Type).Implements(textType) {
			nested, err := walk(fv, envPrefix+name+"_", tagPrefix+name+"_")
			if err != nil {
				return nil, err
			}
			out = append(out, nested...)
			continue
		}
		f := field{
			env: envPrefix + name,
			key: strings.ToLower(tagPrefix + name),
			tag: tagPrefix + name,
			v:   fv,
		}
		f.def, f.hasDefault = sf.Tag.Lookup("default")
		f.secret = sf.Tag.Get("secret") == "true" || sf.Type == secretType
		if !supported(sf.Type) {
			return nil, fmt.Errorf("config: %s: unsupported type %s", f.env, sf.Type)
		}
		rules, err := parseRules(sf.Tag.Get("validate"), sf.Type)
		if err != nil {
			return nil, fmt.Errorf("config: %s: %w", f.env, err)
		}
		f.rules = rules
		out = append(out, f)
	}
	return out, nil
}

func supported(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(textType) || t == durationType {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	}
	return false
}

// set parses the raw value into the field. An empty value leaves the zero
// value in place.
func (f field) set(raw []string) error {
	t := f.v.Type()
	if t.Kind() == reflect.Slice && t != secretType && !reflect.PointerTo(t).Implements(textType) {
		var items []string
		for _, r := range raw {
			for _, s := range strings.Split(r, ",") {
				if s = strings.TrimSpace(s); s != "" {
					items = append(items, s)
				}
			}
		}
		sl := reflect.MakeSlice(t, len(items), len(items))
		for i, s := range items {
			sl.Index(i).SetString(s)
		}
		f.v.Set(sl)
		return nil
	}
	s := strings.TrimSpace(strings.Join(raw, ","))
	if s == "" {
		f.v.Set(reflect.Zero(t))
		return nil
	}
	if reflect.PointerTo(t).Implements(textType) {
		p := reflect.New(t)
		if err := p.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return f.parseError(s, err)
		}
		f.v.Set(p.Elem())
		return nil
	}
	if t == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return f.parseError(s, errors.New("not a duration"))
		}
		f.v.SetInt(int64(d))
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		f.v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return f.parseError(s, errors.New("not a boolean"))
		}
		f.v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, t.Bits())
		if err != nil {
			return f.parseError(s, fmt.Errorf("not an integer of %d bits", t.Bits()))
		}
		f.v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, t.Bits())
		if err != nil {
			return f.parseError(s, fmt.Errorf("not an unsigned integer of %d bits", t.Bits()))
		}
		f.v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		x, err := strconv.ParseFloat(s, t.Bits())
		if err != nil {
			return f.parseError(s, errors.New("not a number"))
		}
		f.v.SetFloat(x)
	}
	return nil
}

// parseError never echoes a secret.
func (f field) parseError(s string, err error) error {
	if f.secret {
		return fmt.Errorf("invalid value: %w", err)
	}
	return fmt.Errorf("invalid value %q: %w", s, err)
}
