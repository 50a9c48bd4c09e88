//! Parsing a job submission (`POST /v1/jobs`) from raw bytes, so that every refusal names its
//! field, and the request hash that idempotency compares. A `webhook_url` is parsed once into
//! the URL that is stored and later connected to, and checked against the configured
//! destination policy here (SSRF: scheme, user info, `\`, port, a non-public IP-literal host,
//! `localhost`), so a refused destination answers 400 at `webhook_url` and nothing is stored.

use chrono::Utc;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use sparta_coach::{InputRejection, JobInput, JobKind};
use sparta_jobs::destination::DestinationPolicy;
use sparta_jobs::{
    IdempotencyKey, JobId, JsonText, NewJob, Priority, RequestId, TenantId, WebhookUrl,
};

use crate::body::{deserialize_object, from_object};
use crate::error::{ApiError, FieldIssue};

/// Largest accepted `metadata`, serialized.
pub(crate) const METADATA_MAX_BYTES: usize = 16 * 1024;

/// A job submission.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmitJobRequest {
    /// What is asked (see `GET /v1/kinds`).
    #[schemars(with = "JobKind")]
    pub kind: String,
    /// The question: an object matching the kind's input schema.
    pub input: Value,
    /// Where to POST the job's end (signed, Standard Webhooks); http(s) only.
    #[serde(default)]
    #[schemars(length(max = 2048), url)]
    pub webhook_url: Option<String>,
    /// Urgency, 0 (lowest) to 9 (highest); 5 when absent. A whole number, also when written
    /// `5.0` (as JSON Schema counts integers, and as the job inputs take them).
    #[serde(default)]
    #[schemars(with = "Option<i64>", range(min = 0, max = 9))]
    pub priority: Option<serde_json::Number>,
    /// The client's own data, returned as given (at most 16 KiB serialized).
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
}

/// A submission that passed every check.
#[derive(Debug)]
pub(crate) struct Submission {
    pub kind: JobKind,
    pub input: JobInput,
    pub webhook_url: Option<WebhookUrl>,
    pub priority: Priority,
    pub metadata: Option<Map<String, Value>>,
}

/// Parses and validates a submission body. Structural problems answer 400 (all the top-level
/// ones at once, plus the input's first); business rules 422, only for an otherwise valid body.
/// `destinations` is where a `webhook_url` may point.
pub(crate) fn parse(
    bytes: &[u8],
    destinations: &DestinationPolicy,
) -> Result<Submission, ApiError> {
    checked(deserialize_object(bytes, FIELDS)?, destinations)
}

/// [`parse`] of a body already read as JSON (an item of a batch).
pub(crate) fn parse_value(
    value: Value,
    destinations: &DestinationPolicy,
) -> Result<Submission, ApiError> {
    checked(from_object(value, FIELDS)?, destinations)
}

/// Every check of a submission whose fields have their types.
fn checked(
    request: SubmitJobRequest,
    destinations: &DestinationPolicy,
) -> Result<Submission, ApiError> {
    let mut issues = Vec::new();

    let kind = match request.kind.parse::<JobKind>() {
        Ok(kind) => Some(kind),
        Err(_) => {
            issues.push(
                FieldIssue::at("kind", format!("unknown job kind `{}`", request.kind))
                    .with_details(json!({ "allowed": JobKind::names() })),
            );
            None
        }
    };
    let priority =
        match request.priority {
            None => Some(Priority::DEFAULT),
            Some(value) => match whole(&value)
                .ok_or_else(|| format!("priority must be a whole number, not {value}"))
                .and_then(|value| Priority::new(value).map_err(|e| e.to_string()))
            {
                Ok(priority) => Some(priority),
                Err(message) => {
                    issues.push(FieldIssue::at("priority", message).with_details(
                        json!({ "minimum": Priority::MIN, "maximum": Priority::MAX }),
                    ));
                    None
                }
            },
        };
    let webhook_url = match request
        .webhook_url
        .map(|url| WebhookUrl::submitted(&url, destinations))
        .transpose()
    {
        Ok(url) => url,
        Err(e) => {
            issues.push(FieldIssue::at("webhook_url", e.to_string()));
            None
        }
    };
    if let Some(metadata) = &request.metadata {
        let size = serde_json::to_vec(metadata)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if size > METADATA_MAX_BYTES {
            issues.push(
                FieldIssue::at(
                    "metadata",
                    format!(
                        "metadata is {size} bytes serialized; the limit is {METADATA_MAX_BYTES}"
                    ),
                )
                .with_details(json!({ "max_bytes": METADATA_MAX_BYTES })),
            );
        }
    }
    let mut business = Vec::new();
    let input = match kind.map(|kind| JobInput::parse(kind, &request.input)) {
        Some(Ok(input)) => Some(input),
        Some(Err(InputRejection::Invalid(errors))) => {
            issues.extend(errors.iter().map(FieldIssue::from_input_error));
            None
        }
        Some(Err(InputRejection::BusinessRule(errors))) => {
            business.extend(errors.iter().map(FieldIssue::from_input_error));
            None
        }
        None => None,
    };

    if !issues.is_empty() {
        return Err(ApiError::Validation(issues));
    }
    if !business.is_empty() {
        return Err(ApiError::BusinessRule(business));
    }
    match (kind, input, priority) {
        (Some(kind), Some(input), Some(priority)) => Ok(Submission {
            kind,
            input,
            webhook_url,
            priority,
            metadata: request.metadata,
        }),
        // Every `None` above pushed an issue, so this is unreachable; answer as a bug would.
        _ => Err(ApiError::Internal(
            "submission parsed without a kind, input or priority".into(),
        )),
    }
}

