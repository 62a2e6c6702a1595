//! Ed25519 key files: private keys as JWK with `d`, public keys as plain JWK.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::SigningKey;
use portcullis::{BundleKeys, BundleSigner, Jwk};

use crate::files::{read_file, CliError};

/// A private Ed25519 key read from a JWK file.
pub struct PrivateKey {
    pub kid: String,
    pub key: SigningKey,
}

impl PrivateKey {
    /// Draws a fresh key from the operating system's randomness.
    pub fn generate(kid: &str) -> Result<Self, CliError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed)
            .map_err(|e| CliError::new("keygen_failed", format!("no randomness available: {e}")))?;
        Ok(PrivateKey {
            kid: kid.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Reads a private JWK (`kty: OKP`, `crv: Ed25519`, `d`).
    pub fn read(path: &Path) -> Result<Self, CliError> {
        let text = read_file(path)?;
        let jwk: Jwk = serde_json::from_slice(&text)
            .map_err(|e| CliError::new("key_invalid", format!("{}: {e}", path.display())))?;
        let bad = |why: &str| CliError::new("key_invalid", format!("{}: {why}", path.display()));
        if jwk.kty != "OKP" || jwk.crv.as_deref() != Some("Ed25519") {
            return Err(bad("expected an OKP Ed25519 private key"));
        }
        let d = jwk
            .d
            .as_deref()
            .ok_or_else(|| bad("no private part `d`; this is a public key"))?;
        let seed: [u8; 32] = URL_SAFE_NO_PAD
            .decode(d)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("`d` is not 32 base64url bytes"))?;
        let key = SigningKey::from_bytes(&seed);
        if let Some(x) = &jwk.x {
            if *x != URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()) {
                return Err(bad("`x` does not match `d`"));
            }
        }
        Ok(PrivateKey { kid: jwk.kid, key })
    }

    /// The public JWK.
    pub fn public_jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: Some("Ed25519".into()),
            kid: self.kid.clone(),
            alg: "EdDSA".into(),
            x: Some(URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes())),
            use_: Some("sig".into()),
            ..Jwk::default()
        }
    }

    /// The private JWK.
    pub fn private_jwk(&self) -> Jwk {
        Jwk {
            d: Some(URL_SAFE_NO_PAD.encode(self.key.to_bytes())),
            ..self.public_jwk()
        }
    }

    /// A bundle signer with this key.
    pub fn bundle_signer(&self) -> BundleSigner {
        BundleSigner::from_seed(&self.kid, &self.key.to_bytes())
    }
}

/// Reads public Ed25519 JWK files (or JWKS files) into a trusted bundle key set.
pub fn read_trusted(paths: &[std::path::PathBuf]) -> Result<BundleKeys, CliError> {
    let mut keys = BundleKeys::new();
    for path in paths {
        let text = read_file(path)?;
        let value: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| CliError::new("key_invalid", format!("{}: {e}", path.display())))?;
        let jwks: Vec<Jwk> = match value.get("keys") {
            Some(list) => serde_json::from_value(list.clone()),
            None => serde_json::from_value(value).map(|k| vec![k]),
        }
        .map_err(|e| CliError::new("key_invalid", format!("{}: {e}", path.display())))?;
        for mut jwk in jwks {
            jwk.d = None;
            keys.add_jwk(&jwk)
                .map_err(|e| CliError::new("key_invalid", format!("{}: {e}", path.display())))?;
        }
    }
    Ok(keys)
}
