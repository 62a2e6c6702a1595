//! The shapes of a policy source, as read from JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::token::{Jwk, TokenKind};

use crate::model::Attrs;

/// A point in time: Unix seconds or an RFC 3339 string such as `2026-12-31T00:00:00Z`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TimeSource {
    /// Unix seconds.
    Unix(i64),
    /// RFC 3339.
    Text(String),
}

/// Role definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSource {
    /// Role id.
    pub id: String,
    /// `org` or `env`.
    pub scope: ScopeSource,
    /// What the role is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Permission patterns: `type:verb`, `type:*` or `*`.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// For org roles: the most holders may get inside any environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_ceiling: Option<Vec<String>>,
    /// Roles holders may assign and remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub can_assign: Vec<RoleRef>,
}

/// A role named in `can_assign`: by id, when only one scope has a role of that id, or by id
/// and scope (`{"role": "admin", "scope": "env"}`) when both do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RoleRef {
    /// A role id.
    Id(String),
    /// A role id and its scope.
    Scoped {
        /// The role id.
        role: String,
        /// Its scope.
        scope: ScopeSource,
    },
}

impl RoleRef {
    /// The role id.
    pub fn id(&self) -> &str {
        match self {
            RoleRef::Id(id) | RoleRef::Scoped { role: id, .. } => id,
        }
    }

    /// The scope, when given.
    pub fn scope(&self) -> Option<ScopeSource> {
        match self {
            RoleRef::Id(_) => None,
            RoleRef::Scoped { scope, .. } => Some(*scope),
        }
    }
}

/// Role scope in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeSource {
    /// Org-wide.
    Org,
    /// Per environment.
    Env,
}

/// A trusted token issuer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerSource {
    /// The `iss` value.
    pub iss: String,
    /// The audience tokens must name.
    pub audience: String,
    /// Kinds this issuer may mint: `orgauth`, `envauth`, `service`.
    pub kinds: Vec<TokenKind>,
    /// Longest token lifetime in seconds (default 3600).
    #[serde(default = "default_lifetime")]
    pub max_lifetime: u64,
    /// Clock leeway in seconds, at most 60 (default 30).
    #[serde(default = "default_leeway")]
    pub leeway: u64,
    /// Public keys.
    pub jwks: JwksSource,
}

fn default_lifetime() -> u64 {
    3600
}
fn default_leeway() -> u64 {
    30
}

/// A JWKS.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwksSource {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// A gateway route.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSource {
    /// Route id.
    pub id: String,
    /// HTTP method or `*`.
    pub method: String,
    /// Path template, e.g. `/v1/envs/{env}/workflows/{id}`.
    pub path: String,
    /// Permission required.
    pub permission: String,
    /// Resource type acted on.
    pub resource_type: String,
    /// Path parameter naming the environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_param: Option<String>,
    /// Take the environment from the first label of the host name.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub env_from_host: bool,
    /// Path parameter naming the resource id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_param: Option<String>,
    /// What ids of this route may look like: one character class and a length, such as
    /// `[a-z0-9-]{1,64}`. A request whose id is outside it is refused (400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_pattern: Option<String>,
}

/// An environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSourceDef {
    /// Environment id, unique across all organizations of the source.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Attributes.
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

/// A group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSource {
    /// Group id.
    pub id: String,
    /// What the group is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSource {
    /// User id: the `sub` of the user's tokens.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Attributes.
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
    /// Group ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// A disabled user's tokens are refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

/// A service (OAuth2 client-credentials client).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSource {
    /// Service id.
    pub id: String,
    /// The `client_id` its tokens carry.
    pub client_id: String,
    /// Attributes.
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
    /// Group ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// A disabled service's tokens are refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

/// A role binding.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingSource {
    /// Rule id; derived from role, holder and environment when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Role id.
    pub role: String,
    /// Holder: a user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Holder: a group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Holder: a service id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// For env roles: the environment id, or `*` for all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Start of validity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<TimeSource>,
    /// End of validity (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<TimeSource>,
    /// Restrictive condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<serde_json::Value>,
}

