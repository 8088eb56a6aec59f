-- One row per cart. version orders the changes of one cart: every update
-- is conditional on the version it read (optimistic concurrency).
CREATE TABLE carts (
    id          TEXT   PRIMARY KEY,
    customer_id TEXT   NOT NULL,
    currency    TEXT   NOT NULL,
    status      TEXT   NOT NULL CHECK (status IN ('open', 'checked_out', 'expired', 'abandoned')),
    order_id    TEXT   NOT NULL DEFAULT '',
    version     BIGINT NOT NULL CHECK (version >= 1),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE INDEX carts_by_customer ON carts (customer_id, id);
CREATE INDEX carts_by_activity ON carts (status, updated_at);

-- The lines of a cart, in the order they were added (position).
CREATE TABLE cart_lines (
    cart_id     TEXT   NOT NULL REFERENCES carts (id),
    product_id  TEXT   NOT NULL,
    position    INTEGER NOT NULL,
    sku         TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    quantity    BIGINT NOT NULL CHECK (quantity > 0),
    unit_amount BIGINT NOT NULL CHECK (unit_amount >= 0),
    added_at    BIGINT NOT NULL,
    PRIMARY KEY (cart_id, product_id)
);

-- The read model of the catalog's products: the latest version of each
-- product the catalog's events told about.
CREATE TABLE cart_products (
    product_id TEXT   PRIMARY KEY,
    sku        TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    amount     BIGINT NOT NULL CHECK (amount > 0),
    currency   TEXT   NOT NULL,
    status     TEXT   NOT NULL,
    version    BIGINT NOT NULL CHECK (version >= 1),
    updated_at BIGINT NOT NULL
);
