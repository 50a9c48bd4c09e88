//! Webhook signing secrets as stored (sealed, see [`crate::secrets`]), and the reseal that moves
//! every stored secret under the current key: written once for both stores (through the store's
//! `Backend` seam) over two primitive operations.

use async_trait::async_trait;

use super::jwt_verifiers::JwtVerifierStore;
use super::{Backend, ColumnReader, PgStore, SqliteStore};
use crate::JobsError;
use crate::model::TenantId;
use crate::secrets::Keyring;

/// Decodes a row of the stored secrets' query.
fn stored_from(row: &impl ColumnReader) -> Result<StoredSecrets, JobsError> {
    Ok(StoredSecrets {
        tenant: TenantId::from_uuid(row.uuid("id")?),
        current: row.text("webhook_secret")?,
        previous: row.text("previous_webhook_secret")?,
    })
}

/// One tenant's stored secret columns, exactly as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSecrets {
    /// Whose.
    pub tenant: TenantId,
    /// The secret that signs.
    pub current: Option<String>,
    /// The secret rotated out, signing during its grace period.
    pub previous: Option<String>,
}

/// The store's side of sealed secrets.
#[async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// Every tenant's stored secret columns.
    async fn stored_webhook_secrets(&self) -> Result<Vec<StoredSecrets>, JobsError>;

    /// Writes `new` over a tenant's secret columns if they still hold `old` (false, and
    /// nothing changes, when a rotation came in between).
    async fn replace_stored_webhook_secrets(
        &self,
        old: &StoredSecrets,
        new: &StoredSecrets,
    ) -> Result<bool, JobsError>;
}

/// Implements [`SecretStore`] for a store.
macro_rules! secret_store {
    ($store:ty) => {
        #[async_trait]
        impl SecretStore for $store {
            async fn stored_webhook_secrets(&self) -> Result<Vec<StoredSecrets>, JobsError> {
                let rows = sqlx::query(
                    "SELECT id, webhook_secret, previous_webhook_secret FROM tenants \
                     ORDER BY created_at",
                )
                .fetch_all(self.reader())
                .await?;
                rows.iter().map(stored_from).collect()
            }

            async fn replace_stored_webhook_secrets(
                &self,
                old: &StoredSecrets,
                new: &StoredSecrets,
            ) -> Result<bool, JobsError> {
                let done = sqlx::query(
                    "UPDATE tenants SET webhook_secret = $2, previous_webhook_secret = $3 \
                     WHERE id = $1 AND webhook_secret IS NOT DISTINCT FROM $4 \
                       AND previous_webhook_secret IS NOT DISTINCT FROM $5",
                )
                .bind(old.tenant.as_uuid())
                .bind(new.current.as_deref())
                .bind(new.previous.as_deref())
                .bind(old.current.as_deref())
                .bind(old.previous.as_deref())
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

secret_store!(PgStore);
secret_store!(SqliteStore);

/// What a reseal did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Tenants whose stored secrets were rewritten under the current key.
    pub tenants: usize,
    /// Tenants already sealed under it.
    pub unchanged: usize,
    /// Tenants' HS256 token secrets rewritten under the current key.
    pub token_secrets: usize,
}

/// Opens every stored secret (with the current or a previous key, or as a value from before
/// sealing) and seals it again under the current key. Idempotent; a tenant whose secret is
/// rotated meanwhile is read again.
pub async fn reseal<S>(store: &S, keyring: &Keyring) -> Result<Resealed, JobsError>
where
    S: SecretStore + JwtVerifierStore + ?Sized,
{
    let mut done = Resealed {
        token_secrets: reseal_token_secrets(store, keyring).await?,
        ..Resealed::default()
    };
    let mut pending = store.stored_webhook_secrets().await?;
    for _round in 0..3 {
        let mut retry = Vec::new();
        for old in pending {
            let stale =
                |value: &Option<String>| value.as_deref().is_some_and(|v| keyring.needs_reseal(v));
            if !stale(&old.current) && !stale(&old.previous) {
                done.unchanged += 1;
                continue;
            }
            let reseal = |value: &Option<String>| -> Result<Option<String>, JobsError> {
                value
                    .as_deref()
                    .map(|v| keyring.open(v).and_then(|secret| keyring.seal(&secret)))
                    .transpose()
            };
            let new = StoredSecrets {
                tenant: old.tenant,
                current: reseal(&old.current)?,
                previous: reseal(&old.previous)?,
            };
            if store.replace_stored_webhook_secrets(&old, &new).await? {
                done.tenants += 1;
            } else {
                retry.push(old.tenant);
            }
        }
        if retry.is_empty() {
            return Ok(done);
        }
        pending = store
            .stored_webhook_secrets()
            .await?
            .into_iter()
            .filter(|s| retry.contains(&s.tenant))
            .collect();
    }
    Err(JobsError::Timeout(
        "secrets kept changing during the reseal; run it again",
    ))
}

/// Seals every tenant's HS256 token secret not sealed under the current key again; a secret
/// replaced meanwhile was sealed by whoever replaced it.
async fn reseal_token_secrets<S>(store: &S, keyring: &Keyring) -> Result<usize, JobsError>
where
    S: JwtVerifierStore + ?Sized,
{
    let mut resealed = 0;
    for old in store.stored_jwt_secrets().await? {
        if keyring.needs_reseal(&old.sealed) {
            let sealed = keyring.seal_jwt_secret(&keyring.open_jwt_secret(&old.sealed)?)?;
            if store.replace_stored_jwt_secret(&old, &sealed).await? {
                resealed += 1;
            }
        }
    }
    Ok(resealed)
}
