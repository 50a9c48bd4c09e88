//! The split engine: template by days and style (§A8), rest-day placement, muscles per session and
//! target sets so that weekly sets per muscle land between MEV and MAV (§A4).
//!
//! Figures:
//! - Landmarks: the RP table of `science.md` §A4 (Israetel et al. 2017/2019). The catalogue's
//!   `lats` take RP's "back" row; `shoulders` take "side + rear delts" (the catalogue does not split
//!   the heads; pressing covers the front delts, MEV 0). `middle back` has no row of its own: half the
//!   back row, rounded up \[C\]. Muscles without a row (abductors, adductors, forearms, lower back,
//!   neck) are not programmed.
//! - Indirect sets count 0.5 (§A4, Pelland et al. 2024). Which muscles credit which is ours \[C\]:
//!   chest → triceps, lats → biceps, quadriceps and hamstrings → glutes.
//! - Targets \[C\]: hypertrophy aims at the low end of MAV (priority muscles: the high end); other
//!   goals aim halfway between MEV and MAV (priority muscles: the low end of MAV). The landmarks are
//!   for intermediate to advanced lifters (§A4); the rationale says so for beginners.
//! - Frequency ≥ 2×/week for the major muscles when the days allow (§A4, Schoenfeld 2016).

use super::{
    Day, DaysPerWeek, Flag, FlagCode, Landmarks, MAX_SETS_PER_SESSION, MuscleVolume, SessionMuscle,
    SplitInput, SplitOutput, Style, Template, WEEK_DAYS, Weekday,
};
use crate::CoachError;
use crate::athlete::{Experience, Goal};
use crate::vocab::Muscle;

/// RP landmarks of one programmed muscle (§A4).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MuscleLandmarks {
    /// The muscle.
    pub muscle: Muscle,
    /// Minimum effective volume, sets/week.
    pub mev: u8,
    /// Low end of the maximum adaptive volume.
    pub mav_low: u8,
    /// High end of the maximum adaptive volume.
    pub mav_high: u8,
    /// Maximum recoverable volume.
    pub mrv: u8,
    /// A major muscle: must be trained ≥ 2×/week when the days allow.
    pub major: bool,
}

const fn lm(
    muscle: Muscle,
    mev: u8,
    mav_low: u8,
    mav_high: u8,
    mrv: u8,
    major: bool,
) -> MuscleLandmarks {
    MuscleLandmarks {
        muscle,
        mev,
        mav_low,
        mav_high,
        mrv,
        major,
    }
}

/// The programmed muscles and their landmarks, in output order. Muscles that credit others
/// (see [`INDIRECT`]) come before the muscles they credit.
pub const LANDMARKS: [MuscleLandmarks; 12] = [
    lm(Muscle::Chest, 6, 12, 20, 22, true),
    lm(Muscle::Lats, 10, 14, 22, 25, true),
    lm(Muscle::MiddleBack, 5, 7, 11, 13, false),
    lm(Muscle::Shoulders, 8, 16, 22, 26, true),
    lm(Muscle::Quadriceps, 8, 12, 18, 20, true),
    lm(Muscle::Hamstrings, 6, 10, 16, 20, true),
    lm(Muscle::Glutes, 0, 4, 12, 16, false),
    lm(Muscle::Biceps, 8, 14, 20, 26, false),
    lm(Muscle::Triceps, 6, 10, 14, 18, false),
    lm(Muscle::Traps, 0, 12, 20, 26, false),
    lm(Muscle::Calves, 8, 12, 16, 20, false),
    lm(Muscle::Abdominals, 0, 16, 20, 25, false),
];

/// Credit for an indirect set (§A4, Pelland 2024: "fractional" counting fit best).
pub const INDIRECT_CREDIT: f64 = 0.5;

/// (source, receiver): every direct set of the source is an indirect set of the receiver \[C\].
pub const INDIRECT: [(Muscle, Muscle); 4] = [
    (Muscle::Chest, Muscle::Triceps),
    (Muscle::Lats, Muscle::Biceps),
    (Muscle::Quadriceps, Muscle::Glutes),
    (Muscle::Hamstrings, Muscle::Glutes),
];

