//! Standard Webhooks signatures (standardwebhooks.com): a per-tenant secret `whsec_<base64>`,
//! headers `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "{id}.{timestamp}.{body}">`. During a secret rotation both secrets sign, space-separated, so
//! receivers holding either one accept the message.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use sha2::Sha256;

use crate::JobsError;

const PREFIX: &str = "whsec_";

/// A webhook signing secret. Its `Debug` is redacted; it is shown once, at creation or rotation.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// 32 random bytes from the OS generator.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Reads `whsec_<base64>` (the form receivers configure).
    pub fn parse(text: &str) -> Result<Self, JobsError> {
        let encoded = text
            .strip_prefix(PREFIX)
            .ok_or_else(|| JobsError::InvalidValue("a webhook secret starts with whsec_".into()))?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| JobsError::InvalidValue("a webhook secret is whsec_ + base64".into()))?;
        if !(24..=64).contains(&bytes.len()) {
            return Err(JobsError::InvalidValue(
                "a webhook secret holds 24 to 64 bytes".into(),
            ));
        }
        Ok(Self(bytes))
    }

    /// The `whsec_<base64>` form.
    pub fn reveal(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// `v1,<base64 signature>` of one message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        // Keys of any length are valid for HMAC; this cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// The `webhook-signature` header value: one signature per secret, space-separated (the
/// current secret first, then a previous one still honoured during rotation).
pub fn signature_header(
    secrets: &[&WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| secret.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_vector_of_the_specification() {
        // The example of the Standard Webhooks specification.
        let secret =
            WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_round_trip_and_are_redacted() {
        let secret = WebhookSecret::generate();
        let again = WebhookSecret::parse(&secret.reveal()).expect("parses");
        assert_eq!(again, secret);
        assert!(!format!("{secret:?}").contains(&secret.reveal()));
        assert!(WebhookSecret::parse("nope").is_err());
        assert!(WebhookSecret::parse("whsec_!!!").is_err());
        assert!(WebhookSecret::parse("whsec_AAAA").is_err(), "too short");
    }

    #[test]
    fn rotation_signs_with_both_secrets() {
        let current = WebhookSecret::generate();
        let previous = WebhookSecret::generate();
        let header = signature_header(&[&current, &previous], "msg_1", 10, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            parts,
            vec![
                current.sign("msg_1", 10, b"{}"),
                previous.sign("msg_1", 10, b"{}")
            ]
        );
    }
}
