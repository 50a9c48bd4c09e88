-- SPARTA store, Postgres. Every state change is one conditional UPDATE (see jobs/src/store/pg.rs).
CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL
);

-- Keys are stored only as their SHA-256 (hex).
CREATE TABLE api_keys (
    key_hash    text PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL
);

CREATE TABLE jobs (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind              text NOT NULL,
    status            text NOT NULL
                      CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    input             jsonb NOT NULL,
    output            jsonb,
    error             jsonb,
    attempt           integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts      integer NOT NULL CHECK (max_attempts >= 1),
    priority          smallint NOT NULL CHECK (priority BETWEEN 0 AND 9),
    run_at            timestamptz NOT NULL,
    lease_owner       text,
    lease_expires_at  timestamptz,
    -- When the job id was last handed to the queue; the reconciler re-announces stale ones.
    announced_at      timestamptz,
    idempotency_key   text,
    request_hash      text NOT NULL,
    webhook_url       text,
    metadata          jsonb,
    prompt_version    text,
    provider          text,
    model             text,
    input_tokens      bigint NOT NULL DEFAULT 0,
    output_tokens     bigint NOT NULL DEFAULT 0,
    cost_usd          double precision NOT NULL DEFAULT 0,
    trace             jsonb NOT NULL DEFAULT '[]'::jsonb,
    request_id        text,
    created_at        timestamptz NOT NULL,
    started_at        timestamptz,
    finished_at       timestamptz,
    -- A running job always has a lease; nothing else has one.
    CHECK ((status = 'running') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
    UNIQUE (tenant_id, idempotency_key)
);

-- Claiming: due queued jobs by priority, then age.
CREATE INDEX jobs_due ON jobs (priority DESC, run_at, id) WHERE status = 'queued';
-- Recovery: running jobs by lease expiry.
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE status = 'running';
-- Listing: a tenant's jobs newest first.
CREATE INDEX jobs_by_tenant ON jobs (tenant_id, id DESC);
-- The per-tenant cap on queued jobs.
CREATE INDEX jobs_queued_by_tenant ON jobs (tenant_id) WHERE status = 'queued';
