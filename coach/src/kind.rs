//! The job kinds: the registry.
//!
//! Every kind is one module under `coach/src/<kind>/` whose spec (a [`JobSpec`]) declares
//! everything about it once: wire name, description, input and output types, engine, guardrails,
//! business rules and its prompt folder. The `registry!` invocation at the end of this file is
//! the one list of kinds: from it come [`JobKind`], [`JobInput`] and every dispatch on the kind.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::athlete::AthleteId;
use crate::error::CoachError;
use crate::input::{FieldError, InputRejection};
use crate::{Violation, guardrail, input, schema};

/// A kind's prompt templates (minijinja), shipped in the binary from `prompts/<kind>/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prompt {
    /// The system message template (`system.j2`).
    pub system: &'static str,
    /// The user message template (`user.j2`).
    pub user: &'static str,
}

/// The [`Prompt`] in `prompts/<folder>/` at the top of the repository, embedded at compile time.
macro_rules! prompt {
    ($folder:literal) => {
        $crate::kind::Prompt {
            system: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../prompts/",
                $folder,
                "/system.j2"
            )),
            user: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../prompts/",
                $folder,
                "/user.j2"
            )),
        }
    };
}
pub(crate) use prompt;

/// The request body of `examples/requests/<name>.json` (the contract's example of the kind),
/// embedded at compile time.
macro_rules! example {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/requests/",
            $name,
            ".json"
        ))
    };
}
pub(crate) use example;

/// What one job kind is: everything about it, declared once in its module.
pub trait JobSpec {
    /// The wire name (`"nutrition"`); also the prompt folder's name.
    const NAME: &'static str;
    /// One line describing what the kind answers (for `/v1/kinds` and OpenAPI).
    const DESCRIPTION: &'static str;
    /// The prompt templates (`prompt!("<name>")`).
    const PROMPT: Prompt;
    /// The contract's example request body (`example!("<name>")`).
    const EXAMPLE: &'static str;
    /// The typed input (`#[serde(deny_unknown_fields)]`, bounded newtypes).
    type Input: Serialize + DeserializeOwned + JsonSchema + Clone + fmt::Debug + PartialEq;
    /// The typed output any provider must produce.
    type Output: Serialize + DeserializeOwned + JsonSchema;

    /// Rules a well-formed input can still break (→ 422). Empty when the input is acceptable.
    fn business_rules(input: &Self::Input) -> Vec<FieldError>;

    /// The deterministic answer.
    fn run(input: &Self::Input) -> Result<Self::Output, CoachError>;

    /// Checks an output (from any provider) against the engine's rules for this input.
    fn check(input: &Self::Input, output: &Self::Output) -> Vec<Violation>;
}

/// The generated schemas of one kind, built once.
pub(crate) struct KindSchemas {
    pub(crate) input: Value,
    /// The input schema's object/array skeleton, for the parser's "array where an object is
    /// expected" check (compiled once: walking the JSON schema itself costs a hash per step).
    input_shape: schema::Shape,
    pub(crate) output: Value,
}

impl KindSchemas {
    fn of<S: JobSpec>() -> Self {
        let input = schema::root_schema_for::<S::Input>();
        Self {
            input_shape: schema::Shape::of(&input),
            input,
            output: schema::root_schema_for::<S::Output>(),
        }
    }
}

fn parse_as<S: JobSpec>(schemas: &KindSchemas, raw: &Value) -> Result<S::Input, InputRejection> {
    let input = input::deserialize_input::<S::Input>(raw, &schemas.input, &schemas.input_shape)
        .map_err(|e| InputRejection::Invalid(vec![e]))?;
    within_rules::<S>(input)
}

/// A stored input straight from its text into the kind's type: it is the canonical JSON
/// [`JobInput::to_value`] wrote once [`parse_as`] accepted it, so the tree and the shape check
/// that serve a request's error paths have nothing to add (and cost the worker as much as the
/// parse itself). An input that no longer deserializes (stored by an older, incompatible version
/// of the kind) goes through [`parse_as`] for its field paths.
fn parse_stored_as<S: JobSpec>(
    schemas: &KindSchemas,
    text: &str,
) -> Result<S::Input, InputRejection> {
    match serde_json::from_str::<S::Input>(text) {
        Ok(input) => within_rules::<S>(input),
        Err(_) => {
            let raw: Value = serde_json::from_str(text)
                .map_err(|e| InputRejection::Invalid(vec![FieldError::new("", e.to_string())]))?;
            parse_as::<S>(schemas, &raw)
        }
    }
}

/// `input`, unless it breaks the kind's business rules.
fn within_rules<S: JobSpec>(input: S::Input) -> Result<S::Input, InputRejection> {
    let broken = S::business_rules(&input);
    if broken.is_empty() {
        Ok(input)
    } else {
        Err(InputRejection::BusinessRule(broken))
    }
}

