//! The workout-plan engine.
//!
//! 1. **Structure**: the [`crate::split`] engine's week for the same athlete, days and style
//!    (template §A8, training days, muscles and target sets per session within the §A4 landmarks).
//! 2. **Exercises**: each session's sets of a muscle go to its best candidates
//!    ([`selection::Pool`]: equipment, level, injuries), at most [`TARGET_SETS_PER_EXERCISE`] sets
//!    per exercise; the days that train the same muscle alternate two variants (A/B) so the week has
//!    structure without random variety (science.md §C: "variety without structure is just noise").
//!    An exercise appears at most once per session.
//! 3. **Session length** ([`session_seconds`]): sets are trimmed, then whole exercises, until every
//!    session fits `session_minutes`, always taking the cut that costs the least volume below MEV and
//!    never dropping a major muscle under 2 sessions a week when another cut exists.
//! 4. **Volume**: effective weekly sets per muscle (direct + 0.5 × secondary, §A4, Pelland 2024) are
//!    cut to MRV where they exceed it, then muscles below MEV get sets back where the sessions have
//!    time left. What still misses MEV or 2×/week is flagged with the reason.
//! 5. **Weeks**: mesocycles of [`block_weeks`] weeks closed by a deload week in plans of
//!    [`MIN_WEEKS_FOR_DELOAD`]+ weeks (§A5, Rogerson 2024: every 5.6 ± 2.3 weeks); RIR ramps from
//!    [`START_RIR`] down to [`rir_floor`] across each block's training weeks; the deload halves the
//!    sets (rounded up), keeps the exercises and frequency and trains at [`DELOAD_RIR`] (§A5: less
//!    volume, less effort, lighter loads, same frequency).
//! 6. **Loads** ([`prescribed_load`]): kg from the log's e1RM through the RPE chart at the bottom of
//!    the rep range and the week's RIR, rounded to the plate increment and never above the chart, never
//!    more than +7.5 % over the previous training week (or the last logged working load, §A5); without
//!    a log, %e1RM for loadable exercises, else the RIR target alone.

use crate::science::round_to;
use std::collections::HashMap;
use std::fmt::Write as _;

use super::selection::{self, Pool};
use super::{
    Flag, FlagCode, Load, LoadBasis, MAX_EXERCISES_PER_DAY, MAX_FLAG_CHARS, MAX_RATIONALE_CHARS,
    MAX_REST_SECONDS, MAX_SETS_PER_EXERCISE, MuscleVolume, PlanDay, PlanExercise, PlanWeek,
    Progression, ProgressionModel, RepRange, WorkoutPlanInput, WorkoutPlanOutput,
};
use crate::athlete::{Experience, Goal};
use crate::catalogue::{Catalogue, Exercise};
use crate::layoff::{LayoffBand, ReturnFromLayoff, return_from_layoff};
use crate::overload_analysis::engine::{facts_of, plate_increment_kg};
use crate::science::{self, CHART_MAX_REPS, HARD_CAP_PCT, rts_pct_at_reps_to_failure};
use crate::split::engine::{INDIRECT_CREDIT, LANDMARKS, MIN_FREQUENCY, MuscleLandmarks};
use crate::split::{self, Landmarks, Template, WEEK_DAYS, Weekday};
use crate::vocab::{Equipment, Mechanic, Muscle};
use crate::{CoachError, JobKind};

/// Programmed muscles (those with §A4 landmarks), in [`LANDMARKS`] order.
const MUSCLES: usize = LANDMARKS.len();

/// Largest weekly direct (or indirect) set count of one muscle: every exercise of every day at the cap.
pub const MAX_WEEKLY_DIRECT_SETS: u16 =
    (WEEK_DAYS * MAX_EXERCISES_PER_DAY * MAX_SETS_PER_EXERCISE as usize) as u16;

/// Sets per exercise when a session's sets for a muscle are shared out \[C\] (3–4 straight sets per
/// exercise is the common prescription; more go to a second exercise).
pub const TARGET_SETS_PER_EXERCISE: u8 = 4;
/// Sets an exercise keeps before the session-length fit drops whole exercises \[C\].
pub const MIN_SETS_PER_EXERCISE: u8 = 2;
/// Sets of an exercise added to reach MEV \[C\].
pub const ADDED_EXERCISE_SETS: u8 = 2;

/// General warm-up before the first working set, seconds \[C\] (warm-up sets are not working sets,
/// §C Formly, but they take time: this and [`CHANGEOVER_SECONDS`] budget for them).
pub const WARMUP_SECONDS: u32 = 300;
/// Per exercise: set-up, specific warm-up sets and moving between stations, seconds \[C\].
pub const CHANGEOVER_SECONDS: u32 = 60;
/// Time under load per rep, seconds \[C\] (about 1–2 s up, 2 s down, a breath between reps).
pub const SECONDS_PER_REP: u32 = 4;

/// RIR of the first training week of each block \[C\]: RP's landmarks assume 0–4 RIR (§A4) and the
/// sources say "when in doubt, be conservative" (§A5, JuggernautAI).
pub const START_RIR: u8 = 3;
/// Most a muscle's planned weekly sets rise from one training week to the next, percent (seed
/// 003's volume guardrail; deloads and a return ramp's first week aside, §A9) \[C\].
pub const MAX_WEEKLY_VOLUME_RISE_PCT: f64 = 30.0;

/// RIR of every exercise in a deload week \[C\] (more RIR than any training week, §A5 Rogerson 2024).
pub const DELOAD_RIR: u8 = 4;
/// Most RIR in a training (non-deload) week: RP's landmarks assume sets 0–4 reps short of failure (§A4).
pub const MAX_TRAINING_RIR: u8 = 4;
/// Plans shorter than this many weeks get no deload (the next block starts with one) \[C\].
pub const MIN_WEEKS_FOR_DELOAD: u8 = 5;
/// Fewest weeks from one deload to the next (or from the start to the first) \[C\] (§A5: every 5.6 ±
/// 2.3 weeks in Rogerson 2024; "about every 5–6 weeks" in the summary).
pub const MIN_DELOAD_SPACING: u8 = 4;
/// Most weeks from one deload to the next (or from the start to the first) \[C\].
pub const MAX_DELOAD_SPACING: u8 = 6;

/// Decimals of a stated %e1RM (the chart's own precision, §A3).
const PCT_DECIMALS: i32 = 1;

/// Weeks per mesocycle, the last one a deload \[C\]: 5 (4 training weeks + deload, §A5 "about every
/// 5–6 weeks"); 4 for advanced lifters, who accumulate fatigue faster at their loads.
pub fn block_weeks(experience: Experience) -> u8 {
    match experience {
        Experience::Advanced => 4,
        Experience::Beginner | Experience::Intermediate => 5,
    }
}

