//! The daily motivation message: schedules and subscriptions over HTTP, today's message on
//! demand, and three schedulers at once over simulated days (daylight-saving changes, a gap
//! with every scheduler down): exactly one message per tenant/athlete and local day.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use sparta::Roles;
use sparta_coach::JobKind;
use sparta_jobs::motivation::{MotivationSchedule, ScheduleTarget};
use sparta_jobs::{AthleteKey, JobStore, ListQuery, TenantName};
use sparta_worker::{Scheduler, SchedulerConfig};

use crate::harness::*;

async fn put(client: &Client, path: &str, body: &Value) -> Reply {
    client
        .send(client.http.put(format!("{}{path}", client.base)).json(body))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_and_todays_message_over_http() {
    let dir = TempDir::new();
    let service = start(&embedded_settings(&dir), Roles::ALL).await;
    let key = create_tenant(&*service.backends().store, "acme").await;
    let client = Client::new(&service, &key);

    // Every tenant has a schedule: the default until it sets one.
    let schedule = client.get("/v1/motivation/schedule").await;
    assert_eq!(schedule.status, 200, "{}", schedule.body);
    assert_eq!(
        (
            &schedule.first()["timezone"],
            &schedule.first()["local_time"]
        ),
        (&json!("UTC"), &json!("06:00"))
    );
    let today = client.get("/v1/motivation/today").await;
    assert_eq!(today.status, 200, "{}", today.body);
    let first = today.first().clone();
    assert_eq!(first["state"], "ready", "{first}");
    assert!(
        first["message"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(first["date"], Utc::now().format("%Y-%m-%d").to_string());
    let again = client.get("/v1/motivation/today").await;
    assert_eq!(
        again.first()["job"]["id"],
        first["job"]["id"],
        "one message a day"
    );

    // Bad subscriptions: 400 at the field, nothing stored.
    for (body, field) in [
        (
            json!({"timezone": "Mars/Olympus", "local_time": "07:00"}),
            "timezone",
        ),
        (
            json!({"timezone": "Europe/Paris", "local_time": "7am"}),
            "local_time",
        ),
        (
            json!({"timezone": "Europe/Paris", "local_time": "07:00", "context": {"streak_days": -3}}),
            "context.streak_days",
        ),
        (
            json!({"timezone": "UTC", "local_time": "07:00", "tone": "sarcastic"}),
            "tone",
        ),
        (
            json!({"timezone": "UTC", "local_time": "07:00", "colour": "red"}),
            "colour",
        ),
    ] {
        let reply = put(&client, "/v1/motivation/subscriptions/athlete-42", &body).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert_eq!(reply.error_code(), "VALIDATION_ERROR");
        assert_eq!(reply.error_field(), field, "{}", reply.body);
    }
    let missing = client.get("/v1/motivation/subscriptions/athlete-42").await;
    assert_eq!(missing.status, 404);
    let missing = client
        .get("/v1/motivation/today?athlete_id=athlete-42")
        .await;
    assert_eq!(missing.status, 404);

    let body = json!({
        "timezone": "Europe/Paris",
        "local_time": "07:30",
        "athlete": {"experience": "intermediate", "goal": "hypertrophy"},
        "context": {"streak_days": 12, "recent_prs": [{"exercise_id": "barbell-squat", "weight_kg": 100, "reps": 5}],
                    "last_workout_date": "2026-11-20"},
        "tone": "encouraging"
    });
    let stored = put(&client, "/v1/motivation/subscriptions/athlete-42", &body).await;
    assert_eq!(stored.status, 200, "{}", stored.body);
    assert_eq!(stored.first()["athlete_id"], "athlete-42");
    assert_eq!(stored.first()["timezone"], "Europe/Paris");
    let read = client.get("/v1/motivation/subscriptions/athlete-42").await;
    assert_eq!(read.first()["profile"]["context"]["streak_days"], 12);
    let personal = client
        .get("/v1/motivation/today?athlete_id=athlete-42")
        .await;
    assert_eq!(personal.status, 200, "{}", personal.body);
    let personal = personal.first().clone();
    assert_eq!(personal["state"], "ready", "{personal}");
    assert_eq!(personal["athlete_id"], "athlete-42");
    assert_eq!(personal["job"]["input"]["athlete"]["id"], "athlete-42");
    assert_ne!(personal["job"]["id"], first["job"]["id"]);
    let text = personal["message"]["message"].as_str().expect("message");
    assert!(text.contains("12"), "personalised with the streak: {text}");
    let bad = client.get("/v1/motivation/today?athlete=athlete-42").await;
    assert_eq!((bad.status, bad.error_field()), (400, "athlete"));

    let deleted = client
        .send(client.http.delete(format!(
            "{}/v1/motivation/subscriptions/athlete-42",
            client.base
        )))
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let gone = client.get("/v1/motivation/subscriptions/athlete-42").await;
    assert_eq!(gone.status, 404);
    service.stop().await;
}

/// Three schedulers run every simulated quarter hour over `from..to` (except during `gap`,
/// when none runs); returns the motivation jobs' local dates per target.
async fn simulate(
    store: &Arc<dyn JobStore>,
    schedulers: &[Scheduler],
    tenant: sparta_jobs::TenantId,
    from: &str,
    to: &str,
    gap: Option<(&str, &str)>,
) -> BTreeMap<String, Vec<String>> {
    let mut now: DateTime<Utc> = from.parse().expect("from");
    let to: DateTime<Utc> = to.parse().expect("to");
    let gap = gap.map(|(a, b)| {
        (
            a.parse::<DateTime<Utc>>().expect("gap"),
            b.parse::<DateTime<Utc>>().expect("gap"),
        )
    });
    while now < to {
        if !gap.is_some_and(|(a, b)| now >= a && now < b) {
            let passes = schedulers.iter().map(|s| s.pass(now));
            for pass in futures::future::join_all(passes).await {
                pass.expect("scheduler pass");
            }
        }
        now += TimeDelta::minutes(15);
    }
    let mut by_target: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut query = ListQuery {
        kind: Some(JobKind::Motivation),
        limit: 100,
        ..ListQuery::default()
    };
    loop {
        let page = store.list_jobs(Some(tenant), &query).await.expect("list");
        for job in &page {
            let meta = job.metadata.clone().expect("metadata");
            let who = meta["athlete_id"].as_str().unwrap_or("tenant").to_owned();
            let date = meta["local_date"].as_str().expect("date").to_owned();
            assert_eq!(
                job.input.to_value()["date"],
                date.as_str(),
                "the job prepares its day"
            );
            by_target.entry(who).or_default().push(date);
        }
        match page.last() {
            Some(last) if page.len() == 100 => query.after = Some(last.id),
            _ => break,
        }
    }
    for dates in by_target.values_mut() {
        dates.sort();
    }
    by_target
}

fn days(list: &[&str]) -> Vec<String> {
    list.iter().map(|d| (*d).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_schedulers_over_simulated_days_prepare_one_message_per_day() {
    let redis = redis_url();
    let settings = distributed_settings(&redis).await;
    // Three processes' worth of store and queue connections.
    let mut schedulers = Vec::new();
    let mut first_store = None;
    for _ in 0..3 {
        let backends = sparta::connect(&settings).await.expect("connect");
        first_store.get_or_insert_with(|| backends.store.clone());
        schedulers.push(Scheduler::new(
            backends.store.clone(),
            backends.queue.clone(),
            SchedulerConfig::default(),
        ));
    }
    let store = first_store.expect("store");
    let tenant = store
        .create_tenant(
            &TenantName::parse("acme").expect("name"),
            &sparta_jobs::ApiKey::generate().hash(),
            &sparta_jobs::WebhookSecret::generate(),
        )
        .await
        .expect("tenant");
    let subscribe = |id: &str, zone: &str, time: &str, from: &str| {
        MotivationSchedule::starting(
            tenant.id,
            ScheduleTarget::Athlete(AthleteKey::parse(id).expect("id")),
            zone.parse().expect("zone"),
            time.parse().expect("time"),
            json!({"context": {"streak_days": 4}}),
            from.parse().expect("from"),
        )
    };
    // Paris springs forward on 2026-03-29 (02:30 does not exist that day).
    store
        .put_motivation_schedule(
            &subscribe("paris", "Europe/Paris", "02:30", "2026-03-27T00:00:00Z"),
            true,
        )
        .await
        .expect("subscribe");
    let march = simulate(
        &store,
        &schedulers,
        tenant.id,
        "2026-03-27T00:00:00Z",
        "2026-03-31T12:00:00Z",
        None,
    )
    .await;
    assert_eq!(
        march["paris"],
        days(&[
            "2026-03-27",
            "2026-03-28",
            "2026-03-29",
            "2026-03-30",
            "2026-03-31"
        ])
    );
    // The tenant got its default schedule (06:00 UTC) on the first pass.
    assert_eq!(
        march["tenant"],
        days(&[
            "2026-03-27",
            "2026-03-28",
            "2026-03-29",
            "2026-03-30",
            "2026-03-31"
        ])
    );

    // New York falls back on 2026-11-01 (01:30 happens twice); every scheduler is down from
    // the 3rd 00:00 UTC to the 5th 12:00 UTC: on return, the 5th is prepared (once), the days
    // in between are not (a motivation message for a day already over has no reader).
    store
        .put_motivation_schedule(
            &subscribe("ny", "America/New_York", "01:30", "2026-10-30T00:00:00Z"),
            true,
        )
        .await
        .expect("subscribe");
    let november = simulate(
        &store,
        &schedulers,
        tenant.id,
        "2026-10-30T00:00:00Z",
        "2026-11-06T12:00:00Z",
        Some(("2026-11-03T00:00:00Z", "2026-11-05T12:00:00Z")),
    )
    .await;
    assert_eq!(
        november["ny"],
        days(&[
            "2026-10-29", // subscribed that evening (New York time): caught up at once
            "2026-10-30",
            "2026-10-31",
            "2026-11-01",
            "2026-11-02",
            "2026-11-05",
            "2026-11-06"
        ])
    );
    let total: usize = november.values().map(Vec::len).sum();
    let distinct: usize = november
        .values()
        .map(|d| {
            let mut d = d.clone();
            d.dedup();
            d.len()
        })
        .sum();
    report!(
        "scheduler: 3 schedulers, {} targets, {total} messages, duplicates {}",
        november.len(),
        total - distinct
    );
    assert_eq!(total, distinct, "no day prepared twice: {november:?}");
}
