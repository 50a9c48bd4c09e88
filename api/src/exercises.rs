//! The exercise catalogue, the ids every plan, swap and analysis speaks in: `GET /v1/exercises`
//! (typo-tolerant name search and filters, cursor pages), `GET /v1/exercises/{id}`, and the
//! vocabularies `GET /v1/muscles` and `GET /v1/equipment`.
//!
//! Served from the catalogue embedded in the binary (parsed once, searched in memory: no store
//! round trip). Every answer carries the catalogue's `ETag` (a hash of the catalogue and of this
//! version, so a new release with a new answer shape gets a new tag), and a request whose
//! `If-None-Match` holds it is answered `304 Not Modified` with no body.

use std::collections::HashMap;
use std::sync::OnceLock;

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::generate::GenContext;
use aide::openapi::{Operation, Parameter};
use aide::transform::TransformOperation;
use aide::{OperationInput, OperationOutput};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use sparta_coach::catalogue::{Catalogue, Exercise, MAX_EXERCISE_ID_CHARS};
use sparta_coach::exercise_search;
use sparta_coach::vocab::{Category, Equipment, Force, Level, Mechanic, Muscle};

use crate::auth::Caller;
use crate::context::AppCtx;
use crate::envelope::{Page, Reply};
use crate::error::{ApiError, FieldIssue};
use crate::params::{header_doc, page_limit, query_doc, query_multimap};

/// Page size of `GET /v1/exercises` when `limit` is absent.
const DEFAULT_LIMIT: u32 = 50;
/// Largest page of `GET /v1/exercises`.
const MAX_LIMIT: u32 = 200;
/// Longest name search, in characters (the longest name is far shorter).
const MAX_QUERY_CHARS: usize = 100;
/// How long a client may use an answer without asking again; then it revalidates with the tag.
const CACHE_CONTROL: &str = "private, max-age=3600, must-revalidate";
/// A catalogue id, as the path parameter's documented pattern.
const ID_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";
/// Every string [`decode_cursor`] takes: two bytes in base64url without padding (three
/// characters, the last one carrying four bits).
const CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048]$";

/// The catalogue routes.
pub(crate) fn routes() -> ApiRouter<AppCtx> {
    ApiRouter::new()
        .api_route("/v1/exercises", get_with(list, list_docs))
        .api_route("/v1/exercises/{id}", get_with(get, get_docs))
        .api_route("/v1/muscles", get_with(muscles, muscles_docs))
        .api_route("/v1/equipment", get_with(equipment, equipment_docs))
}

/// The validator of every catalogue answer: weak, because the envelope around the same data
/// differs per request (request id, timestamp).
fn etag() -> &'static HeaderValue {
    static TAG: OnceLock<HeaderValue> = OnceLock::new();
    TAG.get_or_init(|| {
        let digest = Sha256::new()
            .chain_update(env!("CARGO_PKG_VERSION"))
            .chain_update([0])
            .chain_update(Catalogue::source())
            .finalize();
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        HeaderValue::from_str(&format!("W/\"{hex}\""))
            .unwrap_or(HeaderValue::from_static("W/\"0\""))
    })
}

/// Whether the request's `If-None-Match` already holds [`etag`] (weak comparison, `*` included).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Freshness(bool);

impl<S: Send + Sync> FromRequestParts<S> for Freshness {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let ours = etag().to_str().unwrap_or_default();
        let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
        let fresh = parts
            .headers
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|tag| tag.trim() == "*" || opaque(tag) == opaque(ours));
        Ok(Self(fresh))
    }
}

impl OperationInput for Freshness {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        let parameter = header_doc(
            "If-None-Match",
            "The `ETag` of an earlier answer: when the catalogue is unchanged the answer is \
             `304 Not Modified` with no body.",
            json!({"type": "string"}),
        );
        aide::operation::add_parameters(ctx, operation, [parameter]);
    }
}

/// A catalogue answer: the data with its `ETag`, or `304` when the client already holds it.
#[derive(Debug)]
pub(crate) enum Cached<T> {
    /// The client's copy is current.
    NotModified,
    /// The data.
    Fresh(Reply<T>),
}

