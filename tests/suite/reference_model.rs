//! The engine against a small, plainly written reference evaluator, on random policies and
//! requests. Each case builds a random policy, mints and verifies a real token, and compares
//! the engine's reason with the reference's.

use std::collections::BTreeMap;

use ed25519_dalek::SigningKey;
use portcullis::model::PermSet;
use portcullis::model::*;
use portcullis::model::{AttrRef, Condition, Operand, Subject};
use portcullis::token::Issuer;
use portcullis::token::{Alg, KeyMaterial, TrustedKey};
use portcullis::tools::mint::{mint_eddsa, Claims};
use portcullis::{Attrs, Authorizer, Reason, Request, Resource, TokenKind, Value, VerifyOptions};
use proptest::prelude::*;

const NOW: i64 = 1_000_000;

/// A tiny deterministic generator, so a failing seed reproduces the whole case.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const PERMS: [&str; 6] = [
    "doc:read",
    "doc:edit",
    "doc:delete",
    "logs:read",
    "users:manage",
    "billing:read",
];
const ENVS: [&str; 3] = ["dev", "prod", "sandbox"];
const MEMBERS: [&str; 4] = ["ann", "ben", "cat", "svc"];

fn permset(g: &mut Gen) -> PermSet {
    let mut s = PermSet::new();
    for i in 0..PERMS.len() {
        if g.chance(50) {
            s.insert(i as u32);
        }
    }
    s
}

fn window(g: &mut Gen) -> Window {
    match g.below(4) {
        0 => Window {
            not_before: Some(NOW + 10),
            not_after: None,
        },
        1 => Window {
            not_before: None,
            not_after: Some(NOW - 10),
        },
        2 => Window {
            not_before: Some(NOW - 100),
            not_after: Some(NOW + 100),
        },
        _ => Window::default(),
    }
}

fn attr(subject: Subject, name: &str) -> Operand {
    Operand::Attr(AttrRef {
        subject,
        name: name.into(),
    })
}

fn condition(g: &mut Gen, depth: usize) -> Condition {
    // Leaves 0–2 read the resource's attributes, 6 and 7 do not; 3–5 nest.
    let kind = if depth > 2 {
        *g.pick(&[0, 1, 2, 6, 7])
    } else {
        g.below(8)
    };
    match kind {
        0 => Condition::Eq(
            attr(Subject::Resource, "color"),
            Operand::Literal(Value::Str(g.pick(&["red", "blue"]).to_string())),
        ),
        1 => Condition::In(
            attr(Subject::Resource, "site"),
            attr(Subject::Principal, "sites"),
        ),
        2 => Condition::Has(AttrRef {
            subject: Subject::Resource,
            name: "color".into(),
        }),
        3 => Condition::Not(Box::new(condition(g, depth + 1))),
        4 => Condition::All((0..g.below(3)).map(|_| condition(g, depth + 1)).collect()),
        5 => Condition::Any((0..g.below(3)).map(|_| condition(g, depth + 1)).collect()),
        6 => Condition::Eq(
            attr(Subject::Resource, "id"),
            Operand::Literal(Value::Str(g.pick(&["d-1", "d-2"]).to_string())),
        ),
        _ => Condition::In(
            attr(Subject::Env, "id"),
            Operand::Literal(Value::List(vec![Value::Str("prod".into())])),
        ),
    }
}

fn target(g: &mut Gen, groups: usize) -> Target {
    match g.below(6) {
        0..=2 => Target::Member(g.below(MEMBERS.len()) as u32),
        3 | 4 if groups > 0 => Target::Group(g.below(groups) as u32),
        _ => Target::Everyone,
    }
}

fn env_selector(g: &mut Gen) -> EnvSelector {
    if g.chance(20) {
        EnvSelector::All
    } else {
        EnvSelector::One(g.below(ENVS.len()) as u32)
    }
}

