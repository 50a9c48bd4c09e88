-- Webhook events: their own delivery queue (DESIGN §7). One row per event, created by a trigger in
-- the same transaction as the job's terminal transition, so no path that ends a job (a result, a
-- cancellation, attempts exhausted, a lease that expired for the last time) can forget its webhook
-- and no crash can fall between the two.
CREATE TABLE webhook_events (
    -- The `webhook-id` header: the same on every attempt, so receivers can deduplicate.
    id               text PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    job_id           uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    event_type       text NOT NULL CHECK (event_type IN ('job.succeeded', 'job.failed', 'job.cancelled')),
    url              text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    -- The body, frozen by the first attempt: every retry sends the same bytes.
    payload          text,
    -- When the next attempt is due. A deliverer that claims the event pushes it past its own
    -- attempt, so a deliverer that dies mid-attempt only delays the event.
    next_attempt_at  timestamptz NOT NULL,
    lease_owner      text,
    created_at       timestamptz NOT NULL,
    -- When it was delivered or given up.
    finished_at      timestamptz
);

CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_events_by_job ON webhook_events (job_id, created_at);

-- Every attempt, as listed at GET /v1/jobs/{id}/deliveries.
CREATE TABLE webhook_attempts (
    event_id     text NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    attempt      integer NOT NULL CHECK (attempt >= 1),
    started_at   timestamptz NOT NULL,
    duration_ms  bigint NOT NULL,
    status_code  integer,
    error        text,
    PRIMARY KEY (event_id, attempt)
);

CREATE FUNCTION enqueue_job_webhook() RETURNS trigger AS $$
BEGIN
    INSERT INTO webhook_events (id, tenant_id, job_id, event_type, url, next_attempt_at, created_at)
    VALUES ('msg_' || replace(gen_random_uuid()::text, '-', ''), NEW.tenant_id, NEW.id,
            'job.' || NEW.status, NEW.webhook_url,
            COALESCE(NEW.finished_at, now()), COALESCE(NEW.finished_at, now()));
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER jobs_webhook AFTER UPDATE OF status ON jobs FOR EACH ROW
    WHEN (NEW.webhook_url IS NOT NULL
          AND NEW.status IN ('succeeded', 'failed', 'cancelled')
          AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION enqueue_job_webhook();
