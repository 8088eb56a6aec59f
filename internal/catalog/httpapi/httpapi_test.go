package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	catalogapi "github.com/agoracommerce/agora/gen/openapi/catalog"
	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	"github.com/agoracommerce/agora/internal/catalog/httpapi"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

func (s *service) mustCategory(t *testing.T, slug string) string {
	t.Helper()
	res := s.do(t, http.MethodPost, "/v1/categories", fmt.Sprintf(`{"slug":%q,"name":"Cat %s"}`, slug, slug), "Authorization", s.admin(t))
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var c catalogapi.Category
	res.decode(t, &c)
	return c.Id.String()
}

func productBody(sku, name string, amount int64, category, status string) string {
	return fmt.Sprintf(`{"sku":%q,"name":%q,"description":"Made for testing","price":{"amount_minor":%d,"currency":"EUR"},`+
		`"category_id":%q,"attributes":{"color":"red"},"image_urls":["https://img.example.com/%s.jpg"],"status":%q}`,
		sku, name, amount, category, sku, status)
}

func (s *service) mustProduct(t *testing.T, sku, name string, amount int64, category, status string) catalogapi.Product {
	t.Helper()
	res := s.do(t, http.MethodPost, "/v1/products", productBody(sku, name, amount, category, status), "Authorization", s.admin(t))
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var p catalogapi.Product
	res.decode(t, &p)
	return p
}

func replaceBody(name string, amount int64, category, status string) string {
	return fmt.Sprintf(`{"name":%q,"price":{"amount_minor":%d,"currency":"EUR"},"category_id":%q,"status":%q}`, name, amount, category, status)
}

func TestCategories(t *testing.T) {
	t.Parallel()
	s := newService(t)
	admin, customer := s.admin(t), s.customer(t)
	for _, slug := range []string{"shoes", "hats", "bags"} {
		s.mustCategory(t, slug)
	}

	tests := []struct {
		name, body, token string
		status            int
		typ, pointer      string
	}{
		{"duplicate slug", `{"slug":"hats","name":"Other hats"}`, admin, http.StatusConflict, httpapi.TypeDuplicateCategory, ""},
		{"bad slug", `{"slug":"Hats!","name":"x"}`, admin, http.StatusBadRequest, problem.TypeValidation, "/slug"},
		{"blank name", `{"slug":"blank","name":"   "}`, admin, http.StatusBadRequest, problem.TypeValidation, "/name"},
		{"unknown member", `{"slug":"x","name":"x","parent":"y"}`, admin, http.StatusBadRequest, problem.TypeValidation, ""},
		{"no token", `{"slug":"x","name":"x"}`, "", http.StatusUnauthorized, problem.TypeUnauthorized, ""},
		{"customer", `{"slug":"x","name":"x"}`, customer, http.StatusForbidden, auth.TypeInsufficientScope, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.do(t, http.MethodPost, "/v1/categories", tt.body, "Authorization", tt.token)
			require.Equal(t, tt.status, res.status, "%s", res.body)
			require.Equal(t, tt.typ, res.problem.Type)
			if tt.pointer != "" {
				require.Len(t, res.problem.Errors, 1)
				require.Equal(t, tt.pointer, res.problem.Errors[0].Pointer)
			}
		})
	}

	// Anyone may list, a page at a time, by slug.
	res := s.do(t, http.MethodGet, "/v1/categories?limit=2", "")
	require.Equal(t, http.StatusOK, res.status)
	var page catalogapi.CategoryPage
	res.decode(t, &page)
	require.Equal(t, []string{"bags", "hats"}, slugs(page))
	require.NotNil(t, page.NextCursor)
	res = s.do(t, http.MethodGet, "/v1/categories?limit=2&cursor="+url.QueryEscape(*page.NextCursor), "", "Authorization", customer)
	require.Equal(t, http.StatusOK, res.status)
	page = catalogapi.CategoryPage{}
	res.decode(t, &page)
	require.Equal(t, []string{"shoes"}, slugs(page))
	require.Nil(t, page.NextCursor)

	res = s.do(t, http.MethodGet, "/v1/categories?cursor=bogus", "")
	require.Equal(t, http.StatusBadRequest, res.status)
	require.Equal(t, problem.TypeValidation, res.problem.Type)
	require.Equal(t, "cursor", res.problem.Errors[0].Parameter)
	res = s.do(t, http.MethodGet, "/v1/categories?limit=0", "")
	require.Equal(t, http.StatusBadRequest, res.status)
	res = s.do(t, http.MethodGet, "/v1/categories", "", "Authorization", "Bearer not-a-token")
	require.Equal(t, http.StatusUnauthorized, res.status, "a token that is sent must be valid")
}