/// Minimum weekly frequency of a major muscle when the days allow (§A4, Schoenfeld 2016).
pub const MIN_FREQUENCY: u8 = 2;

/// The landmarks of a programmed muscle.
pub fn landmarks(muscle: Muscle) -> Option<&'static MuscleLandmarks> {
    LANDMARKS.iter().find(|l| l.muscle == muscle)
}

/// Training days a named style runs on (§A8; the ranges around the typical days are \[C\]);
/// `None` for `auto` and `custom` (any number of days).
pub fn style_days(style: Style) -> Option<(u8, u8)> {
    match style {
        Style::Auto | Style::Custom => None,
        Style::FullBody => Some((1, 4)),
        Style::UpperLower => Some((2, 6)),
        Style::Ppl | Style::Arnold => Some((3, 6)),
        Style::Bro => Some((5, 5)),
    }
}

/// One session type of a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Session {
    FullBody,
    Upper,
    Lower,
    Push,
    Pull,
    Legs,
    ChestBack,
    ShouldersArms,
    BroChest,
    BroBack,
    BroShoulders,
    BroArms,
}

impl Session {
    fn label(self) -> &'static str {
        match self {
            Session::FullBody => "Full body",
            Session::Upper => "Upper",
            Session::Lower => "Lower",
            Session::Push => "Push",
            Session::Pull => "Pull",
            Session::Legs => "Legs",
            Session::ChestBack => "Chest + back",
            Session::ShouldersArms => "Shoulders + arms",
            Session::BroChest => "Chest",
            Session::BroBack => "Back",
            Session::BroShoulders => "Shoulders",
            Session::BroArms => "Arms",
        }
    }

    /// Muscles trained directly (§A8 table rows).
    fn muscles(self) -> &'static [Muscle] {
        use Muscle::*;
        match self {
            Session::FullBody => &[
                Chest, Lats, MiddleBack, Shoulders, Quadriceps, Hamstrings, Glutes, Biceps,
                Triceps, Traps, Calves, Abdominals,
            ],
            Session::Upper => &[Chest, Lats, MiddleBack, Shoulders, Biceps, Triceps, Traps],
            Session::Lower | Session::Legs => &[Quadriceps, Hamstrings, Glutes, Calves, Abdominals],
            Session::Push => &[Chest, Shoulders, Triceps],
            // Rear delts count as shoulders (§A8: pull = back, rear delts, biceps, traps).
            Session::Pull => &[Lats, MiddleBack, Shoulders, Biceps, Traps],
            Session::ChestBack => &[Chest, Lats, MiddleBack],
            Session::ShouldersArms => &[Shoulders, Biceps, Triceps, Traps, Abdominals],
            Session::BroChest => &[Chest, Abdominals],
            Session::BroBack => &[Lats, MiddleBack, Traps],
            Session::BroShoulders => &[Shoulders, Abdominals],
            Session::BroArms => &[Biceps, Triceps],
        }
    }
}

/// The session rotation of a template, cycled over the training days.
fn rotation(template: Template) -> &'static [Session] {
    match template {
        Template::FullBody => &[Session::FullBody],
        Template::UpperLower => &[Session::Upper, Session::Lower],
        Template::Ppl => &[Session::Push, Session::Pull, Session::Legs],
        Template::UpperLowerPpl => &[
            Session::Upper,
            Session::Lower,
            Session::Push,
            Session::Pull,
            Session::Legs,
        ],
        Template::Arnold => &[Session::ChestBack, Session::ShouldersArms, Session::Legs],
        Template::Bro => &[
            Session::BroChest,
            Session::BroBack,
            Session::BroShoulders,
            Session::BroArms,
            Session::Legs,
        ],
    }
}

