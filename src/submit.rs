//! `sparta submit`: request bodies from files, folders or JSON lines on stdin, submitted to a
//! running API and waited for, with a progress bar (`indicatif`, drawn only on a terminal) and
//! a summary table per kind.
//!
//! A `.json` file is one request body; a `.jsonl` file (or stdin) holds one per line; a folder
//! contributes its `.json` and `.jsonl` files in name order. A body that cannot be read or is
//! refused by the API is reported with where it came from and the API's error, and the others
//! go on.

use std::collections::BTreeMap;
use std::io::{BufRead as _, Read as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt as _;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

/// Longest wait of one poll (the API's long-poll cap is 30 s by default).
const POLL_WAIT_SECS: u64 = 25;

/// One request body and where it came from (`file`, `file:line` or `stdin:line`).
struct Body {
    source: String,
    value: Result<Value, String>,
}

/// How one body ended.
struct Ended {
    source: String,
    kind: String,
    /// `succeeded`, `failed`, `cancelled` or `refused`.
    status: &'static str,
    /// Why, when it did not succeed.
    error: Option<String>,
    /// Submission to the end.
    took: Duration,
}

/// What `sparta submit` was asked.
pub struct SubmitArgs {
    /// The API's base URL.
    pub api: String,
    /// A tenant's API key.
    pub key: String,
    /// Bodies in flight at once.
    pub concurrency: usize,
    /// Files and folders; none or `-`: JSON lines on stdin.
    pub paths: Vec<PathBuf>,
}

/// Runs `sparta submit`: prints the summary table on stdout; an error when any body did not
/// succeed (after the table).
pub async fn run(args: SubmitArgs) -> anyhow::Result<()> {
    let bodies = read_bodies(&args.paths)?;
    if bodies.is_empty() {
        anyhow::bail!("no request bodies found");
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(POLL_WAIT_SECS + 15))
        .build()
        .context("building the HTTP client")?;
    let base = args.api.trim_end_matches('/').to_owned();
    let progress = ProgressBar::new(bodies.len() as u64);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {per_sec} {msg}",
        )
        .context("progress bar template")?,
    );
    let started = Instant::now();
    let counts = std::sync::Mutex::new(Counts::default());
    let ended: Vec<Ended> = futures::stream::iter(bodies)
        .map(|body| {
            let (http, base, key, progress, counts) = (&http, &base, &args.key, &progress, &counts);
            async move {
                let ended = submit_and_wait(http, base, key, body, counts, progress).await;
                if let Ok(mut c) = counts.lock() {
                    c.in_flight = c
                        .in_flight
                        .saturating_sub(usize::from(ended.status != "refused"));
                    match ended.status {
                        "succeeded" => c.succeeded += 1,
                        _ => c.failed += 1,
                    }
                    progress.set_message(c.line());
                }
                progress.inc(1);
                ended
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    progress.finish_and_clear();
    let table = summary(&ended, started.elapsed());
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, table.as_bytes()).context("writing to stdout")?;
    let unsuccessful = ended.iter().filter(|e| e.status != "succeeded").count();
    if unsuccessful > 0 {
        anyhow::bail!("{unsuccessful} of {} did not succeed", ended.len());
    }
    Ok(())
}

/// What the progress bar says besides the count.
#[derive(Default)]
struct Counts {
    succeeded: usize,
    failed: usize,
    in_flight: usize,
}

impl Counts {
    fn line(&self) -> String {
        format!(
            "done {} · failed {} · running {}",
            self.succeeded, self.failed, self.in_flight
        )
    }
}

/// Every body named by `paths` (stdin when none, or `-`).
fn read_bodies(paths: &[PathBuf]) -> anyhow::Result<Vec<Body>> {
    let mut bodies = Vec::new();
    if paths.is_empty() || paths.iter().any(|p| p.as_os_str() == "-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading stdin")?;
        lines("stdin", &text, &mut bodies);
    }
    for path in paths.iter().filter(|p| p.as_os_str() != "-") {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading {}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| matches!(extension(p), Some("json" | "jsonl")))
                .collect();
            files.sort();
            for file in files {
                read_file(&file, &mut bodies)?;
            }
        } else {
            read_file(path, &mut bodies)?;
        }
    }
    Ok(bodies)
}

fn extension(path: &Path) -> Option<&str> {
    path.extension().and_then(|e| e.to_str())
}

fn read_file(path: &Path, bodies: &mut Vec<Body>) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let source = path.display().to_string();
    if extension(path) == Some("jsonl") {
        lines(&source, &text, bodies);
    } else {
        bodies.push(Body {
            value: serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}")),
            source,
        });
    }
    Ok(())
}

/// One body per non-empty line.
fn lines(source: &str, text: &str, bodies: &mut Vec<Body>) {
    for (n, line) in std::io::Cursor::new(text).lines().enumerate() {
        let line = line.unwrap_or_default();
        if line.trim().is_empty() {
            continue;
        }
        bodies.push(Body {
            source: format!("{source}:{}", n + 1),
            value: serde_json::from_str(&line).map_err(|e| format!("not JSON: {e}")),
        });
    }
}

