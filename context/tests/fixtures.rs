//! Fixture-driven tests of the prompt builder, the shape decision and post-processing.
//! Inputs live under `fixtures/context/`, expected outputs beside them; run with
//! `UPDATE_EXPECT=1` to rewrite the expected files after a deliberate change (and read
//! the diff before committing it).

#[path = "support/toy.rs"]
mod toy;

use std::path::{Path, PathBuf};
use std::time::Duration;

use infill_context::{
    build, decide_shape, Finisher, IndentStyle, Language, OtherFile, PromptFormat, PromptInput, PromptOptions,
    ShapeDecision, Syntax,
};
use ropey::Rope;
use toy::ToyTokenizer;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/context")
}

/// Compares `actual` with the file `expected`, or writes it under `UPDATE_EXPECT=1`.
fn expect_file(expected: &Path, actual: &str) -> Result<(), String> {
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(expected, actual).map_err(|e| format!("{}: {e}", expected.display()))?;
        return Ok(());
    }
    let want = std::fs::read_to_string(expected)
        .map_err(|e| format!("{}: {e} (run with UPDATE_EXPECT=1)", expected.display()))?;
    if want == actual {
        Ok(())
    } else {
        Err(format!("{} differs.\n--- expected\n{want}\n--- actual\n{actual}", expected.display()))
    }
}

/// One file of a fixture.
struct FixtureFile {
    path: String,
    text: String,
    cursor: Option<usize>,
    edit: Option<usize>,
}

/// A prompt fixture: `//- key: value` settings, then `//- file: PATH` sections; the
/// file holding `$0` is the current one, `$1` marks a recent edit in another file.
struct Fixture {
    format: PromptFormat,
    budget: usize,
    repo: Option<String>,
    files: Vec<FixtureFile>,
}

fn parse_fixture(text: &str) -> Fixture {
    let mut fixture = Fixture { format: PromptFormat::Fim, budget: 2048, repo: None, files: Vec::new() };
    for line in text.split_inclusive('\n') {
        if let Some(setting) = line.strip_prefix("//- ") {
            let (key, value) = setting.trim().split_once(": ").expect("`//- key: value`");
            match key {
                "format" => fixture.format = PromptFormat::from_name(value).expect("a known format"),
                "budget" => fixture.budget = value.parse().expect("a number"),
                "repo" => fixture.repo = Some(value.to_owned()),
                "file" => fixture.files.push(FixtureFile {
                    path: value.to_owned(),
                    text: String::new(),
                    cursor: None,
                    edit: None,
                }),
                _ => panic!("unknown fixture setting {key}"),
            }
            continue;
        }
        let file = fixture.files.last_mut().expect("text after a `//- file:` line");
        let mut line = line.to_owned();
        if let Some(at) = line.find("$0") {
            file.cursor = Some(file.text.len() + at);
            line.replace_range(at..at + 2, "");
        }
        if let Some(at) = line.find("$1") {
            file.edit = Some(file.text.len() + at);
            line.replace_range(at..at + 2, "");
        }
        file.text.push_str(&line);
    }
    fixture
}

fn render_prompt(fixture: &Fixture) -> String {
    let tokenizer = ToyTokenizer::new();
    let parse = |file: &FixtureFile| {
        let rope = Rope::from_str(&file.text);
        let language = Language::detect("", &file.path);
        let parsed = Syntax::new(language).snapshot().parse(&rope, Duration::from_secs(5));
        (rope, language, parsed)
    };
    let current = fixture.files.iter().find(|f| f.cursor.is_some()).expect("a file with $0");
    let (rope, language, parsed) = parse(current);
    let others: Vec<_> = fixture.files.iter().filter(|f| f.cursor.is_none()).map(|f| (f, parse(f))).collect();
    let edits: Vec<Vec<usize>> = others.iter().map(|(f, _)| f.edit.into_iter().collect()).collect();
    let other_files: Vec<OtherFile> = others
        .iter()
        .zip(&edits)
        .map(|((f, (rope, language, parsed)), edits)| OtherFile {
            path: f.path.clone(),
            language: *language,
            rope: rope.clone(),
            tree: parsed.tree().cloned(),
            recent_edits: edits.clone(),
        })
        .collect();
    let input = PromptInput {
        rope: &rope,
        cursor: current.cursor.unwrap_or(0),
        path: &current.path,
        repo: fixture.repo.as_deref(),
        language,
        tree: parsed.tree(),
        others: &other_files,
        prefix_anchor: None,
    };
    let options = PromptOptions::new(fixture.format, tokenizer.special_tokens(fixture.format), fixture.budget);
    let prompt = build(&input, &options, &tokenizer).expect("the toy tokenizer never fails");
    let c = prompt.counts;
    assert_eq!(prompt.ids.len(), c.total(), "counts add up to the ids sent");
    assert!(prompt.ids.len() <= fixture.budget, "{} tokens over the budget {}", prompt.ids.len(), fixture.budget);
    assert_eq!(tokenizer.render(&prompt.ids), prompt.text, "the rendered text is what the ids say");
    format!(
        "format: {}\nshape: {}\ntokens: {} (headers {}, cross-file {}, prefix {}, suffix {}); scope lines kept: {}\nheal: {:?}\nsnippets: {}\n-----\n{}\n",
        prompt.format.name(),
        prompt.decision,
        c.total(),
        c.headers,
        c.cross_file,
        c.prefix,
        c.suffix,
        c.scope_lines,
        String::from_utf8_lossy(&prompt.heal),
        prompt.snippets.iter().map(|s| format!("{}:{} ({:?})", s.path, s.line + 1, s.kind)).collect::<Vec<_>>().join(", "),
        prompt.text,
    )
}

