// Package devissuer is Agora's development OAuth 2.0 issuer for local runs:
// it keeps an ES256 signing key in the data directory, publishes the public
// key as a JWKS with OpenID discovery, and issues access tokens through the
// client-credentials grant and to the CLI (Mint). It refuses to exist
// outside the "local" and "development" environment modes: production
// tokens come from Cognito or another real issuer.
package devissuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/agoracommerce/agora/internal/platform/auth"
)

// Paths served by Handler.
const (
	JWKSPath      = "/.well-known/jwks.json"
	DiscoveryPath = "/.well-known/openid-configuration"
	TokenPath     = "/oauth2/token" // #nosec G101 -- a URL path, not a credential
)

// Defaults applied by New to zero Config fields.
const (
	DefaultAudience = "agora"
	DefaultTTL      = time.Hour
	MaxTTL          = 24 * time.Hour
	// KeyFile is the signing key's file name inside the data directory's
	// devissuer folder.
	KeyFile = "signing-key.jwk.json"
)

// Modes in which the issuer agrees to run.
var allowedModes = []string{"local", "development"}

// Client is an OAuth 2.0 client allowed to use the client-credentials grant.
type Client struct {
	ID     string
	Secret string
	// Scopes the client may ask for; a request without a scope parameter
	// gets all of them.
	Scopes []string
}

// Config configures an Issuer.
type Config struct {
	// Mode is the environment mode (AGORA_ENV); only "local" and
	// "development" are accepted.
	Mode string
	// DataDir is the data directory; the key lives in DataDir/devissuer.
	DataDir string
	// Issuer is the iss claim and the base URL of the endpoints, for
	// example http://localhost:8080.
	Issuer string
	// Audience is the aud claim; empty means DefaultAudience.
	Audience string
	// Clients may use the token endpoint.
	Clients []Client
	// TokenTTL is the lifetime of client-credentials tokens; zero means
	// DefaultTTL.
	TokenTTL time.Duration
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if !slices.Contains(allowedModes, c.Mode) {
		return fmt.Errorf("devissuer: refusing to run in environment mode %q: the development issuer runs only in %q or %q mode", c.Mode, allowedModes[0], allowedModes[1])
	}
	if c.DataDir == "" {
		return errors.New("devissuer: Config.DataDir is required")
	}
	if !strings.HasPrefix(c.Issuer, "http://") && !strings.HasPrefix(c.Issuer, "https://") {
		return fmt.Errorf("devissuer: Config.Issuer %q is not an http(s) URL", c.Issuer)
	}
	if c.TokenTTL < 0 || c.TokenTTL > MaxTTL {
		return fmt.Errorf("devissuer: Config.TokenTTL %s is outside 0..%s", c.TokenTTL, MaxTTL)
	}
	seen := map[string]bool{}
	for i, cl := range c.Clients {
		if cl.ID == "" || cl.Secret == "" {
			return fmt.Errorf("devissuer: Config.Clients[%d] needs an ID and a secret", i)
		}
		if seen[cl.ID] {
			return fmt.Errorf("devissuer: Config.Clients: duplicate client %q", cl.ID)
		}
		seen[cl.ID] = true
	}
	return nil
}

// Issuer signs tokens with its persisted key. Safe for concurrent use.
type Issuer struct {
	cfg     Config
	key     jwk.Key // private
	public  jwk.Set
	clients map[string]Client
}

// New validates cfg, then loads the signing key from the data directory or
// creates it there (mode 0600) on first use.
func New(cfg Config) (*Issuer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = DefaultTTL
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	key, err := loadOrCreateKey(filepath.Join(cfg.DataDir, "devissuer"))
	if err != nil {
		return nil, err
	}
	pub, err := key.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("devissuer: public key: %w", err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return nil, fmt.Errorf("devissuer: key set: %w", err)
	}
	clients := make(map[string]Client, len(cfg.Clients))
	for _, c := range cfg.Clients {
		clients[c.ID] = c
	}
	return &Issuer{cfg: cfg, key: key, public: set, clients: clients}, nil
}

// IssuerURL returns the iss claim of the tokens.
func (i *Issuer) IssuerURL() string { return i.cfg.Issuer }

// Audience returns the aud claim of the tokens.
func (i *Issuer) Audience() string { return i.cfg.Audience }

