//! The compiled policy of one organization: plain data ([`PolicyData`]) and the immutable,
//! indexed form the engine reads ([`Policy`]).
//!
//! Everything refers to everything else by index, so the binary bundle stays compact and a
//! decision is a handful of hash and bit look-ups. [`Policy::new`] checks every index and
//! builds the look-up tables; it is the only way to obtain a [`Policy`], whether the data came
//! from the compiler or from a decoded bundle.

mod condition;
mod index;
mod permission;
mod route;
mod value;

use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;

use crate::token::{Issuer, IssuerKeys, IssuerKeysError, KeyError};
use index::{IdIndex, Lists};

pub(crate) use condition::evaluate;
pub use condition::{
    AttrRef, Condition, Operand, Scope, Subject, MAX_CONDITION_DEPTH, MAX_CONDITION_NODES,
};
pub(crate) use permission::split_permission;
pub use permission::{PatternError, PermSet, PermissionIndex, PermissionTable};
pub use route::{
    check_id, match_route, CanonicalPath, EnvSource, IdError, IdPattern, IdPatternError, PathError,
    Route, RouteMatch, RouteTemplate, Segment, TemplateError, MAX_ID_PATTERN_BYTES, MAX_PATH_BYTES,
    MAX_SEGMENTS,
};
pub use value::{Attrs, Value, MAX_VALUE_DEPTH};

/// Where a role's permissions apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RoleScope {
    /// Org-wide: org-level resources and, as a baseline, every environment.
    Org,
    /// Only in the environment the role is bound in.
    Env,
}

/// A role: a named set of permissions.
#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    /// Role id, unique in the policy.
    pub id: Arc<str>,
    /// Where the role applies.
    pub scope: RoleScope,
    /// What the role grants.
    pub permissions: PermSet,
    /// For org roles: the most a holder may get inside any environment from env roles,
    /// groups, defaults and overrides. `None`: no ceiling.
    pub env_ceiling: Option<PermSet>,
    /// Roles (indices) that holders may assign or remove.
    pub can_assign: Vec<u32>,
}

/// An environment (workspace) of the organization.
#[derive(Clone, Debug, PartialEq)]
pub struct Environment {
    /// Environment id; unique across the organization.
    pub id: String,
    /// Environment attributes, readable by conditions as `env.<name>`.
    pub attrs: Attrs,
}

/// A group of members.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// Group id.
    pub id: String,
}

/// Whether a member is a person or a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemberKind {
    /// A user (operator), identified by the token's `sub`.
    User,
    /// An OAuth2 client-credentials client, identified by the token's `client_id`.
    Service,
}

/// A member of the organization.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// Member id (a user's `sub`; a service's name).
    pub id: String,
    /// User or service.
    pub kind: MemberKind,
    /// For services: the OAuth2 client id their tokens carry.
    pub client_id: Option<String>,
    /// Attributes, readable by conditions as `principal.<name>`.
    pub attrs: Attrs,
    /// Groups (indices) the member belongs to.
    pub groups: Vec<u32>,
    /// A disabled member's tokens are refused with `revoked`.
    pub disabled: bool,
}

impl Member {
    /// The id its tokens carry: `sub` for a user, `client_id` (or the id) for a service.
    pub fn token_id(&self) -> &str {
        match self.kind {
            MemberKind::User => &self.id,
            MemberKind::Service => self.client_id.as_deref().unwrap_or(&self.id),
        }
    }
}

/// Who a binding or override applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// One member (index).
    Member(u32),
    /// Every member of a group (index).
    Group(u32),
    /// Every member of the organization.
    Everyone,
}

/// Which environments a binding or override covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EnvSelector {
    /// One environment (index).
    One(u32),
    /// Every environment of the organization.
    All,
}

impl EnvSelector {
    /// Whether the selector covers environment `env`.
    #[inline]
    pub fn covers(self, env: u32) -> bool {
        match self {
            EnvSelector::One(e) => e == env,
            EnvSelector::All => true,
        }
    }
}

/// A validity window in Unix seconds: `not_before <= now < not_after`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Window {
    /// First valid instant.
    pub not_before: Option<i64>,
    /// First instant no longer valid.
    pub not_after: Option<i64>,
}

