-- One row per order. A cart becomes at most one order (cart_id is
-- unique). version orders the changes of one order: every update is
-- conditional on the version it read. The lines and the address are JSON
-- documents of the order's own; the payment token is kept only until
-- payment is asked to authorize. deadline_at is the current saga step's
-- deadline, NULL once the saga is done.
CREATE TABLE orders (
    id                     TEXT    PRIMARY KEY,
    customer_id            TEXT    NOT NULL,
    cart_id                TEXT    NOT NULL UNIQUE,
    status                 TEXT    NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'SHIPPED', 'COMPLETED', 'REJECTED', 'CANCELLED')),
    step                   TEXT    NOT NULL CHECK (step IN ('reserving_stock', 'authorizing_payment', 'shipping', 'capturing_payment', 'done')),
    lines                  TEXT    NOT NULL,
    currency               TEXT    NOT NULL,
    total                  BIGINT  NOT NULL CHECK (total > 0),
    shipping_address       TEXT    NOT NULL,
    email                  TEXT    NOT NULL,
    payment_token          TEXT    NOT NULL DEFAULT '',
    payment_id             TEXT    NOT NULL DEFAULT '',
    shipment_id            TEXT    NOT NULL DEFAULT '',
    carrier                TEXT    NOT NULL DEFAULT '',
    tracking_number        TEXT    NOT NULL DEFAULT '',
    end_code               TEXT    NOT NULL DEFAULT '',
    end_message            TEXT    NOT NULL DEFAULT '',
    refunded               BOOLEAN NOT NULL DEFAULT FALSE,
    version                BIGINT  NOT NULL CHECK (version >= 1),
    created_at             BIGINT  NOT NULL,
    updated_at             BIGINT  NOT NULL,
    deadline_at            BIGINT,
    reservation_expires_at BIGINT  NOT NULL
);

-- A customer's orders, newest first (IDs are time-ordered UUIDs).
CREATE INDEX orders_by_customer ON orders (customer_id, id);

-- The deadlines of the orders whose saga is still under way.
CREATE INDEX orders_due ON orders (deadline_at) WHERE deadline_at IS NOT NULL;
