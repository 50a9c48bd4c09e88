//! Athlete tokens: a JWT from a tenant's own sign-in, verified against the tenant's registered
//! verifier (`sparta_jobs::jwt_verifier`), acting as the tenant scoped to the athlete in `sub`.
//!
//! A token is matched to its tenant by the `iss` and `aud` it names (read before the signature
//! is checked, only to find the verifier), then verified with `jsonwebtoken`: the algorithm
//! must be the verifier's (HS256 for a secret; RS256 or ES256 for a JWKS, `none` never), the
//! signature must hold, `exp` must be in the future and `nbf` (when present) in the past, with
//! 30 s of leeway, `iss` and `aud` must be the verifier's, `sub` an athlete id. JWKS are fetched
//! with a 5 s timeout, kept, and fetched again when a token names a `kid` they lack (at most
//! every 10 s per URL, so unknown `kid`s cannot make SPARTA hammer the issuer). Refusals are
//! 401 with a stable reason code; tokens and keys are never logged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sparta_jobs::jwt_verifier::{JwtKeys, JwtVerifier};
use sparta_jobs::{AthleteKey, JobStore, Tenant};

use crate::error::ApiError;

/// How long a verifier lookup (found or not) is trusted; an auth change forgets them at once.
const VERIFIER_TTL: Duration = Duration::from_secs(30);
/// How long fetched keys are used before they are fetched again.
const JWKS_TTL: Duration = Duration::from_secs(300);
/// The least time between two fetches of one JWKS (an unknown `kid` asks for a fetch).
const JWKS_REFETCH: Duration = Duration::from_secs(10);
/// How long a JWKS fetch may take.
const JWKS_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest JWKS accepted, in bytes.
const JWKS_MAX_BYTES: usize = 64 * 1024;
/// How many of a token's `aud` values are looked up.
const MAX_AUDIENCES: usize = 4;
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 30;

