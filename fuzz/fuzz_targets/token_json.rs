//! The strict JSON reader of token segments against serde_json: on any bytes, the two agree on
//! what is JSON and on what it says, except that the strict reader also refuses duplicate member
//! names and nesting deeper than its limit. It never traps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::internal::strict_json::{agrees_with, parse, StrictJsonError};

const DEPTH: usize = 4;

fuzz_target!(|data: &[u8]| {
    let ours = parse(data, DEPTH);
    let theirs = serde_json::from_slice::<serde_json::Value>(data);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => assert!(agrees_with(a, b), "ours {a:?}, serde_json {b:?}"),
        (Err(_), Err(_)) => {}
        // What only the strict reader refuses.
        (Err(StrictJsonError::DuplicateMember(_) | StrictJsonError::TooDeep), Ok(_)) => {}
        _ => panic!("ours {ours:?}, serde_json {theirs:?}"),
    }
});
