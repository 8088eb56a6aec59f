package httpapi

import (
	"context"
	"errors"
	"net/http"

	cartapi "github.com/agoracommerce/agora/gen/openapi/cart"
	"github.com/agoracommerce/agora/internal/cart"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// Problem types of the cart API. Clients may switch on them.
const (
	TypeCartNotFound       = problem.TypeBase + "cart/cart-not-found"
	TypeLineNotFound       = problem.TypeBase + "cart/line-not-found"
	TypeUnknownProduct     = problem.TypeBase + "cart/unknown-product"
	TypeProductUnavailable = problem.TypeBase + "cart/product-unavailable"
	TypeCurrencyMismatch   = problem.TypeBase + "cart/currency-mismatch"
	TypeCartClosed         = problem.TypeBase + "cart/cart-closed"
	TypeCartFull           = problem.TypeBase + "cart/cart-full"
	TypeReadOnly           = problem.TypeBase + "cart/read-only"
)

// Problems returns the cart's one mapping from errors to problems, for
// httpserver.Config.Problems. Validation errors, which name the offending
// field, become problems in the handler middleware of this file before
// they reach it.
func Problems() (*problem.Mapper, error) {
	return problem.NewMapper(
		problem.Rule{Err: cart.ErrNotFound, Status: http.StatusNotFound, Type: TypeCartNotFound,
			Title: "Cart not found", Detail: "you have no cart with this ID"},
		problem.Rule{Err: cart.ErrLineNotFound, Status: http.StatusNotFound, Type: TypeLineNotFound,
			Title: "Line not found", Detail: "the cart has no line for this product"},
		problem.Rule{Err: cart.ErrProductNotFound, Status: http.StatusUnprocessableEntity, Type: TypeUnknownProduct,
			Title: "Unknown product", Detail: "the product_id names no product of the catalog"},
		problem.Rule{Err: cart.ErrProductUnavailable, Status: http.StatusConflict, Type: TypeProductUnavailable,
			Title: "Product not on sale", Detail: "the product is archived or not yet on sale"},
		problem.Rule{Err: cart.ErrCurrencyMismatch, Status: http.StatusUnprocessableEntity, Type: TypeCurrencyMismatch,
			Title: "Currency mismatch", Detail: "the product is priced in another currency than the cart"},
		problem.Rule{Err: cart.ErrClosed, Status: http.StatusConflict, Type: TypeCartClosed,
			Title: "Cart closed", Detail: "the cart was checked out or expired and takes no more changes"},
		problem.Rule{Err: cart.ErrFull, Status: http.StatusConflict, Type: TypeCartFull,
			Title: "Cart full", Detail: "the cart has as many lines as it may have"},
		problem.Rule{Err: cart.ErrForbidden, Status: http.StatusForbidden, Type: TypeReadOnly,
			Title: "Read-only access", Detail: "only the cart's owner may change it"},
		problem.Rule{Err: cart.ErrConflict, Status: http.StatusConflict, Type: problem.TypeConflict,
			Title: "Conflict", Detail: "concurrent changes kept winning; retry the request"},
		problem.Rule{Err: auth.ErrUnauthenticated, Status: http.StatusUnauthorized, Type: problem.TypeUnauthorized,
			Title: "Unauthorized", Detail: "sign in as the customer the carts belong to"},
	)
}

// mapErrors is the strict-handler middleware that turns errors naming a
// field into validation problems; every other error goes on to the Mapper
// of Problems.
func mapErrors(f cartapi.StrictHandlerFunc, _ string) cartapi.StrictHandlerFunc {
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
		resp, err := f(ctx, w, r, req)
		if err == nil {
			return resp, nil
		}
		var ve *cart.ValidationError
		if errors.As(err, &ve) {
			fe := problem.FieldError{Pointer: ve.Field, Detail: ve.Reason}
			if ve.Field != "" && ve.Field[0] != '/' {
				fe = problem.FieldError{Parameter: ve.Field, In: "query", Detail: ve.Reason}
			}
			return nil, problem.Validation("the request breaks a rule of the cart", fe)
		}
		return nil, err
	}
}
