//! The two ways of asking a server: request bodies and the text in their replies.

use infill_context::PromptFormat;
use serde_json::{json, Value};

use super::RemoteInput;

/// How the backend is spoken to (`backend.api` setting).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteApi {
    /// llama.cpp's `llama-server`: `/infill` with `input_prefix`, `input_suffix`,
    /// `input_extra` (the server writes its model's FIM tokens).
    LlamaServer,
    /// OpenAI-compatible `/v1/completions` with `prompt` and `suffix`.
    OpenAi,
}

impl RemoteApi {
    /// The setting's value for `name`.
    pub fn from_name(name: &str) -> Option<RemoteApi> {
        match name {
            "llama-server" | "llamaServer" | "llama.cpp" => Some(RemoteApi::LlamaServer),
            "openai" | "openAi" | "openai-compatible" => Some(RemoteApi::OpenAi),
            _ => None,
        }
    }

    /// The endpoint's path.
    pub fn path(self) -> &'static str {
        match self {
            RemoteApi::LlamaServer => "/infill",
            RemoteApi::OpenAi => "/v1/completions",
        }
    }

    /// The request body for `input`; with `inline_fim`, the FIM tokens of that format
    /// are written into `prompt` and no `suffix` is sent.
    pub fn body(self, input: &RemoteInput, model: Option<&str>, inline_fim: Option<PromptFormat>) -> Value {
        match self {
            RemoteApi::LlamaServer => {
                let extra: Vec<Value> =
                    input.extra.iter().map(|(path, text)| json!({ "filename": path, "text": text })).collect();
                json!({
                    "input_prefix": input.prefix,
                    "input_suffix": input.suffix,
                    "input_extra": extra,
                    "prompt": "",
                    "n_predict": input.max_tokens,
                    "temperature": 0.0,
                    "top_k": 1,
                    "cache_prompt": true,
                    "stream": true,
                })
            }
            RemoteApi::OpenAi => {
                let mut body = json!({
                    "prompt": input.prefix,
                    "suffix": input.suffix,
                    "max_tokens": input.max_tokens,
                    "temperature": 0.0,
                    "stream": true,
                });
                if let Some(model) = model {
                    body["model"] = json!(model);
                }
                if let Some([pre, suf, mid]) = inline_fim.and_then(PromptFormat::fim_text) {
                    body["prompt"] = json!(format!("{pre}{}{suf}{}{mid}", input.prefix, input.suffix));
                    if let Some(map) = body.as_object_mut() {
                        map.remove("suffix");
                    }
                }
                body
            }
        }
    }

    /// The text in one event (or a whole reply) and whether it is the last; `None` for
    /// anything that is not a completion.
    pub fn piece(self, event: &str) -> Option<(String, bool)> {
        if event.trim() == "[DONE]" {
            return Some((String::new(), true));
        }
        let value: Value = serde_json::from_str(event).ok()?;
        match self {
            RemoteApi::LlamaServer => {
                let text = value.get("content")?.as_str()?.to_owned();
                Some((text, value.get("stop").and_then(Value::as_bool).unwrap_or(false)))
            }
            RemoteApi::OpenAi => {
                let choice = value.get("choices")?.get(0)?;
                let text = choice.get("text")?.as_str()?.to_owned();
                Some((text, false))
            }
        }
    }
}

/// The FIM format a model's name suggests (`qwen2.5-coder:7b` is Qwen's).
pub fn guess_format(model: &str) -> Option<PromptFormat> {
    let name = model.to_ascii_lowercase();
    [
        ("qwen", PromptFormat::QwenCoder),
        ("starcoder", PromptFormat::StarCoder),
        ("deepseek", PromptFormat::DeepSeekCoder),
        ("codellama", PromptFormat::CodeLlama),
        ("code-llama", PromptFormat::CodeLlama),
        ("codegemma", PromptFormat::CodeGemma),
    ]
    .into_iter()
    .find(|(part, _)| name.contains(part))
    .map(|(_, format)| format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> RemoteInput {
        RemoteInput {
            prefix: "def f(x):\n    return ".into(),
            suffix: "\nprint(f(1))\n".into(),
            extra: vec![("b.py".into(), "X = 1\n".into())],
            max_tokens: 32,
        }
    }

    #[test]
    fn bodies_carry_the_text_around_the_cursor() {
        let llama = RemoteApi::LlamaServer.body(&input(), None, None);
        assert_eq!(llama["input_prefix"], "def f(x):\n    return ");
        assert_eq!(llama["input_extra"][0]["filename"], "b.py");
        let openai = RemoteApi::OpenAi.body(&input(), Some("qwen2.5-coder:7b"), None);
        assert_eq!(
            (openai["suffix"].as_str(), openai["model"].as_str()),
            (Some("\nprint(f(1))\n"), Some("qwen2.5-coder:7b"))
        );
        let inline = RemoteApi::OpenAi.body(&input(), None, guess_format("Qwen2.5-Coder-7B"));
        assert_eq!(inline["prompt"], "<|fim_prefix|>def f(x):\n    return <|fim_suffix|>\nprint(f(1))\n<|fim_middle|>");
        assert!(inline.get("suffix").is_none());
        let llama_fim = RemoteApi::OpenAi.body(&input(), None, Some(PromptFormat::CodeLlama));
        assert!(llama_fim["prompt"].as_str().is_some_and(|p| p.starts_with(" <PRE>")), "{llama_fim}");
    }

    #[test]
    fn halving_keeps_the_lines_nearest_the_cursor_and_drops_other_files() {
        let input = RemoteInput {
            prefix: "line one\nline two\nline three\n    return ".into(),
            suffix: "\nprint(1)\nprint(2)\n".into(),
            extra: vec![("b.py".into(), "X = 1\n".into())],
            max_tokens: 8,
        };
        assert_eq!(input.halved(0), input);
        let half = input.halved(1);
        assert_eq!((half.prefix.as_str(), half.suffix.as_str()), ("line three\n    return ", "\nprint(1)\n"));
        assert!(half.extra.is_empty());
        let tiny = input.halved(4);
        assert!(input.prefix.ends_with(&tiny.prefix) && tiny.prefix.ends_with("return "), "{tiny:?}");
        assert_eq!(input.halved(40).suffix, "", "any number of halvings is safe");
    }

    #[test]
    fn replies_give_their_text_and_anything_else_is_refused() {
        assert_eq!(RemoteApi::LlamaServer.piece(r#"{"content":"x","stop":false}"#), Some(("x".into(), false)));
        assert_eq!(RemoteApi::LlamaServer.piece(r#"{"content":"","stop":true}"#), Some((String::new(), true)));
        assert_eq!(RemoteApi::OpenAi.piece(r#"{"choices":[{"text":"y","index":0}]}"#), Some(("y".into(), false)));
        assert_eq!(RemoteApi::OpenAi.piece("[DONE]"), Some((String::new(), true)));
        for garbage in ["<html>", r#"{"error":"overloaded"}"#, r#"{"choices":[]}"#, r#"{"content":3}"#] {
            assert_eq!(RemoteApi::LlamaServer.piece(garbage).or(RemoteApi::OpenAi.piece(garbage)), None, "{garbage}");
        }
        assert_eq!(guess_format("deepseek-coder-6.7b-base"), Some(PromptFormat::DeepSeekCoder));
        assert_eq!(guess_format("gpt-3.5-turbo-instruct"), None);
    }
}
