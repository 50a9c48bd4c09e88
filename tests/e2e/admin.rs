//! The operator's controls over HTTP, with two API processes on one Postgres (in-process
//! services with their own caches): tenants and keys created, a key revoked and a tenant
//! disabled on one process hold on the other at its next request; tenant keys never open the
//! operator's routes.

use serde_json::json;
use sparta::Roles;
use sparta_jobs::OperatorToken;
use tokio::time::Instant;

use crate::harness::*;

/// Polls `GET /v1/jobs` with `client` until it answers `status`; the time it took.
async fn until_status(client: &Client, status: u16) -> std::time::Duration {
    let started = Instant::now();
    loop {
        if client.get("/v1/jobs").await.status == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < DEADLINE,
            "never answered {status} on the other process"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_manage_tenants_and_keys_and_changes_hold_on_every_process() {
    let token = OperatorToken::generate();
    let mut settings = distributed_settings(&redis_url()).await;
    settings.admin.token_hash = Some(token.hash().as_str().to_owned());
    let a = start(&settings, Roles::API).await;
    let b = start(&settings, Roles::API).await;
    let operator = Client::new(&a, token.reveal());

    // A tenant, with its first key and webhook secret shown once.
    let created = operator
        .post_json("/v1/admin/tenants", &json!({"name": "acme"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let tenant_id = created.first()["tenant"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let first_key = created.first()["api_key"].as_str().expect("key").to_owned();
    assert!(
        created.first()["webhook_secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("whsec_")),
        "{}",
        created.body
    );
    let taken = operator
        .post_json("/v1/admin/tenants", &json!({"name": "acme"}))
        .await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    let bad = operator
        .post_json("/v1/admin/tenants", &json!({"name": "no spaces"}))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.body["errors"][0]["field"], "name");

    // Tenant keys and no token never open the operator's routes.
    let tenant_on_a = Client::new(&a, &first_key);
    assert_eq!(tenant_on_a.get("/v1/admin/tenants").await.status, 403);
    assert_eq!(
        Client::new(&a, "none")
            .get("/v1/admin/tenants")
            .await
            .status,
        401
    );
    assert_eq!(tenant_on_a.get("/v1/jobs").await.status, 200);

    // A second key, named; listed without the key itself.
    let keys = format!("/v1/admin/tenants/{tenant_id}/keys");
    let ci = operator.post_json(&keys, &json!({"name": "ci"})).await;
    assert_eq!(ci.status, 201, "{}", ci.body);
    let ci_key = ci.first()["key"].as_str().expect("key").to_owned();
    let ci_id = ci.first()["id"].as_str().expect("id").to_owned();
    let past = operator
        .post_json(
            &keys,
            &json!({"name": "old", "expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    // Well-formed but already past: a business rule.
    assert_eq!(past.status, 422, "{}", past.body);
    assert_eq!(past.error_code(), "BUSINESS_RULE_VIOLATION");
    assert_eq!(past.body["errors"][0]["field"], "expires_at");
    let listed = operator.get(&keys).await;
    let names: Vec<&str> = listed.body["data"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, vec!["default", "ci"]);
    assert!(
        listed.body["data"][1].get("key").is_none(),
        "{}",
        listed.body
    );

    // Process B trusts (and caches) the key; it is revoked on A; B refuses it.
    let ci_on_b = Client::new(&b, &ci_key);
    assert_eq!(ci_on_b.get("/v1/jobs").await.status, 200);
    let revoked = operator
        .post_json(&format!("{keys}/{ci_id}/revoke"), &json!({}))
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert!(revoked.first()["revoked_at"].is_string());
    let revocation_took = until_status(&ci_on_b, 401).await;
    assert!(
        revocation_took < std::time::Duration::from_secs(1),
        "{revocation_took:?}"
    );
    let listed = operator.get(&keys).await;
    assert!(listed.body["data"][1]["revoked_at"].is_string());
    assert!(
        listed.body["data"][0]["last_used_at"].is_string(),
        "{}",
        listed.body
    );

    // Disabled on A: B answers 403 to its other key; enabled again: 200.
    let first_on_b = Client::new(&b, &first_key);
    assert_eq!(first_on_b.get("/v1/jobs").await.status, 200);
    let disabled = operator
        .post_json(
            &format!("/v1/admin/tenants/{tenant_id}/disable"),
            &json!({}),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    let disable_took = until_status(&first_on_b, 403).await;
    assert!(
        disable_took < std::time::Duration::from_secs(1),
        "{disable_took:?}"
    );
    let listed = operator.get("/v1/admin/tenants").await;
    assert!(listed.first()["disabled_at"].is_string(), "{}", listed.body);
    let enabled = operator
        .post_json(&format!("/v1/admin/tenants/{tenant_id}/enable"), &json!({}))
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    until_status(&first_on_b, 200).await;

    // Unknown ids are 404.
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("/v1/admin/tenants/{unknown}/keys"),
        "/v1/admin/tenants/not-a-uuid/keys".to_owned(),
    ] {
        assert_eq!(operator.get(&path).await.status, 404, "{path}");
    }
    let other_revoke = operator
        .post_json(&format!("{keys}/{unknown}/revoke"), &json!({}))
        .await;
    assert_eq!(other_revoke.status, 404, "{}", other_revoke.body);
    report!(
        "admin: a revocation on one API process held on the other after {revocation_took:?}, \
         a disabled tenant after {disable_took:?}"
    );
    a.stop().await;
    b.stop().await;
}

/// The operator's view of jobs across tenants: listed with filters (`tenant_id` among them),
/// shown, and failed ones re-run one by one or all at once; the jobs then succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_list_show_and_rerun_failed_jobs_across_tenants() {
    let token = OperatorToken::generate();
    let dir = TempDir::new();
    let mut settings = embedded_settings(&dir);
    settings.admin.token_hash = Some(token.hash().as_str().to_owned());
    let api = start(&settings, Roles::API).await;
    let store = api.backends().store.clone();
    let operator = Client::new(&api, token.reveal());
    let mut failed = Vec::new();
    for name in ["acme", "gym"] {
        let key = create_tenant(&*store, name).await;
        let client = Client::new(&api, &key);
        for kg in [70.0, 71.0] {
            let id = client.submit_ok(&nutrition(kg)).await;
            // Each job fails, as a worker records a permanent failure.
            fail_job(&*store, &id).await;
            failed.push((name, id));
        }
    }
    let tenants = operator.get("/v1/admin/tenants").await;
    let acme_id = tenants.body["data"]
        .as_array()
        .expect("tenants")
        .iter()
        .find(|t| t["name"] == "acme")
        .and_then(|t| t["id"].as_str())
        .expect("acme")
        .to_owned();

    let all = operator.get("/v1/admin/jobs?status=failed").await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.body["data"].as_array().map(Vec::len), Some(4));
    let acme = operator
        .get(&format!("/v1/admin/jobs?status=failed&tenant_id={acme_id}"))
        .await;
    assert_eq!(
        acme.body["data"].as_array().map(Vec::len),
        Some(2),
        "{}",
        acme.body
    );
    let bad = operator.get("/v1/admin/jobs?tenant_id=nope").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.body["errors"][0]["field"], "tenant_id");
    let shown = operator
        .get(&format!("/v1/admin/jobs/{}", failed[0].1))
        .await;
    assert_eq!(shown.first()["status"], "failed", "{}", shown.body);
    assert_eq!(
        shown.first()["tenant_id"],
        acme_id.as_str(),
        "{}",
        shown.body
    );
    assert!(
        acme.body["data"]
            .as_array()
            .is_some_and(|jobs| jobs.iter().all(|j| j["tenant_id"] == acme_id.as_str())),
        "{}",
        acme.body
    );

    // One by one, then all that are left; a queued job cannot be re-run.
    let one = operator
        .post_json(&format!("/v1/admin/jobs/{}/retry", failed[0].1), &json!({}))
        .await;
    assert_eq!(one.status, 202, "{}", one.body);
    let again = operator
        .post_json(&format!("/v1/admin/jobs/{}/retry", failed[0].1), &json!({}))
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    let rest = operator
        .post_json("/v1/admin/jobs/retry-failed", &json!({"kind": "nutrition"}))
        .await;
    assert_eq!(rest.status, 200, "{}", rest.body);
    assert_eq!(rest.first()["retried"].as_array().map(Vec::len), Some(3));
    assert_eq!(rest.first()["more"], false);
    let worker = start(&settings, Roles::WORKER).await;
    let left = operator.get("/v1/admin/jobs?status=failed").await;
    assert_eq!(left.body["data"], json!([]), "{}", left.body);
    for (name, id) in &failed {
        let job = operator.get(&format!("/v1/admin/jobs/{id}")).await;
        let mut status = job.first()["status"].as_str().unwrap_or("").to_owned();
        let deadline = Instant::now() + DEADLINE;
        while status != "succeeded" {
            assert!(
                Instant::now() < deadline,
                "{name}'s job {id} stays {status}"
            );
            let job = operator.get(&format!("/v1/admin/jobs/{id}")).await;
            status = job.first()["status"].as_str().unwrap_or("").to_owned();
        }
    }
    // A tenant's key never opens them.
    let key = create_tenant(&*store, "third").await;
    assert_eq!(
        Client::new(&api, &key).get("/v1/admin/jobs").await.status,
        403
    );
    worker.stop().await;
    api.stop().await;
}
