CREATE TABLE IF NOT EXISTS inbox (
    consumer_group TEXT   NOT NULL,
    event_id       TEXT   NOT NULL,
    processed_at   BIGINT NOT NULL,
    PRIMARY KEY (consumer_group, event_id)
);
CREATE INDEX IF NOT EXISTS inbox_processed_at ON inbox (processed_at);
