//! Assembling the prompt: the format's special tokens, other files' snippets, the
//! path, the prefix and the suffix, each fitted to its share of the token budget.

use std::sync::Arc;

use ropey::Rope;
use tree_sitter::Tree;

use crate::budget::{self, Kept};
use crate::cross_file::{self, OtherFile, Snippet};
use crate::finish::Finisher;
use crate::language::Language;
use crate::scopes;
use crate::shape::{self, Shape, ShapeDecision};
use crate::text::{floor_char_str, IndentStyle};
use crate::tokens::Tokenize;
use crate::ContextError;
use crate::{FileLayout, PromptFormat, SpecialTokens};

/// Everything a prompt is built from.
#[derive(Clone, Copy)]
pub struct PromptInput<'a> {
    /// The buffer.
    pub rope: &'a Rope,
    /// The cursor, a byte offset into `rope`.
    pub cursor: usize,
    /// The buffer's path as shown to the model (relative to the repository when known).
    pub path: &'a str,
    /// The repository's name, for formats with repository tokens.
    pub repo: Option<&'a str>,
    /// The buffer's language.
    pub language: Language,
    /// The buffer's syntax tree, when it has one.
    pub tree: Option<&'a Tree>,
    /// Other open buffers, most recently edited first.
    pub others: &'a [OtherFile],
    /// Where the previous prompt for this buffer started, and its scope headers: kept
    /// while they fit, so the prompt's start stays put.
    pub prefix_anchor: Option<&'a PrefixAnchor>,
}

/// Where a prompt's text started in its buffer, and the scope header lines put above
/// it: the next request's anchor. The caller keeps it while edits come after `start`,
/// drops it on an edit before `start`, and drops `middle` on an edit before `middle.at`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PrefixAnchor {
    /// A byte offset at a line start (0: the buffer's start).
    pub start: usize,
    /// The scope header lines above it.
    pub headers: String,
    /// Fill-in-the-middle prompts: the prompt's head frozen where the user started
    /// typing, so that typing there only appends tokens.
    pub middle: Option<Arc<MiddleAnchor>>,
}

/// A fill-in-the-middle prompt's head (everything up to and including the middle
/// token) frozen at the place where the user started typing.
///
/// While the user types at that place, the text before it and the text after the
/// cursor stay what they were, so the prompt `head + typed` (the text typed since,
/// written after the middle token, where a fill-in-the-middle model expects the start
/// of the middle) is exactly the prompt for the current text, and each keystroke only
/// appends tokens: the model's cached keys and values for the head stay valid. The
/// anchor is left (and a fresh head built) when the cursor moves away, the text before
/// `at` or after the cursor changes, or the typed text outgrows the budget.
#[derive(Clone, Debug, PartialEq)]
pub struct MiddleAnchor {
    /// Where the typed text begins: the frozen prefix ends here.
    pub at: usize,
    /// A hash of the buffer's text from the prompt's start to `at`: the head holds
    /// only while that text is unchanged.
    pub before: u64,
    /// The frozen suffix: the text that must follow the cursor.
    pub suffix: String,
    /// The head's token ids.
    pub ids: Vec<u32>,
    /// The head as text, special tokens spelled out.
    pub text: String,
    /// Where the head's tokens went.
    pub counts: PartCounts,
    /// Other files' snippets in the head.
    pub snippets: Vec<Snippet>,
    /// The options the head was built with (a change of format, tokens or budget
    /// needs a new head).
    pub options: PromptOptions,
}

/// Most bytes typed at one place before the head is rebuilt there (a fresh head cuts
/// the prefix anew and so keeps the budget's room for typing).
const MAX_TYPED_BYTES: usize = 4096;