/// The lowest RIR a block ramps down to \[C\]: 2 for beginners (novices misjudge reps in reserve
/// most, Zourdos 2016 and Hackett 2017, §A3), 1 otherwise. Never 0: a plan does not program failure.
pub fn rir_floor(experience: Experience) -> u8 {
    match experience {
        Experience::Beginner => 2,
        Experience::Intermediate | Experience::Advanced => 1,
    }
}

/// Rep range and rest of an exercise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Bottom of the rep range.
    pub reps_min: u8,
    /// Top of the rep range.
    pub reps_max: u8,
    /// Rest between sets, seconds.
    pub rest_seconds: u16,
}

/// Rep range and rest by goal and mechanic \[C\], from ACSM 2009 (§A4: novices 8–12RM; advanced
/// 1–12RM with emphasis on 1–6RM and 3–5 min rest for heavy loads) and the NSCA table (§A2):
///
/// | goal | compound | isolation |
/// |---|---|---|
/// | strength | 4–6 (beginners 6–8), 180 s | 8–12, 90 s |
/// | hypertrophy | 6–10, 120 s | 10–15, 75 s |
/// | general fitness, fat loss | 8–12, 90 s | 10–15, 60 s |
/// | endurance | 12–15, 60 s | 15–20, 45 s |
pub fn shape(goal: Goal, experience: Experience, compound: bool) -> Shape {
    let (reps_min, reps_max, rest_seconds) = match (goal, compound) {
        (Goal::Strength, true) if experience == Experience::Beginner => (6, 8, 180),
        (Goal::Strength, true) => (4, 6, 180),
        (Goal::Strength, false) => (8, 12, 90),
        (Goal::Hypertrophy, true) => (6, 10, 120),
        (Goal::Hypertrophy, false) => (10, 15, 75),
        (Goal::GeneralFitness | Goal::FatLoss, true) => (8, 12, 90),
        (Goal::GeneralFitness | Goal::FatLoss, false) => (10, 15, 60),
        (Goal::Endurance, true) => (12, 15, 60),
        (Goal::Endurance, false) => (15, 20, 45),
    };
    Shape {
        reps_min,
        reps_max,
        rest_seconds: rest_seconds.min(MAX_REST_SECONDS),
    }
}

/// True for an exercise the engine treats as compound (its catalogue mechanic).
pub fn is_compound(exercise: &Exercise) -> bool {
    exercise.mechanic == Some(Mechanic::Compound)
}

/// Estimated seconds of a session of `(sets, top of the rep range, rest seconds)` per exercise \[C\]:
/// [`WARMUP_SECONDS`] + per exercise [`CHANGEOVER_SECONDS`] + per working set the top of the rep range
/// × [`SECONDS_PER_REP`] plus the rest after it (the last set's rest included: it pays for walking to
/// the next station). Errs long, so a plan that fits on paper fits in the gym.
pub fn session_seconds(exercises: impl IntoIterator<Item = (u8, u8, u16)>) -> u32 {
    WARMUP_SECONDS
        + exercises
            .into_iter()
            .map(|(sets, reps_max, rest)| {
                CHANGEOVER_SECONDS
                    + u32::from(sets) * (u32::from(reps_max) * SECONDS_PER_REP + u32::from(rest))
            })
            .sum::<u32>()
}

/// [`session_seconds`] of a day's exercises in whole minutes, rounded up.
pub fn estimated_minutes(exercises: &[PlanExercise]) -> u16 {
    let seconds = session_seconds(
        exercises
            .iter()
            .map(|e| (e.sets, e.rep_range.max, e.rest_seconds)),
    );
    u16::try_from(seconds.div_ceil(60)).unwrap_or(u16::MAX)
}

/// The plate increment the plan rounds to: `plate_increment_kg`, else the units' default (§A5).
pub fn increment_kg(input: &WorkoutPlanInput) -> f64 {
    plate_increment_kg(input.plate_increment_kg, input.athlete.units())
}

/// What the training log says about one exercise's load.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistoryLoad {
    /// The most recent session's best-set e1RM, kg (RPE chart, §A3; warm-ups never count).
    pub e1rm_kg: f64,
    /// Ceiling of the first planned load, kg (§A5): +7.5 % over the last comparable working load;
    /// that load itself after a failed or lighter session (§C Liftosaur); −10 % after three failed
    /// sessions in a row.
    pub first_cap_kg: f64,
}

/// The e1RM and first-load ceiling of every logged exercise with a usable set, by catalogue id.
/// None for a beginner back after 8 weeks or more: their old log counts for nothing (§A9).
pub fn history_loads(input: &WorkoutPlanInput) -> HashMap<&'static str, HistoryLoad> {
    let fresh_start = input.athlete.experience == Experience::Beginner
        && layoff(input).is_some_and(|l| l.band == LayoffBand::Baseline);
    if fresh_start {
        return HashMap::new();
    }
    let increment = increment_kg(input);
    facts_of(input.history())
        .into_iter()
        .filter_map(|f| {
            let last = f.last()?;
            let e1rm_kg = last
                .best
                .as_ref()
                .map(|b| b.e1rm_kg)
                .or_else(|| f.series.last().map(|p| p.e1rm_kg))?;
            let last_load = f.last_load_kg();
            let first_cap_kg = if f.reset_due {
                science::reset_load_kg(last_load, increment)
            } else if f.no_increase() {
                last_load
            } else {
                science::hard_cap_kg(last_load)
            };
            Some((
                f.id.as_str(),
                HistoryLoad {
                    e1rm_kg,
                    first_cap_kg,
                },
            ))
        })
        .collect()
}

/// True when a %e1RM means something for the exercise: it takes an external load.
pub fn is_loadable(exercise: &Exercise) -> bool {
    matches!(
        exercise.equipment,
        Some(
            Equipment::Barbell
                | Equipment::Dumbbell
                | Equipment::Cable
                | Equipment::Machine
                | Equipment::Kettlebells
                | Equipment::EzCurlBar
                | Equipment::MedicineBall
        )
    )
}

/// The chart's %1RM for the bottom of the rep range at `rir` (§A3): the cell at reps-to-failure
/// `reps_min + rir` of the one-array chart, which its diagonal rule extends past the published RPE 6.5
/// row to the deload's RIR 4 \[C\]. `None` above the chart's 12 reps or past its 15.5 reps to failure.
pub fn chart_pct(reps_min: u8, rir: u8) -> Option<f64> {
    if reps_min > CHART_MAX_REPS {
        return None;
    }
    rts_pct_at_reps_to_failure(f64::from(reps_min) + f64::from(rir))
}

