//! Secrets at rest: webhook signing secrets (and tenants' HS256 token secrets) are stored sealed (XChaCha20-Poly1305, an AEAD from
//! RustCrypto) under a key from settings, never in plain text.
//!
//! A stored value reads `sealed:v1:<key id>:<base64 of nonce ‖ ciphertext>`. The key id (the
//! first 8 hex digits of the key's SHA-256) says which key sealed it, so a [`Keyring`] holds the
//! current key, which seals, and previous keys, which still open: rotating the key is setting a
//! new current key, keeping the old one as previous, and resealing every stored secret
//! (`sparta secrets reseal`), after which the old key can go. Values written before secrets were
//! sealed (`whsec_…`) still open, and the reseal seals them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use crate::JobsError;
use crate::jwt_verifier::JwtSecret;
use crate::webhook_signature::WebhookSecret;

/// What every sealed value starts with.
const PREFIX: &str = "sealed:v1:";
/// What a sealed value is: bound into its ciphertext, so a sealed webhook secret cannot be
/// replayed as a token secret or the other way round.
#[derive(Clone, Copy, Debug)]
enum Purpose {
    WebhookSecret,
    JwtSecret,
}

impl Purpose {
    fn context(self) -> &'static [u8] {
        match self {
            Purpose::WebhookSecret => b"sparta webhook signing secret v1",
            Purpose::JwtSecret => b"sparta athlete token hs256 secret v1",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Purpose::WebhookSecret => "webhook secret",
            Purpose::JwtSecret => "token secret",
        }
    }
}
/// XChaCha20's nonce: long enough to draw at random for every seal.
const NONCE_LEN: usize = 24;

/// One key: its id and its cipher.
#[derive(Clone)]
struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
    /// SHA-256 of the key and the label `sparta derive\0`: what [`Keyring::derive`] hashes the
    /// other labels with (the key itself is kept only inside the cipher).
    derive_base: [u8; 32],
}

impl Key {
    fn parse(text: &str) -> Result<Self, JobsError> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| {
            JobsError::InvalidValue("a secrets key is 32 bytes in standard base64".into())
        })?;
        if bytes.len() != 32 {
            return Err(JobsError::InvalidValue(format!(
                "a secrets key is 32 bytes in standard base64 (this one has {})",
                bytes.len()
            )));
        }
        let id = hex::encode(&Sha256::digest(&bytes)[..4]);
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
            .map_err(|_| JobsError::InvalidValue("a secrets key is 32 bytes".into()))?;
        let derive_base = Sha256::new()
            .chain_update(b"sparta derive\0")
            .chain_update(&bytes)
            .finalize()
            .into();
        Ok(Self {
            id,
            cipher,
            derive_base,
        })
    }
}