impl Window {
    /// Whether `now` lies in the window.
    #[inline]
    pub fn contains(&self, now: i64) -> bool {
        self.not_before.is_none_or(|t| now >= t) && self.not_after.is_none_or(|t| now < t)
    }
}

/// Grants a role to a target.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    /// Rule id reported in decisions.
    pub id: Arc<str>,
    /// Role (index).
    pub role: u32,
    /// Who holds it.
    pub target: Target,
    /// For env roles: where. Always `None` for org roles.
    pub env: Option<EnvSelector>,
    /// When.
    pub window: Window,
    /// Restrictive condition, if any.
    pub condition: Option<Box<Condition>>,
}

impl Binding {
    /// Whether the binding's role, of `scope`, applies in `env` (`None`: at org level): an
    /// org role everywhere in its organization, an env role only in the environments the
    /// binding selects.
    pub fn applies_in(&self, scope: RoleScope, env: Option<u32>) -> bool {
        match (scope, env, self.env) {
            (RoleScope::Org, _, _) => true,
            (RoleScope::Env, Some(e), Some(sel)) => sel.covers(e),
            _ => false,
        }
    }
}

/// Allow or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Grants the permissions on the selected resources.
    Allow,
    /// Refuses them, whatever else grants them.
    Deny,
}

/// Selects resources by type, id pattern and attributes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceSelector {
    /// Resource type, if restricted.
    pub resource_type: Option<String>,
    /// Glob over the resource id (`*` matches any run of characters), if restricted.
    pub id_glob: Option<String>,
    /// Attributes the resource must carry with these exact values.
    pub attrs: Attrs,
}

/// Allows or denies permissions on selected resources.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// Rule id reported in decisions.
    pub id: Arc<str>,
    /// Allow or deny.
    pub effect: Effect,
    /// Which permissions.
    pub permissions: PermSet,
    /// Who.
    pub target: Target,
    /// Where: `None` for anywhere (org-level resources and every environment).
    pub env: Option<EnvSelector>,
    /// Which resources.
    pub resource: ResourceSelector,
    /// When.
    pub window: Window,
    /// Restrictive condition, if any.
    pub condition: Option<Box<Condition>>,
}

/// Revoked tokens and subjects.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Revocations {
    /// Revoked token ids (`jti`).
    pub token_ids: Vec<String>,
    /// Subjects whose tokens issued before the instant (Unix seconds) are refused.
    pub subjects_before: Vec<(String, i64)>,
}

/// A resource the policy knows by type and id, with its attributes and environment: a PDP
/// client may name it by id alone, and resource search lists these.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceEntity {
    /// Resource type (a declared permission type).
    pub resource_type: String,
    /// Id, unique within its type.
    pub id: String,
    /// The environment (index) it lives in; `None` for an org-level resource.
    pub env: Option<u32>,
    /// Attributes, readable by conditions as `resource.<name>`.
    pub attrs: Attrs,
}

/// The compiled policy of one organization, as plain data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyData {
    /// Organization id: the bundle's scope.
    pub org: String,
    /// Declared permissions.
    pub permissions: Vec<String>,
    /// Roles.
    pub roles: Vec<Role>,
    /// Environments.
    pub envs: Vec<Environment>,
    /// Groups.
    pub groups: Vec<Group>,
    /// Users and services.
    pub members: Vec<Member>,
    /// Role bindings, defaults included (targeting everyone).
    pub bindings: Vec<Binding>,
    /// Resource overrides.
    pub overrides: Vec<Override>,
    /// Trusted token issuers.
    pub issuers: Vec<Issuer>,
    /// Revocations.
    pub revocations: Revocations,
    /// Gateway routes.
    pub routes: Vec<Route>,
    /// Member attributes whose string values also name the member to a PDP client (an
    /// identity provider's subject id, an email), besides its id.
    pub subject_aliases: Vec<String>,
    /// Resources known by id.
    pub resources: Vec<ResourceEntity>,
}

