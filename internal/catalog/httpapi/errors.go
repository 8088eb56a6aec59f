package httpapi

import (
	"context"
	"errors"
	"net/http"

	catalogapi "github.com/agoracommerce/agora/gen/openapi/catalog"
	"github.com/agoracommerce/agora/internal/catalog"
	"github.com/agoracommerce/agora/internal/catalog/app"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// Problem types of the catalog API. Clients may switch on them.
const (
	TypeProductNotFound   = problem.TypeBase + "catalog/product-not-found"
	TypeDuplicateSKU      = problem.TypeBase + "catalog/duplicate-sku"
	TypeDuplicateCategory = problem.TypeBase + "catalog/duplicate-category"
	TypeProductArchived   = problem.TypeBase + "catalog/product-archived"
	TypeInvalidTransition = problem.TypeBase + "catalog/invalid-status-transition"
	TypeUnknownCategory   = problem.TypeBase + "catalog/unknown-category"
	TypeRestrictedListing = problem.TypeBase + "catalog/restricted-listing"
)

// Problems returns the catalog's one mapping from errors to problems, for
// httpserver.Config.Problems. Validation errors and invalid cursors, which
// name the offending field, are turned into problems by the handler
// middleware of this file before they reach it.
func Problems() (*problem.Mapper, error) {
	return problem.NewMapper(
		problem.Rule{Err: catalog.ErrProductNotFound, Status: http.StatusNotFound, Type: TypeProductNotFound,
			Title: "Product not found", Detail: "no product has this ID"},
		problem.Rule{Err: catalog.ErrDuplicateSKU, Status: http.StatusConflict, Type: TypeDuplicateSKU,
			Title: "Duplicate SKU", Detail: "another product already has this SKU"},
		problem.Rule{Err: catalog.ErrDuplicateCategory, Status: http.StatusConflict, Type: TypeDuplicateCategory,
			Title: "Duplicate category", Detail: "another category already has this slug"},
		problem.Rule{Err: catalog.ErrArchived, Status: http.StatusConflict, Type: TypeProductArchived,
			Title: "Product archived", Detail: "the product is archived and can no longer be changed"},
		problem.Rule{Err: catalog.ErrInvalidTransition, Status: http.StatusConflict, Type: TypeInvalidTransition,
			Title: "Invalid status transition", Detail: "a product goes from draft to active only; archive it with its archive operation"},
		problem.Rule{Err: catalog.ErrCategoryNotFound, Status: http.StatusUnprocessableEntity, Type: TypeUnknownCategory,
			Title: "Unknown category", Detail: "the category_id names no category"},
		problem.Rule{Err: app.ErrRestricted, Status: http.StatusForbidden, Type: TypeRestrictedListing,
			Title: "Restricted listing", Detail: "listing products that are not active needs the catalog:write scope"},
	)
}

// mapErrors is the strict-handler middleware that turns the errors naming
// a field into validation problems, and answers an anonymous caller's
// restricted request with 401 and its bearer challenge. Every other error
// goes on to the Mapper of Problems.
func mapErrors(f catalogapi.StrictHandlerFunc, _ string) catalogapi.StrictHandlerFunc {
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
		resp, err := f(ctx, w, r, req)
		if err == nil {
			return resp, nil
		}
		var ve *catalog.ValidationError
		switch {
		case errors.As(err, &ve):
			return nil, problem.Validation("the request breaks a rule of the catalog",
				problem.FieldError{Pointer: ve.Field, Detail: ve.Reason})
		case errors.Is(err, catalog.ErrInvalidCursor):
			return nil, problem.Validation("the cursor is not one this listing issued",
				problem.FieldError{Parameter: "cursor", In: "query", Detail: "pass the next_cursor of the previous page with the same filters"})
		case errors.Is(err, app.ErrRestricted):
			if _, ok := auth.PrincipalFrom(ctx); !ok {
				d, h := auth.ProblemOf(auth.ErrUnauthenticated)
				for name, values := range h {
					w.Header()[name] = values
				}
				return nil, &d
			}
		}
		return nil, err
	}
}
