//! `sparta-jobs`: the job model and state machine (DESIGN §3), the durable store with a
//! Postgres and an SQLite implementation, and the queues that hand job ids to workers
//! (Redis Streams in distributed mode, the store itself in embedded mode).
//!
//! The store is the source of truth; queue messages carry only job ids, and every state change
//! is one conditional statement in the store, fenced on the worker's lease. The hot path's
//! statements take many rows at once (inserts, claims, results, lease renewals; written once
//! for both stores in `store/batch.rs`), each row still judged on its own; [`submit`] is the
//! one way jobs enter (one insert, then one announcement). Every store trait (jobs, keys,
//! budgets, webhook outbox, schedules, …) is written once as well, one macro body each expanded
//! for both stores, which differ there only through the store's `Backend` seam (pools, how an
//! instant is bound, row locks, how a change is published); `store/pg.rs` and `store/sqlite.rs`
//! keep how each connects and the three hot-path statements whose SQL differs as a whole.
//!
//! Also here because the API and the workers share them: [`destination`] (where a webhook may
//! go, checked at submit and again at connection), [`change_feed`] (job changes for streams and
//! long polls, and the auth epoch that empties key caches, across processes through Postgres
//! `LISTEN/NOTIFY`), [`secrets`] (webhook signing secrets sealed at rest), API keys and the
//! operator's token (shown once, stored as hashes; several named, revocable, expiring keys per
//! tenant and disabled tenants in [`store::keys`]), tenants' verifiers of athlete tokens
//! ([`jwt_verifier`], stored in [`store::jwt_verifiers`]), tenants' LLM budgets with the
//! reservations and spend that hold them ([`store::budgets`]) and [`trace_context`] (the W3C trace
//! context a job carries from the request that created it to its execution and webhooks) and
//! [`activity`] (what the workers did per minute and per day — throughput, wait and run times,
//! each model's attempts, latency, tokens and spend — kept in [`store::activity`] for the
//! console of any process). A job's input and output travel as their JSON text ([`JsonText`]),
//! parsed into their kind's types only where they are checked, run or produced. [`gather`]
//! takes a batch from a channel within a short linger (the worker's result writes, the job
//! change notifications).

pub mod activity;
mod api_key;
pub mod change_feed;
mod connect;
pub mod destination;
mod error;
mod gather;
mod json_text;
pub mod jwt_verifier;
pub mod model;
pub mod motivation;
pub mod outbox;
pub mod queue;
pub mod secrets;
pub mod store;
pub mod submit;
pub mod trace_context;
pub mod view;
mod webhook_signature;

pub use api_key::{ApiKey, ApiKeyHash, OperatorToken, OperatorTokenHash};
pub use connect::{Backends, BackendsConfig, connect};
pub use error::JobsError;
pub use gather::gather;
pub use json_text::JsonText;
pub use model::*;
pub use queue::{Delivery, JobQueue, Reconciled, RedisQueue, RedisQueueConfig, StoreQueue};
pub use store::{
    ActivityStore, JobStore, MotivationStore, PgStore, QueueDepth, SqliteStore, WebhookOutbox,
};
pub use webhook_signature::{WebhookSecret, signature_header};
