package catalog_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/catalog"
)

var (
	t0  = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	cat = uuid.MustParse("0191e4b8-0000-7000-8000-000000000001")
	pid = uuid.MustParse("0191e4b8-0000-7000-8000-0000000000aa")
)

func money(t *testing.T, amount int64, currency string) catalog.Money {
	t.Helper()
	m, err := catalog.NewMoney(amount, currency)
	require.NoError(t, err)
	return m
}

func validDetails(t *testing.T) catalog.Details {
	t.Helper()
	return catalog.Details{Name: "Lamp", Description: "Bright.\nWarm.", Price: money(t, 2500, "EUR"), CategoryID: cat,
		Attributes: map[string]string{"color": "white"}, ImageURLs: []string{"https://img.example.com/lamp.jpg"}}
}

// field returns the field a validation error names, or "" for none.
func field(err error) string {
	var ve *catalog.ValidationError
	if errors.As(err, &ve) {
		return ve.Field
	}
	return ""
}

func TestNewMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		amount   int64
		currency string
		field    string
	}{
		{1, "EUR", ""},
		{9_000_000_000_000, "JPY", ""},
		{0, "EUR", "/amount_minor"},
		{-1, "EUR", "/amount_minor"},
		{1, "eur", "/currency"},
		{1, "EURO", "/currency"},
		{1, "", "/currency"},
		{1, "E1R", "/currency"},
	}
	for _, tt := range tests {
		m, err := catalog.NewMoney(tt.amount, tt.currency)
		require.Equal(t, tt.field, field(err), "%d %q", tt.amount, tt.currency)
		if tt.field == "" {
			require.Equal(t, tt.amount, m.Amount())
			require.Equal(t, tt.currency, m.Currency())
			require.True(t, m.Equal(money(t, tt.amount, tt.currency)))
		} else {
			require.ErrorIs(t, err, catalog.ErrInvalid)
		}
	}
}

func TestNewProductValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sku    string
		status catalog.Status
		change func(*catalog.Details)
		field  string
	}{
		{"valid", "LAMP-1", catalog.StatusDraft, func(*catalog.Details) {}, ""},
		{"active at birth", "LAMP_1.A", catalog.StatusActive, func(*catalog.Details) {}, ""},
		{"archived at birth", "LAMP", catalog.StatusArchived, func(*catalog.Details) {}, "/status"},
		{"empty SKU", "", catalog.StatusDraft, func(*catalog.Details) {}, "/sku"},
		{"lower-case SKU", "lamp", catalog.StatusDraft, func(*catalog.Details) {}, "/sku"},
		{"SKU starting with a dash", "-LAMP", catalog.StatusDraft, func(*catalog.Details) {}, "/sku"},
		{"SKU too long", strings.Repeat("A", 65), catalog.StatusDraft, func(*catalog.Details) {}, "/sku"},
		{"blank name", "L", catalog.StatusDraft, func(d *catalog.Details) { d.Name = " \t" }, "/name"},
		{"name too long", "L", catalog.StatusDraft, func(d *catalog.Details) { d.Name = strings.Repeat("é", 201) }, "/name"},
		{"name of 200 runes", "L", catalog.StatusDraft, func(d *catalog.Details) { d.Name = strings.Repeat("é", 200) }, ""},
		{"control character", "L", catalog.StatusDraft, func(d *catalog.Details) { d.Description = "a\x00b" }, "/description"},
		{"invalid UTF-8", "L", catalog.StatusDraft, func(d *catalog.Details) { d.Name = "\xff" }, "/name"},
		{"no price", "L", catalog.StatusDraft, func(d *catalog.Details) { d.Price = catalog.Money{} }, "/price"},
		{"no category", "L", catalog.StatusDraft, func(d *catalog.Details) { d.CategoryID = uuid.Nil }, "/category_id"},
		{"empty attribute key", "L", catalog.StatusDraft, func(d *catalog.Details) { d.Attributes = map[string]string{"": "x"} }, "/attributes/"},
		{"attribute key escaped", "L", catalog.StatusDraft, func(d *catalog.Details) { d.Attributes = map[string]string{"a/b~c": strings.Repeat("x", 501)} },
			"/attributes/a~1b~0c"},
		{"too many attributes", "L", catalog.StatusDraft, func(d *catalog.Details) {
			d.Attributes = map[string]string{}
			for i := range 51 {
				d.Attributes[strings.Repeat("k", i+1)] = "v"
			}
		}, "/attributes"},
		{"relative image", "L", catalog.StatusDraft, func(d *catalog.Details) { d.ImageURLs = []string{"https://a.example/x", "/x.jpg"} }, "/image_urls/1"},
		{"ftp image", "L", catalog.StatusDraft, func(d *catalog.Details) { d.ImageURLs = []string{"ftp://a.example/x"} }, "/image_urls/0"},
		{"too many images", "L", catalog.StatusDraft, func(d *catalog.Details) { d.ImageURLs = make([]string, 11) }, "/image_urls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := validDetails(t)
			tt.change(&d)
			p, err := catalog.NewProduct(pid, tt.sku, d, tt.status, t0)
			require.Equal(t, tt.field, field(err), "error %v", err)
			if tt.field != "" {
				require.ErrorIs(t, err, catalog.ErrInvalid)
				require.Nil(t, p)
				return
			}
			require.Equal(t, int64(1), p.Version())
			require.Len(t, p.Events(), 1)
		})
	}
}