/// What a week does to every load in it (the engine and the guardrails read weeks alike).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WeekLoading {
    /// A deload week: no load above the training week before.
    pub deload: bool,
    /// The plate increment, kg.
    pub increment_kg: f64,
    /// The share of the chart's load in a return ramp's week (§A9; 1 otherwise).
    pub layoff_factor: f64,
}

/// The load of one exercise in one week.
///
/// `reference_kg` is the load of the same exercise in the latest earlier training week (none in the
/// first week it appears); in a deload week the load also stays at or below it.
pub fn prescribed_load(
    exercise: &Exercise,
    reps_min: u8,
    rir: u8,
    history: Option<&HistoryLoad>,
    reference_kg: Option<f64>,
    week: WeekLoading,
) -> Load {
    let WeekLoading {
        deload,
        increment_kg,
        layoff_factor,
    } = week;
    let pct = chart_pct(reps_min, rir);
    match (pct, history) {
        (Some(pct), Some(h)) => {
            let chart = h.e1rm_kg * pct / 100.0 * layoff_factor;
            let mut cap = chart;
            match reference_kg {
                Some(r) if deload => cap = cap.min(r),
                Some(r) => cap = cap.min(science::hard_cap_kg(r)),
                None => cap = cap.min(h.first_cap_kg),
            }
            let kg = science::round_to_increment(chart, increment_kg, Some(cap))
                .clamp(0.0, super::MAX_LOAD_KG);
            Load {
                basis: LoadBasis::Kg,
                kg: Some(kg),
                pct_e1rm: Some(round_to(pct, PCT_DECIMALS)),
            }
        }
        (Some(pct), None) if is_loadable(exercise) => Load {
            basis: LoadBasis::PctE1rm,
            kg: None,
            pct_e1rm: Some(round_to(pct, PCT_DECIMALS)),
        },
        _ => Load {
            basis: LoadBasis::Rir,
            kg: None,
            pct_e1rm: None,
        },
    }
}

/// The deload weeks of a plan (numbers from 1): every [`block_weeks`]-th week in plans of
/// [`MIN_WEEKS_FOR_DELOAD`]+ weeks, none in shorter plans.
pub fn deload_weeks(weeks: u8, experience: Experience) -> Vec<u8> {
    if weeks < MIN_WEEKS_FOR_DELOAD {
        return Vec::new();
    }
    let block = block_weeks(experience);
    (1..=weeks).filter(|w| w % block == 0).collect()
}

/// RIR of each week (numbers from 1 → index 0): [`DELOAD_RIR`] in deloads; in each run of training
/// weeks, a linear ramp from [`START_RIR`] down to [`rir_floor`], rounded to whole reps.
pub fn rir_by_week(weeks: u8, deloads: &[u8], experience: Experience) -> Vec<u8> {
    let floor = rir_floor(experience);
    let mut out = vec![DELOAD_RIR; usize::from(weeks)];
    let mut run_start = 1u8;
    for end in deloads
        .iter()
        .copied()
        .chain(std::iter::once(weeks.saturating_add(1)))
    {
        let run: Vec<u8> = (run_start..end).collect();
        let n = run.len();
        for (i, w) in run.iter().enumerate() {
            let drop = if n > 1 {
                f64::from(START_RIR - floor) * i as f64 / (n - 1) as f64
            } else {
                0.0
            };
            // `drop` is between 0 and START_RIR − floor, so the result is a small whole number.
            let rir = (f64::from(START_RIR) - drop).round().max(f64::from(floor)) as u8;
            if let Some(slot) = out.get_mut(usize::from(*w) - 1) {
                *slot = rir;
            }
        }
        run_start = end.saturating_add(1);
    }
    out
}

/// Position of a programmed muscle in [`LANDMARKS`].
pub(crate) fn muscle_index(muscle: Muscle) -> Option<usize> {
    LANDMARKS.iter().position(|l| l.muscle == muscle)
}

/// Direct sets, secondary sets and training days of every programmed muscle over one week.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Tally {
    /// Sets of exercises with the muscle as primary.
    pub direct: [u16; MUSCLES],
    /// Sets of exercises with the muscle as secondary.
    pub indirect: [u16; MUSCLES],
    /// Days with at least one exercise that works the muscle.
    pub days: [u8; MUSCLES],
}

impl Tally {
    /// The tally of a week given as days of `(exercise, sets)`.
    pub fn of<'a, D, E>(days: D) -> Tally
    where
        D: IntoIterator<Item = E>,
        E: IntoIterator<Item = (&'a Exercise, u8)>,
    {
        let mut t = Tally::default();
        for day in days {
            let mut touched = [false; MUSCLES];
            for (exercise, sets) in day {
                t.add(exercise, i32::from(sets));
                for (i, l) in LANDMARKS.iter().enumerate() {
                    if works(exercise, l.muscle) {
                        touched[i] = true;
                    }
                }
            }
            for (i, hit) in touched.into_iter().enumerate() {
                if hit {
                    t.days[i] += 1;
                }
            }
        }
        t
    }

    /// Adds (or with a negative count removes) sets of an exercise; leaves the days alone.
    fn add(&mut self, exercise: &Exercise, sets: i32) {
        for (i, l) in LANDMARKS.iter().enumerate() {
            let slot = if exercise.primary_muscles.contains(&l.muscle) {
                &mut self.direct[i]
            } else if exercise.secondary_muscles.contains(&l.muscle) {
                &mut self.indirect[i]
            } else {
                continue;
            };
            *slot = u16::try_from((i32::from(*slot) + sets).max(0)).unwrap_or(u16::MAX);
        }
    }

    /// Effective weekly sets of muscle `i` (§A4): direct + 0.5 × indirect.
    pub fn weekly(&self, i: usize) -> f64 {
        f64::from(self.direct[i]) + INDIRECT_CREDIT * f64::from(self.indirect[i])
    }
}

/// True when the exercise works the muscle, as primary or secondary.
fn works(exercise: &Exercise, muscle: Muscle) -> bool {
    exercise.primary_muscles.contains(&muscle) || exercise.secondary_muscles.contains(&muscle)
}

/// The volume entries of a tally, in [`LANDMARKS`] order.
pub(crate) fn volume_of(t: &Tally) -> Vec<MuscleVolume> {
    LANDMARKS
        .iter()
        .enumerate()
        .map(|(i, l)| MuscleVolume {
            muscle: l.muscle,
            direct_sets: t.direct[i],
            indirect_sets: t.indirect[i],
            weekly_sets: t.weekly(i),
            frequency: t.days[i],
            landmarks: landmarks_of(l),
        })
        .collect()
}

/// The published landmark figures of a muscle.
pub(crate) fn landmarks_of(l: &MuscleLandmarks) -> Landmarks {
    Landmarks {
        mev: l.mev,
        mav_low: l.mav_low,
        mav_high: l.mav_high,
        mrv: l.mrv,
    }
}

/// One exercise of the template week.
#[derive(Clone, Debug)]
struct Slot {
    exercise: &'static Exercise,
    sets: u8,
}

/// One training day of the template week.
#[derive(Clone, Debug)]
struct Session {
    day: Weekday,
    label: String,
    /// The muscles the split gives this session (where sets may be added back).
    muscles: Vec<Muscle>,
    slots: Vec<Slot>,
}

/// What the week builder needs to know about the input.
struct Context<'a> {
    input: &'a WorkoutPlanInput,
    injured: Vec<Muscle>,
    pool: Pool,
    budget_seconds: u32,
}

