//! Tenants' verifiers of athlete tokens (see [`crate::jwt_verifier`]): registered, replaced,
//! looked up by tenant or by the (issuer, audience) a token names, removed. Written once for both
//! stores (through the store's `Backend` seam); an HS256 secret is stored sealed with the store's
//! keyring.
//!
//! Every change moves the auth epoch of [`crate::change_feed::ChangeFeed`] (with Postgres
//! through a trigger's notification to every process), so API processes drop the verifiers
//! they cached.

use async_trait::async_trait;

use super::{Backend, ColumnReader, PgStore, SqliteStore, required};
use crate::JobsError;
use crate::jwt_verifier::{JwtKeys, JwtVerifier};
use crate::model::TenantId;
use crate::secrets::Keyring;

/// The columns of a verifier.
const VERIFIER_COLUMNS: &str =
    "tenant_id, issuer, audience, jwks_url, hs256_secret, created_at, updated_at";

/// Decodes a row of [`VERIFIER_COLUMNS`], opening a sealed secret with `keyring`.
fn verifier_from(row: &impl ColumnReader, keyring: &Keyring) -> Result<JwtVerifier, JobsError> {
    let keys = match (row.text("jwks_url")?, row.text("hs256_secret")?) {
        (Some(url), None) => {
            JwtKeys::stored_jwks(&url).map_err(|e| JobsError::Corrupt(e.to_string()))?
        }
        (None, Some(sealed)) => JwtKeys::Hs256(keyring.open_jwt_secret(&sealed)?),
        _ => {
            return Err(JobsError::Corrupt(
                "a token verifier needs exactly one of jwks_url and hs256_secret".into(),
            ));
        }
    };
    Ok(JwtVerifier {
        tenant_id: TenantId::from_uuid(row.uuid("tenant_id")?),
        issuer: required(row.text("issuer")?, "issuer")?,
        audience: required(row.text("audience")?, "audience")?,
        keys,
        created_at: required(row.instant("created_at")?, "created_at")?,
        updated_at: required(row.instant("updated_at")?, "updated_at")?,
    })
}

/// The stored columns of a verifier's keys: the JWKS URL, or the secret sealed with `keyring`.
fn key_columns(
    verifier: &JwtVerifier,
    keyring: &Keyring,
) -> Result<(Option<String>, Option<String>), JobsError> {
    Ok(match &verifier.keys {
        JwtKeys::Jwks(url) => (Some(url.as_str().to_owned()), None),
        JwtKeys::Hs256(secret) => (None, Some(keyring.seal_jwt_secret(secret)?)),
    })
}

/// A unique violation on `jwt_verifiers_issuer_audience`: another tenant verifies the same
/// (issuer, audience), so a token could not tell the two apart.
fn taken(error: sqlx::Error, verifier: &JwtVerifier) -> JobsError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => JobsError::AlreadyExists(format!(
            "a verifier for issuer '{}' and audience '{}'",
            verifier.issuer, verifier.audience
        )),
        _ => JobsError::Database(error),
    }
}

/// A sealed HS256 secret as stored, for the reseal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredJwtSecret {
    /// Whose.
    pub tenant: TenantId,
    /// The sealed value.
    pub sealed: String,
}

/// The store's side of token verifiers.
#[async_trait]
pub trait JwtVerifierStore: Send + Sync + 'static {
    /// Registers a tenant's verifier, replacing the one it had (keeping its `created_at`).
    /// `NotFound` for an unknown tenant; `AlreadyExists` when another tenant verifies the same
    /// (issuer, audience).
    async fn put_jwt_verifier(&self, verifier: &JwtVerifier) -> Result<JwtVerifier, JobsError>;

    /// A tenant's verifier.
    async fn jwt_verifier(&self, tenant: TenantId) -> Result<Option<JwtVerifier>, JobsError>;

    /// The verifier of the tenant whose tokens name this issuer and audience.
    async fn jwt_verifier_for(
        &self,
        issuer: &str,
        audience: &str,
    ) -> Result<Option<JwtVerifier>, JobsError>;

    /// Removes a tenant's verifier (true when there was one): its tokens stop working.
    async fn delete_jwt_verifier(&self, tenant: TenantId) -> Result<bool, JobsError>;

    /// Every sealed HS256 secret, for the reseal.
    async fn stored_jwt_secrets(&self) -> Result<Vec<StoredJwtSecret>, JobsError>;

    /// Writes `sealed` over a tenant's secret if it still holds `old.sealed` (false when it
    /// changed in between).
    async fn replace_stored_jwt_secret(
        &self,
        old: &StoredJwtSecret,
        sealed: &str,
    ) -> Result<bool, JobsError>;
}

