//! A completion server beside the local model: llama.cpp's `llama-server` (`/infill`)
//! or any OpenAI-compatible `/v1/completions` endpoint (vLLM, Ollama, LM Studio, ...).
//! Configured by the `backend` setting; without one, this module makes no connection
//! at all. A request streams its answer and stops reading (closing the connection) as
//! soon as the finisher says the suggestion is complete, or when its future is dropped
//! (the request was cancelled or superseded). The key, when the server needs one, is
//! read from the environment variable the settings name and only ever written into
//! the `Authorization` header.

mod api;
pub mod health;
mod stream;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use infill_context::{Finisher, PromptFormat};
use serde_json::Value;

pub use api::RemoteApi;
pub use health::{Change, Health};

/// Default wait for the remote answer once the router asks for it.
const DEFAULT_BUDGET: Duration = Duration::from_millis(400);
/// Default longest life of a remote request (a late answer still lands in the cache).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest `budgetMs` / `timeoutMs` we accept.
const MAX_MS: u64 = 60_000;
/// Text before the cursor sent to the server (whole lines within this many bytes).
const PREFIX_BYTES: usize = 8192;
/// Text after the cursor sent to the server.
const SUFFIX_BYTES: usize = 2048;
/// Most times the text sent is halved for a server whose context is too small.
const MAX_HALVINGS: u32 = 4;
/// Most other open files sent as `input_extra`, and bytes of each.
const EXTRA_FILES: usize = 3;
/// See `EXTRA_FILES`.
const EXTRA_BYTES: usize = 2048;

/// Which of the local model and the backend answer (`routing` setting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Routing {
    /// The local model first; the backend for low-confidence answers and blocks.
    #[default]
    Hybrid,
    /// The local model only (the backend is never asked).
    LocalOnly,
    /// The backend only (no local model needed).
    RemoteOnly,
}

impl Routing {
    /// The setting's value for `name` (`hybrid`, `localOnly`, `remoteOnly`).
    pub fn from_name(name: &str) -> Option<Routing> {
        match name {
            "hybrid" => Some(Routing::Hybrid),
            "localOnly" => Some(Routing::LocalOnly),
            "remoteOnly" => Some(Routing::RemoteOnly),
            _ => None,
        }
    }
}

/// The `backend` setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendConfig {
    /// How the server is spoken to.
    pub api: RemoteApi,
    /// Its base URL (`http://host:port`, no trailing slash).
    pub url: String,
    /// The model name sent with OpenAI-style requests.
    pub model: Option<String>,
    /// The environment variable holding the key (never the key itself).
    pub api_key_env: Option<String>,
    /// The remote model's fill-in-the-middle tokens, written into the prompt when the
    /// server refuses `suffix` (`None`: guessed from the model name).
    pub prompt_format: Option<PromptFormat>,
    /// How long the router waits for the remote answer before showing the local one.
    pub budget: Duration,
    /// How long a remote request may live at all (a late answer goes to the cache).
    pub timeout: Duration,
}

impl BackendConfig {
    /// The setting from JSON: `null` for none, else an object with `api` and `url`.
    pub fn from_json(value: &Value) -> Result<Option<BackendConfig>, String> {
        if value.is_null() {
            return Ok(None);
        }
        let map = value.as_object().ok_or("expected an object with `api` and `url`, or null")?;
        if map.contains_key("apiKey") || map.contains_key("key") {
            // Said without the value: settings files are shared and logged.
            return Err("a key does not belong in the settings: put it in an environment variable and name that variable in `apiKeyEnv`".into());
        }
        let api = map
            .get("api")
            .and_then(Value::as_str)
            .and_then(RemoteApi::from_name)
            .ok_or("`api` must be `llama-server` or `openai`")?;
        let url = map.get("url").and_then(Value::as_str).map(|u| u.trim().trim_end_matches('/')).unwrap_or_default();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err("`url` must start with http:// or https://".into());
        }
        let text = |key: &str| map.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
        let ms = |key: &str, default: Duration| {
            map.get(key).and_then(Value::as_u64).map_or(default, |ms| Duration::from_millis(ms.clamp(1, MAX_MS)))
        };
        let prompt_format = match text("promptFormat") {
            Some(name) => Some(PromptFormat::from_name(&name).ok_or("unknown `promptFormat`")?),
            None => None,
        };
        Ok(Some(BackendConfig {
            api,
            url: url.to_owned(),
            model: text("model"),
            api_key_env: text("apiKeyEnv"),
            prompt_format,
            budget: ms("budgetMs", DEFAULT_BUDGET),
            timeout: ms("timeoutMs", DEFAULT_TIMEOUT),
        }))
    }
}

