//! The artifact contracts: what one stage hands the next. The file names in
//! the data path, the documents and tables written between stages, and the
//! stage records — everything a reader of an artifact (a later stage, the
//! charts, the KFP executor, the notebook) relies on, in one module that
//! depends on no stage.
//!
//! Which stage writes which file is declared once ([`files::WRITTEN_BY`]):
//! the stage registry takes each stage's outputs from it, and every reader's
//! "file not found" names the command that makes the file.

/// The file names and their writers, a module of their own below every
/// other (the writers of artifacts name them in their errors).
pub use crate::files;
pub(crate) mod early_stopping;
pub(crate) mod metrics;
pub(crate) mod record;
pub(crate) mod training;

pub(crate) use early_stopping::best_round_choice;
pub use early_stopping::BestRoundChoice;
pub use metrics::{Metric, Metrics};
pub use record::{FileRecord, FileStatus, RecordOptions, StageRecord};
pub use training::{Evals, FeatureImportance, TrainingHistory, ValidPredictions, VALID_FROM};
