//! The one typed settings struct, loaded once: defaults, then an optional TOML file, then
//! `SPARTA_*` environment variables (nested keys with `__`, e.g. `SPARTA_WORKER__CONCURRENCY`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Everything SPARTA can be told.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP API listens on (`SPARTA_LISTEN`).
    pub listen: SocketAddr,
    /// `sqlite:path` (embedded, the default) or `postgres://…` (`SPARTA_DATABASE_URL`).
    pub database_url: String,
    /// `redis://…` to use the Redis queue; absent → the store-backed queue (`SPARTA_REDIS_URL`).
    pub redis_url: Option<String>,
    /// Apply migrations when a process starts (safe with many processes: the migrator locks).
    pub auto_migrate: bool,
    /// Logging.
    pub log: LogSettings,
    /// Database pool.
    pub database: DatabaseSettings,
    /// HTTP API.
    pub api: ApiSettings,
    /// Workers.
    pub worker: WorkerSettings,
    /// Queue.
    pub queue: QueueSettings,
    /// The AI orchestrator: models, per-kind chains, retry and breaker policy.
    pub ai: AiSettings,
    /// Webhook delivery (`[webhooks]`).
    pub webhooks: WebhookSettings,
    /// The daily motivation scheduler (`[scheduler]`).
    pub scheduler: SchedulerSettings,
    /// Secrets at rest (`[secrets]`).
    pub secrets: SecretsSettings,
    /// Prometheus metrics (`[metrics]`).
    pub metrics: MetricsSettings,
    /// The operator (`[admin]`).
    pub admin: AdminSettings,
    /// OpenTelemetry traces (`[telemetry]`).
    pub telemetry: TelemetrySettings,
}

/// OpenTelemetry traces, exported over OTLP/HTTP (protobuf) when an endpoint is set.
///
/// ```toml
/// [telemetry]
/// otlp_endpoint = "http://collector:4318"   # spans go to <endpoint>/v1/traces
/// service_name = "sparta-eu"                 # default: sparta-api, sparta-worker or sparta
/// export_every_ms = 5000
/// ```
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// The collector's base URL; none (the default): no spans are exported.
    pub otlp_endpoint: Option<String>,
    /// The `service.name` of this process's spans.
    pub service_name: Option<String>,
    /// How often buffered spans are sent.
    pub export_every_ms: u64,
    /// A trace viewer's URL with `{trace_id}` where the trace id goes (Jaeger:
    /// `https://jaeger.example/trace/{trace_id}`); the console links each job to its trace.
    pub viewer_url: Option<String>,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: None,
            export_every_ms: 5_000,
            viewer_url: None,
        }
    }
}

/// Prometheus metrics.
///
/// ```toml
/// [metrics]
/// public = false   # true: GET /metrics on the API port answers without the operator's token
/// ```
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Whether `/metrics` on the API port answers anyone (keep it off where the API port is
    /// reachable from the internet; a worker's own listener never asks for a token).
    pub public: bool,
}

/// The operator.
///
/// ```toml
/// [admin]
/// token_hash = "…"   # from `sparta admin token` (the token itself is printed once, never stored)
/// ```
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    /// SHA-256 (hex) of the operator's token; none: no token opens the operator's routes.
    pub token_hash: Option<String>,
}

/// Secrets at rest: the key that encrypts webhook signing secrets in the store.
///
/// ```toml
/// [secrets]
/// key = "…"             # 32 bytes, base64 (`sparta secrets generate-key`); or SPARTA_SECRETS__KEY
/// previous_keys = []    # during a key rotation, the old key until `sparta secrets reseal` ran
/// ```
#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsSettings {
    /// The key (32 bytes, standard base64). `sparta serve` without one generates it into its
    /// data folder (mode 0600) and reads it from there afterwards.
    pub key: Option<String>,
    /// Keys that sealed secrets before the current one (still open them): keep each until
    /// `sparta secrets reseal` has run with the new key.
    pub previous_keys: Vec<String>,
}

impl std::fmt::Debug for SecretsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |set: bool| if set { "<redacted>" } else { "<unset>" };
        f.debug_struct("SecretsSettings")
            .field("key", &shown(self.key.is_some()))
            .field("previous_keys", &self.previous_keys.len())
            .finish()
    }
}

