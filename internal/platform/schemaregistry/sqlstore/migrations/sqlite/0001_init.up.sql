-- Agora's embedded schema registry, SQLite flavour.
CREATE TABLE sr_schemas (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT    NOT NULL UNIQUE,
    schema_type TEXT    NOT NULL,
    schema_text TEXT    NOT NULL
);

CREATE TABLE sr_schema_references (
    schema_id INTEGER NOT NULL REFERENCES sr_schemas (id),
    position  INTEGER NOT NULL,
    name      TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    PRIMARY KEY (schema_id, position)
);

CREATE INDEX sr_schema_references_target ON sr_schema_references (subject, version);

CREATE TABLE sr_subject_versions (
    subject   TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    schema_id INTEGER NOT NULL REFERENCES sr_schemas (id),
    deleted   BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (subject, version)
);

CREATE INDEX sr_subject_versions_schema ON sr_subject_versions (schema_id);

CREATE TABLE sr_config (
    subject       TEXT NOT NULL PRIMARY KEY,
    compatibility TEXT NOT NULL
);
