//! Domain newtypes that carry their own bounds.
//!
//! Every bound is stated exactly once, as a constant (an associated `MIN`/`MAX` or a const generic
//! parameter), and used by both sides:
//! - the parser: `Deserialize` goes through the checked constructor, so a value of one of these
//!   types is always inside its bounds, whoever built it;
//! - the published JSON Schema: the hand-written `JsonSchema` impls write the same constants as
//!   `minimum`/`maximum`, `minLength`/`maxLength` or `maxItems`.
//!
//! The parser and the schema therefore cannot disagree.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize};

/// A number outside the bounds of a domain type.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("must be between {minimum} and {maximum}{unit}, got {value}")]
pub struct OutOfRange {
    /// Smallest accepted value (inclusive).
    pub minimum: f64,
    /// Largest accepted value (inclusive).
    pub maximum: f64,
    /// The refused value.
    pub value: f64,
    /// Unit suffix for messages, e.g. `" kg"` (may be empty).
    pub unit: &'static str,
}

/// The machine representation of a bounded number (`f64` or a small unsigned integer).
pub trait NumberRepr: Copy + PartialOrd + Serialize + fmt::Display {
    /// JSON Schema `type` of the representation.
    const SCHEMA_TYPE: &'static str;
    /// Widens to `f64` for messages and schema details.
    fn to_f64(self) -> f64;
    /// Converts a JSON number, or `None` if it is not representable (e.g. a fraction for an integer type).
    fn from_f64_exact(value: f64) -> Option<Self>;
}

impl NumberRepr for f64 {
    const SCHEMA_TYPE: &'static str = "number";
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64_exact(value: f64) -> Option<Self> {
        value.is_finite().then_some(value)
    }
}

impl NumberRepr for u8 {
    const SCHEMA_TYPE: &'static str = "integer";
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_f64_exact(value: f64) -> Option<Self> {
        let whole = value.fract() == 0.0 && (0.0..=f64::from(u8::MAX)).contains(&value);
        // The cast is exact: `value` is a whole number within u8's range.
        whole.then_some(value as u8)
    }
}

impl NumberRepr for u16 {
    const SCHEMA_TYPE: &'static str = "integer";
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_f64_exact(value: f64) -> Option<Self> {
        let whole = value.fract() == 0.0 && (0.0..=f64::from(u16::MAX)).contains(&value);
        // The cast is exact: `value` is a whole number within u16's range.
        whole.then_some(value as u16)
    }
}

/// Serde visitor that accepts any JSON number and hands it on as `f64`.
#[derive(Clone, Copy)]
pub(crate) struct NumberVisitor {
    pub(crate) minimum: f64,
    pub(crate) maximum: f64,
    pub(crate) integer: bool,
}

impl Visitor<'_> for NumberVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.integer {
            "a whole number"
        } else {
            "a number"
        };
        write!(f, "{what} from {} to {}", self.minimum, self.maximum)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }

    // JSON integers beyond 2^53 lose precision here; every bound in this crate is far below that.
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
}

/// Deserializes a number for a bounded type: type check, representability, then the range.
pub(crate) fn deserialize_bounded<'de, D, R>(
    deserializer: D,
    minimum: R,
    maximum: R,
    unit: &'static str,
) -> Result<R, D::Error>
where
    D: Deserializer<'de>,
    R: NumberRepr,
{
    let visitor = NumberVisitor {
        minimum: minimum.to_f64(),
        maximum: maximum.to_f64(),
        integer: R::SCHEMA_TYPE == "integer",
    };
    let raw = deserializer.deserialize_f64(visitor)?;
    let Some(value) = R::from_f64_exact(raw) else {
        if raw.fract() == 0.0 {
            // A whole number the representation cannot hold (e.g. -1 for u8): out of range.
            let out = OutOfRange {
                minimum: visitor.minimum,
                maximum: visitor.maximum,
                value: raw,
                unit,
            };
            return Err(de::Error::custom(out));
        }
        return Err(de::Error::invalid_value(Unexpected::Float(raw), &visitor));
    };
    check_range(value, minimum, maximum, unit).map_err(de::Error::custom)
}