/// Webhook delivery (DESIGN §7).
///
/// ```toml
/// [webhooks]
/// retry_schedule_ms = [0, 5000, 300000, 1800000, 7200000, 18000000, 36000000, 36000000]
/// timeout_ms = 10000
/// allow_networks = ["10.20.0.0/16"]   # internal receivers allowed on purpose
/// ```
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Delay before each attempt, as many attempts as entries: the first is 0 (sent as soon as
    /// the job ends), each next one counts from the previous attempt.
    pub retry_schedule_ms: Vec<u64>,
    /// One attempt's time limit.
    pub timeout_ms: u64,
    /// Networks (CIDR) that may receive webhooks although they are not public.
    pub allow_networks: Vec<String>,
    /// Ports a webhook URL may name: single ports (`"443"`) or ranges (`"1024-65535"`).
    pub allowed_ports: Vec<String>,
    /// Time allowed to connect, inside `timeout_ms`.
    pub connect_timeout_ms: u64,
    /// Deliveries in flight at once for one tenant, per process.
    pub per_tenant_concurrency: usize,
    /// How often the delivery queue is looked at when nothing wakes the deliverer.
    pub poll_ms: u64,
    /// Deliveries in flight at once per process.
    pub concurrency: usize,
    /// How long a rotated-out signing secret keeps signing.
    pub secret_grace_secs: u64,
}

/// The daily motivation scheduler.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSettings {
    /// Run the scheduler in worker processes (safe with many: see `worker/src/scheduler.rs`).
    pub enabled: bool,
    /// Time between passes.
    pub every_ms: u64,
    /// Time zone of a tenant's message until it sets one (IANA name).
    pub default_timezone: String,
    /// Local time `HH:MM` of a tenant's message until it sets one.
    pub default_local_time: String,
}

/// The AI orchestrator's routing and policy (`[ai]` in the TOML file).
///
/// ```toml
/// [ai.models.mini]
/// base_url = "https://api.openai.com/v1"
/// api_key_env = "OPENAI_API_KEY"      # the variable's name; its value is read at startup
/// model = "gpt-4o-mini"
/// mode = "json_schema"                # json_schema | json_object | prompt_only
/// price_input_per_mtok = 0.15
/// price_output_per_mtok = 0.60
///
/// [ai.kinds.nutrition]
/// chain = ["mini", "builtin"]
/// cache_ttl_secs = 3600
/// ```
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AiSettings {
    /// A folder of prompt templates to use instead of the embedded ones.
    pub prompts_dir: Option<PathBuf>,
    /// The chain of kinds without one of their own (ends with `builtin`).
    pub default_chain: Vec<String>,
    /// How long LLM answers are cached (exact match on kind, prompt version, model and input);
    /// 0 turns the cache off. Kinds may override it.
    pub cache_ttl_secs: u64,
    /// Models by name.
    pub models: BTreeMap<String, ModelSettings>,
    /// Per-kind routing, by kind name.
    pub kinds: BTreeMap<String, KindSettings>,
    /// Retries of transient failures.
    pub retry: RetrySettings,
    /// Circuit breakers.
    pub breaker: BreakerSettings,
}

/// One model behind an OpenAI-compatible endpoint.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSettings {
    /// The provider protocol; `openai` covers every OpenAI-compatible server.
    #[serde(default = "default_provider")]
    pub provider: String,
    /// The endpoint, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    /// The name of the environment variable holding the API key (none: no key).
    pub api_key_env: Option<String>,
    /// The provider's model id.
    pub model: String,
    /// Structured-output mode to start with.
    #[serde(default = "default_mode")]
    pub mode: sparta_ai::OutputMode,
    /// Longest single attempt.
    #[serde(default = "default_model_timeout_ms")]
    pub timeout_ms: u64,
    /// Largest answer, in tokens.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// US dollars per million prompt tokens.
    #[serde(default)]
    pub price_input_per_mtok: f64,
    /// US dollars per million completion tokens.
    #[serde(default)]
    pub price_output_per_mtok: f64,
}

fn default_provider() -> String {
    "openai".into()
}

fn default_mode() -> sparta_ai::OutputMode {
    sparta_ai::OutputMode::JsonSchema
}

fn default_model_timeout_ms() -> u64 {
    30_000
}

