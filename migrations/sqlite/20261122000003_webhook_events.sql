-- Webhook events: their own delivery queue (DESIGN §7). One row per event, created by a trigger in
-- the same transaction as the job's terminal transition, so no path that ends a job can forget
-- its webhook and no crash can fall between the two. Instants are Unix milliseconds.
CREATE TABLE webhook_events (
    -- The `webhook-id` header: the same on every attempt, so receivers can deduplicate.
    id               TEXT PRIMARY KEY,
    tenant_id        BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    job_id           BLOB NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    event_type       TEXT NOT NULL CHECK (event_type IN ('job.succeeded', 'job.failed', 'job.cancelled')),
    url              TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- The body, frozen by the first attempt: every retry sends the same bytes.
    payload          TEXT,
    -- When the next attempt is due; a claim pushes it past the claimer's own attempt.
    next_attempt_at  INTEGER NOT NULL,
    lease_owner      TEXT,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER
);

CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_events_by_job ON webhook_events (job_id, created_at);

CREATE TABLE webhook_attempts (
    event_id     TEXT NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL CHECK (attempt >= 1),
    started_at   INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    PRIMARY KEY (event_id, attempt)
);

CREATE TRIGGER jobs_webhook AFTER UPDATE OF status ON jobs
    WHEN NEW.webhook_url IS NOT NULL
         AND NEW.status IN ('succeeded', 'failed', 'cancelled')
         AND OLD.status IS NOT NEW.status
BEGIN
    INSERT INTO webhook_events (id, tenant_id, job_id, event_type, url, next_attempt_at, created_at)
    VALUES ('msg_' || lower(hex(randomblob(16))), NEW.tenant_id, NEW.id, 'job.' || NEW.status,
            NEW.webhook_url,
            COALESCE(NEW.finished_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)),
            COALESCE(NEW.finished_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)));
END;
