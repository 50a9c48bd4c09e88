//! [`JwtVerifierStore`] on Postgres. Changes notify every process through a trigger (migration
//! `20261207000012`).

use async_trait::async_trait;

use super::jwt_verifiers::{
    JwtVerifierStore, StoredJwtSecret, VERIFIER_COLUMNS, key_columns, taken, verifier_from,
};
use crate::JobsError;
use crate::jwt_verifier::JwtVerifier;
use crate::model::TenantId;
use crate::store::PgStore;

#[async_trait]
impl JwtVerifierStore for PgStore {
    async fn put_jwt_verifier(&self, verifier: &JwtVerifier) -> Result<JwtVerifier, JobsError> {
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
            .bind(verifier.updated_at)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| taken(e, verifier))?
            .ok_or(JobsError::NotFound)?;
        verifier_from(&row, &self.secrets)
    }

    async fn jwt_verifier(&self, tenant: TenantId) -> Result<Option<JwtVerifier>, JobsError> {
        let sql = format!("SELECT {VERIFIER_COLUMNS} FROM jwt_verifiers WHERE tenant_id = $1");
        let row = sqlx::query(&sql)
            .bind(tenant.as_uuid())
            .fetch_optional(&self.pool)
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
            "SELECT {VERIFIER_COLUMNS} FROM jwt_verifiers WHERE issuer = $1 AND audience = $2"
        );
        let row = sqlx::query(&sql)
            .bind(issuer)
            .bind(audience)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| verifier_from(&row, &self.secrets))
            .transpose()
    }

    async fn delete_jwt_verifier(&self, tenant: TenantId) -> Result<bool, JobsError> {
        let done = sqlx::query("DELETE FROM jwt_verifiers WHERE tenant_id = $1")
            .bind(tenant.as_uuid())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn stored_jwt_secrets(&self) -> Result<Vec<StoredJwtSecret>, JobsError> {
        let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as(
            "SELECT tenant_id, hs256_secret FROM jwt_verifiers WHERE hs256_secret IS NOT NULL",
        )
        .fetch_all(&self.pool)
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
            "UPDATE jwt_verifiers SET hs256_secret = $2 WHERE tenant_id = $1 AND hs256_secret = $3",
        )
        .bind(old.tenant.as_uuid())
        .bind(sealed)
        .bind(&old.sealed)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
