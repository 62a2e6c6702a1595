#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;
use ed25519_dalek::SigningKey;
use portcullis::bundle::{self, BundleSigner};
use portcullis::keys::{Alg, KeyMaterial, TrustedKey};
use portcullis::mint::{mint_eddsa, Claims};
use portcullis::model::{Issuer, PolicyData};

const NOW: i64 = 1_780_315_200;

fn idp() -> SigningKey {
    SigningKey::from_bytes(&[31; 32])
}

fn signer() -> BundleSigner {
    BundleSigner::from_seed("gw", &[32; 32])
}

fn policies() -> Vec<PolicyData> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/integration-platform.json"
    );
    let source = portcullis::policy::parse_source(&std::fs::read(path).unwrap()).unwrap();
    let mut data = portcullis::policy::compile(&source).unwrap();
    for d in &mut data {
        d.issuers = vec![Issuer {
            iss: "iss".into(),
            audience: "aud".into(),
            kinds: TokenKind::ALL.to_vec(),
            max_lifetime: 3600,
            leeway: 0,
            keys: vec![TrustedKey {
                kid: "idp".into(),
                alg: Alg::EdDSA,
                material: KeyMaterial::Ed25519(idp().verifying_key().to_bytes()),
            }],
        }];
    }
    data
}

fn bundle_of(
    org: &str,
    version: u64,
    not_after: i64,
    edit: impl FnOnce(&mut PolicyData),
) -> Vec<u8> {
    let mut d = policies().into_iter().find(|d| d.org == org).unwrap();
    edit(&mut d);
    bundle::build(&d, version, NOW - 100, not_after, &signer()).unwrap()
}

fn gateway() -> Gateway {
    let mut trusted = BundleKeys::new();
    trusted.add("gw", &signer().public_key()).unwrap();
    Gateway::new(Config {
        trusted,
        refresh_seconds: 30,
        max_orgs: 2,
        max_tokens: 3,
        memory_bytes: || Some(65_536),
    })
}

fn token(sub: &str, org: &str, env: Option<&str>, jti: &str) -> String {
    let claims = Claims {
        iss: "iss".into(),
        sub: sub.into(),
        aud: "aud".into(),
        exp: NOW + 600,
        iat: NOW - 10,
        nbf: None,
        jti: jti.into(),
        org: org.into(),
        env: env.map(str::to_owned),
        client_id: None,
        scope: None,
    };
    let kind = if env.is_some() {
        TokenKind::EnvAuth
    } else {
        TokenKind::OrgAuth
    };
    mint_eddsa(&idp(), "idp", kind, &claims)
}

/// Runs one request through the gateway with `kv` as the KV contents.
fn run(
    gw: &mut Gateway,
    kv: &HashMap<String, Vec<u8>>,
    method: &str,
    path: &str,
    auth: Option<&str>,
    now: i64,
) -> Plan {
    let header = auth.map(|t| format!("Bearer {t}"));
    let req = Incoming {
        method,
        host: "api.example",
        path,
        authorization: header.as_deref(),
    };
    match gw.start(&req, now, "d-1") {
        Start::Done(plan) => *plan,
        Start::NeedBundle { org, token } => {
            let authorizer = match gw.bundle_for(&org, now) {
                Lookup::Ready(a) => Some(a),
                Lookup::Fetch => gw.offer_bundle(&org, Ok(kv.get(&bundle_key(&org)).cloned()), now),
            };
            gw.finish(&req, &org, token, authorizer, now, "d-1")
        }
    }
}

fn status(p: &Plan) -> u16 {
    match p {
        Plan::Respond { status, .. } => *status,
        Plan::Forward { .. } => 200,
    }
}

fn reason(p: &Plan) -> String {
    match p {
        Plan::Respond { log, .. } | Plan::Forward { log, .. } => log.reason.clone(),
    }
}

