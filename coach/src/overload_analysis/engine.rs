//! The deterministic overload engine: facts per exercise (shared with the guardrails), the next-session
//! prescription, weekly volume and the summary.
//!
//! Figures from science.md are cited by section; the thresholds marked \[C\] are this engine's own
//! choices, derived from the sources as explained on each constant.

use crate::science::round_to;
use std::collections::HashMap;
use std::fmt::Write as _;

use super::{
    BestSet, E1rmPoint, ExerciseAnalysis, Flag, LoggedSession, LoggedSet, MAX_NOTE_CHARS,
    MAX_PRESCRIBED_RIR, MAX_PRESCRIBED_SETS, MAX_SUMMARY_CHARS, MAX_WEEKS_COVERED, MuscleVolume,
    OverloadAnalysisInput, OverloadAnalysisOutput, PlateIncrementKg, Prescription, SetType, Status,
    WeightKg,
};
use crate::athlete::Units;
use crate::catalogue::ExerciseId;
use crate::layoff::{BASELINE_E1RM_SHARE, LayoffBand, ReturnFromLayoff, return_from_layoff};
use crate::science::{
    self, CHART_MAX_REPS, CHART_MIN_REPS, HARD_CAP_PCT, LOAD_EPSILON_KG, RESET_PCT, e1rm_from_set,
    load_for,
};
use crate::vocab::Muscle;
use crate::{CoachError, JobKind};

/// Half-width of the plateau band of the e1RM trend, percent of e1RM per week: `progressing` at or
/// above +1.5, `regressing` at or below −1.5, `plateau` between. \[C\]: a best-set e1RM from a
/// self-rated RIR is off by about one rep (Hackett 2017, §A3), i.e. about 3 % of e1RM per session, and
/// equations err 10–13 % (Hutchins 2010, §A1); over a 3–4-week window a slope under 1.5 %/week is
/// within that noise. Intermediate linear progress (+2.5 kg/week on 100 kg, §A5) is well above it.
pub const PLATEAU_BAND_PCT_PER_WEEK: f64 = 1.5;

/// Fewest sessions with a usable e1RM for a trend: a Starting Strength stall is judged over three
/// workouts (§A5). \[C\]
pub const MIN_SESSIONS_FOR_TREND: usize = 3;

/// Shortest span (days) from the first to the last e1RM point for a per-week trend. \[C\]
pub const MIN_TREND_SPAN_DAYS: i64 = 7;

/// Prescribed reps in reserve when the log gives no effort for the last session: RP's landmarks assume
/// 0–4 RIR and JuggernautAI says "when in doubt, be conservative" (§A4, §A5). \[C\]
pub const DEFAULT_TARGET_RIR: u8 = 2;

/// Default plate increment for athletes in kg: +2.5 kg per step (§A5 metric linear progression, upper body).
pub const DEFAULT_INCREMENT_KG: f64 = 2.5;

/// Default plate increment for athletes in lb: 5 lb (§A5, Starting Strength), in kg.
pub const DEFAULT_INCREMENT_LB_AS_KG: f64 = 5.0 * 0.453_592_37;

/// Largest increase of prescribed sets over the last session's working sets at its working load. \[C\]
pub const MAX_SET_STEP: u8 = 1;

/// Largest trend magnitude reported, % per week (the output schema's bound; steeper slopes are clamped).
pub const MAX_TREND_PCT_PER_WEEK: f64 = 100.0;

/// Rounding of reported e1RM values, kg.
const E1RM_DECIMALS: i32 = 1;

/// The plate increment this input rounds to: `plate_increment_kg`, else the units' default.
pub fn increment_kg(input: &OverloadAnalysisInput) -> f64 {
    plate_increment_kg(input.plate_increment_kg, input.athlete.units())
}

/// The plate increment given, else the default of the athlete's units (2.5 kg, or 5 lb); every
/// kind that takes `plate_increment_kg` asks this.
pub fn plate_increment_kg(given: Option<PlateIncrementKg>, units: Units) -> f64 {
    match (given, units) {
        (Some(increment), _) => increment.get(),
        (None, Units::Kg) => DEFAULT_INCREMENT_KG,
        (None, Units::Lb) => DEFAULT_INCREMENT_LB_AS_KG,
    }
}

