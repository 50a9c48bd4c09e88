//! Test harness: real services, real HTTP, real databases, isolated per test.
//!
//! - Embedded: a fresh SQLite file per test.
//! - Distributed: a fresh Postgres database per test (`SPARTA_TEST_POSTGRES_URL`, default the
//!   local server) and a fresh Redis key namespace (`SPARTA_TEST_REDIS_URL`, default the local
//!   server); tests that stop Redis start their own `redis-server` on a free port. A run's
//!   databases and namespaces are removed when the next run starts (`scratch_database`,
//!   [`fresh_namespace`]): both are named after the test process that made them.
//!
//! A missing Postgres or Redis fails the test loudly; nothing is skipped.

#[path = "../../jobs/tests/support/scratch_database.rs"]
mod scratch_database;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use sparta::{Roles, Service, Settings};
use sparta_jobs::{ApiKey, JobStore, TenantName};
use tokio::time::Instant;

/// How long any single wait in a test may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

pub fn postgres_admin_url() -> String {
    std::env::var("SPARTA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("SPARTA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// A temporary folder, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(unique("sparta-e2e"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The key that seals webhook secrets in every test service (API and worker services of one
/// test must share it, as processes sharing a Postgres database do).
pub const TEST_SECRETS_KEY: &str = "c3BhcnRhLWUyZS10ZXN0LXNlY3JldHMta2V5LTAwMDE=";

/// The keyring of [`TEST_SECRETS_KEY`], for stores a test opens itself.
pub fn test_keyring() -> sparta_jobs::secrets::Keyring {
    sparta_jobs::secrets::Keyring::new(TEST_SECRETS_KEY, &[]).expect("test key")
}

/// Settings for tests: port 0, fast reconciliation, small pools.
pub fn base_settings() -> Settings {
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        ..Settings::default()
    };
    settings.worker.concurrency = 8;
    settings.worker.reconcile_every_ms = 200;
    settings.worker.retry_base_ms = 50;
    settings.worker.shutdown_grace_secs = 5;
    settings.queue.store_poll_ms = 50;
    settings.database.max_connections = 8;
    // Tests submit thousands of jobs from one key; the rate limit has its own test.
    settings.api.rate_per_key_per_sec = 0;
    // The daily motivation scheduler would add a job of its own once the tenant's local 06:00
    // has passed, so counts would depend on the hour the suite runs; its tests run schedulers
    // of their own (motivation.rs, faults.rs).
    settings.scheduler.enabled = false;
    settings.secrets.key = Some(TEST_SECRETS_KEY.into());
    settings
}

/// Embedded-mode settings on a fresh SQLite file inside `dir`.
pub fn embedded_settings(dir: &TempDir) -> Settings {
    let mut settings = base_settings();
    settings.database_url = format!("sqlite:{}", dir.0.join("sparta.db").display());
    settings
}

/// Creates a fresh Postgres database and returns its URL.
pub async fn fresh_postgres() -> String {
    scratch_database::create(&postgres_admin_url(), "sparta_e2e").await
}

/// A fresh Redis key namespace on `redis`, named after this test process (`e2e_{pid}_{uuid}`).
/// The first one a process makes on a server deletes the keys of the namespaces there whose
/// process is gone (a test process has no hook at its end, and a failed run ends anywhere), as
/// `scratch_database` does for Postgres: a run leaves its keys behind only until the next. Only
/// on a server on this machine (its namespaces' process ids are ours) and where `/proc` shows
/// which processes live.
pub async fn fresh_namespace(redis: &str) -> String {
    static SWEPT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let first = {
        let mut swept = SWEPT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let first = !swept.iter().any(|url| url == redis);
        if first {
            swept.push(redis.to_owned());
        }
        first
    };
    if first && local_redis(redis) {
        sweep_namespaces(redis).await;
    }
    format!(
        "e2e_{}_{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Whether the Redis of `url` runs on this machine (a socket, or a loopback address).
fn local_redis(url: &str) -> bool {
    use redis::IntoConnectionInfo as _;
    match url.into_connection_info().map(|info| info.addr) {
        Ok(redis::ConnectionAddr::Unix(_)) => true,
        Ok(redis::ConnectionAddr::Tcp(host, _)) => scratch_database::on_this_machine(&host),
        _ => false,
    }
}

/// Deletes the keys (`{e2e_{pid}_{uuid}}:…`) of the namespaces of test processes that ended.
async fn sweep_namespaces(redis: &str) {
    let client = redis::Client::open(redis)
        .unwrap_or_else(|e| panic!("Redis is required for these tests ({redis}): {e}"));
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("Redis is required for these tests ({redis}): {e}"));
    let mut cursor = 0_u64;
    let mut ended = Vec::new();
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("{e2e_*")
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .expect("scan the test namespaces");
        ended.extend(
            keys.into_iter()
                .filter(|key| namespace_creator(key).is_some_and(scratch_database::ended)),
        );
        if next == 0 {
            break;
        }
        cursor = next;
    }
    for key in ended {
        // Another process sweeping at the same moment may have deleted it first.
        let _: Result<u64, _> = redis::cmd("DEL").arg(&key).query_async(&mut conn).await;
    }
}

/// The process that made a test namespace, from one of its keys (`{e2e_{pid}_{32 hex}}:…`);
/// `None` for any other key (namespaces from before the pid was in the name included).
fn namespace_creator(key: &str) -> Option<u32> {
    let namespace = key.strip_prefix('{')?.split_once('}')?.0;
    scratch_database::made_by(namespace)
        .filter(|(prefix, _)| *prefix == "e2e")
        .map(|(_, pid)| pid)
}

#[test]
fn a_namespace_names_its_process() {
    let key = format!("{{e2e_4242_{}}}:jobs", uuid::Uuid::new_v4().simple());
    assert_eq!(namespace_creator(&key), Some(4242));
    assert_eq!(
        namespace_creator("{e2e_0123456789abcdef0123456789abcdef}:epoch"),
        None,
        "a namespace from before the pid was in the name"
    );
    assert_eq!(namespace_creator("{faults}:jobs"), None);
    assert_eq!(namespace_creator("{e2e_12_nothex}:jobs"), None);
    assert!(local_redis("redis://127.0.0.1:6379"));
    assert!(!local_redis("redis://redis.internal:6379"));
}

/// Distributed-mode settings on a fresh Postgres database and Redis namespace.
pub async fn distributed_settings(redis: &str) -> Settings {
    let mut settings = base_settings();
    settings.database_url = fresh_postgres().await;
    settings.redis_url = Some(redis.to_owned());
    settings.queue.namespace = fresh_namespace(redis).await;
    settings.queue.redeliver_after_secs = 1;
    settings
}

/// A tenant's API key, created directly in the store (as `sparta tenant create` does).
pub async fn create_tenant(store: &dyn JobStore, name: &str) -> String {
    create_tenant_with_secret(store, name).await.0
}

/// A tenant's API key and its webhook signing secret (`whsec_…`).
pub async fn create_tenant_with_secret(store: &dyn JobStore, name: &str) -> (String, String) {
    let key = ApiKey::generate();
    let secret = sparta_jobs::WebhookSecret::generate();
    store
        .create_tenant(
            &TenantName::parse(name).expect("name"),
            &key.hash(),
            &secret,
        )
        .await
        .expect("create tenant");
    (key.reveal().to_owned(), secret.reveal())
}

/// An HTTP client bound to one service and one API key.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub key: String,
}

