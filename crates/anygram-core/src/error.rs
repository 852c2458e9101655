//! The one error type of the engine. Every fallible call returns it; the Python bindings map each
//! variant onto an exception class that also derives from the fitting builtin.

use std::path::PathBuf;

/// Everything that can go wrong in anygram-core, with the context a user needs to act on it.
#[derive(Debug, thiserror::Error, strum::EnumCount)]
pub enum AnygramError {
    /// An operating-system error on a named file.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The directory holds no finished index (no manifest): never built, or a build that died.
    #[error("no anygram index at {path}: {detail}")]
    IndexNotFound { path: PathBuf, detail: String },
    /// A file of the index disagrees with the manifest or with itself.
    #[error("corrupt index at {path}: {detail}")]
    CorruptIndex { path: PathBuf, detail: String },
    /// The index was written by a format version this build cannot read.
    #[error(
        "index format version {found} is not supported (this anygram reads version {supported})"
    )]
    IncompatibleFormat { found: u32, supported: u32 },
    /// Several indexes opened together disagree (tokenizer, token width).
    #[error("indexes cannot be opened together: {0}")]
    Mismatch(String),
    /// A query that cannot be answered as asked (bad shard or rank, too long, ...).
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A token id the index's vocabulary does not have.
    #[error("token id {token} is outside the vocabulary (ids must be < {vocab})")]
    TokenOutOfRange { token: u64, vocab: u64 },
    /// A malformed input document, located by file and line.
    #[error("{location}: {detail}")]
    InvalidInput { location: String, detail: String },
    /// A build or open option that makes no sense.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The tokenizer could not be loaded or applied.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A tokenizer feature the engine's fast path does not cover (the caller may fall back).
    #[error("not supported by the engine's tokenizer: {0}")]
    Unsupported(String),
    /// A broken invariant of the engine (a bug to report), never a user error.
    #[error("internal error in anygram (please report it): {0}")]
    Internal(String),
    /// The query ran past its deadline and its work was stopped.
    #[error("cancelled: {0}")]
    Cancelled(String),
    /// The output already holds a finished index and overwriting was not asked for.
    #[error("{path} already holds an index (pass overwrite to replace it)")]
    AlreadyExists { path: PathBuf },
    /// An error raised where an executor's shards answered (another process or machine), kept
    /// as it was raised so that the caller sees its own kind (a timeout, a shard down, ...).
    #[error("{0}")]
    Remote(Box<dyn std::error::Error + Send + Sync>),
}

pub type Result<T, E = AnygramError> = std::result::Result<T, E>;

impl AnygramError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AnygramError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, detail: impl Into<String>) -> Self {
        AnygramError::CorruptIndex {
            path: path.into(),
            detail: detail.into(),
        }
    }
}

/// Attaches a path to `std::io::Result`s.
pub(crate) trait IoContext<T> {
    fn at(self, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| AnygramError::io(path, e))
    }
}
