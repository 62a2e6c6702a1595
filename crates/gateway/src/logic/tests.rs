#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;
use ed25519_dalek::SigningKey;
use portcullis::bundle::{self, BundleSigner};
use portcullis::model::PolicyData;
use portcullis::tools::mint::{mint_eddsa, Claims};
use portcullis_testkit::{claims, issuer, signing_key, NOW};

fn idp() -> SigningKey {
    signing_key(31)
}

fn signer() -> BundleSigner {
    BundleSigner::from_seed("gw", &[32; 32])
}

fn policies() -> Vec<PolicyData> {
    let path = portcullis_testkit::example_path("integration-platform");
    // The example, with an id-scoped deny (nobody edits or reads the payroll workflow in
    // client-a-dev) and an id pattern on the bundle route.
    let mut json: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    json["orgs"][0]["overrides"].as_array_mut().unwrap().push(json!({
        "id": "payroll-frozen", "effect": "deny", "permissions": ["workflow:edit", "workflow:read"],
        "everyone": true, "env": "client-a-dev", "resource": { "type": "workflow", "id": "wf-payroll" },
    }));
    for route in json["routes"].as_array_mut().unwrap() {
        if route["id"] == "deploy-bundle" {
            route["id_pattern"] = json!("[a-z0-9-]{1,32}");
        }
    }
    let source = portcullis::source::parse_source(&serde_json::to_vec(&json).unwrap()).unwrap();
    let mut data = portcullis::source::compile(&source).unwrap();
    for d in &mut data {
        d.issuers = vec![issuer("iss", "aud", "idp", &idp(), 0)];
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
        headers: HeaderRules {
            set_forwarded: true,
            ..HeaderRules::default()
        },
        operator_secret: Some(secret_digest("operator-secret")),
    })
}

fn token(sub: &str, org: &str, env: Option<&str>, jti: &str) -> String {
    let kind = if env.is_some() {
        TokenKind::EnvAuth
    } else {
        TokenKind::OrgAuth
    };
    let claims = Claims {
        jti: jti.into(),
        ..claims(kind, "iss", "aud", sub, org, env)
    };
    mint_eddsa(&idp(), "idp", kind, &claims)
}

/// Runs one request through the gateway with `kv` as the KV contents. `target` is the path
/// and query as received.
fn run(
    gw: &mut Gateway,
    kv: &HashMap<String, Vec<u8>>,
    method: &str,
    target: &str,
    auth: Option<&str>,
    now: i64,
) -> Plan {
    run_with(gw, kv, method, target, auth, &[], None, now)
}

