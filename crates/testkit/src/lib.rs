//! What the tests of Portcullis share: one instant, seeded keys, issuers, claims and the
//! example policies. The core's integration tests, the gateway's, the workload's and the fuzz
//! targets build their fixtures from here, so a fixture changes in one place.
//!
//! Everything here is deterministic: keys come from fixed seeds, and nothing reads the clock.

pub mod vectors;

use portcullis::model::PolicyData;

/// The shared instant, keys, issuers and claims, defined once in the core (`portcullis::testing`,
/// behind its `test-util` feature) so its own unit tests build from the same fixtures.
pub use portcullis::testing::{claims, issuer, signing_key, trusted_key, NOW};

/// The path of an example policy (`examples/<name>.json`) of the repository.
pub fn example_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(format!("{name}.json"))
}

/// Why an example could not be read.
#[derive(Debug)]
pub struct ExampleError(pub String);

/// The compiled policies of an example (`examples/<name>.json`), one per organization.
pub fn example(name: &str) -> Result<Vec<PolicyData>, ExampleError> {
    let path = example_path(name);
    let bytes = std::fs::read(&path)
        .map_err(|e| ExampleError(format!("cannot read {}: {e}", path.display())))?;
    let source =
        portcullis::source::parse_source(&bytes).map_err(|e| ExampleError(e.to_string()))?;
    portcullis::source::compile(&source).map_err(|e| ExampleError(e.to_string()))
}
