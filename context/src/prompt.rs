//! Assembling the prompt: the format's special tokens, other files' snippets, the
//! path, the prefix and the suffix, each fitted to its share of the token budget.

use ropey::Rope;
use tree_sitter::Tree;

use crate::budget::{self, Kept};
use crate::cross_file::{self, OtherFile, Snippet};
use crate::finish::Finisher;
use crate::format::{FileLayout, PromptFormat};
use crate::language::Language;
use crate::scopes;
use crate::shape::{self, Shape, ShapeDecision};
use crate::text::IndentStyle;
use crate::tokens::{SpecialTokens, Tokenize};
use crate::ContextError;

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
    pub others: &'a [OtherFile<'a>],
    /// Where the previous prompt for this buffer started, and its scope headers: kept
    /// while they fit, so the prompt's start stays put.
    pub prefix_anchor: Option<&'a PrefixAnchor>,
}

/// Where a prompt's text started in its buffer, and the scope header lines put above
/// it: the next request's anchor. The caller moves `start` along with edits after it
/// and drops the anchor on an edit before it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrefixAnchor {
    /// A byte offset at a line start (0: the buffer's start).
    pub start: usize,
    /// The scope header lines above it.
    pub headers: String,
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
    /// Scope header lines kept above a cut prefix.
    pub scope_lines: usize,
}

impl PartCounts {
    /// All tokens.
    pub fn total(&self) -> usize {
        self.headers + self.cross_file + self.prefix + self.suffix
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
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Headers,
    CrossFile,
    Prefix,
    Suffix,
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

/// Builds the prompt for `input`. Never fails on odd text or syntax (only a failing
/// tokenizer is an error); a cursor mid-identifier gives a prompt with no ids and
/// shape [`Shape::Nothing`], built without tokenizing anything.
pub fn build(input: &PromptInput<'_>, options: &PromptOptions, tokenizer: &dyn Tokenize) -> Result<Prompt, ContextError> {
    let cursor = crate::text::floor_char(input.rope, input.cursor);
    let decision = shape::decide(input.rope, cursor, input.language, input.tree);
    let finisher = Finisher::new(input.rope, cursor, input.language, decision.shape, IndentStyle::detect(input.rope, cursor));
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
        prefix_anchor: PrefixAnchor { start: cursor, headers: String::new() },
    };
    if decision.shape == Shape::Nothing {
        return Ok(empty(asm, finisher, Vec::new()));
    }
    let tokens = options.tokens;
    let layout = format.layout(&tokens);
    let fim = format.is_fim();
    let comment = input.language.line_comment();

    if tokens.add_bos {
        asm.special(tokens.bos);
    }
    // Other files, within their share.
    let candidates = cross_file::gather(input.rope, cursor, input.language, input.tree, input.others);
    let cross_budget = (options.budget as f32 * options.cross_file_share) as usize;
    let sections = fit_sections(tokenizer, layout, comment, &candidates, cross_budget)?;
    let snippets: Vec<Snippet> = sections.iter().flat_map(|s| s.snippets.clone()).collect();
    let with_files = !sections.is_empty();

    match layout {
        FileLayout::RepoBeforeFim => {
            if let Some(repo) = input.repo {
                asm.special(tokens.repo_name);
                asm.text(Part::Headers, &format!("{repo}\n"))?;
            }
            for section in &sections {
                asm.special(tokens.file_sep);
                asm.kept(Part::CrossFile, &section.text, &section.ids);
            }
            asm.special(tokens.file_sep);
            asm.text(Part::Headers, &format!("{}\n", input.path))?;
            asm.special(tokens.fim_prefix);
        }
        FileLayout::RepoInsideFim => {
            if let Some(repo) = input.repo {
                asm.special(tokens.repo_name);
                asm.text(Part::Headers, repo)?;
            }
            for section in &sections {
                asm.special(tokens.file_sep);
                asm.kept(Part::CrossFile, &section.text, &section.ids);
            }
            asm.special(tokens.file_sep);
            asm.special(tokens.fim_prefix);
            asm.text(Part::Headers, &format!("{}\n", input.path))?;
        }
        FileLayout::HeaderTokens => {
            let header = tokens.filename.or(tokens.file_sep);
            for section in &sections {
                asm.special(header);
                asm.kept(Part::CrossFile, &section.text, &section.ids);
            }
            asm.special(header);
            asm.text(Part::Headers, &format!("{}\n", input.path))?;
        }
        FileLayout::PathComments => {
            if fim {
                asm.special(tokens.fim_prefix);
            }
            for section in &sections {
                asm.kept(Part::CrossFile, &section.text, &section.ids);
            }
            if with_files {
                asm.text(Part::Headers, &format!("{comment} {}\n", input.path))?;
            }
        }
    }

    // The suffix gets its share of what is left, and more when the prefix is short;
    // the prefix takes the rest.
    let reserved = 3; // the suffix and middle tokens, and slack
    let left = options.budget.saturating_sub(asm.ids.len() + reserved);
    let suffix_share = if fim { (left as f32 * options.suffix_share) as usize } else { 0 };
    let headers = |cut: usize| scopes::headers(input.rope, input.tree, cut);
    let prefix = budget::prefix(tokenizer, input.rope, cursor, left - suffix_share, input.prefix_anchor, &headers)?;
    let suffix = if fim {
        budget::suffix(tokenizer, input.rope, cursor, left.saturating_sub(prefix.ids.len()))?
    } else {
        Kept::default()
    };
    asm.counts.scope_lines = prefix.headers;
    let mut heal = Vec::new();
    if fim {
        asm.kept(Part::Prefix, &prefix.text, &prefix.ids);
        asm.special(tokens.fim_suffix);
        asm.kept(Part::Suffix, &suffix.text, &suffix.ids);
        asm.special(tokens.fim_middle);
    } else {
        // Token healing: the cursor may sit inside the last token (half a word, part of
        // an indentation): take it off and make the answer start with its bytes.
        let mut ids = prefix.ids.clone();
        if ids.len() > 1 {
            if let Some(last) = ids.pop() {
                heal = tokenizer.token_bytes(last).to_vec();
            }
        }
        let shown = prefix.text.len().saturating_sub(heal.len());
        let shown = crate::text::floor_char_str(&prefix.text, shown);
        asm.kept(Part::Prefix, &prefix.text[..shown], &ids);
    }
    let prefix_anchor = PrefixAnchor { start: prefix.boundary, headers: prefix.header_text };
    Ok(Prompt { heal, prefix_anchor, ..empty(asm, finisher, snippets) })
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
