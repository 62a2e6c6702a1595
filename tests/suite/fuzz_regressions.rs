//! Findings of the fuzz targets (`fuzz/`), each kept as a test once fixed.

use portcullis::bundle::{decode_body, encode_body};
use portcullis::source::compile_json;
use portcullis::TokenKind;
use serde_json::json;

/// `policy_compile`: an issuer listing its kinds out of order (or twice) compiled to a policy
/// that the bundle encoding, which stores kinds as a set, gave back in another order.
#[test]
fn issuer_kinds_compile_to_one_canonical_order() {
    for kinds in [
        json!(["service", "envauth"]),
        json!(["envauth", "service", "envauth"]),
        json!(["service", "orgauth", "service", "envauth"]),
    ] {
        let source = json!({
            "permissions": { "workflow": ["read"] },
            "roles": [ { "id": "viewer", "scope": "org", "permissions": ["workflow:read"] } ],
            "issuers": [ {
                "iss": "https://idp.example", "audience": "https://api.example", "kinds": kinds,
                "jwks": { "keys": [ { "kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA",
                    "x": "WKId5PPKvHRjVJwyy4sDh3Yh6w4U7bSQAfeIsXlY5gs" } ] } } ],
            "orgs": [ { "id": "a", "environments": [ { "id": "a-dev" } ] } ]
        });
        let policies = compile_json(&serde_json::to_vec(&source).unwrap()).unwrap();
        let data = policies[0].data();
        let compiled = &data.issuers[0].kinds;
        let mut sorted = compiled.clone();
        sorted.sort_by_key(|k| TokenKind::ALL.iter().position(|a| a == k));
        sorted.dedup();
        assert_eq!(compiled, &sorted, "{kinds}");
        assert_eq!(&decode_body(&encode_body(data)).unwrap(), data, "{kinds}");
    }
}

/// `route_match`: a path within the length limit as received whose canonical spelling was
/// longer (`{`, `^`, non-ASCII and other characters are escaped to three bytes each), so the
/// origin would have been sent a path the gateway's own limit refuses.
#[test]
fn a_path_whose_canonical_spelling_is_too_long_is_refused() {
    use portcullis::model::{CanonicalPath, PathError, MAX_PATH_BYTES};
    for widened in [
        format!("/{}", "{".repeat(MAX_PATH_BYTES - 1)),
        format!("/{}/k{{w}}", "ӏ".repeat(MAX_PATH_BYTES / 2 - 8)),
        format!("/{}", "^/".repeat(MAX_PATH_BYTES / 2 - 1)),
    ] {
        assert!(widened.len() <= MAX_PATH_BYTES);
        assert_eq!(CanonicalPath::parse(&widened), Err(PathError::TooLong));
    }
}
