//! Small in-process caches and limiters that keep the submit hot path at one store write and
//! bound what a client can make the service do: API key → tenant (known and unknown keys),
//! each tenant's queued-job count for the per-tenant cap, token buckets per API key and, for
//! failed authentications, per client address; and the open event streams and long polls per
//! tenant.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::Utc;
use sparta_jobs::change_feed::ChangeFeed;
use sparta_jobs::store::KeyOwner;
use sparta_jobs::{ApiKeyHash, AthleteKey, JobStore, TenantId};

use crate::error::ApiError;

/// How long a verified key is trusted without asking the store again (which also notes when it
/// was last used). A revocation or a disabled tenant does not wait for it: it moves the change
/// feed's auth epoch, which empties the cache.
const TENANT_TTL: Duration = Duration::from_secs(30);
/// Entries kept before the tenant cache is cleared (a crude bound against unbounded growth).
const TENANT_CAPACITY: usize = 10_000;
/// How long a tenant's queued count is reused. The cap is a guard against runaway clients, not
/// an exact quota, so being off by a second's worth of submissions is fine.
const QUEUED_TTL: Duration = Duration::from_secs(1);
/// How long one request may take to refresh a stale count or key lookup before another takes
/// over (the others use the stale one meanwhile).
const REFRESH_TAKEOVER: Duration = Duration::from_secs(5);
/// `Retry-After` when the queued cap is hit: long enough for workers to drain some jobs.
const QUEUED_RETRY_AFTER_SECS: u64 = 2;

/// A poisoned lock only means another request panicked mid-update of a cache entry; the map is
/// still usable, and a cache must not turn one panic into failures of every later request.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How long a key the store does not know is answered 401 without asking the store again: an
/// unknown key costs no more than a known one, and a key created meanwhile works after this.
const UNKNOWN_TTL: Duration = Duration::from_secs(2);

/// When a cached answer was read from the store, and since when one request is reading it
/// again: the rule both caches share for a stale answer.
struct Freshness {
    at: Instant,
    refreshing_since: Option<Instant>,
}

impl Freshness {
    /// Just read from the store at `at`.
    fn read_at(at: Instant) -> Self {
        Self {
            at,
            refreshing_since: None,
        }
    }

    /// Whether the cached answer may be used at `now`: younger than `ttl`, or stale while
    /// another request reads it again (for at most [`REFRESH_TAKEOVER`], so a refresh whose
    /// request went away is taken over). When not, the caller is now the one reading it.
    fn usable_or_refresh(&mut self, now: Instant, ttl: Duration) -> bool {
        let refreshing = self
            .refreshing_since
            .is_some_and(|since| now.duration_since(since) < REFRESH_TAKEOVER);
        if now.duration_since(self.at) < ttl || refreshing {
            return true;
        }
        self.refreshing_since = Some(now);
        false
    }

    /// The read failed: the next request reads again.
    fn refresh_failed(&mut self) {
        self.refreshing_since = None;
    }
}

/// API-key lookups: known keys cached for [`TENANT_TTL`] (never past their expiry), unknown
/// ones for [`UNKNOWN_TTL`], and none across a move of the auth epoch.
#[derive(Default)]
pub(crate) struct TenantCache {
    entries: Mutex<Cached>,
    /// The requests for a key the cache does not hold take turns: the first asks the store,
    /// the others then find its answer cached. Each used to ask at once (at a start, and after
    /// every revocation, which empties the cache), and each lookup notes the key's use, an
    /// `UPDATE` of one row: they queued on its lock, one commit after another.
    first_lookups: Lines,
}

/// Per key not in the cache, the line of requests waiting for their turn at asking the store.
type Lines = Mutex<HashMap<ApiKeyHash, Arc<tokio::sync::Mutex<()>>>>;

/// How long a request waits for another's lookup of the same key (one takes a millisecond or
/// two): a store that answers slowly or not at all then delays each request by this much at
/// most, instead of answering them one after another.
const TURN_WAIT: Duration = Duration::from_millis(250);

/// What the cache holds for a key.
enum Lookup {
    /// An answer to use.
    Usable(Option<KeyOwner>),
    /// An answer too old to use: this request asks the store again.
    Stale,
    /// No answer.
    Absent,
}

