//! Daily motivation schedules: every tenant gets one message a day at its local time, and
//! subscribed athletes get a personal one at theirs.
//!
//! A schedule row remembers the next local date to run and the instant that date's run is due.
//! The instant of a local date is computed here, once per date, so daylight-saving changes can
//! neither skip nor double a day: a local time that does not exist that day (spring forward)
//! runs at the first minute after the gap, a time that exists twice (fall back) runs at the
//! first occurrence. Exactly one message per tenant/athlete/local day is enforced by the store's
//! unique idempotency key of the job ([`daily_key`]), not by the scheduler's timing.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveTime, TimeZone as _, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use sparta_coach::{JobInput, JobKind};

use crate::JobsError;
use crate::json_text::JsonText;
use crate::model::{AthleteKey, IdempotencyKey, Inserted, Job, JobId, NewJob, Priority, TenantId};
use crate::queue::JobQueue;
use crate::store::JobStore;
use crate::submit::submit_jobs;

/// An IANA time zone (`Europe/Paris`), checked against the embedded tz database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeZoneName(Tz);

impl TimeZoneName {
    /// Coordinated Universal Time, the default.
    pub const UTC: TimeZoneName = TimeZoneName(Tz::UTC);

    /// Every zone name the server knows (the IANA database it was built with).
    pub fn names() -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name())
    }

    /// The zone's name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The local date at an instant.
    pub fn date_at(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.0).date_naive()
    }

    /// The instant a local date's run is due at `time`, daylight-saving safe (see the module
    /// documentation).
    pub fn instant_of(&self, date: NaiveDate, time: LocalTime) -> DateTime<Utc> {
        let local = date.and_time(time.0);
        match self.0.from_local_datetime(&local) {
            LocalResult::Single(at) => at.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            LocalResult::None => {
                // In a spring-forward gap: the first local minute after it. Gaps are at most a
                // few hours; a day's worth of minutes bounds the search.
                let mut probe = local;
                for _ in 0..(24 * 60) {
                    probe += chrono::TimeDelta::minutes(1);
                    if let LocalResult::Single(at) | LocalResult::Ambiguous(at, _) =
                        self.0.from_local_datetime(&probe)
                    {
                        return at.with_timezone(&Utc);
                    }
                }
                // Unreachable with the tz database (no gap lasts a day); fall back to reading
                // the wall time as UTC rather than failing a schedule.
                local.and_utc()
            }
        }
    }
}

impl FromStr for TimeZoneName {
    type Err = JobsError;
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        name.parse::<Tz>().map(TimeZoneName).map_err(|_| {
            JobsError::InvalidValue(format!(
                "'{name}' is not an IANA time zone (e.g. 'Europe/Paris', 'UTC')"
            ))
        })
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A local wall-clock time to the minute (`07:30`); the default is midnight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalTime(NaiveTime);

impl LocalTime {
    /// `hour:minute`.
    pub fn new(hour: u32, minute: u32) -> Option<Self> {
        NaiveTime::from_hms_opt(hour, minute, 0).map(LocalTime)
    }
}

impl FromStr for LocalTime {
    type Err = JobsError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || {
            JobsError::InvalidValue(format!(
                "'{text}' is not a local time HH:MM (00:00 to 23:59)"
            ))
        };
        let (hour, minute) = text.split_once(':').ok_or_else(bad)?;
        // Two digits each: `u32::from_str` alone would also take `+1`.
        let two_digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
        if !two_digits(hour) || !two_digits(minute) {
            return Err(bad());
        }
        let hour = hour.parse().map_err(|_| bad())?;
        let minute = minute.parse().map_err(|_| bad())?;
        LocalTime::new(hour, minute).ok_or_else(bad)
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%H:%M"))
    }
}

/// Whose message a schedule produces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScheduleTarget {
    /// The tenant's message of the day.
    Tenant,
    /// A subscribed athlete's personal message.
    Athlete(AthleteKey),
}

impl ScheduleTarget {
    /// The stored key: empty for the tenant.
    pub fn stored(&self) -> &str {
        match self {
            ScheduleTarget::Tenant => "",
            ScheduleTarget::Athlete(id) => id.as_str(),
        }
    }

