//! AuthZEN request bodies: the first byte picks the endpoint (evaluation, evaluations, subject,
//! resource or action search), the rest is the body, answered by the Todo example's policy.
//! Properties: nothing panics; a refusal has a known code and a 400 or 413 status; a body the
//! single evaluation answers is answered alike by the evaluations endpoint (which reads a body
//! without `evaluations` as one evaluation) unless it holds a batch; a batch answers at most as
//! many items as it holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::authzen::{self, AuthzenError, EvaluationsAnswer, SearchKind};
use portcullis_fuzz::authzen_fixture;

fn refused(e: &AuthzenError) {
    assert!(
        AuthzenError::CODES.contains(&e.code()),
        "unknown code {}",
        e.code()
    );
    assert!(matches!(e.status(), 400 | 413));
}

fuzz_target!(|data: &[u8]| {
    let Some((&endpoint, body)) = data.split_first() else {
        return;
    };
    let (authorizer, now) = authzen_fixture();
    match endpoint % 5 {
        0 | 1 => {
            let single = authzen::evaluation(authorizer, body, now, endpoint & 0x80 != 0);
            let batch = authzen::evaluations(authorizer, body, now, endpoint & 0x80 != 0);
            if let Err(e) = &single {
                refused(e);
            }
            match (&single, &batch) {
                (Ok(one), Ok(EvaluationsAnswer::Single(other))) => assert_eq!(one, other),
                (_, Ok(EvaluationsAnswer::Batch { evaluations })) => {
                    assert!(!evaluations.is_empty());
                    assert!(evaluations.len() <= authzen::MAX_EVALUATIONS);
                }
                (_, Err(e)) => refused(e),
                (Err(_), Ok(EvaluationsAnswer::Single(_))) => {}
            }
        }
        kind => {
            let kind = match kind {
                2 => SearchKind::Subject,
                3 => SearchKind::Resource,
                _ => SearchKind::Action,
            };
            match authzen::search(authorizer, kind, body, now) {
                Ok(answer) => {
                    assert_eq!(answer.results.len(), answer.page.count);
                    assert!(answer.page.count <= authzen::MAX_PAGE_LIMIT);
                    assert!(answer.page.count <= answer.page.total);
                }
                Err(e) => refused(&e),
            }
        }
    }
});
