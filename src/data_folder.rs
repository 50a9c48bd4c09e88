//! The embedded data folder: where `sparta serve` keeps its SQLite database and, when settings
//! give no `secrets.key`, the key that seals webhook secrets. Only the owner may read either:
//! the folder is created 0700, the database files and the key file 0600.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sparta_jobs::secrets::Keyring;

use crate::settings::Settings;

/// The name of the generated key file inside the data folder.
const KEY_FILE: &str = "secrets.key";

/// The database file of a `sqlite:` URL (`sqlite:path`, `sqlite://path`, options after `?`).
pub(crate) fn sqlite_file(database_url: &str) -> Option<PathBuf> {
    let rest = database_url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Creates the SQLite database's folder (0700) and file (0600) when they are missing, and
/// narrows an existing database's files to 0600, before SQLite opens them (SQLite gives its
/// `-wal` and `-shm` files the database file's mode). Nothing to do for Postgres.
pub(crate) fn prepare(settings: &Settings) -> anyhow::Result<()> {
    let Some(file) = sqlite_file(&settings.database_url) else {
        return Ok(());
    };
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating the data folder {}", dir.display()))?;
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&file)
        .with_context(|| format!("creating the database file {}", file.display()))?;
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", file.display()));
        if path.exists() {
            std::fs::set_permissions(&path, Permissions::from_mode(0o600))
                .with_context(|| format!("restricting {} to its owner", path.display()))?;
        }
    }
    Ok(())
}

/// The keyring that seals webhook secrets: `secrets.key` (with `secrets.previous_keys`) when
/// set; otherwise, for an embedded SQLite store, the key file beside the database, generated
/// (0600) on first use. A Postgres store shared by many processes needs the key in settings.
pub(crate) fn keyring(settings: &Settings) -> anyhow::Result<Keyring> {
    let previous = &settings.secrets.previous_keys;
    if let Some(key) = &settings.secrets.key {
        return Keyring::new(key, previous).map_err(|e| anyhow::anyhow!("secrets.key: {e}"));
    }
    let Some(file) = sqlite_file(&settings.database_url) else {
        anyhow::bail!(
            "secrets.key (or SPARTA_SECRETS__KEY) is required with a Postgres store: every \
             process must seal and open webhook secrets with the same key; make one with \
             `sparta secrets generate-key`"
        );
    };
    let path = file
        .parent()
        .map_or_else(|| PathBuf::from(KEY_FILE), |dir| dir.join(KEY_FILE));
    let key = read_or_create_key(&path)?;
    Keyring::new(&key, previous).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn read_or_create_key(path: &Path) -> anyhow::Result<String> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut file) => {
            let key = Keyring::generate_key();
            file.write_all(format!("{key}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("writing the secrets key {}", path.display()))?;
            tracing::info!(path = %path.display(), "generated the key that seals webhook secrets");
            Ok(key)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read_to_string(path)
                .map(|text| text.trim().to_owned())
                .with_context(|| format!("reading the secrets key {}", path.display()))
        }
        Err(error) => {
            Err(error).with_context(|| format!("creating the secrets key {}", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite:sparta-data/sparta.db"),
            Some(PathBuf::from("sparta-data/sparta.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///tmp/x.db?mode=rwc"),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://h/db"), None);
    }

    #[test]
    fn the_folder_database_and_key_are_private_and_the_key_is_stable() {
        let root = std::env::temp_dir().join(format!("sparta-data-{}", uuid_like()));
        let settings = Settings {
            database_url: format!("sqlite:{}/data/sparta.db", root.display()),
            ..Settings::default()
        };
        prepare(&settings).expect("prepare");
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&root.join("data")), 0o700);
        assert_eq!(mode(&root.join("data/sparta.db")), 0o600);
        let first = keyring(&settings).expect("generated");
        assert_eq!(mode(&root.join("data/secrets.key")), 0o600);
        let again = keyring(&settings).expect("read back");
        assert_eq!(first.current_id(), again.current_id());
        let postgres = Settings {
            database_url: "postgres://h/db".into(),
            ..Settings::default()
        };
        assert!(
            keyring(&postgres).is_err(),
            "Postgres needs a configured key"
        );
        let _ = std::fs::remove_dir_all(root);
    }

    fn uuid_like() -> String {
        format!(
            "{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        )
    }
}