    /// The inverse of [`ScheduleTarget::stored`].
    pub fn from_stored(key: String) -> Result<Self, JobsError> {
        if key.is_empty() {
            Ok(ScheduleTarget::Tenant)
        } else {
            AthleteKey::parse(key).map(ScheduleTarget::Athlete)
        }
    }
}

/// A daily motivation schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct MotivationSchedule {
    /// The owning tenant.
    pub tenant_id: TenantId,
    /// The tenant itself or one of its athletes.
    pub target: ScheduleTarget,
    /// Where the local time is read.
    pub timezone: TimeZoneName,
    /// When the message is prepared, local time.
    pub local_time: LocalTime,
    /// What personalises the message: `{athlete: {experience, goal}, context, tone}` as in the
    /// motivation kind's input; the date, the athlete id and the seed are added per run.
    pub profile: Value,
    /// The next local date to prepare.
    pub next_local_date: NaiveDate,
    /// When that date's run is due.
    pub next_run_at: DateTime<Utc>,
    /// Bumped on every write; advancing a schedule is conditional on it.
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A schedule moved on to its next day, fenced on the version it was read at.
#[derive(Clone, Debug)]
pub struct ScheduleAdvance {
    /// The owning tenant.
    pub tenant_id: TenantId,
    /// The tenant itself or one of its athletes.
    pub target: ScheduleTarget,
    /// The version the schedule was read at.
    pub version: i64,
    /// The next local date to prepare.
    pub date: NaiveDate,
    /// When that date's run is due.
    pub at: DateTime<Utc>,
}

impl ScheduleAdvance {
    /// `schedule`, as read, moved on to `date` due `at`.
    pub fn of(schedule: &MotivationSchedule, date: NaiveDate, at: DateTime<Utc>) -> Self {
        Self {
            tenant_id: schedule.tenant_id,
            target: schedule.target.clone(),
            version: schedule.version,
            date,
            at,
        }
    }
}

impl MotivationSchedule {
    /// A schedule whose first day is today in its zone: due at once when today's time has
    /// passed already (a new tenant or athlete gets today's message, not only tomorrow's).
    pub fn starting(
        tenant_id: TenantId,
        target: ScheduleTarget,
        timezone: TimeZoneName,
        local_time: LocalTime,
        profile: Value,
        now: DateTime<Utc>,
    ) -> Self {
        let first = timezone.date_at(now);
        Self {
            tenant_id,
            target,
            timezone,
            local_time,
            profile,
            next_local_date: first,
            next_run_at: timezone.instant_of(first, local_time),
            version: 0,
            created_at: now,
            updated_at: now,
        }
    }

    /// The local date a run at `now` prepares: the latest date, from the scheduled one on,
    /// whose time has come. Missed days (every worker down) collapse into the most recent one:
    /// a motivation message for a day already over has no reader.
    pub fn date_due(&self, now: DateTime<Utc>) -> NaiveDate {
        let today = self.timezone.date_at(now);
        let latest = if self.timezone.instant_of(today, self.local_time) <= now {
            today
        } else {
            today - Days::new(1)
        };
        latest.max(self.next_local_date)
    }

    /// The date after `date` and the instant its run is due.
    pub fn following(&self, date: NaiveDate) -> (NaiveDate, DateTime<Utc>) {
        let next = date + Days::new(1);
        (next, self.timezone.instant_of(next, self.local_time))
    }

    /// The local date today at `now`, in the schedule's zone.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        self.timezone.date_at(now)
    }

    /// The motivation job input for `date`: the profile plus the date, the athlete id and a
    /// seed from the tenant, so two tenants' athletes of the same name get different messages
    /// while one tenant's message for a day stays the same.
    pub fn job_input(&self, date: NaiveDate) -> Value {
        let mut input = match &self.profile {
            Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        };
        let mut athlete = match input.remove("athlete") {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        athlete
            .entry("experience")
            .or_insert_with(|| json!("intermediate"));
        athlete
            .entry("goal")
            .or_insert_with(|| json!("general_fitness"));
        if let ScheduleTarget::Athlete(id) = &self.target {
            athlete.insert("id".into(), json!(id.as_str()));
        }
        input.insert("athlete".into(), Value::Object(athlete));
        input.insert("date".into(), json!(date.format("%Y-%m-%d").to_string()));
        input.insert("seed".into(), json!(self.tenant_id.to_string()));
        Value::Object(input)
    }
}

