-- The keys other relays hold leases on, found without scanning the backlog.
CREATE INDEX IF NOT EXISTS outbox_leased ON outbox (topic, msg_key) WHERE published_at IS NULL AND lease_owner IS NOT NULL;
