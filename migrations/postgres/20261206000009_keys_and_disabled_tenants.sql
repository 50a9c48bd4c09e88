-- Operator controls: several named API keys per tenant, each revocable and optionally expiring,
-- with the time it was last used; tenants that can be disabled. A change to what authenticates
-- (a key revoked or its expiry changed, a tenant disabled or enabled) notifies the channel
-- `sparta_auth_changes`: every API process then forgets the key lookups it cached, so the change
-- holds on its next request, not after the cache's 30 s.
ALTER TABLE tenants ADD COLUMN disabled_at timestamptz;

ALTER TABLE api_keys
    ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid(),
    ADD COLUMN name text NOT NULL DEFAULT 'default',
    ADD COLUMN last_used_at timestamptz,
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN revoked_at timestamptz;
CREATE UNIQUE INDEX api_keys_id ON api_keys (id);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);

CREATE FUNCTION sparta_notify_auth_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('sparta_auth_changes', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Not on `last_used_at`: that changes with traffic and authenticates nothing.
CREATE TRIGGER api_keys_auth_change
    AFTER UPDATE OF revoked_at, expires_at OR DELETE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION sparta_notify_auth_change();
CREATE TRIGGER tenants_auth_change
    AFTER UPDATE OF disabled_at OR DELETE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION sparta_notify_auth_change();
