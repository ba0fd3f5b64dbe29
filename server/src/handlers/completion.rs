//! `textDocument/completion`: the same suggestions as popup items, for editors
//! without ghost text (Helix). Each item carries the whole suggestion.

use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types::{
    CompletionItem, CompletionItemKind, CompletionList, CompletionParams, CompletionResponse, CompletionTextEdit,
    Documentation, InsertTextFormat, MarkupContent, MarkupKind, Range, TextEdit,
};

use super::suggest::suggest;
use crate::position::byte_to_position;
use crate::session::Session;

/// Longest label shown in the popup, in chars.
const LABEL_CHARS: usize = 80;

/// Answers a completion request: one item per suggestion.
pub async fn handle(session: &Session, params: CompletionParams) -> Result<Option<CompletionResponse>> {
    let position = params.text_document_position;
    let invoked =
        params.context.as_ref().is_some_and(|c| c.trigger_kind == tower_lsp::lsp_types::CompletionTriggerKind::INVOKED);
    let empty = CompletionResponse::List(CompletionList { is_incomplete: true, items: Vec::new() });
    let Ok(found) = suggest(session, &position.text_document.uri, position.position, invoked).await else {
        return Ok(Some(empty));
    };
    let rope = &found.snapshot.rope;
    let encoding = session.encoding();
    // Popups filter their items by the word before the cursor: the edit starts at that
    // word and repeats it, so the item always matches what was typed.
    let word_start = infill_context::word_start(rope, found.cursor);
    let language = found.snapshot.language_id.clone();
    let items = found
        .suggestions
        .into_iter()
        .enumerate()
        .map(|(rank, s)| {
            let start = word_start.min(s.replace.start);
            let typed: String = rope.byte_slice(start..s.replace.start).into();
            let new_text = typed + &s.text;
            let first_line = new_text.lines().next().unwrap_or("").trim_end();
            let mut label: String = first_line.chars().take(LABEL_CHARS).collect();
            if first_line.chars().count() > LABEL_CHARS || new_text.trim_end().contains('\n') {
                label.push('…');
            }
            let range =
                Range::new(byte_to_position(rope, start, encoding), byte_to_position(rope, s.replace.end, encoding));
            CompletionItem {
                label,
                kind: Some(CompletionItemKind::TEXT),
                detail: Some("Infill".into()),
                documentation: Some(Documentation::MarkupContent(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: format!("```{language}\n{new_text}\n```"),
                })),
                sort_text: Some(format!("{rank:04}")),
                filter_text: Some(first_line.to_owned()),
                insert_text_format: Some(InsertTextFormat::PLAIN_TEXT),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit { range, new_text })),
                ..CompletionItem::default()
            }
        })
        .collect();
    Ok(Some(CompletionResponse::List(CompletionList { is_incomplete: true, items })))
}
