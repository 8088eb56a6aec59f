// Package testenv hands integration tests the endpoints of the real
// dependencies that scripts/testenv.sh starts (or that the user configured):
// Apache Kafka, PostgreSQL, Redis and an AWS API emulator.
//
// Endpoints come from the environment (AGORA_TEST_KAFKA_BROKERS,
// AGORA_TEST_POSTGRES_URL, AGORA_TEST_REDIS_ADDR, AGORA_TEST_AWS_ENDPOINT) and,
// for any variable that is unset, from the env file the script writes
// (AGORA_TEST_ENV_FILE, by default under the user's cache directory).
//
// Integration tests are skipped only in short mode (`make test-unit` runs
// `go test -short`). Otherwise a missing endpoint fails the test: an
// integration test never passes by silently not running, in CI or anywhere.
package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Names of the variables that carry the endpoints.
const (
	EnvKafkaBrokers = "AGORA_TEST_KAFKA_BROKERS"
	EnvPostgresURL  = "AGORA_TEST_POSTGRES_URL"
	EnvRedisAddr    = "AGORA_TEST_REDIS_ADDR"
	EnvAWSEndpoint  = "AGORA_TEST_AWS_ENDPOINT"
	EnvFile         = "AGORA_TEST_ENV_FILE"
)

// AWS describes the AWS API emulator: its endpoint and the static
// credentials and region the tests sign requests with.
type AWS struct {
	Endpoint  string
	Region    string
	AccessKey string
	SecretKey string
}

var (
	fileOnce sync.Once
	fileVals map[string]string
	errFile  error
)

// DefaultEnvFile is where scripts/testenv.sh writes the endpoints when
// AGORA_TEST_ENV_FILE is not set.
func DefaultEnvFile() string {
	if p := os.Getenv(EnvFile); p != "" {
		return p
	}
	base := os.Getenv("AGORA_CACHE_DIR")
	if base == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		base = filepath.Join(dir, "agora")
	}
	return filepath.Join(base, "testenv", "env")
}

// Lookup returns the value of an endpoint variable from the environment or,
// failing that, from the env file. ok is false when neither has it.
func Lookup(name string) (value string, ok bool, err error) {
	if v := os.Getenv(name); v != "" {
		return v, true, nil
	}
	fileOnce.Do(func() { fileVals, errFile = readEnvFile(DefaultEnvFile()) })
	if errFile != nil {
		return "", false, errFile
	}
	v, ok := fileVals[name]
	return v, ok && v != "", nil
}

// readEnvFile parses KEY=VALUE lines; a missing file is not an error.
func readEnvFile(path string) (map[string]string, error) {
	vals := map[string]string{}
	if path == "" {
		return vals, nil
	}
	f, err := os.Open(filepath.Clean(path))
	if errors.Is(err, os.ErrNotExist) {
		return vals, nil
	}
	if err != nil {
		return nil, fmt.Errorf("testenv: open env file: %w", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, found := strings.Cut(line, "=")
		if !found {
			continue
		}
		vals[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("testenv: read env file %s: %w", path, err)
	}
	return vals, nil
}

// require returns the endpoint named by env, skipping the test in short mode
// and failing it when the endpoint is not configured.
func require(tb testing.TB, env, what string) string {
	tb.Helper()
	if testing.Short() {
		tb.Skipf("integration test needs %s; skipped in short mode", what)
	}
	v, ok, err := Lookup(env)
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
	if !ok {
		tb.Fatalf("%s is not configured: set %s or run `make deps-up` (env file %s)", what, env, DefaultEnvFile())
	}
	return v
}

// KafkaBrokers returns the seed brokers of the real Kafka cluster.
func KafkaBrokers(tb testing.TB) []string {
	tb.Helper()
	raw := require(tb, EnvKafkaBrokers, "Apache Kafka")
	var out []string
	for _, b := range strings.Split(raw, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		tb.Fatalf("%s holds no broker address: %q", EnvKafkaBrokers, raw)
	}
	return out
}

// PostgresURL returns the connection URL of the test database.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	return require(tb, EnvPostgresURL, "PostgreSQL")
}

// RedisAddr returns the host:port of the Redis server.
func RedisAddr(tb testing.TB) string {
	tb.Helper()
	return require(tb, EnvRedisAddr, "Redis")
}

// AWSEmulator returns the AWS API emulator's endpoint and credentials.
func AWSEmulator(tb testing.TB) AWS {
	tb.Helper()
	return NewAWS(require(tb, EnvAWSEndpoint, "the AWS API emulator"))
}

// NewAWS describes the emulator at endpoint; region and credentials come from
// AGORA_TEST_AWS_REGION, AGORA_TEST_AWS_ACCESS_KEY_ID and
// AGORA_TEST_AWS_SECRET_ACCESS_KEY, defaulting to what moto accepts.
func NewAWS(endpoint string) AWS {
	return AWS{
		Endpoint:  endpoint,
		Region:    valueOr("AGORA_TEST_AWS_REGION", "us-east-1"),
		AccessKey: valueOr("AGORA_TEST_AWS_ACCESS_KEY_ID", "test"),
		SecretKey: valueOr("AGORA_TEST_AWS_SECRET_ACCESS_KEY", "test"),
	}
}

func valueOr(name, fallback string) string {
	if v, ok, err := Lookup(name); err == nil && ok {
		return v
	}
	return fallback
}
