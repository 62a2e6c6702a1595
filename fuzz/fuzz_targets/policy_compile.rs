//! Policy compilation from JSON source: any bytes compile or give typed errors with pointers;
//! what compiles round-trips through the bundle body encoding unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::bundle::{decode_body, encode_body};
use portcullis::source::compile_json;

fuzz_target!(|data: &[u8]| {
    match compile_json(data) {
        Ok(policies) => {
            for policy in policies {
                let body = encode_body(policy.data());
                let decoded = decode_body(&body).expect("a compiled policy's body decodes");
                assert_eq!(
                    &decoded,
                    policy.data(),
                    "the body encoding changed the policy"
                );
            }
        }
        Err(error) => {
            assert!(!error.errors.is_empty(), "a refused policy says why");
            for e in &error.errors {
                assert!(e.pointer.is_empty() || e.pointer.starts_with('/'));
                assert!(!e.message.is_empty());
            }
            let _ = error.to_string();
        }
    }
});
