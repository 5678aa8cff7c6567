//! What runs inside the pipeline's containers on a cluster, besides the
//! stages themselves: handing the shared volume to the stages' user
//! ([`volume`]) and KFP v2's executor protocol on the step's side
//! ([`executor`]).

pub mod executor;
pub mod volume;