fn run_as<S: JobSpec>(input: &S::Input) -> Result<Value, CoachError> {
    Ok(serde_json::to_value(S::run(input)?)?)
}

fn check_as<S: JobSpec>(input: &S::Input, output: &Value) -> Vec<Violation> {
    match guardrail::deserialize_output::<S::Output>(output) {
        Ok(typed) => S::check(input, &typed),
        Err(violation) => vec![violation],
    }
}

/// Makes [`JobKind`] (one variant per spec) and [`JobInput`] (one typed input per spec) and
/// dispatches every per-kind question to the spec. Only invoked once, below.
macro_rules! registry {
    ($($variant:ident => $spec:ty),+ $(,)?) => {
        /// The job kinds SPARTA knows; serialized as their wire name (`"nutrition"`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum JobKind {
            $(
                #[doc = concat!("See [`", stringify!($spec), "`].")]
                $variant,
            )+
        }

        impl JobKind {
            /// Every kind, in the registry's order.
            pub const ALL: &'static [JobKind] = &[$(JobKind::$variant),+];

            /// The wire name (`"nutrition"`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(JobKind::$variant => <$spec as JobSpec>::NAME,)+
                }
            }

            /// One line describing what the kind answers (for `/v1/kinds` and OpenAPI).
            pub fn description(self) -> &'static str {
                match self {
                    $(JobKind::$variant => <$spec as JobSpec>::DESCRIPTION,)+
                }
            }

            /// The kind's prompt templates as shipped.
            pub fn prompt(self) -> Prompt {
                match self {
                    $(JobKind::$variant => <$spec as JobSpec>::PROMPT,)+
                }
            }

            /// The contract's example request body of the kind (`{"kind", "input"}`, JSON text).
            pub fn example(self) -> &'static str {
                match self {
                    $(JobKind::$variant => <$spec as JobSpec>::EXAMPLE,)+
                }
            }

            pub(crate) fn schemas(self) -> &'static KindSchemas {
                match self {
                    $(JobKind::$variant => {
                        static SCHEMAS: OnceLock<KindSchemas> = OnceLock::new();
                        SCHEMAS.get_or_init(KindSchemas::of::<$spec>)
                    })+
                }
            }
        }

        /// A parsed, validated input ("parse, don't validate": nothing below sees raw JSON).
        #[derive(Clone, Debug, PartialEq)]
        pub enum JobInput {
            $(
                #[doc = concat!("Input of [`", stringify!($spec), "`].")]
                $variant(<$spec as JobSpec>::Input),
            )+
        }

        impl JobInput {
            /// Parses and validates the `input` object of a job of `kind`.
            ///
            /// Structural problems (wrong type, missing or unknown field, out-of-range number,
            /// value outside a vocabulary) give [`InputRejection::Invalid`] with the first such
            /// problem; a well-formed input that breaks the kind's business rules gives
            /// [`InputRejection::BusinessRule`] with all of them.
            pub fn parse(kind: JobKind, raw: &Value) -> Result<JobInput, InputRejection> {
                match kind {
                    $(JobKind::$variant => {
                        parse_as::<$spec>(kind.schemas(), raw).map(JobInput::$variant)
                    })+
                }
            }

            /// Parses an input of `kind` as SPARTA stored it (the JSON text [`JobInput::to_value`]
            /// wrote): the same input [`JobInput::parse`] accepted, without building its tree.
            pub fn parse_stored(kind: JobKind, text: &str) -> Result<JobInput, InputRejection> {
                match kind {
                    $(JobKind::$variant => {
                        parse_stored_as::<$spec>(kind.schemas(), text).map(JobInput::$variant)
                    })+
                }
            }

            /// The athlete this input is for: its `athlete.id`, when given (every kind's input
            /// carries the athlete profile, [`crate::athlete`]). Stored beside the job, so that
            /// lists filter on it and an athlete's token is held to its own jobs, without
            /// reading the input again.
            pub fn athlete(&self) -> Option<&AthleteId> {
                match self {
                    $(JobInput::$variant(input) => input.athlete.id.as_ref(),)+
                }
            }

            /// The kind of this input.
            pub fn kind(&self) -> JobKind {
                match self {
                    $(JobInput::$variant(_) => JobKind::$variant,)+
                }
            }

            /// Canonical JSON of the parsed input (absent optional fields left out); parses back
            /// to an equal input.
            pub fn to_value(&self) -> Value {
                let value = match self {
                    $(JobInput::$variant(input) => serde_json::to_value(input),)+
                };
                // Cannot fail: plain structs, string keys, finite numbers. Null would show up in
                // any test.
                value.unwrap_or(Value::Null)
            }

            /// The deterministic engine's answer, as JSON.
            pub(crate) fn run_builtin(&self) -> Result<Value, CoachError> {
                match self {
                    $(JobInput::$variant(input) => run_as::<$spec>(input),)+
                }
            }

            /// The guardrails' verdict on any provider's answer.
            pub(crate) fn check_output(&self, output: &Value) -> Vec<Violation> {
                match self {
                    $(JobInput::$variant(input) => check_as::<$spec>(input, output),)+
                }
            }
        }
    };
}

