package config_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

type kafkaConfig struct {
	Brokers []string      `env:"BROKERS" validate:"required,hostport"`
	Timeout time.Duration `env:"TIMEOUT" default:"5s" validate:"min=10ms,max=1m"`
}

type serviceConfig struct {
	HTTPAddr    string        `env:"HTTP_ADDR" default:":8080" validate:"required,hostport"`
	LogLevel    string        `env:"LOG_LEVEL" default:"info" validate:"oneof=debug|info|warn|error"`
	Workers     int           `env:"WORKERS" default:"4" validate:"min=1,max=64"`
	SampleRatio float64       `env:"SAMPLE_RATIO" default:"0.5" validate:"min=0,max=1"`
	Debug       bool          `env:"DEBUG"`
	Drain       time.Duration `env:"DRAIN" default:"10s"`
	DatabaseURL string        `env:"DATABASE_URL" secret:"true" validate:"required,url"`
	APIKey      config.Secret `env:"API_KEY"`
	Kafka       kafkaConfig   `env:"KAFKA"`
	Ignored     string
}

// env is a LookupEnv backed by a map.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func load(t *testing.T, vars map[string]string, r config.Resolver) (serviceConfig, error) {
	t.Helper()
	var cfg serviceConfig
	err := config.Load(context.Background(), &cfg, config.Options{Prefix: "AGORA_ORDERING", LookupEnv: env(vars), Resolver: r})
	return cfg, err
}

func validVars() map[string]string {
	return map[string]string{
		"AGORA_ORDERING_DATABASE_URL":  "postgres://u:pw@db:5432/ordering",
		"AGORA_ORDERING_KAFKA_BROKERS": "k1:9092, k2:9092,",
	}
}

func TestLoadTypesAndDefaults(t *testing.T) {
	t.Parallel()
	vars := validVars()
	vars["AGORA_ORDERING_DEBUG"] = "true"
	vars["AGORA_ORDERING_WORKERS"] = "16"
	vars["AGORA_ORDERING_KAFKA_TIMEOUT"] = "250ms"
	vars["AGORA_ORDERING_API_KEY"] = "k-123"
	cfg, err := load(t, vars, nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	want := serviceConfig{
		HTTPAddr: ":8080", LogLevel: "info", Workers: 16, SampleRatio: 0.5, Debug: true, Drain: 10 * time.Second,
		DatabaseURL: "postgres://u:pw@db:5432/ordering", APIKey: "k-123",
		Kafka: kafkaConfig{Brokers: []string{"k1:9092", "k2:9092"}, Timeout: 250 * time.Millisecond},
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Fatalf("config (-want +got):\n%s", diff)
	}
}

func TestLoadRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  map[string]string
		want string // the one error expected
	}{
		{"required", map[string]string{"AGORA_ORDERING_DATABASE_URL": ""}, "AGORA_ORDERING_DATABASE_URL: required"},
		{"required list", map[string]string{"AGORA_ORDERING_KAFKA_BROKERS": " , "}, "AGORA_ORDERING_KAFKA_BROKERS: required"},
		{"oneof", map[string]string{"AGORA_ORDERING_LOG_LEVEL": "verbose"}, `AGORA_ORDERING_LOG_LEVEL: oneof=debug|info|warn|error (got "verbose")`},
		{"min int", map[string]string{"AGORA_ORDERING_WORKERS": "0"}, `AGORA_ORDERING_WORKERS: min=1 (got "0")`},
		{"optional unset skips rules", map[string]string{"AGORA_ORDERING_WORKERS": ""}, ""},
		{"min int negative", map[string]string{"AGORA_ORDERING_WORKERS": "-1"}, `AGORA_ORDERING_WORKERS: min=1 (got "-1")`},
		{"max int", map[string]string{"AGORA_ORDERING_WORKERS": "65"}, `AGORA_ORDERING_WORKERS: max=64 (got "65")`},
		{"max float", map[string]string{"AGORA_ORDERING_SAMPLE_RATIO": "1.5"}, `AGORA_ORDERING_SAMPLE_RATIO: max=1 (got "1.5")`},
		{"min duration", map[string]string{"AGORA_ORDERING_KAFKA_TIMEOUT": "1ms"}, `AGORA_ORDERING_KAFKA_TIMEOUT: min=10ms (got "1ms")`},
		{"max duration", map[string]string{"AGORA_ORDERING_KAFKA_TIMEOUT": "2m"}, `AGORA_ORDERING_KAFKA_TIMEOUT: max=1m (got "2m0s")`},
		{"url", map[string]string{"AGORA_ORDERING_DATABASE_URL": "db:5432"}, "AGORA_ORDERING_DATABASE_URL: url"},
		{"hostport", map[string]string{"AGORA_ORDERING_HTTP_ADDR": "localhost"}, `AGORA_ORDERING_HTTP_ADDR: hostport (got "localhost")`},
		{"hostport in list", map[string]string{"AGORA_ORDERING_KAFKA_BROKERS": "k1:9092,k2"}, `AGORA_ORDERING_KAFKA_BROKERS: hostport (got "k2")`},
		{"bad int", map[string]string{"AGORA_ORDERING_WORKERS": "many"}, `AGORA_ORDERING_WORKERS: invalid value "many": not an integer of 64 bits`},
		{"bad bool", map[string]string{"AGORA_ORDERING_DEBUG": "perhaps"}, `AGORA_ORDERING_DEBUG: invalid value "perhaps": not a boolean`},
		{"bad duration", map[string]string{"AGORA_ORDERING_DRAIN": "10"}, `AGORA_ORDERING_DRAIN: invalid value "10": not a duration`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars := validVars()
			for k, v := range tc.set {
				vars[k] = v
			}
			_, err := load(t, vars, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if !fault.IsPermanent(err) {
				t.Fatal("a validation error is not marked permanent")
			}
		})
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := load(t, map[string]string{"AGORA_ORDERING_HTTP_ADDR": "", "AGORA_ORDERING_LOG_LEVEL": "loud"}, nil)
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		"AGORA_ORDERING_HTTP_ADDR: required",
		`AGORA_ORDERING_LOG_LEVEL: oneof=debug|info|warn|error (got "loud")`,
		"AGORA_ORDERING_DATABASE_URL: required",
		"AGORA_ORDERING_KAFKA_BROKERS: required",
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Fatalf("errors (-want +got):\n%s", diff)
	}
}

