//! The policy source: readable JSON, compiled into one [`PolicyData`] per organization.
//!
//! The format is documented in `docs/policy.md` and described by
//! `schema/policy.schema.json`. Every compile error names the place with a JSON pointer,
//! says what is wrong and, where it can, what would be right.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::condition::{AttrRef, Condition, Operand, MAX_CONDITION_DEPTH, MAX_CONDITION_NODES};
use crate::keys::{Jwk, TrustedKey};
use crate::model::*;
use crate::permission::{split_permission, PatternError, PermSet, PermissionTable};
use crate::route::{IdPattern, RouteTemplate};
use crate::time::parse_rfc3339;
use crate::token::{TokenKind, MAX_LEEWAY};
use crate::value::{Attrs, Value, MAX_VALUE_DEPTH};

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
    pub can_assign: Vec<String>,
}

/// Role scope in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// One compile error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CompileError {
    /// JSON pointer to the offending value.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
    /// What would be right, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

/// All errors found in a policy source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// The errors, in source order.
    pub errors: Vec<CompileError>,
}

impl PolicyError {
    /// A stable code.
    pub fn code(&self) -> &'static str {
        "policy_invalid"
    }
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Largest policy source accepted, in bytes.
pub const MAX_SOURCE_BYTES: usize = 64 * 1024 * 1024;

/// Parses a policy source, reporting the JSON pointer of the first shape error.
pub fn parse_source(json: &[u8]) -> Result<PolicySource, PolicyError> {
    let one = |pointer: String, message: String| PolicyError {
        errors: vec![CompileError {
            pointer,
            message,
            hint: None,
        }],
    };
    if json.len() > MAX_SOURCE_BYTES {
        return Err(one(
            String::new(),
            format!("policy source is larger than {MAX_SOURCE_BYTES} bytes"),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let parsed: Result<PolicySource, _> = serde_path_to_error::deserialize(&mut de);
    match parsed {
        Ok(source) => match de.end() {
            Ok(()) => Ok(source),
            Err(e) => Err(one(String::new(), e.to_string())),
        },
        Err(e) => {
            let pointer = path_to_pointer(e.path());
            let message = e.into_inner().to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            Err(one(pointer, message))
        }
    }
}

fn path_to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        out.push('/');
        match seg {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push_str(&key.replace('~', "~0").replace('/', "~1"))
            }
            Segment::Unknown => out.push('?'),
        }
    }
    out
}

/// Compiles a policy source into one policy per organization, in source order.
pub fn compile(source: &PolicySource) -> Result<Vec<PolicyData>, PolicyError> {
    let mut c = Compiler { errors: Vec::new() };
    let out = c.compile(source);
    if c.errors.is_empty() {
        Ok(out)
    } else {
        Err(PolicyError { errors: c.errors })
    }
}

/// Parses and compiles, then indexes each organization's policy.
pub fn compile_json(json: &[u8]) -> Result<Vec<Policy>, PolicyError> {
    let source = parse_source(json)?;
    let data = compile(&source)?;
    data.into_iter()
        .map(|d| {
            let org = d.org.clone();
            Policy::new(d).map_err(|e| PolicyError {
                errors: vec![CompileError {
                    pointer: format!("/orgs/{org}"),
                    message: e.to_string(),
                    hint: None,
                }],
            })
        })
        .collect()
}

struct Compiler {
    errors: Vec<CompileError>,
}

/// The closest of `candidates` to `word`, if reasonably close.
pub fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:@".contains(&b))
}

struct OrgCtx<'a> {
    org: &'a str,
    roles: HashMap<&'a str, u32>,
    role_scopes: Vec<ScopeSource>,
    envs: HashMap<&'a str, u32>,
    groups: HashMap<&'a str, u32>,
    users: HashMap<&'a str, u32>,
    services: HashMap<&'a str, u32>,
    env_owner: &'a HashMap<&'a str, &'a str>,
}

impl Compiler {
    fn error(
        &mut self,
        pointer: impl Into<String>,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.errors.push(CompileError {
            pointer: pointer.into(),
            message: message.into(),
            hint,
        });
    }

    fn time(&mut self, at: &str, t: &Option<TimeSource>) -> Option<i64> {
        match t {
            None => None,
            Some(TimeSource::Unix(v)) => Some(*v),
            Some(TimeSource::Text(s)) => match parse_rfc3339(s) {
                Some(v) => Some(v),
                None => {
                    self.error(
                        at,
                        format!("`{s}` is not a time"),
                        Some("use Unix seconds or RFC 3339, e.g. `2026-12-31T00:00:00Z`".into()),
                    );
                    None
                }
            },
        }
    }

