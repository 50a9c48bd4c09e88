//! Postgres connections the hot path keeps out of the pool between its statements (a batch of
//! inserts, a claim, a batch of results).
//!
//! sqlx 0.8 pings a connection when it leaves the pool (`test_before_acquire`) and again when
//! it goes back (`PoolConnection::return_to_pool`, not configurable): two round trips beside
//! every statement, each waking the worker and a Postgres backend, on two cores that a drain
//! already leaves 12–16 % idle in such hand-overs. With the claims and result writes on held
//! connections a batch backlog drained 5 % faster on the mean of six alternating rounds (faster
//! in five), Postgres 0.066–0.074 ms of CPU a job against 0.068–0.075 (README, Performance).
//!
//! What the pings guarded is kept where it matters: a connection that failed a statement goes
//! back to the pool (which pings it and closes it if it is broken), one idle for longer than
//! [`IDLE_CHECK`] is pinged before its next statement, and one held for [`MAX_HELD`] goes back
//! to the pool (which closes it past its lifetime). A connection that breaks while held and idle
//! for less than [`IDLE_CHECK`] (Postgres restarted within that second) fails one statement, as
//! a statement in flight at a restart does: with the shutdown's own error (`57P01`), which
//! [`JobsError::is_unavailable`] counts as the store being down, so an API insert that finds it
//! answers 503 like the ones that find no connection at all.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Connection as _, PgConnection, PgPool, Postgres};

use crate::JobsError;

/// A held connection idle for longer than this is pinged before its next statement.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// A held connection goes back to the pool after this long.
const MAX_HELD: Duration = Duration::from_secs(300);

/// Connections kept at most: a worker process's two claim lanes and two result writers, an API
/// process's two insert writers; never more than half the pool's, so that the rest of the
/// store's statements always find one.
const KEPT: usize = 4;

/// The connections the hot path holds, taken from `pool` as needed.
#[derive(Debug)]
pub(super) struct HeldConnections {
    pool: PgPool,
    held: Mutex<Vec<Held>>,
    /// How many are kept at most.
    kept: usize,
}

#[derive(Debug)]
struct Held {
    conn: PoolConnection<Postgres>,
    taken_at: Instant,
    used_at: Instant,
}

impl HeldConnections {
    /// None held yet; they are taken from `pool` by the first statements.
    pub(super) fn new(pool: PgPool) -> Self {
        let half = usize::try_from(pool.options().get_max_connections() / 2).unwrap_or(0);
        Self {
            pool,
            held: Mutex::new(Vec::new()),
            kept: KEPT.min(half),
        }
    }

    /// A connection for one statement: a held one (pinged first if it idled), or one from the
    /// pool.
    pub(super) async fn take(&self) -> Result<HeldConnection<'_>, JobsError> {
        loop {
            // A poisoned lock only means nothing is held.
            let held = self.held.lock().ok().and_then(|mut held| held.pop());
            let Some(mut held) = held else {
                let now = Instant::now();
                return Ok(HeldConnection {
                    held: Held {
                        conn: self.pool.acquire().await?,
                        taken_at: now,
                        used_at: now,
                    },
                    home: self,
                });
            };
            // Dropped, a connection goes back to the pool, which checks it.
            if held.taken_at.elapsed() >= MAX_HELD {
                continue;
            }
            if held.used_at.elapsed() >= IDLE_CHECK && held.conn.ping().await.is_err() {
                continue;
            }
            return Ok(HeldConnection { held, home: self });
        }
    }
}

/// A connection taken for one statement: [`HeldConnection::keep`] it after a statement that
/// succeeded; dropped, it goes back to the pool.
#[derive(Debug)]
pub(super) struct HeldConnection<'a> {
    held: Held,
    home: &'a HeldConnections,
}

impl HeldConnection<'_> {
    /// The connection to run the statement on.
    pub(super) fn conn(&mut self) -> &mut PgConnection {
        &mut self.held.conn
    }

    /// Holds the connection for the next statement (up to [`KEPT`] of them; past that it goes
    /// back to the pool).
    pub(super) fn keep(self) {
        let Self { mut held, home } = self;
        held.used_at = Instant::now();
        if let Ok(mut kept) = home.held.lock()
            && kept.len() < home.kept
        {
            kept.push(held);
        }
    }
}