impl MotivationSchedule {
    /// The job that prepares `date`'s message. Its idempotency key names the tenant/athlete
    /// and the day, and its request hash is the key itself, so every scheduler (and the API's
    /// on-demand path) asking for the same day gets the one job, whatever the profile then.
    pub fn daily_job(
        &self,
        date: NaiveDate,
        now: DateTime<Utc>,
        max_attempts: i32,
    ) -> Result<NewJob, JobsError> {
        let key = daily_key(&self.target, date)?;
        let input =
            JobInput::parse(JobKind::Motivation, &self.job_input(date)).map_err(|rejection| {
                JobsError::InvalidValue(format!("motivation profile: {rejection}"))
            })?;
        let athlete = match &self.target {
            ScheduleTarget::Tenant => Value::Null,
            ScheduleTarget::Athlete(id) => json!(id.as_str()),
        };
        Ok(NewJob {
            id: JobId::new(),
            tenant_id: self.tenant_id,
            kind: JobKind::Motivation,
            input: JsonText::from(input.to_value()),
            athlete_id: input.athlete().cloned(),
            priority: Priority::DEFAULT,
            max_attempts,
            request_hash: key.as_str().to_owned(),
            idempotency_key: Some(key),
            webhook_url: None,
            metadata: Some(json!({
                "scheduled": "daily_motivation",
                "athlete_id": athlete,
                "local_date": date.format("%Y-%m-%d").to_string(),
            })),
            request_id: None,
            traceparent: None,
            created_at: now,
        })
    }
}

/// The job of `date`'s message for a schedule: created (and announced) by the first caller,
/// the same job for every other. A failed announcement is left to the reconciler.
pub async fn ensure_daily_job(
    store: &dyn JobStore,
    queue: &dyn JobQueue,
    schedule: &MotivationSchedule,
    date: NaiveDate,
    now: DateTime<Utc>,
    max_attempts: i32,
) -> Result<(Job, bool), JobsError> {
    let job = schedule.daily_job(date, now, max_attempts)?;
    let answer = submit_jobs(store, queue, std::slice::from_ref(&job), ANNOUNCE_TIMEOUT)
        .await?
        .pop()
        .ok_or_else(|| JobsError::Corrupt("an insert answered nothing".into()))??;
    Ok(match answer {
        Inserted::Created(job) => (job, true),
        Inserted::Replayed(job) => (job, false),
    })
}