/// The template for a style and days (§A8 "fit by days per week"). `auto`: 1–3 days full body
/// (3-day PPL trains each muscle 1×/week, which §A8 counts against for hypertrophy), 4 upper/lower,
/// 5 upper/lower + PPL, 6 PPL ×2 (upper/lower ×3 for beginners \[C\]), 7 PPL rotation. `custom`:
/// frequency first, full body up to 3 days, upper/lower beyond \[C\].
pub fn template_for(style: Style, days: u8, experience: Experience) -> Template {
    match style {
        Style::FullBody => Template::FullBody,
        Style::UpperLower => Template::UpperLower,
        Style::Ppl => Template::Ppl,
        Style::Arnold => Template::Arnold,
        Style::Bro => Template::Bro,
        Style::Custom if days <= 3 => Template::FullBody,
        Style::Custom => Template::UpperLower,
        Style::Auto => match days {
            0..=3 => Template::FullBody,
            4 => Template::UpperLower,
            5 => Template::UpperLowerPpl,
            6 if experience == Experience::Beginner => Template::UpperLower,
            _ => Template::Ppl,
        },
    }
}

/// Longest cyclic run of days equal to `value` in a week.
fn longest_run(week: &[bool; WEEK_DAYS], value: bool) -> usize {
    let mut best = 0;
    for start in 0..WEEK_DAYS {
        let run = (0..WEEK_DAYS)
            .take_while(|k| week[(start + k) % WEEK_DAYS] == value)
            .count();
        best = best.max(run);
    }
    best
}

/// Ranking of a placement: longest training run, longest rest run, training-day positions.
type PlacementKey = (usize, usize, Vec<usize>);

/// Which weekdays are training days: `days` of them, none on a fixed rest day, spread so the longest
/// run of training days, then of rest days, is as short as possible; ties go to the earliest days
/// (so 3 days are Mon/Wed/Fri, §A8) \[C\]. `None` if the fixed rest days leave too few days.
pub fn place_training_days(days: u8, fixed_rest: &[Weekday]) -> Option<[bool; WEEK_DAYS]> {
    let mut best: Option<(PlacementKey, [bool; WEEK_DAYS])> = None;
    for mask in 0u32..(1 << WEEK_DAYS) {
        if mask.count_ones() != u32::from(days) {
            continue;
        }
        let mut week = [false; WEEK_DAYS];
        for (i, slot) in week.iter_mut().enumerate() {
            *slot = mask & (1 << i) != 0;
        }
        if fixed_rest.iter().any(|d| week[weekday_index(*d)]) {
            continue;
        }
        let order: Vec<usize> = (0..WEEK_DAYS).filter(|&i| week[i]).collect();
        let key = (longest_run(&week, true), longest_run(&week, false), order);
        if best.as_ref().is_none_or(|(k, _)| key < *k) {
            best = Some((key, week));
        }
    }
    best.map(|(_, week)| week)
}

/// Position of a weekday, Monday = 0.
pub(crate) fn weekday_index(day: Weekday) -> usize {
    Weekday::ALL.iter().position(|d| *d == day).unwrap_or(0)
}

/// Effective weekly sets the engine aims at for a muscle \[C\].
pub fn target_sets(landmarks: &MuscleLandmarks, goal: Goal, priority: bool) -> u8 {
    match (goal, priority) {
        (Goal::Hypertrophy, true) => landmarks.mav_high,
        (Goal::Hypertrophy, false) | (_, true) => landmarks.mav_low,
        (_, false) => (landmarks.mev + landmarks.mav_low).div_ceil(2),
    }
}

