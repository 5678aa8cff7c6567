//! Whether a stage is up to date: its inputs checked against the records of
//! the stages that wrote them, its own record against the options and files
//! of this run, and its record written when it completes. The records
//! themselves (what they hold, how files are identified) are part of the
//! artifact contract ([`crate::contract::record`]).

use std::collections::BTreeMap;

use super::{producer_of, Stage, StageContext, StageKind};
use crate::artifact::{die_point, write_json, Written};
use crate::contract::record::{
    identity, option_changes, read_record, record_path, stored_path, FileRecord, FileStatus,
    StageRecord, SYNTH,
};
use crate::error::{Error, Result};

/// Identifies every input of `stage` and checks each against the record of
/// the stage that wrote it: a file that is not what its producer recorded
/// is an error naming the file and the stage to rerun. A missing input is
/// left to the stage, which names it and the stage that writes it.
pub fn check_inputs(stage: &Stage, ctx: &StageContext) -> Result<BTreeMap<String, FileRecord>> {
    let own = read_record(&ctx.data_path, stage.name);
    let mut out = BTreeMap::new();
    for file in stage.inputs {
        let path = ctx.path_of(file);
        let producer = producer_of(file);
        if !path.is_file() {
            // The stage itself says which file is missing and what makes it.
            continue;
        }
        let made = producer.and_then(|p| read_record(&ctx.data_path, p.name).map(|r| (p, r)));
        let made_entry = made.as_ref().and_then(|(_, r)| r.outputs.get(*file));
        let own_entry = own.as_ref().and_then(|r| r.inputs.get(*file));
        // synth records what it wrote too, so its train.csv need not be
        // read again to be known.
        let synth = read_record(&ctx.data_path, SYNTH);
        let synth_entry = synth.as_ref().and_then(|r| r.outputs.get(*file));
        // The lab's inputs (train.csv from Kaggle, downloaded or put there
        // by hand) are known by their status alone: hashing 3.6 GB would
        // cost a quarter of load_data's time, and any write to a file moves
        // its ctime anyway. A user may replace them: the reader reruns.
        let lab_input = made
            .as_ref()
            .is_some_and(|(p, _)| p.kind == StageKind::Download);
        let ours = (made_entry.is_some() && !lab_input) || synth_entry.is_some();
        let id = identity(
            &ctx.data_path,
            &path,
            &[made_entry, own_entry, synth_entry],
            ours,
        )?;
        if let (Some((p, _)), Some(entry)) = (&made, made_entry) {
            if !lab_input && entry.path == id.path && entry.xxh64 != id.xxh64 {
                return Err(Error::ChangedArtifact {
                    path,
                    stage: p.name,
                    command: p.command,
                });
            }
        }
        out.insert(file.to_string(), id);
    }
    Ok(out)
}

/// Why `stage` must run again, or `None` when its record matches the
/// options in `ctx`, its inputs and its outputs exactly.
pub fn stale_reason(stage: &Stage, ctx: &StageContext) -> Option<String> {
    let Some(record) = read_record(&ctx.data_path, stage.name) else {
        return Some("no record of a complete run".into());
    };
    if record.crypto_lab != crate::version::VERSION {
        return Some(format!(
            "made by crypto-lab {}, this is {}",
            record.crypto_lab,
            crate::version::VERSION
        ));
    }
    let changes = option_changes(&record.options, &(stage.options)(ctx));
    if !changes.is_empty() {
        return Some(changes.join(", "));
    }
    let inputs = match check_inputs(stage, ctx) {
        Ok(inputs) => inputs,
        Err(e) => return Some(e.to_string()),
    };
    if let Some(missing) = stage.inputs.iter().find(|f| !inputs.contains_key(**f)) {
        return Some(format!("{missing} missing"));
    }
    for (name, id) in &inputs {
        match record.inputs.get(name) {
            Some(r) if r.xxh64 == id.xxh64 && r.path == id.path => {}
            _ => return Some(format!("{name} changed")),
        }
    }
    for file in stage.outputs() {
        let path = ctx.path_of(file);
        let Some(r) = record.outputs.get(file) else {
            return Some(format!("{file} not in its record"));
        };
        if r.path != stored_path(&ctx.data_path, &path) {
            return Some(format!("{file} now goes to {}", path.display()));
        }
        match identity(&ctx.data_path, &path, &[Some(r)], true) {
            Ok(id) if id.xxh64 == r.xxh64 => {}
            Ok(_) => return Some(format!("{} changed since it was written", path.display())),
            Err(_) => return Some(format!("{} missing", path.display())),
        }
    }
    None
}

/// Writes `stage`'s record after its outputs are in place: `written` holds
/// the hashes taken while writing; a declared output the stage did not write
/// this time is hashed now.
pub fn write_record(
    stage: &Stage,
    ctx: &StageContext,
    inputs: BTreeMap<String, FileRecord>,
    written: &[Written],
) -> Result<()> {
    let mut outputs = BTreeMap::new();
    for file in stage.outputs() {
        let path = ctx.path_of(file);
        let status = FileStatus::of(&path).ok_or_else(|| {
            Error::Internal(format!(
                "{}: {} completed without writing it",
                path.display(),
                stage.name
            ))
        })?;
        let entry = match written.iter().find(|w| w.path == path) {
            Some(w) => FileRecord {
                path: stored_path(&ctx.data_path, &path),
                size: w.size,
                xxh64: w.xxh64.clone(),
                status,
            },
            None => identity(&ctx.data_path, &path, &[], true)?,
        };
        outputs.insert(file.to_string(), entry);
    }
    let record = StageRecord {
        stage: stage.name.to_string(),
        crypto_lab: crate::version::VERSION.to_string(),
        options: (stage.options)(ctx),
        inputs,
        outputs,
    };
    die_point(stage.name);
    write_json(&record_path(&ctx.data_path, stage.name), &record)?;
    die_point(stage.name);
    Ok(())
}