fn kv() -> HashMap<String, Vec<u8>> {
    let mut kv = HashMap::new();
    kv.insert(
        bundle_key("client-a"),
        bundle_of("client-a", 1, NOW + 86_400, |_| {}),
    );
    kv.insert(
        bundle_key("client-b"),
        bundle_of("client-b", 1, NOW + 86_400, |_| {}),
    );
    kv
}

#[test]
fn an_allowed_request_is_forwarded_with_identity_headers() {
    let mut gw = gateway();
    let t = token("dana", "client-a", Some("client-a-dev"), "j1");
    let plan = run(
        &mut gw,
        &kv(),
        "PUT",
        "/v1/envs/client-a-dev/workflows/wf-1",
        Some(&t),
        NOW,
    );
    let Plan::Forward { identity, log } = plan else {
        panic!("{plan:?}")
    };
    let get = |n: &str| {
        identity
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("x-portcullis-principal"), Some("user:dana"));
    assert_eq!(get("x-portcullis-org"), Some("client-a"));
    assert_eq!(get("x-portcullis-env"), Some("client-a-dev"));
    assert_eq!(get("x-portcullis-decision"), Some("d-1"));
    assert_eq!(get("x-portcullis-bundle-version"), Some("1"));
    assert_eq!(
        (
            log.action.as_deref(),
            log.resource.as_deref(),
            log.rule.as_deref()
        ),
        (
            Some("workflow:edit"),
            Some("workflow/wf-1"),
            Some("dana:integration_developer@client-a-dev")
        )
    );
    let line = serde_json::to_string(&log).unwrap();
    assert!(!line.contains(&t[..20]), "the log never holds the token");
}

#[test]
fn an_identity_that_cannot_be_forwarded_as_written_fails_closed() {
    for sub in ["dané", "dana ", "tab\there"] {
        let mut gw = gateway();
        let mut kv = kv();
        kv.insert(
            bundle_key("client-a"),
            bundle_of("client-a", 1, NOW + 86_400, |d| {
                for m in d.members.iter_mut().filter(|m| m.id == "dana") {
                    m.id = sub.into();
                }
            }),
        );
        let t = token(sub, "client-a", Some("client-a-dev"), "j1");
        let plan = run(
            &mut gw,
            &kv,
            "GET",
            "/v1/envs/client-a-dev/workflows/wf-1",
            Some(&t),
            NOW,
        );
        assert_eq!(
            (status(&plan), reason(&plan)),
            (502, "identity_not_forwardable".into()),
            "{sub:?}"
        );
    }
    assert!(forwardable_value("user:dana@example.com"));
    assert!(!forwardable_value(" user:dana"));
}

#[test]
fn denials_and_gateway_conditions_map_to_statuses() {
    let mut gw = gateway();
    let kv = kv();
    let dana = token("dana", "client-a", Some("client-a-dev"), "j1");
    let cases = [
        (
            "GET",
            "/v1/envs/client-a-prod/workflows/wf-1",
            Some(dana.as_str()),
            403,
            "cross_environment",
        ),
        (
            "GET",
            "/v1/envs/client-b-dev/workflows/wf-1",
            Some(dana.as_str()),
            403,
            "cross_tenant",
        ),
        (
            "GET",
            "/v1/envs/client-a-dev/nothing-here",
            Some(dana.as_str()),
            404,
            "no_route",
        ),
        (
            "GET",
            "/v1/envs/client-a-dev/workflows/wf-1",
            None,
            401,
            "invalid_token",
        ),
        (
            "GET",
            "/v1/envs/client-a-dev/workflows/wf-1",
            Some("not.a.token"),
            401,
            "invalid_token",
        ),
        (
            "GET",
            "/v1/dashboard",
            Some(dana.as_str()),
            403,
            "cross_environment",
        ),
    ];
    for (method, path, auth, want_status, want_reason) in cases {
        let p = run(&mut gw, &kv, method, path, auth, NOW);
        assert_eq!(
            (status(&p), reason(&p).as_str()),
            (want_status, want_reason),
            "{method} {path}"
        );
    }
    let adam = token("adam", "client-a", Some("client-a-prod"), "j2");
    let p = run(
        &mut gw,
        &kv,
        "PUT",
        "/v1/envs/client-a-prod/workflows/wf-1",
        Some(&adam),
        NOW,
    );
    let Plan::Respond {
        status: 403, body, ..
    } = p
    else {
        panic!()
    };
    assert_eq!(
        body,
        json!({ "error": "forbidden", "reason": "explicit_deny", "decision_id": "d-1", "bundle_version": 1 })
    );
    let p = run(
        &mut gw,
        &kv,
        "GET",
        "/v1/envs/client-a-dev/workflows/wf-1",
        None,
        NOW,
    );
    let Plan::Respond { headers, body, .. } = p else {
        panic!()
    };
    assert_eq!(headers[0].0, "www-authenticate");
    assert!(headers[0].1.starts_with("Bearer error=\"invalid_token\""));
    assert_eq!(body["error"], "invalid_token");
}

