//! The `builtin` provider: the deterministic coach engine behind the [`Question`] trait. No
//! network, no tokens; the last link of every chain.

use async_trait::async_trait;

use super::{
    CompletionRequest, CompletionResponse, ErrorClass, FinishReason, Provider, ProviderError,
};

/// The provider that answers from the question's own engine.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuiltinProvider;

#[async_trait]
impl Provider for BuiltinProvider {
    fn name(&self) -> &str {
        "builtin"
    }

    async fn complete(
        &self,
        request: &CompletionRequest<'_>,
    ) -> Result<CompletionResponse, ProviderError> {
        let answer = request
            .question
            .builtin_answer()
            .map_err(|message| ProviderError::new(ErrorClass::Permanent, message))?;
        Ok(CompletionResponse {
            content: String::new(),
            value: Some(answer),
            finish: FinishReason::Stop,
            input_tokens: 0,
            output_tokens: 0,
        })
    }
}
