//! Every limit is a typed error, reached quickly, never a hang, panic or trap; and the list in
//! `docs/security.md` states each limit's real value.

use portcullis::bundle::{self, BundleError, BundleKeys, BundleSigner};
use portcullis::limits::*;
use portcullis::model::{match_route, CanonicalPath, PathError, RouteTemplate};
use portcullis::model::{Policy, PolicyData};
use portcullis::source::{compile, parse_source};
use portcullis::token::{verify, TokenError, VerifyOptions};
use portcullis::{Authorizer, LoadOptions, Request, TokenKind};
use portcullis_testkit::NOW;
use serde_json::{json, Value};

fn source() -> Value {
    json!({
        "permissions": { "workflow": ["read", "edit"] },
        "roles": [ { "id": "viewer", "scope": "env", "permissions": ["workflow:read"] } ],
        "orgs": [
            { "id": "a", "environments": [ { "id": "a-dev" } ], "users": [ { "id": "ann" } ],
              "bindings": [ { "role": "viewer", "user": "ann", "env": "a-dev" } ] }
        ]
    })
}

fn compile_errors(v: &Value) -> Vec<(String, String)> {
    let bytes = serde_json::to_vec(v).unwrap();
    match parse_source(&bytes).and_then(|s| compile(&s)) {
        Ok(_) => vec![],
        Err(e) => e
            .errors
            .into_iter()
            .map(|e| (e.pointer, e.message))
            .collect(),
    }
}

fn compiled(v: &Value) -> PolicyData {
    let bytes = serde_json::to_vec(v).unwrap();
    compile(&parse_source(&bytes).unwrap()).unwrap().remove(0)
}

fn signer() -> BundleSigner {
    BundleSigner::from_seed("limits", &[7; 32])
}

/// Builds a signed bundle straight from policy data, bypassing the compiler's checks.
fn load(data: &PolicyData) -> Result<Authorizer, BundleError> {
    let bytes = bundle::build(data, 1, NOW - 60, NOW + 3600, &signer())?;
    let mut keys = BundleKeys::new();
    keys.add("limits", &signer().public_key()).unwrap();
    Authorizer::from_bundle(
        &bytes,
        &keys,
        LoadOptions {
            now: NOW,
            min_version: 0,
        },
    )
}

fn route(i: usize) -> Value {
    json!({ "id": format!("r{i}"), "method": "GET", "path": format!("/v1/envs/{{env}}/r{i}"),
            "permission": "workflow:read", "resource_type": "workflow", "env_param": "env" })
}

#[test]
fn the_documented_limits_are_the_real_ones() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/security.md")).unwrap();
    for (name, value) in [
        ("MAX_TOKEN_BYTES", MAX_TOKEN_BYTES as u64),
        ("MAX_TOKEN_JSON_DEPTH", MAX_TOKEN_JSON_DEPTH as u64),
        ("MAX_LEEWAY", MAX_LEEWAY),
        ("MAX_BUNDLE_BYTES", MAX_BUNDLE_BYTES as u64),
        ("MAX_SOURCE_BYTES", MAX_SOURCE_BYTES as u64),
        ("MAX_PERMISSIONS", MAX_PERMISSIONS as u64),
        ("MAX_ENTRIES", MAX_ENTRIES as u64),
        ("MAX_ROUTES", MAX_ROUTES as u64),
        ("MAX_ISSUERS", MAX_ISSUERS as u64),
        ("MAX_KEYS_PER_ISSUER", MAX_KEYS_PER_ISSUER as u64),
        ("MAX_SEGMENTS", MAX_SEGMENTS as u64),
        ("MAX_PATH_BYTES", MAX_PATH_BYTES as u64),
        ("MAX_CONDITION_DEPTH", MAX_CONDITION_DEPTH as u64),
        ("MAX_CONDITION_NODES", MAX_CONDITION_NODES as u64),
        ("MAX_VALUE_DEPTH", MAX_VALUE_DEPTH as u64),
        ("MAX_BATCH", MAX_BATCH as u64),
        ("MAX_SUBJECT_ALIASES", MAX_SUBJECT_ALIASES as u64),
        ("MAX_AUTHZEN_BODY_BYTES", MAX_AUTHZEN_BODY_BYTES as u64),
        ("MAX_AUTHZEN_JSON_DEPTH", MAX_AUTHZEN_JSON_DEPTH as u64),
        ("MAX_EVALUATIONS", MAX_EVALUATIONS as u64),
        ("MAX_PROPERTIES", MAX_PROPERTIES as u64),
        ("MAX_PAGE_LIMIT", MAX_PAGE_LIMIT as u64),
    ] {
        let row = format!("| `{name}` | {value} |");
        assert!(doc.contains(&row), "docs/security.md lacks the row `{row}`");
    }
}

