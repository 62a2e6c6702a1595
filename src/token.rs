//! Tokens (DESIGN §2): compact JWS, verified against the issuers of a policy.
//!
//! [`UnverifiedToken::parse`] checks size, shape and header before any cryptography;
//! [`UnverifiedToken::verify`] finds the key by `kid`, checks the pinned algorithm and the
//! signature, then the claims against `now`. Only a [`VerifiedToken`] reaches the engine.
//! Nothing here reads the clock or fetches anything: `now` is an argument and keys come
//! from the bundle, never from the token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::keys::Alg;
use crate::model::Policy;
use crate::strict_json::{self, JsonValue};

/// Largest token accepted, in bytes. Larger ones are refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Deepest JSON nesting accepted in a token header or payload.
pub const MAX_TOKEN_JSON_DEPTH: usize = 4;
/// Largest clock leeway an issuer may configure, in seconds.
pub const MAX_LEEWAY: u64 = 60;

/// The three kinds of token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// `orgauth+jwt`: org-level actions only.
    OrgAuth,
    /// `envauth+jwt`: exactly one environment of one organization.
    EnvAuth,
    /// `at+jwt` (RFC 9068): an OAuth2 client-credentials service.
    Service,
}

impl TokenKind {
    /// All kinds.
    pub const ALL: [TokenKind; 3] = [TokenKind::OrgAuth, TokenKind::EnvAuth, TokenKind::Service];

    /// The `typ` header value.
    pub fn typ(self) -> &'static str {
        match self {
            TokenKind::OrgAuth => "orgauth+jwt",
            TokenKind::EnvAuth => "envauth+jwt",
            TokenKind::Service => "at+jwt",
        }
    }

    /// The lower-case name used in policies and output.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::OrgAuth => "orgauth",
            TokenKind::EnvAuth => "envauth",
            TokenKind::Service => "service",
        }
    }

    /// Parses the lower-case name.
    pub fn parse(name: &str) -> Option<Self> {
        TokenKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Reads a `typ` header as a media type: case-insensitive, `application/` optional.
    pub fn from_typ(typ: &str) -> Option<Self> {
        let lower = typ.to_ascii_lowercase();
        let bare = lower.strip_prefix("application/").unwrap_or(&lower);
        TokenKind::ALL.into_iter().find(|k| k.typ() == bare)
    }
}

/// Why a token was refused. Every variant decides `invalid_token`.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// The members of a token segment (a JSON object), taken out by name. A member whose value
/// is `null` counts as absent. One of the wrong type is refused: in the payload as the claim
/// it is (`token_invalid_claim`, naming it), in the header as `token_bad_json`.
struct Members {
    members: Vec<(String, JsonValue)>,
    claims: bool,
}

impl Members {
    fn take(&mut self, name: &str) -> Option<JsonValue> {
        let at = self.members.iter().position(|(n, _)| n == name)?;
        match self.members.swap_remove(at).1 {
            JsonValue::Null => None,
            value => Some(value),
        }
    }

    fn present(&self, name: &str) -> bool {
        self.members
            .iter()
            .any(|(n, v)| n == name && *v != JsonValue::Null)
    }

    /// The error for member `name` of the wrong type.
    fn wrong_type(&self, name: &'static str) -> TokenError {
        if self.claims {
            TokenError::InvalidClaim(name)
        } else {
            TokenError::BadJson
        }
    }

    fn string(&mut self, name: &'static str) -> Result<Option<String>, TokenError> {
        match self.take(name) {
            None => Ok(None),
            Some(JsonValue::Str(s)) => Ok(Some(s)),
            Some(_) => Err(self.wrong_type(name)),
        }
    }

    fn number(&mut self, name: &'static str) -> Result<Option<JsonValue>, TokenError> {
        match self.take(name) {
            None => Ok(None),
            Some(n @ (JsonValue::Int(_) | JsonValue::Float(_))) => Ok(Some(n)),
            Some(_) => Err(self.wrong_type(name)),
        }
    }

    /// `aud`: one string or an array of strings.
    fn audience(&mut self) -> Result<Option<Vec<String>>, TokenError> {
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

    /// Verifies signature and claims against the issuers of `policy`.
    pub fn verify(
        self,
        policy: &Policy,
        options: &VerifyOptions<'_>,
    ) -> Result<VerifiedToken, TokenError> {
        let (issuer, key) = policy.key(&self.kid).ok_or(TokenError::UnknownKey)?;
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
            || key.verify(self.signing_input.as_bytes(), self.signature_b64))
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

struct RawClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Vec<String>>,
    exp: Option<JsonValue>,
    nbf: Option<JsonValue>,
    iat: Option<JsonValue>,
    jti: Option<String>,
    org: Option<String>,
    env: Option<String>,
    client_id: Option<String>,
    scope: Option<String>,
}

/// A NumericDate (RFC 7519) as whole seconds: fractions are cut off; beyond ±10^15 it is
/// refused.
fn numeric_date(n: Option<JsonValue>, name: &'static str) -> Result<Option<i64>, TokenError> {
    match n {
        None => Ok(None),
        Some(JsonValue::Int(i)) => Ok(Some(i)),
        Some(JsonValue::Float(f)) if f.is_finite() && f.abs() < 1e15 => Ok(Some(f.floor() as i64)),
        Some(_) => Err(TokenError::InvalidClaim(name)),
    }
}

fn required(v: Option<String>, name: &'static str) -> Result<String, TokenError> {
    match v {
        None => Err(TokenError::MissingClaim(name)),
        Some(s) if s.is_empty() || s.len() > 256 => Err(TokenError::InvalidClaim(name)),
        Some(s) => Ok(s),
    }
}

impl RawClaims {
    fn read(mut m: Members) -> Result<Self, TokenError> {
        Ok(RawClaims {
            iss: m.string("iss")?,
            sub: m.string("sub")?,
            aud: m.audience()?,
            exp: m.number("exp")?,
            nbf: m.number("nbf")?,
            iat: m.number("iat")?,
            jti: m.string("jti")?,
            org: m.string("org")?,
            env: m.string("env")?,
            client_id: m.string("client_id")?,
            scope: m.string("scope")?,
        })
    }

