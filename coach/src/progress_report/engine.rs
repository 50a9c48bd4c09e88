//! The deterministic `progress_report` \[C\]:
//!
//! - **Weeks** run 7 days from the period's start (the last may be shorter); averages divide by
//!   the period's days ÷ 7.
//! - **Lifts**: the `overload_analysis` facts of the period's sessions — best working-set e1RM
//!   per session through the RTS chart (warm-ups and drop sets never), trend and status from its
//!   bands; change is last against first, kg/week the least-squares slope.
//! - **PRs**, against the whole log before the set (a first appearance is no record): a session's
//!   best e1RM above every earlier one; more reps at a weight than ever before at that weight.
//! - **Volume**: working sets (not warm-ups) per muscle per week, secondary muscles at half a set
//!   (§A4), against the RP landmarks; the direction from the least-squares line over the full
//!   weeks (more than one set of change over the period: rising or falling).
//! - **Consistency**: days trained; adherence = days ÷ (planned days × weeks), at most 100 %; the
//!   longest run of weeks that met the plan (a shorter last week pro rata); gaps of more than
//!   7 days, from the last session before (or the period's start) to the next (or its end).

use crate::science::round_to;
use std::collections::HashMap;

use crate::CoachError;
use crate::catalogue::ExerciseId;
use crate::date::IsoDate;
use crate::overload_analysis::engine::{MIN_TREND_SPAN_DAYS, facts_of};
use crate::overload_analysis::{LoggedSession, MAX_E1RM_KG, SetType, Status};
use crate::science::e1rm_from_set;
use crate::split::Landmarks;
use crate::split::engine::LANDMARKS;
use crate::vocab::Muscle;

use super::{
    ChartName, ChartRef, Consistency, Direction, GAP_DAYS, Gap, Highlight, HighlightKind,
    LiftProgress, MAX_CHANGE_PCT, MAX_GAPS, MAX_HIGHLIGHTS, MAX_PERIOD_DAYS, MAX_PRS, MuscleTrend,
    PersonalRecord, PrKind, ProgressReportInput, ProgressReportOutput, VolumeStatus, WeekSessions,
    WeekSets,
};

/// Adherence under this percent is a highlight.
pub const LOW_ADHERENCE_PCT: f64 = 80.0;
/// Change of weekly sets over the period (least-squares line) beyond which volume is rising or
/// falling, sets.
pub const DIRECTION_SETS: f64 = 1.0;

/// The period's weeks: (first day, days in it).
fn weeks(input: &ProgressReportInput) -> Vec<(IsoDate, i64)> {
    let days = input.period.days().clamp(1, MAX_PERIOD_DAYS);
    (0..(days + 6) / 7)
        .filter_map(|i| {
            let start = input.period.from.plus_days(7 * i)?;
            Some((start, (days - 7 * i).min(7)))
        })
        .collect()
}

fn week_of(input: &ProgressReportInput, date: IsoDate) -> usize {
    usize::try_from(date.days_after(input.period.from) / 7).unwrap_or(0)
}

/// Least-squares slope of `(x, y)` points (0 with fewer than two distinct x).
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx == 0.0 { 0.0 } else { sxy / sxx }
}

/// The series' least-squares slope, kg a week (`points`: days after the first session, e1RM).
/// 0 for a series shorter than the span `overload_analysis` asks of a trend
/// ([`MIN_TREND_SPAN_DAYS`], a week), as for one session: a weekly rate drawn from days apart
/// is noise (8 reps at 123 kg one day and 1 rep at 20 kg the next read as −1,025 kg a week). And
/// never beyond the e1RM's own range: sessions bunched on two days of a longer series can still
/// tilt the line that far (each pair of sessions weighs by the square of the days between them,
/// so many pairs a day apart can outweigh the few a week apart).
fn weekly_slope(points: &[(f64, f64)]) -> f64 {
    let days = points.last().map_or(0.0, |p| p.0) - points.first().map_or(0.0, |p| p.0);
    if days < MIN_TREND_SPAN_DAYS as f64 {
        return 0.0;
    }
    round_to((slope(points) * 7.0).clamp(-MAX_E1RM_KG, MAX_E1RM_KG), 2)
}

