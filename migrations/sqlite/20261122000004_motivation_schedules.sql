-- Daily motivation schedules: one row per tenant (athlete_id '') and per subscribed athlete.
-- The messages themselves are motivation jobs whose idempotency key names the tenant/athlete and
-- the local day, so the jobs table's unique key makes a second message for a day impossible.
-- Instants are Unix milliseconds; the local date is YYYY-MM-DD.
CREATE TABLE motivation_schedules (
    tenant_id        BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    athlete_id       TEXT NOT NULL,
    timezone         TEXT NOT NULL,
    local_time       TEXT NOT NULL,
    profile          TEXT NOT NULL,
    next_local_date  TEXT NOT NULL,
    next_run_at      INTEGER NOT NULL,
    version          INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, athlete_id)
);

CREATE INDEX motivation_schedules_due ON motivation_schedules (next_run_at);
