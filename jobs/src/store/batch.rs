//! The batched statements of the hot path, written once for both stores.
//!
//! A batch travels to the database as one JSON array, unpacked by the statement itself
//! (`json_to_recordset` in Postgres, `json_each` in SQLite): one statement, one round trip and
//! one commit per batch whatever its size, with the per-row conditions (the lease fence, the
//! idempotency key) still judged row by row. What differs between the stores is only the
//! [`Dialect`]: the SQL text and how an id and an instant are spelled inside the JSON.

use std::collections::HashSet;

use chrono::{DateTime, SecondsFormat, SubsecRound as _, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::{ColumnReader, job_from, required};
use crate::JobsError;
use crate::model::{Finish, Finished, Inserted, Job, JobFailure, JobId, NewJob, Outcome, TenantId};

/// What differs between the stores in a batched statement.
pub(super) trait Dialect {
    /// Inserts the jobs of an [`insert_payload`] (`$1`/`?1`), skipping idempotency conflicts,
    /// returning the ids inserted.
    const INSERT_MANY: &'static str;
    /// Writes the results of a [`finish_payload`] (`$1`/`?1`) at `now` (`$2`/`?2`), each fenced
    /// on its own lease, returning what [`finished_from`] reads of the rows written. Postgres
    /// also takes the number of results (`$3`), for its planner.
    const FINISH_MANY: &'static str;
    /// Extends the leases of a worker (`$1`/`?1`) on the jobs of an [`ids_payload`]
    /// (`$3`/`?3`) to `$2`/`?2`, returning the ids the worker still holds.
    const RENEW_LEASES: &'static str;
    /// Moves the motivation schedules of an advance payload (`$1`/`?1`) on, each fenced on its
    /// version, at `now` (`$2`/`?2`).
    const ADVANCE_SCHEDULES: &'static str;

    /// A job or tenant id as the statement reads it from JSON.
    fn id(id: Uuid) -> Value;
    /// An instant as the statement reads it from JSON.
    fn instant(at: DateTime<Utc>) -> Value;
    /// `at` at the precision the store keeps, so a job built locally equals the stored one.
    fn precise(at: DateTime<Utc>) -> DateTime<Utc>;
}

/// Postgres: ids as UUID text, instants as RFC 3339 with microseconds (its precision). Batches
/// are read as `json`, not `jsonb`: the input and output columns are `json` (migration
/// `20261206000008`), and parsing a batch of results into a `jsonb` tree first took half of the
/// statement (8 ms of 16 for 183 results of 3.9 KB).
pub(super) struct Postgres;

impl Dialect for Postgres {
    const INSERT_MANY: &'static str = "INSERT INTO jobs (id, tenant_id, kind, status, input, \
        max_attempts, priority, run_at, announced_at, idempotency_key, request_hash, webhook_url, \
        metadata, request_id, traceparent, athlete_id, created_at) \
        SELECT v.id, v.tenant_id, v.kind, 'queued', v.input, v.max_attempts, v.priority, \
               v.created_at, v.created_at, v.idempotency_key, v.request_hash, v.webhook_url, \
               v.metadata, v.request_id, v.traceparent, v.athlete_id, v.created_at \
        FROM json_to_recordset($1::json) AS v(id uuid, tenant_id uuid, kind text, input json, \
             max_attempts integer, priority smallint, idempotency_key text, request_hash text, \
             webhook_url text, metadata jsonb, request_id text, traceparent text, \
             athlete_id text, created_at timestamptz) \
        ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL \
        DO NOTHING RETURNING id";

    // A retry with no attempts left is the job's failure. A primary-key lookup per row, as in
    // `claim_many`: through the partial index `jobs_leases`, the planner visited every entry of
    // a job that ran since the last vacuum (26,000 entries, 2,300 heap pages for 100 rows while
    // draining a backlog); `IS TRUE` keeps the conditions from implying that index's predicate.
    // `LIMIT $3` (the batch's length) tells the planner how many rows the payload holds: it
    // assumes 100 for any set-returning function, and for a result or two it then preferred
    // reading the whole table to 100 lookups (2.4 ms a statement at 1,000 jobs/s, not 0.2).
    const FINISH_MANY: &'static str = "UPDATE jobs j SET \
          status = CASE WHEN v.status = 'queued' AND j.attempt >= j.max_attempts THEN 'failed' \
                        ELSE v.status END, \
          output = v.output, error = v.error, run_at = COALESCE(v.run_at, j.run_at), \
          announced_at = CASE WHEN v.status = 'queued' THEN NULL ELSE j.announced_at END, \
          finished_at = CASE WHEN v.status = 'queued' AND j.attempt < j.max_attempts THEN NULL \
                             ELSE $2 END, \
          lease_owner = NULL, lease_expires_at = NULL, \
          provider = COALESCE(v.provider, j.provider), model = COALESCE(v.model, j.model), \
          prompt_version = COALESCE(v.prompt_version, j.prompt_version), \
          input_tokens = j.input_tokens + v.input_tokens, \
          output_tokens = j.output_tokens + v.output_tokens, \
          cost_usd = j.cost_usd + v.cost_usd, trace = j.trace || v.trace \
        FROM (SELECT * FROM json_to_recordset($1::json) AS r(id uuid, worker text, status text, \
              output json, error jsonb, run_at timestamptz, provider text, model text, \
              prompt_version text, input_tokens bigint, output_tokens bigint, \
              cost_usd double precision, trace jsonb) LIMIT $3) AS v \
        WHERE j.id = v.id AND (j.status = 'running' AND j.lease_owner = v.worker) IS TRUE \
        RETURNING j.id, j.tenant_id, j.status, (j.webhook_url IS NOT NULL)::integer AS webhook";

    // The renewal never waits for a row lock, so it cannot take part in a deadlock. Waiting, it
    // locked the worker's rows in its own order while the worker's result write locked some of
    // the same rows in another: under a 100,000-job fan-out Postgres found a deadlock about
    // every ten seconds and aborted a result batch, whose 100 jobs then waited for their leases
    // to expire (the fan-out took 43 s instead of 15). A row locked by another statement (the
    // result being written, a cancellation) is left for the next heartbeat; the answer is the
    // jobs the worker still holds as of the statement's start, renewed or not.
    const RENEW_LEASES: &'static str = "WITH held AS ( \
          SELECT id FROM jobs \
          WHERE id IN (SELECT value::uuid FROM json_array_elements_text($3::json)) \
            AND status = 'running' AND lease_owner = $1), \
        renewed AS ( \
          UPDATE jobs SET lease_expires_at = $2 \
          WHERE id IN (SELECT id FROM jobs WHERE id IN (SELECT id FROM held) \
                       FOR NO KEY UPDATE SKIP LOCKED) \
            AND status = 'running' AND lease_owner = $1) \
        SELECT id FROM held";

    const ADVANCE_SCHEDULES: &'static str = "UPDATE motivation_schedules m SET \
          next_local_date = v.date::date, next_run_at = v.at, version = m.version + 1, \
          updated_at = $2 \
        FROM jsonb_to_recordset($1::jsonb) AS v(tenant_id uuid, athlete_id text, version bigint, \
             date text, at timestamptz) \
        WHERE m.tenant_id = v.tenant_id AND m.athlete_id = v.athlete_id AND m.version = v.version";

    fn id(id: Uuid) -> Value {
        Value::String(id.to_string())
    }

    fn instant(at: DateTime<Utc>) -> Value {
        Value::String(at.to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    fn precise(at: DateTime<Utc>) -> DateTime<Utc> {
        at.trunc_subsecs(6)
    }
}

/// SQLite: ids as hex of their 16 bytes (`unhex`), instants as milliseconds (its precision).
pub(super) struct Sqlite;

impl Dialect for Sqlite {
    // `WHERE true` tells SQLite's parser the `ON CONFLICT` belongs to the insert.
    const INSERT_MANY: &'static str = "INSERT INTO jobs (id, tenant_id, kind, status, input, \
        max_attempts, priority, run_at, announced_at, idempotency_key, request_hash, webhook_url, \
        metadata, request_id, traceparent, athlete_id, created_at) \
        SELECT unhex(value ->> 'id'), unhex(value ->> 'tenant_id'), value ->> 'kind', 'queued', \
               value -> 'input', value ->> 'max_attempts', value ->> 'priority', \
               value ->> 'created_at', value ->> 'created_at', value ->> 'idempotency_key', \
               value ->> 'request_hash', value ->> 'webhook_url', value -> 'metadata', \
               value ->> 'request_id', value ->> 'traceparent', value ->> 'athlete_id', \
               value ->> 'created_at' \
        FROM json_each(?1) WHERE true \
        ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id";

    // SQLite has no JSON array concatenation: the traces are spliced as minified text.
    const FINISH_MANY: &'static str = "UPDATE jobs SET \
          status = CASE WHEN v.status = 'queued' AND jobs.attempt >= jobs.max_attempts \
                        THEN 'failed' ELSE v.status END, \
          output = v.output, error = v.error, run_at = COALESCE(v.run_at, jobs.run_at), \
          announced_at = CASE WHEN v.status = 'queued' THEN NULL ELSE jobs.announced_at END, \
          finished_at = CASE WHEN v.status = 'queued' AND jobs.attempt < jobs.max_attempts \
                             THEN NULL ELSE ?2 END, \
          lease_owner = NULL, lease_expires_at = NULL, \
          provider = COALESCE(v.provider, jobs.provider), model = COALESCE(v.model, jobs.model), \
          prompt_version = COALESCE(v.prompt_version, jobs.prompt_version), \
          input_tokens = jobs.input_tokens + v.input_tokens, \
          output_tokens = jobs.output_tokens + v.output_tokens, \
          cost_usd = jobs.cost_usd + v.cost_usd, \
          trace = CASE WHEN json_array_length(v.trace) = 0 THEN jobs.trace \
                       WHEN json_array_length(jobs.trace) = 0 THEN v.trace \
                       ELSE substr(jobs.trace, 1, length(jobs.trace) - 1) || ',' || substr(v.trace, 2) END \
        FROM (SELECT unhex(value ->> 'id') AS id, value ->> 'worker' AS worker, \
                     value ->> 'status' AS status, value -> 'output' AS output, \
                     value -> 'error' AS error, value ->> 'run_at' AS run_at, \
                     value ->> 'provider' AS provider, value ->> 'model' AS model, \
                     value ->> 'prompt_version' AS prompt_version, \
                     value ->> 'input_tokens' AS input_tokens, \
                     value ->> 'output_tokens' AS output_tokens, value ->> 'cost_usd' AS cost_usd, \
                     value -> 'trace' AS trace \
              FROM json_each(?1)) AS v \
        WHERE jobs.id = v.id AND jobs.status = 'running' AND jobs.lease_owner = v.worker \
        RETURNING jobs.id, jobs.tenant_id, jobs.status, jobs.webhook_url IS NOT NULL AS webhook";

    const RENEW_LEASES: &'static str = "UPDATE jobs SET lease_expires_at = ?2 \
        WHERE id IN (SELECT unhex(value) FROM json_each(?3)) \
          AND status = 'running' AND lease_owner = ?1 RETURNING id";

    const ADVANCE_SCHEDULES: &'static str = "UPDATE motivation_schedules SET \
          next_local_date = v.date, next_run_at = v.at, \
          version = motivation_schedules.version + 1, updated_at = ?2 \
        FROM (SELECT unhex(value ->> 'tenant_id') AS tenant_id, value ->> 'athlete_id' AS athlete_id, \
                     value ->> 'version' AS version, value ->> 'date' AS date, value ->> 'at' AS at \
              FROM json_each(?1)) AS v \
        WHERE motivation_schedules.tenant_id = v.tenant_id \
          AND motivation_schedules.athlete_id = v.athlete_id \
          AND motivation_schedules.version = v.version";

    fn id(id: Uuid) -> Value {
        Value::String(hex::encode(id.as_bytes()))
    }

    fn instant(at: DateTime<Utc>) -> Value {
        Value::from(at.timestamp_millis())
    }

    fn precise(at: DateTime<Utc>) -> DateTime<Utc> {
        at.trunc_subsecs(3)
    }
}

/// One row of an insert batch.
#[derive(Serialize)]
struct InsertRow<'a> {
    id: Value,
    tenant_id: Value,
    kind: &'static str,
    input: &'a Value,
    max_attempts: i32,
    priority: i16,
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<&'a str>,
    request_hash: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    traceparent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    athlete_id: Option<&'a str>,
    created_at: Value,
}

/// The JSON of an insert batch, and each job as it will be stored (instants at the store's
/// precision), in the order given.
pub(super) fn insert_payload<D: Dialect>(jobs: &[NewJob]) -> Result<(String, Vec<Job>), JobsError> {
    let mut rows = Vec::with_capacity(jobs.len());
    let mut stored = Vec::with_capacity(jobs.len());
    for new in jobs {
        let created_at = D::precise(new.created_at);
        rows.push(InsertRow {
            id: D::id(new.id.as_uuid()),
            tenant_id: D::id(new.tenant_id.as_uuid()),
            kind: new.kind.as_str(),
            input: &new.input,
            max_attempts: new.max_attempts,
            priority: new.priority.get(),
            idempotency_key: new.idempotency_key.as_ref().map(|k| k.as_str()),
            request_hash: &new.request_hash,
            webhook_url: new.webhook_url.as_ref().map(|u| u.as_str()),
            metadata: new.metadata.as_ref(),
            request_id: new.request_id.as_ref().map(|r| r.as_str()),
            traceparent: new.traceparent.as_deref(),
            athlete_id: crate::model::athlete_of(&new.input),
            created_at: D::instant(created_at),
        });
        let mut job = Job::queued(new);
        job.created_at = created_at;
        job.run_at = created_at;
        stored.push(job);
    }
    Ok((to_json(&rows)?, stored))
}

/// Which jobs of an insert batch were created: each as stored, or `None` where the row was
/// skipped (its idempotency key was taken, by an earlier request or by an earlier item of the
/// same batch) and the caller must look the original up.
pub(super) fn created(
    stored: Vec<Job>,
    inserted: &[impl ColumnReader],
) -> Result<Vec<Option<Job>>, JobsError> {
    let ids: HashSet<Uuid> = inserted
        .iter()
        .map(|row| row.uuid("id"))
        .collect::<Result<_, _>>()?;
    Ok(stored
        .into_iter()
        .map(|job| ids.contains(&job.id.as_uuid()).then_some(job))
        .collect())
}

/// The answer to an insert of `job` that was skipped, from the row holding its idempotency key
/// (`JOB_COLUMNS` and `request_hash`): the original job when the request is the same, the
/// conflict when it is not.
pub(super) fn replay(
    row: &impl ColumnReader,
    job: &NewJob,
) -> Result<Result<Inserted, JobsError>, JobsError> {
    let hash = required(row.text("request_hash")?, "request_hash")?;
    Ok(if hash == job.request_hash {
        Ok(Inserted::Replayed(job_from(row)?))
    } else {
        Err(JobsError::IdempotencyConflict)
    })
}

/// One row of a result batch.
#[derive(Serialize)]
struct FinishRow<'a> {
    id: Value,
    worker: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a JobFailure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_at: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_version: Option<&'a str>,
    input_tokens: i64,
    output_tokens: i64,
    cost_usd: f64,
    trace: &'a [Value],
}

/// The JSON of a result batch: each outcome becomes the columns it writes.
pub(super) fn finish_payload<D: Dialect>(batch: &[Finish]) -> Result<String, JobsError> {
    let rows: Vec<FinishRow<'_>> = batch
        .iter()
        .map(|finish| {
            let (status, output, error, run_at, report) = match &finish.outcome {
                Outcome::Succeeded { output, report } => {
                    ("succeeded", Some(output), None, None, report)
                }
                Outcome::Failed { error, report } => ("failed", None, Some(error), None, report),
                Outcome::Retry {
                    error,
                    run_at,
                    report,
                } => (
                    "queued",
                    None,
                    Some(error),
                    Some(D::instant(*run_at)),
                    report,
                ),
            };
            FinishRow {
                id: D::id(finish.id.as_uuid()),
                worker: finish.worker.as_str(),
                status,
                output,
                error,
                run_at,
                provider: report.provider.as_deref(),
                model: report.model.as_deref(),
                prompt_version: report.prompt_version.as_deref(),
                input_tokens: tokens(report.usage.input_tokens),
                output_tokens: tokens(report.usage.output_tokens),
                cost_usd: report.usage.cost_usd,
                trace: &report.trace,
            }
        })
        .collect();
    to_json(&rows)
}

/// The columns [`Dialect::FINISH_MANY`] returns, decoded.
pub(super) fn finished_from(row: &impl ColumnReader) -> Result<Finished, JobsError> {
    Ok(Finished {
        id: JobId::from_uuid(row.uuid("id")?),
        tenant_id: TenantId::from_uuid(row.uuid("tenant_id")?),
        status: required(row.text("status")?, "status")?
            .parse()
            .map_err(|e: JobsError| JobsError::Corrupt(e.to_string()))?,
        webhook: row.int("webhook")? != 0,
    })
}

/// The `id` column of each returned row.
pub(super) fn ids_from(rows: &[impl ColumnReader]) -> Result<Vec<JobId>, JobsError> {
    rows.iter()
        .map(|row| Ok(JobId::from_uuid(row.uuid("id")?)))
        .collect()
}

/// Job ids as a JSON array a statement unpacks.
pub(super) fn ids_payload<D: Dialect>(ids: &[JobId]) -> Result<String, JobsError> {
    to_json(&ids.iter().map(|id| D::id(id.as_uuid())).collect::<Vec<_>>())
}

fn to_json(rows: &impl Serialize) -> Result<String, JobsError> {
    serde_json::to_string(rows).map_err(|e| JobsError::Corrupt(format!("batch payload: {e}")))
}

/// A token count as the stores' signed 64-bit column.
pub(super) fn tokens(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
