package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"go.uber.org/zap"

	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/cart"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/contract"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/logging"
)

// OrdersTopic is the ordering service's topic; OrdersGroup the cart's
// consumer group on it.
const (
	OrdersTopic = "ordering.orders.v1"
	OrdersGroup = "cart.orders"
)

// Checkouts is the use case the orders consumer drives; *app.Service
// implements it.
type Checkouts interface {
	MarkCheckedOut(ctx context.Context, id uuid.UUID, orderID string) (*cart.Cart, error)
}

// Contracts declares what the cart reads from the topics it consumes: the
// catalog's product events and the ordering service's OrderPlaced.
func Contracts() []contract.Reads {
	product := []string{
		"product_id string", "sku string", "name string", "price message agora.common.v1.Money",
		"price.amount_minor int64", "price.currency string", "version int64",
		"occurred_at message google.protobuf.Timestamp",
	}
	status := "status enum agora.catalog.v1.ProductStatus"
	return []contract.Reads{
		{
			Consumer: Group,
			Topic:    Topic,
			Events: map[string][]string{
				"agora.catalog.v1.ProductCreated":      append([]string{status}, product...),
				"agora.catalog.v1.ProductUpdated":      append([]string{status}, product...),
				"agora.catalog.v1.ProductPriceChanged": append([]string{status}, product...),
				"agora.catalog.v1.ProductArchived":     product,
			},
		},
		{
			Consumer: OrdersGroup,
			Topic:    OrdersTopic,
			Events: map[string][]string{
				"agora.ordering.v1.OrderPlaced": {"order_id string", "cart_id string"},
			},
		},
	}
}

// Orders returns the consumer.Handler of order events over app: an
// OrderPlaced closes the cart it was placed from as checked out to the
// order (the cart publishes CartCheckedOut); every other order event
// passes without effect. log (nil for none) records the orders whose cart
// could not be closed.
//
// It is idempotent without an inbox: checking a cart out again to the
// same order changes nothing. A cart that is gone (unknown) or no longer
// open (expired, abandoned, emptied, or checked out to another order) is
// not an error: the order exists either way, and the cart's state is the
// customer's; the handler logs it and succeeds. A record that is not an
// OrderEvent, or an OrderPlaced without a valid order ID or cart ID, fails
// permanently (to the dead-letter topic with the reason); storage errors
// stay retryable.
func Orders(app Checkouts, log *zap.Logger) (consumer.Handler, error) {
	if app == nil {
		return nil, errors.New("cart kafka: Checkouts are required")
	}
	if log == nil {
		log = zap.NewNop()
	}
	return func(ctx context.Context, m *consumer.Message) error {
		env, ok := m.Event.(*orderingv1.OrderEvent)
		if !ok {
			return fault.Permanent(fmt.Errorf("cart kafka: %s is not an ordering OrderEvent", m.Event.ProtoReflect().Descriptor().FullName()))
		}
		switch ev := env.GetEvent().(type) {
		case *orderingv1.OrderEvent_OrderPlaced:
			return checkOut(ctx, app, log, ev.OrderPlaced)
		case nil:
			if len(env.ProtoReflect().GetUnknown()) > 0 {
				return nil // an event type newer than this build: not for the cart
			}
			return fault.Permanent(errors.New("cart kafka: OrderEvent without an event"))
		default:
			return nil
		}
	}, nil
}

func checkOut(ctx context.Context, app Checkouts, log *zap.Logger, e *orderingv1.OrderPlaced) error {
	orderID := e.GetOrderId()
	if orderID == "" {
		return fault.Permanent(errors.New("cart kafka: OrderPlaced without order_id"))
	}
	cartID, err := uuid.Parse(e.GetCartId())
	if err != nil {
		return fault.Permanent(fmt.Errorf("cart kafka: OrderPlaced %s: cart_id %q: %w", orderID, e.GetCartId(), err))
	}
	_, err = app.MarkCheckedOut(ctx, cartID, orderID)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, cart.ErrNotFound), errors.Is(err, cart.ErrClosed), errors.Is(err, cart.ErrEmpty):
		logging.FromContext(ctx, log).Warn("order placed from a cart that cannot be checked out; the cart is left as it is",
			zap.String("order_id", orderID), zap.String("cart_id", cartID.String()), zap.Error(err))
		return nil
	case errors.Is(err, cart.ErrInvalid):
		return fault.Permanent(fmt.Errorf("cart kafka: OrderPlaced %s: %w", orderID, err))
	}
	return fmt.Errorf("cart kafka: OrderPlaced %s: %w", orderID, err)
}
