//! Server-Sent Events of a job's status changes, through real HTTP.

use sparta::Roles;

use crate::harness::*;

/// Reads an SSE body until it ends, returning the event names in order.
async fn event_names(mut response: reqwest::Response) -> (Vec<String>, String) {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while let Some(chunk) = tokio::time::timeout_at(deadline, response.chunk())
        .await
        .expect("the stream ends after the terminal event")
        .expect("chunk")
    {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let names = text
        .lines()
        .filter_map(|line| {
            line.strip_prefix("event: ")
                .or_else(|| line.strip_prefix("event:"))
        })
        .map(|name| name.trim().to_owned())
        .collect();
    (names, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_status_changes_until_terminal() {
    let dir = TempDir::new();
    let settings = embedded_settings(&dir);
    let api = start(&settings, Roles::API).await;
    let key = create_tenant(&*api.backends().store, "acme").await;
    let other = create_tenant(&*api.backends().store, "other").await;
    let client = Client::new(&api, &key);
    let id = client.submit_ok(&nutrition(72.0)).await;

    let response = client
        .http
        .get(format!("{}/v1/jobs/{id}/events", client.base))
        .bearer_auth(&key)
        .send()
        .await
        .expect("events");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // No worker yet: the job waits as queued until one starts.
    let worker = start(&settings, Roles::WORKER).await;
    let (names, text) = event_names(response).await;
    assert_eq!(names.first().map(String::as_str), Some("queued"), "{text}");
    assert_eq!(
        names.last().map(String::as_str),
        Some("succeeded"),
        "{text}"
    );
    assert!(
        text.contains("protein_g_per_day"),
        "the terminal event carries the job: {text}"
    );

    // A finished job: the terminal state at once, then the end.
    let again = client
        .http
        .get(format!("{}/v1/jobs/{id}/events", client.base))
        .bearer_auth(&key)
        .send()
        .await
        .expect("events");
    let (names, _) = event_names(again).await;
    assert_eq!(names, vec!["succeeded".to_owned()]);

    let foreign = client
        .with_key(&other)
        .get(&format!("/v1/jobs/{id}/events"))
        .await;
    assert_eq!((foreign.status, foreign.error_code()), (404, "NOT_FOUND"));
    worker.stop().await;
    api.stop().await;
}
