CREATE TABLE IF NOT EXISTS {{.Table}} (
    id          TEXT     PRIMARY KEY,
    fingerprint TEXT     NOT NULL,
    token       TEXT     NOT NULL,
    state       SMALLINT NOT NULL,
    status      INTEGER  NOT NULL DEFAULT 0,
    headers     TEXT     NOT NULL DEFAULT '',
    body        BYTEA,
    expires_at  BIGINT   NOT NULL
);
CREATE INDEX IF NOT EXISTS {{.Table}}_expires_at ON {{.Table}} (expires_at);
