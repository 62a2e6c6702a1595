//! A deterministic benchmark workload: organizations with four environments each, users with
//! environment role bindings in their own organization, explicit denies on production,
//! resource-specific elevations, documents with attributes (a region, tags, an archived flag)
//! that rules of every organization read, and requests in scope, across environments and
//! across tenants — with the decision each request must get, from a plainly written
//! reference.
//!
//! The same seed gives the same workload, byte for byte, so that Portcullis and its peers
//! (in the Node harness under `bench/`) decide exactly the same requests.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::SigningKey;
use portcullis::source::compile_json;
use portcullis::tools::mint::{mint_eddsa, Claims};
use portcullis::{Authorizer, Reason, Request, Resource, TokenKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{json, Value};

/// The permissions of the workload, in a fixed order (requests refer to them by index).
pub const PERMISSIONS: [&str; 6] = [
    "doc:read",
    "doc:edit",
    "doc:delete",
    "doc:publish",
    "logs:read",
    "settings:manage",
];

/// The environment names of every organization, in order.
pub const ENVIRONMENTS: [&str; 4] = ["dev", "staging", "prod", "sandbox"];

/// Index of `prod` in [`ENVIRONMENTS`].
const PROD: usize = 2;

/// The environment roles and the permissions (indices into [`PERMISSIONS`]) they grant.
pub const ROLES: [(&str, &[usize]); 3] = [
    ("viewer", &[0, 4]),
    ("editor", &[0, 1, 4]),
    ("admin", &[0, 1, 2, 3, 4, 5]),
];

/// Permissions (indices) an explicit production deny takes away: editing and deleting docs.
pub const DENIED_ON_PROD: [usize; 2] = [1, 2];

/// Permissions (indices) a resource elevation gives on its one document.
pub const ELEVATED: [usize; 2] = [2, 3];

/// The regions a document lives in, with their weights out of 100.
pub const REGIONS: [(&str, u64); 4] = [("eu", 40), ("us", 35), ("apac", 20), ("us-gov", 5)];

/// A document in this region may not be published.
pub const NO_PUBLISH_REGION: &str = "us-gov";

/// The tags a document carries (up to five of them), besides [`LEGAL_HOLD`].
pub const TAGS: [&str; 8] = [
    "finance", "hr", "legal", "draft", "q3", "ops", "sales", "customer",
];

/// The tag that freezes a document: no edits, no deletes.
pub const LEGAL_HOLD: &str = "legal-hold";

/// Permissions (indices) a legal hold takes away: editing and deleting.
pub const FROZEN_BY_HOLD: [usize; 2] = [1, 2];

/// Permissions (indices) archiving takes away: editing and publishing.
pub const FROZEN_BY_ARCHIVE: [usize; 2] = [1, 3];

/// Index of `doc:publish` in [`PERMISSIONS`].
const PUBLISH: usize = 3;

/// Issuer of the workload's tokens (the demo identity provider's key, `examples/keys`).
pub const ISSUER: &str = "https://idp.bench.example";
/// Audience of the workload's tokens.
pub const AUDIENCE: &str = "https://api.bench.example";
/// Key id of the issuer's EdDSA key.
pub const KID: &str = "demo-idp-2026";
/// The issuer's public key (`examples/keys/idp.public.jwk`).
pub const ISSUER_X: &str = "WKId5PPKvHRjVJwyy4sDh3Yh6w4U7bSQAfeIsXlY5gs";

/// How big a workload is.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Shape {
    /// Organizations (each with the four [`ENVIRONMENTS`]).
    pub orgs: usize,
    /// Users, spread evenly over the organizations.
    pub users: usize,
    /// Requests.
    pub requests: usize,
    /// Documents per environment (`d0`, `d1`, …).
    pub docs_per_env: u32,
}

impl Shape {
    /// The benchmark's shape: 50 organizations × 4 environments, 2,000 users, 100,000
    /// requests.
    pub const STANDARD: Shape = Shape {
        orgs: 50,
        users: 2_000,
        requests: 100_000,
        docs_per_env: 50,
    };
}