#[test]
fn an_oversize_token_is_refused_before_decoding() {
    let policy = Policy::new(PolicyData {
        org: "a".into(),
        ..PolicyData::default()
    })
    .unwrap();
    let options = VerifyOptions {
        now: NOW,
        audience: None,
    };
    let token = "a".repeat(MAX_TOKEN_BYTES + 1);
    assert_eq!(
        verify(&token, policy.issuer_keys(), &options).unwrap_err(),
        TokenError::TooLarge
    );
    // At the limit it is decoded (and refused for what it is).
    let token = format!("{}.e30.AA", "a".repeat(MAX_TOKEN_BYTES - 7));
    assert_eq!(token.len(), MAX_TOKEN_BYTES);
    assert_ne!(
        verify(&token, policy.issuer_keys(), &options).unwrap_err(),
        TokenError::TooLarge
    );
}

#[test]
fn token_json_nested_deeper_than_the_limit_is_refused() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let policy = Policy::new(PolicyData {
        org: "a".into(),
        ..PolicyData::default()
    })
    .unwrap();
    let deep = format!(
        "{{\"alg\":\"EdDSA\",\"typ\":\"envauth+jwt\",\"kid\":\"k\",\"x\":{}1{}}}",
        "[".repeat(MAX_TOKEN_JSON_DEPTH),
        "]".repeat(MAX_TOKEN_JSON_DEPTH)
    );
    let token = format!("{}.e30.AA", URL_SAFE_NO_PAD.encode(deep));
    let options = VerifyOptions {
        now: NOW,
        audience: None,
    };
    assert_eq!(
        verify(&token, policy.issuer_keys(), &options).unwrap_err(),
        TokenError::BadJson
    );
}

#[test]
fn an_oversize_bundle_is_refused_before_its_signature_is_checked() {
    let bytes = vec![0u8; MAX_BUNDLE_BYTES + 1];
    assert_eq!(
        bundle::read_header(&bytes).unwrap_err(),
        BundleError::TooLarge
    );
    assert_eq!(
        Authorizer::from_bundle(
            &bytes,
            &BundleKeys::new(),
            LoadOptions {
                now: NOW,
                min_version: 0
            }
        )
        .err()
        .map(|e| e.code()),
        Some("bundle_too_large")
    );
}

#[test]
fn an_oversize_policy_source_is_refused_before_parsing() {
    let bytes = vec![b' '; MAX_SOURCE_BYTES + 1];
    let err = parse_source(&bytes).unwrap_err();
    assert_eq!(err.errors.len(), 1);
    assert!(err.errors[0].message.contains("larger than"));
}

#[test]
fn routes_beyond_the_limit_are_refused_by_the_compiler_and_the_bundle_loader() {
    let mut v = source();
    v["routes"] = (0..MAX_ROUTES).map(route).collect();
    assert_eq!(compile_errors(&v), vec![]);
    let mut data = compiled(&v);
    assert!(load(&data).is_ok());

    v["routes"] = (0..=MAX_ROUTES).map(route).collect();
    let errors = compile_errors(&v);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, "/routes");
    assert!(errors[0].1.contains("at most 1024"));

    data.routes.push(data.routes[0].clone());
    data.routes.last_mut().unwrap().id = "one-too-many".into();
    assert_eq!(load(&data).err().map(|e| e.code()), Some("bundle_invalid"));
}

#[test]
fn a_route_template_with_too_many_segments_is_refused() {
    let ok = "/s".repeat(MAX_SEGMENTS);
    assert!(RouteTemplate::parse(&ok).is_ok());
    let long = "/s".repeat(MAX_SEGMENTS + 1);
    assert!(RouteTemplate::parse(&long).is_err());
}

#[test]
fn a_path_longer_than_the_limit_is_refused() {
    let mut v = source();
    v["routes"] = json!([{ "id": "any", "method": "GET", "path": "/files/{id}",
        "permission": "workflow:read", "resource_type": "workflow", "id_param": "id" }]);
    let data = compiled(&v);
    let at_limit = format!("/files/{}", "x".repeat(MAX_PATH_BYTES - 7));
    let path = CanonicalPath::parse(&at_limit).unwrap();
    assert!(match_route(&data.routes, "GET", "api.example", &path)
        .unwrap()
        .is_some());
    let beyond = format!("/files/{}", "x".repeat(MAX_PATH_BYTES - 6));
    assert_eq!(CanonicalPath::parse(&beyond), Err(PathError::TooLong));
}

fn nested_condition(depth: usize) -> Value {
    let mut c = json!({ "eq": [ { "attr": "resource.tier" }, "gold" ] });
    for _ in 1..depth {
        c = json!({ "not": c });
    }
    c
}