impl MiddleAnchor {
    /// The text typed since the head was frozen, when the anchor still describes the
    /// buffer: the cursor at or after `at`, not too far, followed by the frozen suffix.
    fn typed(&self, rope: &Rope, start: usize, cursor: usize, options: &PromptOptions) -> Option<String> {
        if *options != self.options || cursor < self.at || cursor - self.at > MAX_TYPED_BYTES {
            return None;
        }
        if crate::text::hash_slice(rope, start..self.at) != Some(self.before) {
            return None;
        }
        let end = cursor.checked_add(self.suffix.len())?;
        if end > rope.len_bytes() || !crate::text::slice_equals(rope, cursor, &self.suffix) {
            return None;
        }
        Some(rope.get_byte_slice(self.at..cursor)?.to_string())
    }
}

/// How prompts are laid out and how large they may be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PromptOptions {
    /// The layout (already checked against the vocabulary with [`PromptFormat::usable_with`]).
    pub format: PromptFormat,
    /// The model's special tokens.
    pub tokens: SpecialTokens,
    /// Most tokens in the whole prompt.
    pub budget: usize,
    /// Share of what is left after headers and other files that the suffix may take.
    pub suffix_share: f32,
    /// Share of the budget other files' snippets may take.
    pub cross_file_share: f32,
}

impl PromptOptions {
    /// Default shares for a format and a budget.
    pub fn new(format: PromptFormat, tokens: SpecialTokens, budget: usize) -> PromptOptions {
        PromptOptions { format, tokens, budget, suffix_share: 0.25, cross_file_share: 0.25 }
    }
}

/// Where a prompt's tokens went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartCounts {
    /// Special tokens, paths and file headers.
    pub headers: usize,
    /// Other files' snippets.
    pub cross_file: usize,
    /// The text before the cursor (scope headers included).
    pub prefix: usize,
    /// The text after the cursor.
    pub suffix: usize,
    /// Text typed since a fill-in-the-middle head was frozen, after the middle token.
    pub middle: usize,
    /// Scope header lines kept above a cut prefix.
    pub scope_lines: usize,
}

impl PartCounts {
    /// All tokens.
    pub fn total(&self) -> usize {
        self.headers + self.cross_file + self.prefix + self.suffix + self.middle
    }
}

/// A prompt ready for the model.
#[derive(Clone, Debug)]
pub struct Prompt {
    /// Token ids to evaluate.
    pub ids: Vec<u32>,
    /// Bytes the answer must begin with (token healing: the prompt's last token was
    /// taken off because the cursor may sit inside it).
    pub heal: Vec<u8>,
    /// The prompt as text, special tokens spelled out (for logs and `infill-ls prompt`).
    pub text: String,
    /// Where the tokens went.
    pub counts: PartCounts,
    /// The shape decided for the cursor.
    pub decision: ShapeDecision,
    /// Post-processing for the answer (also the engine's stop check).
    pub finisher: Finisher,
    /// The layout used.
    pub format: PromptFormat,
    /// Other files' snippets that made it into the prompt.
    pub snippets: Vec<Snippet>,
    /// Where the prefix starts in the buffer, for the next request.
    pub prefix_anchor: PrefixAnchor,
    /// Whether the head came from the anchor (only typed text after it is new).
    pub anchored: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Headers,
    CrossFile,
    Prefix,
    Suffix,
    Middle,
}

/// Ids and text laid end to end.
struct Assembly<'t> {
    tokenizer: &'t dyn Tokenize,
    ids: Vec<u32>,
    text: String,
    counts: PartCounts,
}

impl Assembly<'_> {
    fn count(&mut self, part: Part, n: usize) {
        match part {
            Part::Headers => self.counts.headers += n,
            Part::CrossFile => self.counts.cross_file += n,
            Part::Prefix => self.counts.prefix += n,
            Part::Suffix => self.counts.suffix += n,
            Part::Middle => self.counts.middle += n,
        }
    }

    fn special(&mut self, id: Option<u32>) {
        if let Some(id) = id {
            self.ids.push(id);
            self.text.push_str(&self.tokenizer.spelling(id));
            self.count(Part::Headers, 1);
        }
    }

    fn text(&mut self, part: Part, text: &str) -> Result<(), ContextError> {
        let ids = self.tokenizer.encode(text).map_err(ContextError::Tokenizer)?;
        self.kept(part, text, &ids);
        Ok(())
    }

    fn kept(&mut self, part: Part, text: &str, ids: &[u32]) {
        self.ids.extend_from_slice(ids);
        self.text.push_str(text);
        self.count(part, ids.len());
    }
}

