//! Server-side request forgery end to end: the common published payloads (encoded, decimal,
//! octal, hex and short IPv4 forms, IPv6 forms embedding loopback, user-info and backslash
//! tricks, percent-encoded and Unicode hosts, trailing dots, `localhost` spellings, cloud
//! metadata, names that resolve to loopback, other schemes, a redirect) while a TCP listener on
//! loopback counts the connections it accepts: none may reach it. Every payload is either
//! refused at submit (400 at `webhook_url`, nothing stored) or accepted and refused where its
//! name is resolved (given up after one attempt, "destination not allowed"), or its name does
//! not resolve ("destination could not be resolved"); no recorded error names an address.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use sparta::{Roles, Settings};
use tokio::time::Instant;

use crate::harness::*;

/// A TCP listener that accepts connections, counts them, holds them open and never answers;
/// it also tracks how many are open at once (a client gone closes its connection).
pub struct Listener {
    pub port: u16,
    counts: Arc<Counts>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Counts {
    accepted: AtomicUsize,
    open: AtomicUsize,
    max_open: AtomicUsize,
}

impl Listener {
    /// Binds `host:port` (0 for any free port); `None` when the address cannot be bound.
    pub async fn bind(host: &str, port: u16) -> Option<Self> {
        use tokio::io::AsyncReadExt as _;
        let listener = tokio::net::TcpListener::bind((host, port)).await.ok()?;
        let port = listener.local_addr().ok()?.port();
        let counts = Arc::new(Counts::default());
        let shared = counts.clone();
        let task = tokio::spawn(async move {
            // Dropped with this task (on abort), so every held connection closes with it.
            let mut held = tokio::task::JoinSet::new();
            while let Ok((mut socket, _)) = listener.accept().await {
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                let open = shared.open.fetch_add(1, Ordering::SeqCst) + 1;
                shared.max_open.fetch_max(open, Ordering::SeqCst);
                let shared = shared.clone();
                held.spawn(async move {
                    let mut buf = [0u8; 4096];
                    while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
                    shared.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Some(Self { port, counts, task })
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.counts.accepted.load(Ordering::SeqCst)
    }

    /// The most connections open at once so far.
    pub fn max_open(&self) -> usize {
        self.counts.max_open.load(Ordering::SeqCst)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An HTTP server on `127.0.0.2` answering every request `302 Location: {location}`.
async fn redirector(location: String) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0")
        .await
        .expect("bind 127.0.0.2");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().fallback(move || {
        let location = location.clone();
        async move {
            (
                axum::http::StatusCode::FOUND,
                [("location", location)],
                "moved",
            )
        }
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/redirect"), task)
}

/// What the published lists try, `{P}` standing for the listener's port.
const PAYLOADS: &[&str] = &[
    "http://127.0.0.1:{P}/",
    "http://127.0.0.1.:{P}/",
    "http://localhost:{P}/",
    "http://LOCALHOST:{P}/",
    "http://localhost.:{P}/",
    "http://LocalHost.:{P}/",
    "http://hooks.localhost:{P}/",
    "http://2130706433:{P}/",
    "http://0x7f000001:{P}/",
    "http://0x7f.0x0.0x0.0x1:{P}/",
    "http://0177.0.0.1:{P}/",
    "http://017700000001:{P}/",
    "http://0177.1:{P}/",
    "http://127.1:{P}/",
    "http://127.0.1:{P}/",
    "http://0:{P}/",
    "http://0.0.0.0:{P}/",
    "http://[::]:{P}/",
    "http://[::1]:{P}/",
    "http://[0:0:0:0:0:0:0:1]:{P}/",
    "http://[::127.0.0.1]:{P}/",
    "http://[::ffff:127.0.0.1]:{P}/",
    "http://[::ffff:7f00:1]:{P}/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]:{P}/",
    "http://[2002:7f00:1::]:{P}/",
    "http://[64:ff9b::7f00:1]:{P}/",
    "http://[64:ff9b::127.0.0.1]:{P}/",
    "http://[::1%25lo]:{P}/",
    "http://[fe80::1]:{P}/",
    "http://[fc00::1]:{P}/",
    "http://127.0.0.1:{P}\\@8.8.8.8/x",
    "http://8.8.8.8\\@127.0.0.1:{P}/x",
    "http://8.8.8.8@127.0.0.1:{P}/",
    "http://user:pass@127.0.0.1:{P}/",
    "http://8.8.8.8:80@127.0.0.1:{P}/",
    "http://127.0.0.1:{P}#@8.8.8.8",
    "http://127.0.0.1:{P}?@8.8.8.8/",
    "http://%31%32%37.0.0.1:{P}/",
    "http://%6c%6f%63%61%6c%68%6f%73%74:{P}/",
    "http://\u{2460}\u{2461}\u{2466}.0.0.1:{P}/",
    "http://127\u{3002}0\u{3002}0\u{3002}1:{P}/",
    "http:127.0.0.1:{P}/",
    "http:/127.0.0.1:{P}/",
    "http:\\\\127.0.0.1:{P}/",
    "http://127.0.0.1 :{P}/",
    "http://127.0.0.1:{P}\t/",
    "http://127.0.0.1:22/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.0.1/",
    "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata.sparta-test.invalid:{P}/",
    "gopher://127.0.0.1:{P}/_GET%20/",
    "dict://127.0.0.1:{P}/info",
    "ftp://127.0.0.1:{P}/",
    "file:///etc/passwd",
];

/// How a payload ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Fate {
    /// 400 at `webhook_url`, nothing stored.
    RefusedAtSubmit,
    /// Accepted; given up after one attempt, "destination not allowed".
    RefusedAtConnection,
    /// Accepted; its name did not resolve (retried, never anything else recorded).
    Unresolvable,
    /// Accepted; the receiver's redirect was recorded as an answer and not followed.
    RedirectNotFollowed,
}

async fn job_count(client: &Client) -> usize {
    let reply = client.get("/v1/jobs?limit=100").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["data"].as_array().expect("data").len()
}

/// The job's one delivery record once it is final (delivered or failed).
async fn final_delivery(client: &Client, job: &str) -> Value {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let reply = client.get(&format!("/v1/jobs/{job}/deliveries")).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let listed = reply.body["data"].as_array().expect("data").clone();
        if listed.len() == 1 && listed[0]["status"] != "pending" {
            return listed[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "job {job}'s webhook is still pending: {listed:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Names `/etc/hosts` maps to a loopback address (e.g. `localhost`, the host's own name).
fn loopback_names_from_hosts() -> Vec<String> {
    let text = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let Some(address) = fields.next() else {
            continue;
        };
        let Ok(ip) = address.parse::<std::net::IpAddr>() else {
            continue;
        };
        if ip.is_loopback() {
            names.extend(fields.map(str::to_owned));
        }
    }
    names.sort();
    names.dedup();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssrf_payloads_never_reach_the_internal_network_embedded() {
    let dir = TempDir::new();
    payloads_never_reach_the_internal_network("embedded", embedded_settings(&dir)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssrf_payloads_never_reach_the_internal_network_distributed() {
    let settings = distributed_settings(&redis_url()).await;
    payloads_never_reach_the_internal_network("distributed", settings).await;
}

async fn payloads_never_reach_the_internal_network(mode: &str, mut settings: Settings) {
    // Loopback is NOT allowed; only the redirecting receiver's own address is.
    settings.webhooks.allow_networks = vec!["127.0.0.2/32".into()];
    settings.webhooks.retry_schedule_ms = vec![0, 100, 200];
    settings.webhooks.poll_ms = 50;
    settings.webhooks.timeout_ms = 2_000;
    settings.webhooks.connect_timeout_ms = 1_000;

    let v4 = Listener::bind("127.0.0.1", 0)
        .await
        .expect("bind 127.0.0.1");
    let port = v4.port;
    let v6 = Listener::bind("::1", port).await;
    let (redirect_url, redirect_task) = redirector(format!("http://127.0.0.1:{port}/")).await;

    let service = start(&settings, Roles::ALL).await;
    let key = create_tenant(&*service.backends().store, "acme").await;
    let client = Client::new(&service, &key);

    let mut payloads: Vec<String> = PAYLOADS
        .iter()
        .map(|p| p.replace("{P}", &port.to_string()))
        .collect();
    for name in loopback_names_from_hosts() {
        payloads.push(format!("http://{name}:{port}/hook"));
    }
    payloads.push(redirect_url.clone());

    let mut accepted = Vec::new();
    let mut fates: Vec<(String, Fate)> = Vec::new();
    for (n, payload) in payloads.iter().enumerate() {
        let before = job_count(&client).await;
        let mut body = nutrition(50.0 + n as f64);
        body["webhook_url"] = json!(payload);
        let reply = client.submit(&body).await;
        match reply.status {
            202 => {
                let id = reply.first()["id"].as_str().expect("id").to_owned();
                accepted.push((payload.clone(), id));
            }
            400 => {
                assert_eq!(
                    reply.error_field(),
                    "webhook_url",
                    "{payload}: {}",
                    reply.body
                );
                assert_eq!(
                    job_count(&client).await,
                    before,
                    "{payload}: nothing stored"
                );
                fates.push((payload.clone(), Fate::RefusedAtSubmit));
            }
            other => panic!("{payload}: unexpected {other}: {}", reply.body),
        }
    }
    for (payload, job) in &accepted {
        let record = final_delivery(&client, job).await;
        let attempts = record["attempts"].as_array().expect("attempts");
        let errors: Vec<&str> = attempts
            .iter()
            .map(|a| a["error"].as_str().unwrap_or_default())
            .collect();
        for error in &errors {
            assert!(
                !error.contains("127.") && !error.contains("::1") && !error.contains("resolve '"),
                "{payload}: a recorded error names an address or echoes the resolver: {error}"
            );
        }
        let fate = if *payload == redirect_url {
            assert!(
                attempts.iter().all(|a| a["status_code"] == 302),
                "{payload}: {record}"
            );
            assert!(
                errors.iter().all(|e| *e == "the receiver answered 302"),
                "{errors:?}"
            );
            Fate::RedirectNotFollowed
        } else if errors.first() == Some(&"destination could not be resolved") {
            assert!(
                errors
                    .iter()
                    .all(|e| *e == "destination could not be resolved"),
                "{payload}: {errors:?}"
            );
            Fate::Unresolvable
        } else {
            assert_eq!(record["status"], "failed", "{payload}: {record}");
            assert_eq!(
                errors,
                ["destination not allowed"],
                "{payload}: given up after exactly one attempt: {record}"
            );
            assert!(attempts[0]["status_code"].is_null());
            Fate::RefusedAtConnection
        };
        fates.push((payload.clone(), fate));
    }
    assert_eq!(
        job_count(&client).await,
        accepted.len(),
        "only the accepted payloads were stored"
    );
    let v6_accepted = v6.as_ref().map(Listener::accepted);
    let mut counts: BTreeMap<Fate, usize> = BTreeMap::new();
    for (payload, fate) in &fates {
        report!("ssrf {mode:<11} {:<22} {payload:?}", format!("{fate:?}"));
        *counts.entry(*fate).or_default() += 1;
    }
    report!(
        "ssrf payloads ({mode}): {} in all; {counts:?}; connections accepted on 127.0.0.1:{port}: {}, \
         on [::1]:{port}: {}",
        fates.len(),
        v4.accepted(),
        v6_accepted.map_or("not bound".to_owned(), |n| n.to_string()),
    );
    assert!(fates.len() >= 40, "{} payloads", fates.len());
    assert_eq!(v4.accepted(), 0, "a payload reached 127.0.0.1:{port}");
    assert_eq!(
        v6_accepted.unwrap_or(0),
        0,
        "a payload reached [::1]:{port}"
    );
    // The names /etc/hosts maps to loopback pass the submit check (they are names) and are
    // refused where they resolve.
    for name in loopback_names_from_hosts() {
        if name == "localhost" || name.ends_with(".localhost") {
            continue;
        }
        let url = format!("http://{name}:{port}/hook");
        assert!(
            fates.contains(&(url.clone(), Fate::RefusedAtConnection)),
            "{url}: {fates:?}"
        );
    }
    redirect_task.abort();
    service.stop().await;
}