impl Context<'_> {
    fn shape(&self, exercise: &Exercise) -> Shape {
        let athlete = &self.input.athlete;
        shape(athlete.goal, athlete.experience, is_compound(exercise))
    }

    fn set_seconds(&self, exercise: &Exercise) -> u32 {
        let s = self.shape(exercise);
        u32::from(s.reps_max) * SECONDS_PER_REP + u32::from(s.rest_seconds)
    }

    fn seconds(&self, session: &Session) -> u32 {
        session_seconds(session.slots.iter().map(|s| {
            let shape = self.shape(s.exercise);
            (s.sets, shape.reps_max, shape.rest_seconds)
        }))
    }

    /// True when the muscle's shortfall is to be chased (not injured, has candidates).
    fn trainable(&self, muscle: Muscle) -> bool {
        !self.injured.contains(&muscle) && !self.pool.candidates(muscle).is_empty()
    }

    fn tally(&self, week: &[Session]) -> Tally {
        Tally::of(
            week.iter()
                .map(|s| s.slots.iter().map(|slot| (slot.exercise, slot.sets))),
        )
    }

    /// Sum of the shortfalls below MEV of the trainable muscles, in half sets.
    fn deficit(&self, t: &Tally) -> i64 {
        LANDMARKS
            .iter()
            .enumerate()
            .filter(|(_, l)| self.trainable(l.muscle))
            .map(|(i, l)| half_sets((f64::from(l.mev) - t.weekly(i)).max(0.0)))
            .sum()
    }

    /// True when a tally leaves a trainable major muscle under [`MIN_FREQUENCY`] days that `before`
    /// had.
    fn breaks_frequency(&self, before: &Tally, after: &Tally) -> bool {
        self.input.days_per_week.get() >= MIN_FREQUENCY
            && LANDMARKS.iter().enumerate().any(|(i, l)| {
                l.major
                    && self.trainable(l.muscle)
                    && before.days[i] >= MIN_FREQUENCY
                    && after.days[i] < MIN_FREQUENCY
            })
    }
}

/// A value in half sets (exact: every credit is a multiple of 0.5).
fn half_sets(sets: f64) -> i64 {
    // Weekly sets are bounded by MAX_WEEKLY_DIRECT_SETS, far inside i64.
    (sets * 2.0).round() as i64
}

/// A change the volume passes may make to the template week.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    /// One set fewer of a slot.
    DropSet { day: usize, slot: usize },
    /// A slot removed.
    Remove { day: usize, slot: usize },
}

fn apply(week: &mut [Session], change: Change) {
    match change {
        Change::DropSet { day, slot } => {
            if let Some(s) = week.get_mut(day).and_then(|d| d.slots.get_mut(slot)) {
                s.sets = s.sets.saturating_sub(1).max(1);
            }
        }
        Change::Remove { day, slot } => {
            if let Some(d) = week.get_mut(day)
                && slot < d.slots.len()
            {
                d.slots.remove(slot);
            }
        }
    }
}

/// The tally after a change, from the tally before it (no copy of the week: the volume passes
/// weigh every possible change at every step).
fn tally_after(week: &[Session], before: &Tally, change: Change) -> Tally {
    let mut after = before.clone();
    let (Change::DropSet { day, slot } | Change::Remove { day, slot }) = change;
    let Some(session) = week.get(day) else {
        return after;
    };
    let Some(target) = session.slots.get(slot) else {
        return after;
    };
    match change {
        Change::DropSet { .. } => {
            if target.sets > 1 {
                after.add(target.exercise, -1);
            }
        }
        Change::Remove { .. } => {
            after.add(target.exercise, -i32::from(target.sets));
            for (i, l) in LANDMARKS.iter().enumerate() {
                let still_worked = session
                    .slots
                    .iter()
                    .enumerate()
                    .any(|(k, s)| k != slot && works(s.exercise, l.muscle));
                if works(target.exercise, l.muscle) && !still_worked {
                    after.days[i] = after.days[i].saturating_sub(1);
                }
            }
        }
    }
    after
}

fn engine_error(message: impl Into<String>) -> CoachError {
    CoachError::Engine {
        kind: JobKind::WorkoutPlan,
        message: message.into(),
    }
}

/// The split's sessions filled with exercises (step 2).
fn allocate(ctx: &Context<'_>, structure: &[split::Day]) -> Vec<Session> {
    let mut week: Vec<Session> = Vec::new();
    let mut seen: Vec<Muscle> = Vec::new();
    for day in structure.iter().filter(|d| !d.rest) {
        let mut session = Session {
            day: day.day,
            label: day.label.clone(),
            muscles: day.muscles.iter().map(|m| m.muscle).collect(),
            slots: Vec::new(),
        };
        for m in &day.muscles {
            let earlier = seen.iter().filter(|s| **s == m.muscle).count();
            seen.push(m.muscle);
            if ctx.injured.contains(&m.muscle) {
                continue;
            }
            let candidates = ctx.pool.candidates(m.muscle);
            if candidates.is_empty() {
                continue;
            }
            let wanted = usize::from(m.sets.div_ceil(TARGET_SETS_PER_EXERCISE));
            // Variant A on the first, third, ... day that trains the muscle; variant B in between.
            let start = (earlier % 2) * wanted;
            let picked: Vec<&'static Exercise> = (0..candidates.len())
                .map(|k| candidates[(start + k) % candidates.len()])
                .filter(|e| !session.slots.iter().any(|s| std::ptr::eq(s.exercise, *e)))
                .take(wanted)
                .take(MAX_EXERCISES_PER_DAY.saturating_sub(session.slots.len()))
                .collect();
            let Ok(count) = u8::try_from(picked.len()) else {
                continue;
            };
            if count == 0 {
                continue;
            }
            for (k, exercise) in picked.into_iter().enumerate() {
                let extra = u8::from(k < usize::from(m.sets % count));
                let sets = (m.sets / count + extra).clamp(1, MAX_SETS_PER_EXERCISE);
                session.slots.push(Slot { exercise, sets });
            }
        }
        week.push(session);
    }
    week
}

