//! Athlete tokens over real HTTP: JWTs signed here with OpenSSL (an implementation independent
//! of the `jsonwebtoken` crate that verifies them), keys published by a JWKS server of the test.
//! A token acts as its tenant scoped to the athlete in `sub`: it submits for that athlete only,
//! and lists, reads, cancels and streams only that athlete's jobs; every broken token is a 401
//! with a reason code; tenant-only routes refuse it; the operator registers and removes
//! verifiers; keys rotate through an unknown `kid`.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use serde_json::{Value, json};
use sparta::Roles;
use sparta_jobs::OperatorToken;

use crate::harness::*;

const ISSUER: &str = "https://id.acme.test/";
const AUDIENCE: &str = "sparta";
const HS_SECRET: &str = "globex-shared-secret-of-at-least-32-bytes";

/// A signing key of the test's own "identity provider".
enum Key {
    Rsa(PKey<Private>),
    Ec(EcKey<Private>),
    Hmac(Vec<u8>),
}

impl Key {
    fn rsa() -> Self {
        Key::Rsa(PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey"))
    }

    fn ec() -> Self {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("curve");
        Key::Ec(EcKey::generate(&group).expect("ec"))
    }

    fn alg(&self) -> &'static str {
        match self {
            Key::Rsa(_) => "RS256",
            Key::Ec(_) => "ES256",
            Key::Hmac(_) => "HS256",
        }
    }

    /// The public key as a JWK with this `kid`.
    fn jwk(&self, kid: &str) -> Value {
        let b64 = |bytes: Vec<u8>| URL_SAFE_NO_PAD.encode(bytes);
        match self {
            Key::Rsa(key) => {
                let rsa = key.rsa().expect("rsa");
                json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                       "n": b64(rsa.n().to_vec()), "e": b64(rsa.e().to_vec())})
            }
            Key::Ec(key) => {
                let group = key.group();
                let mut ctx = BigNumContext::new().expect("ctx");
                let (mut x, mut y) = (
                    openssl::bn::BigNum::new().expect("x"),
                    openssl::bn::BigNum::new().expect("y"),
                );
                key.public_key()
                    .affine_coordinates(group, &mut x, &mut y, &mut ctx)
                    .expect("coordinates");
                json!({"kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256",
                       "x": b64(x.to_vec_padded(32).expect("x")), "y": b64(y.to_vec_padded(32).expect("y"))})
            }
            Key::Hmac(_) => unreachable!("a shared secret is not published"),
        }
    }

    /// A compact JWS of `claims` with this header (`alg` from the key unless given).
    fn sign(&self, header: Value, claims: &Value) -> String {
        let mut header = header;
        if header.get("alg").is_none() {
            header["alg"] = json!(self.alg());
        }
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = match self {
            Key::Rsa(key) => {
                let mut signer = Signer::new(MessageDigest::sha256(), key).expect("signer");
                signer.update(input.as_bytes()).expect("update");
                signer.sign_to_vec().expect("sign")
            }
            Key::Ec(key) => {
                // JWS wants r ‖ s, 32 bytes each (RFC 7518 §3.4), not OpenSSL's DER.
                let digest =
                    openssl::hash::hash(MessageDigest::sha256(), input.as_bytes()).expect("hash");
                let sig = EcdsaSig::sign(&digest, key).expect("sign");
                let mut raw = sig.r().to_vec_padded(32).expect("r");
                raw.extend(sig.s().to_vec_padded(32).expect("s"));
                raw
            }
            Key::Hmac(secret) => {
                let key = PKey::hmac(secret).expect("hmac key");
                let mut signer = Signer::new(MessageDigest::sha256(), &key).expect("signer");
                signer.update(input.as_bytes()).expect("update");
                signer.sign_to_vec().expect("sign")
            }
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(sub: &str) -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now(), "exp": now() + 300})
}

/// A JWKS server: the keys it publishes can change, and it counts fetches.
struct Jwks {
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<Mutex<usize>>,
    url: String,
}

