//! Daily motivation: the tenant's schedule, athletes' subscriptions and today's message.
//!
//! `PUT/GET /v1/motivation/schedule` set and read when the tenant's own message of the day is
//! prepared (every tenant has one: UTC at the configured default time until it says otherwise).
//! `PUT/GET/DELETE /v1/motivation/subscriptions/{athlete_id}` manage an athlete's personal
//! message. `GET /v1/motivation/today[?athlete_id=]` answers the day's message, creating its job
//! on demand when the scheduler has not yet (the same job the scheduler would create: the store's
//! unique key makes a second one impossible).

use std::time::Duration;

use aide::OperationInput;
use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, put_with};
use aide::generate::GenContext;
use aide::openapi::Operation;
use aide::transform::TransformOperation;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sparta_coach::{InputRejection, JobInput, JobKind};
use sparta_jobs::motivation::{
    LocalTime, MotivationSchedule, ScheduleTarget, TimeZoneName, ensure_daily_job,
};
use sparta_jobs::view::{JobView, instant};
use sparta_jobs::{AthleteKey, JobStatus, JsonText, Tenant};

use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::body::deserialize_object;
use crate::context::AppCtx;
use crate::envelope::Reply;
use crate::error::{ApiError, FieldIssue};
use crate::jobs::wait_for_end;
use crate::params::{athlete_id_schema, query_map, query_parameter, wait_schema, wait_seconds};

/// The motivation resource: the tenant's daily schedule, athletes' subscriptions, today's message.
pub(crate) fn routes() -> ApiRouter<AppCtx> {
    ApiRouter::new()
        .api_route(
            "/v1/motivation/schedule",
            put_with(put_schedule, put_schedule_docs).get_with(get_schedule, get_schedule_docs),
        )
        .api_route(
            "/v1/motivation/subscriptions/{athlete_id}",
            put_with(put_subscription, put_subscription_docs)
                .get_with(get_subscription, get_subscription_docs)
                .delete_with(delete_subscription, delete_subscription_docs),
        )
        .api_route("/v1/motivation/today", get_with(today, today_docs))
}

/// The body of a schedule or subscription.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScheduleRequest {
    /// IANA time zone of the local time, e.g. `Europe/Paris` (`UTC` when absent).
    #[serde(default)]
    pub timezone: Option<String>,
    /// When the message is prepared, local time `HH:MM` (the server default when absent).
    #[serde(default)]
    pub local_time: Option<String>,
    /// The athlete's profile as in the motivation kind's input (`experience`, `goal`; by
    /// default `intermediate` and `general_fitness`). The id comes from the path.
    #[serde(default)]
    pub athlete: Option<Map<String, Value>>,
    /// What personalises the message, as in the motivation kind's input (`streak_days`,
    /// `recent_prs`, `last_workout_date`); send it again whenever it changes.
    #[serde(default)]
    pub context: Option<Value>,
    /// The tone (`encouraging` by default).
    #[serde(default)]
    pub tone: Option<Value>,
}

const SCHEDULE_FIELDS: [&str; 5] = ["timezone", "local_time", "athlete", "context", "tone"];

/// A schedule or subscription as stored.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ScheduleView {
    /// The athlete, or `null` for the tenant's own message.
    pub athlete_id: Option<String>,
    /// IANA time zone.
    pub timezone: String,
    /// Local time `HH:MM`.
    pub local_time: String,
    /// What personalises the message: `athlete`, `context`, `tone`.
    pub profile: Value,
    /// The next local date whose message will be prepared.
    pub next_local_date: String,
    /// When that will happen (RFC 3339).
    #[schemars(with = "DateTime<Utc>")]
    pub next_run_at: String,
    /// Creation time (RFC 3339).
    #[schemars(with = "DateTime<Utc>")]
    pub created_at: String,
    /// Last change (RFC 3339).
    #[schemars(with = "DateTime<Utc>")]
    pub updated_at: String,
}

fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

