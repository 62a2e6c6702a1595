//! The compact JWS: size, shape and header checks, then key look-up and the signature.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::claims::RawClaims;
use super::strict_json::{self, JsonValue};
use super::{
    Alg, IssuerKeys, TokenError, TokenKind, VerifiedToken, MAX_LEEWAY, MAX_TOKEN_BYTES,
    MAX_TOKEN_JSON_DEPTH,
};

/// The members of a token segment (a JSON object), taken out by name. A member whose value
/// is `null` counts as absent. One of the wrong type is refused: in the payload as the claim
/// it is (`token_invalid_claim`, naming it), in the header as `token_bad_json`.
pub(super) struct Members {
    members: Vec<(String, JsonValue)>,
    claims: bool,
}

impl Members {
    pub(super) fn take(&mut self, name: &str) -> Option<JsonValue> {
        let at = self.members.iter().position(|(n, _)| n == name)?;
        match self.members.swap_remove(at).1 {
            JsonValue::Null => None,
            value => Some(value),
        }
    }

    pub(super) fn present(&self, name: &str) -> bool {
        self.members
            .iter()
            .any(|(n, v)| n == name && *v != JsonValue::Null)
    }

    /// The error for member `name` of the wrong type.
    pub(super) fn wrong_type(&self, name: &'static str) -> TokenError {
        if self.claims {
            TokenError::InvalidClaim(name)
        } else {
            TokenError::BadJson
        }
    }

    pub(super) fn string(&mut self, name: &'static str) -> Result<Option<String>, TokenError> {
        match self.take(name) {
            None => Ok(None),
            Some(JsonValue::Str(s)) => Ok(Some(s)),
            Some(_) => Err(self.wrong_type(name)),
        }
    }

    pub(super) fn number(&mut self, name: &'static str) -> Result<Option<JsonValue>, TokenError> {
        match self.take(name) {
            None => Ok(None),
            Some(n @ (JsonValue::Int(_) | JsonValue::Float(_))) => Ok(Some(n)),
            Some(_) => Err(self.wrong_type(name)),
        }
    }

    /// `aud`: one string or an array of strings.
    pub(super) fn audience(&mut self) -> Result<Option<Vec<String>>, TokenError> {
        match self.take("aud") {
            None => Ok(None),
            Some(JsonValue::Str(s)) => Ok(Some(vec![s])),
            Some(JsonValue::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    JsonValue::Str(s) => Ok(s),
                    _ => Err(self.wrong_type("aud")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(self.wrong_type("aud")),
        }
    }
}

/// Header members that are refused whatever their value: they would let the token name
/// its own key or change how its payload is read.
const FORBIDDEN_HEADERS: [&str; 8] = ["jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256", "zip", "b64"];

/// A token whose shape and header passed every check, not yet its signature or claims.
#[derive(Debug)]
pub struct UnverifiedToken<'a> {
    signing_input: &'a str,
    payload_b64: &'a str,
    signature_b64: &'a str,
    alg: Alg,
    kind: TokenKind,
    kid: String,
}

/// Decodes one base64url segment, saying what is wrong with one that is not: empty (`empty`
/// names which), padded, in standard base64, or not base64 at all.
fn decode_segment(segment: &str, empty: &'static str) -> Result<Vec<u8>, TokenError> {
    if segment.is_empty() {
        return Err(TokenError::Malformed(empty));
    }
    if segment.contains('=') {
        return Err(TokenError::Malformed("padding"));
    }
    if segment.contains(['+', '/']) {
        return Err(TokenError::Malformed("standard_base64"));
    }
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Malformed("not_base64url"))
}

/// A segment's JSON object; `claims` for the payload (see [`Members`]).
fn parse_object(bytes: &[u8], claims: bool) -> Result<Members, TokenError> {
    match strict_json::parse(bytes, MAX_TOKEN_JSON_DEPTH) {
        Ok(JsonValue::Object(members)) => Ok(Members { members, claims }),
        _ => Err(TokenError::BadJson),
    }
}