/// One user: where they hold which role, and their exceptions.
#[derive(Clone, Debug, Serialize)]
pub struct User {
    /// User id (`u0042`), unique across organizations.
    pub id: String,
    /// Organization index.
    pub org: usize,
    /// (environment index within the org, role index into [`ROLES`]), 1 to 3, distinct envs.
    pub bindings: Vec<(usize, usize)>,
    /// Whether an explicit deny takes editing and deleting docs in production away.
    pub deny_prod: bool,
    /// A document (environment index within the org, document number) on which the user may
    /// also delete and publish.
    pub elevation: Option<(usize, u32)>,
}

/// The attributes of a document: every document has all three. Rules of every organization
/// read them: a legal hold freezes edits and deletes, an archived document takes no edits and
/// is not published, and nothing in [`NO_PUBLISH_REGION`] is published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DocAttrs {
    /// One of [`REGIONS`].
    pub region: &'static str,
    /// Up to five distinct tags of [`TAGS`], and sometimes [`LEGAL_HOLD`].
    pub tags: Vec<&'static str>,
    /// Whether the document is archived.
    pub archived: bool,
}

/// SplitMix64: a document's attributes are a function of its place, not of the draw order.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The attributes of document `doc` in environment `env` of organization `org`, for the
/// workload of `seed`: 5% of documents are on legal hold, 10% archived.
pub fn doc_attrs(seed: u64, org: usize, env: usize, doc: u32) -> DocAttrs {
    let h = mix(seed ^ mix(((org as u64) << 40) ^ ((env as u64) << 32) ^ u64::from(doc)));
    let mut roll = h % 100;
    let mut region = NO_PUBLISH_REGION;
    for (name, weight) in REGIONS {
        if roll < weight {
            region = name;
            break;
        }
        roll -= weight;
    }
    let count = (h >> 8) % 6;
    let mut tags: Vec<&'static str> = Vec::new();
    let mut pick = h >> 12;
    for _ in 0..count {
        let tag = TAGS
            .get((pick % TAGS.len() as u64) as usize)
            .copied()
            .unwrap_or("ops");
        pick = mix(pick);
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if (h >> 40) % 100 < 5 {
        tags.truncate(4);
        tags.push(LEGAL_HOLD);
    }
    DocAttrs {
        region,
        tags,
        archived: (h >> 48) % 100 < 10,
    }
}

/// One request of the workload and the decision it must get.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Case {
    /// User index.
    pub user: usize,
    /// The environment of the user's EnvAuth token (index within the user's org).
    pub token_env: usize,
    /// Permission index into [`PERMISSIONS`].
    pub action: usize,
    /// The organization of the resource.
    pub resource_org: usize,
    /// The environment of the resource (index within `resource_org`).
    pub resource_env: usize,
    /// Document number (only for `doc:*` permissions).
    pub doc: u32,
    /// The expected reason.
    pub expected: Reason,
}

/// A generated workload.
#[derive(Clone, Debug)]
pub struct Workload {
    /// The seed it was generated from.
    pub seed: u64,
    /// Its shape.
    pub shape: Shape,
    /// The users.
    pub users: Vec<User>,
    /// The requests with their expected decisions.
    pub cases: Vec<Case>,
}

/// Organization id.
pub fn org_id(org: usize) -> String {
    format!("o{org:03}")
}

/// Environment id, unique across organizations.
pub fn env_id(org: usize, env: usize) -> String {
    format!(
        "o{org:03}-{}",
        ENVIRONMENTS.get(env).copied().unwrap_or("unknown")
    )
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> Option<&'a T> {
    if items.is_empty() {
        return None;
    }
    items.get(rng.gen_range(0..items.len()))
}

impl Workload {
    /// Generates the workload of `shape` from `seed`.
    pub fn generate(seed: u64, shape: Shape) -> Workload {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let orgs = shape.orgs.max(1);
        let users: Vec<User> = (0..shape.users)
            .map(|i| {
                let org = i % orgs;
                let mut envs: Vec<usize> = (0..ENVIRONMENTS.len()).collect();
                let n = rng.gen_range(1..=3);
                let mut bindings = Vec::with_capacity(n);
                for _ in 0..n {
                    let at = rng.gen_range(0..envs.len());
                    let env = envs.remove(at);
                    bindings.push((env, rng.gen_range(0..ROLES.len())));
                }
                bindings.sort_unstable();
                let deny_prod = rng.gen_range(0..100) < 5;
                let elevation = (rng.gen_range(0..100) < 5).then(|| {
                    let env = pick(&mut rng, &bindings).map_or(0, |b| b.0);
                    (env, rng.gen_range(0..shape.docs_per_env.max(1)))
                });
                User {
                    id: format!("u{i:05}"),
                    org,
                    bindings,
                    deny_prod,
                    elevation,
                }
            })
            .collect();
        let mut workload = Workload {
            seed,
            shape,
            users,
            cases: Vec::with_capacity(shape.requests),
        };
        for _ in 0..shape.requests {
            let Some(case) = workload.draw(&mut rng) else {
                break;
            };
            workload.cases.push(case);
        }
        workload
    }

