//! A progress report's charts over real HTTP: each an SVG document with its headers, parsed as
//! XML; 409 until the report has succeeded, 404 for other kinds, unknown charts and other
//! tenants' jobs.

use sparta::Roles;

use crate::harness::*;

/// A raw GET (charts are not JSON).
async fn raw(client: &Client, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = client
        .http
        .get(format!("{}{path}", client.base))
        .bearer_auth(&client.key)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_succeeded_report_serves_its_three_charts_as_svg() {
    let dir = TempDir::new();
    let settings = embedded_settings(&dir);
    // The API alone first: the report stays queued.
    let api = start(&settings, Roles::API).await;
    let store = api.backends().store.clone();
    let key = create_tenant(&*store, "acme").await;
    let other = create_tenant(&*store, "globex").await;
    let client = Client::new(&api, &key);
    let id = client.submit_ok(&example("progress_report")).await;
    let early = client.get(&format!("/v1/jobs/{id}/charts/strength")).await;
    assert_eq!(early.status, 409, "{}", early.body);
    assert_eq!(early.body["errors"][0]["details"]["status"], "queued");

    let worker = start(&settings, Roles::WORKER).await;
    let job = client.wait_terminal(&id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let names: Vec<&str> = job["output"]["charts"]
        .as_array()
        .expect("charts")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["strength", "volume", "sessions"]);
    for name in names {
        let (status, headers, body) = raw(&client, &format!("/v1/jobs/{id}/charts/{name}")).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(headers["content-type"], "image/svg+xml; charset=utf-8");
        assert_eq!(
            headers["content-security-policy"],
            "default-src 'none'; style-src 'unsafe-inline'"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let doc = roxmltree::Document::parse(&body).expect("XML");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert!(!body.contains("<script"), "{name}");
        let texts: String = doc.descendants().filter_map(|n| n.text()).collect();
        assert!(
            texts.contains("Week of the period") || texts.contains("e1RM (kg)"),
            "{name}: {texts}"
        );
    }

    // Not a chart, not a report, not this tenant's.
    let unknown = client.get(&format!("/v1/jobs/{id}/charts/pie")).await;
    assert_eq!(
        (unknown.status, unknown.error_code()),
        (404, "NOT_FOUND"),
        "{}",
        unknown.body
    );
    let nutrition = client.submit_ok(&example("nutrition")).await;
    client.wait_terminal(&nutrition).await;
    let wrong_kind = client
        .get(&format!("/v1/jobs/{nutrition}/charts/strength"))
        .await;
    assert_eq!(wrong_kind.status, 404, "{}", wrong_kind.body);
    let stranger = client
        .with_key(&other)
        .get(&format!("/v1/jobs/{id}/charts/strength"))
        .await;
    assert_eq!(stranger.status, 404, "{}", stranger.body);
    let not_an_id = client.get("/v1/jobs/nope/charts/strength").await;
    assert_eq!(not_an_id.status, 404);

    worker.stop().await;
    api.stop().await;
}
