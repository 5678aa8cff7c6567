//! `crypto-lab stages`: the registry as a list.

use crypto_lab::stages::STAGES;

/// One entry per stage: its command, what it does, its files.
pub fn exec() -> anyhow::Result<()> {
    for s in STAGES {
        println!("{:24} {}", s.command, s.description);
        println!("{:24}   in:  {}", "", s.inputs.join(", "));
        println!("{:24}   out: {}", "", s.outputs().join(", "));
    }
    Ok(())
}
