//! Writes the shared test vectors: signed bundles, tokens of every kind and algorithm, and
//! the decision each (token, request) pair must get. Everything derives from fixed seeds, so
//! running it again yields the same bytes; CI fails if the committed files differ.
//!
//! Usage: `cargo run --example gen-vectors -- tests/vectors`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::SigningKey;
use p256::ecdsa::signature::Signer as _;
use portcullis::bundle::{self, BundleKeys, BundleSigner, LoadOptions};
use portcullis::keys::{Alg, KeyMaterial, TrustedKey};
use portcullis::mint::{sign_parts, Claims};
use portcullis::model::{Issuer, PolicyData};
use portcullis::{Authorizer, Reason, Request, TokenKind, VerifyOptions};
use rand_chacha::rand_core::SeedableRng;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use sha2::Digest;

const NOW: i64 = 1_780_315_200; // 2026-06-01T12:00:00Z
const ISSUED: i64 = 1_780_272_000; // 2026-06-01T00:00:00Z
const ISS: &str = "https://idp.vectors.example";
const AUD: &str = "https://api.vectors.example";

struct Keys {
    ed: SigningKey,
    es: p256::ecdsa::SigningKey,
    rs: rsa::RsaPrivateKey,
}

impl Keys {
    fn new() -> Self {
        let ed = SigningKey::from_bytes(&seed(b"token-ed25519"));
        let es = p256::ecdsa::SigningKey::from_bytes(&seed(b"token-p256").into()).unwrap();
        let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed(b"token-rsa"));
        let rs = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
        Keys { ed, es, rs }
    }

    fn trusted(&self) -> Vec<TrustedKey> {
        let point = self.es.verifying_key().to_encoded_point(false);
        vec![
            TrustedKey {
                kid: "vec-ed".into(),
                alg: Alg::EdDSA,
                material: KeyMaterial::Ed25519(self.ed.verifying_key().to_bytes()),
            },
            TrustedKey {
                kid: "vec-es".into(),
                alg: Alg::ES256,
                material: KeyMaterial::P256 {
                    x: (*point.x().unwrap()).into(),
                    y: (*point.y().unwrap()).into(),
                },
            },
            TrustedKey {
                kid: "vec-rs".into(),
                alg: Alg::RS256,
                material: KeyMaterial::Rsa {
                    n: self.rs.n().to_bytes_be(),
                    e: self.rs.e().to_bytes_be(),
                },
            },
        ]
    }

    /// Signs `header.payload` with the named algorithm's key.
    fn sign(&self, alg: &str, header: &Value, payload: &Value) -> String {
        let h = serde_json::to_vec(header).unwrap();
        let p = serde_json::to_vec(payload).unwrap();
        if alg == "EdDSA" {
            return sign_parts(&self.ed, &h, &p);
        }
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&h),
            URL_SAFE_NO_PAD.encode(&p)
        );
        let sig = match alg {
            "ES256" => {
                let s: p256::ecdsa::Signature = self.es.sign(input.as_bytes());
                s.to_bytes().to_vec()
            }
            "RS256" => {
                let digest = sha2::Sha256::digest(input.as_bytes());
                self.rs
                    .sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
                    .unwrap()
            }
            other => panic!("no key for {other}"),
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

fn seed(label: &[u8]) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update(b"portcullis test vectors v1/");
    h.update(label);
    h.finalize().into()
}

fn claims(kind: TokenKind, sub: &str, org: &str, env: Option<&str>) -> Value {
    let c = Claims {
        iss: ISS.into(),
        sub: sub.into(),
        aud: AUD.into(),
        exp: NOW + 600,
        iat: NOW - 60,
        nbf: None,
        jti: format!("vec-{sub}-{}", env.unwrap_or("org")),
        org: org.into(),
        env: env.map(str::to_owned),
        client_id: (kind == TokenKind::Service).then(|| sub.to_owned()),
        scope: None,
    };
    serde_json::to_value(c).unwrap()
}

fn header(alg: &str, kind: TokenKind, kid: &str) -> Value {
    json!({ "alg": alg, "typ": kind.typ(), "kid": kid })
}

