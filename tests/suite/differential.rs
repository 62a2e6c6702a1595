//! Portcullis against `jsonwebtoken`, the Rust ecosystem's JWT crate: every token of the
//! shared vectors that Portcullis verifies, `jsonwebtoken` decodes too, with the same issuer
//! keys, algorithm, issuer and audience, and reads the same claims from. Where Portcullis is
//! stricter (`typ`, duplicate members, lifetimes, the attack vectors), docs/tokens.md lists
//! the difference. `jsonwebtoken` reads the system clock for `exp` and `nbf`, so its time
//! checks are off here: Portcullis checks times against the `now` it is given.

use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use portcullis::{Authorizer, VerifyOptions};
use portcullis_testkit::vectors::{self, DecisionVectors};
use serde_json::Value;

/// What `jsonwebtoken` makes of a token, with the key and checks of the issuer that owns
/// its `kid` in `authorizer`'s policy.
fn jsonwebtoken_claims(authorizer: &Authorizer, token: &str) -> Result<Value, String> {
    let header = decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let (issuer, _) = authorizer
        .policy()
        .issuer_keys()
        .key(&kid)
        .ok_or("unknown kid")?;
    let trusted = issuer.keys.iter().find(|k| k.kid == kid).unwrap();
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(serde_json::to_value(trusted.to_jwk()).unwrap()).unwrap();
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
    let alg = match trusted.alg.as_str() {
        "EdDSA" => Algorithm::EdDSA,
        "ES256" => Algorithm::ES256,
        "RS256" => Algorithm::RS256,
        other => return Err(format!("algorithm {other}")),
    };
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[&issuer.iss]);
    validation.set_audience(&[&issuer.audience]);
    validation.set_required_spec_claims(&["iss", "sub", "aud", "exp"]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| e.to_string())
}

#[test]
fn every_token_portcullis_verifies_jsonwebtoken_decodes_alike() {
    let v = DecisionVectors::load().unwrap();
    let mut compared = 0;
    for case in v.cases() {
        let now = case["now"].as_i64().unwrap();
        let authorizer = v.authorizer(case["bundle"].as_str().unwrap(), now).unwrap();
        let token = case["token"].as_str().unwrap();
        let Ok(verified) = authorizer.verify_token(
            token,
            &VerifyOptions {
                now,
                audience: None,
            },
        ) else {
            continue;
        };
        let claims = jsonwebtoken_claims(&authorizer, token)
            .unwrap_or_else(|e| panic!("`{}`: jsonwebtoken refused it: {e}", case["name"]));
        assert_eq!(claims["sub"], verified.sub(), "`{}`", case["name"]);
        assert_eq!(claims["org"], verified.org(), "`{}`", case["name"]);
        assert_eq!(claims["iss"], verified.iss(), "`{}`", case["name"]);
        assert_eq!(claims["exp"], verified.exp(), "`{}`", case["name"]);
        compared += 1;
    }
    assert!(compared >= 12, "{compared} tokens compared");
}

#[test]
fn where_portcullis_is_stricter_the_difference_is_the_documented_one() {
    // Tokens of the attack vectors that jsonwebtoken, with the same key and checks, accepts:
    // each is refused by Portcullis for a rule docs/tokens.md lists as Portcullis's own.
    let (attacks, authorizer) = vectors::attacks().unwrap();
    let mut stricter = Vec::new();
    for case in attacks["cases"].as_array().unwrap() {
        let token = case["token"].as_str().unwrap();
        if jsonwebtoken_claims(&authorizer, token).is_ok() {
            stricter.push(case["detail"].as_str().unwrap());
        }
    }
    stricter.sort_unstable();
    stricter.dedup();
    // The list in docs/tokens.md ("Compared with jsonwebtoken"), rule for rule.
    assert_eq!(
        stricter,
        [
            "token_bad_json",
            "token_expired",
            "token_forbidden_header",
            "token_issued_in_future",
            "token_lifetime_too_long",
            "token_missing_claim",
            "token_missing_typ",
            "token_not_yet_valid",
            "token_too_large",
            "token_unsupported_crit",
            "token_wrong_typ",
        ]
    );
}
