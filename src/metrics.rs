//! The process's metrics recorder: installed once (tests start several services in one
//! process and share it), a fan-out to the Prometheus recorder (every family described, the
//! histogram buckets set) and to the [`ActivityRecorder`], which keeps what the console shows
//! until a worker writes it to the store.

use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_util::layers::FanoutBuilder;
use sparta_worker::activity::{ActivityLedger, ActivityRecorder};

/// Buckets of every `_seconds` histogram: 1 ms to 5 min, covering an HTTP answer, an LLM call
/// and a job's wait in a backlog.
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0,
];

/// What the process's recorder feeds: the Prometheus exposition and the activity ledger.
#[derive(Clone)]
pub(crate) struct Recorded {
    /// Renders `/metrics`.
    pub(crate) prometheus: PrometheusHandle,
    /// What a worker writes to the store for the console.
    pub(crate) activity: Arc<ActivityLedger>,
}

/// The process's recorder, installed on the first call.
pub(crate) fn recorder() -> anyhow::Result<Recorded> {
    static RECORDED: Mutex<Option<Recorded>> = Mutex::new(None);
    let mut slot = RECORDED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(recorded) = slot.as_ref() {
        return Ok(recorded.clone());
    }
    let prometheus = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
        .context("histogram buckets")?
        .build_recorder();
    let handle = prometheus.handle();
    let activity = Arc::new(ActivityLedger::default());
    let fanout = FanoutBuilder::default()
        .add_recorder(prometheus)
        .add_recorder(ActivityRecorder::new(activity.clone()))
        .build();
    metrics::set_global_recorder(fanout).map_err(|_| {
        anyhow::anyhow!("installing the metrics recorder: one is installed already")
    })?;
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
    let recorded = Recorded {
        prometheus: handle,
        activity,
    };
    *slot = Some(recorded.clone());
    Ok(recorded)
}
