-- The recipient of each order, learned from its OrderPlaced; the first one
-- stored is kept. Times are Unix microseconds.
CREATE TABLE notification_recipients (
    order_id    TEXT   PRIMARY KEY,
    customer_id TEXT   NOT NULL,
    email       TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);

-- One message per order, kind and reference: id is derived from the three
-- and (order_id, kind, ref) is the unique key, so a notice rendered twice
-- is stored once. next_attempt_at is set while the message is pending
-- (when it is due, or until when an attempt holds it) and NULL once it is
-- sent or failed. correlation_id is the correlation ID of the event the
-- message was rendered from; the events of the message carry it. version
-- counts the stored changes.
CREATE TABLE notification_messages (
    id              TEXT    PRIMARY KEY,
    order_id        TEXT    NOT NULL,
    customer_id     TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('order_received', 'order_confirmed', 'order_shipped', 'order_delivered',
                                                     'order_completed', 'order_rejected', 'order_cancelled', 'refund_issued')),
    ref             TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at BIGINT,
    last_error      TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    sent_at         BIGINT,
    failed_at       BIGINT,
    correlation_id  TEXT    NOT NULL,
    version         BIGINT  NOT NULL CHECK (version >= 1),
    CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL)),
    UNIQUE (order_id, kind, ref)
);

-- The dispatcher's queue: pending messages, the longest due first.
CREATE INDEX notification_messages_due ON notification_messages (next_attempt_at, id) WHERE status = 'pending';
-- A customer's messages, newest first.
CREATE INDEX notification_messages_customer ON notification_messages (customer_id, created_at, id);
