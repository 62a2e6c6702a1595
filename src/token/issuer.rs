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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{Alg, KeyMaterial};
    use std::error::Error as _;

    fn issuer(keys: Vec<TrustedKey>) -> Issuer {
        Issuer {
            iss: "iss".into(),
            audience: "aud".into(),
            kinds: TokenKind::ALL.to_vec(),
            max_lifetime: 3600,
            leeway: 0,
            keys,
        }
    }

    fn ed25519(kid: &str, seed: u8) -> TrustedKey {
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        TrustedKey {
            kid: kid.into(),
            alg: Alg::EdDSA,
            material: KeyMaterial::Ed25519(key.verifying_key().to_bytes()),
        }
    }

    #[test]
    fn keys_are_found_by_kid_across_issuers() {
        let a = issuer(vec![ed25519("a1", 1), ed25519("a2", 2)]);
        let b = Issuer {
            iss: "other".into(),
            ..issuer(vec![ed25519("b1", 3)])
        };
        let keys = IssuerKeys::new(&[a, b]).unwrap();
        assert_eq!(keys.key("b1").map(|(i, _)| i.iss.as_str()), Some("other"));
        assert_eq!(keys.key("a2").map(|(i, _)| i.iss.as_str()), Some("iss"));
        assert!(keys.key("c1").is_none());
        assert_eq!(keys.issuers().len(), 2);
    }

    #[test]
    fn a_kid_used_twice_or_unusable_material_is_refused_and_says_which() {
        let twice = issuer(vec![ed25519("k", 1), ed25519("k", 2)]);
        let err = IssuerKeys::new(&[twice]).unwrap_err();
        assert_eq!(err, IssuerKeysError::DuplicateKid("k".into()));
        assert_eq!(err.to_string(), "duplicate key id `k`");
        assert!(err.source().is_none());
        // An Ed25519 key of small order is refused when it is prepared.
        let weak = TrustedKey {
            material: KeyMaterial::Ed25519([0; 32]),
            ..ed25519("weak", 1)
        };
        let err = IssuerKeys::new(&[issuer(vec![weak])]).unwrap_err();
        let IssuerKeysError::Key(inner) = &err else {
            panic!("{err:?}");
        };
        assert_eq!(err.to_string(), inner.to_string());
        assert!(!err.to_string().is_empty());
        assert_eq!(
            err.source().map(ToString::to_string),
            Some(inner.to_string())
        );
    }
}