fn policy() -> Vec<PolicyData> {
    let source =
        std::fs::read("examples/integration-platform.json").expect("run from the repository root");
    let source = portcullis::policy::parse_source(&source).unwrap();
    let mut data = portcullis::policy::compile(&source).unwrap();
    let keys = Keys::new().trusted();
    for d in &mut data {
        d.issuers = vec![Issuer {
            iss: ISS.into(),
            audience: AUD.into(),
            kinds: TokenKind::ALL.to_vec(),
            max_lifetime: 3600,
            leeway: 30,
            keys: keys.clone(),
        }];
    }
    data
}

struct Case {
    name: &'static str,
    bundle: &'static str,
    token: String,
    request: Value,
    expect: Reason,
}

fn request(action: &str, ty: &str, id: Option<&str>, env: Option<&str>) -> Value {
    let mut r = json!({ "action": action, "resource": { "type": ty } });
    if let Some(id) = id {
        r["resource"]["id"] = json!(id);
    }
    if let Some(env) = env {
        r["resource"]["env"] = json!(env);
    }
    r
}

fn cases(k: &Keys) -> Vec<Case> {
    use TokenKind::*;
    let dana = claims(EnvAuth, "dana", "client-a", Some("client-a-dev"));
    let edit_dev = request(
        "workflow:edit",
        "workflow",
        Some("wf-orders"),
        Some("client-a-dev"),
    );
    let mut v = Vec::new();
    let mut add = |name, bundle, token: String, request: &Value, expect| {
        v.push(Case {
            name,
            bundle,
            token,
            request: request.clone(),
            expect,
        });
    };
    for (alg, kid, name) in [
        ("EdDSA", "vec-ed", "EdDSA EnvAuth token, allowed"),
        ("ES256", "vec-es", "ES256 EnvAuth token, allowed"),
        ("RS256", "vec-rs", "RS256 EnvAuth token, allowed"),
    ] {
        add(
            name,
            "client-a",
            k.sign(alg, &header(alg, EnvAuth, kid), &dana),
            &edit_dev,
            Reason::Allowed,
        );
    }
    add(
        "cross environment",
        "client-a",
        k.sign("EdDSA", &header("EdDSA", EnvAuth, "vec-ed"), &dana),
        &request(
            "workflow:read",
            "workflow",
            Some("wf-orders"),
            Some("client-a-prod"),
        ),
        Reason::CrossEnvironment,
    );
    add(
        "cross tenant",
        "client-a",
        k.sign("ES256", &header("ES256", EnvAuth, "vec-es"), &dana),
        &request(
            "workflow:read",
            "workflow",
            Some("wf-1"),
            Some("client-b-dev"),
        ),
        Reason::CrossTenant,
    );
    let adam_prod = claims(EnvAuth, "adam", "client-a", Some("client-a-prod"));
    add(
        "explicit deny beats an administrator's grant",
        "client-a",
        k.sign("RS256", &header("RS256", EnvAuth, "vec-rs"), &adam_prod),
        &request(
            "workflow:edit",
            "workflow",
            Some("wf-orders"),
            Some("client-a-prod"),
        ),
        Reason::ExplicitDeny,
    );
    let adam_org = claims(OrgAuth, "adam", "client-a", None);
    add(
        "OrgAuth on an environment resource",
        "client-a",
        k.sign("EdDSA", &header("EdDSA", OrgAuth, "vec-ed"), &adam_org),
        &request("logs:read", "logs", None, Some("client-a-dev")),
        Reason::EnvTokenRequired,
    );
    add(
        "OrgAuth at org level",
        "client-a",
        k.sign("EdDSA", &header("EdDSA", OrgAuth, "vec-ed"), &adam_org),
        &request("users:manage", "users", None, None),
        Reason::Allowed,
    );
    let svc = claims(Service, "svc-client-a-admin", "client-a", None);
    add(
        "service token",
        "client-a",
        k.sign("ES256", &header("ES256", Service, "vec-es"), &svc),
        &request("users:manage", "users", None, None),
        Reason::Allowed,
    );
    let rick = claims(EnvAuth, "rick", "client-a", Some("client-a-dev"));
    add(
        "disabled member",
        "client-a",
        k.sign("EdDSA", &header("EdDSA", EnvAuth, "vec-ed"), &rick),
        &edit_dev,
        Reason::Revoked,
    );
    let mallory = claims(EnvAuth, "mallory", "client-a", Some("client-a-dev"));
    add(
        "not a member",
        "client-a",
        k.sign("EdDSA", &header("EdDSA", EnvAuth, "vec-ed"), &mallory),
        &edit_dev,
        Reason::NotAMember,
    );
    let mut scoped = dana.clone();
    scoped["scope"] = json!("workflow:read");
    add(
        "outside token scope",
        "client-a",
        k.sign("EdDSA", &header("EdDSA", EnvAuth, "vec-ed"), &scoped),
        &edit_dev,
        Reason::OutsideTokenScope,
    );
    let tess = claims(EnvAuth, "tess", "client-a", Some("client-a-prod"));
    add(
        "no matching grant",
        "client-a",
        k.sign("EdDSA", &header("EdDSA", EnvAuth, "vec-ed"), &tess),
        &request(
            "workflow:read",
            "workflow",
            Some("wf-orders"),
            Some("client-a-prod"),
        ),
        Reason::NoMatchingGrant,
    );
    // Invalid tokens.
    let good = k.sign("EdDSA", &header("EdDSA", EnvAuth, "vec-ed"), &dana);
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let other = k.sign(
        "EdDSA",
        &header("EdDSA", EnvAuth, "vec-ed"),
        &claims(EnvAuth, "adam", "client-a", Some("client-a-dev")),
    );
    parts[2] = other.split('.').nth(2).unwrap().to_owned();
    add(
        "signature of another token",
        "client-a",
        parts.join("."),
        &edit_dev,
        Reason::InvalidToken,
    );
    add(
        "alg none",
        "client-a",
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"envauth+jwt","kid":"vec-ed"}"#),
            good.split('.').nth(1).unwrap()
        ),
        &edit_dev,
        Reason::InvalidToken,
    );
    add(
        "alg not the key's",
        "client-a",
        k.sign("ES256", &header("ES256", EnvAuth, "vec-ed"), &dana),
        &edit_dev,
        Reason::InvalidToken,
    );
    add(
        "OrgAuth typ on EnvAuth claims used as EnvAuth",
        "client-a",
        k.sign("EdDSA", &header("EdDSA", OrgAuth, "vec-ed"), &dana),
        &edit_dev,
        Reason::EnvTokenRequired,
    );
    add(
        "service typ without client_id",
        "client-a",
        k.sign("EdDSA", &header("EdDSA", Service, "vec-ed"), &dana),
        &edit_dev,
        Reason::InvalidToken,
    );
    add(
        "unknown kid",
        "client-a",
        k.sign("EdDSA", &header("EdDSA", EnvAuth, "vec-unknown"), &dana),
        &edit_dev,
        Reason::InvalidToken,
    );
    let mut expired = dana.clone();
    expired["iat"] = json!(NOW - 1200);
    expired["exp"] = json!(NOW - 600);
    add(
        "expired",
        "client-a",
        k.sign("EdDSA", &header("EdDSA", EnvAuth, "vec-ed"), &expired),
        &edit_dev,
        Reason::InvalidToken,
    );
    let mut wrong_aud = dana.clone();
    wrong_aud["aud"] = json!("https://elsewhere.example");
    add(
        "wrong audience",
        "client-a",
        k.sign("EdDSA", &header("EdDSA", EnvAuth, "vec-ed"), &wrong_aud),
        &edit_dev,
        Reason::InvalidToken,
    );
    let mut long = dana.clone();
    long["exp"] = json!(NOW + 7200);
    add(
        "lifetime over the maximum",
        "client-a",
        k.sign("EdDSA", &header("EdDSA", EnvAuth, "vec-ed"), &long),
        &edit_dev,
        Reason::InvalidToken,
    );
    let mut embedded = header("EdDSA", EnvAuth, "vec-ed");
    embedded["jwk"] =
        json!({ "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode([1u8; 32]) });
    add(
        "embedded jwk",
        "client-a",
        k.sign("EdDSA", &embedded, &dana),
        &edit_dev,
        Reason::InvalidToken,
    );
    v
}

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "tests/vectors".into()),
    );
    let keys = Keys::new();
    let signer = BundleSigner::from_seed("vec-bundle", &seed(b"bundle-signing"));
    let mut trusted = BundleKeys::new();
    trusted.add("vec-bundle", &signer.public_key()).unwrap();
    let bundle_jwk = json!({ "kty": "OKP", "crv": "Ed25519", "kid": "vec-bundle", "alg": "EdDSA", "x": URL_SAFE_NO_PAD.encode(signer.public_key()) });

    let data = policy();
    let mut bundles = Vec::new();
    let mut authorizers = Vec::new();
    for d in &data {
        let bytes = bundle::build(d, 7, ISSUED, ISSUED + 30 * 86_400, &signer).unwrap();
        let a = Authorizer::from_bundle(
            &bytes,
            &trusted,
            LoadOptions {
                now: NOW,
                min_version: 0,
            },
        )
        .unwrap();
        bundles
            .push(json!({ "org": d.org, "bytes": bytes.len(), "bundle": STANDARD.encode(&bytes) }));
        authorizers.push(a);
    }
    let mut out = Vec::new();
    for c in cases(&keys) {
        let a = authorizers
            .iter()
            .find(|a| a.policy().org() == c.bundle)
            .unwrap();
        let req: Request = serde_json::from_value(c.request.clone()).unwrap();
        let d = a.authorize(
            &c.token,
            &req,
            &VerifyOptions {
                now: NOW,
                audience: None,
            },
        );
        assert_eq!(d.reason, c.expect, "vector `{}`", c.name);
        out.push(json!({
            "name": c.name,
            "bundle": c.bundle,
            "now": NOW,
            "token": c.token,
            "request": c.request,
            "expect": { "allowed": d.allowed, "reason": d.reason, "rule": d.rule, "detail": d.detail, "bundle_version": d.bundle_version },
        }));
    }
    let decisions = json!({
        "about": "Decisions every front end must reproduce: load each bundle with bundle_keys at `now`, then authorize each token and request.",
        "bundle_keys": { "keys": [bundle_jwk] },
        "bundles": bundles,
        "cases": out,
    });

    // Bundle loading vectors.
    let small = &data[1];
    let good = bundle::build(small, 7, ISSUED, ISSUED + 86_400, &signer).unwrap();
    let other_signer = BundleSigner::from_seed("vec-bundle", &seed(b"not-the-bundle-key"));
    let unknown_signer = BundleSigner::from_seed("vec-unknown", &seed(b"bundle-signing"));
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    let load_cases = vec![
        ("valid", good.clone(), NOW, 0, "ok"),
        (
            "expired",
            good.clone(),
            ISSUED + 86_400,
            0,
            "bundle_expired",
        ),
        (
            "rolled back below the floor",
            good.clone(),
            NOW,
            8,
            "bundle_rollback",
        ),
        ("version equal to the floor", good.clone(), NOW, 7, "ok"),
        (
            "signed by another key under a trusted kid",
            bundle::build(small, 7, ISSUED, ISSUED + 86_400, &other_signer).unwrap(),
            NOW,
            0,
            "bundle_bad_signature",
        ),
        (
            "signed by an untrusted kid",
            bundle::build(small, 7, ISSUED, ISSUED + 86_400, &unknown_signer).unwrap(),
            NOW,
            0,
            "bundle_unknown_key",
        ),
        (
            "one bit flipped in the body",
            flipped,
            NOW,
            0,
            "bundle_bad_signature",
        ),
        (
            "truncated",
            good[..good.len() - 1].to_vec(),
            NOW,
            0,
            "bundle_truncated",
        ),
        (
            "not a bundle",
            b"{\"orgs\":[]}".to_vec(),
            NOW,
            0,
            "bundle_bad_magic",
        ),
    ];
    let mut loads = Vec::new();
    for (name, bytes, now, floor, expect) in load_cases {
        let got = match Authorizer::from_bundle(
            &bytes,
            &trusted,
            LoadOptions {
                now,
                min_version: floor,
            },
        ) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        };
        assert_eq!(got, expect, "bundle vector `{name}`");
        loads.push(json!({ "name": name, "bundle": STANDARD.encode(&bytes), "now": now, "min_version": floor, "expect": expect }));
    }
    let loading = json!({
        "about": "Bundle loads every front end must accept or refuse with the same code.",
        "bundle_keys": { "keys": [decisions["bundle_keys"]["keys"][0].clone()] },
        "cases": loads,
    });
    std::fs::create_dir_all(&dir).unwrap();
    for (file, value) in [("decisions.json", decisions), ("bundles.json", loading)] {
        let text = serde_json::to_string_pretty(&value).unwrap() + "\n";
        std::fs::write(dir.join(file), text).unwrap();
    }
    println!(
        "wrote {}/decisions.json and {}/bundles.json",
        dir.display(),
        dir.display()
    );
}
