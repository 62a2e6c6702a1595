//! Tools for people who write policies: minting development tokens and running files of
//! expected decisions against a policy.

pub mod expect;
pub mod mint;
