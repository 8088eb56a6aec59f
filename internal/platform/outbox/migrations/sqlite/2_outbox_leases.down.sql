DROP INDEX IF EXISTS outbox_leased;
