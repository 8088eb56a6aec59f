// Package sqlstore keeps the catalog in SQL — SQLite in local mode,
// PostgreSQL on AWS — through the platform's sqldb package. Every change of
// a product writes its events into the platform outbox in the same
// transaction, so an event is published if and only if its change is
// stored. Concurrent updates of one product are serialised by a version
// column (UPDATE ... WHERE version = ?), with the row locked for the
// transaction on PostgreSQL so that colliding updates queue instead of
// retrying.
package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/catalog"
	"github.com/agoracommerce/agora/internal/catalog/app"
	"github.com/agoracommerce/agora/internal/catalog/eventsout"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
)

//go:embed migrations
var migrations embed.FS

// maxAttempts bounds how often Update runs its function when concurrent
// updates keep getting in first.
const maxAttempts = 10

// ErrConcurrentUpdate: an update lost the race for a product maxAttempts
// times in a row. It is retryable.
var ErrConcurrentUpdate = errors.New("sqlstore: product changed concurrently")

// errVersionChanged makes Update try again.
var errVersionChanged = errors.New("sqlstore: version changed")

// Encoder turns domain events into outbox records; *eventsout.Encoder is
// one.
type Encoder interface {
	Encode(ctx context.Context, evs ...catalog.Event) ([]events.Event, error)
}

// Store is the catalog's SQL repository. Safe for concurrent use.
type Store struct {
	db     *sqldb.DB
	outbox *outbox.Store
	enc    Encoder
}

var (
	_ app.Repository         = (*Store)(nil)
	_ app.CategoryRepository = (*Store)(nil)
)

// New applies the catalog's migrations to db and returns the store. Events
// are encoded by codec for the topic eventsout.Topic and written to ob,
// which must be the outbox of the same db.
func New(ctx context.Context, db *sqldb.DB, ob *outbox.Store, codec *events.Codec) (*Store, error) {
	enc, err := eventsout.New(codec)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	return NewWithEncoder(ctx, db, ob, enc)
}

// NewWithEncoder is New with another event encoder (tests use one with a
// topic of their own).
func NewWithEncoder(ctx context.Context, db *sqldb.DB, ob *outbox.Store, enc Encoder) (*Store, error) {
	if db == nil || ob == nil || enc == nil {
		return nil, errors.New("sqlstore: a database, an outbox and an encoder are required")
	}
	if err := db.Migrate(ctx, migrations, "catalog"); err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	return &Store{db: db, outbox: ob, enc: enc}, nil
}

const productColumns = `id, sku, name, description, price_amount, price_currency, category_id, attributes, image_urls, status, version, created_at, updated_at`

// Create implements app.Repository.
func (s *Store) Create(ctx context.Context, p *catalog.Product) error {
	st := p.State()
	row, err := productRow(st)
	if err != nil {
		return err
	}
	evs, err := s.enc.Encode(ctx, p.Events()...)
	if err != nil {
		return fmt.Errorf("sqlstore: create product: %w", err)
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		q := `INSERT INTO catalog_products (` + productColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
		if _, err := tx.ExecContext(ctx, s.db.Rebind(q), row...); err != nil {
			return s.classify(err, catalog.ErrDuplicateSKU)
		}
		return s.outbox.Add(ctx, tx, evs...)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create product %s: %w", st.ID, err)
	}
	return nil
}

// Update implements app.Repository.
func (s *Store) Update(ctx context.Context, id uuid.UUID, fn func(*catalog.Product) error) error {
	for range maxAttempts {
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			lock := ""
			if s.db.Dialect == sqldb.Postgres {
				lock = " FOR UPDATE"
			}
			p, err := s.scanProduct(tx.QueryRowContext(ctx, s.db.Rebind(`SELECT `+productColumns+` FROM catalog_products WHERE id = ?`+lock), id.String()))
			if err != nil {
				return err
			}
			read := p.Version()
			if err := fn(p); err != nil {
				return err
			}
			changes := p.Events()
			if len(changes) == 0 {
				return nil
			}
			evs, err := s.enc.Encode(ctx, changes...)
			if err != nil {
				return err
			}
			st := p.State()
			attrs, images, err := encodeCollections(st.Details)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE catalog_products SET name = ?, description = ?, price_amount = ?,
				price_currency = ?, category_id = ?, attributes = ?, image_urls = ?, status = ?, version = ?, updated_at = ?
				WHERE id = ? AND version = ?`),
				st.Details.Name, st.Details.Description, st.Details.Price.Amount(), st.Details.Price.Currency(),
				st.Details.CategoryID.String(), attrs, images, string(st.Status), st.Version, st.UpdatedAt.UnixMicro(),
				id.String(), read)
			if err != nil {
				return s.classify(err, nil)
			}
			if n, err := res.RowsAffected(); err != nil {
				return s.classify(err, nil)
			} else if n == 0 {
				return errVersionChanged
			}
			return s.outbox.Add(ctx, tx, evs...)
		})
		if errors.Is(err, errVersionChanged) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlstore: update product %s: %w", id, err)
		}
		return nil
	}
	return fault.Retryable(fmt.Errorf("sqlstore: update product %s: %w", id, ErrConcurrentUpdate))
}

// Get implements app.Repository.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (*catalog.Product, error) {
	p, err := s.scanProduct(s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT `+productColumns+` FROM catalog_products WHERE id = ?`), id.String()))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get product %s: %w", id, err)
	}
	return p, nil
}