#[test]
fn conditions_deeper_or_larger_than_the_limits_are_refused() {
    let with = |condition: Value| {
        let mut v = source();
        v["orgs"][0]["bindings"][0]["when"] = condition;
        v
    };
    assert_eq!(
        compile_errors(&with(nested_condition(MAX_CONDITION_DEPTH))),
        vec![]
    );
    let errors = compile_errors(&with(nested_condition(MAX_CONDITION_DEPTH + 1)));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].0.starts_with("/orgs/0/bindings/0/when"),
        "{errors:?}"
    );

    let wide = |n: usize| json!({ "any": (0..n).map(|i| json!({ "eq": [ { "attr": "resource.tier" }, format!("t{i}") ] })).collect::<Vec<_>>() });
    // `any` of n comparisons: 1 + 3n nodes (the comparison and its two operands).
    let fits = (MAX_CONDITION_NODES - 1) / 3;
    assert_eq!(compile_errors(&with(wide(fits))), vec![]);
    let errors = compile_errors(&with(wide(fits + 1)));
    assert_eq!(errors.len(), 1, "{errors:?}");
}

#[test]
fn permissions_beyond_the_limit_are_refused() {
    let mut v = source();
    let verbs: Vec<String> = (0..MAX_PERMISSIONS).map(|i| format!("v{i}")).collect();
    v["permissions"] = json!({ "workflow": verbs });
    v["roles"][0]["permissions"] = json!(["workflow:v0"]);
    assert_eq!(compile_errors(&v), vec![]);
    let verbs: Vec<String> = (0..=MAX_PERMISSIONS).map(|i| format!("v{i}")).collect();
    v["permissions"] = json!({ "workflow": verbs });
    assert!(!compile_errors(&v).is_empty());
}

#[test]
fn a_batch_larger_than_the_limit_is_refused_whole() {
    use ed25519_dalek::SigningKey;
    use portcullis::tools::mint::{mint_eddsa, Claims};
    let key = SigningKey::from_bytes(&[9; 32]);
    let mut v = source();
    v["issuers"] = json!([{ "iss": "https://idp.example", "audience": "https://api.example",
        "kinds": ["envauth"], "jwks": { "keys": [ {
            "kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA",
            "x": base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD,
                                        key.verifying_key().to_bytes()) } ] } }]);
    let authorizer = load(&compiled(&v)).unwrap();
    let token = mint_eddsa(
        &key,
        "k1",
        TokenKind::EnvAuth,
        &Claims {
            iss: "https://idp.example".into(),
            sub: "ann".into(),
            aud: "https://api.example".into(),
            exp: NOW + 600,
            iat: NOW - 10,
            jti: "t".into(),
            org: "a".into(),
            env: Some("a-dev".into()),
            ..Claims::default()
        },
    );
    let verified = authorizer
        .verify_token(
            &token,
            &VerifyOptions {
                now: NOW,
                audience: None,
            },
        )
        .unwrap();
    let request: Request = serde_json::from_value(json!({
        "action": "workflow:read", "resource": { "type": "workflow", "env": "a-dev" }
    }))
    .unwrap();
    let full = vec![request.clone(); MAX_BATCH];
    let decisions = authorizer.check_many(&verified, &full, NOW).unwrap();
    assert!(decisions.iter().all(|d| d.allowed));
    let over = vec![request; MAX_BATCH + 1];
    let err = authorizer.check_many(&verified, &over, NOW).unwrap_err();
    assert_eq!(err.code(), "batch_too_large");
    assert_eq!(err.len, MAX_BATCH + 1);
}

#[test]
fn issuers_and_keys_beyond_the_limits_are_refused() {
    let issuer = |i: usize, keys: usize| {
        json!({ "iss": format!("https://idp{i}.example"), "audience": "https://api.example",
            "kinds": ["envauth"], "jwks": { "keys": (0..keys).map(|k| json!({
                "kty": "OKP", "crv": "Ed25519", "kid": format!("i{i}-k{k}"), "alg": "EdDSA",
                "x": "WKId5PPKvHRjVJwyy4sDh3Yh6w4U7bSQAfeIsXlY5gs" })).collect::<Vec<_>>() } })
    };
    let mut v = source();
    v["issuers"] = (0..MAX_ISSUERS).map(|i| issuer(i, 1)).collect();
    assert_eq!(compile_errors(&v), vec![]);
    assert!(load(&compiled(&v)).is_ok());
    v["issuers"] = (0..=MAX_ISSUERS).map(|i| issuer(i, 1)).collect();
    let errors = compile_errors(&v);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, "/issuers");

    let mut v = source();
    v["issuers"] = json!([issuer(0, MAX_KEYS_PER_ISSUER)]);
    assert_eq!(compile_errors(&v), vec![]);
    let mut data = compiled(&v);
    assert!(load(&data).is_ok());
    v["issuers"] = json!([issuer(0, MAX_KEYS_PER_ISSUER + 1)]);
    let errors = compile_errors(&v);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, "/issuers/0/jwks/keys");
    let extra = data.issuers[0].keys[0].clone();
    data.issuers[0].keys.push(extra);
    assert!(load(&data).is_err());
}
