// Package eventsout turns the inventory's domain events into records of
// the Kafka topic inventory.stock.v1: the StockEvent Protobuf envelope,
// encoded by the platform codec with the schema registry, keyed by the
// event's aggregate (SKU or order ID). Every storage adapter of the
// inventory uses it to fill its outbox.
package eventsout

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	"github.com/agoracommerce/agora/internal/inventory"
	"github.com/agoracommerce/agora/internal/platform/events"
)

// Topic is the inventory's topic; Source the CloudEvents source of its
// events.
const (
	Topic  = "inventory.stock.v1"
	Source = "agora/inventory"
)

// Encoder encodes domain events for the outbox. Safe for concurrent use.
type Encoder = events.Encoder[inventory.Event]

// NewEncoder returns an Encoder of Topic over codec.
func NewEncoder(codec *events.Codec) (*Encoder, error) {
	return events.NewEncoder(codec, Topic, Source, func(ev inventory.Event) (string, proto.Message, time.Time, error) {
		env, at, err := Envelope(ev)
		return ev.Key(), env, at, err
	})
}

// Envelope maps a domain event to its envelope and returns when it
// happened.
func Envelope(ev inventory.Event) (*inventoryv1.StockEvent, time.Time, error) {
	switch ev := ev.(type) {
	case inventory.StockReceived:
		return &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReceived{StockReceived: &inventoryv1.StockReceived{
			Sku: ev.SKU, Quantity: ev.Quantity, Level: level(ev.Level), Note: ev.Note, OccurredAt: ts(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	case inventory.StockAdjusted:
		return &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockAdjusted{StockAdjusted: &inventoryv1.StockAdjusted{
			Sku: ev.SKU, PreviousOnHand: ev.PreviousOnHand, Level: level(ev.Level), Reason: string(ev.Reason),
			Note: ev.Note, OccurredAt: ts(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	case inventory.StockReserved:
		return &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReserved{StockReserved: &inventoryv1.StockReserved{
			OrderId: ev.OrderID, Allocations: allocations(ev.Allocations), ExpiresAt: ts(ev.ExpiresAt), OccurredAt: ts(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	case inventory.ReservationRejected:
		short := make([]*inventoryv1.ShortLine, len(ev.Short))
		for i, s := range ev.Short {
			short[i] = &inventoryv1.ShortLine{Sku: s.SKU, Requested: s.Requested, Available: s.Available}
		}
		return &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_ReservationRejected{ReservationRejected: &inventoryv1.ReservationRejected{
			OrderId: ev.OrderID, ShortLines: short, OccurredAt: ts(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	case inventory.StockReleased:
		return &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReleased{StockReleased: &inventoryv1.StockReleased{
			OrderId: ev.OrderID, Allocations: allocations(ev.Allocations), Reason: ev.Reason, OccurredAt: ts(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	case inventory.StockCommitted:
		return &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockCommitted{StockCommitted: &inventoryv1.StockCommitted{
			OrderId: ev.OrderID, Allocations: allocations(ev.Allocations), OccurredAt: ts(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	case inventory.LowStock:
		return &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_LowStock{LowStock: &inventoryv1.LowStock{
			Sku: ev.SKU, Available: ev.Available, Threshold: ev.Threshold, OccurredAt: ts(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	default:
		return nil, time.Time{}, fmt.Errorf("inventory eventsout: unknown event %T", ev)
	}
}

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func level(l inventory.Level) *inventoryv1.WarehouseLevel {
	return &inventoryv1.WarehouseLevel{WarehouseId: l.Warehouse(), OnHand: l.OnHand(), Reserved: l.Reserved(), Available: l.Available()}
}

func allocations(as []inventory.Allocation) []*inventoryv1.Allocation {
	out := make([]*inventoryv1.Allocation, len(as))
	for i, a := range as {
		out[i] = &inventoryv1.Allocation{Sku: a.SKU, WarehouseId: a.Warehouse, Quantity: a.Quantity}
	}
	return out
}
