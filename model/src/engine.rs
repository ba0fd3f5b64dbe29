//! The engine: a dedicated OS thread that owns the weights, the tokenizer and the KV
//! cache, takes [`Job`]s through a bounded channel and streams [`Event`]s back.
//!
//! Before each job the cache is cut back to the longest prefix it shares with the new
//! prompt, and only the rest is evaluated, in chunks, checking the job's cancel flag
//! before each chunk and before each generated token. A cancelled job keeps the keys
//! and values it already computed.

mod draft;
mod generate;
mod job;
mod sampling;
mod slots;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use candle_core::Device;

use crate::error::{ModelError, Result};
use crate::facts::ModelFacts;
use crate::gguf::GgufFile;
use crate::hparams::HParams;
use crate::kv_cache::KvCache;
use crate::tokenizer::ModelTokenizer;
use crate::transformer::Transformer;

pub use job::{Event, EventSink, Job, Priority, Report, Sampling, StopCheck, StopReason, TokenScore, DEFAULT_DRAFTS};

/// Jobs that may wait for the engine.
const QUEUE: usize = 8;
/// Most KV cache slots (documents whose caches are kept at once).
const MAX_SLOTS: usize = 8;

/// How to run a model.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Threads for matrix work (default: physical cores).
    pub threads: usize,
    /// Most positions the KV cache holds (capped by the model's context length).
    pub max_context: usize,
    /// Prompt tokens evaluated in one forward pass.
    pub prefill_chunk: usize,
    /// Memory for KV caches: as many documents' caches (at most 8, at least 1) as fit
    /// are kept, so switching between files costs nothing.
    pub kv_memory: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions { threads: physical_cores(), max_context: 4096, prefill_chunk: 64, kv_memory: 512 << 20 }
    }
}

impl EngineOptions {
    /// Positions the KV cache holds for a model of these hyperparameters: prompt and
    /// answer together (`infill_context::prompt_budget` fits prompts to it).
    pub fn capacity(&self, hp: &HParams) -> usize {
        self.max_context.clamp(16, hp.context_length.max(16))
    }
}

/// The number of physical cores (at least 1).
pub fn physical_cores() -> usize {
    num_cpus::get_physical().max(1)
}

/// The device models run on: the first GPU when built with `cuda` or `metal` and one
/// is present, else the CPU.
pub fn device() -> Device {
    #[cfg(feature = "cuda")]
    if let Ok(device) = Device::new_cuda(0) {
        return device;
    }
    #[cfg(feature = "metal")]
    if let Ok(device) = Device::new_metal(0) {
        return device;
    }
    Device::Cpu
}

/// A loaded model, ready to run.
pub struct Model {
    /// The forward pass.
    pub transformer: Transformer,
    /// The tokenizer.
    pub tokenizer: Arc<ModelTokenizer>,
    /// What prompt builders need to know.
    pub facts: Arc<ModelFacts>,
    /// The cache, sized by the options.
    pub cache: KvCache,
}

impl Model {
    /// Loads `path` on the calling thread.
    pub fn load(path: &Path, options: &EngineOptions) -> Result<Model> {
        let device = device();
        let mut gguf = GgufFile::open(path)?;
        let hp = HParams::read(&gguf)?;
        let tokenizer = ModelTokenizer::load(&gguf)?;
        if tokenizer.vocab_size() < hp.vocab_size {
            return Err(gguf.metadata_error(
                "tokenizer.ggml.tokens",
                format!("has {} tokens, the model has {} embeddings", tokenizer.vocab_size(), hp.vocab_size),
            ));
        }
        let facts = ModelFacts::read(&gguf, &hp, &tokenizer)?;
        let capacity = options.capacity(&hp);
        let transformer = Transformer::load(&mut gguf, &hp, capacity, &device)?;
        let cache = KvCache::new(&hp, capacity, &device).map_err(gguf.compute_error("allocating the KV cache"))?;
        Ok(Model { transformer, tokenizer: Arc::new(tokenizer), facts: Arc::new(facts), cache })
    }
}

