package sqlstore

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/cart"
)

const productColumns = `product_id, sku, name, amount, currency, status, version, updated_at`

// Product implements app.Products.
func (s *Store) Product(ctx context.Context, id uuid.UUID) (cart.Product, error) {
	ps, err := s.Products(ctx, []uuid.UUID{id})
	if err != nil {
		return cart.Product{}, err
	}
	p, ok := ps[id]
	if !ok {
		return cart.Product{}, fmt.Errorf("product %s: %w", id, cart.ErrProductNotFound)
	}
	return p, nil
}

// Products implements app.Products.
func (s *Store) Products(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]cart.Product, error) {
	out := make(map[uuid.UUID]cart.Product, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id.String()
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT `+productColumns+` FROM cart_products
		WHERE product_id IN (`+placeholders(len(args))+`)`), args...)
	if err != nil {
		return nil, dbErr("read products", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var (
			p                        cart.Product
			id, currency, status     string
			amount, version, updated int64
		)
		if err := rows.Scan(&id, &p.SKU, &p.Name, &amount, &currency, &status, &version, &updated); err != nil {
			return nil, dbErr("read products", err)
		}
		if p.ID, err = uuid.Parse(id); err != nil {
			return nil, stored("product ID", err)
		}
		if p.Price, err = cart.NewMoney(amount, currency); err != nil {
			return nil, stored("price", err)
		}
		p.Status, p.Version, p.UpdatedAt = cart.ProductStatus(status), version, fromMicros(updated)
		out[p.ID] = p
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("read products", err)
	}
	return out, nil
}

// SaveProduct implements app.Products: one upsert that changes the stored
// row only when p's version is higher.
func (s *Store) SaveProduct(ctx context.Context, p cart.Product) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`
		INSERT INTO cart_products (`+productColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (product_id) DO UPDATE SET sku = excluded.sku, name = excluded.name, amount = excluded.amount,
			currency = excluded.currency, status = excluded.status, version = excluded.version, updated_at = excluded.updated_at
		WHERE cart_products.version < excluded.version`),
		p.ID.String(), p.SKU, p.Name, p.Price.Amount(), p.Price.Currency(), string(p.Status), p.Version, micros(p.UpdatedAt))
	if err != nil {
		return false, dbErr("save product", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, dbErr("save product", err)
	}
	return n > 0, nil
}
