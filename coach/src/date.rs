//! Calendar dates as the contract spells them: ISO 8601 `YYYY-MM-DD` (no time, no zone).

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::Deserializer;
use serde::{Deserialize, Serialize, Serializer};

/// Earliest accepted year. The parser and the schema description both use it.
pub const MIN_YEAR: i32 = 1900;
/// Latest accepted year.
pub const MAX_YEAR: i32 = 2200;

/// A valid Gregorian date within [`MIN_YEAR`]..=[`MAX_YEAR`], written `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IsoDate {
    // Field order makes the derived ordering chronological.
    year: i32,
    month: u8,
    day: u8,
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl IsoDate {
    /// Checked constructor.
    pub fn new(year: i32, month: u8, day: u8) -> Result<Self, String> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return Err(format!("year must be {MIN_YEAR} to {MAX_YEAR}, got {year}"));
        }
        if !(1..=12).contains(&month) {
            return Err(format!("month must be 1 to 12, got {month}"));
        }
        let last = days_in_month(year, month);
        if !(1..=last).contains(&day) {
            return Err(format!(
                "day must be 1 to {last} for {year}-{month:02}, got {day}"
            ));
        }
        Ok(Self { year, month, day })
    }

    /// Parses `YYYY-MM-DD` exactly (four-digit year, two-digit month and day).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = text.as_bytes();
        let shaped = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shaped {
            return Err(format!("must be a date written YYYY-MM-DD, got `{text}`"));
        }
        let number = |range: std::ops::Range<usize>| -> i32 {
            bytes[range]
                .iter()
                .fold(0, |acc, b| acc * 10 + i32::from(b - b'0'))
        };
        // Month and day have two digits, so they fit a u8.
        Self::new(number(0..4), number(5..7) as u8, number(8..10) as u8)
    }

    /// Days since 1970-01-01 (negative before), for date arithmetic (Howard Hinnant's
    /// `days_from_civil`).
    pub fn days_since_epoch(self) -> i64 {
        let month = i64::from(self.month);
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let day_of_year =
            (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// `YYYY-MM-DD` as ASCII digits (what `Display` writes), `None` for a year outside 0–9999.
    fn digits(self) -> Option<[u8; 10]> {
        let year = u16::try_from(self.year).ok().filter(|y| *y <= 9999)?;
        let digit = |value: u16, unit: u16| b'0' + ((value / unit) % 10) as u8;
        let (month, day) = (u16::from(self.month), u16::from(self.day));
        Some([
            digit(year, 1000),
            digit(year, 100),
            digit(year, 10),
            digit(year, 1),
            b'-',
            digit(month, 10),
            digit(month, 1),
            b'-',
            digit(day, 10),
            digit(day, 1),
        ])
    }

    /// The date `days` days after this one (before it when negative); `None` outside
    /// [`MIN_YEAR`]..=[`MAX_YEAR`]. Howard Hinnant's `civil_from_days`.
    pub fn plus_days(self, days: i64) -> Option<IsoDate> {
        let z = self.days_since_epoch().checked_add(days)? + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        let year = i32::try_from(year).ok()?;
        IsoDate::new(year, u8::try_from(month).ok()?, u8::try_from(day).ok()?).ok()
    }

    /// Whole days from `earlier` to `self` (negative when `earlier` is later).
    pub fn days_after(self, earlier: IsoDate) -> i64 {
        self.days_since_epoch() - earlier.days_since_epoch()
    }
}

impl fmt::Display for IsoDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for IsoDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Spelled out digit by digit rather than through `Display`'s padded formatting: outputs
        // carry hundreds of dates (an e1RM series per exercise) and the formatter costs more than
        // the rest of the point. The constructor keeps the year to four digits; `Display` is
        // the fallback all the same.
        match self.digits() {
            Some(bytes) => match std::str::from_utf8(&bytes) {
                Ok(text) => serializer.serialize_str(text),
                Err(_) => serializer.collect_str(self),
            },
            None => serializer.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for IsoDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::input::deserialize_str_with(deserializer, IsoDate::parse)
    }
}

impl JsonSchema for IsoDate {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "IsoDate".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "date",
            // The years MIN_YEAR..=MAX_YEAR (1900..=2200), months 01-12, days 01-31; the
            // calendar (no 30 February) is `format: date`.
            "pattern": "^(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
            "description": format!("ISO 8601 calendar date YYYY-MM-DD, years {MIN_YEAR} to {MAX_YEAR}."),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_days_walks_the_calendar_both_ways() {
        let start = IsoDate::new(1999, 12, 25).unwrap();
        let mut expected = start;
        for n in 0..3_000 {
            assert_eq!(start.plus_days(n), Some(expected), "{n}");
            assert_eq!(expected.plus_days(-n), Some(start));
            assert_eq!(expected.days_after(start), n);
            let (y, m, d) = (expected.year, expected.month, expected.day);
            expected = if d < days_in_month(y, m) {
                IsoDate::new(y, m, d + 1)
            } else if m < 12 {
                IsoDate::new(y, m + 1, 1)
            } else {
                IsoDate::new(y + 1, 1, 1)
            }
            .unwrap();
        }
        assert_eq!(IsoDate::new(2200, 12, 31).unwrap().plus_days(1), None);
        assert_eq!(IsoDate::new(1900, 1, 1).unwrap().plus_days(-1), None);
    }

    #[test]
    fn the_schema_takes_exactly_the_years_the_parser_takes() {
        let schema = schemars::SchemaGenerator::default()
            .into_root_schema_for::<IsoDate>()
            .to_value();
        let validator = jsonschema::validator_for(&schema).unwrap();
        for year in [1, 1899, 1900, 1999, 2000, 2026, 2199, 2200, 2201, 9999] {
            for (month, day) in [(1, 1), (12, 31), (2, 28)] {
                let text = format!("{year:04}-{month:02}-{day:02}");
                assert_eq!(
                    validator.is_valid(&serde_json::json!(text)),
                    IsoDate::parse(&text).is_ok(),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn parses_valid_dates_and_refuses_the_rest() {
        let d = IsoDate::parse("2026-11-21").unwrap();
        assert_eq!(d.to_string(), "2026-11-21");
        assert!(IsoDate::parse("2024-02-29").is_ok());
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-11-21",
            "2026-11-21T00:00",
            "1899-12-31",
            "2026-04-31",
        ] {
            assert!(IsoDate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn arithmetic_and_order() {
        assert_eq!(IsoDate::parse("1970-01-01").unwrap().days_since_epoch(), 0);
        assert_eq!(
            IsoDate::parse("2000-03-01").unwrap().days_since_epoch(),
            11_017
        );
        let a = IsoDate::parse("2026-11-21").unwrap();
        let b = IsoDate::parse("2026-10-25").unwrap();
        assert_eq!(a.days_after(b), 27);
        assert!(b < a);
        let json = serde_json::to_value(a).unwrap();
        assert_eq!(json, serde_json::json!("2026-11-21"));
        // The serializer's digits are `Display`'s, across the whole accepted range.
        for (year, month, day) in [
            (MIN_YEAR, 1, 1),
            (2000, 2, 29),
            (2026, 10, 9),
            (MAX_YEAR, 12, 31),
        ] {
            let date = IsoDate::new(year, month, day).unwrap();
            assert_eq!(
                serde_json::to_value(date).unwrap(),
                serde_json::json!(date.to_string())
            );
        }
        assert_eq!(serde_json::from_value::<IsoDate>(json).unwrap(), a);
    }
}
