//! Helpers shared by the unit tests: a small compiled policy and real tokens for it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// The whole module is compiled for tests only (`#[cfg(test)] mod testing` in lib.rs).
#[cfg(test)]
use ed25519_dalek::SigningKey;

use crate::decide::Authorizer;
use crate::source::{compile, parse_source};
use crate::token::{TokenKind, VerifiedToken, VerifyOptions};
use crate::tools::mint::{mint_eddsa, Claims};

pub const NOW: i64 = 1_780_315_200;

pub fn key() -> SigningKey {
    SigningKey::from_bytes(&[21; 32])
}

/// A policy source with one org, two environments and a test issuer whose key is [`key`].
pub fn source() -> serde_json::Value {
    use base64::Engine;
    let x =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key().verifying_key().as_bytes());
    serde_json::json!({
        "permissions": { "doc": ["read", "edit", "delete"], "users": ["manage"] },
        "roles": [
            { "id": "owner", "scope": "org", "permissions": ["*"], "can_assign": ["owner", "member", "editor"] },
            { "id": "member", "scope": "org", "permissions": ["doc:read"], "env_ceiling": ["doc:read", "doc:edit"], "can_assign": ["editor"] },
            { "id": "editor", "scope": "env", "permissions": ["doc:*"] }
        ],
        "issuers": [ { "iss": "iss", "audience": "aud", "kinds": ["orgauth", "envauth", "service"],
                       "jwks": { "keys": [ { "kty": "OKP", "crv": "Ed25519", "kid": "k", "alg": "EdDSA", "x": x } ] } } ],
        "orgs": [ {
            "id": "acme",
            "environments": [ { "id": "dev", "attrs": { "tier": "development" } }, { "id": "prod", "attrs": { "tier": "production" } } ],
            "groups": [ { "id": "writers" } ],
            "users": [ { "id": "olga" }, { "id": "mia", "groups": ["writers"] }, { "id": "gone", "disabled": true } ],
            "services": [ { "id": "bot", "client_id": "bot-1" } ],
            "bindings": [
                { "role": "owner", "user": "olga" },
                { "role": "member", "user": "mia" },
                { "role": "editor", "group": "writers", "env": "*" },
                { "role": "member", "service": "bot" }
            ],
            "overrides": [ { "id": "no-prod-deletes", "effect": "deny", "everyone": true, "env": "*", "permissions": ["doc:delete"],
                             "when": { "eq": [ { "attr": "env.tier" }, "production" ] } } ],
            "revocations": { "token_ids": ["burned"] }
        } ]
    })
}

pub fn authorizer() -> Authorizer {
    let source = parse_source(source().to_string().as_bytes()).unwrap();
    let data = compile(&source).unwrap().remove(0);
    Authorizer::preview(data, 3).unwrap()
}

/// Mints and verifies a token of `kind` for `sub` (and `env` for EnvAuth).
pub fn token(
    a: &Authorizer,
    kind: TokenKind,
    sub: &str,
    env: Option<&str>,
    edit: impl FnOnce(&mut Claims),
) -> VerifiedToken {
    let mut claims = Claims {
        iss: "iss".into(),
        sub: sub.into(),
        aud: "aud".into(),
        exp: NOW + 300,
        iat: NOW - 10,
        nbf: None,
        jti: format!("t-{sub}"),
        org: "acme".into(),
        env: env.map(str::to_owned),
        client_id: (kind == TokenKind::Service).then(|| sub.to_owned()),
        scope: None,
    };
    edit(&mut claims);
    let raw = mint_eddsa(&key(), "k", kind, &claims);
    a.verify_token(
        &raw,
        &VerifyOptions {
            now: NOW,
            audience: None,
        },
    )
    .unwrap()
}

/// A request for `action` on a resource of the action's type.
pub fn request(action: &str, env: Option<&str>) -> crate::decide::Request {
    crate::decide::Request {
        action: action.into(),
        resource: crate::decide::Resource {
            resource_type: action.split(':').next().unwrap().into(),
            id: Some("r-1".into()),
            env: env.map(str::to_owned),
            ..Default::default()
        },
        ..Default::default()
    }
}