/// What a remote request failed on, in words fit for the status line (never the key).
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// No connection (refused, reset, DNS).
    #[error("cannot reach {0}")]
    Unreachable(String),
    /// An HTTP error status.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The endpoint.
        url: String,
        /// The status code.
        status: u16,
        /// Whether the body says the `suffix` field is not supported.
        suffix_refused: bool,
        /// Whether the body says the request exceeds the model's context.
        too_long: bool,
    },
    /// A reply that is not a completion.
    #[error("{0} answered something that is not a completion")]
    Garbage(String),
    /// A streamed reply that ended without its end mark.
    #[error("{0} closed the connection before the answer ended")]
    Cut(String),
    /// No (whole) answer within the request's time.
    #[error("{url} did not answer within {ms} ms")]
    Timeout {
        /// The endpoint.
        url: String,
        /// The time allowed.
        ms: u128,
    },
    /// The key's environment variable is missing.
    #[error("the environment variable `{0}` named by `apiKeyEnv` is not set")]
    MissingKey(String),
}

/// What the server is asked: the text around the cursor and other open files.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RemoteInput {
    /// Text before the cursor (whole lines but the last).
    pub prefix: String,
    /// Text after the cursor.
    pub suffix: String,
    /// Other open files: path and text.
    pub extra: Vec<(String, String)>,
    /// Most tokens to generate.
    pub max_tokens: u32,
}

impl RemoteInput {
    /// The input for a cursor in `rope`, with up to a few other files.
    pub fn new(rope: &ropey::Rope, cursor: usize, others: &[infill_context::OtherFile], max_tokens: u32) -> Self {
        let cursor = infill_context::floor_char(rope, cursor.min(rope.len_bytes()));
        let line = rope.byte_to_line(cursor);
        let mut first = line;
        while first > 0 && cursor - rope.line_to_byte(first - 1) <= PREFIX_BYTES {
            first -= 1;
        }
        let end = infill_context::floor_char(rope, (cursor + SUFFIX_BYTES).min(rope.len_bytes()));
        let extra = others
            .iter()
            .take(EXTRA_FILES)
            .map(|o| {
                let end = infill_context::floor_char(&o.rope, EXTRA_BYTES.min(o.rope.len_bytes()));
                (o.path.clone(), o.rope.byte_slice(..end).to_string())
            })
            .collect();
        RemoteInput {
            prefix: rope.byte_slice(rope.line_to_byte(first)..cursor).to_string(),
            suffix: rope.byte_slice(cursor..end).to_string(),
            extra,
            max_tokens,
        }
    }
}

impl RemoteInput {
    /// The input with its prefix and suffix cut to about a `2^halvings`th (whole lines
    /// nearest the cursor) and no other files once halved at all.
    pub fn halved(&self, halvings: u32) -> RemoteInput {
        if halvings == 0 {
            return self.clone();
        }
        let keep = |len: usize| len >> halvings.min(16);
        // Whole lines: the prefix from the start of the line its cut falls in, the suffix
        // to the end of that line.
        let cut = infill_context::ceil_char_str(&self.prefix, self.prefix.len() - keep(self.prefix.len()));
        let start = self.prefix[..cut].rfind('\n').map_or(0, |i| i + 1);
        let cut = infill_context::ceil_char_str(&self.suffix, keep(self.suffix.len()));
        let end = if cut == 0 { 0 } else { self.suffix[cut..].find('\n').map_or(self.suffix.len(), |i| cut + i + 1) };
        RemoteInput {
            prefix: self.prefix[start..].to_owned(),
            suffix: self.suffix[..end].to_owned(),
            extra: Vec::new(),
            max_tokens: self.max_tokens,
        }
    }
}

/// The configured backend: its client, its health and what it was found to refuse.
pub struct Remote {
    config: BackendConfig,
    client: reqwest::Client,
    /// Its record of answers and failures.
    pub health: Health,
    /// The server refused `suffix` once: FIM tokens go into the prompt from then on.
    suffix_refused: AtomicBool,
    /// How many times the text sent was halved because the server's context was too
    /// small for it (kept for later requests).
    halvings: AtomicU32,
}

impl Remote {
    /// A client for `config` (no connection is made until a request).
    pub fn new(config: BackendConfig) -> Result<Remote, RemoteError> {
        let client = reqwest::Client::builder()
            // Requests go where the settings say, never through a proxy from the environment.
            .no_proxy()
            .connect_timeout(config.timeout.min(Duration::from_secs(2)))
            .build()
            .map_err(|_| RemoteError::Unreachable(config.url.clone()))?;
        let health = Health::new(config.budget);
        Ok(Remote { config, client, health, suffix_refused: AtomicBool::new(false), halvings: AtomicU32::new(0) })
    }

