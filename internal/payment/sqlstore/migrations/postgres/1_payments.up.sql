-- One payment per order (order_id is unique): the guard against charging
-- an order twice.
CREATE TABLE payments (
    id             TEXT   PRIMARY KEY,
    order_id       TEXT   NOT NULL UNIQUE,
    customer_id    TEXT   NOT NULL,
    amount         BIGINT NOT NULL CHECK (amount > 0),
    currency       TEXT   NOT NULL,
    status         TEXT   NOT NULL CHECK (status IN ('pending', 'authorized', 'declined', 'failed', 'voided',
                                                     'captured', 'partially_refunded', 'refunded')),
    failure_reason TEXT   NOT NULL DEFAULT '',
    version        BIGINT NOT NULL CHECK (version >= 1),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE INDEX payments_customer ON payments (customer_id, id);

-- The gateway operations of a payment, unique per (payment, kind,
-- reference): an operation is recorded once however often it is retried.
CREATE TABLE payment_operations (
    payment_id  TEXT   NOT NULL REFERENCES payments (id),
    kind        TEXT   NOT NULL CHECK (kind IN ('authorize', 'capture', 'void', 'refund')),
    reference   TEXT   NOT NULL,
    seq         INTEGER NOT NULL,
    amount      BIGINT NOT NULL CHECK (amount > 0),
    currency    TEXT   NOT NULL,
    gateway_id  TEXT   NOT NULL,
    reason      TEXT   NOT NULL DEFAULT '',
    occurred_at BIGINT NOT NULL,
    PRIMARY KEY (payment_id, kind, reference),
    UNIQUE (payment_id, seq)
);

-- The double-entry ledger: each operation debits one account (positive
-- amount) and credits another (negative amount) with the same amount, so
-- the entries of every currency sum to zero and balances derive from them.
CREATE TABLE payment_ledger_entries (
    payment_id TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    reference  TEXT   NOT NULL,
    account    TEXT   NOT NULL CHECK (account IN ('customer', 'held', 'merchant')),
    amount     BIGINT NOT NULL CHECK (amount <> 0),
    currency   TEXT   NOT NULL,
    PRIMARY KEY (payment_id, kind, reference, account),
    FOREIGN KEY (payment_id, kind, reference) REFERENCES payment_operations (payment_id, kind, reference)
);
