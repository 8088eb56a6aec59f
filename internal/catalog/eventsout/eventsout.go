// Package eventsout turns the catalog's domain events into the records of
// the topic catalog.products.v1: the ProductEvent Protobuf envelope, framed
// by the platform's codec with its schema ID and CloudEvents metadata, keyed
// by product ID. Every store of the catalog writes what it returns into its
// outbox in the same transaction as the change.
package eventsout

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	"github.com/agoracommerce/agora/internal/catalog"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Topic and Source of the catalog's product events.
const (
	Topic  = "catalog.products.v1"
	Source = "agora/catalog"
)

// Encoder encodes product events with a codec. Safe for concurrent use.
type Encoder = events.Encoder[catalog.Event]

// New returns an Encoder publishing to Topic.
func New(codec *events.Codec) (*Encoder, error) {
	return NewForTopic(codec, Topic)
}

// NewForTopic returns an Encoder publishing to another topic, for tests
// that keep their records apart.
func NewForTopic(codec *events.Codec, topic string) (*Encoder, error) {
	return events.NewEncoder(codec, topic, Source, func(ev catalog.Event) (string, proto.Message, time.Time, error) {
		env, err := Envelope(ev)
		return ev.ProductID().String(), env, ev.OccurredAt(), err
	})
}

// Envelope returns the ProductEvent envelope of a domain event.
func Envelope(ev catalog.Event) (*catalogv1.ProductEvent, error) {
	switch ev := ev.(type) {
	case catalog.ProductCreated:
		s := ev.Product
		return &catalogv1.ProductEvent{Event: &catalogv1.ProductEvent_ProductCreated{ProductCreated: &catalogv1.ProductCreated{
			ProductId: s.ID.String(), Sku: s.SKU, Name: s.Details.Name, Description: s.Details.Description,
			Price: Money(s.Details.Price), CategoryId: s.Details.CategoryID.String(), Attributes: s.Details.Attributes,
			ImageUrls: s.Details.ImageURLs, Status: Status(s.Status), Version: s.Version, OccurredAt: timestamppb.New(ev.At),
		}}}, nil
	case catalog.ProductUpdated:
		s := ev.Product
		return &catalogv1.ProductEvent{Event: &catalogv1.ProductEvent_ProductUpdated{ProductUpdated: &catalogv1.ProductUpdated{
			ProductId: s.ID.String(), Sku: s.SKU, Name: s.Details.Name, Description: s.Details.Description,
			Price: Money(s.Details.Price), CategoryId: s.Details.CategoryID.String(), Attributes: s.Details.Attributes,
			ImageUrls: s.Details.ImageURLs, Status: Status(s.Status), Version: s.Version, OccurredAt: timestamppb.New(ev.At),
		}}}, nil
	case catalog.ProductPriceChanged:
		s := ev.Product
		return &catalogv1.ProductEvent{Event: &catalogv1.ProductEvent_ProductPriceChanged{ProductPriceChanged: &catalogv1.ProductPriceChanged{
			ProductId: s.ID.String(), Sku: s.SKU, Name: s.Details.Name, OldPrice: Money(ev.OldPrice),
			Price: Money(s.Details.Price), Status: Status(s.Status), Version: s.Version, OccurredAt: timestamppb.New(ev.At),
		}}}, nil
	case catalog.ProductArchived:
		s := ev.Product
		return &catalogv1.ProductEvent{Event: &catalogv1.ProductEvent_ProductArchived{ProductArchived: &catalogv1.ProductArchived{
			ProductId: s.ID.String(), Sku: s.SKU, Name: s.Details.Name,
			Price: Money(s.Details.Price), Status: Status(s.Status), Version: s.Version, OccurredAt: timestamppb.New(ev.At),
		}}}, nil
	}
	return nil, fault.Permanent(fmt.Errorf("eventsout: no envelope for %T", ev))
}

// Money converts a price.
func Money(m catalog.Money) *commonv1.Money {
	return &commonv1.Money{AmountMinor: m.Amount(), Currency: m.Currency()}
}

// Status converts a product status.
func Status(s catalog.Status) catalogv1.ProductStatus {
	switch s {
	case catalog.StatusDraft:
		return catalogv1.ProductStatus_PRODUCT_STATUS_DRAFT
	case catalog.StatusActive:
		return catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE
	case catalog.StatusArchived:
		return catalogv1.ProductStatus_PRODUCT_STATUS_ARCHIVED
	}
	return catalogv1.ProductStatus_PRODUCT_STATUS_UNSPECIFIED
}