/// What one session says about one exercise.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionFacts {
    /// Session date.
    pub date: crate::date::IsoDate,
    /// The comparable working load: the heaviest non-warm-up, non-drop set, kg.
    pub load_kg: f64,
    /// The reps the sets at that load aimed for (`target_reps`, else the first such set's reps).
    pub target_reps: u8,
    /// Reps in reserve of the first set at that load, when known.
    pub target_rir: Option<f64>,
    /// Sets at that load.
    pub sets_at_load: u8,
    /// A set at that load fell short of the target reps (a miss, §C openGym #17).
    pub failed: bool,
    /// The session's best set for e1RM (unrounded), when any set is usable.
    pub best: Option<BestSet>,
}

/// Everything the engine and the guardrails derive from the log for one exercise.
#[derive(Clone, Debug, PartialEq)]
pub struct ExerciseFacts {
    /// The exercise.
    pub id: ExerciseId,
    /// Sessions with at least one comparable working set, in date order (never empty).
    pub sessions: Vec<SessionFacts>,
    /// Best-set e1RM per session (rounded), oldest first.
    pub series: Vec<E1rmPoint>,
    /// e1RM trend, % per week (unrounded).
    pub trend_pct_per_week: Option<f64>,
    /// Status from the trend.
    pub status: Option<Status>,
    /// The last session's load is below the one before (a lighter session).
    pub lighter: bool,
    /// The last [`science::FAILED_SESSIONS_FOR_RESET`] sessions all failed.
    pub reset_due: bool,
}

impl ExerciseFacts {
    /// The most recent session.
    pub fn last(&self) -> Option<&SessionFacts> {
        self.sessions.last()
    }

    /// The last comparable working load, kg (0 when none).
    pub fn last_load_kg(&self) -> f64 {
        self.last().map_or(0.0, |s| s.load_kg)
    }

    /// No load increase allowed: the last session failed or was lighter than the one before (§C
    /// Liftosaur #357/#345/#551: progression must read the load actually lifted, not only reps).
    pub fn no_increase(&self) -> bool {
        self.lighter || self.last().is_some_and(|s| s.failed)
    }

    /// Too few usable sessions for a trend.
    pub fn insufficient_data(&self) -> bool {
        self.trend_pct_per_week.is_none()
    }

    /// Stalled or regressing without a reset due.
    pub fn deload_suggested(&self) -> bool {
        !self.reset_due && matches!(self.status, Some(Status::Plateau | Status::Regressing))
    }

    /// The best set over the whole history.
    pub fn best(&self) -> Option<&BestSet> {
        self.sessions.iter().filter_map(|s| s.best.as_ref()).fold(
            None,
            |best: Option<&BestSet>, b| match best {
                Some(current) if current.e1rm_kg >= b.e1rm_kg => Some(current),
                _ => Some(b),
            },
        )
    }
}

/// The status a trend gives (thresholds: [`PLATEAU_BAND_PCT_PER_WEEK`]).
pub fn status_for(trend_pct_per_week: f64) -> Status {
    if trend_pct_per_week >= PLATEAU_BAND_PCT_PER_WEEK {
        Status::Progressing
    } else if trend_pct_per_week <= -PLATEAU_BAND_PCT_PER_WEEK {
        Status::Regressing
    } else {
        Status::Plateau
    }
}

/// Session indices in date order (same-day sessions keep their input order).
fn sessions_by_date(history: &[LoggedSession]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..history.len()).collect();
    order.sort_by_key(|&i| history[i].date);
    order
}

/// The best e1RM set among `sets` (warm-ups never count; unknown effort is taken as RIR 0, the
/// lowest estimate).
fn best_set(date: crate::date::IsoDate, sets: &[&LoggedSet]) -> Option<BestSet> {
    sets.iter()
        .filter(|s| s.set_type.is_working())
        .filter_map(|s| {
            let rir = s.rir().unwrap_or(0.0);
            let e1rm = e1rm_from_set(s.weight_kg.get(), s.reps.get(), rir)?;
            Some(BestSet {
                date,
                weight_kg: s.weight_kg.get(),
                reps: s.reps.get(),
                rir,
                e1rm_kg: e1rm,
            })
        })
        .fold(None, |best: Option<BestSet>, b| match best {
            Some(current) if current.e1rm_kg >= b.e1rm_kg => Some(current),
            _ => Some(b),
        })
}