func TestNewProductRecordsCreation(t *testing.T) {
	t.Parallel()
	d := validDetails(t)
	p, err := catalog.NewProduct(pid, "LAMP", d, catalog.StatusActive, t0)
	require.NoError(t, err)
	d.Attributes["color"] = "changed by the caller"
	st := p.State()
	require.Equal(t, "white", st.Details.Attributes["color"], "the product keeps its own copy")
	require.Equal(t, t0.Truncate(time.Microsecond), st.CreatedAt, "times are kept to the microsecond")
	want := []catalog.Event{catalog.ProductCreated{Product: st, At: st.CreatedAt}}
	if diff := cmp.Diff(want, p.Events()); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
}

func TestReplace(t *testing.T) {
	t.Parallel()
	later := t0.Add(time.Hour).Truncate(time.Microsecond)
	tests := []struct {
		name    string
		from    catalog.Status
		to      catalog.Status
		change  func(*catalog.Details)
		err     error
		version int64
		events  []string
	}{
		{"nothing changes", catalog.StatusActive, catalog.StatusActive, func(*catalog.Details) {}, nil, 1, nil},
		{"name", catalog.StatusActive, catalog.StatusActive, func(d *catalog.Details) { d.Name = "Big lamp" }, nil, 2, []string{"updated"}},
		{"attributes", catalog.StatusDraft, catalog.StatusDraft, func(d *catalog.Details) { d.Attributes = nil }, nil, 2, []string{"updated"}},
		{"price only", catalog.StatusActive, catalog.StatusActive, func(d *catalog.Details) { d.Price = catalog.Money{} }, nil, 2, []string{"price"}},
		{"price and status", catalog.StatusDraft, catalog.StatusActive, func(d *catalog.Details) { d.Price = catalog.Money{} }, nil, 2, []string{"updated", "price"}},
		{"activate", catalog.StatusDraft, catalog.StatusActive, func(*catalog.Details) {}, nil, 2, []string{"updated"}},
		{"back to draft", catalog.StatusActive, catalog.StatusDraft, func(*catalog.Details) {}, catalog.ErrInvalidTransition, 1, nil},
		{"archive by replace", catalog.StatusActive, catalog.StatusArchived, func(*catalog.Details) {}, catalog.ErrInvalidTransition, 1, nil},
		{"archived is final", catalog.StatusArchived, catalog.StatusArchived, func(d *catalog.Details) { d.Name = "x" }, catalog.ErrArchived, 2, nil},
		{"invalid details", catalog.StatusActive, catalog.StatusActive, func(d *catalog.Details) { d.Name = "" }, catalog.ErrInvalid, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := tt.from
			if start == catalog.StatusArchived {
				start = catalog.StatusActive
			}
			created, err := catalog.NewProduct(pid, "LAMP", validDetails(t), start, t0)
			require.NoError(t, err)
			if tt.from == catalog.StatusArchived {
				require.True(t, created.Archive(t0))
			}
			// Work on the stored form, as repositories do: no events yet.
			p, err := catalog.RestoreProduct(created.State())
			require.NoError(t, err)
			require.Empty(t, p.Events())

			d := validDetails(t)
			tt.change(&d)
			if d.Price.IsZero() {
				d.Price = money(t, 1999, "EUR")
			}
			err = p.Replace(d, tt.to, later)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tt.version, p.Version())
			var kinds []string
			for _, ev := range p.Events() {
				require.Equal(t, pid, ev.ProductID())
				require.Equal(t, later, ev.OccurredAt())
				switch ev := ev.(type) {
				case catalog.ProductUpdated:
					kinds = append(kinds, "updated")
					require.Equal(t, p.State(), ev.Product)
				case catalog.ProductPriceChanged:
					kinds = append(kinds, "price")
					require.Equal(t, int64(2500), ev.OldPrice.Amount())
					require.Equal(t, int64(1999), ev.Product.Details.Price.Amount())
				default:
					t.Fatalf("unexpected %T", ev)
				}
			}
			require.Equal(t, tt.events, kinds)
		})
	}
}

