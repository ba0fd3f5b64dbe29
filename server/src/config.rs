//! User settings: from the command line, `initializationOptions` and
//! `workspace/didChangeConfiguration`, later sources overriding earlier ones key by key.

use std::time::Duration;

use infill_context::PromptFormat;
use serde_json::Value;

pub use crate::confidence::Strictness;
pub use crate::remote::{BackendConfig, Routing};
pub use crate::typing_pace::CompletionDelay;

/// Settings that change what the server does.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Model to load: a path to a `.gguf` file or a hub reference; `None` for none yet.
    pub model: Option<String>,
    /// Whether completions are offered at all.
    pub enable: bool,
    /// Most tokens one suggestion may have.
    pub max_tokens: u32,
    /// Log filter for stderr and `window/logMessage` (`error`..`trace`, or an env-filter string).
    pub log_level: String,
    /// Inference threads; `None` means one per physical core.
    pub threads: Option<usize>,
    /// Prompt format instead of the model's own (`qwen`, `starcoder`, `deepseek`,
    /// `codellama`, `codegemma`, `fim`, `prefix`); `None` follows the model.
    pub prompt_format: Option<PromptFormat>,
    /// Most prompt tokens; `None`: 2048 (`infill_context::prompt_budget`).
    pub context_tokens: Option<usize>,
    /// Wait before starting model work: adaptive, or a fixed time.
    pub completion_delay: CompletionDelay,
    /// Past this, generation stops at the next line end (`None`: no limit).
    pub time_budget: Option<Duration>,
    /// Past this, generation stops at once, even inside the first line (`None`: no limit).
    pub time_limit: Option<Duration>,
    /// Whether the next step is computed while a suggestion is shown.
    pub speculate: bool,
    /// Shortest run of cached prompt tokens moved to a new position instead of evaluated
    /// again (0: never; an approximation, see the engine's `kv_shift`).
    pub cache_reuse: usize,
    /// Most draft tokens (from the text itself) checked with each generated one (0: off).
    pub drafts: usize,
    /// How sure a suggestion must be to be shown.
    pub confidence: Strictness,
    /// A completion server beside the local model (`None`: no network use at all).
    pub backend: Option<BackendConfig>,
    /// Which of the local model and the backend answer.
    pub routing: Routing,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            model: None,
            enable: true,
            max_tokens: 64,
            log_level: "info".into(),
            threads: None,
            prompt_format: None,
            context_tokens: None,
            completion_delay: CompletionDelay::Auto,
            time_budget: Some(DEFAULT_TIME_BUDGET),
            time_limit: Some(DEFAULT_TIME_LIMIT),
            speculate: true,
            cache_reuse: DEFAULT_CACHE_REUSE,
            drafts: infill_model::DEFAULT_DRAFTS,
            confidence: Strictness::default(),
            backend: None,
            routing: Routing::default(),
        }
    }
}

/// Default `cacheReuse`: 0, moving cached keys is off until measured to lose nothing.
const DEFAULT_CACHE_REUSE: usize = 0;
/// The most `drafts` we accept (more costs more than a decode step saves).
const MAX_DRAFTS: u64 = 16;
/// The largest `cacheReuse` we accept (a longer run than any prompt's is "never").
const MAX_CACHE_REUSE: u64 = 4096;
/// The upper bound we accept for `maxTokens`.
const MAX_TOKENS_LIMIT: u32 = 4096;
/// Default `timeBudgetMs`: the first line of a slow multi-line answer shows in time.
const DEFAULT_TIME_BUDGET: Duration = Duration::from_millis(150);
/// Default `timeLimitMs`, counted from the request's arrival: a suggestion is on screen
/// within 200 ms of a keystroke even when its first line is long (it then ends inside
/// the line; the token being computed at the limit still finishes).
const DEFAULT_TIME_LIMIT: Duration = Duration::from_millis(170);
/// Longest `completionDelay` and `timeBudgetMs` we accept, ms.
const MAX_MS: u64 = 60_000;
/// The bounds we accept for `contextTokens`.
const CONTEXT_TOKENS_LIMITS: (u64, u64) = (64, 32768);