fn session_facts(
    date: crate::date::IsoDate,
    sets: &[&LoggedSet],
    target_reps: Option<u8>,
) -> Option<SessionFacts> {
    // Iterators rather than collected lists: this runs once per exercise and session of the log
    // (1,600 times for a year of eight exercises), in the engine and again in the guardrails.
    let comparable = || sets.iter().copied().filter(|s| s.set_type.is_comparable());
    let load_kg = comparable().map(|s| s.weight_kg.get()).reduce(f64::max)?;
    let at_load =
        || comparable().filter(|s| (s.weight_kg.get() - load_kg).abs() <= LOAD_EPSILON_KG);
    let first = at_load().next()?;
    let target_reps = target_reps.unwrap_or(first.reps.get()).max(1);
    Some(SessionFacts {
        date,
        load_kg,
        target_reps,
        target_rir: first.rir(),
        sets_at_load: u8::try_from(at_load().count()).unwrap_or(u8::MAX),
        failed: at_load().any(|s| s.reps.get() < target_reps),
        best: best_set(date, sets),
    })
}

/// Least-squares slope of e1RM over days, as percent of the mean e1RM per week.
fn trend_pct_per_week(points: &[(i64, f64)]) -> Option<f64> {
    if points.len() < MIN_SESSIONS_FOR_TREND {
        return None;
    }
    let first = points.first()?.0;
    let last = points.last()?.0;
    if last - first < MIN_TREND_SPAN_DAYS {
        return None;
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0 as f64).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let cov: f64 = points
        .iter()
        .map(|p| (p.0 as f64 - mean_x) * (p.1 - mean_y))
        .sum();
    let var: f64 = points.iter().map(|p| (p.0 as f64 - mean_x).powi(2)).sum();
    if var <= 0.0 || mean_y <= 0.0 {
        return None;
    }
    let trend = cov / var * 7.0 / mean_y * 100.0;
    Some(trend.clamp(-MAX_TREND_PCT_PER_WEEK, MAX_TREND_PCT_PER_WEEK))
}

/// The facts of every exercise, in order of first appearance in the date-sorted log.
pub fn facts(input: &OverloadAnalysisInput) -> Vec<ExerciseFacts> {
    facts_of(input.history.as_slice())
}

/// [`facts`] of a bare log (any order), for kinds that take a history without the rest of an
/// `overload_analysis` input (e.g. `workout_plan` loads).
pub fn facts_of(history: &[LoggedSession]) -> Vec<ExerciseFacts> {
    let order = sessions_by_date(history);
    let mut ids: Vec<ExerciseId> = Vec::new();
    for &i in &order {
        for e in history[i].exercises.as_slice() {
            if !ids.contains(&e.exercise_id) {
                ids.push(e.exercise_id);
            }
        }
    }
    // The sets of one exercise in one session (usually one entry; all of them if logged twice),
    // gathered into one buffer reused across sessions and exercises.
    let mut sets: Vec<&LoggedSet> = Vec::new();
    ids.into_iter()
        .map(|id| {
            let sessions: Vec<SessionFacts> = order
                .iter()
                .filter_map(|&i| {
                    let session = &history[i];
                    sets.clear();
                    // The first entry that states target reps gives them.
                    let mut target = None;
                    for entry in session.exercises.as_slice() {
                        if entry.exercise_id == id {
                            sets.extend(entry.sets.as_slice());
                            target = target.or(entry.target_reps.map(|t| t.get()));
                        }
                    }
                    session_facts(session.date, &sets, target)
                })
                .collect();
            let series: Vec<E1rmPoint> = sessions
                .iter()
                .filter_map(|s| {
                    s.best.as_ref().map(|b| E1rmPoint {
                        date: s.date,
                        e1rm_kg: round_to(b.e1rm_kg, E1RM_DECIMALS),
                    })
                })
                .collect();
            let points: Vec<(i64, f64)> = series
                .iter()
                .map(|p| (p.date.days_since_epoch(), p.e1rm_kg))
                .collect();
            let trend = trend_pct_per_week(&points);
            let lighter = match sessions.as_slice() {
                [.., before, last] => last.load_kg < before.load_kg - LOAD_EPSILON_KG,
                _ => false,
            };
            let failed: Vec<bool> = sessions.iter().map(|s| s.failed).collect();
            ExerciseFacts {
                id,
                reset_due: science::reset_due(&failed),
                sessions,
                series,
                trend_pct_per_week: trend,
                // From the trend as reported (0.1 %/week), so the status and the reported trend
                // agree at the band's edges (−1.47 is reported as −1.5: regressing, not plateau).
                status: trend.map(|t| status_for(round_to(t, 1))),
                lighter,
            }
        })
        .collect()
}