/// Direct sets, indirect sets and frequency of every programmed muscle, from the days (the same
/// arithmetic for the engine and the guardrails).
pub(crate) fn tally(days: &[Day]) -> Vec<(Muscle, u16, u16, u8)> {
    let direct = |muscle: Muscle| -> u16 {
        days.iter()
            .flat_map(|d| &d.muscles)
            .filter(|m| m.muscle == muscle)
            .map(|m| u16::from(m.sets))
            .sum()
    };
    LANDMARKS
        .iter()
        .map(|l| {
            let sources: Vec<Muscle> = INDIRECT
                .iter()
                .filter(|(_, r)| *r == l.muscle)
                .map(|(s, _)| *s)
                .collect();
            let indirect = sources.iter().map(|s| direct(*s)).sum();
            let frequency = days
                .iter()
                .filter(|d| {
                    d.muscles
                        .iter()
                        .any(|m| m.muscle == l.muscle || sources.contains(&m.muscle))
                })
                .count();
            (
                l.muscle,
                direct(l.muscle),
                indirect,
                u8::try_from(frequency).unwrap_or(u8::MAX),
            )
        })
        .collect()
}

/// Effective weekly sets (§A4): direct + 0.5 × indirect.
pub fn effective_sets(direct: u16, indirect: u16) -> f64 {
    f64::from(direct) + INDIRECT_CREDIT * f64::from(indirect)
}

fn engine_error(message: impl Into<String>) -> CoachError {
    CoachError::Engine {
        kind: crate::JobKind::Split,
        message: message.into(),
    }
}

/// The deterministic split.
pub(crate) fn run(input: &SplitInput) -> Result<SplitOutput, CoachError> {
    let days_per_week = input.days_per_week.get();
    let goal = input.athlete.goal;
    let experience = input.athlete.experience;
    let template = template_for(input.style(), days_per_week, experience);
    let week = place_training_days(days_per_week, input.rest_days())
        .ok_or_else(|| engine_error("the fixed rest days leave too few training days"))?;

    // Session of each training day, the rotation cycled from Monday.
    let sessions: Vec<Option<Session>> = {
        let rot = rotation(template);
        let mut next = 0;
        week.iter()
            .map(|&train| {
                train.then(|| {
                    let s = rot[next % rot.len()];
                    next += 1;
                    s
                })
            })
            .collect()
    };

    let mut days: Vec<Day> = Weekday::ALL
        .iter()
        .zip(&sessions)
        .map(|(&day, session)| Day {
            day,
            label: session.map_or("Rest", Session::label).to_owned(),
            rest: session.is_none(),
            muscles: Vec::new(),
        })
        .collect();

    // Direct sets per muscle, sources before receivers (LANDMARKS order).
    let mut direct_totals: Vec<(Muscle, u16)> = Vec::new();
    for l in &LANDMARKS {
        let priority = input.priority_muscles().contains(&l.muscle);
        let target = f64::from(target_sets(l, goal, priority));
        let indirect: u16 = INDIRECT
            .iter()
            .filter(|(_, r)| *r == l.muscle)
            .filter_map(|(s, _)| direct_totals.iter().find(|(m, _)| m == s).map(|(_, n)| *n))
            .sum();
        let need = (target - INDIRECT_CREDIT * f64::from(indirect))
            .max(0.0)
            .ceil();
        // `need` is at most the largest target (26), so the cast is exact.
        let need = need as u16;
        let slots: Vec<usize> = sessions
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some_and(|s| s.muscles().contains(&l.muscle)))
            .map(|(i, _)| i)
            .collect();
        let mut total = 0u16;
        if let Ok(k) = u16::try_from(slots.len())
            && k > 0
        {
            for (j, &slot) in slots.iter().enumerate() {
                let extra = u16::from(j < usize::from(need % k));
                let sets = (need / k + extra).min(u16::from(MAX_SETS_PER_SESSION));
                if sets > 0 {
                    let sets = u8::try_from(sets).unwrap_or(MAX_SETS_PER_SESSION);
                    days[slot].muscles.push(SessionMuscle {
                        muscle: l.muscle,
                        sets,
                    });
                    total += u16::from(sets);
                }
            }
        }
        direct_totals.push((l.muscle, total));
    }

    let mut weekly_sets = Vec::new();
    let mut flags = Vec::new();
    for ((muscle, direct, indirect, frequency), l) in tally(&days).into_iter().zip(&LANDMARKS) {
        let priority = input.priority_muscles().contains(&muscle);
        let weekly = effective_sets(direct, indirect);
        let mut flag = |code: FlagCode, message: String| {
            flags.push(Flag {
                code,
                muscle,
                message,
            });
        };
        if weekly < f64::from(l.mev) {
            flag(
                FlagCode::BelowMev,
                format!(
                    "{muscle}: {weekly} sets/week is below its MEV of {} (science.md §A4); the {template} template \
                     on {days_per_week} days cannot fit more at {MAX_SETS_PER_SESSION} sets per session",
                    l.mev
                ),
            );
        }
        if weekly > f64::from(l.mrv) {
            flag(
                FlagCode::AboveMrv,
                format!(
                    "{muscle}: {weekly} sets/week (indirect sets counted 0.5) exceeds its MRV of {} (§A4); \
                     reduce the compound work that trains it",
                    l.mrv
                ),
            );
        }
        if l.major && frequency < MIN_FREQUENCY {
            flag(
                FlagCode::LowFrequency,
                format!(
                    "{muscle}: trained {frequency}×/week; at least {MIN_FREQUENCY}×/week grows muscle better \
                     (Schoenfeld 2016, §A4) — more training days or another template would allow it"
                ),
            );
        }
        if priority && weekly < f64::from(l.mav_low) {
            flag(
                FlagCode::PriorityBelowMav,
                format!(
                    "{muscle} (priority): {weekly} sets/week is below the low end of its MAV ({}–{}, §A4); \
                     the sessions that train it are at the {MAX_SETS_PER_SESSION}-set cap",
                    l.mav_low, l.mav_high
                ),
            );
        }
        weekly_sets.push(MuscleVolume {
            muscle,
            direct_sets: u8::try_from(direct).map_err(|_| engine_error("direct sets overflow"))?,
            indirect_sets: u8::try_from(indirect)
                .map_err(|_| engine_error("indirect sets overflow"))?,
            weekly_sets: weekly,
            frequency,
            landmarks: Landmarks {
                mev: l.mev,
                mav_low: l.mav_low,
                mav_high: l.mav_high,
                mrv: l.mrv,
            },
            priority,
        });
    }

    let rationale = rationale(input, template);
    Ok(SplitOutput {
        template,
        training_days: days_per_week,
        days,
        weekly_sets,
        flags,
        rationale,
    })
}

