// Package kafka feeds the order history's read model from Kafka: the live
// projector (consumer group orderhistory.projector) over the topics of
// ordering, inventory, payment and shipping, the event contracts it relies
// on, and the event log a rebuild replays (Log: a plain client that
// assigns itself every partition, no consumer group).
//
// Projecting is idempotent without an inbox: every event becomes one
// timeline entry keyed by its event ID (ce_id), and the order's summary is
// recomputed from all its entries in the same transaction (see the
// sqlstore package). A redelivered or replayed event, or events of
// different topics arriving in any order, therefore lead to the same read
// model. A record that cannot be projected (not an envelope of these
// topics, an event without an order ID, malformed money) fails
// permanently and is dead-lettered; storage errors stay retryable.
package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/agoracommerce/agora/internal/orderhistory"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/contract"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// The topics the projector reads and its consumer group.
const (
	OrderingTopic  = "ordering.orders.v1"
	InventoryTopic = "inventory.stock.v1"
	PaymentTopic   = "payment.payments.v1"
	ShippingTopic  = "shipping.shipments.v1"

	Group = "orderhistory.projector"
)

// Topics returns the four topics the projector reads.
func Topics() []string {
	return []string{OrderingTopic, InventoryTopic, PaymentTopic, ShippingTopic}
}

// Recorder is the use case the projector drives; *app.Service implements
// it.
type Recorder interface {
	Record(ctx context.Context, entries ...orderhistory.Entry) (added int, err error)
}

// FromMessage maps a consumed message to its entry; ok is false for
// events the projection does not record.
func FromMessage(m *consumer.Message) (orderhistory.Entry, bool, error) {
	return Entry(m.Meta.ID, m.Meta.Time, m.Event)
}

// Handler returns the projector's consumer.Handler over rec: one event,
// one entry, one transaction.
func Handler(rec Recorder) (consumer.Handler, error) {
	if rec == nil {
		return nil, errors.New("orderhistory kafka: a Recorder is required")
	}
	return func(ctx context.Context, m *consumer.Message) error {
		e, ok, err := FromMessage(m)
		if err != nil {
			return fault.Permanent(err)
		}
		if !ok {
			return nil
		}
		return record(ctx, rec, e)
	}, nil
}

// BatchHandler returns the projector's consumer.BatchHandler over rec: the
// entries of one partition's poll in one transaction. A batch with a
// record that cannot be projected fails permanently, and the consumer
// runtime then handles its records one by one (Handler), dead-lettering
// only that one.
func BatchHandler(rec Recorder) (consumer.BatchHandler, error) {
	if rec == nil {
		return nil, errors.New("orderhistory kafka: a Recorder is required")
	}
	return func(ctx context.Context, ms []*consumer.Message) error {
		entries := make([]orderhistory.Entry, 0, len(ms))
		for _, m := range ms {
			e, ok, err := FromMessage(m)
			if err != nil {
				return fault.Permanent(err)
			}
			if ok {
				entries = append(entries, e)
			}
		}
		return record(ctx, rec, entries...)
	}, nil
}

func record(ctx context.Context, rec Recorder, entries ...orderhistory.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	if _, err := rec.Record(ctx, entries...); err != nil {
		if errors.Is(err, orderhistory.ErrInvalid) && !fault.IsRetryable(err) {
			return fault.Permanent(err)
		}
		return fmt.Errorf("orderhistory kafka: %w", err)
	}
	return nil
}

// Config returns the consumer configuration of the live projector over
// rec (the connection, decoder and logger come from the host): group
// orderhistory.projector on Topics, in batch mode.
func Config(rec Recorder) (consumer.Config, error) {
	handler, err := Handler(rec)
	if err != nil {
		return consumer.Config{}, err
	}
	batch, err := BatchHandler(rec)
	if err != nil {
		return consumer.Config{}, err
	}
	return consumer.Config{Group: Group, Topics: Topics(), Handler: handler, BatchHandler: batch}, nil
}

