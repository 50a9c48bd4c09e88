//! The `progress_report` kind: over a period of the training log, per lift the e1RM series and its
//! change, PRs, weekly sets per muscle against the §A4 landmarks, consistency against the planned
//! days, highlights in plain words, and three charts (SVG, [`charts`]) the API serves at
//! `GET /v1/jobs/{id}/charts/{name}`.

pub mod charts;
pub mod engine;
mod guard;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::athlete::Athlete;
use crate::bounded::BoundedVec;
use crate::catalogue::MAX_EXERCISE_ID_CHARS;
use crate::date::IsoDate;
use crate::kind::{example, prompt};
use crate::overload_analysis::{
    self, E1rmPoint, LoggedSession, MAX_E1RM_KG, MAX_SESSIONS, Status, WeightKg,
};
use crate::split::{DaysPerWeek, Landmarks};
use crate::vocab::{Muscle, vocabulary};
use crate::workout_plan::MAX_NAME_CHARS;
use crate::{CoachError, FieldError, JobSpec, Prompt, Violation};

/// Longest period a report covers, days (two years).
pub const MAX_PERIOD_DAYS: i64 = 731;
/// Most weeks a report holds (a period of [`MAX_PERIOD_DAYS`], in 7-day weeks from its start).
pub const MAX_WEEKS: usize = 105;
/// Most lifts a report lists.
pub const MAX_LIFTS: usize = 100;
/// Most PRs a report lists (the latest ones when there are more).
pub const MAX_PRS: usize = 200;
/// Most gaps a report lists.
pub const MAX_GAPS: usize = 100;
/// Most highlights.
pub const MAX_HIGHLIGHTS: usize = 30;
/// Longest highlight, summary or chart title, in characters.
pub const MAX_TEXT_CHARS: usize = 600;
/// Longest summary, in characters.
pub const MAX_SUMMARY_CHARS: usize = 3000;
/// A pause longer than this many days between sessions is a gap.
pub const GAP_DAYS: i64 = 7;
/// Largest weekly-sets figure an output may state.
pub const MAX_WEEKLY_SETS: f64 = 2000.0;
/// Largest change of a lift's e1RM an output states, percent (a hundredfold; a first set of a
/// few hundred grams against a real later one would say more).
pub const MAX_CHANGE_PCT: f64 = 10_000.0;

/// The period a report covers (both days included).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// First day.
    pub from: IsoDate,
    /// Last day (not before `from`, at most two years after it).
    pub to: IsoDate,
}

impl Period {
    /// Days covered, both ends included.
    pub fn days(&self) -> i64 {
        self.to.days_after(self.from) + 1
    }

    /// True when `date` falls in the period.
    pub fn contains(&self, date: IsoDate) -> bool {
        self.from <= date && date <= self.to
    }
}

/// Input of a `progress_report` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressReportInput {
    /// The athlete.
    pub athlete: Athlete,
    /// The period to report on.
    pub period: Period,
    /// Training days a week the athlete planned (adherence is measured against it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_days_per_week: Option<DaysPerWeek>,
    /// The training log (the `overload_analysis` format); sessions before the period count as
    /// the baseline for PRs and gaps.
    pub history: BoundedVec<LoggedSession, MAX_SESSIONS>,
}

vocabulary! {
    /// What kind of personal record.
    pub enum PrKind {
        /// The best e1RM of the lift so far (RTS chart, §A3).
        E1rm = "e1rm",
        /// More reps than ever before at that weight.
        RepsAtWeight = "reps_at_weight",
    }
}

vocabulary! {
    /// Where a muscle's average weekly sets sit against its §A4 landmarks.
    pub enum VolumeStatus {
        /// Under the minimum effective volume.
        BelowMev = "below_mev",
        /// Between MEV and MRV.
        Productive = "productive",
        /// Over the maximum recoverable volume.
        AboveMrv = "above_mrv",
        /// No landmarks for the muscle (§A4 lists twelve).
        NoLandmarks = "no_landmarks",
    }
}

vocabulary! {
    /// Direction of weekly sets over the period.
    pub enum Direction {
        /// Up by more than a set a week over the period's line.
        Rising = "rising",
        /// Within a set of flat.
        Steady = "steady",
        /// Down by more than a set a week over the period's line.
        Falling = "falling",
    }
}

vocabulary! {
    /// What a highlight is about.
    pub enum HighlightKind {
        /// A lift's e1RM rose faster than the plateau band.
        Progressing = "progressing",
        /// A lift's e1RM stayed within the plateau band.
        StalledLift = "stalled_lift",
        /// A lift's e1RM fell.
        RegressingLift = "regressing_lift",
        /// A new PR.
        Pr = "pr",
        /// A muscle averaged under its MEV.
        BelowMev = "below_mev",
        /// A muscle averaged over its MRV.
        AboveMrv = "above_mrv",
        /// Training resumed after a gap of more than a week.
        ReturnAfterGap = "return_after_gap",
        /// Sessions fell short of the plan.
        LowAdherence = "low_adherence",
    }
}

