//! Whole decisions: a fuzzed token (any kind, subject, organization, environment, scope and
//! token id, drawn mostly from the vector bundles' own names) and fuzzed requests, decided by
//! every entry point. Properties: nothing crosses a tenant or an environment, scope is
//! honoured, `authorize`, `check`, `check_many` and `explain` agree.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use portcullis::{Context, Request, Resource, TokenKind, VerifyOptions};
use portcullis_fuzz::{assert_decision_sound, fixtures, token_for, TokenSpec};

/// A name: one the policy knows (by index) or any string.
#[derive(Arbitrary, Debug)]
enum Name<'a> {
    Known(u8),
    Other(&'a str),
}

impl<'a> Name<'a> {
    fn pick(&self, known: &[&'a str]) -> &'a str {
        match self {
            Name::Known(i) if !known.is_empty() => known
                .get(usize::from(*i) % known.len())
                .copied()
                .unwrap_or_default(),
            Name::Known(_) => "",
            Name::Other(s) => s,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct FuzzRequest<'a> {
    action: Name<'a>,
    resource_type: Option<&'a str>,
    id: Option<&'a str>,
    org: Option<Name<'a>>,
    env: Option<Name<'a>>,
    method: Option<&'a str>,
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    bundle: u8,
    kind: u8,
    sub: Name<'a>,
    org: Name<'a>,
    env: Name<'a>,
    scope: Option<&'a str>,
    jti: Name<'a>,
    skew: i16,
    requests: Vec<FuzzRequest<'a>>,
}

fuzz_target!(|input: Input<'_>| {
    let f = fixtures();
    let Some(authorizer) = f
        .authorizers
        .get(usize::from(input.bundle) % f.authorizers.len().max(1))
    else {
        return;
    };
    let data = authorizer.policy().data();
    let members: Vec<&str> = data.members.iter().map(|m| m.id.as_str()).collect();
    let orgs: Vec<&str> = f.authorizers.iter().map(|a| a.policy().org()).collect();
    let envs: Vec<&str> = f
        .authorizers
        .iter()
        .flat_map(|a| a.policy().data().envs.iter().map(|e| e.id.as_str()))
        .collect();
    let jtis: Vec<&str> = data
        .revocations
        .token_ids
        .iter()
        .map(String::as_str)
        .collect();
    let permissions: Vec<&str> = data.permissions.iter().map(String::as_str).collect();
    let kind =
        [TokenKind::OrgAuth, TokenKind::EnvAuth, TokenKind::Service][usize::from(input.kind % 3)];
    let sub = input.sub.pick(&members);
    let client_id = data
        .members
        .iter()
        .find(|m| m.id == sub)
        .and_then(|m| m.client_id.as_deref())
        .unwrap_or(sub);
    let spec = TokenSpec {
        kind,
        sub,
        org: input.org.pick(&orgs),
        env: Some(input.env.pick(&envs)),
        client_id: Some(client_id),
        scope: input.scope,
        jti: input.jti.pick(&jtis),
    };
    let Some(token) = token_for(data, &spec, f.now) else {
        return;
    };
    let now = f.now + i64::from(input.skew);
    let options = VerifyOptions {
        now,
        audience: None,
    };
    let requests: Vec<Request> = input
        .requests
        .iter()
        .take(16)
        .map(|r| Request {
            action: r.action.pick(&permissions).to_owned(),
            resource: Resource {
                resource_type: r.resource_type.map(str::to_owned).unwrap_or_else(|| {
                    r.action
                        .pick(&permissions)
                        .split(':')
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                }),
                id: r.id.map(str::to_owned),
                org: r.org.as_ref().map(|o| o.pick(&orgs).to_owned()),
                env: r.env.as_ref().map(|e| e.pick(&envs).to_owned()),
                attrs: Default::default(),
            },
            context: Context {
                method: r.method.map(str::to_owned),
                ip: None,
            },
        })
        .collect();
    let Ok(verified) = authorizer.verify_token(&token, &options) else {
        for request in &requests {
            let decision = authorizer.authorize(&token, request, &options);
            assert!(!decision.allowed, "an unverifiable token was allowed");
        }
        return;
    };
    let batch = authorizer
        .check_many(&verified, &requests, now)
        .expect("a batch of at most 16 is decided");
    assert_eq!(batch.len(), requests.len());
    for (request, batched) in requests.iter().zip(&batch) {
        let decision = authorizer.check(&verified, request, now);
        assert_decision_sound(authorizer, &verified, request, &decision);
        assert_eq!(&decision, batched, "check_many differs from check");
        assert_eq!(
            authorizer.authorize(&token, request, &options),
            decision,
            "authorize differs from verify + check"
        );
        assert_eq!(
            authorizer.explain(&verified, request, now).decision,
            decision,
            "explain differs from check"
        );
    }
});
