//! The payload's claims, read strictly, and the verified token they become.

use serde::Serialize;

use super::jws::Members;
use super::strict_json::JsonValue;
use super::{TokenError, TokenKind};

pub(super) struct RawClaims {
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
    pub(super) fn read(mut m: Members) -> Result<Self, TokenError> {
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

    pub(super) fn check(self, kind: TokenKind, iss: &str) -> Result<VerifiedToken, TokenError> {
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
/// It can only be obtained from [`UnverifiedToken::verify`](super::UnverifiedToken::verify).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedToken {
    pub(super) kind: TokenKind,
    pub(super) iss: String,
    pub(super) sub: String,
    #[serde(rename = "aud")]
    pub(super) audience: Vec<String>,
    pub(super) exp: i64,
    pub(super) iat: i64,
    pub(super) nbf: Option<i64>,
    pub(super) jti: String,
    pub(super) org: String,
    pub(super) env: Option<String>,
    pub(super) client_id: Option<String>,
    pub(super) scope: Option<Vec<String>>,
    #[serde(skip)]
    pub(super) leeway: i64,
}

impl VerifiedToken {
    /// The token a member would present to act on a resource of `env` right now, for a
    /// decision made without one (a PDP client naming the subject): an EnvAuth token bound
    /// to `env`, an OrgAuth token for an org-level resource, a service token for a service;
    /// issued at `now`, without a token id or scope. Crate-private: outside this crate a
    /// verified token still comes only from verification.
    pub(crate) fn stand_in(
        member_id: &str,
        client_id: Option<&str>,
        org: &str,
        env: Option<&str>,
        now: i64,
    ) -> Self {
        let kind = match (client_id, env) {
            (Some(_), _) => TokenKind::Service,
            (None, Some(_)) => TokenKind::EnvAuth,
            (None, None) => TokenKind::OrgAuth,
        };
        VerifiedToken {
            kind,
            iss: String::new(),
            sub: member_id.to_owned(),
            audience: Vec::new(),
            exp: now.saturating_add(1),
            iat: now,
            nbf: None,
            jti: String::new(),
            org: org.to_owned(),
            env: if kind == TokenKind::EnvAuth {
                env.map(str::to_owned)
            } else {
                None
            },
            client_id: client_id.map(str::to_owned),
            scope: None,
            leeway: 0,
        }
    }

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