/// Most of the budget the repository name and the file's path may take together.
const NAMES_SHARE: f32 = 0.25;

/// The repository name and the path to write in the prompt's headers, within
/// [`NAMES_SHARE`] of the budget: a long path in a small budget would otherwise push
/// the prompt past it. The repository goes first, then the path's folders; a file name
/// that does not fit alone is left out.
fn names_that_fit<'a>(
    input: &PromptInput<'a>,
    tokenizer: &dyn Tokenize,
    budget: usize,
) -> Result<(Option<&'a str>, &'a str), ContextError> {
    let room = (budget as f32 * NAMES_SHARE) as usize;
    let cost = |text: &str| tokenizer.encode(text).map(|ids| ids.len() + 1).map_err(ContextError::Tokenizer);
    let path_cost = cost(input.path)?;
    let repo_cost = match input.repo {
        Some(repo) => cost(repo)?,
        None => 0,
    };
    if path_cost + repo_cost <= room {
        return Ok((input.repo, input.path));
    }
    if path_cost <= room {
        return Ok((None, input.path));
    }
    let file_name = input.path.rsplit(['/', '\\']).next().unwrap_or_default();
    Ok((None, if cost(file_name)? <= room { file_name } else { "" }))
}

/// Builds the prompt for `input`. Never fails on odd text or syntax (only a failing
/// tokenizer is an error); a cursor mid-identifier gives a prompt with no ids and
/// shape [`Shape::Nothing`], built without tokenizing anything.
pub fn build(
    input: &PromptInput<'_>,
    options: &PromptOptions,
    tokenizer: &dyn Tokenize,
) -> Result<Prompt, ContextError> {
    let cursor = crate::text::floor_char(input.rope, input.cursor);
    let decision = shape::decide(input.rope, cursor, input.language, input.tree);
    let finisher =
        Finisher::new(input.rope, cursor, input.language, decision.shape, IndentStyle::detect(input.rope, cursor));
    let mut asm = Assembly { tokenizer, ids: Vec::new(), text: String::new(), counts: PartCounts::default() };
    let format = options.format.usable_with(&options.tokens);
    let empty = |asm: Assembly<'_>, finisher, snippets| Prompt {
        ids: asm.ids,
        heal: Vec::new(),
        text: asm.text,
        counts: asm.counts,
        decision,
        finisher,
        format,
        snippets,
        prefix_anchor: PrefixAnchor { start: cursor, ..PrefixAnchor::default() },
        anchored: false,
    };
    if decision.shape == Shape::Nothing {
        return Ok(empty(asm, finisher, Vec::new()));
    }
    let tokens = options.tokens;
    let layout = format.layout(&tokens);
    let fim = format.is_fim();
    let comment = input.language.line_comment();

    // Typing where the previous head was frozen: the head as it was, the typed text after it.
    if let Some(anchor) = input.prefix_anchor.filter(|_| fim) {
        if let Some(middle) = &anchor.middle {
            if let Some(typed) = middle.typed(input.rope, anchor.start, cursor, options) {
                let mut ids = tokenizer.encode(&typed).map_err(ContextError::Tokenizer)?;
                if middle.ids.len() + ids.len() <= options.budget {
                    let heal = heal_last(tokenizer, &mut ids);
                    let shown = floor_char_str(&typed, typed.len().saturating_sub(heal.len()));
                    asm.ids = middle.ids.clone();
                    asm.text = middle.text.clone();
                    asm.counts = middle.counts;
                    asm.kept(Part::Middle, &typed[..shown], &ids);
                    let snippets = middle.snippets.clone();
                    return Ok(Prompt {
                        heal,
                        prefix_anchor: anchor.clone(),
                        anchored: true,
                        ..empty(asm, finisher, snippets)
                    });
                }
            }
        }
    }

    if tokens.add_bos {
        asm.special(tokens.bos);
    }
    let (repo, path) = names_that_fit(input, tokenizer, options.budget)?;
    // Other files, within their share.
    let candidates = cross_file::gather(input);
    let cross_budget = (options.budget as f32 * options.cross_file_share) as usize;
    let sections = fit_sections(tokenizer, layout, comment, &candidates, cross_budget)?;
    let snippets: Vec<Snippet> = sections.iter().flat_map(|s| s.snippets.clone()).collect();
    let with_files = !sections.is_empty();

    match layout {
        FileLayout::RepoBeforeFim => {
            if let Some(repo) = repo {
                asm.special(tokens.repo_name);
                asm.text(Part::Headers, &format!("{repo}\n"))?;
            }
            for section in &sections {
                asm.special(tokens.file_sep);
                asm.kept(Part::CrossFile, &section.text, &section.ids);
            }
            asm.special(tokens.file_sep);
            asm.text(Part::Headers, &format!("{path}\n"))?;
            asm.special(tokens.fim_prefix);
        }
        FileLayout::RepoInsideFim => {
            if let Some(repo) = repo {
                asm.special(tokens.repo_name);
                asm.text(Part::Headers, repo)?;
            }
            for section in &sections {
                asm.special(tokens.file_sep);
                asm.kept(Part::CrossFile, &section.text, &section.ids);
            }
            asm.special(tokens.file_sep);
            asm.special(tokens.fim_prefix);
            asm.text(Part::Headers, &format!("{path}\n"))?;
        }
        FileLayout::HeaderTokens => {
            let header = tokens.filename.or(tokens.file_sep);
            for section in &sections {
                asm.special(header);
                asm.kept(Part::CrossFile, &section.text, &section.ids);
            }
            asm.special(header);
            asm.text(Part::Headers, &format!("{path}\n"))?;
        }
        FileLayout::PathComments => {
            if fim {
                asm.special(tokens.fim_prefix);
            }
            for section in &sections {
                asm.kept(Part::CrossFile, &section.text, &section.ids);
            }
            if with_files {
                asm.text(Part::Headers, &format!("{comment} {path}\n"))?;
            }
        }
    }

    // The suffix gets its share of what is left, and more when the prefix is short,
    // always leaving the prefix room to grow while the user types (a fresh cut fills
    // only part of its share); the prefix takes the rest.
    let reserved = 3; // the suffix and middle tokens, and slack
    let left = options.budget.saturating_sub(asm.ids.len() + reserved);
    let suffix_share = if fim { (left as f32 * options.suffix_share) as usize } else { 0 };
    let headers = |cut: usize| scopes::headers(input.rope, input.language, input.tree, cut);
    let prefix_budget = left - suffix_share;
    let prefix = budget::prefix(tokenizer, input.rope, cursor, prefix_budget, input.prefix_anchor, &headers)?;
    let suffix = if fim {
        let after_prefix = left.saturating_sub(prefix.ids.len());
        let room = budget::typing_room(prefix_budget);
        budget::suffix(
            tokenizer,
            input.rope,
            cursor,
            after_prefix.saturating_sub(room).max(suffix_share).min(after_prefix),
        )?
    } else {
        Kept::default()
    };
    asm.counts.scope_lines = prefix.headers;
    let mut heal = Vec::new();
    let mut middle = None;
    if fim {
        asm.kept(Part::Prefix, &prefix.text, &prefix.ids);
        asm.special(tokens.fim_suffix);
        asm.kept(Part::Suffix, &suffix.text, &suffix.ids);
        asm.special(tokens.fim_middle);
        middle = Some(Arc::new(MiddleAnchor {
            at: cursor,
            before: crate::text::hash_slice(input.rope, prefix.boundary..cursor).unwrap_or_default(),
            suffix: suffix.text.clone(),
            ids: asm.ids.clone(),
            text: asm.text.clone(),
            counts: asm.counts,
            snippets: snippets.clone(),
            options: *options,
        }));
    } else {
        // Token healing: the cursor may sit inside the last token (half a word, part of
        // an indentation): take it off and make the answer start with its bytes.
        let mut ids = prefix.ids.clone();
        if ids.len() > 1 {
            heal = heal_last(tokenizer, &mut ids);
        }
        let shown = floor_char_str(&prefix.text, prefix.text.len().saturating_sub(heal.len()));
        asm.kept(Part::Prefix, &prefix.text[..shown], &ids);
    }
    let prefix_anchor = PrefixAnchor { start: prefix.boundary, headers: prefix.header_text, middle };
    Ok(Prompt { heal, prefix_anchor, ..empty(asm, finisher, snippets) })
}

