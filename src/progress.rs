//! How stages report progress and log lines without knowing who listens:
//! the CLI draws progress bars, the notebook prints, tests stay silent.

/// Receiver of a stage's progress. Every method has a do-nothing default.
pub trait Progress: Sync {
    /// A unit of work with `total` steps begins.
    fn start(&self, _what: &str, _total: u64) {}
    /// Like [`Progress::start`], counting bytes (`total` 0 when unknown).
    fn start_bytes(&self, what: &str, total: u64) {
        self.start(what, total)
    }
    /// `n` more steps are done.
    fn advance(&self, _n: u64) {}
    /// A log line worth showing (e.g. the lab's every-30-rounds evaluation).
    fn log(&self, _line: &str) {}
    /// The current unit of work is over.
    fn finish(&self) {}
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {}

/// Prints log lines to standard output and ignores the rest (notebooks,
/// scripts).
pub struct Print;

impl Progress for Print {
    fn log(&self, line: &str) {
        println!("{line}");
    }
}