    fn window(&mut self, at: &str, nb: &Option<TimeSource>, na: &Option<TimeSource>) -> Window {
        let w = Window {
            not_before: self.time(&format!("{at}/not_before"), nb),
            not_after: self.time(&format!("{at}/not_after"), na),
        };
        if let (Some(a), Some(b)) = (w.not_before, w.not_after) {
            if a >= b {
                self.error(
                    format!("{at}/not_after"),
                    "`not_after` must be later than `not_before`",
                    None,
                );
            }
        }
        w
    }

    fn perms(&mut self, at: &str, table: &PermissionTable, patterns: &[String]) -> PermSet {
        let mut set = PermSet::new();
        for (i, p) in patterns.iter().enumerate() {
            match table.expand(p) {
                Ok(s) => set.union_with(&s),
                Err(e) => {
                    let (msg, hint) = match e {
                        PatternError::Malformed => (
                            format!("`{p}` is not a permission pattern"),
                            Some("write `type:verb`, `type:*` or `*`".to_owned()),
                        ),
                        PatternError::UnknownType => (
                            format!("resource type of `{p}` is not declared"),
                            closest(
                                p.split(':').next().unwrap_or(p),
                                table.names().iter().filter_map(|n| n.split(':').next()),
                            )
                            .map(|c| format!("did you mean `{c}`?"))
                            .or(Some("declare it under `permissions`".into())),
                        ),
                        PatternError::Undeclared => (
                            format!("permission `{p}` is not declared"),
                            closest(p, table.names().iter().map(String::as_str))
                                .map(|c| format!("did you mean `{c}`?"))
                                .or(Some("declare the verb under `permissions`".into())),
                        ),
                    };
                    self.error(format!("{at}/{i}"), msg, hint);
                }
            }
        }
        set
    }

    fn compile(&mut self, s: &PolicySource) -> Vec<PolicyData> {
        let mut table = PermissionTable::default();
        for (ty, verbs) in &s.permissions {
            for (i, verb) in verbs.iter().enumerate() {
                let name = format!("{ty}:{verb}");
                let at = format!("/permissions/{ty}/{i}");
                if verb == "*" || split_permission(&name).is_none() {
                    self.error(
                        at,
                        format!("`{name}` is not a valid permission"),
                        Some("types and verbs use letters, digits, `_`, `-` and `.`".into()),
                    );
                } else if table.declare(&name).is_none() {
                    self.error(at, format!("permission `{name}` is declared twice"), None);
                }
            }
        }
        if table.len() > MAX_PERMISSIONS {
            self.error(
                "/permissions",
                format!("more than {MAX_PERMISSIONS} permissions"),
                None,
            );
        }
        let mut env_owner: HashMap<&str, &str> = HashMap::new();
        let mut org_ids = HashSet::new();
        for (oi, org) in s.orgs.iter().enumerate() {
            if !valid_id(&org.id) {
                self.error(
                    format!("/orgs/{oi}/id"),
                    format!("`{}` is not a valid id", org.id),
                    Some("use letters, digits and `_-.:@`, at most 128".into()),
                );
            }
            if !org_ids.insert(org.id.as_str()) {
                self.error(
                    format!("/orgs/{oi}/id"),
                    format!("duplicate organization id `{}`", org.id),
                    None,
                );
            }
            for (ei, env) in org.environments.iter().enumerate() {
                if let Some(owner) = env_owner.insert(env.id.as_str(), org.id.as_str()) {
                    self.error(
                        format!("/orgs/{oi}/environments/{ei}/id"),
                        format!(
                            "duplicate environment id `{}` (also in org `{owner}`)",
                            env.id
                        ),
                        Some("environment ids are unique across organizations".into()),
                    );
                }
            }
        }
        let issuers = self.issuers(s);
        let routes = self.routes(s, &table);
        let mut shared_ids: HashMap<&str, u32> = HashMap::new();
        let mut shared = Vec::new();
        for (ri, r) in s.roles.iter().enumerate() {
            if shared_ids.insert(r.id.as_str(), ri as u32).is_some() {
                self.error(
                    format!("/roles/{ri}/id"),
                    format!("duplicate role id `{}`", r.id),
                    None,
                );
            }
            shared.push(self.role(&format!("/roles/{ri}"), r, &table));
        }
        for (ri, r) in s.roles.iter().enumerate() {
            let assign = self.assignable(&format!("/roles/{ri}"), &r.can_assign, &shared_ids);
            if let Some(role) = shared.get_mut(ri) {
                role.can_assign = assign;
            }
        }
        let mut out = Vec::new();
        for (oi, org) in s.orgs.iter().enumerate() {
            out.push(self.org(s, oi, org, &table, &env_owner, &issuers, &routes, &shared));
        }
        if s.orgs.is_empty() {
            self.error(
                "/orgs",
                "no organization is defined",
                Some("add at least one entry to `orgs`".into()),
            );
        }
        out
    }