/// A JSON number as a whole `i64`: integers, and floats without a fraction (`5.0`).
fn whole(number: &serde_json::Number) -> Option<i64> {
    number.as_i64().or_else(|| {
        let value = number.as_f64()?;
        // Exact: a whole number well within i64's range.
        #[allow(clippy::cast_possible_truncation)]
        (value.fract() == 0.0 && value.abs() < 1e15).then_some(value as i64)
    })
}

/// The top-level fields of a submission.
const FIELDS: &[&str] = &["kind", "input", "webhook_url", "priority", "metadata"];

impl Submission {
    /// The job this submission stores for `tenant`, under `key`.
    pub(crate) fn into_new_job(
        self,
        tenant: TenantId,
        key: Option<IdempotencyKey>,
        request_id: RequestId,
        traceparent: Option<String>,
        max_attempts: i32,
    ) -> Result<NewJob, ApiError> {
        let input = self.input.to_value();
        Ok(NewJob {
            id: JobId::new(),
            tenant_id: tenant,
            request_hash: request_hash(&self, &input)?,
            kind: self.kind,
            input: JsonText::from_value(&input),
            athlete_id: self.input.athlete().cloned(),
            priority: self.priority,
            max_attempts,
            idempotency_key: key,
            webhook_url: self.webhook_url,
            metadata: self.metadata.map(Value::Object),
            request_id: Some(request_id),
            traceparent,
            created_at: Utc::now(),
        })
    }
}

/// Hex SHA-256 of the canonical JSON of what the submission asks (kind, canonical input,
/// webhook, effective priority, metadata): equal requests hash equal whatever their key order,
/// whitespace or defaulted fields. `input` is the submission's canonical input
/// ([`JobInput::to_value`]), made once by the caller, which stores it too.
///
/// The text hashed is `{"input":…,"kind":…,"metadata":…,"priority":…,"webhook_url":…}`, object
/// keys sorted at every level, written straight into the hasher. It is stored with every job
/// and compared when a key is replayed, so it must not change between releases (a test pins
/// two hashes).
fn request_hash(submission: &Submission, input: &Value) -> Result<String, ApiError> {
    /// The request's fields in the order their names sort.
    #[derive(serde::Serialize)]
    struct Canonical<'a> {
        input: Sorted<'a>,
        kind: &'a str,
        metadata: Option<SortedMap<'a>>,
        priority: i16,
        webhook_url: Option<&'a str>,
    }
    let canonical = Canonical {
        input: Sorted(input),
        kind: submission.kind.as_str(),
        metadata: submission.metadata.as_ref().map(SortedMap),
        priority: submission.priority.get(),
        webhook_url: submission.webhook_url.as_ref().map(WebhookUrl::as_str),
    };
    let mut hasher = Sha256::new();
    serde_json::to_writer(&mut hasher, &canonical)
        .map_err(|e| ApiError::Internal(format!("hashing the request: {e}")))?;
    Ok(hex::encode(hasher.finalize()))
}

/// A JSON value serialized with the keys of every object sorted (serde_json keeps insertion
/// order here, because the workspace enables `preserve_order`).
struct Sorted<'a>(&'a Value);