func TestLoadNeverEchoesSecrets(t *testing.T) {
	t.Parallel()
	vars := validVars()
	vars["AGORA_ORDERING_DATABASE_URL"] = "hunter2-not-a-url"
	_, err := load(t, vars, nil)
	if err == nil || err.Error() != "AGORA_ORDERING_DATABASE_URL: url" {
		t.Fatalf("err = %v, want the rule without the value", err)
	}
}

func TestLoadRejectsBadDestinationsAndTags(t *testing.T) {
	t.Parallel()
	type badRule struct {
		X string `env:"X" validate:"uppercase"`
	}
	type badBound struct {
		X time.Duration `env:"X" validate:"min=soon"`
	}
	type badType struct {
		X map[string]string `env:"X"`
	}
	var s serviceConfig
	tests := []struct {
		name string
		dst  any
		opts config.Options
	}{
		{"not a pointer", serviceConfig{}, config.Options{Prefix: "P"}},
		{"nil pointer", (*serviceConfig)(nil), config.Options{Prefix: "P"}},
		{"no prefix", &s, config.Options{}},
		{"unknown rule", &badRule{}, config.Options{Prefix: "P"}},
		{"bad bound", &badBound{}, config.Options{Prefix: "P"}},
		{"unsupported type", &badType{}, config.Options{Prefix: "P"}},
		{"missing file", &s, config.Options{Prefix: "P", File: filepath.Join(t.TempDir(), "none.yaml")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.LookupEnv = env(nil)
			if err := config.Load(context.Background(), tc.dst, tc.opts); err == nil {
				t.Fatal("Load returned no error")
			}
		})
	}
}

func TestLoadFileUnderEnvironment(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ordering.yaml")
	yaml := "http_addr: \":9090\"\nworkers: 8\nkafka_brokers:\n  - f1:9092\n  - f2:9092\ndatabase_url: postgres://file/db\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var cfg serviceConfig
	err := config.Load(context.Background(), &cfg, config.Options{
		Prefix: "AGORA_ORDERING", File: path,
		LookupEnv: env(map[string]string{"AGORA_ORDERING_WORKERS": "2"}),
	})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if cfg.HTTPAddr != ":9090" || cfg.Workers != 2 || cfg.DatabaseURL != "postgres://file/db" ||
		!cmp.Equal(cfg.Kafka.Brokers, []string{"f1:9092", "f2:9092"}) || cfg.LogLevel != "info" {
		t.Fatalf("config = %+v", cfg)
	}
}

// mapResolver resolves references from a map and counts calls.
type mapResolver map[string]string

func (m mapResolver) Resolve(_ context.Context, ref string) (string, error) {
	v, ok := m[ref]
	if !ok {
		return "", fault.Permanent(fmt.Errorf("%s not found", ref))
	}
	return v, nil
}