/// The log's sessions in date order (one date's sessions keep their order).
fn by_date(history: &[LoggedSession]) -> Vec<&LoggedSession> {
    let mut sessions: Vec<&LoggedSession> = history.iter().collect();
    sessions.sort_by_key(|s| s.date);
    sessions
}

fn lifts(input: &ProgressReportInput) -> Vec<LiftProgress> {
    let in_period: Vec<LoggedSession> = input
        .history
        .as_slice()
        .iter()
        .filter(|s| input.period.contains(s.date))
        .cloned()
        .collect();
    facts_of(&in_period)
        .into_iter()
        .filter_map(|facts| {
            let first = facts.series.first()?;
            let last = facts.series.last()?;
            let points: Vec<(f64, f64)> = facts
                .series
                .iter()
                .map(|p| (p.date.days_after(first.date) as f64, p.e1rm_kg))
                .collect();
            Some(LiftProgress {
                exercise_id: facts.id.as_str().to_owned(),
                name: facts.id.name().to_owned(),
                sessions: u16::try_from(facts.series.len()).unwrap_or(u16::MAX),
                start_e1rm_kg: first.e1rm_kg,
                end_e1rm_kg: last.e1rm_kg,
                change_pct: if first.e1rm_kg > 0.0 {
                    round_to(
                        ((last.e1rm_kg / first.e1rm_kg - 1.0) * 100.0).min(MAX_CHANGE_PCT),
                        1,
                    )
                } else {
                    0.0
                },
                change_kg_per_week: weekly_slope(&points),
                status: facts.status,
                e1rm_series: facts.series,
            })
        })
        .collect()
}

/// Weight in grams, a set's key for rep records.
fn grams(kg: f64) -> i64 {
    (kg * 1000.0).round() as i64
}

fn prs(input: &ProgressReportInput) -> Vec<PersonalRecord> {
    let mut best_e1rm: HashMap<ExerciseId, f64> = HashMap::new();
    let mut best_reps: HashMap<(ExerciseId, i64), u8> = HashMap::new();
    let mut records = Vec::new();
    for session in by_date(input.history.as_slice()) {
        let counts = input.period.contains(session.date);
        for entry in session.exercises.as_slice() {
            let id = entry.exercise_id;
            let sets: Vec<_> = entry
                .sets
                .as_slice()
                .iter()
                .filter(|s| s.set_type.is_comparable() && s.weight_kg.get() > 0.0)
                .collect();
            // The session's best e1RM set.
            let top = sets
                .iter()
                .filter_map(|s| {
                    e1rm_from_set(s.weight_kg.get(), s.reps.get(), s.rir().unwrap_or(0.0))
                        .map(|e| (e, *s))
                })
                .max_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((e1rm, set)) = top {
                let e1rm = round_to(e1rm, 1);
                match best_e1rm.get(&id).copied() {
                    Some(previous) if e1rm > previous => {
                        if counts {
                            records.push(PersonalRecord {
                                exercise_id: id.as_str().to_owned(),
                                kind: PrKind::E1rm,
                                date: session.date,
                                weight_kg: set.weight_kg.get(),
                                reps: set.reps.get(),
                                e1rm_kg: Some(e1rm),
                                previous,
                            });
                        }
                        best_e1rm.insert(id, e1rm);
                    }
                    None => {
                        best_e1rm.insert(id, e1rm);
                    }
                    Some(_) => {}
                }
            }
            // Most reps per weight this session, against the record before it.
            let mut today: Vec<(i64, u8, f64)> = Vec::new();
            for s in &sets {
                let key = grams(s.weight_kg.get());
                match today.iter_mut().find(|t| t.0 == key) {
                    Some(t) => t.1 = t.1.max(s.reps.get()),
                    None => today.push((key, s.reps.get(), s.weight_kg.get())),
                }
            }
            for (key, reps, kg) in today {
                match best_reps.get(&(id, key)).copied() {
                    Some(previous) if reps > previous => {
                        if counts {
                            records.push(PersonalRecord {
                                exercise_id: id.as_str().to_owned(),
                                kind: PrKind::RepsAtWeight,
                                date: session.date,
                                weight_kg: kg,
                                reps,
                                e1rm_kg: None,
                                previous: f64::from(previous),
                            });
                        }
                        best_reps.insert((id, key), reps);
                    }
                    None => {
                        best_reps.insert((id, key), reps);
                    }
                    Some(_) => {}
                }
            }
        }
    }
    let skip = records.len().saturating_sub(MAX_PRS);
    records.split_off(skip)
}

