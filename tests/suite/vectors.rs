//! The shared test vectors, replayed through the library.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use portcullis::{Authorizer, LoadOptions, Request, VerifyOptions};
use portcullis_testkit::vectors::{self, DecisionVectors};
use serde_json::Value;

#[test]
fn every_decision_vector_is_reproduced() {
    let v = DecisionVectors::load().unwrap();
    let cases = v.cases();
    assert!(cases.len() >= 20);
    for case in cases {
        let now = case["now"].as_i64().unwrap();
        let authorizer = v.authorizer(case["bundle"].as_str().unwrap(), now).unwrap();
        let request: Request = serde_json::from_value(case["request"].clone()).unwrap();
        let decision = authorizer.authorize(
            case["token"].as_str().unwrap(),
            &request,
            &VerifyOptions {
                now,
                audience: None,
            },
        );
        let got = serde_json::to_value(&decision).unwrap();
        let expect = &case["expect"];
        for field in ["allowed", "reason", "bundle_version"] {
            assert_eq!(got[field], expect[field], "`{}`: {field}", case["name"]);
        }
        assert_eq!(
            got.get("rule").unwrap_or(&Value::Null),
            &expect["rule"],
            "`{}`: rule",
            case["name"]
        );
        assert_eq!(
            got.get("detail").unwrap_or(&Value::Null),
            &expect["detail"],
            "`{}`: detail",
            case["name"]
        );
    }
}

#[test]
fn every_bundle_vector_is_reproduced() {
    let v = DecisionVectors::read("bundles.json").unwrap();
    let keys = &v.bundle_keys;
    for case in v.cases() {
        let bytes = STANDARD.decode(case["bundle"].as_str().unwrap()).unwrap();
        let options = LoadOptions {
            now: case["now"].as_i64().unwrap(),
            min_version: case["min_version"].as_u64().unwrap(),
        };
        let got = match Authorizer::from_bundle(&bytes, keys, options) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        };
        assert_eq!(got, case["expect"].as_str().unwrap(), "`{}`", case["name"]);
    }
}

#[test]
fn every_attack_vector_is_refused_as_an_invalid_token() {
    let (attacks, authorizer) = vectors::attacks().unwrap();
    let now = attacks["now"].as_i64().unwrap();
    let request: Request = serde_json::from_value(attacks["request"].clone()).unwrap();
    let cases = attacks["cases"].as_array().unwrap();
    assert!(cases.len() >= 40, "at least 40 named attacks");
    for case in cases {
        let d = authorizer.authorize(
            case["token"].as_str().unwrap(),
            &request,
            &VerifyOptions {
                now,
                audience: None,
            },
        );
        assert_eq!(
            d.reason,
            portcullis::Reason::InvalidToken,
            "`{}`",
            case["name"]
        );
        assert_eq!(
            d.detail.map(|d| d.code()),
            case["detail"].as_str(),
            "`{}`",
            case["name"]
        );
    }
}
