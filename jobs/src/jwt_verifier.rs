//! A tenant's verifier of athlete tokens: the JWTs a fitness app's own sign-in issues, which let
//! a signed-in athlete call SPARTA directly as the tenant, scoped to the athlete in the token's
//! `sub`. The tenant (through the operator) registers what its tokens must name (`iss`, `aud`)
//! and where their keys come from: a JWKS URL (RS256, ES256) or a shared HS256 secret (sealed at
//! rest, like webhook secrets). Verifying a token is the API's business; this is what is stored.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::JobsError;
use crate::model::TenantId;

/// The longest issuer or audience accepted.
const MAX_NAME_LEN: usize = 255;

/// An `iss` or `aud` value: 1 to 255 printable ASCII characters without spaces (usually a URL).
fn claim_value(value: String, what: &str) -> Result<String, JobsError> {
    if value.is_empty()
        || value.len() > MAX_NAME_LEN
        || !value.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(JobsError::InvalidValue(format!(
            "{what} must be 1 to {MAX_NAME_LEN} printable ASCII characters without spaces"
        )));
    }
    Ok(value)
}

/// Where a verifier's keys come from.
#[derive(Clone, PartialEq, Eq)]
pub enum JwtKeys {
    /// A JSON Web Key Set served at this `http(s)` URL: RS256 and ES256 keys, chosen by `kid`.
    Jwks(url::Url),
    /// A secret shared with the tenant's sign-in: HS256.
    Hs256(JwtSecret),
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwtKeys::Jwks(url) => f.debug_tuple("Jwks").field(&url.as_str()).finish(),
            JwtKeys::Hs256(_) => f.write_str("Hs256(<secret>)"),
        }
    }
}

impl JwtKeys {
    /// A JWKS URL as given: `http` or `https` with a host, at most 2,048 characters.
    pub fn jwks(url: &str) -> Result<Self, JobsError> {
        if url.len() > 2048 {
            return Err(JobsError::InvalidValue(
                "jwks_url must be at most 2048 characters".into(),
            ));
        }
        Self::stored_jwks(url)
    }

    /// A JWKS URL as stored: the syntax of [`Self::jwks`] without its length limit, which
    /// applies to what was given, not to its normalised form (a `/` may be added).
    pub fn stored_jwks(url: &str) -> Result<Self, JobsError> {
        let bad = || JobsError::InvalidValue("jwks_url must be an http(s) URL with a host".into());
        let parsed = url::Url::parse(url).map_err(|_| bad())?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(bad());
        }
        Ok(JwtKeys::Jwks(parsed))
    }
}

/// An HS256 secret: at least 32 bytes (the hash's size, RFC 7518 §3.2), at most 512. Its
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtSecret(Vec<u8>);

impl JwtSecret {
    /// Shortest secret accepted, in bytes.
    pub const MIN_LEN: usize = 32;
    /// Longest secret accepted, in bytes.
    pub const MAX_LEN: usize = 512;

    /// Checks the length.
    pub fn new(bytes: Vec<u8>) -> Result<Self, JobsError> {
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&bytes.len()) {
            return Err(JobsError::InvalidValue(format!(
                "an HS256 secret holds {} to {} bytes",
                Self::MIN_LEN,
                Self::MAX_LEN
            )));
        }
        Ok(Self(bytes))
    }

    /// The secret's bytes, to verify signatures with.
    pub fn reveal(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret(<secret>)")
    }
}

/// A tenant's verifier, as registered.
#[derive(Clone, Debug, PartialEq)]
pub struct JwtVerifier {
    /// Whose athletes' tokens it verifies.
    pub tenant_id: TenantId,
    /// The `iss` every token must carry.
    pub issuer: String,
    /// The `aud` every token must carry (one of its values when it is a list).
    pub audience: String,
    /// Where the keys come from.
    pub keys: JwtKeys,
    /// When it was first registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl JwtVerifier {
    /// A verifier registered at `now`, its names checked.
    pub fn new(
        tenant_id: TenantId,
        issuer: String,
        audience: String,
        keys: JwtKeys,
        now: DateTime<Utc>,
    ) -> Result<Self, JobsError> {
        Ok(Self {
            tenant_id,
            issuer: claim_value(issuer, "issuer")?,
            audience: claim_value(audience, "audience")?,
            keys,
            created_at: now,
            updated_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keys_and_secrets_are_checked_and_secrets_never_shown() {
        let tenant = TenantId::new();
        let now = Utc::now();
        let keys = JwtKeys::jwks("https://auth.example.com/.well-known/jwks.json").unwrap();
        assert!(
            JwtVerifier::new(
                tenant,
                "https://auth.example.com/".into(),
                "sparta".into(),
                keys.clone(),
                now
            )
            .is_ok()
        );
        assert!(
            JwtVerifier::new(tenant, String::new(), "sparta".into(), keys.clone(), now).is_err()
        );
        assert!(JwtVerifier::new(tenant, "a b".into(), "sparta".into(), keys, now).is_err());
        assert!(JwtKeys::jwks("ftp://example.com/keys").is_err());
        assert!(JwtKeys::jwks("not a url").is_err());
        // 2,048 characters that normalise to 2,049 (a `/` is added): taken, and what is
        // stored reads back.
        let mut long = format!("https://{}", "a".repeat(63));
        while long.len() + 64 <= 2048 {
            long.push('.');
            long.push_str(&"a".repeat(63));
        }
        long.push('.');
        long.push_str(&"a".repeat(2048 - long.len()));
        assert_eq!(long.len(), 2048);
        let JwtKeys::Jwks(stored) = JwtKeys::jwks(&long).unwrap() else {
            panic!("a JWKS")
        };
        assert_eq!(stored.as_str().len(), 2049);
        assert!(JwtKeys::stored_jwks(stored.as_str()).is_ok());
        assert!(JwtKeys::jwks(&format!("{long}/")).is_err());
        assert!(JwtSecret::new(vec![7; 31]).is_err());
        let secret = JwtSecret::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap();
        let shown = format!("{:?}", JwtKeys::Hs256(secret));
        assert!(!shown.contains("0123"), "{shown}");
    }
}
