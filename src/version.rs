//! The crate's version, named once: stage records, the exported image's
//! tag, submitted pipeline versions and every HTTP request's user agent say
//! it. A module of its own at the bottom of the house, so that the modules
//! below the crate root need not reach up to it.

/// The crate version (also for callers such as the notebook kernel, where
/// `env!("CARGO_PKG_VERSION")` names the caller's own crate).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The user agent of crypto-lab's HTTP requests (Kaggle, a mirror, KFP).
pub const USER_AGENT: &str = concat!("crypto-lab/", env!("CARGO_PKG_VERSION"));
