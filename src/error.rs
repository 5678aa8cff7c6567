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
    /// The stage's own results do not add up (a saved model that does not
    /// score as its record says): the stage that made them must run again.
    #[error("{0}")]
    Inconsistent(String),
    /// A chart could not be drawn.
    #[error("drawing a chart: {0}")]
    Chart(String),
    /// The network failed, after the retries: the same command may work
    /// later (a cut download resumes).
    #[error("{0}")]
    Network(String),
    /// Something that cannot happen did (a worker thread died, a loop ran
    /// out): a bug, worth reporting.
    #[error("internal error: {0}")]
    Internal(String),
    /// The disk (or quota) filled up while an artifact was written; nothing
    /// was replaced.
    #[error("no space left on device while writing {path}")]
    DiskFull {
        /// The artifact being written.
        path: PathBuf,
    },
    /// An artifact no longer holds what the stage that made it recorded:
    /// changed, damaged or swapped since. Rerunning that stage fixes it.
    #[error(
        "{path}: not the file {stage} wrote (its content changed since, by hand or damage); \
         rerun `crypto-lab {command}` (or `crypto-lab run`)"
    )]
    ChangedArtifact {
        /// The artifact.
        path: PathBuf,
        /// The stage that wrote it.
        stage: &'static str,
        /// That stage's subcommand.
        command: &'static str,
    },
    /// Another crypto-lab process is writing in the data path.
    #[error(
        "data path {path} is in use by crypto-lab (pid {pid}) since {since}; \
         wait for it, or pass --wait-lock to wait here"
    )]
    DataPathInUse {
        /// The data path.
        path: PathBuf,
        /// The process holding it (0 if unknown).
        pid: u32,
        /// When it took the data path (UTC), or "an unknown time".
        since: String,
    },
    /// A LightGBM parameter name LightGBM does not know.
    #[error("unknown LightGBM parameter `{name}`{suggestion}")]
    UnknownParameter {
        /// The name given.
        name: String,
        /// ", did you mean `...`?" or empty.
        suggestion: String,
    },
    /// A stage failed; `cause` says why. The cause is part of this error's
    /// text and deliberately not its `source()`: a report that prints the
    /// chain (the binary's `{:#}`) would otherwise say it twice, and one that
    /// prints only the top (a script's `main`) would drop it.
    #[error("{stage} failed: {cause}")]
    StageFailed {
        /// The lab stage.
        stage: &'static str,
        /// What went wrong.
        cause: Box<Error>,
    },
    /// A remote service (the KFP API) refused or failed a request; the
    /// message says what to do about it.
    #[error("{message}")]
    Remote {
        /// What happened, as the client said it.
        message: String,
        /// How the caller should treat it.
        remedy: Remedy,
    },
    /// A polars operation failed on data the stage built itself.
    #[error("dataframe: {0}")]
    Polars(polars::error::PolarsError),
}

impl From<polars::error::PolarsError> for Error {
    fn from(e: polars::error::PolarsError) -> Self {
        Error::Polars(e)
    }
}

/// What the caller of a failed command can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// Change the input or the options (the message says which).
    FixInput,
    /// Run the same command again later: the network, or another writer.
    RetryLater,
    /// Run the stage that makes the artifact again (the message names it).
    RerunStage,
    /// Free disk space, or fix permissions or the machine's set-up.
    FixEnvironment,
    /// Report it: crypto-lab itself went wrong.
    Report,
}

impl Remedy {
    /// Every remedy, in the order `--help` lists them.
    pub const ALL: [Remedy; 5] = [
        Remedy::FixInput,
        Remedy::RetryLater,
        Remedy::RerunStage,
        Remedy::FixEnvironment,
        Remedy::Report,
    ];

    /// What it asks of the user, for `--help`.
    pub fn meaning(self) -> &'static str {
        match self {
            Remedy::FixInput => "fix the input or the options (the message names which)",
            Remedy::RetryLater => {
                "try the same command again later (the network, a KFP API that is down, a busy data path)"
            }
            Remedy::RerunStage => "rerun the stage the message names (or `crypto-lab run`)",
            Remedy::FixEnvironment => "free disk space, or fix permissions or the machine's set-up",
            Remedy::Report => "crypto-lab went wrong: please report it",
        }
    }

    /// The binary's exit statuses, one line per remedy (`--help` shows it).
    pub fn exit_status_table() -> String {
        let mut lines = vec!["  0   done".to_string()];
        let mut remedies = Remedy::ALL;
        remedies.sort_by_key(|r| r.exit_code());
        for r in remedies {
            lines.push(format!("  {:<3} {}", r.exit_code(), r.meaning()));
        }
        lines.join("\n")
    }

    /// The binary's exit status: 75 (EX_TEMPFAIL, as sendmail and friends)
    /// when trying again later may work, 1 otherwise.
    pub fn exit_code(self) -> u8 {
        match self {
            Remedy::RetryLater => 75,
            _ => 1,
        }
    }
}

impl Error {
    /// What the caller can do about this error.
    pub fn remedy(&self) -> Remedy {
        match self {
            Error::MissingFile { .. }
            | Error::BadInput { .. }
            | Error::BadArgument(_)
            | Error::LightGbm(_)
            | Error::UnknownParameter { .. } => Remedy::FixInput,
            Error::Network(_) | Error::DataPathInUse { .. } => Remedy::RetryLater,
            Error::Inconsistent(_) | Error::ChangedArtifact { .. } => Remedy::RerunStage,
            Error::Io { .. } | Error::DiskFull { .. } | Error::Chart(_) => Remedy::FixEnvironment,
            Error::Internal(_) | Error::Polars(_) => Remedy::Report,
            Error::StageFailed { cause, .. } => cause.remedy(),
            Error::Remote { remedy, .. } => *remedy,
        }
    }

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

/// `text` as it can go into a one-line message: control characters and
/// other invisible ones escaped (`\n`, `\u{1b}`), the rest as it is.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{feff}')
        {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Bytes read from a file as they can go into a one-line message: valid
/// UTF-8 through [`printable`], any other byte as `\xNN`.
pub fn printable_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(&printable(chunk.valid()));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_can_tell_retry_from_fix() {
        let busy = Error::DataPathInUse {
            path: "d".into(),
            pid: 1,
            since: "now".into(),
        };
        assert_eq!(busy.remedy(), Remedy::RetryLater);
        assert_eq!(busy.remedy().exit_code(), 75);
        let failed = Error::StageFailed {
            stage: "download_data",
            cause: Box::new(Error::Network("cut".into())),
        };
        assert_eq!(failed.remedy(), Remedy::RetryLater);
        // Its cause is said once, whether the chain is printed or not.
        assert!(std::error::Error::source(&failed).is_none());
        assert_eq!(failed.to_string(), "download_data failed: cut");
        assert_eq!(Error::BadArgument("x".into()).remedy(), Remedy::FixInput);
        assert_eq!(Error::BadArgument("x".into()).remedy().exit_code(), 1);
    }

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        assert_eq!(printable("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\n");
        assert_eq!(printable_bytes(b"ok\xff\x00"), "ok\\xff\\u{0}");
        assert_eq!(printable("Bitcoin Cash"), "Bitcoin Cash");
    }
}