// Counts the KV reads of `run_with`, per test thread.
thread_local! {
    static KV_READS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// [`run`] with the client's header names and `Connection` header.
#[allow(clippy::too_many_arguments)]
fn run_with(
    gw: &mut Gateway,
    kv: &HashMap<String, Vec<u8>>,
    method: &str,
    target: &str,
    auth: Option<&str>,
    header_names: &[&str],
    connection: Option<&str>,
    now: i64,
) -> Plan {
    let header = auth.map(|t| format!("Bearer {t}"));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let names = header_names.join("\0");
    let req = Incoming {
        method,
        host: "api.example",
        scheme: "https",
        path,
        query,
        authorization: header.as_deref(),
        header_names: &names,
        connection,
    };
    match gw.start(&req, now, "d-1") {
        Start::Done(plan) => *plan,
        Start::NeedBundle {
            org,
            token,
            request,
        } => {
            let available = match gw.bundle_for(&org, now) {
                Lookup::Ready(a) => Available::Ready(a),
                Lookup::Unknown => Available::Unknown,
                Lookup::Fetch => {
                    KV_READS.with(|n| n.set(n.get() + 1));
                    gw.offer_bundle(&org, Ok(kv.get(&bundle_key(&org)).cloned()), now)
                }
            };
            gw.finish(&req, *request, &org, token, available, now, "d-1")
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
    let Plan::Forward {
        method,
        target,
        drop,
        identity,
        log,
    } = plan
    else {
        panic!("{plan:?}")
    };
    assert_eq!(
        (method.as_str(), target.as_str()),
        ("PUT", "/v1/envs/client-a-dev/workflows/wf-1")
    );
    assert!(drop.is_empty());
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
        get("x-portcullis-resource"),
        Some("type=workflow;id=wf-1;env=client-a-dev")
    );
    assert_eq!(get("forwarded"), Some("host=\"api.example\";proto=https"));
    assert_eq!(get("x-forwarded-host"), Some("api.example"));
    assert_eq!(get("x-forwarded-proto"), Some("https"));
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
    let mut kv_down = kv();
    kv_down.insert(bundle_key("client-a"), b"garbage".to_vec());
    let dana = token("dana", "client-a", Some("client-a-dev"), "j0");
    let p = run(&mut gw, &kv_down, "GET", "/v1/dashboard", Some(&dana), NOW);
    assert_eq!((status(&p), reason(&p).as_str()), (503, "no_bundle"));
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
    let p = run(
        &mut gw,
        &kv,
        "GET",
        HEALTH_PATH,
        Some("operator-secret"),
        NOW,
    );
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
fn health_names_no_organization_without_the_operator_secret() {
    let mut gw = gateway();
    let kv = kv();
    let dana = token("dana", "client-a", Some("client-a-dev"), "j1");
    run(
        &mut gw,
        &kv,
        "GET",
        "/v1/envs/client-a-dev/workflows/wf-1",
        Some(&dana),
        NOW,
    );
    for auth in [
        None,
        Some("wrong-secret"),
        Some("operator-secre"),
        Some(dana.as_str()),
    ] {
        let p = run(&mut gw, &kv, "GET", HEALTH_PATH, auth, NOW);
        let Plan::Respond {
            status: 200, body, ..
        } = p
        else {
            panic!("{p:?}")
        };
        assert_eq!(
            body,
            json!({
                "status": "ok", "organizations": 1, "usable": 1, "refresh_errors": 0,
                "last_refresh_error": null, "cached_tokens": 1, "memory_bytes": 65_536,
            }),
            "{auth:?}"
        );
        assert!(!body.to_string().contains("client-a"));
    }
    // Any spelling of the path that decodes to it is the same endpoint.
    let p = run(&mut gw, &kv, "GET", "/_portcullis/%68ealth", None, NOW);
    assert_eq!(reason(&p), "health");
}

#[test]
fn an_unknown_organization_is_answered_like_a_bad_token_and_not_read_again() {
    let mut gw = gateway();
    let kv = kv();
    // A token for a known organization that none of its keys signed…
    let other_idp = SigningKey::from_bytes(&[77; 32]);
    let claims = |org: &str| Claims {
        jti: "m1".into(),
        ..claims(TokenKind::OrgAuth, "iss", "aud", "mallory", org, None)
    };
    let known = mint_eddsa(
        &other_idp,
        "forged",
        TokenKind::OrgAuth,
        &claims("client-a"),
    );
    let unknown = mint_eddsa(
        &other_idp,
        "forged",
        TokenKind::OrgAuth,
        &claims("client-zz"),
    );
    let answer = |p: Plan| match p {
        Plan::Respond {
            status,
            body,
            headers,
            ..
        } => (status, body, headers),
        other => panic!("{other:?}"),
    };
    let (s1, b1, h1) = answer(run(&mut gw, &kv, "GET", "/v1/dashboard", Some(&known), NOW));
    let (s2, b2, h2) = answer(run(
        &mut gw,
        &kv,
        "GET",
        "/v1/dashboard",
        Some(&unknown),
        NOW,
    ));
    // …and one for an organization that does not exist get the same answer.
    assert_eq!((s1, &b1, &h1), (401, &b2, &h2));
    assert_eq!(s2, 401);
    assert_eq!(b1["reason"], "token_unknown_kid");
    // The next requests for invented organizations cost no KV read within the interval.
    let before = KV_READS.with(std::cell::Cell::get);
    for _ in 0..5 {
        let (s, _, _) = answer(run(
            &mut gw,
            &kv,
            "GET",
            "/v1/dashboard",
            Some(&unknown),
            NOW + 1,
        ));
        assert_eq!(s, 401);
    }
    assert_eq!(KV_READS.with(std::cell::Cell::get), before);
    assert_eq!(gw.unknown_orgs(), 1);
    // Past the interval KV is read again: a bundle published meanwhile is found.
    let mut later = kv.clone();
    later.insert(bundle_key("client-zz"), kv[&bundle_key("client-b")].clone());
    let p = run(
        &mut gw,
        &later,
        "GET",
        "/v1/dashboard",
        Some(&unknown),
        NOW + 31,
    );
    assert_eq!(
        status(&p),
        503,
        "client-b's bundle under client-zz's key is refused"
    );
    // The negative cache is bounded.
    for i in 0..(MAX_UNKNOWN_ORGS + 10) {
        let t = mint_eddsa(
            &other_idp,
            "forged",
            TokenKind::OrgAuth,
            &claims(&format!("o{i}")),
        );
        run(&mut gw, &kv, "GET", "/v1/dashboard", Some(&t), NOW + 40);
    }
    assert!(gw.unknown_orgs() <= MAX_UNKNOWN_ORGS);
}

#[test]
fn bearer_tokens_are_read_from_the_authorization_header() {
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

/// What a forwarded request decided: status, and for a forward, method, target, the resource
/// header and the environment header.
fn decided(p: &Plan) -> (u16, String, Option<(String, String, String)>) {
    match p {
        Plan::Forward {
            method,
            target,
            identity,
            log,
            ..
        } => {
            let get = |n: &str| {
                identity
                    .iter()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            (
                200,
                log.reason.clone(),
                Some((
                    format!("{method} {target}"),
                    get("x-portcullis-resource"),
                    get("x-portcullis-env"),
                )),
            )
        }
        Plan::Respond { status, log, .. } => (*status, log.reason.clone(), None),
    }
}

#[test]
fn encoded_separators_and_dot_segments_are_refused_before_anything_is_decided() {
    let mut gw = gateway();
    let kv = kv();
    let dana = token("dana", "client-a", Some("client-a-dev"), "j1");
    for path in [
        "/v1/envs/client-a-dev/workflows/x%2F..%2F..%2F..%2Fclient-a-prod%2Fworkflows%2Fwf-orders",
        "/v1/envs/client-a-dev/workflows/x%2f..%2f..%2f..%2fclient-a-prod%2fworkflows%2fwf-orders",
        "/v1/envs/client-a-dev/workflows/x%5C..%5C..%5Cclient-a-prod",
        "/v1/envs/client-a-dev/workflows/%2e%2e%2f%2e%2e%2fclient-a-prod",
        "/v1/envs/client-a-dev/workflows/x%252F..%252Fwf-payroll",
        "/v1/envs/client-a-dev/workflows/%2e%2e",
        "/v1/envs/client-a-dev/workflows/.",
        "/v1/envs/client-a-dev/workflows/wf-payroll%00",
        "/v1/envs/client-a-dev/workflows/wf%0d%0apayroll",
        "/v1/envs/client-a-dev/workflows/wf-%ff",
        "/v1/envs/client-a-dev/workflows/wf-%zz",
        "/v1/envs/client-a-dev/workflows/wf-%2",
        "/v1/envs/client-a-dev/workflows/a\\b",
        "/v1/envs/client-a-dev/workflows/wf%C2%85x",
    ] {
        for method in ["GET", "PUT"] {
            let p = run(&mut gw, &kv, method, path, Some(&dana), NOW);
            let Plan::Respond { status, body, .. } = &p else {
                panic!("{method} {path}: forwarded {p:?}")
            };
            assert_eq!(
                (*status, body["reason"].as_str()),
                (400, Some("ambiguous_path")),
                "{method} {path}"
            );
            assert_eq!(reason(&p), "ambiguous_path", "logged as a decision");
        }
    }
    // Refused before the token is looked at: the same answer without one.
    let p = run(&mut gw, &kv, "GET", "/v1/envs/x%2F../logs", None, NOW);
    assert_eq!(status(&p), 400);
    let long = format!("/v1/{}", "a".repeat(portcullis::model::MAX_PATH_BYTES));
    let p = run(&mut gw, &kv, "GET", &long, Some(&dana), NOW);
    assert_eq!((status(&p), reason(&p).as_str()), (414, "path_too_long"));
}

#[test]
fn ids_and_environments_are_decided_decoded_and_forwarded_canonically() {
    let mut gw = gateway();
    let kv = kv();
    let dana = token("dana", "client-a", Some("client-a-dev"), "j1");
    // Every spelling of the payroll workflow is the payroll workflow: denied.
    for path in [
        "/v1/envs/client-a-dev/workflows/wf-payroll",
        "/v1/envs/client-a-dev/workflows/wf-payrol%6C",
        "/v1/envs/client-a-dev/workflows/wf-payrol%6c",
        "/v1/envs/client-a-dev/workflows/%77f-payroll",
        "/v1/envs/client-a-d%65v/workflows/%77%66%2D%70%61%79%72%6F%6C%6C",
    ] {
        let p = run(&mut gw, &kv, "PUT", path, Some(&dana), NOW);
        assert_eq!(
            (status(&p), reason(&p).as_str()),
            (403, "explicit_deny"),
            "{path}"
        );
    }
    // Near twins that origins may read as the same id are refused.
    for (path, detail) in [
        (
            "/v1/envs/client-a-dev/workflows/wf-payroll%20",
            "id_whitespace",
        ),
        (
            "/v1/envs/client-a-dev/workflows/%20wf-payroll",
            "id_whitespace",
        ),
        (
            "/v1/envs/client-a-dev/workflows/wf-payroll%C2%A0",
            "id_whitespace",
        ),
        (
            "/v1/envs/client-a-dev/workflows/wf-payroll;x",
            "id_parameter",
        ),
        (
            "/v1/envs/client-a-dev/workflows/wf-payroll%3Bjsessionid=1",
            "id_parameter",
        ),
        ("/v1/envs/client-a-dev/workflows/cafe%CC%81", "id_not_nfc"),
        ("/v1/envs/client-a-dev/bundles/B-1/deploy", "id_pattern"),
        ("/v1/envs/client-a-dev/bundles/b_1/deploy", "id_pattern"),
    ] {
        let method = if path.contains("bundles") {
            "POST"
        } else {
            "PUT"
        };
        let p = run(&mut gw, &kv, method, path, Some(&dana), NOW);
        let Plan::Respond { status, body, .. } = &p else {
            panic!("{path}: forwarded {p:?}")
        };
        assert_eq!(
            (*status, body["reason"].as_str(), body["detail"].as_str()),
            (400, Some("invalid_id"), Some(detail)),
            "{path}"
        );
    }
    // An allowed request is forwarded as the one spelling of what was decided.
    for (path, target, resource) in [
        (
            "/v1/envs/client-a-d%65v/workflows/wf-%6Frders?dryRun=1&x=%2F",
            "GET /v1/envs/client-a-dev/workflows/wf-orders?dryRun=1&x=%2F",
            "type=workflow;id=wf-orders;env=client-a-dev",
        ),
        (
            "/v1/envs/client-a-dev/workflows/caf%C3%A9",
            "GET /v1/envs/client-a-dev/workflows/caf%C3%A9",
            "type=workflow;id=caf%C3%A9;env=client-a-dev",
        ),
        (
            "/v1/envs/client-a-dev/workflows/a%3Ab@c+d=e",
            "GET /v1/envs/client-a-dev/workflows/a:b@c+d=e",
            "type=workflow;id=a%3Ab%40c%2Bd%3De;env=client-a-dev",
        ),
        (
            "/v1/envs/client-a-dev/workflows/%5Bx%5D%20y",
            "GET /v1/envs/client-a-dev/workflows/%5Bx%5D%20y",
            "type=workflow;id=%5Bx%5D%20y;env=client-a-dev",
        ),
    ] {
        let p = run(&mut gw, &kv, "get", path, Some(&dana), NOW);
        let (status, _, forwarded) = decided(&p);
        assert_eq!(status, 200, "{path}: {p:?}");
        let (sent, resource_header, env) = forwarded.unwrap();
        assert_eq!(
            (sent.as_str(), resource_header.as_str(), env.as_str()),
            (target, resource, "client-a-dev"),
            "{path}"
        );
    }
}

#[test]
fn client_headers_that_origins_trust_never_reach_them() {
    let mut gw = gateway();
    let kv = kv();
    let dana = token("dana", "client-a", Some("client-a-dev"), "j1");
    let path = "/v1/envs/client-a-dev/workflows/wf-1";
    let mut dropped = |names: &[&str], connection: Option<&str>| match run_with(
        &mut gw,
        &kv,
        "GET",
        path,
        Some(&dana),
        names,
        connection,
        NOW,
    ) {
        Plan::Forward { drop, .. } => drop,
        other => panic!("{other:?}"),
    };
    // Identity, routing, method-override and hop-by-hop headers are dropped.
    let sent = [
        "authorization",
        "x-portcullis-env",
        "X-Portcullis-Org",
        "forwarded",
        "x-forwarded-host",
        "x-forwarded-user",
        "x-user",
        "x-remote-user",
        "remote-user",
        "x-auth-request-user",
        "x-original-url",
        "x-rewrite-url",
        "x-http-method-override",
        "x-method-override",
        "x-http-method",
        "connection",
        "transfer-encoding",
        "upgrade",
        "host",
        "accept",
        "x-request-id",
        "x-forwarded-for",
    ];
    let drop = dropped(&sent, None);
    for kept in ["authorization", "accept", "x-request-id", "x-forwarded-for"] {
        assert!(!drop.iter().any(|d| d == kept), "{kept} must be forwarded");
    }
    assert_eq!(drop.len(), sent.len() - 4, "{drop:?}");
    // `Connection` cannot take away what the origin needs.
    let drop = dropped(
        &[
            "authorization",
            "x-forwarded-for",
            "cf-connecting-ip",
            "cookie",
            "x-trace",
            "connection",
        ],
        Some("authorization, X-Forwarded-For ,cf-connecting-ip,cookie, x-trace"),
    );
    assert_eq!(drop, vec!["x-trace".to_owned(), "connection".to_owned()]);
    // A header name with `_` is refused: some servers read it as `-`.
    for name in [
        "x_portcullis_env",
        "X_Portcullis-Org",
        "x_forwarded_user",
        "my_header",
    ] {
        let p = run_with(&mut gw, &kv, "GET", path, Some(&dana), &[name], None, NOW);
        let Plan::Respond { status, body, .. } = &p else {
            panic!("{name}: {p:?}")
        };
        assert_eq!(
            (*status, body["reason"].as_str()),
            (400, Some("ambiguous_header")),
            "{name}"
        );
    }
    // …unless allowed, and then every spelling of the gateway's own prefix is still dropped.
    let mut open = gateway();
    open.config.headers = HeaderRules::from_settings(Some("x-user"), Some("true"), None);
    let p = run_with(
        &mut open,
        &kv,
        "GET",
        path,
        Some(&dana),
        &[
            "x_portcullis_env",
            "my_header",
            "x_user",
            "x-forwarded-user",
        ],
        None,
        NOW,
    );
    let Plan::Forward { drop, .. } = p else {
        panic!("{p:?}")
    };
    assert_eq!(
        drop,
        vec!["x_portcullis_env".to_owned(), "x_user".to_owned()]
    );
}

#[test]
fn method_override_never_reaches_the_origin() {
    let mut gw = gateway();
    let kv = kv();
    let dana = token("dana", "client-a", Some("client-a-dev"), "j1");
    for query in [
        "_method=DELETE",
        "a=1&_method=PUT",
        "%5Fmethod=PUT",
        "_METHOD=put",
        "_method",
        "x-http-method-override=PUT",
        "X_HTTP_METHOD_OVERRIDE=PUT",
    ] {
        let target = format!("/v1/envs/client-a-dev/workflows/wf-1?{query}");
        let p = run(&mut gw, &kv, "GET", &target, Some(&dana), NOW);
        assert_eq!(
            (status(&p), reason(&p).as_str()),
            (400, "method_override"),
            "{query}"
        );
    }
    let p = run(
        &mut gw,
        &kv,
        "GET",
        "/v1/envs/client-a-dev/workflows/wf-1?method=x&a_method=y",
        Some(&dana),
        NOW,
    );
    assert_eq!(status(&p), 200);
    // The method forwarded is the one decided, in upper case.
    let (_, _, forwarded) = decided(&run(
        &mut gw,
        &kv,
        "put",
        "/v1/envs/client-a-dev/workflows/wf-1",
        Some(&dana),
        NOW,
    ));
    assert!(forwarded.unwrap().0.starts_with("PUT /"));
}

#[test]
fn a_token_error_names_its_claim_in_the_answer_and_the_log() {
    let mut gw = gateway();
    let kv = kv();
    let claims = Claims {
        jti: "j1".into(),
        ..claims(TokenKind::OrgAuth, "iss", "aud", "dana", "client-a", None)
    };
    // An EnvAuth token without `env`.
    let t = mint_eddsa(&idp(), "idp", TokenKind::EnvAuth, &claims);
    let p = run(&mut gw, &kv, "GET", "/v1/dashboard", Some(&t), NOW);
    let Plan::Respond {
        status: 401,
        body,
        log,
        ..
    } = p
    else {
        panic!("{p:?}")
    };
    assert_eq!(
        (body["reason"].as_str(), body["detail"].as_str()),
        (Some("token_missing_claim"), Some("env"))
    );
    assert_eq!(log.detail.as_deref(), Some("env"));
    assert!(serde_json::to_string(&log)
        .unwrap()
        .contains(r#""detail":"env""#));
    // An empty signature says so before a bundle is read.
    let (head, _) = t.rsplit_once('.').unwrap();
    let p = run(
        &mut gw,
        &kv,
        "GET",
        "/v1/dashboard",
        Some(&format!("{head}.")),
        NOW,
    );
    let Plan::Respond { body, .. } = p else {
        panic!()
    };
    assert_eq!(
        (body["reason"].as_str(), body["detail"].as_str()),
        (Some("token_malformed"), Some("empty_signature"))
    );
    // Lines without a detail leave the field out.
    let dana = token("dana", "client-a", Some("client-a-dev"), "j2");
    let p = run(
        &mut gw,
        &kv,
        "GET",
        "/v1/envs/client-a-dev/workflows/wf-1",
        Some(&dana),
        NOW,
    );
    let Plan::Forward { log, .. } = p else {
        panic!()
    };
    assert!(!serde_json::to_string(&log).unwrap().contains("detail"));
}

#[test]
fn authzen_paths_are_the_api_and_the_metadata_only() {
    use crate::logic::is_authzen_path;
    for path in [
        "/access/v1/evaluation",
        "/access/v1/search/subject",
        "/tenants/acme/access/v1/evaluations",
        "/.well-known/authzen-configuration",
        "/.well-known/authzen-configuration/acme",
    ] {
        assert!(is_authzen_path(path), "{path}");
    }
    for path in [
        "/access/v2/evaluation",
        "/tenants//access/v1/evaluation",
        "/tenants/a/b/access/v1/evaluation",
        "/v1/envs/x/access/v1/evaluation",
        "/.well-known/authzen-configurationx",
        "/tenants/acme",
    ] {
        assert!(!is_authzen_path(path), "{path}");
    }
}
