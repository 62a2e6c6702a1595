//! The strict JSON reader of token segments against serde_json: on any bytes, the two agree on
//! what is JSON and on what it says, except that the strict reader also refuses duplicate member
//! names and nesting deeper than its limit. It never traps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::strict_json::{parse, JsonValue, StrictJsonError};

const DEPTH: usize = 4;

fn same(ours: &JsonValue, theirs: &serde_json::Value) -> bool {
    match (ours, theirs) {
        (JsonValue::Null, serde_json::Value::Null) => true,
        (JsonValue::Bool(a), serde_json::Value::Bool(b)) => a == b,
        (JsonValue::Int(a), serde_json::Value::Number(b)) => b.as_i64() == Some(*a),
        // serde_json's default float parsing may be one unit in the last place off.
        (JsonValue::Float(a), serde_json::Value::Number(b)) => {
            b.as_i64().is_none()
                && b.as_f64()
                    .is_some_and(|x| x == *a || (x - a).abs() <= a.abs() * 1e-15)
        }
        (JsonValue::Str(a), serde_json::Value::String(b)) => a == b,
        (JsonValue::Array(a), serde_json::Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (JsonValue::Object(a), serde_json::Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(name, v)| b.get(name).is_some_and(|w| same(v, w)))
        }
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let ours = parse(data, DEPTH);
    let theirs = serde_json::from_slice::<serde_json::Value>(data);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => assert!(same(a, b), "ours {a:?}, serde_json {b:?}"),
        (Err(_), Err(_)) => {}
        // What only the strict reader refuses.
        (Err(StrictJsonError::DuplicateMember(_) | StrictJsonError::TooDeep), Ok(_)) => {}
        _ => panic!("ours {ours:?}, serde_json {theirs:?}"),
    }
});
