//! Tokens: compact JWS, verified against the issuers of a policy.
//!
//! [`UnverifiedToken::parse`] checks size, shape and header before any cryptography;
//! [`UnverifiedToken::verify`] finds the key by `kid`, checks the pinned algorithm and the
//! signature, then the claims against `now`. Only a [`VerifiedToken`] reaches the engine.
//! Nothing here reads the clock or fetches anything: `now` is an argument and keys come
//! from the bundle, never from the token.

mod claims;
mod ed25519;
mod error;
mod issuer;
mod jws;
mod keys;
mod kind;
#[doc(hidden)]
pub mod strict_json;

pub use claims::VerifiedToken;
pub use error::TokenError;
pub use issuer::{Issuer, IssuerKeys, IssuerKeysError};
pub use jws::{verify, UnverifiedToken, VerifyOptions};
pub use keys::{parse_jwks, Alg, Jwk, KeyError, KeyMaterial, TrustedKey, VerifierKey};
pub use kind::TokenKind;

/// Largest token accepted, in bytes. Larger ones are refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Deepest JSON nesting accepted in a token header or payload.
pub const MAX_TOKEN_JSON_DEPTH: usize = 4;
/// Largest clock leeway an issuer may configure, in seconds.
pub const MAX_LEEWAY: u64 = 60;

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    #[test]
    fn typ_is_a_media_type() {
        assert_eq!(TokenKind::from_typ("envauth+jwt"), Some(TokenKind::EnvAuth));
        assert_eq!(
            TokenKind::from_typ("application/EnvAuth+JWT"),
            Some(TokenKind::EnvAuth)
        );
        assert_eq!(TokenKind::from_typ("AT+JWT"), Some(TokenKind::Service));
        assert_eq!(TokenKind::from_typ("JWT"), None);
        assert_eq!(TokenKind::from_typ("text/envauth+jwt"), None);
    }

    #[test]
    fn shape_is_checked_before_anything_else() {
        assert_eq!(
            UnverifiedToken::parse(&"a".repeat(MAX_TOKEN_BYTES + 1)).unwrap_err(),
            TokenError::TooLarge
        );
        assert_eq!(
            UnverifiedToken::parse("a.b").unwrap_err(),
            TokenError::Malformed("segments")
        );
        assert_eq!(
            UnverifiedToken::parse("a.b.c.d").unwrap_err(),
            TokenError::Malformed("segments")
        );
        assert_eq!(
            UnverifiedToken::parse(".b.c").unwrap_err(),
            TokenError::Malformed("empty_header")
        );
        assert_eq!(
            UnverifiedToken::parse("a..c").unwrap_err(),
            TokenError::Malformed("empty_payload")
        );
        assert_eq!(
            UnverifiedToken::parse("a.b.").unwrap_err(),
            TokenError::Malformed("empty_signature")
        );
        let header = |h: &str| format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(h));
        let err = |h: &str| UnverifiedToken::parse(&header(h)).unwrap_err();
        assert_eq!(
            err(r#"{"alg":"none","typ":"envauth+jwt","kid":"k"}"#),
            TokenError::UnsupportedAlgorithm
        );
        assert_eq!(
            err(r#"{"alg":"HS256","typ":"envauth+jwt","kid":"k"}"#),
            TokenError::UnsupportedAlgorithm
        );
        assert_eq!(
            err(r#"{"alg":"EdDSA","typ":"envauth+jwt"}"#),
            TokenError::MissingKeyId
        );
        assert_eq!(err(r#"{"alg":"EdDSA","kid":"k"}"#), TokenError::MissingType);
        assert_eq!(
            err(r#"{"alg":"EdDSA","typ":"JWT","kid":"k"}"#),
            TokenError::UnknownType
        );
        assert_eq!(
            err(r#"{"alg":"EdDSA","typ":"envauth+jwt","kid":"k","jku":"https://x"}"#),
            TokenError::ForbiddenHeader("jku")
        );
        assert_eq!(
            err(r#"{"alg":"EdDSA","typ":"envauth+jwt","kid":"k","crit":["exp"]}"#),
            TokenError::UnsupportedCritical
        );
        assert_eq!(
            err(r#"{"alg":"EdDSA","alg":"EdDSA","typ":"envauth+jwt","kid":"k"}"#),
            TokenError::BadJson
        );
        assert_eq!(err(r#"["alg"]"#), TokenError::BadJson);
        assert!(UnverifiedToken::parse(&header(
            r#"{"alg":"EdDSA","typ":"envauth+jwt","kid":"k"}"#
        ))
        .is_ok());
        let padded = format!(
            "{}=.e30.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","typ":"envauth+jwt","kid":"k1"}"#)
        );
        assert_eq!(
            UnverifiedToken::parse(&padded).unwrap_err(),
            TokenError::Malformed("padding")
        );
    }

    #[test]
    fn the_header_names_the_key_and_the_payload_hints_the_organization() {
        let token = |payload: &str| {
            format!(
                "{}.{}.AA",
                URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","typ":"envauth+jwt","kid":"k-7"}"#),
                URL_SAFE_NO_PAD.encode(payload)
            )
        };
        let t = token(r#"{"org":"acme","sub":"olga"}"#);
        let parsed = UnverifiedToken::parse(&t).unwrap();
        assert_eq!(parsed.kid(), "k-7");
        assert_eq!(parsed.org_hint().as_deref(), Some("acme"));
        // No hint from a payload that names no usable organization.
        let long = format!(r#"{{"org":"{}"}}"#, "o".repeat(256));
        let at_limit = format!(r#"{{"org":"{}"}}"#, "o".repeat(255));
        for (payload, hint) in [
            (r#"{"sub":"olga"}"#, None),
            (r#"{"org":""}"#, None),
            (r#"{"org":7}"#, None),
            (r#"{"org":"a","org":"b"}"#, None),
            ("not json", None),
            (long.as_str(), None),
            (at_limit.as_str(), Some("o".repeat(255))),
        ] {
            let t = token(payload);
            assert_eq!(
                UnverifiedToken::parse(&t).unwrap().org_hint(),
                hint,
                "{payload}"
            );
        }
    }
}