// List implements app.Repository. Text matches lower(name) and
// lower(description) with LIKE; SQLite lowers ASCII letters only.
func (s *Store) List(ctx context.Context, q app.ProductQuery) (app.Page[*catalog.Product], error) {
	fp := fingerprint(q)
	var (
		where []string
		args  []any
	)
	add := func(cond string, vals ...any) { where = append(where, cond); args = append(args, vals...) }
	if q.Cursor != "" {
		after, err := decodeCursor(q.Cursor, "p", fp)
		if err != nil {
			return app.Page[*catalog.Product]{}, err
		}
		if _, err := uuid.Parse(after); err != nil {
			return app.Page[*catalog.Product]{}, catalog.ErrInvalidCursor
		}
		add("id > ?", after)
	}
	if q.Status != "" {
		add("status = ?", string(q.Status))
	}
	if q.CategoryID != uuid.Nil {
		add("category_id = ?", q.CategoryID.String())
	}
	if q.MinPrice != nil {
		add("price_amount >= ?", *q.MinPrice)
	}
	if q.MaxPrice != nil {
		add("price_amount <= ?", *q.MaxPrice)
	}
	if q.Currency != "" {
		add("price_currency = ?", q.Currency)
	}
	if q.Text != "" {
		pattern := "%" + escapeLike(strings.ToLower(q.Text)) + "%"
		add(`(lower(name) LIKE ? ESCAPE '\' OR lower(description) LIKE ? ESCAPE '\')`, pattern, pattern)
	}
	limit := max(q.Limit, 1)
	query := `SELECT ` + productColumns + ` FROM catalog_products`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY id LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(query), args...)
	if err != nil {
		return app.Page[*catalog.Product]{}, fmt.Errorf("sqlstore: list products: %w", s.classify(err, nil))
	}
	defer func() { _ = rows.Close() }()
	var page app.Page[*catalog.Product]
	for rows.Next() {
		p, err := s.scanProduct(rows)
		if err != nil {
			return app.Page[*catalog.Product]{}, fmt.Errorf("sqlstore: list products: %w", err)
		}
		page.Items = append(page.Items, p)
	}
	if err := rows.Err(); err != nil {
		return app.Page[*catalog.Product]{}, fmt.Errorf("sqlstore: list products: %w", s.classify(err, nil))
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextCursor = encodeCursor("p", fp, page.Items[limit-1].ID().String())
	}
	return page, nil
}

// CreateCategory implements app.CategoryRepository.
func (s *Store) CreateCategory(ctx context.Context, c catalog.Category) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO catalog_categories (id, slug, name, description, created_at) VALUES (?, ?, ?, ?, ?)`),
		c.ID().String(), c.Slug(), c.Name(), c.Description(), c.CreatedAt().UnixMicro())
	if err != nil {
		return fmt.Errorf("sqlstore: create category %s: %w", c.Slug(), s.classify(err, catalog.ErrDuplicateCategory))
	}
	return nil
}

// ListCategories implements app.CategoryRepository.
func (s *Store) ListCategories(ctx context.Context, q app.CategoryQuery) (app.Page[catalog.Category], error) {
	var args []any
	query := `SELECT id, slug, name, description, created_at FROM catalog_categories`
	if q.Cursor != "" {
		after, err := decodeCursor(q.Cursor, "c", "")
		if err != nil {
			return app.Page[catalog.Category]{}, err
		}
		query += ` WHERE slug > ?`
		args = append(args, after)
	}
	limit := max(q.Limit, 1)
	query += ` ORDER BY slug LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(query), args...)
	if err != nil {
		return app.Page[catalog.Category]{}, fmt.Errorf("sqlstore: list categories: %w", s.classify(err, nil))
	}
	defer func() { _ = rows.Close() }()
	var page app.Page[catalog.Category]
	for rows.Next() {
		var (
			id, slug, name, desc string
			created              int64
		)
		if err := rows.Scan(&id, &slug, &name, &desc, &created); err != nil {
			return app.Page[catalog.Category]{}, fmt.Errorf("sqlstore: list categories: %w", s.classify(err, nil))
		}
		uid, err := uuid.Parse(id)
		if err != nil {
			return app.Page[catalog.Category]{}, fault.Permanent(fmt.Errorf("sqlstore: category id %q: %w", id, err))
		}
		c, err := catalog.NewCategory(uid, slug, name, desc, time.UnixMicro(created))
		if err != nil {
			return app.Page[catalog.Category]{}, fault.Permanent(fmt.Errorf("sqlstore: stored category %s: %w", id, err))
		}
		page.Items = append(page.Items, c)
	}
	if err := rows.Err(); err != nil {
		return app.Page[catalog.Category]{}, fmt.Errorf("sqlstore: list categories: %w", s.classify(err, nil))
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextCursor = encodeCursor("c", "", page.Items[limit-1].Slug())
	}
	return page, nil
}

