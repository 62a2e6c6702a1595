//! [`Authorizer`]: a verified, indexed bundle and every question one can ask it.

use std::sync::Arc;

use sha2::Digest as _;

use serde::Serialize;

use super::engine::{
    Decision, Engine, Reason, Request, Resolved, Resource, Stamp, TokenFacts, TraceStep, Tracer,
};
use super::Detail;
use crate::bundle::{self, BundleError, BundleHeader, BundleKeys, LoadOptions};
use crate::model::{MemberKind, Policy, PolicyData, RoleScope, Target};
use crate::token::{self, TokenError, VerifiedToken, VerifyOptions};

/// Where a policy came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// A bundle whose signature verified against a trusted key.
    SignedBundle,
    /// Compiled from a policy source in this process; for previews and tests only.
    UnsignedPreview,
}

/// Decides requests against one organization's policy.
#[derive(Debug)]
pub struct Authorizer {
    policy: Policy,
    version: u64,
    header: Option<BundleHeader>,
    /// Marks the token facts and resolved names this authorizer works out.
    stamp: Stamp,
}

/// A decision together with the trace of the rules considered.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// The decision.
    pub decision: Decision,
    /// The checks and rules considered, in order.
    pub trace: Vec<TraceStep>,
}

/// A role a principal holds where it was asked about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeldRole {
    /// Role id.
    pub role: Arc<str>,
    /// `org` or `env`.
    pub scope: &'static str,
    /// `direct`, `group:<id>` or `default`.
    pub via: String,
    /// The binding's rule id.
    pub binding: Arc<str>,
    /// Whether a condition restricts the binding to some resources.
    pub conditional: bool,
}

/// A rule that limits or extends the principal's permissions on some resources.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Restriction {
    /// Rule id.
    pub rule: Arc<str>,
    /// `allow`, `deny` or `conditional_grant`.
    pub effect: &'static str,
    /// Permissions concerned.
    pub permissions: Vec<String>,
    /// Human description of which resources.
    pub applies_to: String,
}

/// What a principal may do in one place: the answer to `/me` and to UI gating.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EffectivePermissions {
    /// Organization.
    pub org: String,
    /// Environment, or `None` for org level.
    pub env: Option<String>,
    /// Principal id (user id or service id).
    pub principal: String,
    /// Roles held here.
    pub roles: Vec<HeldRole>,
    /// Permissions granted here on every resource, after ceilings, denies and token scope.
    pub permissions: Vec<String>,
    /// Rules that restrict or extend them on selected resources.
    pub restrictions: Vec<Restriction>,
    /// Bundle version.
    pub bundle_version: u64,
}

/// Most requests one [`Authorizer::check_many`] call decides.
pub const MAX_BATCH: usize = 1000;

/// A batch larger than [`MAX_BATCH`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchTooLarge {
    /// How many requests were given.
    pub len: usize,
}

impl BatchTooLarge {
    /// A stable code.
    pub fn code(&self) -> &'static str {
        "batch_too_large"
    }
}

impl std::fmt::Display for BatchTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests in one batch; at most {MAX_BATCH} are decided at once",
            self.len
        )
    }
}

impl std::error::Error for BatchTooLarge {}

impl Authorizer {
    /// Verifies and loads a signed bundle.
    pub fn from_bundle(
        bytes: &[u8],
        keys: &BundleKeys,
        options: LoadOptions,
    ) -> Result<Self, BundleError> {
        let (header, policy) = bundle::load(bytes, keys, options)?;
        // The signature covers every byte: two bundles with one signature are one bundle.
        let signature = bytes
            .get(bytes.len().saturating_sub(8)..)
            .unwrap_or_default();
        Ok(Authorizer {
            stamp: Stamp {
                version: header.version,
                digest: digest(signature),
            },
            policy,
            version: header.version,
            header: Some(header),
        })
    }

    /// An unsigned authorizer over a policy compiled in this process (playground, policy
    /// tests). It can never be created from bundle bytes.
    pub fn preview(data: PolicyData, version: u64) -> Result<Self, crate::model::ModelError> {
        // Previews of one version differ by their content, so the stamp digests the body.
        let body = bundle::encode_body(&data);
        Ok(Self::unsigned(Policy::new(data)?, version, &body))
    }

