//! Prometheus metrics from real processes: an API and a worker process (`sparta api`,
//! `sparta worker` with `worker.metrics_listen`), a local OpenAI-compatible server with one good
//! and one failing model, and a webhook receiver. Each process is scraped and its exposition
//! read by a Prometheus text parser (a grammar, `openmetrics-parser`); every documented family
//! must be there with its documented labels, and the counters must have moved by exactly what
//! the known sequence of jobs implies: one LLM failure, one breaker opening, one cache hit.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use openmetrics_parser::{MetricsExposition, PrometheusType, PrometheusValue};
use serde_json::{Value, json};

use sparta_coach::JobKind;
use sparta_jobs::activity::{Activity, JobEnd};

use crate::harness::*;
use crate::llm::fenced_input;
use crate::processes::{SpartaProcess, free_port};
use crate::receiver::Receiver;

type Exposition = MetricsExposition<PrometheusType, PrometheusValue>;

/// Model `good` answers like a good model (the engine's answer, 400 + 150 tokens); model `down`
/// fails with a 500.
pub(crate) async fn llm(Json(request): Json<Value>) -> Response {
    if request["model"] == "down" {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response();
    }
    let input = fenced_input(&request).expect("a fenced input");
    let parsed = sparta_coach::JobInput::parse(sparta_coach::JobKind::Nutrition, &input)
        .expect("valid input");
    let answer = sparta_coach::run_builtin(&parsed).expect("engine answer");
    Json(json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.to_string()},
            "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 400, "completion_tokens": 150}
    }))
    .into_response()
}

