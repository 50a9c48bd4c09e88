//! The batched statements of the hot path, written once for both stores.
//!
//! A batch travels to the database as one parameter per column (Postgres: arrays unpacked by
//! `unnest`, sent in the binary protocol) or as one JSON array (SQLite, which has no arrays:
//! `json_each`): one statement, one round trip and one commit per batch whatever its size, with
//! the per-row conditions (the lease fence, the idempotency key) still judged row by row. What
//! each job becomes in a batch ([`InsertRow`], [`FinishRow`]) is decided once here; what differs
//! between the stores is only the [`Dialect`]: the SQL text and how the rows are handed over.

use std::collections::HashSet;

use chrono::{DateTime, SecondsFormat, SubsecRound as _, Utc};
use serde::Serialize;
use serde_json::Value;
use sparta_coach::athlete::AthleteId;
use uuid::Uuid;

use super::{ColumnReader, job_from, required};
use crate::JobsError;
use crate::json_text::JsonText;
use crate::model::{Finish, Finished, Inserted, Job, JobFailure, JobId, NewJob, Outcome, TenantId};

/// What differs between the stores in a batched statement.
pub(super) trait Dialect {
    /// Inserts the jobs of an insert batch ([`Dialect::Inserts`]), skipping idempotency
    /// conflicts, returning the ids inserted.
    const INSERT_MANY: &'static str;
    /// Writes the results of a result batch ([`Dialect::Finishes`]) at `now` (the first
    /// parameter), each fenced on its own lease, returning what [`finished_from`] reads of the
    /// rows written. Postgres also takes the number of results (`$2`), for its planner.
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

