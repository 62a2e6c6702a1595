#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;

use portcullis::VerifyOptions;
use portcullis_testkit::NOW;

use super::*;

fn small() -> Shape {
    Shape {
        orgs: 6,
        users: 240,
        requests: 20_000,
        docs_per_env: 10,
    }
}

#[test]
fn the_same_seed_gives_the_same_workload() {
    let a = Workload::generate(7, small());
    let b = Workload::generate(7, small());
    assert_eq!(a.to_json(), b.to_json());
    assert_eq!(a.policy_source(), b.policy_source());
    assert_ne!(a.to_json(), Workload::generate(8, small()).to_json());
}

#[test]
fn the_standard_shape_has_the_promised_proportions() {
    let w = Workload::generate(1, Shape::STANDARD);
    assert_eq!(w.users.len(), 2_000);
    assert_eq!(w.cases.len(), 100_000);
    assert!(w.users.iter().all(|u| (1..=3).contains(&u.bindings.len())));
    let share = |n: usize, of: usize| n as f64 / of as f64;
    let deny = w.users.iter().filter(|u| u.deny_prod).count();
    let elevated = w.users.iter().filter(|u| u.elevation.is_some()).count();
    assert!((0.03..0.07).contains(&share(deny, 2_000)), "{deny}");
    assert!((0.03..0.07).contains(&share(elevated, 2_000)), "{elevated}");
    let count = |r: Reason| w.cases.iter().filter(|c| c.expected == r).count();
    assert!((0.14..0.16).contains(&share(count(Reason::CrossTenant), 100_000)));
    assert!((0.14..0.16).contains(&share(count(Reason::CrossEnvironment), 100_000)));
    for r in [
        Reason::Allowed,
        Reason::ExplicitDeny,
        Reason::NoMatchingGrant,
    ] {
        assert!(count(r) > 100, "{r:?}: {}", count(r));
    }
}

#[test]
fn the_engine_decides_every_request_as_the_reference_does() {
    let w = Workload::generate(3, small());
    let authorizers = w.authorizers().unwrap();
    assert_eq!(authorizers.len(), 6);
    let key = issuer_signing_key().unwrap();
    let mut sessions = HashMap::new();
    let options = VerifyOptions {
        now: NOW,
        audience: None,
    };
    let mut mismatches = Vec::new();
    for case in &w.cases {
        let authorizer = &authorizers[w.users[case.user].org];
        let session = sessions
            .entry((case.user, case.token_env))
            .or_insert_with(|| {
                let token = w.token(&key, case.user, case.token_env, NOW).unwrap();
                authorizer.verify_token(&token, &options).unwrap()
            });
        let decision = authorizer.check(session, &w.request(case), NOW);
        if decision.reason != case.expected {
            mismatches.push((case, decision.reason));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first: {:?}",
        mismatches.len(),
        mismatches.first()
    );
}