/// Runs `sparta` with `args` and returns its stdout.
fn sparta(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_sparta"))
        .args(args)
        .output()
        .expect("run sparta");
    assert!(
        output.status.success(),
        "sparta {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

struct Ports {
    api: u16,
    worker_metrics: u16,
    llm: u16,
}

fn write_config(
    dir: &TempDir,
    settings: &sparta::Settings,
    ports: &Ports,
    token_hash: &str,
) -> PathBuf {
    // The scheduler runs (its family must be there) but prepares nothing, whatever the hour of
    // the run: the tenant's zone puts its local time between 12:00 and 13:00 and its message is
    // due at 23:59, later the same local day. (Due at "now + 12 h" in UTC, the message was
    // already due once the run started after 12:00 UTC: that time of day had passed today.)
    let hour = i32::try_from(chrono::Timelike::hour(&chrono::Utc::now())).expect("hour");
    let zone = match 12 - hour {
        0 => "Etc/GMT".to_owned(),
        ahead if ahead > 0 => format!("Etc/GMT-{ahead}"),
        behind => format!("Etc/GMT+{}", -behind),
    };
    let path = dir.0.join("sparta.toml");
    let text = format!(
        r#"listen = "127.0.0.1:{api}"
database_url = "{database}"
redis_url = "{redis}"

[log]
level = "error"

[api]
rate_per_key_per_sec = 0

[worker]
concurrency = 4
reconcile_every_ms = 200
activity_flush_ms = 200
metrics_listen = "127.0.0.1:{worker_metrics}"

[queue]
namespace = "{namespace}"

[webhooks]
allow_networks = ["127.0.0.0/8"]
poll_ms = 50

[secrets]
key = "{TEST_SECRETS_KEY}"

[scheduler]
every_ms = 200
default_timezone = "{zone}"
default_local_time = "23:59"

[admin]
token_hash = "{token_hash}"

[ai.breaker]
consecutive_failures = 1

[ai.kinds.nutrition]
chain = ["good", "builtin"]

[ai.kinds.split]
chain = ["down", "builtin"]

[ai.models.good]
base_url = "http://127.0.0.1:{llm}/v1"
model = "good"
price_input_per_mtok = 1.0
price_output_per_mtok = 2.0

[ai.models.down]
base_url = "http://127.0.0.1:{llm}/v1"
model = "down"
"#,
        api = ports.api,
        worker_metrics = ports.worker_metrics,
        llm = ports.llm,
        database = settings.database_url,
        redis = settings.redis_url.as_deref().expect("redis"),
        namespace = settings.queue.namespace,
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// The minute activity rows of the last hour in the store at `database`, added up, once `ready`
/// holds for them (the worker writes them every 200 ms).
async fn activity_written(database: &str, ready: impl Fn(&Activity) -> bool) -> Activity {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(database)
        .await
        .expect("connect");
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let bodies: Vec<(String,)> =
            sqlx::query_as("SELECT body FROM activity WHERE period = 'minute'")
                .fetch_all(&mut conn)
                .await
                .expect("activity");
        let mut total = Activity::default();
        for (body,) in &bodies {
            total.merge(&serde_json::from_str(body).expect("an activity row"));
        }
        if ready(&total) {
            return total;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker's activity never reached the store: {total:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `sparta admin token`: (token, hash).
fn operator_token() -> (String, String) {
    let out = sparta(&["admin", "token"]);
    let lines: Vec<&str> = out.lines().collect();
    let token = lines
        .iter()
        .find(|l| l.starts_with("op_sparta_"))
        .expect("token line");
    let hash = lines.last().expect("hash line");
    ((*token).to_owned(), (*hash).to_owned())
}

/// GET `url` with an optional bearer token: (status, body).
async fn fetch(url: &str, bearer: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    match request.send().await {
        Ok(response) => (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        ),
        Err(_) => (0, String::new()),
    }
}

/// Scrapes and parses one exposition (polling until the process answers).
async fn scrape(url: &str, bearer: Option<&str>) -> Exposition {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let (status, body) = fetch(url, bearer).await;
        if status == 200 {
            return openmetrics_parser::prometheus::parse_prometheus(&body)
                .unwrap_or_else(|e| panic!("unparseable exposition ({e:?}):\n{body}"));
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{url} answered {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The family named `name` (the parser may file a counter without its `_total`).
fn family<'a>(
    exposition: &'a Exposition,
    name: &str,
) -> Option<&'a openmetrics_parser::MetricFamily<PrometheusType, PrometheusValue>> {
    exposition.families.get(name).or_else(|| {
        name.strip_suffix("_total")
            .and_then(|short| exposition.families.get(short))
    })
}

/// Asserts that `name` is there, of type `kind`, with exactly `labels` as label names.
fn assert_family(exposition: &Exposition, name: &str, kind: PrometheusType, labels: &[&str]) {
    let Some(found) = family(exposition, name) else {
        let mut names: Vec<_> = exposition.families.keys().collect();
        names.sort();
        panic!("no family {name}; families: {names:?}");
    };
    assert_eq!(found.family_type, kind, "{name}");
    let mut have: Vec<&str> = found
        .get_label_names()
        .iter()
        .map(String::as_str)
        .filter(|l| *l != "le")
        .collect();
    have.sort_unstable();
    let mut want = labels.to_vec();
    want.sort_unstable();
    assert_eq!(have, want, "label names of {name}");
}

/// The value of the series of `name` with exactly `labels` (a histogram's count); 0 when the
/// series is not there.
fn value(exposition: &Exposition, name: &str, labels: &[(&str, &str)]) -> f64 {
    let Some(found) = family(exposition, name) else {
        return 0.0;
    };
    for sample in found.iter_samples() {
        let Ok(set) = sample.get_labelset() else {
            continue;
        };
        let matches = set.iter().filter(|(n, _)| n.as_str() != "le").count() == labels.len()
            && labels
                .iter()
                .all(|(n, v)| set.get_label_value(n) == Some(*v));
        if matches {
            return match &sample.value {
                PrometheusValue::Counter(c) => c.value.as_f64(),
                PrometheusValue::Gauge(n) | PrometheusValue::Unknown(n) => n.as_f64(),
                PrometheusValue::Histogram(h) => h.count.unwrap_or(0) as f64,
                PrometheusValue::Summary(s) => s.count.unwrap_or(0) as f64,
            };
        }
    }
    0.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_process_exposes_its_metrics_and_they_count_exactly() {
    let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(llm));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("llm port");
    let llm_port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let receiver = Receiver::start().await;

    let dir = TempDir::new();
    let settings = distributed_settings(&redis_url()).await;
    let ports = Ports {
        api: free_port(),
        worker_metrics: free_port(),
        llm: llm_port,
    };
    let (token, hash) = operator_token();
    let config = write_config(&dir, &settings, &ports, &hash);
    let (key, _) = crate::faults::create_tenant_with_cli(&config, "acme");
    let _api = SpartaProcess::start("api", &config);
    let client = Client {
        http: reqwest::Client::new(),
        base: format!("http://127.0.0.1:{}", ports.api),
        key: key.clone(),
    };
    let api_metrics = format!("{}/metrics", client.base);
    let worker_metrics = format!("http://127.0.0.1:{}/metrics", ports.worker_metrics);

    // Behind the operator's token on the API port: no token 401, a tenant's key 403.
    let _ = scrape(&api_metrics, Some(&token)).await;
    assert_eq!(fetch(&api_metrics, None).await.0, 401);
    assert_eq!(fetch(&api_metrics, Some(&key)).await.0, 403);
    let before = scrape(&api_metrics, Some(&token)).await;

    // Two jobs wait with no worker running: the queue depth shows them.
    let mut a = nutrition(72.0);
    a["webhook_url"] = json!(receiver.url("/hooks"));
    let a1 = client.submit_ok(&a).await;
    let b1 = client.submit_ok(&example("split")).await;
    let mut depth = (0.0, 0.0);
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while depth != (1.0, 1.0) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "queue depth {depth:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = scrape(&api_metrics, Some(&token)).await;
        depth = (
            value(
                &now,
                "sparta_queue_jobs",
                &[("kind", "nutrition"), ("status", "queued")],
            ),
            value(
                &now,
                "sparta_queue_jobs",
                &[("kind", "split"), ("status", "queued")],
            ),
        );
    }

    // The worker runs them, then the same two again: the nutrition answer now comes from the
    // cache, and the failing model's breaker, open since its one failure, skips it.
    let _worker = SpartaProcess::start("worker", &config);
    for id in [&a1, &b1] {
        assert_eq!(client.wait_terminal(id).await["status"], "succeeded");
    }
    let a2 = client.submit_ok(&nutrition(72.0)).await;
    let b2 = client.submit_ok(&example("split")).await;
    for id in [&a2, &b2] {
        assert_eq!(client.wait_terminal(id).await["status"], "succeeded");
    }
    let mut worker = scrape(&worker_metrics, None).await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while value(
        &worker,
        "sparta_webhook_deliveries_total",
        &[("outcome", "delivered")],
    ) < 1.0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no webhook delivery counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        worker = scrape(&worker_metrics, None).await;
    }
    let api = scrape(&api_metrics, Some(&token)).await;

    // Every family, with its labels.
    use PrometheusType::{Counter, Gauge, Histogram};
    for (name, kind, labels) in [
        (
            "sparta_http_requests_total",
            Counter,
            &["route", "method", "status"][..],
        ),
        (
            "sparta_http_request_duration_seconds",
            Histogram,
            &["route", "method"][..],
        ),
        ("sparta_jobs_submitted_total", Counter, &["kind"][..]),
        ("sparta_queue_jobs", Gauge, &["kind", "status"][..]),
        ("sparta_webhook_backlog_events", Gauge, &[][..]),
    ] {
        assert_family(&api, name, kind, labels);
    }
    for (name, kind, labels) in [
        ("sparta_jobs_started_total", Counter, &["kind"][..]),
        (
            "sparta_jobs_finished_total",
            Counter,
            &["kind", "outcome"][..],
        ),
        ("sparta_job_wait_seconds", Histogram, &["kind"][..]),
        ("sparta_job_run_seconds", Histogram, &["kind"][..]),
        (
            "sparta_llm_attempts_total",
            Counter,
            &["provider", "model", "outcome"][..],
        ),
        (
            "sparta_llm_attempt_duration_seconds",
            Histogram,
            &["provider", "model"][..],
        ),
        (
            "sparta_llm_input_tokens_total",
            Counter,
            &["provider", "model"][..],
        ),
        (
            "sparta_llm_output_tokens_total",
            Counter,
            &["provider", "model"][..],
        ),
        (
            "sparta_llm_cost_microusd_total",
            Counter,
            &["provider", "model"][..],
        ),
        ("sparta_llm_breaker_state", Gauge, &["model"][..]),
        (
            "sparta_llm_breaker_transitions_total",
            Counter,
            &["model", "to"][..],
        ),
        ("sparta_llm_cache_lookups_total", Counter, &["result"][..]),
        ("sparta_webhook_deliveries_total", Counter, &["outcome"][..]),
        ("sparta_webhook_delivery_lag_seconds", Histogram, &[][..]),
        ("sparta_scheduler_jobs_prepared_total", Counter, &[][..]),
        ("sparta_reconciler_actions_total", Counter, &["action"][..]),
    ] {
        assert_family(&worker, name, kind, labels);
    }

    // The API: exactly four submissions, two per kind, and the refused scrapes.
    let moved = |name: &str, labels: &[(&str, &str)]| {
        value(&api, name, labels) - value(&before, name, labels)
    };
    let post = [("route", "/v1/jobs"), ("method", "POST")];
    assert_eq!(
        moved(
            "sparta_http_requests_total",
            &[post[0], post[1], ("status", "202")]
        ),
        4.0
    );
    assert_eq!(moved("sparta_http_request_duration_seconds", &post), 4.0);
    let metrics_route = [("route", "/metrics"), ("method", "GET")];
    for status in ["401", "403"] {
        assert_eq!(
            value(
                &api,
                "sparta_http_requests_total",
                &[metrics_route[0], metrics_route[1], ("status", status)]
            ),
            1.0,
            "/metrics answered {status}"
        );
    }
    for kind in ["nutrition", "split"] {
        assert_eq!(
            moved("sparta_jobs_submitted_total", &[("kind", kind)]),
            2.0,
            "{kind}"
        );
    }

    // The worker: two attempts of each kind, all succeeded.
    for kind in ["nutrition", "split"] {
        let k = ("kind", kind);
        assert_eq!(
            value(&worker, "sparta_jobs_started_total", &[k]),
            2.0,
            "{kind}"
        );
        assert_eq!(
            value(
                &worker,
                "sparta_jobs_finished_total",
                &[k, ("outcome", "succeeded")]
            ),
            2.0,
            "{kind}"
        );
        assert_eq!(
            value(&worker, "sparta_job_wait_seconds", &[k]),
            2.0,
            "{kind}"
        );
        assert_eq!(
            value(&worker, "sparta_job_run_seconds", &[k]),
            2.0,
            "{kind}"
        );
    }
    let attempts = |provider: &str, model: &str, outcome: &str| {
        value(
            &worker,
            "sparta_llm_attempts_total",
            &[
                ("provider", provider),
                ("model", model),
                ("outcome", outcome),
            ],
        )
    };
    assert_eq!(attempts("openai", "good", "succeeded"), 1.0);
    assert_eq!(attempts("openai", "good", "cache_hit"), 1.0);
    assert_eq!(attempts("openai", "down", "provider_error"), 1.0);
    assert_eq!(attempts("openai", "down", "skipped_open_circuit"), 1.0);
    assert_eq!(attempts("builtin", "builtin", "succeeded"), 2.0);
    let good = [("provider", "openai"), ("model", "good")];
    let down = [("provider", "openai"), ("model", "down")];
    assert_eq!(
        value(&worker, "sparta_llm_attempt_duration_seconds", &good),
        1.0
    );
    assert_eq!(
        value(&worker, "sparta_llm_attempt_duration_seconds", &down),
        1.0
    );
    assert_eq!(
        value(&worker, "sparta_llm_input_tokens_total", &good),
        400.0
    );
    assert_eq!(
        value(&worker, "sparta_llm_output_tokens_total", &good),
        150.0
    );
    // 400 tokens at $1 and 150 at $2 per million: $0.0007.
    assert_eq!(
        value(&worker, "sparta_llm_cost_microusd_total", &good),
        700.0
    );
    assert_eq!(
        value(&worker, "sparta_llm_breaker_state", &[("model", "down")]),
        2.0
    );
    assert_eq!(
        value(&worker, "sparta_llm_breaker_state", &[("model", "good")]),
        0.0
    );
    assert_eq!(
        value(
            &worker,
            "sparta_llm_breaker_transitions_total",
            &[("model", "down"), ("to", "open")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &worker,
            "sparta_llm_cache_lookups_total",
            &[("result", "hit")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &worker,
            "sparta_llm_cache_lookups_total",
            &[("result", "miss")]
        ),
        3.0
    );
    assert_eq!(
        value(&worker, "sparta_webhook_delivery_lag_seconds", &[]),
        1.0,
        "one delivery's lag"
    );
    assert_eq!(
        value(&worker, "sparta_scheduler_jobs_prepared_total", &[]),
        0.0
    );

    // The console's activity: what the worker counted for /metrics, written to the store every
    // 200 ms and read there by the API process (which runs no job), exactly.
    let activity = activity_written(&settings.database_url, |a| {
        a.ended(JobEnd::Succeeded) >= 4 && a.models.get("good").is_some_and(|g| g.cost_microusd > 0)
    })
    .await;
    for kind in [JobKind::Nutrition, JobKind::Split] {
        let k = &activity.kinds[&kind];
        assert_eq!(k.started, 2, "{kind:?}");
        assert_eq!(k.ended.get(&JobEnd::Succeeded), Some(&2), "{kind:?}");
        assert_eq!((k.wait.count(), k.run.count()), (2, 2), "{kind:?}");
    }
    let good = &activity.models["good"];
    assert_eq!(good.attempts.get("succeeded"), Some(&1));
    assert_eq!(good.attempts.get("cache_hit"), Some(&1));
    assert_eq!(good.latency.count(), 1);
    assert_eq!(
        (good.input_tokens, good.output_tokens, good.cost_microusd),
        (400, 150, 700)
    );
    let down = &activity.models["down"];
    assert_eq!(down.attempts.get("provider_error"), Some(&1));
    assert_eq!(down.attempts.get("skipped_open_circuit"), Some(&1));
    assert_eq!(
        activity.models["builtin"].attempts.get("succeeded"),
        Some(&2)
    );
    assert_eq!((activity.cache_hits, activity.cache_misses), (1, 3));
    // The console of the API process shows them: the providers page and the overview.
    let console = crate::console::signed_in(&client.base, &token).await;
    let providers = console.page("/console/providers").await;
    for figure in [
        "<td class=\"num\">400</td><td class=\"num\">150</td><td class=\"num\">$0.0007</td>",
        "provider_error: 1, skipped_open_circuit: 1",
        "<td class=\"num\">50.0 %</td>",
        "Tokens per day by model",
    ] {
        assert!(providers.contains(figure), "{figure} not in {providers}");
    }
    let overview = console.page("/console/overview").await;
    let row = overview
        .split("<th scope=\"row\">nutrition</th>")
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .expect("the nutrition row");
    let cells: Vec<&str> = row
        .split("<td class=\"num\">")
        .skip(1)
        .map(|cell| cell.split('<').next().unwrap_or(""))
        .collect();
    // Queued, running (the cached depth), then succeeded, dead, retried and four times.
    assert_eq!(cells.len(), 9, "{row}");
    assert_eq!(&cells[2..5], &["2", "0", "0"], "{row}");
    assert!(cells[5..].iter().all(|t| t.ends_with('s')), "{row}");
    assert!(overview.contains("role=\"img\" aria-label=\"Jobs finished per second"));

    // Once the jobs are done, the queue depth reads 0 again (refreshed within a second).
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let now = scrape(&api_metrics, Some(&token)).await;
        let queued = value(
            &now,
            "sparta_queue_jobs",
            &[("kind", "nutrition"), ("status", "queued")],
        );
        if queued == 0.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "queue depth stays {queued}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Readiness: each process answers for its own dependencies; the worker lists its models'
    // breakers (the failing model's open), the API-only process none.
    let (status, body) = fetch(
        &format!("http://127.0.0.1:{}/readyz", ports.worker_metrics),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let ready: Value = serde_json::from_str(&body).expect("readiness JSON");
    assert_eq!(ready["store"], "ok", "{body}");
    assert_eq!(ready["queue"], "ok", "{body}");
    let breaker = |model: &str| {
        ready["llm"]
            .as_array()
            .and_then(|models| models.iter().find(|m| m["model"] == model))
            .map(|m| m["breaker"].clone())
    };
    assert_eq!(breaker("down"), Some(json!("open")), "{body}");
    assert_eq!(breaker("good"), Some(json!("closed")), "{body}");
    assert_eq!(breaker("builtin"), Some(json!("closed")), "{body}");
    let api_ready = client.get("/readyz").await;
    assert_eq!(api_ready.status, 200, "{}", api_ready.body);
    assert_eq!(api_ready.first()["llm"], json!([]), "{}", api_ready.body);

    // The shipped dashboard and alert rules name only families that exist.
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    for file in ["grafana/sparta-dashboard.json", "prometheus/alerts.yml"] {
        let text = std::fs::read_to_string(deploy.join(file)).expect("deploy file");
        let mut named = 0;
        for (at, _) in text.match_indices("sparta_") {
            let name: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name == "sparta_" {
                continue;
            }
            let family_name = name.strip_suffix("_bucket").unwrap_or(&name);
            assert!(
                family(&api, family_name).is_some() || family(&worker, family_name).is_some(),
                "{file} names {name}, which no process exposes"
            );
            named += 1;
        }
        assert!(named > 5, "{file} names {named} metrics");
    }
    // The operator forces the good model's breaker open: every worker skips it (within a
    // reconciliation tick) until the override is lifted; the engine can never be forced open.
    let operator = |request: reqwest::RequestBuilder| request.bearer_auth(&token);
    let http = reqwest::Client::new();
    let breakers = format!("{}/v1/admin/breakers", client.base);
    let refused = operator(http.put(format!("{breakers}/builtin")))
        .json(&json!({"state": "open"}))
        .send()
        .await
        .expect("put");
    assert_eq!(refused.status(), 400);
    let forced = operator(http.put(format!("{breakers}/good")))
        .json(&json!({"state": "open", "reason": "provider incident"}))
        .send()
        .await
        .expect("put");
    assert_eq!(forced.status(), 200);
    let readyz = format!("http://127.0.0.1:{}/readyz", ports.worker_metrics);
    let good_breaker = |body: &str| {
        let ready: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        ready["llm"]
            .as_array()
            .and_then(|models| models.iter().find(|m| m["model"] == "good"))
            .map(|m| m["breaker"].as_str().unwrap_or("").to_owned())
    };
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while good_breaker(&fetch(&readyz, None).await.1).as_deref() != Some("open") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the override never reached the worker"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let skipped = client.submit_ok(&nutrition(74.0)).await;
    let job = client.wait_terminal(&skipped).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["provider"], "builtin", "{job}");
    assert_eq!(job["trace"][0]["model"], "good", "{job}");
    assert_eq!(job["trace"][0]["outcome"], "skipped_open_circuit", "{job}");
    let listed: Value = operator(http.get(&breakers))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(listed["data"][0]["model"], "good", "{listed}");
    assert_eq!(listed["data"][0]["reason"], "provider incident", "{listed}");
    let lifted = operator(http.delete(format!("{breakers}/good")))
        .send()
        .await
        .expect("delete");
    assert_eq!(lifted.status(), 200);
    while good_breaker(&fetch(&readyz, None).await.1).as_deref() != Some("closed") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lifted override stayed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    report!(
        "metrics: API and worker scraped and parsed; {} API families, {} worker families",
        api.families.len(),
        worker.families.len()
    );
}