#[test]
fn prompts_match_their_snapshots() {
    let dir = fixtures().join("prompts");
    let mut failures = Vec::new();
    let mut count = 0;
    let mut entries: Vec<_> =
        std::fs::read_dir(&dir).expect("fixtures/context/prompts").flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries.iter().filter(|p| p.extension().is_some_and(|e| e == "fixture")) {
        count += 1;
        let text = std::fs::read_to_string(path).expect("readable fixture");
        let actual = render_prompt(&parse_fixture(&text));
        if let Err(e) = expect_file(&path.with_extension("expected"), &actual) {
            failures.push(e);
        }
    }
    assert!(count >= 12, "only {count} prompt fixtures found in {}", dir.display());
    assert!(failures.is_empty(), "{} of {count} fixtures differ:\n{}", failures.len(), failures.join("\n"));
}

/// A case's buffer (its `$0` taken out), cursor, language, tree and shape.
fn load_case(file_name: &str, code: &str) -> (Rope, usize, Language, ShapeDecision) {
    let code = code.replace("\\t", "\t");
    let cursor = code.find("$0").expect("$0 in every case");
    let code = code.replacen("$0", "", 1);
    let rope = Rope::from_str(&code);
    let language = Language::detect("", file_name);
    let parsed = Syntax::new(language).snapshot().parse(&rope, Duration::from_secs(5));
    let decision = decide_shape(&rope, cursor, language, parsed.tree());
    (rope, cursor, language, decision)
}

/// Cases of `=== name` / code with `$0` / `--- expect` / shape text.
#[test]
fn shapes_match_the_table() {
    let path = fixtures().join("shapes.txt");
    let text = std::fs::read_to_string(&path).expect("fixtures/context/shapes.txt");
    let mut failures = Vec::new();
    let mut count = 0;
    for case in text.split("\n=== ").skip(1) {
        let (header, rest) = case.split_once('\n').expect("a name line");
        let (file_name, _) = header.split_once(' ').unwrap_or((header, ""));
        let (code, expect) = rest.split_once("--- expect\n").expect("--- expect");
        let code = code.strip_suffix('\n').unwrap_or(code);
        let (_, _, _, decision) = load_case(file_name, code);
        count += 1;
        if decision.to_string() != expect.trim() {
            failures.push(format!("{header}: expected `{}`, got `{decision}`", expect.trim()));
        }
    }
    assert!(count >= 15, "only {count} shape cases");
    assert!(failures.is_empty(), "{} of {count} shape cases differ:\n{}", failures.len(), failures.join("\n"));
}

