package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
)

// Defaults of `agora token`, overridable by environment variables.
const (
	defaultDataDir  = "./var"
	defaultEnv      = "local"
	defaultIssuer   = "http://localhost:8080"
	customerSubject = "customer-dev"
	adminSubject    = "admin-dev"
)

// newTokenCmd prints an access token signed by the development issuer,
// using the data directory of the running platform so that its JWKS
// verifies the token.
func newTokenCmd() *cobra.Command {
	var (
		dataDir, env, issuer, subject string
		scopes                        []string
		ttl                           time.Duration
		customer, admin               bool
	)
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a development bearer token (local and development modes only)",
		Long: `Print an access token signed by Agora's development issuer, for calling
the APIs of a local platform with curl. The signing key is read from (or
created in) the data directory the platform uses. Refused outside the local
and development environment modes.`,
		Example: `  agora token --customer
  curl -H "Authorization: Bearer $(agora token --admin)" localhost:8080/v1/products`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if customer && admin {
				return errors.New("token: --customer and --admin cannot be combined")
			}
			switch {
			case customer:
				scopes = append(auth.CustomerScopes(), scopes...)
				if !cmd.Flags().Changed("subject") {
					subject = customerSubject
				}
			case admin:
				scopes = append(auth.AdminScopes(), scopes...)
				if !cmd.Flags().Changed("subject") {
					subject = adminSubject
				}
			}
			if subject == "" {
				return errors.New("token: --subject is required (or use --customer or --admin)")
			}
			iss, err := devissuer.New(devissuer.Config{Mode: env, DataDir: dataDir, Issuer: issuer})
			if err != nil {
				return fmt.Errorf("token: %w", err)
			}
			tok, err := iss.Mint(subject, scopes, ttl)
			if err != nil {
				return fmt.Errorf("token: %w", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", envOr("AGORA_DATA_DIR", defaultDataDir), "data directory of the platform (AGORA_DATA_DIR)")
	f.StringVar(&env, "env", envOr("AGORA_ENV", defaultEnv), "environment mode; only local and development are allowed (AGORA_ENV)")
	f.StringVar(&issuer, "issuer", envOr("AGORA_AUTH_ISSUER", defaultIssuer), "issuer URL written into the token (AGORA_AUTH_ISSUER)")
	f.StringVar(&subject, "subject", "", "subject (sub claim) of the token")
	f.StringArrayVar(&scopes, "scope", nil, "scope to grant; repeat for several")
	f.DurationVar(&ttl, "ttl", time.Hour, "lifetime of the token")
	f.BoolVar(&customer, "customer", false, "a shopper's token: subject "+customerSubject+" with the customer scopes")
	f.BoolVar(&admin, "admin", false, "an operator's token: subject "+adminSubject+" with every scope")
	return cmd
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