/// Step 3: trims every session to the time budget.
fn fit_time(ctx: &Context<'_>, week: &mut [Session]) {
    loop {
        let over = week
            .iter()
            .enumerate()
            .map(|(i, s)| (i, ctx.seconds(s)))
            .filter(|(_, secs)| *secs > ctx.budget_seconds)
            .max_by_key(|(i, secs)| (*secs, std::cmp::Reverse(*i)));
        let Some((day, _)) = over else { return };
        let before = ctx.tally(week);
        let deficit = ctx.deficit(&before);
        let slots = &week[day].slots;
        let mut options: Vec<(u8, Change)> = Vec::new();
        for (slot, s) in slots.iter().enumerate() {
            if s.sets > MIN_SETS_PER_EXERCISE {
                options.push((0, Change::DropSet { day, slot }));
            }
            if slots.len() > 1 {
                options.push((0, Change::Remove { day, slot }));
            }
            if s.sets > 1 && s.sets <= MIN_SETS_PER_EXERCISE {
                options.push((1, Change::DropSet { day, slot }));
            }
        }
        let best = options.into_iter().min_by_key(|(tier, change)| {
            let after = tally_after(week, &before, *change);
            let (slot, kind) = match *change {
                Change::DropSet { slot, .. } => (slot, 0u8),
                Change::Remove { slot, .. } => (slot, 1u8),
            };
            let exercise = week[day].slots[slot].exercise;
            let surplus = exercise
                .primary_muscles
                .first()
                .and_then(|m| muscle_index(*m))
                .map_or(i64::MAX, |i| {
                    half_sets(before.weekly(i)) - i64::from(LANDMARKS[i].mev) * 2
                });
            (
                *tier,
                ctx.breaks_frequency(&before, &after),
                ctx.deficit(&after) - deficit,
                kind,
                std::cmp::Reverse(surplus),
                is_compound(exercise),
                slot,
            )
        });
        match best {
            Some((_, change)) => apply(week, change),
            None => return,
        }
    }
}

/// Step 4a: cuts muscles above MRV.
fn cap_mrv(ctx: &Context<'_>, week: &mut [Session]) {
    loop {
        let before = ctx.tally(week);
        let Some(over) =
            (0..MUSCLES).find(|&i| before.weekly(i) > f64::from(LANDMARKS[i].mrv) + 1e-9)
        else {
            return;
        };
        let muscle = LANDMARKS[over].muscle;
        let deficit = ctx.deficit(&before);
        let mut options = Vec::new();
        for (day, session) in week.iter().enumerate() {
            for (slot, s) in session.slots.iter().enumerate() {
                if !works(s.exercise, muscle) {
                    continue;
                }
                if s.sets > 1 {
                    options.push(Change::DropSet { day, slot });
                }
                if session.slots.len() > 1 {
                    options.push(Change::Remove { day, slot });
                }
            }
        }
        let best = options.into_iter().min_by_key(|change| {
            let after = tally_after(week, &before, *change);
            let kind = u8::from(matches!(change, Change::Remove { .. }));
            (
                ctx.breaks_frequency(&before, &after),
                ctx.deficit(&after) - deficit,
                // Cut where it lowers the muscle most (direct sets before secondary ones).
                half_sets(after.weekly(over)),
                kind,
            )
        });
        match best {
            Some(change) => apply(week, change),
            None => return,
        }
    }
}

/// True when adding `sets` of `exercise` keeps every muscle at or under MRV.
fn within_mrv(t: &Tally, exercise: &Exercise, sets: u8) -> bool {
    let mut after = t.clone();
    after.add(exercise, i32::from(sets));
    (0..MUSCLES).all(|i| after.weekly(i) <= f64::from(LANDMARKS[i].mrv) + 1e-9)
}

/// An addition the MEV pass may make.
#[derive(Clone, Copy, Debug)]
enum Addition {
    Set {
        day: usize,
        slot: usize,
    },
    Exercise {
        day: usize,
        exercise: &'static Exercise,
        sets: u8,
    },
}

/// Step 4b: gives sets back to muscles below MEV where sessions have time left, and fills any
/// session the injuries and equipment left empty.
fn fill_mev(ctx: &Context<'_>, week: &mut [Session]) {
    for (i, l) in LANDMARKS.iter().enumerate() {
        if !ctx.trainable(l.muscle) {
            continue;
        }
        loop {
            let t = ctx.tally(week);
            if t.weekly(i) >= f64::from(l.mev) {
                break;
            }
            let Some(addition) = best_addition(ctx, week, &t, l.muscle, false) else {
                break;
            };
            add(week, addition);
        }
    }
    for day in 0..week.len() {
        if !week[day].slots.is_empty() {
            continue;
        }
        let t = ctx.tally(week);
        let mut muscles: Vec<(i64, usize)> = LANDMARKS
            .iter()
            .enumerate()
            .filter(|(_, l)| ctx.trainable(l.muscle))
            .map(|(i, l)| (half_sets(t.weekly(i)) - i64::from(l.mev) * 2, i))
            .collect();
        muscles.sort_unstable();
        for (_, i) in muscles {
            let only_this_day: Vec<Session> = week.get(day).cloned().into_iter().collect();
            if let Some(addition) =
                best_addition(ctx, &only_this_day, &t, LANDMARKS[i].muscle, true)
            {
                let addition = match addition {
                    Addition::Exercise { exercise, sets, .. } => Addition::Exercise {
                        day,
                        exercise,
                        sets,
                    },
                    Addition::Set { slot, .. } => Addition::Set { day, slot },
                };
                add(week, addition);
                break;
            }
        }
    }
}

fn add(week: &mut [Session], addition: Addition) {
    match addition {
        Addition::Set { day, slot } => {
            if let Some(s) = week.get_mut(day).and_then(|d| d.slots.get_mut(slot)) {
                s.sets = (s.sets + 1).min(MAX_SETS_PER_EXERCISE);
            }
        }
        Addition::Exercise {
            day,
            exercise,
            sets,
        } => {
            if let Some(d) = week.get_mut(day) {
                d.slots.push(Slot { exercise, sets });
            }
        }
    }
}

