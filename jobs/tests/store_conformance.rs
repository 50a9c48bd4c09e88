#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! One conformance suite, run against both stores: every store operation, the refused
//! transitions, lease fencing and concurrent claims. Real databases: an SQLite file per test and
//! a fresh Postgres database per test (`SPARTA_TEST_POSTGRES_URL`, default the local server).
//! A missing Postgres fails these tests; it never skips them.

#[path = "support/scratch_database.rs"]
mod scratch_database;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, TimeDelta, Utc};
use serde_json::json;
use sparta_coach::JobKind;
use sparta_coach::athlete::AthleteId;
use sparta_jobs::*;

const LEASE: Duration = Duration::from_secs(30);

/// A store for one test, and what must be cleaned up after it.
struct Fixture {
    store: Arc<dyn JobStore>,
    _dir: Option<TempDir>,
}

/// A temporary folder removed on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The key every test store seals webhook secrets with.
const STORE_KEY: &str = "c3BhcnRhLWNvbmZvcm1hbmNlLXNlY3JldHMta2V5LTE=";

fn keyring() -> sparta_jobs::secrets::Keyring {
    sparta_jobs::secrets::Keyring::new(STORE_KEY, &[]).expect("key")
}

async fn sqlite() -> Fixture {
    let dir = std::env::temp_dir().join(format!("sparta-conf-{}", uuid::Uuid::new_v4().simple()));
    let url = format!("sqlite:{}", dir.join("store.db").display());
    let store = SqliteStore::open(&url, Duration::from_secs(5), keyring())
        .await
        .expect("open sqlite");
    store.migrate().await.expect("migrate sqlite");
    Fixture {
        store: Arc::new(store),
        _dir: Some(TempDir(dir)),
    }
}

