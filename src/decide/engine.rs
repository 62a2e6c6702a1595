//! Decisions: one verified token, one action on one resource, one answer.
//!
//! The checks run in the contract's order and the first that applies decides:
//! `invalid_token`, `revoked`, `cross_tenant`, `cross_environment`, `env_token_required`,
//! `not_a_member`, `explicit_deny`, `outside_token_scope`, `allowed`, `no_matching_grant`.
//! The engine reads only the indexed [`Policy`] and its arguments; it never fails — a request
//! it cannot make sense of is denied.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Detail;
use crate::model::Attrs;
use crate::model::{evaluate, Condition, Scope};
use crate::model::{glob_match, Effect, Policy, ResourceSelector, RoleScope};
use crate::model::{PermSet, PermissionIndex};
use crate::token::{TokenError, TokenKind, VerifiedToken};

/// The one reason a decision gives, in order of precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The token is malformed, badly signed, of the wrong kind, expired or otherwise invalid.
    InvalidToken,
    /// The token id or subject is revoked, or the member is disabled.
    Revoked,
    /// The resource belongs to another organization than the token.
    CrossTenant,
    /// An EnvAuth token used outside its one environment.
    CrossEnvironment,
    /// An OrgAuth token used on a resource that lives in an environment.
    EnvTokenRequired,
    /// The subject is not a member (or service) of the organization.
    NotAMember,
    /// A deny override matched.
    ExplicitDeny,
    /// The policy allows it, but the token's `scope` does not cover it.
    OutsideTokenScope,
    /// A grant matched.
    Allowed,
    /// Nothing granted it.
    NoMatchingGrant,
}

impl Reason {
    /// All reasons, in precedence order.
    pub const ALL: [Reason; 10] = [
        Reason::InvalidToken,
        Reason::Revoked,
        Reason::CrossTenant,
        Reason::CrossEnvironment,
        Reason::EnvTokenRequired,
        Reason::NotAMember,
        Reason::ExplicitDeny,
        Reason::OutsideTokenScope,
        Reason::Allowed,
        Reason::NoMatchingGrant,
    ];

    /// The stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::InvalidToken => "invalid_token",
            Reason::Revoked => "revoked",
            Reason::CrossTenant => "cross_tenant",
            Reason::CrossEnvironment => "cross_environment",
            Reason::EnvTokenRequired => "env_token_required",
            Reason::NotAMember => "not_a_member",
            Reason::ExplicitDeny => "explicit_deny",
            Reason::OutsideTokenScope => "outside_token_scope",
            Reason::Allowed => "allowed",
            Reason::NoMatchingGrant => "no_matching_grant",
        }
    }

    /// Parses a code.
    pub fn parse(code: &str) -> Option<Self> {
        Reason::ALL.into_iter().find(|r| r.as_str() == code)
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The resource acted on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// Resource type, such as `workflow`.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Resource id, if the action targets one resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Organization, when the caller knows it; the policy's organization otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Environment the resource lives in; `None` for org-level resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Resource attributes, readable by conditions and selectors.
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

/// Request context beyond the resource.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// HTTP method, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Client address, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// An action on a resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The permission asked for, `type:verb`.
    pub action: String,
    /// The resource.
    pub resource: Resource,
    /// Context.
    #[serde(default)]
    pub context: Context,
}

/// An answer: allow or deny, the reason, the deciding rule and the bundle version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// Why.
    pub reason: Reason,
    /// The id of the deciding rule (binding, override or revocation), where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<Arc<str>>,
    /// Version of the bundle that decided.
    pub bundle_version: u64,
    /// A stable code refining the reason (a token error, `undeclared_permission`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Detail>,
}

impl Decision {
    /// A denial for a token that could not be verified.
    pub fn invalid_token(bundle_version: u64, error: TokenError) -> Self {
        Decision {
            allowed: false,
            reason: Reason::InvalidToken,
            rule: None,
            bundle_version,
            detail: Some(Detail::Token(error)),
        }
    }
}

/// Where a name of an environment points in one policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvRef {
    /// No environment (an org-level resource, an OrgAuth token).
    Absent,
    /// An environment of the policy, by index.
    Known(u32),
    /// A name the policy does not know (another tenant's environment).
    Unknown,
}

