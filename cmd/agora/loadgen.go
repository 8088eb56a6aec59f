package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/agoracommerce/agora/internal/loadgen"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
)

// defaultLoadgenURL is the gateway `agora loadgen` drives unless told
// otherwise.
const defaultLoadgenURL = "http://127.0.0.1:8080"

// loadgenFlags are the options of `agora loadgen`.
type loadgenFlags struct {
	url, mix, jsonPath, progress                  string
	dataDir, env, issuer                          string
	token, tokenURL, clientID, clientSecret       string
	scopes                                        []string
	rate, pollRate, maxErrorRate                  float64
	concurrency, maxInFlight, sessions, trackOrds int
	catalogLimit                                  int
	duration, think, timeout, drain, settle, poll time.Duration
	seed                                          uint64
}

// newLoadgenCmd drives a running Agora with virtual shoppers and reports
// latencies, errors and checkout saga times.
func newLoadgenCmd() *cobra.Command {
	var o loadgenFlags
	cmd := &cobra.Command{
		Use:   "loadgen",
		Short: "Drive a running Agora with virtual shoppers and report latencies",
		Long: `Drive an Agora gateway the way shoppers do and report what it did.

Every virtual shopper has its own customer token and runs sessions drawn from
the mix: browse (list products, open one to three), search (a word from a
product name it saw), cart (create a cart, add one to three products) and
checkout (a cart, then POST /v1/orders with a fresh Idempotency-Key). The
products are discovered from the catalog first; an empty catalog stops the
run.

Load models: --rate R starts R sessions per second whatever the answers (an
open model: an arrival that finds all --max-in-flight shoppers busy is
dropped and counted); --concurrency C keeps C shoppers each running one
session after another (a closed model). The load stops at --duration (or
after --sessions, or on Ctrl-C); requests in flight then get --drain to
finish. Up to --track-orders placed orders are polled until their saga ends,
for at most --settle after the load (not after Ctrl-C).

Tokens: by default each shopper's token is signed with the development
issuer's key in --data-dir (the one the local platform verifies, subject
loadgen-<run>-<n>, issuer as announced by the gateway's OpenID discovery); --token sends one fixed token for every shopper; and
--token-url with --client-id and --client-secret fetches one with the OAuth
2.0 client-credentials grant (for a deployment).

The report goes to stdout as text, and with --json FILE also as JSON
("--json -" prints the JSON instead of the text). Progress goes to stderr.`,
		Example: `  agora loadgen --url http://127.0.0.1:8080 --concurrency 20 --duration 1m
  agora loadgen --rate 50 --duration 5m --mix browse=50,search=20,cart=10,checkout=20 --json report.json
  agora loadgen --url https://api.example.com --token-url https://auth.example.com/oauth2/token \
    --client-id loadtest --client-secret "$SECRET" --concurrency 100 --duration 10m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLoadgen(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "url", envOr("AGORA_LOADGEN_URL", defaultLoadgenURL), "base URL of the gateway (AGORA_LOADGEN_URL)")
	f.Float64Var(&o.rate, "rate", 0, "open model: sessions started per second")
	f.IntVar(&o.maxInFlight, "max-in-flight", loadgen.DefaultMaxInFlight, "open model: sessions in flight at most (the shoppers); further arrivals are dropped")
	f.IntVar(&o.concurrency, "concurrency", loadgen.DefaultConcurrency, "closed model: shoppers, each running one session after another")
	f.DurationVar(&o.duration, "duration", loadgen.DefaultDuration, "how long to start sessions")
	f.IntVar(&o.sessions, "sessions", 0, "stop after this many sessions (0: run for --duration)")
	f.StringVar(&o.mix, "mix", loadgen.DefaultMix, "weights of the session kinds browse, search, cart and checkout")
	f.DurationVar(&o.think, "think", 0, "mean pause between two requests of a session")
	f.Uint64Var(&o.seed, "seed", 0, "seed of the shoppers' choices (default: random, printed in the report)")
	f.StringVar(&o.jsonPath, "json", "", `also write the report as JSON to this file ("-": to stdout instead of the text)`)
	f.StringVar(&o.progress, "progress", "auto", "live progress on stderr: auto (a bar on a terminal, lines otherwise), bar, lines or off")
	f.DurationVar(&o.timeout, "timeout", loadgen.DefaultRequestTimeout, "timeout of one request")
	f.DurationVar(&o.drain, "drain", loadgen.DefaultDrainTimeout, "time the requests in flight get to finish when the load stops")
	f.IntVar(&o.trackOrds, "track-orders", loadgen.DefaultTrackOrders, "placed orders to follow until their saga ends (0: none)")
	f.DurationVar(&o.settle, "settle", loadgen.DefaultSettle, "how long to keep following orders after the load (0: not at all)")
	f.Float64Var(&o.pollRate, "poll-rate", loadgen.DefaultPollRate, "order polls per second at most")
	f.DurationVar(&o.poll, "poll-interval", loadgen.DefaultPollInterval, "pause between two polls of one order")
	f.IntVar(&o.catalogLimit, "catalog-limit", loadgen.DefaultCatalogLimit, "products to discover at most")
	f.Float64Var(&o.maxErrorRate, "max-error-rate", 1, "fail (after the report) when more than this fraction of the requests failed, e.g. 0.01")
	f.StringVar(&o.dataDir, "data-dir", envOr("AGORA_DATA_DIR", defaultDataDir), "development issuer: data directory of the platform (AGORA_DATA_DIR)")
	f.StringVar(&o.env, "env", envOr("AGORA_ENV", defaultEnv), "development issuer: environment mode, local or development (AGORA_ENV)")
	f.StringVar(&o.issuer, "issuer", envOr("AGORA_AUTH_ISSUER", defaultIssuer),
		"development issuer: issuer URL written into the tokens (AGORA_AUTH_ISSUER; default: the one the gateway announces, else "+defaultIssuer+")")
	f.StringVar(&o.token, "token", os.Getenv("AGORA_LOADGEN_TOKEN"), "one bearer token for every shopper (AGORA_LOADGEN_TOKEN)")
	f.StringVar(&o.tokenURL, "token-url", "", "OAuth 2.0 token endpoint for the client-credentials grant")
	f.StringVar(&o.clientID, "client-id", "", "client-credentials grant: client ID")
	f.StringVar(&o.clientSecret, "client-secret", os.Getenv("AGORA_LOADGEN_CLIENT_SECRET"), "client-credentials grant: client secret (AGORA_LOADGEN_CLIENT_SECRET)")
	f.StringArrayVar(&o.scopes, "scope", nil, "client-credentials grant: scope to ask for; repeat for several")
	cmd.MarkFlagsMutuallyExclusive("rate", "concurrency")
	cmd.MarkFlagsMutuallyExclusive("token", "token-url")
	return cmd
}

func runLoadgen(cmd *cobra.Command, o loadgenFlags) error {
	f := cmd.Flags()
	mix, err := loadgen.ParseMix(o.mix)
	if err != nil {
		return fmt.Errorf("loadgen: --mix: %w", err)
	}
	if o.maxErrorRate < 0 || o.maxErrorRate > 1 {
		return fmt.Errorf("loadgen: --max-error-rate %g is outside 0..1", o.maxErrorRate)
	}
	if o.duration <= 0 {
		return fmt.Errorf("loadgen: --duration %s must be positive", o.duration)
	}
	tokens, err := loadgenTokens(cmd, o)
	if err != nil {
		return err
	}
	cfg := loadgen.Config{
		BaseURL:        o.url,
		Duration:       o.duration,
		Sessions:       o.sessions,
		Mix:            mix,
		Seed:           o.seed,
		Think:          o.think,
		Tokens:         tokens,
		RequestTimeout: o.timeout,
		DrainTimeout:   o.drain,
		TrackOrders:    o.trackOrds,
		Settle:         o.settle,
		PollRate:       o.pollRate,
		PollInterval:   o.poll,
		CatalogLimit:   o.catalogLimit,
	}
	if f.Changed("rate") {
		if o.rate <= 0 {
			return fmt.Errorf("loadgen: --rate %g must be positive", o.rate)
		}
		cfg.Rate, cfg.MaxInFlight = o.rate, o.maxInFlight
	} else {
		cfg.Concurrency = o.concurrency
	}
	if !f.Changed("seed") {
		cfg.Seed = randomSeed()
	}
	for name, v := range map[string]time.Duration{"timeout": o.timeout, "drain": o.drain, "poll-interval": o.poll} {
		if v <= 0 {
			return fmt.Errorf("loadgen: --%s %s must be positive", name, v)
		}
	}
	if o.trackOrds == 0 {
		cfg.TrackOrders = -1
	}
	if o.settle <= 0 {
		cfg.Settle = -1
	}
	if o.pollRate <= 0 {
		return fmt.Errorf("loadgen: --poll-rate %g must be positive", o.pollRate)
	}
	stderr := cmd.ErrOrStderr()
	switch o.progress {
	case "auto":
		cfg.Progress, cfg.Interactive = stderr, isTerminal(stderr)
	case "bar":
		cfg.Progress, cfg.Interactive = stderr, true
	case "lines":
		cfg.Progress = stderr
	case "off":
	default:
		return fmt.Errorf("loadgen: --progress %q is not auto, bar, lines or off", o.progress)
	}

	rep, err := loadgen.Run(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	if err := writeLoadgenReport(cmd.OutOrStdout(), rep, o.jsonPath); err != nil {
		return err
	}
	if rep.Requests.Total > 0 {
		if rate := float64(rep.Requests.Errors) / float64(rep.Requests.Total); rate > o.maxErrorRate {
			return fmt.Errorf("loadgen: %.2f%% of the requests failed, more than the --max-error-rate of %.2f%%", 100*rate, 100*o.maxErrorRate)
		}
	}
	return nil
}

// loadgenTokens builds the shoppers' token source from the flags.
func loadgenTokens(cmd *cobra.Command, o loadgenFlags) (loadgen.TokenSource, error) {
	f := cmd.Flags()
	devFlags := f.Changed("data-dir") || f.Changed("env") || f.Changed("issuer")
	switch {
	case o.tokenURL != "" || f.Changed("client-id") || f.Changed("client-secret") || f.Changed("scope"):
		if devFlags || o.token != "" {
			return nil, errors.New("loadgen: --token-url cannot be combined with --token or the development issuer's --data-dir, --env and --issuer")
		}
		if o.tokenURL == "" {
			return nil, errors.New("loadgen: --client-id, --client-secret and --scope need --token-url")
		}
		src, err := loadgen.NewClientCredentials(loadgen.ClientCredentialsConfig{TokenURL: o.tokenURL, ClientID: o.clientID,
			ClientSecret: o.clientSecret, Scopes: o.scopes})
		if err != nil {
			return nil, fmt.Errorf("%w (set --token-url, --client-id and --client-secret)", err)
		}
		return src, nil
	case o.token != "":
		if devFlags {
			return nil, errors.New("loadgen: --token cannot be combined with the development issuer's --data-dir, --env and --issuer")
		}
		return loadgen.StaticToken(o.token), nil
	}
	keyFile := filepath.Join(o.dataDir, "devissuer", devissuer.KeyFile)
	if _, err := os.Stat(keyFile); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("loadgen: no development signing key at %s: point --data-dir at the running platform's data directory, or pass --token or --token-url", keyFile)
	} else if err != nil {
		return nil, fmt.Errorf("loadgen: development signing key: %w", err)
	}
	issuer := o.issuer
	if !f.Changed("issuer") && os.Getenv("AGORA_AUTH_ISSUER") == "" {
		// The gateway of `agora run` announces the issuer it trusts.
		ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
		if found, err := loadgen.DiscoverIssuer(ctx, &http.Client{Timeout: 5 * time.Second}, o.url); err == nil {
			issuer = found
		}
		cancel()
	}
	iss, err := devissuer.New(devissuer.Config{Mode: o.env, DataDir: o.dataDir, Issuer: issuer})
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	var run [4]byte
	if _, err := rand.Read(run[:]); err != nil {
		return nil, fmt.Errorf("loadgen: run id: %w", err)
	}
	return loadgen.NewMintedTokens(loadgen.MintedTokensConfig{Minter: iss, SubjectPrefix: "loadgen-" + hex.EncodeToString(run[:]) + "-",
		Scopes: auth.CustomerScopes(), TTL: time.Hour})
}

// writeLoadgenReport prints the text report (or the JSON one for "-") and
// writes the JSON file.
func writeLoadgenReport(stdout io.Writer, rep *loadgen.Report, jsonPath string) error {
	if jsonPath == "-" {
		return rep.WriteJSON(stdout)
	}
	if err := rep.WriteText(stdout); err != nil {
		return err
	}
	if jsonPath == "" {
		return nil
	}
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		return err
	}
	if err := os.WriteFile(jsonPath, b.Bytes(), 0o644); err != nil { // #nosec G306 -- a report meant to be shared, no secret in it
		return fmt.Errorf("loadgen: --json: %w", err)
	}
	return nil
}

// randomSeed returns a seed for a run that was given none.
func randomSeed() uint64 {
	// crypto/rand.Read never fails on supported platforms. The seed is
	// kept short enough to type again.
	var b [4]byte
	_, _ = rand.Read(b[:])
	return uint64(binary.LittleEndian.Uint32(b[:])>>1) + 1
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
