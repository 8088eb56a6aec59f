// Package kafka holds the cart service's event consumers:
//
//   - Products applies the catalog's product events (topic
//     catalog.products.v1, envelope agora.catalog.v1.ProductEvent) to the
//     cart's read model of products, from which carts take their prices;
//   - Orders closes the cart an order was placed from, on the ordering
//     service's OrderPlaced (topic ordering.orders.v1, envelope
//     agora.ordering.v1.OrderEvent); see orders.go.
//
// Applying products is idempotent without an inbox: every product event
// carries the product's version after the change, and the read model keeps
// a product only when the version is higher than the one it has, in one
// conditional write. A redelivered, replayed or late event therefore
// changes nothing.
package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	"github.com/agoracommerce/agora/internal/cart"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Topic is the catalog's topic the cart consumes; Group the cart's
// consumer group on it.
const (
	Topic = "catalog.products.v1"
	Group = "cart.catalog-products"
)

// ProductApplier is the use case the consumer drives; *app.Service
// implements it.
type ProductApplier interface {
	ApplyProduct(ctx context.Context, p cart.Product) (applied bool, err error)
}

// Products returns the consumer.Handler of product events over app. A
// record that is not a ProductEvent, or whose product breaks the read
// model's rules, fails permanently (to the dead-letter topic); storage
// errors stay retryable.
func Products(app ProductApplier) (consumer.Handler, error) {
	if app == nil {
		return nil, errors.New("cart kafka: a ProductApplier is required")
	}
	return func(ctx context.Context, m *consumer.Message) error {
		env, ok := m.Event.(*catalogv1.ProductEvent)
		if !ok {
			return fault.Permanent(fmt.Errorf("cart kafka: %s is not a catalog ProductEvent", m.Event.ProtoReflect().Descriptor().FullName()))
		}
		p, err := Product(env)
		if err != nil {
			return fault.Permanent(err)
		}
		if _, err := app.ApplyProduct(ctx, p); err != nil {
			if errors.Is(err, cart.ErrInvalid) {
				return fault.Permanent(err)
			}
			return err
		}
		return nil
	}, nil
}

// Product maps a product event to the read model's product.
func Product(env *catalogv1.ProductEvent) (cart.Product, error) {
	var f fields
	switch ev := env.GetEvent().(type) {
	case *catalogv1.ProductEvent_ProductCreated:
		e := ev.ProductCreated
		f = fields{e.GetProductId(), e.GetSku(), e.GetName(), e.GetPrice(), e.GetStatus(), e.GetVersion(), e.GetOccurredAt()}
	case *catalogv1.ProductEvent_ProductUpdated:
		e := ev.ProductUpdated
		f = fields{e.GetProductId(), e.GetSku(), e.GetName(), e.GetPrice(), e.GetStatus(), e.GetVersion(), e.GetOccurredAt()}
	case *catalogv1.ProductEvent_ProductPriceChanged:
		e := ev.ProductPriceChanged
		f = fields{e.GetProductId(), e.GetSku(), e.GetName(), e.GetPrice(), e.GetStatus(), e.GetVersion(), e.GetOccurredAt()}
	case *catalogv1.ProductEvent_ProductArchived:
		e := ev.ProductArchived
		f = fields{e.GetProductId(), e.GetSku(), e.GetName(), e.GetPrice(), catalogv1.ProductStatus_PRODUCT_STATUS_ARCHIVED, e.GetVersion(), e.GetOccurredAt()}
	default:
		return cart.Product{}, fmt.Errorf("cart kafka: product event without a known event (%T)", ev)
	}
	return f.product()
}

// fields are what every product event says about the product.
type fields struct {
	id, sku, name string
	price         *commonv1.Money
	status        catalogv1.ProductStatus
	version       int64
	at            *timestamppb.Timestamp
}

func (f fields) product() (cart.Product, error) {
	if !f.at.IsValid() {
		return cart.Product{}, fmt.Errorf("cart kafka: product event of %q without a valid occurred_at", f.id)
	}
	p := cart.Product{SKU: f.sku, Name: f.name, Version: f.version, UpdatedAt: f.at.AsTime()}
	var err error
	if p.ID, err = uuid.Parse(f.id); err != nil {
		return cart.Product{}, fmt.Errorf("cart kafka: product ID %q: %w", f.id, err)
	}
	if p.Price, err = cart.NewMoney(f.price.GetAmountMinor(), f.price.GetCurrency()); err != nil {
		return cart.Product{}, fmt.Errorf("cart kafka: price of %s: %w", f.id, err)
	}
	switch f.status {
	case catalogv1.ProductStatus_PRODUCT_STATUS_DRAFT:
		p.Status = cart.ProductDraft
	case catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE:
		p.Status = cart.ProductActive
	case catalogv1.ProductStatus_PRODUCT_STATUS_ARCHIVED:
		p.Status = cart.ProductArchived
	default:
		return cart.Product{}, fmt.Errorf("cart kafka: product %s has status %s", f.id, f.status)
	}
	if err := p.Validate(); err != nil {
		return cart.Product{}, fmt.Errorf("cart kafka: product %s: %w", f.id, err)
	}
	return p, nil
}