impl<T> Cached<T> {
    /// `reply`, unless the request showed it already holds it (then the reply is never built).
    fn answer(
        freshness: Freshness,
        reply: impl FnOnce() -> Result<Reply<T>, ApiError>,
    ) -> Result<Self, ApiError> {
        if freshness.0 {
            Ok(Self::NotModified)
        } else {
            reply().map(Self::Fresh)
        }
    }
}

impl<T: Serialize> IntoResponse for Cached<T> {
    fn into_response(self) -> Response {
        let mut response = match self {
            Cached::NotModified => StatusCode::NOT_MODIFIED.into_response(),
            Cached::Fresh(reply) => reply.into_response(),
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, etag().clone());
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        );
        response
    }
}

impl<T: JsonSchema> OperationOutput for Cached<T> {
    type Inner = <Reply<T> as OperationOutput>::Inner;

    fn operation_response(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Option<aide::openapi::Response> {
        Reply::<T>::operation_response(ctx, operation)
    }
}

/// Adds the `304` answer and the `ETag` header to a catalogue operation's document.
fn cacheable(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.response_with::<304, (), _>(|r| {
        r.description("The catalogue has not changed since the `ETag` in `If-None-Match`.")
    })
}

/// The filters and page of `GET /v1/exercises`.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExerciseQuery {
    q: Option<String>,
    muscle: Option<Muscle>,
    equipment: Vec<Equipment>,
    level: Option<Level>,
    category: Option<Category>,
    force: Option<Force>,
    mechanic: Option<Mechanic>,
    offset: usize,
    limit: u32,
}

/// The query parameters `GET /v1/exercises` accepts.
const PARAMETERS: &[&str] = &[
    "q",
    "muscle",
    "equipment",
    "level",
    "category",
    "force",
    "mechanic",
    "cursor",
    "limit",
];

impl ExerciseQuery {
    /// Whether `exercise` passes every filter but the name search.
    fn admits(&self, exercise: &Exercise) -> bool {
        self.muscle.is_none_or(|m| exercise.works(m))
            && (self.equipment.is_empty() || self.equipment.contains(&exercise.equipment_needed()))
            && self.level.is_none_or(|l| exercise.level == l)
            && self.category.is_none_or(|c| exercise.category == c)
            && (self.force.is_none() || exercise.force == self.force)
            && (self.mechanic.is_none() || exercise.mechanic == self.mechanic)
    }

    /// The page of matching exercises, and the cursor after it when more follow.
    fn page(&self) -> (Vec<&'static Exercise>, Option<String>) {
        let mut matching = match &self.q {
            Some(q) => exercise_search::search(q),
            None => Catalogue::get().all().iter().collect(),
        }
        .into_iter()
        .filter(|e| self.admits(e))
        .skip(self.offset);
        let page: Vec<_> = matching.by_ref().take(self.limit as usize).collect();
        let next = matching
            .next()
            .map(|_| encode_cursor(self.offset + page.len()));
        (page, next)
    }
}

/// A vocabulary value from a query parameter, or an issue naming the parameter and the values.
fn vocabulary<V: Copy>(
    name: &str,
    raw: &str,
    all: &[V],
    spell: fn(V) -> &'static str,
    issues: &mut Vec<FieldIssue>,
) -> Option<V> {
    let found = all.iter().copied().find(|&v| spell(v) == raw);
    if found.is_none() {
        issues.push(
            FieldIssue::at(name, format!("unknown {name} `{raw}`")).with_details(
                json!({ "allowed": all.iter().map(|&v| spell(v)).collect::<Vec<_>>() }),
            ),
        );
    }
    found
}

/// The position after `offset` results, opaque: its two bytes in base64url. Any cursor of the
/// documented pattern decodes (one past the end is an empty last page), so the document and
/// the parser agree exactly.
fn encode_cursor(offset: usize) -> String {
    let offset = u16::try_from(offset).unwrap_or(u16::MAX);
    URL_SAFE_NO_PAD.encode(offset.to_be_bytes())
}

