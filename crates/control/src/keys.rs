//! The bundle signing key, as the Worker's secret holds it: a private Ed25519 JWK.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis::{BundleSigner, Jwk};

use crate::error::ControlError;

/// Reads a private JWK (`kty: OKP`, `crv: Ed25519`, `kid`, `d`, optionally `x`, which must
/// match `d`) into a bundle signer.
pub fn signer_from_jwk(text: &str) -> Result<BundleSigner, ControlError> {
    let bad = |why: &str| ControlError::Misconfigured(format!("BUNDLE_SIGNING_KEY: {why}"));
    let jwk: Jwk = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    if jwk.kty != "OKP" || jwk.crv.as_deref() != Some("Ed25519") {
        return Err(bad("expected an OKP Ed25519 private key"));
    }
    let d = jwk.d.as_deref().ok_or_else(|| bad("no private part `d`"))?;
    let seed: [u8; 32] = URL_SAFE_NO_PAD
        .decode(d)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("`d` is not 32 base64url bytes"))?;
    if jwk.kid.is_empty() {
        return Err(bad("no `kid`"));
    }
    let signer = BundleSigner::from_seed(&jwk.kid, &seed);
    if let Some(x) = &jwk.x {
        if *x != URL_SAFE_NO_PAD.encode(signer.public_key()) {
            return Err(bad("`x` does not match `d`"));
        }
    }
    Ok(signer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_key_reads_and_a_public_key_does_not() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/keys/");
        let private = std::fs::read_to_string(format!("{root}bundle-signing.private.jwk"))
            .unwrap_or_default();
        let signer = signer_from_jwk(&private);
        assert!(signer.is_ok(), "{:?}", signer.err());
        let public =
            std::fs::read_to_string(format!("{root}bundle-signing.public.jwk")).unwrap_or_default();
        assert_eq!(
            signer_from_jwk(&public).err().map(|e| e.code()),
            Some("misconfigured")
        );
        assert!(signer_from_jwk("{").is_err());
        let mut other: serde_json::Value = serde_json::from_str(&private).unwrap_or_default();
        other["x"] = serde_json::json!("es2wDqu5muBByQxJK8-Wr1HRz0DGmkUf-O2TVrCRnQE");
        assert!(
            signer_from_jwk(&other.to_string()).is_ok(),
            "the bundle key's own x"
        );
        other["x"] = serde_json::json!("WKId5PPKvHRjVJwyy4sDh3Yh6w4U7bSQAfeIsXlY5gs");
        assert!(
            signer_from_jwk(&other.to_string()).is_err(),
            "another key's x"
        );
    }
}
