//! `Authorization: Bearer <api key>` → the tenant, under two limits: the key's request rate,
//! and the client address's rate of failed authentications (so guessing keys is slow and an
//! unknown key costs no more than a known one).

use aide::OperationInput;
use aide::generate::GenContext;
use aide::openapi::{Operation, Response as DocResponse, StatusCode as DocStatus};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::ConnectInfo;
use sparta_jobs::{ApiKey, ApiKeyHash, OperatorToken, OperatorTokenHash, Tenant};

use crate::context::AppCtx;
use crate::error::ApiError;

/// The name of the security scheme in the OpenAPI document.
pub(crate) const SECURITY_SCHEME: &str = "bearer";

/// The tenant that owns the request's API key. Extracting it is what makes a route
/// authenticated; a handler without it is public.
#[derive(Clone, Debug)]
pub(crate) struct Authenticated(pub Tenant);

impl FromRequestParts<AppCtx> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &AppCtx) -> Result<Self, ApiError> {
        let config = &ctx.api.config;
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        let now = std::time::Instant::now();
        let (rate, burst) = (config.auth_failures_per_sec, config.auth_failure_burst);
        // An address that keeps failing is answered before any work is done for it.
        if ctx.failed_auth.exhausted(&client, rate, burst, now) {
            ctx.failed_auth.admit(&client, rate, burst, now)?;
        }
        match authenticate(parts, ctx).await {
            Ok(tenant) => {
                ctx.rate.admit(
                    &tenant.1,
                    config.rate_per_key_per_sec,
                    config.rate_burst_per_key,
                    now,
                )?;
                tracing::Span::current().record("tenant", tracing::field::display(&tenant.0.name));
                Ok(Self(tenant.0))
            }
            Err(ApiError::Unauthorized(message)) => {
                // Every failure takes a token from the address; the one that empties the bucket
                // is already answered 429.
                ctx.failed_auth.admit(&client, rate, burst, now)?;
                Err(ApiError::Unauthorized(message))
            }
            Err(other) => Err(other),
        }
    }
}

/// The tenant owning the request's key, and the key's hash (the rate limit's bucket).
async fn authenticate(parts: &Parts, ctx: &AppCtx) -> Result<(Tenant, ApiKeyHash), ApiError> {
    let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized(
            "missing Authorization header; send `Authorization: Bearer <api key>`".into(),
        )
    })?;
    let malformed = || {
        ApiError::Unauthorized(
            "malformed Authorization header; send `Authorization: Bearer <api key>`".into(),
        )
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(malformed)?;
    // The scheme name is case-insensitive (RFC 9110 §11.1).
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed());
    }
    let key = ApiKey::parse(token.trim())
        .map_err(|_| ApiError::Unauthorized("malformed API key".into()))?;
    let hash = key.hash();
    let owner = ctx
        .tenants
        .owner(ctx.api.store.as_ref(), &ctx.api.changes, &hash)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("unknown, revoked or expired API key".into()))?;
    if owner.tenant.disabled_at.is_some() {
        return Err(ApiError::Forbidden(format!(
            "tenant '{}' is disabled",
            owner.tenant.name
        )));
    }
    Ok((owner.tenant, hash))
}

/// The operator, by the bearer token whose hash is `admin.token_hash`. Extracting it is what
/// makes a route the operator's: a tenant's key there is 403.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Operator;

impl FromRequestParts<AppCtx> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &AppCtx) -> Result<Self, ApiError> {
        check_operator(&parts.headers, ctx.api.config.operator_token_hash.as_ref())?;
        Ok(Self)
    }
}

/// Checks the operator's bearer token: 401 without one or with a token that is not the
/// operator's, 403 for a tenant's API key (valid, but not here) or when no operator token is
/// configured.
pub(crate) fn check_operator(
    headers: &axum::http::HeaderMap,
    expected: Option<&OperatorTokenHash>,
) -> Result<(), ApiError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| ApiError::Unauthorized("the operator's bearer token is required".into()))?;
    let Some(expected) = expected else {
        return Err(ApiError::Forbidden(
            "no operator token is configured (admin.token_hash)".into(),
        ));
    };
    match OperatorToken::parse(presented) {
        Ok(token) if token.hash() == *expected => Ok(()),
        _ if ApiKey::parse(presented).is_ok() => Err(ApiError::Forbidden(
            "this route is for the operator's token, not a tenant's API key".into(),
        )),
        _ => Err(ApiError::Unauthorized("not the operator's token".into())),
    }
}

impl OperationInput for Operator {
    fn operation_input(_ctx: &mut GenContext, operation: &mut Operation) {
        require_bearer(operation);
    }

    fn inferred_early_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<DocStatus>, DocResponse)> {
        documented(
            ctx,
            operation,
            &[
                (
                    401,
                    "`UNAUTHORIZED`: no bearer token, or not the operator's.",
                ),
                (403, "`FORBIDDEN`: a tenant's API key."),
            ],
        )
    }
}

/// Documents that an operation takes the bearer token.
fn require_bearer(operation: &mut Operation) {
    let requirement: aide::openapi::SecurityRequirement =
        [(SECURITY_SCHEME.to_owned(), Vec::new())]
            .into_iter()
            .collect();
    if !operation.security.contains(&requirement) {
        operation.security.push(requirement);
    }
}

/// The error responses an extractor can answer before the handler runs.
fn documented(
    ctx: &mut GenContext,
    operation: &mut Operation,
    responses: &[(u16, &str)],
) -> Vec<(Option<DocStatus>, DocResponse)> {
    use aide::OperationOutput as _;
    responses
        .iter()
        .filter_map(|(status, description)| {
            ApiError::operation_response(ctx, operation).map(|mut response| {
                response.description = (*description).into();
                (Some(DocStatus::Code(*status)), response)
            })
        })
        .collect()
}

impl OperationInput for Authenticated {
    fn operation_input(_ctx: &mut GenContext, operation: &mut Operation) {
        require_bearer(operation);
    }

    fn inferred_early_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<DocStatus>, DocResponse)> {
        documented(
            ctx,
            operation,
            &[
                (
                    401,
                    "`UNAUTHORIZED`: missing, malformed, unknown, revoked or expired API key.",
                ),
                (403, "`FORBIDDEN`: the key's tenant is disabled."),
                (
                    429,
                    "`RATE_LIMIT_EXCEEDED`: too many requests for this API key, too many failed \
                 authentications from this address (or, on submit, too many queued jobs); \
                 retry after `Retry-After` seconds.",
                ),
            ],
        )
    }
}
