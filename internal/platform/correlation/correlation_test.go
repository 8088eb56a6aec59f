package correlation_test

import (
	"context"
	"strings"
	"testing"

	"github.com/agoracommerce/agora/internal/platform/correlation"
)

func TestEnsureKeepsOrAdds(t *testing.T) {
	t.Parallel()
	ctx, id := correlation.Ensure(context.Background())
	if id == "" || correlation.ID(ctx) != id {
		t.Fatalf("Ensure did not add an ID: %q", id)
	}
	again, same := correlation.Ensure(ctx)
	if same != id || correlation.ID(again) != id {
		t.Fatalf("Ensure replaced %q with %q", id, same)
	}
	if correlation.ID(context.Background()) != "" {
		t.Fatal("a bare context has no correlation ID")
	}
}

func TestValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   string
		want bool
	}{
		{"abc-123", true},
		{correlation.New(), true},
		{"", false},
		{"has space", false},
		{"tab\there", false},
		{"nl\n", false},
		{"é", false},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
	}
	for _, tc := range tests {
		if got := correlation.Valid(tc.id); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}