/// Cases of `=== FILE name`, the buffer with `$0`, `--- raw` (the model's answer) and
/// `--- shown` (what the editor must show; empty for nothing).
#[test]
fn post_processing_shows_what_the_user_wants() {
    let mut failures = Vec::new();
    let mut count = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join("finish"))
        .expect("fixtures/context/finish")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "txt")) {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for case in text.split("\n=== ").skip(1) {
            let (header, rest) = case.split_once('\n').expect("a name line");
            let (file_name, _) = header.split_once(' ').unwrap_or((header, ""));
            let (code, rest) = rest.split_once("\n--- raw\n").expect("--- raw");
            let (raw, shown) = rest.split_once("\n--- shown\n").expect("--- shown");
            let shown = shown.strip_suffix('\n').unwrap_or(shown);
            let (rope, cursor, language, decision) = load_case(file_name, code);
            let finisher = Finisher::new(&rope, cursor, language, decision.shape, IndentStyle::detect(&rope, cursor));
            let raw = raw.replace("\\t", "\t");
            let cut_off = header.contains("(cut off)");
            let finished = if cut_off { finisher.finish_cut_off(&raw) } else { finisher.finish(&raw) };
            // The stop check must agree: streaming the answer stops no later than the cut.
            let stopped_at =
                (1..=raw.len()).filter(|&i| raw.is_char_boundary(i)).find(|&i| finisher.is_complete(&raw[..i]));
            let streamed = match stopped_at {
                Some(at) => finisher.finish(&raw[..at]),
                None => finished.clone(),
            };
            count += 1;
            let want = shown.replace("\\t", "\t");
            if finished != want {
                failures.push(format!("{name} {header} ({}): expected\n{want}\n--- got\n{finished}\n", decision));
            } else if streamed != want {
                failures.push(format!("{name} {header}: stopped streaming too early: {streamed:?}"));
            }
        }
    }
    assert!(count >= 40, "only {count} post-processing cases");
    assert!(failures.is_empty(), "{} of {count} cases differ:\n{}", failures.len(), failures.join("\n"));
}

/// Typing at the end keeps the prompt's start (the model's cache stays valid) until
/// the text no longer fits; then one fresh cut leaves room for more typing.
#[test]
fn the_prompt_start_stays_put_while_typing() {
    let tokenizer = ToyTokenizer::new();
    let mut text: String = (0..200).map(|i| format!("value_{i} = compute({i})\n")).collect();
    let options = PromptOptions::new(PromptFormat::PrefixOnly, tokenizer.special_tokens(PromptFormat::PrefixOnly), 400);
    let mut anchor = None;
    let mut starts = Vec::new();
    for _ in 0..120 {
        text.push_str("x = 1\n");
        let rope = Rope::from_str(&text);
        let input = PromptInput {
            rope: &rope,
            cursor: rope.len_bytes(),
            path: "a.py",
            repo: None,
            language: Language::PYTHON,
            tree: None,
            others: &[],
            prefix_anchor: anchor.as_ref(),
        };
        let prompt = build(&input, &options, &tokenizer).expect("prompt");
        assert!(prompt.ids.len() <= 400);
        starts.push(prompt.prefix_anchor.start);
        anchor = Some(prompt.prefix_anchor);
    }
    let moves = starts.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(starts[0] > 0, "the text is over the budget");
    assert!((1..=8).contains(&moves), "the start moved {moves} times in 120 lines typed: {starts:?}");
}