impl Config {
    /// Applies the keys present in a settings object, accepting both a bare object and
    /// one nested under `"infill"` (VS Code sends the section, others the whole tree).
    /// Keys of the wrong type are skipped and named in the returned warnings.
    pub fn merge_json(&mut self, settings: &Value) -> Vec<String> {
        let settings = settings.get("infill").unwrap_or(settings);
        let mut warnings = Vec::new();
        let Some(map) = settings.as_object() else {
            if !settings.is_null() {
                warnings.push(format!("settings must be an object, got {settings}"));
            }
            return warnings;
        };
        for (key, value) in map {
            let ok = match key.as_str() {
                "model" => match value {
                    Value::String(s) if s.trim().is_empty() => {
                        self.model = None;
                        true
                    }
                    Value::String(s) => {
                        self.model = Some(s.clone());
                        true
                    }
                    Value::Null => {
                        self.model = None;
                        true
                    }
                    _ => false,
                },
                "enable" => value.as_bool().map(|b| self.enable = b).is_some(),
                "maxTokens" => match value.as_u64() {
                    Some(n) if n >= 1 => {
                        self.max_tokens = n.min(u64::from(MAX_TOKENS_LIMIT)) as u32;
                        true
                    }
                    _ => false,
                },
                "logLevel" => value.as_str().map(|s| self.log_level = s.to_owned()).is_some(),
                "threads" => match value.as_u64() {
                    Some(n) if n >= 1 => {
                        self.threads = Some(n as usize);
                        true
                    }
                    _ => value.is_null().then(|| self.threads = None).is_some(),
                },
                "promptFormat" => match value {
                    Value::Null => {
                        self.prompt_format = None;
                        true
                    }
                    Value::String(s) if s == "auto" || s.is_empty() => {
                        self.prompt_format = None;
                        true
                    }
                    Value::String(s) => PromptFormat::from_name(s).map(|f| self.prompt_format = Some(f)).is_some(),
                    _ => false,
                },
                "contextTokens" => match value.as_u64() {
                    Some(n) => {
                        self.context_tokens = Some(n.clamp(CONTEXT_TOKENS_LIMITS.0, CONTEXT_TOKENS_LIMITS.1) as usize);
                        true
                    }
                    None => value.is_null().then(|| self.context_tokens = None).is_some(),
                },
                "completionDelay" => match value {
                    Value::String(s) if s == "auto" => {
                        self.completion_delay = CompletionDelay::Auto;
                        true
                    }
                    _ => value
                        .as_u64()
                        .map(|ms| self.completion_delay = CompletionDelay::Fixed(Duration::from_millis(ms.min(MAX_MS))))
                        .is_some(),
                },
                "timeBudgetMs" => millis(value, DEFAULT_TIME_BUDGET).map(|d| self.time_budget = d).is_some(),
                "timeLimitMs" => millis(value, DEFAULT_TIME_LIMIT).map(|d| self.time_limit = d).is_some(),
                "speculate" => value.as_bool().map(|b| self.speculate = b).is_some(),
                "drafts" => count(value, MAX_DRAFTS, infill_model::DEFAULT_DRAFTS).map(|n| self.drafts = n).is_some(),
                "cacheReuse" => {
                    count(value, MAX_CACHE_REUSE, DEFAULT_CACHE_REUSE).map(|n| self.cache_reuse = n).is_some()
                }
                "confidence" => match value {
                    Value::Null => {
                        self.confidence = Strictness::default();
                        true
                    }
                    _ => value.as_str().and_then(Strictness::from_name).map(|c| self.confidence = c).is_some(),
                },
                "routing" => match value {
                    Value::Null => {
                        self.routing = Routing::default();
                        true
                    }
                    _ => value.as_str().and_then(Routing::from_name).map(|r| self.routing = r).is_some(),
                },
                "backend" => match BackendConfig::from_json(value) {
                    Ok(backend) => {
                        self.backend = backend;
                        true
                    }
                    Err(why) => {
                        warnings.push(format!("setting `backend` ignored: {why}"));
                        true
                    }
                },
                _ => true, // settings of later versions or other tools: not ours to judge
            };
            if !ok {
                warnings.push(format!("setting `{key}` ignored: unexpected value {value}"));
            }
        }
        warnings
    }
}

/// A count setting: a number (at most `max`), or `null` for `default`; `None` for
/// anything else.
fn count(value: &Value, max: u64, default: usize) -> Option<usize> {
    match value.as_u64() {
        Some(n) => Some(n.min(max) as usize),
        None => value.is_null().then_some(default),
    }
}