    fn issuers(&mut self, s: &PolicySource) -> Vec<Issuer> {
        use crate::model::{MAX_ISSUERS, MAX_KEYS_PER_ISSUER};
        let mut out = Vec::new();
        let mut kids = HashSet::new();
        if s.issuers.len() > MAX_ISSUERS {
            self.error(
                "/issuers",
                format!(
                    "{} issuers; at most {MAX_ISSUERS} are allowed",
                    s.issuers.len()
                ),
                None,
            );
            return out;
        }
        for (ii, i) in s.issuers.iter().enumerate() {
            let at = format!("/issuers/{ii}");
            if i.jwks.keys.len() > MAX_KEYS_PER_ISSUER {
                self.error(
                    format!("{at}/jwks/keys"),
                    format!(
                        "{} keys; at most {MAX_KEYS_PER_ISSUER} are allowed per issuer",
                        i.jwks.keys.len()
                    ),
                    None,
                );
                continue;
            }
            if i.leeway > MAX_LEEWAY {
                self.error(
                    format!("{at}/leeway"),
                    format!("leeway {} exceeds {MAX_LEEWAY} seconds", i.leeway),
                    None,
                );
            }
            if i.max_lifetime == 0 || i.max_lifetime > 7 * 24 * 3600 {
                self.error(
                    format!("{at}/max_lifetime"),
                    "max_lifetime must be between 1 second and 7 days",
                    None,
                );
            }
            if i.kinds.is_empty() {
                self.error(
                    format!("{at}/kinds"),
                    "an issuer must mint at least one kind",
                    Some("`orgauth`, `envauth` or `service`".into()),
                );
            }
            if i.iss.is_empty() || i.audience.is_empty() {
                self.error(at.clone(), "`iss` and `audience` must not be empty", None);
            }
            let mut keys = Vec::new();
            for (ki, jwk) in i.jwks.keys.iter().enumerate() {
                let kat = format!("{at}/jwks/keys/{ki}");
                match TrustedKey::from_jwk(jwk) {
                    Ok(k) => {
                        if !kids.insert(k.kid.clone()) {
                            self.error(
                                format!("{kat}/kid"),
                                format!("duplicate key id `{}`", k.kid),
                                Some("key ids are unique across issuers".into()),
                            );
                        }
                        keys.push(k);
                    }
                    Err(e) => self.error(kat, e.to_string(), None),
                }
            }
            // Canonical order, each once: what the bundle encoding (a bit set) gives back.
            let kinds: Vec<TokenKind> = TokenKind::ALL
                .into_iter()
                .filter(|k| i.kinds.contains(k))
                .collect();
            out.push(Issuer {
                iss: i.iss.clone(),
                audience: i.audience.clone(),
                kinds,
                max_lifetime: i.max_lifetime,
                leeway: i.leeway,
                keys,
            });
        }
        out
    }