    /// An insert batch as [`Dialect::INSERT_MANY`] takes it.
    type Inserts<'a>;
    /// A result batch as [`Dialect::FINISH_MANY`] takes it.
    type Finishes<'a>;
    /// Hands the rows of an insert batch over.
    fn inserts(rows: Vec<InsertRow<'_>>) -> Result<Self::Inserts<'_>, JobsError>;
    /// Hands the rows of a result batch over.
    fn finishes(rows: Vec<FinishRow<'_>>) -> Result<Self::Finishes<'_>, JobsError>;
}

/// Postgres: a batch as one array per column (`unnest`), bound in the binary protocol, so the
/// server parses no JSON but each document's own text (`::json` checks it). A batch as one JSON
/// array cost two full passes of its lexer (the `::json` check, then `json_to_recordset`, which
/// also builds a field map per row): a third of an insert statement and half of a result write
/// (31 µs a row of 1.5 KB). Ids and instants travel as JSON only in the smaller payloads
/// ([`ids_payload`], the schedules' advance).
pub(super) struct Postgres;

impl Dialect for Postgres {
    const INSERT_MANY: &'static str = "INSERT INTO jobs (id, tenant_id, kind, status, input, \
        max_attempts, priority, run_at, announced_at, idempotency_key, request_hash, webhook_url, \
        metadata, request_id, traceparent, athlete_id, created_at) \
        SELECT v.id, v.tenant_id, v.kind, 'queued', v.input::json, v.max_attempts, v.priority, \
               v.created_at, v.created_at, v.idempotency_key, v.request_hash, v.webhook_url, \
               v.metadata::jsonb, v.request_id, v.traceparent, v.athlete_id, v.created_at \
        FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int4[], $6::int2[], \
             $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
             $13::text[], $14::timestamptz[]) \
          AS v(id, tenant_id, kind, input, max_attempts, priority, idempotency_key, \
               request_hash, webhook_url, metadata, request_id, traceparent, athlete_id, \
               created_at) \
        ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL \
        DO NOTHING RETURNING id";

    // A retry with no attempts left is the job's failure. A primary-key lookup per row, as in
    // `claim_many`: through the partial index `jobs_leases`, the planner visited every entry of
    // a job that ran since the last vacuum (26,000 entries, 2,300 heap pages for 100 rows while
    // draining a backlog); `IS TRUE` keeps the conditions from implying that index's predicate.
    // `LIMIT $2` (the batch's length) tells the planner how many rows the arrays hold: it
    // assumes 100 for any set-returning function, and for a result or two it then preferred
    // reading the whole table to 100 lookups (2.4 ms a statement at 1,000 jobs/s, not 0.2).
    const FINISH_MANY: &'static str = "UPDATE jobs j SET \
          status = CASE WHEN v.status = 'queued' AND j.attempt >= j.max_attempts THEN 'failed' \
                        ELSE v.status END, \
          output = v.output::json, error = v.error::jsonb, run_at = COALESCE(v.run_at, j.run_at), \
          announced_at = CASE WHEN v.status = 'queued' THEN NULL ELSE j.announced_at END, \
          finished_at = CASE WHEN v.status = 'queued' AND j.attempt < j.max_attempts THEN NULL \
                             ELSE $1 END, \
          lease_owner = NULL, lease_expires_at = NULL, \
          provider = COALESCE(v.provider, j.provider), model = COALESCE(v.model, j.model), \
          prompt_version = COALESCE(v.prompt_version, j.prompt_version), \
          input_tokens = j.input_tokens + v.input_tokens, \
          output_tokens = j.output_tokens + v.output_tokens, \
          cost_usd = j.cost_usd + v.cost_usd, trace = j.trace || v.trace::jsonb \
        FROM (SELECT * FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], \
                     $8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::int8[], \
                     $13::int8[], $14::float8[], $15::text[]) \
                AS r(id, worker, status, output, error, run_at, provider, model, \
                     prompt_version, input_tokens, output_tokens, cost_usd, trace) \
              LIMIT $2) AS v \
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

    type Inserts<'a> = PgInserts<'a>;
    type Finishes<'a> = PgFinishes<'a>;

    fn inserts(rows: Vec<InsertRow<'_>>) -> Result<PgInserts<'_>, JobsError> {
        let mut batch = PgInserts::default();
        for row in rows {
            batch.id.push(row.id);
            batch.tenant_id.push(row.tenant_id);
            batch.kind.push(row.kind);
            batch.input.push(row.input.as_str());
            batch.max_attempts.push(row.max_attempts);
            batch.priority.push(row.priority);
            batch.idempotency_key.push(row.idempotency_key);
            batch.request_hash.push(row.request_hash);
            batch.webhook_url.push(row.webhook_url);
            batch.metadata.push(row.metadata.map(to_json).transpose()?);
            batch.request_id.push(row.request_id);
            batch.traceparent.push(row.traceparent);
            batch.athlete_id.push(row.athlete_id);
            batch.created_at.push(row.created_at);
        }
        Ok(batch)
    }

    fn finishes(rows: Vec<FinishRow<'_>>) -> Result<PgFinishes<'_>, JobsError> {
        let mut batch = PgFinishes::default();
        for row in rows {
            batch.id.push(row.id);
            batch.worker.push(row.worker);
            batch.status.push(row.status);
            batch.output.push(row.output.map(JsonText::as_str));
            batch.error.push(row.error.map(to_json).transpose()?);
            batch.run_at.push(row.run_at);
            batch.provider.push(row.provider);
            batch.model.push(row.model);
            batch.prompt_version.push(row.prompt_version);
            batch.input_tokens.push(row.input_tokens);
            batch.output_tokens.push(row.output_tokens);
            batch.cost_usd.push(row.cost_usd);
            batch.trace.push(to_json(&row.trace)?);
        }
        Ok(batch)
    }
}

/// A statement of the Postgres store, its parameters being bound.
pub(super) type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// An insert batch as Postgres binds it: one array per column of [`Postgres::INSERT_MANY`],
/// each document as its JSON text.
#[derive(Default)]
pub(super) struct PgInserts<'a> {
    id: Vec<Uuid>,
    tenant_id: Vec<Uuid>,
    kind: Vec<&'static str>,
    input: Vec<&'a str>,
    max_attempts: Vec<i32>,
    priority: Vec<i16>,
    idempotency_key: Vec<Option<&'a str>>,
    request_hash: Vec<&'a str>,
    webhook_url: Vec<Option<&'a str>>,
    metadata: Vec<Option<String>>,
    request_id: Vec<Option<&'a str>>,
    traceparent: Vec<Option<&'a str>>,
    athlete_id: Vec<Option<&'a str>>,
    created_at: Vec<DateTime<Utc>>,
}

impl<'a> PgInserts<'a> {
    /// Binds the arrays, in the statement's order.
    pub(super) fn bind(self, query: PgQuery<'a>) -> PgQuery<'a> {
        query
            .bind(self.id)
            .bind(self.tenant_id)
            .bind(self.kind)
            .bind(self.input)
            .bind(self.max_attempts)
            .bind(self.priority)
            .bind(self.idempotency_key)
            .bind(self.request_hash)
            .bind(self.webhook_url)
            .bind(self.metadata)
            .bind(self.request_id)
            .bind(self.traceparent)
            .bind(self.athlete_id)
            .bind(self.created_at)
    }
}

/// A result batch as Postgres binds it: one array per column of [`Postgres::FINISH_MANY`]
/// (from `$3`), each document as its JSON text.
#[derive(Default)]
pub(super) struct PgFinishes<'a> {
    id: Vec<Uuid>,
    worker: Vec<&'a str>,
    status: Vec<&'static str>,
    output: Vec<Option<&'a str>>,
    error: Vec<Option<String>>,
    run_at: Vec<Option<DateTime<Utc>>>,
    provider: Vec<Option<&'a str>>,
    model: Vec<Option<&'a str>>,
    prompt_version: Vec<Option<&'a str>>,
    input_tokens: Vec<i64>,
    output_tokens: Vec<i64>,
    cost_usd: Vec<f64>,
    trace: Vec<String>,
}

impl<'a> PgFinishes<'a> {
    /// Binds the arrays after `now` and the batch's length, in the statement's order.
    pub(super) fn bind(self, query: PgQuery<'a>) -> PgQuery<'a> {
        query
            .bind(self.id)
            .bind(self.worker)
            .bind(self.status)
            .bind(self.output)
            .bind(self.error)
            .bind(self.run_at)
            .bind(self.provider)
            .bind(self.model)
            .bind(self.prompt_version)
            .bind(self.input_tokens)
            .bind(self.output_tokens)
            .bind(self.cost_usd)
            .bind(self.trace)
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
                             THEN NULL ELSE ?1 END, \
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
              FROM json_each(?2)) AS v \
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

    type Inserts<'a> = String;
    type Finishes<'a> = String;

    fn inserts(rows: Vec<InsertRow<'_>>) -> Result<String, JobsError> {
        to_json(&rows)
    }

    fn finishes(rows: Vec<FinishRow<'_>>) -> Result<String, JobsError> {
        to_json(&rows)
    }
}

/// A job or tenant id as SQLite reads it from a JSON batch.
fn sqlite_id<S: serde::Serializer>(id: &Uuid, to: S) -> Result<S::Ok, S::Error> {
    Sqlite::id(*id).serialize(to)
}

/// An instant as SQLite reads it from a JSON batch.
fn sqlite_instant<S: serde::Serializer>(at: &DateTime<Utc>, to: S) -> Result<S::Ok, S::Error> {
    Sqlite::instant(*at).serialize(to)
}

/// An optional instant as SQLite reads it from a JSON batch.
fn sqlite_some_instant<S: serde::Serializer>(
    at: &Option<DateTime<Utc>>,
    to: S,
) -> Result<S::Ok, S::Error> {
    at.map(Sqlite::instant).serialize(to)
}

/// One job of an insert batch: what both stores write of it. Serialized, it is the JSON row
/// [`Sqlite::INSERT_MANY`] reads.
#[derive(Serialize)]
pub(super) struct InsertRow<'a> {
    #[serde(serialize_with = "sqlite_id")]
    id: Uuid,
    #[serde(serialize_with = "sqlite_id")]
    tenant_id: Uuid,
    kind: &'static str,
    input: &'a JsonText,
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
    #[serde(serialize_with = "sqlite_instant")]
    created_at: DateTime<Utc>,
}

/// An insert batch as the store takes it, and each job as it will be stored (instants at the
/// store's precision), in the order given.
pub(super) fn insert_batch<D: Dialect>(
    jobs: &[NewJob],
) -> Result<(D::Inserts<'_>, Vec<Job>), JobsError> {
    let mut rows = Vec::with_capacity(jobs.len());
    let mut stored = Vec::with_capacity(jobs.len());
    for new in jobs {
        let created_at = D::precise(new.created_at);
        rows.push(InsertRow {
            id: new.id.as_uuid(),
            tenant_id: new.tenant_id.as_uuid(),
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
            athlete_id: new.athlete_id.as_ref().map(AthleteId::as_str),
            created_at,
        });
        let mut job = Job::queued(new);
        job.created_at = created_at;
        job.run_at = created_at;
        stored.push(job);
    }
    Ok((D::inserts(rows)?, stored))
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

/// One result of a result batch: the columns its outcome writes. Serialized, it is the JSON
/// row [`Sqlite::FINISH_MANY`] reads.
#[derive(Serialize)]
pub(super) struct FinishRow<'a> {
    #[serde(serialize_with = "sqlite_id")]
    id: Uuid,
    worker: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'a JsonText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a JobFailure>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "sqlite_some_instant"
    )]
    run_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_version: Option<&'a str>,
    input_tokens: i64,
    output_tokens: i64,
    cost_usd: f64,
    trace: &'a [JsonText],
}

/// A result batch as the store takes it: each outcome becomes the columns it writes.
pub(super) fn finish_batch<D: Dialect>(batch: &[Finish]) -> Result<D::Finishes<'_>, JobsError> {
    let rows = batch
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
                } => ("queued", None, Some(error), Some(*run_at), report),
            };
            FinishRow {
                id: finish.id.as_uuid(),
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
    D::finishes(rows)
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
