//! The console's server side over real HTTP (the pages themselves are driven in Chromium by
//! `.ci/console`): sign-in with its cookie, pages that stay HTML on errors, sessions that cannot
//! be forged, stretched or replayed after sign-out, and forms refused without their CSRF token.

use sparta::Roles;
use sparta_jobs::OperatorToken;

use crate::harness::*;

/// A form body (the values here are tokens and hex: nothing to escape but the separators).
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.replace('%', "%25")
                    .replace('&', "%26")
                    .replace('=', "%3D")
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// An HTTP client that follows no redirect and keeps no cookie (each step says what it sends).
fn browserless() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A signed-in console session over real HTTP.
pub struct Console {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

/// Signs in to the console at `base` with the operator's `token`.
pub async fn signed_in(base: &str, token: &str) -> Console {
    let http = browserless();
    let signed = http
        .post(format!("{base}/console/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("token", token)]))
        .send()
        .await
        .expect("post");
    assert_eq!(signed.status(), 303);
    let cookie = signed.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("a cookie")
        .to_owned();
    Console {
        http,
        base: base.to_owned(),
        cookie,
    }
}

impl Console {
    /// A page's HTML (it must answer 200).
    pub async fn page(&self, path: &str) -> String {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200, "{path}");
        r.text().await.expect("body")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sessions_and_csrf() {
    let token = OperatorToken::generate();
    let dir = TempDir::new();
    let mut settings = embedded_settings(&dir);
    settings.admin.token_hash = Some(token.hash().as_str().to_owned());
    let service = start(&settings, Roles::ALL).await;
    let key = create_tenant(&*service.backends().store, "acme").await;
    let client = Client::new(&service, &key);
    let id = client.submit_ok(&example("nutrition")).await;
    client.wait_terminal(&id).await;
    let http = browserless();
    let base = client.base.clone();

    // Signed out: every page sends to the sign-in page.
    for path in ["/console", "/console/jobs", &format!("/console/jobs/{id}")] {
        let r = http.get(format!("{base}{path}")).send().await.expect("get");
        assert_eq!(r.status(), 303, "{path}");
        let to = r.headers()["location"].to_str().expect("location");
        assert!(
            to == "/console/login" || to == "/console/overview",
            "{path} → {to}"
        );
    }

    // A wrong token: 401, still an HTML page (not the API's JSON envelope).
    let wrong = http
        .post(format!("{base}/console/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("token", "sparta_op_nope")]))
        .send()
        .await
        .expect("post");
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        wrong.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert!(wrong.text().await.unwrap().contains("not the operator"));

    // The operator's token: a session cookie with its attributes (Secure behind TLS).
    let signed = http
        .post(format!("{base}/console/login"))
        .header("x-forwarded-proto", "https")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("token", token.reveal())]))
        .send()
        .await
        .expect("post");
    assert_eq!(signed.status(), 303);
    let set_cookie = signed.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        "Secure",
        "Max-Age=28800",
    ] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert!(
        !cookie.contains(token.reveal()),
        "the token is never in the cookie"
    );

    let page = |path: String, cookie: String| {
        let http = http.clone();
        let base = base.clone();
        async move {
            http.get(format!("{base}{path}"))
                .header("cookie", cookie)
                .send()
                .await
                .expect("get")
        }
    };
    let jobs = page("/console/jobs?status=succeeded".into(), cookie.clone()).await;
    assert_eq!(jobs.status(), 200);
    let html = jobs.text().await.unwrap();
    assert!(html.contains(&id[..8]) && html.contains("acme"), "{html}");
    let job = page(format!("/console/jobs/{id}"), cookie.clone()).await;
    assert_eq!(job.status(), 200);
    let html = job.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a csrf field")
        .to_owned();
    // The overview, and its live part as Server-Sent Events (the first reading at once).
    let overview = page("/console/overview".into(), cookie.clone()).await;
    assert_eq!(overview.status(), 200);
    assert!(
        overview
            .text()
            .await
            .unwrap()
            .contains("waiting and running now")
    );
    let mut stream = page("/console/overview/stream".into(), cookie.clone()).await;
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut first = String::new();
    while !first.contains("\n\n") {
        let chunk = stream.chunk().await.expect("chunk").expect("more");
        first.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(first.starts_with("event: live\ndata: "), "{first}");
    assert!(
        first.contains("All kinds") && first.contains("builtin"),
        "{first}"
    );
    drop(stream);

    // A bad filter is said on the page, not answered with JSON.
    let bad = page("/console/jobs?status=nope".into(), cookie.clone()).await;
    assert_eq!(bad.status(), 200);
    assert!(bad.text().await.unwrap().contains("role=\"alert\""));
    let missing = page(
        "/console/jobs/01a24a37-0000-7000-8000-000000000000".into(),
        cookie.clone(),
    )
    .await;
    assert_eq!(missing.status(), 404);
    assert!(
        missing.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    // Forged, stretched or tampered sessions are sent to sign in.
    let value = cookie.split_once('=').unwrap().1.to_owned();
    let (expiry, tag) = value.strip_prefix("v1.").unwrap().split_once('.').unwrap();
    let stretched = format!(
        "sparta_console=v1.{}.{tag}",
        expiry.parse::<i64>().unwrap() + 3600
    );
    let forged = format!("sparta_console=v1.{expiry}.{}", "0".repeat(64));
    for bad in [stretched, forged, "sparta_console=v1.1.00".to_owned()] {
        assert_eq!(
            page("/console/jobs".into(), bad.clone()).await.status(),
            303,
            "{bad}"
        );
    }

    // A form without the session's CSRF token is refused and changes nothing.
    let post = |path: String, body: Vec<(&'static str, String)>| {
        let http = http.clone();
        let base = base.clone();
        let cookie = cookie.clone();
        async move {
            http.post(format!("{base}{path}"))
                .header("cookie", cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(
                    &body
                        .iter()
                        .map(|(k, v)| (*k, v.as_str()))
                        .collect::<Vec<_>>(),
                ))
                .send()
                .await
                .expect("post")
        }
    };
    let refused = post(
        format!("/console/jobs/{id}/cancel"),
        vec![("csrf", "00".repeat(32))],
    )
    .await;
    assert_eq!(refused.status(), 403);
    let refused = post(format!("/console/jobs/{id}/cancel"), vec![]).await;
    assert_eq!(refused.status(), 403);
    // With it: a succeeded job cannot be cancelled (409, said on the page).
    let conflict = post(
        format!("/console/jobs/{id}/cancel"),
        vec![("csrf", csrf.clone())],
    )
    .await;
    assert_eq!(conflict.status(), 409);
    assert_eq!(
        client.get(&format!("/v1/jobs/{id}")).await.first()["status"],
        "succeeded"
    );

    // A model's name has the API's bound here too (1 to 100 printable characters).
    let long = "m".repeat(101);
    let refused = post(
        format!("/console/providers/{long}"),
        vec![("csrf", csrf.clone()), ("state", "closed".to_owned())],
    )
    .await;
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("1 to 100 printable characters")
    );

    // Guessing tokens draws on the address's failed-authentication bucket (20, then 5 a second).
    let mut statuses = Vec::new();
    for _ in 0..25 {
        let r = http
            .post(format!("{base}/console/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("token", "op_sparta_guess")]))
            .send()
            .await
            .expect("post");
        statuses.push(r.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );

    // Signing out clears the cookie.
    let out = post("/console/logout".into(), vec![("csrf", csrf)]).await;
    assert_eq!(out.status(), 303);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    service.stop().await;
}