impl BindingSource {
    /// The binding's rule id: its `id`, or `holder:role` (`holder:role@env` for an env role)
    /// when it has none. Decisions name it; two bindings of one organization never share one.
    pub fn rule_id(&self) -> String {
        if let Some(id) = &self.id {
            return id.clone();
        }
        let holder = self
            .user
            .as_deref()
            .or(self.group.as_deref())
            .or(self.service.as_deref())
            .unwrap_or("?");
        match &self.env {
            Some(e) => format!("{holder}:{}@{e}", self.role),
            None => format!("{holder}:{}", self.role),
        }
    }
}

/// A default role: every member of the organization holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultSource {
    /// Rule id; derived when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Role id.
    pub role: String,
    /// For env roles: the environment id, or `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Restrictive condition, e.g. only on the member's own resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<serde_json::Value>,
}

impl DefaultSource {
    /// The default's rule id: its `id`, or `default:role` (`default:role@env`).
    pub fn rule_id(&self) -> String {
        if let Some(id) = &self.id {
            return id.clone();
        }
        match &self.env {
            Some(e) => format!("default:{}@{e}", self.role),
            None => format!("default:{}", self.role),
        }
    }
}

/// Resource selection for an override.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectorSource {
    /// Resource type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Id glob (`*` matches any run of characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Required attribute values.
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

/// Allow or deny, in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EffectSource {
    /// Allow.
    Allow,
    /// Deny.
    Deny,
}

/// A resource override.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideSource {
    /// Rule id.
    pub id: String,
    /// `allow` or `deny`.
    pub effect: EffectSource,
    /// Permission patterns.
    pub permissions: Vec<String>,
    /// Target: a user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Target: a group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Target: a service id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Target: every member.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub everyone: bool,
    /// Environment id, or `*` for every environment; anywhere when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Resource selection.
    #[serde(default)]
    pub resource: SelectorSource,
    /// Start of validity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<TimeSource>,
    /// End of validity (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<TimeSource>,
    /// Restrictive condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<serde_json::Value>,
}

/// A subject revocation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectRevocation {
    /// The subject.
    pub sub: String,
    /// Tokens issued before this instant are refused.
    pub before: TimeSource,
}

/// Revocations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationSource {
    /// Revoked token ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_ids: Vec<String>,
    /// Revoked subjects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<SubjectRevocation>,
}

/// One organization.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgSource {
    /// Organization id: the tokens' `org`.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Environments.
    #[serde(default)]
    pub environments: Vec<EnvSourceDef>,
    /// Custom roles of this organization.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleSource>,
    /// Groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupSource>,
    /// Users.
    #[serde(default)]
    pub users: Vec<UserSource>,
    /// Services.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceSource>,
    /// Role bindings.
    #[serde(default)]
    pub bindings: Vec<BindingSource>,
    /// Default roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub defaults: Vec<DefaultSource>,
    /// Resource overrides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<OverrideSource>,
    /// Revocations.
    #[serde(default)]
    pub revocations: RevocationSource,
    /// Member attributes whose values also name a member to a PDP client (an identity
    /// provider's subject id, an email).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subject_aliases: Vec<String>,
    /// Resources known by id, with their attributes and environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceSource>,
}

/// A resource the policy knows by type and id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSource {
    /// Resource type: a declared permission type.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Id, unique within its type.
    pub id: String,
    /// The environment it lives in; absent for an org-level resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Attributes, readable by conditions as `resource.<name>`.
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

/// A whole policy source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySource {
    /// JSON Schema reference, ignored.
    #[serde(default, rename = "$schema", skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Bundle version used when the builder is given none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Declared permissions: resource type → verbs.
    pub permissions: BTreeMap<String, Vec<String>>,
    /// Roles shared by every organization.
    #[serde(default)]
    pub roles: Vec<RoleSource>,
    /// Trusted token issuers.
    #[serde(default)]
    pub issuers: Vec<IssuerSource>,
    /// Gateway routes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteSource>,
    /// Organizations.
    pub orgs: Vec<OrgSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TimeWindowSource {
    #[serde(default)]
    pub(crate) after: Option<TimeSource>,
    #[serde(default)]
    pub(crate) before: Option<TimeSource>,
}
