//! What a completion knows beyond its buffer: the buffer's syntax tree, the other open
//! buffers (with theirs), paths as the model sees them, and the prompt settings.
//! Trees are parsed here, off the async runtime and within a time limit, and handed
//! back to their documents so the next parse is incremental.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tower_lsp::lsp_types::Url;

use crate::config::Config;
use crate::document::Snapshot;
use infill_context::OtherFile;

use crate::engine::RequestContext;
use crate::session::Session;

/// Longest one parse may take (a first parse of a large file; edits take far less).
pub const PARSE_LIMIT: Duration = Duration::from_millis(150);
/// Longest all parses of one request may take together.
const TOTAL_PARSE_LIMIT: Duration = Duration::from_millis(250);
/// Other open documents looked at for cross-file context.
const MAX_OTHER_DOCUMENTS: usize = 8;

/// The path of `uri` as shown to the model: relative to `root` when inside it, else
/// the file name.
pub fn display_path(uri: &Url, root: Option<&Path>) -> String {
    let Ok(path) = uri.to_file_path() else {
        return uri.path_segments().and_then(|mut s| s.next_back()).unwrap_or("untitled").to_owned();
    };
    if let Some(relative) = root.and_then(|root| path.strip_prefix(root).ok()) {
        return relative.to_string_lossy().replace('\\', "/");
    }
    path.file_name().map_or_else(|| "untitled".to_owned(), |n| n.to_string_lossy().into_owned())
}

/// The repository name shown to the model: the workspace folder's name.
pub fn repo_name(root: Option<&Path>) -> Option<String> {
    root.and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned())
}

/// Parses the request's document and the other open ones and gathers the context.
pub async fn gather(session: &Session, uri: &Url, snapshot: &Snapshot, config: &Config) -> RequestContext {
    let root: Option<PathBuf> = session.root();
    let others = session.documents.others(uri, MAX_OTHER_DOCUMENTS);
    let current = snapshot.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + TOTAL_PARSE_LIMIT;
        let limit = || deadline.saturating_duration_since(Instant::now()).min(PARSE_LIMIT);
        let own = current.syntax.clone().parse(&current.rope, PARSE_LIMIT);
        let others: Vec<_> = others
            .into_iter()
            .map(|(uri, snap)| {
                let limit = limit();
                let parsed = snap.syntax.clone().parse(&snap.rope, limit);
                // Out of this request's time is not out of the document's: only a parse
                // given the full limit may mark a document as too slow to parse.
                let keep = !parsed.stats.timed_out || limit >= PARSE_LIMIT;
                (uri, snap, parsed, keep)
            })
            .collect();
        (own, others)
    })
    .await;
    let mut context = RequestContext {
        path: display_path(uri, root.as_deref()),
        repo: repo_name(root.as_deref()),
        format: config.prompt_format,
        budget: config.context_tokens,
        prefix_anchor: snapshot.prompt_start.clone(),
        ..RequestContext::default()
    };
    let Ok((own, others)) = parsed else {
        tracing::warn!(%uri, "parsing stopped unexpectedly: completing without syntax trees");
        return context;
    };
    if own.stats.timed_out {
        tracing::info!(%uri, "parsing took longer than {PARSE_LIMIT:?}: this document is completed without a syntax tree");
    }
    session.documents.store_syntax(uri, &own);
    context.tree = own.tree().cloned();
    for (other_uri, snap, parsed, keep) in others {
        if keep {
            session.documents.store_syntax(&other_uri, &parsed);
        }
        context.others.push(OtherFile {
            path: display_path(&other_uri, root.as_deref()),
            language: snap.language,
            rope: snap.rope,
            tree: parsed.tree().cloned(),
            recent_edits: snap.recent_edits,
        });
    }
    context
}