func TestLoadResolvesReferences(t *testing.T) {
	t.Parallel()
	vars := validVars()
	vars["AGORA_ORDERING_DATABASE_URL"] = "secretsmanager:ordering/db#url"
	vars["AGORA_ORDERING_KAFKA_TIMEOUT"] = "ssm:/agora/kafka/timeout"
	r := mapResolver{"secretsmanager:ordering/db#url": "postgres://resolved/db", "ssm:/agora/kafka/timeout": "2s"}
	cfg, err := load(t, vars, r)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if cfg.DatabaseURL != "postgres://resolved/db" || cfg.Kafka.Timeout != 2*time.Second {
		t.Fatalf("config = %+v", cfg)
	}

	_, err = load(t, vars, nil)
	if err == nil || !strings.Contains(err.Error(), "AGORA_ORDERING_DATABASE_URL: reference") {
		t.Fatalf("err = %v, want an unresolvable reference named", err)
	}
	vars["AGORA_ORDERING_KAFKA_TIMEOUT"] = "ssm:/agora/missing"
	_, err = load(t, vars, r)
	if err == nil || !strings.Contains(err.Error(), "AGORA_ORDERING_KAFKA_TIMEOUT: ssm:/agora/missing not found") {
		t.Fatalf("err = %v", err)
	}
}

func TestRedactionMasksSecrets(t *testing.T) {
	t.Parallel()
	vars := validVars()
	vars["AGORA_ORDERING_API_KEY"] = "k-123"
	cfg, err := load(t, vars, nil)
	if err != nil {
		t.Fatal(err)
	}
	red := config.Redacted(cfg)
	want := map[string]string{
		"HTTP_ADDR": ":8080", "LOG_LEVEL": "info", "WORKERS": "4", "SAMPLE_RATIO": "0.5", "DEBUG": "false",
		"DRAIN": "10s", "DATABASE_URL": config.Mask, "API_KEY": config.Mask,
		"KAFKA_BROKERS": "k1:9092,k2:9092", "KAFKA_TIMEOUT": "5s",
	}
	if diff := cmp.Diff(want, red); diff != "" {
		t.Fatalf("Redacted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, config.Redacted(&cfg)); diff != "" {
		t.Fatalf("Redacted of a pointer (-want +got):\n%s", diff)
	}

	secrets := []string{"pw@db", "k-123"}
	var logged bytes.Buffer
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&logged), zap.InfoLevel))
	log.Info("config loaded", zap.Object("config", config.Loggable(cfg)), zap.Stringer("api_key", cfg.APIKey))
	js, err := json.Marshal(struct{ K config.Secret }{cfg.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	printed := map[string]string{
		"Format": config.Format(cfg),
		"zap":    logged.String(),
		"%v":     fmt.Sprintf("%v %+v %#v %s", cfg.APIKey, cfg.APIKey, cfg.APIKey, cfg.APIKey),
		"json":   string(js),
	}
	for how, out := range printed {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output leaks %q: %s", how, s, out)
			}
		}
		if !strings.Contains(out, config.Mask) {
			t.Errorf("%s output does not show the mask: %s", how, out)
		}
	}
	if !strings.Contains(config.Format(cfg), `HTTP_ADDR=":8080"`) || !strings.Contains(logged.String(), `"KAFKA_TIMEOUT":"5s"`) {
		t.Errorf("non-secret values missing: %s | %s", config.Format(cfg), logged.String())
	}
	if cfg.APIKey.Value() != "k-123" {
		t.Errorf("Value() = %q", cfg.APIKey.Value())
	}
	if len(config.Redacted(42)) != 0 || len(config.Redacted((*serviceConfig)(nil))) != 0 {
		t.Error("Redacted of a non-struct is not empty")
	}
}

// An embedded struct without an env tag shares its parent's prefix, so a
// service can embed the configuration every process needs.
func TestEmbeddedStructIsFlattened(t *testing.T) {
	t.Parallel()
	type Common struct {
		Brokers []string `env:"KAFKA_BROKERS" validate:"required"`
		Level   string   `env:"LOG_LEVEL" default:"info"`
	}
	type Service struct {
		Common
		Interval time.Duration `env:"EXPIRY_INTERVAL" default:"15s"`
	}
	var cfg Service
	env := map[string]string{"AGORA_INVENTORY_KAFKA_BROKERS": "a:9092,b:9092"}
	err := config.Load(context.Background(), &cfg, config.Options{Prefix: "AGORA_INVENTORY", LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Brokers) != 2 || cfg.Level != "info" || cfg.Interval != 15*time.Second {
		t.Fatalf("loaded %+v", cfg)
	}
	var missing Service
	err = config.Load(context.Background(), &missing, config.Options{Prefix: "AGORA_INVENTORY", LookupEnv: func(string) (string, bool) { return "", false }})
	if err == nil || !strings.Contains(err.Error(), "AGORA_INVENTORY_KAFKA_BROKERS: required") {
		t.Fatalf("err = %v", err)
	}
}