/// Ranking of an addition: a set before a new exercise, then the session with the most time left.
type AdditionKey = (u8, std::cmp::Reverse<u32>, usize);

/// The cheapest way to add volume for `muscle`: one more set of an exercise that trains it
/// directly, else a new exercise for it on a session the split gives it (`any_day`: on any session),
/// on the session with the most time left; none when no session has the time or MRV would be passed.
fn best_addition(
    ctx: &Context<'_>,
    week: &[Session],
    t: &Tally,
    muscle: Muscle,
    any_day: bool,
) -> Option<Addition> {
    let mut options: Vec<(AdditionKey, Addition)> = Vec::new();
    for (day, session) in week.iter().enumerate() {
        let used = ctx.seconds(session);
        let left = ctx.budget_seconds.saturating_sub(used);
        for (slot, s) in session.slots.iter().enumerate() {
            if s.exercise.primary_muscles.contains(&muscle)
                && s.sets < MAX_SETS_PER_EXERCISE
                && ctx.set_seconds(s.exercise) <= left
                && within_mrv(t, s.exercise, 1)
            {
                options.push((
                    (0, std::cmp::Reverse(left), day),
                    Addition::Set { day, slot },
                ));
            }
        }
        if !(any_day || session.muscles.contains(&muscle))
            || session.slots.len() >= MAX_EXERCISES_PER_DAY
        {
            continue;
        }
        let fresh = ctx
            .pool
            .candidates(muscle)
            .iter()
            .find(|e| !session.slots.iter().any(|s| std::ptr::eq(s.exercise, **e)));
        if let Some(&exercise) = fresh {
            for sets in (1..=ADDED_EXERCISE_SETS).rev() {
                let cost = CHANGEOVER_SECONDS + u32::from(sets) * ctx.set_seconds(exercise);
                if cost <= left && within_mrv(t, exercise, sets) {
                    options.push((
                        (1, std::cmp::Reverse(left), day),
                        Addition::Exercise {
                            day,
                            exercise,
                            sets,
                        },
                    ));
                    break;
                }
            }
        }
    }
    options
        .into_iter()
        .min_by_key(|(key, _)| *key)
        .map(|(_, a)| a)
}

/// The template week: split structure → exercises → time fit → MRV cap → MEV fill (steps 1–4).
fn template_week(
    ctx: &Context<'_>,
    structure: &split::SplitOutput,
) -> Result<Vec<Session>, CoachError> {
    let mut week = allocate(ctx, &structure.days);
    fit_time(ctx, &mut week);
    cap_mrv(ctx, &mut week);
    fill_mev(ctx, &mut week);
    for session in &mut week {
        if session.slots.is_empty() {
            return Err(engine_error(format!(
                "no exercise fits the {} session",
                session.day
            )));
        }
        // Multi-joint lifts first, while the athlete is fresh (the split's muscle order otherwise).
        session.slots.sort_by_key(|s| !is_compound(s.exercise));
    }
    Ok(week)
}

/// Why a muscle misses MEV, for its flag.
fn below_mev_reason(ctx: &Context<'_>, muscle: Muscle, weekly: f64, mev: u8) -> String {
    let input = ctx.input;
    if ctx.injured.contains(&muscle) {
        format!(
            "{muscle}: {weekly} sets/week, below its MEV of {mev} (science.md §A4): it is injured, so exercises \
             that train it directly (and the movements its injury rule excludes) are left out until it heals"
        )
    } else if ctx.pool.candidates(muscle).is_empty() {
        format!(
            "{muscle}: {weekly} sets/week, below its MEV of {mev} (§A4): no catalogue exercise for it fits the \
             equipment, the {} level and the injuries",
            input.athlete.experience
        )
    } else {
        format!(
            "{muscle}: {weekly} sets/week, below its MEV of {mev} (§A4): {}-minute sessions on {} days leave no \
             room for more once the other muscles have their share",
            input.session_minutes.get(),
            input.days_per_week.get()
        )
    }
}

/// Flags of the template week's tally.
fn flags(ctx: &Context<'_>, t: &Tally, template: Template) -> Vec<Flag> {
    let days = ctx.input.days_per_week.get();
    let mut out = Vec::new();
    for (i, l) in LANDMARKS.iter().enumerate() {
        let weekly = t.weekly(i);
        if weekly < f64::from(l.mev) {
            out.push(Flag {
                code: FlagCode::BelowMev,
                muscle: l.muscle,
                message: clip(below_mev_reason(ctx, l.muscle, weekly, l.mev)),
            });
        }
        if l.major && days >= MIN_FREQUENCY && t.days[i] < MIN_FREQUENCY {
            let why = if ctx.injured.contains(&l.muscle) {
                "it is injured".to_owned()
            } else if ctx.pool.candidates(l.muscle).is_empty() {
                "no exercise for it fits the equipment, level and injuries".to_owned()
            } else {
                format!(
                    "the {template} template and {}-minute sessions leave no second session for it",
                    ctx.input.session_minutes.get()
                )
            };
            out.push(Flag {
                code: FlagCode::LowFrequency,
                muscle: l.muscle,
                message: clip(format!(
                    "{}: trained {}×/week; at least {MIN_FREQUENCY}×/week grows muscle better (Schoenfeld 2016, \
                     science.md §A4), but {why}",
                    l.muscle, t.days[i]
                )),
            });
        }
    }
    out
}

/// `text` cut to at most `max` characters (ending with "…" when cut).
fn clip_to(mut text: String, max: usize) -> String {
    if text.chars().count() > max {
        text = text.chars().take(max.saturating_sub(1)).collect();
        text.push('…');
    }
    text
}

fn clip(text: String) -> String {
    clip_to(text, MAX_FLAG_CHARS)
}

/// The progression rule, in plain words.
pub fn progression(input: &WorkoutPlanInput) -> Progression {
    let experience = input.athlete.experience;
    let block = block_weeks(experience);
    let rule = format!(
        "Double progression (science.md §A5): keep the load while any working set falls short of the top of \
         the rep range at the prescribed RIR; once every working set reaches it, add the smallest plate \
         increment next session and go back to the bottom of the range. Never add more than +{HARD_CAP_PCT} % \
         from one week to the next, never add load after a missed or lighter session, and after three failed \
         sessions in a row take 10 % off. RIR ramps from {START_RIR} down to {} across each block's training \
         weeks; in plans of {MIN_WEEKS_FOR_DELOAD}+ weeks every {block}th week is a deload (half the sets, RIR \
         {DELOAD_RIR}, lighter loads, same days). Warm-up sets never count as working sets.",
        rir_floor(experience)
    );
    Progression {
        model: ProgressionModel::DoubleProgression,
        rule: clip_to(rule, super::MAX_RULE_CHARS),
        max_load_increase_pct: HARD_CAP_PCT,
    }
}

