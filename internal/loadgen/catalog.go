package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/google/uuid"

	catalogapi "github.com/agoracommerce/agora/gen/openapi/catalog"
)

// discoveryPage is the page size of catalog discovery (the API's maximum).
const discoveryPage = 100

// product is what a shopper knows of a product.
type product struct {
	id       uuid.UUID
	name     string
	currency string
	category uuid.UUID
	words    []string
}

func productOf(p catalogapi.Product) product {
	return product{id: p.Id, name: p.Name, currency: p.Price.Currency, category: p.CategoryId, words: nameWords(p.Name)}
}

// catalog is what the run learned of the shop before it starts: read-only
// once built, shared by every shopper.
type catalog struct {
	products   []product
	byCurrency map[string][]product
	categories []uuid.UUID
	words      []string
}

func newCatalog(items []product) *catalog {
	c := &catalog{products: items, byCurrency: map[string][]product{}}
	seenCat, seenWord := map[uuid.UUID]bool{}, map[string]bool{}
	for _, p := range items {
		c.byCurrency[p.currency] = append(c.byCurrency[p.currency], p)
		if p.category != uuid.Nil && !seenCat[p.category] {
			seenCat[p.category] = true
			c.categories = append(c.categories, p.category)
		}
		for _, w := range p.words {
			if !seenWord[w] {
				seenWord[w] = true
				c.words = append(c.words, w)
			}
		}
	}
	return c
}

// discover pages through the active products, up to limit of them.
func discover(ctx context.Context, a *api, base string, limit int) (*catalog, error) {
	var items []product
	cursor := ""
	for len(items) < limit {
		q := url.Values{"limit": {strconv.Itoa(min(discoveryPage, limit-len(items)))}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page catalogapi.ProductPage
		_, err := a.send(ctx, call{op: opSetup, method: http.MethodGet, path: "/v1/products", query: q, ok: []int{http.StatusOK}, out: &page})
		if err != nil {
			if ce := (*callError)(nil); errors.As(err, &ce) && ce.status == http.StatusNotFound {
				return nil, fmt.Errorf("loadgen: %s serves no catalog (GET /v1/products answered 404): is it an Agora gateway?", base)
			}
			return nil, fmt.Errorf("loadgen: read the catalog at %s: %w", base, err)
		}
		for _, p := range page.Items {
			if p.Status == catalogapi.ProductStatusActive {
				items = append(items, productOf(p))
			}
		}
		if page.NextCursor == nil || *page.NextCursor == "" || len(page.Items) == 0 {
			break
		}
		cursor = *page.NextCursor
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("loadgen: the catalog at %s has no active products, so there is nothing to shop for: create and activate products first", base)
	}
	return newCatalog(items), nil
}

// checkToken reads the first shopper's carts once, so that a token the
// platform refuses stops the run before it starts.
func checkToken(ctx context.Context, a *api, tokens TokenSource, base string) error {
	tok, err := tokens.Token(ctx, 0)
	if err != nil {
		return fmt.Errorf("loadgen: shopper token: %w", err)
	}
	_, err = a.send(ctx, call{op: opSetup, method: http.MethodGet, path: "/v1/carts", query: url.Values{"limit": {"1"}}, token: tok, ok: []int{http.StatusOK}})
	var ce *callError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce) && (ce.status == http.StatusUnauthorized || ce.status == http.StatusForbidden):
		return fmt.Errorf("loadgen: %s refuses the shoppers' token (%w): check that it trusts the issuer the token comes from and grants the customer scopes", base, err)
	default:
		return fmt.Errorf("loadgen: check the shoppers' token against %s: %w", base, err)
	}
}

// nameWords returns the searchable words of a product name: lower-case
// runs of letters and digits of at least three characters.
func nameWords(name string) []string {
	fields := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	out := fields[:0]
	for _, f := range fields {
		if len([]rune(f)) >= 3 && len(f) <= 100 && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}