/// Whether a bearer credential has a JWT's shape (three base64url parts), so it is verified as
/// a token and not looked up as an API key.
pub(crate) fn looks_like_jwt(credential: &str) -> bool {
    let parts: Vec<&str> = credential.split('.').collect();
    parts.len() == 3
        && parts[..2].iter().all(|p| !p.is_empty())
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn refused(reason: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::InvalidToken {
        reason,
        message: message.into(),
    }
}

/// The parts of a token read before its signature is checked: which verifier to use.
#[derive(Deserialize)]
struct Addressed {
    iss: Option<String>,
    #[serde(default)]
    aud: Audiences,
}

#[derive(Default, Deserialize)]
#[serde(untagged)]
enum Audiences {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl Audiences {
    fn values(&self) -> Vec<&str> {
        match self {
            Audiences::None => Vec::new(),
            Audiences::One(one) => vec![one],
            Audiences::Many(many) => many.iter().map(String::as_str).collect(),
        }
    }
}

/// The header fields read before verification.
#[derive(Deserialize)]
struct RawHeader {
    alg: Option<String>,
    kid: Option<String>,
}

/// The claims kept from a verified token.
#[derive(Deserialize)]
struct Claims {
    sub: String,
}

fn part<T: serde::de::DeserializeOwned>(token: &str, index: usize) -> Result<T, ApiError> {
    let malformed = || {
        refused(
            "malformed",
            "the token is not a JWT (header.payload.signature)",
        )
    };
    let text = token.split('.').nth(index).ok_or_else(malformed)?;
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| malformed())?;
    serde_json::from_slice(&bytes).map_err(|_| malformed())
}

/// A verified athlete token: the tenant it acts for and the athlete it is scoped to.
#[derive(Clone, Debug)]
pub(crate) struct AthleteCaller {
    /// The tenant whose verifier accepted the token.
    pub tenant: Tenant,
    /// The athlete in its `sub`.
    pub athlete: AthleteKey,
}

/// A verifier as looked up, with its tenant.
#[derive(Clone)]
struct Found {
    verifier: JwtVerifier,
    tenant: Tenant,
}

/// Fetched keys of one JWKS URL.
struct Keys {
    set: Option<JwkSet>,
    fetched_at: Instant,
}

/// The verifier lookups of one auth epoch, by (issuer, audience), with when each was made.
#[derive(Default)]
struct Lookups {
    epoch: u64,
    found: HashMap<(String, String), (Instant, Option<Found>)>,
}

/// Verifies athlete tokens, keeping what it looked up and fetched.
pub(crate) struct AthleteTokens {
    verifiers: Mutex<Lookups>,
    jwks: Mutex<HashMap<String, Arc<Keys>>>,
    http: reqwest::Client,
}

impl Default for AthleteTokens {
    fn default() -> Self {
        Self {
            verifiers: Mutex::default(),
            jwks: Mutex::default(),
            // No redirects: the operator registered this URL, not wherever it points.
            http: reqwest::Client::builder()
                .timeout(JWKS_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AthleteTokens {
    /// Verifies `token`: the tenant and athlete it stands for, or why not.
    pub(crate) async fn verify(
        &self,
        store: &dyn JobStore,
        auth_epoch: u64,
        token: &str,
    ) -> Result<AthleteCaller, ApiError> {
        let header: RawHeader = part(token, 0)?;
        let addressed: Addressed = part(token, 1)?;
        let issuer = addressed
            .iss
            .ok_or_else(|| refused("missing_claim", "the token has no `iss`"))?;
        let mut found = None;
        // A few audiences at most: each unknown one costs a store lookup before any signature.
        for audience in addressed.aud.values().into_iter().take(MAX_AUDIENCES) {
            if let Some(hit) = self.verifier(store, auth_epoch, &issuer, audience).await? {
                found = Some(hit);
                break;
            }
        }
        let Found { verifier, tenant } = found.ok_or_else(|| {
            refused(
                "unknown_issuer",
                "no tenant accepts tokens of this issuer and audience",
            )
        })?;
        let alg = header.alg.unwrap_or_default();
        let (algorithm, key) = match &verifier.keys {
            JwtKeys::Hs256(secret) => {
                if alg != "HS256" {
                    return Err(unsupported(&alg, "HS256"));
                }
                (Algorithm::HS256, DecodingKey::from_secret(secret.reveal()))
            }
            JwtKeys::Jwks(url) => {
                let algorithm = match alg.as_str() {
                    "RS256" => Algorithm::RS256,
                    "ES256" => Algorithm::ES256,
                    _ => return Err(unsupported(&alg, "RS256 or ES256")),
                };
                (
                    algorithm,
                    self.key(url.as_str(), header.kid.as_deref()).await?,
                )
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&verifier.issuer]);
        validation.set_audience(&[&verifier.audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| rejection(e.kind()))?
            .claims;
        let athlete = AthleteKey::parse(claims.sub).map_err(|_| {
            refused(
                "bad_subject",
                "`sub` must be an athlete id: 1 to 128 printable ASCII characters",
            )
        })?;
        // Only a verified token learns that its tenant is disabled.
        if tenant.disabled_at.is_some() {
            return Err(ApiError::Forbidden(format!(
                "tenant '{}' is disabled",
                tenant.name
            )));
        }
        Ok(AthleteCaller { tenant, athlete })
    }

    /// The verifier for (issuer, audience), cached for one auth epoch and [`VERIFIER_TTL`].
    async fn verifier(
        &self,
        store: &dyn JobStore,
        epoch: u64,
        issuer: &str,
        audience: &str,
    ) -> Result<Option<Found>, ApiError> {
        let key = (issuer.to_owned(), audience.to_owned());
        {
            let mut cached = lock(&self.verifiers);
            if cached.epoch != epoch {
                *cached = Lookups {
                    epoch,
                    found: HashMap::new(),
                };
            }
            if let Some((at, found)) = cached.found.get(&key)
                && at.elapsed() < VERIFIER_TTL
            {
                return Ok(found.clone());
            }
        }
        let found = match store.jwt_verifier_for(issuer, audience).await? {
            Some(verifier) => store
                .list_tenants()
                .await?
                .into_iter()
                .find(|t| t.id == verifier.tenant_id)
                .map(|tenant| Found { verifier, tenant }),
            None => None,
        };
        let mut cached = lock(&self.verifiers);
        if cached.epoch == epoch {
            // Bounded: one entry per (issuer, audience) tokens named; an unknown pair costs one.
            if cached.found.len() > 10_000 {
                cached.found.clear();
            }
            cached.found.insert(key, (Instant::now(), found.clone()));
        }
        Ok(found)
    }

    /// The key of a JWKS for `kid` (or its only key when the token names none), fetching the
    /// set when it is stale or lacks the `kid`.
    async fn key(&self, url: &str, kid: Option<&str>) -> Result<DecodingKey, ApiError> {
        let held = lock(&self.jwks).get(url).cloned();
        let pick = |keys: &Keys| keys.set.as_ref().and_then(|set| choose(set, kid));
        if let Some(keys) = &held {
            if let Some(key) = pick(keys)
                && keys.fetched_at.elapsed() < JWKS_TTL
            {
                return key;
            }
            if keys.fetched_at.elapsed() < JWKS_REFETCH {
                return pick(keys).unwrap_or_else(|| {
                    Err(refused(
                        "unknown_key",
                        "no key of the issuer's set has this `kid`",
                    ))
                });
            }
        }
        let fetched = Arc::new(Keys {
            set: self.fetch(url).await,
            fetched_at: Instant::now(),
        });
        lock(&self.jwks).insert(url.to_owned(), fetched.clone());
        match (&fetched.set, pick(&fetched)) {
            (_, Some(key)) => key,
            (None, None) => Err(refused(
                "keys_unavailable",
                "the issuer's keys could not be fetched",
            )),
            (Some(_), None) => Err(refused(
                "unknown_key",
                "no key of the issuer's set has this `kid`",
            )),
        }
    }

    /// The JWKS at `url`, or `None` (logged, without the body) when it cannot be had.
    async fn fetch(&self, url: &str) -> Option<JwkSet> {
        let response = match self.http.get(url).send().await {
            Ok(response) if response.status().is_success() => response,
            Ok(response) => {
                tracing::warn!(url, status = %response.status(), "JWKS fetch refused");
                return None;
            }
            Err(error) => {
                tracing::warn!(url, error = %error, "JWKS fetch failed");
                return None;
            }
        };
        match response.bytes().await {
            Ok(bytes) if bytes.len() <= JWKS_MAX_BYTES => serde_json::from_slice(&bytes)
                .inspect_err(|e| tracing::warn!(url, error = %e, "JWKS is not a key set"))
                .ok(),
            Ok(_) => {
                tracing::warn!(url, "JWKS larger than {JWKS_MAX_BYTES} bytes");
                None
            }
            Err(error) => {
                tracing::warn!(url, error = %error, "JWKS fetch failed");
                None
            }
        }
    }
}

/// The key for `kid` in `set` (its only key when the token names none), as a decoding key.
fn choose(set: &JwkSet, kid: Option<&str>) -> Option<Result<DecodingKey, ApiError>> {
    let jwk = match kid {
        Some(kid) => set.find(kid)?,
        None if set.keys.len() == 1 => set.keys.first()?,
        None => return None,
    };
    Some(DecodingKey::from_jwk(jwk).map_err(|_| {
        refused(
            "unknown_key",
            "the issuer's key for this `kid` is not an RSA or P-256 key",
        )
    }))
}

fn unsupported(alg: &str, expected: &str) -> ApiError {
    let shown: String = alg.chars().take(16).collect();
    refused(
        "unsupported_algorithm",
        format!("tokens of this issuer are signed {expected}, not `{shown}`"),
    )
}

/// A `jsonwebtoken` refusal as a reason code.
fn rejection(kind: &ErrorKind) -> ApiError {
    match kind {
        ErrorKind::ExpiredSignature => refused("expired", "the token has expired"),
        ErrorKind::ImmatureSignature => {
            refused("not_yet_valid", "the token is not valid yet (`nbf`)")
        }
        ErrorKind::InvalidAudience => {
            refused("wrong_audience", "the token's `aud` is not accepted")
        }
        ErrorKind::InvalidIssuer => refused("wrong_issuer", "the token's `iss` is not accepted"),
        ErrorKind::InvalidSignature => {
            refused("bad_signature", "the token's signature does not verify")
        }
        ErrorKind::InvalidAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::InvalidAlgorithmName => refused(
            "unsupported_algorithm",
            "the token's algorithm is not accepted",
        ),
        ErrorKind::MissingRequiredClaim(claim) => refused(
            "missing_claim",
            format!(
                "the token has no `{}`",
                claim.chars().take(16).collect::<String>()
            ),
        ),
        _ => refused("malformed", "the token is not a valid JWT"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_told_from_api_keys_by_shape() {
        assert!(looks_like_jwt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
        assert!(looks_like_jwt("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."));
        assert!(!looks_like_jwt("sk_sparta_abcdef"));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("a.b.c.d"));
        assert!(!looks_like_jwt("a b.c.d"));
    }
}
