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
use portcullis::model::PolicyData;
use portcullis::token::Issuer;
use portcullis::token::{Alg, KeyMaterial, TrustedKey};
use portcullis::tools::mint::{sign_parts, Claims};
use portcullis::{Authorizer, Reason, Request, TokenKind, VerifyOptions};
use rand_chacha::rand_core::SeedableRng;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use sha2::Digest;

/// The vectors' instant: 2026-06-01T12:00:00Z, or the one given with `--at` (for front ends
/// that cannot fake the clock, such as the gateway in workerd).
static NOW_AT: std::sync::OnceLock<i64> = std::sync::OnceLock::new();

#[allow(non_snake_case)]
fn NOW() -> i64 {
    *NOW_AT.get_or_init(|| 1_780_315_200)
}

/// When the vectors' bundles were issued: twelve hours before [`NOW`].
#[allow(non_snake_case)]
fn ISSUED() -> i64 {
    NOW() - 43_200
}
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
        exp: NOW() + 600,
        iat: NOW() - 60,
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
    let source = portcullis::source::parse_source(&source).unwrap();
    let mut data = portcullis::source::compile(&source).unwrap();
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
    expired["iat"] = json!(NOW() - 1200);
    expired["exp"] = json!(NOW() - 600);
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
    long["exp"] = json!(NOW() + 7200);
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