func slugs(p catalogapi.CategoryPage) []string {
	out := []string{}
	for _, c := range p.Items {
		out = append(out, c.Slug)
	}
	return out
}

func TestCreateProduct(t *testing.T) {
	t.Parallel()
	s := newService(t)
	admin := s.admin(t)
	cat := s.mustCategory(t, "shirts")

	res := s.do(t, http.MethodPost, "/v1/products", productBody("SHIRT-1", "Shirt", 1999, cat, "active"), "Authorization", admin)
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var p catalogapi.Product
	res.decode(t, &p)
	require.Equal(t, `"1"`, res.header.Get("ETag"))
	require.Equal(t, "/v1/products/"+p.Id.String(), res.header.Get("Location"))
	require.Equal(t, catalogapi.ProductStatus("active"), p.Status)
	require.Equal(t, catalogapi.Money{AmountMinor: 1999, Currency: "EUR"}, p.Price)
	require.Equal(t, catalogapi.Attributes{"color": "red"}, p.Attributes)
	require.Equal(t, int64(1), p.Version)

	// Without a status the product is a draft, with empty collections.
	res = s.do(t, http.MethodPost, "/v1/products",
		fmt.Sprintf(`{"sku":"PLAIN","name":"Plain","price":{"amount_minor":1,"currency":"JPY"},"category_id":%q}`, cat), "Authorization", admin)
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var plain catalogapi.Product
	res.decode(t, &plain)
	require.Equal(t, catalogapi.ProductStatus("draft"), plain.Status)
	require.Empty(t, plain.Attributes)
	require.NotNil(t, plain.ImageUrls)

	tests := []struct {
		name, body, token string
		status            int
		typ, pointer      string
	}{
		{"duplicate SKU", productBody("SHIRT-1", "Again", 100, cat, "draft"), admin, http.StatusConflict, httpapi.TypeDuplicateSKU, ""},
		{"unknown category", productBody("SHIRT-2", "Lost", 100, "0191e4b8-0000-7000-8000-000000000000", "draft"), admin,
			http.StatusUnprocessableEntity, httpapi.TypeUnknownCategory, ""},
		{"lower-case currency", `{"sku":"X","name":"X","price":{"amount_minor":1,"currency":"eur"},"category_id":"` + cat + `"}`, admin,
			http.StatusBadRequest, problem.TypeValidation, "/price/currency"},
		{"zero price", `{"sku":"X","name":"X","price":{"amount_minor":0,"currency":"EUR"},"category_id":"` + cat + `"}`, admin,
			http.StatusBadRequest, problem.TypeValidation, "/price/amount_minor"},
		{"lower-case SKU", productBody("shirt-3", "X", 100, cat, "draft"), admin, http.StatusBadRequest, problem.TypeValidation, "/sku"},
		{"blank name", productBody("SHIRT-3", "  ", 100, cat, "draft"), admin, http.StatusBadRequest, problem.TypeValidation, "/name"},
		{"empty attribute key", `{"sku":"X","name":"X","price":{"amount_minor":1,"currency":"EUR"},"category_id":"` + cat + `","attributes":{"":"v"}}`,
			admin, http.StatusBadRequest, problem.TypeValidation, "/attributes/"},
		{"archived at birth", productBody("SHIRT-3", "X", 100, cat, "archived"), admin, http.StatusBadRequest, problem.TypeValidation, "/status"},
		{"missing price", `{"sku":"X","name":"X","category_id":"` + cat + `"}`, admin, http.StatusBadRequest, problem.TypeValidation, ""},
		{"malformed JSON", `{"sku":`, admin, http.StatusBadRequest, problem.TypeMalformedBody, ""},
		{"no token", productBody("SHIRT-3", "X", 100, cat, "draft"), "", http.StatusUnauthorized, problem.TypeUnauthorized, ""},
		{"customer", productBody("SHIRT-3", "X", 100, cat, "draft"), s.customer(t), http.StatusForbidden, auth.TypeInsufficientScope, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.do(t, http.MethodPost, "/v1/products", tt.body, "Authorization", tt.token)
			require.Equal(t, tt.status, res.status, "%s", res.body)
			require.Equal(t, tt.typ, res.problem.Type)
			if tt.pointer != "" {
				require.NotEmpty(t, res.problem.Errors)
				require.Equal(t, tt.pointer, res.problem.Errors[0].Pointer, "%s", res.body)
			}
		})
	}

	// An Idempotency-Key makes a retry return the first response.
	body := productBody("RETRY-1", "Retried", 500, cat, "draft")
	first := s.do(t, http.MethodPost, "/v1/products", body, "Authorization", admin, idempotency.KeyHeader, "key-1")
	require.Equal(t, http.StatusCreated, first.status)
	again := s.do(t, http.MethodPost, "/v1/products", body, "Authorization", admin, idempotency.KeyHeader, "key-1")
	require.Equal(t, http.StatusCreated, again.status)
	require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	require.JSONEq(t, string(first.body), string(again.body))

	require.Len(t, s.outboxEvents(t), 3, "one ProductCreated per product, none for refusals or replays")
}