/// Prescribed reps: the last target, on the chart (1–12). By construction never an absurd jump (§C MyFit #28).
pub fn prescribed_reps(facts: &ExerciseFacts) -> u8 {
    facts
        .last()
        .map_or(CHART_MIN_REPS, |s| s.target_reps)
        .clamp(CHART_MIN_REPS, CHART_MAX_REPS)
}

/// The next session for one exercise, with its flags.
pub fn prescribe(facts: &ExerciseFacts, increment_kg: f64) -> (Prescription, Vec<Flag>) {
    let mut flags = Vec::new();
    let last_load = facts.last_load_kg();
    let reps = prescribed_reps(facts);
    let last = facts.last();
    let rir = last
        .and_then(|s| s.target_rir)
        .map_or(DEFAULT_TARGET_RIR, |r| {
            // Whole reps within the chart (0–3); the value is small and non-negative here.
            r.round().clamp(0.0, f64::from(MAX_PRESCRIBED_RIR)) as u8
        });
    let sets = last
        .map_or(1, |s| s.sets_at_load)
        .clamp(1, MAX_PRESCRIBED_SETS);
    let e1rm = last
        .and_then(|s| s.best.as_ref())
        .map(|b| b.e1rm_kg)
        .or_else(|| facts.series.last().map(|p| p.e1rm_kg));
    let candidate = e1rm
        .and_then(|e| load_for(e, reps, f64::from(rir)))
        .unwrap_or(last_load);

    let weight_kg = if facts.reset_due {
        // §A5: −10 % after three failed sessions in a row.
        flags.push(Flag::ResetAfterFailures);
        science::reset_load_kg(last_load, increment_kg)
    } else {
        let ceiling = if facts.no_increase() {
            last_load
        } else {
            science::hard_cap_kg(last_load)
        };
        let mut weight = science::round_to_increment(candidate, increment_kg, Some(ceiling));
        if !facts.no_increase() && candidate > ceiling + LOAD_EPSILON_KG {
            flags.push(Flag::HardCap);
        }
        // Never below −10 % in one step (§A5), never towards the empty bar (§C nSuns #46).
        let floor = science::round_up_to_increment(
            last_load * (1.0 - science::MAX_DROP_PCT / 100.0),
            increment_kg,
        );
        if weight < floor {
            weight = if floor <= ceiling + LOAD_EPSILON_KG {
                floor
            } else {
                science::round_down_to_increment(ceiling, increment_kg)
            };
        }
        weight.max(0.0)
    };
    // Never past the heaviest load an input may log.
    let weight_kg = weight_kg.min(science::round_down_to_increment(
        WeightKg::MAX,
        increment_kg,
    ));
    if facts.deload_suggested() {
        flags.push(Flag::DeloadSuggested);
    }
    if facts.insufficient_data() {
        flags.push(Flag::InsufficientData);
    }
    (
        Prescription {
            sets,
            reps,
            rir,
            weight_kg,
        },
        flags,
    )
}

/// `text` cut to at most `max` characters (on a character boundary, ending with "…" when cut).
fn clip(mut text: String, max: usize) -> String {
    if text.chars().count() > max {
        text = text.chars().take(max.saturating_sub(1)).collect();
        text.push('…');
    }
    text
}

fn note(facts: &ExerciseFacts, p: &Prescription, flags: &[Flag]) -> String {
    let mut text = String::new();
    let last = facts.last_load_kg();
    match (facts.status, facts.trend_pct_per_week) {
        (Some(status), Some(trend)) => {
            let _ = write!(text, "e1RM {status} ({trend:+.1} %/week). ");
        }
        _ => text.push_str("Too few sessions for a trend (needs 3 over at least a week). "),
    }
    let _ = write!(
        text,
        "Next: {}×{} @ RIR {} at {:.2} kg (last working load {last:.2} kg). ",
        p.sets, p.reps, p.rir, p.weight_kg
    );
    if flags.contains(&Flag::ResetAfterFailures) {
        let _ = write!(
            text,
            "Three failed sessions in a row: load reset by {RESET_PCT} % (§A5). "
        );
    } else if facts.no_increase() {
        text.push_str(
            "No increase: the last session missed reps or was lighter than the one before. ",
        );
    }
    if flags.contains(&Flag::HardCap) {
        let _ = write!(
            text,
            "Clamped to +{HARD_CAP_PCT} % over the last working load (§A5). "
        );
    }
    if flags.contains(&Flag::DeloadSuggested) {
        text.push_str(
            "Stalled: take a deload week (fewer sets, 2 more RIR) or switch to a close variation. ",
        );
    }
    if flags.contains(&Flag::ReturnFromLayoff) {
        text.push_str(
            "Back after two weeks or more off: load and sets cut for the first week, then ramped \
             back (§A9). ",
        );
    }
    clip(text.trim_end().to_owned(), MAX_NOTE_CHARS)
}

