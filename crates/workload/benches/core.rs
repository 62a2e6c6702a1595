//! Native benchmarks of the core (criterion): token verification per algorithm, bundle
//! verification and loading by size, single decisions by outcome, batches and effective
//! permissions. `scripts/bench` runs them; `--quick` shortens every measurement.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::hint::black_box;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use portcullis::bundle::{self, BundleKeys, BundleSigner};
use portcullis::source::compile_json;
use portcullis::{Authorizer, Jwk, LoadOptions, Reason, VerifiedToken, VerifyOptions};
use portcullis_workload::{env_id, issuer_signing_key, Shape, Workload};
use serde_json::Value;

const NOW: i64 = 1_780_315_200;

/// Token verification with the vectors' EdDSA, ES256 and RS256 keys (the same token path the
/// gateway and the npm package use).
fn token_verification(c: &mut Criterion) {
    let doc: Value =
        serde_json::from_str(include_str!("../../../tests/vectors/decisions.json")).unwrap();
    let mut keys = BundleKeys::new();
    for k in doc["bundle_keys"]["keys"].as_array().unwrap() {
        keys.add_jwk(&serde_json::from_value::<Jwk>(k.clone()).unwrap())
            .unwrap();
    }
    let bytes = STANDARD
        .decode(doc["bundles"][0]["bundle"].as_str().unwrap())
        .unwrap();
    let now = doc["cases"][0]["now"].as_i64().unwrap();
    let authorizer = Authorizer::from_bundle(
        &bytes,
        &keys,
        LoadOptions {
            now,
            min_version: 0,
        },
    )
    .unwrap();
    let options = VerifyOptions {
        now,
        audience: None,
    };
    let mut group = c.benchmark_group("token_verify");
    for (alg, case) in [("EdDSA", 0), ("ES256", 1), ("RS256", 2)] {
        let token = doc["cases"][case]["token"].as_str().unwrap().to_owned();
        assert!(authorizer.verify_token(&token, &options).is_ok(), "{alg}");
        group.bench_function(alg, |b| {
            b.iter(|| {
                authorizer
                    .verify_token(black_box(&token), &options)
                    .unwrap()
            })
        });
    }
    group.finish();
}

/// Verifying and loading one organization's bundle, by number of role bindings.
fn bundle_loading(c: &mut Criterion) {
    let signer = BundleSigner::from_seed("bench", &[5; 32]);
    let mut keys = BundleKeys::new();
    keys.add("bench", &signer.public_key()).unwrap();
    let mut group = c.benchmark_group("bundle_verify_load");
    group.sample_size(10);
    for bindings in [1_000usize, 10_000, 100_000] {
        // Users hold two bindings on average.
        let w = Workload::generate(
            11,
            Shape {
                orgs: 1,
                users: bindings / 2,
                requests: 0,
                docs_per_env: 50,
            },
        );
        let source = serde_json::to_vec(&w.policy_source()).unwrap();
        let policy = compile_json(&source).unwrap().remove(0);
        let n = policy.data().bindings.len();
        let bytes = bundle::build(policy.data(), 1, NOW - 60, NOW + 3600, &signer).unwrap();
        let options = LoadOptions {
            now: NOW,
            min_version: 0,
        };
        group.bench_with_input(BenchmarkId::new("bindings", n), &bytes, |b, bytes| {
            b.iter(|| Authorizer::from_bundle(black_box(bytes), &keys, options).unwrap())
        });
    }
    group.finish();
}

struct Decisions {
    workload: Workload,
    authorizers: Vec<Authorizer>,
    sessions: HashMap<(usize, usize), VerifiedToken>,
}

fn decisions() -> Decisions {
    let workload = Workload::generate(2026, Shape::STANDARD);
    let authorizers = workload.authorizers().unwrap();
    let key = issuer_signing_key().unwrap();
    let options = VerifyOptions {
        now: NOW,
        audience: None,
    };
    let mut sessions = HashMap::new();
    for case in &workload.cases {
        sessions
            .entry((case.user, case.token_env))
            .or_insert_with(|| {
                let token = workload
                    .token(&key, case.user, case.token_env, NOW)
                    .unwrap();
                authorizers[workload.users[case.user].org]
                    .verify_token(&token, &options)
                    .unwrap()
            });
    }
    Decisions {
        workload,
        authorizers,
        sessions,
    }
}

/// Single decisions by outcome, a batch of 50, the whole workload, and effective permissions.
fn deciding(c: &mut Criterion) {
    let d = decisions();
    let w = &d.workload;
    let mut group = c.benchmark_group("check");
    for reason in [
        Reason::Allowed,
        Reason::ExplicitDeny,
        Reason::NoMatchingGrant,
        Reason::CrossTenant,
    ] {
        let case = w.cases.iter().find(|c| c.expected == reason).unwrap();
        let authorizer = &d.authorizers[w.users[case.user].org];
        let session = &d.sessions[&(case.user, case.token_env)];
        let request = w.request(case);
        assert_eq!(authorizer.check(session, &request, NOW).reason, reason);
        group.bench_function(reason.as_str(), |b| {
            b.iter(|| authorizer.check(session, black_box(&request), NOW))
        });
    }
    group.finish();

    // One session's 50 requests: every permission on documents of its environment.
    let case = w
        .cases
        .iter()
        .find(|c| c.expected == Reason::Allowed)
        .unwrap();
    let authorizer = &d.authorizers[w.users[case.user].org];
    let session = &d.sessions[&(case.user, case.token_env)];
    let requests: Vec<_> = (0..50)
        .map(|i| {
            let mut c = *case;
            c.action = i % portcullis_workload::PERMISSIONS.len();
            c.doc = i as u32;
            w.request(&c)
        })
        .collect();
    c.bench_function("check_many/50", |b| {
        b.iter(|| {
            authorizer
                .check_many(session, black_box(&requests), NOW)
                .unwrap()
        })
    });

    let env = env_id(w.users[case.user].org, case.token_env);
    c.bench_function("permissions", |b| {
        b.iter(|| {
            authorizer
                .permissions(session, Some(black_box(&env)), NOW)
                .unwrap()
        })
    });

    // The whole workload, request by request: time per decision is this over 100,000.
    let requests: Vec<_> = w.cases.iter().map(|c| w.request(c)).collect();
    let mut group = c.benchmark_group("workload");
    group.sample_size(10);
    group.bench_function("100k_checks", |b| {
        b.iter(|| {
            let mut allowed = 0usize;
            for (case, request) in w.cases.iter().zip(&requests) {
                let authorizer = &d.authorizers[w.users[case.user].org];
                let session = &d.sessions[&(case.user, case.token_env)];
                allowed += usize::from(authorizer.check(session, request, NOW).allowed);
            }
            allowed
        })
    });
    group.finish();
}

criterion_group!(benches, token_verification, bundle_loading, deciding);
criterion_main!(benches);
