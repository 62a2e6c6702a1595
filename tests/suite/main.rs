//! The integration tests of the core, the CLI and the docs, in one binary: each module keeps
//! the promises of one area (tokens, bundles, limits, the reference model, the docs, …).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod architecture;
mod authzen;
mod bundle_tamper;
mod canonical_path;
mod cli;
mod compile_errors;
mod differential;
mod docs;
mod examples;
mod fuzz_regressions;
mod limits;
mod reference_model;
mod schema;
mod tokens;
mod vectors;
mod wycheproof;