fn postgres_admin_url() -> String {
    std::env::var("SPARTA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

async fn postgres() -> Fixture {
    postgres_at().await.0
}

/// A fresh migrated Postgres database, and its URL.
async fn postgres_at() -> (Fixture, String) {
    let url = scratch_database::create(&postgres_admin_url(), "sparta_conf").await;
    let store = PgStore::connect(&url, 8, Duration::from_secs(5), keyring())
        .await
        .expect("connect test database");
    store.migrate().await.expect("migrate postgres");
    let fixture = Fixture {
        store: Arc::new(store),
        _dir: None,
    };
    (fixture, url)
}

async fn tenant(store: &dyn JobStore, name: &str) -> Tenant {
    store
        .create_tenant(
            &TenantName::parse(name).expect("name"),
            &ApiKey::generate().hash(),
            &WebhookSecret::generate(),
        )
        .await
        .expect("tenant")
}

fn new_job(tenant: TenantId, at: DateTime<Utc>) -> NewJob {
    NewJob {
        id: JobId::new(),
        tenant_id: tenant,
        kind: JobKind::Nutrition,
        input: JsonText::from(json!({"athlete": {"bodyweight_kg": 80}})),
        athlete_id: None,
        priority: Priority::DEFAULT,
        max_attempts: 3,
        idempotency_key: None,
        request_hash: "h1".into(),
        webhook_url: None,
        metadata: None,
        request_id: None,
        traceparent: None,
        created_at: at,
    }
}

async fn insert(store: &dyn JobStore, job: &NewJob) -> Job {
    match store.insert_job(job).await.expect("insert") {
        Inserted::Created(job) => job,
        Inserted::Replayed(job) => panic!("unexpected replay of {}", job.id),
    }
}

fn worker(n: u32) -> WorkerId {
    WorkerId::parse(format!("w{n}")).expect("worker id")
}

fn succeeded(output: serde_json::Value, tokens: u64) -> Outcome {
    Outcome::Succeeded {
        output: output.into(),
        report: RunReport {
            provider: Some("builtin".into()),
            model: Some("builtin".into()),
            prompt_version: Some("p1".into()),
            usage: Usage {
                input_tokens: tokens,
                output_tokens: tokens * 2,
                cost_usd: 0.5,
            },
            trace: vec![json!({"outcome": "succeeded"}).into()],
        },
    }
}

fn retry(at: DateTime<Utc>) -> Outcome {
    Outcome::Retry {
        error: JobFailure {
            code: "NO_VALID_ANSWER".into(),
            message: "try again".into(),
        },
        run_at: at,
        report: RunReport {
            usage: Usage {
                input_tokens: 10,
                output_tokens: 1,
                cost_usd: 0.25,
            },
            trace: vec![json!({"outcome": "timeout"}).into()],
            ..RunReport::default()
        },
    }
}

/// Postgres keeps microseconds, SQLite milliseconds: compare instants at millisecond precision.
fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

mod checks {
    use super::*;

    pub async fn tenants(store: Arc<dyn JobStore>) {
        let key = ApiKey::generate();
        let name = TenantName::parse("acme").expect("name");
        let acme = store
            .create_tenant(&name, &key.hash(), &WebhookSecret::generate())
            .await
            .expect("create");
        assert!(matches!(
            store
                .create_tenant(
                    &name,
                    &ApiKey::generate().hash(),
                    &WebhookSecret::generate()
                )
                .await,
            Err(JobsError::AlreadyExists(_))
        ));
        let found = store
            .key_owner(&key.hash(), Utc::now())
            .await
            .expect("lookup");
        assert_eq!(found.map(|o| o.tenant.id), Some(acme.id));
        assert_eq!(
            store
                .key_owner(&ApiKey::generate().hash(), Utc::now())
                .await
                .expect("lookup"),
            None
        );
        let other = tenant(&*store, "other").await;
        let names: Vec<_> = store
            .list_tenants()
            .await
            .expect("list")
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(names, vec![acme.id, other.id]);
    }

    pub async fn keys_are_named_revocable_and_expiring_and_tenants_can_be_disabled(
        store: Arc<dyn JobStore>,
    ) {
        let first = ApiKey::generate();
        let acme = store
            .create_tenant(
                &TenantName::parse("acme").expect("name"),
                &first.hash(),
                &WebhookSecret::generate(),
            )
            .await
            .expect("create");
        let other = tenant(&*store, "other").await;
        let now = Utc::now();
        let second = ApiKey::generate();
        let ci = KeyName::parse("ci").expect("name");
        let created = store
            .create_api_key(acme.id, &ci, &second.hash(), None, now)
            .await
            .expect("second key");
        assert_eq!(created.name, ci);
        assert!(matches!(
            store
                .create_api_key(TenantId::new(), &ci, &ApiKey::generate().hash(), None, now)
                .await,
            Err(JobsError::NotFound)
        ));
        let expiring = ApiKey::generate();
        store
            .create_api_key(
                acme.id,
                &KeyName::parse("temp").expect("name"),
                &expiring.hash(),
                Some(now + TimeDelta::seconds(60)),
                now,
            )
            .await
            .expect("expiring key");
        let keys = store.list_api_keys(acme.id).await.expect("list");
        let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, vec!["default", "ci", "temp"]);
        assert!(keys.iter().all(|k| k.last_used_at.is_none()));

        // Used: noted; expired: refused.
        let owner = store.key_owner(&second.hash(), now).await.expect("owner");
        assert_eq!(
            owner.map(|o| (o.tenant.id, o.key)),
            Some((acme.id, created.id))
        );
        let keys = store.list_api_keys(acme.id).await.expect("list");
        assert_eq!(keys[1].last_used_at.map(ms), Some(ms(now)));
        let later = now + TimeDelta::seconds(61);
        assert!(
            store
                .key_owner(&expiring.hash(), later)
                .await
                .expect("owner")
                .is_none()
        );
        assert!(
            store
                .key_owner(&expiring.hash(), now)
                .await
                .expect("owner")
                .is_some()
        );

        // Revoked: refused, and only the tenant's own key can be revoked.
        assert!(matches!(
            store.revoke_api_key(other.id, created.id, now).await,
            Err(JobsError::NotFound)
        ));
        let revoked = store
            .revoke_api_key(acme.id, created.id, now)
            .await
            .expect("revoke");
        assert_eq!(revoked.revoked_at.map(ms), Some(ms(now)));
        let again = store
            .revoke_api_key(acme.id, created.id, later)
            .await
            .expect("revoke again");
        assert_eq!(again.revoked_at.map(ms), Some(ms(now)), "kept as it was");
        assert!(
            store
                .key_owner(&second.hash(), now)
                .await
                .expect("owner")
                .is_none()
        );
        assert!(
            store
                .key_owner(&first.hash(), now)
                .await
                .expect("owner")
                .is_some()
        );

        // Disabled: still found (the API answers 403), and enabled again.
        let disabled = store
            .set_tenant_disabled(acme.id, true, now)
            .await
            .expect("disable");
        assert_eq!(disabled.disabled_at.map(ms), Some(ms(now)));
        let owner = store.key_owner(&first.hash(), now).await.expect("owner");
        assert!(owner.is_some_and(|o| o.tenant.disabled_at.is_some()));
        let listed = store.list_tenants().await.expect("tenants");
        assert!(
            listed
                .iter()
                .any(|t| t.id == acme.id && t.disabled_at.is_some())
        );
        let enabled = store
            .set_tenant_disabled(acme.id, false, later)
            .await
            .expect("enable");
        assert_eq!(enabled.disabled_at, None);
        assert!(matches!(
            store.set_tenant_disabled(TenantId::new(), true, now).await,
            Err(JobsError::NotFound)
        ));
    }

    pub async fn activity_is_replaced_per_process_read_by_period_and_pruned(
        store: Arc<dyn JobStore>,
    ) {
        use sparta_jobs::activity::{Activity, ActivityRow, JobEnd, Period};
        let now = Utc::now();
        let minute = Period::Minute.start_of(now);
        let row = |period: Period, start: DateTime<Utc>, source: &str, succeeded: u64| {
            let mut activity = Activity::default();
            let kind = activity.kinds.entry(JobKind::Nutrition).or_default();
            kind.ended.insert(JobEnd::Succeeded, succeeded);
            kind.wait.record(0.003);
            activity
                .models
                .entry("builtin".into())
                .or_default()
                .cost_microusd = succeeded;
            ActivityRow {
                period,
                start,
                source: source.to_owned(),
                activity,
            }
        };
        let old = minute - TimeDelta::hours(3);
        store
            .record_activity(&[
                row(Period::Minute, minute, "a", 1),
                row(Period::Minute, minute, "b", 2),
                row(Period::Minute, minute - TimeDelta::minutes(1), "a", 4),
                row(Period::Minute, old, "a", 8),
                row(Period::Day, Period::Day.start_of(now), "a", 16),
            ])
            .await
            .expect("record");
        // A later flush replaces a process's row of the period; the others stay.
        store
            .record_activity(&[row(Period::Minute, minute, "a", 3)])
            .await
            .expect("record again");
        store.record_activity(&[]).await.expect("nothing to write");
        let read = store
            .activity(Period::Minute, minute - TimeDelta::minutes(1))
            .await
            .expect("read");
        let summary: Vec<(i64, &str, u64)> = read
            .iter()
            .map(|r| {
                (
                    (minute - r.start).num_minutes(),
                    r.source.as_str(),
                    r.activity.ended(JobEnd::Succeeded),
                )
            })
            .collect();
        assert_eq!(summary, vec![(1, "a", 4), (0, "a", 3), (0, "b", 2)]);
        assert_eq!(read[1], row(Period::Minute, minute, "a", 3));
        let days = store
            .activity(Period::Day, Period::Day.start_of(now))
            .await
            .expect("days");
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].activity.models["builtin"].cost_microusd, 16);
        // Rows older than their period keeps go; the rest stay.
        assert_eq!(store.prune_activity(now).await.expect("prune"), 1);
        assert_eq!(
            store
                .activity(Period::Minute, old)
                .await
                .expect("read")
                .len(),
            3
        );
        assert_eq!(store.prune_activity(now).await.expect("prune"), 0);
    }

    pub async fn breaker_overrides_are_set_replaced_and_lifted(store: Arc<dyn JobStore>) {
        assert!(store.breaker_overrides().await.expect("list").is_empty());
        let now = Utc::now();
        assert!(
            store
                .set_breaker_override("gpt", Some(true), Some("incident"), now)
                .await
                .expect("set")
        );
        store
            .set_breaker_override("claude", Some(false), None, now)
            .await
            .expect("set");
        let later = now + TimeDelta::seconds(5);
        store
            .set_breaker_override("gpt", Some(false), Some("back"), later)
            .await
            .expect("replace");
        let listed = store.breaker_overrides().await.expect("list");
        let summary: Vec<(&str, bool, Option<&str>)> = listed
            .iter()
            .map(|o| (o.model.as_str(), o.open, o.reason.as_deref()))
            .collect();
        assert_eq!(
            summary,
            vec![("claude", false, None), ("gpt", false, Some("back"))]
        );
        assert_eq!(ms(listed[1].set_at), ms(later));
        assert!(
            store
                .set_breaker_override("gpt", None, None, later)
                .await
                .expect("lift")
        );
        assert!(
            !store
                .set_breaker_override("gpt", None, None, later)
                .await
                .expect("lift")
        );
        assert_eq!(store.breaker_overrides().await.expect("list").len(), 1);
    }

    pub async fn webhook_secrets_rotate_with_a_grace_period(store: Arc<dyn JobStore>) {
        let first = WebhookSecret::generate();
        let name = TenantName::parse("hooks").expect("name");
        let tenant = store
            .create_tenant(&name, &ApiKey::generate().hash(), &first)
            .await
            .expect("create");
        let grace = Duration::from_secs(24 * 3600);
        let now = Utc::now();
        assert_eq!(
            store
                .webhook_secrets(tenant.id, now, grace)
                .await
                .expect("secrets"),
            vec![first.clone()]
        );
        let second = WebhookSecret::generate();
        store
            .rotate_webhook_secret(&name, &second, now)
            .await
            .expect("rotate");
        assert_eq!(
            store
                .webhook_secrets(tenant.id, now + TimeDelta::hours(23), grace)
                .await
                .expect("secrets"),
            vec![second.clone(), first],
            "both sign during the grace period, the new one first"
        );
        assert_eq!(
            store
                .webhook_secrets(tenant.id, now + TimeDelta::hours(25), grace)
                .await
                .expect("secrets"),
            vec![second],
            "only the new one after it"
        );
        assert!(matches!(
            store
                .rotate_webhook_secret(
                    &TenantName::parse("nobody").expect("name"),
                    &WebhookSecret::generate(),
                    now
                )
                .await,
            Err(JobsError::NotFound)
        ));
        assert!(matches!(
            store.webhook_secrets(TenantId::new(), now, grace).await,
            Err(JobsError::NotFound)
        ));
    }

    pub async fn secrets_are_stored_sealed_and_resealed(store: Arc<dyn JobStore>) {
        use sparta_jobs::secrets::Keyring;
        use sparta_jobs::store::secrets::{StoredSecrets, reseal};
        let first = WebhookSecret::generate();
        let name = TenantName::parse("sealed").expect("name");
        let tenant = store
            .create_tenant(&name, &ApiKey::generate().hash(), &first)
            .await
            .expect("create");
        let second = WebhookSecret::generate();
        store
            .rotate_webhook_secret(&name, &second, Utc::now())
            .await
            .expect("rotate");
        let stored = store.stored_webhook_secrets().await.expect("stored");
        assert_eq!(stored.len(), 1);
        let row = stored[0].clone();
        let (current, previous) = (row.current.clone().unwrap(), row.previous.clone().unwrap());
        for (value, secret) in [(&current, &second), (&previous, &first)] {
            assert!(value.starts_with("sealed:v1:") && !value.contains(&secret.reveal()));
            assert_eq!(&keyring().open(value).expect("opens"), secret);
        }
        // A row from before sealing (plain text), then a key rotation with a reseal.
        let legacy = StoredSecrets {
            current: Some(second.reveal()),
            ..row.clone()
        };
        assert!(
            store
                .replace_stored_webhook_secrets(&row, &legacy)
                .await
                .expect("replace")
        );
        assert!(
            !store
                .replace_stored_webhook_secrets(&row, &legacy)
                .await
                .expect("stale"),
            "a replacement is conditional on the row being unchanged"
        );
        let new_key = Keyring::generate_key();
        let rotated = Keyring::new(&new_key, &[STORE_KEY.into()]).expect("keys");
        let done = reseal(store.as_ref(), &rotated).await.expect("reseal");
        assert_eq!((done.tenants, done.unchanged), (1, 0));
        let done = reseal(store.as_ref(), &rotated).await.expect("again");
        assert_eq!((done.tenants, done.unchanged), (0, 1), "idempotent");
        let only_new = Keyring::new(&new_key, &[]).expect("key");
        let row = store
            .stored_webhook_secrets()
            .await
            .expect("stored")
            .remove(0);
        assert_eq!(row.tenant, tenant.id);
        assert_eq!(
            only_new.open(row.current.as_deref().unwrap()).unwrap(),
            second
        );
        assert_eq!(
            only_new.open(row.previous.as_deref().unwrap()).unwrap(),
            first
        );
    }

    pub async fn insert_and_read_back(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let other = tenant(&*store, "o").await;
        let now = Utc::now();
        let mut job = new_job(t.id, now);
        job.priority = Priority::new(7).expect("priority");
        job.webhook_url = Some(WebhookUrl::parse("https://example.com/hook").expect("url"));
        job.metadata = Some(json!({"client": "app", "n": [1, 2]}));
        job.request_id = Some(RequestId::parse("req_1").expect("rid"));
        job.idempotency_key = Some(IdempotencyKey::parse("k-1").expect("key"));
        let stored = insert(&*store, &job).await;
        assert_eq!(stored.id, job.id);
        assert_eq!(stored.status, JobStatus::Queued);
        assert_eq!(stored.attempt, 0);
        assert_eq!(stored.max_attempts, 3);
        assert_eq!(stored.input, job.input);
        assert_eq!(stored.metadata, job.metadata);
        assert_eq!(stored.webhook_url, job.webhook_url);
        assert_eq!(stored.request_id, job.request_id);
        assert_eq!(stored.priority.get(), 7);
        assert_eq!(ms(stored.run_at), ms(now));
        assert_eq!(stored.trace, json!([]));
        assert_eq!(stored.output, None);
        let read = store.get_job(t.id, job.id).await.expect("get");
        assert_eq!(read.as_ref(), Some(&stored));
        assert_eq!(store.get_job(other.id, job.id).await.expect("get"), None);
        assert_eq!(store.get_job(t.id, JobId::new()).await.expect("get"), None);
        assert_eq!(store.count_queued(t.id).await.expect("count"), 1);
        assert_eq!(store.count_queued(other.id).await.expect("count"), 0);
    }

    pub async fn idempotency(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let other = tenant(&*store, "o").await;
        let mut first = new_job(t.id, Utc::now());
        first.idempotency_key = Some(IdempotencyKey::parse("order-42").expect("key"));
        let original = insert(&*store, &first).await;
        let mut again = new_job(t.id, Utc::now());
        again.idempotency_key = first.idempotency_key.clone();
        match store.insert_job(&again).await.expect("replay") {
            Inserted::Replayed(job) => assert_eq!(job.id, original.id),
            Inserted::Created(job) => panic!("duplicate job {}", job.id),
        }
        let mut different = new_job(t.id, Utc::now());
        different.idempotency_key = first.idempotency_key.clone();
        different.request_hash = "h2".into();
        assert!(matches!(
            store.insert_job(&different).await,
            Err(JobsError::IdempotencyConflict)
        ));
        // Keys are per tenant.
        let mut foreign = new_job(other.id, Utc::now());
        foreign.idempotency_key = first.idempotency_key.clone();
        insert(&*store, &foreign).await;
        assert_eq!(store.count_queued(t.id).await.expect("count"), 1);
    }

    pub async fn batch_insert_answers_each_item(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let now = Utc::now();
        let key = |k: &str| Some(IdempotencyKey::parse(k).expect("key"));
        let mut earlier = new_job(t.id, now);
        earlier.idempotency_key = key("earlier");
        let earlier = insert(&*store, &earlier).await;

        let plain = new_job(t.id, now);
        let mut keyed = new_job(t.id, now);
        keyed.idempotency_key = key("k1");
        keyed.metadata = Some(json!({"n": 1}));
        let mut same_again = new_job(t.id, now);
        same_again.idempotency_key = key("k1");
        let mut other_body = new_job(t.id, now);
        other_body.idempotency_key = key("k1");
        other_body.request_hash = "h2".into();
        let mut replay_earlier = new_job(t.id, now);
        replay_earlier.idempotency_key = key("earlier");
        let batch = [plain, keyed, same_again, other_body, replay_earlier];
        let answers = store.insert_jobs(&batch).await.expect("batch insert");
        assert_eq!(answers.len(), batch.len(), "one answer per item, in order");
        let created = |i: usize| match &answers[i] {
            Ok(Inserted::Created(job)) => job.clone(),
            other => panic!("item {i}: {other:?}"),
        };
        let (plain, keyed) = (created(0), created(1));
        assert_eq!(plain.id, batch[0].id);
        assert_eq!(keyed.id, batch[1].id);
        // What an insert answers is exactly what a read gives back (no read-back needed).
        for job in [&plain, &keyed] {
            let read = store.get_job(t.id, job.id).await.expect("get");
            assert_eq!(read.as_ref(), Some(job));
        }
        assert!(
            matches!(&answers[2], Ok(Inserted::Replayed(job)) if job.id == keyed.id),
            "a key used twice in one batch replays its first use: {:?}",
            answers[2]
        );
        assert!(
            matches!(answers[3], Err(JobsError::IdempotencyConflict)),
            "{:?}",
            answers[3]
        );
        assert!(
            matches!(&answers[4], Ok(Inserted::Replayed(job)) if job.id == earlier.id),
            "{:?}",
            answers[4]
        );
        assert_eq!(store.count_queued(t.id).await.expect("count"), 3);
        assert!(store.insert_jobs(&[]).await.expect("empty").is_empty());
    }

    pub async fn claim_many_takes_only_claimable_jobs(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let now = Utc::now();
        let due = insert(&*store, &new_job(t.id, now)).await;
        let later = insert(&*store, &new_job(t.id, now + TimeDelta::seconds(60))).await;
        let taken = insert(&*store, &new_job(t.id, now)).await;
        store
            .claim(taken.id, &worker(2), now, LEASE)
            .await
            .expect("claim")
            .expect("claimed");
        let claimed = store
            .claim_many(
                &[due.id, later.id, taken.id, JobId::new()],
                &worker(1),
                now,
                LEASE,
            )
            .await
            .expect("claim many");
        assert_eq!(claimed.len(), 1, "{claimed:?}");
        assert_eq!(claimed[0].id, due.id);
        assert_eq!(claimed[0].attempt, 1);
        let stored = store
            .get_job(t.id, due.id)
            .await
            .expect("get")
            .expect("job");
        assert_eq!(stored.status, JobStatus::Running);
        assert_eq!(stored.lease_owner.as_ref(), Some(&worker(1)));
        let taken = store
            .get_job(t.id, taken.id)
            .await
            .expect("get")
            .expect("job");
        assert_eq!(taken.lease_owner.as_ref(), Some(&worker(2)));
        assert_eq!(taken.attempt, 1, "a claim of a running job changes nothing");
    }

    pub async fn batch_finish_is_fenced_per_row(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let now = Utc::now();
        let mut hooked = new_job(t.id, now);
        hooked.webhook_url =
            Some(WebhookUrl::parse("https://hooks.example.com/sparta").expect("url"));
        let mut last_try = new_job(t.id, now);
        last_try.max_attempts = 1;
        let jobs = [
            insert(&*store, &hooked).await,
            insert(&*store, &new_job(t.id, now)).await,
            insert(&*store, &last_try).await,
            insert(&*store, &new_job(t.id, now)).await,
            insert(&*store, &new_job(t.id, now)).await,
        ];
        let ids: Vec<JobId> = jobs.iter().map(|j| j.id).collect();
        let w = worker(1);
        let mine = store
            .claim_many(&ids[..4], &w, now, LEASE)
            .await
            .expect("claim");
        assert_eq!(mine.len(), 4);
        store
            .claim(ids[4], &worker(2), now, LEASE)
            .await
            .expect("claim")
            .expect("claimed");
        // The client cancels the fourth while it runs: its lease is gone.
        store.cancel_job(t.id, ids[3], now).await.expect("cancel");
        let later = now + TimeDelta::seconds(30);
        let batch = [
            Finish {
                id: ids[0],
                worker: w.clone(),
                outcome: succeeded(json!({"a": 0}), 3),
            },
            Finish {
                id: ids[1],
                worker: w.clone(),
                outcome: retry(later),
            },
            Finish {
                id: ids[2],
                worker: w.clone(),
                outcome: retry(later),
            },
            Finish {
                id: ids[3],
                worker: w.clone(),
                outcome: succeeded(json!({"a": 3}), 1),
            },
            Finish {
                id: ids[4],
                worker: w.clone(),
                outcome: succeeded(json!({"a": 4}), 1),
            },
        ];
        let mut written = store.finish_many(&batch, now).await.expect("finish many");
        written.sort_by_key(|f| ids.iter().position(|id| *id == f.id));
        assert_eq!(
            written,
            vec![
                Finished {
                    id: ids[0],
                    tenant_id: t.id,
                    status: JobStatus::Succeeded,
                    webhook: true
                },
                Finished {
                    id: ids[1],
                    tenant_id: t.id,
                    status: JobStatus::Queued,
                    webhook: false
                },
                Finished {
                    id: ids[2],
                    tenant_id: t.id,
                    status: JobStatus::Failed,
                    webhook: false
                },
            ],
            "a row whose lease is gone is refused on its own"
        );
        let read = |i: usize| {
            let store = store.clone();
            let id = ids[i];
            async move { store.get_job(t.id, id).await.expect("get").expect("job") }
        };
        let first = read(0).await;
        assert_eq!(first.output.map(|o| o.to_value()), Some(json!({"a": 0})));
        assert_eq!(first.usage.input_tokens, 3);
        assert_eq!(first.trace, json!([{"outcome": "succeeded"}]));
        assert_eq!(first.finished_at.map(ms), Some(ms(now)));
        let retried = read(1).await;
        assert_eq!(retried.status, JobStatus::Queued);
        assert_eq!(ms(retried.run_at), ms(later));
        assert_eq!(retried.finished_at, None);
        assert_eq!(retried.lease_owner, None);
        assert_eq!(
            read(2).await.error.map(|e| e.code),
            Some("NO_VALID_ANSWER".into())
        );
        assert_eq!(read(3).await.status, JobStatus::Cancelled);
        assert_eq!(read(3).await.output, None);
        let foreign = read(4).await;
        assert_eq!(foreign.status, JobStatus::Running);
        assert_eq!(foreign.lease_owner.as_ref(), Some(&worker(2)));
        // Written exactly once: the same batch again writes nothing.
        assert!(
            store
                .finish_many(&batch, now)
                .await
                .expect("again")
                .is_empty()
        );
        assert!(store.finish_many(&[], now).await.expect("empty").is_empty());
    }

    pub async fn renew_leases_renews_a_workers_own(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let now = Utc::now();
        let jobs = [
            insert(&*store, &new_job(t.id, now)).await,
            insert(&*store, &new_job(t.id, now)).await,
            insert(&*store, &new_job(t.id, now)).await,
        ];
        let (w1, w2) = (worker(1), worker(2));
        store
            .claim_many(&[jobs[0].id, jobs[1].id], &w1, now, LEASE)
            .await
            .expect("claim");
        store
            .claim(jobs[2].id, &w2, now, LEASE)
            .await
            .expect("claim")
            .expect("claimed");
        let until = now + TimeDelta::seconds(90);
        let all = [jobs[0].id, jobs[1].id, jobs[2].id];
        let mut renewed = store.renew_leases(&w1, &all, until).await.expect("renew");
        renewed.sort();
        let mut expected = vec![jobs[0].id, jobs[1].id];
        expected.sort();
        assert_eq!(renewed, expected);
        let read = |id: JobId| {
            let store = store.clone();
            async move { store.get_job(t.id, id).await.expect("get").expect("job") }
        };
        assert_eq!(
            read(jobs[0].id).await.lease_expires_at.map(ms),
            Some(ms(until))
        );
        assert_eq!(
            read(jobs[2].id).await.lease_expires_at.map(ms),
            Some(ms(now + TimeDelta::from_std(LEASE).expect("lease"))),
            "another worker's lease is untouched"
        );
        store
            .cancel_job(t.id, jobs[1].id, now)
            .await
            .expect("cancel");
        assert_eq!(
            store.renew_leases(&w1, &all, until).await.expect("renew"),
            vec![jobs[0].id],
            "a lost lease is missing from the answer"
        );
        assert!(
            store
                .renew_leases(&worker(3), &all, until)
                .await
                .expect("renew")
                .is_empty()
        );
        // A job the worker holds in the store but no longer runs (its result could not be
        // written, or its claim's answer was lost) is not renewed: its lease runs out and the
        // reconciler runs it again.
        let later = until + TimeDelta::seconds(90);
        assert!(
            store
                .renew_leases(&w1, &[], later)
                .await
                .expect("renew")
                .is_empty()
        );
        assert_eq!(
            read(jobs[0].id).await.lease_expires_at.map(ms),
            Some(ms(until)),
            "a job the worker does not name keeps its old expiry"
        );
    }

    pub async fn queue_depth_counts_queued_and_running_by_kind(store: Arc<dyn JobStore>) {
        assert!(store.queue_depth().await.expect("depth").is_empty());
        let t = tenant(&*store, "t").await;
        let now = Utc::now();
        let jobs = [
            insert(&*store, &new_job(t.id, now)).await,
            insert(&*store, &new_job(t.id, now)).await,
            insert(&*store, &new_job(t.id, now)).await,
        ];
        store
            .claim_many(&[jobs[0].id], &worker(1), now, LEASE)
            .await
            .expect("claim");
        store
            .cancel_job(t.id, jobs[1].id, now)
            .await
            .expect("cancel");
        let mut depth = store.queue_depth().await.expect("depth");
        depth.sort_by_key(|d| d.status.as_str());
        assert_eq!(
            depth,
            vec![
                QueueDepth {
                    kind: JobKind::Nutrition,
                    status: JobStatus::Queued,
                    jobs: 1
                },
                QueueDepth {
                    kind: JobKind::Nutrition,
                    status: JobStatus::Running,
                    jobs: 1
                },
            ],
            "the cancelled job is not counted"
        );
    }

    pub async fn list_pages_and_filters(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let other = tenant(&*store, "o").await;
        let start = Utc::now();
        let mut ids = Vec::new();
        for i in 0..7 {
            let job = new_job(t.id, start + TimeDelta::seconds(i));
            ids.push(insert(&*store, &job).await.id);
        }
        insert(&*store, &new_job(other.id, start)).await;
        ids.reverse();
        let mut seen = Vec::new();
        let mut query = ListQuery {
            limit: 3,
            ..ListQuery::default()
        };
        loop {
            let page = store.list_jobs(Some(t.id), &query).await.expect("list");
            seen.extend(page.iter().map(|j| j.id));
            if page.len() < 3 {
                break;
            }
            query.after = page.last().map(|j| j.id);
        }
        assert_eq!(seen, ids, "every job once, newest first");
        let w = worker(1);
        store
            .claim(ids[0], &w, start + TimeDelta::seconds(10), LEASE)
            .await
            .expect("claim")
            .expect("claimed");
        let running = ListQuery {
            status: Some(JobStatus::Running),
            limit: 10,
            ..ListQuery::default()
        };
        let page = store.list_jobs(Some(t.id), &running).await.expect("list");
        assert_eq!(page.iter().map(|j| j.id).collect::<Vec<_>>(), vec![ids[0]]);
        let ranged = ListQuery {
            created_from: Some(start + TimeDelta::seconds(2)),
            created_to: Some(start + TimeDelta::seconds(4)),
            kind: Some(JobKind::Nutrition),
            limit: 10,
            ..ListQuery::default()
        };
        let page = store.list_jobs(Some(t.id), &ranged).await.expect("list");
        assert_eq!(
            page.len(),
            2,
            "created_from inclusive, created_to exclusive"
        );
    }

    pub async fn lists_filter_by_athlete(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let at = Utc::now();
        let for_athlete = |id: Option<&str>| {
            let mut job = new_job(t.id, at);
            if let Some(id) = id {
                let mut input = job.input.to_value();
                input["athlete"]["id"] = json!(id);
                job.input = JsonText::from(input);
                job.athlete_id = Some(AthleteId::new(id).expect("athlete id"));
            }
            job
        };
        let mine = insert(&*store, &for_athlete(Some("ath-1"))).await;
        assert_eq!(
            mine.athlete_id.as_ref().map(AthleteId::as_str),
            Some("ath-1")
        );
        insert(&*store, &for_athlete(Some("ath-2"))).await;
        insert(&*store, &for_athlete(None)).await;
        let batch = store
            .insert_jobs(&[for_athlete(Some("ath-1"))])
            .await
            .expect("batch");
        let Ok(Inserted::Created(second)) = &batch[0] else {
            panic!("{batch:?}")
        };
        let query = ListQuery {
            athlete: Some(AthleteKey::parse("ath-1").expect("athlete")),
            limit: 10,
            ..ListQuery::default()
        };
        let listed = store.list_jobs(Some(t.id), &query).await.expect("list");
        assert_eq!(
            listed.iter().map(|j| j.id).collect::<Vec<_>>(),
            vec![second.id, mine.id],
            "the athlete's jobs only, newest first"
        );
        assert!(
            listed
                .iter()
                .all(|j| j.athlete_id.as_ref().map(AthleteId::as_str) == Some("ath-1")),
            "read back with the athlete stored beside it: {listed:?}"
        );
        let everyone = ListQuery {
            limit: 10,
            ..ListQuery::default()
        };
        assert_eq!(
            store
                .list_jobs(Some(t.id), &everyone)
                .await
                .expect("list")
                .len(),
            4
        );
    }

    pub async fn token_verifiers_are_registered_found_sealed_and_removed(store: Arc<dyn JobStore>) {
        use sparta_jobs::jwt_verifier::{JwtKeys, JwtSecret, JwtVerifier};
        use sparta_jobs::secrets::Keyring;
        use sparta_jobs::store::secrets::reseal;
        let a = tenant(&*store, "a").await;
        let b = tenant(&*store, "b").await;
        let now = Utc::now().trunc_subsecs(3);
        let jwks = JwtKeys::jwks("https://auth.example.com/jwks.json").expect("url");
        let verifier = JwtVerifier::new(
            a.id,
            "https://auth.example.com/".into(),
            "sparta".into(),
            jwks,
            now,
        )
        .expect("verifier");
        let stored = store.put_jwt_verifier(&verifier).await.expect("put");
        assert_eq!(stored, verifier);
        assert_eq!(
            store.jwt_verifier(a.id).await.expect("get"),
            Some(verifier.clone())
        );
        assert_eq!(
            store
                .jwt_verifier_for("https://auth.example.com/", "sparta")
                .await
                .expect("for"),
            Some(verifier.clone())
        );
        assert_eq!(
            store
                .jwt_verifier_for("https://auth.example.com/", "other")
                .await
                .expect("for"),
            None
        );
        // Another tenant cannot claim the same issuer and audience: a token could not tell them apart.
        let clash = JwtVerifier {
            tenant_id: b.id,
            ..verifier.clone()
        };
        assert!(matches!(
            store.put_jwt_verifier(&clash).await,
            Err(JobsError::AlreadyExists(_))
        ));
        let unknown = JwtVerifier {
            tenant_id: TenantId::new(),
            audience: "x".into(),
            ..verifier.clone()
        };
        assert!(matches!(
            store.put_jwt_verifier(&unknown).await,
            Err(JobsError::NotFound)
        ));

        // Replaced by an HS256 secret: stored sealed, never in the clear, resealed with the key.
        let secret =
            JwtSecret::new(b"a shared secret of at least 32 bytes!".to_vec()).expect("secret");
        let later = now + TimeDelta::seconds(5);
        let replaced = JwtVerifier {
            keys: JwtKeys::Hs256(secret.clone()),
            updated_at: later,
            ..verifier.clone()
        };
        let stored = store.put_jwt_verifier(&replaced).await.expect("replace");
        assert_eq!(
            stored.created_at, now,
            "a replacement keeps its creation time"
        );
        assert_eq!(stored.keys, JwtKeys::Hs256(secret.clone()));
        let sealed = store.stored_jwt_secrets().await.expect("stored");
        assert_eq!(sealed.len(), 1);
        assert!(sealed[0].sealed.starts_with("sealed:v1:"));
        assert!(!sealed[0].sealed.contains("shared secret"));
        // A key rotation reseals it under the new key, and it opens to the same secret.
        let rotated =
            Keyring::new(&Keyring::generate_key(), &[STORE_KEY.to_owned()]).expect("keys");
        let done = reseal(&*store, &rotated).await.expect("reseal");
        assert_eq!(done.token_secrets, 1);
        let resealed = store.stored_jwt_secrets().await.expect("stored");
        assert_ne!(resealed[0].sealed, sealed[0].sealed);
        assert_eq!(
            rotated.open_jwt_secret(&resealed[0].sealed).expect("open"),
            secret
        );
        assert_eq!(
            reseal(&*store, &rotated)
                .await
                .expect("again")
                .token_secrets,
            0
        );

        assert!(store.delete_jwt_verifier(a.id).await.expect("delete"));
        assert!(!store.delete_jwt_verifier(a.id).await.expect("delete again"));
        assert_eq!(store.jwt_verifier(a.id).await.expect("get"), None);
    }

    pub async fn budgets_are_never_overspent_under_concurrency(store: Arc<dyn JobStore>) {
        use sparta_jobs::store::budgets::{Budget, Reservation};
        let t = tenant(&*store, "t").await;
        let now = Utc::now();
        let job = || JobId::new();
        assert_eq!(
            store
                .reserve(t.id, job(), 1_000, now)
                .await
                .expect("reserve"),
            Reservation::Unlimited,
            "no budget, no ceiling"
        );
        assert!(matches!(
            store
                .set_budget(
                    TenantId::new(),
                    Some(Budget {
                        monthly_micros: 1,
                        daily_micros: None
                    }),
                    now
                )
                .await,
            Err(JobsError::NotFound)
        ));
        // Exactly 37 jobs' worst case: 200 jobs reserving at once get 37 reservations.
        let worst = 12_345;
        let budget = Budget {
            monthly_micros: 37 * worst,
            daily_micros: None,
        };
        store
            .set_budget(t.id, Some(budget), now)
            .await
            .expect("budget");
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let store = store.clone();
                let id = job();
                tokio::spawn(async move {
                    let reservation = store.reserve(t.id, id, worst, now).await.expect("reserve");
                    let used = store.usage(t.id, now).await.expect("usage").used;
                    assert!(
                        used.month_spent + used.month_reserved <= budget.monthly_micros,
                        "{used:?}"
                    );
                    (id, reservation)
                })
            })
            .collect();
        let mut reserved = Vec::new();
        for task in tasks {
            let (id, reservation) = task.await.expect("task");
            if reservation == Reservation::Reserved {
                reserved.push(id);
            } else {
                assert_eq!(reservation, Reservation::Refused);
            }
        }
        assert_eq!(reserved.len(), 37);
        let used = store.usage(t.id, now).await.expect("usage").used;
        assert_eq!(used.month_reserved, 37 * worst);
        // Settled below the worst case: what is left opens again.
        for id in &reserved {
            store
                .settle(t.id, *id, &[("gpt".to_owned(), worst / 2, 1)], now)
                .await
                .expect("settle");
        }
        let usage = store.usage(t.id, now).await.expect("usage");
        assert_eq!(usage.used.month_reserved, 0);
        assert_eq!(usage.used.month_spent, 37 * (worst / 2));
        assert_eq!(usage.by_day.len(), 1);
        assert_eq!(usage.by_day[0].calls, 37);
        assert_eq!(
            store
                .reserve(t.id, job(), worst, now)
                .await
                .expect("reserve"),
            Reservation::Reserved
        );
        // A daily ceiling holds too; a job reserving again replaces its own reservation.
        let daily = Budget {
            monthly_micros: 37 * worst,
            daily_micros: Some(37 * (worst / 2) + worst),
        };
        store
            .set_budget(t.id, Some(daily), now)
            .await
            .expect("budget");
        let again = job();
        assert_eq!(
            store.reserve(t.id, again, 1, now).await.expect("reserve"),
            Reservation::Refused
        );
        // A reservation of a job that ended without settling is released.
        let ended = insert(&*store, &new_job(t.id, now)).await;
        store.set_budget(t.id, None, now).await.expect("no budget");
        store
            .set_budget(t.id, Some(budget), now)
            .await
            .expect("budget");
        assert_eq!(
            store
                .reserve(t.id, ended.id, 5, now)
                .await
                .expect("reserve"),
            Reservation::Reserved
        );
        store.cancel_job(t.id, ended.id, now).await.expect("cancel");
        assert!(store.release_ended_reservations().await.expect("release") >= 1);
        let after = store.usage(t.id, now).await.expect("usage").used;
        assert_eq!(
            after.month_reserved, worst,
            "only the one open reservation is left"
        );
    }

    pub async fn claim_is_exclusive_and_respects_run_at(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let now = Utc::now();
        let job = insert(
            &*store,
            &NewJob {
                request_id: Some(RequestId::parse("req-claimed").expect("request id")),
                traceparent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
                ..new_job(t.id, now)
            },
        )
        .await;
        let w = worker(1);
        assert!(
            store
                .claim(job.id, &w, now - TimeDelta::seconds(5), LEASE)
                .await
                .expect("claim")
                .is_none(),
            "not due yet"
        );
        let claimed = store
            .claim(job.id, &w, now, LEASE)
            .await
            .expect("claim")
            .expect("claimed");
        // The claim hands over what the attempt needs, as stored.
        assert_eq!(
            (claimed.id, claimed.tenant_id, claimed.kind, claimed.attempt),
            (job.id, t.id, job.kind, 1)
        );
        assert_eq!(claimed.input, job.input);
        assert_eq!(claimed.request_id, job.request_id);
        assert_eq!(claimed.traceparent, job.traceparent);
        assert_eq!(ms(claimed.created_at), ms(job.created_at));
        let stored = store
            .get_job(t.id, job.id)
            .await
            .expect("get")
            .expect("job");
        assert_eq!(stored.status, JobStatus::Running);
        assert_eq!(stored.attempt, 1);
        assert_eq!(stored.lease_owner.as_ref(), Some(&w));
        assert_eq!(
            stored.lease_expires_at.map(ms),
            Some(ms(now + TimeDelta::seconds(30)))
        );
        assert!(stored.started_at.is_some());
        assert!(
            store
                .claim(job.id, &worker(2), now, LEASE)
                .await
                .expect("claim")
                .is_none()
        );
        assert!(
            store
                .claim(JobId::new(), &w, now, LEASE)
                .await
                .expect("claim")
                .is_none()
        );
    }

    pub async fn concurrent_claims_of_one_job(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let now = Utc::now();
        for _ in 0..5 {
            let job = insert(&*store, &new_job(t.id, now)).await;
            let claims = (0..12).map(|n| {
                let store = store.clone();
                tokio::spawn(
                    async move { store.claim(job.id, &worker(n), Utc::now(), LEASE).await },
                )
            });
            let results = futures::future::join_all(claims).await;
            let winners = results
                .into_iter()
                .map(|r| r.expect("task").expect("claim"))
                .filter(Option::is_some)
                .count();
            assert_eq!(winners, 1);
        }
    }

    pub async fn concurrent_claim_next_hands_out_each_job_once(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let now = Utc::now() - TimeDelta::seconds(1);
        let mut ids: Vec<JobId> = Vec::new();
        for _ in 0..60 {
            ids.push(insert(&*store, &new_job(t.id, now)).await.id);
        }
        let takers = (0..6).map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = store
                        .claim_next(&worker(n), Utc::now(), LEASE, 4)
                        .await
                        .expect("claim_next");
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|j| j.id));
                }
            })
        });
        let mut all: Vec<JobId> = futures::future::join_all(takers)
            .await
            .into_iter()
            .flat_map(|r| r.expect("task"))
            .collect();
        all.sort();
        ids.sort();
        assert_eq!(all, ids);
    }

    pub async fn claim_next_orders_by_priority_then_age(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let now = Utc::now();
        let mut low = new_job(t.id, now - TimeDelta::seconds(10));
        low.priority = Priority::new(1).expect("p");
        let low = insert(&*store, &low).await;
        let old = insert(&*store, &new_job(t.id, now - TimeDelta::seconds(5))).await;
        let young = insert(&*store, &new_job(t.id, now - TimeDelta::seconds(1))).await;
        let mut high = new_job(t.id, now);
        high.priority = Priority::new(9).expect("p");
        let high = insert(&*store, &high).await;
        let mut future = new_job(t.id, now + TimeDelta::seconds(60));
        future.priority = Priority::new(9).expect("p");
        insert(&*store, &future).await;
        let got: Vec<JobId> = store
            .claim_next(&worker(1), now, LEASE, 10)
            .await
            .expect("claim")
            .into_iter()
            .map(|j| j.id)
            .collect();
        let mut sorted = got.clone();
        sorted.sort_by_key(|id| {
            [high.id, old.id, young.id, low.id]
                .iter()
                .position(|x| x == id)
        });
        assert_eq!(got.len(), 4, "the future job is not due");
        assert_eq!(sorted, vec![high.id, old.id, young.id, low.id]);
    }

    pub async fn finish_is_fenced_and_written_once(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let now = Utc::now();
        let job = insert(&*store, &new_job(t.id, now)).await;
        let w = worker(1);
        // A queued job cannot be finished: queued → succeeded is not a transition.
        assert!(matches!(
            store
                .finish(job.id, &w, succeeded(json!({"x": 1}), 1), now)
                .await,
            Err(JobsError::LeaseLost)
        ));
        store
            .claim(job.id, &w, now, LEASE)
            .await
            .expect("claim")
            .expect("claimed");
        assert!(matches!(
            store
                .finish(job.id, &worker(2), succeeded(json!({"x": 2}), 1), now)
                .await,
            Err(JobsError::LeaseLost)
        ));
        let done = store
            .finish(job.id, &w, succeeded(json!({"x": 1}), 100), now)
            .await
            .expect("finish");
        assert_eq!(done.status, JobStatus::Succeeded);
        assert_eq!(done.output.map(|o| o.to_value()), Some(json!({"x": 1})));
        assert_eq!(done.provider.as_deref(), Some("builtin"));
        assert_eq!(done.prompt_version.as_deref(), Some("p1"));
        assert_eq!(done.usage.input_tokens, 100);
        assert_eq!(done.usage.output_tokens, 200);
        assert_eq!(done.trace, json!([{"outcome": "succeeded"}]));
        assert_eq!(done.lease_owner, None);
        assert_eq!(done.finished_at.map(ms), Some(ms(now)));
        assert!(
            matches!(
                store
                    .finish(job.id, &w, succeeded(json!({"x": 3}), 1), now)
                    .await,
                Err(JobsError::LeaseLost)
            ),
            "a result is written exactly once"
        );
        let read = store
            .get_job(t.id, job.id)
            .await
            .expect("get")
            .expect("job");
        assert_eq!(read.output.map(|o| o.to_value()), Some(json!({"x": 1})));
        assert!(matches!(
            store.cancel_job(t.id, job.id, now).await,
            Err(JobsError::InvalidTransition {
                from: JobStatus::Succeeded,
                to: JobStatus::Cancelled
            })
        ));
    }

    pub async fn retries_sum_usage_and_exhaust(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let now = Utc::now();
        let mut job = new_job(t.id, now);
        job.max_attempts = 2;
        let job = insert(&*store, &job).await;
        let w = worker(1);
        store
            .claim(job.id, &w, now, LEASE)
            .await
            .expect("claim")
            .expect("claimed");
        let later = now + TimeDelta::seconds(10);
        let queued = store
            .finish(job.id, &w, retry(later), now)
            .await
            .expect("retry");
        assert_eq!(queued.status, JobStatus::Queued);
        assert_eq!(queued.attempt, 1);
        assert_eq!(ms(queued.run_at), ms(later));
        assert_eq!(
            queued.error.as_ref().map(|e| e.code.as_str()),
            Some("NO_VALID_ANSWER")
        );
        assert_eq!(queued.finished_at, None);
        assert!(
            store
                .claim(job.id, &w, now, LEASE)
                .await
                .expect("claim")
                .is_none(),
            "not before run_at"
        );
        store
            .claim(job.id, &w, later, LEASE)
            .await
            .expect("claim")
            .expect("claimed at run_at");
        let failed = store
            .finish(job.id, &w, retry(later), later)
            .await
            .expect("retry");
        assert_eq!(failed.status, JobStatus::Failed, "no attempts left");
        assert_eq!(failed.attempt, 2);
        assert_eq!(failed.usage.input_tokens, 20);
        assert!((failed.usage.cost_usd - 0.5).abs() < 1e-9);
        assert_eq!(
            failed.trace,
            json!([{"outcome": "timeout"}, {"outcome": "timeout"}])
        );
        assert!(failed.finished_at.is_some());
    }

    pub async fn retry_then_success_keeps_the_whole_trace(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let now = Utc::now();
        let job = insert(&*store, &new_job(t.id, now)).await;
        let w = worker(1);
        store
            .claim(job.id, &w, now, LEASE)
            .await
            .expect("claim")
            .expect("claimed");
        store
            .finish(job.id, &w, retry(now), now)
            .await
            .expect("retry");
        store
            .claim(job.id, &w, now, LEASE)
            .await
            .expect("claim")
            .expect("claimed");
        let done = store
            .finish(job.id, &w, succeeded(json!({}), 5), now)
            .await
            .expect("finish");
        assert_eq!(done.status, JobStatus::Succeeded);
        assert_eq!(done.error, None);
        assert_eq!(done.usage.input_tokens, 15);
        assert_eq!(
            done.trace,
            json!([{"outcome": "timeout"}, {"outcome": "succeeded"}])
        );
    }

    pub async fn permanent_failure(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let now = Utc::now();
        let job = insert(&*store, &new_job(t.id, now)).await;
        let w = worker(1);
        store
            .claim(job.id, &w, now, LEASE)
            .await
            .expect("claim")
            .expect("claimed");
        let outcome = Outcome::Failed {
            error: JobFailure {
                code: "INVALID_INPUT".into(),
                message: "m".into(),
            },
            report: RunReport::default(),
        };
        let failed = store.finish(job.id, &w, outcome, now).await.expect("fail");
        assert_eq!(failed.status, JobStatus::Failed);
        assert_eq!(failed.attempt, 1);
        assert!(matches!(
            store.cancel_job(t.id, job.id, now).await,
            Err(JobsError::InvalidTransition {
                from: JobStatus::Failed,
                ..
            })
        ));
    }

    pub async fn retry_starts_a_new_cycle_of_a_failed_job(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let other = tenant(&*store, "other").await;
        let now = Utc::now();
        let job = insert(&*store, &new_job(t.id, now)).await;
        let w = worker(1);
        assert!(matches!(
            store.retry_job(t.id, job.id, now).await,
            Err(JobsError::InvalidTransition {
                from: JobStatus::Queued,
                to: JobStatus::Queued
            })
        ));
        store
            .claim(job.id, &w, now, LEASE)
            .await
            .expect("claim")
            .expect("claimed");
        let report = RunReport {
            trace: vec![json!({"job_attempt": 1, "outcome": "invalid"}).into()],
            usage: Usage {
                input_tokens: 10,
                ..Usage::default()
            },
            ..RunReport::default()
        };
        let outcome = Outcome::Failed {
            error: JobFailure {
                code: "INVALID_INPUT".into(),
                message: "m".into(),
            },
            report,
        };
        store.finish(job.id, &w, outcome, now).await.expect("fail");
        assert!(matches!(
            store.retry_job(other.id, job.id, now).await,
            Err(JobsError::NotFound)
        ));
        assert!(matches!(
            store.retry_job(t.id, JobId::new(), now).await,
            Err(JobsError::NotFound)
        ));
        let later = now + TimeDelta::seconds(5);
        let again = store.retry_job(t.id, job.id, later).await.expect("retry");
        assert_eq!(again.status, JobStatus::Queued);
        assert_eq!(again.attempt, 0);
        assert!(again.error.is_none() && again.output.is_none() && again.finished_at.is_none());
        assert_eq!(ms(again.run_at), ms(later));
        assert_eq!(again.usage.input_tokens, 10, "usage keeps adding up");
        let trace = again.trace.as_array().expect("trace").clone();
        assert_eq!(trace.len(), 2, "{trace:?}");
        assert_eq!(trace[0]["job_attempt"], 1);
        assert_eq!(trace[1]["event"], "retried");
        assert_eq!(trace[1]["after_attempts"], 1);
        let at = trace[1]["at"].as_str().expect("at");
        let at: DateTime<Utc> = at.parse().expect("RFC 3339");
        assert_eq!(ms(at), ms(later));
        let claimed = store
            .claim(job.id, &w, later, LEASE)
            .await
            .expect("claim")
            .expect("claimed again");
        assert_eq!(claimed.attempt, 1);
    }

    pub async fn cancel(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let other = tenant(&*store, "o").await;
        let now = Utc::now();
        let queued = insert(&*store, &new_job(t.id, now)).await;
        assert!(matches!(
            store.cancel_job(other.id, queued.id, now).await,
            Err(JobsError::NotFound)
        ));
        assert!(matches!(
            store.cancel_job(t.id, JobId::new(), now).await,
            Err(JobsError::NotFound)
        ));
        let cancelled = store
            .cancel_job(t.id, queued.id, now)
            .await
            .expect("cancel");
        assert_eq!(cancelled.status, JobStatus::Cancelled);
        assert!(cancelled.finished_at.is_some());
        assert!(matches!(
            store.cancel_job(t.id, queued.id, now).await,
            Err(JobsError::InvalidTransition {
                from: JobStatus::Cancelled,
                to: JobStatus::Cancelled
            })
        ));
        assert!(
            store
                .claim(queued.id, &worker(1), now, LEASE)
                .await
                .expect("claim")
                .is_none()
        );

        let running = insert(&*store, &new_job(t.id, now)).await;
        let w = worker(1);
        store
            .claim(running.id, &w, now, LEASE)
            .await
            .expect("claim")
            .expect("claimed");
        store
            .cancel_job(t.id, running.id, now)
            .await
            .expect("cancel running");
        assert!(matches!(
            store.renew_lease(running.id, &w, now).await,
            Err(JobsError::LeaseLost)
        ));
        assert!(
            matches!(
                store
                    .finish(running.id, &w, succeeded(json!({}), 1), now)
                    .await,
                Err(JobsError::LeaseLost)
            ),
            "a cancelled job never gets a result"
        );
        let read = store
            .get_job(t.id, running.id)
            .await
            .expect("get")
            .expect("job");
        assert_eq!(read.status, JobStatus::Cancelled);
        assert_eq!(read.output, None);
    }

    pub async fn leases_renew_expire_and_recover(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let now = Utc::now();
        let mut job = new_job(t.id, now);
        job.max_attempts = 2;
        let job = insert(&*store, &job).await;
        let w = worker(1);
        store
            .claim(job.id, &w, now, LEASE)
            .await
            .expect("claim")
            .expect("claimed");
        let renewed = now + TimeDelta::seconds(60);
        store.renew_lease(job.id, &w, renewed).await.expect("renew");
        assert!(matches!(
            store.renew_lease(job.id, &worker(2), renewed).await,
            Err(JobsError::LeaseLost)
        ));
        assert!(
            store
                .recover_expired(renewed - TimeDelta::seconds(1), 10)
                .await
                .expect("recover")
                .is_empty(),
            "a live lease is not recovered"
        );
        let after = renewed + TimeDelta::seconds(1);
        assert_eq!(
            store.recover_expired(after, 10).await.expect("recover"),
            vec![job.id]
        );
        let read = store
            .get_job(t.id, job.id)
            .await
            .expect("get")
            .expect("job");
        assert_eq!(read.status, JobStatus::Queued);
        assert_eq!(read.lease_owner, None);
        assert!(
            matches!(
                store
                    .finish(job.id, &w, succeeded(json!({}), 1), after)
                    .await,
                Err(JobsError::LeaseLost)
            ),
            "the dead worker's late result is refused"
        );
        // Second attempt dies too: no attempts left → failed.
        store
            .claim(job.id, &worker(2), after, LEASE)
            .await
            .expect("claim")
            .expect("claimed");
        let later = after + TimeDelta::seconds(31);
        assert!(
            store
                .recover_expired(later, 10)
                .await
                .expect("recover")
                .is_empty()
        );
        let read = store
            .get_job(t.id, job.id)
            .await
            .expect("get")
            .expect("job");
        assert_eq!(read.status, JobStatus::Failed);
        assert_eq!(
            read.error.map(|e| e.code),
            Some("LEASE_EXPIRED".to_string())
        );
    }

    pub async fn release_gives_the_attempt_back(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let now = Utc::now();
        let job = insert(&*store, &new_job(t.id, now)).await;
        let w = worker(1);
        store
            .claim(job.id, &w, now, LEASE)
            .await
            .expect("claim")
            .expect("claimed");
        assert!(matches!(
            store.release(job.id, &worker(2), now).await,
            Err(JobsError::LeaseLost)
        ));
        store.release(job.id, &w, now).await.expect("release");
        let read = store
            .get_job(t.id, job.id)
            .await
            .expect("get")
            .expect("job");
        assert_eq!(read.status, JobStatus::Queued);
        assert_eq!(read.attempt, 0);
        assert!(
            store
                .claim(job.id, &worker(2), now, LEASE)
                .await
                .expect("claim")
                .is_some()
        );
    }

    pub async fn unannounced_jobs(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "t").await;
        let now = Utc::now();
        let fresh = insert(&*store, &new_job(t.id, now)).await;
        assert!(
            store
                .take_unannounced(now, None, 10)
                .await
                .expect("take")
                .is_empty(),
            "announced at submission"
        );
        let stale = store
            .take_unannounced(
                now + TimeDelta::seconds(60),
                Some(now + TimeDelta::seconds(1)),
                10,
            )
            .await
            .expect("take");
        assert_eq!(stale, vec![fresh.id]);
        assert!(
            store
                .take_unannounced(
                    now + TimeDelta::seconds(60),
                    Some(now + TimeDelta::seconds(1)),
                    10
                )
                .await
                .expect("take")
                .is_empty(),
            "marked as announced"
        );
        // A retry is not in the queue until announced.
        let job = insert(&*store, &new_job(t.id, now)).await;
        let w = worker(1);
        store
            .claim(job.id, &w, now, LEASE)
            .await
            .expect("claim")
            .expect("claimed");
        let due = now + TimeDelta::seconds(5);
        store
            .finish(job.id, &w, retry(due), now)
            .await
            .expect("retry");
        assert!(
            store
                .take_unannounced(now, None, 10)
                .await
                .expect("take")
                .is_empty(),
            "not due"
        );
        assert_eq!(
            store.take_unannounced(due, None, 10).await.expect("take"),
            vec![job.id]
        );
    }

    fn with_webhook(mut job: NewJob) -> NewJob {
        job.webhook_url = Some(WebhookUrl::parse("https://hooks.example.com/sparta").expect("url"));
        job
    }

    fn attempt(n: u32, at: DateTime<Utc>, status: Option<u16>) -> outbox::DeliveryAttempt {
        outbox::DeliveryAttempt {
            attempt: n,
            started_at: at,
            duration_ms: 12,
            status_code: status,
            error: (status != Some(204)).then(|| "receiver said no".to_owned()),
        }
    }

    /// Every way a job ends creates exactly one event, in the same write; jobs without a
    /// webhook URL and non-terminal transitions create none.
    pub async fn terminal_transitions_create_webhook_events(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "acme").await;
        let now = Utc::now();
        let w = worker(1);
        let ok = insert(&*store, &with_webhook(new_job(t.id, now))).await;
        let failed = insert(&*store, &with_webhook(new_job(t.id, now))).await;
        let cancelled = insert(&*store, &with_webhook(new_job(t.id, now))).await;
        let mut expired = with_webhook(new_job(t.id, now));
        expired.max_attempts = 1;
        let expired = insert(&*store, &expired).await;
        let silent = insert(&*store, &new_job(t.id, now)).await;
        for job in [&ok, &failed, &expired, &silent] {
            store
                .claim(job.id, &w, now, LEASE)
                .await
                .expect("claim")
                .expect("claimed");
        }
        // A retry is not an end: no event.
        store
            .finish(failed.id, &w, retry(now), now)
            .await
            .expect("retry");
        assert!(
            store
                .job_deliveries(t.id, failed.id)
                .await
                .expect("list")
                .is_empty()
        );
        store
            .claim(failed.id, &w, now, LEASE)
            .await
            .expect("claim")
            .expect("again");
        store
            .finish(
                failed.id,
                &w,
                Outcome::Failed {
                    error: JobFailure {
                        code: "X".into(),
                        message: "no".into(),
                    },
                    report: RunReport::default(),
                },
                now,
            )
            .await
            .expect("fail");
        store
            .finish(ok.id, &w, succeeded(json!({"a": 1}), 1), now)
            .await
            .expect("succeed");
        store
            .finish(silent.id, &w, succeeded(json!({"a": 1}), 1), now)
            .await
            .expect("succeed");
        store
            .cancel_job(t.id, cancelled.id, now)
            .await
            .expect("cancel");
        let later = now + TimeDelta::seconds(60);
        assert_eq!(
            store.recover_expired(later, 10).await.expect("recover"),
            vec![]
        );
        for (job, event) in [
            (&ok, outbox::EventType::JobSucceeded),
            (&failed, outbox::EventType::JobFailed),
            (&cancelled, outbox::EventType::JobCancelled),
            (&expired, outbox::EventType::JobFailed),
        ] {
            let events = store.job_deliveries(t.id, job.id).await.expect("list");
            assert_eq!(events.len(), 1, "{event:?}: {events:?}");
            assert_eq!(events[0].event_type, event);
            assert_eq!(events[0].status, outbox::DeliveryStatus::Pending);
            assert!(events[0].id.starts_with("msg_"), "{}", events[0].id);
            assert_eq!(events[0].url, "https://hooks.example.com/sparta");
        }
        assert!(
            store
                .job_deliveries(t.id, silent.id)
                .await
                .expect("list")
                .is_empty()
        );
        // Another tenant sees none of them.
        let other = tenant(&*store, "other").await;
        assert!(
            store
                .job_deliveries(other.id, ok.id)
                .await
                .expect("list")
                .is_empty()
        );
        // The backlog gauge counts the four pending events.
        let backlog = store.webhook_backlog().await.expect("backlog");
        assert_eq!(backlog.pending, 4);
        assert!(
            backlog
                .oldest
                .is_some_and(|at| (at - now).num_seconds().abs() <= 1)
        );
        // All four are due once their job ended.
        let claimed = store
            .claim_webhook_events(&w, later, LEASE, 10, u32::MAX)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 4);
        assert!(
            claimed
                .iter()
                .all(|e| e.attempts == 0 && e.payload.is_none() && e.tenant_id == t.id)
        );
    }

    /// Claims are exclusive and leased; attempts are fenced on the claim, recorded in order,
    /// and the payload is frozen by the first attempt.
    pub async fn webhook_deliveries_are_claimed_recorded_and_retried(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "acme").await;
        let now = Utc::now();
        let (w1, w2) = (worker(1), worker(2));
        let job = insert(&*store, &with_webhook(new_job(t.id, now))).await;
        store
            .claim(job.id, &w1, now, LEASE)
            .await
            .expect("claim")
            .expect("claimed");
        store
            .finish(job.id, &w1, succeeded(json!({"a": 1}), 1), now)
            .await
            .expect("finish");
        let at = now + TimeDelta::seconds(1);
        let events = store
            .claim_webhook_events(&w1, at, LEASE, 10, u32::MAX)
            .await
            .expect("claim");
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event.job_id, job.id);
        // Claimed: nobody else gets it until the claim's lease runs out.
        assert!(
            store
                .claim_webhook_events(&w2, at, LEASE, 10, u32::MAX)
                .await
                .expect("claim")
                .is_empty()
        );
        assert_eq!(
            store
                .freeze_webhook_payload(&event.id, "{\"v\":1}")
                .await
                .expect("freeze"),
            "{\"v\":1}"
        );
        assert_eq!(
            store
                .freeze_webhook_payload(&event.id, "{\"v\":2}")
                .await
                .expect("freeze"),
            "{\"v\":1}"
        );
        // A foreign worker cannot record; the claimer can, once per attempt number.
        let retry_at = at + TimeDelta::seconds(5);
        let first = attempt(1, at, Some(500));
        assert!(matches!(
            store
                .record_webhook_attempt(
                    &event.id,
                    &w2,
                    &first,
                    outbox::NextStep::RetryAt(retry_at),
                    at
                )
                .await,
            Err(JobsError::LeaseLost)
        ));
        store
            .record_webhook_attempt(
                &event.id,
                &w1,
                &first,
                outbox::NextStep::RetryAt(retry_at),
                at,
            )
            .await
            .expect("record");
        assert!(matches!(
            store
                .record_webhook_attempt(&event.id, &w1, &first, outbox::NextStep::GiveUp, at)
                .await,
            Err(JobsError::LeaseLost)
        ));
        // Not due before the retry instant; due after, with the frozen payload.
        assert!(
            store
                .claim_webhook_events(&w2, at, LEASE, 10, u32::MAX)
                .await
                .expect("claim")
                .is_empty()
        );
        let again = store
            .claim_webhook_events(&w2, retry_at, LEASE, 10, u32::MAX)
            .await
            .expect("claim");
        assert_eq!(again.len(), 1);
        assert_eq!(
            (again[0].attempts, again[0].payload.as_deref()),
            (1, Some("{\"v\":1}"))
        );
        // w2 dies mid-attempt: the event is due again once the claim's lease is over.
        let after_lease =
            retry_at + TimeDelta::from_std(LEASE).expect("lease") + TimeDelta::seconds(1);
        let third = store
            .claim_webhook_events(&w1, after_lease, LEASE, 10, u32::MAX)
            .await
            .expect("claim");
        assert_eq!(third.len(), 1);
        store
            .record_webhook_attempt(
                &event.id,
                &w1,
                &attempt(2, after_lease, Some(204)),
                outbox::NextStep::Delivered,
                after_lease,
            )
            .await
            .expect("record");
        let listed = store.job_deliveries(t.id, job.id).await.expect("list");
        assert_eq!(listed.len(), 1);
        let record = &listed[0];
        assert_eq!(record.status, outbox::DeliveryStatus::Delivered);
        assert_eq!(record.next_attempt_at, None);
        assert_eq!(record.finished_at.map(ms), Some(ms(after_lease)));
        let codes: Vec<_> = record
            .attempts
            .iter()
            .map(|a| (a.attempt, a.status_code))
            .collect();
        assert_eq!(codes, vec![(1, Some(500)), (2, Some(204))]);
        assert_eq!(
            record.attempts[0].error.as_deref(),
            Some("receiver said no")
        );
        assert_eq!(ms(record.attempts[0].started_at), ms(at));
        // Delivered events are never claimed again.
        let far = after_lease + TimeDelta::days(1);
        assert!(
            store
                .claim_webhook_events(&w1, far, LEASE, 10, u32::MAX)
                .await
                .expect("claim")
                .is_empty()
        );
    }

    /// Concurrent deliverers claim each event once.
    pub async fn concurrent_webhook_claims_hand_out_each_event_once(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "acme").await;
        let now = Utc::now();
        for _ in 0..30 {
            let job = insert(&*store, &with_webhook(new_job(t.id, now))).await;
            store.cancel_job(t.id, job.id, now).await.expect("cancel");
        }
        let at = now + TimeDelta::seconds(1);
        let mut tasks = Vec::new();
        for n in 0..6 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let me = worker(10 + n);
                let mut mine = Vec::new();
                loop {
                    let got = store
                        .claim_webhook_events(&me, at, LEASE, 4, u32::MAX)
                        .await
                        .expect("claim");
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|e| e.id));
                }
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.expect("task"));
        }
        let total = all.len();
        all.sort();
        all.dedup();
        assert_eq!((total, all.len()), (30, 30));
    }

    /// A worker holds at most `per_tenant` events of one tenant; the rest stay queued without
    /// holding back another tenant's events, and a recorded attempt frees its place.
    pub async fn webhook_claims_are_capped_per_tenant(store: Arc<dyn JobStore>) {
        let a = tenant(&*store, "busy").await;
        let b = tenant(&*store, "quiet").await;
        let now = Utc::now();
        for _ in 0..10 {
            let job = insert(&*store, &with_webhook(new_job(a.id, now))).await;
            store.cancel_job(a.id, job.id, now).await.expect("cancel");
        }
        let at = now + TimeDelta::seconds(1);
        let w = worker(1);
        let first = store
            .claim_webhook_events(&w, at, LEASE, 100, 3)
            .await
            .expect("claim");
        assert_eq!(first.len(), 3);
        assert!(first.iter().all(|e| e.tenant_id == a.id));
        // B's event, due after A's seven queued ones, is claimed at once.
        let job = insert(&*store, &with_webhook(new_job(b.id, now))).await;
        store.cancel_job(b.id, job.id, now).await.expect("cancel");
        let second = store
            .claim_webhook_events(&w, at, LEASE, 100, 3)
            .await
            .expect("claim");
        assert_eq!(second.len(), 1, "{second:?}");
        assert_eq!(second[0].tenant_id, b.id);
        // Another worker has its own cap.
        let other = store
            .claim_webhook_events(&worker(2), at, LEASE, 100, 3)
            .await
            .expect("claim");
        assert_eq!(other.len(), 3);
        assert!(other.iter().all(|e| e.tenant_id == a.id));
        // Recording one attempt frees one place.
        store
            .record_webhook_attempt(
                &first[0].id,
                &w,
                &attempt(1, at, Some(204)),
                outbox::NextStep::Delivered,
                at,
            )
            .await
            .expect("record");
        let third = store
            .claim_webhook_events(&w, at, LEASE, 100, 3)
            .await
            .expect("claim");
        assert_eq!(third.len(), 1);
        assert_eq!(third[0].tenant_id, a.id);
        let ids: Vec<_> = first
            .iter()
            .chain(&other)
            .chain(&third)
            .map(|e| &e.id)
            .collect();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "each event claimed once");
    }

    fn schedule_at(
        t: TenantId,
        target: motivation::ScheduleTarget,
        zone: &str,
        time: &str,
        now: DateTime<Utc>,
    ) -> motivation::MotivationSchedule {
        motivation::MotivationSchedule::starting(
            t,
            target,
            zone.parse().expect("zone"),
            time.parse().expect("time"),
            json!({"tone": "calm", "context": {"streak_days": 3}}),
            now,
        )
    }

    /// Schedules are stored, read back, replaced or kept, listed when due, advanced only from
    /// the version read, and deleted; tenants without one are found.
    pub async fn motivation_schedules(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "acme").await;
        let now: DateTime<Utc> = "2026-11-22T05:00:00Z".parse().expect("now");
        assert_eq!(
            store.tenants_without_schedule(10).await.expect("list"),
            vec![t.id]
        );
        let own = schedule_at(
            t.id,
            motivation::ScheduleTarget::Tenant,
            "UTC",
            "06:00",
            now,
        );
        let stored = store
            .put_motivation_schedule(&own, false)
            .await
            .expect("put");
        assert_eq!(
            (
                stored.next_local_date.to_string().as_str(),
                ms(stored.next_run_at)
            ),
            ("2026-11-22", ms("2026-11-22T06:00:00Z".parse().expect("t")))
        );
        assert!(
            store
                .tenants_without_schedule(10)
                .await
                .expect("list")
                .is_empty()
        );
        // Without replace an existing schedule wins.
        let other = schedule_at(
            t.id,
            motivation::ScheduleTarget::Tenant,
            "Europe/Paris",
            "07:30",
            now,
        );
        let kept = store
            .put_motivation_schedule(&other, false)
            .await
            .expect("put");
        assert_eq!(kept.timezone.name(), "UTC");
        let athlete =
            motivation::ScheduleTarget::Athlete(AthleteKey::parse("athlete-42").expect("id"));
        let sub = schedule_at(t.id, athlete.clone(), "Europe/Paris", "07:30", now);
        let sub = store
            .put_motivation_schedule(&sub, true)
            .await
            .expect("put");
        assert_eq!(sub.profile["context"]["streak_days"], 3);
        assert_eq!(
            (sub.local_time.to_string(), sub.version),
            ("07:30".to_owned(), 0)
        );
        let read = store
            .motivation_schedule(t.id, &athlete)
            .await
            .expect("get")
            .expect("some");
        assert_eq!(read.timezone.name(), "Europe/Paris");
        assert_eq!(read.next_local_date, sub.next_local_date);
        assert_eq!(
            store
                .count_motivation_subscriptions(t.id)
                .await
                .expect("count"),
            1,
            "athletes count, the tenant's own schedule does not"
        );
        // Due: only the tenant's at 06:00 UTC; the athlete's at 07:30 Paris (06:30 UTC).
        let six = "2026-11-22T06:00:00Z".parse().expect("t");
        let due = store.due_motivation_schedules(six, 10).await.expect("due");
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].target, motivation::ScheduleTarget::Tenant);
        let (next, at) = due[0].following(due[0].next_local_date);
        assert!(
            store
                .advance_motivation_schedule(&due[0], next, at, six)
                .await
                .expect("advance")
        );
        // A second scheduler holding the same read loses.
        assert!(
            !store
                .advance_motivation_schedule(&due[0], next, at, six)
                .await
                .expect("advance")
        );
        assert!(
            store
                .due_motivation_schedules(six, 10)
                .await
                .expect("due")
                .is_empty()
        );
        let read = store
            .motivation_schedule(t.id, &motivation::ScheduleTarget::Tenant)
            .await
            .expect("get")
            .expect("some");
        assert_eq!((read.next_local_date, read.version), (next, 1));
        // Replacing bumps the version (an in-flight advance from the old read then loses).
        let replaced = store
            .put_motivation_schedule(
                &schedule_at(t.id, athlete.clone(), "UTC", "08:00", now),
                true,
            )
            .await
            .expect("put");
        assert_eq!((replaced.version, replaced.timezone.name()), (1, "UTC"));
        assert!(
            !store
                .advance_motivation_schedule(&sub, next, at, six)
                .await
                .expect("advance")
        );
        assert!(
            store
                .delete_motivation_schedule(t.id, &athlete)
                .await
                .expect("delete")
        );
        assert!(
            !store
                .delete_motivation_schedule(t.id, &athlete)
                .await
                .expect("delete")
        );
        assert!(
            store
                .motivation_schedule(t.id, &athlete)
                .await
                .expect("get")
                .is_none()
        );
    }

    /// A day's message is one job, whoever creates it: the idempotency key is the guarantee.
    pub async fn one_motivation_job_per_day(store: Arc<dyn JobStore>) {
        let t = tenant(&*store, "acme").await;
        let now = Utc::now();
        let date: chrono::NaiveDate = "2026-11-22".parse().expect("date");
        let key = motivation::daily_key(&motivation::ScheduleTarget::Tenant, date).expect("key");
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            let key = key.clone();
            tasks.push(tokio::spawn(async move {
                let mut job = new_job(t.id, now);
                job.kind = JobKind::Motivation;
                job.request_hash = key.as_str().to_owned();
                job.idempotency_key = Some(key);
                match store.insert_job(&job).await.expect("insert") {
                    Inserted::Created(job) | Inserted::Replayed(job) => job.id,
                }
            }));
        }
        let mut ids = Vec::new();
        for task in tasks {
            ids.push(task.await.expect("task"));
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "{ids:?}");
        let found = store
            .job_by_idempotency_key(t.id, &key)
            .await
            .expect("find")
            .expect("some");
        assert_eq!(found.id, ids[0]);
        let other = tenant(&*store, "other").await;
        assert!(
            store
                .job_by_idempotency_key(other.id, &key)
                .await
                .expect("find")
                .is_none()
        );
    }
}

macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod sqlite_store {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let fixture = sqlite().await;
                checks::$check(fixture.store.clone()).await;
            })*
        }
        mod postgres_store {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let fixture = postgres().await;
                checks::$check(fixture.store.clone()).await;
            })*
        }
    };
}

conformance!(
    tenants,
    activity_is_replaced_per_process_read_by_period_and_pruned,
    breaker_overrides_are_set_replaced_and_lifted,
    keys_are_named_revocable_and_expiring_and_tenants_can_be_disabled,
    webhook_secrets_rotate_with_a_grace_period,
    secrets_are_stored_sealed_and_resealed,
    insert_and_read_back,
    idempotency,
    batch_insert_answers_each_item,
    claim_many_takes_only_claimable_jobs,
    batch_finish_is_fenced_per_row,
    renew_leases_renews_a_workers_own,
    queue_depth_counts_queued_and_running_by_kind,
    list_pages_and_filters,
    lists_filter_by_athlete,
    token_verifiers_are_registered_found_sealed_and_removed,
    budgets_are_never_overspent_under_concurrency,
    claim_is_exclusive_and_respects_run_at,
    concurrent_claims_of_one_job,
    concurrent_claim_next_hands_out_each_job_once,
    claim_next_orders_by_priority_then_age,
    finish_is_fenced_and_written_once,
    retries_sum_usage_and_exhaust,
    retry_then_success_keeps_the_whole_trace,
    permanent_failure,
    retry_starts_a_new_cycle_of_a_failed_job,
    cancel,
    leases_renew_expire_and_recover,
    release_gives_the_attempt_back,
    unannounced_jobs,
    terminal_transitions_create_webhook_events,
    webhook_deliveries_are_claimed_recorded_and_retried,
    concurrent_webhook_claims_hand_out_each_event_once,
    webhook_claims_are_capped_per_tenant,
    motivation_schedules,
    one_motivation_job_per_day,
);