/// A request's turn at asking the store for a key the cache did not hold.
struct Turn<'a> {
    turns: &'a Lines,
    hash: &'a ApiKeyHash,
    held: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.held.take();
        // The last one out (no request holds or waits for a turn) removes the key's line.
        let mut turns = lock(self.turns);
        if turns
            .get(self.hash)
            .is_some_and(|line| Arc::strong_count(line) == 1)
        {
            turns.remove(self.hash);
        }
    }
}

/// The cached lookups, valid for one auth epoch.
#[derive(Default)]
struct Cached {
    epoch: u64,
    owners: HashMap<ApiKeyHash, Looked>,
}

/// One key's lookup: what the store answered, and when.
struct Looked {
    owner: Option<KeyOwner>,
    freshness: Freshness,
}

impl TenantCache {
    /// The owner of `hash` (`None`: unknown, revoked or expired), from the cache or the store.
    pub(crate) async fn owner(
        &self,
        store: &dyn JobStore,
        changes: &ChangeFeed,
        hash: &ApiKeyHash,
    ) -> Result<Option<KeyOwner>, ApiError> {
        self.owner_or_lookup(changes, hash, || store.key_owner(hash, Utc::now()))
            .await
    }

    /// [`Self::owner`], with `lookup` asking the store.
    ///
    /// Once a lookup is older than its TTL, one request asks the store again while the others
    /// go on with the cached answer (for at most [`REFRESH_TAKEOVER`]). Every request that
    /// found it stale used to ask at once, and each lookup notes the key's use: an `UPDATE` of
    /// the same row, so they queued on its lock, one commit after another, every 30 s. A
    /// revocation or a disabled tenant is not served stale meanwhile: it moves the auth epoch,
    /// which empties the cache; a key's own expiry is checked on every request. A key the cache
    /// does not hold (at a start, after a revocation) is asked for by one request at a time;
    /// the others wait for that answer, and ask themselves only if it was not kept (the store
    /// failed, or the epoch moved meanwhile).
    async fn owner_or_lookup<F, Fut>(
        &self,
        changes: &ChangeFeed,
        hash: &ApiKeyHash,
        lookup: F,
    ) -> Result<Option<KeyOwner>, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<KeyOwner>, sparta_jobs::JobsError>>,
    {
        let _turn = match self.cached(changes.auth_epoch(), hash, Instant::now()) {
            Lookup::Usable(owner) => return Ok(owner),
            Lookup::Stale => None,
            Lookup::Absent => {
                let turn = self.turn(hash).await;
                // The request before this one in line may have asked meanwhile.
                if let Lookup::Usable(owner) =
                    self.cached(changes.auth_epoch(), hash, Instant::now())
                {
                    return Ok(owner);
                }
                Some(turn)
            }
        };
        let now = Instant::now();
        let epoch = changes.auth_epoch();
        let owner = match lookup().await {
            Ok(owner) => owner,
            Err(error) => {
                if let Some(looked) = lock(&self.entries).owners.get_mut(hash) {
                    looked.freshness.refresh_failed();
                }
                return Err(error.into());
            }
        };
        let mut cached = lock(&self.entries);
        // A change while the store was asked: this answer may predate it, so it is not kept.
        if changes.auth_epoch() != epoch {
            return Ok(owner);
        }
        if cached.owners.len() >= TENANT_CAPACITY {
            cached.owners.clear();
        }
        cached.owners.insert(
            hash.clone(),
            Looked {
                owner: owner.clone(),
                freshness: Freshness::read_at(now),
            },
        );
        Ok(owner)
    }

    /// What the cache holds for `hash` in auth epoch `epoch` (an older epoch's answers are
    /// dropped first). A stale answer makes this request the one that asks again.
    fn cached(&self, epoch: u64, hash: &ApiKeyHash, now: Instant) -> Lookup {
        let mut cached = lock(&self.entries);
        if cached.epoch != epoch {
            cached.owners.clear();
            cached.epoch = epoch;
        }
        let Some(looked) = cached.owners.get_mut(hash) else {
            return Lookup::Absent;
        };
        let ttl = if looked.owner.is_some() {
            TENANT_TTL
        } else {
            UNKNOWN_TTL
        };
        let expired = looked
            .owner
            .as_ref()
            .and_then(|o| o.expires_at)
            .is_some_and(|at| at <= Utc::now());
        if !expired && looked.freshness.usable_or_refresh(now, ttl) {
            Lookup::Usable(looked.owner.clone())
        } else {
            Lookup::Stale
        }
    }

