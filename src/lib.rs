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

pub mod authorizer;
pub mod bundle;
pub mod codec;
pub mod condition;
pub mod engine;
pub mod error;
pub mod index;
pub mod keys;
pub mod limits;
pub mod mint;
pub mod model;
pub mod permission;
pub mod policy;
pub mod policy_test;
pub mod route;
pub mod strict_json;
pub mod time;
pub mod token;
pub mod value;

#[cfg(test)]
mod testing;

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use portcullis_no_rng as _;

pub use authorizer::{Authorizer, DelegationAction, EffectivePermissions, Explanation, Provenance};
pub use bundle::{BundleError, BundleHeader, BundleKeys, BundleSigner, LoadOptions};
pub use engine::{
    Context, Decision, EnvRef, Reason, Request, Resolved, Resource, TokenFacts, TraceStep,
};
pub use error::Error;
pub use keys::{Alg, Jwk, KeyError, TrustedKey};
pub use policy::{CompileError, PolicyError, PolicySource};
pub use token::{TokenError, TokenKind, UnverifiedToken, VerifiedToken, VerifyOptions};
pub use value::{Attrs, Value};
