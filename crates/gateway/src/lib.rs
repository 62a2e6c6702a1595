//! Portcullis as a Cloudflare Worker: the edge gateway in front of an origin API.
//!
//! [`logic`] decides everything without I/O and is tested natively; the Worker adapter
//! (compiled for `wasm32` only) reads bundles from Workers KV, forwards allowed requests to
//! the origin with their bodies streamed, and writes one JSON log line per decision.
#![forbid(unsafe_code)]

pub mod logic;

#[cfg(target_arch = "wasm32")]
mod worker_adapter;