func TestArchive(t *testing.T) {
	t.Parallel()
	for _, from := range []catalog.Status{catalog.StatusDraft, catalog.StatusActive} {
		p, err := catalog.NewProduct(pid, "LAMP", validDetails(t), from, t0)
		require.NoError(t, err)
		require.True(t, p.Archive(t0.Add(time.Minute)), "from %s", from)
		require.Equal(t, catalog.StatusArchived, p.Status())
		require.Equal(t, int64(2), p.Version())
		require.False(t, p.Archive(t0.Add(2*time.Minute)), "archiving again changes nothing")
		require.Equal(t, int64(2), p.Version())
		evs := p.Events()
		require.Len(t, evs, 2)
		archived, ok := evs[1].(catalog.ProductArchived)
		require.True(t, ok)
		require.Equal(t, catalog.StatusArchived, archived.Product.Status)
	}
}

func TestRestoreProductRejectsBadState(t *testing.T) {
	t.Parallel()
	p, err := catalog.NewProduct(pid, "LAMP", validDetails(t), catalog.StatusDraft, t0)
	require.NoError(t, err)
	for name, mutate := range map[string]func(*catalog.ProductState){
		"no version": func(s *catalog.ProductState) { s.Version = 0 },
		"no ID":      func(s *catalog.ProductState) { s.ID = uuid.Nil },
		"bad status": func(s *catalog.ProductState) { s.Status = "deleted" },
		"bad SKU":    func(s *catalog.ProductState) { s.SKU = "x y" },
		"no price":   func(s *catalog.ProductState) { s.Details.Price = catalog.Money{} },
	} {
		st := p.State()
		mutate(&st)
		_, err := catalog.RestoreProduct(st)
		require.ErrorIs(t, err, catalog.ErrInvalid, name)
	}
}

func TestNewCategory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		slug, name, field string
	}{
		{"t-shirts", "T-shirts", ""},
		{"a1", "A", ""},
		{"T-shirts", "x", "/slug"},
		{"t--shirts", "x", "/slug"},
		{"-t", "x", "/slug"},
		{"", "x", "/slug"},
		{strings.Repeat("a", 65), "x", "/slug"},
		{"ok", "", "/name"},
		{"ok", strings.Repeat("n", 101), "/name"},
	}
	for _, tt := range tests {
		c, err := catalog.NewCategory(cat, tt.slug, tt.name, "", t0)
		require.Equal(t, tt.field, field(err), "%q %q", tt.slug, tt.name)
		if tt.field == "" {
			require.Equal(t, tt.slug, c.Slug())
			require.Equal(t, t0.Truncate(time.Microsecond), c.CreatedAt())
		}
	}
	_, err := catalog.NewCategory(uuid.Nil, "ok", "ok", "", t0)
	require.ErrorIs(t, err, catalog.ErrInvalid)
}