    fn draw(&self, rng: &mut ChaCha8Rng) -> Option<Case> {
        let user_index = rng.gen_range(0..self.users.len().max(1));
        let user = self.users.get(user_index)?;
        let token_env = pick(rng, &user.bindings)?.0;
        let roll = rng.gen_range(0..100);
        let (resource_org, resource_env) = if roll < 70 || self.shape.orgs < 2 && roll < 85 {
            (user.org, token_env)
        } else if roll < 85 {
            let others: Vec<usize> = (0..ENVIRONMENTS.len())
                .filter(|e| *e != token_env)
                .collect();
            (user.org, *pick(rng, &others)?)
        } else {
            let mut org = rng.gen_range(0..self.shape.orgs.max(2) - 1);
            if org >= user.org {
                org += 1;
            }
            (org, rng.gen_range(0..ENVIRONMENTS.len()))
        };
        let action = rng.gen_range(0..PERMISSIONS.len());
        let doc = match user.elevation {
            // Now and then, the elevated document itself.
            Some((env, doc)) if env == resource_env && rng.gen_range(0..4) == 0 => doc,
            _ => rng.gen_range(0..self.shape.docs_per_env.max(1)),
        };
        let mut case = Case {
            user: user_index,
            token_env,
            action,
            resource_org,
            resource_env,
            doc,
            expected: Reason::NoMatchingGrant,
        };
        case.expected = self.reference(&case);
        Some(case)
    }

    /// The decision `case` must get, computed plainly from the workload's own description
    /// (not from the policy the engine reads).
    pub fn reference(&self, case: &Case) -> Reason {
        let Some(user) = self.users.get(case.user) else {
            return Reason::NotAMember;
        };
        if case.resource_org != user.org {
            return Reason::CrossTenant;
        }
        if case.resource_env != case.token_env {
            return Reason::CrossEnvironment;
        }
        let is_doc = PERMISSIONS
            .get(case.action)
            .is_some_and(|p| p.starts_with("doc:"));
        if user.deny_prod && case.resource_env == PROD && DENIED_ON_PROD.contains(&case.action) {
            return Reason::ExplicitDeny;
        }
        if let Some(attrs) = self.attrs(case) {
            let frozen = attrs.tags.contains(&LEGAL_HOLD) && FROZEN_BY_HOLD.contains(&case.action)
                || attrs.archived && FROZEN_BY_ARCHIVE.contains(&case.action)
                || attrs.region == NO_PUBLISH_REGION && case.action == PUBLISH;
            if frozen {
                return Reason::ExplicitDeny;
            }
        }
        let by_role = user.bindings.iter().any(|(env, role)| {
            *env == case.resource_env
                && ROLES
                    .get(*role)
                    .is_some_and(|(_, grants)| grants.contains(&case.action))
        });
        let by_elevation = is_doc
            && ELEVATED.contains(&case.action)
            && user.elevation == Some((case.resource_env, case.doc));
        if by_role || by_elevation {
            Reason::Allowed
        } else {
            Reason::NoMatchingGrant
        }
    }

    /// The attributes of the document `case` is about; `None` for other resources.
    pub fn attrs(&self, case: &Case) -> Option<DocAttrs> {
        let is_doc = PERMISSIONS
            .get(case.action)
            .is_some_and(|p| p.starts_with("doc:"));
        is_doc.then(|| doc_attrs(self.seed, case.resource_org, case.resource_env, case.doc))
    }