/// Implements [`JwtVerifierStore`] for a store.
macro_rules! jwt_verifier_store {
    ($store:ty) => {
        #[async_trait]
        impl JwtVerifierStore for $store {
            async fn put_jwt_verifier(
                &self,
                verifier: &JwtVerifier,
            ) -> Result<JwtVerifier, JobsError> {
                let (jwks_url, secret) = key_columns(verifier, &self.secrets)?;
                let sql = format!(
                    "INSERT INTO jwt_verifiers ({VERIFIER_COLUMNS}) \
                     SELECT id, $2, $3, $4, $5, $6, $6 FROM tenants WHERE id = $1 \
                     ON CONFLICT (tenant_id) DO UPDATE SET issuer = excluded.issuer, \
                       audience = excluded.audience, jwks_url = excluded.jwks_url, \
                       hs256_secret = excluded.hs256_secret, updated_at = excluded.updated_at \
                     RETURNING {VERIFIER_COLUMNS}"
                );
                let row = sqlx::query(&sql)
                    .bind(verifier.tenant_id.as_uuid())
                    .bind(&verifier.issuer)
                    .bind(&verifier.audience)
                    .bind(jwks_url)
                    .bind(secret)
                    .bind(Self::instant(verifier.updated_at))
                    .fetch_optional(self.writer())
                    .await
                    .map_err(|e| taken(e, verifier))?
                    .ok_or(JobsError::NotFound)?;
                self.auth_changed();
                verifier_from(&row, &self.secrets)
            }

            async fn jwt_verifier(
                &self,
                tenant: TenantId,
            ) -> Result<Option<JwtVerifier>, JobsError> {
                let sql =
                    format!("SELECT {VERIFIER_COLUMNS} FROM jwt_verifiers WHERE tenant_id = $1");
                let row = sqlx::query(&sql)
                    .bind(tenant.as_uuid())
                    .fetch_optional(self.reader())
                    .await?;
                row.map(|row| verifier_from(&row, &self.secrets))
                    .transpose()
            }

            async fn jwt_verifier_for(
                &self,
                issuer: &str,
                audience: &str,
            ) -> Result<Option<JwtVerifier>, JobsError> {
                let sql = format!(
                    "SELECT {VERIFIER_COLUMNS} FROM jwt_verifiers \
                     WHERE issuer = $1 AND audience = $2"
                );
                let row = sqlx::query(&sql)
                    .bind(issuer)
                    .bind(audience)
                    .fetch_optional(self.reader())
                    .await?;
                row.map(|row| verifier_from(&row, &self.secrets))
                    .transpose()
            }

            async fn delete_jwt_verifier(&self, tenant: TenantId) -> Result<bool, JobsError> {
                let done = sqlx::query("DELETE FROM jwt_verifiers WHERE tenant_id = $1")
                    .bind(tenant.as_uuid())
                    .execute(self.writer())
                    .await?;
                self.auth_changed();
                Ok(done.rows_affected() > 0)
            }

            async fn stored_jwt_secrets(&self) -> Result<Vec<StoredJwtSecret>, JobsError> {
                let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as(
                    "SELECT tenant_id, hs256_secret FROM jwt_verifiers \
                     WHERE hs256_secret IS NOT NULL",
                )
                .fetch_all(self.reader())
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(tenant, sealed)| StoredJwtSecret {
                        tenant: TenantId::from_uuid(tenant),
                        sealed,
                    })
                    .collect())
            }

            async fn replace_stored_jwt_secret(
                &self,
                old: &StoredJwtSecret,
                sealed: &str,
            ) -> Result<bool, JobsError> {
                let done = sqlx::query(
                    "UPDATE jwt_verifiers SET hs256_secret = $2 \
                     WHERE tenant_id = $1 AND hs256_secret = $3",
                )
                .bind(old.tenant.as_uuid())
                .bind(sealed)
                .bind(&old.sealed)
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

jwt_verifier_store!(PgStore);
jwt_verifier_store!(SqliteStore);