/// A fresh Postgres store, and a connection listening to its job changes as another process.
async fn postgres_listened() -> (Fixture, sqlx::postgres::PgListener) {
    let (fixture, url) = postgres_at().await;
    let mut listener = sqlx::postgres::PgListener::connect(&url)
        .await
        .expect("listener");
    listener
        .listen(sparta_jobs::change_feed::PG_CHANNEL)
        .await
        .expect("listen");
    (fixture, listener)
}

/// Postgres tells other processes of job changes in few notifications: a batched claim of 400
/// jobs is heard as all 400 ids, each once, 190 at most to a notification (under the 8,000-byte
/// payload limit); then a lease renewal, which changes neither status nor attempt, is not heard,
/// and the cancellation after it comes alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_notifies_job_changes_in_few_notifications() {
    let (fixture, mut listener) = postgres_listened().await;
    let store = fixture.store;
    let t = tenant(&*store, "t").await;
    let now = Utc::now();
    let jobs: Vec<NewJob> = (0..400).map(|_| new_job(t.id, now)).collect();
    let ids: Vec<JobId> = jobs.iter().map(|j| j.id).collect();
    assert_eq!(store.insert_jobs(&jobs).await.expect("insert").len(), 400);
    let claimed = store
        .claim_many(&ids, &worker(1), now, LEASE)
        .await
        .expect("claim many");
    assert_eq!(claimed.len(), 400);

    let mut heard: Vec<String> = Vec::new();
    let mut notifications = 0;
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(10), listener.recv())
            .await
            .expect("a notification within 10 s")
            .expect("listener")
            .payload()
            .to_owned()
    };
    while heard.len() < 400 {
        let payload = next().await;
        assert!(payload.len() < 8000);
        assert!(payload.split(',').count() <= 190);
        notifications += 1;
        heard.extend(payload.split(',').map(str::to_owned));
    }
    assert!(notifications >= 3, "190 ids a notification at most");
    heard.sort();
    let mut expected: Vec<String> = ids.iter().map(ToString::to_string).collect();
    expected.sort();
    assert_eq!(heard, expected, "every claimed job, once");

    let renewed = store
        .renew_leases(&worker(1), &ids, now + TimeDelta::seconds(90))
        .await
        .expect("renew");
    assert_eq!(renewed.len(), 400);
    store.cancel_job(t.id, ids[0], now).await.expect("cancel");
    assert_eq!(
        next().await,
        ids[0].to_string(),
        "the cancellation, alone: the renewal is not heard"
    );
}

