// Package httpapi serves the catalog's HTTP API (api/openapi/catalog.v1.yaml)
// through the strict server generated from it: it turns requests into the
// app's use cases, products into their JSON representation with an ETag
// (the product's version), and errors into problems in one place
// (errors.go). Shoppers, anonymous or not, see active and archived
// products; callers holding the catalog:write scope are staff and also see
// drafts.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	catalogapi "github.com/agoracommerce/agora/gen/openapi/catalog"
	"github.com/agoracommerce/agora/internal/catalog"
	"github.com/agoracommerce/agora/internal/catalog/app"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/chassis"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// BearerScheme is the spec's security scheme for bearer tokens, for
// chassis.Config.BearerSchemes.
const BearerScheme = "bearerAuth"

// API implements the generated strict server interface over the app.
type API struct {
	svc *app.Service
}

var _ catalogapi.StrictServerInterface = (*API)(nil)

// New returns the API over svc.
func New(svc *app.Service) (*API, error) {
	if svc == nil {
		return nil, errors.New("catalog httpapi: a service is required")
	}
	return &API{svc: svc}, nil
}

// Document returns the catalog's OpenAPI document, embedded at generation
// time, for httpserver.Config.Document.
func Document() (*openapi3.T, error) {
	doc, err := catalogapi.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("catalog httpapi: spec: %w", err)
	}
	return doc, nil
}

// Mount routes the API's operations on srv, a server built over
// Document with Problems.
func (a *API) Mount(srv *httpserver.Server) {
	strict := catalogapi.NewStrictHandlerWithOptions(a, []catalogapi.StrictMiddlewareFunc{mapErrors},
		catalogapi.StrictHTTPServerOptions{
			RequestErrorHandlerFunc:  srv.RequestErrorHandler,
			ResponseErrorHandlerFunc: srv.ResponseErrorHandler,
		})
	catalogapi.HandlerWithOptions(strict, catalogapi.ChiServerOptions{BaseRouter: srv.Router(), ErrorHandlerFunc: srv.RequestErrorHandler})
}

// NewHTTP assembles the catalog's HTTP edge: it sets cfg's document, problem
// mapper and bearer scheme, builds the server with chassis.NewHTTP and
// mounts the API on it. deps needs a Verifier (writes are secured) and an
// Idempotency store (product and category creation take keys).
func NewHTTP(cfg chassis.Config, deps chassis.Deps, svc *app.Service) (*httpserver.Server, error) {
	a, err := New(svc)
	if err != nil {
		return nil, err
	}
	if cfg.HTTP.Spec == nil && cfg.HTTP.Document == nil {
		if cfg.HTTP.Document, err = Document(); err != nil {
			return nil, err
		}
	}
	if cfg.HTTP.Problems == nil {
		if cfg.HTTP.Problems, err = Problems(); err != nil {
			return nil, fmt.Errorf("catalog httpapi: %w", err)
		}
	}
	if len(cfg.BearerSchemes) == 0 {
		cfg.BearerSchemes = []string{BearerScheme}
	}
	srv, err := chassis.NewHTTP(cfg, deps)
	if err != nil {
		return nil, fmt.Errorf("catalog httpapi: %w", err)
	}
	a.Mount(srv)
	return srv, nil
}

// viewer tells staff (catalog:write) from shoppers.
func viewer(ctx context.Context) app.Viewer {
	p, ok := auth.PrincipalFrom(ctx)
	return app.Viewer{Staff: ok && p.HasScope(auth.ScopeCatalogWrite)}
}

// etag is the entity tag of a product version.
func etag(p *catalog.Product) string { return httpserver.ETag(strconv.FormatInt(p.Version(), 10)) }

// ifMatch is the precondition of an If-Match header value.
func ifMatch(header *string, required bool) app.Precondition {
	return func(version int64) error {
		return httpserver.CheckIfMatchHeader(header, httpserver.ETag(strconv.FormatInt(version, 10)), required)
	}
}

