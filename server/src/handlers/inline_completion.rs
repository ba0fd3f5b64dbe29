//! `textDocument/inlineCompletion` (LSP 3.18): ghost text.

use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types::Range;

use super::suggest::suggest;
use crate::position::byte_to_position;
use crate::protocol::{InlineCompletionItem, InlineCompletionList, InlineCompletionParams};
use crate::session::Session;

/// `InlineCompletionTriggerKind.Invoked`.
const INVOKED: u8 = 1;

/// Answers an inline completion request; an empty list when there is nothing to show.
pub async fn handle(session: &Session, params: InlineCompletionParams) -> Result<Option<InlineCompletionList>> {
    let uri = &params.text_document.uri;
    let invoked = params.context.as_ref().is_some_and(|c| c.trigger_kind == INVOKED);
    let Ok(found) = suggest(session, uri, params.position, invoked).await else {
        return Ok(Some(InlineCompletionList::default()));
    };
    let encoding = session.encoding();
    let rope = &found.snapshot.rope;
    let items = found
        .suggestions
        .into_iter()
        .map(|s| InlineCompletionItem {
            range: Some(Range::new(
                byte_to_position(rope, s.replace.start, encoding),
                byte_to_position(rope, s.replace.end, encoding),
            )),
            insert_text: s.text,
            filter_text: None,
        })
        .collect();
    Ok(Some(InlineCompletionList { items }))
}
