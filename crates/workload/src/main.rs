//! Writes a benchmark workload for the Node harness (`bench/`):
//!
//! ```text
//! portcullis-workload [--seed N] [--requests N] <out-dir>
//! ```
//!
//! `<out-dir>/workload.json` (users and cases with expected reasons), `policy.json` (the
//! policy source), `bundles/<org>.bundle` (one signed bundle per organization),
//! `large.bundle` (one organization with about 100,000 role bindings) and
//! `bundle-keys.json` (the JWKS that verifies them).

use std::path::PathBuf;
use std::process::ExitCode;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis::bundle::{self, BundleSigner};
use portcullis::source::compile_json;
use portcullis_workload::{Shape, Workload};
use serde_json::json;

/// 2026-01-01T00:00:00Z and 2100-01-01T00:00:00Z: the bundles' validity.
const ISSUED_AT: i64 = 1_767_225_600;
const NOT_AFTER: i64 = 4_102_444_800;

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut seed = 2026u64;
    let mut shape = Shape::STANDARD;
    let mut out = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seed" => {
                seed = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--seed takes a number")?
            }
            "--requests" => {
                shape.requests = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--requests takes a number")?
            }
            other if !other.starts_with('-') => out = Some(PathBuf::from(other)),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let out = out.ok_or("usage: portcullis-workload [--seed N] [--requests N] <out-dir>")?;
    let workload = Workload::generate(seed, shape);
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(out.join(name), bytes)
            .map_err(|e| format!("{}: {e}", out.join(name).display()))
    };
    std::fs::create_dir_all(out.join("bundles")).map_err(|e| e.to_string())?;
    let source = serde_json::to_vec(&workload.policy_source()).map_err(|e| e.to_string())?;
    write("policy.json", &source)?;
    write("workload.json", workload.to_json().to_string().as_bytes())?;
    let signer = BundleSigner::from_seed("bench-bundles", &[seed as u8; 32]);
    let policies = compile_json(&source).map_err(|e| e.to_string())?;
    for policy in &policies {
        let bytes = bundle::build(policy.data(), 1, ISSUED_AT, NOT_AFTER, &signer)
            .map_err(|e| e.to_string())?;
        write(&format!("bundles/{}.bundle", policy.org()), &bytes)?;
    }
    // One organization with about 100,000 role bindings, for load-time measurements.
    let large = Workload::generate(
        seed,
        Shape {
            orgs: 1,
            users: 50_000,
            requests: 0,
            docs_per_env: 50,
        },
    );
    let large_source = serde_json::to_vec(&large.policy_source()).map_err(|e| e.to_string())?;
    let large_policy = compile_json(&large_source).map_err(|e| e.to_string())?;
    if let Some(policy) = large_policy.first() {
        let bytes = bundle::build(policy.data(), 1, ISSUED_AT, NOT_AFTER, &signer)
            .map_err(|e| e.to_string())?;
        write("large.bundle", &bytes)?;
        write(
            "large.json",
            json!({ "bindings": policy.data().bindings.len(), "bytes": bytes.len() })
                .to_string()
                .as_bytes(),
        )?;
    }
    let jwks = json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": signer.kid(),
        "x": URL_SAFE_NO_PAD.encode(signer.public_key()) }] });
    write("bundle-keys.json", jwks.to_string().as_bytes())?;
    println!(
        "workload (seed {seed}): {} organizations, {} users, {} requests -> {}",
        policies.len(),
        workload.users.len(),
        workload.cases.len(),
        out.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis-workload: {e}");
            ExitCode::from(2)
        }
    }
}