/// Whole weeks from the first to the last session (at least 1).
pub fn weeks_covered(input: &OverloadAnalysisInput) -> u16 {
    let dates = input.history.as_slice().iter().map(|s| s.date);
    let (Some(first), Some(last)) = (dates.clone().min(), dates.max()) else {
        return 1;
    };
    let days = last.days_after(first) + 1;
    u16::try_from((days + 6) / 7)
        .unwrap_or(MAX_WEEKS_COVERED)
        .clamp(1, MAX_WEEKS_COVERED)
}

/// Weekly working volume per muscle (§A4: indirect sets count 0.5; warm-ups never count, §C Formly).
pub fn weekly_volume(input: &OverloadAnalysisInput) -> Vec<MuscleVolume> {
    let weeks = f64::from(weeks_covered(input));
    // Working sets per exercise first, then each exercise's muscles once: a log repeats a handful
    // of exercises hundreds of times, and the catalogue lookup and the muscle lists cost more than
    // the count.
    let mut per_exercise: HashMap<ExerciseId, u32> = HashMap::new();
    for session in input.history.as_slice() {
        for e in session.exercises.as_slice() {
            let working = e
                .sets
                .as_slice()
                .iter()
                .filter(|s| s.set_type != SetType::Warmup)
                .count();
            let working = u32::try_from(working).unwrap_or(u32::MAX);
            let total = per_exercise.entry(e.exercise_id).or_insert(0);
            *total = total.saturating_add(working);
        }
    }
    let mut counts = vec![(0u32, 0u32); Muscle::ALL.len()];
    for (id, working) in per_exercise {
        let Some(exercise) = id.exercise() else {
            continue;
        };
        for (k, m) in Muscle::ALL.iter().enumerate() {
            if exercise.primary_muscles.contains(m) {
                counts[k].0 += working;
            } else if exercise.secondary_muscles.contains(m) {
                counts[k].1 += working;
            }
        }
    }
    Muscle::ALL
        .iter()
        .zip(counts)
        .filter(|(_, (d, i))| d + i > 0)
        .map(|(&muscle, (direct, indirect))| MuscleVolume {
            muscle,
            direct_sets: direct,
            indirect_sets: indirect,
            sets_per_week: round_to((f64::from(direct) + 0.5 * f64::from(indirect)) / weeks, 2),
        })
        .collect()
}

/// How many exercises the summary names before "and N more".
const SUMMARY_EXERCISES: usize = 10;

pub(super) fn run(input: &OverloadAnalysisInput) -> Result<OverloadAnalysisOutput, CoachError> {
    let increment = increment_kg(input);
    let all = facts(input);
    if all.is_empty() || all.iter().any(|f| f.sessions.is_empty()) {
        return Err(CoachError::Engine {
            kind: JobKind::OverloadAnalysis,
            message: "an exercise without any working set reached the engine".to_owned(),
        });
    }
    let layoff = layoff(input);
    let exercises: Vec<ExerciseAnalysis> = all
        .iter()
        .map(|f| {
            let (mut next_session, mut flags) = prescribe(f, increment);
            if let Some(l) = &layoff {
                return_to(&mut next_session, &mut flags, f, l.band, increment);
            }
            let note = note(f, &next_session, &flags);
            ExerciseAnalysis {
                exercise_id: f.id.as_str().to_owned(),
                sessions: u16::try_from(f.sessions.len()).unwrap_or(u16::MAX),
                e1rm_series: f.series.clone(),
                trend_pct_per_week: f.trend_pct_per_week.map(|t| round_to(t, 1)),
                status: f.status,
                best_set: f.best().map(|b| BestSet {
                    e1rm_kg: round_to(b.e1rm_kg, E1RM_DECIMALS),
                    ..b.clone()
                }),
                last_working_load_kg: f.last_load_kg(),
                next_session,
                flags,
                note,
            }
        })
        .collect();
    let weekly_volume = weekly_volume(input);
    let weeks_covered = weeks_covered(input);
    let summary = summary(input, weeks_covered, &exercises, &weekly_volume);
    Ok(OverloadAnalysisOutput {
        weeks_covered,
        exercises,
        weekly_volume,
        summary,
        return_from_layoff: layoff,
    })
}

