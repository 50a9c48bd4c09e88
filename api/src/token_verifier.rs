//! A tenant's verifier of athlete tokens, as the operator manages it:
//! `PUT|GET|DELETE /v1/admin/tenants/{tenant_id}/token-verifier` (behind the operator's token,
//! merged into the admin router). What a token must carry and how it is checked is in
//! [`crate::athlete_token`]; a change holds on every API process at once (the auth epoch).

use aide::axum::ApiRouter;
use aide::axum::routing::put_with;
use aide::transform::TransformOperation;
use axum::extract::State;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sparta_jobs::JobsError;
use sparta_jobs::jwt_verifier::{JwtKeys, JwtSecret, JwtVerifier};

use crate::auth::Operator;
use crate::body::{JsonBody, deserialize_object};
use crate::context::AppCtx;
use crate::envelope::Reply;
use crate::error::{ApiError, FieldIssue};
use crate::params::AdminTenantParam;

/// The route.
const PATH: &str = "/v1/admin/tenants/{tenant_id}/token-verifier";

/// The routes, for the admin router.
pub(crate) fn routes() -> ApiRouter<AppCtx> {
    ApiRouter::new().api_route(
        PATH,
        put_with(put, put_docs)
            .get_with(get, get_docs)
            .delete_with(delete, delete_docs),
    )
}

/// The body of `PUT …/token-verifier`: exactly one of `jwks_url` and `hs256_secret` (a string;
/// the other absent or null), as the `oneOf` states.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    {"required": ["jwks_url"], "properties": {"jwks_url": {"type": "string"}, "hs256_secret": {"type": "null"}}},
    {"required": ["hs256_secret"], "properties": {"hs256_secret": {"type": "string"}, "jwks_url": {"type": "null"}}}
]))]
pub(crate) struct VerifierRequest {
    /// The `iss` every token must carry (1 to 255 printable ASCII characters, no spaces).
    #[schemars(length(min = 1, max = 255), regex(pattern = "^[!-~]+$"))]
    pub issuer: String,
    /// The `aud` every token must carry (one of its values when it is a list).
    #[schemars(length(min = 1, max = 255), regex(pattern = "^[!-~]+$"))]
    pub audience: String,
    /// Where the tenant's sign-in publishes its keys (RS256, ES256), `http(s)`.
    #[serde(default)]
    #[schemars(length(max = 2048), url)]
    pub jwks_url: Option<String>,
    /// The secret shared with the tenant's sign-in (HS256): its UTF-8 bytes, 32 to 512 of them.
    /// Stored sealed; never shown again.
    #[serde(default)]
    #[schemars(length(min = 32, max = 512), regex(pattern = "^[ -~]+$"))]
    pub hs256_secret: Option<String>,
}

