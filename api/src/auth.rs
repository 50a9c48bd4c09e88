//! `Authorization: Bearer <api key>` → the tenant, or `Bearer <athlete token>` → the tenant
//! scoped to one athlete ([`Caller`]; told apart by shape), under two limits: the key's (or
//! the athlete's) request rate, and the client address's rate of failed authentications (so
//! guessing keys or forging tokens is slow and an unknown key costs no more than a known one).

use aide::OperationInput;
use aide::generate::GenContext;
use aide::openapi::{Operation, Response as DocResponse, StatusCode as DocStatus};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::ConnectInfo;
use sparta_coach::athlete::AthleteId;
use sparta_jobs::{ApiKey, ApiKeyHash, AthleteKey, Job, OperatorToken, OperatorTokenHash, Tenant};

use crate::athlete_token::{AthleteCaller, looks_like_jwt};
use crate::context::AppCtx;
use crate::error::ApiError;

/// The name of the security scheme in the OpenAPI document.
pub(crate) const SECURITY_SCHEME: &str = "bearer";

/// Who calls: a tenant by one of its API keys, or one of its athletes by a token of the
/// tenant's own sign-in (see [`crate::athlete_token`]), scoped to that athlete. Extracting it
/// is what makes a route open to athletes; [`Authenticated`] takes API keys only.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    /// The tenant acted for.
    pub tenant: Tenant,
    /// The athlete a token is scoped to; `None` for an API key (the whole tenant).
    pub athlete: Option<AthleteKey>,
}

impl Caller {
    /// Whether this caller acts for a job for `athlete` (the job's `input.athlete.id`): a
    /// tenant's key for any, an athlete's token for that athlete's only.
    pub(crate) fn acts_for(&self, athlete: Option<&AthleteId>) -> bool {
        match &self.athlete {
            Some(own) => athlete.map(AthleteId::as_str) == Some(own.as_str()),
            None => true,
        }
    }

    /// `job`, if this caller may see it: a tenant's key sees all its jobs, an athlete's token
    /// only that athlete's (another's is 404, exactly like a missing job).
    pub(crate) fn visible(&self, job: Job) -> Result<Job, ApiError> {
        if self.acts_for(job.athlete_id.as_ref()) {
            Ok(job)
        } else {
            Err(ApiError::NotFound("no such job".into()))
        }
    }
}

/// The peer address of a request (unspecified when the server was not given it): what the
/// failed-authentication limit is kept by.
pub(crate) fn client_addr(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip())
}

/// [`client_addr`] as an extractor.
pub(crate) struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(client_addr(parts)))
    }
}

impl FromRequestParts<AppCtx> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &AppCtx) -> Result<Self, ApiError> {
        let config = &ctx.api.config;
        let client = client_addr(parts);
        let now = std::time::Instant::now();
        let (rate, burst) = (config.auth_failures_per_sec, config.auth_failure_burst);
        // An address that keeps failing is answered before any work is done for it.
        if ctx.failed_auth.exhausted(&client, rate, burst, now) {
            ctx.failed_auth.admit(&client, rate, burst, now)?;
        }
        let (per_sec, per_burst) = (config.rate_per_key_per_sec, config.rate_burst_per_key);
        let caller = match authenticate(parts, ctx).await {
            Ok(Credential::Key(tenant, hash)) => {
                ctx.rate.admit(&hash, per_sec, per_burst, now)?;
                Caller {
                    tenant,
                    athlete: None,
                }
            }
            Ok(Credential::Token(token)) => {
                // Each athlete has the budget of a key: one app's athletes do not share one.
                let bucket = (token.tenant.id, token.athlete.clone());
                ctx.athlete_rate.admit(&bucket, per_sec, per_burst, now)?;
                Caller {
                    tenant: token.tenant,
                    athlete: Some(token.athlete),
                }
            }
            Err(error @ (ApiError::Unauthorized(_) | ApiError::InvalidToken { .. })) => {
                // Every failure takes a token from the address; the one that empties the bucket
                // is already answered 429.
                ctx.failed_auth.admit(&client, rate, burst, now)?;
                return Err(error);
            }
            Err(other) => return Err(other),
        };
        tracing::Span::current().record("tenant", tracing::field::display(&caller.tenant.name));
        Ok(caller)
    }
}

/// The tenant that owns the request's API key. Extracting it is what makes a route
/// authenticated for tenants' keys only (an athlete's token there is 403); a handler without
/// it or [`Caller`] is public.
#[derive(Clone, Debug)]
pub(crate) struct Authenticated(pub Tenant);

impl FromRequestParts<AppCtx> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &AppCtx) -> Result<Self, ApiError> {
        match Caller::from_request_parts(parts, ctx).await? {
            Caller {
                tenant,
                athlete: None,
            } => Ok(Self(tenant)),
            Caller {
                athlete: Some(_), ..
            } => Err(ApiError::Forbidden(
                "this route takes the tenant's API key, not an athlete's token".into(),
            )),
        }
    }
}

/// What a bearer credential proved.
enum Credential {
    /// A tenant's API key, and its hash (the rate limit's bucket).
    Key(Tenant, ApiKeyHash),
    /// An athlete's token.
    Token(AthleteCaller),
}

/// The bearer credential checked: an API key looked up, or a token verified.
async fn authenticate(parts: &Parts, ctx: &AppCtx) -> Result<Credential, ApiError> {
    let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized(
            "missing Authorization header; send `Authorization: Bearer <api key or athlete token>`"
                .into(),
        )
    })?;
    let malformed = || {
        ApiError::Unauthorized(
            "malformed Authorization header; send `Authorization: Bearer <api key or athlete token>`"
                .into(),
        )
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(malformed)?;
    // The scheme name is case-insensitive (RFC 9110 §11.1).
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed());
    }
    let token = token.trim();
    if looks_like_jwt(token) {
        let epoch = ctx.api.changes.auth_epoch();
        return ctx
            .athlete_tokens
            .verify(ctx.api.store.as_ref(), epoch, token)
            .await
            .map(Credential::Token);
    }
    let key =
        ApiKey::parse(token).map_err(|_| ApiError::Unauthorized("malformed API key".into()))?;
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
    Ok(Credential::Key(owner.tenant, hash))
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

impl OperationInput for Caller {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        Authenticated::operation_input(ctx, operation);
    }

    fn inferred_early_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<DocStatus>, DocResponse)> {
        Authenticated::inferred_early_responses(ctx, operation)
    }
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
                    "`UNAUTHORIZED`: missing, malformed, unknown, revoked or expired API key; or \
                     an athlete token that does not verify (`details.reason`).",
                ),
                (
                    403,
                    "`FORBIDDEN`: the tenant is disabled; or an athlete's token on a route for \
                     the tenant's key, or for another athlete.",
                ),
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
