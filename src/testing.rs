//! Fixtures the tests share: one instant, seeded keys, issuers, claims, and a small compiled
//! policy with real tokens for the unit tests. Compiled for the core's own unit tests and, with
//! the `test-util` feature, for `portcullis-testkit`, which re-exports it to every other test, so
//! a fixture changes in one place. Deterministic: keys come from fixed seeds, nothing reads the
//! clock. No stability promise.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ed25519_dalek::SigningKey;

use crate::decide::Authorizer;
use crate::source::{compile, parse_source};
use crate::token::{Alg, Issuer, KeyMaterial, TokenKind, TrustedKey, VerifiedToken, VerifyOptions};
use crate::tools::mint::{mint_eddsa, Claims};

/// The instant the tests decide at: 2026-06-01T12:00:00Z.
pub const NOW: i64 = 1_780_315_200;

/// An Ed25519 signing key made of one repeated byte: distinct seeds, distinct keys.
pub fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The trusted form of `key`'s public half, under `kid`, pinned to EdDSA.
pub fn trusted_key(kid: &str, key: &SigningKey) -> TrustedKey {
    TrustedKey {
        kid: kid.into(),
        alg: Alg::EdDSA,
        material: KeyMaterial::Ed25519(key.verifying_key().to_bytes()),
    }
}

/// An issuer `iss` for audience `aud` that may mint every kind of token, with one EdDSA key,
/// tokens of up to an hour and `leeway` seconds of clock leeway.
pub fn issuer(iss: &str, aud: &str, kid: &str, key: &SigningKey, leeway: u64) -> Issuer {
    Issuer {
        iss: iss.into(),
        audience: aud.into(),
        kinds: TokenKind::ALL.to_vec(),
        max_lifetime: 3600,
        leeway,
        keys: vec![trusted_key(kid, key)],
    }
}

/// Claims of a token of `kind` for `sub` in `org` (and `env`), issued by `iss` for `aud` ten
/// seconds before [`NOW`] and valid for ten minutes, with token id `t-<sub>`. A service
/// token's `client_id` is its subject.
pub fn claims(
    kind: TokenKind,
    iss: &str,
    aud: &str,
    sub: &str,
    org: &str,
    env: Option<&str>,
) -> Claims {
    Claims {
        iss: iss.into(),
        sub: sub.into(),
        aud: aud.into(),
        exp: NOW + 600,
        iat: NOW - 10,
        nbf: None,
        jti: format!("t-{sub}"),
        org: org.into(),
        env: env.map(str::to_owned),
        client_id: (kind == TokenKind::Service).then(|| sub.to_owned()),
        scope: None,
    }
}

/// The key of the small policy's issuer.
pub fn key() -> SigningKey {
    signing_key(21)
}

/// A small policy source with one org, two environments and a test issuer whose key is [`key`].
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

/// The small policy, compiled and loaded as a preview at version 3.
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
    let mut claims = claims(kind, "iss", "aud", sub, "acme", env);
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