fn random_policy(g: &mut Gen, key: &SigningKey) -> PolicyData {
    let n_roles = 1 + g.below(4);
    let roles: Vec<Role> = (0..n_roles)
        .map(|i| {
            let scope = if g.chance(50) {
                RoleScope::Org
            } else {
                RoleScope::Env
            };
            Role {
                id: format!("role{i}").into(),
                scope,
                permissions: permset(g),
                env_ceiling: (scope == RoleScope::Org && g.chance(30)).then(|| permset(g)),
                can_assign: vec![],
            }
        })
        .collect();
    let n_groups = g.below(3);
    let members = MEMBERS
        .iter()
        .map(|id| {
            let mut attrs = Attrs::new();
            if g.chance(70) {
                attrs.insert(
                    "sites".into(),
                    Value::List(vec![Value::Str(g.pick(&["s1", "s2"]).to_string())]),
                );
            }
            Member {
                id: id.to_string(),
                kind: if *id == "svc" {
                    MemberKind::Service
                } else {
                    MemberKind::User
                },
                client_id: (*id == "svc").then(|| "svc-client".to_owned()),
                attrs,
                groups: (0..n_groups as u32).filter(|_| g.chance(50)).collect(),
                disabled: g.chance(5),
            }
        })
        .collect();
    let bindings = (0..2 + g.below(7))
        .map(|i| {
            let role = g.below(n_roles) as u32;
            Binding {
                id: format!("b{i}").into(),
                role,
                target: target(g, n_groups),
                env: (roles[role as usize].scope == RoleScope::Env).then(|| env_selector(g)),
                window: window(g),
                condition: g.chance(25).then(|| Box::new(condition(g, 1))),
            }
        })
        .collect();
    let overrides = (0..g.below(4))
        .map(|i| Override {
            id: format!("o{i}").into(),
            effect: if g.chance(50) {
                Effect::Allow
            } else {
                Effect::Deny
            },
            permissions: permset(g),
            target: target(g, n_groups),
            env: g.chance(50).then(|| env_selector(g)),
            resource: ResourceSelector {
                resource_type: g.chance(40).then(|| g.pick(&["doc", "logs"]).to_string()),
                id_glob: g
                    .chance(30)
                    .then(|| g.pick(&["d-*", "d-1", "*-2"]).to_string()),
                attrs: if g.chance(20) {
                    [("color".to_owned(), Value::Str("red".into()))].into()
                } else {
                    Attrs::new()
                },
            },
            window: window(g),
            condition: g.chance(25).then(|| Box::new(condition(g, 1))),
        })
        .collect();
    PolicyData {
        org: "acme".into(),
        permissions: PERMS.iter().map(|p| p.to_string()).collect(),
        roles,
        envs: ENVS
            .iter()
            .map(|e| Environment {
                id: e.to_string(),
                attrs: Attrs::new(),
            })
            .collect(),
        groups: (0..n_groups)
            .map(|i| Group {
                id: format!("g{i}"),
            })
            .collect(),
        members,
        bindings,
        overrides,
        issuers: vec![Issuer {
            iss: "iss".into(),
            audience: "aud".into(),
            kinds: TokenKind::ALL.to_vec(),
            max_lifetime: 3600,
            leeway: 0,
            keys: vec![TrustedKey {
                kid: "k".into(),
                alg: Alg::EdDSA,
                material: KeyMaterial::Ed25519(key.verifying_key().to_bytes()),
            }],
        }],
        revocations: Revocations {
            token_ids: if g.chance(10) {
                vec!["jti-1".into()]
            } else {
                vec![]
            },
            subjects_before: if g.chance(10) {
                vec![("ann".into(), NOW)]
            } else {
                vec![]
            },
        },
        routes: vec![],
        ..PolicyData::default()
    }
}

// ---- the reference evaluator -----------------------------------------------------------------

#[derive(Debug)]
struct Facts {
    kind: TokenKind,
    sub: String,
    org: String,
    env: Option<String>,
    client_id: Option<String>,
    jti: String,
    iat: i64,
    scope: Option<Vec<String>>,
}

fn lookup<'a>(
    resource: &'a Resource,
    principal: &'a Member,
    envs: &[Environment],
    a: &AttrRef,
) -> Option<Value> {
    match (a.subject, a.name.as_str()) {
        (Subject::Principal, "id") => Some(Value::Str(principal.id.clone())),
        (Subject::Principal, n) => principal.attrs.get(n).cloned(),
        (Subject::Resource, "type") => Some(Value::Str(resource.resource_type.clone())),
        (Subject::Resource, "id") => resource.id.clone().map(Value::Str),
        (Subject::Resource, "env") => resource.env.clone().map(Value::Str),
        (Subject::Resource, n) => resource.attrs.get(n).cloned(),
        (Subject::Env, "id") => resource.env.clone().map(Value::Str),
        (Subject::Env, n) => envs
            .iter()
            .find(|e| Some(&e.id) == resource.env.as_ref())
            .and_then(|e| e.attrs.get(n).cloned()),
        (Subject::Context, _) => None,
    }
}