impl Jwks {
    async fn serve(keys: Vec<Value>) -> Self {
        let keys = Arc::new(Mutex::new(keys));
        let fetches = Arc::new(Mutex::new(0));
        let (k, f) = (keys.clone(), fetches.clone());
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let (k, f) = (k.clone(), f.clone());
                async move {
                    *f.lock().unwrap() += 1;
                    axum::Json(json!({"keys": *k.lock().unwrap()}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/jwks.json", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { keys, fetches, url }
    }
}

fn reason(reply: &Reply) -> String {
    reply.body["errors"][0]["details"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A nutrition body for `athlete` (none: no `athlete.id`).
fn body_for(athlete: Option<&str>) -> Value {
    let mut body = nutrition(70.0);
    match athlete {
        Some(id) => body["input"]["athlete"]["id"] = json!(id),
        None => {
            body["input"]["athlete"]
                .as_object_mut()
                .expect("athlete")
                .remove("id");
        }
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn athlete_tokens_act_for_their_athlete_only() {
    let (rsa, ec, stranger) = (Key::rsa(), Key::ec(), Key::rsa());
    let jwks = Jwks::serve(vec![rsa.jwk("rsa-1"), ec.jwk("ec-1")]).await;
    let operator_token = OperatorToken::generate();
    let dir = TempDir::new();
    let mut settings = embedded_settings(&dir);
    settings.admin.token_hash = Some(operator_token.hash().as_str().to_owned());
    let service = start(&settings, Roles::ALL).await;
    let store = service.backends().store.clone();
    let acme_key = create_tenant(&*store, "acme").await;
    let globex_key = create_tenant(&*store, "globex").await;
    let acme = Client::new(&service, &acme_key);
    let operator = Client::new(&service, operator_token.reveal());
    let tenants = operator.get("/v1/admin/tenants").await;
    let id_of = |name: &str| {
        tenants.body["data"]
            .as_array()
            .expect("tenants")
            .iter()
            .find(|t| t["name"] == name)
            .expect("tenant")["id"]
            .as_str()
            .expect("id")
            .to_owned()
    };
    let (acme_id, globex_id) = (id_of("acme"), id_of("globex"));

    // The operator registers acme's JWKS and globex's shared secret; the secret is never shown.
    let put = operator
        .send(
            operator
                .http
                .put(format!(
                    "{}/v1/admin/tenants/{acme_id}/token-verifier",
                    operator.base
                ))
                .json(&json!({"issuer": ISSUER, "audience": AUDIENCE, "jwks_url": jwks.url})),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let put = operator
        .send(operator.http.put(format!("{}/v1/admin/tenants/{globex_id}/token-verifier", operator.base))
            .json(&json!({"issuer": "https://id.globex.test/", "audience": AUDIENCE, "hs256_secret": HS_SECRET})))
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.first()["hs256"], true);
    assert!(!put.body.to_string().contains(HS_SECRET));
    let shown = operator
        .get(&format!("/v1/admin/tenants/{globex_id}/token-verifier"))
        .await;
    assert!(!shown.body.to_string().contains(HS_SECRET));
    // The same issuer and audience for a second tenant: a token could not tell them apart.
    let clash = operator
        .send(
            operator
                .http
                .put(format!(
                    "{}/v1/admin/tenants/{globex_id}/token-verifier",
                    operator.base
                ))
                .json(&json!({"issuer": ISSUER, "audience": AUDIENCE, "jwks_url": jwks.url})),
        )
        .await;
    assert_eq!(clash.status, 409, "{}", clash.body);

    // The tenant's key makes jobs for two athletes.
    let theirs = acme.submit_ok(&body_for(Some("ath-2"))).await;
    let mine_by_key = acme.submit_ok(&body_for(Some("ath-1"))).await;

    // An RS256 token of ath-1: submits for ath-1 only.
    let ath1 = acme.with_key(&rsa.sign(json!({"kid": "rsa-1", "typ": "JWT"}), &claims("ath-1")));
    let mine = ath1.submit_ok(&body_for(Some("ath-1"))).await;
    for body in [body_for(Some("ath-2")), body_for(None)] {
        let refused = ath1.submit(&body).await;
        assert_eq!(
            (refused.status, refused.error_code()),
            (403, "FORBIDDEN"),
            "{}",
            refused.body
        );
        assert_eq!(refused.error_field(), "input.athlete.id");
    }
    // It lists, reads, cancels, streams and sees the deliveries of ath-1's jobs only.
    let listed: Vec<String> = ath1.get("/v1/jobs").await.body["data"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(listed, vec![mine.clone(), mine_by_key.clone()]);
    assert_eq!(ath1.get(&format!("/v1/jobs/{mine}")).await.status, 200);
    for path in [
        format!("/v1/jobs/{theirs}"),
        format!("/v1/jobs/{theirs}/deliveries"),
        format!("/v1/jobs/{theirs}/events"),
    ] {
        let reply = ath1.get(&path).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (404, "NOT_FOUND"),
            "{path}: {}",
            reply.body
        );
    }
    let cancel = ath1
        .post_json(&format!("/v1/jobs/{theirs}/cancel"), &json!({}))
        .await;
    assert_eq!(cancel.status, 404, "{}", cancel.body);
    assert_eq!(ath1.wait_terminal(&mine).await["status"], "succeeded");
    // The catalogue and the kinds are open to athletes; the tenant's own routes are not.
    assert_eq!(ath1.get("/v1/exercises/barbell-squat").await.status, 200);
    assert_eq!(ath1.get("/v1/kinds").await.status, 200);
    for (method, path) in [
        ("POST", format!("/v1/jobs/{mine}/retry")),
        ("GET", "/v1/motivation/schedule".to_owned()),
        ("POST", "/v1/jobs/batch".to_owned()),
    ] {
        let reply = ath1
            .send(
                ath1.http
                    .request(
                        method.parse().expect("method"),
                        format!("{}{path}", ath1.base),
                    )
                    .json(&json!({"jobs": []})),
            )
            .await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (403, "FORBIDDEN"),
            "{method} {path}: {}",
            reply.body
        );
    }

    // ES256, another athlete: sees its own job, not ath-1's.
    let ath2 = acme.with_key(&ec.sign(json!({"kid": "ec-1"}), &claims("ath-2")));
    assert_eq!(ath2.get(&format!("/v1/jobs/{theirs}")).await.status, 200);
    assert_eq!(ath2.get(&format!("/v1/jobs/{mine}")).await.status, 404);

    // HS256 for globex, with its own issuer.
    let hs = Key::Hmac(HS_SECRET.as_bytes().to_vec());
    let globex_claims = json!({"iss": "https://id.globex.test/", "aud": [AUDIENCE, "other"], "sub": "g-1", "exp": now() + 60});
    let g1 = acme.with_key(&hs.sign(json!({}), &globex_claims));
    let job = g1.submit_ok(&body_for(Some("g-1"))).await;
    assert_eq!(
        Client::new(&service, &globex_key)
            .get(&format!("/v1/jobs/{job}"))
            .await
            .status,
        200
    );

    // Every broken token is a 401 with its reason, and never echoes the token.
    let header = json!({"kid": "rsa-1"});
    let mut expired = claims("ath-1");
    expired["exp"] = json!(now() - 120);
    let mut early = claims("ath-1");
    early["nbf"] = json!(now() + 600);
    let mut wrong_aud = claims("ath-1");
    wrong_aud["aud"] = json!("someone-else");
    let mut wrong_iss = claims("ath-1");
    wrong_iss["iss"] = json!("https://evil.test/");
    let mut no_exp = claims("ath-1");
    no_exp.as_object_mut().expect("claims").remove("exp");
    let mut bad_sub = claims("ath 1");
    bad_sub["sub"] = json!("ath 1 with spaces");
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": "rsa-1"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims("ath-1").to_string())
    );
    let cases = [
        ("expired", rsa.sign(header.clone(), &expired), "expired"),
        (
            "not yet valid",
            rsa.sign(header.clone(), &early),
            "not_yet_valid",
        ),
        (
            "wrong audience",
            rsa.sign(header.clone(), &wrong_aud),
            "unknown_issuer",
        ),
        (
            "wrong issuer",
            rsa.sign(header.clone(), &wrong_iss),
            "unknown_issuer",
        ),
        ("no exp", rsa.sign(header.clone(), &no_exp), "missing_claim"),
        ("bad sub", rsa.sign(header.clone(), &bad_sub), "bad_subject"),
        ("alg none", unsigned, "unsupported_algorithm"),
        (
            "a stranger's key",
            stranger.sign(header.clone(), &claims("ath-1")),
            "bad_signature",
        ),
        // The classic confusion: HS256 keyed with something public is not accepted for a JWKS.
        (
            "hs256 for a jwks issuer",
            Key::Hmac(b"0123456789abcdef0123456789abcdef".to_vec())
                .sign(header.clone(), &claims("ath-1")),
            "unsupported_algorithm",
        ),
        (
            "unknown kid",
            stranger.sign(json!({"kid": "nope"}), &claims("ath-1")),
            "unknown_key",
        ),
    ];
    for (what, token, expected) in cases {
        let reply = acme.with_key(&token).get("/v1/jobs").await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (401, "UNAUTHORIZED"),
            "{what}: {}",
            reply.body
        );
        assert_eq!(reason(&reply), expected, "{what}: {}", reply.body);
        assert!(
            !reply.body.to_string().contains(&token),
            "{what}: the token is echoed"
        );
    }

    // Key rotation: a token with a kid the cached set lacks makes the set be fetched again
    // (at most every few seconds), and then verifies.
    let rotated = Key::rsa();
    jwks.keys.lock().unwrap().push(rotated.jwk("rsa-2"));
    let before = *jwks.fetches.lock().unwrap();
    let ath1_rotated = acme.with_key(&rotated.sign(json!({"kid": "rsa-2"}), &claims("ath-1")));
    eventually("the rotated key is fetched and accepted", || async {
        ath1_rotated.get("/v1/jobs").await.status == 200
    })
    .await;
    let fetched = *jwks.fetches.lock().unwrap() - before;
    assert!(
        (1..=3).contains(&fetched),
        "{fetched} fetches for one rotation"
    );

    // Removing the verifier stops the tokens at once.
    let removed = operator
        .send(operator.http.delete(format!(
            "{}/v1/admin/tenants/{acme_id}/token-verifier",
            operator.base
        )))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let after = ath1.get("/v1/jobs").await;
    assert_eq!(
        (after.status, reason(&after).as_str()),
        (401, "unknown_issuer"),
        "{}",
        after.body
    );
}
