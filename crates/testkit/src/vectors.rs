//! The decision vectors (`tests/vectors/decisions.json`): signed bundles, their trusted keys,
//! tokens, requests and the decisions every front end must reproduce.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use portcullis::{Authorizer, BundleKeys, Jwk, LoadOptions};
use serde_json::Value;

/// Why the vectors could not be read.
#[derive(Debug)]
pub struct VectorError(pub String);

impl std::fmt::Display for VectorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for VectorError {}

fn error(what: impl std::fmt::Display) -> VectorError {
    VectorError(what.to_string())
}

/// The path of a file of `tests/vectors/`.
pub fn path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/vectors")
        .join(name)
}

/// A JSON file of `tests/vectors/` (`bundles.json`, `attacks.json`, …).
pub fn read(name: &str) -> Result<Value, VectorError> {
    let bytes = std::fs::read(path(name)).map_err(error)?;
    serde_json::from_slice(&bytes).map_err(error)
}

/// The attack vectors (`attacks.json`) and what they are decided against: client A's bundle
/// of the decision vectors, loaded at the attacks' instant.
pub fn attacks() -> Result<(Value, Authorizer), VectorError> {
    let attacks = read("attacks.json")?;
    let now = attacks
        .get("now")
        .and_then(Value::as_i64)
        .ok_or_else(|| error("attacks.json has no `now`"))?;
    let authorizer = DecisionVectors::load()?.authorizer("client-a", now)?;
    Ok((attacks, authorizer))
}

/// The decision vectors with their bundle keys read.
pub struct DecisionVectors {
    /// The whole document: `cases`, `attacks`, `bundles`, `bundle_keys`.
    pub doc: Value,
    /// The Ed25519 keys the bundles are signed with.
    pub bundle_keys: BundleKeys,
}

impl DecisionVectors {
    /// Reads `tests/vectors/decisions.json`.
    pub fn load() -> Result<Self, VectorError> {
        Self::read("decisions.json")
    }

    /// Reads a file of `tests/vectors/` that carries `bundle_keys` (`decisions.json`,
    /// `bundles.json`).
    pub fn read(name: &str) -> Result<Self, VectorError> {
        let text = std::fs::read_to_string(path(name)).map_err(error)?;
        Self::from_json(&text)
    }

    /// Reads the vectors from their text (the fuzz targets compile it in).
    pub fn from_json(text: &str) -> Result<Self, VectorError> {
        let doc: Value = serde_json::from_str(text).map_err(error)?;
        let mut bundle_keys = BundleKeys::new();
        let keys = doc
            .pointer("/bundle_keys/keys")
            .and_then(Value::as_array)
            .ok_or_else(|| error("no bundle_keys.keys"))?;
        for key in keys {
            let jwk: Jwk = serde_json::from_value(key.clone()).map_err(error)?;
            bundle_keys.add_jwk(&jwk).map_err(error)?;
        }
        Ok(DecisionVectors { doc, bundle_keys })
    }

    /// The decision cases.
    pub fn cases(&self) -> &[Value] {
        self.doc
            .get("cases")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// The organizations with a bundle, in order.
    pub fn orgs(&self) -> Vec<&str> {
        self.bundles()
            .filter_map(|b| b.get("org").and_then(Value::as_str))
            .collect()
    }

    fn bundles(&self) -> impl Iterator<Item = &Value> {
        self.doc
            .get("bundles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    }

    /// The signed bundle of `org`.
    pub fn bundle(&self, org: &str) -> Result<Vec<u8>, VectorError> {
        let bundle = self
            .bundles()
            .find(|b| b.get("org").and_then(Value::as_str) == Some(org))
            .ok_or_else(|| error(format!("no bundle for `{org}`")))?;
        let text = bundle
            .get("bundle")
            .and_then(Value::as_str)
            .ok_or_else(|| error("a bundle is not text"))?;
        STANDARD.decode(text).map_err(error)
    }

    /// The authorizer of `org`'s bundle, loaded at `now`.
    pub fn authorizer(&self, org: &str, now: i64) -> Result<Authorizer, VectorError> {
        let options = LoadOptions {
            now,
            min_version: 0,
        };
        Authorizer::from_bundle(&self.bundle(org)?, &self.bundle_keys, options).map_err(error)
    }
}
