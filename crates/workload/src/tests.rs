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
fn documents_carry_attributes_that_rules_read() {
    let w = Workload::generate(1, Shape::STANDARD);
    let docs: Vec<DocAttrs> = w.cases.iter().filter_map(|c| w.attrs(c)).collect();
    let share = |n: usize| n as f64 / docs.len() as f64;
    // Four of the six permissions are on documents.
    assert!(
        (0.62..0.71).contains(&(docs.len() as f64 / 100_000.0)),
        "{}",
        docs.len()
    );
    let held = docs.iter().filter(|d| d.tags.contains(&LEGAL_HOLD)).count();
    let archived = docs.iter().filter(|d| d.archived).count();
    let gov = docs
        .iter()
        .filter(|d| d.region == NO_PUBLISH_REGION)
        .count();
    assert!((0.035..0.065).contains(&share(held)), "{held}");
    assert!((0.08..0.12).contains(&share(archived)), "{archived}");
    assert!((0.035..0.065).contains(&share(gov)), "{gov}");
    assert!(docs.iter().all(|d| d.tags.len() <= 5));
    assert!(docs.iter().any(|d| d.tags.len() == 5));
    // The same document has the same attributes in every request about it.
    let again = doc_attrs(w.seed, 3, 2, 7);
    assert_eq!(again, doc_attrs(w.seed, 3, 2, 7));
    // Requests the attribute rules alone deny: the reference without them would allow.
    let frozen = w
        .cases
        .iter()
        .filter(|c| c.expected == Reason::ExplicitDeny)
        .filter(|c| !(w.users[c.user].deny_prod && c.resource_env == 2))
        .count();
    assert!(frozen > 500, "{frozen}");
    // Only documents have attributes.
    for c in &w.cases {
        let request = w.request(c);
        assert_eq!(request.resource.attrs.is_empty(), w.attrs(c).is_none());
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
