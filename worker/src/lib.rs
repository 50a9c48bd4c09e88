//! `sparta-worker`: the processes that run jobs.
//!
//! A [`Worker`] runs an apalis worker whose backend hands it jobs claimed through SPARTA's
//! queue (claimed for its free slots, and in a backlog of quick jobs a claim's round trip ahead
//! of them), runs each through the [`Executor`] (the AI orchestrator over the coach's job kinds,
//! within the tenant's LLM budget: each priced model's worst case reserved before, the spend
//! settled after), keeps its jobs' leases alive with one heartbeat statement naming them, and
//! writes results fenced on each lease, many in one statement.
//! Every worker process also runs the reconciler, which brings back jobs whose worker died or
//! whose queue message was lost, the webhook [`Deliverer`] and the motivation [`Scheduler`].
//! [`metrics`] counts what they do for Prometheus (jobs started and finished with their wait
//! and run time, webhook deliveries and their lag, prepared jobs, reconciler recoveries);
//! [`activity`] keeps the part of them the console shows, per minute and day, in the store.

pub mod activity;
mod error;
mod executor;
mod intake;
mod leases;
pub mod metrics;
mod results;
mod scheduler;
mod webhooks;
mod worker;

pub use error::WorkerError;
pub use executor::{Executor, ExecutorConfig, KindPlan};
pub use scheduler::{Pass, Scheduler, SchedulerConfig};
pub use webhooks::{Deliverer, DeliveryConfig};
pub use worker::{Worker, WorkerConfig};