/// The keys that seal and open stored secrets. Its `Debug` shows key ids only.
#[derive(Clone)]
pub struct Keyring {
    current: Key,
    previous: Vec<Key>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.id)
            .field(
                "previous",
                &self.previous.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Keyring {
    /// A keyring from base64 keys: `current` seals, `previous` still open.
    pub fn new(current: &str, previous: &[String]) -> Result<Self, JobsError> {
        Ok(Self {
            current: Key::parse(current)?,
            previous: previous
                .iter()
                .map(|k| Key::parse(k))
                .collect::<Result<_, _>>()?,
        })
    }

    /// A fresh random key in the form [`Keyring::new`] reads (32 bytes, standard base64).
    pub fn generate_key() -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        STANDARD.encode(bytes)
    }

    /// A 32-byte key for `label`'s own use (the console's session cookies), derived from the
    /// current key: every process with the same `secrets.key` derives the same one, and nothing
    /// sealed can be opened with it.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        Sha256::new()
            .chain_update(self.current.derive_base)
            .chain_update(label.as_bytes())
            .finalize()
            .into()
    }

    /// The id of the sealing key (for logs and the reseal report).
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    /// The stored form of `secret`, sealed under the current key with a fresh nonce.
    pub fn seal(&self, secret: &WebhookSecret) -> Result<String, JobsError> {
        self.seal_bytes(Purpose::WebhookSecret, secret.reveal().as_bytes())
    }

    /// The secret a stored value holds: opened with the key that sealed it, or a value from
    /// before secrets were sealed. A value sealed under a key this keyring lacks, or tampered
    /// with, is an error naming the key id (never the value).
    pub fn open(&self, stored: &str) -> Result<WebhookSecret, JobsError> {
        if !stored.starts_with(PREFIX) {
            return WebhookSecret::parse(stored);
        }
        let plain = self.open_bytes(Purpose::WebhookSecret, stored)?;
        let text = String::from_utf8(plain)
            .map_err(|_| JobsError::Corrupt("a sealed secret that is not text".into()))?;
        WebhookSecret::parse(&text)
    }

    /// The stored form of a tenant's HS256 token secret, sealed under the current key.
    pub fn seal_jwt_secret(&self, secret: &JwtSecret) -> Result<String, JobsError> {
        self.seal_bytes(Purpose::JwtSecret, secret.reveal())
    }

    /// The HS256 token secret a stored value holds (always sealed: there was no plain form).
    pub fn open_jwt_secret(&self, stored: &str) -> Result<JwtSecret, JobsError> {
        JwtSecret::new(self.open_bytes(Purpose::JwtSecret, stored)?)
    }

    /// Seals `plain` for `purpose` under the current key with a fresh nonce.
    fn seal_bytes(&self, purpose: Purpose, plain: &[u8]) -> Result<String, JobsError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .current
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: purpose.context(),
                },
            )
            .map_err(|_| JobsError::Corrupt("sealing a secret failed".into()))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        Ok(format!(
            "{PREFIX}{}:{}",
            self.current.id,
            STANDARD.encode(blob)
        ))
    }

    /// Opens a value sealed for `purpose` with the key that sealed it.
    fn open_bytes(&self, purpose: Purpose, stored: &str) -> Result<Vec<u8>, JobsError> {
        let rest = stored
            .strip_prefix(PREFIX)
            .ok_or_else(|| JobsError::Corrupt("a secret that is not sealed".into()))?;
        let (id, encoded) = rest
            .split_once(':')
            .ok_or_else(|| JobsError::Corrupt("a sealed secret without a key id".into()))?;
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.id == id)
            .ok_or_else(|| {
                JobsError::Corrupt(format!(
                    "a {} is sealed under key {id}, which is not configured \
                     (secrets.key or secrets.previous_keys)",
                    purpose.name()
                ))
            })?;
        let blob = STANDARD
            .decode(encoded)
            .map_err(|_| JobsError::Corrupt("a sealed secret that is not base64".into()))?;
        if blob.len() <= NONCE_LEN {
            return Err(JobsError::Corrupt("a sealed secret too short".into()));
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        key.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: purpose.context(),
                },
            )
            .map_err(|_| {
                JobsError::Corrupt(format!(
                    "a {} sealed under key {id} does not open",
                    purpose.name()
                ))
            })
    }

    /// True when `stored` is not sealed under the current key (plain, or an older key).
    pub fn needs_reseal(&self, stored: &str) -> bool {
        stored
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .is_none_or(|(id, _)| id != self.current.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_follow_the_key_and_the_label() {
        let a = Keyring::generate_key();
        let b = Keyring::generate_key();
        let ring_a = Keyring::new(&a, &[]).expect("key");
        let again = Keyring::new(&a, std::slice::from_ref(&b)).expect("key");
        let ring_b = Keyring::new(&b, &[]).expect("key");
        assert_eq!(ring_a.derive("console"), again.derive("console"));
        assert_ne!(ring_a.derive("console"), ring_a.derive("other"));
        assert_ne!(ring_a.derive("console"), ring_b.derive("console"));
    }

    #[test]
    fn sealed_secrets_open_with_their_key_only() {
        let old_key = Keyring::generate_key();
        let old = Keyring::new(&old_key, &[]).expect("key");
        let secret = WebhookSecret::generate();
        let sealed = old.seal(&secret).expect("seal");
        assert!(sealed.starts_with("sealed:v1:") && !sealed.contains(&secret.reveal()));
        assert_ne!(
            sealed,
            old.seal(&secret).expect("seal"),
            "a fresh nonce each time"
        );
        assert_eq!(old.open(&sealed).expect("open"), secret);
        assert!(!old.needs_reseal(&sealed));

        // Rotation: the new keyring opens the old value through its previous key.
        let new = Keyring::new(&Keyring::generate_key(), &[old_key]).expect("keys");
        assert_eq!(new.open(&sealed).expect("open"), secret);
        assert!(new.needs_reseal(&sealed));
        // A keyring without the sealing key names the key, not the value.
        let stranger = Keyring::new(&Keyring::generate_key(), &[]).expect("key");
        let error = stranger.open(&sealed).expect_err("unknown key").to_string();
        assert!(error.contains(old.current_id()), "{error}");

        // Tampering is detected.
        let mut tampered = sealed.clone();
        let last = tampered.pop().expect("char");
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(old.open(&tampered).is_err());

        // Values from before sealing still open and ask to be resealed.
        assert_eq!(old.open(&secret.reveal()).expect("plain"), secret);
        assert!(old.needs_reseal(&secret.reveal()));
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(Keyring::new("short", &[]).is_err());
        assert!(Keyring::new(&STANDARD.encode([0u8; 16]), &[]).is_err());
        assert!(Keyring::new(&Keyring::generate_key(), &["nope".into()]).is_err());
        let debug = format!(
            "{:?}",
            Keyring::new(&Keyring::generate_key(), &[]).expect("key")
        );
        assert!(debug.contains("current") && !debug.contains('='), "{debug}");
    }
}