/// Most entries of each kind one policy may hold.
pub const MAX_ENTRIES: usize = 1_000_000;
/// Most token issuers a policy may trust.
pub const MAX_ISSUERS: usize = 64;
/// Most verification keys one issuer may have.
pub const MAX_KEYS_PER_ISSUER: usize = 64;
/// Most gateway routes a policy may declare (they are matched in order).
pub const MAX_ROUTES: usize = 1024;
/// Most permissions a policy may declare.
pub const MAX_PERMISSIONS: usize = 4096;
/// Most member attributes a policy may declare as subject aliases.
pub const MAX_SUBJECT_ALIASES: usize = 8;

/// Why policy data could not be indexed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelError {
    /// A reference points past the end of its table.
    DanglingReference {
        /// What refers.
        from: &'static str,
        /// Which table.
        to: &'static str,
    },
    /// Two entries of one table share an id.
    DuplicateId {
        /// Which table.
        table: &'static str,
        /// The id.
        id: String,
    },
    /// A table holds more entries than allowed.
    TooMany {
        /// Which table.
        table: &'static str,
    },
    /// A condition is deeper or larger than allowed.
    ConditionTooLarge,
    /// An org role bound to an environment, or an env role bound without one.
    ScopeMismatch {
        /// The binding id.
        binding: String,
    },
    /// A verification key is unusable.
    Key(KeyError),
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelError::DanglingReference { from, to } => write!(f, "{from} refers to a missing {to}"),
            ModelError::DuplicateId { table, id } => write!(f, "duplicate {table} id `{id}`"),
            ModelError::TooMany { table } => write!(f, "too many {table} entries"),
            ModelError::ConditionTooLarge => write!(
                f,
                "condition deeper than {MAX_CONDITION_DEPTH} or larger than {MAX_CONDITION_NODES} nodes"
            ),
            ModelError::ScopeMismatch { binding } => {
                write!(f, "binding `{binding}` does not match its role's scope")
            }
            ModelError::Key(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ModelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ModelError::Key(e) => Some(e),
            _ => None,
        }
    }
}

/// Look-up tables over [`PolicyData`] (see [`crate::model::index`]).
#[derive(Debug, Default)]
struct Index {
    permissions: PermissionTable,
    env_by_id: IdIndex,
    group_by_id: IdIndex,
    user_by_sub: IdIndex,
    service_by_client: IdIndex,
    member_bindings: Lists,
    group_bindings: Lists,
    everyone_bindings: Vec<u32>,
    member_overrides: Lists,
    group_overrides: Lists,
    everyone_overrides: Vec<u32>,
    revoked_jti: FxHashSet<String>,
    revoked_before: FxHashMap<String, i64>,
    issuer_keys: IssuerKeys,
    /// Services by id, and members by alias value.
    member_by_alias: FxHashMap<String, u32>,
    /// Resource entities by type, then id.
    resource_by_id: FxHashMap<String, FxHashMap<String, u32>>,
}

/// The immutable, indexed policy of one organization.
#[derive(Debug)]
pub struct Policy {
    data: PolicyData,
    index: Index,
}

fn check_len(table: &'static str, n: usize) -> Result<(), ModelError> {
    if n > MAX_ENTRIES {
        return Err(ModelError::TooMany { table });
    }
    Ok(())
}

fn check_ref(from: &'static str, to: &'static str, i: u32, len: usize) -> Result<(), ModelError> {
    if (i as usize) < len {
        Ok(())
    } else {
        Err(ModelError::DanglingReference { from, to })
    }
}

/// Indexes a table by id, refusing an id seen twice.
fn unique<'a, T>(
    table: &'static str,
    items: &'a [T],
    id: impl Fn(&'a T) -> &'a str + Copy,
) -> Result<IdIndex, ModelError> {
    IdIndex::build(
        items.len(),
        items
            .iter()
            .enumerate()
            .map(|(i, item)| (i as u32, id(item))),
        |i| items.get(i as usize).map(id),
    )
    .map_err(|id| ModelError::DuplicateId {
        table,
        id: id.to_owned(),
    })
}

fn check_condition(c: Option<&Condition>) -> Result<(), ModelError> {
    match c {
        Some(c) if c.depth() > MAX_CONDITION_DEPTH || c.size() > MAX_CONDITION_NODES => {
            Err(ModelError::ConditionTooLarge)
        }
        _ => Ok(()),
    }
}

