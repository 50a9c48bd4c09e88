-- SPARTA store, SQLite. Instants are INTEGER milliseconds since the Unix epoch (they compare and
-- sort as numbers); ids are 16-byte BLOBs (UUIDv7, so they sort by time); JSON is TEXT.
CREATE TABLE tenants (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

-- Keys are stored only as their SHA-256 (hex).
CREATE TABLE api_keys (
    key_hash    TEXT PRIMARY KEY,
    tenant_id   BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE jobs (
    id                BLOB PRIMARY KEY,
    tenant_id         BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind              TEXT NOT NULL,
    status            TEXT NOT NULL
                      CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    input             TEXT NOT NULL,
    output            TEXT,
    error             TEXT,
    attempt           INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts      INTEGER NOT NULL CHECK (max_attempts >= 1),
    priority          INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 9),
    run_at            INTEGER NOT NULL,
    lease_owner       TEXT,
    lease_expires_at  INTEGER,
    announced_at      INTEGER,
    idempotency_key   TEXT,
    request_hash      TEXT NOT NULL,
    webhook_url       TEXT,
    metadata          TEXT,
    prompt_version    TEXT,
    provider          TEXT,
    model             TEXT,
    input_tokens      INTEGER NOT NULL DEFAULT 0,
    output_tokens     INTEGER NOT NULL DEFAULT 0,
    cost_usd          REAL NOT NULL DEFAULT 0,
    trace             TEXT NOT NULL DEFAULT '[]',
    request_id        TEXT,
    created_at        INTEGER NOT NULL,
    started_at        INTEGER,
    finished_at       INTEGER,
    CHECK ((status = 'running') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
    UNIQUE (tenant_id, idempotency_key)
) STRICT;

CREATE INDEX jobs_due ON jobs (priority DESC, run_at, id) WHERE status = 'queued';
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX jobs_by_tenant ON jobs (tenant_id, id DESC);
-- The per-tenant cap on queued jobs.
CREATE INDEX jobs_queued_by_tenant ON jobs (tenant_id) WHERE status = 'queued';
