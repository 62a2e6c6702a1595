//! Project Wycheproof signature vectors through the verification code tokens use: each
//! group's key goes through `TrustedKey::from_jwk` (the same checks as issuer keys) and each
//! signature through `VerifierKey::verify` (the same call as the token path).
//!
//! A `valid` vector must verify; an `invalid` one must not (or its key must be refused);
//! `acceptable` vectors are refused by design: Portcullis takes the strict reading.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis::token::{Jwk, TrustedKey};
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
            let sig = hex(test["sig"].as_str().unwrap());
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
