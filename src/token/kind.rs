//! The three kinds of token and their `typ` media types.

use serde::{Deserialize, Serialize};

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
