//! Throughput of the real `sparta` binary, beside the BullMQ peer on the same machine and Redis.
//!
//! Every scenario starts real processes of the built binary (`sparta api` + N × `sparta worker`
//! on a fresh Postgres database and Redis namespace of its own, or `sparta serve` on an SQLite
//! file in a temporary folder), configured by a TOML settings file, and drives the API with an
//! in-process HTTP load generator (C concurrent keep-alive connections, closed loop, or an
//! open-loop schedule). Completion is read from the jobs table (polled with a deadline).
//!
//! Scenarios (`BENCH_SCENARIOS`, a comma list; default all but `rss_200k`):
//! - `distributed_backlog_1w`, `distributed_backlog_2w`: all N submitted while the workers,
//!   started and reading, are held (SIGSTOP), then let go (SIGCONT): BullMQ's backlog, built in
//!   front of a booted, paused `Worker`.
//! - `distributed_live_1w`, `distributed_live_2w`, `embedded_live`: workers run while jobs are
//!   submitted.
//! - `distributed_batch_backlog_1w`, `distributed_batch_live_1w`, `distributed_batch_backlog_2w`:
//!   the same N through `POST /v1/jobs/batch` (skipped when the binary has no such endpoint);
//!   the two-worker one is for information (BullMQ's peer runs one process).
//! - `open_loop_1000rps`: submits at a fixed rate (latency from each request's planned send time,
//!   so coordinated omission is counted), then the idle pickup latency of 200 jobs one at a time.
//!   Beside the latencies: the slowest submit of each second, the API's own histogram of its
//!   response times (its `/metrics`), and a write + `fdatasync` every 5 ms in the scenario's
//!   folder (a disk's flush stall is a stall of every submit, which waits for its commit).
//! - `scheduler_fanout`: `BENCH_FANOUT` motivation subscriptions due at the same minute; time
//!   from that minute until all their jobs succeeded.
//! - `rss_200k` (also with `BENCH_LONG=1`): 200,000 jobs live; the worker's memory over the run.
//! - `console_overview_1m` (also with `BENCH_LONG=1`): the console's overview, its live stream
//!   and the providers page of a `sparta api` over a store of `BENCH_CONSOLE_JOBS` (1,000,000)
//!   jobs and an hour of two workers' activity, timed request to last byte.
//!
//! Figures per scenario: submit/s (accepted jobs / submit wall time), submit latency p50/p99,
//! drain/s (BullMQ's definition, (N − 1) / (first → last success); for a backlog also N /
//! (release → last success)), end-to-end/s (N / (first submit → last success)), wait p50/p99
//! (`created_at` → `started_at`, from the jobs table), CPU seconds per 1,000 jobs and peak RSS
//! of every process (and of this load generator). The BullMQ peer (`../shared/peers/bullmq`)
//! runs first and again after SPARTA's scenarios, and SPARTA's figures are printed as ratios to
//! the mean of its two runs next to their targets (both runs are printed and kept).
//!
//! Environment: `BENCH_N` (20000), `BENCH_CONCURRENCY` (50), `BENCH_BATCH` (1000),
//! `BENCH_RATE` (1000), `BENCH_OPEN_LOOP_SECS` (10), `BENCH_FSYNC_PROBE_MS` (5; 0: no disk
//! probe), `BENCH_FANOUT` (100000),
//! `BENCH_FANOUT_DEADLINE_SECS` (1500), `BENCH_RSS_N` (200000), `BENCH_WORKER_CONCURRENCY` (100),
//! `BENCH_DB_CONNECTIONS` (16), `BENCH_LOG_LEVEL` (`warn`; `info` is a deployment's default),
//! `BENCH_DEADLINE_SECS` (60 + N / 200), `BENCH_SCENARIOS`,
//! `BENCH_LONG`, `BENCH_SKIP_BULLMQ=1`, `BENCH_SPARTA_BIN` (the binary measured; default the one
//! cargo built), `BENCH_ATTEMPTS` (2: a failed scenario runs once more;
//! both errors are recorded), `SPARTA_TEST_POSTGRES_URL`, `SPARTA_TEST_REDIS_URL`.
//! Prints tables and writes everything to `bench-results/throughput.json`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::{Value, json};
use sqlx::{PgPool, SqlitePool};

/// Every scenario, in the order they run.
const SCENARIOS: [&str; 12] = [
    "distributed_backlog_1w",
    "distributed_backlog_2w",
    "distributed_live_1w",
    "distributed_live_2w",
    "embedded_live",
    "distributed_batch_backlog_1w",
    "distributed_batch_live_1w",
    "distributed_batch_backlog_2w",
    "open_loop_1000rps",
    "scheduler_fanout",
    "rss_200k",
    "console_overview_1m",
];

/// Jobs of the idle pickup measurement.
const PICKUP_SAMPLES: usize = 200;
/// How often the store is polled for completion. Each poll is work for the Postgres being
/// measured (an `EXISTS` that walks the entries of the jobs claimed since the last vacuum:
/// 2.8 ms at 40,000 jobs), and the figures come from the jobs' own instants, not from when a
/// poll saw them: at 25 ms the polls took 11 % of a core from the drain they measured.
const POLL: Duration = Duration::from_millis(100);
/// How often a scenario's jobs are counted by status while it runs (a scan of the table), to
/// stop at the first failed job.
const COUNT_EVERY: Duration = Duration::from_secs(5);
/// How long a process may take to answer `/readyz`.
const READY_DEADLINE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Options and machine
// ---------------------------------------------------------------------------------------------

/// What the run is asked to do, from the `BENCH_*` variables.
#[derive(Clone, Debug)]
struct Options {
    n: usize,
    concurrency: usize,
    batch: usize,
    rate: f64,
    open_loop_secs: f64,
    /// The disk probe's period beside the open loop; none with `BENCH_FSYNC_PROBE_MS=0`.
    fsync_probe: Option<Duration>,
    fanout: usize,
    fanout_deadline: Duration,
    rss_jobs: usize,
    worker_concurrency: usize,
    db_connections: usize,
    /// The processes' log level: `warn` leaves out the `info` lines a default deployment
    /// writes for every request and every accepted job.
    log_level: String,
    deadline: Option<Duration>,
    scenarios: Vec<String>,
    skip_bullmq: bool,
    attempts: u32,
    admin_url: String,
    redis_url: String,
    clk_tck: f64,
}

/// A numeric environment variable, or its default.
fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text} is not a number")),
        Err(_) => default,
    }
}

impl Options {
    fn from_env() -> Self {
        let long = std::env::var("BENCH_LONG").is_ok_and(|v| v == "1");
        let scenarios: Vec<String> = match std::env::var("BENCH_SCENARIOS") {
            Ok(list) if !list.trim().is_empty() => list
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            _ => SCENARIOS
                .iter()
                .filter(|s| long || (**s != "rss_200k" && **s != "console_overview_1m"))
                .map(|s| (*s).to_owned())
                .collect(),
        };
        for name in &scenarios {
            assert!(
                SCENARIOS.contains(&name.as_str()),
                "unknown scenario {name}; known: {SCENARIOS:?}"
            );
        }
        Self {
            n: env_num("BENCH_N", 20_000),
            concurrency: env_num("BENCH_CONCURRENCY", 50),
            batch: env_num("BENCH_BATCH", 1000).clamp(1, 1000),
            rate: env_num("BENCH_RATE", 1000.0),
            open_loop_secs: env_num("BENCH_OPEN_LOOP_SECS", 10.0),
            fsync_probe: Some(Duration::from_millis(env_num("BENCH_FSYNC_PROBE_MS", 5)))
                .filter(|period| !period.is_zero()),
            fanout: env_num("BENCH_FANOUT", 100_000),
            fanout_deadline: Duration::from_secs(env_num("BENCH_FANOUT_DEADLINE_SECS", 1500)),
            rss_jobs: env_num("BENCH_RSS_N", 200_000),
            worker_concurrency: env_num("BENCH_WORKER_CONCURRENCY", 100),
            db_connections: env_num("BENCH_DB_CONNECTIONS", 16),
            log_level: std::env::var("BENCH_LOG_LEVEL").unwrap_or_else(|_| "warn".into()),
            deadline: std::env::var("BENCH_DEADLINE_SECS")
                .ok()
                .map(|_| Duration::from_secs(env_num("BENCH_DEADLINE_SECS", 0))),
            scenarios,
            skip_bullmq: std::env::var("BENCH_SKIP_BULLMQ").is_ok_and(|v| v == "1"),
            attempts: env_num("BENCH_ATTEMPTS", 2).max(1),
            admin_url: std::env::var("SPARTA_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
            redis_url: std::env::var("SPARTA_TEST_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
            clk_tck: clock_ticks(),
        }
    }

    /// How long `jobs` jobs may take to finish once submitted.
    fn deadline_for(&self, jobs: usize) -> Duration {
        self.deadline
            .unwrap_or(Duration::from_secs(60 + (jobs / 200) as u64))
    }
}

/// The binary measured: `BENCH_SPARTA_BIN` (another build, or a link to this one under another
/// name), else the one cargo built with this bench.
fn sparta_bin() -> PathBuf {
    std::env::var_os("BENCH_SPARTA_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_sparta")),
        PathBuf::from,
    )
}

