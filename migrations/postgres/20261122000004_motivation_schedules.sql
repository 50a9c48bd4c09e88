-- Daily motivation schedules: one row per tenant (athlete_id '') and per subscribed athlete.
-- The messages themselves are motivation jobs whose idempotency key names the tenant/athlete and
-- the local day, so the jobs table's unique key makes a second message for a day impossible.
CREATE TABLE motivation_schedules (
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    athlete_id       text NOT NULL,
    timezone         text NOT NULL,
    local_time       text NOT NULL,
    profile          jsonb NOT NULL,
    next_local_date  date NOT NULL,
    next_run_at      timestamptz NOT NULL,
    -- Bumped on every write: advancing after a run is conditional on it.
    version          bigint NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, athlete_id)
);

CREATE INDEX motivation_schedules_due ON motivation_schedules (next_run_at);
