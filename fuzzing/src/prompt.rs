//! The prompt builder and the post-processing on arbitrary text, cursors, languages,
//! formats, budgets, anchors and other files: no panic, the prompt within its budget,
//! its counts adding up, its text exactly what its ids spell, and a finished suggestion
//! never holding code the model did not write. The same run
//! types one character and builds the next prompt from this one's anchor.

use arbitrary::{Arbitrary, Unstructured};
use infill_context::{
    build, Language, OtherFile, PrefixAnchor, PromptFormat, PromptInput, PromptOptions, SpecialTokens, Syntax,
    Tokenize, TokenizeError,
};
use ropey::Rope;

/// Special tokens, after the 256 byte tokens.
const SPECIALS: [&str; 8] = [
    "<s>",
    "<|fim_prefix|>",
    "<|fim_suffix|>",
    "<|fim_middle|>",
    "<|repo_name|>",
    "<|file_sep|>",
    "<filename>",
    "<eot>",
];

/// One token per byte, plus the special tokens: every text has exactly one encoding,
/// and nothing is learned between runs (so runs stay independent).
struct Bytes;

impl Tokenize for Bytes {
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizeError> {
        Ok(text.bytes().map(u32::from).collect())
    }

    fn token_bytes(&self, id: u32) -> &[u8] {
        match usize::try_from(id) {
            Ok(id) if id < 256 => &BYTES[id..id + 1],
            Ok(id) => SPECIALS.get(id - 256).map_or(&[], |s| s.as_bytes()),
            Err(_) => &[],
        }
    }

    fn spelling(&self, id: u32) -> String {
        String::from_utf8_lossy(self.token_bytes(id)).into_owned()
    }
}

/// Every byte value once, for [`Bytes::token_bytes`].
static BYTES: [u8; 256] = {
    let mut all = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        all[i] = i as u8;
        i += 1;
    }
    all
};

fn specials(format: PromptFormat) -> SpecialTokens {
    let id = |i: u32| Some(256 + i);
    match format {
        PromptFormat::PrefixOnly => SpecialTokens { filename: id(6), file_sep: id(5), ..SpecialTokens::default() },
        _ => SpecialTokens {
            bos: id(0),
            add_bos: format == PromptFormat::CodeLlama,
            fim_prefix: id(1),
            fim_suffix: id(2),
            fim_middle: id(3),
            repo_name: id(4),
            file_sep: id(5),
            filename: None,
        },
    }
}

/// One run's input.
#[derive(Arbitrary, Debug)]
struct Input {
    text: String,
    cursor: u16,
    language: u8,
    format: u8,
    budget: u16,
    /// An anchor from an earlier request: its start, its headers.
    anchor: Option<(u16, String)>,
    other: Option<(String, u8)>,
    /// What the model wrote.
    completion: String,
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else { return };
    let languages: Vec<Language> = Language::all().collect();
    let formats: Vec<PromptFormat> = PromptFormat::all().collect();
    let language = languages[usize::from(input.language) % languages.len()];
    let format = formats[usize::from(input.format) % formats.len()];
    let rope = Rope::from_str(&input.text);
    let parsed = Syntax::new(language).snapshot().parse(&rope, std::time::Duration::from_millis(200));
    let other = input.other.as_ref().map(|(text, language)| {
        let language = languages[usize::from(*language) % languages.len()];
        let rope = Rope::from_str(text);
        let tree = Syntax::new(language).snapshot().parse(&rope, std::time::Duration::from_millis(200)).tree().cloned();
        OtherFile { path: "src/other".into(), language, rope, tree, recent_edits: vec![text.len() / 2] }
    });
    let anchor = input.anchor.as_ref().map(|(start, headers)| PrefixAnchor {
        start: usize::from(*start),
        headers: headers.clone(),
        middle: None,
    });
    let budget = 16 + usize::from(input.budget % 4080);
    let prompt_input = PromptInput {
        rope: &rope,
        cursor: usize::from(input.cursor),
        path: "src/file",
        repo: Some("repo"),
        language,
        tree: parsed.tree(),
        others: other.as_slice(),
        prefix_anchor: anchor.as_ref(),
    };
    let options = PromptOptions::new(format, specials(format), budget);
    let Ok(prompt) = build(&prompt_input, &options, &Bytes) else { panic!("the byte tokenizer never fails") };
    assert!(prompt.ids.len() <= budget, "{format:?}: {} tokens for a budget of {budget}", prompt.ids.len());
    assert_eq!(prompt.ids.len(), prompt.counts.total(), "counts add up");
    assert_spells(&prompt.ids, &prompt.text);

    // The next keystroke, anchored where this prompt started: still within the budget.
    let mut typed = rope.clone();
    let cursor = infill_context::floor_char(&rope, usize::from(input.cursor).min(rope.len_bytes()));
    typed.insert(typed.byte_to_char(cursor), "x");
    let next =
        PromptInput { rope: &typed, cursor: cursor + 1, prefix_anchor: Some(&prompt.prefix_anchor), ..prompt_input };
    let Ok(again) = build(&next, &options, &Bytes) else { panic!("the byte tokenizer never fails") };
    assert!(again.ids.len() <= budget, "anchored: {} tokens for a budget of {budget}", again.ids.len());
    assert_spells(&again.ids, &again.text);

    let finished = prompt.finisher.finish(&input.completion);
    let cut = prompt.finisher.finish_cut_off(&input.completion);
    // Finishing cuts the answer and re-indents it in the file's style, never adds code.
    let code = |text: &str| text.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let written = code(&input.completion);
    assert!(written.starts_with(&code(&finished)), "finishing added code: {finished:?}");
    assert!(written.starts_with(&code(&cut)), "finishing added code: {cut:?}");
    let _ = prompt.finisher.is_complete(&input.completion);
}

/// The text shown is what the ids spell, except the first bytes of a character whose
/// last bytes were taken off for token healing (the text stops before that character).
fn assert_spells(ids: &[u32], text: &str) {
    let spelled: Vec<u8> = ids.iter().flat_map(|&id| Bytes.token_bytes(id).to_vec()).collect();
    let rest = spelled.strip_prefix(text.as_bytes()).unwrap_or_else(|| {
        panic!("the text shown is not what the ids say:\n{text:?}\n{:?}", String::from_utf8_lossy(&spelled))
    });
    let incomplete = matches!(std::str::from_utf8(rest), Err(e) if e.valid_up_to() == 0 && e.error_len().is_none());
    assert!(rest.is_empty() || incomplete, "the ids spell more than the text shown: {rest:?}");
}
