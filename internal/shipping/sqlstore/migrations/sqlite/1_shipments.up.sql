-- One shipment per order (order_id is unique). Times are Unix
-- microseconds; a NULL time has not happened (or, for next_step_at, is not
-- scheduled). version counts the stored changes and is the shipment's ETag.
CREATE TABLE shipments (
    id              TEXT   PRIMARY KEY,
    order_id        TEXT   NOT NULL UNIQUE,
    customer_id     TEXT   NOT NULL,
    status          TEXT   NOT NULL CHECK (status IN ('label_created', 'in_transit', 'delivered', 'cancelled')),
    carrier         TEXT   NOT NULL,
    tracking_number TEXT   NOT NULL,
    label_id        TEXT   NOT NULL,
    address         TEXT   NOT NULL,
    lines           TEXT   NOT NULL,
    next_step_at    BIGINT,
    shipped_at      BIGINT,
    delivered_at    BIGINT,
    cancelled_at    BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    version         BIGINT NOT NULL CHECK (version >= 1)
);

-- The shipments the advancer moves on, earliest first.
CREATE INDEX shipments_due ON shipments (next_step_at) WHERE next_step_at IS NOT NULL;