registry! {
    Nutrition => crate::nutrition::Nutrition,
    Motivation => crate::motivation::Motivation,
    DailyCoaching => crate::daily_coaching::DailyCoaching,
    OverloadAnalysis => crate::overload_analysis::OverloadAnalysis,
    Split => crate::split::Split,
    WorkoutPlan => crate::workout_plan::WorkoutPlan,
    ExerciseSwap => crate::exercise_swap::ExerciseSwap,
    NextSet => crate::next_set::NextSet,
    ProgressReport => crate::progress_report::ProgressReport,
}

impl JobKind {
    /// The wire names of all kinds.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|k| k.as_str()).collect()
    }
}

impl FromStr for JobKind {
    type Err = CoachError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| CoachError::UnknownKind(s.to_owned()))
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for JobKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for JobKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = Cow::<'de, str>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for JobKind {
    fn schema_name() -> Cow<'static, str> {
        "JobKind".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let one_of: Vec<Value> = Self::ALL
            .iter()
            .map(|kind| {
                serde_json::json!({
                    "type": "string",
                    "const": kind.as_str(),
                    "description": kind.description(),
                })
            })
            .collect();
        schemars::json_schema!({
            "description": "The job kinds SPARTA knows.",
            "oneOf": one_of,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_fromstr_and_display() {
        for &k in JobKind::ALL {
            assert_eq!(
                serde_json::to_value(k).ok(),
                Some(serde_json::json!(k.as_str()))
            );
            assert_eq!(
                serde_json::from_value(serde_json::json!(k.as_str())).ok(),
                Some(k)
            );
            assert_eq!(k.as_str().parse::<JobKind>().ok(), Some(k));
            assert_eq!(k.to_string(), k.as_str());
            assert!(!k.description().is_empty() && !k.description().contains('\n'));
        }
        let err = "nutritoin".parse::<JobKind>().err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "unknown job kind `nutritoin`; known kinds: nutrition, motivation, daily_coaching, overload_analysis, split, workout_plan, exercise_swap, next_set, progress_report"
            )
        );
    }

    /// Each kind's embedded example is its own kind's, and its input parses.
    #[test]
    fn every_kind_has_its_example() {
        for &kind in JobKind::ALL {
            let body: Value = serde_json::from_str(kind.example()).unwrap_or(Value::Null);
            assert_eq!(body["kind"], kind.as_str(), "{kind}");
            assert!(JobInput::parse(kind, &body["input"]).is_ok(), "{kind}");
        }
    }

    /// A stored input (the canonical text of a parsed one) parses back to the same input, and
    /// one that no longer fits its kind is refused with the field at fault.
    #[test]
    fn a_stored_input_parses_back_to_the_input_that_was_stored() {
        for &kind in JobKind::ALL {
            let body: Value = serde_json::from_str(kind.example()).unwrap_or(Value::Null);
            let parsed = JobInput::parse(kind, &body["input"]).expect("the example parses");
            let stored = parsed.to_value().to_string();
            assert_eq!(
                JobInput::parse_stored(kind, &stored).ok(),
                Some(parsed),
                "{kind}"
            );
        }
        let mut body: Value =
            serde_json::from_str(JobKind::Nutrition.example()).unwrap_or(Value::Null);
        body["input"]["meals_per_day"] = Value::from("four");
        match JobInput::parse_stored(JobKind::Nutrition, &body["input"].to_string()) {
            Err(InputRejection::Invalid(errors)) => {
                assert_eq!(errors[0].field, "meals_per_day", "{errors:?}");
            }
            other => panic!("expected an invalid input, got {other:?}"),
        }
        assert!(matches!(
            JobInput::parse_stored(JobKind::Nutrition, "{not json"),
            Err(InputRejection::Invalid(_))
        ));
    }

    /// A kind's prompt is the folder named after the kind (what `worker.prompts_dir` overrides).
    #[test]
    fn every_kind_prompt_is_the_folder_named_after_it() {
        let prompts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../prompts");
        for &kind in JobKind::ALL {
            let folder = prompts.join(kind.as_str());
            let read = |file: &str| std::fs::read_to_string(folder.join(file)).ok();
            assert_eq!(
                read("system.j2").as_deref(),
                Some(kind.prompt().system),
                "{kind}"
            );
            assert_eq!(
                read("user.j2").as_deref(),
                Some(kind.prompt().user),
                "{kind}"
            );
        }
    }
}
