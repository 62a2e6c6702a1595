//! The Portcullis core verifies signatures; it never draws randomness.
//!
//! Its dependency tree still links `getrandom` 0.2 (through `rand_core`, for the RustCrypto
//! crates' key generation, which the core never calls),
//! which on `wasm32-unknown-unknown` needs a backend chosen at build time. This crate
//! registers one that always fails, so no JavaScript glue is pulled into the core. Front ends
//! that do need randomness enable getrandom's `js` feature, which takes precedence.
#![no_std]

/// Refuses every request for random bytes.
fn refuse(_dest: &mut [u8]) -> Result<(), getrandom::Error> {
    Err(getrandom::Error::UNSUPPORTED)
}

getrandom::register_custom_getrandom!(refuse);