    /// Waits for this request's turn at asking the store for `hash` (at most [`TURN_WAIT`]).
    async fn turn<'a>(&'a self, hash: &'a ApiKeyHash) -> Turn<'a> {
        let line = lock(&self.first_lookups)
            .entry(hash.clone())
            .or_default()
            .clone();
        let mut turn = Turn {
            turns: &self.first_lookups,
            hash,
            held: None,
        };
        // Made before the wait, so a request that goes away while waiting still leaves the
        // line tidy. A turn not come by [`TURN_WAIT`] is not waited for any longer: this
        // request then asks the store itself, as every request did before the line.
        turn.held = tokio::time::timeout(TURN_WAIT, line.lock_owned())
            .await
            .ok();
        turn
    }
}

/// Per-tenant counts against a cap (queued jobs, motivation subscriptions), refreshed from the
/// store at most every [`QUEUED_TTL`] and counted up locally in between, so that a cap costs
/// no count of the table per request.
#[derive(Default)]
pub(crate) struct TenantCounts {
    entries: Mutex<HashMap<TenantId, Counted>>,
}

/// One tenant's count: what it is now (counted up locally), and when it was read from the store.
struct Counted {
    count: u64,
    freshness: Freshness,
}

impl TenantCounts {
    /// Counts in as many of `wanted` new items as the cap of `max` leaves room for, and
    /// answers how many that is. `count` reads the tenant's true count from the store, when
    /// the cached one is missing or stale.
    ///
    /// One request at a time refreshes a stale count; the others go on with the cached one
    /// meanwhile. (Every request that found the count stale used to count the table at once:
    /// measured, 8 concurrent `count(*)` over 30,000 queued rows every second, and two API
    /// processes answering 1,664 submits/s where one answered 4,175.)
    pub(crate) async fn admit_up_to<F, Fut>(
        &self,
        tenant: TenantId,
        max: u64,
        wanted: u64,
        count: F,
    ) -> Result<u64, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<u64, sparta_jobs::JobsError>>,
    {
        let now = Instant::now();
        let room = |counted: u64| max.saturating_sub(counted).min(wanted);
        let admitted = {
            let mut entries = lock(&self.entries);
            match entries.get_mut(&tenant) {
                Some(entry) => entry.freshness.usable_or_refresh(now, QUEUED_TTL).then(|| {
                    let admitted = room(entry.count);
                    entry.count += admitted;
                    admitted
                }),
                None => None,
            }
        };
        if let Some(admitted) = admitted {
            return Ok(admitted);
        }
        let counted = match count().await {
            Ok(counted) => counted,
            Err(error) => {
                if let Some(entry) = lock(&self.entries).get_mut(&tenant) {
                    entry.freshness.refresh_failed();
                }
                return Err(error.into());
            }
        };
        let admitted = room(counted);
        lock(&self.entries).insert(
            tenant,
            Counted {
                count: counted + admitted,
                freshness: Freshness::read_at(now),
            },
        );
        Ok(admitted)
    }

    /// Counts in one queued job, or refuses it (429) when the tenant has `max` queued jobs.
    pub(crate) async fn admit_queued(
        &self,
        store: &dyn JobStore,
        tenant: TenantId,
        max: u64,
    ) -> Result<(), ApiError> {
        match self
            .admit_up_to(tenant, max, 1, || store.count_queued(tenant))
            .await?
        {
            0 => Err(queued_cap_reached(max)),
            _ => Ok(()),
        }
    }
}

/// The refusal of a submission beyond the queued-jobs cap.
pub(crate) fn queued_cap_reached(max: u64) -> ApiError {
    ApiError::RateLimited {
        message: format!(
            "the tenant has {max} or more queued jobs, the limit; retry when some have run"
        ),
        retry_after_secs: QUEUED_RETRY_AFTER_SECS,
    }
}
/// `Retry-After` of a refused stream or long poll, in seconds.
const STREAMS_RETRY_AFTER_SECS: u64 = 5;

/// Open event streams and long polls an athlete's token may hold at once (within its tenant's
/// `api.max_streams_per_tenant`): one athlete's app cannot take all of its tenant's slots.
pub(crate) const STREAMS_PER_ATHLETE: usize = 5;

