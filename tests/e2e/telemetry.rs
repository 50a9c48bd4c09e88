//! OpenTelemetry traces from real processes: an API and a worker process export their spans over
//! OTLP/HTTP to a receiver started here, which decodes the protobuf (`opentelemetry-proto`).
//! One job is one trace: the request that created it (API), its execution (worker, a child of
//! that request through the `traceparent` stored with the job), one span per LLM attempt with
//! the GenAI semantic-convention attributes, the result write, and the webhook delivery, whose
//! request carries the trace in its `traceparent` header.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message as _;
use serde_json::json;

use crate::harness::*;
use crate::processes::{SpartaProcess, free_port};
use crate::receiver::Receiver;

/// A span as received: its service, name, ids (hex) and attributes (as text).
#[derive(Clone, Debug)]
struct Received {
    service: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent: String,
    attributes: Vec<(String, String)>,
}

impl Received {
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

async fn collect(State(spans): State<Arc<Mutex<Vec<Received>>>>, body: Bytes) -> &'static str {
    let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
    let mut spans = spans.lock().expect("lock");
    for resource in request.resource_spans {
        let service = resource
            .resource
            .iter()
            .flat_map(|r| r.attributes.iter())
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| match &v.value {
                Some(AnyValue::StringValue(s)) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for scope in resource.scope_spans {
            for span in scope.spans {
                let attributes = span
                    .attributes
                    .iter()
                    .map(|kv| {
                        let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                            Some(AnyValue::StringValue(s)) => s.clone(),
                            Some(AnyValue::IntValue(i)) => i.to_string(),
                            Some(AnyValue::BoolValue(b)) => b.to_string(),
                            Some(AnyValue::DoubleValue(d)) => d.to_string(),
                            _ => String::new(),
                        };
                        (kv.key.clone(), value)
                    })
                    .collect();
                spans.push(Received {
                    service: service.clone(),
                    name: span.name,
                    trace_id: hex::encode(span.trace_id),
                    span_id: hex::encode(span.span_id),
                    parent: hex::encode(span.parent_span_id),
                    attributes,
                });
            }
        }
    }
    ""
}

async fn serve(app: axum::Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_one_trace_across_the_api_and_the_worker() {
    let spans: Arc<Mutex<Vec<Received>>> = Arc::default();
    let collector = serve(
        axum::Router::new()
            .route("/v1/traces", axum::routing::post(collect))
            .with_state(spans.clone()),
    )
    .await;
    let llm_port = serve(axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(crate::metrics::llm),
    ))
    .await;
    let receiver = Receiver::start().await;

    let dir = TempDir::new();
    let settings = distributed_settings(&redis_url()).await;
    let api_port = free_port();
    let config = dir.0.join("sparta.toml");
    std::fs::write(
        &config,
        format!(
            r#"listen = "127.0.0.1:{api_port}"
database_url = "{database}"
redis_url = "{redis}"

[log]
level = "error"

[api]
rate_per_key_per_sec = 0

[worker]
reconcile_every_ms = 200

[queue]
namespace = "{namespace}"

[webhooks]
allow_networks = ["127.0.0.0/8"]
poll_ms = 50

[secrets]
key = "{TEST_SECRETS_KEY}"

[scheduler]
enabled = false

[telemetry]
otlp_endpoint = "http://127.0.0.1:{collector}"
export_every_ms = 100

[ai.kinds.nutrition]
chain = ["good", "builtin"]

[ai.models.good]
base_url = "http://127.0.0.1:{llm_port}/v1"
model = "good"
"#,
            database = settings.database_url,
            redis = settings.redis_url.as_deref().expect("redis"),
            namespace = settings.queue.namespace,
        ),
    )
    .expect("config");
    let (key, _) = crate::faults::create_tenant_with_cli(&config, "acme");
    let _api = SpartaProcess::start("api", &config);
    let _worker = SpartaProcess::start("worker", &config);
    let client = Client {
        http: reqwest::Client::new(),
        base: format!("http://127.0.0.1:{api_port}"),
        key,
    };
    crate::faults::api_ready(&client).await;

    let mut body = nutrition(72.0);
    body["webhook_url"] = json!(receiver.url("/hooks"));
    let id = client.submit_ok(&body).await;
    assert_eq!(client.wait_terminal(&id).await["status"], "succeeded");

    // Every span of the job's trace, exported within a few batches.
    let named = |spans: &[Received], service: &str, name: &str| {
        spans
            .iter()
            .find(|s| s.service == service && s.name == name)
            .cloned()
    };
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let (request, job, chat, write, delivery) = loop {
        let now = spans.lock().expect("lock").clone();
        let job = now
            .iter()
            .find(|s| s.name == "job" && s.attribute("job_id") == Some(id.as_str()))
            .cloned();
        if let Some(job) = job {
            let in_trace: Vec<Received> = now
                .into_iter()
                .filter(|s| s.trace_id == job.trace_id)
                .collect();
            if let (Some(request), Some(chat), Some(write), Some(delivery)) = (
                named(&in_trace, "sparta-api", "request"),
                named(&in_trace, "sparta-worker", "chat good"),
                named(&in_trace, "sparta-worker", "job.result_write"),
                named(&in_trace, "sparta-worker", "webhook.deliver"),
            ) {
                break (request, job, chat, write, delivery);
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "spans received: {:?}",
            spans
                .lock()
                .expect("lock")
                .iter()
                .map(|s| (&s.service, &s.name))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // The worker's execution is a child of the API's request, in another process.
    assert_eq!(job.service, "sparta-worker");
    assert_eq!(
        job.parent, request.span_id,
        "job {job:?} request {request:?}"
    );
    assert_eq!(request.attribute("method"), Some("POST"));
    // The LLM attempt, with the GenAI semantic conventions.
    assert_eq!(chat.parent, job.span_id);
    assert_eq!(chat.attribute("gen_ai.operation.name"), Some("chat"));
    assert_eq!(chat.attribute("gen_ai.provider.name"), Some("openai"));
    assert_eq!(chat.attribute("gen_ai.request.model"), Some("good"));
    assert_eq!(chat.attribute("gen_ai.usage.input_tokens"), Some("400"));
    assert_eq!(chat.attribute("gen_ai.usage.output_tokens"), Some("150"));
    assert_eq!(chat.attribute("sparta.outcome"), Some("succeeded"));
    assert_eq!(write.parent, job.span_id);
    // The webhook delivery continues the trace and sends it on.
    assert_eq!(delivery.trace_id, request.trace_id);
    let sent = receiver.requests();
    let header = &sent.first().expect("a delivery").traceparent;
    assert!(
        header.starts_with(&format!("00-{}-", request.trace_id)),
        "traceparent {header:?}"
    );
    report!(
        "telemetry: one trace {} across sparta-api and sparta-worker: request → job → chat good \
         (400/150 tokens) → result write → webhook delivery",
        request.trace_id
    );
}
