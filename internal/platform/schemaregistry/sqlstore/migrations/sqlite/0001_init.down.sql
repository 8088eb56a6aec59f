DROP TABLE sr_config;
DROP TABLE sr_subject_versions;
DROP TABLE sr_schema_references;
DROP TABLE sr_schemas;