/// An object serialized with its keys sorted, at every level.
struct SortedMap<'a>(&'a Map<String, Value>);

impl serde::Serialize for Sorted<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq as _;
        match self.0 {
            Value::Object(map) => SortedMap(map).serialize(serializer),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Sorted(item))?;
                }
                seq.end()
            }
            scalar => scalar.serialize(serializer),
        }
    }
}

impl serde::Serialize for SortedMap<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut entries: Vec<(&String, &Value)> = self.0.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (key, value) in entries {
            map.serialize_entry(key, &Sorted(value))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Value {
        json!({
            "kind": "nutrition",
            "input": {
                "athlete": {"id": "athlete-42", "experience": "intermediate", "goal": "hypertrophy",
                            "sex": "female", "age": 31, "bodyweight_kg": 64.5, "body_fat_pct": 24},
                "phase": "cut", "meals_per_day": 4, "diet": "vegetarian"
            }
        })
    }

    /// The default policy: public destinations only.
    fn parse(bytes: &[u8]) -> Result<Submission, ApiError> {
        super::parse(bytes, &DestinationPolicy::default())
    }

    fn parse_value(value: &Value) -> Result<Submission, ApiError> {
        parse(value.to_string().as_bytes())
    }

    fn hash(submission: &Submission) -> String {
        request_hash(submission, &submission.input.to_value()).unwrap()
    }

