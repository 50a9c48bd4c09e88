//! LLM budgets over real HTTP: 200 concurrent jobs against a priced local model with a budget
//! of exactly N jobs' worst case. At no moment is more than the budget reserved and spent
//! (read from the store while the jobs run, and after every job), every job succeeds, the jobs
//! that did not fit are answered by the engine with `budget_exhausted` in their trace, and the
//! operator's and the tenant's views agree with the store.

use std::time::Duration;

use axum::Json;
use axum::response::Response;
use serde_json::{Value, json};
use sparta::{KindSettings, ModelSettings, Roles};
use sparta_jobs::OperatorToken;

use crate::harness::*;

/// The priced model: the engine's answer after 100 ms (so jobs overlap), 400 + 150 tokens.
async fn slow_good(request: Json<Value>) -> Response {
    tokio::time::sleep(Duration::from_millis(100)).await;
    crate::metrics::llm(request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_jobs_never_overspend_and_the_surplus_is_answered_by_the_engine() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let llm = listener.local_addr().expect("addr");
    let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(slow_good));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let operator_token = OperatorToken::generate();
    let dir = TempDir::new();
    let mut settings = embedded_settings(&dir);
    settings.admin.token_hash = Some(operator_token.hash().as_str().to_owned());
    settings.worker.concurrency = 32;
    settings.ai.models.insert(
        "good".into(),
        ModelSettings {
            provider: "openai".into(),
            base_url: format!("http://{llm}/v1"),
            api_key_env: None,
            model: "good".into(),
            mode: sparta_ai::OutputMode::JsonSchema,
            timeout_ms: 10_000,
            max_tokens: Some(300),
            temperature: None,
            price_input_per_mtok: 1.0,
            price_output_per_mtok: 2.0,
        },
    );
    settings.ai.kinds.insert(
        "nutrition".into(),
        KindSettings {
            chain: Some(vec!["good".into(), "builtin".into()]),
            ..KindSettings::default()
        },
    );
    let service = start(&settings, Roles::ALL).await;
    let store = service.backends().store.clone();
    let key = create_tenant(&*store, "acme").await;
    let client = Client::new(&service, &key);
    let operator = Client::new(&service, operator_token.reveal());
    let tenant = store.list_tenants().await.expect("tenants")[0].id;

    // One job's worst case, read from the store while it runs (a budget of a dollar fits it).
    let put = |monthly: f64| {
        let operator = &operator;
        async move {
            operator
                .send(
                    operator
                        .http
                        .put(format!(
                            "{}/v1/admin/tenants/{tenant}/budget",
                            operator.base
                        ))
                        .json(&json!({"monthly_usd": monthly})),
                )
                .await
        }
    };
    assert_eq!(put(1.0).await.status, 200);
    let probe = client.submit_ok(&nutrition(70.0)).await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let worst = loop {
        let reserved = store
            .usage(tenant, chrono::Utc::now())
            .await
            .expect("usage")
            .used
            .month_reserved;
        if reserved > 0 {
            break reserved;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first job never reserved"
        );
        tokio::task::yield_now().await;
    };
    assert_eq!(client.wait_terminal(&probe).await["provider"], "openai");
    let spent_before = store
        .usage(tenant, chrono::Utc::now())
        .await
        .expect("usage")
        .used
        .month_spent;
    assert!(
        spent_before > 0 && spent_before < worst,
        "{spent_before} of {worst}"
    );

    // Exactly 20 more worst cases.
    let budget = spent_before + 20 * worst;
    let set = put(budget as f64 / 1e6).await;
    assert_eq!(set.status, 200, "{}", set.body);
    let bodies: Vec<Value> = (0..200)
        .map(|n| nutrition(60.0 + f64::from(n % 50)))
        .collect();
    let ids: Vec<String> =
        futures::future::join_all(bodies.iter().map(|body| client.submit_ok(body))).await;
    let mut by_model = (0, 0);
    for id in &ids {
        let used = store
            .usage(tenant, chrono::Utc::now())
            .await
            .expect("usage")
            .used;
        assert!(
            used.month_spent + used.month_reserved <= budget,
            "{used:?} over {budget}"
        );
        let job = client.wait_terminal(id).await;
        assert_eq!(job["status"], "succeeded", "{job}");
        if job["provider"] == "openai" {
            by_model.0 += 1;
        } else {
            assert_eq!(job["provider"], "builtin");
            let trace = job["trace"].to_string();
            assert!(trace.contains("budget_exhausted"), "{trace}");
            by_model.1 += 1;
        }
    }
    let used = store
        .usage(tenant, chrono::Utc::now())
        .await
        .expect("usage")
        .used;
    assert!(used.month_spent <= budget, "{used:?}");
    assert_eq!(used.month_reserved, 0, "every reservation settled");
    assert!(by_model.0 >= 20 && by_model.1 > 0, "{by_model:?}");
    report_line(format_args!(
        "budgets: worst case {worst} µ$, budget {budget} µ$, 200 jobs: {} by the priced model, {} by the engine (budget_exhausted), spent {} µ$",
        by_model.0, by_model.1, used.month_spent
    ));

    // The tenant's view and the operator's agree with the store.
    let mine = client.get("/v1/usage").await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    let shown = mine.first()["month"]["spent_usd"].as_f64().expect("spent");
    assert!(
        (shown - used.month_spent as f64 / 1e6).abs() < 1e-9,
        "{}",
        mine.body
    );
    assert_eq!(mine.first()["by_day"][0]["model"], "good");
    let theirs = operator
        .get(&format!("/v1/admin/tenants/{tenant}/usage"))
        .await;
    assert_eq!(theirs.first()["month"], mine.first()["month"]);
    assert_eq!(
        client
            .get(&format!("/v1/admin/tenants/{tenant}/usage"))
            .await
            .status,
        403
    );
}
