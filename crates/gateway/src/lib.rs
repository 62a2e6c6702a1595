//! Portcullis as a Cloudflare Worker: the edge gateway in front of an origin API.
//!
//! [`logic`] decides everything without I/O and is tested natively. The Worker itself is a
//! small JavaScript entry (`js/worker.mjs`) that keeps the runtime's objects on its side:
//! it reads bundles from Workers KV, forwards allowed requests to the origin with their bodies
//! streamed, and writes one JSON log line per decision. It reaches the logic through `edge`
//! (compiled for `wasm32` only), with strings in and one outcome string out.
#![forbid(unsafe_code)]

pub mod logic;

#[cfg(target_arch = "wasm32")]
pub mod edge;
