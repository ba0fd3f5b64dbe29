//! What the prompt builder needs from a model's tokenizer, as a trait, so this crate
//! needs nothing of the model crate (the special tokens come from `infill-family`).

/// A tokenizer: exact token ids for text, and the bytes of each token.
pub trait Tokenize {
    /// The ids of `text`, encoded as the model reads it (no special tokens from text).
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizeError>;
    /// The bytes token `id` stands for (its spelling, for special tokens).
    fn token_bytes(&self, id: u32) -> &[u8];
    /// How token `id` is written in logs and prompt dumps (special tokens by name).
    fn spelling(&self, id: u32) -> String {
        String::from_utf8_lossy(self.token_bytes(id)).into_owned()
    }
}

/// The model's tokenizer refused a text; the source is the tokenizer's own error.
#[derive(Debug, thiserror::Error)]
#[error("the tokenizer refused the text")]
pub struct TokenizeError(#[source] pub Box<dyn std::error::Error + Send + Sync>);
