-- Idempotency keys are unique per tenant where there is one: a partial unique index instead of
-- the table's UNIQUE (tenant_id, idempotency_key), which also indexed every job without a key
-- (NULLs are indexed) and took a new entry at every update of such a job — its insert, its
-- claim and its result, all for nothing. `INSERT … ON CONFLICT (tenant_id, idempotency_key)
-- WHERE idempotency_key IS NOT NULL` names this index (jobs/src/store/batch.rs).
CREATE UNIQUE INDEX jobs_idempotency ON jobs (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
ALTER TABLE jobs DROP CONSTRAINT jobs_tenant_id_idempotency_key_key;