/// Routing of one kind.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KindSettings {
    /// Models tried in order (default: `ai.default_chain`).
    pub chain: Option<Vec<String>>,
    /// The job's time budget (default: `worker.job_timeout_secs`).
    pub timeout_secs: Option<u64>,
    /// Cache LLM answers this long; 0 turns the cache off for this kind (default:
    /// `ai.cache_ttl_secs`).
    pub cache_ttl_secs: Option<u64>,
}

/// Retries of transient provider failures.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySettings {
    /// Retries after the first attempt, per model.
    pub max_retries: u32,
    /// First backoff.
    pub base_ms: u64,
    /// Longest backoff.
    pub max_ms: u64,
    /// Longest `Retry-After` waited for; longer reschedules the job.
    pub retry_after_cap_secs: u64,
}

/// Circuit breakers per provider + model.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerSettings {
    /// Failures in a row that open a breaker.
    pub consecutive_failures: u32,
    /// Failure share over the window that opens a breaker.
    pub failure_rate: f64,
    /// Calls needed in the window before the rate counts.
    pub min_calls: usize,
    /// The window of the failure rate.
    pub window_secs: u64,
    /// How long an open breaker skips calls before one probe.
    pub cooldown_secs: u64,
}

/// Logging.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `text` for people, `json` for log pipelines.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `info,sparta_jobs=debug` (`RUST_LOG` wins when set).
    pub level: String,
}

/// Log line format.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Database pool.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Largest pool (Postgres).
    pub max_connections: u32,
    /// How long a request waits for a connection before answering 503.
    pub acquire_timeout_ms: u64,
}

/// HTTP API.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// Largest request body.
    pub body_limit_bytes: usize,
    /// Largest body of `POST /v1/jobs/batch` (up to 1,000 jobs).
    pub batch_body_limit_bytes: usize,
    /// Longest `?wait=` long-poll.
    pub max_wait_secs: u64,
    /// Attempts per job.
    pub max_attempts: i32,
    /// Queued jobs a tenant may have at once.
    pub max_queued_per_tenant: u64,
    /// Sustained requests per second per API key (0: no limit).
    pub rate_per_key_per_sec: u32,
    /// Burst of requests per API key above the sustained rate.
    pub rate_burst_per_key: u32,
    /// Event streams and long polls a tenant may hold open at once.
    pub max_streams_per_tenant: usize,
    /// Longest life of one event stream, after which it ends with a `reconnect` event.
    pub stream_lifetime_secs: u64,
    /// Motivation subscriptions a tenant may have.
    pub max_subscriptions_per_tenant: u64,
    /// Largest page of a list in bytes.
    pub list_max_bytes: usize,
    /// Failed authentications per second per client address (0: no limit).
    pub auth_failures_per_sec: u32,
    /// Burst of failed authentications per client address.
    pub auth_failure_burst: u32,
}

/// Workers.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// Jobs one process runs at once. In a backlog of quick jobs a claim also takes the jobs
    /// that ended during the previous claim's round trip, which wait for a slot (README,
    /// "Claims ahead of the free slots").
    pub concurrency: usize,
    /// Claim streams of one process, sharing its `concurrency` slots; the second and later
    /// claim only while claims come back full (a backlog). 0 is taken as 1.
    pub claim_lanes: usize,
    /// Lease length.
    pub lease_secs: u64,
    /// Reconciliation period.
    pub reconcile_every_ms: u64,
    /// Time budget of one job attempt.
    pub job_timeout_secs: u64,
    /// First retry delay.
    pub retry_base_ms: u64,
    /// Longest retry delay.
    pub retry_max_secs: u64,
    /// How long in-flight jobs may finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// How often a worker process writes its activity (the console's throughput, wait and run
    /// times, models' latency and spend) to the store.
    pub activity_flush_ms: u64,
    /// Where a `sparta worker` process serves `GET /metrics` (no token: bind it to a private
    /// address); none, the default: no listener. `sparta serve` serves them on the API port.
    pub metrics_listen: Option<SocketAddr>,
}

