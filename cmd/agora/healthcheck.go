package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

// newHealthcheckCmd checks a service running in the same container: it is
// the container image's HEALTHCHECK, which cannot use curl in a distroless
// image.
func newHealthcheckCmd() *cobra.Command {
	var port int
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the local service answers /readyz with 200, 1 otherwise",
		Long: `Ask the service in this container (http://127.0.0.1:<port>/readyz) whether
it is ready. The port is --port, else $PORT, else 8080.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("port") {
				if v, ok := os.LookupEnv("PORT"); ok && v != "" {
					p, err := strconv.Atoi(v)
					if err != nil {
						return fmt.Errorf("PORT: %q is not a port number", v)
					}
					port = p
				}
			}
			if port < 1 || port > 65535 {
				return fmt.Errorf("port %d is out of range", port)
			}
			return healthcheck(cmd.Context(), "http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(port))+"/readyz", timeout)
		},
	}
	cmd.Flags().IntVar(&port, "port", 8080, "the service's HTTP port")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	return cmd
}

func healthcheck(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", url, resp.StatusCode)
	}
	return nil
}