vocabulary! {
    /// The charts of a report.
    pub enum ChartName {
        /// e1RM per lift over time.
        Strength = "strength",
        /// Weekly sets per muscle.
        Volume = "volume",
        /// Sessions per week against the plan.
        Sessions = "sessions",
    }
}

/// One lift's progress over the period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftProgress {
    /// Catalogue id.
    #[schemars(length(min = 1, max = MAX_EXERCISE_ID_CHARS))]
    pub exercise_id: String,
    /// Catalogue name.
    #[schemars(length(min = 1, max = MAX_NAME_CHARS))]
    pub name: String,
    /// Sessions in the period with a usable working set of it.
    #[schemars(range(min = 1, max = MAX_SESSIONS))]
    pub sessions: u16,
    /// Best working-set e1RM per session (warm-ups never), oldest first.
    #[schemars(length(min = 1, max = MAX_SESSIONS))]
    pub e1rm_series: Vec<E1rmPoint>,
    /// First e1RM of the period, kg.
    #[schemars(range(min = 0.0, max = MAX_E1RM_KG))]
    pub start_e1rm_kg: f64,
    /// Last e1RM of the period, kg.
    #[schemars(range(min = 0.0, max = MAX_E1RM_KG))]
    pub end_e1rm_kg: f64,
    /// Last against first, percent (at most 10,000).
    #[schemars(range(min = -100.0, max = MAX_CHANGE_PCT))]
    pub change_pct: f64,
    /// Least-squares slope of the series, kg per week (0 with one session or a series of less
    /// than a week; at most the e1RM's own range).
    #[schemars(range(min = -MAX_E1RM_KG, max = MAX_E1RM_KG))]
    pub change_kg_per_week: f64,
    /// From the trend (% per week, the `overload_analysis` bands); absent with fewer than 3
    /// sessions over a week.
    pub status: Option<Status>,
}

/// One personal record set in the period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonalRecord {
    /// Catalogue id.
    #[schemars(length(min = 1, max = MAX_EXERCISE_ID_CHARS))]
    pub exercise_id: String,
    /// What kind.
    pub kind: PrKind,
    /// When.
    pub date: IsoDate,
    /// The set's load, kg.
    #[schemars(range(min = WeightKg::MIN, max = WeightKg::MAX))]
    pub weight_kg: f64,
    /// The set's reps.
    #[schemars(range(min = 1, max = 100))]
    pub reps: u8,
    /// The set's e1RM (e1RM PRs), kg.
    #[schemars(range(min = 0.0, max = MAX_E1RM_KG))]
    pub e1rm_kg: Option<f64>,
    /// The record it beat: the previous best e1RM (kg) or reps at that weight.
    #[schemars(range(min = 0.0, max = MAX_E1RM_KG))]
    pub previous: f64,
}

/// Sets of one muscle in one week of the period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeekSets {
    /// The week's first day (weeks run 7 days from the period's start).
    pub week_start: IsoDate,
    /// Direct + 0.5 × indirect working sets (§A4).
    #[schemars(range(min = 0.0, max = MAX_WEEKLY_SETS))]
    pub sets: f64,
}

/// One muscle's weekly volume over the period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MuscleTrend {
    /// The muscle.
    pub muscle: Muscle,
    /// Every week of the period, in order.
    #[schemars(length(min = 1, max = MAX_WEEKS))]
    pub weeks: Vec<WeekSets>,
    /// Mean of the weeks.
    #[schemars(range(min = 0.0, max = MAX_WEEKLY_SETS))]
    pub average_sets: f64,
    /// Its §A4 landmarks, when listed.
    pub landmarks: Option<Landmarks>,
    /// The average against the landmarks.
    pub status: VolumeStatus,
    /// The weeks' direction.
    pub trend: Direction,
}

/// Sessions of one week.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeekSessions {
    /// The week's first day.
    pub week_start: IsoDate,
    /// Days trained that week.
    #[schemars(range(min = 0, max = 7))]
    pub sessions: u8,
}

/// More than a week without a session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gap {
    /// The last session before it (or the period's start).
    pub from: IsoDate,
    /// The first session after it (or the period's end).
    pub to: IsoDate,
    /// Days between them.
    #[schemars(range(min = GAP_DAYS + 1, max = MAX_PERIOD_DAYS))]
    pub days: u16,
}