/// §A9 for the next session (with `date`, two weeks or more after the last logged session).
pub fn layoff(input: &OverloadAnalysisInput) -> Option<ReturnFromLayoff> {
    let last = input.history.as_slice().iter().map(|s| s.date).max();
    input.date.and_then(|day| return_from_layoff(last, day))
}

/// The most a next session may load after a layoff of `band`, kg (unrounded): the first week's
/// share of the last working load (−10 %, −20 %), or for a fresh baseline 65 % of the latest
/// e1RM through the chart for the prescribed reps and RIR.
pub fn layoff_ceiling_kg(facts: &ExerciseFacts, band: LayoffBand, reps: u8, rir: u8) -> f64 {
    let last = facts.last_load_kg();
    match band {
        LayoffBand::Short | LayoffBand::Long => last * band.first_week_load_factor(),
        LayoffBand::Baseline => facts
            .series
            .last()
            .and_then(|p| load_for(p.e1rm_kg * BASELINE_E1RM_SHARE, reps, f64::from(rir)))
            .unwrap_or(last * BASELINE_E1RM_SHARE),
    }
}

/// The working sets a next session may hold after a layoff: the first week's share of the last
/// session's sets, rounded, at least one.
pub fn layoff_sets(last_sets: u8, band: LayoffBand) -> u8 {
    ((f64::from(last_sets) * band.sets_factor(1)).round() as u8).max(1)
}

/// Cuts a prescription to §A9's first week.
fn return_to(
    p: &mut Prescription,
    flags: &mut Vec<Flag>,
    facts: &ExerciseFacts,
    band: LayoffBand,
    increment_kg: f64,
) {
    let ceiling = layoff_ceiling_kg(facts, band, p.reps, p.rir);
    p.weight_kg = p
        .weight_kg
        .min(science::round_down_to_increment(ceiling, increment_kg));
    let last_sets = facts.last().map_or(1, |s| s.sets_at_load);
    p.sets = p.sets.min(layoff_sets(last_sets, band));
    // The cut replaces the +7.5 % clamp: a capped increase is no longer what happens.
    flags.retain(|f| *f != Flag::HardCap);
    flags.push(Flag::ReturnFromLayoff);
}

fn summary(
    input: &OverloadAnalysisInput,
    weeks: u16,
    exercises: &[ExerciseAnalysis],
    volume: &[MuscleVolume],
) -> String {
    let mut text = format!(
        "{} session(s) over {weeks} week(s). ",
        input.history.as_slice().len()
    );
    for a in exercises.iter().take(SUMMARY_EXERCISES) {
        let status = a.status.map_or("not enough data", |s| s.as_str());
        let p = &a.next_session;
        let _ = write!(
            text,
            "{}: {status}; next {}×{} @ RIR {} at {:.2} kg",
            a.exercise_id, p.sets, p.reps, p.rir, p.weight_kg
        );
        let flags: Vec<&str> = a.flags.iter().map(|f| f.as_str()).collect();
        if !flags.is_empty() {
            let _ = write!(text, " [{}]", flags.join(", "));
        }
        text.push_str(". ");
    }
    if exercises.len() > SUMMARY_EXERCISES {
        let _ = write!(
            text,
            "And {} more exercise(s). ",
            exercises.len() - SUMMARY_EXERCISES
        );
    }
    if !volume.is_empty() {
        let parts: Vec<String> = volume
            .iter()
            .map(|v| format!("{} {:.1}", v.muscle, v.sets_per_week))
            .collect();
        let _ = write!(
            text,
            "Working sets per muscle per week (indirect sets count 0.5): {}.",
            parts.join(", ")
        );
    }
    clip(text.trim_end().to_owned(), MAX_SUMMARY_CHARS)
}
