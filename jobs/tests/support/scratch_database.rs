//! Scratch Postgres databases for tests, shared by the store's conformance tests and the
//! end-to-end harness (each includes this file).
//!
//! Every test makes a database of its own, named after its test process
//! (`{prefix}_{pid}_{uuid}`). A test process cannot drop them when it ends (the test harness
//! has no hook for that, and a failed or killed run ends anywhere), so the first database a
//! process makes drops those whose process is gone: a run leaves its own databases behind until
//! the next one starts, instead of every run adding fifty. Only on a server on this machine
//! (its process ids are ours) and where `/proc` shows which processes live.

use std::str::FromStr as _;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// Creates a fresh database through the server of `admin_url` (a URL naming an existing
/// database) and returns its URL.
pub async fn create(admin_url: &str, prefix: &str) -> String {
    let mut admin = PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("Postgres is required for these tests ({admin_url}): {e}"));
    static SWEPT: AtomicBool = AtomicBool::new(false);
    if !SWEPT.swap(true, Ordering::SeqCst) && local(admin_url) {
        sweep(&mut admin).await;
    }
    let name = format!(
        "{prefix}_{}_{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create a scratch database");
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("a Postgres URL naming a database");
    format!("{base}/{name}")
}

/// Whether the server runs on this machine (a socket, or a loopback address).
fn local(admin_url: &str) -> bool {
    PgConnectOptions::from_str(admin_url).is_ok_and(|options| on_this_machine(options.get_host()))
}

/// Whether a server's `host` is this machine: a socket path or a loopback address. Where it is
/// not, the process ids in the names of its scratch resources are another machine's.
pub fn on_this_machine(host: &str) -> bool {
    host.starts_with('/') || matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]")
}

/// Whether `/proc` shows that process `pid` has ended (never where there is no `/proc`).
pub fn ended(pid: u32) -> bool {
    std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// A scratch resource's name, `{prefix}_{pid}_{32 hex}`, as its prefix and the process that
/// made it; `None` for a name of any other form.
pub fn made_by(name: &str) -> Option<(&str, u32)> {
    let mut parts = name.rsplitn(3, '_');
    let id = parts.next()?;
    let pid = parts.next()?.parse().ok()?;
    let prefix = parts.next()?;
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some((prefix, pid))
}

/// Drops the scratch databases of test processes that have ended.
async fn sweep(admin: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'sparta\\_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for name in names {
        if !creator(&name).is_some_and(ended) {
            continue;
        }
        // Another process sweeping at the same moment may have dropped it first.
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut *admin)
            .await;
    }
}

/// The process that made a scratch database, from its name (`sparta_…_{pid}_{32 hex}`);
/// `None` for any other database.
fn creator(name: &str) -> Option<u32> {
    made_by(name)
        .filter(|(prefix, _)| prefix.starts_with("sparta_"))
        .map(|(_, pid)| pid)
}

#[test]
fn a_scratch_name_names_its_process() {
    assert_eq!(
        creator("sparta_e2e_4242_0123456789abcdef0123456789abcdef"),
        Some(4242)
    );
    assert_eq!(creator("sparta_e2e_0123456789abcdef0123456789abcdef"), None);
    assert_eq!(
        creator("sparta_4242_0123456789abcdef0123456789abcdef"),
        None
    );
    assert_eq!(creator("sparta_e2e_4242_not-hex"), None);
    assert_eq!(creator("sparta"), None);
}
