package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
)

// newIssuerCmd serves the development issuer: its JWKS, OpenID discovery
// and OAuth 2.0 client-credentials token endpoint, so that services started
// with `agora serve` can verify the tokens `agora token` prints.
func newIssuerCmd() *cobra.Command {
	var dataDir, env, issuer, clientID, clientSecret string
	cmd := &cobra.Command{
		Use:   "issuer",
		Short: "Serve the development token issuer (local and development modes only)",
		Long: `Serve Agora's development issuer on the host and port of its issuer URL:
its JWKS (/.well-known/jwks.json), OpenID discovery and an OAuth 2.0
client-credentials token endpoint (/oauth2/token). Point services at it with
AGORA_<SERVICE>_AUTH_ISSUER and AGORA_<SERVICE>_AUTH_JWKS_URL. It signs with
the key in the data directory that 'agora token' uses, and refuses to start
outside the local and development environment modes.`,
		Example: `  agora issuer --issuer http://127.0.0.1:9000
  curl -u dev-client:dev-secret -d grant_type=client_credentials http://127.0.0.1:9000/oauth2/token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := url.Parse(issuer)
			if err != nil || u.Host == "" {
				return fmt.Errorf("issuer: --issuer %q is not an absolute URL", issuer)
			}
			var clients []devissuer.Client
			if clientID != "" {
				if clientSecret == "" {
					return errors.New("issuer: --client-secret is required with --client-id")
				}
				clients = append(clients, devissuer.Client{ID: clientID, Secret: clientSecret, Scopes: auth.AdminScopes()})
			}
			iss, err := devissuer.New(devissuer.Config{Mode: env, DataDir: dataDir, Issuer: issuer, Clients: clients})
			if err != nil {
				return fmt.Errorf("issuer: %w", err)
			}
			ln, err := net.Listen("tcp", u.Host)
			if err != nil {
				return fmt.Errorf("issuer: listen on %s: %w", u.Host, err)
			}
			return serveIssuer(cmd.Context(), iss, ln, cmd)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", envOr("AGORA_DATA_DIR", defaultDataDir), "data directory holding the signing key (AGORA_DATA_DIR)")
	f.StringVar(&env, "env", envOr("AGORA_ENV", defaultEnv), "environment mode; only local and development are allowed (AGORA_ENV)")
	f.StringVar(&issuer, "issuer", envOr("AGORA_AUTH_ISSUER", defaultIssuer), "issuer URL; the issuer listens on its host and port (AGORA_AUTH_ISSUER)")
	f.StringVar(&clientID, "client-id", "dev-client", "client allowed to use the client-credentials grant (empty: none)")
	f.StringVar(&clientSecret, "client-secret", "dev-secret", "that client's secret")
	return cmd
}

// serveIssuer serves iss on ln until ctx ends, then shuts down gracefully.
func serveIssuer(ctx context.Context, iss *devissuer.Issuer, ln net.Listener, cmd *cobra.Command) error {
	srv := &http.Server{Handler: iss.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	if _, err := fmt.Fprintf(cmd.OutOrStdout(), "development issuer %s (JWKS %s)\n", iss.IssuerURL(), iss.JWKSURL()); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("issuer: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("issuer: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("issuer: %w", err)
	}
	return nil
}