// JWKSURL returns where Handler publishes the public keys when it is
// served at the issuer URL.
func (i *Issuer) JWKSURL() string { return i.cfg.Issuer + JWKSPath }

// VerifierConfig returns the auth.Config that accepts this issuer's tokens
// when Handler is served at the issuer URL.
func (i *Issuer) VerifierConfig() auth.Config {
	return auth.Config{Issuer: i.cfg.Issuer, Audiences: []string{i.cfg.Audience}, JWKSURL: i.JWKSURL(), Algorithms: []string{auth.AlgES256}}
}

// Mint signs an access token for subject with scopes, valid for ttl (at
// most MaxTTL).
func (i *Issuer) Mint(subject string, scopes []string, ttl time.Duration) (string, error) {
	return i.mint(subject, "", scopes, ttl)
}

func (i *Issuer) mint(subject, clientID string, scopes []string, ttl time.Duration) (string, error) {
	if subject == "" {
		return "", errors.New("devissuer: mint: subject is required")
	}
	if ttl <= 0 || ttl > MaxTTL {
		return "", fmt.Errorf("devissuer: mint: ttl %s is outside (0, %s]", ttl, MaxTTL)
	}
	for _, s := range scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return "", fmt.Errorf("devissuer: mint: invalid scope %q", s)
		}
	}
	jti, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("devissuer: mint: token id: %w", err)
	}
	now := i.cfg.Clock().Truncate(time.Second)
	b := jwt.NewBuilder().
		Issuer(i.cfg.Issuer).
		Subject(subject).
		Audience([]string{i.cfg.Audience}).
		IssuedAt(now).
		NotBefore(now).
		Expiration(now.Add(ttl)).
		JwtID(jti.String()).
		Claim("scope", strings.Join(scopes, " "))
	if clientID != "" {
		b = b.Claim("client_id", clientID)
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("devissuer: mint: build: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256(), i.key))
	if err != nil {
		return "", fmt.Errorf("devissuer: mint: sign: %w", err)
	}
	return string(signed), nil
}

// loadOrCreateKey reads dir/KeyFile, or generates a P-256 key and writes it
// there without ever replacing a file another process wrote first.
func loadOrCreateKey(dir string) (jwk.Key, error) {
	path := filepath.Join(dir, KeyFile)
	if key, err := readKey(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("devissuer: create %s: %w", dir, err)
	}
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devissuer: generate key: %w", err)
	}
	key, err := jwk.Import(raw)
	if err != nil {
		return nil, fmt.Errorf("devissuer: import key: %w", err)
	}
	if err := jwk.AssignKeyID(key); err != nil {
		return nil, fmt.Errorf("devissuer: key id: %w", err)
	}
	for _, kv := range []struct {
		k string
		v any
	}{{jwk.AlgorithmKey, jwa.ES256()}, {jwk.KeyUsageKey, jwk.ForSignature}} {
		if err := key.Set(kv.k, kv.v); err != nil {
			return nil, fmt.Errorf("devissuer: key %s: %w", kv.k, err)
		}
	}
	data, err := json.Marshal(key)
	if err != nil {
		return nil, fmt.Errorf("devissuer: encode key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".signing-key-*")
	if err != nil {
		return nil, fmt.Errorf("devissuer: write key: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return nil, fmt.Errorf("devissuer: write key: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return nil, fmt.Errorf("devissuer: write key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return nil, fmt.Errorf("devissuer: write key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("devissuer: write key: %w", err)
	}
	// Link fails when the file exists: whoever linked first wins, and the
	// others read the winner's key.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("devissuer: write key: %w", err)
	}
	return readKey(path)
}

func readKey(path string) (jwk.Key, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("devissuer: key: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("devissuer: key file %s has mode %04o; it must be readable by its owner only (0600)", path, perm)
	}
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("devissuer: read key: %w", err)
	}
	key, err := jwk.ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("devissuer: parse key %s: %w", path, err)
	}
	if _, ok := key.(jwk.ECDSAPrivateKey); !ok {
		return nil, fmt.Errorf("devissuer: key file %s does not hold an EC private key", path)
	}
	return key, nil
}

// secretsEqual compares secrets in constant time.
func secretsEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
