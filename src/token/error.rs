//! Why a token was refused, with a stable code and a detail naming what is wrong.

use super::MAX_TOKEN_BYTES;

/// Why a token was refused. Every variant decides `invalid_token`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// Longer than [`MAX_TOKEN_BYTES`].
    TooLarge,
    /// The token is not three base64url segments; the detail names what is wrong
    /// ([`TokenError::detail`]).
    Malformed(&'static str),
    /// A header or payload is not a JSON object, nests too deeply or repeats a member.
    BadJson,
    /// `alg` is missing or not EdDSA, ES256 or RS256.
    UnsupportedAlgorithm,
    /// The header carries `jwk`, `jku`, `x5u`, `x5c`, `x5t`, `zip` or `b64`.
    ForbiddenHeader(&'static str),
    /// The header carries `crit`; no extension is understood.
    UnsupportedCritical,
    /// `typ` is missing.
    MissingType,
    /// `typ` names no token kind.
    UnknownType,
    /// `kid` is missing.
    MissingKeyId,
    /// No trusted key has this `kid`.
    UnknownKey,
    /// `alg` is not the algorithm the key is pinned to.
    AlgorithmMismatch,
    /// The issuer may not mint this kind of token.
    KindNotAllowed,
    /// The signature does not verify.
    BadSignature,
    /// `iss` is not the issuer that owns the key.
    WrongIssuer,
    /// A required claim is missing.
    MissingClaim(&'static str),
    /// A claim has the wrong type or an empty value.
    InvalidClaim(&'static str),
    /// `aud` does not include the expected audience.
    WrongAudience,
    /// `exp` has passed (beyond the leeway).
    Expired,
    /// `nbf` has not come yet (beyond the leeway).
    NotYetValid,
    /// `iat` lies in the future (beyond the leeway).
    IssuedInFuture,
    /// `exp - iat` exceeds the issuer's maximum lifetime.
    LifetimeTooLong,
}

impl TokenError {
    /// Every code [`TokenError::code`] gives, in the order of the variants.
    pub const CODES: [&'static str; 21] = [
        "token_too_large",
        "token_malformed",
        "token_bad_json",
        "token_unsupported_alg",
        "token_forbidden_header",
        "token_unsupported_crit",
        "token_missing_typ",
        "token_wrong_typ",
        "token_missing_kid",
        "token_unknown_kid",
        "token_alg_mismatch",
        "token_kind_not_allowed",
        "token_bad_signature",
        "token_wrong_issuer",
        "token_missing_claim",
        "token_invalid_claim",
        "token_wrong_audience",
        "token_expired",
        "token_not_yet_valid",
        "token_issued_in_future",
        "token_lifetime_too_long",
    ];

    /// What the code leaves open, as a stable text: the claim of `token_missing_claim` and
    /// `token_invalid_claim` (`exp`), the header of `token_forbidden_header` (`jwk`), what
    /// is wrong with a `token_malformed` token (`segments`, `empty_header`,
    /// `empty_payload`, `empty_signature`, `padding`, `standard_base64`, `not_base64url`).
    pub fn detail(&self) -> Option<&'static str> {
        match self {
            TokenError::Malformed(what)
            | TokenError::MissingClaim(what)
            | TokenError::InvalidClaim(what)
            | TokenError::ForbiddenHeader(what) => Some(what),
            _ => None,
        }
    }

    /// A stable code for logs and clients.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::TooLarge => "token_too_large",
            TokenError::Malformed(_) => "token_malformed",
            TokenError::BadJson => "token_bad_json",
            TokenError::UnsupportedAlgorithm => "token_unsupported_alg",
            TokenError::ForbiddenHeader(_) => "token_forbidden_header",
            TokenError::UnsupportedCritical => "token_unsupported_crit",
            TokenError::MissingType => "token_missing_typ",
            TokenError::UnknownType => "token_wrong_typ",
            TokenError::MissingKeyId => "token_missing_kid",
            TokenError::UnknownKey => "token_unknown_kid",
            TokenError::AlgorithmMismatch => "token_alg_mismatch",
            TokenError::KindNotAllowed => "token_kind_not_allowed",
            TokenError::BadSignature => "token_bad_signature",
            TokenError::WrongIssuer => "token_wrong_issuer",
            TokenError::MissingClaim(_) => "token_missing_claim",
            TokenError::InvalidClaim(_) => "token_invalid_claim",
            TokenError::WrongAudience => "token_wrong_audience",
            TokenError::Expired => "token_expired",
            TokenError::NotYetValid => "token_not_yet_valid",
            TokenError::IssuedInFuture => "token_issued_in_future",
            TokenError::LifetimeTooLong => "token_lifetime_too_long",
        }
    }
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::TooLarge => write!(f, "token is longer than {MAX_TOKEN_BYTES} bytes"),
            TokenError::Malformed(why) => match *why {
                "empty_header" => write!(f, "the header segment is empty"),
                "empty_payload" => write!(f, "the payload segment is empty"),
                "empty_signature" => write!(f, "the signature segment is empty"),
                "padding" => write!(f, "a segment has `=` padding, which base64url leaves out"),
                "standard_base64" => write!(
                    f,
                    "a segment uses standard base64 (`+` or `/`), not base64url (`-` and `_`)"
                ),
                "not_base64url" => write!(f, "a segment is not base64url"),
                _ => write!(f, "token is not three segments separated by `.`"),
            },
            TokenError::BadJson => write!(f, "token header or payload is not a plain JSON object"),
            TokenError::UnsupportedAlgorithm => write!(f, "`alg` must be EdDSA, ES256 or RS256"),
            TokenError::ForbiddenHeader(h) => write!(f, "header `{h}` is not accepted"),
            TokenError::UnsupportedCritical => {
                write!(f, "header `crit` names extensions not understood")
            }
            TokenError::MissingType => write!(f, "header `typ` is missing"),
            TokenError::UnknownType => {
                write!(f, "header `typ` must be orgauth+jwt, envauth+jwt or at+jwt")
            }
            TokenError::MissingKeyId => write!(f, "header `kid` is missing"),
            TokenError::UnknownKey => write!(f, "no trusted key has this `kid`"),
            TokenError::AlgorithmMismatch => write!(f, "`alg` is not the algorithm of the key"),
            TokenError::KindNotAllowed => write!(f, "the issuer may not mint this kind of token"),
            TokenError::BadSignature => write!(f, "signature does not verify"),
            TokenError::WrongIssuer => write!(f, "`iss` is not the issuer of the key"),
            TokenError::MissingClaim(c) => write!(f, "claim `{c}` is missing"),
            TokenError::InvalidClaim(c) => write!(f, "claim `{c}` is invalid"),
            TokenError::WrongAudience => write!(f, "`aud` does not include the expected audience"),
            TokenError::Expired => write!(f, "token has expired"),
            TokenError::NotYetValid => write!(f, "token is not valid yet"),
            TokenError::IssuedInFuture => write!(f, "`iat` lies in the future"),
            TokenError::LifetimeTooLong => write!(f, "token lifetime exceeds the issuer's maximum"),
        }
    }
}

