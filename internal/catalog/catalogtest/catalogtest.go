// Package catalogtest is the contract suite of the catalog's repository
// ports: every store (SQL on SQLite and PostgreSQL today, DynamoDB later)
// runs TestRepository to show that it keeps products, categories and their
// events the way the app layer relies on.
package catalogtest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	"github.com/agoracommerce/agora/internal/catalog"
	"github.com/agoracommerce/agora/internal/catalog/app"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Backend is one store under test.
type Backend struct {
	Products   app.Repository
	Categories app.CategoryRepository
	// Outbox returns the envelopes of the events the store has queued for
	// publication so far, oldest first.
	Outbox func(t *testing.T) []*catalogv1.ProductEvent
}

// TestRepository runs the contract suite; open returns a fresh, empty
// backend for each subtest.
func TestRepository(t *testing.T, open func(t *testing.T) Backend) {
	t.Run("create and get", func(t *testing.T) { t.Parallel(); testCreateAndGet(t, open(t)) })
	t.Run("failed creates leave nothing", func(t *testing.T) { t.Parallel(); testFailedCreates(t, open(t)) })
	t.Run("update records events", func(t *testing.T) { t.Parallel(); testUpdate(t, open(t)) })
	t.Run("failed updates leave nothing", func(t *testing.T) { t.Parallel(); testFailedUpdates(t, open(t)) })
	t.Run("concurrent updates lose nothing", func(t *testing.T) { t.Parallel(); testConcurrentUpdates(t, open(t)) })
	t.Run("list filters and pages", func(t *testing.T) { t.Parallel(); testList(t, open(t)) })
	t.Run("categories", func(t *testing.T) { t.Parallel(); testCategories(t, open(t)) })
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func mustID(tb testing.TB) uuid.UUID {
	tb.Helper()
	id, err := uuid.NewV7()
	require.NoError(tb, err)
	return id
}

func mustMoney(tb testing.TB, amount int64, currency string) catalog.Money {
	tb.Helper()
	m, err := catalog.NewMoney(amount, currency)
	require.NoError(tb, err)
	return m
}

func mustCategory(tb testing.TB, b Backend, slug string) catalog.Category {
	tb.Helper()
	c, err := catalog.NewCategory(mustID(tb), slug, "Category "+slug, "", t0)
	require.NoError(tb, err)
	require.NoError(tb, b.Categories.CreateCategory(context.Background(), c))
	return c
}

func details(tb testing.TB, name string, amount int64, category uuid.UUID) catalog.Details {
	tb.Helper()
	return catalog.Details{Name: name, Description: "About " + name, Price: mustMoney(tb, amount, "EUR"), CategoryID: category,
		Attributes: map[string]string{"color": "red"}, ImageURLs: []string{"https://img.example.com/" + name + ".jpg"}}
}

func mustProduct(tb testing.TB, b Backend, sku string, d catalog.Details, status catalog.Status) *catalog.Product {
	tb.Helper()
	p, err := catalog.NewProduct(mustID(tb), sku, d, status, t0)
	require.NoError(tb, err)
	require.NoError(tb, b.Products.Create(context.Background(), p))
	return p
}

// eventKinds names the events of envelopes, with their product's version.
func eventKinds(envs []*catalogv1.ProductEvent) []string {
	out := make([]string, 0, len(envs))
	for _, e := range envs {
		switch ev := e.Event.(type) {
		case *catalogv1.ProductEvent_ProductCreated:
			out = append(out, fmt.Sprintf("created v%d", ev.ProductCreated.Version))
		case *catalogv1.ProductEvent_ProductUpdated:
			out = append(out, fmt.Sprintf("updated v%d", ev.ProductUpdated.Version))
		case *catalogv1.ProductEvent_ProductPriceChanged:
			out = append(out, fmt.Sprintf("price v%d", ev.ProductPriceChanged.Version))
		case *catalogv1.ProductEvent_ProductArchived:
			out = append(out, fmt.Sprintf("archived v%d", ev.ProductArchived.Version))
		default:
			out = append(out, fmt.Sprintf("unknown %T", ev))
		}
	}
	return out
}

func testCreateAndGet(t *testing.T, b Backend) {
	ctx := context.Background()
	cat := mustCategory(t, b, "shirts")
	p := mustProduct(t, b, "SHIRT-1", details(t, "shirt", 1999, cat.ID()), catalog.StatusActive)

	got, err := b.Products.Get(ctx, p.ID())
	require.NoError(t, err)
	if diff := cmp.Diff(p.State(), got.State()); diff != "" {
		t.Fatalf("stored product differs (-want +got):\n%s", diff)
	}
	require.Empty(t, got.Events(), "a loaded product has no new events")

	envs := b.Outbox(t)
	require.Len(t, envs, 1)
	created := envs[0].GetProductCreated()
	require.NotNil(t, created, "the event is ProductCreated")
	require.Equal(t, p.ID().String(), created.ProductId)
	require.Equal(t, "SHIRT-1", created.Sku)
	require.Equal(t, int64(1999), created.Price.GetAmountMinor())
	require.Equal(t, "EUR", created.Price.GetCurrency())
	require.Equal(t, catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE, created.Status)
	require.Equal(t, cat.ID().String(), created.CategoryId)
	require.Equal(t, map[string]string{"color": "red"}, created.Attributes)
	require.Equal(t, int64(1), created.Version)
	require.True(t, created.OccurredAt.AsTime().Equal(t0))

	_, err = b.Products.Get(ctx, mustID(t))
	require.ErrorIs(t, err, catalog.ErrProductNotFound)
}

func testFailedCreates(t *testing.T, b Backend) {
	ctx := context.Background()
	cat := mustCategory(t, b, "shoes")
	mustProduct(t, b, "SHOE-1", details(t, "shoe", 5000, cat.ID()), catalog.StatusDraft)

	dup, err := catalog.NewProduct(mustID(t), "SHOE-1", details(t, "other", 100, cat.ID()), catalog.StatusDraft, t0)
	require.NoError(t, err)
	require.ErrorIs(t, b.Products.Create(ctx, dup), catalog.ErrDuplicateSKU)
	_, err = b.Products.Get(ctx, dup.ID())
	require.ErrorIs(t, err, catalog.ErrProductNotFound)

	orphan, err := catalog.NewProduct(mustID(t), "SHOE-2", details(t, "orphan", 100, mustID(t)), catalog.StatusDraft, t0)
	require.NoError(t, err)
	require.ErrorIs(t, b.Products.Create(ctx, orphan), catalog.ErrCategoryNotFound)
	_, err = b.Products.Get(ctx, orphan.ID())
	require.ErrorIs(t, err, catalog.ErrProductNotFound)

	require.Equal(t, []string{"created v1"}, eventKinds(b.Outbox(t)), "failed creates queue no events")
}

func testUpdate(t *testing.T, b Backend) {
	ctx := context.Background()
	cat := mustCategory(t, b, "hats")
	p := mustProduct(t, b, "HAT-1", details(t, "hat", 1500, cat.ID()), catalog.StatusDraft)

	// Name, status and price change at once: ProductUpdated then
	// ProductPriceChanged, both at version 2.
	var updated *catalog.Product
	require.NoError(t, b.Products.Update(ctx, p.ID(), func(p *catalog.Product) error {
		d := details(t, "fedora", 1700, cat.ID())
		if err := p.Replace(d, catalog.StatusActive, t0.Add(time.Minute)); err != nil {
			return err
		}
		updated = p
		return nil
	}))
	got, err := b.Products.Get(ctx, p.ID())
	require.NoError(t, err)
	if diff := cmp.Diff(updated.State(), got.State()); diff != "" {
		t.Fatalf("stored product differs (-want +got):\n%s", diff)
	}
	require.Equal(t, int64(2), got.Version())

	// Nothing changes: no write, no event.
	require.NoError(t, b.Products.Update(ctx, p.ID(), func(p *catalog.Product) error {
		return p.Replace(details(t, "fedora", 1700, cat.ID()), catalog.StatusActive, t0.Add(2*time.Minute))
	}))
	got, err = b.Products.Get(ctx, p.ID())
	require.NoError(t, err)
	require.Equal(t, int64(2), got.Version())

	require.NoError(t, b.Products.Update(ctx, p.ID(), func(p *catalog.Product) error {
		p.Archive(t0.Add(3 * time.Minute))
		return nil
	}))
	got, err = b.Products.Get(ctx, p.ID())
	require.NoError(t, err)
	require.Equal(t, catalog.StatusArchived, got.Status())

	envs := b.Outbox(t)
	require.Equal(t, []string{"created v1", "updated v2", "price v2", "archived v3"}, eventKinds(envs))
	pc := envs[2].GetProductPriceChanged()
	require.Equal(t, int64(1500), pc.OldPrice.GetAmountMinor())
	require.Equal(t, int64(1700), pc.Price.GetAmountMinor())
	require.Equal(t, "fedora", pc.Name)
	require.Equal(t, catalogv1.ProductStatus_PRODUCT_STATUS_ARCHIVED, envs[3].GetProductArchived().Status)
}

func testFailedUpdates(t *testing.T, b Backend) {
	ctx := context.Background()
	cat := mustCategory(t, b, "bags")
	p := mustProduct(t, b, "BAG-1", details(t, "bag", 3000, cat.ID()), catalog.StatusActive)

	require.ErrorIs(t, b.Products.Update(ctx, mustID(t), func(*catalog.Product) error { return nil }), catalog.ErrProductNotFound)

	refused := errors.New("refused")
	err := b.Products.Update(ctx, p.ID(), func(p *catalog.Product) error {
		if err := p.Replace(details(t, "tote", 1, cat.ID()), catalog.StatusActive, t0); err != nil {
			return err
		}
		return refused // after the change: it must not be stored
	})
	require.ErrorIs(t, err, refused)

	err = b.Products.Update(ctx, p.ID(), func(p *catalog.Product) error {
		return p.Replace(details(t, "tote", 3000, mustID(t)), catalog.StatusActive, t0)
	})
	require.ErrorIs(t, err, catalog.ErrCategoryNotFound)
	require.False(t, fault.IsRetryable(err), "a missing category is permanent")

	got, err := b.Products.Get(ctx, p.ID())
	require.NoError(t, err)
	if diff := cmp.Diff(p.State(), got.State()); diff != "" {
		t.Fatalf("failed updates changed the product (-want +got):\n%s", diff)
	}
	require.Equal(t, []string{"created v1"}, eventKinds(b.Outbox(t)), "failed updates queue no events")
}

func testConcurrentUpdates(t *testing.T, b Backend) {
	ctx := context.Background()
	cat := mustCategory(t, b, "mugs")
	p := mustProduct(t, b, "MUG-1", details(t, "mug", 900, cat.ID()), catalog.StatusActive)

	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- b.Products.Update(ctx, p.ID(), func(p *catalog.Product) error {
				d := p.State().Details
				d.Attributes[fmt.Sprintf("writer-%d", i)] = "was here"
				return p.Replace(d, p.Status(), t0.Add(time.Second))
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got, err := b.Products.Get(ctx, p.ID())
	require.NoError(t, err)
	require.Equal(t, int64(writers+1), got.Version())
	require.Len(t, got.State().Details.Attributes, writers+1, "every writer's attribute survived")

	kinds := eventKinds(b.Outbox(t))
	want := []string{"created v1"}
	for v := 2; v <= writers+1; v++ {
		want = append(want, fmt.Sprintf("updated v%d", v))
	}
	require.Equal(t, want, kinds, "one event per update, versions in order")
}

func testList(t *testing.T, b Backend) {
	ctx := context.Background()
	shirts, shoes := mustCategory(t, b, "list-shirts"), mustCategory(t, b, "list-shoes")
	mk := func(sku, name, desc string, amount int64, currency string, cat catalog.Category, status catalog.Status) *catalog.Product {
		d := catalog.Details{Name: name, Description: desc, Price: mustMoney(t, amount, currency), CategoryID: cat.ID()}
		return mustProduct(t, b, sku, d, status)
	}
	red := mk("L-1", "Red Shirt", "Soft cotton", 1000, "EUR", shirts, catalog.StatusActive)
	blue := mk("L-2", "Blue shirt", "100% LINEN", 2000, "EUR", shirts, catalog.StatusActive)
	boot := mk("L-3", "Boot", "Leather, for rain", 8000, "EUR", shoes, catalog.StatusActive)
	draft := mk("L-4", "Secret shirt", "Not yet", 1500, "EUR", shirts, catalog.StatusDraft)
	usd := mk("L-5", "Sneaker", "Canvas_top", 3000, "USD", shoes, catalog.StatusActive)

	ids := func(page app.Page[*catalog.Product]) []uuid.UUID {
		out := make([]uuid.UUID, 0, len(page.Items))
		for _, p := range page.Items {
			out = append(out, p.ID())
		}
		return out
	}
	ptr := func(v int64) *int64 { return &v }
	tests := []struct {
		name string
		q    app.ProductQuery
		want []*catalog.Product
	}{
		{"everything", app.ProductQuery{}, []*catalog.Product{red, blue, boot, draft, usd}},
		{"active", app.ProductQuery{Status: catalog.StatusActive}, []*catalog.Product{red, blue, boot, usd}},
		{"draft", app.ProductQuery{Status: catalog.StatusDraft}, []*catalog.Product{draft}},
		{"category", app.ProductQuery{CategoryID: shoes.ID()}, []*catalog.Product{boot, usd}},
		{"price range inclusive", app.ProductQuery{MinPrice: ptr(1500), MaxPrice: ptr(3000)}, []*catalog.Product{blue, draft, usd}},
		{"currency", app.ProductQuery{Currency: "USD"}, []*catalog.Product{usd}},
		{"text in name, any case", app.ProductQuery{Text: "SHIRT", Status: catalog.StatusActive}, []*catalog.Product{red, blue}},
		{"text in description", app.ProductQuery{Text: "linen"}, []*catalog.Product{blue}},
		{"percent matches itself", app.ProductQuery{Text: "100%"}, []*catalog.Product{blue}},
		{"percent is no wildcard", app.ProductQuery{Text: "r%n"}, nil},
		{"underscore is no wildcard", app.ProductQuery{Text: "a_v"}, nil},
		{"underscore matches itself", app.ProductQuery{Text: "canvas_"}, []*catalog.Product{usd}},
		{"no match", app.ProductQuery{Text: "velvet"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Limit = 100
			page, err := b.Products.List(ctx, q)
			require.NoError(t, err)
			want := make([]uuid.UUID, 0, len(tt.want))
			for _, p := range tt.want {
				want = append(want, p.ID())
			}
			require.Equal(t, want, ids(page))
			require.Empty(t, page.NextCursor, "one page holds everything")
		})
	}

	// Walk every page of two.
	var (
		walked []uuid.UUID
		cursor string
		pages  int
	)
	for {
		page, err := b.Products.List(ctx, app.ProductQuery{Limit: 2, Cursor: cursor})
		require.NoError(t, err)
		walked = append(walked, ids(page)...)
		pages++
		if page.NextCursor == "" {
			break
		}
		require.Len(t, page.Items, 2)
		cursor = page.NextCursor
		require.Less(t, pages, 10, "pagination terminates")
	}
	require.Equal(t, []uuid.UUID{red.ID(), blue.ID(), boot.ID(), draft.ID(), usd.ID()}, walked)
	require.Equal(t, 3, pages)

	first, err := b.Products.List(ctx, app.ProductQuery{Limit: 1, Status: catalog.StatusActive})
	require.NoError(t, err)
	require.NotEmpty(t, first.NextCursor)
	for _, bad := range []app.ProductQuery{
		{Limit: 1, Status: catalog.StatusDraft, Cursor: first.NextCursor}, // other filters
		{Limit: 1, Cursor: "not a cursor"},
		{Limit: 1, Cursor: "cDE6Og"}, // a cursor of nothing
	} {
		_, err := b.Products.List(ctx, bad)
		require.ErrorIs(t, err, catalog.ErrInvalidCursor, "cursor %q", bad.Cursor)
	}
}

func testCategories(t *testing.T, b Backend) {
	ctx := context.Background()
	slugs := []string{"toys", "books", "garden", "audio", "kitchen"}
	for _, s := range slugs {
		mustCategory(t, b, s)
	}
	dup, err := catalog.NewCategory(mustID(t), "books", "Other books", "", t0)
	require.NoError(t, err)
	require.ErrorIs(t, b.Categories.CreateCategory(ctx, dup), catalog.ErrDuplicateCategory)

	var (
		got    []string
		cursor string
	)
	for range len(slugs) + 1 {
		page, err := b.Categories.ListCategories(ctx, app.CategoryQuery{Limit: 2, Cursor: cursor})
		require.NoError(t, err)
		for _, c := range page.Items {
			got = append(got, c.Slug())
			require.Equal(t, "Category "+c.Slug(), c.Name(), "the duplicate did not overwrite")
			require.True(t, c.CreatedAt().Equal(t0))
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	want := append([]string(nil), slugs...)
	sort.Strings(want)
	require.Equal(t, want, got)

	_, err = b.Categories.ListCategories(ctx, app.CategoryQuery{Limit: 2, Cursor: "%%%"})
	require.ErrorIs(t, err, catalog.ErrInvalidCursor)
}
