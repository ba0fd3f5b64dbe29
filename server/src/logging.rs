//! Logs: `tracing` events go to stderr (stdout is the protocol) and, once a client is
//! connected, our own crates' events also go to the client as `window/logMessage`.
//! The level can change at run time (`logLevel` setting).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use tokio::sync::mpsc;
use tower_lsp::lsp_types::MessageType;
use tower_lsp::Client;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Layer, Registry};

/// Where events for the client go, once one is attached.
static TO_CLIENT: OnceLock<mpsc::Sender<(MessageType, String)>> = OnceLock::new();
/// Log messages waiting for the client. A client that stops reading stdout must not
/// make the server keep every later log line: past this many, lines are dropped (they
/// still reach stderr) and the client is told how many once it reads again.
const QUEUED_LOG_MESSAGES: usize = 256;
/// Lines dropped since the client last had room.
static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// Changes the log filter after start-up (the default changes nothing: for servers run
/// in process, whose logging belongs to their host).
#[derive(Clone, Default)]
pub struct LogControl {
    handle: Option<reload::Handle<EnvFilter, Registry>>,
}

impl LogControl {
    /// Sets a new filter (`info`, `debug`, `infill_server=trace`, ...).
    pub fn set_level(&self, level: &str) -> Result<(), String> {
        let filter = parse_filter(level)?;
        match &self.handle {
            Some(handle) => handle.reload(filter).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }
}

/// The filter for `level`. tower-lsp's codec logs whole messages at trace level; they
/// stay out of the log at every level, since settings can carry a key someone pasted
/// in by mistake (refused, but it must not be written down either).
fn parse_filter(level: &str) -> Result<EnvFilter, String> {
    let filter = EnvFilter::try_new(level).map_err(|e| format!("bad log level {level:?}: {e}"))?;
    Ok(match "tower_lsp::codec=debug".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    })
}

/// Installs the global subscriber. A bad `level` falls back to `info` and says so.
/// Calling it twice (tests) keeps the first subscriber.
pub fn init(level: &str) -> LogControl {
    let (filter, bad) = match parse_filter(level) {
        Ok(filter) => (filter, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let (filter, handle) = reload::Layer::new(filter);
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(false).with_target(true);
    let installed = tracing_subscriber::registry().with(filter).with(stderr).with(ClientLayer).try_init().is_ok();
    if let Some(e) = bad {
        tracing::warn!("{e}; logging at info");
    }
    LogControl { handle: installed.then_some(handle) }
}

/// Starts forwarding our events to the client. Only the first call takes effect.
pub fn attach_client(client: Client) {
    let (tx, mut rx) = mpsc::channel::<(MessageType, String)>(QUEUED_LOG_MESSAGES);
    if TO_CLIENT.set(tx).is_err() {
        return;
    }
    tokio::spawn(async move {
        while let Some((kind, message)) = rx.recv().await {
            client.log_message(kind, message).await;
            let dropped = DROPPED.swap(0, Ordering::Relaxed);
            if dropped > 0 {
                let note = format!("{dropped} log messages were dropped while the client was not reading; see stderr");
                client.log_message(MessageType::WARNING, note).await;
            }
        }
    });
}

/// Sends our crates' events (not tower-lsp's own, which trace every message) to the client.
struct ClientLayer;

impl<S: Subscriber> Layer<S> for ClientLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let Some(tx) = TO_CLIENT.get() else { return };
        let meta = event.metadata();
        if !meta.target().starts_with("infill") {
            return;
        }
        let kind = match *meta.level() {
            Level::ERROR => MessageType::ERROR,
            Level::WARN => MessageType::WARNING,
            Level::INFO => MessageType::INFO,
            _ => MessageType::LOG,
        };
        let mut text = FieldText::default();
        event.record(&mut text);
        if tx.try_send((kind, text.0)).is_err() {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// An event's message followed by its other fields as `key=value`.
#[derive(Default)]
struct FieldText(String);

impl Visit for FieldText {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let rest = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value:?}{rest}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}