impl std::error::Error for TokenError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each variant; the match makes a new variant fail to compile here.
    fn every_variant() -> Vec<TokenError> {
        let all = vec![
            TokenError::TooLarge,
            TokenError::Malformed("segments"),
            TokenError::BadJson,
            TokenError::UnsupportedAlgorithm,
            TokenError::ForbiddenHeader("jwk"),
            TokenError::UnsupportedCritical,
            TokenError::MissingType,
            TokenError::UnknownType,
            TokenError::MissingKeyId,
            TokenError::UnknownKey,
            TokenError::AlgorithmMismatch,
            TokenError::KindNotAllowed,
            TokenError::BadSignature,
            TokenError::WrongIssuer,
            TokenError::MissingClaim("sub"),
            TokenError::InvalidClaim("exp"),
            TokenError::WrongAudience,
            TokenError::Expired,
            TokenError::NotYetValid,
            TokenError::IssuedInFuture,
            TokenError::LifetimeTooLong,
        ];
        for e in &all {
            match e {
                TokenError::TooLarge
                | TokenError::Malformed(_)
                | TokenError::BadJson
                | TokenError::UnsupportedAlgorithm
                | TokenError::ForbiddenHeader(_)
                | TokenError::UnsupportedCritical
                | TokenError::MissingType
                | TokenError::UnknownType
                | TokenError::MissingKeyId
                | TokenError::UnknownKey
                | TokenError::AlgorithmMismatch
                | TokenError::KindNotAllowed
                | TokenError::BadSignature
                | TokenError::WrongIssuer
                | TokenError::MissingClaim(_)
                | TokenError::InvalidClaim(_)
                | TokenError::WrongAudience
                | TokenError::Expired
                | TokenError::NotYetValid
                | TokenError::IssuedInFuture
                | TokenError::LifetimeTooLong => {}
            }
        }
        all
    }

    #[test]
    fn the_code_list_is_every_variant_code_in_order() {
        let codes: Vec<&str> = every_variant().iter().map(TokenError::code).collect();
        assert_eq!(codes, TokenError::CODES);
    }

    #[test]
    fn a_malformed_token_says_what_is_wrong() {
        let message = |why| TokenError::Malformed(why).to_string();
        assert_eq!(message("empty_header"), "the header segment is empty");
        assert_eq!(message("empty_payload"), "the payload segment is empty");
        assert_eq!(message("empty_signature"), "the signature segment is empty");
        assert_eq!(
            message("padding"),
            "a segment has `=` padding, which base64url leaves out"
        );
        assert_eq!(
            message("standard_base64"),
            "a segment uses standard base64 (`+` or `/`), not base64url (`-` and `_`)"
        );
        assert_eq!(message("not_base64url"), "a segment is not base64url");
        assert_eq!(
            message("segments"),
            "token is not three segments separated by `.`"
        );
    }
}