    fn check(self, kind: TokenKind, iss: &str) -> Result<VerifiedToken, TokenError> {
        let token_iss = required(self.iss, "iss")?;
        if token_iss != iss {
            return Err(TokenError::WrongIssuer);
        }
        let sub = required(self.sub, "sub")?;
        let audience = match self.aud {
            None => return Err(TokenError::MissingClaim("aud")),
            Some(list) if !list.is_empty() && list.len() <= 16 => list,
            Some(_) => return Err(TokenError::InvalidClaim("aud")),
        };
        let exp = numeric_date(self.exp, "exp")?.ok_or(TokenError::MissingClaim("exp"))?;
        let iat = numeric_date(self.iat, "iat")?.ok_or(TokenError::MissingClaim("iat"))?;
        let nbf = numeric_date(self.nbf, "nbf")?;
        let jti = required(self.jti, "jti")?;
        let org = required(self.org, "org")?;
        let env = match kind {
            TokenKind::EnvAuth => Some(required(self.env, "env")?),
            _ => None,
        };
        let client_id = match kind {
            TokenKind::Service => Some(required(self.client_id, "client_id")?),
            _ => None,
        };
        let scope = match self.scope {
            None => None,
            Some(s) if s.len() > 4096 => return Err(TokenError::InvalidClaim("scope")),
            Some(s) => Some(
                s.split(' ')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
        };
        Ok(VerifiedToken {
            kind,
            iss: token_iss,
            sub,
            audience,
            exp,
            iat,
            nbf,
            jti,
            org,
            env,
            client_id,
            scope,
            leeway: 0,
        })
    }
}

/// A token whose signature, issuer, audience, kind and times have been verified.
///
/// It can only be obtained from [`UnverifiedToken::verify`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedToken {
    kind: TokenKind,
    iss: String,
    sub: String,
    #[serde(rename = "aud")]
    audience: Vec<String>,
    exp: i64,
    iat: i64,
    nbf: Option<i64>,
    jti: String,
    org: String,
    env: Option<String>,
    client_id: Option<String>,
    scope: Option<Vec<String>>,
    #[serde(skip)]
    leeway: i64,
}

impl VerifiedToken {
    /// The token kind.
    pub fn kind(&self) -> TokenKind {
        self.kind
    }
    /// The issuer.
    pub fn iss(&self) -> &str {
        &self.iss
    }
    /// The subject.
    pub fn sub(&self) -> &str {
        &self.sub
    }
    /// The organization the token is bound to.
    pub fn org(&self) -> &str {
        &self.org
    }
    /// For EnvAuth tokens, the one environment the token is bound to.
    pub fn env(&self) -> Option<&str> {
        self.env.as_deref()
    }
    /// For service tokens, the OAuth2 client id.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }
    /// The token id.
    pub fn jti(&self) -> &str {
        &self.jti
    }
    /// Issued-at, Unix seconds.
    pub fn iat(&self) -> i64 {
        self.iat
    }
    /// Expiry, Unix seconds.
    pub fn exp(&self) -> i64 {
        self.exp
    }
    /// The scope entries, if the token narrows its grants.
    pub fn scope(&self) -> Option<&[String]> {
        self.scope.as_deref()
    }

    /// Checks `exp` and `nbf` at `now`, with the issuer's leeway.
    pub fn check_time(&self, now: i64) -> Result<(), TokenError> {
        if now >= self.exp.saturating_add(self.leeway) {
            return Err(TokenError::Expired);
        }
        if self
            .nbf
            .is_some_and(|nbf| now.saturating_add(self.leeway) < nbf)
        {
            return Err(TokenError::NotYetValid);
        }
        Ok(())
    }

    /// Whether the token's `scope` covers `permission` (always true without a scope).
    pub fn scope_covers(&self, permission: &str) -> bool {
        let Some(scope) = &self.scope else {
            return true;
        };
        let ty = permission.split_once(':').map(|(t, _)| t);
        scope.iter().any(|s| {
            s == "*" || s == permission || s.strip_suffix(":*").is_some_and(|t| Some(t) == ty)
        })
    }
}

/// Parses and verifies in one step.
pub fn verify(
    token: &str,
    policy: &Policy,
    options: &VerifyOptions<'_>,
) -> Result<VerifiedToken, TokenError> {
    UnverifiedToken::parse(token)?.verify(policy, options)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
