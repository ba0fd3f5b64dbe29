//! Cost of building a prompt after a keystroke on a 5,000-line file of each language
//! with a grammar, beside the cost of a full re-parse: the edit recorded for the
//! syntax tree, the incremental re-parse, and the prompt (shape, budget, scope headers,
//! exact tokenization with the test model's tokenizer). Targets at p95: under 2 ms for
//! Rust and Python, under 3 ms for the others. The files are real code no one here
//! wrote: the regex-syntax parser from the cargo registry, `_pydecimal.py` from the
//! Python standard library, and for the others packages from the registries
//! (`benches/scripts/fetch-sources.sh`: lodash, zod, react-aria-components, Go's
//! runtime, OpenJDK's `ConcurrentHashMap`, SQLite, llama.cpp's server, pythonnet, PHPMailer,
//! Ruby's standard library, bash-completion; node-addon-api's
//! header beside it, where the C++ grammar re-parses most of the file each keystroke).
//! Run: `cargo bench -p infill-benches --bench prompt_building` (`INFILL_BENCH_LANGUAGES=go,c`
//! for some languages only).

#![allow(clippy::print_stdout, reason = "a benchmark prints its report; it is no LSP server")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use infill_benches::{human, Summary};
use infill_context::{build, PromptInput, PromptOptions, Syntax, TokenCache, Tokenize};
use infill_model::{GgufFile, HParams, ModelFacts, ModelTokenizer};
use infill_server::document::Document;
use infill_server::engine::model_engine::TokenizerView;
use infill_server::lsp_types::{Position, Range};
use infill_server::position::PositionEncoding;

const LINES: usize = 5000;
const PLACES: usize = 80;
/// Typed at each place, one keystroke a character, then deleted the same way.
const WORD: &str = "value";
const FULL_PARSES: usize = 30;
const BUDGET: usize = 2048 - 64;
const LIMIT: Duration = Duration::from_secs(5);
/// Target at p95 for Rust and Python, and for the languages added with their grammars.
const TARGET_P95_MS: f64 = 2.0;
const TARGET_P95_MS_NEW: f64 = 3.0;

/// `LINES` lines of real files joined, from line `skip` on.
fn source(paths: &[PathBuf], skip: usize) -> String {
    let mut lines = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        lines.extend(text.split_inclusive('\n').map(str::to_owned));
    }
    let lines: Vec<String> = lines.into_iter().skip(skip).take(LINES).collect();
    assert_eq!(lines.len(), LINES, "{} has fewer than {LINES} lines", paths[0].display());
    lines.concat()
}

/// One file measured.
struct Case {
    /// The language's LSP id.
    language: &'static str,
    /// What the row says beside the language.
    note: &'static str,
    files: Vec<PathBuf>,
    /// Lines skipped before the 5,000 taken.
    skip: usize,
    /// Target at p95, ms; `None`: shown, not held to one.
    target: Option<f64>,
}

/// The files measured, per language.
fn cases() -> Vec<Case> {
    let only = std::env::var("INFILL_BENCH_LANGUAGES").ok();
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o.split(',').any(|n| n == name));
    let pick = |language: &str, file: &str| -> Vec<PathBuf> {
        infill_benches::real_sources(language).into_iter().filter(|p| p.ends_with(file)).collect()
    };
    let case = |language, files, skip, target| Case { language, note: "", files, skip, target: Some(target) };
    let mut out = Vec::new();
    for name in infill_context::Language::parsed().map(infill_context::Language::name) {
        if !wanted(name) {
            continue;
        }
        let measured = match name {
            "rust" => case(name, vec![rust_file()], 0, TARGET_P95_MS),
            "python" => case(name, vec![python_file()], 0, TARGET_P95_MS),
            "javascript" => case(name, pick(name, "lodash.js"), 0, TARGET_P95_MS_NEW),
            "typescript" => case(name, pick(name, "types.ts"), 0, TARGET_P95_MS_NEW),
            // No single TSX file of 5,000 lines: the package's components, one after another.
            "tsx" => case(name, infill_benches::real_sources(name), 0, TARGET_P95_MS_NEW),
            "go" => case(name, pick(name, "runtime_proc.go"), 0, TARGET_P95_MS_NEW),
            "java" => case(name, pick(name, "ConcurrentHashMap.java"), 0, TARGET_P95_MS_NEW),
            // The amalgamation opens with sqlite3.h's declarations: code from further in.
            "c" => case(name, pick(name, "sqlite3.c"), 100_000, TARGET_P95_MS_NEW),
            // No single C#, Ruby or shell file of 5,000 lines: a package's files one after another.
            "csharp" | "ruby" | "bash" => case(name, infill_benches::real_sources(name), 0, TARGET_P95_MS_NEW),
            "php" => case(name, pick(name, "PHPMailer.php"), 0, TARGET_P95_MS_NEW),
            // Also node-addon-api's header, whose `#ifndef`s split statements inside
            // functions: tree-sitter-cpp reads all from the first such split to the end as
            // one error node, which it cannot reuse, so every keystroke re-parses most of
            // the file (shown, not held to the target).
            "cpp" => {
                out.push(Case {
                    note: " (`#ifndef` inside statements)",
                    target: None,
                    ..case(name, pick(name, "napi-inl.hpp"), 0, TARGET_P95_MS_NEW)
                });
                case(name, pick(name, "server-context.cpp"), 0, TARGET_P95_MS_NEW)
            }
            other => unreachable!("{other} is not in the list above"),
        };
        out.push(measured);
    }
    out
}

