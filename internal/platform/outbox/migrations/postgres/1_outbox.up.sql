CREATE TABLE IF NOT EXISTS outbox (
    seq          BIGSERIAL PRIMARY KEY,
    event_id     TEXT   NOT NULL UNIQUE,
    topic        TEXT   NOT NULL,
    msg_key      TEXT   NOT NULL,
    value        BYTEA  NOT NULL,
    metadata     TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    lease_owner  TEXT,
    lease_until  BIGINT,
    published_at BIGINT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (seq) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_pending_key ON outbox (topic, msg_key, seq) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Wake idle relays as soon as a transaction that wrote events commits.
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('agora_outbox', '');
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS outbox_notify ON outbox;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