/// An answer: status, headers and the JSON envelope.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// `data[0]`.
    pub fn first(&self) -> &Value {
        &self.body["data"][0]
    }
    /// `errors[0].code`.
    pub fn error_code(&self) -> &str {
        self.body["errors"][0]["code"].as_str().unwrap_or_default()
    }
    /// `errors[0].field`.
    pub fn error_field(&self) -> &str {
        self.body["errors"][0]["field"].as_str().unwrap_or_default()
    }
}

impl Client {
    pub fn new(service: &Service, key: &str) -> Self {
        let addr = service.local_addr().expect("api role");
        Self {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .expect("http client"),
            base: format!("http://{addr}"),
            key: key.to_owned(),
        }
    }

    pub fn with_key(&self, key: &str) -> Self {
        Self {
            key: key.to_owned(),
            ..self.clone()
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("http request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "non-JSON body ({status}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    pub async fn submit(&self, body: &Value) -> Reply {
        self.post_json("/v1/jobs", body).await
    }

    /// Submits and returns the new job's id, asserting 202.
    pub async fn submit_ok(&self, body: &Value) -> String {
        let reply = self.submit(body).await;
        assert_eq!(reply.status, 202, "submit: {}", reply.body);
        reply.first()["id"].as_str().expect("job id").to_owned()
    }

    /// Long-polls until the job is terminal (or the test deadline passes).
    pub async fn wait_terminal(&self, id: &str) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let reply = self.get(&format!("/v1/jobs/{id}?wait=5")).await;
            assert_eq!(reply.status, 200, "get job: {}", reply.body);
            let job = reply.first().clone();
            let status = job["status"].as_str().unwrap_or_default();
            if matches!(status, "succeeded" | "failed" | "cancelled") {
                return job;
            }
            assert!(Instant::now() < deadline, "job {id} still {status}");
        }
    }
}

/// The example request body of a kind, from `examples/requests/`.
pub fn example(kind: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/requests")
        .join(format!("{kind}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("example JSON")
}

/// A nutrition request for an athlete of `kg`.
pub fn nutrition(kg: f64) -> Value {
    let mut body = example("nutrition");
    body["input"]["athlete"]["bodyweight_kg"] = json!(kg);
    body
}

/// Polls `check` until it returns true, failing the test after `DEADLINE`.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + DEADLINE;
    let mut pause = Duration::from_millis(5);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// Starts a service with the given roles.
pub async fn start(settings: &Settings, roles: Roles) -> Service {
    // Warnings and errors reach the test output (RUST_LOG overrides, e.g. RUST_LOG=info).
    sparta::init_telemetry(&sparta::LogSettings {
        format: sparta::LogFormat::Text,
        level: "warn".into(),
    });
    Service::start(settings, roles)
        .await
        .expect("service starts")
}

/// A `redis-server` of the test's own on a free port, so stopping it disturbs nothing else.
pub struct RedisProcess {
    pub port: u16,
    child: Option<std::process::Child>,
}

impl RedisProcess {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut redis = Self { port, child: None };
        redis.restart().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port, with no persistence: a restart loses
    /// everything, as an unpersisted production Redis would.
    pub async fn restart(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed for these tests");
        self.child = Some(child);
        let url = self.url();
        eventually("redis-server to accept connections", || {
            let url = url.clone();
            async move {
                match redis::Client::open(url) {
                    Ok(client) => client.get_multiplexed_async_connection().await.is_ok(),
                    Err(_) => false,
                }
            }
        })
        .await;
    }

    /// Kills the server (SIGKILL) and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Prints a test's figures where a reader of the test run sees them: straight to stderr, which
/// the test harness does not capture (`println!` output of a passing test is swallowed).
pub fn report_line(text: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// `report!("…", args)`: [`report_line`] with `format!` syntax.
macro_rules! report {
    ($($arg:tt)*) => {
        $crate::harness::report_line(format_args!($($arg)*))
    };
}
pub(crate) use report;

/// Fails a queued job as a worker records a permanent failure (`NO_VALID_ANSWER`), with one
/// trace entry of its attempt.
pub async fn fail_job(store: &dyn JobStore, id: &str) {
    use sparta_jobs::{JobFailure, Outcome, RunReport, WorkerId};
    let job_id: sparta_jobs::JobId = id.parse().expect("job id");
    let worker = WorkerId::parse("w-test").expect("worker id");
    let now = chrono::Utc::now();
    store
        .claim(job_id, &worker, now, Duration::from_secs(30))
        .await
        .expect("claim")
        .expect("claimed");
    let failure = Outcome::Failed {
        error: JobFailure {
            code: "NO_VALID_ANSWER".into(),
            message: "every model failed".into(),
        },
        report: RunReport {
            trace: vec![json!({"job_attempt": 1, "outcome": "timeout"}).into()],
            ..RunReport::default()
        },
    };
    store
        .finish(job_id, &worker, failure, now)
        .await
        .expect("fail");
}