fn weekly_volume(input: &ProgressReportInput, weeks: &[(IsoDate, i64)]) -> Vec<MuscleTrend> {
    let mut sets = vec![vec![0.0f64; weeks.len()]; Muscle::ALL.len()];
    for session in input.history.as_slice() {
        if !input.period.contains(session.date) {
            continue;
        }
        let w = week_of(input, session.date).min(weeks.len().saturating_sub(1));
        for entry in session.exercises.as_slice() {
            let Some(exercise) = entry.exercise_id.exercise() else {
                continue;
            };
            let working = entry
                .sets
                .as_slice()
                .iter()
                .filter(|s| s.set_type != SetType::Warmup)
                .count() as f64;
            for (k, m) in Muscle::ALL.iter().enumerate() {
                if exercise.primary_muscles.contains(m) {
                    sets[k][w] += working;
                } else if exercise.secondary_muscles.contains(m) {
                    sets[k][w] += 0.5 * working;
                }
            }
        }
    }
    let period_weeks = input.period.days() as f64 / 7.0;
    Muscle::ALL
        .iter()
        .zip(sets)
        .filter(|(_, per_week)| per_week.iter().any(|s| *s > 0.0))
        .map(|(&muscle, per_week)| {
            let average = round_to(per_week.iter().sum::<f64>() / period_weeks, 2);
            let landmarks = LANDMARKS
                .iter()
                .find(|l| l.muscle == muscle)
                .map(|l| Landmarks {
                    mev: l.mev,
                    mav_low: l.mav_low,
                    mav_high: l.mav_high,
                    mrv: l.mrv,
                });
            let status = match &landmarks {
                None => VolumeStatus::NoLandmarks,
                Some(l) if average < f64::from(l.mev) => VolumeStatus::BelowMev,
                Some(l) if average > f64::from(l.mrv) => VolumeStatus::AboveMrv,
                Some(_) => VolumeStatus::Productive,
            };
            let full: Vec<(f64, f64)> = per_week
                .iter()
                .zip(weeks)
                .enumerate()
                .filter(|(_, (_, (_, days)))| *days == 7)
                .map(|(i, (s, _))| (i as f64, *s))
                .collect();
            let change = slope(&full) * (full.len().saturating_sub(1)) as f64;
            let trend = if change > DIRECTION_SETS {
                Direction::Rising
            } else if change < -DIRECTION_SETS {
                Direction::Falling
            } else {
                Direction::Steady
            };
            MuscleTrend {
                muscle,
                weeks: per_week
                    .iter()
                    .zip(weeks)
                    .map(|(s, (start, _))| WeekSets {
                        week_start: *start,
                        sets: round_to(*s, 2),
                    })
                    .collect(),
                average_sets: average,
                landmarks,
                status,
                trend,
            }
        })
        .collect()
}