/// Services by id (their tokens name them by client id) and members by the values of their
/// alias attributes. A value naming two members, or naming one member while being another
/// member's id, is refused: a subject must name one member.
fn aliases(data: &PolicyData) -> Result<FxHashMap<String, u32>, ModelError> {
    if data.subject_aliases.len() > MAX_SUBJECT_ALIASES {
        return Err(ModelError::TooMany {
            table: "subject alias",
        });
    }
    let mut by_alias: FxHashMap<String, u32> = data
        .members
        .iter()
        .enumerate()
        .filter(|(_, m)| m.kind == MemberKind::Service)
        .map(|(i, m)| (m.id.clone(), i as u32))
        .collect();
    if data.subject_aliases.is_empty() {
        return Ok(by_alias);
    }
    let ids: FxHashMap<&str, u32> = data
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.as_str(), i as u32))
        .collect();
    for (i, member) in data.members.iter().enumerate() {
        for name in &data.subject_aliases {
            let Some(Value::Str(alias)) = member.attrs.get(name) else {
                continue;
            };
            let clash = ids.get(alias.as_str()).is_some_and(|&m| m != i as u32)
                || by_alias
                    .insert(alias.clone(), i as u32)
                    .is_some_and(|m| m != i as u32);
            if clash {
                return Err(ModelError::DuplicateId {
                    table: "subject alias",
                    id: alias.clone(),
                });
            }
        }
    }
    Ok(by_alias)
}