var (
	moneyFields = []string{"amount_minor int64", "currency string"}
	moneyType   = "message agora.common.v1.Money"
	at          = "occurred_at message google.protobuf.Timestamp"
)

func withMoney(field string, fields ...string) []string {
	out := append([]string{}, fields...)
	out = append(out, field+" "+moneyType)
	for _, f := range moneyFields {
		out = append(out, field+"."+f)
	}
	return out
}

// Contracts declares what the projector reads from each topic: every
// event it records and each field it takes from it.
func Contracts() []contract.Reads {
	allocations := []string{"order_id string", "allocations.quantity int64", at}
	return []contract.Reads{
		{Consumer: Group, Topic: OrderingTopic, Events: map[string][]string{
			"agora.ordering.v1.OrderPlaced": withMoney("lines.unit_price", withMoney("total", "order_id string", "customer_id string",
				"lines repeated message agora.ordering.v1.OrderLine", "lines.sku string", "lines.product_id string", "lines.name string",
				"lines.quantity int32", "placed_at message google.protobuf.Timestamp")...),
			"agora.ordering.v1.OrderPaymentRequested": withMoney("amount", "order_id string", "customer_id string", at),
			"agora.ordering.v1.OrderConfirmed":        withMoney("total", "order_id string", "customer_id string", "payment_id string", at),
			"agora.ordering.v1.OrderShipped": {"order_id string", "customer_id string", "shipment_id string", "carrier string",
				"tracking_number string", at},
			"agora.ordering.v1.OrderCompleted": withMoney("total", "order_id string", "customer_id string", at),
			"agora.ordering.v1.OrderRejected": {"order_id string", "customer_id string", "reason string",
				"code enum agora.ordering.v1.EndReason", at},
			"agora.ordering.v1.OrderCancelled": withMoney("total", "order_id string", "customer_id string", "reason string",
				"code enum agora.ordering.v1.EndReason", "refund bool", at),
		}},
		{Consumer: Group, Topic: InventoryTopic, Events: map[string][]string{
			"agora.inventory.v1.StockReserved": allocations,
			"agora.inventory.v1.ReservationRejected": {"order_id string", "short_lines.sku string", "short_lines.requested int64",
				"short_lines.available int64", at},
			"agora.inventory.v1.StockReleased":  append([]string{"reason string"}, allocations...),
			"agora.inventory.v1.StockCommitted": allocations,
		}},
		{Consumer: Group, Topic: PaymentTopic, Events: map[string][]string{
			"agora.payment.v1.PaymentAuthorized": withMoney("amount", "payment_id string", "order_id string", "customer_id string", at),
			"agora.payment.v1.PaymentDeclined": withMoney("amount", "payment_id string", "order_id string", "customer_id string",
				"reason string", at),
			"agora.payment.v1.PaymentFailed": withMoney("amount", "payment_id string", "order_id string", "customer_id string",
				"reason string", at),
			"agora.payment.v1.PaymentCaptured": withMoney("amount", "payment_id string", "order_id string", "customer_id string", at),
			"agora.payment.v1.PaymentVoided": withMoney("amount", "payment_id string", "order_id string", "customer_id string",
				"reason string", at),
			"agora.payment.v1.PaymentRefunded": withMoney("total_refunded", withMoney("amount", "payment_id string", "order_id string",
				"customer_id string", "reason string", at)...),
		}},
		{Consumer: Group, Topic: ShippingTopic, Events: map[string][]string{
			"agora.shipping.v1.ShipmentCreated": {"shipment_id string", "order_id string", "customer_id string", "carrier string",
				"tracking_number string", at},
			"agora.shipping.v1.ShipmentShipped":   {"shipment_id string", "order_id string", "carrier string", "tracking_number string", at},
			"agora.shipping.v1.ShipmentDelivered": {"shipment_id string", "order_id string", "carrier string", "tracking_number string", at},
			"agora.shipping.v1.ShipmentCancelled": {"shipment_id string", "order_id string", "carrier string", "tracking_number string", at},
		}},
	}
}