fn rationale(input: &SplitInput, template: Template) -> String {
    let days = input.days_per_week.get();
    let style = input.style();
    let why = match style {
        Style::Auto => format!(
            "For {days} training days a week the {template} template fits best (science.md §A8), training each \
             major muscle at least {MIN_FREQUENCY}× a week where the days allow (§A4)."
        ),
        Style::Custom => format!(
            "Custom split: a frequency-first {template} rotation over {days} days, placed around the fixed rest days."
        ),
        _ => format!("The requested {style} template over {days} training days (§A8)."),
    };
    let goal = if input.athlete.goal == Goal::Hypertrophy {
        "For hypertrophy, weekly sets aim at the low end of each muscle's MAV (priority muscles: the high end)."
    } else {
        "For this goal, weekly sets aim halfway between MEV and MAV (priority muscles: the low end of MAV)."
    };
    let mut text = format!(
        "{why} Rest days are spread so no more training days run together than needed. {goal} \
         Volumes follow the RP landmarks (MEV/MAV/MRV, §A4); indirect sets count 0.5 (chest pressing for \
         triceps, pulling for biceps, squats and hinges for glutes), at most {MAX_SETS_PER_SESSION} sets per \
         muscle per session."
    );
    if input.athlete.experience == Experience::Beginner {
        text.push_str(
            " The landmarks are set for intermediate to advanced lifters; a beginner grows on less, so start \
             near the lower figures.",
        );
    }
    if days == DaysPerWeek::MAX {
        text.push_str(" Seven training days leave no full rest day: keep some sessions light.");
    }
    text
}
