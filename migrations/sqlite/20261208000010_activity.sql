-- What the workers did, per minute and per day (jobs/src/activity.rs): one row per process and
-- period, its figures as JSON text, written whole at each flush (every few seconds) and deleted
-- once older than its period keeps (minutes two hours, days 35 days). `start_at` is unix seconds.
CREATE TABLE activity (
    period    text NOT NULL CHECK (period IN ('minute', 'day')),
    start_at  bigint NOT NULL,
    source    text NOT NULL,
    body      text NOT NULL,
    PRIMARY KEY (period, start_at, source)
);

-- The console lists a tenant's schedules due next.
CREATE INDEX motivation_schedules_by_tenant_due ON motivation_schedules (tenant_id, next_run_at);
