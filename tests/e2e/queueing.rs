//! Queue behaviour that must hold in both modes: backlogs, restarts, lost Redis data.

use futures::StreamExt as _;
use sparta::{Roles, Settings};

use crate::harness::*;

/// Counts a database's jobs in `status` (Postgres).
async fn count_pg(url: &str, status: &str) -> i64 {
    let pool = sqlx::PgPool::connect(url).await.expect("connect");
    let n = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE status = $1")
        .bind(status)
        .fetch_one(&pool)
        .await
        .expect("count");
    pool.close().await;
    n
}

/// Submits `n` nutrition jobs, `parallel` at a time, and returns their ids.
async fn submit_many(client: &Client, n: usize, parallel: usize) -> Vec<String> {
    futures::stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            async move { client.submit_ok(&nutrition(50.0 + (i % 100) as f64)).await }
        })
        .buffer_unordered(parallel)
        .collect()
        .await
}

/// Jobs accepted while no worker runs are all executed once a worker starts (embedded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_backlog_runs_when_a_worker_starts() {
    let dir = TempDir::new();
    let settings = embedded_settings(&dir);
    let api = start(&settings, Roles::API).await;
    let key = create_tenant(&*api.backends().store, "acme").await;
    let client = Client::new(&api, &key);
    let ids = submit_many(&client, 200, 8).await;
    api.stop().await;

    // A restart: the whole embedded service on the same file.
    let service = start(&settings, Roles::ALL).await;
    let client = Client::new(&service, &key);
    for id in &ids {
        assert_eq!(client.wait_terminal(id).await["status"], "succeeded");
    }
    service.stop().await;
}

/// 20,000 jobs accepted while no worker runs all drain once two workers start (distributed).
/// apalis-redis 1.0 breaks every worker past ~8,000 due tasks; our stream queue must not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_backlog_of_20000_drains_with_two_workers() {
    const JOBS: usize = 20_000;
    let settings = distributed_settings(&redis_url()).await;
    let api = start(&settings, Roles::API).await;
    let key = create_tenant(&*api.backends().store, "acme").await;
    let client = Client::new(&api, &key);
    let started = std::time::Instant::now();
    let ids = submit_many(&client, JOBS, 32).await;
    assert_eq!(ids.len(), JOBS);
    report!("submitted {JOBS} jobs in {:?}", started.elapsed());

    let mut workers = Vec::new();
    for _ in 0..2 {
        let mut s: Settings = settings.clone();
        s.worker.concurrency = 32;
        workers.push(start(&s, Roles::WORKER).await);
    }
    let drained = std::time::Instant::now();
    eventually("the backlog to drain", || async {
        count_pg(&settings.database_url, "succeeded").await == JOBS as i64
    })
    .await;
    report!(
        "drained {JOBS} jobs with 2 workers in {:?}",
        drained.elapsed()
    );
    assert_eq!(count_pg(&settings.database_url, "failed").await, 0);
    for worker in workers {
        worker.stop().await;
    }
    api.stop().await;
}

/// Redis killed and restarted (losing everything) in the middle of a run: every job accepted
/// before, during and after the outage ends succeeded, and the workers survive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_mid_run_loses_nothing() {
    let mut redis = RedisProcess::start().await;
    let settings = distributed_settings(&redis.url()).await;
    let api = start(&settings, Roles::API).await;
    let worker = start(&settings, Roles::WORKER).await;
    let key = create_tenant(&*api.backends().store, "acme").await;
    let client = Client::new(&api, &key);

    let mut ids = submit_many(&client, 300, 8).await;
    redis.kill();
    // Redis is down: submissions are still accepted (the row is the truth).
    ids.extend(submit_many(&client, 50, 4).await);
    redis.restart().await;
    ids.extend(submit_many(&client, 100, 8).await);

    for id in &ids {
        assert_eq!(
            client.wait_terminal(id).await["status"],
            "succeeded",
            "job {id}"
        );
    }
    assert_eq!(
        count_pg(&settings.database_url, "succeeded").await,
        ids.len() as i64
    );
    worker.stop().await;
    api.stop().await;
}

/// The group's consumers, by name.
async fn consumer_names(settings: &Settings) -> Vec<String> {
    let redis = redis::Client::open(redis_url()).expect("redis url");
    let mut conn = redis
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let stream = format!("{{{}}}:jobs", settings.queue.namespace);
    let reply: redis::streams::StreamInfoConsumersReply = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(&stream)
        .arg("workers")
        .query_async(&mut conn)
        .await
        .expect("xinfo");
    reply.consumers.into_iter().map(|c| c.name).collect()
}

/// A stopped worker's consumers leave the group once they hold nothing and have not been seen
/// for `queue.orphan_after_secs` (the reconciler of a running worker deletes them), and jobs
/// keep running while live consumers are pruned and made again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_workers_consumers_leave_the_group() {
    let mut settings = distributed_settings(&redis_url()).await;
    settings.queue.orphan_after_secs = 1;
    let api = start(&settings, Roles::API).await;
    let key = create_tenant(&*api.backends().store, "acme").await;
    let client = Client::new(&api, &key);

    let first = start(&settings, Roles::WORKER).await;
    let id = client.submit_ok(&nutrition(60.0)).await;
    assert_eq!(client.wait_terminal(&id).await["status"], "succeeded");
    first.stop().await;
    let stopped = consumer_names(&settings).await;
    assert!(!stopped.is_empty(), "the first worker read under a name");

    let second = start(&settings, Roles::WORKER).await;
    eventually(
        "the stopped worker's consumers to leave the group",
        || async {
            let names = consumer_names(&settings).await;
            stopped.iter().all(|name| !names.contains(name))
        },
    )
    .await;
    let ids = submit_many(&client, 200, 8).await;
    for id in &ids {
        assert_eq!(client.wait_terminal(id).await["status"], "succeeded");
    }
    assert_eq!(
        count_pg(&settings.database_url, "succeeded").await,
        ids.len() as i64 + 1
    );
    second.stop().await;
    api.stop().await;
}

/// A restarted worker registers under a new name: its old consumer is never reused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_workers_never_reuse_a_name() {
    let settings = distributed_settings(&redis_url()).await;
    let api = start(&settings, Roles::API).await;
    let key = create_tenant(&*api.backends().store, "acme").await;
    let client = Client::new(&api, &key);
    for round in 0..3 {
        let worker = start(&settings, Roles::WORKER).await;
        let id = client.submit_ok(&nutrition(60.0 + f64::from(round))).await;
        assert_eq!(client.wait_terminal(&id).await["status"], "succeeded");
        worker.stop().await;
        assert_eq!(
            consumer_names(&settings).await.len(),
            round as usize + 1,
            "one new consumer per worker start"
        );
    }
    api.stop().await;
}