/// Token healing: takes the last token off `ids` and returns its bytes, which the
/// answer must begin with (the cursor may sit inside that token: half a word, part of
/// an indentation).
fn heal_last(tokenizer: &dyn Tokenize, ids: &mut Vec<u32>) -> Vec<u8> {
    ids.pop().map(|last| tokenizer.token_bytes(last).to_vec()).unwrap_or_default()
}

/// Other files' snippets grouped by file, as written in the prompt.
struct Section {
    text: String,
    ids: Vec<u32>,
    snippets: Vec<Snippet>,
}

/// Groups snippets by file (in order of first appearance) and keeps the sections that
/// fit `budget`, best first.
fn fit_sections(
    tokenizer: &dyn Tokenize,
    layout: FileLayout,
    comment: &str,
    snippets: &[Snippet],
    budget: usize,
) -> Result<Vec<Section>, ContextError> {
    let mut sections: Vec<Section> = Vec::new();
    let mut used = 0;
    let mut paths: Vec<&str> = Vec::new();
    for snippet in snippets {
        if !paths.contains(&snippet.path.as_str()) {
            paths.push(&snippet.path);
        }
    }
    for path in paths {
        let mut chosen: Vec<Snippet> = Vec::new();
        for snippet in snippets.iter().filter(|s| s.path == path) {
            chosen.push(snippet.clone());
            let text = section_text(layout, comment, path, &chosen);
            let ids = tokenizer.encode(&text).map_err(ContextError::Tokenizer)?;
            if used + ids.len() > budget {
                chosen.pop();
            }
        }
        if chosen.is_empty() {
            continue;
        }
        let text = section_text(layout, comment, path, &chosen);
        let ids = tokenizer.encode(&text).map_err(ContextError::Tokenizer)?;
        used += ids.len();
        sections.push(Section { text, ids, snippets: chosen });
    }
    Ok(sections)
}

/// One file's snippets, in file order, separated by a blank line.
fn section_text(layout: FileLayout, comment: &str, path: &str, snippets: &[Snippet]) -> String {
    let mut ordered: Vec<&Snippet> = snippets.iter().collect();
    ordered.sort_by_key(|s| s.line);
    let body: Vec<&str> = ordered.iter().map(|s| s.text.as_str()).collect();
    let body = body.join("\n");
    match layout {
        FileLayout::PathComments => {
            let mut out = format!("{comment} {path}\n");
            for line in body.lines() {
                if line.is_empty() {
                    out.push_str(comment);
                } else {
                    out.push_str(&format!("{comment} {line}"));
                }
                out.push('\n');
            }
            out
        }
        _ => format!("{path}\n{body}"),
    }
}