/// How long the scheduler and the on-demand path wait for an announcement.
pub const ANNOUNCE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The idempotency key of a day's motivation job: unique per tenant in the store, it makes a
/// second job for the same tenant/athlete/local day impossible, whoever tries.
pub fn daily_key(target: &ScheduleTarget, date: NaiveDate) -> Result<IdempotencyKey, JobsError> {
    let who = match target {
        ScheduleTarget::Tenant => "tenant".to_owned(),
        ScheduleTarget::Athlete(id) => format!("athlete:{}", id.as_str()),
    };
    IdempotencyKey::parse(format!(
        "sparta.motivation:{}:{who}",
        date.format("%Y-%m-%d")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("instant")
    }

    fn schedule(zone: &str, time: &str, now: DateTime<Utc>) -> MotivationSchedule {
        MotivationSchedule::starting(
            TenantId::new(),
            ScheduleTarget::Tenant,
            zone.parse().expect("zone"),
            time.parse().expect("time"),
            json!({}),
            now,
        )
    }

    /// Walks a schedule day by day and returns the instants it runs at.
    fn runs(zone: &str, time: &str, from: &str, days: usize) -> Vec<DateTime<Utc>> {
        let mut s = schedule(zone, time, at(from));
        let mut out = Vec::new();
        for _ in 0..days {
            out.push(s.next_run_at);
            let (d, t) = s.following(s.next_local_date);
            s.next_local_date = d;
            s.next_run_at = t;
        }
        out
    }

    #[test]
    fn spring_forward_neither_skips_nor_doubles_a_day() {
        // Europe/Paris jumps from 02:00 to 03:00 on 2026-03-29: 02:30 does not exist that day.
        let r = runs("Europe/Paris", "02:30", "2026-03-28T00:00:00Z", 4);
        assert_eq!(
            r,
            vec![
                at("2026-03-28T01:30:00Z"),
                at("2026-03-29T01:00:00Z"), // 03:00 CEST, the first minute after the gap
                at("2026-03-30T00:30:00Z"),
                at("2026-03-31T00:30:00Z"),
            ]
        );
    }

    #[test]
    fn fall_back_runs_once_at_the_first_occurrence() {
        // America/New_York repeats 01:00–02:00 on 2026-11-01.
        let r = runs("America/New_York", "01:30", "2026-10-31T04:00:00Z", 3);
        assert_eq!(
            r,
            vec![
                at("2026-10-31T05:30:00Z"),
                at("2026-11-01T05:30:00Z"), // 01:30 EDT, not again at 01:30 EST
                at("2026-11-02T06:30:00Z"),
            ]
        );
    }

    #[test]
    fn every_local_day_runs_once_across_a_year_of_zones() {
        for zone in [
            "Europe/Paris",
            "America/New_York",
            "Australia/Lord_Howe",
            "Asia/Tehran",
            "UTC",
        ] {
            for time in ["00:00", "01:30", "02:30", "06:00", "23:59"] {
                let r = runs(zone, time, "2026-01-01T00:00:00Z", 366);
                let tz: TimeZoneName = zone.parse().expect("zone");
                let dates: Vec<NaiveDate> = r.iter().map(|t| tz.date_at(*t)).collect();
                for pair in dates.windows(2) {
                    assert_eq!(pair[1], pair[0] + Days::new(1), "{zone} {time}: {pair:?}");
                }
                assert!(r.windows(2).all(|w| w[0] < w[1]), "{zone} {time}");
            }
        }
    }

    #[test]
    fn first_run_is_today_and_missed_days_collapse() {
        let s = schedule("UTC", "06:00", at("2026-11-22T05:00:00Z"));
        assert_eq!(s.next_local_date, date("2026-11-22"));
        // Created after today's time: today's run is due at once.
        let s = schedule("UTC", "06:00", at("2026-11-22T07:00:00Z"));
        assert_eq!(s.next_local_date, date("2026-11-22"));
        assert!(s.next_run_at < at("2026-11-22T07:00:00Z"));
        assert_eq!(s.date_due(at("2026-11-22T07:00:00Z")), date("2026-11-22"));
        // Down for three days, back at 09:00 on the 26th: the 26th's message, once.
        assert_eq!(s.date_due(at("2026-11-26T09:00:00Z")), date("2026-11-26"));
        // Back at 05:00 on the 26th: the 25th's is the latest whose time came.
        assert_eq!(s.date_due(at("2026-11-26T05:00:00Z")), date("2026-11-25"));
    }

    #[test]
    fn times_and_zones_are_parsed_strictly() {
        assert!("7:30".parse::<LocalTime>().is_err());
        assert!("24:00".parse::<LocalTime>().is_err());
        assert_eq!(
            "07:05".parse::<LocalTime>().expect("time").to_string(),
            "07:05"
        );
        assert!("Mars/Olympus".parse::<TimeZoneName>().is_err());
        assert_eq!(
            "Europe/Paris".parse::<TimeZoneName>().expect("zone").name(),
            "Europe/Paris"
        );
    }

    #[test]
    fn job_input_adds_date_athlete_and_tenant_seed() {
        let mut s = schedule("UTC", "06:00", at("2026-11-22T05:00:00Z"));
        s.target = ScheduleTarget::Athlete(AthleteKey::parse("athlete-42").expect("id"));
        s.profile = json!({"athlete": {"goal": "strength"}, "tone": "calm"});
        let input = s.job_input(date("2026-11-22"));
        assert_eq!(input["athlete"]["id"], "athlete-42");
        assert_eq!(input["athlete"]["goal"], "strength");
        assert_eq!(input["athlete"]["experience"], "intermediate");
        assert_eq!(input["date"], "2026-11-22");
        assert_eq!(input["tone"], "calm");
        assert_eq!(input["seed"], s.tenant_id.to_string());
    }
}