/// Queue.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    /// Redis key prefix.
    pub namespace: String,
    /// Re-announce queued jobs whose message went missing after this long.
    pub redeliver_after_secs: u64,
    /// Clear queue entries held by a dead consumer after this long; delete a consumer that
    /// holds none and has not been seen for as long (a stopped worker's).
    pub orphan_after_secs: u64,
    /// Store-backed queue: idle poll period.
    pub store_poll_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite:sparta-data/sparta.db".into(),
            redis_url: None,
            auto_migrate: true,
            log: LogSettings {
                format: LogFormat::Text,
                level: "info".into(),
            },
            database: DatabaseSettings {
                max_connections: 16,
                acquire_timeout_ms: 5_000,
            },
            api: ApiSettings {
                body_limit_bytes: 256 * 1024,
                batch_body_limit_bytes: 16 * 1024 * 1024,
                max_wait_secs: 30,
                max_attempts: 3,
                max_queued_per_tenant: 100_000,
                rate_per_key_per_sec: 100,
                rate_burst_per_key: 200,
                max_streams_per_tenant: 50,
                stream_lifetime_secs: 300,
                max_subscriptions_per_tenant: 100_000,
                list_max_bytes: 1024 * 1024,
                auth_failures_per_sec: 5,
                auth_failure_burst: 20,
            },
            worker: WorkerSettings {
                concurrency: 16,
                claim_lanes: 2,
                lease_secs: 30,
                reconcile_every_ms: 1_000,
                job_timeout_secs: 60,
                retry_base_ms: 2_000,
                retry_max_secs: 300,
                shutdown_grace_secs: 20,
                activity_flush_ms: 5000,
                metrics_listen: None,
            },
            queue: QueueSettings {
                namespace: "sparta".into(),
                redeliver_after_secs: 30,
                orphan_after_secs: 120,
                store_poll_ms: 250,
            },
            webhooks: WebhookSettings {
                retry_schedule_ms: vec![
                    0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
                ],
                timeout_ms: 10_000,
                allow_networks: Vec::new(),
                allowed_ports: vec!["80".into(), "443".into(), "1024-65535".into()],
                connect_timeout_ms: 3_000,
                poll_ms: 500,
                concurrency: 16,
                per_tenant_concurrency: 4,
                secret_grace_secs: 24 * 3600,
            },
            scheduler: SchedulerSettings {
                enabled: true,
                every_ms: 5_000,
                default_timezone: "UTC".into(),
                default_local_time: "06:00".into(),
            },
            secrets: SecretsSettings::default(),
            metrics: MetricsSettings::default(),
            admin: AdminSettings::default(),
            telemetry: TelemetrySettings::default(),
            ai: AiSettings {
                prompts_dir: None,
                default_chain: vec![sparta_ai::BUILTIN.into()],
                cache_ttl_secs: 3_600,
                models: BTreeMap::new(),
                kinds: BTreeMap::new(),
                retry: RetrySettings {
                    max_retries: 2,
                    base_ms: 500,
                    max_ms: 8_000,
                    retry_after_cap_secs: 30,
                },
                breaker: BreakerSettings {
                    consecutive_failures: 5,
                    failure_rate: 0.5,
                    min_calls: 10,
                    window_secs: 60,
                    cooldown_secs: 30,
                },
            },
        }
    }
}

