//! The JSON Schema in `schema/` accepts every example policy and refuses malformed ones.

use std::path::Path;

use serde_json::{json, Value};

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn validator() -> jsonschema::Validator {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    jsonschema::validator_for(&read(&root.join("schema/policy.schema.json"))).unwrap()
}

#[test]
fn every_example_policy_matches_the_schema() {
    let v = validator();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.to_string_lossy().into_owned();
        if !name.ends_with(".json") || name.ends_with(".test.json") {
            continue;
        }
        let doc = read(&path);
        let errors: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        checked += 1;
    }
    assert_eq!(checked, 7);
}

#[test]
fn the_schema_refuses_what_the_compiler_refuses() {
    let v = validator();
    let base = json!({ "permissions": { "doc": ["read"] }, "orgs": [ { "id": "a" } ] });
    assert!(v.is_valid(&base));
    for bad in [
        json!({ "permissions": { "doc": ["read"] }, "orgs": [ { "id": "a", "colour": "red" } ] }),
        json!({ "permissions": { "doc": ["read"] }, "roles": [ { "id": "r", "scope": "global" } ], "orgs": [ { "id": "a" } ] }),
        json!({ "permissions": { "doc": ["read"] }, "roles": [ { "id": "r", "scope": "org", "permissions": ["doc"] } ], "orgs": [ { "id": "a" } ] }),
        json!({ "permissions": { "doc": ["read"] }, "orgs": [ { "id": "a", "bindings": [ { "role": "r", "user": "u", "group": "g" } ] } ] }),
        json!({ "permissions": { "doc": ["read"] }, "orgs": [ { "id": "a", "bindings": [ { "role": "r", "user": "u", "when": { "eq": [1, 2], "in": [1, [2]] } } ] } ] }),
        json!({ "permissions": { "doc": ["read"] }, "issuers": [ { "iss": "i", "audience": "a", "kinds": ["orgauth"], "leeway": 120, "jwks": { "keys": [] } } ], "orgs": [ { "id": "a" } ] }),
        json!({ "permissions": { "doc": ["read"] } }),
    ] {
        assert!(!v.is_valid(&bad), "accepted {bad}");
        let compiled = portcullis::source::parse_source(bad.to_string().as_bytes())
            .and_then(|s| portcullis::source::compile(&s));
        assert!(compiled.is_err(), "the compiler accepted {bad}");
    }
}