impl EnvRef {
    /// Whether two names are the same environment (two unknown names never are).
    pub fn same_as(self, other: EnvRef) -> bool {
        match (self, other) {
            (EnvRef::Absent, EnvRef::Absent) => true,
            (EnvRef::Known(a), EnvRef::Known(b)) => a == b,
            _ => false,
        }
    }
}

/// Which authorizer worked something out: its bundle version and a digest of the bytes it was
/// loaded from (a signed bundle's signature, a preview's body). Authorizers of the same bundle
/// share a stamp, and they decide alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub version: u64,
    pub digest: [u8; 8],
}

/// What one authorizer makes of one verified token: its member, whether it is revoked, its
/// organization and environment. It depends only on the token and the bundle, so a caller that
/// decides many requests for one token works it out once ([`Authorizer::token_facts`]) and
/// hands it back to [`Authorizer::check_resolved`]. It is stamped with the authorizer that
/// made it: another authorizer works the facts out again rather than trust them.
///
/// [`Authorizer::token_facts`]: super::Authorizer::token_facts
/// [`Authorizer::check_resolved`]: super::Authorizer::check_resolved
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenFacts {
    pub(crate) stamp: Stamp,
    /// The member the token speaks for.
    pub(crate) member: Option<u32>,
    /// Why the token is revoked (`token_revoked`, `subject_revoked`, `member_disabled`).
    pub(crate) revoked: Option<Detail>,
    /// Whether the token's organization is the policy's.
    pub(crate) same_org: bool,
    /// The token's environment.
    pub(crate) env: EnvRef,
}

/// A request's names looked up by one authorizer: the permission, the environment and whether
/// the organization named is another one. Stamped like [`TokenFacts`]: an authorizer that did
/// not make it looks the request's names up again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// `None` when put together from the names of different authorizers.
    pub(crate) stamp: Option<Stamp>,
    /// The permission asked for, if declared.
    pub(crate) permission: Option<PermissionIndex>,
    /// The resource's environment.
    pub(crate) env: EnvRef,
    /// Whether the resource names an organization other than the policy's.
    pub(crate) other_org: bool,
}

impl Resolved {
    /// A request's names put together from names looked up one at a time
    /// ([`Authorizer::resolve_names`](super::Authorizer::resolve_names)): the permission of
    /// `action`, the environment of `env` and the organization of `org`, each absent when
    /// `None`. Names from different authorizers make a `Resolved` no authorizer trusts.
    pub fn combine(action: &Resolved, env: Option<&Resolved>, org: Option<&Resolved>) -> Resolved {
        let same = |other: Option<&Resolved>| other.is_none_or(|o| o.stamp == action.stamp);
        Resolved {
            stamp: action.stamp.filter(|_| same(env) && same(org)),
            permission: action.permission,
            env: env.map_or(EnvRef::Absent, |e| e.env),
            other_org: org.is_some_and(|o| o.other_org),
        }
    }
}

/// One step of an explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceStep {
    /// The check: `token`, `revocation`, `tenant`, `environment`, `membership`, `deny`,
    /// `grant`, `ceiling`, `scope`.
    pub check: &'static str,
    /// The rule considered, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<Arc<str>>,
    /// `pass`, `fail`, `match`, `skip` or `capped`.
    pub outcome: &'static str,
    /// What was seen.
    pub note: String,
}

/// Collects trace steps when explaining; does nothing otherwise.
pub(crate) struct Tracer<'t>(Option<&'t mut Vec<TraceStep>>);

impl Tracer<'_> {
    #[inline]
    fn on(&self) -> bool {
        self.0.is_some()
    }

    fn step(
        &mut self,
        check: &'static str,
        rule: Option<&Arc<str>>,
        outcome: &'static str,
        note: impl FnOnce() -> String,
    ) {
        if let Some(steps) = self.0.as_deref_mut() {
            steps.push(TraceStep {
                check,
                rule: rule.cloned(),
                outcome,
                note: note(),
            });
        }
    }
}