impl Settings {
    /// Loads defaults ← `file` (if given) ← `SPARTA_*` variables. An unknown key, a wrong type or
    /// a missing file is an error naming the key.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let settings: Self = Self::layers(file)?
            // `SPARTA_API_KEY` and `SPARTA_API_URL` belong to `sparta submit` (its `--key` and
            // `--api`), not to the settings.
            .merge(
                Env::prefixed("SPARTA_")
                    .ignore(&["api_key", "api_url"])
                    .split("__"),
            )
            .extract()?;
        // Values with a syntax of their own are checked now, so a typo stops startup with
        // one line rather than a worker failing later.
        settings.webhooks()?;
        settings.motivation_defaults()?;
        settings.operator_token_hash()?;
        settings.check_periods()?;
        Ok(settings)
    }

    /// Refuses a zero period or lease: a zero tick interval stops a worker at its first tick,
    /// and a zero poll spins a core.
    fn check_periods(&self) -> anyhow::Result<()> {
        for (name, value) in [
            ("worker.lease_secs", self.worker.lease_secs),
            ("worker.reconcile_every_ms", self.worker.reconcile_every_ms),
            ("scheduler.every_ms", self.scheduler.every_ms),
            ("webhooks.poll_ms", self.webhooks.poll_ms),
            ("queue.store_poll_ms", self.queue.store_poll_ms),
        ] {
            if value == 0 {
                anyhow::bail!("{name} must be at least 1 (it is a period), not 0");
            }
        }
        Ok(())
    }

    /// Defaults and the file, without the environment.
    fn layers(file: Option<&Path>) -> anyhow::Result<Figment> {
        let figment = Figment::from(Serialized::defaults(Settings::default()));
        match file {
            Some(file) if !file.is_file() => {
                anyhow::bail!("config file {} does not exist", file.display())
            }
            Some(file) => Ok(figment.merge(Toml::file(file))),
            None => Ok(figment),
        }
    }

    /// The database URL with any password replaced, for logs and error messages.
    pub fn database_url_redacted(&self) -> String {
        redact(&self.database_url)
    }

    /// The Redis URL with any password replaced.
    pub fn redis_url_redacted(&self) -> Option<String> {
        self.redis_url.as_deref().map(redact)
    }

    /// What the store and queue are opened with; the secrets keyring comes from settings or,
    /// embedded, from the data folder (see [`crate::data_folder::keyring`]).
    pub(crate) fn backends(&self) -> anyhow::Result<sparta_jobs::BackendsConfig> {
        Ok(sparta_jobs::BackendsConfig {
            secrets: crate::data_folder::keyring(self)?,
            database_url: self.database_url.clone(),
            redis_url: self.redis_url.clone(),
            max_connections: self.database.max_connections,
            acquire_timeout: Duration::from_millis(self.database.acquire_timeout_ms),
            store_poll: Duration::from_millis(self.queue.store_poll_ms),
            redis: sparta_jobs::RedisQueueConfig {
                namespace: self.queue.namespace.clone(),
                redeliver_after: Duration::from_secs(self.queue.redeliver_after_secs),
                orphan_after: Duration::from_secs(self.queue.orphan_after_secs),
                ..sparta_jobs::RedisQueueConfig::default()
            },
        })
    }

    /// The scheduler's default time zone and local time for tenants.
    fn motivation_defaults(
        &self,
    ) -> anyhow::Result<(
        sparta_jobs::motivation::TimeZoneName,
        sparta_jobs::motivation::LocalTime,
    )> {
        let zone = self
            .scheduler
            .default_timezone
            .parse()
            .map_err(|e| anyhow::anyhow!("scheduler.default_timezone: {e}"))?;
        let time = self
            .scheduler
            .default_local_time
            .parse()
            .map_err(|e| anyhow::anyhow!("scheduler.default_local_time: {e}"))?;
        Ok((zone, time))
    }

    /// Where webhooks may go: one policy for the API's submit check and the deliverer's.
    pub(crate) fn destinations(
        &self,
    ) -> anyhow::Result<sparta_jobs::destination::DestinationPolicy> {
        let allow_networks = self
            .webhooks
            .allow_networks
            .iter()
            .map(|cidr| {
                cidr.parse()
                    .map_err(|e| anyhow::anyhow!("webhooks.allow_networks: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let allowed_ports = self
            .webhooks
            .allowed_ports
            .iter()
            .map(|ports| parse_port_range(ports))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if allowed_ports.is_empty() {
            anyhow::bail!("webhooks.allowed_ports needs at least one port");
        }
        Ok(sparta_jobs::destination::DestinationPolicy {
            allow_networks,
            allowed_ports,
        })
    }

    pub(crate) fn webhooks(&self) -> anyhow::Result<sparta_worker::DeliveryConfig> {
        let destinations = self.destinations()?;
        match self.webhooks.retry_schedule_ms.first() {
            None => anyhow::bail!("webhooks.retry_schedule_ms needs at least one attempt"),
            Some(0) => {}
            Some(_) => anyhow::bail!(
                "webhooks.retry_schedule_ms must start with 0: the first attempt leaves as soon \
                 as the job ends"
            ),
        }
        Ok(sparta_worker::DeliveryConfig {
            schedule: self
                .webhooks
                .retry_schedule_ms
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
            timeout: Duration::from_millis(self.webhooks.timeout_ms),
            connect_timeout: Duration::from_millis(self.webhooks.connect_timeout_ms),
            destinations,
            poll: Duration::from_millis(self.webhooks.poll_ms),
            concurrency: self.webhooks.concurrency,
            per_tenant_concurrency: self.webhooks.per_tenant_concurrency,
            secret_grace: Duration::from_secs(self.webhooks.secret_grace_secs),
        })
    }

    pub(crate) fn scheduler(&self) -> anyhow::Result<sparta_worker::SchedulerConfig> {
        let (default_timezone, default_local_time) = self.motivation_defaults()?;
        Ok(sparta_worker::SchedulerConfig {
            every: Duration::from_millis(self.scheduler.every_ms),
            default_timezone,
            default_local_time,
            max_attempts: self.api.max_attempts,
            ..sparta_worker::SchedulerConfig::default()
        })
    }

    pub(crate) fn api(&self) -> anyhow::Result<sparta_api::ApiConfig> {
        let (motivation_timezone, motivation_local_time) = self.motivation_defaults()?;
        let max_wait = Duration::from_secs(self.api.max_wait_secs);
        Ok(sparta_api::ApiConfig {
            body_limit_bytes: self.api.body_limit_bytes,
            batch_body_limit_bytes: self.api.batch_body_limit_bytes,
            max_wait,
            default_max_attempts: self.api.max_attempts,
            request_timeout: Duration::from_secs(30) + max_wait,
            max_queued_per_tenant: self.api.max_queued_per_tenant,
            rate_per_key_per_sec: self.api.rate_per_key_per_sec,
            rate_burst_per_key: self.api.rate_burst_per_key,
            motivation_timezone,
            motivation_local_time,
            destinations: self.destinations()?,
            max_streams_per_tenant: self.api.max_streams_per_tenant,
            stream_lifetime: Duration::from_secs(self.api.stream_lifetime_secs),
            max_subscriptions_per_tenant: self.api.max_subscriptions_per_tenant,
            list_max_bytes: self.api.list_max_bytes,
            auth_failures_per_sec: self.api.auth_failures_per_sec,
            auth_failure_burst: self.api.auth_failure_burst,
            operator_token_hash: self.operator_token_hash()?,
            ..sparta_api::ApiConfig::default()
        })
    }

    /// `admin.token_hash`, checked.
    pub(crate) fn operator_token_hash(
        &self,
    ) -> anyhow::Result<Option<sparta_jobs::OperatorTokenHash>> {
        self.admin
            .token_hash
            .as_deref()
            .map(|hash| {
                sparta_jobs::OperatorTokenHash::parse(hash)
                    .map_err(|e| anyhow::anyhow!("admin.token_hash: {e}"))
            })
            .transpose()
    }

    /// The API key of a model: the value of its `api_key_env` variable (read here, once, at
    /// startup; empty when the model names no variable). A named variable that is unset is an
    /// error naming the variable, never its value.
    pub(crate) fn model_api_key(&self, model: &ModelSettings) -> anyhow::Result<String> {
        match &model.api_key_env {
            None => Ok(String::new()),
            Some(variable) => std::env::var(variable).map_err(|_| {
                anyhow::anyhow!(
                    "model '{}' reads its API key from ${variable}, which is not set",
                    model.model
                )
            }),
        }
    }

    pub(crate) fn worker(&self) -> sparta_worker::WorkerConfig {
        sparta_worker::WorkerConfig {
            concurrency: self.worker.concurrency,
            claim_lanes: self.worker.claim_lanes,
            lease: Duration::from_secs(self.worker.lease_secs),
            reconcile_every: Duration::from_millis(self.worker.reconcile_every_ms),
            shutdown_grace: Duration::from_secs(self.worker.shutdown_grace_secs),
            ..sparta_worker::WorkerConfig::default()
        }
    }

    /// How often a worker process writes its activity: `worker.activity_flush_ms`, at least
    /// 100 ms (a zero would spin).
    pub(crate) fn activity_flush(&self) -> Duration {
        Duration::from_millis(self.worker.activity_flush_ms.max(100))
    }
}

/// `"443"` or `"1024-65535"` → an inclusive range of ports.
fn parse_port_range(text: &str) -> anyhow::Result<(u16, u16)> {
    let bad = || {
        anyhow::anyhow!("webhooks.allowed_ports: '{text}' is not a port or a range like 1024-65535")
    };
    let (low, high) = text.split_once('-').unwrap_or((text, text));
    let low: u16 = low.trim().parse().map_err(|_| bad())?;
    let high: u16 = high.trim().parse().map_err(|_| bad())?;
    if low == 0 || low > high {
        return Err(bad());
    }
    Ok((low, high))
}

/// The URL with every credential replaced by `***`: the password of the userinfo and every
/// query-string value (drivers take `?password=`, `?sslpassword=`, tokens…). Parsed with the
/// URL parser, so no spelling of a URL slips through; text that is not a URL is shown as
/// `<unparsable URL>` rather than risk printing a secret.
fn redact(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return "<unparsable URL>".into();
    };
    // Without a host there is no userinfo to find (`postgres:/u:pw@h` is all path): an `@`
    // there may still be a credential someone mistyped.
    if url.host().is_none() && text.contains('@') {
        return "<unparsable URL>".into();
    }
    if url.password().is_some() {
        // Setting a password fails only for URLs that cannot have one (no host).
        let _ = url.set_password(Some("***"));
    }
    if url.query().is_some() {
        let names: Vec<String> = url
            .query_pairs()
            .map(|(name, _)| name.into_owned())
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(names.iter().map(|name| (name.as_str(), "***")));
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_period_is_refused_with_its_name() {
        let mut settings = Settings::default();
        assert!(settings.check_periods().is_ok());
        settings.worker.reconcile_every_ms = 0;
        let error = settings
            .check_periods()
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(error.contains("worker.reconcile_every_ms"), "{error}");
        let mut settings = Settings::default();
        settings.worker.lease_secs = 0;
        assert!(settings.check_periods().is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("redis://h:6379"), "redis://h:6379");
        assert_eq!(redact("sqlite:x.db"), "sqlite:x.db");
        for leaky in [
            "postgres://h/db?user=u&password=secret",
            "postgres://u:secret@h/db?sslpassword=secret&password=secret",
            "postgres://u:secret@h:5432/db?options=-c%20x%3Dsecret",
            "redis://:secret@h:6379/0",
            "postgres://u:se%40cret@h/db",
            "postgres://u:secret@@h/db",
            "postgres:/u:secret@h/db",
            "not a url secret",
        ] {
            let shown = redact(leaky);
            assert!(
                !shown.contains("secret") && !shown.contains("se%40cret"),
                "{leaky} → {shown}"
            );
        }
        assert_eq!(
            redact("postgres://h/db?user=u&password=secret"),
            "postgres://h/db?user=***&password=***"
        );
    }

    #[test]
    fn a_file_overrides_defaults_and_unknown_keys_are_refused() {
        let dir = std::env::temp_dir().join(format!("sparta-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("sparta.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\n[worker]\nconcurrency = 3\n",
        )
        .expect("write");
        let settings: Settings = Settings::layers(Some(&file))
            .expect("layers")
            .extract()
            .expect("valid");
        assert_eq!(settings.listen.port(), 9000);
        assert_eq!(settings.worker.concurrency, 3);
        assert!(settings.database_url.starts_with("sqlite:"), "default kept");
        std::fs::write(&file, "[worker]\nconcurency = 3\n").expect("write");
        let typo: Result<Settings, _> = Settings::layers(Some(&file)).expect("layers").extract();
        assert!(typo.is_err_and(|e| e.to_string().contains("concurency")));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn webhook_and_scheduler_values_are_checked_when_loaded() {
        let mut settings = Settings::default();
        assert!(settings.webhooks().is_ok() && settings.scheduler().is_ok());
        settings.webhooks.allow_networks = vec!["10.0.0.0/33".into()];
        let error = settings.webhooks().expect_err("bad CIDR").to_string();
        assert!(error.contains("webhooks.allow_networks"), "{error}");
        settings.webhooks.allow_networks = vec!["127.0.0.0/8".into()];
        settings.webhooks.retry_schedule_ms = vec![1000, 5000];
        assert!(
            settings.webhooks().is_err(),
            "the first attempt is immediate"
        );
        settings.webhooks.retry_schedule_ms = vec![];
        assert!(settings.webhooks().is_err());
        settings.webhooks.retry_schedule_ms = vec![0, 100];
        assert_eq!(settings.webhooks().expect("valid").schedule.len(), 2);
        settings.scheduler.default_timezone = "Mars/Olympus".into();
        let error = settings.scheduler().expect_err("bad zone").to_string();
        assert!(error.contains("scheduler.default_timezone"), "{error}");
        settings.scheduler.default_timezone = "Europe/Paris".into();
        settings.scheduler.default_local_time = "25:00".into();
        assert!(settings.api().is_err(), "the API reads the same defaults");
    }

    #[test]
    fn a_missing_file_is_an_error() {
        assert!(Settings::load(Some(Path::new("/nonexistent/sparta.toml"))).is_err());
    }
}