impl From<MotivationSchedule> for ScheduleView {
    fn from(s: MotivationSchedule) -> Self {
        Self {
            athlete_id: match &s.target {
                ScheduleTarget::Tenant => None,
                ScheduleTarget::Athlete(id) => Some(id.as_str().to_owned()),
            },
            timezone: s.timezone.name().to_owned(),
            local_time: s.local_time.to_string(),
            profile: s.profile,
            next_local_date: day(s.next_local_date),
            next_run_at: instant(s.next_run_at),
            created_at: instant(s.created_at),
            updated_at: instant(s.updated_at),
        }
    }
}

/// The athlete id of `/v1/motivation/subscriptions/{athlete_id}`.
#[derive(Clone, Debug)]
pub(crate) struct AthleteParam(pub AthleteKey);

impl<S: Send + Sync> FromRequestParts<S> for AthleteParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound("no such subscription".into()))?;
        AthleteKey::parse(raw)
            .map(Self)
            .map_err(|e| ApiError::invalid("athlete_id", e.to_string()))
    }
}

impl OperationInput for AthleteParam {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        crate::params::path_parameter(
            ctx,
            operation,
            "athlete_id",
            "The athlete's id in the client's system (1 to 128 printable ASCII characters).",
            crate::params::athlete_id_schema(),
        );
    }
}

/// Parses a schedule body into a schedule for `target`, checking the profile against the
/// motivation kind's input (a bad profile is refused now, not on the day it would run).
fn parse_schedule(
    ctx: &AppCtx,
    tenant: &Tenant,
    target: ScheduleTarget,
    bytes: &[u8],
) -> Result<MotivationSchedule, ApiError> {
    let request: ScheduleRequest = deserialize_object(bytes, &SCHEDULE_FIELDS)?;
    let mut issues = Vec::new();
    let timezone = match request.timezone.as_deref() {
        None => ctx.api.config.motivation_timezone,
        Some(name) => name.parse().unwrap_or_else(|e: sparta_jobs::JobsError| {
            issues.push(FieldIssue::at("timezone", e.to_string()));
            TimeZoneName::UTC
        }),
    };
    let local_time = match request.local_time.as_deref() {
        None => ctx.api.config.motivation_local_time,
        Some(text) => text.parse().unwrap_or_else(|e: sparta_jobs::JobsError| {
            issues.push(FieldIssue::at("local_time", e.to_string()));
            LocalTime::default()
        }),
    };
    let mut profile = Map::new();
    if let Some(athlete) = request.athlete {
        if athlete.contains_key("id") {
            issues.push(FieldIssue::at(
                "athlete.id",
                "the athlete id is the path's `athlete_id`",
            ));
        }
        profile.insert("athlete".into(), Value::Object(athlete));
    }
    if let Some(context) = request.context {
        profile.insert("context".into(), context);
    }
    if let Some(tone) = request.tone {
        profile.insert("tone".into(), tone);
    }
    let now = Utc::now();
    let schedule = MotivationSchedule::starting(
        tenant.id,
        target,
        timezone,
        local_time,
        Value::Object(profile),
        now,
    );
    if issues.is_empty() {
        let input = schedule.job_input(schedule.today(now));
        match JobInput::parse(JobKind::Motivation, &input) {
            Ok(_) => {}
            Err(InputRejection::Invalid(errors)) => {
                issues.extend(errors.iter().map(|e| {
                    FieldIssue::at(e.field.clone(), e.message.clone())
                        .with_details(e.details.clone())
                }));
            }
            Err(InputRejection::BusinessRule(errors)) => {
                return Err(ApiError::BusinessRule(
                    errors
                        .iter()
                        .map(|e| FieldIssue::at(e.field.clone(), e.message.clone()))
                        .collect(),
                ));
            }
        }
    }
    if issues.is_empty() {
        Ok(schedule)
    } else {
        Err(ApiError::Validation(issues))
    }
}

