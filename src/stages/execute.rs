//! How a stage runs and commits: the one sequence every caller goes
//! through ([`Stage::execute`]); locking and what follows a stage are the
//! runner's ([`crate::runner::run_stage`]).

use super::freshness;
use super::{Stage, StageContext, StageRun};
use crate::artifact::StageWrites;
use crate::contract::record::record_path;
use crate::error::{Error, Result};

impl Stage {
    /// Runs the stage with a spinner on the context's progress; returns what
    /// it did, with its wall time.
    ///
    /// The stage commits as a whole: its inputs are checked against the
    /// records of the stages that wrote them, its outputs are held as
    /// temporary files until it succeeds, its old record is removed, the
    /// outputs are renamed into place, and the new record is written last.
    /// A stage stopped anywhere in between leaves no record, so it is not
    /// taken as up to date.
    pub fn execute(&self, ctx: &StageContext) -> Result<StageRun> {
        let t = std::time::Instant::now();
        if !self.keeps_record() {
            ctx.progress.start(self.name, 0);
            let result = (self.run)(ctx);
            ctx.progress.finish();
            return Ok(StageRun::ran(self, result?, t));
        }
        let inputs = freshness::check_inputs(self, ctx)?;
        ctx.progress.start(self.name, 0);
        let writes = StageWrites::begin(self.name);
        let result = (self.run)(ctx);
        ctx.progress.finish();
        let output = result?;
        if !output.wrote() {
            // download_data found its files in place: they and their record,
            // if any, stay as they are.
            writes.commit()?;
            return Ok(StageRun::ran(self, output, t));
        }
        let record_path = record_path(&ctx.data_path, self.name);
        match std::fs::remove_file(&record_path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(record_path, "cannot remove", e)),
        }
        let written = writes.commit()?;
        freshness::write_record(self, ctx, inputs, &written)?;
        Ok(StageRun::ran(self, output, t))
    }
}
