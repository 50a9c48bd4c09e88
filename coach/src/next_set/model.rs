//! The estimate behind a next set \[C\]: one lift's e1RM over the athlete's sessions, the fatigue
//! each working set adds within a session, today's readiness, and the athlete's RIR reporting bias.
//!
//! # The model
//!
//! A logged set of `reps` at load `w` with reported reps in reserve `rir` says, through the RTS
//! chart (§A3, joined by straight lines between its half steps so a fractional RIR has a value):
//!
//! `ln w = level(session) − fatigue × (working sets before it that day) + ln chart%(reps + rir − bias)`
//!
//! where `bias` is the athlete's RIR reporting bias (reported − actual, constant per athlete;
//! Hackett et al. 2017, §A3: RIR estimates are off by about a rep) and sets taken to failure
//! (`amrap`/`failure` with no reported reserve) carry no bias: their RIR is 0 whatever the
//! athlete feels. Within one session the level is shared, so sets to failure beside reported sets
//! of the same day are what tell the bias apart from the level — without them the data say little
//! about it and the estimate stays near the population prior.
//!
//! # Fitting
//!
//! Over the last [`MAX_FIT_SESSIONS`] sessions and today's sets, for every bias on a grid
//! ([`BIAS_MIN`]..[`BIAS_MAX`] by [`BIAS_STEP`]), the fatigue per set is
//! the ridge least-squares fit of the within-session deviations (prior [`PRIOR_FATIGUE`] ±
//! [`PRIOR_FATIGUE_SD`]), and its residual sum of squares gives the likelihood; times the prior
//! N([`PRIOR_BIAS`], [`PRIOR_BIAS_SD`]²) that is the bias's posterior on the grid: its mean is the
//! estimate, its standard deviation the uncertainty. At that bias, each session's fresh level is
//! the mean of its sets' levels; a ridge least-squares line through the last
//! [`MAX_TREND_SESSIONS`] sessions' levels (prior slope 0 ± [`TREND_SD_PER_DAY`]) is the trend,
//! read at today (at most [`MAX_EXTRAPOLATION_DAYS`] past the last session). Today's sets so far
//! move today's level from the trend toward what they show, in proportion to how much they say
//! against the session-to-session spread (a normal-normal update).

use crate::overload_analysis::{LoggedSet, SetType};
use crate::science::{CHART_MAX_REPS, rts_pct_continuous};

/// Population prior of the RIR reporting bias, reps (no direction is established, §A3).
pub const PRIOR_BIAS: f64 = 0.0;
/// Its standard deviation, reps (Hackett et al. 2017: RIR estimates off by about one rep, §A3).
pub const PRIOR_BIAS_SD: f64 = 1.0;
/// Lowest bias on the grid, reps.
pub const BIAS_MIN: f64 = -3.0;
/// Highest bias on the grid, reps.
pub const BIAS_MAX: f64 = 5.0;
/// Grid step, reps.
pub const BIAS_STEP: f64 = 0.05;
/// Prior fatigue per working set already done that day, as a share of the fresh e1RM \[C\].
pub const PRIOR_FATIGUE: f64 = 0.015;
/// Its standard deviation \[C\].
pub const PRIOR_FATIGUE_SD: f64 = 0.0075;
/// Prior standard deviation of the trend's slope, share of e1RM per day \[C\].
pub const TREND_SD_PER_DAY: f64 = 0.005;
/// Sessions the trend looks back over.
pub const MAX_TREND_SESSIONS: usize = 8;
/// Past sessions the bias and fatigue are fitted on (the latest; a year of a lift at most).
pub const MAX_FIT_SESSIONS: usize = 36;
/// Longest the trend is carried past the last session, days.
pub const MAX_EXTRAPOLATION_DAYS: i64 = 14;
/// Sets above this many reps to failure say little about strength and are left out (§A1).
pub const MAX_REPS_TO_FAILURE: f64 = 15.0;
/// Prior within-session noise (standard deviation of ln e1RM) and its weight in sets \[C\].
const PRIOR_WITHIN: (f64, f64) = (0.025, 4.0);
/// Prior session-to-session readiness spread and its weight in sessions \[C\].
const PRIOR_BETWEEN: (f64, f64) = (0.02, 3.0);
/// Sessions are this many days apart when the log cannot say (one session only).
const DEFAULT_GAP_DAYS: i64 = 3;