/// The first error of an API envelope, as `CODE field: message`.
fn envelope_error(body: &Value) -> String {
    let error = &body["errors"][0];
    let field = error["field"].as_str().filter(|f| !f.is_empty());
    format!(
        "{} {}{}",
        error["code"].as_str().unwrap_or("ERROR"),
        field.map(|f| format!("{f}: ")).unwrap_or_default(),
        error["message"].as_str().unwrap_or("(no message)")
    )
}

async fn submit_and_wait(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    body: Body,
    counts: &std::sync::Mutex<Counts>,
    progress: &ProgressBar,
) -> Ended {
    let started = Instant::now();
    let kind = body
        .value
        .as_ref()
        .ok()
        .and_then(|v| v["kind"].as_str())
        .unwrap_or("?")
        .to_owned();
    let refused = |error: String| Ended {
        source: body.source.clone(),
        kind: kind.clone(),
        status: "refused",
        error: Some(error),
        took: started.elapsed(),
    };
    let value = match &body.value {
        Ok(value) => value,
        Err(error) => return refused(error.clone()),
    };
    let reply = http
        .post(format!("{base}/v1/jobs"))
        .bearer_auth(key)
        .json(value)
        .send()
        .await;
    let (status, reply) = match reply {
        Ok(response) => (
            response.status(),
            response.json::<Value>().await.unwrap_or(Value::Null),
        ),
        Err(e) => return refused(format!("request failed: {e}")),
    };
    if !status.is_success() {
        return refused(format!("{}: {}", status.as_u16(), envelope_error(&reply)));
    }
    let Some(id) = reply["data"][0]["id"].as_str().map(str::to_owned) else {
        return refused("the API answered without a job id".into());
    };
    if let Ok(mut c) = counts.lock() {
        c.in_flight += 1;
        progress.set_message(c.line());
    }
    loop {
        let polled = http
            .get(format!("{base}/v1/jobs/{id}?wait={POLL_WAIT_SECS}"))
            .bearer_auth(key)
            .send()
            .await;
        let job = match polled {
            Ok(response) if response.status().is_success() => {
                response.json::<Value>().await.unwrap_or(Value::Null)["data"][0].clone()
            }
            Ok(response) if response.status().is_client_error() => {
                let status = response.status().as_u16();
                let reply = response.json::<Value>().await.unwrap_or(Value::Null);
                return Ended {
                    source: body.source,
                    kind,
                    status: "failed",
                    error: Some(format!("job {id}: {status}: {}", envelope_error(&reply))),
                    took: started.elapsed(),
                };
            }
            // A transient failure (a restarting API): poll again.
            _ => {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let status = match job["status"].as_str() {
            Some("succeeded") => "succeeded",
            Some("failed") => "failed",
            Some("cancelled") => "cancelled",
            _ => continue,
        };
        let error = (status != "succeeded").then(|| {
            format!(
                "job {id}: {} {}",
                job["error"]["code"].as_str().unwrap_or(status),
                job["error"]["message"].as_str().unwrap_or("")
            )
        });
        return Ended {
            source: body.source,
            kind,
            status,
            error,
            took: started.elapsed(),
        };
    }
}

/// The summary: one row per kind, then every body that did not succeed.
fn summary(ended: &[Ended], elapsed: Duration) -> String {
    #[derive(Default)]
    struct Row {
        total: usize,
        by_status: BTreeMap<&'static str, usize>,
        took: Vec<Duration>,
    }
    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    for e in ended {
        let row = rows.entry(e.kind.as_str()).or_default();
        row.total += 1;
        *row.by_status.entry(e.status).or_default() += 1;
        row.took.push(e.took);
    }
    let mut out = format!(
        "{:<20} {:>9} {:>9} {:>7} {:>9} {:>7} {:>9} {:>9}\n",
        "kind", "submitted", "succeeded", "failed", "cancelled", "refused", "p50 s", "max s"
    );
    for (kind, row) in &mut rows {
        row.took.sort();
        let p50 = row
            .took
            .get(row.took.len() / 2)
            .copied()
            .unwrap_or_default();
        let max = row.took.last().copied().unwrap_or_default();
        let n = |status: &str| row.by_status.get(status).copied().unwrap_or(0);
        out.push_str(&format!(
            "{:<20} {:>9} {:>9} {:>7} {:>9} {:>7} {:>9.3} {:>9.3}\n",
            kind,
            row.total - n("refused"),
            n("succeeded"),
            n("failed"),
            n("cancelled"),
            n("refused"),
            p50.as_secs_f64(),
            max.as_secs_f64()
        ));
    }
    let succeeded = ended.iter().filter(|e| e.status == "succeeded").count();
    out.push_str(&format!(
        "{succeeded} of {} succeeded in {:.1} s ({:.0} a second)\n",
        ended.len(),
        elapsed.as_secs_f64(),
        ended.len() as f64 / elapsed.as_secs_f64().max(1e-3)
    ));
    for e in ended.iter().filter(|e| e.status != "succeeded") {
        out.push_str(&format!(
            "{} {}: {}\n",
            e.status,
            e.source,
            e.error.as_deref().unwrap_or("")
        ));
    }
    out
}
