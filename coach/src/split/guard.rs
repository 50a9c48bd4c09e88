//! Split guardrails: what any provider's output must satisfy for a given input.

use super::engine::{self, LANDMARKS, MIN_FREQUENCY, effective_sets, weekday_index};
use super::{
    FlagCode, MAX_FLAG_CHARS, MAX_FLAGS, MAX_LABEL_CHARS, MAX_RATIONALE_CHARS,
    MAX_SETS_PER_SESSION, PROGRAMMED_MUSCLES, SplitInput, SplitOutput, Style, WEEK_DAYS, Weekday,
};
use crate::Violation;
use crate::guardrail::{check_items, check_length};
use crate::vocab::Muscle;

/// Rounding slack for effective weekly sets a provider recomputes.
const SETS_TOLERANCE: f64 = 0.01;

pub(super) fn check(input: &SplitInput, out: &SplitOutput) -> Vec<Violation> {
    let mut v = Vec::new();
    check_items(&mut v, "/days", out.days.len(), WEEK_DAYS, WEEK_DAYS);
    check_items(
        &mut v,
        "/weekly_sets",
        out.weekly_sets.len(),
        PROGRAMMED_MUSCLES,
        PROGRAMMED_MUSCLES,
    );
    check_items(&mut v, "/flags", out.flags.len(), 0, MAX_FLAGS);
    check_length(&mut v, "/rationale", &out.rationale, 1, MAX_RATIONALE_CHARS);
    for (i, flag) in out.flags.iter().enumerate() {
        check_length(
            &mut v,
            &format!("/flags/{i}/message"),
            &flag.message,
            1,
            MAX_FLAG_CHARS,
        );
    }

    let days_per_week = input.days_per_week.get();
    let style = input.style();
    if let Some(named) = named_template(style)
        && out.template.as_str() != named
    {
        v.push(Violation::new(
            "/template",
            format!(
                "must be `{named}`, the requested style, got `{}`",
                out.template
            ),
        ));
    }
    if out.training_days != days_per_week {
        v.push(Violation::new(
            "/training_days",
            format!(
                "must be {days_per_week} as requested, got {}",
                out.training_days
            ),
        ));
    }
    let training = out.days.iter().filter(|d| !d.rest).count();
    if training != usize::from(days_per_week) {
        v.push(Violation::new(
            "/days",
            format!("must hold exactly {days_per_week} training days, got {training}"),
        ));
    }

    for (i, day) in out.days.iter().enumerate() {
        let at = |field: &str| format!("/days/{i}/{field}");
        check_length(&mut v, &at("label"), &day.label, 1, MAX_LABEL_CHARS);
        if let Some(want) = Weekday::ALL.get(i)
            && day.day != *want
        {
            v.push(Violation::new(
                at("day"),
                format!(
                    "must be `{want}`: days run Monday to Sunday, got `{}`",
                    day.day
                ),
            ));
        }
        if day.rest && !day.muscles.is_empty() {
            v.push(Violation::new(
                at("muscles"),
                "a rest day carries no muscles",
            ));
        }
        if !day.rest && day.muscles.is_empty() {
            v.push(Violation::new(
                at("muscles"),
                "a training day must train at least one muscle",
            ));
        }
        if day.rest && day.label != "Rest" {
            v.push(Violation::new(at("label"), "a rest day is labelled `Rest`"));
        }
        for (j, m) in day.muscles.iter().enumerate() {
            let at = format!("/days/{i}/muscles/{j}");
            if day.muscles[..j].iter().any(|o| o.muscle == m.muscle) {
                v.push(Violation::new(
                    format!("{at}/muscle"),
                    format!("`{}` is listed twice on this day", m.muscle),
                ));
            }
            if engine::landmarks(m.muscle).is_none() {
                v.push(Violation::new(
                    format!("{at}/muscle"),
                    format!(
                        "`{}` is not a programmed muscle (no landmarks in science.md §A4)",
                        m.muscle
                    ),
                ));
            }
            if m.sets == 0 || m.sets > MAX_SETS_PER_SESSION {
                v.push(Violation::new(
                    format!("{at}/sets"),
                    format!(
                        "must be 1 to {MAX_SETS_PER_SESSION} sets per muscle per session, got {}",
                        m.sets
                    ),
                ));
            }
        }
    }
    for day in input.rest_days() {
        let i = weekday_index(*day);
        if out.days.get(i).is_some_and(|d| !d.rest) {
            v.push(Violation::new(
                format!("/days/{i}/rest"),
                format!("`{day}` is a fixed rest day and must be a rest day"),
            ));
        }
    }

    let flagged = |code: FlagCode, muscle: Muscle| {
        out.flags
            .iter()
            .any(|f| f.code == code && f.muscle == muscle)
    };
    let expected = engine::tally(&out.days);
    for (i, ((muscle, direct, indirect, frequency), l)) in
        expected.into_iter().zip(&LANDMARKS).enumerate()
    {
        let Some(got) = out.weekly_sets.get(i) else {
            break;
        };
        let at = |field: &str| format!("/weekly_sets/{i}/{field}");
        if got.muscle != muscle {
            v.push(Violation::new(
                at("muscle"),
                format!(
                    "must be `{muscle}` (the programmed muscles in a fixed order), got `{}`",
                    got.muscle
                ),
            ));
            continue;
        }
        if u16::from(got.direct_sets) != direct {
            v.push(Violation::new(
                at("direct_sets"),
                format!(
                    "must be {direct}, the sum of the days' sets, got {}",
                    got.direct_sets
                ),
            ));
        }
        if u16::from(got.indirect_sets) != indirect {
            v.push(Violation::new(
                at("indirect_sets"),
                format!(
                    "must be {indirect}, the days' sets of the muscles that train {muscle} indirectly, got {}",
                    got.indirect_sets
                ),
            ));
        }
        if got.frequency != frequency {
            v.push(Violation::new(
                at("frequency"),
                format!(
                    "must be {frequency}, the days that train {muscle}, got {}",
                    got.frequency
                ),
            ));
        }
        let weekly = effective_sets(direct, indirect);
        if (got.weekly_sets - weekly).abs() > SETS_TOLERANCE {
            v.push(Violation::new(
                at("weekly_sets"),
                format!(
                    "must be {weekly} (direct + 0.5 × indirect, science.md §A4), got {}",
                    got.weekly_sets
                ),
            ));
        }
        let band = (
            got.landmarks.mev,
            got.landmarks.mav_low,
            got.landmarks.mav_high,
            got.landmarks.mrv,
        );
        if band != (l.mev, l.mav_low, l.mav_high, l.mrv) {
            v.push(Violation::new(
                at("landmarks"),
                format!(
                    "must be MEV {}, MAV {}–{}, MRV {} (science.md §A4)",
                    l.mev, l.mav_low, l.mav_high, l.mrv
                ),
            ));
        }
        let priority = input.priority_muscles().contains(&muscle);
        if got.priority != priority {
            v.push(Violation::new(
                at("priority"),
                format!(
                    "must be {priority}: it says whether the athlete named {muscle} a priority"
                ),
            ));
        }
        if weekly < f64::from(l.mev) && !flagged(FlagCode::BelowMev, muscle) {
            v.push(Violation::new(
                at("weekly_sets"),
                format!(
                    "{weekly} is below the MEV of {muscle} ({}); raise it or add a `below_mev` flag saying why",
                    l.mev
                ),
            ));
        }
        if weekly > f64::from(l.mrv) && !flagged(FlagCode::AboveMrv, muscle) {
            v.push(Violation::new(
                at("weekly_sets"),
                format!(
                    "{weekly} is above the MRV of {muscle} ({}); lower it or add an `above_mrv` flag",
                    l.mrv
                ),
            ));
        }
        if priority && weekly < f64::from(l.mav_low) && !flagged(FlagCode::PriorityBelowMav, muscle)
        {
            v.push(Violation::new(
                at("weekly_sets"),
                format!(
                    "{muscle} is a priority: {weekly} is below the low end of its MAV ({}); raise it or add a \
                     `priority_below_mav` flag",
                    l.mav_low
                ),
            ));
        }
        if l.major && frequency < MIN_FREQUENCY && days_per_week >= MIN_FREQUENCY {
            let engine_chooses = matches!(style, Style::Auto | Style::Custom);
            if engine_chooses {
                v.push(Violation::new(
                    at("frequency"),
                    format!(
                        "{muscle} must be trained at least {MIN_FREQUENCY}×/week on {days_per_week} training days \
                         (science.md §A4), got {frequency}×"
                    ),
                ));
            } else if !flagged(FlagCode::LowFrequency, muscle) {
                v.push(Violation::new(
                    at("frequency"),
                    format!(
                        "{muscle} is trained {frequency}×/week, under {MIN_FREQUENCY}× (science.md §A4): add a \
                         `low_frequency` flag"
                    ),
                ));
            }
        }
    }
    v
}

/// The template a named style requires (`None` for `auto` and `custom`).
fn named_template(style: Style) -> Option<&'static str> {
    match style {
        Style::Auto | Style::Custom => None,
        named => Some(named.as_str()),
    }
}