/// Every transition is heard by the other processes, each sent by the store's notifier within
/// its window after the statement: a claim, a result, a retry of the failed job, a claim of the
/// next due job, a claim given back, an expired lease recovered. (That a renewal is not heard is
/// the test above's: here it would fall in the result's window, and the job's id is sent once.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_notifies_every_transition_of_a_job() {
    let (fixture, mut listener) = postgres_listened().await;
    let store = fixture.store;
    let t = tenant(&*store, "t").await;
    let now = Utc::now();
    let job = insert(&*store, &new_job(t.id, now)).await;
    let w = worker(1);
    let mut heard = Vec::new();
    let mut next = async |step: &str| {
        let note = tokio::time::timeout(Duration::from_secs(10), listener.recv())
            .await
            .unwrap_or_else(|_| panic!("no notification within 10 s after {step}"))
            .expect("listener");
        heard.push(format!("{step}: {}", note.payload()));
    };

    store.claim(job.id, &w, now, LEASE).await.expect("claim");
    next("claim").await;
    store
        .renew_leases(&w, &[job.id], now + TimeDelta::seconds(90))
        .await
        .expect("renew");
    let failed = Outcome::Failed {
        error: JobFailure {
            code: "X".into(),
            message: "no".into(),
        },
        report: RunReport::default(),
    };
    store.finish(job.id, &w, failed, now).await.expect("fail");
    next("result").await;
    store.retry_job(t.id, job.id, now).await.expect("retry");
    next("retry").await;
    let taken = store.claim_next(&w, now, LEASE, 1).await.expect("next");
    assert_eq!(taken.len(), 1);
    next("claim next").await;
    store.release(job.id, &w, now).await.expect("release");
    next("release").await;
    store
        .claim(job.id, &w, now, LEASE)
        .await
        .expect("claim again");
    next("claim again").await;
    let expired = now + TimeDelta::from_std(LEASE).expect("lease") + TimeDelta::seconds(1);
    let recovered = store.recover_expired(expired, 10).await.expect("recover");
    assert_eq!(recovered, [job.id]);
    next("recovery").await;

    let id = job.id.to_string();
    let expected: Vec<String> = [
        "claim",
        "result",
        "retry",
        "claim next",
        "release",
        "claim again",
        "recovery",
    ]
    .iter()
    .map(|step| format!("{step}: {id}"))
    .collect();
    assert_eq!(heard, expected, "one notification per transition");
}

