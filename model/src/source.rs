//! Where a model comes from: a local `.gguf` path, or a file of a Hugging Face
//! repository downloaded once into the usual hub cache (`~/.cache/huggingface/hub`).
//! Nothing here touches the network unless [`ModelSource::fetch`] is called.

use std::path::PathBuf;

use hf_hub::api::sync::{ApiBuilder, ApiError};
use hf_hub::api::Progress;
use hf_hub::Cache;
use sha2::{Digest, Sha256};

use crate::error::{ModelError, Result};

/// Times a cut download is resumed within one fetch before giving up (a later fetch
/// resumes from the partial file hf-hub keeps).
const RETRIES: usize = 3;

/// The model users get when they ask for "the default": Qwen2.5-Coder 0.5B, Q8_0.
pub const DEFAULT_MODEL: &str = "ggml-org/Qwen2.5-Coder-0.5B-Q8_0-GGUF/qwen2.5-coder-0.5b-q8_0.gguf";

/// A model reference, as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A file on disk.
    Local(PathBuf),
    /// `owner/repo/file.gguf` on the Hugging Face hub.
    Hub {
        /// `owner/repo`.
        repo: String,
        /// The file inside the repository.
        file: String,
    },
}

/// Download progress, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadProgress {
    /// Bytes received so far.
    pub done: u64,
    /// Size of the file (0 when unknown).
    pub total: u64,
}

impl ModelSource {
    /// Reads a reference: `hf:owner/repo/file.gguf`, or `owner/repo/file.gguf` when no
    /// such local file exists; anything else is a local path (`~/` is expanded).
    pub fn parse(reference: &str) -> ModelSource {
        let reference = reference.trim();
        let hub = reference.strip_prefix("hf:").or_else(|| reference.strip_prefix("hf://"));
        let candidate = hub.unwrap_or(reference);
        let parts: Vec<&str> = candidate.splitn(3, '/').collect();
        let looks_like_hub =
            parts.len() == 3 && parts.iter().all(|p| !p.is_empty()) && !candidate.starts_with(['/', '.', '~']);
        if looks_like_hub && (hub.is_some() || !PathBuf::from(reference).exists()) {
            return ModelSource::Hub { repo: format!("{}/{}", parts[0], parts[1]), file: parts[2].to_owned() };
        }
        let path = match reference.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(rest))
                .unwrap_or_else(|| PathBuf::from(reference)),
            None => PathBuf::from(reference),
        };
        ModelSource::Local(path)
    }

    /// The file to load if it is already here: the path itself, or the hub cache's copy.
    pub fn cached(&self) -> Option<PathBuf> {
        match self {
            ModelSource::Local(path) => path.is_file().then(|| path.clone()),
            ModelSource::Hub { repo, file } => Cache::from_env().model(repo.clone()).get(file),
        }
    }

    /// Downloads a hub file into the cache (a no-op for local files and cached ones),
    /// reporting progress; returns the local path.
    pub fn fetch(&self, progress: impl FnMut(DownloadProgress) + Send + 'static) -> Result<PathBuf> {
        if let Some(path) = self.cached() {
            return Ok(path);
        }
        let (repo, file) = match self {
            ModelSource::Local(path) => {
                return Err(ModelError::Io { path: path.clone(), source: std::io::ErrorKind::NotFound.into() })
            }
            ModelSource::Hub { repo, file } => (repo, file),
        };
        let reference = format!("{repo}/{file}");
        let fail = |reason: String| ModelError::Download { reference: reference.clone(), reason };
        let api = ApiBuilder::from_env()
            .with_progress(false)
            .with_retries(RETRIES)
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let sink = ProgressSink { report: Box::new(progress), done: 0, total: 0 };
        // hf-hub asserts and unwraps on some answers a broken server can give: a panic
        // there is a failed download, not a dead server.
        let download = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            api.model(repo.clone()).download_with_progress(file, sink)
        }));
        let path = match download {
            Ok(Ok(path)) => path,
            Ok(Err(e)) => return Err(fail(in_plain_words(&e))),
            Err(_) => return Err(fail("the downloader failed on the server's answer (see the log)".into())),
        };
        verify_checksum(&path).map_err(fail)?;
        Ok(path)
    }

    /// The reference as users write it.
    pub fn describe(&self) -> String {
        match self {
            ModelSource::Local(path) => path.display().to_string(),
            ModelSource::Hub { repo, file } => format!("{repo}/{file}"),
        }
    }
}

