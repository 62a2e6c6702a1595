//! Trusted issuers and their keys, prepared once and looked up by `kid`.

use rustc_hash::FxHashMap;

use super::{KeyError, TokenKind, TrustedKey, VerifierKey};

/// A trusted token issuer.
#[derive(Clone, Debug, PartialEq)]
pub struct Issuer {
    /// The `iss` claim value.
    pub iss: String,
    /// The audience tokens must carry in `aud`.
    pub audience: String,
    /// Token kinds this issuer may mint.
    pub kinds: Vec<TokenKind>,
    /// Longest allowed `exp - iat`, in seconds.
    pub max_lifetime: u64,
    /// Clock leeway for `exp`, `nbf` and `iat`, in seconds (at most 60).
    pub leeway: u64,
    /// Verification keys, each with its `kid` and pinned algorithm.
    pub keys: Vec<TrustedKey>,
}

/// Why a set of issuers cannot verify tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IssuerKeysError {
    /// A key's material is unusable.
    Key(KeyError),
    /// Two keys share a `kid`, so a token could not name one of them.
    DuplicateKid(String),
}

impl std::fmt::Display for IssuerKeysError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IssuerKeysError::Key(e) => write!(f, "{e}"),
            IssuerKeysError::DuplicateKid(kid) => write!(f, "duplicate key id `{kid}`"),
        }
    }
}

impl std::error::Error for IssuerKeysError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IssuerKeysError::Key(e) => Some(e),
            IssuerKeysError::DuplicateKid(_) => None,
        }
    }
}

/// The issuers a token may come from, each key prepared for signature checks and found by
/// `kid`. This is what [`UnverifiedToken::verify`](super::UnverifiedToken::verify) takes; a
/// compiled policy owns one.
#[derive(Clone, Debug, Default)]
pub struct IssuerKeys {
    issuers: Vec<Issuer>,
    by_kid: FxHashMap<String, (usize, VerifierKey)>,
}

impl IssuerKeys {
    /// Prepares every key of `issuers`, refusing unusable material and a `kid` used twice.
    pub fn new(issuers: &[Issuer]) -> Result<Self, IssuerKeysError> {
        let mut by_kid = FxHashMap::default();
        for (i, issuer) in issuers.iter().enumerate() {
            for key in &issuer.keys {
                let verifier = key.verifier().map_err(IssuerKeysError::Key)?;
                if by_kid.insert(key.kid.clone(), (i, verifier)).is_some() {
                    return Err(IssuerKeysError::DuplicateKid(key.kid.clone()));
                }
            }
        }
        Ok(IssuerKeys {
            issuers: issuers.to_vec(),
            by_kid,
        })
    }

    /// The issuer and prepared key for `kid`.
    pub fn key(&self, kid: &str) -> Option<(&Issuer, &VerifierKey)> {
        let (i, key) = self.by_kid.get(kid)?;
        Some((self.issuers.get(*i)?, key))
    }

    /// The issuers, in the order they were given.
    pub fn issuers(&self) -> &[Issuer] {
        &self.issuers
    }
}
