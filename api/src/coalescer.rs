//! Submits coalesced: the jobs of concurrent `POST /v1/jobs` requests share one INSERT (one
//! commit) and one pipelined announcement.
//!
//! A few writer tasks take turns at one channel: each takes everything that arrived while the
//! others were writing, up to a batch, and submits it through [`sparta_jobs::submit`]. Nothing
//! waits to fill a batch, so a lone request is written at once; under load a batch is whatever
//! arrived during the previous write. Every request still gets its answer only after its row is
//! committed (and an idempotency conflict is answered to its own request alone), and before the
//! batch is announced: the announcement is a Redis round trip the client need not wait for (a
//! lost one is made good by the reconciler, as for any announcement).

use std::sync::Arc;
use std::time::Duration;

use sparta_jobs::submit::{announce, store_jobs};
use sparta_jobs::{Inserted, JobQueue, JobStore, JobsError, NewJob};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::error::ApiError;

/// The most jobs one statement inserts.
const MAX_BATCH: usize = 256;
/// Batches written at once: while one commits, the next fills.
const WRITERS: usize = 2;

/// One request's job and where its answer goes.
struct Pending {
    job: NewJob,
    reply: oneshot::Sender<Result<Inserted, ApiError>>,
}

/// The handle submissions go through (cheap to clone).
#[derive(Clone)]
pub(crate) struct Coalescer {
    tx: mpsc::Sender<Pending>,
}

impl Coalescer {
    /// Starts the writer tasks on the current runtime; they end when every handle is dropped.
    pub(crate) fn start(
        store: Arc<dyn JobStore>,
        queue: Arc<dyn JobQueue>,
        announce_timeout: Duration,
    ) -> Self {
        let (tx, rx) = mpsc::channel(MAX_BATCH * WRITERS * 4);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..WRITERS {
            tokio::spawn(write_loop(
                rx.clone(),
                store.clone(),
                queue.clone(),
                announce_timeout,
            ));
        }
        Self { tx }
    }

    /// Stores `job` (with the jobs of concurrent requests) and announces it; answers once the
    /// row is committed.
    pub(crate) async fn submit(&self, job: NewJob) -> Result<Inserted, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Pending { job, reply })
            .await
            .map_err(|_| ApiError::Internal("the submission writers stopped".into()))?;
        answer
            .await
            .map_err(|_| ApiError::Internal("a submission writer stopped mid-batch".into()))?
    }
}

async fn write_loop(
    rx: Arc<Mutex<mpsc::Receiver<Pending>>>,
    store: Arc<dyn JobStore>,
    queue: Arc<dyn JobQueue>,
    announce_timeout: Duration,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        // Only the channel is held while waiting: the other writer's statement goes on.
        if rx.lock().await.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        let (jobs, replies): (Vec<NewJob>, Vec<_>) =
            batch.drain(..).map(|p| (p.job, p.reply)).unzip();
        match store_jobs(store.as_ref(), &jobs).await {
            Ok((answers, created)) => {
                for (answer, reply) in answers.into_iter().zip(replies) {
                    let _ = reply.send(answer.map_err(ApiError::from));
                }
                announce(queue.as_ref(), &created, announce_timeout).await;
            }
            Err(error) => {
                // The statement failed as a whole: every request of the batch gets its error.
                for reply in replies {
                    let _ = reply.send(Err(shared_error(&error)));
                }
            }
        }
    }
}

/// A statement's failure as each of its requests' answer.
fn shared_error(error: &JobsError) -> ApiError {
    if error.is_unavailable() {
        ApiError::Unavailable {
            detail: error.to_string(),
            details: serde_json::json!({}),
        }
    } else {
        ApiError::Internal(error.to_string())
    }
}