/// A handle on the engine thread. Dropping it stops the thread after its current job.
pub struct Engine {
    jobs: Option<SyncSender<worker::Queued>>,
    /// Jobs submitted and not yet taken by the thread (background work yields to them).
    waiting: Arc<AtomicUsize>,
    tokenizer: Arc<ModelTokenizer>,
    facts: Arc<ModelFacts>,
    path: PathBuf,
    capacity: usize,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    /// Loads `path` and starts the engine thread.
    pub fn start(path: &Path, options: EngineOptions) -> Result<Engine> {
        let model = Model::load(path, &options)?;
        Self::with_model(path, model, options)
    }

    /// Starts the engine thread on a model already loaded.
    pub fn with_model(path: &Path, model: Model, options: EngineOptions) -> Result<Engine> {
        let (tx, rx) = mpsc::sync_channel::<worker::Queued>(QUEUE);
        let tokenizer = model.tokenizer.clone();
        let facts = model.facts.clone();
        let capacity = model.cache.capacity();
        let slot_bytes = model.cache.bytes_at_capacity().max(1);
        let slots = (options.kv_memory / slot_bytes).clamp(1, MAX_SLOTS);
        tracing::info!(
            slots,
            slot_mb = slot_bytes >> 20,
            positions = capacity,
            "KV caches: up to {} documents of {} positions ({} MB each when full)",
            slots,
            capacity,
            slot_bytes >> 20
        );
        let waiting = Arc::new(AtomicUsize::new(0));
        let counter = waiting.clone();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(options.threads.max(1))
            .thread_name(|i| format!("infill-math-{i}"))
            .build()
            .map_err(|e| ModelError::EngineStopped(format!("cannot start the thread pool: {e}")))?;
        let thread = std::thread::Builder::new()
            .name("infill-engine".into())
            .spawn(move || {
                worker::run(model, rx, pool, options, slots, counter);
                release_freed_memory();
            })
            .map_err(|e| ModelError::EngineStopped(format!("cannot start the engine thread: {e}")))?;
        Ok(Engine { jobs: Some(tx), waiting, tokenizer, facts, path: path.to_owned(), capacity, thread: Some(thread) })
    }

    /// Queues a job. Fails at once (never blocks) when its prompt leaves no room for an
    /// answer, the queue is full or the engine has stopped; the job's sink then receives nothing.
    pub fn submit(&self, job: Job) -> Result<()> {
        if job.prompt.len() >= self.capacity {
            return Err(ModelError::PromptTooLong { tokens: job.prompt.len(), capacity: self.capacity });
        }
        let Some(jobs) = &self.jobs else {
            return Err(ModelError::EngineStopped("already shut down".into()));
        };
        // Counted before it is sent, so background work sees it at once.
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let sent = jobs.try_send((job, Instant::now()));
        if sent.is_err() {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
        }
        match sent {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(ModelError::EngineStopped("too many jobs are waiting".into())),
            Err(TrySendError::Disconnected(_)) => Err(ModelError::EngineStopped("the engine thread has exited".into())),
        }
    }

    /// The model's tokenizer (thread-safe; prompt builders count tokens with it).
    pub fn tokenizer(&self) -> &Arc<ModelTokenizer> {
        &self.tokenizer
    }

    /// Facts about the model.
    pub fn facts(&self) -> &Arc<ModelFacts> {
        &self.facts
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Positions the KV cache holds: prompt plus generated tokens must fit.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Hands the memory a stopped engine freed back to the system. glibc keeps freed heap
/// pages for reuse (and raises its mmap threshold after large frees, so the next model's
/// tensors land on the heap too): without this, loading a model again (the `threads`
/// setting, another model, its file changed on disk) leaves the old one's size in the
/// resident set for good (the soak benchmark saw 356 MiB become 600 MiB at the first reload).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only walks glibc's own free lists; it touches no memory of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}