/// The output of a short command, trimmed (empty when it cannot run).
fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`, 100 on Linux).
fn clock_ticks() -> f64 {
    command_output("getconf", &["CLK_TCK"])
        .parse()
        .unwrap_or(100.0)
}

/// Busy and total jiffies of all CPUs, from the first line of `/proc/stat`.
fn cpu_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().sum();
    // idle and iowait are the 4th and 5th.
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// The share of the machine's CPU busy over the next second, before a scenario starts: other
/// work on the machine (a build) moves every figure, so it is recorded beside them.
async fn machine_busy() -> f64 {
    let (busy0, total0) = cpu_jiffies();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (busy1, total1) = cpu_jiffies();
    round((busy1 - busy0) as f64 / (total1 - total0).max(1) as f64, 3)
}

/// Seconds since the Unix epoch, now (the clock the jobs table's instants use).
fn epoch_now() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1e6
}

/// Nearest-rank percentile of sorted samples (0 when there are none).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// `x` rounded to `digits` decimals, for the report.
fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

/// CPU time and memory of one process, from `/proc`.
#[derive(Clone, Copy, Debug, Default)]
struct ProcStats {
    /// utime + stime, seconds.
    cpu_s: f64,
    /// VmRSS, kB.
    rss_kb: u64,
    /// VmHWM (peak RSS), kB.
    hwm_kb: u64,
}

impl ProcStats {
    /// Reads `/proc/<pid>/stat` and `status` (`pid` may be `self`); zeros when unreadable.
    fn read(pid: &str, clk_tck: f64) -> Self {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name `(…)`: state is the 3rd field, utime the 14th.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
        let cpu_s = ticks(11).unwrap_or(0.0) + ticks(12).unwrap_or(0.0);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kb = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        Self {
            cpu_s: cpu_s / clk_tck,
            rss_kb: kb("VmRSS:"),
            hwm_kb: kb("VmHWM:"),
        }
    }
}

/// CPU seconds of every process whose command name is `comm` (`postgres`, `redis-server`), by
/// pid.
fn server_cpu(comm: &str, clk_tck: f64) -> BTreeMap<u32, f64> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let name = stat
            .split_once('(')
            .and_then(|(_, rest)| rest.rsplit_once(')'))
            .map(|(name, _)| name);
        if name == Some(comm) {
            found.insert(pid, ProcStats::read(&pid.to_string(), clk_tck).cpu_s);
        }
    }
    found
}

/// CPU spent since `before` by the processes alive now (a process that exited in between is
/// not counted; one started since counts from zero).
fn cpu_since(before: &BTreeMap<u32, f64>, now: &BTreeMap<u32, f64>) -> f64 {
    now.iter()
        .map(|(pid, cpu)| cpu - before.get(pid).copied().unwrap_or(0.0))
        .sum()
}

/// Over one scenario: this load generator's CPU and peak RSS (reset at the start), and the CPU
/// of the machine's Postgres and Redis servers (all their processes: other users of the same
/// servers count too).
struct Meter {
    clk_tck: f64,
    own_cpu: f64,
    postgres: BTreeMap<u32, f64>,
    redis: BTreeMap<u32, f64>,
}

impl Meter {
    fn start(clk_tck: f64) -> Self {
        // `5` resets VmHWM to the current RSS (Linux ≥ 4.0); harmless when refused.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        Self {
            clk_tck,
            own_cpu: ProcStats::read("self", clk_tck).cpu_s,
            postgres: server_cpu("postgres", clk_tck),
            redis: server_cpu("redis-server", clk_tck),
        }
    }

    /// `{"load_generator": …, "servers": …}` per 1,000 jobs.
    fn figures(&self, jobs: usize) -> (Value, Value) {
        let per_1k = |cpu: f64| round(cpu * 1000.0 / jobs.max(1) as f64, 3);
        let own = ProcStats::read("self", self.clk_tck);
        let postgres = cpu_since(&self.postgres, &server_cpu("postgres", self.clk_tck));
        let redis = cpu_since(&self.redis, &server_cpu("redis-server", self.clk_tck));
        (
            json!({
                "cpu_s_per_1k_jobs": per_1k(own.cpu_s - self.own_cpu),
                "peak_rss_mb": round(own.hwm_kb as f64 / 1024.0, 1),
            }),
            json!({
                "postgres_cpu_s_per_1k_jobs": per_1k(postgres),
                "redis_cpu_s_per_1k_jobs": per_1k(redis),
            }),
        )
    }
}

/// A running `sparta` process; its stderr goes to a log file.
struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
}

/// Sends a signal by name to a process.
fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The `sparta` processes of one scenario: SIGTERM then SIGKILL for all when dropped.
#[derive(Default)]
struct Procs(Vec<Proc>);

impl Procs {
    /// Starts `sparta --config FILE <role>` with its stderr to `<dir>/<name>.log`.
    fn spawn(&mut self, role: &str, config: &Path, dir: &Path) -> Result<u32> {
        let name = match self.0.iter().filter(|p| p.name.starts_with(role)).count() {
            0 if role != "worker" => role.to_owned(),
            n => format!("{role}{}", n + 1),
        };
        let log = dir.join(format!("{name}.log"));
        let stderr = std::fs::File::create(&log).context("log file")?;
        let child = Command::new(sparta_bin())
            .arg("--config")
            .arg(config)
            .arg(role)
            .env_remove("RUST_LOG")
            .env_remove("SPARTA_DATABASE_URL")
            .env_remove("SPARTA_REDIS_URL")
            .env_remove("SPARTA_LISTEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .context("starting sparta")?;
        let pid = child.id();
        self.0.push(Proc { name, child, log });
        Ok(pid)
    }

    /// An error naming the first process that exited, with its log.
    fn check_alive(&mut self) -> Result<()> {
        for proc in &mut self.0 {
            if let Ok(Some(status)) = proc.child.try_wait() {
                bail!(
                    "{} exited early ({status}); its log: {}",
                    proc.name,
                    proc.log.display()
                );
            }
        }
        Ok(())
    }

    /// Figures of every process by name.
    fn stats(&self, clk_tck: f64) -> Vec<(String, ProcStats)> {
        self.0
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    ProcStats::read(&p.child.id().to_string(), clk_tck),
                )
            })
            .collect()
    }

    /// The pids of every process whose name starts with `name`.
    fn pids(&self, name: &str) -> Vec<u32> {
        self.0
            .iter()
            .filter(|p| p.name.starts_with(name))
            .map(|p| p.child.id())
            .collect()
    }

    /// The pid of the first process whose name starts with `name`.
    fn pid(&self, name: &str) -> Option<u32> {
        self.0
            .iter()
            .find(|p| p.name.starts_with(name))
            .map(|p| p.child.id())
    }

    /// SIGTERM to all (SIGCONT first, for a worker still held), up to 5 s for each to exit,
    /// then SIGKILL.
    fn stop_all(&mut self) {
        for proc in &self.0 {
            signal(proc.child.id(), "CONT");
            signal(proc.child.id(), "TERM");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for mut proc in self.0.drain(..) {
            while Instant::now() < deadline {
                if !matches!(proc.child.try_wait(), Ok(None)) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = proc.child.kill();
            let _ = proc.child.wait();
        }
    }

    fn logs(&self) -> Vec<PathBuf> {
        self.0.iter().map(|p| p.log.clone()).collect()
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// A free TCP port on loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

// ---------------------------------------------------------------------------------------------
// The store, read by the bench
// ---------------------------------------------------------------------------------------------

/// The jobs table of a scenario: Postgres, or the embedded SQLite file opened read-only.
#[derive(Clone)]
enum Db {
    Pg(PgPool),
    Lite(SqlitePool),
}

/// Status counts of one kind of job.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    succeeded: i64,
    failed: i64,
    pending: i64,
}

/// Instants (epoch seconds) and waits of one kind's succeeded jobs.
#[derive(Clone, Copy, Debug, Default)]
struct JobTimes {
    count: i64,
    first_started: f64,
    first_finished: f64,
    last_finished: f64,
    wait_p50_ms: f64,
    wait_p99_ms: f64,
}

/// Count, first start, first and last finish (epoch s), wait p50 and p99 (ms).
type PgTimesRow = (
    i64,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
);

impl Db {
    /// Whether any job of `kind` is queued or running (cheap: both statuses are indexed).
    async fn pending(&self, kind: &str) -> Result<bool> {
        const SQL: &str = "SELECT \
             EXISTS (SELECT 1 FROM jobs WHERE status = 'queued' AND kind = $1) \
             OR EXISTS (SELECT 1 FROM jobs WHERE status = 'running' AND kind = $1)";
        Ok(match self {
            Db::Pg(pool) => sqlx::query_scalar(SQL).bind(kind).fetch_one(pool).await?,
            Db::Lite(pool) => {
                sqlx::query_scalar(&SQL.replace("$1", "?1"))
                    .bind(kind)
                    .fetch_one(pool)
                    .await?
            }
        })
    }

    /// Status counts of `kind` (a scan: polled seldom).
    async fn counts(&self, kind: &str) -> Result<Counts> {
        const SQL: &str = "SELECT \
             COUNT(CASE WHEN status = 'succeeded' THEN 1 END), \
             COUNT(CASE WHEN status IN ('failed', 'cancelled') THEN 1 END), \
             COUNT(CASE WHEN status IN ('queued', 'running') THEN 1 END) \
             FROM jobs WHERE kind = $1";
        let (succeeded, failed, pending): (i64, i64, i64) = match self {
            Db::Pg(pool) => sqlx::query_as(SQL).bind(kind).fetch_one(pool).await?,
            Db::Lite(pool) => {
                sqlx::query_as(&SQL.replace("$1", "?1"))
                    .bind(kind)
                    .fetch_one(pool)
                    .await?
            }
        };
        Ok(Counts {
            succeeded,
            failed,
            pending,
        })
    }

    /// Instants and wait percentiles of `kind`'s succeeded jobs, computed in SQL.
    async fn times(&self, kind: &str) -> Result<JobTimes> {
        match self {
            Db::Pg(pool) => {
                const WAIT: &str = "EXTRACT(EPOCH FROM started_at - created_at)::float8";
                let sql = format!(
                    "SELECT COUNT(*), \
                       EXTRACT(EPOCH FROM MIN(started_at))::float8, \
                       EXTRACT(EPOCH FROM MIN(finished_at))::float8, \
                       EXTRACT(EPOCH FROM MAX(finished_at))::float8, \
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY {WAIT}) * 1000, \
                       percentile_cont(0.99) WITHIN GROUP (ORDER BY {WAIT}) * 1000 \
                     FROM jobs WHERE kind = $1 AND status = 'succeeded'"
                );
                let row: PgTimesRow = sqlx::query_as(&sql).bind(kind).fetch_one(pool).await?;
                Ok(JobTimes {
                    count: row.0,
                    first_started: row.1.unwrap_or(0.0),
                    first_finished: row.2.unwrap_or(0.0),
                    last_finished: row.3.unwrap_or(0.0),
                    wait_p50_ms: row.4.unwrap_or(0.0),
                    wait_p99_ms: row.5.unwrap_or(0.0),
                })
            }
            Db::Lite(pool) => {
                // The embedded store keeps instants as integer milliseconds.
                let row: (i64, Option<i64>, Option<i64>, Option<i64>) = sqlx::query_as(
                    "SELECT COUNT(*), MIN(started_at), MIN(finished_at), MAX(finished_at) \
                     FROM jobs WHERE kind = ?1 AND status = 'succeeded'",
                )
                .bind(kind)
                .fetch_one(pool)
                .await?;
                let wait = |p: f64| {
                    let offset = ((p / 100.0) * (row.0 as f64 - 1.0).max(0.0)).round() as i64;
                    sqlx::query_scalar::<_, i64>(
                        "SELECT started_at - created_at AS wait FROM jobs \
                         WHERE kind = ?1 AND status = 'succeeded' ORDER BY wait LIMIT 1 OFFSET ?2",
                    )
                    .bind(kind)
                    .bind(offset)
                    .fetch_optional(pool)
                };
                let ms = |v: Option<i64>| v.unwrap_or(0) as f64 / 1000.0;
                Ok(JobTimes {
                    count: row.0,
                    first_started: ms(row.1),
                    first_finished: ms(row.2),
                    last_finished: ms(row.3),
                    wait_p50_ms: wait(50.0).await?.unwrap_or(0) as f64,
                    wait_p99_ms: wait(99.0).await?.unwrap_or(0) as f64,
                })
            }
        }
    }

    async fn close(&self) {
        match self {
            Db::Pg(pool) => pool.close().await,
            Db::Lite(pool) => pool.close().await,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One scenario's deployment
// ---------------------------------------------------------------------------------------------

/// How a scenario deploys SPARTA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `sparta api` + `sparta worker` on Postgres and Redis.
    Distributed,
    /// `sparta serve` on SQLite.
    Embedded,
}

/// Settings that differ between scenarios.
#[derive(Clone, Copy, Debug)]
struct Tuning {
    scheduler: bool,
    max_subscriptions: usize,
}

impl Tuning {
    const PLAIN: Tuning = Tuning {
        scheduler: false,
        max_subscriptions: 100_000,
    };
}

/// What is removed at the end of a scenario (also from `Drop`, if the scenario panicked).
#[derive(Clone, Debug)]
struct Cleanup {
    admin_url: String,
    redis_url: String,
    database: Option<String>,
    namespace: Option<String>,
    dir: PathBuf,
}

impl Cleanup {
    /// Drops the database, deletes the namespace's Redis keys and, unless `keep_dir`, the
    /// temporary folder. Errors are printed, not returned.
    async fn run(&self, keep_dir: bool) {
        if let Some(name) = &self.database
            && let Err(e) = drop_database(&self.admin_url, name).await
        {
            println!("cleanup: could not drop database {name}: {e:#}");
        }
        if let Some(ns) = &self.namespace {
            match delete_redis_keys(&self.redis_url, ns).await {
                Ok(left) if left > 0 => println!("cleanup: {left} Redis keys of {ns} remain"),
                Ok(_) => {}
                Err(e) => println!("cleanup: could not delete the Redis keys of {ns}: {e:#}"),
            }
        }
        if keep_dir {
            println!("logs kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

async fn drop_database(admin_url: &str, name: &str) -> Result<()> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Deletes `{ns}:*` (SCAN + DEL, bounded) and returns how many such keys remain.
async fn delete_redis_keys(url: &str, ns: &str) -> Result<usize> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let pattern = format!("{{{ns}}}:*");
    let scan = |cursor: u64| {
        redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .clone()
    };
    for pass in 0..2 {
        let mut cursor = 0;
        let mut found = 0;
        for _ in 0..100_000 {
            let (next, keys): (u64, Vec<String>) = scan(cursor).query_async(&mut conn).await?;
            found += keys.len();
            if pass == 0 && !keys.is_empty() {
                let _: usize = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        if pass == 1 {
            return Ok(found);
        }
    }
    Ok(0)
}

/// The HTTP address and key of a running API, and one client for the bench's own requests
/// (the load itself goes through [`LoadConnection`]s).
#[derive(Clone, Debug)]
struct Api {
    base: String,
    key: String,
    http: reqwest::Client,
}

/// One scenario's deployment: settings file, processes, store, cleanup.
struct Stack {
    mode: Mode,
    dir: PathBuf,
    config: PathBuf,
    procs: Procs,
    db: Db,
    api: Api,
    cleanup: Cleanup,
    done: bool,
}

impl Stack {
    /// A fresh database (or SQLite file) and namespace, the settings file and a tenant.
    async fn create(opts: &Options, mode: Mode, tuning: Tuning) -> Result<Self> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("sparta_bench_{}", &id[..12]);
        // The folder (and so every process's command line) does not say "sparta": a broad
        // `pkill -f sparta` by another user of the machine should not end this bench's processes.
        let dir = std::env::temp_dir().join(format!("throughput-{}", &id[..12]));
        std::fs::create_dir_all(&dir)?;
        let cleanup = Cleanup {
            admin_url: opts.admin_url.clone(),
            redis_url: opts.redis_url.clone(),
            database: (mode == Mode::Distributed).then(|| name.clone()),
            namespace: (mode == Mode::Distributed).then(|| name.clone()),
            dir: dir.clone(),
        };
        let port = free_port();
        let database_url = match mode {
            Mode::Distributed => {
                use sqlx::Connection as _;
                let mut conn = sqlx::PgConnection::connect(&opts.admin_url)
                    .await
                    .context("connecting to the local Postgres")?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await?;
                let server = opts.admin_url.rsplit_once('/').map_or("", |(s, _)| s);
                format!("{server}/{name}")
            }
            Mode::Embedded => format!("sqlite:{}", dir.join("sparta.db").display()),
        };
        let config = dir.join("settings.toml");
        std::fs::write(
            &config,
            settings_toml(opts, mode, tuning, port, &database_url, &name),
        )?;
        // From here on, a failure still cleans up.
        let mut stack = Self {
            mode,
            dir,
            config,
            procs: Procs::default(),
            db: Db::Lite(SqlitePool::connect_lazy("sqlite::memory:")?),
            api: Api {
                base: format!("http://127.0.0.1:{port}"),
                key: String::new(),
                http: http_client(opts.concurrency.max(64)),
            },
            cleanup,
            done: false,
        };
        stack.api.key = create_tenant(&stack.config, "bench")?;
        stack.db = match mode {
            Mode::Distributed => Db::Pg(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(2)
                    .connect(&database_url)
                    .await?,
            ),
            Mode::Embedded => Db::Lite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(
                        sqlx::sqlite::SqliteConnectOptions::new()
                            .filename(stack.dir.join("sparta.db"))
                            .read_only(true),
                    )
                    .await?,
            ),
        };
        Ok(stack)
    }

    /// Starts a process of `role` and returns its pid.
    fn spawn(&mut self, role: &str) -> Result<u32> {
        self.procs.spawn(role, &self.config, &self.dir)
    }

    /// Starts `count` worker processes.
    fn spawn_workers(&mut self, count: usize) -> Result<()> {
        for _ in 0..count {
            self.spawn("worker")?;
        }
        Ok(())
    }

    /// Starts `count` worker processes and waits until Redis holds as many blocked
    /// `XREADGROUP`s (started, connected, reading; a consumer joins the group only with its
    /// first entry, so the group cannot tell). With `hold`, it then stops them (SIGSTOP): a
    /// backlog builds up in front of workers that are ready, as BullMQ's peer builds it in front
    /// of a paused `Worker` whose boot is outside its figures too; [`Stack::release_workers`]
    /// lets them go.
    async fn start_workers(&mut self, count: usize, hold: bool) -> Result<()> {
        self.spawn_workers(count)?;
        let client = redis::Client::open(self.cleanup.redis_url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            self.procs.check_alive()?;
            let clients: String = redis::cmd("CLIENT")
                .arg("LIST")
                .query_async(&mut conn)
                .await?;
            let reading = clients
                .lines()
                .filter(|line| {
                    line.split(' ').any(|f| f == "cmd=xreadgroup")
                        && line
                            .split(' ')
                            .any(|f| f.starts_with("flags=") && f.contains('b'))
                })
                .count();
            if reading >= count {
                break;
            }
            if Instant::now() >= deadline {
                bail!(
                    "{reading} of {count} workers blocked reading the queue within {READY_DEADLINE:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if hold {
            for pid in self.procs.pids("worker") {
                signal(pid, "STOP");
            }
        }
        Ok(())
    }

    /// Lets held workers go (SIGCONT); returns the epoch instant just before.
    fn release_workers(&mut self) -> f64 {
        let at = epoch_now();
        for pid in self.procs.pids("worker") {
            signal(pid, "CONT");
        }
        at
    }

    /// Starts the API (`api`, or `serve` when embedded) and waits until `/readyz` says 200.
    async fn start_api(&mut self) -> Result<()> {
        self.spawn(match self.mode {
            Mode::Distributed => "api",
            Mode::Embedded => "serve",
        })?;
        let http = self.api.http.clone();
        let deadline = Instant::now() + READY_DEADLINE;
        while Instant::now() < deadline {
            self.procs.check_alive()?;
            let ready = http
                .get(format!("{}/readyz", self.api.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the API did not become ready within {READY_DEADLINE:?}")
    }

    /// Waits until no `kind` job is queued or running, then checks that `expected` succeeded.
    /// Fails at once when a job failed or a process exited, and at the deadline.
    async fn wait_done(&mut self, kind: &str, expected: usize, deadline: Duration) -> Result<()> {
        let started = Instant::now();
        let mut last_count = Instant::now();
        while started.elapsed() < deadline {
            self.procs.check_alive()?;
            if last_count.elapsed() >= COUNT_EVERY {
                last_count = Instant::now();
                let counts = self.db.counts(kind).await?;
                if counts.failed > 0 {
                    bail!(
                        "{} {kind} jobs failed ({counts:?}); logs: {:?}",
                        counts.failed,
                        self.procs.logs()
                    );
                }
            }
            if !self.db.pending(kind).await? {
                let counts = self.db.counts(kind).await?;
                if counts.succeeded as usize >= expected && counts.failed == 0 {
                    return Ok(());
                }
                bail!("{kind} jobs ended with {counts:?}, {expected} expected to succeed");
            }
            tokio::time::sleep(POLL).await;
        }
        let c = self.db.counts(kind).await?;
        bail!(
            "deadline {deadline:?} passed: {} succeeded, {} failed, {} pending \
             ({expected} expected)",
            c.succeeded,
            c.failed,
            c.pending
        )
    }

    /// Per-process CPU per 1,000 jobs and peak RSS; read before the processes are stopped.
    fn process_figures(&self, clk_tck: f64, jobs: usize) -> Value {
        let mut figures = serde_json::Map::new();
        for (name, stats) in self.procs.stats(clk_tck) {
            figures.insert(
                name,
                json!({
                    "cpu_s_per_1k_jobs": round(stats.cpu_s * 1000.0 / jobs.max(1) as f64, 3),
                    "peak_rss_mb": round(stats.hwm_kb as f64 / 1024.0, 1),
                    "rss_mb": round(stats.rss_kb as f64 / 1024.0, 1),
                }),
            );
        }
        Value::Object(figures)
    }

    /// Warnings and errors the processes logged (count and the first few lines).
    fn log_findings(&self) -> Value {
        let mut count = 0;
        let mut samples = Vec::new();
        for log in self.procs.logs() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            for line in text
                .lines()
                .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            {
                count += 1;
                if samples.len() < 5 {
                    let name = log.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
                    samples.push(format!(
                        "{name}: {}",
                        line.chars().take(300).collect::<String>()
                    ));
                }
            }
        }
        json!({"count": count, "samples": samples})
    }

    /// Stops the processes, closes the pool, drops the database and the Redis keys, and
    /// removes the folder unless the scenario failed (its logs are kept then).
    async fn teardown(mut self, failed: bool) {
        self.procs.stop_all();
        self.db.close().await;
        self.cleanup.run(failed).await;
        self.done = true;
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.procs.stop_all();
        let cleanup = self.cleanup.clone();
        // Drop cannot await: the cleanup runs on a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(cleanup.run(true));
            }
        })
        .join();
    }
}

/// The settings file of a scenario's processes.
fn settings_toml(
    opts: &Options,
    mode: Mode,
    tuning: Tuning,
    port: u16,
    database_url: &str,
    namespace: &str,
) -> String {
    let distributed = match mode {
        Mode::Distributed => format!(
            "redis_url = \"{}\"\n\n[secrets]\nkey = \"{}\"\n",
            opts.redis_url,
            sparta_jobs::secrets::Keyring::generate_key()
        ),
        Mode::Embedded => String::new(),
    };
    format!(
        r#"listen = "127.0.0.1:{port}"
database_url = "{database_url}"
{distributed}
[log]
level = "{log_level}"

[database]
max_connections = {db_connections}

[api]
rate_per_key_per_sec = 0
max_queued_per_tenant = 1000000
max_subscriptions_per_tenant = {max_subscriptions}
auth_failures_per_sec = 0

[worker]
concurrency = {worker_concurrency}
shutdown_grace_secs = 2

[queue]
namespace = "{namespace}"

[scheduler]
enabled = {scheduler}
every_ms = 1000

[metrics]
public = true
"#,
        db_connections = opts.db_connections,
        log_level = opts.log_level,
        max_subscriptions = tuning.max_subscriptions,
        worker_concurrency = opts.worker_concurrency,
        scheduler = tuning.scheduler,
    )
}

/// `sparta tenant create NAME`: its API key is the last line of stdout.
fn create_tenant(config: &Path, name: &str) -> Result<String> {
    let output = Command::new(sparta_bin())
        .arg("--config")
        .arg(config)
        .args(["tenant", "create", name])
        .env_remove("RUST_LOG")
        .output()
        .context("sparta tenant create")?;
    if !output.status.success() {
        bail!(
            "sparta tenant create failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8(output.stdout)?
        .lines()
        .last()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("sparta tenant create printed no key"))
}

/// Runs `body` on a fresh stack, then always tears it down (keeping the logs on failure).
async fn with_stack<F>(opts: &Options, mode: Mode, tuning: Tuning, body: F) -> Result<Value>
where
    F: AsyncFnOnce(&mut Stack) -> Result<Value>,
{
    let mut stack = Stack::create(opts, mode, tuning).await?;
    let result = body(&mut stack).await;
    if let Err(e) = &result {
        println!("scenario failed: {e:#}");
        for log in stack.procs.logs() {
            println!("  process log: {}", log.display());
        }
    }
    stack.teardown(result.is_err()).await;
    result
}

// ---------------------------------------------------------------------------------------------
// Load generation
// ---------------------------------------------------------------------------------------------

/// An HTTP client keeping up to `connections` idle keep-alive connections.
fn http_client(connections: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(60))
        .no_proxy()
        .build()
        .expect("http client")
}

/// The example submission: `{"kind": "nutrition", "input": {…}}`.
fn nutrition_body() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/requests/nutrition.json"
    ))
    .expect("examples/requests/nutrition.json");
    serde_json::from_str(&text).expect("nutrition.json is JSON")
}

/// What one request achieved.
#[derive(Debug, Default)]
struct Sent {
    accepted: usize,
    rejected: usize,
    error: Option<String>,
}

/// One keep-alive HTTP/1.1 connection of the load generator, used by one request at a time as
/// a benchmark client uses it (wrk, oha): hyper's client connection, the request's headers
/// made once. Through reqwest (a pool shared by the tasks, the URL parsed and a timer armed for
/// each request) the generator took 30–37 µs of CPU a submit, a tenth of a job's CPU on the two
/// cores it shares with what it measures; this way 15–19.
struct LoadConnection {
    send: hyper::client::conn::http1::SendRequest<http_body_util::Full<hyper::body::Bytes>>,
    authority: String,
    uri: hyper::Uri,
    host: hyper::header::HeaderValue,
    authorization: hyper::header::HeaderValue,
}

impl LoadConnection {
    /// Connects to the API for requests to `path`.
    async fn open(api: &Api, path: &str) -> Result<Self> {
        let authority = api
            .base
            .strip_prefix("http://")
            .context("the API's base URL is http://")?
            .to_owned();
        Ok(Self {
            send: Self::connect(&authority).await?,
            uri: path.parse()?,
            host: hyper::header::HeaderValue::from_str(&authority)?,
            authorization: hyper::header::HeaderValue::from_str(&format!("Bearer {}", api.key))?,
            authority,
        })
    }

    async fn connect(
        authority: &str,
    ) -> Result<hyper::client::conn::http1::SendRequest<http_body_util::Full<hyper::body::Bytes>>>
    {
        let stream = tokio::net::TcpStream::connect(authority).await?;
        stream.set_nodelay(true)?;
        let (send, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        // Ends when `send` is dropped or the server closes the connection.
        tokio::spawn(connection);
        Ok(send)
    }

    /// POSTs `body`; a connection the server closed is opened again once.
    async fn post(&mut self, body: hyper::body::Bytes, batch: bool) -> Sent {
        use http_body_util::BodyExt as _;
        use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
        if self.send.ready().await.is_err() {
            match Self::connect(&self.authority).await {
                Ok(send) => self.send = send,
                Err(e) => return Sent::failed(1, format!("reconnect: {e}")),
            }
        }
        let request = hyper::Request::post(self.uri.clone())
            .header(HOST, self.host.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(http_body_util::Full::new(body));
        let request = match request {
            Ok(request) => request,
            Err(e) => return Sent::failed(1, format!("request: {e}")),
        };
        match self.send.send_request(request).await {
            Ok(reply) => {
                let status = reply.status().as_u16();
                match reply.into_body().collect().await {
                    Ok(body) => Sent::of_reply(status, &body.to_bytes(), batch),
                    Err(e) => Sent::failed(1, format!("{status}, body: {e}")),
                }
            }
            Err(e) => Sent::failed(1, format!("request error: {e}")),
        }
    }
}

/// A batch reply as the load generator reads it: each item's status (and errors, for the first
/// refusal's message), everything else skipped unread. Read into a `Value` and cloned, the
/// replies cost the generator 21 µs of CPU a job, on the cores it measures.
#[derive(serde::Deserialize)]
struct BatchReply<'a> {
    #[serde(borrow)]
    data: Vec<BatchReplyItem<'a>>,
}

/// One item of a [`BatchReply`].
#[derive(serde::Deserialize)]
struct BatchReplyItem<'a> {
    status: u16,
    #[serde(borrow, default)]
    errors: Option<&'a serde_json::value::RawValue>,
}

impl Sent {
    /// What a reply says: a single submit is accepted on 202, a batch item on `"status": 202`.
    fn of_reply(status: u16, bytes: &[u8], batch: bool) -> Self {
        if !batch {
            return if status == 202 {
                Sent {
                    accepted: 1,
                    ..Sent::default()
                }
            } else {
                Sent::failed(1, format!("{status}: {}", String::from_utf8_lossy(bytes)))
            };
        }
        match serde_json::from_slice::<BatchReply<'_>>(bytes) {
            Ok(reply) if (200..300).contains(&status) => {
                let accepted = reply.data.iter().filter(|i| i.status == 202).count();
                let error = reply
                    .data
                    .iter()
                    .find(|i| i.status != 202)
                    .map(|i| format!("{}: {}", i.status, i.errors.map_or("", |e| e.get())));
                Sent {
                    accepted,
                    rejected: reply.data.len() - accepted,
                    error,
                }
            }
            _ => Sent::failed(
                1,
                format!(
                    "{status}: {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
                ),
            ),
        }
    }

    fn failed(rejected: usize, error: String) -> Self {
        Self {
            accepted: 0,
            rejected,
            error: Some(error),
        }
    }
}

/// What a load run achieved.
#[derive(Debug, Default)]
struct Load {
    accepted: usize,
    rejected: usize,
    first_error: Option<String>,
    latencies_ms: Vec<f64>,
    wall: Duration,
    /// Epoch instant of the first request.
    started_at: f64,
}

impl Load {
    fn add(&mut self, sent: Sent, latency: Duration) {
        self.accepted += sent.accepted;
        self.rejected += sent.rejected;
        if self.first_error.is_none() {
            self.first_error = sent.error;
        }
        self.latencies_ms.push(latency.as_secs_f64() * 1000.0);
    }

    fn merge(&mut self, other: Load) {
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies_ms.extend(other.latencies_ms);
    }

    fn per_s(&self) -> f64 {
        self.accepted as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// p50, p99 and max of the request latencies, ms.
    fn latency(&mut self) -> (f64, f64, f64) {
        self.latencies_ms.sort_by(f64::total_cmp);
        let sorted = &self.latencies_ms;
        (
            percentile(sorted, 50.0),
            percentile(sorted, 99.0),
            sorted.last().copied().unwrap_or(0.0),
        )
    }
}

/// Request bodies to send, each exactly once, by `concurrency` tasks, each on a connection of
/// its own (closed loop).
async fn closed_loop(
    api: &Api,
    path: &str,
    bodies: Vec<hyper::body::Bytes>,
    batch: bool,
    concurrency: usize,
) -> Load {
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let started_at = epoch_now();
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (bodies, next, api, path) =
            (bodies.clone(), next.clone(), api.clone(), path.to_owned());
        tasks.spawn(async move {
            let mut load = Load::default();
            let mut connection = match LoadConnection::open(&api, &path).await {
                Ok(connection) => connection,
                Err(e) => {
                    load.first_error = Some(format!("connect: {e:#}"));
                    return load;
                }
            };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let sent_at = Instant::now();
                let sent = connection.post(body.clone(), batch).await;
                load.add(sent, sent_at.elapsed());
            }
            load
        });
    }
    let mut total = Load::default();
    while let Some(done) = tasks.join_next().await {
        total.merge(done.expect("load task"));
    }
    total.wall = start.elapsed();
    total.started_at = started_at;
    total
}

/// `n` single submissions of the example.
fn single_bodies(n: usize) -> Vec<hyper::body::Bytes> {
    let body = hyper::body::Bytes::from(nutrition_body().to_string());
    vec![body; n]
}

/// `n` jobs as batch bodies of `batch` items each.
fn batch_bodies(n: usize, batch: usize) -> Vec<hyper::body::Bytes> {
    let item = nutrition_body();
    let body = |items: usize| {
        hyper::body::Bytes::from(json!({"jobs": vec![item.clone(); items]}).to_string())
    };
    let full = body(batch);
    let mut bodies = vec![full; n / batch];
    if !n.is_multiple_of(batch) {
        bodies.push(body(n % batch));
    }
    bodies
}

/// Whether `POST /v1/jobs/batch` exists: an empty batch is refused by the endpoint (400/422)
/// and creates nothing; a binary without it answers 404 or 405.
async fn batch_endpoint_exists(api: &Api) -> Result<bool> {
    let status = api
        .http
        .post(format!("{}/v1/jobs/batch", api.base))
        .bearer_auth(&api.key)
        .header("content-type", "application/json")
        .body(r#"{"jobs": []}"#)
        .send()
        .await?
        .status()
        .as_u16();
    Ok(!matches!(status, 404 | 405))
}

// ---------------------------------------------------------------------------------------------
// Throughput scenarios
// ---------------------------------------------------------------------------------------------

/// The shape of a throughput scenario.
#[derive(Clone, Copy, Debug)]
struct Shape {
    mode: Mode,
    workers: usize,
    backlog: bool,
    batch: bool,
    jobs: usize,
}

impl Shape {
    /// The shape of a named throughput scenario (`None` for the others).
    fn of(name: &str, opts: &Options) -> Option<Self> {
        let shape = |mode, workers, backlog, batch| {
            Some(Shape {
                mode,
                workers,
                backlog,
                batch,
                jobs: opts.n,
            })
        };
        match name {
            "distributed_backlog_1w" => shape(Mode::Distributed, 1, true, false),
            "distributed_backlog_2w" => shape(Mode::Distributed, 2, true, false),
            "distributed_live_1w" => shape(Mode::Distributed, 1, false, false),
            "distributed_live_2w" => shape(Mode::Distributed, 2, false, false),
            "embedded_live" => shape(Mode::Embedded, 0, false, false),
            "distributed_batch_backlog_1w" => shape(Mode::Distributed, 1, true, true),
            "distributed_batch_live_1w" => shape(Mode::Distributed, 1, false, true),
            "distributed_batch_backlog_2w" => shape(Mode::Distributed, 2, true, true),
            "rss_200k" => Some(Shape {
                jobs: opts.rss_jobs,
                ..shape(Mode::Distributed, 1, false, false)?
            }),
            _ => None,
        }
    }
}

/// Submits the shape's jobs on a fresh stack, lets them drain, and reports the figures.
async fn throughput(opts: &Options, shape: Shape) -> Result<Value> {
    with_stack(
        opts,
        shape.mode,
        Tuning::PLAIN,
        async |stack: &mut Stack| throughput_on(opts, shape, stack).await,
    )
    .await
}

/// The throughput scenario on its stack.
async fn throughput_on(opts: &Options, shape: Shape, stack: &mut Stack) -> Result<Value> {
    stack.start_api().await?;
    if shape.batch && !batch_endpoint_exists(&stack.api).await? {
        println!("  batch endpoint not available: skipped");
        let why = "batch endpoint not available (POST /v1/jobs/batch answers 404/405)";
        return Ok(json!({ "skipped": why }));
    }
    let mut worker_rss_at_start = None;
    if shape.mode == Mode::Distributed {
        // Ready before the first submit: a live run is live from its first job, a backlog
        // builds up in front of held workers.
        stack.start_workers(shape.workers, shape.backlog).await?;
        if !shape.backlog {
            worker_rss_at_start = stack
                .procs
                .pid("worker")
                .map(|pid| ProcStats::read(&pid.to_string(), opts.clk_tck).rss_kb as f64 / 1024.0);
        }
    }
    // The worker's memory through the run: a sample every 250 ms until every job is done.
    let rss_sampler = worker_rss_at_start.and_then(|_| {
        let pid = stack.procs.pid("worker")?;
        Some(RssSampler::start(pid, opts.clk_tck))
    });
    let meter = Meter::start(opts.clk_tck);
    let (path, bodies) = if shape.batch {
        ("/v1/jobs/batch", batch_bodies(shape.jobs, opts.batch))
    } else {
        ("/v1/jobs", single_bodies(shape.jobs))
    };
    let mut load = closed_loop(&stack.api, path, bodies, shape.batch, opts.concurrency).await;
    if load.rejected > 0 {
        println!(
            "  {} submissions refused; first: {}",
            load.rejected,
            load.first_error.as_deref().unwrap_or("?")
        );
    }
    let workers_released = shape.backlog.then(|| stack.release_workers());
    stack
        .wait_done("nutrition", load.accepted, opts.deadline_for(load.accepted))
        .await?;
    let processes = stack.process_figures(opts.clk_tck, load.accepted);
    let (generator, servers) = meter.figures(load.accepted);
    let times = stack.db.times("nutrition").await?;
    let mut figures = figures(&mut load, &times, workers_released);
    figures["workers"] = json!(shape.workers);
    figures["processes"] = processes;
    figures["load_generator"] = generator;
    if shape.mode == Mode::Distributed {
        figures["servers"] = servers;
    }
    figures["log_warnings"] = stack.log_findings();
    if let Some(rss) = worker_rss_at_start {
        let worker = &figures["processes"]["worker1"];
        let tenths = match rss_sampler {
            Some(sampler) => sampler.stop().await,
            None => Vec::new(),
        };
        // Growth once warm (pools, buffers and allocator arenas filled in the first tenth).
        let growth = match (tenths.get(1), tenths.last()) {
            (Some(warm), Some(end)) => json!(round(end - warm, 1)),
            _ => Value::Null,
        };
        figures["worker_rss_mb"] = json!({
            "start": round(rss, 1),
            "end": worker["rss_mb"],
            "peak": worker["peak_rss_mb"],
            "at_each_tenth": tenths.iter().map(|mb| round(*mb, 1)).collect::<Vec<_>>(),
            "growth_after_first_tenth": growth,
        });
    }
    Ok(figures)
}

/// Samples one process's RSS every 250 ms on a task of its own.
struct RssSampler {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Vec<(Instant, f64)>>,
}

impl RssSampler {
    fn start(pid: u32, clk_tck: f64) -> Self {
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tokio::select! {
                    _ = &mut stopped => return samples,
                    _ = tick.tick() => {
                        let kb = ProcStats::read(&pid.to_string(), clk_tck).rss_kb;
                        samples.push((Instant::now(), kb as f64 / 1024.0));
                    }
                }
            }
        });
        Self { stop, task }
    }

    /// The RSS (MB) nearest the start and each tenth of the sampled time: 11 values.
    async fn stop(self) -> Vec<f64> {
        let _ = self.stop.send(());
        let samples = self.task.await.unwrap_or_default();
        let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
            return Vec::new();
        };
        let span = last.0 - first.0;
        (0..=10)
            .filter_map(|tenth| {
                let at = first.0 + span * tenth / 10;
                samples
                    .iter()
                    .min_by_key(|(t, _)| if *t > at { *t - at } else { at - *t })
                    .map(|(_, mb)| *mb)
            })
            .collect()
    }
}

/// The common figures of a load run and its jobs.
fn figures(load: &mut Load, times: &JobTimes, workers_released: Option<f64>) -> Value {
    let jobs = times.count as f64;
    let (p50, p99, max) = load.latency();
    let e2e_s = times.last_finished - load.started_at;
    let first_to_last = times.last_finished - times.first_finished;
    // BullMQ's definition, in every scenario, so that the drain ratio compares like with like.
    let drain = (jobs - 1.0).max(0.0) / first_to_last.max(1e-9);
    json!({
        "jobs": times.count,
        "refused": load.rejected,
        "requests": load.latencies_ms.len(),
        "submit_per_s": round(load.per_s(), 1),
        "submit_s": round(load.wall.as_secs_f64(), 3),
        "submit_p50_ms": round(p50, 2),
        "submit_p99_ms": round(p99, 2),
        "submit_max_ms": round(max, 2),
        "drain_per_s": round(drain, 1),
        "drain_definition": "(jobs - 1) / (first success -> last success), as BullMQ's peer",
        "drain_from_release_per_s": workers_released
            .map(|at| round(jobs / (times.last_finished - at).max(1e-9), 1)),
        "release_to_first_pickup_s": workers_released.map(|at| round(times.first_started - at, 3)),
        "release_to_first_success_s":
            workers_released.map(|at| round(times.first_finished - at, 3)),
        "e2e_per_s": round(jobs / e2e_s.max(1e-9), 1),
        "e2e_s": round(e2e_s, 3),
        "wait_p50_ms": round(times.wait_p50_ms, 2),
        "wait_p99_ms": round(times.wait_p99_ms, 2),
    })
}

// ---------------------------------------------------------------------------------------------
// Open loop and idle pickup
// ---------------------------------------------------------------------------------------------

/// A runtime of one thread for the open loop's requests, driven by a thread of its own until
/// dropped. On the bench's own runtime (two threads) each request hopped between threads, waking
/// one parked thread after another: a third of the load generator's samples were the kernel
/// switching its threads (`perf`, 987 samples), and its CPU, 0.14 ms a request, was taken from
/// the two cores it measures.
struct GeneratorRuntime {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GeneratorRuntime {
    fn start() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("open-loop".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        Ok(Self {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for GeneratorRuntime {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Submits at `rate` per second for `secs`, each request sent at its planned instant by a task
/// of its own on a [`GeneratorRuntime`]; latency counts from the planned instant (coordinated
/// omission included) and, separately, from the actual send. The pacing runs on a thread of its
/// own with the OS's sleep (tokio's timer rounds up to whole milliseconds, which would add up to
/// 1 ms of the generator's own lateness to every figure). A request takes an idle connection (a
/// new one when none is idle) and gives it back after its answer.
async fn open_loop_submit(api: &Api, rate: f64, secs: f64) -> (Load, Vec<f64>, Vec<f64>) {
    let total = (rate * secs).round() as usize;
    let body = hyper::body::Bytes::from(nutrition_body().to_string());
    let generator = GeneratorRuntime::start().expect("the open loop's runtime");
    let runtime = generator.handle.clone();
    // Opened on the generator's runtime, which then drives their connections.
    let ready = runtime
        .spawn({
            let api = api.clone();
            async move {
                let mut ready = Vec::new();
                for _ in 0..8 {
                    match LoadConnection::open(&api, "/v1/jobs").await {
                        Ok(connection) => ready.push(connection),
                        Err(e) => {
                            eprintln!("open loop: a connection could not be opened ahead: {e:#}")
                        }
                    }
                }
                ready
            }
        })
        .await
        .expect("connections opened");
    let idle = Arc::new(std::sync::Mutex::new(ready));
    let started_at = epoch_now();
    let start = Instant::now() + Duration::from_millis(5);
    let api = api.clone();
    let pacer = tokio::task::spawn_blocking(move || {
        let mut tasks = Vec::with_capacity(total);
        for i in 0..total {
            let planned = start + Duration::from_secs_f64(i as f64 / rate);
            if let Some(wait) = planned.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let (api, body, idle) = (api.clone(), body.clone(), idle.clone());
            tasks.push(runtime.spawn(async move {
                let sent_at = Instant::now();
                let taken = idle.lock().unwrap().pop();
                let connection = match taken {
                    Some(connection) => Ok(connection),
                    None => LoadConnection::open(&api, "/v1/jobs").await,
                };
                let sent = match connection {
                    Ok(mut connection) => {
                        let sent = connection.post(body, false).await;
                        idle.lock().unwrap().push(connection);
                        sent
                    }
                    Err(e) => Sent::failed(1, format!("connect: {e:#}")),
                };
                (sent, planned.elapsed(), sent_at.elapsed())
            }));
        }
        tasks
    });
    let mut load = Load::default();
    let mut service_ms = Vec::with_capacity(total);
    // The worst latency of each second of the schedule: whether the tail is spread over the
    // run or one stall.
    let mut worst_by_second = vec![0.0_f64; secs.ceil() as usize + 1];
    for (i, task) in pacer.await.expect("pacer").into_iter().enumerate() {
        let (sent, from_plan, from_send) = task.await.expect("open-loop task");
        let second = (i as f64 / rate) as usize;
        if let Some(worst) = worst_by_second.get_mut(second) {
            *worst = worst.max(from_plan.as_secs_f64() * 1000.0);
        }
        load.add(sent, from_plan);
        service_ms.push(from_send.as_secs_f64() * 1000.0);
    }
    load.wall = start.elapsed();
    load.started_at = started_at;
    service_ms.sort_by(f64::total_cmp);
    (load, service_ms, worst_by_second)
}

/// Submits jobs one at a time with the workers idle; returns their ids.
async fn sequential_jobs(api: &Api, count: usize) -> Result<Vec<uuid::Uuid>> {
    let http = &api.http;
    let body = nutrition_body();
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        let reply: Value = http
            .post(format!("{}/v1/jobs", api.base))
            .bearer_auth(&api.key)
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        let id = reply["data"][0]["id"]
            .as_str()
            .ok_or_else(|| anyhow!("no job id in {reply}"))?
            .to_owned();
        let job: Value = http
            .get(format!("{}/v1/jobs/{id}?wait=10", api.base))
            .bearer_auth(&api.key)
            .send()
            .await?
            .json()
            .await?;
        if job["data"][0]["status"] != "succeeded" {
            bail!("job {id} did not succeed within 10 s: {job}");
        }
        ids.push(id.parse()?);
        // Let the worker go idle again: an idle pickup is what is measured.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(ids)
}

/// Writes 8 KiB and `fdatasync`s it every 5 ms in a thread while a scenario runs: the disk's
/// flush latency beside the commits every submit waits for (a Postgres commit is a WAL flush,
/// and a 202 is sent only after it), to tell a stall of the disk from one of the service.
struct FsyncProbe {
    period: Duration,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(f64, f64)>>,
}

impl FsyncProbe {
    fn start(dir: &Path, period: Duration) -> Result<Self> {
        use std::os::unix::fs::FileExt as _;
        let file = std::fs::File::create(dir.join("fsync-probe"))?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let block = [0x5a_u8; 8192];
                let mut samples = Vec::new();
                let mut i = 0_u64;
                while !stop.load(Ordering::Relaxed) {
                    let at = epoch_now();
                    let started = Instant::now();
                    if file.write_at(&block, (i % 128) * 8192).is_err() || file.sync_data().is_err()
                    {
                        break;
                    }
                    samples.push((at, started.elapsed().as_secs_f64() * 1000.0));
                    i += 1;
                    std::thread::sleep(period);
                }
                samples
            }
        });
        Ok(Self {
            period,
            stop,
            thread,
        })
    }

    /// p50/p99/max of the flushes, and the slow ones (≥ 10 ms) by second of the run from `from`.
    fn finish(self, from: f64) -> Value {
        self.stop.store(true, Ordering::Relaxed);
        let samples = self.thread.join().unwrap_or_default();
        let slow: Vec<Value> = samples
            .iter()
            .filter(|(_, ms)| *ms >= 10.0)
            .map(|(at, ms)| json!({"second": round(at - from, 2), "ms": round(*ms, 1)}))
            .collect();
        let mut ms: Vec<f64> = samples.iter().map(|(_, ms)| *ms).collect();
        ms.sort_by(f64::total_cmp);
        json!({
            "period_ms": self.period.as_millis(),
            "samples": ms.len(),
            "p50_ms": round(percentile(&ms, 50.0), 3),
            "p99_ms": round(percentile(&ms, 99.0), 3),
            "max_ms": round(ms.last().copied().unwrap_or(0.0), 1),
            "slow": slow,
        })
    }
}

/// The API's own histogram of `POST /v1/jobs` response times (from its `/metrics`): cumulative
/// counts by upper bound, to tell the service's share of a latency from the load generator's.
async fn served_submits(api: &Api) -> Result<Vec<(String, f64)>> {
    use openmetrics_parser::PrometheusValue;
    let text = api
        .http
        .get(format!("{}/metrics", api.base))
        .send()
        .await?
        .text()
        .await?;
    let exposition = openmetrics_parser::prometheus::parse_prometheus(&text)
        .map_err(|e| anyhow!("unparseable /metrics: {e:?}"))?;
    let Some(family) = exposition
        .families
        .get("sparta_http_request_duration_seconds")
    else {
        return Ok(Vec::new());
    };
    for sample in family.iter_samples() {
        let Ok(labels) = sample.get_labelset() else {
            continue;
        };
        if labels.get_label_value("route") != Some("/v1/jobs")
            || labels.get_label_value("method") != Some("POST")
        {
            continue;
        }
        if let PrometheusValue::Histogram(histogram) = &sample.value {
            return Ok(histogram
                .buckets
                .iter()
                .map(|bucket| {
                    let le = if bucket.upper_bound.is_infinite() {
                        "+Inf".to_owned()
                    } else {
                        bucket.upper_bound.to_string()
                    };
                    (le, bucket.count.as_f64())
                })
                .collect());
        }
    }
    Ok(Vec::new())
}

/// `started_at − created_at` of the given jobs, ms, sorted.
async fn pickups(pool: &PgPool, ids: &[uuid::Uuid]) -> Result<Vec<f64>> {
    let mut waits: Vec<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM started_at - created_at)::float8 * 1000 FROM jobs \
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    waits.sort_by(f64::total_cmp);
    Ok(waits)
}

/// api + 1 worker: an open-loop submit at `BENCH_RATE`, then the idle pickup latency.
async fn open_loop(opts: &Options) -> Result<Value> {
    with_stack(
        opts,
        Mode::Distributed,
        Tuning::PLAIN,
        async |stack: &mut Stack| open_loop_on(opts, stack).await,
    )
    .await
}

/// The open-loop scenario on its stack.
async fn open_loop_on(opts: &Options, stack: &mut Stack) -> Result<Value> {
    stack.start_api().await?;
    stack.start_workers(1, false).await?;
    // Warm the connections and caches of both processes.
    let warm = closed_loop(&stack.api, "/v1/jobs", single_bodies(200), false, 4).await;
    stack
        .wait_done("nutrition", warm.accepted, Duration::from_secs(60))
        .await?;
    let meter = Meter::start(opts.clk_tck);
    let cpu_before = stack.procs.stats(opts.clk_tck);
    let served_before = served_submits(&stack.api).await?;
    let probe = opts
        .fsync_probe
        .map(|period| FsyncProbe::start(&stack.dir, period))
        .transpose()?;
    let (mut load, service_ms, worst_by_second) =
        open_loop_submit(&stack.api, opts.rate, opts.open_loop_secs).await;
    let fsyncs = probe.map_or(Value::Null, |probe| probe.finish(load.started_at));
    // By bucket bound, not position: before the first submit the series has no buckets.
    let served_before: BTreeMap<String, f64> = served_before.into_iter().collect();
    let served: Vec<(String, f64)> = served_submits(&stack.api)
        .await?
        .into_iter()
        .map(|(le, after)| {
            let before = served_before.get(&le).copied().unwrap_or(0.0);
            (le, after - before)
        })
        .collect();
    let expected = warm.accepted + load.accepted;
    stack
        .wait_done("nutrition", expected, opts.deadline_for(load.accepted))
        .await?;
    let (generator, servers) = meter.figures(load.accepted);
    let cpu_after = stack.procs.stats(opts.clk_tck);
    let (p50, p99, max) = load.latency();
    let Db::Pg(pool) = &stack.db else {
        bail!("the open-loop scenario is distributed")
    };
    let ids = sequential_jobs(&stack.api, PICKUP_SAMPLES).await?;
    let waits = pickups(pool, &ids).await?;
    let mut processes = serde_json::Map::new();
    for ((name, before), (_, after)) in cpu_before.iter().zip(&cpu_after) {
        processes.insert(
            name.clone(),
            json!({
                "cpu_s_per_1k_jobs": round(
                    (after.cpu_s - before.cpu_s) * 1000.0 / load.accepted.max(1) as f64,
                    3
                ),
                "peak_rss_mb": round(after.hwm_kb as f64 / 1024.0, 1),
            }),
        );
    }
    Ok(json!({
        "rate_target_per_s": opts.rate,
        "seconds": opts.open_loop_secs,
        "jobs": load.accepted,
        "refused": load.rejected,
        "first_refusal": load.first_error,
        "achieved_per_s": round(load.per_s(), 1),
        "submit_p50_ms": round(p50, 2),
        "submit_p99_ms": round(p99, 2),
        "submit_max_ms": round(max, 2),
        "submit_from_send_p50_ms": round(percentile(&service_ms, 50.0), 2),
        "submit_from_send_p99_ms": round(percentile(&service_ms, 99.0), 2),
        "api_submit_duration_buckets": served
            .iter()
            .map(|(le, n)| json!({"le_s": le, "count": n}))
            .collect::<Vec<_>>(),
        "started_at_epoch_s": load.started_at,
        "fsync_probe": fsyncs,
        "submit_max_ms_by_second": worst_by_second.iter().map(|ms| round(*ms, 1)).collect::<Vec<_>>(),
        "latency_definition": "from each request's planned send time (coordinated omission \
                               counted); from_send: from the actual send",
        "idle_pickup": {
            "samples": waits.len(),
            "p50_ms": round(percentile(&waits, 50.0), 2),
            "p99_ms": round(percentile(&waits, 99.0), 2),
            "max_ms": round(waits.last().copied().unwrap_or(0.0), 2),
        },
        "processes": Value::Object(processes),
        "load_generator": generator,
        "servers": servers,
        "log_warnings": stack.log_findings(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Scheduler fan-out
// ---------------------------------------------------------------------------------------------

/// A zone whose local time is before noon now, and its offset from UTC in hours, so that a
/// local time hours ahead is still today (a time already passed today would be due at once).
fn morning_zone() -> (&'static str, i64) {
    use chrono::Timelike as _;
    if chrono::Utc::now().hour() < 12 {
        ("UTC", 0)
    } else {
        // POSIX sign: `Etc/GMT+12` is UTC−12.
        ("Etc/GMT+12", -12)
    }
}

/// Local `HH:MM` in a zone `offset_hours` from UTC, of an instant.
fn local_hhmm(at: chrono::DateTime<chrono::Utc>, offset_hours: i64) -> String {
    (at + chrono::TimeDelta::hours(offset_hours))
        .format("%H:%M")
        .to_string()
}

/// PUTs the subscriptions of `athletes` (closed loop); returns how many were accepted and the
/// wall time.
async fn put_subscriptions(
    api: &Api,
    athletes: std::ops::Range<usize>,
    body: &str,
    concurrency: usize,
) -> Result<(usize, Duration)> {
    let next = Arc::new(AtomicUsize::new(athletes.start));
    let end = athletes.end;
    let body: Arc<str> = body.into();
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (next, api, body) = (next.clone(), api.clone(), body.clone());
        tasks.spawn(async move {
            let http = api.http.clone();
            let mut accepted = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    return Ok::<_, anyhow::Error>(accepted);
                }
                let reply = http
                    .put(format!(
                        "{}/v1/motivation/subscriptions/athlete-{i}",
                        api.base
                    ))
                    .bearer_auth(&api.key)
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await?;
                let status = reply.status();
                let text = reply.text().await.unwrap_or_default();
                if !status.is_success() {
                    bail!("subscription athlete-{i}: {status}: {text}");
                }
                accepted += 1;
            }
        });
    }
    let mut accepted = 0;
    while let Some(done) = tasks.join_next().await {
        accepted += done??;
    }
    Ok((accepted, start.elapsed()))
}

/// Progress of the athletes' motivation jobs (the tenant's own daily job is not counted).
#[derive(Debug, Default, sqlx::FromRow)]
struct FanoutProgress {
    created: i64,
    succeeded: i64,
    failed: i64,
    /// Epoch seconds.
    last_finished: Option<f64>,
    /// Epoch seconds.
    last_created: Option<f64>,
}

async fn fanout_progress(pool: &PgPool) -> Result<FanoutProgress> {
    Ok(sqlx::query_as(
        "SELECT COUNT(*) AS created, \
           COUNT(CASE WHEN status = 'succeeded' THEN 1 END) AS succeeded, \
           COUNT(CASE WHEN status IN ('failed', 'cancelled') THEN 1 END) AS failed, \
           EXTRACT(EPOCH FROM MAX(finished_at))::float8 AS last_finished, \
           EXTRACT(EPOCH FROM MAX(created_at))::float8 AS last_created \
         FROM jobs WHERE kind = 'motivation' \
           AND idempotency_key LIKE 'sparta.motivation:%:athlete:%'",
    )
    .fetch_one(pool)
    .await?)
}

/// When the fan-out's subscriptions are due, and how creating them went.
struct DuePlan {
    zone: &'static str,
    due: chrono::DateTime<chrono::Utc>,
    /// Creations per second over each tenth of the subscriptions.
    create_per_s_by_tenth: Vec<f64>,
    create_s: f64,
    /// Updates per second (moving the subscriptions to the due minute).
    update_per_s: f64,
}

/// Creates the `BENCH_FANOUT` subscriptions due hours from now (however long that takes), then
/// moves them all to the start of one minute, far enough ahead for the moves to be done by
/// then: the first moves measure the rate of the others.
async fn create_subscriptions(opts: &Options, stack: &Stack) -> Result<DuePlan> {
    let fanout = opts.fanout;
    let (zone, offset) = morning_zone();
    let far = local_hhmm(chrono::Utc::now() + chrono::TimeDelta::hours(6), offset);
    let far_body = json!({"timezone": zone, "local_time": far}).to_string();
    let mut create_per_s_by_tenth = Vec::new();
    let mut create_s = 0.0;
    for tenth in 0..10 {
        let range = fanout * tenth / 10..fanout * (tenth + 1) / 10;
        let count = range.len();
        let (_, took) = put_subscriptions(&stack.api, range, &far_body, opts.concurrency).await?;
        create_s += took.as_secs_f64();
        create_per_s_by_tenth.push(round(count as f64 / took.as_secs_f64().max(1e-3), 1));
    }
    println!(
        "  {fanout} subscriptions created in {create_s:.1} s \
         (per s, by tenth: {create_per_s_by_tenth:?})"
    );
    let calibration = (fanout / 50).clamp(1, 2000).min(fanout);
    let (_, took) =
        put_subscriptions(&stack.api, 0..calibration, &far_body, opts.concurrency).await?;
    let update_per_s = calibration as f64 / took.as_secs_f64().max(1e-3);
    let estimate = (fanout - calibration) as f64 / update_per_s * 1.5 + 15.0;
    let due_minute = ((epoch_now() + estimate) / 60.0).ceil() as i64;
    let due = chrono::DateTime::from_timestamp(due_minute * 60, 0).expect("instant");
    let local = local_hhmm(due, offset);
    println!("  updates at {update_per_s:.0}/s: all due at {local} {zone} ({due})");
    let body = json!({"timezone": zone, "local_time": local}).to_string();
    put_subscriptions(&stack.api, calibration..fanout, &body, opts.concurrency).await?;
    put_subscriptions(&stack.api, 0..calibration, &body, opts.concurrency).await?;
    Ok(DuePlan {
        zone,
        due,
        create_per_s_by_tenth,
        create_s,
        update_per_s,
    })
}

/// Polls until every athlete's job succeeded or the deadline; fails when one failed.
async fn await_fanout(
    stack: &mut Stack,
    fanout: usize,
    deadline: Instant,
) -> Result<FanoutProgress> {
    let Db::Pg(pool) = stack.db.clone() else {
        bail!("the fan-out scenario is distributed")
    };
    let mut progress = fanout_progress(&pool).await?;
    while Instant::now() < deadline && (progress.succeeded as usize) < fanout {
        tokio::time::sleep(Duration::from_millis(250)).await;
        stack.procs.check_alive()?;
        progress = fanout_progress(&pool).await?;
        if progress.failed > 0 {
            let logs = stack.procs.logs();
            bail!("{} motivation jobs failed; logs: {logs:?}", progress.failed);
        }
    }
    Ok(progress)
}

/// api + 1 worker with the scheduler on: `BENCH_FANOUT` subscriptions due at the same minute.
async fn scheduler_fanout(opts: &Options) -> Result<Value> {
    let tuning = Tuning {
        scheduler: true,
        max_subscriptions: opts.fanout.max(100_000) + 10,
    };
    with_stack(
        opts,
        Mode::Distributed,
        tuning,
        async |stack: &mut Stack| fanout_on(opts, stack).await,
    )
    .await
}

/// The fan-out scenario on its stack.
async fn fanout_on(opts: &Options, stack: &mut Stack) -> Result<Value> {
    let fanout = opts.fanout;
    if fanout == 0 {
        bail!("BENCH_FANOUT must be at least 1");
    }
    stack.start_api().await?;
    stack.spawn_workers(1)?;
    let plan = create_subscriptions(opts, stack).await?;
    let due_epoch = plan.due.timestamp() as f64;
    let margin_s = due_epoch - epoch_now();
    if margin_s <= 0.0 {
        println!(
            "  creating the subscriptions overran the due minute by {:.1} s",
            -margin_s
        );
    }
    let deadline =
        Instant::now() + Duration::from_secs_f64(margin_s.max(0.0)) + opts.fanout_deadline;
    let progress = await_fanout(stack, fanout, deadline).await?;
    let complete = progress.succeeded as usize >= fanout;
    let elapsed = match (complete, progress.last_finished) {
        (true, Some(last)) => last - due_epoch,
        _ => epoch_now() - due_epoch,
    };
    let succeeded = progress.succeeded as f64;
    Ok(json!({
        "subscriptions": fanout,
        "zone": plan.zone,
        "due_at": plan.due.to_rfc3339(),
        "subscriptions_per_s": round(fanout as f64 / plan.create_s.max(1e-3), 1),
        "subscriptions_create_s": round(plan.create_s, 1),
        "subscriptions_per_s_by_tenth": plan.create_per_s_by_tenth,
        "subscription_updates_per_s": round(plan.update_per_s, 1),
        "margin_before_due_s": round(margin_s, 1),
        "complete": complete,
        "jobs_created": progress.created,
        "jobs_succeeded": progress.succeeded,
        "fanout_s": round(elapsed, 2),
        "jobs_created_by_s": progress.last_created.map(|c| round(c - due_epoch, 2)),
        "succeeded_per_s": round(succeeded / elapsed.max(1e-3), 1),
        "projected_fanout_s": round(fanout as f64 * elapsed / succeeded.max(1.0), 1),
        "processes": stack.process_figures(opts.clk_tck, progress.succeeded as usize),
        "log_warnings": stack.log_findings(),
    }))
}

// ---------------------------------------------------------------------------------------------
// BullMQ peer
// ---------------------------------------------------------------------------------------------

/// Runs a command with a bounded wait, stdout captured, stderr to `log`.
fn run_bounded(command: &mut Command, log: &Path, limit: Duration) -> Result<String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log)?)
        .spawn()?;
    let mut stdout = child.stdout.take().context("stdout")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "{command:?} took longer than {limit:?} (log: {})",
                log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = reader.join().unwrap_or_default();
    if !status.success() && text.trim().is_empty() {
        bail!("{command:?} failed ({status}); log: {}", log.display());
    }
    Ok(text)
}

/// The peer folder copied under `target/bullmq-peer/<lock hash>/` with its packages
/// installed (once per lock file).
fn bullmq_install() -> Result<PathBuf> {
    use sha2::Digest as _;
    let source = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/peers/bullmq"
    ));
    let lock = std::fs::read(source.join("package-lock.json"))?;
    let hash: String = sha2::Sha256::digest(&lock)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/bullmq-peer")
        .join(hash);
    std::fs::create_dir_all(&dir)?;
    for file in ["package.json", "package-lock.json", "bench.js"] {
        std::fs::copy(source.join(file), dir.join(file))?;
    }
    let marker = dir.join(".installed");
    if !marker.exists() {
        println!("installing the BullMQ peer into {}", dir.display());
        run_bounded(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund"])
                .current_dir(&dir),
            &dir.join("npm-install.log"),
            Duration::from_secs(600),
        )?;
        if !dir.join("node_modules/bullmq").is_dir() {
            bail!(
                "npm install left no node_modules/bullmq (see {})",
                dir.join("npm-install.log").display()
            );
        }
        std::fs::write(&marker, "")?;
    }
    Ok(dir)
}

/// One `node bench.js` run in `mode`; its JSON line.
fn bullmq_run(dir: &Path, opts: &Options, mode: &str) -> Result<Value> {
    let text = run_bounded(
        Command::new("node")
            .arg("bench.js")
            .current_dir(dir)
            .env("REDIS_URL", &opts.redis_url)
            .env("N", opts.n.to_string())
            .env("CONCURRENCY", "100")
            .env("MODE", mode),
        &dir.join(format!("bench-{mode}.log")),
        Duration::from_secs(300),
    )?;
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or_else(|| anyhow!("bench.js printed no JSON line: {text}"))?;
    let result: Value = serde_json::from_str(line)?;
    if let Some(error) = result.get("error") {
        bail!("bench.js reported: {error}");
    }
    Ok(result)
}

/// The BullMQ peer in backlog and live mode, or `{"skipped": why}`.
fn bullmq(opts: &Options) -> Value {
    if opts.skip_bullmq {
        return json!({"skipped": "BENCH_SKIP_BULLMQ=1"});
    }
    if Command::new("node").arg("--version").output().is_err() {
        println!(
            "note: `node` is not installed: the BullMQ peer is skipped (SPARTA's figures follow)"
        );
        return json!({"skipped": "node is not installed"});
    }
    let dir = match bullmq_install() {
        Ok(dir) => dir,
        Err(e) => {
            println!("note: the BullMQ peer could not be installed: {e:#}");
            return json!({"skipped": format!("install failed: {e:#}")});
        }
    };
    let mut results = serde_json::Map::new();
    for mode in ["backlog", "live"] {
        match bullmq_run(&dir, opts, mode) {
            Ok(result) => {
                println!(
                    "bullmq {mode}: enqueue {}/s, drain {}/s, e2e {}/s",
                    result["enqueue_per_s"], result["drain_per_s"], result["e2e_per_s"]
                );
                results.insert(mode.into(), result);
            }
            Err(e) => {
                println!("note: BullMQ {mode} failed: {e:#}");
                results.insert(mode.into(), json!({"skipped": format!("{e:#}")}));
            }
        }
    }
    Value::Object(results)
}

/// [`bullmq`], with the machine's CPU busy share in the second before it (printed as `what`'s).
async fn bullmq_measured(opts: &Options, what: &str) -> Value {
    let busy = machine_busy().await;
    println!("machine CPU busy before {what}: {:.0} %", busy * 100.0);
    let mut peer = bullmq(opts);
    peer["machine_busy_before"] = json!(busy);
    peer
}

/// The peer's runs before and after SPARTA's scenarios as one yardstick: per mode the mean of
/// the runs that finished, both runs kept beside it (`runs`).
fn bracket(before: &Value, after: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for mode in ["backlog", "live"] {
        let finished: Vec<&Value> = [&before[mode], &after[mode]]
            .into_iter()
            .filter(|run| run["e2e_per_s"].as_f64().is_some())
            .collect();
        let mean = |field: &str| {
            let values: Vec<f64> = finished.iter().filter_map(|r| r[field].as_f64()).collect();
            match values.len() {
                0 => Value::Null,
                n => json!(round(values.iter().sum::<f64>() / n as f64, 1)),
            }
        };
        let mut yardstick = if finished.is_empty() {
            before[mode].clone()
        } else {
            json!({
                "enqueue_per_s": mean("enqueue_per_s"),
                "drain_per_s": mean("drain_per_s"),
                "e2e_per_s": mean("e2e_per_s"),
            })
        };
        yardstick["runs"] = json!({"before": before[mode], "after": after[mode]});
        out.insert(mode.into(), yardstick);
    }
    out.insert(
        "machine_busy_before".into(),
        json!({"before": before["machine_busy_before"], "after": after["machine_busy_before"]}),
    );
    Value::Object(out)
}

// ---------------------------------------------------------------------------------------------
// The console's overview over a large store
// ---------------------------------------------------------------------------------------------

/// Jobs in the store of `console_overview_1m` (`BENCH_CONSOLE_JOBS`).
fn console_jobs() -> usize {
    env_num("BENCH_CONSOLE_JOBS", 1_000_000)
}

/// `console_overview_1m`: `sparta api` over a store of 1,000,000 jobs (98 % succeeded, 1 %
/// queued, 0.5 % failed; 2,000 webhook events pending) and a full hour and fortnight of two
/// worker processes' activity; the console's overview, its live stream's first reading and the
/// providers page, timed from this client (request to last byte) after a warm-up.
async fn console_overview(opts: &Options) -> Result<Value> {
    with_stack(opts, Mode::Distributed, Tuning::PLAIN, async |stack| {
        console_overview_on(stack).await
    })
    .await
}

async fn console_overview_on(stack: &mut Stack) -> Result<Value> {
    let Db::Pg(pool) = stack.db.clone() else {
        bail!("the console bench runs on Postgres");
    };
    // The operator's token, added to the settings before the API starts.
    let operator = Command::new(sparta_bin())
        .args(["admin", "token"])
        .output()
        .context("sparta admin token")?;
    let operator = String::from_utf8(operator.stdout)?;
    let lines: Vec<&str> = operator.lines().collect();
    let (token, hash) = match (lines.get(1), lines.get(3)) {
        (Some(t), Some(h)) => (t.trim().to_owned(), h.trim().to_owned()),
        _ => bail!("sparta admin token printed {operator:?}"),
    };
    let mut settings = std::fs::read_to_string(&stack.config)?;
    settings.push_str(&format!("\n[admin]\ntoken_hash = \"{hash}\"\n"));
    std::fs::write(&stack.config, settings)?;

    let jobs = console_jobs();
    let seeded = Instant::now();
    seed_jobs(&pool, jobs).await?;
    seed_activity(&pool).await?;
    let seed_s = seeded.elapsed().as_secs_f64();
    println!("  seeded {jobs} jobs and the activity in {seed_s:.1} s");
    // What counting the table per request would cost (the console does not).
    let count_ms = {
        let at = Instant::now();
        let _: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
            .fetch_one(&pool)
            .await?;
        at.elapsed().as_secs_f64() * 1000.0
    };
    // The queue depth as the store reads it (one partial index per status), and as it read it
    // before (`status IN (…)`, which implies neither index's predicate).
    let timed = async |sql: &str| -> Result<f64> {
        let at = Instant::now();
        sqlx::query(sql).fetch_all(&pool).await?;
        Ok(at.elapsed().as_secs_f64() * 1000.0)
    };
    let depth_ms = timed(
        "SELECT kind, 'queued' AS status, count(*) AS jobs FROM jobs WHERE status = 'queued' \
         GROUP BY kind UNION ALL SELECT kind, 'running' AS status, count(*) AS jobs FROM jobs \
         WHERE status = 'running' GROUP BY kind",
    )
    .await?;
    let depth_in_list_ms = timed(
        "SELECT kind, status, count(*) FROM jobs WHERE status IN ('queued', 'running') \
         GROUP BY kind, status",
    )
    .await?;

    stack.start_api().await?;
    let http = stack.api.http.clone();
    let base = stack.api.base.clone();
    let signed = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .post(format!("{base}/console/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await?;
    let cookie = signed
        .headers()
        .get("set-cookie")
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("sign-in answered {} without a cookie", signed.status()))?;
    let time = async |path: &str, n: usize| -> Result<Vec<f64>> {
        let mut took = Vec::with_capacity(n);
        for _ in 0..n {
            let at = Instant::now();
            let r = http
                .get(format!("{base}{path}"))
                .header("cookie", &cookie)
                .send()
                .await?;
            let status = r.status();
            let body = r.text().await?;
            took.push(at.elapsed().as_secs_f64() * 1000.0);
            if !status.is_success() || !body.contains("</html>") {
                bail!("{path} answered {status}");
            }
        }
        took.sort_by(f64::total_cmp);
        Ok(took)
    };
    // The first reading of the depth waits for it; every later one is the cached gauge.
    let first = time("/console/overview", 1).await?[0];
    time("/console/overview", 20).await?;
    let overview = time("/console/overview", 300).await?;
    let providers = time("/console/providers", 100).await?;
    let mut stream_first = Vec::new();
    for _ in 0..30 {
        let at = Instant::now();
        let mut r = http
            .get(format!("{base}/console/overview/stream"))
            .header("cookie", &cookie)
            .send()
            .await?;
        let mut seen = String::new();
        while !seen.contains("\n\n") {
            match r.chunk().await? {
                Some(chunk) => seen.push_str(&String::from_utf8_lossy(&chunk)),
                None => bail!("the stream ended before its first reading"),
            }
        }
        stream_first.push(at.elapsed().as_secs_f64() * 1000.0);
    }
    stream_first.sort_by(f64::total_cmp);
    let page = http
        .get(format!("{base}/console/overview"))
        .header("cookie", &cookie)
        .send()
        .await?
        .text()
        .await?;
    let expect = |needle: &str| -> Result<()> {
        if page.contains(needle) {
            Ok(())
        } else {
            bail!("the overview lacks {needle:?}")
        }
    };
    // The seeded figures are on the page: 10,000 queued, 2,000 webhook events, the chart.
    expect(&format!("{}", jobs / 100))?;
    expect("2000")?;
    expect("aria-label=\"Jobs finished per second")?;
    let figures = |sorted: &[f64]| {
        json!({
            "n": sorted.len(),
            "p50_ms": round(percentile(sorted, 50.0), 2),
            "p99_ms": round(percentile(sorted, 99.0), 2),
            "max_ms": round(sorted.last().copied().unwrap_or(0.0), 2),
        })
    };
    Ok(json!({
        "jobs_in_store": jobs,
        "seed_s": round(seed_s, 1),
        "overview_first_ms": round(first, 2),
        "overview": figures(&overview),
        "providers": figures(&providers),
        "overview_stream_first_reading": figures(&stream_first),
        "count_whole_table_ms": round(count_ms, 1),
        "depth_query_ms": round(depth_ms, 1),
        "depth_query_in_list_ms": round(depth_in_list_ms, 1),
        "api_peak_rss_mb": stack
            .procs
            .stats(clock_ticks())
            .first()
            .map(|(_, stats)| round(stats.hwm_kb as f64 / 1024.0, 1)),
    }))
}

/// Inserts `n` jobs of every kind straight into the store (100,000 a statement): 1 % queued,
/// 0.5 % failed, the rest succeeded, created over the last `n` seconds; and 2,000 pending
/// webhook events.
async fn seed_jobs(pool: &PgPool, n: usize) -> Result<()> {
    let tenant: uuid::Uuid = sqlx::query_scalar("SELECT id FROM tenants WHERE name = 'bench'")
        .fetch_one(pool)
        .await?;
    let input = nutrition_body()["input"].to_string();
    let output = r#"{"daily_protein_g":{"low":130,"high":160},"notes":["seeded"]}"#;
    let step = 100_000;
    for from in (0..n).step_by(step) {
        let to = (from + step).min(n);
        sqlx::query(
            "INSERT INTO jobs (id, tenant_id, kind, status, input, output, attempt, max_attempts, \
                 priority, run_at, request_hash, created_at, started_at, finished_at, provider, model) \
             SELECT gen_random_uuid(), $1, \
                 (ARRAY['nutrition','split','workout_plan','daily_coaching','overload_analysis', \
                        'motivation','exercise_swap','next_set','progress_report'])[1 + i % 9], \
                 s.status, $2::json, CASE WHEN s.status = 'succeeded' THEN $3::json END, \
                 CASE WHEN s.status = 'queued' THEN 0 ELSE 1 END, 3, 5, \
                 now() - make_interval(secs => $4 - i), 'bench', now() - make_interval(secs => $4 - i), \
                 CASE WHEN s.status = 'queued' THEN NULL ELSE now() - make_interval(secs => $4 - i) END, \
                 CASE WHEN s.status = 'queued' THEN NULL ELSE now() - make_interval(secs => $4 - i) END, \
                 CASE WHEN s.status = 'succeeded' THEN 'builtin' END, \
                 CASE WHEN s.status = 'succeeded' THEN 'builtin' END \
             FROM generate_series($5::bigint, $6::bigint - 1) AS i, \
                 LATERAL (SELECT CASE WHEN i % 100 = 0 THEN 'queued' \
                                      WHEN i % 200 = 1 THEN 'failed' \
                                      ELSE 'succeeded' END AS status) AS s",
        )
        .bind(tenant)
        .bind(&input)
        .bind(output)
        .bind(n as f64)
        .bind(from as i64)
        .bind(to as i64)
        .execute(pool)
        .await
        .context("seeding jobs")?;
    }
    sqlx::query(
        "INSERT INTO webhook_events (id, tenant_id, job_id, event_type, url, next_attempt_at, \
             created_at) \
         SELECT 'msg_' || md5(id::text), tenant_id, id, 'job.succeeded', \
             'https://hooks.example.com/bench', now() + interval '1 hour', finished_at \
         FROM jobs WHERE status = 'succeeded' LIMIT 2000",
    )
    .execute(pool)
    .await
    .context("seeding webhook events")?;
    sqlx::query("ANALYZE jobs").execute(pool).await?;
    Ok(())
}

/// Two worker processes' activity: every minute of the last hour (every kind with its wait and
/// run histograms; three models with latency, errors, tokens and cost) and every day of the last
/// fortnight.
async fn seed_activity(pool: &PgPool) -> Result<()> {
    use sparta_jobs::ActivityStore as _;
    use sparta_jobs::activity::{Activity, ActivityRow, JobEnd, Period};
    let mut activity = Activity::default();
    for (k, &kind) in sparta_coach::JobKind::ALL.iter().enumerate() {
        let a = activity.kind_mut(kind);
        a.started = 600;
        a.ended.insert(JobEnd::Succeeded, 590);
        a.ended.insert(JobEnd::Retried, 8);
        a.ended.insert(JobEnd::Failed, 2);
        for i in 0..600u32 {
            // Spread over three decades: every minute's histograms hold many buckets.
            let x = f64::from(i) / 600.0;
            a.wait
                .record(0.001 * 10f64.powf(3.0 * x) * (1.0 + k as f64 / 10.0));
            a.run.record(0.0002 * 10f64.powf(2.0 * x));
        }
    }
    for (model, price) in [("builtin", 0u64), ("gpt-4o-mini", 3), ("claude-haiku", 5)] {
        let m = activity.model_mut(model);
        m.attempts.insert("succeeded".into(), 1_800);
        m.attempts.insert("cache_hit".into(), 200);
        if price > 0 {
            m.attempts.insert("timeout".into(), 7);
            m.attempts.insert("invalid".into(), 12);
            m.attempts.insert("provider_error".into(), 3);
            m.input_tokens = 1_800 * 900;
            m.output_tokens = 1_800 * 350;
            m.cost_microusd = 1_800 * 100 * price;
        }
        for i in 0..1_822u32 {
            let x = f64::from(i) / 1_822.0;
            m.latency
                .record(if price == 0 { 0.0001 } else { 0.3 } * 10f64.powf(1.5 * x));
        }
    }
    // Written as the workers write it: the store's own statement.
    let day = activity.without_durations();
    let now = chrono::Utc::now();
    let mut rows = Vec::new();
    for source in ["process-bench-1", "process-bench-2"] {
        let row = |period: Period, start, activity: &Activity| ActivityRow {
            period,
            start,
            source: source.to_owned(),
            activity: activity.clone(),
        };
        for m in 0..60 {
            let start = Period::Minute.start_of(now) - chrono::Duration::minutes(m);
            rows.push(row(Period::Minute, start, &activity));
        }
        for d in 0..14 {
            let start = Period::Day.start_of(now) - chrono::Duration::days(d);
            rows.push(row(Period::Day, start, &day));
        }
    }
    let keyring =
        sparta_jobs::secrets::Keyring::new(&sparta_jobs::secrets::Keyring::generate_key(), &[])?;
    sparta_jobs::PgStore::from_pool(pool.clone(), keyring)
        .record_activity(&rows)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Ratios, targets, report
// ---------------------------------------------------------------------------------------------

/// SPARTA ÷ BullMQ for each throughput scenario (BullMQ's backlog run for backlog scenarios,
/// its live run for live ones).
fn ratios(scenarios: &serde_json::Map<String, Value>, bull: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (name, figures) in scenarios {
        if figures.get("e2e_per_s").is_none() {
            continue;
        }
        let mode = if name.contains("backlog") {
            "backlog"
        } else {
            "live"
        };
        let ratio = |ours: &str, mode: &str, theirs: &str| match (
            figures[ours].as_f64(),
            bull[mode][theirs].as_f64(),
        ) {
            (Some(a), Some(b)) if b > 0.0 => json!(round(a / b, 3)),
            _ => Value::Null,
        };
        out.insert(
            name.clone(),
            json!({
                "versus": format!("bullmq {mode}"),
                "e2e": ratio("e2e_per_s", mode, "e2e_per_s"),
                "drain": ratio("drain_per_s", mode, "drain_per_s"),
                "submit": ratio("submit_per_s", mode, "enqueue_per_s"),
                "e2e_vs_bullmq_backlog": ratio("e2e_per_s", "backlog", "e2e_per_s"),
            }),
        );
    }
    Value::Object(out)
}

/// One target: what it is, the figure, the goal, and whether it is met (`None`: not measured).
fn target(name: &str, value: Option<f64>, goal: &str, met: impl Fn(f64) -> bool) -> Value {
    json!({
        "target": name,
        "value": value.map(|v| round(v, 3)),
        "goal": goal,
        "met": value.map(met),
    })
}

/// The targets of this bench against the measured figures.
fn targets(scenarios: &serde_json::Map<String, Value>, ratios: &Value) -> Vec<Value> {
    let ratio = |scenario: &str, what: &str| ratios[scenario][what].as_f64();
    let figure = |scenario: &str, pointer: &str| {
        scenarios
            .get(scenario)
            .and_then(|f| f.pointer(pointer))
            .and_then(Value::as_f64)
    };
    let fanout = scenarios.get("scheduler_fanout");
    let fanout_s = fanout
        .and_then(|f| {
            f["complete"]
                .as_bool()
                .filter(|c| *c)
                .and(f["fanout_s"].as_f64())
        })
        .or_else(|| fanout.and_then(|f| f["projected_fanout_s"].as_f64()));
    vec![
        target(
            "distributed_backlog_1w e2e ÷ BullMQ backlog e2e",
            ratio("distributed_backlog_1w", "e2e"),
            ">= 0.5",
            |v| v >= 0.5,
        ),
        target(
            "distributed_backlog_1w drain ÷ BullMQ backlog drain (stretch)",
            ratio("distributed_backlog_1w", "drain"),
            ">= 1.0",
            |v| v >= 1.0,
        ),
        target(
            "distributed_batch_backlog_1w e2e ÷ BullMQ backlog e2e",
            ratio("distributed_batch_backlog_1w", "e2e"),
            ">= 1.0",
            |v| v >= 1.0,
        ),
        target(
            "distributed_batch_live_1w e2e ÷ BullMQ backlog e2e",
            ratio("distributed_batch_live_1w", "e2e_vs_bullmq_backlog"),
            ">= 1.0",
            |v| v >= 1.0,
        ),
        target(
            "embedded_live e2e jobs/s",
            figure("embedded_live", "/e2e_per_s"),
            ">= 3000",
            |v| v >= 3000.0,
        ),
        target(
            "open-loop submit p99 ms",
            figure("open_loop_1000rps", "/submit_p99_ms"),
            "< 5",
            |v| v < 5.0,
        ),
        target(
            "idle pickup p99 ms",
            figure("open_loop_1000rps", "/idle_pickup/p99_ms"),
            "< 10",
            |v| v < 10.0,
        ),
        target("scheduler fan-out s", fanout_s, "<= 30", |v| v <= 30.0),
        target(
            "console overview p99 ms, 1,000,000 jobs in the store",
            figure("console_overview_1m", "/overview/p99_ms"),
            "< 200",
            |v| v < 200.0,
        ),
    ]
}

/// A number for a table cell (`-` when absent).
fn cell(value: &Value, digits: usize) -> String {
    match value.as_f64() {
        Some(v) => format!("{v:.digits$}"),
        None => "-".into(),
    }
}

/// Prints the report tables.
fn print_report(report: &Value) {
    let scenarios = report["scenarios"].as_object().cloned().unwrap_or_default();
    println!();
    println!(
        "SPARTA throughput — N = {}, concurrency {}, worker concurrency {}, {} cores, commit {}",
        report["n"],
        report["concurrency"],
        report["worker_concurrency"],
        report["nproc"],
        report["commit"].as_str().unwrap_or("?")
    );
    println!();
    println!(
        "{:<30} {:>9} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>6}",
        "scenario",
        "submit/s",
        "p50 ms",
        "p99 ms",
        "drain/s",
        "e2e/s",
        "wait p50",
        "wait p99",
        "busy"
    );
    for (name, f) in &scenarios {
        if let Some(skipped) = f.get("skipped").or_else(|| f.get("error")) {
            println!("{name:<30} {skipped}");
            continue;
        }
        if name == "scheduler_fanout" || name == "console_overview_1m" {
            continue;
        }
        let (submit, drain, e2e) = if name == "open_loop_1000rps" {
            (cell(&f["achieved_per_s"], 0), "-".into(), "-".into())
        } else {
            (
                cell(&f["submit_per_s"], 0),
                cell(&f["drain_per_s"], 0),
                cell(&f["e2e_per_s"], 0),
            )
        };
        let foreign = if f.get("foreign_processes_seen").is_some() {
            "*"
        } else {
            ""
        };
        let busy = f["machine_busy_before"]
            .as_f64()
            .map_or("-".into(), |b| format!("{:.0}%{foreign}", b * 100.0));
        println!(
            "{name:<30} {submit:>9} {:>8} {:>8} {drain:>9} {e2e:>9} {:>9} {:>9} {busy:>6}",
            cell(&f["submit_p50_ms"], 2),
            cell(&f["submit_p99_ms"], 2),
            cell(&f["wait_p50_ms"], 1),
            cell(&f["wait_p99_ms"], 1),
        );
    }
    println!(
        "busy: machine CPU busy in the second before the scenario; *: other sparta processes or \
         benches ran during it"
    );
    println!();
    println!(
        "{:<30} CPU s per 1,000 jobs and peak RSS MB, per process",
        "scenario"
    );
    for (name, f) in &scenarios {
        let Some(processes) = f["processes"].as_object() else {
            continue;
        };
        let mut parts: Vec<String> = processes
            .iter()
            .map(|(p, v)| {
                format!(
                    "{p} {} s, {} MB",
                    cell(&v["cpu_s_per_1k_jobs"], 3),
                    cell(&v["peak_rss_mb"], 0)
                )
            })
            .collect();
        if let Some(g) = f.get("servers") {
            parts.push(format!(
                "postgres {} s, redis {} s",
                cell(&g["postgres_cpu_s_per_1k_jobs"], 3),
                cell(&g["redis_cpu_s_per_1k_jobs"], 3)
            ));
        }
        if let Some(g) = f.get("load_generator") {
            parts.push(format!(
                "bench {} s, {} MB",
                cell(&g["cpu_s_per_1k_jobs"], 3),
                cell(&g["peak_rss_mb"], 0)
            ));
        }
        println!("{name:<30} {}", parts.join(" | "));
    }
    if let Some(f) = scenarios
        .get("open_loop_1000rps")
        .filter(|f| f.get("idle_pickup").is_some())
    {
        println!();
        println!(
            "open loop {} req/s for {} s: achieved {}/s, submit p50 {} / p99 {} / max {} ms \
             (from send: p99 {} ms); idle pickup p50 {} / p99 {} / max {} ms",
            f["rate_target_per_s"],
            f["seconds"],
            cell(&f["achieved_per_s"], 0),
            cell(&f["submit_p50_ms"], 2),
            cell(&f["submit_p99_ms"], 2),
            cell(&f["submit_max_ms"], 2),
            cell(&f["submit_from_send_p99_ms"], 2),
            cell(&f["idle_pickup"]["p50_ms"], 2),
            cell(&f["idle_pickup"]["p99_ms"], 2),
            cell(&f["idle_pickup"]["max_ms"], 2),
        );
        println!(
            "open loop, the slowest submit of each second (from {}), ms: {}",
            f["started_at_epoch_s"], f["submit_max_ms_by_second"]
        );
        println!(
            "open loop, the API's own response times (POST /v1/jobs, cumulative): {}",
            f["api_submit_duration_buckets"]
        );
        let probe = &f["fsync_probe"];
        if probe.is_null() {
            println!("open loop, no disk probe beside it (BENCH_FSYNC_PROBE_MS=0)");
        } else {
            println!(
                "open loop, a write + fdatasync every {} ms beside it: p50 {} / p99 {} / max {} \
                 ms; ≥ 10 ms at {}",
                probe["period_ms"],
                probe["p50_ms"],
                probe["p99_ms"],
                probe["max_ms"],
                probe["slow"]
            );
        }
    }
    if let Some(f) = scenarios
        .get("scheduler_fanout")
        .filter(|f| f.get("complete").is_some())
    {
        println!(
            "scheduler fan-out {} subscriptions (created in {} s: {}/s in the first tenth, {}/s \
             in the last): {} — {}/{} succeeded {} s after the due minute ({}/s; projected {} s \
             for all)",
            f["subscriptions"],
            cell(&f["subscriptions_create_s"], 0),
            cell(&f["subscriptions_per_s_by_tenth"][0], 0),
            cell(&f["subscriptions_per_s_by_tenth"][9], 0),
            if f["complete"] == true {
                "complete"
            } else {
                "NOT complete at the deadline"
            },
            f["jobs_succeeded"],
            f["subscriptions"],
            cell(&f["fanout_s"], 1),
            cell(&f["succeeded_per_s"], 0),
            cell(&f["projected_fanout_s"], 0),
        );
    }
    if let Some(f) = scenarios
        .get("rss_200k")
        .and_then(|f| f.get("worker_rss_mb"))
    {
        println!(
            "rss_200k worker RSS MB: start {}, end {}, peak {}; at each tenth of the run {}; \
             growth after the first tenth {}",
            f["start"], f["end"], f["peak"], f["at_each_tenth"], f["growth_after_first_tenth"]
        );
    }
    println!();
    let bull = &report["bullmq"];
    println!(
        "{:<30} {:>9} {:>9} {:>9}",
        "BullMQ 6.7 peer", "enqueue/s", "drain/s", "e2e/s"
    );
    for mode in ["backlog", "live"] {
        let b = &bull[mode];
        match b.get("skipped").or_else(|| bull.get("skipped")) {
            Some(why) => println!("{mode:<30} skipped: {why}"),
            None => println!(
                "{mode:<30} {:>9} {:>9} {:>9}",
                cell(&b["enqueue_per_s"], 0),
                cell(&b["drain_per_s"], 0),
                cell(&b["e2e_per_s"], 0)
            ),
        }
        // With two runs, the row above is their mean; each run follows.
        for run in ["before", "after"] {
            let r = &b["runs"][run];
            if r["e2e_per_s"].as_f64().is_some() {
                println!(
                    "  {:<28} {:>9} {:>9} {:>9}",
                    format!("{run} SPARTA's scenarios"),
                    cell(&r["enqueue_per_s"], 0),
                    cell(&r["drain_per_s"], 0),
                    cell(&r["e2e_per_s"], 0)
                );
            }
        }
    }
    println!();
    println!(
        "{:<30} {:>14} {:>8} {:>8} {:>8}",
        "SPARTA ÷ BullMQ", "versus", "e2e", "drain", "submit"
    );
    if let Some(ratios) = report["ratios"].as_object() {
        for (name, r) in ratios {
            println!(
                "{name:<30} {:>14} {:>8} {:>8} {:>8}",
                r["versus"].as_str().unwrap_or("-"),
                cell(&r["e2e"], 2),
                cell(&r["drain"], 2),
                cell(&r["submit"], 2)
            );
        }
    }
    println!();
    println!("{:<62} {:>10} {:>8}  met", "target", "value", "goal");
    for t in report["targets"].as_array().into_iter().flatten() {
        let met = match t["met"].as_bool() {
            Some(true) => "met",
            Some(false) => "NOT MET",
            None => "not measured",
        };
        println!(
            "{:<62} {:>10} {:>8}  {met}",
            t["target"].as_str().unwrap_or("?"),
            cell(&t["value"], 2),
            t["goal"].as_str().unwrap_or("?")
        );
    }
}

/// Runs one named scenario; a failure is recorded as `{"error": …}`.
async fn run_scenario(opts: &Options, name: &str) -> Value {
    let mut errors = Vec::new();
    for attempt in 1..=opts.attempts {
        let result = match name {
            "open_loop_1000rps" => open_loop(opts).await,
            "scheduler_fanout" => scheduler_fanout(opts).await,
            "console_overview_1m" => console_overview(opts).await,
            other => match Shape::of(other, opts) {
                Some(shape) => throughput(opts, shape).await,
                None => Err(anyhow!("unknown scenario {other}")),
            },
        };
        match result {
            Ok(mut figures) => {
                if !errors.is_empty() {
                    figures["failed_attempts"] = json!(errors);
                }
                return figures;
            }
            Err(e) => {
                println!("  attempt {attempt} of {name} failed: {e:#}");
                errors.push(format!("{e:#}"));
            }
        }
    }
    json!({"error": errors.last(), "failed_attempts": errors})
}

/// `sparta` processes and throughput benches on the machine that are not this bench's (another
/// run on the same 2 cores moves every figure): their command lines, shortened.
fn foreign_processes() -> Vec<String> {
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if pid == me || parent == Some(me) {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let first = cmdline.split(' ').next().unwrap_or("");
        if first.contains("/deps/throughput-")
            || (first.ends_with("/sparta") && cmdline.contains("--config"))
        {
            found.push(cmdline.trim().chars().take(120).collect());
        }
    }
    found
}

/// Runs a scenario while sampling, every second, the foreign processes on the machine.
async fn run_watched(opts: &Options, name: &str) -> Value {
    let seen = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let sampler = {
        let seen = seen.clone();
        tokio::spawn(async move {
            loop {
                let found = foreign_processes();
                if let Ok(mut seen) = seen.lock() {
                    seen.extend(found);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    let mut figures = run_scenario(opts, name).await;
    sampler.abort();
    let seen: Vec<String> = seen
        .lock()
        .map(|s| s.iter().cloned().collect())
        .unwrap_or_default();
    if !seen.is_empty() {
        println!("  note: other sparta processes or benches ran meanwhile: {seen:?}");
        figures["foreign_processes_seen"] = json!(seen);
    }
    figures
}

/// One line per scenario as it ends.
fn print_line(name: &str, f: &Value) {
    if let Some(why) = f.get("skipped").or_else(|| f.get("error")) {
        println!("{name}: {why}");
    } else if name == "console_overview_1m" {
        println!(
            "{name}: {} jobs in the store; overview p50 {} ms p99 {} ms (first {} ms), \
             providers p50 {} ms p99 {} ms, live stream's first reading p50 {} ms p99 {} ms; \
             a count of the whole table takes {} ms, the queue depth {} ms ({} ms as \
             `status IN (…)`)",
            f["jobs_in_store"],
            f["overview"]["p50_ms"],
            f["overview"]["p99_ms"],
            f["overview_first_ms"],
            f["providers"]["p50_ms"],
            f["providers"]["p99_ms"],
            f["overview_stream_first_reading"]["p50_ms"],
            f["overview_stream_first_reading"]["p99_ms"],
            f["count_whole_table_ms"],
            f["depth_query_ms"],
            f["depth_query_in_list_ms"]
        );
    } else if name == "scheduler_fanout" {
        println!(
            "{name}: complete {}, {} succeeded, {} s after the due minute",
            f["complete"], f["jobs_succeeded"], f["fanout_s"]
        );
    } else if name == "open_loop_1000rps" {
        println!(
            "{name}: {} jobs at {}/s, submit p50 {} ms p99 {} ms max {} ms; \
             idle pickup p50 {} ms p99 {} ms",
            f["jobs"],
            f["achieved_per_s"],
            f["submit_p50_ms"],
            f["submit_p99_ms"],
            f["submit_max_ms"],
            f["idle_pickup"]["p50_ms"],
            f["idle_pickup"]["p99_ms"]
        );
    } else {
        println!(
            "{name}: {} jobs, submit {}/s (p50 {} ms, p99 {} ms), drain {}/s, e2e {}/s, \
             wait p50 {} ms p99 {} ms",
            f["jobs"],
            f["submit_per_s"],
            f["submit_p50_ms"],
            f["submit_p99_ms"],
            f["drain_per_s"],
            f["e2e_per_s"],
            f["wait_p50_ms"],
            f["wait_p99_ms"]
        );
    }
    let warnings = f["log_warnings"]["count"].as_u64().unwrap_or(0);
    if warnings > 0 {
        println!("  {warnings} WARN/ERROR lines in the process logs, e.g.:");
        for line in f["log_warnings"]["samples"]
            .as_array()
            .into_iter()
            .flatten()
        {
            println!("    {}", line.as_str().unwrap_or(""));
        }
    }
}

/// The whole report: run parameters, the machine, the peer, every scenario, ratios, targets.
fn build_report(
    opts: &Options,
    bull: &Value,
    scenarios: &serde_json::Map<String, Value>,
    finished: bool,
) -> Value {
    let ratios = ratios(scenarios, bull);
    let targets = targets(scenarios, &ratios);
    json!({
        "bench": "throughput",
        "date": chrono::Utc::now().to_rfc3339(),
        "finished": finished,
        "n": opts.n,
        "concurrency": opts.concurrency,
        "batch": opts.batch,
        "worker_concurrency": opts.worker_concurrency,
        "db_connections": opts.db_connections,
        "fanout": opts.fanout,
        "nproc": command_output("nproc", &[]).parse::<u64>().ok(),
        "commit": command_output("git", &["rev-parse", "--short", "HEAD"]),
        "sparta_bin": std::fs::canonicalize(sparta_bin())
            .unwrap_or_else(|_| sparta_bin())
            .display()
            .to_string(),
        "clk_tck": opts.clk_tck,
        "bullmq": bull,
        "scenarios": scenarios,
        "ratios": ratios,
        "targets": targets,
    })
}

/// Writes `bench-results/throughput.json` (after every scenario, so an interrupted run keeps
/// what it measured).
fn write_report(report: &Value) -> PathBuf {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-results");
    std::fs::create_dir_all(&out).expect("bench-results");
    let file = out.join("throughput.json");
    std::fs::write(&file, serde_json::to_string_pretty(report).expect("json"))
        .expect("write bench-results/throughput.json");
    file
}

/// SIGINT or SIGTERM.
async fn interrupted() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[tokio::main]
async fn main() {
    let opts = Options::from_env();
    println!(
        "throughput bench: N = {}, concurrency {}, scenarios {:?}",
        opts.n, opts.concurrency, opts.scenarios
    );
    let mut bull = bullmq_measured(&opts, "the BullMQ peer").await;
    // Let Redis and the machine settle after the peer.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut scenarios = serde_json::Map::new();
    for name in &opts.scenarios {
        let busy = machine_busy().await;
        println!(
            "running {name}… (machine CPU busy before: {:.0} %)",
            busy * 100.0
        );
        // On a signal the scenario is dropped: its processes, database and keys go with it.
        let mut figures = tokio::select! {
            figures = run_watched(&opts, name) => figures,
            () = interrupted() => {
                println!("interrupted during {name}; cleaned up");
                write_report(&build_report(&opts, &bull, &scenarios, false));
                std::process::exit(130);
            }
        };
        figures["machine_busy_before"] = json!(busy);
        print_line(name, &figures);
        scenarios.insert(name.clone(), figures);
        write_report(&build_report(&opts, &bull, &scenarios, false));
    }
    // The yardstick moves: this machine's BullMQ backlog ran 7,556, 9,842 and 11,468 jobs/s end
    // to end in three full runs within 35 minutes. Run again after SPARTA's scenarios, so every
    // ratio reads against the peer on both sides of them rather than on one.
    if bull.get("skipped").is_none() && !scenarios.is_empty() {
        let after = bullmq_measured(&opts, "the BullMQ peer's second run").await;
        bull = bracket(&bull, &after);
    }
    let report = build_report(&opts, &bull, &scenarios, true);
    print_report(&report);
    println!("\nwritten to {}", write_report(&report).display());
}