/// Checks `minimum <= value <= maximum`.
pub(crate) fn check_range<R: NumberRepr>(
    value: R,
    minimum: R,
    maximum: R,
    unit: &'static str,
) -> Result<R, OutOfRange> {
    if minimum <= value && value <= maximum {
        Ok(value)
    } else {
        Err(OutOfRange {
            minimum: minimum.to_f64(),
            maximum: maximum.to_f64(),
            value: value.to_f64(),
            unit,
        })
    }
}

/// Defines a bounded number newtype: checked constructor, `Deserialize` through it, and a
/// `JsonSchema` with `minimum`/`maximum` taken from the same constants.
macro_rules! bounded_number {
    (
        $(#[$meta:meta])*
        $name:ident($repr:ty), min = $min:expr, max = $max:expr, unit = $unit:literal
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, PartialOrd, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name($repr);

        impl $name {
            /// Smallest accepted value (inclusive). The parser and the JSON Schema both use it.
            pub const MIN: $repr = $min;
            /// Largest accepted value (inclusive). The parser and the JSON Schema both use it.
            pub const MAX: $repr = $max;
            /// Unit suffix used in messages.
            pub const UNIT: &'static str = $unit;

            /// Checked constructor: refuses values outside `MIN..=MAX`.
            pub fn new(value: $repr) -> Result<Self, $crate::bounded::OutOfRange> {
                $crate::bounded::check_range(value, Self::MIN, Self::MAX, Self::UNIT).map(Self)
            }

            /// The value.
            pub fn get(self) -> $repr {
                self.0
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::bounded::deserialize_bounded(deserializer, Self::MIN, Self::MAX, Self::UNIT)
                    .map(Self)
            }
        }

        impl schemars::JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": <$repr as $crate::bounded::NumberRepr>::SCHEMA_TYPE,
                    "minimum": Self::MIN,
                    "maximum": Self::MAX,
                })
            }
        }
    };
}
pub(crate) use bounded_number;

/// A string of `MIN..=MAX` characters (Unicode scalar values, as JSON Schema counts them).
/// When `MIN > 0` it must also contain a non-whitespace character.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct BoundedString<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> BoundedString<MIN, MAX> {
    /// Checked constructor.
    pub fn new(value: impl Into<String>) -> Result<Self, String> {
        let value = value.into();
        let chars = value.chars().count();
        if chars < MIN || chars > MAX {
            return Err(format!(
                "must be {MIN} to {MAX} characters long, got {chars}"
            ));
        }
        if MIN > 0 && value.trim().is_empty() {
            return Err("must not be blank".to_owned());
        }
        Ok(Self(value))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de, const MIN: usize, const MAX: usize> Deserialize<'de> for BoundedString<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::new(value).map_err(de::Error::custom)
    }
}

impl<const MIN: usize, const MAX: usize> JsonSchema for BoundedString<MIN, MAX> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("String_{MIN}_to_{MAX}").into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let mut schema = json_schema!({ "type": "string", "minLength": MIN, "maxLength": MAX });
        if MIN > 0 {
            // Same rule as `new`: at least one non-whitespace character.
            schema.insert("pattern".to_owned(), "\\S".into());
        }
        schema
    }
}

/// A list of at most `MAX` items.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct BoundedVec<T, const MAX: usize>(Vec<T>);

impl<T, const MAX: usize> BoundedVec<T, MAX> {
    /// Checked constructor.
    pub fn new(items: Vec<T>) -> Result<Self, String> {
        if items.len() > MAX {
            return Err(format!(
                "must have at most {MAX} items, got {}",
                items.len()
            ));
        }
        Ok(Self(items))
    }

    /// The items.
    pub fn as_slice(&self) -> &[T] {
        &self.0
    }
}