impl Policy {
    /// Checks every reference and limit in `data` and builds the look-up tables.
    pub fn new(data: PolicyData) -> Result<Self, ModelError> {
        let mut index = Index::default();
        if data.permissions.len() > MAX_PERMISSIONS {
            return Err(ModelError::TooMany {
                table: "permission",
            });
        }
        for p in &data.permissions {
            if index.permissions.declare(p).is_none() {
                return Err(ModelError::DuplicateId {
                    table: "permission",
                    id: p.clone(),
                });
            }
        }
        if data.routes.len() > MAX_ROUTES {
            return Err(ModelError::TooMany { table: "route" });
        }
        if data.issuers.len() > MAX_ISSUERS {
            return Err(ModelError::TooMany { table: "issuer" });
        }
        if data
            .issuers
            .iter()
            .any(|i| i.keys.len() > MAX_KEYS_PER_ISSUER)
        {
            return Err(ModelError::TooMany {
                table: "issuer key",
            });
        }
        for (table, n) in [
            ("role", data.roles.len()),
            ("environment", data.envs.len()),
            ("group", data.groups.len()),
            ("member", data.members.len()),
            ("binding", data.bindings.len()),
            ("override", data.overrides.len()),
            ("issuer", data.issuers.len()),
            ("route", data.routes.len()),
            (
                "revocation",
                data.revocations.token_ids.len() + data.revocations.subjects_before.len(),
            ),
        ] {
            check_len(table, n)?;
        }
        let (roles, envs, groups, members) = (
            data.roles.len(),
            data.envs.len(),
            data.groups.len(),
            data.members.len(),
        );
        // Roles are identified by scope and id: `admin` may be an org role and an env role.
        let mut role_keys = std::collections::HashSet::with_capacity(data.roles.len());
        for r in &data.roles {
            if !role_keys.insert((r.scope, &*r.id)) {
                return Err(ModelError::DuplicateId {
                    table: "role",
                    id: r.id.to_string(),
                });
            }
        }
        index.env_by_id = unique("environment", &data.envs, |e| e.id.as_str())?;
        index.group_by_id = unique("group", &data.groups, |g| g.id.as_str())?;
        unique("binding", &data.bindings, |b| &*b.id)?;
        unique("override", &data.overrides, |o| &*o.id)?;
        unique("route", &data.routes, |r| r.id.as_str())?;
        for role in &data.roles {
            for &r in &role.can_assign {
                check_ref("role delegation", "role", r, roles)?;
            }
        }
        for m in &data.members {
            for &g in &m.groups {
                check_ref("member", "group", g, groups)?;
            }
        }
        // Users by `sub` and services by client id, each kind in its own index.
        let by_token_id = |kind: MemberKind, table: &'static str| {
            let members = &data.members;
            let expected = members.iter().filter(|m| m.kind == kind).count();
            IdIndex::build(
                expected,
                members
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.kind == kind)
                    .map(|(i, m)| (i as u32, m.token_id())),
                |i| {
                    members
                        .get(i as usize)
                        .filter(|m| m.kind == kind)
                        .map(Member::token_id)
                },
            )
            .map_err(|id| ModelError::DuplicateId {
                table,
                id: id.to_owned(),
            })
        };
        index.user_by_sub = by_token_id(MemberKind::User, "user")?;
        index.service_by_client = by_token_id(MemberKind::Service, "service client")?;
        let check_target = |from, t: Target| match t {
            Target::Member(m) => check_ref(from, "member", m, members),
            Target::Group(g) => check_ref(from, "group", g, groups),
            Target::Everyone => Ok(()),
        };
        let check_env = |from, e: Option<EnvSelector>| match e {
            Some(EnvSelector::One(e)) => check_ref(from, "environment", e, envs),
            _ => Ok(()),
        };
        // The targets are copied out once, as the lists below go over them five times: over
        // the bindings themselves that is five passes over some hundred bytes a binding.
        let mut binding_targets = Vec::with_capacity(data.bindings.len());
        for b in &data.bindings {
            binding_targets.push(b.target);
            check_ref("binding", "role", b.role, roles)?;
            check_target("binding", b.target)?;
            check_env("binding", b.env)?;
            check_condition(b.condition.as_deref())?;
            let scope = data.roles.get(b.role as usize).map(|r| r.scope);
            if (scope == Some(RoleScope::Org)) != b.env.is_none() {
                return Err(ModelError::ScopeMismatch {
                    binding: b.id.to_string(),
                });
            }
        }
        let mut override_targets = Vec::with_capacity(data.overrides.len());
        for o in &data.overrides {
            override_targets.push(o.target);
            check_target("override", o.target)?;
            check_env("override", o.env)?;
            check_condition(o.condition.as_deref())?;
        }
        (
            index.member_bindings,
            index.group_bindings,
            index.everyone_bindings,
        ) = by_target(|| binding_targets.iter().copied(), members, groups);
        (
            index.member_overrides,
            index.group_overrides,
            index.everyone_overrides,
        ) = by_target(|| override_targets.iter().copied(), members, groups);
        let limit = data.permissions.len() as u32;
        for r in &data.routes {
            check_ref("route", "permission", r.permission, limit as usize)?;
        }
        index.revoked_jti = data.revocations.token_ids.iter().cloned().collect();
        for (sub, before) in &data.revocations.subjects_before {
            let entry = index.revoked_before.entry(sub.clone()).or_insert(*before);
            *entry = (*entry).max(*before);
        }
        index.issuer_keys = IssuerKeys::new(&data.issuers).map_err(|e| match e {
            IssuerKeysError::Key(e) => ModelError::Key(e),
            IssuerKeysError::DuplicateKid(id) => ModelError::DuplicateId { table: "key", id },
        })?;
        index.member_by_alias = aliases(&data)?;
        check_len("resource", data.resources.len())?;
        for (i, r) in data.resources.iter().enumerate() {
            if let Some(e) = r.env {
                check_ref("resource", "environment", e, envs)?;
            }
            let ids = index
                .resource_by_id
                .entry(r.resource_type.clone())
                .or_default();
            if ids.insert(r.id.clone(), i as u32).is_some() {
                return Err(ModelError::DuplicateId {
                    table: "resource",
                    id: format!("{}:{}", r.resource_type, r.id),
                });
            }
        }
        Ok(Policy { data, index })
    }

    /// The plain data this policy was built from.
    pub fn data(&self) -> &PolicyData {
        &self.data
    }

    /// The organization this policy governs.
    pub fn org(&self) -> &str {
        &self.data.org
    }

    /// The permissions whose decisions may depend on the resource's attributes: those of a
    /// role granted by a binding with a condition that reads them, and those of an override
    /// whose condition or resource selector reads them. Any other permission is decided the
    /// same with the request's attributes as without them.
    pub fn resource_attribute_permissions(&self) -> PermSet {
        let reads = |c: &Option<Box<Condition>>| {
            c.as_deref()
                .is_some_and(Condition::reads_resource_attributes)
        };
        let mut set = PermSet::new();
        for binding in self.data.bindings.iter().filter(|b| reads(&b.condition)) {
            if let Some(role) = self.role(binding.role) {
                set.union_with(&role.permissions);
            }
        }
        for rule in &self.data.overrides {
            if !rule.resource.attrs.is_empty() || reads(&rule.condition) {
                set.union_with(&rule.permissions);
            }
        }
        set
    }

    /// The member a PDP client names `subject`: the member with that id (a user's id, or a
    /// service's id or client id), else the one whose alias attribute holds it.
    pub fn subject_member(&self, subject: &str) -> Option<u32> {
        self.user_index(subject)
            .or_else(|| self.service_index(subject))
            .or_else(|| self.index.member_by_alias.get(subject).copied())
    }

    /// A resource entity by type and id.
    pub fn resource_entity(&self, resource_type: &str, id: &str) -> Option<&ResourceEntity> {
        let i = *self.index.resource_by_id.get(resource_type)?.get(id)?;
        self.data.resources.get(i as usize)
    }

    /// The declared permissions.
    pub fn permissions(&self) -> &PermissionTable {
        &self.index.permissions
    }

    /// A role by index.
    pub fn role(&self, i: u32) -> Option<&Role> {
        self.data.roles.get(i as usize)
    }

    /// A role's index by id: the org role of that id when there is one, else the env role.
    pub fn role_index(&self, id: &str) -> Option<u32> {
        self.role_index_in(id, RoleScope::Org)
            .or_else(|| self.role_index_in(id, RoleScope::Env))
    }

    /// A role's index by scope and id.
    pub fn role_index_in(&self, id: &str, scope: RoleScope) -> Option<u32> {
        self.data
            .roles
            .iter()
            .position(|r| r.scope == scope && &*r.id == id)
            .map(|i| i as u32)
    }

    /// An environment by index.
    pub fn env(&self, i: u32) -> Option<&Environment> {
        self.data.envs.get(i as usize)
    }

    /// An environment's index by id.
    pub fn env_index(&self, id: &str) -> Option<u32> {
        self.index.env_by_id.get(id, |i| {
            self.data.envs.get(i as usize).map(|e| e.id.as_str())
        })
    }

    /// A group by index.
    pub fn group(&self, i: u32) -> Option<&Group> {
        self.data.groups.get(i as usize)
    }

    /// A member by index.
    pub fn member(&self, i: u32) -> Option<&Member> {
        self.data.members.get(i as usize)
    }

    /// The token id of member `i`, for the member indexes.
    fn member_token_id(&self, i: u32) -> Option<&str> {
        self.data.members.get(i as usize).map(Member::token_id)
    }

    /// A user's index by id (the token's `sub`).
    pub fn user_index(&self, sub: &str) -> Option<u32> {
        self.index.user_by_sub.get(sub, |i| self.member_token_id(i))
    }

    /// A service's index by OAuth2 client id.
    pub fn service_index(&self, client_id: &str) -> Option<u32> {
        self.index
            .service_by_client
            .get(client_id, |i| self.member_token_id(i))
    }

    /// A binding by index.
    pub fn binding(&self, i: u32) -> Option<&Binding> {
        self.data.bindings.get(i as usize)
    }

    /// An override by index.
    pub fn override_rule(&self, i: u32) -> Option<&Override> {
        self.data.overrides.get(i as usize)
    }

    /// Indices of the bindings that reach member `m`: its own, its groups', everyone's.
    pub fn bindings_of(&self, m: u32) -> impl Iterator<Item = u32> + '_ {
        self.reach(
            m,
            &self.index.member_bindings,
            &self.index.group_bindings,
            &self.index.everyone_bindings,
        )
    }

    /// Indices of the overrides that reach member `m`.
    pub fn overrides_of(&self, m: u32) -> impl Iterator<Item = u32> + '_ {
        self.reach(
            m,
            &self.index.member_overrides,
            &self.index.group_overrides,
            &self.index.everyone_overrides,
        )
    }

    /// Indices of the bindings that name member `m` directly.
    pub fn direct_bindings_of(&self, m: u32) -> &[u32] {
        self.index.member_bindings.of(m)
    }

    fn reach<'a>(
        &'a self,
        m: u32,
        by_member: &'a Lists,
        by_group: &'a Lists,
        everyone: &'a [u32],
    ) -> impl Iterator<Item = u32> + 'a {
        let own = by_member.of(m);
        let groups = self.member(m).map_or(&[][..], |mem| mem.groups.as_slice());
        own.iter()
            .chain(groups.iter().flat_map(move |g| by_group.of(*g)))
            .chain(everyone.iter())
            .copied()
    }

    /// Whether token id `jti` is revoked.
    pub fn is_token_revoked(&self, jti: &str) -> bool {
        self.index.revoked_jti.contains(jti)
    }

    /// The instant before which `sub`'s tokens are refused, if any.
    pub fn subject_revoked_before(&self, sub: &str) -> Option<i64> {
        self.index.revoked_before.get(sub).copied()
    }

    /// The trusted issuers with their prepared keys: what a token is verified against.
    pub fn issuer_keys(&self) -> &IssuerKeys {
        &self.index.issuer_keys
    }

    /// The routes, in match order.
    pub fn routes(&self) -> &[Route] {
        &self.data.routes
    }

    /// Expands a permission pattern against the declared permissions.
    pub fn expand(&self, pattern: &str) -> Option<PermSet> {
        self.index.permissions.expand(pattern).ok()
    }
}