/// A claim commits without waiting for the disk, and only the claim: the setting is its own
/// transaction's, so the next statement on the same connection (here the only one: a submit's
/// insert, a result) commits with a flush again, as a 202 and a stored result require.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_claims_leave_the_connection_flushing_its_commits() {
    let url = scratch_database::create(&postgres_admin_url(), "sparta_conf").await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("connect");
    let store = PgStore::from_pool(pool.clone(), keyring());
    store.migrate().await.expect("migrate");
    let t = tenant(&store, "t").await;
    let now = Utc::now();
    let jobs: Vec<NewJob> = (0..2).map(|_| new_job(t.id, now)).collect();
    store.insert_jobs(&jobs).await.expect("insert");
    let commit_mode = async || -> String {
        sqlx::query_scalar("SHOW synchronous_commit")
            .fetch_one(&pool)
            .await
            .expect("show")
    };
    assert_eq!(commit_mode().await, "on");

    let claimed = store
        .claim_many(&[jobs[0].id], &worker(1), now, LEASE)
        .await
        .expect("claim many");
    assert_eq!(claimed.len(), 1);
    assert_eq!(commit_mode().await, "on", "after a claim of given ids");
    let next = store
        .claim_next(&worker(1), now, LEASE, 10)
        .await
        .expect("claim next");
    assert_eq!(
        next.len(),
        1,
        "the other job, through its init plan's filter"
    );
    assert_eq!(next[0].id, jobs[1].id);
    assert_eq!(
        commit_mode().await,
        "on",
        "after a claim of the next due jobs"
    );
}