/// How regularly the athlete trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Consistency {
    /// Days trained in the period.
    #[schemars(range(min = 1, max = MAX_PERIOD_DAYS))]
    pub sessions: u16,
    /// Days trained per week, every week of the period.
    #[schemars(length(min = 1, max = MAX_WEEKS))]
    pub weekly: Vec<WeekSessions>,
    /// Mean days trained per week (the period's days ÷ 7).
    #[schemars(range(min = 0.0, max = 7.0))]
    pub sessions_per_week: f64,
    /// The plan, when given.
    #[schemars(range(min = DaysPerWeek::MIN, max = DaysPerWeek::MAX))]
    pub planned_days_per_week: Option<u8>,
    /// Sessions ÷ planned sessions over the period, percent (at most 100); with a plan.
    #[schemars(range(min = 0.0, max = 100.0))]
    pub adherence_pct: Option<f64>,
    /// Most weeks in a row that met the plan (without a plan: with at least one session).
    #[schemars(range(min = 0, max = MAX_WEEKS))]
    pub longest_streak_weeks: u16,
    /// Pauses of more than a week (also from the period's start and to its end).
    #[schemars(length(max = MAX_GAPS))]
    pub gaps: Vec<Gap>,
}

/// A finding in plain words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Highlight {
    /// What it is about.
    pub kind: HighlightKind,
    /// The lift, for lift findings and PRs.
    #[schemars(length(min = 1, max = MAX_EXERCISE_ID_CHARS))]
    pub exercise_id: Option<String>,
    /// The muscle, for volume findings.
    pub muscle: Option<Muscle>,
    /// The finding, for the athlete.
    #[schemars(length(min = 1, max = MAX_TEXT_CHARS))]
    pub text: String,
}

/// A chart of the report, served as SVG at `GET /v1/jobs/{id}/charts/{name}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartRef {
    /// Its name in the URL.
    pub name: ChartName,
    /// Its title.
    #[schemars(length(min = 1, max = MAX_TEXT_CHARS))]
    pub title: String,
}

/// Output of a `progress_report` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressReportOutput {
    /// The period (as asked).
    pub period: Period,
    /// Weeks in it (7-day weeks from its start; the last may be shorter).
    #[schemars(range(min = 1, max = MAX_WEEKS))]
    pub weeks: u16,
    /// Each lift with a usable working set in the period, in order of first appearance.
    #[schemars(length(max = MAX_LIFTS))]
    pub lifts: Vec<LiftProgress>,
    /// PRs set in the period, oldest first.
    #[schemars(length(max = MAX_PRS))]
    pub prs: Vec<PersonalRecord>,
    /// Weekly sets per muscle trained in the period, in the catalogue's muscle order.
    #[schemars(length(max = Muscle::ALL.len()))]
    pub weekly_volume: Vec<MuscleTrend>,
    /// How regularly the athlete trained.
    pub consistency: Consistency,
    /// Findings in plain words.
    #[schemars(length(max = MAX_HIGHLIGHTS))]
    pub highlights: Vec<Highlight>,
    /// The charts, one of each name.
    #[schemars(length(min = 3, max = 3))]
    pub charts: Vec<ChartRef>,
    /// The whole picture, in plain words.
    #[schemars(length(min = 1, max = MAX_SUMMARY_CHARS))]
    pub summary: String,
}

/// The `progress_report` kind.
#[derive(Clone, Copy, Debug)]
pub struct ProgressReport;

impl JobSpec for ProgressReport {
    const NAME: &'static str = "progress_report";
    const DESCRIPTION: &'static str = "Progress over a period of the training log: per lift the e1RM series (working sets only), change in % and kg/week and status; e1RM and rep PRs with dates; weekly sets per muscle against the RP landmarks with the trend; consistency against the planned days (adherence, longest streak, gaps over a week); highlights in plain words; and three SVG charts (strength, volume, sessions) at /v1/jobs/{id}/charts/{name}.";
    const PROMPT: Prompt = prompt!("progress_report");
    const EXAMPLE: &'static str = example!("progress_report");
    type Input = ProgressReportInput;
    type Output = ProgressReportOutput;

    fn business_rules(input: &ProgressReportInput) -> Vec<FieldError> {
        let mut broken = overload_analysis::history_rules(input.history.as_slice());
        let days = input.period.days();
        if days < 1 {
            broken.push(FieldError::new(
                "period.to",
                "the period ends before it starts",
            ));
        } else if days > MAX_PERIOD_DAYS {
            broken.push(
                FieldError::new(
                    "period.to",
                    format!("a report covers at most {MAX_PERIOD_DAYS} days, this period {days}"),
                )
                .with_details(serde_json::json!({ "maximum_days": MAX_PERIOD_DAYS })),
            );
        } else if !input
            .history
            .as_slice()
            .iter()
            .any(|s| input.period.contains(s.date))
        {
            broken.push(FieldError::new(
                "history",
                "no logged session falls within the period",
            ));
        }
        broken
    }

    fn run(input: &ProgressReportInput) -> Result<ProgressReportOutput, CoachError> {
        engine::run(input)
    }

    fn check(input: &ProgressReportInput, output: &ProgressReportOutput) -> Vec<Violation> {
        guard::check(input, output)
    }
}