    /// The settings it was made from.
    pub fn config(&self) -> &BackendConfig {
        &self.config
    }

    /// The completion for `input`, tidied by `finisher`, within the backend's timeout,
    /// and the change in the server's health the user should hear of. Dropping the
    /// future closes the connection (and records nothing).
    pub async fn complete(
        &self,
        input: &RemoteInput,
        finisher: &Finisher,
    ) -> (Result<String, RemoteError>, Option<Change>) {
        let started = Instant::now();
        let result = tokio::time::timeout(self.config.timeout, self.ask(input, finisher)).await.unwrap_or_else(|_| {
            Err(RemoteError::Timeout { url: self.config.url.clone(), ms: self.config.timeout.as_millis() })
        });
        let change = match &result {
            Ok(_) => self.health.succeeded(started.elapsed()),
            Err(e) => self.health.failed(e, started.elapsed()),
        };
        (result, change)
    }

    /// One request, asked again with FIM tokens in the prompt when `suffix` is refused,
    /// and with half the text when the server's context is too small for it.
    async fn ask(&self, input: &RemoteInput, finisher: &Finisher) -> Result<String, RemoteError> {
        let format = self.fim_format();
        loop {
            let inline_fim = self.suffix_refused.load(Ordering::Relaxed) && format.is_some();
            let halvings = self.halvings.load(Ordering::Relaxed);
            let sent = input.halved(halvings);
            match self.request(&sent, finisher, inline_fim.then_some(format).flatten()).await {
                Err(RemoteError::Status { suffix_refused: true, .. }) if !inline_fim && format.is_some() => {
                    tracing::info!(url = %self.config.url, "the backend refuses `suffix`: writing FIM tokens into the prompt");
                    self.suffix_refused.store(true, Ordering::Relaxed);
                }
                Err(RemoteError::Status { too_long: true, .. }) if halvings < MAX_HALVINGS => {
                    tracing::info!(url = %self.config.url, halvings = halvings + 1, "the backend's context is too small: sending less text");
                    self.halvings.store(halvings + 1, Ordering::Relaxed);
                }
                other => return other,
            }
        }
    }

    /// The remote model's FIM format: the setting, else guessed from the model's name.
    fn fim_format(&self) -> Option<PromptFormat> {
        self.config.prompt_format.or_else(|| api::guess_format(self.config.model.as_deref().unwrap_or_default()))
    }

    async fn request(
        &self,
        input: &RemoteInput,
        finisher: &Finisher,
        inline_fim: Option<PromptFormat>,
    ) -> Result<String, RemoteError> {
        let api = self.config.api;
        let url = format!("{}{}", self.config.url, api.path());
        let body = api.body(input, self.config.model.as_deref(), inline_fim);
        let mut request =
            self.client.post(&url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_string());
        if let Some(var) = &self.config.api_key_env {
            let key = std::env::var(var).map_err(|_| RemoteError::MissingKey(var.clone()))?;
            request = request.bearer_auth(key);
        }
        let mut response = request.send().await.map_err(|_| RemoteError::Unreachable(url.clone()))?;
        let status = response.status();
        if !status.is_success() {
            // A short look at the body: servers say there which field they refuse.
            let body = tokio::time::timeout(Duration::from_millis(200), response.text()).await;
            let body = body.ok().and_then(Result::ok).unwrap_or_default().to_ascii_lowercase();
            let suffix_refused = body.contains("suffix");
            let too_long =
                body.contains("context") && ["exceed", "maximum", "too long"].iter().any(|w| body.contains(w));
            return Err(RemoteError::Status { url, status: status.as_u16(), suffix_refused, too_long });
        }
        let mut reader = stream::Reader::default();
        let mut text = String::new();
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(_) => return Err(RemoteError::Cut(url)),
            };
            for event in reader.push(&chunk) {
                let Some((piece, last)) = api.piece(&event) else { return Err(RemoteError::Garbage(url)) };
                text.push_str(&piece);
                if last || finisher.is_complete(&text) {
                    // Dropping `response` closes the connection: the server stops too.
                    return Ok(finisher.finish(&text));
                }
            }
        }
        match reader.finish() {
            // A reply that was not streamed: one JSON body.
            Some(whole) => match api.piece(&whole) {
                Some((piece, _)) => Ok(finisher.finish(&(text + &piece))),
                None => Err(RemoteError::Garbage(url)),
            },
            None if reader.saw_events() => Err(RemoteError::Cut(url)),
            None => Err(RemoteError::Garbage(url)),
        }
    }
}
