CREATE TABLE catalog_categories (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    CONSTRAINT catalog_categories_slug_key UNIQUE (slug)
);

CREATE TABLE catalog_products (
    id             TEXT PRIMARY KEY,
    sku            TEXT NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL,
    price_amount   INTEGER NOT NULL CHECK (price_amount > 0),
    price_currency TEXT NOT NULL,
    category_id    TEXT NOT NULL REFERENCES catalog_categories (id),
    attributes     TEXT NOT NULL,
    image_urls     TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
    version        INTEGER NOT NULL CHECK (version > 0),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    CONSTRAINT catalog_products_sku_key UNIQUE (sku)
);

CREATE INDEX catalog_products_status_id ON catalog_products (status, id);
CREATE INDEX catalog_products_category_id ON catalog_products (category_id, id);