/// `Err(())` when the condition cannot be evaluated.
fn holds(
    c: &Condition,
    r: &Resource,
    p: &Member,
    envs: &[Environment],
    now: i64,
) -> Result<bool, ()> {
    let operand = |o: &Operand| match o {
        Operand::Literal(v) => Ok(v.clone()),
        Operand::Attr(a) => lookup(r, p, envs, a).ok_or(()),
    };
    match c {
        Condition::All(cs) => {
            let results: Result<Vec<bool>, ()> =
                cs.iter().map(|c| holds(c, r, p, envs, now)).collect();
            Ok(results?.iter().all(|b| *b))
        }
        Condition::Any(cs) => {
            let results: Result<Vec<bool>, ()> =
                cs.iter().map(|c| holds(c, r, p, envs, now)).collect();
            Ok(results?.iter().any(|b| *b))
        }
        Condition::Not(c) => holds(c, r, p, envs, now).map(|b| !b),
        Condition::Eq(a, b) => Ok(operand(a)? == operand(b)?),
        Condition::In(a, b) => {
            let Value::List(list) = operand(b)? else {
                return Err(());
            };
            match operand(a)? {
                Value::List(items) => Ok(items.iter().all(|i| list.contains(i))),
                v => Ok(list.contains(&v)),
            }
        }
        Condition::Has(a) => Ok(lookup(r, p, envs, a).is_some()),
        Condition::Time { after, before } => {
            Ok(after.is_none_or(|t| now >= t) && before.is_none_or(|t| now < t))
        }
    }
}

fn reaches(t: Target, m: usize, member: &Member) -> bool {
    match t {
        Target::Member(i) => i as usize == m,
        Target::Group(g) => member.groups.contains(&g),
        Target::Everyone => true,
    }
}

fn glob(pattern: &str, id: &str) -> bool {
    // Plain recursive glob, independent of the engine's.
    match pattern.split_once('*') {
        None => pattern == id,
        Some((head, tail)) => {
            id.starts_with(head)
                && (0..=id.len() - head.len()).any(|skip| glob(tail, &id[head.len() + skip..]))
        }
    }
}

