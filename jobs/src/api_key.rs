//! API keys: generated once, shown once, stored only as a hash.

use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use crate::JobsError;

/// The prefix that makes SPARTA keys recognisable in logs and secret scanners.
const PREFIX: &str = "sk_sparta_";

/// A plaintext API key. It exists only between generation and being printed once, and while a
/// request is authenticated; it is never stored or logged (its `Debug` is redacted).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// 32 random bytes from the OS generator: enough entropy that a plain SHA-256 is a safe
    /// verifier (no password-style stretching is needed for random keys).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    /// Accepts a key presented by a client, checking only its shape.
    pub fn parse(presented: &str) -> Result<Self, JobsError> {
        let ok = presented.starts_with(PREFIX)
            && presented.len() <= 128
            && presented
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
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
        ApiKeyHash(hex::encode(Sha256::digest(self.0.as_bytes())))
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
