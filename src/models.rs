//! Builds the orchestrator and the executor's per-kind plans from the settings.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use sparta_ai::{BreakerConfig, ModelSpec, OpenAiProvider, Orchestrator, RetryPolicy};
use sparta_coach::JobKind;
use sparta_worker::{ExecutorConfig, KindPlan};

use crate::settings::Settings;

/// The orchestrator with every configured model (plus `builtin`), retry and breaker policy.
pub(crate) fn orchestrator(settings: &Settings) -> anyhow::Result<Orchestrator> {
    let ai = &settings.ai;
    let mut orchestrator = Orchestrator::new()
        .with_retry(RetryPolicy {
            max_retries: ai.retry.max_retries,
            backoff: sparta_ai::Backoff {
                base: Duration::from_millis(ai.retry.base_ms),
                max: Duration::from_millis(ai.retry.max_ms),
            },
            retry_after_cap: Duration::from_secs(ai.retry.retry_after_cap_secs),
        })
        .with_breaker(BreakerConfig {
            consecutive_failures: ai.breaker.consecutive_failures,
            failure_rate: ai.breaker.failure_rate,
            min_calls: ai.breaker.min_calls,
            window: Duration::from_secs(ai.breaker.window_secs),
            cooldown: Duration::from_secs(ai.breaker.cooldown_secs),
        });
    for (name, model) in &ai.models {
        if name == sparta_ai::BUILTIN {
            bail!("ai.models.builtin: the name `builtin` is reserved for the coach engine");
        }
        if model.provider != "openai" {
            bail!(
                "ai.models.{name}.provider: unknown provider '{}' (known: openai, for any OpenAI-compatible server)",
                model.provider
            );
        }
        let timeout = Duration::from_millis(model.timeout_ms);
        let key = settings.model_api_key(model)?;
        let provider = OpenAiProvider::new(&model.base_url, &key, timeout)
            .map_err(|e| anyhow::anyhow!("ai.models.{name}: {e}"))?;
        let mut spec = ModelSpec::new(Arc::new(provider), model.model.clone(), model.mode, timeout);
        spec.max_tokens = model.max_tokens;
        spec.temperature = model.temperature;
        spec.price_input_per_mtok = model.price_input_per_mtok;
        spec.price_output_per_mtok = model.price_output_per_mtok;
        orchestrator.add_model(name.clone(), spec);
    }
    Ok(orchestrator)
}

/// Per-kind chains, time budgets and caches.
pub(crate) fn executor_config(settings: &Settings) -> anyhow::Result<ExecutorConfig> {
    let ai = &settings.ai;
    let ttl = |secs: u64| (secs > 0).then(|| Duration::from_secs(secs));
    let default_plan = KindPlan {
        chain: ai.default_chain.clone(),
        timeout: Duration::from_secs(settings.worker.job_timeout_secs),
        cache_ttl: ttl(ai.cache_ttl_secs),
    };
    let mut plans = HashMap::new();
    for (name, kind_settings) in &ai.kinds {
        let kind: JobKind = name
            .parse()
            .with_context(|| format!("ai.kinds.{name}: unknown job kind"))?;
        plans.insert(
            kind,
            KindPlan {
                chain: kind_settings
                    .chain
                    .clone()
                    .unwrap_or_else(|| default_plan.chain.clone()),
                timeout: kind_settings
                    .timeout_secs
                    .map(Duration::from_secs)
                    .unwrap_or(default_plan.timeout),
                cache_ttl: kind_settings
                    .cache_ttl_secs
                    .map_or(default_plan.cache_ttl, ttl),
            },
        );
    }
    // The engine last: whatever the LLMs do, a valid input always gets an answer.
    for (what, plan) in std::iter::once(("ai.default_chain".to_owned(), &default_plan)).chain(
        plans
            .iter()
            .map(|(kind, plan)| (format!("ai.kinds.{kind}.chain"), plan)),
    ) {
        if plan.chain.last().map(String::as_str) != Some(sparta_ai::BUILTIN) {
            bail!(
                "{what} must end with \"builtin\" (the coach engine), got {:?}",
                plan.chain
            );
        }
    }
    Ok(ExecutorConfig {
        prompts_dir: ai.prompts_dir.clone(),
        default_plan,
        plans,
        retry: sparta_ai::Backoff {
            base: Duration::from_millis(settings.worker.retry_base_ms),
            max: Duration::from_secs(settings.worker.retry_max_secs),
        },
    })
}