async fn put(
    ctx: &AppCtx,
    tenant: &Tenant,
    target: ScheduleTarget,
    bytes: &[u8],
) -> Result<Reply<ScheduleView>, ApiError> {
    let schedule = parse_schedule(ctx, tenant, target, bytes)?;
    let stored = ctx
        .api
        .store
        .put_motivation_schedule(&schedule, true)
        .await?;
    Ok(Reply::ok(ScheduleView::from(stored)))
}

/// The tenant's own schedule; every tenant has one (the default until it sets its own).
async fn tenant_schedule(ctx: &AppCtx, tenant: &Tenant) -> Result<MotivationSchedule, ApiError> {
    if let Some(schedule) = ctx
        .api
        .store
        .motivation_schedule(tenant.id, &ScheduleTarget::Tenant)
        .await?
    {
        return Ok(schedule);
    }
    let default = MotivationSchedule::starting(
        tenant.id,
        ScheduleTarget::Tenant,
        ctx.api.config.motivation_timezone,
        ctx.api.config.motivation_local_time,
        json!({}),
        Utc::now(),
    );
    Ok(ctx
        .api
        .store
        .put_motivation_schedule(&default, false)
        .await?)
}

async fn subscription(
    ctx: &AppCtx,
    tenant: &Tenant,
    athlete: &AthleteKey,
) -> Result<MotivationSchedule, ApiError> {
    ctx.api
        .store
        .motivation_schedule(tenant.id, &ScheduleTarget::Athlete(athlete.clone()))
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "athlete `{}` has no motivation subscription",
                athlete.as_str()
            ))
        })
}

/// `PUT /v1/motivation/schedule`.
pub(crate) async fn put_schedule(
    State(ctx): State<AppCtx>,
    Authenticated(tenant): Authenticated,
    JsonBody(bytes, _): JsonBody<ScheduleRequest>,
) -> Result<Reply<ScheduleView>, ApiError> {
    put(&ctx, &tenant, ScheduleTarget::Tenant, &bytes).await
}

/// `GET /v1/motivation/schedule`.
pub(crate) async fn get_schedule(
    State(ctx): State<AppCtx>,
    Authenticated(tenant): Authenticated,
) -> Result<Reply<ScheduleView>, ApiError> {
    Ok(Reply::ok(tenant_schedule(&ctx, &tenant).await?.into()))
}

/// `PUT /v1/motivation/subscriptions/{athlete_id}`.
pub(crate) async fn put_subscription(
    State(ctx): State<AppCtx>,
    Authenticated(tenant): Authenticated,
    AthleteParam(athlete): AthleteParam,
    JsonBody(bytes, _): JsonBody<ScheduleRequest>,
) -> Result<Reply<ScheduleView>, ApiError> {
    let target = ScheduleTarget::Athlete(athlete);
    // A new subscription counts against the tenant's cap; replacing one never does. (Two
    // concurrent first subscriptions may both pass at the edge: the cap bounds growth, it
    // is not an exact quota.)
    let max = ctx.api.config.max_subscriptions_per_tenant;
    let store = &ctx.api.store;
    if store
        .motivation_schedule(tenant.id, &target)
        .await?
        .is_none()
    {
        let admitted = ctx
            .subscriptions
            .admit_up_to(tenant.id, max, 1, || {
                store.count_motivation_subscriptions(tenant.id)
            })
            .await?;
        if admitted == 0 {
            return Err(ApiError::BusinessRule(vec![
                FieldIssue::at(
                    "athlete_id",
                    format!(
                        "the tenant has reached its limit of {max} motivation subscriptions; \
                         delete some before adding more"
                    ),
                )
                .with_details(serde_json::json!({ "limit": max })),
            ]));
        }
    }
    put(&ctx, &tenant, target, &bytes).await
}

/// `GET /v1/motivation/subscriptions/{athlete_id}`.
pub(crate) async fn get_subscription(
    State(ctx): State<AppCtx>,
    Authenticated(tenant): Authenticated,
    AthleteParam(athlete): AthleteParam,
) -> Result<Reply<ScheduleView>, ApiError> {
    Ok(Reply::ok(
        subscription(&ctx, &tenant, &athlete).await?.into(),
    ))
}