#[test]
fn no_bundle_or_a_corrupt_one_fails_closed() {
    let mut gw = gateway();
    let t = token("olga", "client-z", None, "j1");
    let p = run(&mut gw, &kv(), "GET", "/v1/dashboard", Some(&t), NOW);
    assert_eq!(status(&p), 503);
    let mut corrupt = kv();
    let bytes = corrupt.get_mut(&bundle_key("client-a")).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    let dana = token("dana", "client-a", Some("client-a-dev"), "j1");
    assert_eq!(
        status(&run(
            &mut gw,
            &corrupt,
            "GET",
            "/v1/envs/client-a-dev/workflows/wf-1",
            Some(&dana),
            NOW
        )),
        503
    );
}

#[test]
fn bundles_refresh_never_roll_back_and_never_outlive_their_expiry() {
    let mut gw = gateway();
    let mut kv = kv();
    let dana = token("dana", "client-a", Some("client-a-dev"), "j1");
    let path = "/v1/envs/client-a-dev/workflows/wf-1";
    assert_eq!(
        status(&run(&mut gw, &kv, "GET", path, Some(&dana), NOW)),
        200
    );

    // Version 2 revokes Dana's token: seen once the refresh interval has passed.
    kv.insert(
        bundle_key("client-a"),
        bundle_of("client-a", 2, NOW + 86_400, |d| {
            d.revocations.token_ids.push("j1".into())
        }),
    );
    assert_eq!(
        status(&run(&mut gw, &kv, "GET", path, Some(&dana), NOW + 10)),
        200,
        "within the refresh interval"
    );
    let p = run(&mut gw, &kv, "GET", path, Some(&dana), NOW + 31);
    assert_eq!((status(&p), reason(&p).as_str()), (403, "revoked"));

    // An older bundle is never taken back, a corrupt one never replaces the good one.
    kv.insert(
        bundle_key("client-a"),
        bundle_of("client-a", 1, NOW + 86_400, |_| {}),
    );
    assert_eq!(
        reason(&run(&mut gw, &kv, "GET", path, Some(&dana), NOW + 62)),
        "revoked"
    );
    kv.insert(bundle_key("client-a"), b"garbage".to_vec());
    assert_eq!(
        reason(&run(&mut gw, &kv, "GET", path, Some(&dana), NOW + 93)),
        "revoked"
    );
    assert_eq!(
        gw.health(NOW + 93)["bundles"][0]["last_refresh_error"],
        "bundle_bad_magic"
    );
    kv.remove(&bundle_key("client-a"));
    assert_eq!(
        reason(&run(&mut gw, &kv, "GET", path, Some(&dana), NOW + 124)),
        "revoked",
        "KV empty: keep the good one"
    );

    // When the good one expires, requests for that org get 503.
    let mut gw = gateway();
    let mut kv = self::kv();
    kv.insert(
        bundle_key("client-a"),
        bundle_of("client-a", 5, NOW + 100, |_| {}),
    );
    let t = token("dana", "client-a", Some("client-a-dev"), "j9");
    assert_eq!(status(&run(&mut gw, &kv, "GET", path, Some(&t), NOW)), 200);
    kv.insert(bundle_key("client-a"), b"garbage".to_vec());
    assert_eq!(
        status(&run(&mut gw, &kv, "GET", path, Some(&t), NOW + 100)),
        503
    );
}