fn rust_file() -> PathBuf {
    infill_benches::regex_syntax_src().join("ast/parse.rs")
}

fn python_file() -> PathBuf {
    infill_benches::python_stdlib("_pydecimal.py")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let model = infill_tests::test_model();
    let gguf = GgufFile::open(&model).expect("the test model");
    let hp = HParams::read(&gguf).expect("hyperparameters");
    let tokenizer = ModelTokenizer::load(&gguf).expect("tokenizer");
    let facts = ModelFacts::read(&gguf, &hp, &tokenizer).expect("facts");
    let view = TokenizerView(&tokenizer);
    let cache = TokenCache::new(&view);
    let cached = cache.wrap(&view);
    println!("segment boundary for cached tokenization: {:?}", cache.boundary());
    let options = PromptOptions::new(facts.format, facts.tokens, BUDGET);
    println!("tokenizer: {} ({} format), budget {BUDGET} tokens", facts.name, options.format.name());
    // A FIM layout too: the suffix is tokenized as well.
    let fim = PromptOptions::new(
        infill_context::PromptFormat::Fim,
        infill_context::SpecialTokens {
            fim_prefix: Some(0),
            fim_suffix: Some(1),
            fim_middle: Some(2),
            ..Default::default()
        },
        BUDGET,
    );
    let mut over = Vec::new();
    let mut table = Vec::new();
    for Case { language: name, note, files: paths, skip, target } in cases() {
        let text = source(&paths, skip);
        let path_name = paths[0].display().to_string();
        let mut doc = Document::new(&text, 0, name, &path_name);
        println!(
            "\n{name}{note}: {}{} ({LINES} lines from line {}, {:.0} KB), syntax: {}",
            paths[0].display(),
            if paths.len() > 1 { format!(" and {} more files", paths.len() - 1) } else { String::new() },
            skip + 1,
            text.len() as f64 / 1e3,
            doc.snapshot().language.syntax_source()
        );

        let snapshot = doc.snapshot();
        let mut full = Vec::new();
        for _ in 0..FULL_PARSES {
            let syntax = Syntax::new(snapshot.language).snapshot();
            let started = Instant::now();
            let parsed = syntax.parse(&snapshot.rope, LIMIT);
            full.push(started.elapsed());
            assert!(parsed.tree().is_some(), "parsed in time");
        }
        let full = Summary::of(&mut full);
        let parsed = doc.snapshot().syntax.parse(&doc.rope().clone(), LIMIT);
        doc.store_syntax(&parsed);

        let mut rng = fastrand::Rng::with_seed(11);
        let (mut edit, mut reparse, mut prompt_t, mut prompt_fim, mut total) = (vec![], vec![], vec![], vec![], vec![]);
        let mut version = 0;
        let mut tokens = 0;
        let mut first = Vec::new();
        for place in 0..PLACES {
            // A line of code (not a string or comment: typing there changes little in the
            // tree); type a word after its last identifier, then delete it, one
            // keystroke a character: the file ends as it began.
            let (line, column) = loop {
                let line = rng.usize(100..LINES - 100);
                let text = doc.rope().line(line).to_string();
                if text.contains(['"', '\'', '#']) || text.contains("//") {
                    continue;
                }
                let chars: Vec<char> = text.chars().collect();
                if let Some(last) = chars.iter().rposition(|&c| infill_context::is_word(c)) {
                    break (line as u32, last as u32 + 1);
                }
            };
            let keystrokes: Vec<(u32, Option<char>)> = WORD
                .chars()
                .enumerate()
                .map(|(i, c)| (column + i as u32, Some(c)))
                .chain((0..WORD.len()).rev().map(|i| (column + i as u32, None)))
                .collect();
            let mut anchor = None;
            for (k, (at_column, typed)) in keystrokes.into_iter().enumerate() {
                version += 1;
                let started = Instant::now();
                let cursor_column = match typed {
                    Some(c) => {
                        let at = Position::new(line, at_column);
                        doc.apply_change(Some(Range::new(at, at)), &c.to_string(), PositionEncoding::Utf32);
                        at_column + 1
                    }
                    None => {
                        let range = Range::new(Position::new(line, at_column), Position::new(line, at_column + 1));
                        doc.apply_change(Some(range), "", PositionEncoding::Utf32);
                        at_column
                    }
                };
                let edited = Instant::now();
                let snapshot = doc.snapshot();
                let parsed = snapshot.syntax.clone().parse(&snapshot.rope, LIMIT);
                doc.store_syntax(&parsed);
                let reparsed = Instant::now();
                let cursor =
                    snapshot.rope.char_to_byte(snapshot.rope.line_to_char(line as usize) + cursor_column as usize);
                let input = PromptInput {
                    rope: &snapshot.rope,
                    cursor,
                    path: "file",
                    repo: None,
                    language: snapshot.language,
                    tree: parsed.tree(),
                    others: &[],
                    prefix_anchor: anchor.as_ref(),
                };
                let prompt = build(&input, &options, &cached).expect("prompt");
                let built = Instant::now();
                let prompt2 = build(&input, &fim, &cached).expect("prompt");
                let built_fim = Instant::now();
                // Typing happens after the prompt's start: the next keystroke keeps it.
                let next_anchor = Some(prompt.prefix_anchor.clone());
                assert!(parsed.stats.incremental && parsed.tree().is_some(), "an incremental parse");
                tokens = tokens.max(prompt.ids.len()).max(prompt2.ids.len());
                edit.push(edited - started);
                reparse.push(reparsed - edited);
                prompt_t.push(built - reparsed);
                prompt_fim.push(built_fim - built);
                total.push(built - started);
                if k == 0 {
                    first.push(built - started);
                }
                anchor = next_anchor;
                if place % 10 == 0 && k == 0 {
                    // The cached encoding is the tokenizer's own, on the text around the cursor.
                    let from = snapshot.rope.char_to_byte(snapshot.rope.byte_to_char(cursor.saturating_sub(8000)));
                    let to = snapshot
                        .rope
                        .char_to_byte(snapshot.rope.byte_to_char((cursor + 2000).min(snapshot.rope.len_bytes())));
                    let window = snapshot.rope.byte_slice(from..to).to_string();
                    assert_eq!(cached.encode(&window).ok(), view.encode(&window).ok(), "cached ids differ");
                }
            }
        }
        let first = Summary::of(&mut first);
        let _ = version;
        let (edit, reparse, prompt_t, prompt_fim, total) = (
            Summary::of(&mut edit),
            Summary::of(&mut reparse),
            Summary::of(&mut prompt_t),
            Summary::of(&mut prompt_fim),
            Summary::of(&mut total),
        );
        println!("  full parse (baseline):         p50 {:>9}  p95 {:>9}", human(full.p50), human(full.p95));
        println!("  after a one-character edit ({} keystrokes typing and deleting `{WORD}` at {PLACES} places, prompts up to {tokens} tokens):", PLACES * WORD.len() * 2);
        println!("    record the edit:             p50 {:>9}  p95 {:>9}", human(edit.p50), human(edit.p95));
        println!(
            "    incremental re-parse:        p50 {:>9}  p95 {:>9}  ({:.0}x faster than a full parse at p50)",
            human(reparse.p50),
            human(reparse.p95),
            ms(full.p50) / ms(reparse.p50)
        );
        println!("    prompt, prefix-only:         p50 {:>9}  p95 {:>9}", human(prompt_t.p50), human(prompt_t.p95));
        println!("    prompt, fill-in-the-middle:  p50 {:>9}  p95 {:>9}", human(prompt_fim.p50), human(prompt_fim.p95));
        println!(
            "    total (edit, parse, prompt): p50 {:>9}  p95 {:>9}  ({})",
            human(total.p50),
            human(total.p95),
            target.map_or("no target".to_owned(), |t| format!("target < {t} ms at p95"))
        );
        println!(
            "    first keystroke at a place:  p50 {:>9}  p95 {:>9}  (nothing cached there yet)",
            human(first.p50),
            human(first.p95)
        );
        if target.is_some_and(|t| ms(total.p95) >= t) {
            over.push(name);
        }
        table.push((format!("{name}{note}"), full, total, target));
    }
    println!("\n{:<36} {:>11} {:>11} {:>11} {:>9}", "language", "full parse", "total p50", "total p95", "target");
    for (name, full, total, target) in &table {
        println!(
            "{name:<36} {:>11} {:>11} {:>11} {:>9}",
            human(full.p50),
            human(total.p50),
            human(total.p95),
            target.map_or("-".to_owned(), |t| format!("{t} ms"))
        );
    }
    if over.is_empty() {
        println!("every language within its target at p95");
    } else {
        println!("OVER TARGET at p95: {}", over.join(", "));
    }
}