    fn fields(error: ApiError) -> Vec<Option<String>> {
        match error {
            ApiError::Validation(issues) | ApiError::BusinessRule(issues) => {
                issues.into_iter().map(|i| i.field).collect()
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn the_example_parses_with_defaults() {
        let submission = parse_value(&example()).unwrap();
        assert_eq!(submission.kind, JobKind::Nutrition);
        assert_eq!(submission.priority, Priority::DEFAULT);
        assert!(submission.webhook_url.is_none());
    }

    #[test]
    fn hash_ignores_key_order_whitespace_and_defaults() {
        let a = parse_value(&example()).unwrap();
        let mut with_default = example();
        with_default["priority"] = json!(5);
        let b = parse(
            serde_json::to_string_pretty(&with_default)
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(hash(&a), hash(&b));

        let mut other = example();
        other["priority"] = json!(6);
        assert_ne!(hash(&a), hash(&parse_value(&other).unwrap()));

        let mut m1 = example();
        m1["metadata"] = json!({"a": 1, "b": {"y": 2, "x": 1}});
        let mut m2 = example();
        m2["metadata"] = json!({"b": {"x": 1, "y": 2}, "a": 1});
        assert_eq!(
            hash(&parse_value(&m1).unwrap()),
            hash(&parse_value(&m2).unwrap())
        );
        assert_eq!(hash(&a).len(), 64);
    }

    /// What the direct read refuses is read again through the JSON tree: the answers are the
    /// tree's, a duplicate key's last value included, and a refusal still names its field.
    #[test]
    fn bodies_the_direct_read_refuses_are_answered_as_before() {
        let body = r#"{"kind": "nutrition", "priority": 2, "priority": 8, "input": INPUT}"#
            .replace("INPUT", &example()["input"].to_string());
        assert_eq!(parse(body.as_bytes()).unwrap().priority.get(), 8);
        let body = r#"  {"kind": "nutrition", "input": INPUT, "priority": 2, "urgent": true}"#
            .replace("INPUT", &example()["input"].to_string());
        assert_eq!(
            fields(parse(body.as_bytes()).unwrap_err()),
            [Some("urgent".into())]
        );
        let fast = parse(example().to_string().as_bytes()).unwrap();
        let tree = super::parse_value(example(), &DestinationPolicy::default()).unwrap();
        assert_eq!(
            (fast.kind, fast.input, fast.priority),
            (tree.kind, tree.input, tree.priority)
        );
    }

    /// The hash is stored with every job and compared on each replay of its key, so its text
    /// must not change between releases: these values were computed by the first version.
    #[test]
    fn hash_is_stable_across_releases() {
        let plain = parse_value(&example()).unwrap();
        let mut full = example();
        full["priority"] = json!(7.0);
        full["webhook_url"] = json!("https://hooks.example.com/sparta?x=1&y=\"2\"");
        full["metadata"] = json!({
            "zeta": [3, {"b": null, "a": "é\u{1F600}\n\"q\"\\"}],
            "alpha": {"y": 1.5, "x": -2, "big": 12345678901234567u64, "t": true},
            "": "empty key"
        });
        let full = parse_value(&full).unwrap();
        assert_eq!(
            hash(&plain),
            "da4729eef89808ea6ea0d5ddb8b9df52f0dc68b4aa052b26b1144b02acbe224e"
        );
        assert_eq!(
            hash(&full),
            "fbb701f488e8971f45e79d14e904c4106014b12349bb74cc9f848777f8f4fefc"
        );
    }

    #[test]
    fn refusals_name_their_fields() {
        let err = parse(b"{\"kind\": ").unwrap_err();
        assert!(
            matches!(&err, ApiError::Validation(i) if i[0].field.is_none() && i[0].message.contains("line 1"))
        );
        let err = parse(b"{} []").unwrap_err();
        assert!(matches!(&err, ApiError::Validation(_)), "{err:?}");
        assert!(matches!(parse(b"[1]"), Err(ApiError::Validation(i)) if i[0].field.is_none()));

        let mut v = example();
        v["priority"] = json!("high");
        assert_eq!(
            fields(parse_value(&v).unwrap_err()),
            [Some("priority".into())]
        );

        let mut v = example();
        v["priority"] = json!(10);
        v["kind"] = json!("astrology");
        v["webhook_url"] = json!("ftp://x");
        assert_eq!(
            fields(parse_value(&v).unwrap_err()),
            [
                Some("kind".into()),
                Some("priority".into()),
                Some("webhook_url".into())
            ]
        );

        let mut v = example();
        v.as_object_mut().unwrap().remove("input");
        assert_eq!(fields(parse_value(&v).unwrap_err()), [Some("input".into())]);

        let mut v = example();
        v["colour"] = json!("red");
        assert_eq!(
            fields(parse_value(&v).unwrap_err()),
            [Some("colour".into())]
        );

        let mut v = example();
        v["metadata"] = json!([1]);
        assert_eq!(
            fields(parse_value(&v).unwrap_err()),
            [Some("metadata".into())]
        );

        let mut v = example();
        v["metadata"] = json!({"blob": "x".repeat(METADATA_MAX_BYTES)});
        assert_eq!(
            fields(parse_value(&v).unwrap_err()),
            [Some("metadata".into())]
        );

        let mut v = example();
        v["input"]["athlete"]["bodyweight_kg"] = json!("heavy");
        assert_eq!(
            fields(parse_value(&v).unwrap_err()),
            [Some("input.athlete.bodyweight_kg".into())]
        );
    }

    #[test]
    fn webhook_urls_are_checked_against_the_policy() {
        for refused in [
            "ftp://example.com/x",
            "http://127.0.0.1:8080/",
            "http://2130706433:8080/",
            "http://[::ffff:127.0.0.1]:8080/",
            "http://user:pw@example.com/",
            "http://127.0.0.1:8080\\@8.8.8.8/x",
            "http://example.com:22/",
            "http://localhost:8080/",
            "http://exa mple.com/",
            "not a url",
        ] {
            let mut v = example();
            v["webhook_url"] = json!(refused);
            assert_eq!(
                fields(parse_value(&v).unwrap_err()),
                [Some("webhook_url".into())],
                "{refused}"
            );
        }
        let mut v = example();
        v["webhook_url"] = json!("HTTPS://Hooks.Example.com/a/../b");
        let submission = parse_value(&v).unwrap();
        assert_eq!(
            submission.webhook_url.map(|u| u.as_str().to_owned()),
            Some("https://hooks.example.com/b".to_owned()),
            "stored as parsed"
        );
        let loopback = DestinationPolicy {
            allow_networks: vec!["127.0.0.0/8".parse().unwrap()],
            ..DestinationPolicy::default()
        };
        v["webhook_url"] = json!("http://127.0.0.1:8080/hook");
        assert!(super::parse(v.to_string().as_bytes(), &loopback).is_ok());
    }

    #[test]
    fn business_rules_are_422_only_when_the_rest_is_valid() {
        let mut v = example();
        v["input"]["athlete"]["goal"] = json!("fat_loss");
        v["input"]["phase"] = json!("bulk");
        let err = parse_value(&v).unwrap_err();
        assert!(matches!(&err, ApiError::BusinessRule(_)), "{err:?}");
        assert_eq!(fields(err), [Some("input.phase".into())]);

        v["priority"] = json!(-1);
        assert!(matches!(parse_value(&v), Err(ApiError::Validation(_))));
    }
}
