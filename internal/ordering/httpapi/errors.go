package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	orderingapi "github.com/agoracommerce/agora/gen/openapi/ordering"
	"github.com/agoracommerce/agora/internal/ordering"
	"github.com/agoracommerce/agora/internal/ordering/app"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// Problem types of the ordering API. Clients may switch on them.
const (
	TypeOrderNotFound      = problem.TypeBase + "ordering/order-not-found"
	TypeInvalidState       = problem.TypeBase + "ordering/invalid-state"
	TypeCartNotFound       = problem.TypeBase + "ordering/cart-not-found"
	TypeCartForbidden      = problem.TypeBase + "ordering/cart-forbidden"
	TypeCartNotOpen        = problem.TypeBase + "ordering/cart-not-open"
	TypeCartEmpty          = problem.TypeBase + "ordering/cart-empty"
	TypeLinesUnavailable   = problem.TypeBase + "ordering/lines-unavailable"
	TypeCartOrdered        = problem.TypeBase + "ordering/cart-already-ordered"
	TypeCartUnorderable    = problem.TypeBase + "ordering/cart-unorderable"
	TypeEmailRequired      = problem.TypeBase + "ordering/email-required"
	TypeAmountOverflow     = problem.TypeBase + "ordering/amount-overflow"
	TypeCurrencyMismatch   = problem.TypeBase + "ordering/currency-mismatch"
	TypeCartsUnavailable   = problem.TypeBase + "ordering/cart-service-unavailable"
	cartsRetryAfterSeconds = 5
)

// Problems returns the ordering service's one mapping from errors to
// problems, for httpserver.Config.Problems. Validation errors naming a
// field, refused transitions (which name the order's status), unavailable
// lines (which name their SKUs), the object-level refusals and the cart
// service's unavailability (with Retry-After) become problems in mapErrors
// before they reach it.
func Problems() (*problem.Mapper, error) {
	return problem.NewMapper(
		problem.Rule{Err: ordering.ErrNotFound, Status: http.StatusNotFound, Type: TypeOrderNotFound,
			Title: "Order not found", Detail: "no order has this ID"},
		problem.Rule{Err: ordering.ErrCartNotFound, Status: http.StatusNotFound, Type: TypeCartNotFound,
			Title: "Cart not found", Detail: "you have no cart with this ID"},
		problem.Rule{Err: ordering.ErrCartForbidden, Status: http.StatusForbidden, Type: TypeCartForbidden,
			Title: "Not your cart", Detail: "only the cart's owner may check it out"},
		problem.Rule{Err: ordering.ErrCartNotOpen, Status: http.StatusConflict, Type: TypeCartNotOpen,
			Title: "Cart not open", Detail: "the cart was checked out, expired or abandoned"},
		problem.Rule{Err: ordering.ErrCartEmpty, Status: http.StatusUnprocessableEntity, Type: TypeCartEmpty,
			Title: "Cart empty", Detail: "an empty cart cannot be ordered"},
		problem.Rule{Err: ordering.ErrLinesUnavailable, Status: http.StatusConflict, Type: TypeLinesUnavailable,
			Title: "Lines unavailable", Detail: "products of the cart are no longer on sale; remove them and retry"},
		problem.Rule{Err: ordering.ErrCartOrdered, Status: http.StatusConflict, Type: TypeCartOrdered,
			Title: "Cart already ordered", Detail: "this cart already became an order"},
		problem.Rule{Err: ordering.ErrEmailRequired, Status: http.StatusUnprocessableEntity, Type: TypeEmailRequired,
			Title: "Email required", Detail: "name an email address: the token carries none"},
		problem.Rule{Err: ordering.ErrOverflow, Status: http.StatusUnprocessableEntity, Type: TypeAmountOverflow,
			Title: "Amount too large", Detail: "the order's total does not fit an amount"},
		problem.Rule{Err: ordering.ErrCurrencyMismatch, Status: http.StatusUnprocessableEntity, Type: TypeCurrencyMismatch,
			Title: "Currency mismatch", Detail: "the cart's lines are priced in more than one currency"},
		problem.Rule{Err: ordering.ErrInvalidTransition, Status: http.StatusConflict, Type: TypeInvalidState,
			Title: "Not allowed in this status", Detail: "the order's status does not allow this"},
		problem.Rule{Err: ordering.ErrConflict, Status: http.StatusConflict, Type: problem.TypeConflict,
			Title: "Conflict", Detail: "concurrent changes kept winning; retry the request"},
		problem.Rule{Err: app.ErrCartsUnavailable, Status: http.StatusServiceUnavailable, Type: TypeCartsUnavailable,
			Title: "Cart service unavailable", Detail: "the cart could not be read; retry with the same Idempotency-Key"},
	)
}