/// The evaluator over one policy.
pub(crate) struct Engine<'p> {
    pub policy: &'p Policy,
    pub version: u64,
    pub stamp: Stamp,
}

/// The outcome of looking for a grant.
enum Grant {
    None,
    Allowed(Arc<str>),
    Capped(Arc<str>),
}

const NO_ATTRS: &Attrs = &Attrs::new();

impl<'p> Engine<'p> {
    fn decide(&self, reason: Reason, rule: Option<Arc<str>>, detail: Option<Detail>) -> Decision {
        Decision {
            allowed: reason == Reason::Allowed,
            reason,
            rule,
            bundle_version: self.version,
            detail,
        }
    }

    /// Resolves the token's member: users by `sub`, services by `client_id`.
    pub fn member_of(&self, token: &VerifiedToken) -> Option<u32> {
        match token.kind() {
            TokenKind::Service => token.client_id().and_then(|c| self.policy.service_index(c)),
            _ => self.policy.user_index(token.sub()),
        }
    }

    /// What this policy makes of `token`, worked out once per token (see [`TokenFacts`]).
    pub fn token_facts(&self, token: &VerifiedToken) -> TokenFacts {
        let policy = self.policy;
        let member = self.member_of(token);
        let revoked = if policy.is_token_revoked(token.jti()) {
            Some(Detail::TokenRevoked)
        } else if policy
            .subject_revoked_before(token.sub())
            .is_some_and(|t| token.iat() < t)
        {
            Some(Detail::SubjectRevoked)
        } else if member
            .and_then(|m| policy.member(m))
            .is_some_and(|m| m.disabled)
        {
            Some(Detail::MemberDisabled)
        } else {
            None
        };
        TokenFacts {
            stamp: self.stamp,
            member,
            revoked,
            same_org: token.org() == policy.org(),
            env: self.env_ref(token.env()),
        }
    }

    fn env_ref(&self, env: Option<&str>) -> EnvRef {
        match env {
            None => EnvRef::Absent,
            Some(e) => self
                .policy
                .env_index(e)
                .map_or(EnvRef::Unknown, EnvRef::Known),
        }
    }

    /// The request's names looked up in this policy (see [`Resolved`]).
    pub fn resolve(&self, request: &Request) -> Resolved {
        let resource = &request.resource;
        self.resolve_names(
            Some(&request.action),
            resource.env.as_deref(),
            resource.org.as_deref(),
        )
    }

    /// A permission, an environment and an organization looked up in this policy (each
    /// absent when `None`).
    pub fn resolve_names(
        &self,
        permission: Option<&str>,
        env: Option<&str>,
        org: Option<&str>,
    ) -> Resolved {
        Resolved {
            stamp: Some(self.stamp),
            permission: permission.and_then(|p| self.policy.permissions().index(p)),
            env: self.env_ref(env),
            other_org: org.is_some_and(|o| o != self.policy.org()),
        }
    }

    /// Steps 1–6: everything before grants. `Err` is the decision; `Ok` the member index.
    fn gate(
        &self,
        token: &VerifiedToken,
        resource: &Resource,
        now: i64,
        trace: &mut Tracer<'_>,
    ) -> Result<(u32, Option<u32>), Decision> {
        let facts = self.token_facts(token);
        let resolved = self.resolve_names(None, resource.env.as_deref(), resource.org.as_deref());
        self.gate_resolved(token, &facts, resource, &resolved, now, trace)
    }