/// The rules (by number) that name each member, each group, and everyone.
fn by_target<I: Iterator<Item = Target> + Clone>(
    targets: impl Fn() -> I,
    members: usize,
    groups: usize,
) -> (Lists, Lists, Vec<u32>) {
    let numbered = || targets().enumerate().map(|(i, t)| (i as u32, t));
    let by_member = Lists::build(
        members,
        numbered().filter_map(|(i, t)| match t {
            Target::Member(m) => Some((m, i)),
            _ => None,
        }),
    );
    let by_group = Lists::build(
        groups,
        numbered().filter_map(|(i, t)| match t {
            Target::Group(g) => Some((g, i)),
            _ => None,
        }),
    );
    let everyone = numbered()
        .filter(|(_, t)| *t == Target::Everyone)
        .map(|(i, _)| i)
        .collect();
    (by_member, by_group, everyone)
}

/// Whether `id` matches `glob`, where `*` matches any run of characters.
pub(crate) fn glob_match(glob: &str, id: &str) -> bool {
    // Without a `*` the glob is the id; otherwise the id starts with the part before the
    // first `*`, ends with the part after the last, and holds the parts between in order,
    // each found as early as it can be. Nothing is allocated: decisions run this.
    let Some((first, after_first)) = glob.split_once('*') else {
        return glob == id;
    };
    let (middle, last) = after_first.rsplit_once('*').unwrap_or(("", after_first));
    let Some(rest) = id.strip_prefix(first) else {
        return false;
    };
    if rest.len() < last.len() {
        return false;
    }
    let Some(mut rest) = rest.strip_suffix(last) else {
        return false;
    };
    for piece in middle.split('*') {
        match rest.find(piece) {
            Some(at) => rest = rest.get(at + piece.len()..).unwrap_or(""),
            None => return false,
        }
    }
    true
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("tmpl-*", "tmpl-onboarding"));
        assert!(!glob_match("tmpl-*", "wf-1"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "a-x-b-y-c"));
        assert!(!glob_match("a*b*c", "a-x-c-b"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exact2"));
        assert!(!glob_match("ab*ba", "aba"));
        assert!(glob_match("*x*x", "xx"));
        assert!(!glob_match("a*bc*c", "abc"));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "a"));
    }

    /// `*` matches any run of characters: the plain recursive definition.
    fn reference(glob: &[u8], id: &[u8]) -> bool {
        match glob.split_first() {
            None => id.is_empty(),
            Some((b'*', rest)) => (0..=id.len()).any(|i| reference(rest, &id[i..])),
            Some((c, rest)) => id.first() == Some(c) && reference(rest, &id[1..]),
        }
    }

    proptest::proptest! {
        #[test]
        fn globs_match_as_the_definition_says(glob in "[ab*]{0,7}", id in "[ab]{0,9}") {
            proptest::prop_assert_eq!(
                glob_match(&glob, &id),
                reference(glob.as_bytes(), id.as_bytes())
            );
        }
    }
}