// ListProducts implements catalogapi.StrictServerInterface.
func (a *API) ListProducts(ctx context.Context, req catalogapi.ListProductsRequestObject) (catalogapi.ListProductsResponseObject, error) {
	p := req.Params
	q := app.ProductQuery{MinPrice: p.MinPrice, MaxPrice: p.MaxPrice}
	if p.CategoryId != nil {
		q.CategoryID = *p.CategoryId
	}
	if p.Status != nil {
		q.Status = catalog.Status(*p.Status)
	}
	if p.MinPrice != nil && p.MaxPrice != nil && *p.MinPrice > *p.MaxPrice {
		return nil, problem.Validation("the price range is empty",
			problem.FieldError{Parameter: "max_price", In: "query", Detail: "must not be less than min_price"})
	}
	q.Currency = deref(p.Currency)
	q.Text = deref(p.Q)
	q.Cursor = deref(p.Cursor)
	if p.Limit != nil {
		q.Limit = *p.Limit
	}
	page, err := a.svc.Products(ctx, viewer(ctx), q)
	if err != nil {
		return nil, err
	}
	out := catalogapi.ListProducts200JSONResponse{Items: make([]catalogapi.Product, 0, len(page.Items))}
	for _, p := range page.Items {
		out.Items = append(out.Items, productJSON(p))
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	return out, nil
}

// CreateProduct implements catalogapi.StrictServerInterface.
func (a *API) CreateProduct(ctx context.Context, req catalogapi.CreateProductRequestObject) (catalogapi.CreateProductResponseObject, error) {
	b := req.Body
	d, err := details(b.Name, b.Description, b.Price, b.CategoryId, b.Attributes, b.ImageUrls)
	if err != nil {
		return nil, err
	}
	in := app.CreateProduct{SKU: b.Sku, Details: d}
	if b.Status != nil {
		in.Status = catalog.Status(*b.Status)
	}
	p, err := a.svc.CreateProduct(ctx, in)
	if err != nil {
		return nil, err
	}
	tag, loc := etag(p), "/v1/products/"+p.ID().String()
	return catalogapi.CreateProduct201JSONResponse{Body: productJSON(p),
		Headers: catalogapi.CreateProduct201ResponseHeaders{ETag: &tag, Location: &loc}}, nil
}

// GetProduct implements catalogapi.StrictServerInterface.
func (a *API) GetProduct(ctx context.Context, req catalogapi.GetProductRequestObject) (catalogapi.GetProductResponseObject, error) {
	p, err := a.svc.Product(ctx, viewer(ctx), req.ProductId)
	if err != nil {
		return nil, err
	}
	tag := etag(p)
	if httpserver.IfNoneMatchHeader(req.Params.IfNoneMatch, tag) {
		return catalogapi.GetProduct304Response{Headers: catalogapi.GetProduct304ResponseHeaders{ETag: &tag}}, nil
	}
	return catalogapi.GetProduct200JSONResponse{Body: productJSON(p), Headers: catalogapi.GetProduct200ResponseHeaders{ETag: &tag}}, nil
}

// ReplaceProduct implements catalogapi.StrictServerInterface.
func (a *API) ReplaceProduct(ctx context.Context, req catalogapi.ReplaceProductRequestObject) (catalogapi.ReplaceProductResponseObject, error) {
	if req.Params.IfMatch == nil {
		return nil, httpserver.CheckIfMatchHeader(nil, "", true) // 428 before anything is read
	}
	b := req.Body
	d, err := details(b.Name, b.Description, b.Price, b.CategoryId, b.Attributes, b.ImageUrls)
	if err != nil {
		return nil, err
	}
	p, err := a.svc.ReplaceProduct(ctx, app.ReplaceProduct{ID: req.ProductId, Details: d, Status: catalog.Status(b.Status),
		Precondition: ifMatch(req.Params.IfMatch, true)})
	if err != nil {
		return nil, err
	}
	tag := etag(p)
	return catalogapi.ReplaceProduct200JSONResponse{Body: productJSON(p), Headers: catalogapi.ReplaceProduct200ResponseHeaders{ETag: &tag}}, nil
}

// ArchiveProduct implements catalogapi.StrictServerInterface.
func (a *API) ArchiveProduct(ctx context.Context, req catalogapi.ArchiveProductRequestObject) (catalogapi.ArchiveProductResponseObject, error) {
	var pre app.Precondition
	if req.Params.IfMatch != nil {
		pre = ifMatch(req.Params.IfMatch, false)
	}
	p, err := a.svc.ArchiveProduct(ctx, req.ProductId, pre)
	if err != nil {
		return nil, err
	}
	tag := etag(p)
	return catalogapi.ArchiveProduct200JSONResponse{Body: productJSON(p), Headers: catalogapi.ArchiveProduct200ResponseHeaders{ETag: &tag}}, nil
}

// ListCategories implements catalogapi.StrictServerInterface.
func (a *API) ListCategories(ctx context.Context, req catalogapi.ListCategoriesRequestObject) (catalogapi.ListCategoriesResponseObject, error) {
	q := app.CategoryQuery{Cursor: deref(req.Params.Cursor)}
	if req.Params.Limit != nil {
		q.Limit = *req.Params.Limit
	}
	page, err := a.svc.Categories(ctx, q)
	if err != nil {
		return nil, err
	}
	out := catalogapi.ListCategories200JSONResponse{Items: make([]catalogapi.Category, 0, len(page.Items))}
	for _, c := range page.Items {
		out.Items = append(out.Items, categoryJSON(c))
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	return out, nil
}

// CreateCategory implements catalogapi.StrictServerInterface.
func (a *API) CreateCategory(ctx context.Context, req catalogapi.CreateCategoryRequestObject) (catalogapi.CreateCategoryResponseObject, error) {
	c, err := a.svc.CreateCategory(ctx, app.CreateCategory{Slug: req.Body.Slug, Name: req.Body.Name, Description: deref(req.Body.Description)})
	if err != nil {
		return nil, err
	}
	return catalogapi.CreateCategory201JSONResponse(categoryJSON(c)), nil
}

// details converts a request's product details; validation errors point
// into the request body.
func details(name string, description *string, price catalogapi.Money, category uuid.UUID, attrs *catalogapi.Attributes, images *[]string) (catalog.Details, error) {
	m, err := catalog.NewMoney(price.AmountMinor, price.Currency)
	if err != nil {
		var ve *catalog.ValidationError
		if errors.As(err, &ve) {
			return catalog.Details{}, &catalog.ValidationError{Field: "/price" + ve.Field, Reason: ve.Reason}
		}
		return catalog.Details{}, err
	}
	d := catalog.Details{Name: name, Description: deref(description), Price: m, CategoryID: category}
	if attrs != nil {
		d.Attributes = *attrs
	}
	if images != nil {
		d.ImageURLs = *images
	}
	return d, nil
}

func productJSON(p *catalog.Product) catalogapi.Product {
	s := p.State()
	return catalogapi.Product{
		Id: s.ID, Sku: s.SKU, Name: s.Details.Name, Description: s.Details.Description,
		Price:      catalogapi.Money{AmountMinor: s.Details.Price.Amount(), Currency: s.Details.Price.Currency()},
		CategoryId: s.Details.CategoryID, Attributes: s.Details.Attributes, ImageUrls: s.Details.ImageURLs,
		Status: catalogapi.ProductStatus(s.Status), Version: s.Version, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
}

func categoryJSON(c catalog.Category) catalogapi.Category {
	return catalogapi.Category{Id: c.ID(), Slug: c.Slug(), Name: c.Name(), Description: c.Description(), CreatedAt: c.CreatedAt()}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
