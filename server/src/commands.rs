//! The subcommands that do not serve LSP: `complete`, `prompt` and `fetch`.

use std::io::Write as _;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use infill_context::{Language, ParseStats, PromptFormat, SyntaxSource};
use infill_model::{Engine, EngineOptions, GgufFile, HParams, ModelFacts, ModelSource, ModelTokenizer, DEFAULT_MODEL};
use tower_lsp::lsp_types::{Position, Url};

use crate::cancel::CancelToken;
use crate::cli::At;
use crate::config::Config;
use crate::document::Document;
use crate::engine::model_engine::{build_prompt, ModelEngine, TokenizerView};
use crate::engine::{CompletionEngine, CompletionRequest, RequestContext};
use crate::position::{position_to_byte, PositionEncoding};
use crate::request_context::{display_path, repo_name, PARSE_LIMIT};

/// The model to use when none is named: the default one if it was fetched before.
pub fn resolve_model(reference: Option<&str>) -> anyhow::Result<std::path::PathBuf> {
    let source = ModelSource::parse(reference.unwrap_or(DEFAULT_MODEL));
    match source.cached() {
        Some(path) => Ok(path),
        None if reference.is_none() => {
            bail!("no model: pass --model PATH (a .gguf file), or run `infill-ls fetch` to download the default model")
        }
        None => match source {
            ModelSource::Local(path) => bail!("{}: no such model file", path.display()),
            ModelSource::Hub { .. } => {
                bail!("{} is not downloaded: run `infill-ls fetch {}`", source.describe(), source.describe())
            }
        },
    }
}

/// A file opened as a document, the cursor in it, and its request context (its own
/// syntax tree; paths relative to the current directory when inside it).
fn open_file(at: &At) -> anyhow::Result<(Document, usize, Url, RequestContext, ParseStats)> {
    let (file, line, column) = (at.file.as_path(), at.line, at.column);
    let bytes = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", file.display()))?;
    let absolute = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
    let uri = Url::from_file_path(&absolute)
        .unwrap_or_else(|_| Url::parse("file:///untitled").expect("a valid constant URL"));
    let doc = Document::new(&text, 0, "", uri.path());
    let position = Position::new(line.saturating_sub(1), column.saturating_sub(1));
    let cursor = position_to_byte(doc.rope(), position, PositionEncoding::Utf32);
    let snapshot = doc.snapshot();
    let parsed = snapshot.syntax.parse(&snapshot.rope, PARSE_LIMIT);
    let root = std::env::current_dir().ok().filter(|dir| absolute.starts_with(dir));
    let context = RequestContext {
        tree: parsed.tree().cloned(),
        path: display_path(&uri, root.as_deref()),
        repo: repo_name(root.as_deref()),
        ..RequestContext::default()
    };
    Ok((doc, cursor, uri, context, parsed.stats))
}

/// How the file was read, for `infill-ls prompt`: the grammar's name, or `text rules`
/// (and why, where the language has a grammar).
fn syntax_line(language: Language, parsed: &ParseStats, has_tree: bool) -> String {
    match language.syntax_source() {
        SyntaxSource::Grammar(grammar) if has_tree => {
            format!("{grammar} ({}, parsed in {:.1} ms)", language.name(), parsed.ms)
        }
        SyntaxSource::Grammar(grammar) => {
            format!("text rules ({grammar} ran past its {} ms limit)", PARSE_LIMIT.as_millis())
        }
        SyntaxSource::TextRules => format!("text rules ({}: no grammar here)", language.name()),
    }
}