/// `DELETE /v1/motivation/subscriptions/{athlete_id}`: answers the subscription it removed.
pub(crate) async fn delete_subscription(
    State(ctx): State<AppCtx>,
    Authenticated(tenant): Authenticated,
    AthleteParam(athlete): AthleteParam,
) -> Result<Reply<ScheduleView>, ApiError> {
    let existing = subscription(&ctx, &tenant, &athlete).await?;
    ctx.api
        .store
        .delete_motivation_schedule(tenant.id, &existing.target)
        .await?;
    Ok(Reply::ok(existing.into()))
}

/// The query of `GET /v1/motivation/today`.
#[derive(Clone, Debug)]
pub(crate) struct TodayParams {
    athlete: Option<AthleteKey>,
    wait: Duration,
}

impl FromRequestParts<AppCtx> for TodayParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &AppCtx) -> Result<Self, ApiError> {
        let mut map = query_map(parts, &["athlete_id", "wait"])?;
        let athlete = map
            .remove("athlete_id")
            .map(AthleteKey::parse)
            .transpose()
            .map_err(|e| ApiError::invalid("athlete_id", e.to_string()))?;
        let wait = match map.remove("wait") {
            None => TODAY_WAIT.min(ctx.api.config.max_wait),
            Some(raw) => wait_seconds(&raw, ctx.api.config.max_wait)?,
        };
        Ok(Self { athlete, wait })
    }
}

impl OperationInput for TodayParams {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        query_parameter(
            ctx,
            operation,
            "athlete_id",
            "A subscribed athlete: their personal message instead of the tenant's.",
            athlete_id_schema(),
        );
        query_parameter(
            ctx,
            operation,
            "wait",
            "Seconds to wait for a message being prepared (default 10, at most the server's \
             `max_wait`).",
            wait_schema(),
        );
    }
}

/// How long `GET /v1/motivation/today` waits for a message being prepared by default.
const TODAY_WAIT: Duration = Duration::from_secs(10);

/// Today's message.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TodayView {
    /// The athlete, or `null` for the tenant's message.
    pub athlete_id: Option<String>,
    /// The local date of the message, in the schedule's time zone.
    pub date: String,
    /// The schedule's time zone.
    pub timezone: String,
    /// `ready` once the message exists, `preparing` while its job runs, `failed` if it could
    /// not be prepared.
    #[schemars(regex(pattern = "^(ready|preparing|failed)$"))]
    pub state: String,
    /// The motivation kind's output (message, tone, personalisation), once ready.
    #[schemars(with = "Option<Value>")]
    pub message: Option<JsonText>,
    /// The job that prepares it (see `GET /v1/jobs/{id}`).
    pub job: JobView,
}

/// `GET /v1/motivation/today`.
pub(crate) async fn today(
    State(ctx): State<AppCtx>,
    Authenticated(tenant): Authenticated,
    params: TodayParams,
) -> Result<Reply<TodayView>, ApiError> {
    let schedule = match &params.athlete {
        None => tenant_schedule(&ctx, &tenant).await?,
        Some(athlete) => subscription(&ctx, &tenant, athlete).await?,
    };
    let now = Utc::now();
    let date = schedule.today(now);
    // Preparing the message creates a job: it counts against the queued-jobs cap like any
    // submission, unless the day's job already exists.
    let key = sparta_jobs::motivation::daily_key(&schedule.target, date)?;
    if ctx
        .api
        .store
        .job_by_idempotency_key(tenant.id, &key)
        .await?
        .is_none()
    {
        ctx.queued
            .admit_queued(
                ctx.api.store.as_ref(),
                tenant.id,
                ctx.api.config.max_queued_per_tenant,
            )
            .await?;
    }
    let (job, _) = ensure_daily_job(
        &*ctx.api.store,
        &*ctx.api.queue,
        &schedule,
        date,
        now,
        ctx.api.config.default_max_attempts,
    )
    .await
    .map_err(|e| match e {
        sparta_jobs::JobsError::InvalidValue(reason) => {
            ApiError::Internal(format!("stored motivation profile refused: {reason}"))
        }
        other => other.into(),
    })?;
    let job = wait_for_end(&ctx, tenant.id, job.id, params.wait).await?;
    let state = match job.status {
        JobStatus::Succeeded => "ready",
        JobStatus::Failed | JobStatus::Cancelled => "failed",
        JobStatus::Queued | JobStatus::Running => "preparing",
    };
    Ok(Reply::ok(TodayView {
        athlete_id: params.athlete.map(|a| a.as_str().to_owned()),
        date: day(date),
        timezone: schedule.timezone.name().to_owned(),
        state: state.to_owned(),
        message: job.output.clone(),
        job: JobView::from(job),
    }))
}