type scanner interface{ Scan(dest ...any) error }

// scanProduct reads one row of productColumns.
func (s *Store) scanProduct(row scanner) (*catalog.Product, error) {
	var (
		id, sku, name, desc, currency, category, attrs, images, status string
		amount, version, created, updated                              int64
	)
	err := row.Scan(&id, &sku, &name, &desc, &amount, &currency, &category, &attrs, &images, &status, &version, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, catalog.ErrProductNotFound
	}
	if err != nil {
		return nil, s.classify(err, nil)
	}
	st := catalog.ProductState{SKU: sku, Status: catalog.Status(status), Version: version,
		CreatedAt: time.UnixMicro(created).UTC(), UpdatedAt: time.UnixMicro(updated).UTC()}
	st.Details.Name, st.Details.Description = name, desc
	if st.ID, err = uuid.Parse(id); err == nil {
		st.Details.CategoryID, err = uuid.Parse(category)
	}
	if err == nil {
		st.Details.Price, err = catalog.NewMoney(amount, currency)
	}
	if err == nil {
		err = json.Unmarshal([]byte(attrs), &st.Details.Attributes)
	}
	if err == nil {
		err = json.Unmarshal([]byte(images), &st.Details.ImageURLs)
	}
	var p *catalog.Product
	if err == nil {
		p, err = catalog.RestoreProduct(st)
	}
	if err != nil {
		return nil, fault.Permanent(fmt.Errorf("sqlstore: stored product %s is unreadable: %w", id, err))
	}
	return p, nil
}

func productRow(st catalog.ProductState) ([]any, error) {
	attrs, images, err := encodeCollections(st.Details)
	if err != nil {
		return nil, err
	}
	d := st.Details
	return []any{st.ID.String(), st.SKU, d.Name, d.Description, d.Price.Amount(), d.Price.Currency(), d.CategoryID.String(),
		attrs, images, string(st.Status), st.Version, st.CreatedAt.UnixMicro(), st.UpdatedAt.UnixMicro()}, nil
}

func encodeCollections(d catalog.Details) (attrs, images string, err error) {
	a, err := json.Marshal(d.Attributes)
	if err != nil {
		return "", "", fault.Permanent(fmt.Errorf("sqlstore: encode attributes: %w", err))
	}
	i, err := json.Marshal(d.ImageURLs)
	if err != nil {
		return "", "", fault.Permanent(fmt.Errorf("sqlstore: encode image URLs: %w", err))
	}
	return string(a), string(i), nil
}

// classify turns constraint violations into the catalog's errors (unique
// into onUnique, the category foreign key into ErrCategoryNotFound) and
// marks the database's transient failures retryable.
func (s *Store) classify(err error, onUnique error) error {
	switch {
	case onUnique != nil && sqldb.IsUniqueViolation(err):
		return onUnique
	case sqldb.IsForeignKeyViolation(err):
		return catalog.ErrCategoryNotFound
	}
	return sqldb.Classify(err)
}

// escapeLike escapes LIKE's wildcards and its escape character.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// fingerprint identifies a query's filters, so that a cursor is only
// accepted with the filters it was issued for.
func fingerprint(q app.ProductQuery) string {
	h := sha256.New()
	for _, s := range []string{q.CategoryID.String(), string(q.Status), q.Currency, q.Text} {
		_ = binary.Write(h, binary.BigEndian, uint32(len(s))) // #nosec G115 -- query fields are bounded by the API
		h.Write([]byte(s))
	}
	for _, p := range []*int64{q.MinPrice, q.MaxPrice} {
		if p == nil {
			h.Write([]byte{0})
			continue
		}
		h.Write([]byte{1})
		_ = binary.Write(h, binary.BigEndian, *p)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// encodeCursor makes an opaque cursor: kind, filter fingerprint and the
// last key of the page.
func encodeCursor(kind, fp, after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + "1:" + fp + ":" + after))
}

func decodeCursor(cursor, kind, fp string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", catalog.ErrInvalidCursor
	}
	rest, ok := strings.CutPrefix(string(raw), kind+"1:"+fp+":")
	if !ok || rest == "" {
		return "", catalog.ErrInvalidCursor
	}
	return rest, nil
}