/// A time setting in ms: 0 for none, a number (at most `MAX_MS`), or `null` for
/// `default`; `None` for anything else.
fn millis(value: &Value, default: Duration) -> Option<Option<Duration>> {
    match value.as_u64() {
        Some(0) => Some(None),
        Some(ms) => Some(Some(Duration::from_millis(ms.min(MAX_MS)))),
        None => value.is_null().then_some(Some(default)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_merge_and_bad_values_are_reported_not_applied() {
        let mut config = Config::default();
        let warnings = config.merge_json(&json!({
            "infill": { "model": "/m.gguf", "enable": false, "maxTokens": "many", "logLevel": "debug" }
        }));
        assert_eq!(config.model.as_deref(), Some("/m.gguf"));
        assert!(!config.enable);
        assert_eq!(config.max_tokens, 64);
        assert_eq!(config.log_level, "debug");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("maxTokens"), "{warnings:?}");
    }

    #[test]
    fn max_tokens_is_bounded_and_empty_model_means_none() {
        let mut config = Config { model: Some("x".into()), ..Config::default() };
        assert!(config.merge_json(&json!({ "maxTokens": 1_000_000, "model": "" })).is_empty());
        assert_eq!(config.max_tokens, MAX_TOKENS_LIMIT);
        assert_eq!(config.model, None);
        assert_eq!(config.merge_json(&json!({ "maxTokens": 0 })).len(), 1);
    }

    #[test]
    fn prompt_settings_parse_and_unknown_formats_are_reported() {
        let mut config = Config::default();
        assert!(config.merge_json(&json!({ "promptFormat": "deepseek", "contextTokens": 10 })).is_empty());
        assert_eq!(config.prompt_format, Some(PromptFormat::DeepSeekCoder));
        assert_eq!(config.context_tokens, Some(64), "clamped to the lower bound");
        assert_eq!(config.merge_json(&json!({ "promptFormat": "gpt-9" })).len(), 1);
        assert_eq!(config.prompt_format, Some(PromptFormat::DeepSeekCoder), "a bad value changes nothing");
        assert!(config.merge_json(&json!({ "promptFormat": "auto", "contextTokens": null })).is_empty());
        assert_eq!((config.prompt_format, config.context_tokens), (None, None));
    }

    #[test]
    fn latency_settings_parse() {
        let mut config = Config::default();
        assert!(config.merge_json(&json!({ "completionDelay": 25, "timeBudgetMs": 0, "speculate": false })).is_empty());
        assert_eq!(config.completion_delay, CompletionDelay::Fixed(Duration::from_millis(25)));
        assert_eq!((config.time_budget, config.speculate), (None, false));
        assert!(config.merge_json(&json!({ "completionDelay": "auto", "timeBudgetMs": 300 })).is_empty());
        assert_eq!(config.completion_delay, CompletionDelay::Auto);
        assert_eq!(config.time_budget, Some(Duration::from_millis(300)));
        assert_eq!(config.merge_json(&json!({ "completionDelay": "soon" })).len(), 1);
    }

    #[test]
    fn engine_settings_are_bounded_and_null_restores_the_default() {
        let mut config = Config::default();
        assert!(config.merge_json(&json!({ "drafts": 1_000, "cacheReuse": 1_000_000 })).is_empty());
        assert_eq!((config.drafts, config.cache_reuse), (MAX_DRAFTS as usize, MAX_CACHE_REUSE as usize));
        assert!(config.merge_json(&json!({ "drafts": 0, "cacheReuse": 32 })).is_empty());
        assert_eq!((config.drafts, config.cache_reuse), (0, 32));
        assert!(config.merge_json(&json!({ "drafts": null, "cacheReuse": null })).is_empty());
        assert_eq!((config.drafts, config.cache_reuse), (infill_model::DEFAULT_DRAFTS, DEFAULT_CACHE_REUSE));
        assert_eq!(config.merge_json(&json!({ "drafts": -1, "cacheReuse": "lots" })).len(), 2);
        assert_eq!(
            (config.drafts, config.cache_reuse),
            (infill_model::DEFAULT_DRAFTS, DEFAULT_CACHE_REUSE),
            "bad values change nothing"
        );
    }

    #[test]
    fn confidence_routing_and_backend_parse_and_a_key_in_the_settings_is_refused() {
        let mut config = Config::default();
        assert_eq!(
            (config.confidence, config.routing, config.backend.is_none()),
            (Strictness::Balanced, Routing::Hybrid, true)
        );
        let backend = json!({ "api": "openai", "url": "http://gpu:8000/", "model": "qwen", "apiKeyEnv": "TEAM_KEY" });
        assert!(config
            .merge_json(&json!({ "confidence": "strict", "routing": "remoteOnly", "backend": backend }))
            .is_empty());
        assert_eq!((config.confidence, config.routing), (Strictness::Strict, Routing::RemoteOnly));
        let b = config.backend.clone().expect("a backend");
        assert_eq!((b.url.as_str(), b.api_key_env.as_deref()), ("http://gpu:8000", Some("TEAM_KEY")));
        let warnings =
            config.merge_json(&json!({ "backend": { "api": "openai", "url": "http://x", "apiKey": "sk-secret" } }));
        assert_eq!(warnings.len(), 1);
        assert!(!warnings[0].contains("sk-secret"), "the key is never repeated: {warnings:?}");
        assert_eq!(config.backend, Some(b), "a refused backend changes nothing");
        assert_eq!(config.merge_json(&json!({ "confidence": "lenient", "routing": 3 })).len(), 2);
        assert_eq!(config.merge_json(&json!({ "backend": { "api": "llama-server", "url": "ftp://x" } })).len(), 1);
        assert!(config.merge_json(&json!({ "backend": null, "confidence": null })).is_empty());
        assert_eq!((config.backend, config.confidence), (None, Strictness::Balanced));
    }

    #[test]
    fn null_and_non_object_settings_are_harmless() {
        let mut config = Config::default();
        assert!(config.merge_json(&Value::Null).is_empty());
        assert_eq!(config.merge_json(&json!([1, 2])).len(), 1);
        assert_eq!(config, Config::default());
    }
}
