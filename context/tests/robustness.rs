//! Hostile input: the prompt builder and post-processing never panic, stay within the
//! budget, and parsing stays within its time limit, on any text and any cursor.

#[path = "support/toy.rs"]
mod toy;

use std::time::{Duration, Instant};

use infill_context::{
    build, decide_shape, Finisher, IndentStyle, Language, PrefixAnchor, PromptFormat, PromptInput, PromptOptions, Syntax,
};
use ropey::Rope;
use toy::ToyTokenizer;

const LIMIT: Duration = Duration::from_millis(100);

/// Builds a prompt for every format at `cursor` and checks the invariants.
fn check(text: &str, language: Language, cursor: usize) {
    let tokenizer = ToyTokenizer::new();
    let rope = Rope::from_str(text);
    let started = Instant::now();
    let parsed = Syntax::new(language).snapshot().parse(&rope, LIMIT);
    assert!(started.elapsed() < LIMIT * 10, "parse time bounded: {:?}", started.elapsed());
    for format in PromptFormat::all() {
        let anchor = |start: usize| PrefixAnchor { start, headers: "fn f() {\n".into() };
        for (budget, anchor) in [(16, None), (300, Some(anchor(cursor / 2))), (2048, Some(anchor(cursor.saturating_sub(40))))] {
            let input = PromptInput {
                rope: &rope,
                cursor,
                path: "src/file",
                repo: Some("repo"),
                language,
                tree: parsed.tree(),
                others: &[],
                prefix_anchor: anchor.as_ref(),
            };
            let options = PromptOptions::new(format, tokenizer.special_tokens(format), budget);
            let prompt = build(&input, &options, &tokenizer).expect("the toy tokenizer never fails");
            assert!(prompt.ids.len() <= budget, "{format:?}/{budget}: {} tokens", prompt.ids.len());
            assert_eq!(prompt.ids.len(), prompt.counts.total());
            assert_eq!(tokenizer.render(&prompt.ids), prompt.text, "the text shown is what the ids say");
        }
    }
}

#[test]
fn a_one_megabyte_single_line_is_cut_inside_the_line() {
    let line = format!("data = [{}", "1234, ".repeat(170_000));
    check(&line, Language::Python, line.len());
    check(&line, Language::Python, line.len() / 2);
}

#[test]
fn binary_text_and_unknown_languages_are_only_text() {
    let binary: String = (0u8..=255).cycle().take(100_000).map(char::from).collect();
    check(&binary, Language::detect("plaintext", "blob.bin"), binary.len() / 3);
    check(&binary, Language::Rust, binary.len() - 1);
    check("qapla' batlh\n    ", Language::detect("klingon", "x.tlh"), 17);
}

#[test]
fn syntax_errors_everywhere_still_give_a_prompt() {
    let broken = "def (((:\n  class ]]] {{ fn <<<\n    \n\"\"\" unterminated ( [ {\n".repeat(300);
    for language in [Language::Rust, Language::Python] {
        for cursor in [0, 1, 37, broken.len() / 2, broken.len()] {
            check(&broken, language, cursor);
        }
    }
}

#[test]
fn random_text_cursors_and_answers_never_panic() {
    let mut rng = fastrand::Rng::with_seed(7);
    let alphabet: Vec<char> = "ab_ 1\n\t\r(){}[]\"'#/\\:;,.é€😀\u{0}".chars().collect();
    for round in 0..300 {
        let len = rng.usize(0..400);
        let text: String = (0..len).map(|_| alphabet[rng.usize(0..alphabet.len())]).collect();
        let language = [Language::Rust, Language::Python, Language::Other("//")][round % 3];
        let cursor = rng.usize(0..=text.len());
        let rope = Rope::from_str(&text);
        let cursor = rope.char_to_byte(rope.byte_to_char(cursor));
        check(&text, language, cursor);
        let parsed = Syntax::new(language).snapshot().parse(&rope, LIMIT);
        let decision = decide_shape(&rope, cursor, language, parsed.tree());
        let finisher = Finisher::new(&rope, cursor, language, decision.shape, IndentStyle::detect(&rope, cursor));
        for _ in 0..5 {
            let raw: String = (0..rng.usize(0..120)).map(|_| alphabet[rng.usize(0..alphabet.len())]).collect();
            let shown = finisher.finish(&raw);
            let _ = finisher.finish_cut_off(&raw);
            let _ = finisher.is_complete(&raw);
            assert!(shown.len() <= raw.len() * 4 + 8, "post-processing only trims and re-indents");
        }
    }
}