pub(crate) fn put_schedule_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("putMotivationSchedule")
        .tag("motivation")
        .summary("Set the tenant's daily message time")
        .description(
            "When (time zone and local time) the tenant's own message of the day is prepared, \
             and what personalises it. Every tenant has a schedule: UTC at the server's default \
             time until it sets one. Daylight-saving changes neither skip nor double a day.",
        )
        .response_with::<200, Reply<ScheduleView>, _>(|r| r.description("The stored schedule."))
        .response_with::<400, ApiError, _>(|r| {
            r.description("`VALIDATION_ERROR`: an unknown time zone, a bad local time or profile; `field` names it.")
        })
}

pub(crate) fn get_schedule_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getMotivationSchedule")
        .tag("motivation")
        .summary("Read the tenant's daily message time")
        .response_with::<200, Reply<ScheduleView>, _>(|r| r.description("The schedule."))
}

pub(crate) fn put_subscription_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("putMotivationSubscription")
        .tag("motivation")
        .summary("Subscribe an athlete (or update the subscription)")
        .description(
            "The athlete gets a personal message every day at their local time. Send the body \
             again whenever the context (streak, PRs, last workout) changes.",
        )
        .response_with::<200, Reply<ScheduleView>, _>(|r| r.description("The stored subscription."))
        .response_with::<400, ApiError, _>(|r| {
            r.description("`VALIDATION_ERROR`: an unknown time zone, a bad local time or context; `field` names it.")
        })
        .response_with::<422, ApiError, _>(|r| {
            r.description("`BUSINESS_RULE_VIOLATION`: a new subscription beyond the tenant's limit (`api.max_subscriptions_per_tenant`, in `details.limit`).")
        })
}

pub(crate) fn get_subscription_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getMotivationSubscription")
        .tag("motivation")
        .summary("Read an athlete's subscription")
        .response_with::<200, Reply<ScheduleView>, _>(|r| r.description("The subscription."))
        .response_with::<404, ApiError, _>(|r| {
            r.description("`NOT_FOUND`: the athlete is not subscribed.")
        })
}

pub(crate) fn delete_subscription_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("deleteMotivationSubscription")
        .tag("motivation")
        .summary("Unsubscribe an athlete")
        .response_with::<200, Reply<ScheduleView>, _>(|r| {
            r.description("The removed subscription.")
        })
        .response_with::<404, ApiError, _>(|r| {
            r.description("`NOT_FOUND`: the athlete is not subscribed.")
        })
}

pub(crate) fn today_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getMotivationToday")
        .tag("motivation")
        .summary("Today's motivation message")
        .description(
            "The tenant's message of the day (or a subscribed athlete's with `?athlete_id=`), for \
             the local date in the schedule's time zone. Prepared by the scheduler at the local \
             time; asked earlier, it is prepared now. There is exactly one message per day: asking \
             again answers the same one.",
        )
        .response_with::<200, Reply<TodayView>, _>(|r| {
            r.description("The message (`state` `ready`), or its job while it is prepared.")
        })
        .response_with::<404, ApiError, _>(|r| {
            r.description("`NOT_FOUND`: the athlete is not subscribed.")
        })
}