fn rationale(
    ctx: &Context<'_>,
    template: Template,
    deloads: &[u8],
    history: &HashMap<&'static str, HistoryLoad>,
    layoff: Option<&ReturnFromLayoff>,
) -> String {
    let input = ctx.input;
    let athlete = &input.athlete;
    let mut text = format!(
        "{} weeks of the {template} template on {} days a week (science.md §A8), {}-minute sessions. ",
        input.weeks.get(),
        input.days_per_week.get(),
        input.session_minutes.get()
    );
    let equipment = athlete.equipment.as_ref().map_or_else(
        || "a full gym (no equipment list)".to_owned(),
        |list| {
            let names: Vec<&str> = list.as_slice().iter().map(|e| e.as_str()).collect();
            names.join(", ")
        },
    );
    let _ = write!(
        text,
        "Exercises come from the catalogue for the equipment ({equipment}) at the {} level{}. ",
        athlete.experience,
        if athlete.experience == Experience::Beginner {
            " (no Olympic lifts)"
        } else {
            ""
        }
    );
    if !ctx.injured.is_empty() {
        let parts: Vec<String> = ctx
            .injured
            .iter()
            .map(|area| {
                let rule = selection::injury_rule(*area);
                let mut what = format!("{area}: exercises that train it directly");
                if rule.secondary_compounds {
                    what.push_str(", compound lifts that load it");
                }
                if *area == Muscle::Shoulders {
                    what.push_str(
                        ", overhead pressing, upright rows, dips, pullovers and Olympic lifts",
                    );
                } else if *area == Muscle::LowerBack {
                    what.push_str(", deadlifts, good mornings, bent-over rows and Olympic lifts");
                }
                what
            })
            .collect();
        let _ = write!(text, "Left out for the injuries: {}. ", parts.join("; "));
    }
    let _ = write!(
        text,
        "Weekly sets per muscle follow the RP landmarks (MEV to MRV, §A4; secondary muscles count 0.5); \
         session time is estimated as {} min of warm-up, {} s per exercise for set-up and warm-up sets, and \
         per set the top of the rep range × {SECONDS_PER_REP} s plus the rest. ",
        WARMUP_SECONDS / 60,
        CHANGEOVER_SECONDS
    );
    if let Some(l) = layoff {
        let _ = write!(
            text,
            "Back after {} days off (§A9 `{}`): the first week at {:+.0} % load and {:+.0} % sets, \
             ramped back week by week (loads by at most 5 % a week; weekly sets per muscle never \
             rise more than {MAX_WEEKLY_VOLUME_RISE_PCT} % after the first week). ",
            l.gap_days, l.band, l.load_change_pct, l.sets_change_pct
        );
    }
    if deloads.is_empty() {
        text.push_str("No deload inside a plan this short: start the next block with one. ");
    } else {
        let weeks: Vec<String> = deloads.iter().map(u8::to_string).collect();
        let _ = write!(
            text,
            "Deload weeks {}: half the sets, RIR {DELOAD_RIR}, lighter loads (§A5, Rogerson 2024). ",
            weeks.join(", ")
        );
    }
    if history.is_empty() {
        text.push_str(
            "Without a training log, loads are a %e1RM (RPE chart, §A3) or the RIR target alone. ",
        );
    } else {
        text.push_str(
            "Logged exercises get kg from their latest e1RM through the RPE chart (§A3), rounded down to the \
             plate increment and never more than +7.5 % over the last working load (§A5). ",
        );
    }
    if athlete.experience == Experience::Beginner {
        text.push_str(
            "The landmarks are set for trained lifters; a beginner grows on less, so the lower figures suffice.",
        );
    }
    clip_to(text.trim_end().to_owned(), MAX_RATIONALE_CHARS)
}

