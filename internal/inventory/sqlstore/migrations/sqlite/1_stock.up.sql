-- One row per SKU: its settings and the version every change of any of its
-- levels increments (the SKU's ETag, and the row that serializes changes of
-- one SKU).
CREATE TABLE stock_items (
    sku                 TEXT PRIMARY KEY,
    low_stock_threshold BIGINT NOT NULL DEFAULT 0 CHECK (low_stock_threshold >= 0),
    version             BIGINT NOT NULL CHECK (version >= 1),
    updated_at          BIGINT NOT NULL
);

-- Stock of a SKU in a warehouse. Reserved never exceeds on hand, so
-- available (on_hand - reserved) is never negative.
CREATE TABLE stock (
    sku       TEXT   NOT NULL REFERENCES stock_items (sku),
    warehouse TEXT   NOT NULL,
    on_hand   BIGINT NOT NULL CHECK (on_hand >= 0),
    reserved  BIGINT NOT NULL CHECK (reserved >= 0),
    CHECK (reserved <= on_hand),
    PRIMARY KEY (sku, warehouse)
);

-- One reservation per order.
CREATE TABLE stock_reservations (
    order_id   TEXT   PRIMARY KEY,
    status     TEXT   NOT NULL CHECK (status IN ('active', 'released', 'committed')),
    reason     TEXT   NOT NULL DEFAULT '',
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version    BIGINT NOT NULL
);

CREATE INDEX stock_reservations_expiry ON stock_reservations (status, expires_at);

CREATE TABLE stock_reservation_lines (
    order_id  TEXT   NOT NULL REFERENCES stock_reservations (order_id),
    sku       TEXT   NOT NULL,
    warehouse TEXT   NOT NULL,
    quantity  BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, sku, warehouse)
);