/// The claims and result writes keep their connections between statements: one that broke
/// while held (its backend terminated) fails the one statement that finds it broken and goes,
/// and the next statement runs on a fresh connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_held_connection_that_broke_fails_one_statement() {
    use sqlx::Connection as _;
    let (fixture, url) = postgres_at().await;
    let store = fixture.store;
    let t = tenant(&*store, "t").await;
    let now = Utc::now();
    let jobs: Vec<NewJob> = (0..2).map(|_| new_job(t.id, now)).collect();
    store.insert_jobs(&jobs).await.expect("insert");
    let claimed = store
        .claim_many(&[jobs[0].id], &worker(1), now, LEASE)
        .await
        .expect("claim on a connection that is then held");
    assert_eq!(claimed.len(), 1);

    let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect");
    // Every backend of the store is terminated, the held connection's among them. Waited for
    // are those: the store's change notifier may open a fresh connection meanwhile (to send the
    // claim's notification), which is no held connection and stays.
    let terminated: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .expect("backends");
    assert!(!terminated.is_empty(), "the held connection's backend");
    sqlx::query("SELECT pg_terminate_backend(pid) FROM unnest($1::int4[]) AS t(pid)")
        .bind(&terminated)
        .execute(&mut admin)
        .await
        .expect("terminate");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<i32> =
            sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE pid = ANY($1)")
                .bind(&terminated)
                .fetch_all(&mut admin)
                .await
                .expect("backends");
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "backends still there: {left:?}"
        );
        tokio::task::yield_now().await;
    }

    assert!(
        store
            .claim_many(&[jobs[1].id], &worker(1), now, LEASE)
            .await
            .is_err(),
        "the held connection is broken"
    );
    let claimed = store
        .claim_many(&[jobs[1].id], &worker(1), now, LEASE)
        .await
        .expect("the next claim, on a fresh connection");
    assert_eq!(claimed.len(), 1);
}