#[test]
fn caches_are_bounded() {
    let mut gw = gateway();
    let kv = kv();
    for i in 0..10 {
        let t = token("dana", "client-a", Some("client-a-dev"), &format!("j{i}"));
        assert_eq!(
            status(&run(
                &mut gw,
                &kv,
                "GET",
                "/v1/envs/client-a-dev/workflows/wf-1",
                Some(&t),
                NOW
            )),
            200
        );
    }
    assert!(gw.cached_tokens() <= 3);
    let b = token("bea", "client-b", Some("client-b-dev"), "b1");
    assert_eq!(
        status(&run(
            &mut gw,
            &kv,
            "GET",
            "/v1/envs/client-b-dev/workflows/wf-1",
            Some(&b),
            NOW
        )),
        200
    );
    assert_eq!(gw.cached_bundles(), 2);
    let z = token("zed", "client-z", None, "z1");
    run(&mut gw, &kv, "GET", "/v1/dashboard", Some(&z), NOW);
    assert!(gw.cached_bundles() <= 2);
}

#[test]
fn me_and_health_answer_without_a_route() {
    let mut gw = gateway();
    let kv = kv();
    let dana = token("dana", "client-a", Some("client-a-dev"), "j1");
    let p = run(&mut gw, &kv, "GET", ME_PATH, Some(&dana), NOW);
    let Plan::Respond {
        status: 200, body, ..
    } = p
    else {
        panic!("{p:?}")
    };
    assert_eq!(body["env"], "client-a-dev");
    assert!(body["permissions"]
        .as_array()
        .unwrap()
        .contains(&json!("workflow:edit")));
    let p = run(&mut gw, &kv, "GET", HEALTH_PATH, None, NOW);
    let Plan::Respond {
        status: 200, body, ..
    } = p
    else {
        panic!()
    };
    assert_eq!(body["bundles"][0]["org"], "client-a");
    assert_eq!(body["bundles"][0]["version"], 1);
    assert_eq!(body["memory_bytes"], 65_536);
}

#[test]
fn client_identity_headers_and_hop_by_hop_headers_are_not_forwarded() {
    for h in [
        "X-Portcullis-Principal",
        "x-portcullis-anything",
        "Connection",
        "Transfer-Encoding",
        "Upgrade",
        "Host",
    ] {
        assert!(!forwardable(h), "{h}");
    }
    for h in ["content-type", "authorization", "x-request-id", "accept"] {
        assert!(forwardable(h), "{h}");
    }
    assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
    assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
    assert_eq!(bearer(Some("Basic abc")), None);
    assert_eq!(bearer(Some("Bearer ")), None);
}

#[test]
fn a_verified_token_is_reused_until_it_expires() {
    let mut gw = gateway();
    let kv = kv();
    let dana = token("dana", "client-a", Some("client-a-dev"), "j1");
    let path = "/v1/envs/client-a-dev/workflows/wf-1";
    for now in [NOW, NOW + 60, NOW + 599] {
        assert_eq!(
            status(&run(&mut gw, &kv, "GET", path, Some(&dana), now)),
            200
        );
        assert_eq!(
            gw.cached_tokens(),
            1,
            "verified once, then taken from the cache"
        );
    }
    let p = run(&mut gw, &kv, "GET", path, Some(&dana), NOW + 4_200);
    assert_eq!((status(&p), reason(&p).as_str()), (401, "invalid_token"));
    match p {
        Plan::Respond { headers, .. } => assert!(
            headers.iter().any(|(_, v)| v.contains("token_expired")),
            "{headers:?}"
        ),
        other => panic!("{other:?}"),
    }
}