    /// [`Engine::gate`] from facts and names already looked up.
    fn gate_resolved(
        &self,
        token: &VerifiedToken,
        facts: &TokenFacts,
        resource: &Resource,
        resolved: &Resolved,
        now: i64,
        trace: &mut Tracer<'_>,
    ) -> Result<(u32, Option<u32>), Decision> {
        if let Err(e) = token.check_time(now) {
            trace.step("token", None, "fail", || e.to_string());
            return Err(self.decide(Reason::InvalidToken, None, Some(Detail::Token(e))));
        }
        trace.step("token", None, "pass", || {
            format!("{} token of `{}`", token.kind().as_str(), token.sub())
        });
        if let Some(detail) = facts.revoked {
            trace.step("revocation", None, "fail", || match detail {
                Detail::TokenRevoked => format!("token id `{}` is revoked", token.jti()),
                Detail::SubjectRevoked => format!(
                    "tokens of `{}` issued before the cut-off are revoked",
                    token.sub()
                ),
                _ => format!("member `{}` is disabled", token.sub()),
            });
            return Err(self.decide(Reason::Revoked, None, Some(detail)));
        }
        trace.step("revocation", None, "pass", String::new);
        // A resource outside the organization's environments belongs to another tenant.
        if !facts.same_org || resolved.other_org || resolved.env == EnvRef::Unknown {
            trace.step("tenant", None, "fail", || {
                format!("token of org `{}`; resource outside it", token.org())
            });
            return Err(self.decide(Reason::CrossTenant, None, None));
        }
        trace.step("tenant", None, "pass", || format!("org `{}`", token.org()));
        let env = match resolved.env {
            EnvRef::Known(e) => Some(e),
            _ => None,
        };
        match token.kind() {
            TokenKind::EnvAuth if !facts.env.same_as(resolved.env) => {
                trace.step("environment", None, "fail", || {
                    format!(
                        "token bound to `{}`, resource in {}",
                        token.env().unwrap_or_default(),
                        resource
                            .env
                            .as_deref()
                            .map_or("the org itself".into(), |e| format!("`{e}`"))
                    )
                });
                return Err(self.decide(Reason::CrossEnvironment, None, None));
            }
            TokenKind::OrgAuth if resolved.env != EnvRef::Absent => {
                trace.step("environment", None, "fail", || {
                    "an OrgAuth token acts on org-level resources only".into()
                });
                return Err(self.decide(Reason::EnvTokenRequired, None, None));
            }
            _ => trace.step("environment", None, "pass", String::new),
        }
        let Some(member) = facts.member else {
            trace.step("membership", None, "fail", || {
                format!("`{}` is not a member of `{}`", token.sub(), token.org())
            });
            return Err(self.decide(Reason::NotAMember, None, None));
        };
        trace.step("membership", None, "pass", String::new);
        Ok((member, env))
    }

    /// Decides one request.
    pub fn check(
        &self,
        token: &VerifiedToken,
        request: &Request,
        now: i64,
        trace: &mut Tracer<'_>,
    ) -> Decision {
        let facts = self.token_facts(token);
        let resolved = self.resolve(request);
        self.check_resolved(token, &facts, request, &resolved, now, trace)
    }

    /// [`Engine::check`] from facts and names already looked up: the same decision.
    pub fn check_resolved(
        &self,
        token: &VerifiedToken,
        facts: &TokenFacts,
        request: &Request,
        resolved: &Resolved,
        now: i64,
        trace: &mut Tracer<'_>,
    ) -> Decision {
        // Facts and names another authorizer made are worked out again, never trusted.
        let facts = &if facts.stamp == self.stamp {
            *facts
        } else {
            self.token_facts(token)
        };
        let resolved = &if resolved.stamp == Some(self.stamp) {
            *resolved
        } else {
            self.resolve(request)
        };
        let resource = &request.resource;
        let (m, env) = match self.gate_resolved(token, facts, resource, resolved, now, trace) {
            Ok(v) => v,
            Err(d) => return d,
        };
        let Some(member) = self.policy.member(m) else {
            return self.decide(Reason::NotAMember, None, None);
        };
        let Some(p) = resolved.permission else {
            trace.step("grant", None, "fail", || {
                format!("`{}` is not a declared permission", request.action)
            });
            return self.decide(
                Reason::NoMatchingGrant,
                None,
                Some(Detail::UndeclaredPermission),
            );
        };
        let env_attrs = env
            .and_then(|e| self.policy.env(e))
            .map_or(NO_ATTRS, |e| &e.attrs);
        let scope = Scope {
            principal_id: &member.id,
            principal: &member.attrs,
            resource_type: &resource.resource_type,
            resource_id: resource.id.as_deref(),
            env_id: resource.env.as_deref(),
            resource: &resource.attrs,
            env: env_attrs,
            method: request.context.method.as_deref(),
            ip: request.context.ip.as_deref(),
            now,
        };
        if let Some(rule) = self.matching_override(Effect::Deny, m, p, env, resource, &scope, trace)
        {
            return self.decide(Reason::ExplicitDeny, Some(rule), None);
        }
        match self.grant(m, p, env, resource, &scope, now, trace) {
            Grant::Allowed(rule) => {
                if !token.scope_covers(&request.action) {
                    trace.step("scope", None, "fail", || {
                        format!("token scope does not cover `{}`", request.action)
                    });
                    return self.decide(Reason::OutsideTokenScope, Some(rule), None);
                }
                self.decide(Reason::Allowed, Some(rule), None)
            }
            Grant::Capped(rule) => self.decide(
                Reason::NoMatchingGrant,
                Some(rule),
                Some(Detail::AboveEnvCeiling),
            ),
            Grant::None => self.decide(Reason::NoMatchingGrant, None, None),
        }
    }

