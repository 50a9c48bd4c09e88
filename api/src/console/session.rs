//! The console's sign-in: the operator's token, once, for a session cookie.
//!
//! The cookie is stateless, so every API process behind a load balancer accepts it: `v1.<expiry
//! in Unix seconds>.<HMAC-SHA256 of that expiry and the operator token's hash>`, keyed by a key
//! derived from `secrets.key` (`ApiConfig::console_key`; a process without one draws a random
//! key and its sessions end with it). Changing the operator token ends every session. The cookie
//! is `HttpOnly`, `SameSite=Strict`, `Path=/console`, and `Secure` when the request came over
//! TLS (`X-Forwarded-Proto: https` from the proxy that ends it). Every form carries a CSRF token
//! bound to the session (an HMAC of the cookie), checked on every POST.

use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sparta_jobs::{OperatorToken, OperatorTokenHash};

use crate::context::AppCtx;

/// The cookie's name.
pub(crate) const COOKIE: &str = "sparta_console";
/// How long a session lasts.
pub(crate) const LIFETIME: Duration = Duration::from_secs(8 * 3600);

type HmacSha256 = Hmac<Sha256>;

/// The key sessions are signed with.
fn key(ctx: &AppCtx) -> [u8; 32] {
    static RANDOM: OnceLock<[u8; 32]> = OnceLock::new();
    ctx.api.config.console_key.map(|k| k.0).unwrap_or_else(|| {
        *RANDOM.get_or_init(|| {
            let mut bytes = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            bytes
        })
    })
}

fn mac(ctx: &AppCtx, parts: &[&[u8]]) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(&key(ctx)).ok()?;
    for part in parts {
        mac.update(part);
        mac.update(b"\0");
    }
    Some(mac)
}

fn token_hash(ctx: &AppCtx) -> Option<&OperatorTokenHash> {
    ctx.api.config.operator_token_hash.as_ref()
}

/// Why signing in failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SignInError {
    /// No operator token is configured (`admin.token_hash`).
    NotConfigured,
    /// Not the operator's token.
    WrongToken,
}

/// The session cookie's value for the operator's `presented` token.
pub(crate) fn sign_in(ctx: &AppCtx, presented: &str, now: i64) -> Result<String, SignInError> {
    let expected = token_hash(ctx).ok_or(SignInError::NotConfigured)?;
    match OperatorToken::parse(presented.trim()) {
        Ok(token) if token.hash() == *expected => {}
        _ => return Err(SignInError::WrongToken),
    }
    let expiry = now + LIFETIME.as_secs() as i64;
    let tag = mac(
        ctx,
        &[
            b"session",
            expiry.to_string().as_bytes(),
            expected.as_str().as_bytes(),
        ],
    )
    .ok_or(SignInError::NotConfigured)?
    .finalize()
    .into_bytes();
    Ok(format!("v1.{expiry}.{}", hex::encode(tag)))
}

/// True when `value` is a session this configuration signed and it has not expired.
fn valid(ctx: &AppCtx, value: &str, now: i64) -> bool {
    let Some(expected) = token_hash(ctx) else {
        return false;
    };
    let mut fields = value.split('.');
    let (Some("v1"), Some(expiry), Some(tag), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return false;
    };
    let (Ok(when), Ok(tag)) = (expiry.parse::<i64>(), hex::decode(tag)) else {
        return false;
    };
    when > now
        && mac(
            ctx,
            &[b"session", expiry.as_bytes(), expected.as_str().as_bytes()],
        )
        .is_some_and(|m| m.verify_slice(&tag).is_ok())
}

/// The session cookie of a request, if any.
fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// True when the request reached the proxy over TLS.
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value that holds `value` (or, empty, ends the session).
pub(crate) fn set_cookie(headers: &HeaderMap, value: Option<&str>) -> HeaderValue {
    let secure = if over_tls(headers) { "; Secure" } else { "" };
    let text = match value {
        Some(v) => format!(
            "{COOKIE}={v}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            LIFETIME.as_secs()
        ),
        None => format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A signed-in operator; extracting it from a request without a valid session answers a
/// redirect to the sign-in page.
#[derive(Clone, Debug)]
pub(crate) struct ConsoleSession {
    /// The CSRF token every form of the page carries.
    pub csrf: String,
}

impl ConsoleSession {
    /// True when a form's `csrf` field is this session's.
    pub(crate) fn accepts(&self, presented: &str) -> bool {
        // Both are hex of the same length; compared without an early exit.
        presented.len() == self.csrf.len()
            && presented
                .bytes()
                .zip(self.csrf.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// The redirect to the sign-in page.
pub(crate) struct SignInFirst;

impl axum::response::IntoResponse for SignInFirst {
    fn into_response(self) -> axum::response::Response {
        axum::response::Redirect::to("/console/login").into_response()
    }
}

impl FromRequestParts<AppCtx> for ConsoleSession {
    type Rejection = SignInFirst;

    async fn from_request_parts(parts: &mut Parts, ctx: &AppCtx) -> Result<Self, SignInFirst> {
        let now = chrono::Utc::now().timestamp();
        let value = cookie(&parts.headers)
            .filter(|v| valid(ctx, v, now))
            .ok_or(SignInFirst)?;
        let csrf = mac(ctx, &[b"csrf", value.as_bytes()])
            .map(|m| hex::encode(m.finalize().into_bytes()))
            .ok_or(SignInFirst)?;
        Ok(Self { csrf })
    }
}