// requestFields are the request fields the domain's validation errors may
// name; others concern the cart's contents.
var requestFields = []string{"/payment_token", "/shipping_address", "/email", "/reason", "/cart_id"}

// mapErrors is the strict-handler middleware that turns the errors that
// need more than a fixed problem into problems; every other error goes on
// to the Mapper of Problems.
func mapErrors(f orderingapi.StrictHandlerFunc, _ string) orderingapi.StrictHandlerFunc {
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
		resp, err := f(ctx, w, r, req)
		if err == nil {
			return resp, nil
		}
		var (
			ve *ordering.ValidationError
			te *ordering.TransitionError
			ue *ordering.UnavailableError
		)
		switch {
		case errors.As(err, &ve):
			return nil, validation(ve)
		case errors.As(err, &te):
			d := problem.New(http.StatusConflict, TypeInvalidState, "Not allowed in this status",
				fmt.Sprintf("the order is %s; %s", te.State.Status, allowed(te.Trigger)))
			d.Extensions = map[string]any{"order_status": string(te.State.Status)}
			return nil, d
		case errors.As(err, &ue):
			return nil, problem.New(http.StatusConflict, TypeLinesUnavailable, "Lines unavailable",
				"no longer on sale: "+strings.Join(ue.SKUs, ", ")+"; remove them from the cart and retry")
		case errors.Is(err, auth.ErrForbidden), errors.Is(err, auth.ErrUnauthenticated):
			d, h := auth.ProblemOf(err)
			for name, values := range h {
				w.Header()[name] = values
			}
			return nil, &d
		case errors.Is(err, app.ErrCartsUnavailable):
			w.Header().Set("Retry-After", strconv.Itoa(cartsRetryAfterSeconds))
		}
		return nil, err
	}
}

func validation(ve *ordering.ValidationError) error {
	switch {
	case ve.Field != "" && ve.Field[0] != '/':
		return problem.Validation("the request breaks a rule of orders", problem.FieldError{Parameter: ve.Field, In: "query", Detail: ve.Reason})
	case isRequestField(ve.Field):
		return problem.Validation("the request breaks a rule of orders", problem.FieldError{Pointer: ve.Field, Detail: ve.Reason})
	}
	return problem.New(http.StatusUnprocessableEntity, TypeCartUnorderable, "Cart cannot be ordered",
		"the cart's "+strings.TrimPrefix(ve.Field, "/")+" "+ve.Reason)
}

func isRequestField(field string) bool {
	for _, f := range requestFields {
		if field == f || strings.HasPrefix(field, f+"/") {
			return true
		}
	}
	return false
}

// allowed explains which statuses a refused operation needs.
func allowed(t ordering.Trigger) string {
	switch t {
	case ordering.TriggerCustomerCancel:
		return "a customer cancels PENDING and CONFIRMED orders only"
	case ordering.TriggerOperatorCancel:
		return "an operator cancels PENDING, CONFIRMED, SHIPPED and COMPLETED orders only"
	}
	return "the operation does not apply to it"
}