/// Typing at one place with a fill-in-the-middle format: after the first prompt, each
/// keystroke's prompt is the frozen head plus the typed text after the middle token,
/// so only appended tokens are new; leaving the place (or changing the text around
/// it) builds a fresh head.
#[test]
fn typing_at_a_frozen_head_only_appends_tokens() {
    let tokenizer = ToyTokenizer::new();
    let format = PromptFormat::QwenCoder;
    let options = PromptOptions::new(format, tokenizer.special_tokens(format), 300);
    let body: String = (0..60).map(|i| format!("    total += weight({i})\n")).collect();
    let mut text = format!("def score(items):\n    total = 0\n{body}    return total\n\n\ndef other():\n    pass\n");
    let start = text.find("    return").expect("the return line");
    let build_with =
        |text: &str, cursor: usize, anchor: Option<&infill_context::PrefixAnchor>, options: &PromptOptions| {
            let rope = Rope::from_str(text);
            let input = PromptInput {
                rope: &rope,
                cursor,
                path: "score.py",
                repo: Some("demo"),
                language: Language::PYTHON,
                tree: None,
                others: &[],
                prefix_anchor: anchor,
            };
            build(&input, options, &tokenizer).expect("prompt")
        };
    let build_at = |text: &str, cursor: usize, anchor: Option<&infill_context::PrefixAnchor>| {
        build_with(text, cursor, anchor, &options)
    };
    let fresh = build_at(&text, start, None);
    assert!(!fresh.anchored);
    let head = fresh.prefix_anchor.middle.clone().expect("a FIM prompt freezes its head");
    assert_eq!(head.ids, fresh.ids, "the fresh prompt is the head");
    let mut anchor = fresh.prefix_anchor.clone();
    let typed = "    if not items:\n        return 0\n    ";
    for (i, c) in typed.char_indices() {
        text.insert(start + i, c);
        let cursor = start + i + c.len_utf8();
        let prompt = build_at(&text, cursor, Some(&anchor));
        assert!(prompt.anchored, "keystroke {i} keeps the head");
        assert_eq!(prompt.ids[..head.ids.len()], head.ids[..], "keystroke {i}: the head's ids come first");
        assert_eq!(prompt.ids.len(), head.ids.len() + prompt.counts.middle);
        assert_eq!(prompt.ids.len(), prompt.counts.total());
        let shown = format!("{}{}", &prompt.text[head.text.len()..], String::from_utf8_lossy(&prompt.heal));
        assert_eq!(
            shown,
            typed[..=i],
            "keystroke {i}: the typed text follows the middle token (healed bytes included)"
        );
        assert!(prompt.ids.len() <= 300);
        anchor = prompt.prefix_anchor;
    }
    let cursor = start + typed.len();
    // The same place, asked again: still the head.
    assert!(build_at(&text, cursor, Some(&anchor)).anchored);
    // The cursor one line up (inside the typed text): the text after it is no longer the frozen suffix.
    let up = text[..cursor - 4].rfind('\n').expect("a line above") + 1;
    assert!(!build_at(&text, up, Some(&anchor)).anchored, "the cursor left the place");
    // A change after the cursor, or before the place, gives a fresh head.
    let mut after = text.clone();
    after.insert_str(cursor + 20, "# note\n");
    assert!(!build_at(&after, cursor, Some(&anchor)).anchored, "the suffix changed");
    let mut before = text.clone();
    before.insert(start - 30, 'x');
    assert!(!build_at(&before, cursor + 1, Some(&anchor)).anchored, "the prefix changed");
    // Other options (budget, format) need another head.
    let wider = PromptOptions { budget: 400, ..options };
    assert!(!build_with(&text, cursor, Some(&anchor), &wider).anchored);
    // A fresh head at the new place matches what a prompt without any anchor says
    // about the text (the same prefix and suffix, cut the same way).
    let rebased = build_at(&text, up, Some(&anchor));
    let cold = build_at(&text, up, Some(&infill_context::PrefixAnchor { middle: None, ..anchor.clone() }));
    assert_eq!(rebased.ids, cold.ids);
}

/// Every language with a grammar has fixtures of each kind: shapes, post-processing
/// (a block end found while streaming, a bracket the suffix already has) and prompts
/// (a cut that keeps a scope header, a cross-file definition); at least 8 in all.
#[test]
fn every_parsed_language_has_its_fixtures() {
    let dir = fixtures();
    let language_of = |file_name: &str| Language::detect("", file_name);
    let mut counts: std::collections::HashMap<&str, [usize; 3]> = Default::default();
    let shapes = std::fs::read_to_string(dir.join("shapes.txt")).expect("shapes.txt");
    for case in shapes.split("\n=== ").skip(1) {
        let file_name = case.split([' ', '\n']).next().unwrap_or("");
        counts.entry(language_of(file_name).name()).or_default()[0] += 1;
    }
    for entry in std::fs::read_dir(dir.join("finish")).expect("finish/").flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("a finish file");
        for case in text.split("\n=== ").skip(1) {
            let file_name = case.split([' ', '\n']).next().unwrap_or("");
            counts.entry(language_of(file_name).name()).or_default()[1] += 1;
        }
    }
    for entry in std::fs::read_dir(dir.join("prompts")).expect("prompts/").flatten() {
        if entry.path().extension().is_some_and(|e| e == "fixture") {
            let fixture = parse_fixture(&std::fs::read_to_string(entry.path()).expect("a fixture"));
            if let Some(current) = fixture.files.iter().find(|f| f.cursor.is_some()) {
                counts.entry(language_of(&current.path).name()).or_default()[2] += 1;
            }
        }
    }
    let mut missing = Vec::new();
    for language in Language::parsed() {
        let [shapes, finish, prompts] = counts.get(language.name()).copied().unwrap_or_default();
        if shapes < 3 || finish < 3 || prompts < 2 || shapes + finish + prompts < 8 {
            missing.push(format!("{}: {shapes} shape, {finish} post-processing, {prompts} prompt", language.name()));
        }
    }
    assert!(missing.is_empty(), "languages short of fixtures:\n{}", missing.join("\n"));
}