    /// The request of `case` as the engine reads it, a document's with its attributes.
    pub fn request(&self, case: &Case) -> Request {
        let action = PERMISSIONS.get(case.action).copied().unwrap_or_default();
        let resource_type = action.split(':').next().unwrap_or_default();
        let mut attrs = portcullis::model::Attrs::new();
        if let Some(a) = self.attrs(case) {
            use portcullis::model::Value;
            attrs.insert("region".into(), Value::Str(a.region.into()));
            let tags = a.tags.iter().map(|t| Value::Str((*t).into())).collect();
            attrs.insert("tags".into(), Value::List(tags));
            attrs.insert("archived".into(), Value::Bool(a.archived));
        }
        Request {
            action: action.to_owned(),
            resource: Resource {
                resource_type: resource_type.to_owned(),
                id: (resource_type == "doc").then(|| format!("d{}", case.doc)),
                env: Some(env_id(case.resource_org, case.resource_env)),
                attrs,
                ..Resource::default()
            },
            ..Request::default()
        }
    }

    /// The rules of every organization on documents' attributes (see [`DocAttrs`]): deny
    /// overrides for everyone, in every environment.
    fn attribute_rules() -> Vec<Value> {
        let names = |ps: &[usize]| -> Vec<&str> {
            ps.iter()
                .filter_map(|p| PERMISSIONS.get(*p).copied())
                .collect()
        };
        let rule = |id: &str, permissions: Vec<&str>, when: Value| {
            json!({ "id": id, "effect": "deny", "everyone": true, "env": "*", "permissions": permissions,
                    "resource": { "type": "doc" }, "when": when })
        };
        vec![
            rule(
                "legal-hold-freezes-docs",
                names(&FROZEN_BY_HOLD),
                json!({ "in": [LEGAL_HOLD, { "attr": "resource.tags" }] }),
            ),
            rule(
                "archived-docs-are-read-only",
                names(&FROZEN_BY_ARCHIVE),
                json!({ "eq": [{ "attr": "resource.archived" }, true] }),
            ),
            rule(
                "no-publishing-from-us-gov",
                names(&[PUBLISH]),
                json!({ "eq": [{ "attr": "resource.region" }, NO_PUBLISH_REGION] }),
            ),
        ]
    }

    /// The policy source (the JSON the compiler reads) of every organization.
    pub fn policy_source(&self) -> Value {
        self.policy_source_of(0..self.shape.orgs)
    }

    /// The policy source of the given organizations only.
    pub fn policy_source_of(&self, orgs: std::ops::Range<usize>) -> Value {
        let mut permissions = serde_json::Map::new();
        for p in PERMISSIONS {
            if let Some((ty, verb)) = p.split_once(':') {
                let list = permissions.entry(ty).or_insert_with(|| json!([]));
                if let Some(a) = list.as_array_mut() {
                    a.push(json!(verb));
                }
            }
        }
        let roles: Vec<Value> = ROLES
            .iter()
            .map(|(id, grants)| {
                let list: Vec<&str> = grants
                    .iter()
                    .filter_map(|g| PERMISSIONS.get(*g).copied())
                    .collect();
                json!({ "id": id, "scope": "env", "permissions": list })
            })
            .collect();
        let orgs: Vec<Value> = orgs
            .map(|o| {
                let members: Vec<&User> = self.users.iter().filter(|u| u.org == o).collect();
                let mut bindings = Vec::new();
                let mut overrides = Self::attribute_rules();
                for u in &members {
                    for (env, role) in &u.bindings {
                        let role = ROLES.get(*role).map_or("viewer", |r| r.0);
                        bindings.push(json!({ "role": role, "user": u.id, "env": env_id(o, *env) }));
                    }
                    if u.deny_prod {
                        let denied: Vec<&str> = DENIED_ON_PROD
                            .iter()
                            .filter_map(|p| PERMISSIONS.get(*p).copied())
                            .collect();
                        overrides.push(json!({
                            "id": format!("{}-read-only-prod", u.id), "effect": "deny", "user": u.id,
                            "env": env_id(o, PROD), "permissions": denied, "resource": { "type": "doc" }
                        }));
                    }
                    if let Some((env, doc)) = u.elevation {
                        let elevated: Vec<&str> = ELEVATED
                            .iter()
                            .filter_map(|p| PERMISSIONS.get(*p).copied())
                            .collect();
                        overrides.push(json!({
                            "id": format!("{}-owns-d{doc}", u.id), "effect": "allow", "user": u.id,
                            "env": env_id(o, env), "permissions": elevated,
                            "resource": { "type": "doc", "id": format!("d{doc}") }
                        }));
                    }
                }
                json!({
                    "id": org_id(o),
                    "environments": (0..ENVIRONMENTS.len()).map(|e| json!({ "id": env_id(o, e) })).collect::<Vec<_>>(),
                    "users": members.iter().map(|u| json!({ "id": u.id })).collect::<Vec<_>>(),
                    "bindings": bindings,
                    "overrides": overrides,
                })
            })
            .collect();
        json!({
            "version": 1,
            "permissions": permissions,
            "roles": roles,
            "issuers": [{
                "iss": ISSUER, "audience": AUDIENCE, "kinds": ["envauth", "orgauth"],
                "max_lifetime": 86_400,
                "jwks": { "keys": [{ "kty": "OKP", "crv": "Ed25519", "kid": KID, "alg": "EdDSA", "x": ISSUER_X }] }
            }],
            "orgs": orgs,
        })
    }

