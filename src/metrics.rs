//! The process's Prometheus recorder: installed once (tests start several services in one
//! process and share it), with every family described and the histogram buckets set.

use std::sync::Mutex;

use anyhow::Context as _;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Buckets of every `_seconds` histogram: 1 ms to 5 min, covering an HTTP answer, an LLM call
/// and a job's wait in a backlog.
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0,
];

/// The process's recorder, installed on the first call.
pub(crate) fn recorder() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: Mutex<Option<PrometheusHandle>> = Mutex::new(None);
    let mut slot = HANDLE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(handle) = slot.as_ref() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
        .context("histogram buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    sparta_api::metrics::describe();
    sparta_worker::metrics::describe();
    sparta_ai::metrics::describe();
    // The exporter keeps histogram samples until they are rendered: render now and then so a
    // process nobody scrapes does not grow.
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        })
        .context("starting the metrics upkeep thread")?;
    *slot = Some(handle.clone());
    Ok(handle)
}