/// One usable logged set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observation {
    /// Day number (days since the Unix epoch).
    pub day: i64,
    /// Working sets before it that day.
    pub sets_before: f64,
    /// ln of the load, kg.
    pub ln_weight: f64,
    /// Reps done.
    pub reps: f64,
    /// Reps in reserve as reported (0 for a set to failure).
    pub reported_rir: f64,
    /// Taken to failure: no reporting bias.
    pub anchor: bool,
}

impl Observation {
    /// ln of the e1RM this set implies at `bias`.
    fn ln_e1rm(&self, bias: f64) -> f64 {
        // Not clamped at 0: a bias above a reported RIR is unlikely, not a free fit (clamping
        // would make every set below the bias read the same and let the bias absorb fatigue).
        let rir = if self.anchor {
            0.0
        } else {
            self.reported_rir - bias
        };
        self.ln_weight - (rts_pct_continuous((self.reps + rir).max(1.0)) / 100.0).ln()
    }

    /// ln of the fresh (before-fatigue) level this set implies.
    fn ln_level(&self, bias: f64, fatigue: f64) -> f64 {
        self.ln_e1rm(bias) + fatigue * self.sets_before
    }
}

/// The usable sets of one session, in order: working sets (not warm-ups, not drop sets) with a
/// load, 1–12 reps, a known effort and at most [`MAX_REPS_TO_FAILURE`] reps to failure as
/// reported. Every working set (drop sets too) counts toward the fatigue of the sets after it.
pub fn session_observations<'a>(
    day: i64,
    sets: impl IntoIterator<Item = &'a LoggedSet>,
) -> Vec<Observation> {
    let mut before = 0.0;
    let mut out = Vec::new();
    for set in sets {
        if !set.set_type.is_working() {
            continue;
        }
        let reps = set.reps.get();
        let weight = set.weight_kg.get();
        if let Some(rir) = set.rir()
            && set.set_type.is_comparable()
            && weight > 0.0
            && (1..=CHART_MAX_REPS).contains(&reps)
            && f64::from(reps) + rir <= MAX_REPS_TO_FAILURE
        {
            out.push(Observation {
                day,
                sets_before: before,
                ln_weight: weight.ln(),
                reps: f64::from(reps),
                reported_rir: rir,
                anchor: matches!(set.set_type, SetType::Amrap | SetType::Failure) && rir == 0.0,
            });
        }
        before += 1.0;
    }
    out
}

/// What the model says about today's sets.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// Posterior mean of the RIR reporting bias, reps.
    pub bias: f64,
    /// Its posterior standard deviation, reps.
    pub bias_sd: f64,
    /// Share of the bias estimate that is still the prior (posterior variance ÷ prior variance).
    pub prior_weight: f64,
    /// Usable sets (history and today).
    pub sets: usize,
    /// Of them, sets to failure.
    pub anchors: usize,
    /// Past sessions with a usable set.
    pub sessions: usize,
    /// Fatigue per working set done that day, share of the fresh e1RM.
    pub fatigue: f64,
    /// ln of today's fresh e1RM (trend and today's readiness).
    pub ln_today: f64,
    /// ln of the last past session's fresh e1RM (`ln_today` when there is none).
    pub ln_last_session: f64,
    /// Standard deviation of ln of today's e1RM (what is still unknown about it).
    pub prediction_sd: f64,
}

/// Sufficient sums of the within-session deviations at one bias.
#[derive(Default)]
struct Within {
    /// Σ k̃² (sets-before deviations).
    kk: f64,
    /// Σ ỹ·k̃.
    yk: f64,
    /// Σ ỹ².
    yy: f64,
    /// Within-session degrees of freedom (Σ n_s − 1).
    df: f64,
}

