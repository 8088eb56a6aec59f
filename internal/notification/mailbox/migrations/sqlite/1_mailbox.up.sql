-- The local mailbox: one email per message ID, as the dispatcher sent it.
-- recipient_key is the address in lower case, for lookups without regard
-- to case. received_at is Unix microseconds.
CREATE TABLE mailbox_messages (
    id            TEXT   PRIMARY KEY,
    recipient     TEXT   NOT NULL,
    recipient_key TEXT   NOT NULL,
    subject       TEXT   NOT NULL,
    body_text     TEXT   NOT NULL,
    body_html     TEXT   NOT NULL,
    received_at   BIGINT NOT NULL
);

CREATE INDEX mailbox_messages_received ON mailbox_messages (received_at, id);
CREATE INDEX mailbox_messages_recipient ON mailbox_messages (recipient_key, received_at, id);
