//! What the tests of Portcullis share: one instant, seeded keys, issuers, claims and the
//! example policies. The core's integration tests, the gateway's, the workload's and the fuzz
//! targets build their fixtures from here, so a fixture changes in one place.
//!
//! Everything here is deterministic: keys come from fixed seeds, and nothing reads the clock.

pub mod vectors;

use ed25519_dalek::SigningKey;
use portcullis::model::PolicyData;
use portcullis::token::{Alg, Issuer, KeyMaterial, TokenKind, TrustedKey};
use portcullis::tools::mint::Claims;

/// The instant the tests decide at: 2026-06-01T12:00:00Z.
pub const NOW: i64 = 1_780_315_200;

/// An Ed25519 signing key made of one repeated byte: distinct seeds, distinct keys.
pub fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The trusted form of `key`'s public half, under `kid`, pinned to EdDSA.
pub fn trusted_key(kid: &str, key: &SigningKey) -> TrustedKey {
    TrustedKey {
        kid: kid.into(),
        alg: Alg::EdDSA,
        material: KeyMaterial::Ed25519(key.verifying_key().to_bytes()),
    }
}

/// An issuer `iss` for audience `aud` that may mint every kind of token, with one EdDSA key,
/// tokens of up to an hour and `leeway` seconds of clock leeway.
pub fn issuer(iss: &str, aud: &str, kid: &str, key: &SigningKey, leeway: u64) -> Issuer {
    Issuer {
        iss: iss.into(),
        audience: aud.into(),
        kinds: TokenKind::ALL.to_vec(),
        max_lifetime: 3600,
        leeway,
        keys: vec![trusted_key(kid, key)],
    }
}

/// Claims of a token of `kind` for `sub` in `org` (and `env`), issued by `iss` for `aud` ten
/// seconds before [`NOW`] and valid for ten minutes, with token id `t-<sub>`. A service
/// token's `client_id` is its subject.
pub fn claims(
    kind: TokenKind,
    iss: &str,
    aud: &str,
    sub: &str,
    org: &str,
    env: Option<&str>,
) -> Claims {
    Claims {
        iss: iss.into(),
        sub: sub.into(),
        aud: aud.into(),
        exp: NOW + 600,
        iat: NOW - 10,
        nbf: None,
        jti: format!("t-{sub}"),
        org: org.into(),
        env: env.map(str::to_owned),
        client_id: (kind == TokenKind::Service).then(|| sub.to_owned()),
        scope: None,
    }
}

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