fn reference(d: &PolicyData, t: &Facts, req: &Request, now: i64) -> Reason {
    let r = &req.resource;
    let member = match t.kind {
        TokenKind::Service => d
            .members
            .iter()
            .position(|m| m.kind == MemberKind::Service && m.client_id == t.client_id),
        _ => d
            .members
            .iter()
            .position(|m| m.kind == MemberKind::User && m.id == t.sub),
    };
    if d.revocations.token_ids.contains(&t.jti)
        || d.revocations
            .subjects_before
            .iter()
            .any(|(s, before)| *s == t.sub && t.iat < *before)
        || member.is_some_and(|m| d.members[m].disabled)
    {
        return Reason::Revoked;
    }
    let env = r
        .env
        .as_ref()
        .map(|e| d.envs.iter().position(|x| &x.id == e));
    if t.org != d.org || r.org.as_ref().is_some_and(|o| *o != t.org) || env == Some(None) {
        return Reason::CrossTenant;
    }
    let env = env.flatten().map(|e| e as u32);
    if t.kind == TokenKind::EnvAuth && t.env != r.env {
        return Reason::CrossEnvironment;
    }
    if t.kind == TokenKind::OrgAuth && r.env.is_some() {
        return Reason::EnvTokenRequired;
    }
    let Some(m) = member else {
        return Reason::NotAMember;
    };
    let principal = &d.members[m];
    let Some(p) = d.permissions.iter().position(|x| *x == req.action) else {
        return Reason::NoMatchingGrant;
    };
    let p = p as u32;
    let env_ok = |sel: Option<EnvSelector>| match (sel, env) {
        (None, _) => true,
        (Some(EnvSelector::All), Some(_)) => true,
        (Some(EnvSelector::One(e)), Some(x)) => e == x,
        (Some(_), None) => false,
    };
    let selected = |o: &Override| {
        o.resource
            .resource_type
            .as_ref()
            .is_none_or(|ty| *ty == r.resource_type)
            && o.resource
                .id_glob
                .as_ref()
                .is_none_or(|g| r.id.as_ref().is_some_and(|id| glob(g, id)))
            && o.resource
                .attrs
                .iter()
                .all(|(k, v)| r.attrs.get(k) == Some(v))
    };
    for o in &d.overrides {
        if o.effect == Effect::Deny
            && reaches(o.target, m, principal)
            && o.window.contains(now)
            && env_ok(o.env)
            && o.permissions.contains(p)
            && selected(o)
            && o.condition
                .as_ref()
                .is_none_or(|c| holds(c, r, principal, &d.envs, now) != Ok(false))
        {
            return Reason::ExplicitDeny;
        }
    }
    let mut org_grant = false;
    let mut env_grant = false;
    for b in &d.bindings {
        let role = &d.roles[b.role as usize];
        let active = reaches(b.target, m, principal)
            && b.window.contains(now)
            && role.permissions.contains(p)
            && b.condition
                .as_ref()
                .is_none_or(|c| holds(c, r, principal, &d.envs, now) == Ok(true));
        if !active {
            continue;
        }
        match role.scope {
            RoleScope::Org => org_grant = true,
            RoleScope::Env => env_grant |= env.is_some() && env_ok(b.env),
        }
    }
    for o in &d.overrides {
        if o.effect == Effect::Allow
            && reaches(o.target, m, principal)
            && o.window.contains(now)
            && env_ok(o.env)
            && o.permissions.contains(p)
            && selected(o)
            && o.condition
                .as_ref()
                .is_none_or(|c| holds(c, r, principal, &d.envs, now) == Ok(true))
        {
            env_grant = true;
        }
    }
    if !org_grant && env_grant && env.is_some() {
        let ceilings: Vec<&PermSet> = d
            .bindings
            .iter()
            .filter(|b| reaches(b.target, m, principal) && b.window.contains(now))
            .filter_map(|b| {
                let role = &d.roles[b.role as usize];
                (role.scope == RoleScope::Org)
                    .then_some(role.env_ceiling.as_ref())
                    .flatten()
            })
            .collect();
        if !ceilings.is_empty() && !ceilings.iter().any(|c| c.contains(p)) {
            env_grant = false;
        }
    }
    if !(org_grant || env_grant) {
        return Reason::NoMatchingGrant;
    }
    let covered = t.scope.as_ref().is_none_or(|scope| {
        scope.iter().any(|s| {
            s == "*"
                || *s == req.action
                || s.strip_suffix(":*")
                    .is_some_and(|ty| req.action.starts_with(&format!("{ty}:")))
        })
    });
    if covered {
        Reason::Allowed
    } else {
        Reason::OutsideTokenScope
    }
}

