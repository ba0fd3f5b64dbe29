//! Hostile input: the prompt builder and post-processing never panic, stay within the
//! budget, and parsing stays within its time limit, on any text and any cursor.

#[path = "support/toy.rs"]
mod toy;

use std::time::{Duration, Instant};

use infill_context::{
    build, decide_shape, Finisher, IndentStyle, Language, PrefixAnchor, PromptFormat, PromptInput, PromptOptions,
    Syntax,
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
        let anchor = |start: usize| PrefixAnchor { start, headers: "fn f() {\n".into(), middle: None };
        for (budget, anchor) in
            [(16, None), (300, Some(anchor(cursor / 2))), (2048, Some(anchor(cursor.saturating_sub(40))))]
        {
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

/// Every language of the table: each grammar, and one row of each text-only kind.
fn every_language() -> Vec<Language> {
    Language::all().collect()
}

#[test]
fn a_one_megabyte_single_line_is_cut_inside_the_line() {
    let line = format!("data = [{}", "1234, ".repeat(170_000));
    for language in every_language() {
        check(&line, language, line.len());
        check(&line, language, line.len() / 2);
    }
}

#[test]
fn a_parse_past_its_limit_falls_back_to_text_in_every_grammar() {
    // Deeply nested brackets of every kind: slow enough for any grammar to run out of time.
    // (`<?php` first: PHP's grammar reads text outside its tags as HTML, quickly.)
    let text = format!("<?php\n{}", "f(x, [y, {z: (w + ".repeat(40_000));
    for language in Language::parsed() {
        let rope = Rope::from_str(&text);
        let started = Instant::now();
        let parsed = Syntax::new(language).snapshot().parse(&rope, Duration::from_millis(5));
        assert!(started.elapsed() < Duration::from_millis(500), "{}: {:?}", language.name(), started.elapsed());
        assert!(parsed.stats.timed_out && parsed.tree().is_none(), "{}: {:?}", language.name(), parsed.stats);
        check(&text[..20_000], language, 10_000);
    }
}

#[test]
fn binary_text_and_unknown_languages_are_only_text() {
    let binary: String = (0u8..=255).cycle().take(100_000).map(char::from).collect();
    check(&binary, Language::detect("plaintext", "blob.bin"), binary.len() / 3);
    for language in every_language() {
        check(&binary, language, binary.len() - 1);
    }
    check("qapla' batlh\n    ", Language::detect("klingon", "x.tlh"), 17);
}

#[test]
fn syntax_errors_everywhere_still_give_a_prompt() {
    let broken =
        "def (((:\n  class ]]] {{ fn <<<\n    \n\"\"\" unterminated ( [ {\n/* `${ '<div>' #include R\"(\n".repeat(300);
    for language in every_language() {
        for cursor in [0, 1, 37, broken.len() / 2, broken.len()] {
            check(&broken, language, cursor);
        }
    }
}

#[test]
fn random_text_cursors_and_answers_never_panic() {
    let mut rng = fastrand::Rng::with_seed(7);
    let alphabet: Vec<char> = "ab_ 1\n\t\r(){}[]\"'#/\\:;,.é€😀\u{0}".chars().collect();
    for round in 0..600 {
        let len = rng.usize(0..400);
        let text: String = (0..len).map(|_| alphabet[rng.usize(0..alphabet.len())]).collect();
        let languages = every_language();
        let language = languages[round % languages.len()];
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

/// Random typing, deleting and cursor moves with the anchor each prompt returns, as
/// the server keeps it: every prompt, anchored or fresh, is a fill-in-the-middle
/// prompt of the buffer as it is now (its prefix ends at the cursor, its suffix
/// begins there), with the budget kept.
#[test]
fn anchored_prompts_always_describe_the_current_buffer() {
    let tokenizer = ToyTokenizer::new();
    let format = PromptFormat::QwenCoder;
    let options = PromptOptions::new(format, tokenizer.special_tokens(format), 200);
    let mut rng = fastrand::Rng::with_seed(11);
    let alphabet: Vec<char> = "ab_ 1\n(){}:é€".chars().collect();
    let mut text: String = (0..80).map(|i| format!("line_{i} = f({i})\n")).collect();
    let mut cursor = text.len() / 2;
    let mut anchor: Option<PrefixAnchor> = None;
    let mut anchored = 0;
    for step in 0..3000 {
        match rng.usize(0..20) {
            0 => cursor = rng.usize(0..=text.len()),
            1 if cursor > 0 => {
                let from = (0..cursor).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
                text.replace_range(from..cursor, "");
                cursor = from;
            }
            2 => {
                let at = rng.usize(0..=text.len());
                let at = (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
                text.insert(at, 'z');
                if at < cursor {
                    cursor += 1;
                }
            }
            _ => {
                let c = alphabet[rng.usize(0..alphabet.len())];
                text.insert(cursor, c);
                cursor += c.len_utf8();
            }
        }
        while !text.is_char_boundary(cursor) {
            cursor -= 1;
        }
        // The server drops the anchor on an edit before its start; the builder must
        // catch everything else itself.
        let rope = Rope::from_str(&text);
        let input = PromptInput {
            rope: &rope,
            cursor,
            path: "a.py",
            repo: None,
            language: Language::PYTHON,
            tree: None,
            others: &[],
            prefix_anchor: anchor.as_ref().filter(|a| a.start <= cursor),
        };
        let prompt = build(&input, &options, &tokenizer).expect("prompt");
        assert!(prompt.ids.len() <= 200, "step {step}: over budget");
        assert_eq!(tokenizer.render(&prompt.ids), prompt.text);
        if prompt.ids.is_empty() {
            continue; // nothing to complete here (mid-identifier)
        }
        anchored += usize::from(prompt.anchored);
        let rendered = &prompt.text;
        let (_, rest) = rendered.split_once("<|fim_prefix|>").expect("prefix marker");
        let (prefix, rest) = rest.split_once("<|fim_suffix|>").expect("suffix marker");
        let (suffix, middle) = rest.split_once("<|fim_middle|>").expect("middle marker");
        let before = format!("{prefix}{middle}{}", String::from_utf8_lossy(&prompt.heal));
        let headers = &prompt.prefix_anchor.headers;
        let before = before.strip_prefix(headers.as_str()).unwrap_or(&before);
        assert!(text[..cursor].ends_with(before), "step {step}: the prompt's prefix is not the text before the cursor");
        assert!(
            text[cursor..].starts_with(suffix),
            "step {step}: the prompt's suffix is not the text after the cursor"
        );
        anchor = Some(prompt.prefix_anchor);
    }
    assert!(anchored > 1000, "only {anchored} of 3000 prompts kept their head");
}

/// Found by the `prompt` fuzz target: the repository name and the path were written
/// whatever their length, so a long path in a small budget pushed the prompt past it.
#[test]
fn a_long_path_in_a_small_budget_is_shortened_to_fit() {
    let tokenizer = ToyTokenizer::new();
    let rope = Rope::from_str("fn main() {\n    let x = 1;\n}\n");
    let path = format!("{}/main.rs", "deeply/nested/folder".repeat(8));
    for format in PromptFormat::all() {
        for budget in [16, 40, 200] {
            let input = PromptInput {
                rope: &rope,
                cursor: 27,
                path: &path,
                repo: Some("a-repository-with-a-long-name"),
                language: Language::RUST,
                tree: None,
                others: &[],
                prefix_anchor: None,
            };
            let options = PromptOptions::new(format, tokenizer.special_tokens(format), budget);
            let prompt = build(&input, &options, &tokenizer).expect("the toy tokenizer never fails");
            assert!(prompt.ids.len() <= budget, "{format:?}/{budget}: {} tokens", prompt.ids.len());
            if budget == 200 && matches!(format, PromptFormat::QwenCoder | PromptFormat::StarCoder) {
                assert!(prompt.text.contains("main.rs"), "{format:?}: the file name fits: {}", prompt.text);
            }
        }
    }
}