func TestReadProducts(t *testing.T) {
	t.Parallel()
	s := newService(t)
	admin, customer := s.admin(t), s.customer(t)
	shirts, shoes := s.mustCategory(t, "shirts"), s.mustCategory(t, "shoes")
	red := s.mustProduct(t, "RED", "Red Shirt", 1000, shirts, "active")
	blue := s.mustProduct(t, "BLUE", "Blue shirt", 2000, shirts, "active")
	s.mustProduct(t, "BOOT", "Boot", 8000, shoes, "active")
	draft := s.mustProduct(t, "DRAFT", "Secret shirt", 1500, shirts, "draft")

	list := func(t *testing.T, query, token string) []string {
		t.Helper()
		res := s.do(t, http.MethodGet, "/v1/products"+query, "", "Authorization", token)
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var page catalogapi.ProductPage
		res.decode(t, &page)
		out := []string{}
		for _, p := range page.Items {
			out = append(out, p.Sku)
		}
		return out
	}
	require.Equal(t, []string{"RED", "BLUE", "BOOT"}, list(t, "", ""), "anonymous shoppers see active products")
	require.Equal(t, []string{"RED", "BLUE", "BOOT"}, list(t, "", customer))
	require.Equal(t, []string{"RED", "BLUE", "BOOT"}, list(t, "?status=active", customer))
	require.Equal(t, []string{"DRAFT"}, list(t, "?status=draft", admin), "staff may list drafts")
	require.Equal(t, []string{"RED", "BLUE"}, list(t, "?q=SHIRT", ""))
	require.Equal(t, []string{"BOOT"}, list(t, "?category_id="+shoes, ""))
	require.Equal(t, []string{"BLUE", "BOOT"}, list(t, "?min_price=2000&max_price=8000", ""))
	require.Equal(t, []string{}, list(t, "?currency=USD", ""))

	// Pages of one.
	res := s.do(t, http.MethodGet, "/v1/products?limit=2", "")
	var page catalogapi.ProductPage
	res.decode(t, &page)
	require.Len(t, page.Items, 2)
	require.NotNil(t, page.NextCursor)
	require.Equal(t, []string{"BOOT"}, list(t, "?limit=2&cursor="+url.QueryEscape(*page.NextCursor), ""))

	refusals := []struct {
		name, query, token string
		status             int
		typ, parameter     string
	}{
		{"drafts, anonymous", "?status=draft", "", http.StatusUnauthorized, problem.TypeUnauthorized, ""},
		{"archived, customer", "?status=archived", customer, http.StatusForbidden, httpapi.TypeRestrictedListing, ""},
		{"bad status", "?status=deleted", "", http.StatusBadRequest, problem.TypeValidation, "status"},
		{"limit too large", "?limit=101", "", http.StatusBadRequest, problem.TypeValidation, "limit"},
		{"bad category", "?category_id=shoes", "", http.StatusBadRequest, problem.TypeValidation, "category_id"},
		{"empty price range", "?min_price=10&max_price=5", "", http.StatusBadRequest, problem.TypeValidation, "max_price"},
		{"cursor of other filters", "?status=active&cursor=" + url.QueryEscape(*page.NextCursor) + "&q=x", "", http.StatusBadRequest, problem.TypeValidation, "cursor"},
		{"invalid token", "", "Bearer nope", http.StatusUnauthorized, problem.TypeUnauthorized, ""},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			res := s.do(t, http.MethodGet, "/v1/products"+tt.query, "", "Authorization", tt.token)
			require.Equal(t, tt.status, res.status, "%s", res.body)
			require.Equal(t, tt.typ, res.problem.Type)
			if tt.status == http.StatusUnauthorized {
				require.NotEmpty(t, res.header.Get("WWW-Authenticate"))
			}
			if tt.parameter != "" {
				require.NotEmpty(t, res.problem.Errors)
				require.Equal(t, tt.parameter, res.problem.Errors[0].Parameter, "%s", res.body)
			}
		})
	}

	// One product, with its ETag and conditional GET.
	res = s.do(t, http.MethodGet, "/v1/products/"+red.Id.String(), "")
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, `"1"`, res.header.Get("ETag"))
	var got catalogapi.Product
	res.decode(t, &got)
	require.Equal(t, red, got)
	res = s.do(t, http.MethodGet, "/v1/products/"+red.Id.String(), "", "If-None-Match", `"1"`)
	require.Equal(t, http.StatusNotModified, res.status)
	require.Equal(t, `"1"`, res.header.Get("ETag"))
	require.Empty(t, res.body)
	require.Equal(t, http.StatusOK, s.do(t, http.MethodGet, "/v1/products/"+blue.Id.String(), "", "If-None-Match", `"7"`).status)

	// Drafts are hidden from shoppers, not from staff.
	require.Equal(t, http.StatusOK, s.do(t, http.MethodGet, "/v1/products/"+draft.Id.String(), "", "Authorization", admin).status)
	for _, token := range []string{"", customer} {
		res = s.do(t, http.MethodGet, "/v1/products/"+draft.Id.String(), "", "Authorization", token)
		require.Equal(t, http.StatusNotFound, res.status)
		require.Equal(t, httpapi.TypeProductNotFound, res.problem.Type)
	}
	res = s.do(t, http.MethodGet, "/v1/products/0191e4b8-0000-7000-8000-000000000000", "")
	require.Equal(t, http.StatusNotFound, res.status)
	require.Equal(t, httpapi.TypeProductNotFound, res.problem.Type)
	res = s.do(t, http.MethodGet, "/v1/products/not-a-uuid", "")
	require.Equal(t, http.StatusBadRequest, res.status)
	require.Equal(t, problem.TypeValidation, res.problem.Type)
}