impl<T, const MAX: usize> Default for BoundedVec<T, MAX> {
    /// The empty list (always within bounds).
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for BoundedVec<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SeqVisitor<T, const MAX: usize>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>, const MAX: usize> Visitor<'de> for SeqVisitor<T, MAX> {
            type Value = Vec<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an array of at most {MAX} items")
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX));
                while let Some(item) = seq.next_element()? {
                    // Stop early: an oversized array is refused before it is fully read.
                    if items.len() == MAX {
                        return Err(de::Error::custom(format!("must have at most {MAX} items")));
                    }
                    items.push(item);
                }
                Ok(items)
            }
        }

        deserializer
            .deserialize_seq(SeqVisitor::<T, MAX>(PhantomData))
            .map(Self)
    }
}

impl<T: JsonSchema, const MAX: usize> JsonSchema for BoundedVec<T, MAX> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Array_up_to_{MAX}_of_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "array", "items": generator.subschema_for::<T>(), "maxItems": MAX })
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    bounded_number!(
        /// Test type.
        Score(u8), min = 1, max = 10, unit = " points"
    );

    #[test]
    fn integer_newtype_accepts_whole_numbers_in_range() {
        let s: Score = serde_json::from_value(serde_json::json!(10)).unwrap();
        assert_eq!(s.get(), 10);
        let s: Score = serde_json::from_value(serde_json::json!(3.0)).unwrap();
        assert_eq!(s, Score::new(3).unwrap());
        assert!(Score::new(0).is_err());
    }

    #[test]
    fn integer_newtype_refuses_fractions_and_out_of_range() {
        let e = serde_json::from_value::<Score>(serde_json::json!(2.5)).unwrap_err();
        assert!(
            e.to_string()
                .contains("expected a whole number from 1 to 10"),
            "{e}"
        );
        let e = serde_json::from_value::<Score>(serde_json::json!(11)).unwrap_err();
        assert_eq!(e.to_string(), "must be between 1 and 10 points, got 11");
        let e = serde_json::from_value::<Score>(serde_json::json!(-1)).unwrap_err();
        assert_eq!(e.to_string(), "must be between 1 and 10 points, got -1");
        let e = serde_json::from_value::<Score>(serde_json::json!("5")).unwrap_err();
        assert!(e.to_string().starts_with("invalid type: string"), "{e}");
    }

    #[test]
    fn bounded_string_and_vec() {
        type Name = BoundedString<1, 5>;
        assert!(serde_json::from_value::<Name>(serde_json::json!("abcde")).is_ok());
        let e = serde_json::from_value::<Name>(serde_json::json!("abcdef")).unwrap_err();
        assert_eq!(e.to_string(), "must be 1 to 5 characters long, got 6");
        let e = serde_json::from_value::<Name>(serde_json::json!("  ")).unwrap_err();
        assert_eq!(e.to_string(), "must not be blank");
        // Characters, not bytes.
        assert!(serde_json::from_value::<Name>(serde_json::json!("ééééé")).is_ok());

        type Two = BoundedVec<u8, 2>;
        assert!(serde_json::from_value::<Two>(serde_json::json!([1, 2])).is_ok());
        let e = serde_json::from_value::<Two>(serde_json::json!([1, 2, 3])).unwrap_err();
        assert_eq!(e.to_string(), "must have at most 2 items");
        assert!(Two::new(vec![1, 2, 3]).is_err());
    }

    #[test]
    fn schemas_carry_the_bounds() {
        let s = schemars::schema_for!(Score);
        assert_eq!(s.get("minimum"), Some(&serde_json::json!(Score::MIN)));
        assert_eq!(s.get("maximum"), Some(&serde_json::json!(Score::MAX)));
        assert_eq!(s.get("type"), Some(&serde_json::json!("integer")));
        let s = schemars::schema_for!(BoundedString<1, 5>);
        assert_eq!(s.get("maxLength"), Some(&serde_json::json!(5)));
        let s = schemars::schema_for!(BoundedVec<u8, 2>);
        assert_eq!(s.get("maxItems"), Some(&serde_json::json!(2)));
    }
}
