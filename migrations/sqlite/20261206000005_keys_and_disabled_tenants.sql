-- Operator controls: several named API keys per tenant, each revocable and optionally expiring,
-- with the time it was last used; tenants that can be disabled. (Embedded mode is one process:
-- the store tells its own key cache about changes, no notification is needed.) Instants are
-- milliseconds since the epoch, ids 16-byte blobs, as everywhere in this schema.
ALTER TABLE tenants ADD COLUMN disabled_at INTEGER;

ALTER TABLE api_keys ADD COLUMN id BLOB;
ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT 'default';
ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;
UPDATE api_keys SET id = randomblob(16) WHERE id IS NULL;
CREATE UNIQUE INDEX api_keys_id ON api_keys (id);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);