/// `infill-ls complete FILE --line L --column C`.
pub fn complete(at: &At, max_tokens: u32, model: Option<&str>, threads: Option<usize>) -> anyhow::Result<()> {
    let (doc, cursor, uri, context, _) = open_file(at)?;
    let model_path = resolve_model(model)?;
    let options = EngineOptions {
        threads: threads.unwrap_or_else(infill_model::engine::physical_cores),
        ..EngineOptions::default()
    };
    let started = std::time::Instant::now();
    let engine = Engine::start(&model_path, options)?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let engine = ModelEngine::new(Arc::new(engine));
    // An explicit request without time limits, with the settings' defaults otherwise.
    let config = Config { max_tokens, time_budget: None, ..Config::default() };
    let request =
        CompletionRequest { invoked: true, ..CompletionRequest::new(uri, doc.snapshot(), cursor, context, &config) };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let completion = runtime.block_on(engine.complete(request, CancelToken::new()))?;
    let mut stdout = std::io::stdout().lock();
    for suggestion in &completion.suggestions {
        writeln!(stdout, "{}", suggestion.text)?;
    }
    let mut stderr = std::io::stderr().lock();
    writeln!(stderr, "model: {} ({}), loaded in {load_ms:.0} ms", engine.model_name(), model_path.display())?;
    match &completion.timings {
        Some(t) => writeln!(
            stderr,
            "prompt: built in {:.1} ms, {} tokens evaluated, {} reused; prefill {:.1} ms; first token {:.1} ms; {} tokens in {:.1} ms ({:.1} tok/s); total {:.1} ms; stop: {:?}",
            t.prompt_ms, t.report.evaluated_tokens, t.report.reused_tokens, t.report.prefill_ms, t.report.ttft_ms, t.report.generated_tokens, t.report.decode_ms, t.report.tokens_per_s, t.engine_ms, t.report.stop
        )?,
        None => writeln!(stderr, "no completion here (the cursor is inside an identifier)")?,
    }
    if completion.timings.is_some() && completion.suggestions.is_empty() {
        writeln!(stderr, "the model's answer was empty after post-processing")?;
    }
    Ok(())
}

/// Options of `infill-ls prompt`.
pub struct PromptArgs<'a> {
    /// A format name instead of the model's own.
    pub format: Option<&'a str>,
    /// Most prompt tokens.
    pub budget: Option<usize>,
    /// Tokens reserved for the answer.
    pub max_tokens: u32,
    /// The model whose vocabulary counts the tokens.
    pub model: Option<&'a str>,
}

/// `infill-ls prompt FILE --line L --column C`: the prompt, its token counts and shape.
pub fn prompt(at: &At, args: PromptArgs<'_>) -> anyhow::Result<()> {
    let (doc, cursor, _, mut context, parse_stats) = open_file(at)?;
    if let Some(name) = args.format {
        let names: Vec<&str> = PromptFormat::all().map(PromptFormat::name).collect();
        let format = PromptFormat::from_name(name)
            .with_context(|| format!("unknown prompt format `{name}`: one of {}", names.join(", ")))?;
        context.format = Some(format);
    }
    context.budget = args.budget;
    let model_path = resolve_model(args.model)?;
    let gguf = GgufFile::open(&model_path)?;
    let hp = HParams::read(&gguf)?;
    let tokenizer = ModelTokenizer::load(&gguf)?;
    let facts = ModelFacts::read(&gguf, &hp, &tokenizer)?;
    let snapshot = doc.snapshot();
    let started = std::time::Instant::now();
    let prompt = build_prompt(
        &TokenizerView(&tokenizer),
        &facts,
        EngineOptions::default().capacity(&hp),
        &snapshot.rope,
        cursor,
        snapshot.language,
        &context,
        args.max_tokens as usize,
    )?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let c = prompt.counts;
    let mut out = std::io::stdout().lock();
    writeln!(out, "model: {} ({})", facts.name, model_path.display())?;
    writeln!(out, "syntax: {}", syntax_line(snapshot.language, &parse_stats, context.tree.is_some()))?;
    writeln!(out, "format: {}", prompt.format.name())?;
    writeln!(out, "shape: {}", prompt.decision)?;
    writeln!(
        out,
        "tokens: {} (headers {}, cross-file {}, prefix {}, suffix {}); scope lines kept: {}; built in {ms:.2} ms",
        prompt.ids.len(),
        c.headers,
        c.cross_file,
        c.prefix,
        c.suffix,
        c.scope_lines
    )?;
    writeln!(out, "heal: {:?}", String::from_utf8_lossy(&prompt.heal))?;
    writeln!(out, "----- prompt")?;
    writeln!(out, "{}", prompt.text)?;
    writeln!(out, "-----")?;
    Ok(())
}

/// `infill-ls fetch [REFERENCE]`.
pub fn fetch(reference: Option<&str>) -> anyhow::Result<()> {
    let source = ModelSource::parse(reference.unwrap_or(DEFAULT_MODEL));
    if let ModelSource::Local(path) = &source {
        bail!("{} is a local path; fetch takes a Hugging Face file `owner/repo/file.gguf`", path.display());
    }
    let mut last_percent = u64::MAX;
    let path = source.fetch(move |p| {
        let percent = (p.done * 100).checked_div(p.total).unwrap_or(0);
        if percent != last_percent {
            last_percent = percent;
            let _ = write!(std::io::stderr(), "\rdownloading: {percent:3}% of {:.1} MB", p.total as f64 / 1e6);
        }
    })?;
    let _ = writeln!(std::io::stderr());
    writeln!(std::io::stdout(), "{}", path.display())?;
    Ok(())
}
