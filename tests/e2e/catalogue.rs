//! The exercise catalogue over real HTTP: search, filters, pages, vocabularies, caching by
//! `ETag`, and every bad parameter refused at its name.

use std::collections::HashSet;

use serde_json::Value;
use sparta::Roles;

use crate::harness::*;

fn ids(reply: &Reply) -> Vec<String> {
    reply.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn the_catalogue_is_searchable_filterable_paged_and_cacheable() {
    let dir = TempDir::new();
    let service = start(&embedded_settings(&dir), Roles::ALL).await;
    let key = create_tenant(&*service.backends().store, "acme").await;
    let client = Client::new(&service, &key);

    // Every exercise exactly once across the pages, in id order.
    let mut seen = Vec::new();
    let mut path = "/v1/exercises?limit=200".to_owned();
    loop {
        let page = client.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body["data"].as_array().expect("data").len() <= 200);
        seen.extend(ids(&page));
        match page.body["meta"]["page"]["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/exercises?limit=200&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 873);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 873);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, seen);

    // Typos forgiven, the best match first.
    let found = client.get("/v1/exercises?q=barbel%20sqat&limit=5").await;
    assert_eq!(ids(&found)[0], "barbell-squat", "{}", found.body);

    // Filters combine; the equipment is the athlete's (repeated), `body only` included.
    let filtered = client
        .get("/v1/exercises?muscle=chest&equipment=dumbbell&equipment=body%20only&level=beginner&limit=200")
        .await;
    assert_eq!(filtered.status, 200);
    let data = filtered.body["data"].as_array().expect("data");
    assert!(!data.is_empty());
    for exercise in data {
        let works = |list: &Value| list.as_array().unwrap().iter().any(|m| m == "chest");
        assert!(works(&exercise["primary_muscles"]) || works(&exercise["secondary_muscles"]));
        assert!(
            ["dumbbell", "body only"]
                .contains(&exercise["equipment"].as_str().unwrap_or("body only")),
            "{exercise}"
        );
        assert_eq!(exercise["level"], "beginner");
    }

    // One exercise, and an unknown id with the closest ones.
    let squat = client.get("/v1/exercises/barbell-squat").await;
    assert_eq!(squat.status, 200);
    assert_eq!(squat.first()["name"], "Barbell Squat");
    let unknown = client.get("/v1/exercises/barbel-squat").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.error_code(), "NOT_FOUND");
    assert!(
        unknown.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("barbell-squat")
    );

    // The vocabularies.
    let muscles = client.get("/v1/muscles").await;
    assert_eq!(muscles.body["data"].as_array().unwrap().len(), 17);
    let chest = muscles.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "chest")
        .unwrap();
    assert!(chest["exercises"].as_u64().unwrap() >= chest["primary_exercises"].as_u64().unwrap());
    let equipment = client.get("/v1/equipment").await;
    let counts: u64 = equipment.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["exercises"].as_u64().unwrap())
        .sum();
    assert_eq!(
        counts, 873,
        "every exercise needs exactly one kind of equipment"
    );

    // Caching: the same weak tag on every catalogue answer; a request holding it gets 304.
    let tag = squat.headers["etag"].to_str().unwrap().to_owned();
    assert!(tag.starts_with("W/\""), "{tag}");
    assert_eq!(muscles.headers["etag"], tag.as_str());
    assert!(
        squat.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    for path in [
        "/v1/exercises/barbell-squat",
        "/v1/exercises?q=squat",
        "/v1/muscles",
        "/v1/equipment",
    ] {
        let response = client
            .http
            .get(format!("{}{path}", client.base))
            .bearer_auth(&key)
            .header("if-none-match", format!("\"other\", {tag}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 304, "{path}");
        assert_eq!(response.headers()["etag"], tag.as_str());
        assert!(response.bytes().await.unwrap().is_empty());
    }
    let stale = client
        .send(
            client
                .http
                .get(format!("{}/v1/muscles", client.base))
                .header("if-none-match", "W/\"stale\""),
        )
        .await;
    assert_eq!(stale.status, 200);

    // Bad parameters: 400 at the parameter's name; no key: 401.
    for (path, field) in [
        ("/v1/exercises?muscle=wings", "muscle"),
        ("/v1/exercises?equipment=trampoline", "equipment"),
        ("/v1/exercises?level=beginner&level=expert", "level"),
        ("/v1/exercises?q=", "q"),
        ("/v1/exercises?limit=0", "limit"),
        ("/v1/exercises?limit=201", "limit"),
        ("/v1/exercises?cursor=%21%21", "cursor"),
        ("/v1/exercises?category=cardio&colour=red", "colour"),
    ] {
        let reply = client.get(path).await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert_eq!(reply.error_code(), "VALIDATION_ERROR");
        assert_eq!(reply.error_field(), field, "{path}: {}", reply.body);
    }
    assert_eq!(
        client
            .with_key("sk_sparta_nope")
            .get("/v1/muscles")
            .await
            .status,
        401
    );
}
