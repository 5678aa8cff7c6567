//! The integration tests, one binary (cargo links it once after a change
//! in `src/`): one module per area, the helpers in `common`. Run one area
//! with `cargo test --test tests cli::`.

mod common;

mod build_config;
mod cli;
mod doctor;
mod download;
mod hostile;
mod image;
mod kfp;
mod kfp_local;
mod module_graph;
mod no_panic_properties;
mod notebook;
mod parity;
mod plots;
mod reliability;
mod submit;