/// A tenant's verifier, as shown (never its secret).
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct VerifierView {
    /// The tenant.
    pub tenant_id: String,
    /// The `iss` tokens must carry.
    pub issuer: String,
    /// The `aud` tokens must carry.
    pub audience: String,
    /// Where the keys come from (RS256, ES256), or `null` for a shared secret.
    pub jwks_url: Option<String>,
    /// Whether tokens are signed with a shared HS256 secret.
    pub hs256: bool,
    /// When it was first registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<JwtVerifier> for VerifierView {
    fn from(v: JwtVerifier) -> Self {
        let (jwks_url, hs256) = match &v.keys {
            JwtKeys::Jwks(url) => (Some(url.as_str().to_owned()), false),
            JwtKeys::Hs256(_) => (None, true),
        };
        Self {
            tenant_id: v.tenant_id.to_string(),
            issuer: v.issuer,
            audience: v.audience,
            jwks_url,
            hs256,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

/// The keys of a request: exactly one source, each checked.
fn keys(request: &VerifierRequest) -> Result<JwtKeys, ApiError> {
    match (&request.jwks_url, &request.hs256_secret) {
        (Some(url), None) => {
            JwtKeys::jwks(url).map_err(|e| ApiError::invalid("jwks_url", e.to_string()))
        }
        // Printable ASCII, as documented: a character is a byte, so the bounds mean the same.
        (None, Some(secret)) if !secret.bytes().all(|b| (b' '..=b'~').contains(&b)) => Err(
            ApiError::invalid("hs256_secret", "hs256_secret must be printable ASCII"),
        ),
        (None, Some(secret)) => JwtSecret::new(secret.as_bytes().to_vec())
            .map(JwtKeys::Hs256)
            .map_err(|e| ApiError::invalid("hs256_secret", e.to_string())),
        _ => Err(ApiError::Validation(vec![FieldIssue::whole(
            "give exactly one of `jwks_url` (RS256, ES256) and `hs256_secret`",
        )])),
    }
}

/// `PUT /v1/admin/tenants/{tenant_id}/token-verifier`.
pub(crate) async fn put(
    State(ctx): State<AppCtx>,
    _: Operator,
    AdminTenantParam(tenant): AdminTenantParam,
    JsonBody(bytes, _): JsonBody<VerifierRequest>,
) -> Result<Reply<VerifierView>, ApiError> {
    const FIELDS: [&str; 4] = ["issuer", "audience", "jwks_url", "hs256_secret"];
    let request: VerifierRequest = deserialize_object(&bytes, &FIELDS)?;
    let keys = keys(&request)?;
    let verifier = JwtVerifier::new(tenant, request.issuer, request.audience, keys, Utc::now())
        .map_err(|e| ApiError::Validation(vec![FieldIssue::whole(e.to_string())]))?;
    let stored = ctx
        .api
        .store
        .put_jwt_verifier(&verifier)
        .await
        .map_err(|e| match e {
            JobsError::NotFound => ApiError::NotFound("no such tenant".into()),
            JobsError::AlreadyExists(what) => ApiError::Conflict {
                message: format!("{what} belongs to another tenant"),
                details: serde_json::json!({}),
            },
            other => other.into(),
        })?;
    tracing::warn!(tenant_id = %tenant, issuer = %stored.issuer, "athlete token verifier set");
    Ok(Reply::ok(stored.into()))
}

fn put_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminPutTokenVerifier")
        .tag("admin")
        .summary("Register a tenant's athlete token verifier (operator)")
        .description(
            "Athlete tokens (JWTs of the tenant's sign-in, `Authorization: Bearer <jwt>`) then act \
             as the tenant, scoped to the athlete in `sub`. Replaces the tenant's verifier; holds \
             on every API process at once.",
        )
        .response_with::<200, Reply<VerifierView>, _>(|r| r.description("The verifier."))
        .response_with::<404, ApiError, _>(|r| r.description("`NOT_FOUND`: no such tenant."))
        .response_with::<409, ApiError, _>(|r| {
            r.description("`CONFLICT`: another tenant verifies this issuer and audience.")
        })
}

/// `GET /v1/admin/tenants/{tenant_id}/token-verifier`.
pub(crate) async fn get(
    State(ctx): State<AppCtx>,
    _: Operator,
    AdminTenantParam(tenant): AdminTenantParam,
) -> Result<Reply<VerifierView>, ApiError> {
    let verifier = ctx.api.store.jwt_verifier(tenant).await?;
    verifier
        .map(|v| Reply::ok(v.into()))
        .ok_or_else(|| ApiError::NotFound("the tenant has no token verifier".into()))
}

fn get_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminGetTokenVerifier")
        .tag("admin")
        .summary("A tenant's athlete token verifier (operator)")
        .response_with::<200, Reply<VerifierView>, _>(|r| r.description("The verifier."))
        .response_with::<404, ApiError, _>(|r| {
            r.description("`NOT_FOUND`: no such tenant, or it has no verifier.")
        })
}

/// What a removal did.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct Removed {
    /// Always true: the tenant's athlete tokens no longer work.
    pub removed: bool,
}

/// `DELETE /v1/admin/tenants/{tenant_id}/token-verifier`.
pub(crate) async fn delete(
    State(ctx): State<AppCtx>,
    _: Operator,
    AdminTenantParam(tenant): AdminTenantParam,
) -> Result<Reply<Removed>, ApiError> {
    if ctx.api.store.delete_jwt_verifier(tenant).await? {
        tracing::warn!(tenant_id = %tenant, "athlete token verifier removed");
        Ok(Reply::ok(Removed { removed: true }))
    } else {
        Err(ApiError::NotFound(
            "the tenant has no token verifier".into(),
        ))
    }
}

fn delete_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminDeleteTokenVerifier")
        .tag("admin")
        .summary("Remove a tenant's athlete token verifier (operator)")
        .response_with::<200, Reply<Removed>, _>(|r| r.description("Removed."))
        .response_with::<404, ApiError, _>(|r| {
            r.description("`NOT_FOUND`: no such tenant, or it has no verifier.")
        })
}
