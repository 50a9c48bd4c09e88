//! Every request body of `examples/requests/` (the API contract) whose kind is served is
//! accepted as it is and ends `succeeded` with the builtin engine, in both run modes.

use serde_json::Value;
use sparta::{Roles, Settings};

use crate::harness::*;

async fn examples_succeed(settings: &Settings) {
    let service = start(settings, Roles::ALL).await;
    let key = create_tenant(&*service.backends().store, "acme").await;
    let client = Client::new(&service, &key);
    let kinds: Vec<String> = client.get("/v1/kinds").await.body["data"]
        .as_array()
        .expect("kinds")
        .iter()
        .map(|k| k["kind"].as_str().expect("kind name").to_owned())
        .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/requests");
    let mut ran = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("examples folder") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let body: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
        let kind = body["kind"].as_str().expect("kind").to_owned();
        if !kinds.contains(&kind) {
            continue;
        }
        let id = client.submit_ok(&body).await;
        let job = client.wait_terminal(&id).await;
        assert_eq!(job["status"], "succeeded", "{}: {job}", path.display());
        assert!(job["output"].is_object());
        ran.push(kind);
    }
    assert!(ran.contains(&"nutrition".to_owned()), "ran {ran:?}");
    assert_eq!(
        ran.len(),
        kinds.len(),
        "every served kind has an example: ran {ran:?}, served {kinds:?}"
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_examples_succeed() {
    let dir = TempDir::new();
    examples_succeed(&embedded_settings(&dir)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_examples_succeed() {
    examples_succeed(&distributed_settings(&redis_url()).await).await;
}