impl Within {
    fn of(sessions: &[&[Observation]], bias: f64) -> Self {
        // One pass per session over raw sums, centred at the end (each set's e1RM is worked out
        // once per bias: the grid asks 161 biases of every set).
        let mut w = Within::default();
        for session in sessions.iter().filter(|s| s.len() >= 2) {
            let n = session.len() as f64;
            let (mut sy, mut sk, mut syy, mut skk, mut syk) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for o in *session {
                let (y, k) = (o.ln_e1rm(bias), o.sets_before);
                sy += y;
                sk += k;
                syy += y * y;
                skk += k * k;
                syk += y * k;
            }
            w.kk += skk - sk * sk / n;
            w.yk += syk - sy * sk / n;
            w.yy += (syy - sy * sy / n).max(0.0);
            w.df += n - 1.0;
        }
        w
    }

    /// Ridge weight of the fatigue prior, in units of Σ k̃².
    fn ridge() -> f64 {
        (PRIOR_WITHIN.0 / PRIOR_FATIGUE_SD).powi(2)
    }

    /// The fatigue per set that fits best (ln e1RM falls by `fatigue` per set before).
    fn fatigue(&self) -> f64 {
        let ridge = Self::ridge();
        ((-self.yk + ridge * PRIOR_FATIGUE) / (self.kk + ridge)).clamp(0.0, 0.2)
    }

    /// Residual sum of squares at the best fatigue, prior penalty included.
    fn sse(&self) -> f64 {
        let f = self.fatigue();
        let ridge = Self::ridge();
        (self.yy - 2.0 * f * self.yk + f * f * self.kk + ridge * (f - PRIOR_FATIGUE).powi(2))
            .max(0.0)
    }
}

/// The estimate from past sessions (each a day's usable sets, oldest first) and today's sets so
/// far, on `today` (a day number; `None`: the last interval after the last session). `None`
/// without a single usable set.
pub fn estimate(
    past: &[Vec<Observation>],
    today_sets: &[Observation],
    today: Option<i64>,
) -> Option<Estimate> {
    let past: Vec<&[Observation]> = past
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.as_slice())
        .collect();
    // The latest sessions only: the bias and fatigue are the athlete's now, and the cost of the
    // grid grows with every set.
    let past = &past[past.len().saturating_sub(MAX_FIT_SESSIONS)..];
    let sets = past.iter().map(|s| s.len()).sum::<usize>() + today_sets.len();
    if sets == 0 {
        return None;
    }
    let mut all: Vec<&[Observation]> = past.to_vec();
    all.push(today_sets);
    let anchors = all
        .iter()
        .flat_map(|s| s.iter())
        .filter(|o| o.anchor)
        .count();

    // The bias's posterior on the grid.
    let steps = ((BIAS_MAX - BIAS_MIN) / BIAS_STEP).round() as usize;
    let grid: Vec<(f64, Within)> = (0..=steps)
        .map(|i| {
            let b = BIAS_MIN + i as f64 * BIAS_STEP;
            (b, Within::of(&all, b))
        })
        .collect();
    let best_sse = grid
        .iter()
        .map(|(_, w)| w.sse())
        .fold(f64::INFINITY, f64::min);
    let df = grid.first().map_or(0.0, |(_, w)| w.df);
    let (s0, nu0) = PRIOR_WITHIN;
    let within_var = (best_sse + nu0 * s0 * s0) / (df + nu0);
    let log_post: Vec<f64> = grid
        .iter()
        .map(|(b, w)| {
            -w.sse() / (2.0 * within_var) - (b - PRIOR_BIAS).powi(2) / (2.0 * PRIOR_BIAS_SD.powi(2))
        })
        .collect();
    let top = log_post.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = log_post.iter().map(|l| (l - top).exp()).collect();
    let total: f64 = weights.iter().sum();
    let bias = grid
        .iter()
        .zip(&weights)
        .map(|((b, _), w)| b * w)
        .sum::<f64>()
        / total;
    let bias_var = grid
        .iter()
        .zip(&weights)
        .map(|((b, _), w)| (b - bias).powi(2) * w)
        .sum::<f64>()
        / total;
    let fatigue = Within::of(&all, bias).fatigue();

    // Each past session's fresh level at that bias, and the trend through the last few.
    let levels: Vec<(i64, f64, usize)> = past
        .iter()
        .map(|s| {
            let mean = s.iter().map(|o| o.ln_level(bias, fatigue)).sum::<f64>() / s.len() as f64;
            (s[0].day, mean, s.len())
        })
        .collect();
    let recent = &levels[levels.len().saturating_sub(MAX_TREND_SESSIONS)..];
    let today_mean = (!today_sets.is_empty()).then(|| {
        today_sets
            .iter()
            .map(|o| o.ln_level(bias, fatigue))
            .sum::<f64>()
            / today_sets.len() as f64
    });
    let (predicted, between_var) = match recent {
        [] => (today_mean.unwrap_or(0.0), PRIOR_BETWEEN.0.powi(2)),
        _ => trend_at(recent, today, within_var),
    };
    let n_today = today_sets.len() as f64;
    let kappa = within_var / between_var;
    let ln_today = match today_mean {
        Some(m) if !recent.is_empty() => predicted + (m - predicted) * n_today / (n_today + kappa),
        Some(m) => m,
        None => predicted,
    };
    let ln_last_session = levels.last().map_or(ln_today, |l| l.1);
    // What is still unknown: today's readiness (less with sets done today), the trend's level,
    // and the bias (a rep of bias moves the chart ~3 %).
    let readiness_var = if recent.is_empty() {
        within_var / n_today.max(1.0)
    } else {
        between_var * kappa / (n_today + kappa)
    };
    let level_var = between_var / recent.len().max(1) as f64;
    let chart_slope = 0.03;
    let prediction_sd =
        (readiness_var + level_var + (chart_slope * bias_var.sqrt()).powi(2)).sqrt();
    Some(Estimate {
        bias,
        bias_sd: bias_var.sqrt(),
        prior_weight: (bias_var / PRIOR_BIAS_SD.powi(2)).min(1.0),
        sets,
        anchors,
        sessions: past.len(),
        fatigue,
        ln_today,
        ln_last_session,
        prediction_sd,
    })
}