fn decode_cursor(raw: &str) -> Option<usize> {
    let bytes: [u8; 2] = URL_SAFE_NO_PAD.decode(raw).ok()?.try_into().ok()?;
    Some(usize::from(u16::from_be_bytes(bytes)))
}

impl<S: Send + Sync> FromRequestParts<S> for ExerciseQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let map = query_multimap(parts, PARAMETERS, &["equipment"])?;
        let one = |name: &str| map.get(name).and_then(|values| values.first());
        let mut issues = Vec::new();
        let mut query = ExerciseQuery {
            limit: DEFAULT_LIMIT,
            ..ExerciseQuery::default()
        };
        if let Some(q) = one("q") {
            let chars = q.chars().count();
            if q.trim().is_empty() || chars > MAX_QUERY_CHARS {
                issues.push(
                    FieldIssue::at(
                        "q",
                        format!("q must hold a name or part of one, at most {MAX_QUERY_CHARS} characters"),
                    )
                    .with_details(json!({ "minLength": 1, "maxLength": MAX_QUERY_CHARS })),
                );
            } else {
                query.q = Some(q.clone());
            }
        }
        if let Some(raw) = one("muscle") {
            query.muscle = vocabulary("muscle", raw, Muscle::ALL, Muscle::as_str, &mut issues);
        }
        for raw in map.get("equipment").into_iter().flatten() {
            if let Some(item) = vocabulary(
                "equipment",
                raw,
                Equipment::ALL,
                Equipment::as_str,
                &mut issues,
            ) && !query.equipment.contains(&item)
            {
                query.equipment.push(item);
            }
        }
        if let Some(raw) = one("level") {
            query.level = vocabulary("level", raw, Level::ALL, Level::as_str, &mut issues);
        }
        if let Some(raw) = one("category") {
            query.category = vocabulary(
                "category",
                raw,
                Category::ALL,
                Category::as_str,
                &mut issues,
            );
        }
        if let Some(raw) = one("force") {
            query.force = vocabulary("force", raw, Force::ALL, Force::as_str, &mut issues);
        }
        if let Some(raw) = one("mechanic") {
            query.mechanic = vocabulary(
                "mechanic",
                raw,
                Mechanic::ALL,
                Mechanic::as_str,
                &mut issues,
            );
        }
        if let Some(raw) = one("limit") {
            match page_limit(raw, MAX_LIMIT) {
                Ok(limit) => query.limit = limit,
                Err(issue) => issues.push(issue),
            }
        }
        if let Some(raw) = one("cursor") {
            match decode_cursor(raw) {
                Some(offset) => query.offset = offset,
                None => issues.push(FieldIssue::at(
                    "cursor",
                    "cursor is not one this API produced; pass `meta.page.next_cursor` unchanged",
                )),
            }
        }
        if issues.is_empty() {
            Ok(query)
        } else {
            Err(ApiError::Validation(issues))
        }
    }
}

/// `{"type": "string", "enum": [...]}` of a vocabulary.
fn enum_schema<V: Copy>(all: &[V], spell: fn(V) -> &'static str) -> Value {
    json!({ "type": "string", "enum": all.iter().map(|&v| spell(v)).collect::<Vec<_>>() })
}