/// The deterministic plan.
pub(crate) fn run(input: &WorkoutPlanInput) -> Result<WorkoutPlanOutput, CoachError> {
    let structure = split::engine::run(&input.split_input())?;
    let history = history_loads(input);
    let logged: Vec<crate::catalogue::ExerciseId> = history
        .keys()
        .filter_map(|id| crate::catalogue::ExerciseId::new(id))
        .collect();
    let ctx = Context {
        input,
        injured: selection::injured_areas(&input.athlete),
        pool: Pool::new(&input.athlete, &logged),
        budget_seconds: u32::from(input.session_minutes.get()) * 60,
    };
    if ctx.pool.is_empty() {
        return Err(engine_error("no catalogue exercise fits the athlete"));
    }
    let week = template_week(&ctx, &structure)?;
    let tally = ctx.tally(&week);

    let experience = input.athlete.experience;
    let weeks = input.weeks.get();
    let deloads = deload_weeks(weeks, experience);
    let rirs = rir_by_week(weeks, &deloads, experience);
    let increment = increment_kg(input);
    let layoff = layoff(input);
    let mut last_training_load: HashMap<&'static str, f64> = HashMap::new();
    // Sets of each slot in the latest training week, and whether it was next to this one.
    let mut previous: Option<(u8, Vec<Vec<u8>>)> = None;
    let mut first_full: Option<Tally> = None;
    let mut plan_weeks = Vec::with_capacity(usize::from(weeks));
    for (w, rir) in (1..=weeks).zip(rirs) {
        let deload = deloads.contains(&w);
        let (load_factor, sets_factor) = layoff.as_ref().map_or((1.0, 1.0), |l| {
            (
                l.band.load_factor(u32::from(w)),
                l.band.sets_factor(u32::from(w)),
            )
        });
        let sets: Vec<Vec<u8>> = if deload {
            // A deload halves the sets of the training week before it (§A5).
            let before = previous.as_ref().map(|(_, s)| s.clone());
            week.iter()
                .enumerate()
                .map(|(i, session)| {
                    session
                        .slots
                        .iter()
                        .enumerate()
                        .map(|(j, slot)| {
                            let base = before.as_ref().map_or(slot.sets, |b| b[i][j]);
                            base.div_ceil(2)
                        })
                        .collect()
                })
                .collect()
        } else {
            // The week-to-week limit applies against the training week just before, unless it
            // is a return ramp's first week (§A9).
            let limit_against = previous
                .as_ref()
                .filter(|(pw, _)| *pw + 1 == w && !(layoff.is_some() && *pw == 1))
                .map(|(_, s)| s);
            ramp_sets(&week, sets_factor, limit_against)
        };
        let mut week_loads: Vec<(&'static str, f64)> = Vec::new();
        let days: Vec<PlanDay> = week
            .iter()
            .zip(&sets)
            .map(|(session, session_sets)| {
                let exercises: Vec<PlanExercise> = session
                    .slots
                    .iter()
                    .zip(session_sets)
                    .map(|(slot, &slot_sets)| {
                        let e = slot.exercise;
                        let shape = ctx.shape(e);
                        let load = prescribed_load(
                            e,
                            shape.reps_min,
                            rir,
                            history.get(e.id.as_str()),
                            last_training_load.get(e.id.as_str()).copied(),
                            WeekLoading {
                                deload,
                                increment_kg: increment,
                                layoff_factor: load_factor,
                            },
                        );
                        if let Some(kg) = load.kg {
                            week_loads.push((e.id.as_str(), kg));
                        }
                        PlanExercise {
                            exercise_id: e.id.clone(),
                            name: e.name.clone(),
                            sets: slot_sets,
                            rep_range: RepRange {
                                min: shape.reps_min,
                                max: shape.reps_max,
                            },
                            rir,
                            load,
                            rest_seconds: shape.rest_seconds,
                        }
                    })
                    .collect();
                PlanDay {
                    day: session.day,
                    label: session.label.clone(),
                    estimated_minutes: estimated_minutes(&exercises),
                    exercises,
                }
            })
            .collect();
        if !deload {
            // This week's loads become the reference of the next weeks (one load per exercise a
            // week: every day prescribes it alike).
            for (id, kg) in week_loads {
                last_training_load.insert(id, kg);
            }
            if sets_factor >= 1.0 && first_full.is_none() {
                first_full = Some(tally_with(&week, &sets));
            }
            previous = Some((w, sets));
        }
        plan_weeks.push(PlanWeek {
            week: w,
            deload,
            days,
        });
    }
    // The first full training week (a plan shorter than its return ramp has none: the template).
    let tally = first_full.unwrap_or(tally);

    let template = structure.template;
    Ok(WorkoutPlanOutput {
        template,
        weeks: plan_weeks,
        deload_weeks: deloads.clone(),
        progression: progression(input),
        weekly_volume: volume_of(&tally),
        flags: flags(&ctx, &tally, template),
        rationale: rationale(&ctx, template, &deloads, &history, layoff.as_ref()),
        return_from_layoff: layoff,
    })
}

/// §A9 for a plan (with `start_date`, two weeks or more after the last logged session).
pub fn layoff(input: &WorkoutPlanInput) -> Option<ReturnFromLayoff> {
    let last = input.history().iter().map(|s| s.date).max();
    input
        .start_date
        .and_then(|day| return_from_layoff(last, day))
}

/// The most a muscle's weekly sets may rise over the training week before: 30 % (seed 003's
/// guardrail, science.md §A9 \[C\]), or one set where 30 % is less than one.
pub fn volume_limit(previous_weekly_sets: f64) -> f64 {
    (previous_weekly_sets * (1.0 + MAX_WEEKLY_VOLUME_RISE_PCT / 100.0))
        .max(previous_weekly_sets + 1.0)
}

/// A week's tally from its sets per slot.
fn tally_with(week: &[Session], sets: &[Vec<u8>]) -> Tally {
    Tally::of(week.iter().zip(sets).map(|(session, session_sets)| {
        session
            .slots
            .iter()
            .zip(session_sets)
            .map(|(slot, s)| (slot.exercise, *s))
    }))
}

/// A training week's sets per slot: the template's scaled by a return ramp's `factor` (rounded,
/// at least one), then, against the training week just before (`previous`), cut a set at a time
/// (the slot that rose most, of a muscle over its limit) until no muscle rises past
/// [`volume_limit`]. The week before is always within it, so the cuts end.
fn ramp_sets(week: &[Session], factor: f64, previous: Option<&Vec<Vec<u8>>>) -> Vec<Vec<u8>> {
    let mut sets: Vec<Vec<u8>> = week
        .iter()
        .map(|session| {
            session
                .slots
                .iter()
                .map(|slot| {
                    if factor < 1.0 {
                        ((f64::from(slot.sets) * factor).round() as u8).max(1)
                    } else {
                        slot.sets
                    }
                })
                .collect()
        })
        .collect();
    let Some(previous) = previous else {
        return sets;
    };
    let before = tally_with(week, previous);
    loop {
        let now = tally_with(week, &sets);
        let Some(m) =
            (0..LANDMARKS.len()).find(|&m| now.weekly(m) > volume_limit(before.weekly(m)) + 1e-9)
        else {
            return sets;
        };
        let muscle = LANDMARKS[m].muscle;
        let pick = week
            .iter()
            .enumerate()
            .flat_map(|(i, session)| {
                session
                    .slots
                    .iter()
                    .enumerate()
                    .map(move |(j, slot)| (i, j, slot))
            })
            .filter(|(i, j, slot)| works(slot.exercise, muscle) && sets[*i][*j] > previous[*i][*j])
            .max_by_key(|(i, j, _)| sets[*i][*j] - previous[*i][*j])
            .map(|(i, j, _)| (i, j));
        match pick {
            Some((i, j)) => sets[i][j] -= 1,
            None => return sets,
        }
    }
}

/// The catalogue record of an output exercise id.
pub(crate) fn exercise(id: &str) -> Option<&'static Exercise> {
    Catalogue::get().by_id(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deloads_close_each_block_in_plans_of_five_weeks_or_more() {
        assert_eq!(deload_weeks(4, Experience::Intermediate), Vec::<u8>::new());
        assert_eq!(deload_weeks(5, Experience::Beginner), [5]);
        assert_eq!(deload_weeks(16, Experience::Intermediate), [5, 10, 15]);
        assert_eq!(deload_weeks(16, Experience::Advanced), [4, 8, 12, 16]);
    }

    #[test]
    fn rir_ramps_down_within_each_block() {
        assert_eq!(
            rir_by_week(10, &[5, 10], Experience::Intermediate),
            [3, 2, 2, 1, 4, 3, 2, 2, 1, 4]
        );
        assert_eq!(
            rir_by_week(8, &[5], Experience::Beginner),
            [3, 3, 2, 2, 4, 3, 3, 2]
        );
        assert_eq!(rir_by_week(1, &[], Experience::Advanced), [3]);
    }

    #[test]
    fn session_time_counts_warm_up_changeover_work_and_rest() {
        // 5 min + (60 s + 3 × (10 × 4 s + 90 s)) = 300 + 60 + 390 = 750 s → 13 min.
        assert_eq!(session_seconds([(3, 10, 90)]), 750);
    }
}
