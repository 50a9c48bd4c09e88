//! Bearer secrets: tenants' API keys and the operator's token. Each is generated once, shown
//! once, and kept only as its SHA-256.

use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use crate::JobsError;

/// The prefix that makes SPARTA keys recognisable in logs and secret scanners.
const PREFIX: &str = "sk_sparta_";
/// The prefix of the operator's token (admin routes, metrics on the API port).
const OPERATOR_PREFIX: &str = "op_sparta_";

/// 32 random bytes from the OS generator behind `prefix`: enough entropy that a plain SHA-256
/// is a safe verifier (no password-style stretching is needed for random secrets).
fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Whether a presented secret has the shape of one generated behind `prefix`.
fn well_formed(prefix: &str, presented: &str) -> bool {
    presented.starts_with(prefix)
        && presented.len() <= 128
        && presented
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A plaintext API key. It exists only between generation and being printed once, and while a
/// request is authenticated; it is never stored or logged (its `Debug` is redacted).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// A new random key.
    pub fn generate() -> Self {
        Self(generate(PREFIX))
    }

    /// Accepts a key presented by a client, checking only its shape.
    pub fn parse(presented: &str) -> Result<Self, JobsError> {
        if well_formed(PREFIX, presented) {
            Ok(Self(presented.to_owned()))
        } else {
            Err(JobsError::InvalidValue("malformed API key".into()))
        }
    }

    /// The key, to print once at creation.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// What the store keeps.
    pub fn hash(&self) -> ApiKeyHash {
        ApiKeyHash(digest(&self.0))
    }
}

/// The operator's plaintext token: printed once by `sparta admin token`, presented as a bearer
/// token on the operator's routes. Never stored (settings keep its hash) or logged.
#[derive(Clone, PartialEq, Eq)]
pub struct OperatorToken(String);

impl OperatorToken {
    /// A new random token.
    pub fn generate() -> Self {
        Self(generate(OPERATOR_PREFIX))
    }

    /// Accepts a token presented by a client, checking only its shape.
    pub fn parse(presented: &str) -> Result<Self, JobsError> {
        if well_formed(OPERATOR_PREFIX, presented) {
            Ok(Self(presented.to_owned()))
        } else {
            Err(JobsError::InvalidValue("malformed operator token".into()))
        }
    }

    /// The token, to print once.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// What settings keep (`admin.token_hash`).
    pub fn hash(&self) -> OperatorTokenHash {
        OperatorTokenHash(digest(&self.0))
    }
}

impl std::fmt::Debug for OperatorToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperatorToken(<redacted>)")
    }
}

/// The SHA-256 of the operator's token, hex, as settings hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorTokenHash(String);

impl OperatorTokenHash {
    /// Accepts 64 hex digits (any case).
    pub fn parse(hex_digest: &str) -> Result<Self, JobsError> {
        let hex_digest = hex_digest.trim().to_ascii_lowercase();
        if hex_digest.len() == 64 && hex_digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(hex_digest))
        } else {
            Err(JobsError::InvalidValue(
                "expected the 64 hex digits of a SHA-256 (from `sparta admin token`)".into(),
            ))
        }
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// The SHA-256 of an API key, hex: the only form a key is stored in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ApiKeyHash(String);

impl ApiKeyHash {
    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_tokens_are_not_api_keys_and_their_hashes_parse() {
        let token = OperatorToken::generate();
        assert!(ApiKey::parse(token.reveal()).is_err());
        assert!(OperatorToken::parse(ApiKey::generate().reveal()).is_err());
        let parsed = OperatorToken::parse(token.reveal()).map(|t| t.hash());
        assert_eq!(parsed.ok(), Some(token.hash()));
        let upper = token.hash().as_str().to_ascii_uppercase();
        assert_eq!(OperatorTokenHash::parse(&upper).ok(), Some(token.hash()));
        assert!(OperatorTokenHash::parse("abc").is_err());
        assert!(format!("{token:?}").contains("redacted"));
    }

    #[test]
    fn generated_keys_parse_and_hash_stably() {
        let key = ApiKey::generate();
        let again = ApiKey::parse(key.reveal()).map(|k| k.hash());
        assert_eq!(again.ok(), Some(key.hash()));
        assert_ne!(ApiKey::generate().hash(), key.hash());
        assert_eq!(key.hash().as_str().len(), 64);
        assert!(!format!("{key:?}").contains(key.reveal()));
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(ApiKey::parse("").is_err());
        assert!(ApiKey::parse("Bearer x").is_err());
        assert!(ApiKey::parse("sk_sparta_has space").is_err());
    }
}
