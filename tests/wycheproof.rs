//! Project Wycheproof signature vectors through the verification code tokens use: each
//! group's key goes through `TrustedKey::from_jwk` (the same checks as issuer keys) and each
//! signature through `VerifierKey::verify` (the same call as the token path).
//!
//! A `valid` vector must verify; an `invalid` one must not (or its key must be refused);
//! `acceptable` vectors are refused by design: Portcullis takes the strict reading.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis::keys::{Jwk, TrustedKey};
use serde_json::Value;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

struct Tally {
    valid: usize,
    invalid: usize,
    acceptable: usize,
    failures: Vec<String>,
}

fn run(file: &str, alg: &str, jwk_field: &str) -> Tally {
    let path = format!("{}/tests/wycheproof/{file}", env!("CARGO_MANIFEST_DIR"));
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut t = Tally {
        valid: 0,
        invalid: 0,
        acceptable: 0,
        failures: vec![],
    };
    for (gi, group) in doc["testGroups"].as_array().unwrap().iter().enumerate() {
        let mut jwk_value = group[jwk_field].clone();
        if jwk_value.is_null() {
            // A few EC groups carry no JWK: build it from the uncompressed point.
            let point = hex(group["publicKey"]["uncompressed"].as_str().unwrap());
            jwk_value = serde_json::json!({
                "kty": "EC", "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            });
        }
        jwk_value["kid"] = format!("wycheproof-{gi}").into();
        jwk_value["alg"] = alg.into();
        let jwk: Jwk = serde_json::from_value(jwk_value).unwrap();
        let key = TrustedKey::from_jwk(&jwk).and_then(|k| k.verifier());
        for test in group["tests"].as_array().unwrap() {
            let msg = hex(test["msg"].as_str().unwrap());
            let sig = URL_SAFE_NO_PAD.encode(hex(test["sig"].as_str().unwrap()));
            let accepted = key.as_ref().is_ok_and(|k| k.verify(&msg, &sig));
            let id = test["tcId"].as_u64().unwrap();
            match test["result"].as_str().unwrap() {
                "valid" => {
                    t.valid += 1;
                    if !accepted {
                        t.failures.push(format!(
                            "{file} #{id} valid but refused ({})",
                            test["comment"]
                        ));
                    }
                }
                "invalid" => {
                    t.invalid += 1;
                    if accepted {
                        t.failures.push(format!(
                            "{file} #{id} invalid but accepted ({})",
                            test["comment"]
                        ));
                    }
                }
                _ => {
                    t.acceptable += 1;
                    if accepted {
                        t.failures.push(format!(
                            "{file} #{id} acceptable, accepted; Portcullis refuses these ({})",
                            test["comment"]
                        ));
                    }
                }
            }
        }
    }
    t
}

fn check(file: &str, alg: &str, jwk_field: &str, expected_total: usize) {
    let t = run(file, alg, jwk_field);
    eprintln!(
        "{file}: {} valid, {} invalid, {} acceptable; {} failures",
        t.valid,
        t.invalid,
        t.acceptable,
        t.failures.len()
    );
    assert_eq!(t.valid + t.invalid + t.acceptable, expected_total);
    assert!(t.failures.is_empty(), "{:#?}", t.failures);
}

#[test]
fn ed25519() {
    check("ed25519_test.json", "EdDSA", "publicKeyJwk", 151);
}

#[test]
fn ecdsa_p256_sha256_raw_signatures() {
    check(
        "ecdsa_secp256r1_sha256_p1363_test.json",
        "ES256",
        "publicKeyJwk",
        262,
    );
}

#[test]
fn rsa_pkcs1_2048_sha256() {
    check(
        "rsa_signature_2048_sha256_test.json",
        "RS256",
        "keyJwk",
        259,
    );
}

/// The RSA vectors again, straight through the arithmetic in both of its limb widths: the
/// token path above runs 64-bit limbs natively, wasm32 builds run 32-bit ones.
#[test]
fn rsa_pkcs1_2048_sha256_in_both_limb_widths() {
    use portcullis::pkcs1::{Limb, RsaKey};
    use sha2::Digest as _;
    fn tally<L: Limb>() -> (usize, Vec<u64>) {
        let path = format!(
            "{}/tests/wycheproof/rsa_signature_2048_sha256_test.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let (mut total, mut wrong) = (0, vec![]);
        for group in doc["testGroups"].as_array().unwrap() {
            let field = |name: &str| {
                URL_SAFE_NO_PAD
                    .decode(group["keyJwk"][name].as_str().unwrap())
                    .unwrap()
            };
            let key = RsaKey::<L>::new(&field("n"), &field("e")).unwrap();
            for test in group["tests"].as_array().unwrap() {
                total += 1;
                let digest: [u8; 32] =
                    sha2::Sha256::digest(hex(test["msg"].as_str().unwrap())).into();
                let accepted = key.verify_sha256(&digest, &hex(test["sig"].as_str().unwrap()));
                if accepted != (test["result"] == "valid") {
                    wrong.push(test["tcId"].as_u64().unwrap());
                }
            }
        }
        (total, wrong)
    }
    assert_eq!(tally::<u32>(), (259, vec![]));
    assert_eq!(tally::<u64>(), (259, vec![]));
}
