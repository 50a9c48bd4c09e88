//! Real processes for the fault tests: a Postgres server of the test's own (initdb into a temp
//! folder, a free port), and `sparta` processes started from the built binary with a settings
//! file. Everything is killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::harness::*;

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// The machine's Postgres server binaries (`/usr/lib/postgresql/<version>/bin`), newest first.
fn postgres_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("Postgres server binaries must be installed (/usr/lib/postgresql)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("postgres").is_file())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("no Postgres version under /usr/lib/postgresql")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A command run as the `postgres` user when the tests run as root (Postgres refuses root);
/// `setpriv` execs in place, so the child's pid is the server's own.
fn as_postgres_user(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=postgres", "--regid=postgres", "--clear-groups"])
            .arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// A Postgres server of the test's own.
pub struct PostgresProcess {
    pub port: u16,
    dir: TempDir,
    child: Option<Child>,
}

impl PostgresProcess {
    /// initdb into a fresh folder and start the server.
    pub async fn start() -> Self {
        let dir = TempDir::new();
        let data = dir.0.join("data");
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir.0)
                .status()
                .expect("chown");
            assert!(status.success(), "chown of the test's Postgres folder");
        }
        let output = as_postgres_user(&postgres_bin().join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .expect("initdb");
        assert!(
            output.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut pg = Self {
            port: free_port(),
            dir,
            child: None,
        };
        pg.resume().await;
        pg
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) on its data folder and waits until it accepts connections.
    pub async fn resume(&mut self) {
        let child = as_postgres_user(&postgres_bin().join("postgres"))
            .arg("-D")
            .arg(self.dir.0.join("data"))
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&self.dir.0)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        self.child = Some(child);
        let url = self.url();
        eventually("the test's Postgres to accept connections", || {
            let url = url.clone();
            async move {
                use sqlx::Connection as _;
                sqlx::PgConnection::connect(&url).await.is_ok()
            }
        })
        .await;
    }

    /// Stops the server (fast shutdown: clients are disconnected, committed data stays).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, "INT");
            let _ = child.wait();
        }
    }
}

impl Drop for PostgresProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends a signal by name (`TERM`, `INT`) to a child.
pub fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{name}");
}

/// A `sparta` process (`api`, `worker`, `serve`) with a settings file.
pub struct SpartaProcess {
    pub role: &'static str,
    config: PathBuf,
    child: Option<Child>,
}

impl SpartaProcess {
    pub fn start(role: &'static str, config: &Path) -> Self {
        let mut process = Self {
            role,
            config: config.to_owned(),
            child: None,
        };
        process.restart();
        process
    }

    /// Starts it (again) after a kill.
    pub fn restart(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_sparta"))
            .arg("--config")
            .arg(&self.config)
            .arg(self.role)
            .env_remove("SPARTA_REDIS_URL")
            .env_remove("SPARTA_DATABASE_URL")
            .env_remove("SPARTA_LISTEN")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start sparta");
        self.child = Some(child);
    }

    /// SIGKILL: no shutdown, leases and queue messages left behind.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, "TERM");
            let status = child.wait().expect("wait");
            assert!(status.success(), "{} exited with {status}", self.role);
        }
    }
}

impl Drop for SpartaProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