/// Who holds open streams: a tenant as a whole (`None`), or one athlete of it.
type StreamHolder = (TenantId, Option<AthleteKey>);

/// Open streams and long polls per tenant, and per athlete for athletes' tokens.
#[derive(Debug, Default)]
pub(crate) struct StreamSlots {
    open: Arc<Mutex<HashMap<StreamHolder, usize>>>,
}

/// One open stream or long poll; dropping it (the stream ended, the client went away, the long
/// poll answered) frees its slots.
#[derive(Debug)]
pub(crate) struct StreamSlot {
    open: Arc<Mutex<HashMap<StreamHolder, usize>>>,
    holders: Vec<StreamHolder>,
}

impl StreamSlots {
    /// Takes a slot for `tenant` (and for `athlete`, when an athlete's token asks), or 429 when
    /// the tenant already holds `max` or the athlete [`STREAMS_PER_ATHLETE`].
    pub(crate) fn acquire(
        &self,
        tenant: TenantId,
        athlete: Option<&AthleteKey>,
        max: usize,
    ) -> Result<StreamSlot, ApiError> {
        let mut open = lock(&self.open);
        let mut holders = vec![(tenant, None)];
        let mut limits = vec![(max, "this tenant")];
        if let Some(athlete) = athlete {
            holders.push((tenant, Some(athlete.clone())));
            limits.push((STREAMS_PER_ATHLETE, "this athlete"));
        }
        for (holder, (limit, whose)) in holders.iter().zip(&limits) {
            if open.get(holder).copied().unwrap_or(0) >= *limit {
                return Err(ApiError::RateLimited {
                    message: format!(
                        "too many open event streams and long polls for {whose} (at most \
                         {limit}); close one or retry later"
                    ),
                    retry_after_secs: STREAMS_RETRY_AFTER_SECS,
                });
            }
        }
        for holder in &holders {
            *open.entry(holder.clone()).or_insert(0) += 1;
        }
        Ok(StreamSlot {
            open: self.open.clone(),
            holders,
        })
    }

    /// The slots a tenant holds.
    #[cfg(test)]
    fn held(&self, tenant: TenantId) -> usize {
        let open = lock(&self.open);
        open.get(&(tenant, None)).copied().unwrap_or(0)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        for holder in &self.holders {
            if let Some(count) = open.get_mut(holder) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    open.remove(holder);
                }
            }
        }
    }
}

/// Keys tracked before idle buckets are dropped (a full bucket carries no state worth keeping).
const BUCKET_CAPACITY: usize = 10_000;

/// A token bucket per key (an API key, a client address): `rate` requests per second
/// sustained, `burst` at once. Answers 429 with the seconds until the next token as
/// `Retry-After`.
pub(crate) struct RateLimiter<K = ApiKeyHash> {
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
    /// What is limited, for the 429 message ("requests for this API key").
    what: &'static str,
}

impl Default for RateLimiter<ApiKeyHash> {
    fn default() -> Self {
        Self::named("requests for this API key")
    }
}

