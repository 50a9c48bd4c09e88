//! The request context: what every handler and extractor reads (the public [`ApiState`] plus the
//! caches, limiters and precomputed answers), in a module of its own so that handlers depend on
//! it and not on the assembly in `app`.

use std::ops::Deref;
use std::sync::Arc;

use crate::ApiState;
use crate::coalescer::Coalescer;
use crate::kinds::KindView;
use crate::limits::{RateLimiter, StreamSlots, TenantCache, TenantCounts};

/// What handlers share: the public state plus the caches and precomputed answers.
#[derive(Clone)]
pub(crate) struct AppCtx(Arc<Shared>);

impl AppCtx {
    /// The context over `shared`.
    pub(crate) fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

/// The inside of [`AppCtx`].
pub(crate) struct Shared {
    /// Store, queue, configuration.
    pub api: ApiState,
    /// Verified API keys.
    pub tenants: TenantCache,
    /// Queued counts for the per-tenant cap.
    pub queued: TenantCounts,
    /// Motivation subscriptions for the per-tenant cap.
    pub subscriptions: TenantCounts,
    /// Per-key request rate.
    pub rate: RateLimiter,
    /// Per-athlete request rate (athlete tokens).
    pub athlete_rate: RateLimiter<(sparta_jobs::TenantId, sparta_jobs::AthleteKey)>,
    /// Verifies athlete tokens, with the verifiers and keys it looked up.
    pub athlete_tokens: crate::athlete_token::AthleteTokens,
    /// Failed authentications per client address.
    pub failed_auth: RateLimiter<std::net::IpAddr>,
    /// The `/v1/kinds` answer (schemas are static).
    pub kinds: Vec<KindView>,
    /// Open event streams and long polls per tenant.
    pub streams: StreamSlots,
    /// Single submissions, inserted and announced together with concurrent ones.
    pub submits: Coalescer,
    /// When the queue-depth gauge was last read.
    pub depth: crate::metrics::DepthClock,
}

impl Deref for AppCtx {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