    fn routes(&mut self, s: &PolicySource, table: &PermissionTable) -> Vec<Route> {
        let mut out = Vec::new();
        let mut ids = HashSet::new();
        if s.routes.len() > crate::model::MAX_ROUTES {
            self.error(
                "/routes",
                format!(
                    "{} routes; at most {} are allowed",
                    s.routes.len(),
                    crate::model::MAX_ROUTES
                ),
                None,
            );
            return out;
        }
        for (ri, r) in s.routes.iter().enumerate() {
            let at = format!("/routes/{ri}");
            if !ids.insert(r.id.as_str()) {
                self.error(
                    format!("{at}/id"),
                    format!("duplicate route id `{}`", r.id),
                    None,
                );
            }
            let method = r.method.to_ascii_uppercase();
            if method != "*"
                && (method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()))
            {
                self.error(
                    format!("{at}/method"),
                    format!("`{}` is not an HTTP method", r.method),
                    None,
                );
            }
            let path = match RouteTemplate::parse(&r.path) {
                Ok(p) => p,
                Err(e) => {
                    self.error(format!("{at}/path"), e.to_string(), None);
                    continue;
                }
            };
            let Some(permission) = table.index(&r.permission) else {
                self.error(
                    format!("{at}/permission"),
                    format!("permission `{}` is not declared", r.permission),
                    closest(&r.permission, table.names().iter().map(String::as_str))
                        .map(|c| format!("did you mean `{c}`?")),
                );
                continue;
            };
            let env = match (&r.env_param, r.env_from_host) {
                (Some(_), true) => {
                    self.error(
                        at.clone(),
                        "give `env_param` or `env_from_host`, not both",
                        None,
                    );
                    EnvSource::None
                }
                (Some(p), false) => {
                    if !path.has_param(p) {
                        self.error(
                            format!("{at}/env_param"),
                            format!("the path has no parameter `{{{p}}}`"),
                            None,
                        );
                    }
                    EnvSource::PathParam(p.clone())
                }
                (None, true) => EnvSource::HostLabel,
                (None, false) => EnvSource::None,
            };
            if let Some(p) = &r.id_param {
                if !path.has_param(p) {
                    self.error(
                        format!("{at}/id_param"),
                        format!("the path has no parameter `{{{p}}}`"),
                        None,
                    );
                }
            }
            let id_pattern = match (&r.id_pattern, &r.id_param) {
                (None, _) => None,
                (Some(_), None) => {
                    self.error(
                        format!("{at}/id_pattern"),
                        "an id pattern needs an `id_param`",
                        None,
                    );
                    None
                }
                (Some(text), Some(_)) => match IdPattern::parse(text) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        self.error(format!("{at}/id_pattern"), e.to_string(), None);
                        None
                    }
                },
            };
            out.push(Route {
                id: r.id.clone(),
                method,
                path,
                permission,
                resource_type: r.resource_type.clone(),
                env,
                id_param: r.id_param.clone(),
                id_pattern,
            });
        }
        out
    }

    fn role(&mut self, at: &str, r: &RoleSource, table: &PermissionTable) -> Role {
        if !valid_id(&r.id) {
            self.error(
                format!("{at}/id"),
                format!("`{}` is not a valid id", r.id),
                None,
            );
        }
        let permissions = self.perms(&format!("{at}/permissions"), table, &r.permissions);
        let env_ceiling = r
            .env_ceiling
            .as_ref()
            .map(|c| self.perms(&format!("{at}/env_ceiling"), table, c));
        if r.scope == ScopeSource::Env && env_ceiling.is_some() {
            self.error(
                format!("{at}/env_ceiling"),
                "only org roles declare an environment ceiling",
                None,
            );
        }
        Role {
            id: r.id.as_str().into(),
            scope: match r.scope {
                ScopeSource::Org => RoleScope::Org,
                ScopeSource::Env => RoleScope::Env,
            },
            permissions,
            env_ceiling,
            can_assign: Vec::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn org(
        &mut self,
        s: &PolicySource,
        oi: usize,
        org: &OrgSource,
        table: &PermissionTable,
        env_owner: &HashMap<&str, &str>,
        issuers: &[Issuer],
        routes: &[Route],
        shared: &[Role],
    ) -> PolicyData {
        let base = format!("/orgs/{oi}");
        let mut roles: Vec<Role> = shared.to_vec();
        let mut ctx = OrgCtx {
            org: &org.id,
            roles: HashMap::new(),
            role_scopes: s.roles.iter().map(|r| r.scope).collect(),
            envs: HashMap::new(),
            groups: HashMap::new(),
            users: HashMap::new(),
            services: HashMap::new(),
            env_owner,
        };
        for (i, r) in s.roles.iter().enumerate() {
            ctx.roles.entry(r.id.as_str()).or_insert(i as u32);
        }
        for (ri, r) in org.roles.iter().enumerate() {
            let at = format!("{base}/roles/{ri}");
            if ctx.roles.contains_key(r.id.as_str()) {
                self.error(
                    format!("{at}/id"),
                    format!("duplicate role id `{}`", r.id),
                    Some("custom role ids must differ from shared ones and each other".into()),
                );
            }
            roles.push(self.role(&at, r, table));
            ctx.roles
                .entry(r.id.as_str())
                .or_insert(roles.len() as u32 - 1);
            ctx.role_scopes.push(r.scope);
        }
        for (ri, r) in org.roles.iter().enumerate() {
            let at = format!("{base}/roles/{ri}");
            let assign = self.assignable(&at, &r.can_assign, &ctx.roles);
            if let Some(role) = roles.get_mut(s.roles.len() + ri) {
                role.can_assign = assign;
            }
        }
        let mut envs = Vec::new();
        for (ei, e) in org.environments.iter().enumerate() {
            if !valid_id(&e.id) {
                self.error(
                    format!("{base}/environments/{ei}/id"),
                    format!("`{}` is not a valid id", e.id),
                    None,
                );
            }
            self.attrs(&format!("{base}/environments/{ei}/attrs"), &e.attrs);
            ctx.envs.insert(e.id.as_str(), envs.len() as u32);
            envs.push(Environment {
                id: e.id.clone(),
                attrs: e.attrs.clone(),
            });
        }
        let mut groups = Vec::new();
        for (gi, g) in org.groups.iter().enumerate() {
            if ctx.groups.insert(g.id.as_str(), gi as u32).is_some() {
                self.error(
                    format!("{base}/groups/{gi}/id"),
                    format!("duplicate group id `{}`", g.id),
                    None,
                );
            }
            groups.push(Group { id: g.id.clone() });
        }
        let mut members = Vec::new();
        for (ui, u) in org.users.iter().enumerate() {
            let at = format!("{base}/users/{ui}");
            if !valid_id(&u.id) {
                self.error(
                    format!("{at}/id"),
                    format!("`{}` is not a valid id", u.id),
                    None,
                );
            }
            if ctx
                .users
                .insert(u.id.as_str(), members.len() as u32)
                .is_some()
            {
                self.error(
                    format!("{at}/id"),
                    format!("duplicate user id `{}`", u.id),
                    None,
                );
            }
            self.attrs(&format!("{at}/attrs"), &u.attrs);
            let groups = self.group_refs(&at, &u.groups, &ctx);
            members.push(Member {
                id: u.id.clone(),
                kind: MemberKind::User,
                client_id: None,
                attrs: u.attrs.clone(),
                groups,
                disabled: u.disabled,
            });
        }
        let mut clients = HashSet::new();
        for (si, svc) in org.services.iter().enumerate() {
            let at = format!("{base}/services/{si}");
            if ctx
                .services
                .insert(svc.id.as_str(), members.len() as u32)
                .is_some()
            {
                self.error(
                    format!("{at}/id"),
                    format!("duplicate service id `{}`", svc.id),
                    None,
                );
            }
            if !clients.insert(svc.client_id.as_str()) || svc.client_id.is_empty() {
                self.error(
                    format!("{at}/client_id"),
                    format!("client id `{}` is empty or used twice", svc.client_id),
                    None,
                );
            }
            self.attrs(&format!("{at}/attrs"), &svc.attrs);
            let groups = self.group_refs(&at, &svc.groups, &ctx);
            members.push(Member {
                id: svc.id.clone(),
                kind: MemberKind::Service,
                client_id: Some(svc.client_id.clone()),
                attrs: svc.attrs.clone(),
                groups,
                disabled: svc.disabled,
            });
        }
        let mut bindings = Vec::new();
        for (bi, b) in org.bindings.iter().enumerate() {
            let at = format!("{base}/bindings/{bi}");
            let target = self.target(
                &at,
                b.user.as_deref(),
                b.group.as_deref(),
                b.service.as_deref(),
                false,
                &ctx,
            );
            let (role, env) = self.role_place(&at, &b.role, b.env.as_deref(), &ctx);
            let window = self.window(&at, &b.not_before, &b.not_after);
            let condition = b
                .when
                .as_ref()
                .and_then(|w| self.condition_root(&format!("{at}/when"), w));
            let holder = b
                .user
                .as_deref()
                .or(b.group.as_deref())
                .or(b.service.as_deref())
                .unwrap_or("?");
            let id = b.id.clone().unwrap_or_else(|| match &b.env {
                Some(e) => format!("{holder}:{}@{e}", b.role),
                None => format!("{holder}:{}", b.role),
            });
            if let (Some(target), Some(role)) = (target, role) {
                bindings.push(Binding {
                    id: id.into(),
                    role,
                    target,
                    env,
                    window,
                    condition: condition.map(Box::new),
                });
            }
        }
        for (di, d) in org.defaults.iter().enumerate() {
            let at = format!("{base}/defaults/{di}");
            let (role, env) = self.role_place(&at, &d.role, d.env.as_deref(), &ctx);
            let id = d.id.clone().unwrap_or_else(|| match &d.env {
                Some(e) => format!("default:{}@{e}", d.role),
                None => format!("default:{}", d.role),
            });
            let condition = d
                .when
                .as_ref()
                .and_then(|w| self.condition_root(&format!("{at}/when"), w));
            if let Some(role) = role {
                bindings.push(Binding {
                    id: id.into(),
                    role,
                    target: Target::Everyone,
                    env,
                    window: Window::default(),
                    condition: condition.map(Box::new),
                });
            }
        }
        let mut seen = HashMap::new();
        for (i, b) in bindings.iter().enumerate() {
            if let Some(first) = seen.insert(b.id.clone(), i) {
                self.error(
                    format!("{base}/bindings"),
                    format!(
                        "two bindings share the rule id `{}` (entries {first} and {i})",
                        b.id
                    ),
                    Some("give one of them an explicit `id`".into()),
                );
            }
        }
        let mut overrides = Vec::new();
        for (xi, o) in org.overrides.iter().enumerate() {
            let at = format!("{base}/overrides/{xi}");
            if seen.contains_key(o.id.as_str())
                || org.overrides.iter().take(xi).any(|x| x.id == o.id)
            {
                self.error(
                    format!("{at}/id"),
                    format!("duplicate rule id `{}`", o.id),
                    None,
                );
            }
            let target = self.target(
                &at,
                o.user.as_deref(),
                o.group.as_deref(),
                o.service.as_deref(),
                o.everyone,
                &ctx,
            );
            let env = o
                .env
                .as_deref()
                .and_then(|e| self.env_ref(&format!("{at}/env"), e, &ctx));
            let permissions = self.perms(&format!("{at}/permissions"), table, &o.permissions);
            if o.permissions.is_empty() {
                self.error(
                    format!("{at}/permissions"),
                    "an override names at least one permission",
                    None,
                );
            }
            self.attrs(&format!("{at}/resource/attrs"), &o.resource.attrs);
            let window = self.window(&at, &o.not_before, &o.not_after);
            let condition = o
                .when
                .as_ref()
                .and_then(|w| self.condition_root(&format!("{at}/when"), w));
            if let Some(target) = target {
                overrides.push(Override {
                    id: o.id.as_str().into(),
                    effect: match o.effect {
                        EffectSource::Allow => Effect::Allow,
                        EffectSource::Deny => Effect::Deny,
                    },
                    permissions,
                    target,
                    env,
                    resource: ResourceSelector {
                        resource_type: o.resource.resource_type.clone(),
                        id_glob: o.resource.id.clone(),
                        attrs: o.resource.attrs.clone(),
                    },
                    window,
                    condition: condition.map(Box::new),
                });
            }
        }
        let mut subjects_before = Vec::new();
        for (ri, r) in org.revocations.subjects.iter().enumerate() {
            if let Some(t) = self.time(
                &format!("{base}/revocations/subjects/{ri}/before"),
                &Some(r.before.clone()),
            ) {
                subjects_before.push((r.sub.clone(), t));
            }
        }
        PolicyData {
            org: org.id.clone(),
            permissions: table.names().to_vec(),
            roles,
            envs,
            groups,
            members,
            bindings,
            overrides,
            issuers: issuers.to_vec(),
            revocations: Revocations {
                token_ids: org.revocations.token_ids.clone(),
                subjects_before,
            },
            routes: routes.to_vec(),
        }
    }

    fn assignable(&mut self, at: &str, ids: &[String], roles: &HashMap<&str, u32>) -> Vec<u32> {
        let mut out = Vec::new();
        for (ai, id) in ids.iter().enumerate() {
            match roles.get(id.as_str()) {
                Some(&ri) => out.push(ri),
                None => self.error(
                    format!("{at}/can_assign/{ai}"),
                    format!("unknown role `{id}`"),
                    closest(id, roles.keys().copied()).map(|c| format!("did you mean `{c}`?")),
                ),
            }
        }
        out
    }

    fn attrs(&mut self, at: &str, attrs: &Attrs) {
        for (k, v) in attrs {
            if v.depth() > MAX_VALUE_DEPTH {
                self.error(
                    format!("{at}/{k}"),
                    "attribute values are scalars or lists of scalars",
                    None,
                );
            }
        }
    }

    fn group_refs(&mut self, at: &str, names: &[String], ctx: &OrgCtx<'_>) -> Vec<u32> {
        let mut out = Vec::new();
        for (gi, g) in names.iter().enumerate() {
            match ctx.groups.get(g.as_str()) {
                Some(&i) => out.push(i),
                None => self.error(
                    format!("{at}/groups/{gi}"),
                    format!("unknown group `{g}`"),
                    closest(g, ctx.groups.keys().copied())
                        .map(|c| format!("did you mean `{c}`?"))
                        .or(Some("declare it under `groups`".into())),
                ),
            }
        }
        out
    }

    fn env_ref(&mut self, at: &str, env: &str, ctx: &OrgCtx<'_>) -> Option<EnvSelector> {
        if env == "*" {
            return Some(EnvSelector::All);
        }
        if let Some(&i) = ctx.envs.get(env) {
            return Some(EnvSelector::One(i));
        }
        match ctx.env_owner.get(env) {
            Some(owner) => self.error(
                at,
                format!(
                    "environment `{env}` belongs to org `{owner}`, not `{}`",
                    ctx.org
                ),
                Some(format!("bind it in org `{owner}`")),
            ),
            None => self.error(
                at,
                format!("unknown environment `{env}`"),
                closest(env, ctx.envs.keys().copied())
                    .map(|c| format!("did you mean `{c}`?"))
                    .or(Some("use an id from `environments`, or `*`".into())),
            ),
        }
        None
    }

    fn role_place(
        &mut self,
        at: &str,
        role: &str,
        env: Option<&str>,
        ctx: &OrgCtx<'_>,
    ) -> (Option<u32>, Option<EnvSelector>) {
        let Some(&ri) = ctx.roles.get(role) else {
            self.error(
                format!("{at}/role"),
                format!("unknown role `{role}`"),
                closest(role, ctx.roles.keys().copied()).map(|c| format!("did you mean `{c}`?")),
            );
            return (None, None);
        };
        let scope = ctx.role_scopes.get(ri as usize).copied();
        match (scope, env) {
            (Some(ScopeSource::Org), Some(_)) => {
                self.error(
                    format!("{at}/env"),
                    format!("`{role}` is an org role; it applies org-wide"),
                    Some("remove `env`, or bind an env role".into()),
                );
                (None, None)
            }
            (Some(ScopeSource::Env), None) => {
                self.error(
                    format!("{at}/env"),
                    format!("`{role}` is an env role; name its environment"),
                    Some("set `env` to an environment id or `*`".into()),
                );
                (None, None)
            }
            (_, Some(e)) => match self.env_ref(&format!("{at}/env"), e, ctx) {
                Some(sel) => (Some(ri), Some(sel)),
                None => (None, None),
            },
            _ => (Some(ri), None),
        }
    }

    fn target(
        &mut self,
        at: &str,
        user: Option<&str>,
        group: Option<&str>,
        service: Option<&str>,
        everyone: bool,
        ctx: &OrgCtx<'_>,
    ) -> Option<Target> {
        let given = usize::from(user.is_some())
            + usize::from(group.is_some())
            + usize::from(service.is_some())
            + usize::from(everyone);
        if given != 1 {
            self.error(
                at,
                "name exactly one of `user`, `group`, `service`, `everyone`",
                None,
            );
            return None;
        }
        let lookup = |kind: &str,
                      name: &str,
                      map: &HashMap<&str, u32>|
         -> Result<u32, (String, String, Option<String>)> {
            map.get(name).copied().ok_or_else(|| {
                (
                    format!("{at}/{kind}"),
                    format!("unknown {kind} `{name}`"),
                    closest(name, map.keys().copied()).map(|c| format!("did you mean `{c}`?")),
                )
            })
        };
        let found = if let Some(u) = user {
            lookup("user", u, &ctx.users).map(Target::Member)
        } else if let Some(g) = group {
            lookup("group", g, &ctx.groups).map(Target::Group)
        } else if let Some(s) = service {
            lookup("service", s, &ctx.services).map(Target::Member)
        } else {
            Ok(Target::Everyone)
        };
        match found {
            Ok(t) => Some(t),
            Err((p, m, h)) => {
                self.error(p, m, h);
                None
            }
        }
    }

    fn condition_root(&mut self, at: &str, v: &serde_json::Value) -> Option<Condition> {
        let c = self.condition(at, v, 1)?;
        if c.size() > MAX_CONDITION_NODES {
            self.error(
                at,
                format!(
                    "condition has {} nodes; at most {MAX_CONDITION_NODES} are allowed",
                    c.size()
                ),
                Some("split it across rules".into()),
            );
            return None;
        }
        Some(c)
    }

    fn condition(&mut self, at: &str, v: &serde_json::Value, depth: usize) -> Option<Condition> {
        if depth > MAX_CONDITION_DEPTH {
            self.error(
                at,
                format!("condition nested deeper than {MAX_CONDITION_DEPTH} levels"),
                Some("flatten `all`/`any` nodes".into()),
            );
            return None;
        }
        let Some(obj) = v.as_object().filter(|o| o.len() == 1) else {
            self.error(
                at,
                "a condition is an object with exactly one operator",
                Some("`all`, `any`, `not`, `eq`, `in`, `has` or `time`".into()),
            );
            return None;
        };
        let (op, arg) = obj.iter().next()?;
        let at = format!("{at}/{op}");
        match op.as_str() {
            "all" | "any" => {
                let Some(items) = arg.as_array() else {
                    self.error(at, format!("`{op}` takes a list of conditions"), None);
                    return None;
                };
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    out.push(self.condition(&format!("{at}/{i}"), item, depth + 1));
                }
                let out: Option<Vec<_>> = out.into_iter().collect();
                let out = out?;
                Some(if op == "all" {
                    Condition::All(out)
                } else {
                    Condition::Any(out)
                })
            }
            "not" => Some(Condition::Not(Box::new(self.condition(
                &at,
                arg,
                depth + 1,
            )?))),
            "eq" | "in" => {
                let Some([a, b]) = arg.as_array().map(Vec::as_slice) else {
                    self.error(at, format!("`{op}` takes two operands"), Some("e.g. `[{\"attr\": \"resource.factory\"}, {\"attr\": \"principal.factories\"}]`".into()));
                    return None;
                };
                let a = self.operand(&format!("{at}/0"), a);
                let b = self.operand(&format!("{at}/1"), b);
                let (a, b) = (a?, b?);
                if op == "in" {
                    if let Operand::Literal(l) = &b {
                        if !matches!(l, Value::List(_)) {
                            self.error(format!("{at}/1"), "the right side of `in` is a list", None);
                        }
                    }
                    Some(Condition::In(a, b))
                } else {
                    Some(Condition::Eq(a, b))
                }
            }
            "has" => match arg.as_str().and_then(AttrRef::parse) {
                Some(r) => Some(Condition::Has(r)),
                None => {
                    self.error(
                        at,
                        "`has` takes an attribute reference such as `resource.region`",
                        None,
                    );
                    None
                }
            },
            "time" => {
                let parsed: Result<TimeWindowSource, _> = serde_json::from_value(arg.clone());
                match parsed {
                    Ok(w) => {
                        let after = self.time(&format!("{at}/after"), &w.after);
                        let before = self.time(&format!("{at}/before"), &w.before);
                        Some(Condition::Time { after, before })
                    }
                    Err(_) => {
                        self.error(at, "`time` takes `{\"after\": …, \"before\": …}`", None);
                        None
                    }
                }
            }
            other => {
                self.error(
                    at,
                    format!("unknown operator `{other}`"),
                    closest(
                        other,
                        ["all", "any", "not", "eq", "in", "has", "time"].into_iter(),
                    )
                    .map(|c| format!("did you mean `{c}`?")),
                );
                None
            }
        }
    }

    fn operand(&mut self, at: &str, v: &serde_json::Value) -> Option<Operand> {
        if let Some(obj) = v.as_object() {
            return match (obj.len(), obj.get("attr").and_then(|a| a.as_str())) {
                (1, Some(text)) => match AttrRef::parse(text) {
                    Some(r) => Some(Operand::Attr(r)),
                    None => {
                        self.error(
                            format!("{at}/attr"),
                            format!("`{text}` is not an attribute reference"),
                            Some(
                                "use `principal.x`, `resource.x`, `env.x` or `context.method`"
                                    .into(),
                            ),
                        );
                        None
                    }
                },
                _ => {
                    self.error(at, "an operand is a literal or `{\"attr\": \"…\"}`", None);
                    None
                }
            };
        }
        match serde_json::from_value::<Value>(v.clone()) {
            Ok(val) if val.depth() <= MAX_VALUE_DEPTH => Some(Operand::Literal(val)),
            _ => {
                self.error(
                    at,
                    "a literal is a string, an integer, a boolean or a list of those",
                    None,
                );
                None
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeWindowSource {
    #[serde(default)]
    after: Option<TimeSource>,
    #[serde(default)]
    before: Option<TimeSource>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bind_everyone_and_rule_ids_are_derived() {
        let source = parse_source(crate::testing::source().to_string().as_bytes()).unwrap();
        let mut source = source;
        source.orgs[0].defaults.push(DefaultSource {
            id: None,
            role: "editor".into(),
            env: Some("dev".into()),
            when: None,
        });
        let data = compile(&source).unwrap().remove(0);
        let ids: Vec<&str> = data.bindings.iter().map(|b| &*b.id).collect();
        assert_eq!(
            ids,
            [
                "olga:owner",
                "mia:member",
                "writers:editor@*",
                "bot:member",
                "default:editor@dev"
            ]
        );
        let last = data.bindings.last().unwrap();
        assert_eq!(
            (last.target, last.env),
            (Target::Everyone, Some(EnvSelector::One(0)))
        );
        assert_eq!(data.bindings[2].env, Some(EnvSelector::All));
    }

    #[test]
    fn closest_suggests_only_near_names() {
        assert_eq!(
            closest("Admn", ["Admin", "Read"].into_iter()),
            Some("Admin")
        );
        assert_eq!(closest("zzzz", ["Admin", "Read"].into_iter()), None);
    }

    #[test]
    fn trailing_bytes_after_the_document_are_an_error() {
        let err = parse_source(b"{\"permissions\": {}, \"orgs\": []} x").unwrap_err();
        assert_eq!(err.errors.len(), 1);
    }
}