fn consistency(input: &ProgressReportInput, weeks: &[(IsoDate, i64)]) -> Consistency {
    let mut dates: Vec<IsoDate> = input.history.as_slice().iter().map(|s| s.date).collect();
    dates.sort();
    dates.dedup();
    let in_period: Vec<IsoDate> = dates
        .iter()
        .copied()
        .filter(|d| input.period.contains(*d))
        .collect();
    let mut weekly: Vec<WeekSessions> = weeks
        .iter()
        .map(|(start, _)| WeekSessions {
            week_start: *start,
            sessions: 0,
        })
        .collect();
    for d in &in_period {
        if let Some(w) = weekly.get_mut(week_of(input, *d)) {
            w.sessions = w.sessions.saturating_add(1);
        }
    }
    let period_weeks = input.period.days() as f64 / 7.0;
    let sessions = in_period.len() as f64;
    let planned = input.planned_days_per_week.map(|p| p.get());
    let meets = |sessions: u8, days: i64| match planned {
        Some(p) => f64::from(sessions) >= (f64::from(p) * days as f64 / 7.0).ceil(),
        None => sessions > 0,
    };
    let mut longest = 0u16;
    let mut run = 0u16;
    for (w, (_, days)) in weekly.iter().zip(weeks) {
        run = if meets(w.sessions, *days) { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    // Gaps: from the last session before the period (or its start) through every session in it
    // to its end.
    let before = dates
        .iter()
        .copied()
        .filter(|d| *d < input.period.from)
        .max();
    let mut marks: Vec<IsoDate> = Vec::new();
    marks.push(before.unwrap_or(input.period.from));
    marks.extend(in_period.iter().copied());
    marks.push(input.period.to);
    let gaps: Vec<Gap> = marks
        .windows(2)
        .filter_map(|pair| {
            let days = pair[1].days_after(pair[0]);
            (days > GAP_DAYS).then(|| Gap {
                from: pair[0],
                to: pair[1],
                days: u16::try_from(days.min(MAX_PERIOD_DAYS)).unwrap_or(u16::MAX),
            })
        })
        .take(MAX_GAPS)
        .collect();
    Consistency {
        sessions: u16::try_from(in_period.len()).unwrap_or(u16::MAX),
        weekly,
        sessions_per_week: round_to(sessions / period_weeks, 2),
        planned_days_per_week: planned,
        adherence_pct: planned.map(|p| {
            round_to(
                (sessions / (f64::from(p) * period_weeks) * 100.0).min(100.0),
                1,
            )
        }),
        longest_streak_weeks: longest,
        gaps,
    }
}

fn highlights(
    lifts: &[LiftProgress],
    prs: &[PersonalRecord],
    volume: &[MuscleTrend],
    consistency: &Consistency,
    trained_on: impl Fn(IsoDate) -> bool,
) -> Vec<Highlight> {
    let mut out = Vec::new();
    let lift = |kind, l: &LiftProgress, text: String| Highlight {
        kind,
        exercise_id: Some(l.exercise_id.clone()),
        muscle: None,
        text,
    };
    for l in lifts {
        let figures = format!(
            "{:+.1} % ({:+.2} kg a week, e1RM {:.1} → {:.1} kg)",
            l.change_pct, l.change_kg_per_week, l.start_e1rm_kg, l.end_e1rm_kg
        );
        match l.status {
            Some(Status::Progressing) => out.push(lift(
                HighlightKind::Progressing,
                l,
                format!("{} is progressing: {figures}.", l.name),
            )),
            Some(Status::Plateau) => out.push(lift(
                HighlightKind::StalledLift,
                l,
                format!(
                    "{} has stalled: {figures}. A deload week or a close variation would restart it (§A5).",
                    l.name
                ),
            )),
            Some(Status::Regressing) => out.push(lift(
                HighlightKind::RegressingLift,
                l,
                format!("{} is going backwards: {figures}. Check recovery and the load.", l.name),
            )),
            None => {}
        }
        if let Some(pr) = prs
            .iter()
            .rev()
            .find(|p| p.exercise_id == l.exercise_id && p.kind == PrKind::E1rm)
        {
            out.push(lift(
                HighlightKind::Pr,
                l,
                format!(
                    "New {} e1RM record on {}: {} kg × {} (e1RM {:.1} kg, up from {:.1}).",
                    l.name,
                    pr.date,
                    pr.weight_kg,
                    pr.reps,
                    pr.e1rm_kg.unwrap_or(0.0),
                    pr.previous
                ),
            ));
        }
    }
    for v in volume {
        let Some(l) = &v.landmarks else { continue };
        let (kind, text) = match v.status {
            VolumeStatus::BelowMev if l.mev > 0 => (
                HighlightKind::BelowMev,
                format!(
                    "{} averaged {:.1} sets a week, under its minimum effective volume of {} (§A4).",
                    v.muscle, v.average_sets, l.mev
                ),
            ),
            VolumeStatus::AboveMrv => (
                HighlightKind::AboveMrv,
                format!(
                    "{} averaged {:.1} sets a week, over its maximum recoverable volume of {} (§A4).",
                    v.muscle, v.average_sets, l.mrv
                ),
            ),
            _ => continue,
        };
        out.push(Highlight {
            kind,
            exercise_id: None,
            muscle: Some(v.muscle),
            text,
        });
    }
    for gap in &consistency.gaps {
        // A gap that ends with a session is a return (one that runs to the period's end is not).
        if trained_on(gap.to) {
            out.push(Highlight {
                kind: HighlightKind::ReturnAfterGap,
                exercise_id: None,
                muscle: None,
                text: format!(
                    "Back on {} after {} days without a session.",
                    gap.to, gap.days
                ),
            });
        }
    }
    if let Some(adherence) = consistency.adherence_pct
        && adherence < LOW_ADHERENCE_PCT
    {
        out.push(Highlight {
            kind: HighlightKind::LowAdherence,
            exercise_id: None,
            muscle: None,
            text: format!(
                "{:.0} % of the planned sessions were done ({} of {:.0}).",
                adherence,
                consistency.sessions,
                f64::from(consistency.planned_days_per_week.unwrap_or(0))
                    * consistency.weekly.len() as f64
            ),
        });
    }
    out.truncate(MAX_HIGHLIGHTS);
    out
}

/// The charts every report names.
pub fn charts() -> Vec<ChartRef> {
    vec![
        ChartRef {
            name: ChartName::Strength,
            title: "Strength progression: e1RM per lift (kg)".to_owned(),
        },
        ChartRef {
            name: ChartName::Volume,
            title: "Weekly sets per muscle".to_owned(),
        },
        ChartRef {
            name: ChartName::Sessions,
            title: "Sessions per week".to_owned(),
        },
    ]
}

/// The deterministic answer.
pub fn run(input: &ProgressReportInput) -> Result<ProgressReportOutput, CoachError> {
    let weeks = weeks(input);
    let lifts = lifts(input);
    let prs = prs(input);
    let weekly_volume = weekly_volume(input, &weeks);
    let consistency = consistency(input, &weeks);
    let trained_on = |day: IsoDate| input.history.as_slice().iter().any(|s| s.date == day);
    let highlights = highlights(&lifts, &prs, &weekly_volume, &consistency, trained_on);
    let mut summary = format!(
        "{} to {}: {} sessions in {} weeks ({:.1} a week",
        input.period.from,
        input.period.to,
        consistency.sessions,
        weeks.len(),
        consistency.sessions_per_week
    );
    if let (Some(p), Some(a)) = (consistency.planned_days_per_week, consistency.adherence_pct) {
        summary.push_str(&format!(" against {p} planned, {a:.0} % adherence"));
    }
    summary.push_str(&format!(
        "), longest streak {} weeks. {} lifts tracked, {} PRs.",
        consistency.longest_streak_weeks,
        lifts.len(),
        prs.len()
    ));
    for h in highlights.iter().take(6) {
        summary.push(' ');
        summary.push_str(&h.text);
    }
    let summary: String = summary.chars().take(super::MAX_SUMMARY_CHARS).collect();
    Ok(ProgressReportOutput {
        period: input.period,
        weeks: u16::try_from(weeks.len()).unwrap_or(u16::MAX),
        lifts,
        prs,
        weekly_volume,
        consistency,
        highlights,
        charts: charts(),
        summary,
    })
}
