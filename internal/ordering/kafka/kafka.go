// Package kafka holds the ordering service's saga consumer: the consumer
// group ordering.saga reads the answers of the checkout saga's
// participants — inventory (inventory.stock.v1), payment
// (payment.payments.v1) and shipping (shipping.shipments.v1) — and moves
// each order through the state machine with them.
//
// Every answer is applied once: the app records the event's ID in the
// inbox in the same transaction as the order's change and its outbox
// events, so a redelivered event changes nothing. Events ordering does not
// act on (stock levels, voids, deliveries, ...) pass without effect. An
// event that cannot be read, names an unknown order, or is not allowed in
// the order's state fails permanently and is dead-lettered with the
// reason; storage errors stay retryable.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	paymentv1 "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	shippingv1 "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	"github.com/agoracommerce/agora/internal/ordering"
	"github.com/agoracommerce/agora/internal/ordering/app"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/contract"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Group is the saga's consumer group; the topics are the participants'.
const (
	Group          = "ordering.saga"
	TopicInventory = "inventory.stock.v1"
	TopicPayment   = "payment.payments.v1"
	TopicShipping  = "shipping.shipments.v1"
)

// Topics returns the topics Group consumes.
func Topics() []string { return []string{TopicInventory, TopicPayment, TopicShipping} }

// Saga is the use cases the consumer drives; *app.Service implements it.
type Saga interface {
	OnStockReserved(ctx context.Context, key app.DedupeKey, orderID uuid.UUID) error
	OnReservationRejected(ctx context.Context, key app.DedupeKey, orderID uuid.UUID, reason string) error
	OnPaymentAuthorized(ctx context.Context, key app.DedupeKey, a app.PaymentAnswer) error
	OnPaymentDeclined(ctx context.Context, key app.DedupeKey, a app.PaymentAnswer) error
	OnPaymentFailed(ctx context.Context, key app.DedupeKey, a app.PaymentAnswer) error
	OnPaymentCaptured(ctx context.Context, key app.DedupeKey, a app.PaymentAnswer) error
	OnPaymentRefunded(ctx context.Context, key app.DedupeKey, a app.PaymentAnswer) error
	OnShipmentShipped(ctx context.Context, key app.DedupeKey, a app.ShipmentAnswer) error
}

var _ Saga = (*app.Service)(nil)

// Contracts declares the events and fields the saga consumer reads, per
// topic, for the contract check against the producers' envelopes.
func Contracts() []contract.Reads {
	return []contract.Reads{
		{Consumer: Group, Topic: TopicInventory, Events: map[string][]string{
			"agora.inventory.v1.StockReserved": {"order_id string"},
			"agora.inventory.v1.ReservationRejected": {"order_id string", "short_lines.sku string", "short_lines.requested int64",
				"short_lines.available int64"},
		}},
		{Consumer: Group, Topic: TopicPayment, Events: map[string][]string{
			"agora.payment.v1.PaymentAuthorized": {"payment_id string", "order_id string", "amount.amount_minor int64", "amount.currency string"},
			"agora.payment.v1.PaymentDeclined":   {"payment_id string", "order_id string", "reason string"},
			"agora.payment.v1.PaymentFailed":     {"payment_id string", "order_id string", "reason string"},
			"agora.payment.v1.PaymentCaptured":   {"payment_id string", "order_id string"},
			"agora.payment.v1.PaymentRefunded":   {"payment_id string", "order_id string"},
		}},
		{Consumer: Group, Topic: TopicShipping, Events: map[string][]string{
			"agora.shipping.v1.ShipmentShipped": {"shipment_id string", "order_id string", "carrier string", "tracking_number string"},
		}},
	}
}

// Handler returns the consumer.Handler of the saga's answers over saga.
func Handler(saga Saga) (consumer.Handler, error) {
	if saga == nil {
		return nil, errors.New("ordering kafka: a Saga is required")
	}
	return func(ctx context.Context, m *consumer.Message) error {
		if m.Meta.ID == "" {
			return fault.Permanent(errors.New("ordering kafka: an event without an ID cannot be applied once"))
		}
		key := app.DedupeKey{Group: Group, EventID: m.Meta.ID}
		var err error
		switch env := m.Event.(type) {
		case *inventoryv1.StockEvent:
			err = stock(ctx, saga, key, env)
		case *paymentv1.PaymentEvent:
			err = payment(ctx, saga, key, env)
		case *shippingv1.ShipmentEvent:
			err = shipment(ctx, saga, key, env)
		default:
			return fault.Permanent(fmt.Errorf("ordering kafka: %T is not an event of the saga's topics", m.Event))
		}
		return classify(err)
	}, nil
}

// errMalformed marks events that cannot be read.
var errMalformed = errors.New("ordering kafka: malformed event")

