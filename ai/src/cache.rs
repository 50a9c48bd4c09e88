//! The exact-match response cache: (task, prompt version, model, canonical input) → answer,
//! with a time to live. In memory, per process, bounded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

/// Most entries kept; the oldest go first beyond it.
const CAPACITY: usize = 10_000;

/// A cached answer.
#[derive(Clone, Debug)]
pub(crate) struct CachedAnswer {
    pub(crate) output: serde_json::Value,
    pub(crate) provider: String,
}

#[derive(Debug, Default)]
pub(crate) struct ResponseCache {
    entries: Mutex<HashMap<String, (Instant, CachedAnswer)>>,
}

impl ResponseCache {
    pub(crate) fn key(
        task: &str,
        prompt_version: &str,
        model: &str,
        input: &serde_json::Value,
    ) -> String {
        let mut hash = Sha256::new();
        for part in [task, prompt_version, model] {
            hash.update(part.as_bytes());
            hash.update([0u8]);
        }
        hash.update(input.to_string().as_bytes());
        hex::encode(hash.finalize())
    }

    pub(crate) fn get(&self, key: &str, now: Instant) -> Option<CachedAnswer> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(key) {
            Some((expires, answer)) if now < *expires => Some(answer.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    pub(crate) fn put(&self, key: String, answer: CachedAnswer, ttl: Duration, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CAPACITY {
            entries.retain(|_, (expires, _)| now < *expires);
            if entries.len() >= CAPACITY {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, (expires, _))| *expires)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(key, (now + ttl, answer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_expire() {
        let cache = ResponseCache::default();
        let now = Instant::now();
        let key = ResponseCache::key("t", "v1", "m", &json!({"a": 1}));
        assert_ne!(key, ResponseCache::key("t", "v2", "m", &json!({"a": 1})));
        let answer = CachedAnswer {
            output: json!({"x": 1}),
            provider: "openai".into(),
        };
        cache.put(key.clone(), answer, Duration::from_secs(10), now);
        assert!(cache.get(&key, now + Duration::from_secs(9)).is_some());
        assert!(cache.get(&key, now + Duration::from_secs(10)).is_none());
    }
}