/// Named attacks on the token path. Every one must be refused: `invalid_token` at the core,
/// 401 at the gateway.
fn attacks(k: &Keys) -> Vec<(&'static str, String)> {
    use TokenKind::*;
    let good_claims = claims(EnvAuth, "dana", "client-a", Some("client-a-dev"));
    let good = k.sign("EdDSA", &header("EdDSA", EnvAuth, "vec-ed"), &good_claims);
    let parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let unsigned = |h: Value| format!("{}.{}.", b64(&h), parts[1]);
    let with_header = |edit: &dyn Fn(&mut Value)| {
        let mut h = header("EdDSA", EnvAuth, "vec-ed");
        edit(&mut h);
        k.sign("EdDSA", &h, &good_claims)
    };
    let with_claims = |kind: TokenKind, edit: &dyn Fn(&mut Value)| {
        let mut c = claims(
            kind,
            "dana",
            "client-a",
            if kind == EnvAuth {
                Some("client-a-dev")
            } else {
                None
            },
        );
        edit(&mut c);
        k.sign("EdDSA", &header("EdDSA", kind, "vec-ed"), &c)
    };
    let hmac = |alg: jsonwebtoken::Algorithm, name: &str, secret: &[u8]| {
        let h = json!({ "alg": name, "typ": "envauth+jwt", "kid": "vec-ed" });
        let input = format!("{}.{}", b64(&h), parts[1]);
        let key = jsonwebtoken::EncodingKey::from_secret(secret);
        format!(
            "{input}.{}",
            jsonwebtoken::crypto::sign(input.as_bytes(), &key, alg).unwrap()
        )
    };
    let ed_public = k.ed.verifying_key().to_bytes();
    let mut spki = hex_bytes("302a300506032b6570032100");
    spki.extend_from_slice(&ed_public);
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(&spki)
    );
    let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "kid": "vec-ed", "x": URL_SAFE_NO_PAD.encode(ed_public) }).to_string();
    let es_input = {
        let h = header("ES256", EnvAuth, "vec-es");
        format!("{}.{}", b64(&h), parts[1])
    };
    let es_sig: p256::ecdsa::Signature = k.es.sign(es_input.as_bytes());
    let mut non_canonical = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
    let l = hex_bytes("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = non_canonical[32 + i] as u16 + l[i] as u16 + carry;
        non_canonical[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    let other = k.sign(
        "EdDSA",
        &header("EdDSA", EnvAuth, "vec-ed"),
        &claims(EnvAuth, "olivia", "client-a", Some("client-a-dev")),
    );
    let mut tampered_claims = good_claims.clone();
    tampered_claims["sub"] = json!("olivia");
    let mut tampered_header = header("EdDSA", EnvAuth, "vec-ed");
    tampered_header["kid"] = json!("vec-ed ");
    let mut nested = good_claims.clone();
    nested["x"] = serde_json::from_str(&format!("{}1{}", "[".repeat(20), "]".repeat(20))).unwrap();
    let dup_payload = format!(
        "{{\"iss\":\"{ISS}\",\"sub\":\"dana\",\"sub\":\"olivia\",\"aud\":\"{AUD}\",\"exp\":{},\"iat\":{},\"jti\":\"d\",\"org\":\"client-a\",\"env\":\"client-a-dev\"}}",
        NOW() + 600,
        NOW() - 60
    );
    let dup = sign_parts(
        &k.ed,
        header("EdDSA", EnvAuth, "vec-ed").to_string().as_bytes(),
        dup_payload.as_bytes(),
    );
    let mut big = good_claims.clone();
    big["pad"] = json!("x".repeat(9000));
    let mut v: Vec<(&'static str, String)> = vec![
        (
            "alg none",
            unsigned(json!({ "alg": "none", "typ": "envauth+jwt", "kid": "vec-ed" })),
        ),
        (
            "alg None",
            unsigned(json!({ "alg": "None", "typ": "envauth+jwt", "kid": "vec-ed" })),
        ),
        (
            "alg NONE",
            unsigned(json!({ "alg": "NONE", "typ": "envauth+jwt", "kid": "vec-ed" })),
        ),
        (
            "alg nOnE",
            unsigned(json!({ "alg": "nOnE", "typ": "envauth+jwt", "kid": "vec-ed" })),
        ),
        (
            "HS256 keyed with the public key's bytes",
            hmac(jsonwebtoken::Algorithm::HS256, "HS256", &ed_public),
        ),
        (
            "HS384 keyed with the public key's bytes",
            hmac(jsonwebtoken::Algorithm::HS384, "HS384", &ed_public),
        ),
        (
            "HS256 keyed with the public key's PEM",
            hmac(jsonwebtoken::Algorithm::HS256, "HS256", pem.as_bytes()),
        ),
        (
            "HS256 keyed with the public key's JWK",
            hmac(jsonwebtoken::Algorithm::HS256, "HS256", jwk.as_bytes()),
        ),
        (
            "ES256 header on an Ed25519 kid",
            k.sign("ES256", &header("ES256", EnvAuth, "vec-ed"), &good_claims),
        ),
        (
            "RS256 header on a P-256 kid",
            k.sign("RS256", &header("RS256", EnvAuth, "vec-es"), &good_claims),
        ),
        (
            "EdDSA header on an RSA kid",
            k.sign("EdDSA", &header("EdDSA", EnvAuth, "vec-rs"), &good_claims),
        ),
        (
            "unknown kid",
            with_header(&|h| h["kid"] = json!("vec-missing")),
        ),
        (
            "missing kid",
            with_header(&|h| {
                h.as_object_mut().unwrap().remove("kid");
            }),
        ),
        (
            "path-traversal kid",
            with_header(&|h| h["kid"] = json!("../../../../etc/passwd")),
        ),
        (
            "embedded jwk",
            with_header(&|h| {
                h["jwk"] = json!({ "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode([9u8; 32]) })
            }),
        ),
        (
            "jku",
            with_header(&|h| h["jku"] = json!("https://attacker.example/jwks.json")),
        ),
        (
            "x5u",
            with_header(&|h| h["x5u"] = json!("https://attacker.example/cert.pem")),
        ),
        ("x5c", with_header(&|h| h["x5c"] = json!(["MIIB"]))),
        (
            "missing typ",
            with_header(&|h| {
                h.as_object_mut().unwrap().remove("typ");
            }),
        ),
        ("typ JWT", with_header(&|h| h["typ"] = json!("JWT"))),
        (
            "OrgAuth claims under an EnvAuth typ",
            k.sign(
                "EdDSA",
                &header("EdDSA", EnvAuth, "vec-ed"),
                &claims(OrgAuth, "adam", "client-a", None),
            ),
        ),
        (
            "service claims under an EnvAuth typ",
            k.sign(
                "EdDSA",
                &header("EdDSA", EnvAuth, "vec-ed"),
                &claims(Service, "svc-client-a-admin", "client-a", None),
            ),
        ),
        (
            "EnvAuth claims under a service typ",
            k.sign("EdDSA", &header("EdDSA", Service, "vec-ed"), &good_claims),
        ),
        ("crit", with_header(&|h| h["crit"] = json!(["exp"]))),
        ("zip", with_header(&|h| h["zip"] = json!("DEF"))),
        (
            "PS256",
            k.sign(
                "RS256",
                &json!({ "alg": "PS256", "typ": "envauth+jwt", "kid": "vec-rs" }),
                &good_claims,
            ),
        ),
        (
            "exp beyond the leeway",
            with_claims(EnvAuth, &|c| {
                c["iat"] = json!(NOW() - 1000);
                c["exp"] = json!(NOW() - 31);
            }),
        ),
        (
            "nbf beyond the leeway",
            with_claims(EnvAuth, &|c| c["nbf"] = json!(NOW() + 600)),
        ),
        (
            "iat in the future beyond the leeway",
            with_claims(EnvAuth, &|c| {
                c["iat"] = json!(NOW() + 600);
                c["exp"] = json!(NOW() + 1200);
            }),
        ),
        (
            "lifetime over the maximum",
            with_claims(EnvAuth, &|c| c["exp"] = json!(NOW() + 3601)),
        ),
        (
            "wrong audience",
            with_claims(EnvAuth, &|c| c["aud"] = json!("https://attacker.example")),
        ),
        (
            "wrong issuer",
            with_claims(EnvAuth, &|c| c["iss"] = json!("https://attacker.example")),
        ),
        (
            "psychic ECDSA signature (r = s = 0)",
            format!("{es_input}.{}", URL_SAFE_NO_PAD.encode([0u8; 64])),
        ),
        (
            "DER-encoded ES256 signature",
            format!(
                "{es_input}.{}",
                URL_SAFE_NO_PAD.encode(es_sig.to_der().as_bytes())
            ),
        ),
        (
            "non-canonical Ed25519 S",
            format!(
                "{}.{}.{}",
                parts[0],
                parts[1],
                URL_SAFE_NO_PAD.encode(&non_canonical)
            ),
        ),
        (
            "tampered header",
            format!("{}.{}.{}", b64(&tampered_header), parts[1], parts[2]),
        ),
        (
            "tampered payload",
            format!("{}.{}.{}", parts[0], b64(&tampered_claims), parts[2]),
        ),
        (
            "signature from another token",
            format!(
                "{}.{}.{}",
                parts[0],
                parts[1],
                other.split('.').nth(2).unwrap()
            ),
        ),
        (
            "padding on a segment",
            format!("{}.{}=.{}", parts[0], parts[1], parts[2]),
        ),
        (
            "standard base64 alphabet",
            format!(
                "{}.{}.{}",
                parts[0],
                parts[1],
                parts[2].replace('-', "+").replace('_', "/") + "+"
            ),
        ),
        (
            "whitespace inside",
            format!("{}. {}.{}", parts[0], parts[1], parts[2]),
        ),
        ("extra segment", format!("{good}.{}", parts[2])),
        ("empty signature", format!("{}.{}.", parts[0], parts[1])),
        (
            "oversize token",
            k.sign("EdDSA", &header("EdDSA", EnvAuth, "vec-ed"), &big),
        ),
        (
            "deeply nested payload",
            k.sign("EdDSA", &header("EdDSA", EnvAuth, "vec-ed"), &nested),
        ),
        ("duplicate claim names", dup),
        (
            "non-object payload",
            sign_parts(
                &k.ed,
                header("EdDSA", EnvAuth, "vec-ed").to_string().as_bytes(),
                b"[\"dana\"]",
            ),
        ),
    ];
    for claim in ["iss", "sub", "aud", "exp", "iat", "jti", "org", "env"] {
        let name: &'static str = Box::leak(format!("EnvAuth without `{claim}`").into_boxed_str());
        v.push((
            name,
            with_claims(EnvAuth, &|c| {
                c.as_object_mut().unwrap().remove(claim);
            }),
        ));
    }
    v.push((
        "OrgAuth without `org`",
        with_claims(OrgAuth, &|c| {
            c.as_object_mut().unwrap().remove("org");
        }),
    ));
    v.push((
        "service token without `client_id`",
        with_claims(Service, &|c| {
            c.as_object_mut().unwrap().remove("client_id");
        }),
    ));
    v
}

fn hex_bytes(h: &str) -> Vec<u8> {
    (0..h.len() / 2)
        .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--at") {
        let at: i64 = args
            .get(i + 1)
            .and_then(|t| t.parse().ok())
            .expect("--at takes Unix seconds");
        NOW_AT.set(at).expect("the instant is set once");
        args.drain(i..i + 2);
    }
    let dir = PathBuf::from(
        args.first()
            .cloned()
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
        let bytes = bundle::build(d, 7, ISSUED(), ISSUED() + 30 * 86_400, &signer).unwrap();
        let a = Authorizer::from_bundle(
            &bytes,
            &trusted,
            LoadOptions {
                now: NOW(),
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
                now: NOW(),
                audience: None,
            },
        );
        assert_eq!(d.reason, c.expect, "vector `{}`", c.name);
        out.push(json!({
            "name": c.name,
            "bundle": c.bundle,
            "now": NOW(),
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
    let good = bundle::build(small, 7, ISSUED(), ISSUED() + 86_400, &signer).unwrap();
    let other_signer = BundleSigner::from_seed("vec-bundle", &seed(b"not-the-bundle-key"));
    let unknown_signer = BundleSigner::from_seed("vec-unknown", &seed(b"bundle-signing"));
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    let load_cases = vec![
        ("valid", good.clone(), NOW(), 0, "ok"),
        (
            "expired",
            good.clone(),
            ISSUED() + 86_400,
            0,
            "bundle_expired",
        ),
        (
            "rolled back below the floor",
            good.clone(),
            NOW(),
            8,
            "bundle_rollback",
        ),
        ("version equal to the floor", good.clone(), NOW(), 7, "ok"),
        (
            "signed by another key under a trusted kid",
            bundle::build(small, 7, ISSUED(), ISSUED() + 86_400, &other_signer).unwrap(),
            NOW(),
            0,
            "bundle_bad_signature",
        ),
        (
            "signed by an untrusted kid",
            bundle::build(small, 7, ISSUED(), ISSUED() + 86_400, &unknown_signer).unwrap(),
            NOW(),
            0,
            "bundle_unknown_key",
        ),
        (
            "one bit flipped in the body",
            flipped,
            NOW(),
            0,
            "bundle_bad_signature",
        ),
        (
            "truncated",
            good[..good.len() - 1].to_vec(),
            NOW(),
            0,
            "bundle_truncated",
        ),
        (
            "not a bundle",
            b"{\"orgs\":[]}".to_vec(),
            NOW(),
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
    let request = json!({ "action": "workflow:read", "resource": { "type": "workflow", "id": "wf-orders", "env": "client-a-dev" } });
    let client_a = authorizers
        .iter()
        .find(|a| a.policy().org() == "client-a")
        .unwrap();
    let mut attack_cases = Vec::new();
    for (name, token) in attacks(&keys) {
        let req: Request = serde_json::from_value(request.clone()).unwrap();
        let d = client_a.authorize(
            &token,
            &req,
            &VerifyOptions {
                now: NOW(),
                audience: None,
            },
        );
        assert_eq!(
            d.reason,
            Reason::InvalidToken,
            "attack `{name}` was not refused as invalid_token: {d:?}"
        );
        attack_cases.push(json!({ "name": name, "token": token, "detail": d.detail }));
    }
    let attack_doc = json!({
        "about": "Attacks on the token path, each refused: invalid_token at the core, 401 at the gateway. Bundle: decisions.json's client-a; request: `request`; instant: `now`.",
        "now": NOW(),
        "request": request,
        "cases": attack_cases,
    });
    std::fs::create_dir_all(&dir).unwrap();
    for (file, value) in [
        ("decisions.json", decisions),
        ("bundles.json", loading),
        ("attacks.json", attack_doc),
    ] {
        let text = serde_json::to_string_pretty(&value).unwrap() + "\n";
        std::fs::write(dir.join(file), text).unwrap();
    }
    println!(
        "wrote decisions.json, bundles.json and attacks.json to {}",
        dir.display()
    );
}