    /// An unsigned preview from a bundle body compiled in this process (the npm package's
    /// compiler module hands one over). It can never be created from signed bundle bytes.
    pub fn preview_from_body(body: &[u8], version: u64) -> Result<Self, BundleError> {
        let policy = Policy::new(bundle::decode_body(body)?).map_err(BundleError::Invalid)?;
        Ok(Self::unsigned(policy, version, body))
    }

    fn unsigned(policy: Policy, version: u64, body: &[u8]) -> Self {
        Authorizer {
            stamp: Stamp {
                version,
                digest: digest(&sha2::Sha256::digest(body)),
            },
            policy,
            version,
            header: None,
        }
    }

    /// Where the policy came from.
    pub fn provenance(&self) -> Provenance {
        if self.header.is_some() {
            Provenance::SignedBundle
        } else {
            Provenance::UnsignedPreview
        }
    }

    /// The bundle header, for signed bundles.
    pub fn header(&self) -> Option<&BundleHeader> {
        self.header.as_ref()
    }

    /// The bundle version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The indexed policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn engine(&self) -> Engine<'_> {
        Engine {
            policy: &self.policy,
            version: self.version,
            stamp: self.stamp,
        }
    }

    /// Whether this authorizer, or another of the same bundle, worked out `facts`. A caller
    /// that keeps a token's facts beside the token (a cache of verified tokens) reuses the
    /// verification only when this holds.
    pub fn made(&self, facts: &TokenFacts) -> bool {
        facts.stamp == self.stamp
    }

    /// Verifies a token against the bundle's issuers.
    pub fn verify_token(
        &self,
        token: &str,
        options: &VerifyOptions<'_>,
    ) -> Result<VerifiedToken, TokenError> {
        token::verify(token, self.policy.issuer_keys(), options)
    }

    /// Decides one request for a verified token.
    pub fn check(&self, token: &VerifiedToken, request: &Request, now: i64) -> Decision {
        self.engine().check(token, request, now, &mut Tracer::off())
    }

    /// What this bundle makes of a verified token (member, revocation, organization,
    /// environment): the token's part of every decision, for [`Authorizer::check_resolved`].
    pub fn token_facts(&self, token: &VerifiedToken) -> TokenFacts {
        self.engine().token_facts(token)
    }

    /// A request's names (permission, environment, organization) looked up in this bundle,
    /// for [`Authorizer::check_resolved`].
    pub fn resolve(&self, request: &Request) -> Resolved {
        self.engine().resolve(request)
    }

    /// A permission, an environment and an organization looked up in this bundle, as
    /// [`Authorizer::resolve`] looks up a request's (each absent when `None`).
    pub fn resolve_names(
        &self,
        permission: Option<&str>,
        env: Option<&str>,
        org: Option<&str>,
    ) -> Resolved {
        self.engine().resolve_names(permission, env, org)
    }

    /// [`Authorizer::check`] with the token's facts and the request's names looked up
    /// already (by [`Authorizer::token_facts`] and [`Authorizer::resolve`] of this same
    /// authorizer): the same decision, without the look-ups. Callers that decide many
    /// requests for one token, or the same names again and again, keep them.
    pub fn check_resolved(
        &self,
        token: &VerifiedToken,
        facts: &TokenFacts,
        request: &Request,
        resolved: &Resolved,
        now: i64,
    ) -> Decision {
        self.engine()
            .check_resolved(token, facts, request, resolved, now, &mut Tracer::off())
    }

    /// Decides a request for a subject a PDP client names, without a token: the member with
    /// that id, service id, client id or alias (see [`Policy::subject_member`]), taken as if
    /// it presented a token made for this request: bound to the resource's environment, of
    /// the policy's organization, issued now, without a scope. Disabled members and subject
    /// revocations refuse it (`revoked`); an unknown subject is `not_a_member`.
    pub fn check_subject(&self, subject: &str, request: &Request, now: i64) -> Decision {
        let policy = &self.policy;
        let member = policy
            .subject_member(subject)
            .and_then(|m| policy.member(m));
        let (id, client_id) = match member {
            Some(m) if m.kind == MemberKind::Service => (m.id.as_str(), Some(m.token_id())),
            Some(m) => (m.id.as_str(), None),
            None => (subject, None),
        };
        let token = VerifiedToken::stand_in(
            id,
            client_id,
            policy.org(),
            request.resource.env.as_deref(),
            now,
        );
        self.check(&token, request, now)
    }

    /// Decides many requests for one verified token, in order; at most [`MAX_BATCH`].
    pub fn check_many(
        &self,
        token: &VerifiedToken,
        requests: &[Request],
        now: i64,
    ) -> Result<Vec<Decision>, BatchTooLarge> {
        if requests.len() > MAX_BATCH {
            return Err(BatchTooLarge {
                len: requests.len(),
            });
        }
        let engine = self.engine();
        Ok(requests
            .iter()
            .map(|r| engine.check(token, r, now, &mut Tracer::off()))
            .collect())
    }

    /// Verifies and decides in one step; a bad token is a decision (`invalid_token`).
    pub fn authorize(
        &self,
        token: &str,
        request: &Request,
        options: &VerifyOptions<'_>,
    ) -> Decision {
        match self.verify_token(token, options) {
            Ok(t) => self.check(&t, request, options.now),
            Err(e) => Decision::invalid_token(self.version, e),
        }
    }

    /// Decides and reports every check and rule considered.
    pub fn explain(&self, token: &VerifiedToken, request: &Request, now: i64) -> Explanation {
        let mut trace = Vec::new();
        let decision = self
            .engine()
            .check(token, request, now, &mut Tracer::recording(&mut trace));
        Explanation { decision, trace }
    }

    /// The principal's effective permissions in `env` (org level when `None`).
    ///
    /// `Err` carries the deny decision when the token may not act there at all.
    pub fn permissions(
        &self,
        token: &VerifiedToken,
        env: Option<&str>,
        now: i64,
    ) -> Result<EffectivePermissions, Decision> {
        let engine = self.engine();
        let probe = Resource {
            resource_type: String::new(),
            env: env.map(str::to_owned),
            ..Resource::default()
        };
        let (m, env_index) = engine.admit(token, &probe, now, &mut Tracer::off())?;
        let policy = &self.policy;
        let member = policy
            .member(m)
            .ok_or_else(|| engine.decision(Reason::NotAMember, None, None))?;
        let mut roles = Vec::new();
        let mut restrictions = Vec::new();
        let table = policy.permissions();
        for b in policy.bindings_of(m) {
            let Some(binding) = policy.binding(b) else {
                continue;
            };
            let Some(role) = policy.role(binding.role) else {
                continue;
            };
            if !binding.applies_in(role.scope, env_index) || !binding.window.contains(now) {
                continue;
            }
            let via = match binding.target {
                Target::Member(_) => "direct".to_owned(),
                Target::Group(g) => {
                    format!("group:{}", policy.group(g).map_or("?", |g| g.id.as_str()))
                }
                Target::Everyone => "default".to_owned(),
            };
            roles.push(HeldRole {
                role: role.id.clone(),
                scope: if role.scope == RoleScope::Org {
                    "org"
                } else {
                    "env"
                },
                via,
                binding: binding.id.clone(),
                conditional: binding.condition.is_some(),
            });
            if binding.condition.is_some() {
                restrictions.push(Restriction {
                    rule: binding.id.clone(),
                    effect: "conditional_grant",
                    permissions: table.names_of(&role.permissions),
                    applies_to: "resources meeting the binding's condition".into(),
                });
            }
        }
        for o in policy.overrides_of(m) {
            let Some(rule) = policy.override_rule(o) else {
                continue;
            };
            let here = match (rule.env, env_index) {
                (None, _) => true,
                (Some(sel), Some(e)) => sel.covers(e),
                (Some(_), None) => false,
            };
            if !here || !rule.window.contains(now) {
                continue;
            }
            let sel = &rule.resource;
            let mut applies = Vec::new();
            if let Some(t) = &sel.resource_type {
                applies.push(format!("type `{t}`"));
            }
            if let Some(g) = &sel.id_glob {
                applies.push(format!("id `{g}`"));
            }
            for (k, v) in &sel.attrs {
                applies.push(format!(
                    "{k} = {}",
                    serde_json::to_string(v).unwrap_or_default()
                ));
            }
            if rule.condition.is_some() {
                applies.push("the rule's condition".into());
            }
            restrictions.push(Restriction {
                rule: rule.id.clone(),
                effect: match rule.effect {
                    crate::model::Effect::Allow => "allow",
                    crate::model::Effect::Deny => "deny",
                },
                permissions: table.names_of(&rule.permissions),
                applies_to: if applies.is_empty() {
                    "every resource".into()
                } else {
                    applies.join(", ")
                },
            });
        }
        let mut permissions = Vec::new();
        for name in table.names() {
            let request = Request {
                action: name.clone(),
                resource: Resource {
                    resource_type: name.split(':').next().unwrap_or_default().to_owned(),
                    env: env.map(str::to_owned),
                    ..Resource::default()
                },
                ..Request::default()
            };
            if self.unconditionally_allowed(&engine, token, m, &request, now) {
                permissions.push(name.clone());
            }
        }
        Ok(EffectivePermissions {
            org: policy.org().to_owned(),
            env: env.map(str::to_owned),
            principal: member.id.clone(),
            roles,
            permissions,
            restrictions,
            bundle_version: self.version,
        })
    }

    /// Whether `request` is allowed on every resource of its type: the probe (no id, no
    /// attributes) is allowed by a rule with no condition, id pattern or attribute filter.
    fn unconditionally_allowed(
        &self,
        engine: &Engine<'_>,
        token: &VerifiedToken,
        m: u32,
        request: &Request,
        now: i64,
    ) -> bool {
        let policy = &self.policy;
        let decision = engine.check(token, request, now, &mut Tracer::off());
        let Some(rule) = decision.rule.as_ref().filter(|_| decision.allowed) else {
            return false;
        };
        policy
            .bindings_of(m)
            .filter_map(|b| policy.binding(b))
            .any(|b| &b.id == rule && b.condition.is_none())
            || policy
                .overrides_of(m)
                .filter_map(|o| policy.override_rule(o))
                .any(|o| {
                    &o.id == rule
                        && o.condition.is_none()
                        && o.resource.id_glob.is_none()
                        && o.resource.attrs.is_empty()
                })
    }

    /// May the token's principal manage `role` for user `user` (assign it or remove it: one
    /// rule decides both), in `env` for env roles? It needs the role in the actor's assignable
    /// set, and every role the user holds now at the same scope in it too: their org roles
    /// for an org role, their roles in `env` for an env role.
    pub fn delegation(
        &self,
        token: &VerifiedToken,
        role: &str,
        user: &str,
        env: Option<&str>,
        now: i64,
    ) -> Decision {
        let engine = self.engine();
        // Managing members is an org-level action; an EnvAuth token may still manage the
        // roles of its own environment.
        let place_env = if token.kind() == crate::token::TokenKind::EnvAuth {
            env
        } else {
            None
        };
        let place = Resource {
            resource_type: "role_assignment".into(),
            env: place_env.map(str::to_owned),
            ..Resource::default()
        };
        let actor = match engine.admit(token, &place, now, &mut Tracer::off()) {
            Ok((actor, _)) => actor,
            Err(d) => return d,
        };
        let env_index = match env {
            None => None,
            Some(e) => match self.policy.env_index(e) {
                Some(i) => Some(i),
                None => return engine.decision(Reason::CrossTenant, None, None),
            },
        };
        self.delegation_for(actor, env_index, role, user, now)
    }

    /// The delegation rule for a member already admitted (the CLI acting on a source file).
    pub fn delegation_for(
        &self,
        actor: u32,
        env_index: Option<u32>,
        role: &str,
        user: &str,
        now: i64,
    ) -> Decision {
        let engine = self.engine();
        let policy = &self.policy;
        // With an environment, the env role of that id (an org role of the same id is named
        // without one); without, the org role.
        let scoped = match env_index {
            Some(_) => policy
                .role_index_in(role, RoleScope::Env)
                .or_else(|| policy.role_index_in(role, RoleScope::Org)),
            None => policy.role_index(role),
        };
        let Some(role_index) = scoped else {
            return engine.decision(Reason::NoMatchingGrant, None, Some(Detail::UnknownRole));
        };
        let mut assignable: Vec<(u32, Arc<str>)> = Vec::new();
        for b in policy.bindings_of(actor) {
            let Some(binding) = policy.binding(b) else {
                continue;
            };
            let Some(held) = policy.role(binding.role) else {
                continue;
            };
            if binding.applies_in(held.scope, env_index)
                && binding.window.contains(now)
                && binding.condition.is_none()
            {
                assignable.extend(held.can_assign.iter().map(|r| (*r, binding.id.clone())));
            }
        }
        let Some((_, rule)) = assignable.iter().find(|(r, _)| *r == role_index) else {
            return engine.decision(
                Reason::NoMatchingGrant,
                None,
                Some(Detail::RoleNotAssignable),
            );
        };
        // The assignment touches the user's roles at its own scope: their org roles for an
        // org role, their roles in that environment for an env role.
        let env_scoped = policy
            .role(role_index)
            .is_some_and(|r| r.scope == RoleScope::Env);
        if env_scoped && env_index.is_none() {
            return engine.decision(Reason::NoMatchingGrant, None, Some(Detail::EnvRoleNeedsEnv));
        }
        if let Some(target) = policy.user_index(user) {
            for &b in policy.direct_bindings_of(target) {
                let Some(binding) = policy.binding(b) else {
                    continue;
                };
                let same_scope = match (env_scoped, binding.env, env_index) {
                    (false, None, _) => true,
                    (true, Some(sel), Some(e)) => sel.covers(e),
                    _ => false,
                };
                if same_scope
                    && binding.window.contains(now)
                    && !assignable.iter().any(|(r, _)| *r == binding.role)
                {
                    return engine.decision(
                        Reason::NoMatchingGrant,
                        Some(binding.id.clone()),
                        Some(Detail::TargetHoldsUnassignableRole),
                    );
                }
            }
        }
        engine.decision(Reason::Allowed, Some(rule.clone()), None)
    }
}

