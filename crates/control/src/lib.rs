//! # Portcullis control plane
//!
//! The IAM management API of an organization (`/iam/users`, `/me`, export and import) as a
//! Cloudflare Worker: state and audit log in D1, every accepted change published to the
//! gateway's KV as a new signed bundle. Calls are authorized by Portcullis itself, over the
//! organization's own policy: an OrgAuth token of its issuers, the policy's admin permission
//! and delegation.
//!
//! ```text
//! request ──route──> Call ──D1: store::LOAD_QUERIES──> OrgRows ──compile──> Authorizer
//!   token ──admit──> VerifiedToken ──service::handle──> Outcome { answer, Change }
//!   Change ──D1 batch: store::commit (version guard, audit row, rows)──> committed version
//!   committed policy ──bundle::build + Ed25519──> KV `bundle:<org>` (re-read until newest)
//! ```
//!
//! Everything but [`edge`] is sans I/O and tested natively.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod activity;
mod elements;
pub mod error;
pub mod keys;
pub mod service;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod edge;

pub use error::ControlError;