    /// The workload as compact JSON for the Node harness: names, users and cases as arrays
    /// (`[user, token_env, action, resource_org, resource_env, doc, expected, attrs]`, where
    /// `attrs` is a document's `{region, tags, archived}` and `null` for other resources).
    pub fn to_json(&self) -> Value {
        json!({
            "seed": self.seed,
            "shape": self.shape,
            "permissions": PERMISSIONS,
            "environments": ENVIRONMENTS,
            "roles": ROLES.iter().map(|(id, g)| json!({ "id": id, "permissions": g })).collect::<Vec<_>>(),
            "denied_on_prod": DENIED_ON_PROD,
            "elevated": ELEVATED,
            "tags": TAGS,
            "attribute_rules": {
                "legal_hold": LEGAL_HOLD, "frozen_by_hold": FROZEN_BY_HOLD,
                "frozen_by_archive": FROZEN_BY_ARCHIVE,
                "no_publish_region": NO_PUBLISH_REGION, "publish": PUBLISH,
            },
            "issuer": { "iss": ISSUER, "aud": AUDIENCE, "kid": KID },
            "users": self.users.iter().map(|u| json!([u.id, u.org, u.bindings, u.deny_prod, u.elevation])).collect::<Vec<_>>(),
            "cases": self.cases.iter().map(|c| json!([
                c.user, c.token_env, c.action, c.resource_org, c.resource_env, c.doc, c.expected.as_str(),
                self.attrs(c)
            ])).collect::<Vec<_>>(),
        })
    }
}

/// The demo identity provider's signing key (`examples/keys/idp.private.jwk`), which the
/// workload's issuer trusts. For benchmarks and tests only.
pub fn issuer_signing_key() -> Result<SigningKey, String> {
    let jwk: Value = serde_json::from_str(include_str!("../../../examples/keys/idp.private.jwk"))
        .map_err(|e| e.to_string())?;
    let d = jwk
        .get("d")
        .and_then(Value::as_str)
        .ok_or("the demo key has no `d`")?;
    let bytes: [u8; 32] = URL_SAFE_NO_PAD
        .decode(d)
        .map_err(|e| e.to_string())?
        .try_into()
        .map_err(|_| "the demo key is not 32 bytes")?;
    Ok(SigningKey::from_bytes(&bytes))
}

impl Workload {
    /// An EnvAuth token of `user` for environment `env` (index within the user's org), valid
    /// for an hour from `now`, signed with `key` (see [`issuer_signing_key`]).
    pub fn token(&self, key: &SigningKey, user: usize, env: usize, now: i64) -> Option<String> {
        let u = self.users.get(user)?;
        Some(mint_eddsa(
            key,
            KID,
            TokenKind::EnvAuth,
            &Claims {
                iss: ISSUER.into(),
                sub: u.id.clone(),
                aud: AUDIENCE.into(),
                exp: now + 3600,
                iat: now - 10,
                jti: format!("{}-{env}", u.id),
                org: org_id(u.org),
                env: Some(env_id(u.org, env)),
                ..Claims::default()
            },
        ))
    }

    /// One unsigned-preview authorizer per organization, compiled from
    /// [`Workload::policy_source`], in organization order.
    pub fn authorizers(&self) -> Result<Vec<Authorizer>, String> {
        let source = serde_json::to_vec(&self.policy_source()).map_err(|e| e.to_string())?;
        compile_json(&source)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|p| Authorizer::preview(p.data().clone(), 1).map_err(|e| e.to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests;