    fn condition_holds(cond: Option<&Condition>, scope: &Scope<'_>, for_deny: bool) -> bool {
        match cond {
            None => true,
            Some(c) => evaluate(c, scope).unwrap_or(for_deny),
        }
    }

    /// The first override of `effect` reaching member `m` that applies to the request: its
    /// permission, time window, environment, resource selector and condition. A condition
    /// that cannot be evaluated counts as holding for a deny and as failing for an allow:
    /// either way the request gets the stricter answer.
    #[allow(clippy::too_many_arguments)]
    fn matching_override(
        &self,
        effect: Effect,
        m: u32,
        p: PermissionIndex,
        env: Option<u32>,
        resource: &Resource,
        scope: &Scope<'_>,
        trace: &mut Tracer<'_>,
    ) -> Option<Arc<str>> {
        let (check, name) = match effect {
            Effect::Deny => ("deny", "deny override"),
            Effect::Allow => ("grant", "allow override"),
        };
        for o in self.policy.overrides_of(m) {
            let Some(rule) = self.policy.override_rule(o) else {
                continue;
            };
            if rule.effect != effect || !rule.permissions.contains(p) {
                continue;
            }
            let applies = rule.window.contains(scope.now)
                && override_env_covers(rule.env, env)
                && selector_matches(&rule.resource, resource)
                && Self::condition_holds(rule.condition.as_deref(), scope, effect == Effect::Deny);
            if applies {
                trace.step(check, Some(&rule.id), "match", || match effect {
                    Effect::Deny => "deny override matches".into(),
                    Effect::Allow => "allow override".into(),
                });
                return Some(rule.id.clone());
            }
            trace.step(check, Some(&rule.id), "skip", || {
                format!("{name} does not match this request")
            });
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn grant(
        &self,
        m: u32,
        p: PermissionIndex,
        env: Option<u32>,
        resource: &Resource,
        scope: &Scope<'_>,
        now: i64,
        trace: &mut Tracer<'_>,
    ) -> Grant {
        let policy = self.policy;
        let mut env_grant: Option<Arc<str>> = None;
        for b in policy.bindings_of(m) {
            let Some(binding) = policy.binding(b) else {
                continue;
            };
            let Some(role) = policy.role(binding.role) else {
                continue;
            };
            if !role.permissions.contains(p) {
                continue;
            }
            let in_place = binding.applies_in(role.scope, env);
            if !in_place || !binding.window.contains(now) {
                if trace.on() {
                    let why = if in_place {
                        "outside its time window"
                    } else {
                        "bound elsewhere"
                    };
                    trace.step("grant", Some(&binding.id), "skip", || {
                        format!("role `{}` {why}", role.id)
                    });
                }
                continue;
            }
            if !Self::condition_holds(binding.condition.as_deref(), scope, false) {
                trace.step("grant", Some(&binding.id), "skip", || {
                    format!("role `{}`: condition does not hold", role.id)
                });
                continue;
            }
            if role.scope == RoleScope::Org {
                trace.step("grant", Some(&binding.id), "match", || {
                    format!("org role `{}`", role.id)
                });
                return Grant::Allowed(binding.id.clone());
            }
            trace.step("grant", Some(&binding.id), "match", || {
                format!("env role `{}`", role.id)
            });
            if env_grant.is_none() {
                env_grant = Some(binding.id.clone());
            }
        }
        if env_grant.is_none() {
            env_grant = self.matching_override(Effect::Allow, m, p, env, resource, scope, trace);
        }
        let Some(rule) = env_grant else {
            trace.step("grant", None, "fail", || {
                "no binding or allow override grants it".into()
            });
            return Grant::None;
        };
        if env.is_none() {
            return Grant::Allowed(rule);
        }
        match self.ceiling(m, now) {
            Some(ceiling) if !ceiling.contains(p) => {
                trace.step("ceiling", Some(&rule), "capped", || {
                    "above the org role's environment ceiling".into()
                });
                Grant::Capped(rule)
            }
            _ => Grant::Allowed(rule),
        }
    }

    /// The env ceiling of member `m`: the union of the ceilings its active org roles declare,
    /// or `None` when none declares one. Conditions do not lift a ceiling.
    pub fn ceiling(&self, m: u32, now: i64) -> Option<PermSet> {
        let mut ceiling: Option<PermSet> = None;
        for b in self.policy.bindings_of(m) {
            let Some(binding) = self.policy.binding(b) else {
                continue;
            };
            let Some(role) = self.policy.role(binding.role) else {
                continue;
            };
            if let (RoleScope::Org, Some(c), true) =
                (role.scope, &role.env_ceiling, binding.window.contains(now))
            {
                ceiling.get_or_insert_with(PermSet::new).union_with(c);
            }
        }
        ceiling
    }
}

fn override_env_covers(selector: Option<crate::model::EnvSelector>, env: Option<u32>) -> bool {
    match (selector, env) {
        (None, _) => true,
        (Some(sel), Some(e)) => sel.covers(e),
        (Some(_), None) => false,
    }
}

/// Whether a resource selector matches a resource.
pub(crate) fn selector_matches(selector: &ResourceSelector, resource: &Resource) -> bool {
    selector
        .resource_type
        .as_deref()
        .is_none_or(|t| t == resource.resource_type)
        && selector
            .id_glob
            .as_deref()
            .is_none_or(|g| resource.id.as_deref().is_some_and(|id| glob_match(g, id)))
        && selector
            .attrs
            .iter()
            .all(|(k, v)| resource.attrs.get(k) == Some(v))
}

impl<'p> Engine<'p> {
    /// The gate alone, for callers that act on the principal rather than a permission.
    pub(crate) fn admit(
        &self,
        token: &VerifiedToken,
        resource: &Resource,
        now: i64,
        trace: &mut Tracer<'_>,
    ) -> Result<(u32, Option<u32>), Decision> {
        self.gate(token, resource, now, trace)
    }

    pub(crate) fn decision(
        &self,
        reason: Reason,
        rule: Option<Arc<str>>,
        detail: Option<Detail>,
    ) -> Decision {
        self.decide(reason, rule, detail)
    }
}

impl<'t> Tracer<'t> {
    /// A tracer that records into `steps`.
    pub(crate) fn recording(steps: &'t mut Vec<TraceStep>) -> Self {
        Tracer(Some(steps))
    }

    /// A tracer that records nothing.
    pub(crate) fn off() -> Self {
        Tracer(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{authorizer, request, token, NOW};
    use crate::token::TokenKind::{EnvAuth, OrgAuth, Service};

    fn reason(
        kind: crate::token::TokenKind,
        sub: &str,
        tenv: Option<&str>,
        action: &str,
        renv: Option<&str>,
    ) -> Reason {
        let a = authorizer();
        let t = token(&a, kind, sub, tenv, |_| {});
        a.check(&t, &request(action, renv), NOW).reason
    }

    #[test]
    fn the_first_applicable_reason_decides() {
        let a = authorizer();
        // Revoked beats cross-tenant: a burned token is refused as revoked wherever it is used.
        let t = token(&a, EnvAuth, "mia", Some("dev"), |c| c.jti = "burned".into());
        let mut r = request("doc:read", Some("dev"));
        r.resource.org = Some("globex".into());
        assert_eq!(a.check(&t, &r, NOW).reason, Reason::Revoked);
        // Cross-tenant beats cross-environment.
        let t = token(&a, EnvAuth, "mia", Some("dev"), |_| {});
        assert_eq!(a.check(&t, &r, NOW).reason, Reason::CrossTenant);
        // Cross-environment beats not-a-member.
        assert_eq!(
            reason(EnvAuth, "stranger", Some("dev"), "doc:read", Some("prod")),
            Reason::CrossEnvironment
        );
        assert_eq!(
            reason(EnvAuth, "stranger", Some("dev"), "doc:read", Some("dev")),
            Reason::NotAMember
        );
        // Explicit deny beats outside-token-scope.
        let t = token(&a, EnvAuth, "olga", Some("prod"), |c| {
            c.scope = Some("doc:read".into())
        });
        assert_eq!(
            a.check(&t, &request("doc:delete", Some("prod")), NOW)
                .reason,
            Reason::ExplicitDeny
        );
        assert_eq!(
            a.check(&t, &request("doc:edit", Some("prod")), NOW).reason,
            Reason::OutsideTokenScope
        );
        assert_eq!(
            a.check(&t, &request("doc:read", Some("prod")), NOW).reason,
            Reason::Allowed
        );
    }

    #[test]
    fn token_kinds_bind_where_they_act() {
        assert_eq!(
            reason(OrgAuth, "olga", None, "users:manage", None),
            Reason::Allowed
        );
        assert_eq!(
            reason(OrgAuth, "olga", None, "doc:read", Some("dev")),
            Reason::EnvTokenRequired
        );
        assert_eq!(
            reason(EnvAuth, "olga", Some("dev"), "users:manage", None),
            Reason::CrossEnvironment
        );
        assert_eq!(
            reason(Service, "bot-1", None, "doc:read", Some("prod")),
            Reason::Allowed
        );
        assert_eq!(
            reason(EnvAuth, "gone", Some("dev"), "doc:read", Some("dev")),
            Reason::Revoked
        );
        assert_eq!(
            reason(EnvAuth, "olga", Some("qa"), "doc:read", Some("qa")),
            Reason::CrossTenant
        );
    }

    #[test]
    fn ceilings_cap_env_grants_and_name_the_capped_rule() {
        let a = authorizer();
        let t = token(&a, EnvAuth, "mia", Some("dev"), |_| {});
        let d = a.check(&t, &request("doc:edit", Some("dev")), NOW);
        assert_eq!(
            (d.reason, d.rule.as_deref()),
            (Reason::Allowed, Some("writers:editor@*"))
        );
        let d = a.check(&t, &request("doc:delete", Some("dev")), NOW);
        assert_eq!(
            (d.reason, d.rule.as_deref(), d.detail),
            (
                Reason::NoMatchingGrant,
                Some("writers:editor@*"),
                Some(Detail::AboveEnvCeiling)
            )
        );
        let d = a.check(&t, &request("doc:fly", Some("dev")), NOW);
        assert_eq!(d.detail, Some(Detail::UndeclaredPermission));
    }

    #[test]
    fn an_expired_session_is_refused_at_decision_time() {
        let a = authorizer();
        let t = token(&a, EnvAuth, "olga", Some("dev"), |c| c.exp = NOW + 300);
        // Past the expiry and the issuer's leeway of 30 seconds.
        let d = a.check(&t, &request("doc:read", Some("dev")), NOW + 301 + 30);
        assert_eq!(
            (d.reason, d.detail),
            (
                Reason::InvalidToken,
                Some(Detail::Token(TokenError::Expired))
            )
        );
    }

    #[test]
    fn a_subject_revocation_cuts_off_tokens_issued_before_the_instant_only() {
        let mut source = crate::testing::source();
        source["orgs"][0]["revocations"]["subjects"] = serde_json::json!([
            { "sub": "olga", "before": NOW - 10 }
        ]);
        let parsed = crate::source::parse_source(source.to_string().as_bytes()).unwrap();
        let data = crate::source::compile(&parsed).unwrap().remove(0);
        let a = crate::Authorizer::preview(data, 3).unwrap();
        let decide = |iat: i64| {
            let t = token(&a, EnvAuth, "olga", Some("dev"), |c| c.iat = iat);
            let d = a.check(&t, &request("doc:read", Some("dev")), NOW);
            (d.reason, d.detail)
        };
        assert_eq!(
            decide(NOW - 11),
            (Reason::Revoked, Some(Detail::SubjectRevoked)),
            "issued a second before the instant"
        );
        assert_eq!(
            decide(NOW - 10),
            (Reason::Allowed, None),
            "issued at the instant"
        );
        assert_eq!(
            decide(NOW + 5),
            (Reason::Allowed, None),
            "re-issued after the instant"
        );
        // Another subject is untouched.
        let t = token(&a, EnvAuth, "mia", Some("dev"), |c| c.iat = NOW - 100);
        assert_eq!(
            a.check(&t, &request("doc:read", Some("dev")), NOW).reason,
            Reason::Allowed
        );
    }

    #[test]
    fn reason_codes_parse_back() {
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!(Reason::parse("Allowed"), None);
        assert_eq!(Reason::parse(""), None);
    }

    #[test]
    fn environments_are_the_same_only_when_both_are_absent_or_one_known_environment() {
        use EnvRef::{Absent, Known, Unknown};
        assert!(Absent.same_as(Absent));
        assert!(Known(1).same_as(Known(1)));
        assert!(!Known(1).same_as(Known(2)));
        assert!(
            !Unknown.same_as(Unknown),
            "two unknown names may be two environments"
        );
        assert!(!Absent.same_as(Known(0)));
        assert!(!Known(0).same_as(Absent));
        assert!(!Unknown.same_as(Absent));
    }

    #[test]
    fn an_explanation_names_each_check_and_why_a_rule_was_skipped() {
        let a = authorizer();
        let notes = |t: &VerifiedToken, action: &str, env: Option<&str>| {
            a.explain(t, &request(action, env), NOW)
                .trace
                .into_iter()
                .map(|s| (s.check, s.outcome, s.note))
                .collect::<Vec<_>>()
        };
        let revoked = notes(
            &token(&a, EnvAuth, "mia", Some("dev"), |c| c.jti = "burned".into()),
            "doc:read",
            Some("dev"),
        );
        assert_eq!(
            revoked.last().unwrap(),
            &(
                "revocation",
                "fail",
                "token id `burned` is revoked".to_owned()
            )
        );
        let disabled = notes(
            &token(&a, EnvAuth, "gone", Some("dev"), |_| {}),
            "doc:read",
            Some("dev"),
        );
        assert_eq!(
            disabled.last().unwrap(),
            &("revocation", "fail", "member `gone` is disabled".to_owned())
        );
        // At org level mia's env role is bound elsewhere, and her org role lacks the right.
        let org_level = notes(&token(&a, OrgAuth, "mia", None, |_| {}), "doc:edit", None);
        let checks: Vec<&str> = org_level.iter().map(|(c, _, _)| *c).collect();
        assert_eq!(
            checks,
            [
                "token",
                "revocation",
                "tenant",
                "environment",
                "membership",
                "grant",
                "grant"
            ]
        );
        assert!(org_level.contains(&("grant", "skip", "role `editor` bound elsewhere".to_owned())));
    }

    #[test]
    fn a_subject_cut_off_is_explained() {
        let mut source = crate::testing::source();
        source["orgs"][0]["revocations"]["subjects"] =
            serde_json::json!([{ "sub": "olga", "before": NOW }]);
        let parsed = crate::source::parse_source(source.to_string().as_bytes()).unwrap();
        let data = crate::source::compile(&parsed).unwrap().remove(0);
        let a = crate::Authorizer::preview(data, 3).unwrap();
        let t = token(&a, EnvAuth, "olga", Some("dev"), |_| {});
        let trace = a.explain(&t, &request("doc:read", Some("dev")), NOW).trace;
        let last = trace.last().unwrap();
        assert_eq!(
            (last.check, last.outcome, last.note.as_str()),
            (
                "revocation",
                "fail",
                "tokens of `olga` issued before the cut-off are revoked"
            )
        );
    }
}