impl OperationInput for ExerciseQuery {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        let mut equipment = query_doc(
            "equipment",
            "The athlete's equipment, repeated for each item (`equipment=barbell&equipment=dumbbell`): \
             only exercises it allows (an exercise the catalogue lists without equipment needs \
             `body only`).",
            json!({ "type": "array", "items": enum_schema(Equipment::ALL, Equipment::as_str) }),
        );
        if let Parameter::Query { parameter_data, .. } = &mut equipment {
            parameter_data.explode = Some(true);
        }
        let parameters = [
            query_doc(
                "q",
                "Name search, forgiving typos and word beginnings (`barbel sqat`, `deadl`); \
                 results ranked by closeness.",
                json!({ "type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS, "pattern": "\\S" }),
            ),
            query_doc(
                "muscle",
                "Only exercises working this muscle, as a primary or a secondary muscle.",
                enum_schema(Muscle::ALL, Muscle::as_str),
            ),
            equipment,
            query_doc(
                "level",
                "Only exercises of this level.",
                enum_schema(Level::ALL, Level::as_str),
            ),
            query_doc(
                "category",
                "Only exercises of this category.",
                enum_schema(Category::ALL, Category::as_str),
            ),
            query_doc(
                "force",
                "Only exercises of this force type.",
                enum_schema(Force::ALL, Force::as_str),
            ),
            query_doc(
                "mechanic",
                "Only exercises of this mechanic.",
                enum_schema(Mechanic::ALL, Mechanic::as_str),
            ),
            query_doc(
                "limit",
                "Page size.",
                json!({ "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT }),
            ),
            query_doc(
                "cursor",
                "Opaque position from the previous page's `meta.page.next_cursor`.",
                json!({ "type": "string", "pattern": CURSOR_PATTERN }),
            ),
        ];
        aide::operation::add_parameters(ctx, operation, parameters);
    }
}

/// `GET /v1/exercises`.
pub(crate) async fn list(
    _caller: Caller,
    query: ExerciseQuery,
    freshness: Freshness,
) -> Result<Cached<&'static Exercise>, ApiError> {
    Cached::answer(freshness, || {
        let (page, next_cursor) = query.page();
        Ok(Reply::many(
            page,
            Some(Page {
                next_cursor,
                limit: query.limit,
            }),
        ))
    })
}

fn list_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    cacheable(
        op.id("listExercises")
            .tag("catalogue")
            .summary("Search and filter the exercise catalogue")
            .description(
                "The exercises whose ids jobs use. Without `q`, in id order; with `q`, best \
                 match first. Filters combine (all must hold). Cacheable: see `ETag`.",
            )
            .response_with::<200, Reply<Exercise>, _>(|r| r.description("A page of exercises.")),
    )
}

/// The id of `/v1/exercises/{id}`: any text that is not a catalogue id is 404, like an unknown one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ExerciseIdParam(&'static Exercise);

impl<S: Send + Sync> FromRequestParts<S> for ExerciseIdParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound("no such exercise".into()))?;
        let catalogue = Catalogue::get();
        catalogue.by_id(&raw).map(Self).ok_or_else(|| {
            let closest = catalogue.closest_ids(&raw, 3).join("`, `");
            // The id is not echoed: a 404 never repeats what the client sent as if it were data.
            ApiError::NotFound(format!(
                "no such exercise in the catalogue; the closest ids are `{closest}`"
            ))
        })
    }
}

impl OperationInput for ExerciseIdParam {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        crate::params::path_parameter(
            ctx,
            operation,
            "id",
            "A catalogue id, e.g. `barbell-squat`. An unknown id is 404 with the closest ids.",
            json!({ "type": "string", "minLength": 1, "maxLength": MAX_EXERCISE_ID_CHARS, "pattern": ID_PATTERN }),
        );
    }
}

/// `GET /v1/exercises/{id}`.
pub(crate) async fn get(
    _caller: Caller,
    ExerciseIdParam(exercise): ExerciseIdParam,
    freshness: Freshness,
) -> Result<Cached<&'static Exercise>, ApiError> {
    Cached::answer(freshness, || Ok(Reply::ok(exercise)))
}

fn get_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    cacheable(
        op.id("getExercise")
            .tag("catalogue")
            .summary("One exercise")
            .response_with::<200, Reply<Exercise>, _>(|r| r.description("The exercise.")),
    )
}

/// A muscle, and how many exercises work it.
#[derive(Clone, Copy, Debug, Serialize, JsonSchema)]
pub(crate) struct MuscleView {
    /// The muscle, as inputs spell it (`injuries[].area`, `priority_muscles`, `muscle=`).
    pub name: Muscle,
    /// Exercises with it as a primary muscle.
    pub primary_exercises: usize,
    /// Exercises working it at all (primary or secondary).
    pub exercises: usize,
}