/// The ridge trend through sessions' `(day, level, sets)` read at `today` (at most
/// [`MAX_EXTRAPOLATION_DAYS`] past the last), and the session-to-session variance around it.
fn trend_at(levels: &[(i64, f64, usize)], today: Option<i64>, within_var: f64) -> (f64, f64) {
    let n = levels.len() as f64;
    let day_mean = levels.iter().map(|l| l.0 as f64).sum::<f64>() / n;
    let level_mean = levels.iter().map(|l| l.1).sum::<f64>() / n;
    let sdd: f64 = levels.iter().map(|l| (l.0 as f64 - day_mean).powi(2)).sum();
    let sdl: f64 = levels
        .iter()
        .map(|l| (l.0 as f64 - day_mean) * (l.1 - level_mean))
        .sum();
    let ridge = (PRIOR_BETWEEN.0 / TREND_SD_PER_DAY).powi(2);
    let slope = sdl / (sdd + ridge);
    let last_day = levels.last().map_or(0, |l| l.0);
    let gap = match levels {
        [.., a, b] => b.0 - a.0,
        _ => DEFAULT_GAP_DAYS,
    }
    .max(1);
    let day = today
        .unwrap_or(last_day + gap)
        .min(last_day + MAX_EXTRAPOLATION_DAYS);
    let predicted = level_mean + slope * (day as f64 - day_mean);
    // Spread of the session levels around the line, less what their own sets' noise explains.
    let mean_sets = levels.iter().map(|l| l.2 as f64).sum::<f64>() / n;
    let residual: f64 = levels
        .iter()
        .map(|l| (l.1 - level_mean - slope * (l.0 as f64 - day_mean)).powi(2))
        .sum();
    let (s0, nu0) = PRIOR_BETWEEN;
    let observed = (residual - (n - 2.0).max(0.0) * within_var / mean_sets).max(0.0);
    let between_var = ((observed + nu0 * s0 * s0) / ((n - 2.0).max(0.0) + nu0)).max(1e-5);
    (predicted, between_var)
}
