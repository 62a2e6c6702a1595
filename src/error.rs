//! The crate's error type: one enum over the areas, each with a stable code.

use crate::bundle::BundleError;
use crate::model::ModelError;
use crate::source::PolicyError;
use crate::token::KeyError;
use crate::token::TokenError;

/// Any error the core reports. A deny is a [`crate::Decision`], never an error.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The policy source does not compile.
    Policy(PolicyError),
    /// A bundle was refused.
    Bundle(BundleError),
    /// A token was refused.
    Token(TokenError),
    /// A key was refused.
    Key(KeyError),
    /// Policy data is inconsistent.
    Model(ModelError),
}

impl Error {
    /// A stable code, for HTTP bodies, JS errors and exit paths.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Policy(e) => e.code(),
            Error::Bundle(e) => e.code(),
            Error::Token(e) => e.code(),
            Error::Key(_) => "key_invalid",
            Error::Model(_) => "policy_inconsistent",
        }
    }

    /// What the code leaves open, where the error names it (see [`TokenError::detail`]).
    pub fn detail(&self) -> Option<&'static str> {
        match self {
            Error::Token(e) => e.detail(),
            _ => None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Policy(e) => write!(f, "{e}"),
            Error::Bundle(e) => write!(f, "{e}"),
            Error::Token(e) => write!(f, "{e}"),
            Error::Key(e) => write!(f, "{e}"),
            Error::Model(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(match self {
            Error::Policy(e) => e,
            Error::Bundle(e) => e,
            Error::Token(e) => e,
            Error::Key(e) => e,
            Error::Model(e) => e,
        })
    }
}

macro_rules! from {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::$v(e)
            }
        }
    )*};
}

from!(PolicyError => Policy, BundleError => Bundle, TokenError => Token, KeyError => Key, ModelError => Model);