/// A kind of equipment, and how many exercises need it.
#[derive(Clone, Copy, Debug, Serialize, JsonSchema)]
pub(crate) struct EquipmentView {
    /// The equipment, as `athlete.equipment` and `equipment=` spell it.
    pub name: Equipment,
    /// Exercises that need it.
    pub exercises: usize,
}

/// The vocabularies with their counts, computed once.
fn vocabularies() -> &'static (Vec<MuscleView>, Vec<EquipmentView>) {
    static VOCABULARIES: OnceLock<(Vec<MuscleView>, Vec<EquipmentView>)> = OnceLock::new();
    VOCABULARIES.get_or_init(|| {
        let all = Catalogue::get().all();
        let muscles = Muscle::ALL
            .iter()
            .map(|&name| MuscleView {
                name,
                primary_exercises: all
                    .iter()
                    .filter(|e| e.primary_muscles.contains(&name))
                    .count(),
                exercises: all.iter().filter(|e| e.works(name)).count(),
            })
            .collect();
        let mut needed: HashMap<Equipment, usize> = HashMap::new();
        for exercise in all {
            *needed.entry(exercise.equipment_needed()).or_default() += 1;
        }
        let equipment = Equipment::ALL
            .iter()
            .map(|&name| EquipmentView {
                name,
                exercises: needed.get(&name).copied().unwrap_or_default(),
            })
            .collect();
        (muscles, equipment)
    })
}

/// `GET /v1/muscles`.
pub(crate) async fn muscles(
    _caller: Caller,
    freshness: Freshness,
) -> Result<Cached<MuscleView>, ApiError> {
    Cached::answer(freshness, || {
        Ok(Reply::many(vocabularies().0.clone(), None))
    })
}

fn muscles_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    cacheable(
        op.id("listMuscles")
            .tag("catalogue")
            .summary("The muscles")
            .response_with::<200, Reply<MuscleView>, _>(|r| r.description("Every muscle.")),
    )
}

/// `GET /v1/equipment`.
pub(crate) async fn equipment(
    _caller: Caller,
    freshness: Freshness,
) -> Result<Cached<EquipmentView>, ApiError> {
    Cached::answer(freshness, || {
        Ok(Reply::many(vocabularies().1.clone(), None))
    })
}

fn equipment_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    cacheable(
        op.id("listEquipment")
            .tag("catalogue")
            .summary("The equipment")
            .response_with::<200, Reply<EquipmentView>, _>(|r| {
                r.description("Every kind of equipment.")
            }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_cursor(&encode_cursor(150)), Some(150));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor(""), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("abc")), None);
        // Every cursor the pattern allows decodes (the pattern's last class, character by
        // character), and no other last character does.
        let last_class = CURSOR_PATTERN
            .split('[')
            .nth(2)
            .unwrap()
            .split(']')
            .next()
            .unwrap();
        for a in ["A", "z", "-", "_", "0"] {
            for last in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".chars() {
                let cursor = format!("{a}{a}{last}");
                assert_eq!(
                    decode_cursor(&cursor).is_some(),
                    last_class.contains(last),
                    "{cursor}"
                );
            }
        }
    }

    #[test]
    fn pages_cover_the_filtered_catalogue_once() {
        let query = ExerciseQuery {
            equipment: vec![Equipment::Barbell],
            limit: 40,
            ..ExerciseQuery::default()
        };
        let mut seen = Vec::new();
        let mut query = query;
        loop {
            let (page, next) = query.page();
            seen.extend(page.iter().map(|e| e.id.clone()));
            match next {
                Some(cursor) => query.offset = decode_cursor(&cursor).unwrap(),
                None => break,
            }
        }
        let barbell = Catalogue::get()
            .all()
            .iter()
            .filter(|e| e.equipment == Some(Equipment::Barbell))
            .count();
        assert_eq!(seen.len(), barbell);
        let mut unique = seen.clone();
        unique.dedup();
        assert_eq!(unique, seen);
    }

    #[test]
    fn the_tag_is_weak_and_stable() {
        let tag = etag().to_str().unwrap();
        assert!(tag.starts_with("W/\"") && tag.ends_with('"'), "{tag}");
        assert_eq!(etag(), etag());
    }
}