func TestReplaceAndArchiveProduct(t *testing.T) {
	t.Parallel()
	s := newService(t)
	admin := s.admin(t)
	cat := s.mustCategory(t, "lamps")
	p := s.mustProduct(t, "LAMP", "Lamp", 4000, cat, "draft")
	path := "/v1/products/" + p.Id.String()

	// Draft to active with a new price: version 2.
	res := s.do(t, http.MethodPut, path, replaceBody("Desk lamp", 3500, cat, "active"), "Authorization", admin, "If-Match", `"1"`)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Equal(t, `"2"`, res.header.Get("ETag"))
	var got catalogapi.Product
	res.decode(t, &got)
	require.Equal(t, "Desk lamp", got.Name)
	require.Equal(t, catalogapi.ProductStatus("active"), got.Status)
	require.Equal(t, int64(3500), got.Price.AmountMinor)
	require.Empty(t, got.Attributes, "PUT replaces: omitted attributes are cleared")
	require.Equal(t, "LAMP", got.Sku)

	// The same replacement again changes nothing.
	res = s.do(t, http.MethodPut, path, replaceBody("Desk lamp", 3500, cat, "active"), "Authorization", admin, "If-Match", `"2"`)
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, `"2"`, res.header.Get("ETag"))

	refusals := []struct {
		name, path, body string
		headers          []string
		status           int
		typ, pointer     string
	}{
		{"no If-Match", path, replaceBody("x", 1, cat, "active"), nil, http.StatusPreconditionRequired, problem.TypePreconditionRequired, ""},
		{"stale If-Match", path, replaceBody("x", 1, cat, "active"), []string{"If-Match", `"1"`}, http.StatusPreconditionFailed, problem.TypePreconditionFailed, ""},
		{"weak If-Match", path, replaceBody("x", 1, cat, "active"), []string{"If-Match", `W/"2"`}, http.StatusPreconditionFailed, problem.TypePreconditionFailed, ""},
		{"back to draft", path, replaceBody("x", 1, cat, "draft"), []string{"If-Match", `"2"`}, http.StatusConflict, httpapi.TypeInvalidTransition, ""},
		{"unknown category", path, replaceBody("x", 1, "0191e4b8-0000-7000-8000-000000000000", "active"), []string{"If-Match", `"2"`},
			http.StatusUnprocessableEntity, httpapi.TypeUnknownCategory, ""},
		{"archive by PUT", path, replaceBody("x", 1, cat, "archived"), []string{"If-Match", `"2"`}, http.StatusBadRequest, problem.TypeValidation, ""},
		{"bad price", path, `{"name":"x","price":{"amount_minor":-5,"currency":"EUR"},"category_id":"` + cat + `","status":"active"}`,
			[]string{"If-Match", `"2"`}, http.StatusBadRequest, problem.TypeValidation, "/price/amount_minor"},
		{"SKU is not replaceable", path, `{"sku":"NEW","name":"x","price":{"amount_minor":5,"currency":"EUR"},"category_id":"` + cat + `","status":"active"}`,
			[]string{"If-Match", `"2"`}, http.StatusBadRequest, problem.TypeValidation, ""},
		{"unknown product", "/v1/products/0191e4b8-0000-7000-8000-000000000000", replaceBody("x", 1, cat, "active"), []string{"If-Match", `"1"`},
			http.StatusNotFound, httpapi.TypeProductNotFound, ""},
		{"customer", path, replaceBody("x", 1, cat, "active"), []string{"If-Match", `"2"`, "Authorization", s.customer(t)},
			http.StatusForbidden, auth.TypeInsufficientScope, ""},
		{"no token", path, replaceBody("x", 1, cat, "active"), []string{"If-Match", `"2"`, "Authorization", ""},
			http.StatusUnauthorized, problem.TypeUnauthorized, ""},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			headers := tt.headers // cases that name their own Authorization
			if len(headers) < 4 {
				headers = append([]string{"Authorization", admin}, tt.headers...)
			}
			res := s.do(t, http.MethodPut, tt.path, tt.body, headers...)
			require.Equal(t, tt.status, res.status, "%s", res.body)
			require.Equal(t, tt.typ, res.problem.Type)
			if tt.pointer != "" {
				require.NotEmpty(t, res.problem.Errors)
				require.Equal(t, tt.pointer, res.problem.Errors[0].Pointer, "%s", res.body)
			}
		})
	}

	// Archive: a stale If-Match is refused; then archived, and again
	// without change.
	res = s.do(t, http.MethodPost, path+"/archive", "", "Authorization", admin, "If-Match", `"1"`)
	require.Equal(t, http.StatusPreconditionFailed, res.status)
	for range 2 {
		res = s.do(t, http.MethodPost, path+"/archive", "", "Authorization", admin)
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Equal(t, `"3"`, res.header.Get("ETag"))
		got = catalogapi.Product{}
		res.decode(t, &got)
		require.Equal(t, catalogapi.ProductStatus("archived"), got.Status)
	}
	res = s.do(t, http.MethodPut, path, replaceBody("Desk lamp", 3500, cat, "active"), "Authorization", admin, "If-Match", `"3"`)
	require.Equal(t, http.StatusConflict, res.status)
	require.Equal(t, httpapi.TypeProductArchived, res.problem.Type)
	require.Equal(t, http.StatusOK, s.do(t, http.MethodGet, path, "").status, "archived products stay readable")
	require.Equal(t, http.StatusNotFound, s.do(t, http.MethodPost, "/v1/products/0191e4b8-0000-7000-8000-000000000000/archive", "", "Authorization", admin).status)
	require.Equal(t, http.StatusUnauthorized, s.do(t, http.MethodPost, path+"/archive", "").status)
	require.Equal(t, http.StatusForbidden, s.do(t, http.MethodPost, path+"/archive", "", "Authorization", s.customer(t)).status)

	// The outbox holds the product's life, once per change.
	var kinds []string
	for _, env := range s.outboxEvents(t) {
		switch ev := env.Event.(type) {
		case *catalogv1.ProductEvent_ProductCreated:
			kinds = append(kinds, fmt.Sprintf("created v%d %s", ev.ProductCreated.Version, ev.ProductCreated.Status))
		case *catalogv1.ProductEvent_ProductUpdated:
			kinds = append(kinds, fmt.Sprintf("updated v%d %s", ev.ProductUpdated.Version, ev.ProductUpdated.Status))
		case *catalogv1.ProductEvent_ProductPriceChanged:
			kinds = append(kinds, fmt.Sprintf("price v%d %d->%d", ev.ProductPriceChanged.Version,
				ev.ProductPriceChanged.OldPrice.GetAmountMinor(), ev.ProductPriceChanged.Price.GetAmountMinor()))
		case *catalogv1.ProductEvent_ProductArchived:
			kinds = append(kinds, fmt.Sprintf("archived v%d %s", ev.ProductArchived.Version, ev.ProductArchived.Status))
		}
	}
	require.Equal(t, []string{
		"created v1 PRODUCT_STATUS_DRAFT",
		"updated v2 PRODUCT_STATUS_ACTIVE",
		"price v2 4000->3500",
		"archived v3 PRODUCT_STATUS_ARCHIVED",
	}, kinds)
}
