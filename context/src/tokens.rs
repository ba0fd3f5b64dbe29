//! What the prompt builder needs from a model's tokenizer and vocabulary, as a trait
//! and a plain struct, so this crate needs nothing of the model crate.

/// A tokenizer: exact token ids for text, and the bytes of each token.
pub trait Tokenize {
    /// The ids of `text`, encoded as the model reads it (no special tokens from text).
    fn encode(&self, text: &str) -> Result<Vec<u32>, String>;
    /// The bytes token `id` stands for (its spelling, for special tokens).
    fn token_bytes(&self, id: u32) -> &[u8];
    /// How token `id` is written in logs and prompt dumps (special tokens by name).
    fn spelling(&self, id: u32) -> String {
        String::from_utf8_lossy(self.token_bytes(id)).into_owned()
    }
}

/// The special tokens a prompt may use, as the model's vocabulary has them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpecialTokens {
    /// Beginning of sequence, written first when `add_bos`.
    pub bos: Option<u32>,
    /// Whether prompts start with `bos`.
    pub add_bos: bool,
    /// Fill-in-the-middle: before the prefix.
    pub fim_prefix: Option<u32>,
    /// Fill-in-the-middle: before the suffix.
    pub fim_suffix: Option<u32>,
    /// Fill-in-the-middle: asks for the middle.
    pub fim_middle: Option<u32>,
    /// Repository name header (`<|repo_name|>`, `<repo_name>`).
    pub repo_name: Option<u32>,
    /// Between files (`<|file_sep|>`, `<file_sep>`, `<|file_separator|>`).
    pub file_sep: Option<u32>,
    /// Before a file's path (`<filename>`).
    pub filename: Option<u32>,
}

impl SpecialTokens {
    /// Whether all three fill-in-the-middle tokens are present.
    pub fn has_fim(&self) -> bool {
        self.fim_prefix.is_some() && self.fim_suffix.is_some() && self.fim_middle.is_some()
    }
}
