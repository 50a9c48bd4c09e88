-- LLM budgets per tenant, in micro-dollars: a monthly ceiling and an optional daily one
-- (instants in milliseconds, ids 16-byte blobs, as everywhere in this schema). A job
-- that may call a priced model reserves its worst case before it runs (one row per job,
-- replaced when the job runs again); the reservation is settled into the day's spend per model
-- when the attempt ends. Days are UTC dates written `YYYY-MM-DD`, so a month is a text range.
CREATE TABLE llm_budgets (
    tenant_id      BLOB PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    monthly_micros INTEGER NOT NULL CHECK (monthly_micros >= 0),
    daily_micros   INTEGER CHECK (daily_micros >= 0),
    updated_at     INTEGER NOT NULL
);

CREATE TABLE llm_reservations (
    job_id        BLOB PRIMARY KEY,
    tenant_id     BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day           TEXT NOT NULL,
    amount_micros INTEGER NOT NULL CHECK (amount_micros >= 0),
    created_at    INTEGER NOT NULL
);
CREATE INDEX llm_reservations_by_tenant ON llm_reservations (tenant_id, day);

CREATE TABLE llm_spend (
    tenant_id    BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day          TEXT NOT NULL,
    model        TEXT NOT NULL,
    spent_micros INTEGER NOT NULL,
    calls        INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, day, model)
);