/// An operator's `DELETE FROM tenants` still removes the tenant's jobs (and their webhook
/// events) and no one else's: the jobs table keeps no foreign key to tenants (it cost every
/// inserted row a lookup and a lock), a trigger on tenants does the cascade instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_deleting_a_tenant_deletes_its_jobs() {
    use sqlx::Connection as _;
    let (fixture, url) = postgres_at().await;
    let store = fixture.store;
    let (gone, kept) = (tenant(&*store, "gone").await, tenant(&*store, "kept").await);
    let now = Utc::now();
    let mut with_webhook = new_job(gone.id, now);
    with_webhook.webhook_url = Some(WebhookUrl::parse("https://example.com/hook").expect("url"));
    let jobs = [with_webhook, new_job(gone.id, now), new_job(kept.id, now)];
    store.insert_jobs(&jobs).await.expect("insert");
    let claimed = store
        .claim_many(&[jobs[0].id], &worker(1), now, LEASE)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    store
        .finish(
            jobs[0].id,
            &worker(1),
            succeeded(serde_json::json!({"ok": true}), 1),
            now,
        )
        .await
        .expect("finish");

    let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect");
    let events = "SELECT count(*) FROM webhook_events WHERE tenant_id = $1";
    let before: i64 = sqlx::query_scalar(events)
        .bind(gone.id.as_uuid())
        .fetch_one(&mut admin)
        .await
        .expect("events");
    assert_eq!(before, 1, "the finished job's webhook event");
    sqlx::query("DELETE FROM tenants WHERE id = $1")
        .bind(gone.id.as_uuid())
        .execute(&mut admin)
        .await
        .expect("delete the tenant");

    for job in &jobs[..2] {
        assert_eq!(store.get_job(gone.id, job.id).await.expect("read"), None);
    }
    let after: i64 = sqlx::query_scalar(events)
        .bind(gone.id.as_uuid())
        .fetch_one(&mut admin)
        .await
        .expect("events");
    assert_eq!(after, 0, "the webhook events went with their jobs");
    let other = store.get_job(kept.id, jobs[2].id).await.expect("read");
    assert_eq!(other.map(|job| job.tenant_id), Some(kept.id));
}

/// A lease renewal never waits for a row another statement holds (the worker's own result
/// write, a cancellation), so it cannot take part in a deadlock: the held job is answered as
/// still the worker's and keeps its expiry until the next heartbeat; the others are renewed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_lease_renewal_skips_a_locked_row_without_waiting() {
    use sqlx::Connection as _;
    let (fixture, url) = postgres_at().await;
    let store = fixture.store;
    let t = tenant(&*store, "t").await;
    let now = Utc::now();
    let jobs: Vec<NewJob> = (0..3).map(|_| new_job(t.id, now)).collect();
    let ids: Vec<JobId> = jobs.iter().map(|j| j.id).collect();
    store.insert_jobs(&jobs).await.expect("insert");
    store
        .claim_many(&ids, &worker(1), now, LEASE)
        .await
        .expect("claim");

    let mut other = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::query("BEGIN")
        .execute(&mut other)
        .await
        .expect("begin");
    sqlx::query("SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE")
        .bind(ids[1].as_uuid())
        .execute(&mut other)
        .await
        .expect("lock");

    let until = now + TimeDelta::seconds(90);
    let mut held = tokio::time::timeout(
        Duration::from_secs(5),
        store.renew_leases(&worker(1), &ids, until),
    )
    .await
    .expect("the renewal does not wait for the locked row")
    .expect("renew");
    held.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(held, expected, "the locked job is still the worker's");
    sqlx::query("ROLLBACK")
        .execute(&mut other)
        .await
        .expect("rollback");

    let expiry = |id: JobId| {
        let store = store.clone();
        async move {
            store
                .get_job(t.id, id)
                .await
                .expect("get")
                .expect("job")
                .lease_expires_at
                .map(ms)
        }
    };
    assert_eq!(expiry(ids[0]).await, Some(ms(until)));
    assert_eq!(expiry(ids[2]).await, Some(ms(until)));
    assert_eq!(
        expiry(ids[1]).await,
        Some(ms(now + TimeDelta::from_std(LEASE).expect("lease"))),
        "the locked job is renewed at the next heartbeat, not this one"
    );
    assert_eq!(
        store
            .renew_leases(&worker(1), &ids, until)
            .await
            .expect("renew")
            .len(),
        3
    );
    assert_eq!(expiry(ids[1]).await, Some(ms(until)));
}
