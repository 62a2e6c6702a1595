//! # Portcullis
//!
//! An edge authorizer. It verifies signed, scoped tokens (an EnvAuth token is bound to exactly
//! one environment of one tenant) and evaluates a compact, signed policy bundle, so that
//! cross-environment and cross-tenant requests are refused before they reach an origin.
//!
//! This crate is the sans-I/O core: bytes, trusted keys and `now` go in; verified types and
//! decisions come out. It never reads the clock, touches the network or draws randomness.
//! The Cloudflare Worker, the JavaScript bindings and the CLI are thin adapters around it.
//!
//! ```text
//! policy source (JSON) --compile--> PolicyData --bundle::build + Ed25519--> bundle bytes
//! bundle bytes --bundle::load(trusted keys, now, version floor)--> Authorizer
//! token (JWS) --UnverifiedToken::parse--> --verify(Authorizer's issuers, now)--> VerifiedToken
//! Authorizer::check(VerifiedToken, Request, now) --> Decision { reason, rule, bundle_version }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod authzen;
pub mod bundle;
pub mod decide;
mod error;
pub mod limits;
pub mod model;
pub mod source;
pub mod time;
pub mod token;
pub mod tools;

#[cfg(any(test, feature = "test-util"))]
#[doc(hidden)]
pub mod testing;

/// Internals the fuzz targets compare against other implementations. No stability promise.
#[doc(hidden)]
pub mod internal {
    pub use crate::token::strict_json;
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use portcullis_no_rng as _;

pub use bundle::{BundleError, BundleHeader, BundleKeys, BundleSigner, LoadOptions};
pub use decide::{
    Authorizer, Context, Decision, Detail, EffectivePermissions, EnvRef, Explanation, Provenance,
    Reason, Request, Resolved, Resource, TokenFacts, TraceStep,
};
pub use error::Error;
pub use model::{Attrs, Value};
pub use source::{CompileError, PolicyError, PolicySource};
pub use token::{
    Alg, Jwk, KeyError, TokenError, TokenKind, TrustedKey, UnverifiedToken, VerifiedToken,
    VerifyOptions,
};