fn random_case(g: &mut Gen) -> (Facts, Request) {
    let kind = *g.pick(&TokenKind::ALL);
    let sub = g
        .pick(&["ann", "ben", "cat", "svc", "ann", "ben", "zed"])
        .to_string();
    let resource_env = match kind {
        TokenKind::OrgAuth if g.chance(70) => None,
        _ if g.chance(15) => None,
        _ if g.chance(5) => Some("elsewhere".to_owned()),
        _ => Some(g.pick(&["dev", "prod", "sandbox"]).to_string()),
    };
    let token_env = if g.chance(75) && resource_env.is_some() {
        resource_env.clone()
    } else {
        Some(g.pick(&["dev", "prod", "sandbox", "other"]).to_string())
    };
    let facts = Facts {
        kind,
        sub: sub.clone(),
        org: if g.chance(95) {
            "acme".into()
        } else {
            "globex".into()
        },
        env: if kind == TokenKind::EnvAuth {
            token_env
        } else {
            None
        },
        client_id: (kind == TokenKind::Service).then(|| {
            if g.chance(85) {
                "svc-client".into()
            } else {
                "svc-other".into()
            }
        }),
        jti: if g.chance(10) {
            "jti-1".into()
        } else {
            "jti-2".into()
        },
        iat: NOW - 1 - g.below(2) as i64 * 100,
        scope: g
            .chance(30)
            .then(|| vec![g.pick(&["doc:*", "doc:read", "*", "logs:read"]).to_string()]),
    };
    let mut attrs = BTreeMap::new();
    if g.chance(50) {
        attrs.insert(
            "color".to_owned(),
            Value::Str(g.pick(&["red", "blue"]).to_string()),
        );
    }
    if g.chance(50) {
        attrs.insert(
            "site".to_owned(),
            Value::Str(g.pick(&["s1", "s2"]).to_string()),
        );
    }
    let action = g.pick(&PERMS).to_string();
    let action = if g.chance(3) {
        "doc:fly".to_owned()
    } else {
        action
    };
    let resource = Resource {
        resource_type: action.split(':').next().unwrap().to_owned(),
        id: g
            .chance(70)
            .then(|| g.pick(&["d-1", "d-2", "x-2"]).to_string()),
        org: g.chance(5).then(|| g.pick(&["acme", "globex"]).to_string()),
        env: resource_env,
        attrs,
    };
    (
        facts,
        Request {
            action,
            resource,
            ..Request::default()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_the_reference_model(seed in 1u64..) {
        let mut g = Gen(seed);
        let key = SigningKey::from_bytes(&[7; 32]);
        let data = random_policy(&mut g, &key);
        let authorizer = Authorizer::preview(data.clone(), 1).unwrap();
        let (facts, request) = random_case(&mut g);
        let claims = Claims {
            iss: "iss".into(),
            sub: facts.sub.clone(),
            aud: "aud".into(),
            exp: NOW + 600,
            iat: facts.iat,
            nbf: None,
            jti: facts.jti.clone(),
            org: facts.org.clone(),
            env: facts.env.clone(),
            client_id: facts.client_id.clone(),
            scope: facts.scope.as_ref().map(|s| s.join(" ")),
        };
        let token = mint_eddsa(&key, "k", facts.kind, &claims);
        let verified = authorizer.verify_token(&token, &VerifyOptions { now: NOW, audience: None }).unwrap();
        let engine = authorizer.check(&verified, &request, NOW);
        let expected = reference(&data, &facts, &request, NOW);
        prop_assert_eq!(&engine.reason, &expected, "seed {} facts {:?} request {:?}", seed, facts, request);
        prop_assert_eq!(engine.allowed, expected == Reason::Allowed);
        // A permission no rule reads attributes for is decided the same without them (the
        // npm package leaves them out of such requests).
        if !reads_attributes(&authorizer, &request.action) {
            let mut bare = request.clone();
            bare.resource.attrs.clear();
            prop_assert_eq!(authorizer.check(&verified, &bare, NOW), engine);
        }
    }
}

/// Whether the policy says `action`'s decisions may read the resource's attributes.
fn reads_attributes(authorizer: &Authorizer, action: &str) -> bool {
    let policy = authorizer.policy();
    policy
        .permissions()
        .index(action)
        .is_some_and(|p| policy.resource_attribute_permissions().contains(p))
}

/// The permissions said to read attributes are neither none nor all: random policies have
/// conditions and selectors on attributes, and others that read none.
#[test]
fn random_policies_have_permissions_that_read_attributes_and_others_that_do_not() {
    let key = SigningKey::from_bytes(&[7; 32]);
    let (mut reading, mut not_reading) = (0, 0);
    for seed in 1..1_000u64 {
        let mut g = Gen(seed);
        let authorizer = Authorizer::preview(random_policy(&mut g, &key), 1).unwrap();
        let (_, request) = random_case(&mut g);
        if request.resource.attrs.is_empty() {
            continue;
        }
        if reads_attributes(&authorizer, &request.action) {
            reading += 1;
        } else {
            not_reading += 1;
        }
    }
    assert!(
        reading >= 100 && not_reading >= 100,
        "{reading} reading, {not_reading} not"
    );
}

/// The generator reaches every reason but `invalid_token` (its tokens are all valid), so the
/// comparison above exercises every branch of the contract.
#[test]
fn random_cases_reach_every_reason() {
    let key = SigningKey::from_bytes(&[7; 32]);
    let mut seen = std::collections::BTreeMap::new();
    for seed in 1..3_000u64 {
        let mut g = Gen(seed);
        let data = random_policy(&mut g, &key);
        let (facts, request) = random_case(&mut g);
        *seen
            .entry(reference(&data, &facts, &request, NOW).as_str())
            .or_insert(0) += 1;
    }
    eprintln!("reasons over 3,000 random cases: {seen:?}");
    for reason in Reason::ALL.iter().filter(|r| **r != Reason::InvalidToken) {
        assert!(
            seen.get(reason.as_str()).copied().unwrap_or(0) >= 30,
            "{reason} is rarely reached: {seen:?}"
        );
    }
}