/// The first eight bytes of `bytes` (zeros where it is shorter).
fn digest(bytes: &[u8]) -> [u8; 8] {
    let mut out = [0; 8];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = *b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::Resolved;
    use crate::testing::{authorizer, request, token, NOW};
    use crate::token::TokenKind::{EnvAuth, OrgAuth};

    #[test]
    fn batch_checks_answer_like_single_checks() {
        let a = authorizer();
        let t = token(&a, EnvAuth, "mia", Some("dev"), |_| {});
        let requests: Vec<Request> = ["doc:read", "doc:edit", "doc:delete", "users:manage"]
            .iter()
            .map(|p| request(p, Some("dev")))
            .collect();
        let batch = a.check_many(&t, &requests, NOW).unwrap();
        let single: Vec<Decision> = requests.iter().map(|r| a.check(&t, r, NOW)).collect();
        assert_eq!(batch, single);
        assert_eq!(batch.iter().filter(|d| d.allowed).count(), 2);
    }

    #[test]
    fn authorize_never_fails_on_a_bad_token() {
        let a = authorizer();
        let d = a.authorize(
            "garbage",
            &request("doc:read", Some("dev")),
            &crate::token::VerifyOptions {
                now: NOW,
                audience: None,
            },
        );
        assert_eq!(
            (d.reason, d.detail, d.bundle_version),
            (
                Reason::InvalidToken,
                Some(Detail::Token(TokenError::Malformed("segments"))),
                3
            )
        );
        assert_eq!(a.provenance(), Provenance::UnsignedPreview);
    }

    #[test]
    fn effective_permissions_list_roles_grants_and_restrictions() {
        let a = authorizer();
        let t = token(&a, EnvAuth, "mia", Some("prod"), |_| {});
        let p = a.permissions(&t, Some("prod"), NOW).unwrap();
        assert_eq!(
            p.permissions,
            ["doc:read", "doc:edit"],
            "editor is capped by member's ceiling"
        );
        let roles: Vec<(&str, &str)> = p.roles.iter().map(|r| (&*r.role, r.via.as_str())).collect();
        assert_eq!(roles, [("member", "direct"), ("editor", "group:writers")]);
        assert_eq!(p.restrictions[0].rule.as_ref(), "no-prod-deletes");
        let t = token(&a, OrgAuth, "olga", None, |_| {});
        let p = a.permissions(&t, None, NOW).unwrap();
        assert_eq!(p.permissions.len(), 4);
        assert_eq!(
            a.permissions(&t, Some("dev"), NOW).unwrap_err().reason,
            Reason::EnvTokenRequired
        );
    }

    #[test]
    fn delegation_needs_the_role_and_the_targets_roles_in_the_assignable_set() {
        let a = authorizer();
        let olga = token(&a, OrgAuth, "olga", None, |_| {});
        let mia = token(&a, OrgAuth, "mia", None, |_| {});
        let d = |t: &VerifiedToken, role: &str, user: &str, env: Option<&str>| {
            a.delegation(t, role, user, env, NOW)
        };
        assert!(d(&olga, "member", "newbie", None).allowed);
        assert!(d(&mia, "editor", "newbie", Some("dev")).allowed);
        assert_eq!(
            d(&mia, "member", "newbie", None).detail,
            Some(Detail::RoleNotAssignable)
        );
        assert_eq!(
            d(&mia, "editor", "olga", Some("dev")).reason,
            Reason::Allowed,
            "olga holds no role in dev"
        );
        assert_eq!(
            d(&mia, "editor", "newbie", None).detail,
            Some(Detail::EnvRoleNeedsEnv)
        );
        let d2 = a.delegation(&mia, "member", "olga", None, NOW);
        assert_eq!(d2.detail, Some(Detail::RoleNotAssignable));
    }

    /// The authorizer of the test source with one edit applied, as a preview of `version`.
    fn edited(version: u64, edit: impl FnOnce(&mut serde_json::Value)) -> Authorizer {
        let mut source = crate::testing::source();
        edit(&mut source);
        let parsed = crate::source::parse_source(source.to_string().as_bytes()).unwrap();
        let data = crate::source::compile(&parsed).unwrap().remove(0);
        Authorizer::preview(data, version).unwrap()
    }

    #[test]
    fn facts_and_names_another_authorizer_made_are_worked_out_again() {
        // In the second bundle mia is disabled and `dev` is the first environment no more:
        // facts or names carried over would decide with the first bundle's indices.
        let first = authorizer();
        let second = edited(3, |s| {
            s["orgs"][0]["users"][1]["disabled"] = serde_json::json!(true);
            let envs = s["orgs"][0]["environments"].as_array_mut().unwrap();
            envs.reverse();
        });
        let t = token(&first, EnvAuth, "mia", Some("dev"), |_| {});
        let r = request("doc:edit", Some("dev"));
        let (facts, resolved) = (first.token_facts(&t), first.resolve(&r));
        assert!(first.made(&facts));
        assert!(!second.made(&facts), "same version, other content");
        assert_eq!(
            first.check_resolved(&t, &facts, &r, &resolved, NOW).reason,
            Reason::Allowed
        );
        let d = second.check_resolved(&t, &facts, &r, &resolved, NOW);
        assert_eq!(d, second.check(&t, &r, NOW));
        assert_eq!(
            (d.reason, d.detail),
            (Reason::Revoked, Some(Detail::MemberDisabled))
        );
        // Names alone from the other authorizer: worked out again as well.
        let own_facts = second.token_facts(&t);
        let d = second.check_resolved(&t, &own_facts, &r, &resolved, NOW);
        assert_eq!(d, second.check(&t, &r, NOW));
    }

    #[test]
    fn names_put_together_from_two_authorizers_are_trusted_by_neither() {
        let first = authorizer();
        let second = edited(4, |_| {});
        let t = token(&first, EnvAuth, "mia", Some("dev"), |_| {});
        let r = request("doc:edit", Some("prod"));
        let action = first.resolve_names(Some("doc:edit"), None, None);
        let env = second.resolve_names(None, Some("dev"), None);
        let mixed = Resolved::combine(&action, Some(&env), None);
        // Trusted, these names would put the request in `dev`, the token's environment.
        let facts = first.token_facts(&t);
        let d = first.check_resolved(&t, &facts, &r, &mixed, NOW);
        assert_eq!(d.reason, Reason::CrossEnvironment);
        let own_env = first.resolve_names(None, Some("prod"), None);
        let own = Resolved::combine(&action, Some(&own_env), None);
        assert_eq!(
            own,
            first.resolve(&r),
            "names of one authorizer combine into a request's"
        );
    }

    #[test]
    fn one_bundle_loaded_twice_makes_the_same_facts() {
        let a = authorizer();
        let b = authorizer();
        let t = token(&a, EnvAuth, "mia", Some("dev"), |_| {});
        assert!(b.made(&a.token_facts(&t)));
        assert!(
            !edited(4, |_| {}).made(&a.token_facts(&t)),
            "another version"
        );
    }

    #[test]
    fn every_detail_has_one_code() {
        let codes: Vec<&str> = Detail::codes().collect();
        let unique: std::collections::BTreeSet<&str> = codes.iter().copied().collect();
        assert_eq!(unique.len(), codes.len());
        for d in Detail::DECISION {
            assert_eq!(d.to_string(), d.code());
            assert_eq!(serde_json::to_value(d).unwrap(), d.code());
        }
    }
}
