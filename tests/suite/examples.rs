//! Every example policy compiles, builds a bundle that loads back to the same policy, and
//! passes its file of expected decisions.

use std::path::{Path, PathBuf};

use portcullis::bundle::{self, BundleKeys, BundleSigner, LoadOptions};
use portcullis::source;
use portcullis::tools::expect::{self, PolicyTestFile};

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut tests: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".test.json"))
        .collect();
    tests.sort();
    tests
}

fn load(test_path: &Path) -> (PolicyTestFile, Vec<portcullis::model::PolicyData>) {
    let test: PolicyTestFile = serde_json::from_slice(&std::fs::read(test_path).unwrap()).unwrap();
    let source = std::fs::read(test_path.parent().unwrap().join(&test.policy)).unwrap();
    let data = source::compile(&source::parse_source(&source).unwrap()).unwrap();
    (test, data)
}

#[test]
fn every_example_passes_its_expected_decisions() {
    let tests = examples();
    assert!(!tests.is_empty());
    for path in tests {
        let (test, data) = load(&path);
        assert!(
            test.cases.len() >= 15,
            "{}: at least 15 expected decisions",
            path.display()
        );
        let report = expect::run(&test, &data, 1).unwrap();
        let failures: Vec<_> = report.cases.iter().filter(|c| !c.passed).collect();
        assert!(failures.is_empty(), "{}: {failures:#?}", path.display());
    }
}

#[test]
fn every_example_round_trips_through_a_signed_bundle() {
    let signer = BundleSigner::from_seed("examples", &[3u8; 32]);
    let mut keys = BundleKeys::new();
    keys.add("examples", &signer.public_key()).unwrap();
    for path in examples() {
        let (_, data) = load(&path);
        for d in data {
            let bytes = bundle::build(&d, 5, 1_000, 2_000, &signer).unwrap();
            let (header, policy) = bundle::load(
                &bytes,
                &keys,
                LoadOptions {
                    now: 1_500,
                    min_version: 5,
                },
            )
            .unwrap();
            assert_eq!(header.org, d.org);
            assert_eq!(
                policy.data(),
                &d,
                "{} / {}: decoded bundle differs from the compiled policy",
                path.display(),
                d.org
            );
        }
    }
}