/// What went wrong with a download, said for users, with what to do about it.
fn in_plain_words(error: &ApiError) -> String {
    let again = "run `infill-ls fetch` again: the download resumes where it stopped";
    match error {
        ApiError::RequestError(e) => match e.as_ref() {
            ureq::Error::Status(404, _) => {
                "the hub has no such file (HTTP 404): check the repository and file name".into()
            }
            ureq::Error::Status(code @ (401 | 403), _) => {
                format!("the hub refused access (HTTP {code}): the repository may be gated; set HF_TOKEN")
            }
            ureq::Error::Status(code, _) => format!("the hub answered HTTP {code}; try again later"),
            ureq::Error::Transport(t) => format!("cannot reach the hub ({t}); check the connection or HF_ENDPOINT"),
        },
        ApiError::IoError(e) if e.kind() == std::io::ErrorKind::StorageFull => {
            format!("the disk is full; free some space, then {again}")
        }
        ApiError::IoError(e) => format!("{e}; {again}"),
        ApiError::TooManyRetries(last) => {
            format!("the connection was cut {} times (last: {}); {again}", RETRIES + 1, in_plain_words(last))
        }
        ApiError::InvalidResume => {
            "the partial download on disk is larger than the file; delete it from the hub cache and fetch again".into()
        }
        other => other.to_string(),
    }
}

/// Checks a downloaded file against the SHA-256 the hub gave (large files are stored
/// under it, as `blobs/<sha256>`); a mismatch removes the file so that it is fetched
/// anew. Files the hub names by another hash are not checked.
fn verify_checksum(path: &std::path::Path) -> std::result::Result<(), String> {
    let blob = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let expected = blob.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_ascii_lowercase();
    if expected.len() != 64 || !expected.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(());
    }
    let mut file = std::fs::File::open(&blob).map_err(|e| format!("{}: {e}", blob.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| format!("{}: {e}", blob.display()))?;
    let found: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    if found == expected {
        return Ok(());
    }
    let _ = std::fs::remove_file(&blob);
    let _ = std::fs::remove_file(path);
    Err(format!(
        "the downloaded file is corrupt (SHA-256 {found}, the hub says {expected}); it was removed: run `infill-ls fetch` again"
    ))
}

struct ProgressSink {
    report: Box<dyn FnMut(DownloadProgress) + Send>,
    done: u64,
    total: u64,
}

impl Progress for ProgressSink {
    fn init(&mut self, size: usize, _filename: &str) {
        self.total = size as u64;
        (self.report)(DownloadProgress { done: 0, total: self.total });
    }

    fn update(&mut self, size: usize) {
        self.done += size as u64;
        (self.report)(DownloadProgress { done: self.done, total: self.total });
    }

    fn finish(&mut self) {
        (self.report)(DownloadProgress { done: self.total.max(self.done), total: self.total });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_as_paths_or_hub_files() {
        assert_eq!(
            ModelSource::parse(DEFAULT_MODEL),
            ModelSource::Hub {
                repo: "ggml-org/Qwen2.5-Coder-0.5B-Q8_0-GGUF".into(),
                file: "qwen2.5-coder-0.5b-q8_0.gguf".into()
            }
        );
        assert!(matches!(ModelSource::parse("hf:a/b/c/d.gguf"), ModelSource::Hub { file, .. } if file == "c/d.gguf"));
        assert_eq!(ModelSource::parse("/models/x.gguf"), ModelSource::Local("/models/x.gguf".into()));
        assert_eq!(ModelSource::parse("./a/b/c.gguf"), ModelSource::Local("./a/b/c.gguf".into()));
        assert_eq!(ModelSource::parse("model.gguf"), ModelSource::Local("model.gguf".into()));
    }

    #[test]
    fn a_missing_local_file_is_not_cached_and_fetching_it_fails_without_network() {
        let source = ModelSource::parse("/definitely/not/here.gguf");
        assert_eq!(source.cached(), None);
        assert!(matches!(source.fetch(|_| {}), Err(ModelError::Io { .. })));
    }
}
