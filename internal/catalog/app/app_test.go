package app_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/catalog/app"
)

// The use cases run against the real SQL store in the httpapi component
// tests; here only the constructor's checks.
func TestNewRequiresRepositories(t *testing.T) {
	t.Parallel()
	_, err := app.New(app.Config{})
	require.ErrorContains(t, err, "Config.Products and Config.Categories are required")
}
