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
use sparta_jobs::{IdempotencyKey, JobId, NewJob, Priority, RequestId, TenantId, WebhookUrl};

use crate::body::{from_object, json_object};
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
    parse_value(json_object(bytes, FIELDS)?, destinations)
}

/// [`parse`] of a body already read as JSON (an item of a batch).
pub(crate) fn parse_value(
    value: Value,
    destinations: &DestinationPolicy,
) -> Result<Submission, ApiError> {
    let request: SubmitJobRequest = from_object(value, FIELDS)?;
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
    ) -> NewJob {
        NewJob {
            id: JobId::new(),
            tenant_id: tenant,
            request_hash: request_hash(&self),
            kind: self.kind,
            input: self.input.to_value(),
            priority: self.priority,
            max_attempts,
            idempotency_key: key,
            webhook_url: self.webhook_url,
            metadata: self.metadata.map(Value::Object),
            request_id: Some(request_id),
            traceparent,
            created_at: Utc::now(),
        }
    }
}

/// Hex SHA-256 of the canonical JSON of what the submission asks (kind, canonical input,
/// webhook, effective priority, metadata): equal requests hash equal whatever their key order,
/// whitespace or defaulted fields.
pub(crate) fn request_hash(submission: &Submission) -> String {
    let content = json!({
        "kind": submission.kind.as_str(),
        "input": submission.input.to_value(),
        "webhook_url": submission.webhook_url.as_ref().map(WebhookUrl::as_str),
        "priority": submission.priority.get(),
        "metadata": submission.metadata,
    });
    let mut text = String::new();
    write_canonical(&content, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// JSON with object keys sorted at every level (serde_json keeps insertion order here, because
/// the workspace enables `preserve_order`).
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
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
        assert_eq!(request_hash(&a), request_hash(&b));

        let mut other = example();
        other["priority"] = json!(6);
        assert_ne!(
            request_hash(&a),
            request_hash(&parse_value(&other).unwrap())
        );

        let mut m1 = example();
        m1["metadata"] = json!({"a": 1, "b": {"y": 2, "x": 1}});
        let mut m2 = example();
        m2["metadata"] = json!({"b": {"x": 1, "y": 2}, "a": 1});
        assert_eq!(
            request_hash(&parse_value(&m1).unwrap()),
            request_hash(&parse_value(&m2).unwrap())
        );
        assert_eq!(request_hash(&a).len(), 64);
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
