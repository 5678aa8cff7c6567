//! What runs inside the pipeline's containers on a cluster, besides the
//! stages themselves: the volume form's check that the steps can write the
//! shared claim, and the v1 pipeline's hand-over of it ([`volume`]), and KFP
//! v2's executor protocol on the step's side
//! ([`executor`]), and the build and run of a Rust lightweight component's
//! program ([`script`]).

pub mod executor;
pub mod script;
pub mod volume;