impl<'a> UnverifiedToken<'a> {
    /// Checks size, shape and header; no cryptography yet.
    pub fn parse(token: &'a str) -> Result<Self, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed("segments"));
        };
        if payload_b64.is_empty() {
            return Err(TokenError::Malformed("empty_payload"));
        }
        if signature_b64.is_empty() {
            return Err(TokenError::Malformed("empty_signature"));
        }
        let signing_input = token
            .get(..header_b64.len() + 1 + payload_b64.len())
            .ok_or(TokenError::Malformed("segments"))?;
        let mut header = parse_object(&decode_segment(header_b64, "empty_header")?, false)?;
        let (alg, typ, kid) = (
            header.string("alg")?,
            header.string("typ")?,
            header.string("kid")?,
        );
        if let Some(name) = FORBIDDEN_HEADERS.into_iter().find(|n| header.present(n)) {
            return Err(TokenError::ForbiddenHeader(name));
        }
        if header.present("crit") {
            return Err(TokenError::UnsupportedCritical);
        }
        let alg = alg
            .as_deref()
            .and_then(Alg::parse)
            .ok_or(TokenError::UnsupportedAlgorithm)?;
        let typ = typ.ok_or(TokenError::MissingType)?;
        let kind = TokenKind::from_typ(&typ).ok_or(TokenError::UnknownType)?;
        let kid = kid
            .filter(|k| !k.is_empty())
            .ok_or(TokenError::MissingKeyId)?;
        Ok(UnverifiedToken {
            signing_input,
            payload_b64,
            signature_b64,
            alg,
            kind,
            kid,
        })
    }

    /// The kind named by `typ`.
    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm named by `alg`.
    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// The `org` claim as the token states it, **not verified**: only for choosing which
    /// organization's bundle to verify the token against. `None` when absent or unreadable.
    pub fn org_hint(&self) -> Option<String> {
        let payload = decode_segment(self.payload_b64, "empty_payload").ok()?;
        let org = parse_object(&payload, true).ok()?.string("org").ok()??;
        Some(org).filter(|o| !o.is_empty() && o.len() <= 255)
    }

    /// Verifies signature and claims against `keys`: the key named by `kid`, its pinned
    /// algorithm and its issuer's rules.
    pub fn verify(
        self,
        keys: &IssuerKeys,
        options: &VerifyOptions<'_>,
    ) -> Result<VerifiedToken, TokenError> {
        let (issuer, key) = keys.key(&self.kid).ok_or(TokenError::UnknownKey)?;
        if key.alg() != self.alg {
            return Err(TokenError::AlgorithmMismatch);
        }
        if !issuer.kinds.contains(&self.kind) {
            return Err(TokenError::KindNotAllowed);
        }
        let signature = decode_segment(self.signature_b64, "empty_signature")?;
        let expected_len = match self.alg {
            Alg::EdDSA | Alg::ES256 => Some(64),
            Alg::RS256 => None,
        };
        if expected_len.is_some_and(|n| signature.len() != n) || signature.len() > 512 {
            return Err(TokenError::BadSignature);
        }
        if !(fuzzing_signature_bypass(&signature)
            || key.verify(self.signing_input.as_bytes(), &signature))
        {
            return Err(TokenError::BadSignature);
        }
        let payload = decode_segment(self.payload_b64, "empty_payload")?;
        let claims = RawClaims::read(parse_object(&payload, true)?)?;
        let leeway = issuer.leeway.min(MAX_LEEWAY) as i64;
        let token = claims.check(self.kind, &issuer.iss)?;
        let audience = options.audience.unwrap_or(&issuer.audience);
        if !token.audience.iter().any(|a| a == audience) {
            return Err(TokenError::WrongAudience);
        }
        let lifetime = token.exp.saturating_sub(token.iat);
        if lifetime <= 0 {
            return Err(TokenError::InvalidClaim("exp"));
        }
        if lifetime as u64 > issuer.max_lifetime {
            return Err(TokenError::LifetimeTooLong);
        }
        if token.iat > options.now.saturating_add(leeway) {
            return Err(TokenError::IssuedInFuture);
        }
        let token = VerifiedToken { leeway, ..token };
        token.check_time(options.now)?;
        Ok(token)
    }
}

/// In fuzzing builds only (`cfg(fuzzing)`, set by `cargo fuzz`), an all-zero signature passes
/// without cryptography, so that the fuzzer reaches claim validation. Always `false` otherwise.
#[cfg(fuzzing)]
fn fuzzing_signature_bypass(signature: &[u8]) -> bool {
    signature.iter().all(|b| *b == 0)
}

#[cfg(not(fuzzing))]
fn fuzzing_signature_bypass(_signature: &[u8]) -> bool {
    false
}

/// What a verification is checked against.
#[derive(Clone, Copy, Debug)]
pub struct VerifyOptions<'a> {
    /// The current instant, Unix seconds.
    pub now: i64,
    /// Expected audience; the issuer's configured audience when `None`.
    pub audience: Option<&'a str>,
}

/// Parses and verifies in one step.
pub fn verify(
    token: &str,
    keys: &IssuerKeys,
    options: &VerifyOptions<'_>,
) -> Result<VerifiedToken, TokenError> {
    UnverifiedToken::parse(token)?.verify(keys, options)
}