// classify marks what no retry can fix as permanent and leaves the rest
// (storage errors, marked retryable by the store) as it is.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errMalformed), errors.Is(err, ordering.ErrInvalidTransition), errors.Is(err, ordering.ErrInvalid),
		errors.Is(err, ordering.ErrNotFound):
		return fault.Permanent(err)
	}
	return err
}

func orderID(raw string) (uuid.UUID, error) {
	id, err := uuid.Parse(raw)
	if err != nil {
		return uuid.Nil, fmt.Errorf("%w: order_id %q: %w", errMalformed, raw, err)
	}
	return id, nil
}

func stock(ctx context.Context, saga Saga, key app.DedupeKey, env *inventoryv1.StockEvent) error {
	switch ev := env.GetEvent().(type) {
	case *inventoryv1.StockEvent_StockReserved:
		id, err := orderID(ev.StockReserved.GetOrderId())
		if err != nil {
			return err
		}
		return saga.OnStockReserved(ctx, key, id)
	case *inventoryv1.StockEvent_ReservationRejected:
		e := ev.ReservationRejected
		id, err := orderID(e.GetOrderId())
		if err != nil {
			return err
		}
		short := make([]string, 0, len(e.GetShortLines()))
		for _, l := range e.GetShortLines() {
			short = append(short, fmt.Sprintf("%s: %d requested, %d available", l.GetSku(), l.GetRequested(), l.GetAvailable()))
		}
		return saga.OnReservationRejected(ctx, key, id, strings.Join(short, "; "))
	case nil:
		return fmt.Errorf("%w: a StockEvent without an event", errMalformed)
	}
	return nil // stock levels, releases and commits: nothing for the saga
}

func money(m *commonv1.Money) (ordering.Money, error) {
	if m == nil {
		return ordering.Money{}, nil
	}
	out, err := ordering.NewMoney(m.GetAmountMinor(), m.GetCurrency())
	if err != nil {
		return ordering.Money{}, fmt.Errorf("%w: amount: %w", errMalformed, err)
	}
	return out, nil
}

func payment(ctx context.Context, saga Saga, key app.DedupeKey, env *paymentv1.PaymentEvent) error {
	type fields interface {
		GetPaymentId() string
		GetOrderId() string
	}
	answer := func(e fields) (app.PaymentAnswer, error) {
		id, err := orderID(e.GetOrderId())
		return app.PaymentAnswer{OrderID: id, PaymentID: e.GetPaymentId()}, err
	}
	switch ev := env.GetEvent().(type) {
	case *paymentv1.PaymentEvent_PaymentAuthorized:
		a, err := answer(ev.PaymentAuthorized)
		if err != nil {
			return err
		}
		if a.Amount, err = money(ev.PaymentAuthorized.GetAmount()); err != nil {
			return err
		}
		return saga.OnPaymentAuthorized(ctx, key, a)
	case *paymentv1.PaymentEvent_PaymentDeclined:
		a, err := answer(ev.PaymentDeclined)
		if err != nil {
			return err
		}
		a.Reason = ev.PaymentDeclined.GetReason()
		return saga.OnPaymentDeclined(ctx, key, a)
	case *paymentv1.PaymentEvent_PaymentFailed:
		a, err := answer(ev.PaymentFailed)
		if err != nil {
			return err
		}
		a.Reason = ev.PaymentFailed.GetReason()
		return saga.OnPaymentFailed(ctx, key, a)
	case *paymentv1.PaymentEvent_PaymentCaptured:
		a, err := answer(ev.PaymentCaptured)
		if err != nil {
			return err
		}
		return saga.OnPaymentCaptured(ctx, key, a)
	case *paymentv1.PaymentEvent_PaymentRefunded:
		a, err := answer(ev.PaymentRefunded)
		if err != nil {
			return err
		}
		return saga.OnPaymentRefunded(ctx, key, a)
	case nil:
		return fmt.Errorf("%w: a PaymentEvent without an event", errMalformed)
	}
	return nil // voids: the saga asked for them, nothing more to do
}

func shipment(ctx context.Context, saga Saga, key app.DedupeKey, env *shippingv1.ShipmentEvent) error {
	switch ev := env.GetEvent().(type) {
	case *shippingv1.ShipmentEvent_ShipmentShipped:
		e := ev.ShipmentShipped
		id, err := orderID(e.GetOrderId())
		if err != nil {
			return err
		}
		return saga.OnShipmentShipped(ctx, key, app.ShipmentAnswer{OrderID: id, ShipmentID: e.GetShipmentId(), Carrier: e.GetCarrier(),
			TrackingNumber: e.GetTrackingNumber()})
	case nil:
		return fmt.Errorf("%w: a ShipmentEvent without an event", errMalformed)
	}
	return nil // created, delivered, cancelled: nothing for the saga
}
