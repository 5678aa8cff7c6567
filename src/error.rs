//! The library's error type: every failure a user can cause names the file,
//! row or field involved and what was expected.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a stage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A required input file does not exist.
    #[error("{path}: file not found{hint}")]
    MissingFile {
        /// The file that was looked for.
        path: PathBuf,
        /// What produces the file, as advice (may be empty).
        hint: String,
    },
    /// An I/O operation on a named path failed.
    #[error("{path}: {action}: {cause}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// What was being done ("cannot create", "cannot read", ...).
        action: &'static str,
        /// The underlying error (shown in the message, so not chained again).
        cause: std::io::Error,
    },
    /// A file's content does not match what the stage expects.
    #[error("{path}: {message}")]
    BadInput {
        /// The offending file.
        path: PathBuf,
        /// What is wrong, naming row and column where known.
        message: String,
    },
    /// An argument or option has an unusable value.
    #[error("{0}")]
    BadArgument(String),
    /// LightGBM refused an operation.
    #[error("LightGBM: {0}")]
    LightGbm(String),
    /// A check of the stage's own results failed.
    #[error("{0}")]
    Check(String),
    /// A polars operation failed on data the stage built itself.
    #[error("dataframe: {0}")]
    Polars(polars::error::PolarsError),
}

impl From<polars::error::PolarsError> for Error {
    fn from(e: polars::error::PolarsError) -> Self {
        Error::Polars(e)
    }
}

impl Error {
    /// An I/O error on `path` while doing `action`.
    pub fn io(path: impl Into<PathBuf>, action: &'static str, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            action,
            cause,
        }
    }

    /// Bad content in `path`.
    pub fn bad_input(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::BadInput {
            path: path.into(),
            message: message.into(),
        }
    }
}
