package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// TokenSource gives the bearer token a virtual shopper sends. Shoppers are
// numbered from zero. Implementations are safe for concurrent use; an error
// means no token can be had (the shopper's session fails).
type TokenSource interface {
	Token(ctx context.Context, shopper int) (string, error)
}

// StaticToken is one token sent by every shopper, for example one printed
// by `agora token --customer`.
type StaticToken string

var _ TokenSource = StaticToken("")

// Token returns the token.
func (t StaticToken) Token(context.Context, int) (string, error) {
	if t == "" {
		return "", errors.New("loadgen: the static token is empty")
	}
	return string(t), nil
}

// Minter signs tokens, as the development issuer does.
type Minter interface {
	Mint(subject string, scopes []string, ttl time.Duration) (string, error)
}

// MintedTokensConfig configures MintedTokens.
type MintedTokensConfig struct {
	// Minter signs the tokens. Required.
	Minter Minter
	// SubjectPrefix is followed by the shopper's number to make its
	// subject. Required.
	SubjectPrefix string
	// Scopes are granted to every token.
	Scopes []string
	// TTL is the tokens' lifetime, at least a minute; zero means an hour.
	TTL time.Duration
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
}

// MintedTokens gives every shopper its own customer subject, with tokens
// signed by a Minter and renewed before they expire.
type MintedTokens struct {
	cfg MintedTokensConfig

	mu     sync.Mutex
	issued map[int]cachedToken
}

var _ TokenSource = (*MintedTokens)(nil)

type cachedToken struct {
	value   string
	renewAt time.Time
}

// NewMintedTokens validates cfg and returns the token source.
func NewMintedTokens(cfg MintedTokensConfig) (*MintedTokens, error) {
	if cfg.TTL == 0 {
		cfg.TTL = time.Hour
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	switch {
	case cfg.Minter == nil:
		return nil, errors.New("loadgen: minted tokens need a minter")
	case cfg.SubjectPrefix == "":
		return nil, errors.New("loadgen: minted tokens need a subject prefix")
	case cfg.TTL < time.Minute:
		return nil, fmt.Errorf("loadgen: token lifetime %s is shorter than a minute", cfg.TTL)
	}
	return &MintedTokens{cfg: cfg, issued: map[int]cachedToken{}}, nil
}

// Subject returns the subject of shopper n's tokens.
func (m *MintedTokens) Subject(shopper int) string {
	return fmt.Sprintf("%s%d", m.cfg.SubjectPrefix, shopper)
}

// Token returns shopper n's token, minting one when none is cached or the
// cached one is in the last fifth of its life.
func (m *MintedTokens) Token(_ context.Context, shopper int) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.cfg.Clock()
	if t, ok := m.issued[shopper]; ok && now.Before(t.renewAt) {
		return t.value, nil
	}
	tok, err := m.cfg.Minter.Mint(m.Subject(shopper), m.cfg.Scopes, m.cfg.TTL)
	if err != nil {
		return "", fmt.Errorf("loadgen: mint token of shopper %d: %w", shopper, err)
	}
	m.issued[shopper] = cachedToken{value: tok, renewAt: now.Add(m.cfg.TTL * 4 / 5)}
	return tok, nil
}

// ClientCredentialsConfig configures ClientCredentials.
type ClientCredentialsConfig struct {
	// TokenURL is the OAuth 2.0 token endpoint.
	TokenURL string
	// ClientID and ClientSecret authenticate the client (HTTP Basic).
	ClientID, ClientSecret string
	// Scopes to ask for; empty asks for the client's default scopes.
	Scopes []string
	// HTTPClient sends the token requests; nil means a client with a 10s
	// timeout.
	HTTPClient *http.Client
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
}

// Validate reports the first problem with c.
func (c ClientCredentialsConfig) Validate() error {
	u, err := url.Parse(c.TokenURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("loadgen: token URL %q is not an absolute http(s) URL", c.TokenURL)
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		return errors.New("loadgen: the client-credentials grant needs a client ID and a client secret")
	}
	return nil
}

// ClientCredentials fetches one token with the OAuth 2.0 client-credentials
// grant and shares it between every shopper (they all act as the client),
// fetching a new one before it expires.
type ClientCredentials struct {
	cfg ClientCredentialsConfig

	mu      sync.Mutex
	current cachedToken
}

var _ TokenSource = (*ClientCredentials)(nil)

// NewClientCredentials validates cfg and returns the token source; no
// request is sent until the first Token.
func NewClientCredentials(cfg ClientCredentialsConfig) (*ClientCredentials, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &ClientCredentials{cfg: cfg}, nil
}

// maxTokenResponse bounds the token endpoint's answer.
const maxTokenResponse = 64 << 10

// Token returns the client's token, fetching a new one when none is cached
// or the cached one is in the last fifth of its life.
func (c *ClientCredentials) Token(ctx context.Context, _ int) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Clock()
	if c.current.value != "" && now.Before(c.current.renewAt) {
		return c.current.value, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(c.cfg.Scopes) > 0 {
		form.Set("scope", strings.Join(c.cfg.Scopes, " "))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("loadgen: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.cfg.ClientSecret))
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("loadgen: token request to %s: %w", c.cfg.TokenURL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return "", fmt.Errorf("loadgen: token response from %s: %w", c.cfg.TokenURL, err)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	decodeErr := json.Unmarshal(body, &tr)
	if resp.StatusCode != http.StatusOK {
		if decodeErr == nil && tr.Error != "" {
			return "", fmt.Errorf("loadgen: token endpoint %s answered %d %s: %s", c.cfg.TokenURL, resp.StatusCode, tr.Error, tr.Description)
		}
		return "", fmt.Errorf("loadgen: token endpoint %s answered %d", c.cfg.TokenURL, resp.StatusCode)
	}
	if decodeErr != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("loadgen: token endpoint %s sent no access_token", c.cfg.TokenURL)
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "bearer") {
		return "", fmt.Errorf("loadgen: token endpoint %s sent a %q token, not a bearer token", c.cfg.TokenURL, tr.TokenType)
	}
	life := time.Duration(tr.ExpiresIn) * time.Second
	if tr.ExpiresIn <= 0 || life > 24*time.Hour {
		life = 5 * time.Minute // unknown lifetime: ask again soon
	}
	c.current = cachedToken{value: tr.AccessToken, renewAt: now.Add(life * 4 / 5)}
	return tr.AccessToken, nil
}

// DiscoveryPath is where an OpenID provider, and the gateway of a local
// Agora, describe their issuer.
const DiscoveryPath = "/.well-known/openid-configuration"

// DiscoverIssuer reads the issuer that baseURL announces at DiscoveryPath;
// an error when it announces none.
func DiscoverIssuer(ctx context.Context, client *http.Client, baseURL string) (string, error) {
	target := strings.TrimRight(baseURL, "/") + DiscoveryPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", fmt.Errorf("loadgen: discover the issuer: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("loadgen: discover the issuer at %s: %w", target, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("loadgen: discover the issuer at %s: HTTP %d", target, resp.StatusCode)
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxTokenResponse)).Decode(&doc); err != nil || doc.Issuer == "" {
		return "", fmt.Errorf("loadgen: %s names no issuer", target)
	}
	return doc.Issuer, nil
}