impl<K: std::hash::Hash + Eq + Clone> RateLimiter<K> {
    /// An empty limiter; `what` names what it counts in its 429 message.
    pub(crate) fn named(what: &'static str) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            what,
        }
    }

    /// True when `key` has no token left at `now` (nothing is taken).
    pub(crate) fn exhausted(&self, key: &K, rate: u32, burst: u32, now: Instant) -> bool {
        if rate == 0 {
            return false;
        }
        lock(&self.buckets).get(key).is_some_and(|(tokens, at)| {
            let refilled = *tokens + now.duration_since(*at).as_secs_f64() * f64::from(rate);
            refilled.min(f64::from(burst.max(1))) < 1.0
        })
    }

    /// Takes one token for `key` at `now`, or says how long to wait.
    pub(crate) fn admit(
        &self,
        key: &K,
        rate: u32,
        burst: u32,
        now: Instant,
    ) -> Result<(), ApiError> {
        if rate == 0 {
            return Ok(());
        }
        let rate = f64::from(rate);
        let burst = f64::from(burst.max(1));
        let mut buckets = lock(&self.buckets);
        if buckets.len() >= BUCKET_CAPACITY && !buckets.contains_key(key) {
            // Buckets idle long enough to be full again are equivalent to no bucket at all.
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(key.clone()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - *tokens) / rate).ceil().max(1.0);
        Err(ApiError::RateLimited {
            message: format!("too many {}; the limit is {rate} per second", self.what),
            retry_after_secs: wait as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_request_refreshes_a_stale_count_while_the_others_go_on() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let counts = Arc::new(TenantCounts::default());
        let tenant = TenantId::new();
        let stale = Instant::now() - QUEUED_TTL * 2;
        lock(&counts.entries).insert(
            tenant,
            Counted {
                count: 5,
                freshness: Freshness::read_at(stale),
            },
        );
        let reads = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(tokio::sync::Notify::new());
        // The first request finds the count stale and reads it again: its read waits.
        let refresher = tokio::spawn({
            let (counts, reads, release) = (counts.clone(), reads.clone(), release.clone());
            async move {
                counts
                    .admit_up_to(tenant, 100, 1, || async move {
                        reads.fetch_add(1, Ordering::SeqCst);
                        release.notified().await;
                        Ok(7)
                    })
                    .await
            }
        });
        while reads.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // Meanwhile the others are admitted from the cached count, without a read of their own.
        for _ in 0..10 {
            let admitted = counts
                .admit_up_to(tenant, 100, 1, || async { panic!("a second read") })
                .await
                .unwrap();
            assert_eq!(admitted, 1);
        }
        assert_eq!(lock(&counts.entries)[&tenant].count, 15);
        release.notify_one();
        assert_eq!(refresher.await.unwrap().unwrap(), 1);
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        assert_eq!(
            lock(&counts.entries)[&tenant].count,
            8,
            "the store's 7, plus its own"
        );
        // The cap holds on the cached count too.
        assert_eq!(
            counts
                .admit_up_to(tenant, 10, 5, || async { panic!("fresh") })
                .await
                .unwrap(),
            2
        );
    }

    #[test]
    fn slots_are_capped_per_tenant_and_freed_on_drop() {
        let slots = StreamSlots::default();
        let (a, b) = (TenantId::new(), TenantId::new());
        let held: Vec<_> = (0..3).map(|_| slots.acquire(a, None, 3).unwrap()).collect();
        assert!(matches!(
            slots.acquire(a, None, 3),
            Err(ApiError::RateLimited { .. })
        ));
        let other = slots.acquire(b, None, 3).unwrap();
        assert_eq!(slots.held(a), 3);
        drop(held);
        assert_eq!(slots.held(a), 0);
        assert!(slots.acquire(a, None, 3).is_ok());
        drop(other);
        assert_eq!(slots.held(b), 0);
    }

    #[test]
    fn an_athlete_holds_a_few_of_its_tenants_slots_at_most() {
        let slots = StreamSlots::default();
        let tenant = TenantId::new();
        let (one, two) = (
            AthleteKey::parse("ath-1").unwrap(),
            AthleteKey::parse("ath-2").unwrap(),
        );
        let held: Vec<_> = (0..STREAMS_PER_ATHLETE)
            .map(|_| slots.acquire(tenant, Some(&one), 50).unwrap())
            .collect();
        assert!(matches!(
            slots.acquire(tenant, Some(&one), 50),
            Err(ApiError::RateLimited { .. })
        ));
        // Another athlete, and the tenant's key, still have theirs; all count for the tenant.
        let theirs = slots.acquire(tenant, Some(&two), 50).unwrap();
        let tenants = slots.acquire(tenant, None, 50).unwrap();
        assert_eq!(slots.held(tenant), STREAMS_PER_ATHLETE + 2);
        drop((held, theirs, tenants));
        assert_eq!(slots.held(tenant), 0);
        assert!(lock(&slots.open).is_empty(), "every holder forgotten");
    }

    use sparta_jobs::ApiKey;

    /// A cache holding `owner` for a key, looked up `age` ago.
    fn cache_with(
        changes: &ChangeFeed,
        owner: &KeyOwner,
        age: Duration,
    ) -> (TenantCache, ApiKeyHash) {
        let cache = TenantCache::default();
        let hash = ApiKey::generate().hash();
        let mut cached = lock(&cache.entries);
        cached.epoch = changes.auth_epoch();
        cached.owners.insert(
            hash.clone(),
            Looked {
                owner: Some(owner.clone()),
                freshness: Freshness::read_at(Instant::now() - age),
            },
        );
        drop(cached);
        (cache, hash)
    }

    fn key_owner() -> KeyOwner {
        KeyOwner {
            tenant: sparta_jobs::Tenant {
                id: TenantId::new(),
                name: sparta_jobs::TenantName::parse("acme").unwrap(),
                created_at: Utc::now(),
                disabled_at: None,
            },
            key: sparta_jobs::ApiKeyId::new(),
            expires_at: None,
        }
    }

    #[tokio::test]
    async fn one_request_asks_again_for_a_stale_key_while_the_others_go_on() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let changes = ChangeFeed::new();
        let owner = key_owner();
        let (cache, hash) = cache_with(&changes, &owner, TENANT_TTL * 2);
        let cache = Arc::new(cache);
        let lookups = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(tokio::sync::Notify::new());
        // The first request finds the lookup stale and asks the store: its answer waits.
        let refresher = tokio::spawn({
            let (cache, changes, hash) = (cache.clone(), changes.clone(), hash.clone());
            let (lookups, release, owner) = (lookups.clone(), release.clone(), owner.clone());
            async move {
                cache
                    .owner_or_lookup(&changes, &hash, || async move {
                        lookups.fetch_add(1, Ordering::SeqCst);
                        release.notified().await;
                        Ok(Some(owner))
                    })
                    .await
            }
        });
        while lookups.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // Meanwhile the others are answered from the cache, without a lookup of their own.
        for _ in 0..10 {
            let answer = cache
                .owner_or_lookup(&changes, &hash, || async { panic!("a second lookup") })
                .await
                .unwrap();
            assert_eq!(answer.map(|o| o.key), Some(owner.key));
        }
        release.notify_one();
        let refreshed = refresher.await.unwrap().unwrap();
        assert_eq!(refreshed.map(|o| o.key), Some(owner.key));
        assert_eq!(lookups.load(Ordering::SeqCst), 1);
        let cached = lock(&cache.entries);
        let looked = &cached.owners[&hash];
        assert!(
            looked.freshness.at.elapsed() < TENANT_TTL,
            "the lookup is fresh again"
        );
        assert!(looked.freshness.refreshing_since.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn requests_for_a_key_not_yet_cached_ask_the_store_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let changes = ChangeFeed::new();
        let owner = key_owner();
        let cache = Arc::new(TenantCache::default());
        let hash = ApiKey::generate().hash();
        let lookups = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(tokio::sync::Notify::new());
        let ask = |fails: bool| {
            let (cache, changes, hash) = (cache.clone(), changes.clone(), hash.clone());
            let (lookups, release, owner) = (lookups.clone(), release.clone(), owner.clone());
            tokio::spawn(async move {
                cache
                    .owner_or_lookup(&changes, &hash, || async move {
                        lookups.fetch_add(1, Ordering::SeqCst);
                        release.notified().await;
                        if fails {
                            Err(sparta_jobs::JobsError::Timeout("asking the store"))
                        } else {
                            Ok(Some(owner))
                        }
                    })
                    .await
            })
        };
        // The first request's lookup fails; the next in line asks again, and its answer serves
        // the other nine: two lookups for eleven requests, one at a time.
        let first = ask(true);
        while lookups.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let others: Vec<_> = (0..10).map(|_| ask(false)).collect();
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            lookups.load(Ordering::SeqCst),
            1,
            "the others wait their turn"
        );
        release.notify_one();
        assert!(first.await.unwrap().is_err());
        while lookups.load(Ordering::SeqCst) == 1 {
            tokio::task::yield_now().await;
        }
        release.notify_one();
        for other in others {
            let answer = other.await.unwrap().unwrap();
            assert_eq!(answer.map(|o| o.key), Some(owner.key));
        }
        assert_eq!(lookups.load(Ordering::SeqCst), 2);
        assert!(lock(&cache.first_lookups).is_empty(), "no line left behind");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_waits_for_another_lookup_of_its_key_only_so_long() {
        let changes = ChangeFeed::new();
        let owner = key_owner();
        let cache = Arc::new(TenantCache::default());
        let hash = ApiKey::generate().hash();
        // The first request's lookup never ends (a store that does not answer).
        let stuck = tokio::spawn({
            let (cache, changes, hash) = (cache.clone(), changes.clone(), hash.clone());
            async move {
                cache
                    .owner_or_lookup(&changes, &hash, std::future::pending)
                    .await
            }
        });
        while lock(&cache.first_lookups).is_empty() {
            tokio::task::yield_now().await;
        }
        // The next waits its turn for TURN_WAIT, then asks the store itself.
        let started = tokio::time::Instant::now();
        let answer = cache
            .owner_or_lookup(&changes, &hash, || async { Ok(Some(owner.clone())) })
            .await
            .unwrap();
        assert_eq!(answer.map(|o| o.key), Some(owner.key));
        assert_eq!(started.elapsed(), TURN_WAIT);
        stuck.abort();
    }

    #[tokio::test]
    async fn a_stale_key_is_not_served_across_an_auth_change_nor_past_its_expiry() {
        let changes = ChangeFeed::new();
        let owner = key_owner();
        // Being refreshed by another request, but the epoch moved (a key revoked): the store
        // is asked, and its answer (revoked: no owner) is what the request gets.
        let (cache, hash) = cache_with(&changes, &owner, TENANT_TTL * 2);
        lock(&cache.entries)
            .owners
            .get_mut(&hash)
            .unwrap()
            .freshness
            .refreshing_since = Some(Instant::now());
        changes.publish_auth_change();
        let answer = cache
            .owner_or_lookup(&changes, &hash, || async { Ok(None) })
            .await
            .unwrap();
        assert!(answer.is_none(), "a revoked key was served from the cache");
        // Fresh, but the key itself expired: the store is asked.
        let expired = KeyOwner {
            expires_at: Some(Utc::now() - chrono::TimeDelta::seconds(1)),
            ..key_owner()
        };
        let (cache, hash) = cache_with(&changes, &expired, Duration::ZERO);
        let answer = cache
            .owner_or_lookup(&changes, &hash, || async { Ok(None) })
            .await
            .unwrap();
        assert!(answer.is_none(), "an expired key was served from the cache");
        // A store that fails leaves no refresh pending: the next request asks again.
        let (cache, hash) = cache_with(&changes, &owner, TENANT_TTL * 2);
        let failed = cache
            .owner_or_lookup(&changes, &hash, || async {
                Err(sparta_jobs::JobsError::Timeout("asking the store"))
            })
            .await;
        assert!(failed.is_err());
        assert!(
            lock(&cache.entries).owners[&hash]
                .freshness
                .refreshing_since
                .is_none()
        );
    }

    #[test]
    fn a_bucket_allows_the_burst_then_the_rate() {
        let limiter = RateLimiter::default();
        let key = ApiKey::generate().hash();
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(limiter.admit(&key, 2, 5, t0).is_ok());
        }
        match limiter.admit(&key, 2, 5, t0) {
            Err(ApiError::RateLimited {
                retry_after_secs, ..
            }) => assert_eq!(retry_after_secs, 1),
            other => panic!("expected 429, got {other:?}"),
        }
        // Half a second refills one token at 2/s.
        assert!(
            limiter
                .admit(&key, 2, 5, t0 + Duration::from_millis(500))
                .is_ok()
        );
        assert!(
            limiter
                .admit(&key, 2, 5, t0 + Duration::from_millis(500))
                .is_err()
        );
        // Another key has its own bucket; rate 0 disables the limit.
        assert!(limiter.admit(&ApiKey::generate().hash(), 2, 5, t0).is_ok());
        assert!(limiter.admit(&key, 0, 0, t0).is_ok());
    }

    #[test]
    fn exhausted_peeks_without_taking() {
        let limiter = RateLimiter::<u8>::named("failed authentications from this address");
        let t0 = Instant::now();
        assert!(!limiter.exhausted(&1, 1, 2, t0), "no bucket yet");
        assert!(limiter.admit(&1, 1, 2, t0).is_ok() && limiter.admit(&1, 1, 2, t0).is_ok());
        assert!(limiter.exhausted(&1, 1, 2, t0));
        assert!(limiter.exhausted(&1, 1, 2, t0), "peeking took nothing");
        assert!(!limiter.exhausted(&1, 1, 2, t0 + Duration::from_secs(1)));
        match limiter.admit(&1, 1, 2, t0) {
            Err(ApiError::RateLimited { message, .. }) => {
                assert!(message.contains("failed authentications"), "{message}")
            }
            other => panic!("expected 429, got {other:?}"),
        }
    }
}
