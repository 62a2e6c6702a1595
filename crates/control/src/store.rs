//! The organization's state as D1 rows, and back: the statements that read it, the policy
//! source it assembles into, and the statements that write a policy source into it.
//!
//! Nothing here touches a database: statements are data (SQL text and parameters) that the
//! Worker runs, and rows come back as JSON objects.

use std::collections::BTreeMap;

use portcullis::source::{
    BindingSource, DefaultSource, EnvSourceDef, GroupSource, IssuerSource, OrgSource,
    OverrideSource, ResourceSource, RevocationSource, RoleSource, RouteSource, ScopeSource,
    ServiceSource, SubjectRevocation, TimeSource, UserSource,
};
use portcullis::PolicySource;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ControlError;

/// One SQL parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SqlValue {
    /// `NULL`.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
}

impl From<&str> for SqlValue {
    fn from(s: &str) -> Self {
        SqlValue::Text(s.to_owned())
    }
}
impl From<String> for SqlValue {
    fn from(s: String) -> Self {
        SqlValue::Text(s)
    }
}
impl From<i64> for SqlValue {
    fn from(n: i64) -> Self {
        SqlValue::Int(n)
    }
}
impl From<Option<String>> for SqlValue {
    fn from(s: Option<String>) -> Self {
        s.map_or(SqlValue::Null, SqlValue::Text)
    }
}
impl From<Option<&str>> for SqlValue {
    fn from(s: Option<&str>) -> Self {
        s.map_or(SqlValue::Null, |s| SqlValue::Text(s.to_owned()))
    }
}

/// One SQL statement with its parameters (`?1`, `?2`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The SQL text.
    pub sql: &'static str,
    /// The parameters, in order.
    pub params: Vec<SqlValue>,
}

impl Statement {
    /// A statement with parameters.
    pub fn new(sql: &'static str, params: Vec<SqlValue>) -> Self {
        Statement { sql, params }
    }
}

/// The queries that read one organization, in the order [`OrgRows::from_results`] expects;
/// each takes the organization id as `?1`. Rows come back in the order they were written, so
/// an export lists everything in the order of the file it was imported from.
pub const LOAD_QUERIES: [&str; 15] = [
    "SELECT id, name, version, published, settings, created_at FROM orgs WHERE id = ?1",
    "SELECT scope, id, shared, doc FROM roles WHERE org = ?1 ORDER BY shared DESC, rowid",
    "SELECT doc FROM issuers WHERE org = ?1 ORDER BY rowid",
    "SELECT doc FROM environments WHERE org = ?1 ORDER BY seq",
    "SELECT doc FROM member_groups WHERE org = ?1 ORDER BY rowid",
    "SELECT id, doc, created_at, created_by, modified_at, modified_by FROM users WHERE org = ?1 ORDER BY seq",
    "SELECT user, grp FROM group_members WHERE org = ?1 ORDER BY rowid",
    "SELECT doc FROM services WHERE org = ?1 ORDER BY rowid",
    "SELECT doc FROM bindings WHERE org = ?1 ORDER BY seq",
    "SELECT doc FROM defaults WHERE org = ?1 ORDER BY seq",
    "SELECT doc FROM overrides WHERE org = ?1 ORDER BY seq",
    "SELECT doc FROM resources WHERE org = ?1 ORDER BY seq",
    "SELECT jti FROM revoked_tokens WHERE org = ?1 ORDER BY rowid",
    "SELECT sub, before FROM revoked_subjects WHERE org = ?1 ORDER BY rowid",
    "SELECT version FROM audit WHERE org = ?1 ORDER BY version DESC LIMIT 1",
];

/// The per-organization settings kept in `orgs.settings`: the parts of a policy file that
/// are neither rows of their own nor roles.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Declared permissions: resource type → verbs.
    pub permissions: BTreeMap<String, Vec<String>>,
    /// Gateway routes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteSource>,
    /// Member attributes that also name a member to a PDP client.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subject_aliases: Vec<String>,
}

/// Who made a user and who changed them last (Unix seconds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// When the user was added.
    pub created_at: i64,
    /// Who added them (the actor's subject).
    pub created_by: String,
    /// When the user was last changed.
    pub modified_at: i64,
    /// Who changed them last.
    pub modified_by: String,
}

/// One organization as D1 holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct OrgRows {
    /// The organization's policy, as a policy source with this one organization.
    pub source: PolicySource,
    /// The last committed version.
    pub version: u64,
    /// The version last put into KV.
    pub published: u64,
    /// Per user: who made and changed them.
    pub users: BTreeMap<String, UserRecord>,
}

#[derive(Deserialize)]
struct OrgRow {
    id: String,
    name: Option<String>,
    version: i64,
    published: i64,
    settings: String,
}

#[derive(Deserialize)]
struct RoleRow {
    shared: i64,
    doc: String,
}

#[derive(Deserialize)]
struct DocRow {
    doc: String,
}

#[derive(Deserialize)]
struct UserRow {
    id: String,
    doc: String,
    created_at: i64,
    created_by: String,
    modified_at: i64,
    modified_by: String,
}

#[derive(Deserialize)]
struct MembershipRow {
    user: String,
    grp: String,
}

#[derive(Deserialize)]
struct JtiRow {
    jti: String,
}

#[derive(Deserialize)]
struct SubjectRow {
    sub: String,
    before: i64,
}

fn rows<T: DeserializeOwned>(results: &[Vec<Value>], index: usize) -> Result<Vec<T>, ControlError> {
    let list = results
        .get(index)
        .ok_or_else(|| ControlError::Storage(format!("query {index} returned nothing")))?;
    list.iter()
        .map(|v| {
            T::deserialize(v).map_err(|e| ControlError::Storage(format!("query {index}: {e}")))
        })
        .collect()
}

fn doc<T: DeserializeOwned>(text: &str, table: &str) -> Result<T, ControlError> {
    serde_json::from_str(text).map_err(|e| ControlError::Storage(format!("{table}: {e}")))
}

fn docs<T: DeserializeOwned>(
    results: &[Vec<Value>],
    index: usize,
    table: &str,
) -> Result<Vec<T>, ControlError> {
    rows::<DocRow>(results, index)?
        .iter()
        .map(|r| doc(&r.doc, table))
        .collect()
}

/// A user's row document: the user without their groups (kept in `group_members`).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserDoc {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "portcullis::Attrs::is_empty")]
    attrs: portcullis::Attrs,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    disabled: bool,
}

impl OrgRows {
    /// Assembles the answers to [`LOAD_QUERIES`] (one list of rows per query). `None` when
    /// the organization does not exist.
    pub fn from_results(results: &[Vec<Value>]) -> Result<Option<OrgRows>, ControlError> {
        let Some(org) = rows::<OrgRow>(results, 0)?.into_iter().next() else {
            return Ok(None);
        };
        let settings: Settings = doc(&org.settings, "orgs.settings")?;
        let mut shared_roles = Vec::new();
        let mut own_roles = Vec::new();
        for r in rows::<RoleRow>(results, 1)? {
            let role: RoleSource = doc(&r.doc, "roles")?;
            if r.shared != 0 {
                shared_roles.push(role);
            } else {
                own_roles.push(role);
            }
        }
        let mut groups_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for m in rows::<MembershipRow>(results, 6)? {
            groups_of.entry(m.user).or_default().push(m.grp);
        }
        let mut users = Vec::new();
        let mut records = BTreeMap::new();
        for r in rows::<UserRow>(results, 5)? {
            let d: UserDoc = doc(&r.doc, "users")?;
            records.insert(
                r.id.clone(),
                UserRecord {
                    created_at: r.created_at,
                    created_by: r.created_by,
                    modified_at: r.modified_at,
                    modified_by: r.modified_by,
                },
            );
            users.push(UserSource {
                groups: groups_of.remove(&r.id).unwrap_or_default(),
                id: d.id,
                name: d.name,
                attrs: d.attrs,
                disabled: d.disabled,
            });
        }
        let revocations = RevocationSource {
            token_ids: rows::<JtiRow>(results, 12)?
                .into_iter()
                .map(|r| r.jti)
                .collect(),
            subjects: rows::<SubjectRow>(results, 13)?
                .into_iter()
                .map(|r| SubjectRevocation {
                    sub: r.sub,
                    before: TimeSource::Unix(r.before),
                })
                .collect(),
        };
        let version = u64::try_from(org.version).unwrap_or(0);
        let source = PolicySource {
            schema: None,
            version: Some(version),
            permissions: settings.permissions,
            roles: shared_roles,
            issuers: docs::<IssuerSource>(results, 2, "issuers")?,
            routes: settings.routes,
            orgs: vec![OrgSource {
                id: org.id,
                name: org.name,
                environments: docs::<EnvSourceDef>(results, 3, "environments")?,
                roles: own_roles,
                groups: docs::<GroupSource>(results, 4, "member_groups")?,
                users,
                services: docs::<ServiceSource>(results, 7, "services")?,
                bindings: docs::<BindingSource>(results, 8, "bindings")?,
                defaults: docs::<DefaultSource>(results, 9, "defaults")?,
                overrides: docs::<OverrideSource>(results, 10, "overrides")?,
                revocations,
                subject_aliases: settings.subject_aliases,
                resources: docs::<ResourceSource>(results, 11, "resources")?,
            }],
        };
        Ok(Some(OrgRows {
            source,
            version,
            published: u64::try_from(org.published).unwrap_or(0),
            users: records,
        }))
    }

    /// The organization's part of the source.
    pub fn org(&self) -> Option<&OrgSource> {
        self.source.orgs.first()
    }
}

fn json<T: Serialize>(value: &T) -> Result<String, ControlError> {
    serde_json::to_string(value).map_err(|e| ControlError::Storage(e.to_string()))
}

/// The statement that adds a user row.
pub fn insert_user(
    org: &str,
    user: &UserSource,
    actor: &str,
    now: i64,
) -> Result<Vec<Statement>, ControlError> {
    let d = UserDoc {
        id: user.id.clone(),
        name: user.name.clone(),
        attrs: user.attrs.clone(),
        disabled: user.disabled,
    };
    let mut out = vec![Statement::new(
        "INSERT INTO users (org, id, doc, created_at, created_by, modified_at, modified_by) VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?5)",
        vec![org.into(), user.id.as_str().into(), json(&d)?.into(), now.into(), actor.into()],
    )];
    for g in &user.groups {
        out.push(Statement::new(
            "INSERT INTO group_members (org, grp, user) VALUES (?1, ?2, ?3)",
            vec![org.into(), g.as_str().into(), user.id.as_str().into()],
        ));
    }
    Ok(out)
}

/// The statement that adds a role binding.
pub fn insert_binding(org: &str, b: &BindingSource) -> Result<Statement, ControlError> {
    Ok(Statement::new(
        "INSERT INTO bindings (org, role, user, grp, service, env, doc, rule) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        vec![
            org.into(),
            b.role.as_str().into(),
            b.user.clone().into(),
            b.group.clone().into(),
            b.service.clone().into(),
            b.env.clone().into(),
            json(b)?.into(),
            b.rule_id().into(),
        ],
    ))
}

/// The statement that removes the binding whose rule id is `rule`.
pub fn delete_binding(org: &str, rule: &str) -> Statement {
    Statement::new(
        "DELETE FROM bindings WHERE org = ?1 AND rule = ?2",
        vec![org.into(), rule.into()],
    )
}

/// The statement that adds a default role.
pub fn insert_default(org: &str, d: &DefaultSource) -> Result<Statement, ControlError> {
    Ok(Statement::new(
        "INSERT INTO defaults (org, rule, doc) VALUES (?1, ?2, ?3)",
        vec![org.into(), d.rule_id().into(), json(d)?.into()],
    ))
}

/// The statement that removes the default whose rule id is `rule`.
pub fn delete_default(org: &str, rule: &str) -> Statement {
    Statement::new(
        "DELETE FROM defaults WHERE org = ?1 AND rule = ?2",
        vec![org.into(), rule.into()],
    )
}

/// The statement that adds a resource override.
pub fn insert_override(org: &str, o: &OverrideSource) -> Result<Statement, ControlError> {
    Ok(Statement::new(
        "INSERT INTO overrides (org, id, user, grp, service, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        vec![
            org.into(),
            o.id.as_str().into(),
            o.user.clone().into(),
            o.group.clone().into(),
            o.service.clone().into(),
            json(o)?.into(),
        ],
    ))
}

/// The statement that removes the override `id`.
pub fn delete_override(org: &str, id: &str) -> Statement {
    Statement::new(
        "DELETE FROM overrides WHERE org = ?1 AND id = ?2",
        vec![org.into(), id.into()],
    )
}

/// The statement that adds a group.
pub fn insert_group(org: &str, g: &GroupSource) -> Result<Statement, ControlError> {
    Ok(Statement::new(
        "INSERT INTO member_groups (org, id, doc) VALUES (?1, ?2, ?3)",
        vec![org.into(), g.id.as_str().into(), json(g)?.into()],
    ))
}

/// The statements that remove a group with its memberships, bindings and overrides.
pub fn delete_group(org: &str, group: &str) -> Vec<Statement> {
    let p = || vec![SqlValue::from(org), SqlValue::from(group)];
    vec![
        Statement::new("DELETE FROM member_groups WHERE org = ?1 AND id = ?2", p()),
        Statement::new("DELETE FROM group_members WHERE org = ?1 AND grp = ?2", p()),
        Statement::new("DELETE FROM bindings WHERE org = ?1 AND grp = ?2", p()),
        Statement::new("DELETE FROM overrides WHERE org = ?1 AND grp = ?2", p()),
    ]
}

/// The statement that puts a user into a group.
pub fn insert_membership(org: &str, group: &str, user: &str) -> Statement {
    Statement::new(
        "INSERT INTO group_members (org, grp, user) VALUES (?1, ?2, ?3)",
        vec![org.into(), group.into(), user.into()],
    )
}

/// The statement that takes a user out of a group.
pub fn delete_membership(org: &str, group: &str, user: &str) -> Statement {
    Statement::new(
        "DELETE FROM group_members WHERE org = ?1 AND grp = ?2 AND user = ?3",
        vec![org.into(), group.into(), user.into()],
    )
}

/// The statement that adds a service (an OAuth2 client-credentials client).
pub fn insert_service(org: &str, s: &ServiceSource) -> Result<Statement, ControlError> {
    Ok(Statement::new(
        "INSERT INTO services (org, id, client_id, doc) VALUES (?1, ?2, ?3, ?4)",
        vec![
            org.into(),
            s.id.as_str().into(),
            s.client_id.as_str().into(),
            json(s)?.into(),
        ],
    ))
}

/// The statements that remove a service with its bindings and overrides.
pub fn delete_service(org: &str, service: &str) -> Vec<Statement> {
    let p = || vec![SqlValue::from(org), SqlValue::from(service)];
    vec![
        Statement::new("DELETE FROM services WHERE org = ?1 AND id = ?2", p()),
        Statement::new("DELETE FROM bindings WHERE org = ?1 AND service = ?2", p()),
        Statement::new("DELETE FROM overrides WHERE org = ?1 AND service = ?2", p()),
    ]
}

/// The statement that revokes one token id.
pub fn revoke_token(org: &str, jti: &str) -> Statement {
    Statement::new(
        "INSERT INTO revoked_tokens (org, jti) VALUES (?1, ?2) ON CONFLICT (org, jti) DO NOTHING",
        vec![org.into(), jti.into()],
    )
}

/// The statement that refuses a subject's tokens issued before `before` (the later instant
/// wins when the subject is revoked already).
pub fn revoke_subject(org: &str, sub: &str, before: i64) -> Statement {
    Statement::new(
        "INSERT INTO revoked_subjects (org, sub, before) VALUES (?1, ?2, ?3) \
         ON CONFLICT (org, sub) DO UPDATE SET before = max(before, excluded.before)",
        vec![org.into(), sub.into(), before.into()],
    )
}

/// The statements that remove a user with everything that names them, and refuse the tokens
/// issued to them until `now` even should they be added again.
pub fn delete_user(org: &str, user: &str, now: i64) -> Vec<Statement> {
    let p = || vec![SqlValue::from(org), SqlValue::from(user)];
    vec![
        Statement::new("DELETE FROM users WHERE org = ?1 AND id = ?2", p()),
        Statement::new(
            "DELETE FROM group_members WHERE org = ?1 AND user = ?2",
            p(),
        ),
        Statement::new("DELETE FROM bindings WHERE org = ?1 AND user = ?2", p()),
        Statement::new("DELETE FROM overrides WHERE org = ?1 AND user = ?2", p()),
        revoke_subject(org, user, now),
    ]
}

/// The statement that removes a user's direct, unconditional org-level binding to `role`
/// (their access level).
pub fn delete_access_level(org: &str, user: &str, role: &str) -> Statement {
    Statement::new(
        "DELETE FROM bindings WHERE org = ?1 AND user = ?2 AND role = ?3 AND env IS NULL \
         AND json_extract(doc, '$.when') IS NULL",
        vec![org.into(), user.into(), role.into()],
    )
}

/// The statement that records who changed a user last, and when.
pub fn touch_user(org: &str, user: &str, actor: &str, now: i64) -> Statement {
    Statement::new(
        "UPDATE users SET modified_at = ?3, modified_by = ?4 WHERE org = ?1 AND id = ?2",
        vec![org.into(), user.into(), now.into(), actor.into()],
    )
}

/// One accepted change, as the audit log records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// The actor's subject.
    pub actor: String,
    /// What was done, such as `user.add`.
    pub action: &'static str,
    /// What it was done to, such as a user id.
    pub target: Option<String>,
    /// The target before the change, as JSON.
    pub before: Option<String>,
    /// The target after the change, as JSON.
    pub after: Option<String>,
}

/// The statements that commit a change decided on version `expected` of `org` as version
/// `version`: the move of the organization's version, the audit row (refused by the schema
/// unless the move found `expected`; see the migration), then the change itself. Run as one
/// batch, they commit whole or not at all.
pub fn commit(
    org: &str,
    expected: u64,
    version: u64,
    now: i64,
    audit: &AuditEntry,
    change: Vec<Statement>,
) -> Vec<Statement> {
    let int = |n: u64| SqlValue::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let mut out = Vec::with_capacity(change.len() + 2);
    out.push(Statement::new(
        "UPDATE orgs SET version = ?2 WHERE id = ?1 AND version = ?3",
        vec![org.into(), int(version), int(expected)],
    ));
    out.push(Statement::new(
        "INSERT INTO audit (org, version, at, actor, action, target, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        vec![
            org.into(),
            int(version),
            now.into(),
            audit.actor.as_str().into(),
            audit.action.into(),
            audit.target.clone().into(),
            audit.before.clone().into(),
            audit.after.clone().into(),
        ],
    ));
    out.extend(change);
    out
}

/// The statement that records `version` as put into KV at `now` (never lowering the
/// version).
pub fn mark_published(org: &str, version: u64, now: i64) -> Statement {
    Statement::new(
        "UPDATE orgs SET published = max(published, ?2), published_at = ?3 WHERE id = ?1",
        vec![
            org.into(),
            i64::try_from(version).unwrap_or(i64::MAX).into(),
            now.into(),
        ],
    )
}

/// The query for the organizations whose bundle the cron trigger must publish: a committed
/// version not yet in KV, or a bundle signed before `?1` (half its lifetime ago), which it
/// signs again before the gateway would find it expired.
pub const DUE_QUERY: &str = "SELECT id FROM orgs WHERE published < version OR published_at < ?1";

/// The query for the last 50 audit rows about one target (`?1` the organization, `?2` the
/// target), newest first.
pub const AUDIT_QUERY: &str =
    "SELECT version, at, actor, action, target, before, after FROM audit \
     WHERE org = ?1 AND target = ?2 ORDER BY version DESC LIMIT 50";

/// The query for an organization's committed and published versions.
pub const VERSION_QUERY: &str = "SELECT version, published FROM orgs WHERE id = ?1";

/// The statements that replace everything D1 holds for the organization of `source` (a
/// policy source with exactly one organization) with it, as version `version`. Users keep
/// their records when they stay; new ones are recorded as made by `actor` at `now`.
pub fn replace_org(
    source: &PolicySource,
    previous: Option<&OrgRows>,
    actor: &str,
    now: i64,
) -> Result<Vec<Statement>, ControlError> {
    let org = source
        .orgs
        .first()
        .ok_or_else(|| ControlError::Storage("a source without an organization".into()))?;
    let id = org.id.as_str();
    let settings = Settings {
        permissions: source.permissions.clone(),
        routes: source.routes.clone(),
        subject_aliases: org.subject_aliases.clone(),
    };
    let mut out = Vec::new();
    for table in [
        "DELETE FROM roles WHERE org = ?1",
        "DELETE FROM issuers WHERE org = ?1",
        "DELETE FROM environments WHERE org = ?1",
        "DELETE FROM member_groups WHERE org = ?1",
        "DELETE FROM users WHERE org = ?1",
        "DELETE FROM group_members WHERE org = ?1",
        "DELETE FROM services WHERE org = ?1",
        "DELETE FROM bindings WHERE org = ?1",
        "DELETE FROM defaults WHERE org = ?1",
        "DELETE FROM overrides WHERE org = ?1",
        "DELETE FROM resources WHERE org = ?1",
        "DELETE FROM revoked_tokens WHERE org = ?1",
        "DELETE FROM revoked_subjects WHERE org = ?1",
    ] {
        out.push(Statement::new(table, vec![id.into()]));
    }
    out.push(Statement::new(
        "UPDATE orgs SET name = ?2, settings = ?3 WHERE id = ?1",
        vec![id.into(), org.name.clone().into(), json(&settings)?.into()],
    ));
    let scope = |s: ScopeSource| match s {
        ScopeSource::Org => "org",
        ScopeSource::Env => "env",
    };
    for (shared, roles) in [(1, &source.roles), (0, &org.roles)] {
        for r in roles {
            out.push(Statement::new(
                "INSERT INTO roles (org, scope, id, shared, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
                vec![
                    id.into(),
                    scope(r.scope).into(),
                    r.id.as_str().into(),
                    SqlValue::Int(shared),
                    json(r)?.into(),
                ],
            ));
        }
    }
    for i in &source.issuers {
        out.push(Statement::new(
            "INSERT INTO issuers (org, iss, doc) VALUES (?1, ?2, ?3)",
            vec![id.into(), i.iss.as_str().into(), json(i)?.into()],
        ));
    }
    for e in &org.environments {
        out.push(Statement::new(
            "INSERT INTO environments (org, id, doc) VALUES (?1, ?2, ?3)",
            vec![id.into(), e.id.as_str().into(), json(e)?.into()],
        ));
    }
    for g in &org.groups {
        out.push(insert_group(id, g)?);
    }
    for u in &org.users {
        let mut s = insert_user(id, u, actor, now)?;
        if let Some(rec) = previous.and_then(|p| p.users.get(&u.id)) {
            if let Some(first) = s.first_mut() {
                first.params = vec![
                    id.into(),
                    u.id.as_str().into(),
                    first.params.get(2).cloned().unwrap_or(SqlValue::Null),
                    rec.created_at.into(),
                    rec.created_by.as_str().into(),
                ];
            }
        }
        out.extend(s);
    }
    for s in &org.services {
        out.push(insert_service(id, s)?);
    }
    for b in &org.bindings {
        out.push(insert_binding(id, b)?);
    }
    for d in &org.defaults {
        out.push(insert_default(id, d)?);
    }
    for o in &org.overrides {
        out.push(insert_override(id, o)?);
    }
    for r in &org.resources {
        out.push(Statement::new(
            "INSERT INTO resources (org, type, id, doc) VALUES (?1, ?2, ?3, ?4)",
            vec![
                id.into(),
                r.resource_type.as_str().into(),
                r.id.as_str().into(),
                json(r)?.into(),
            ],
        ));
    }
    for jti in &org.revocations.token_ids {
        out.push(revoke_token(id, jti));
    }
    for s in &org.revocations.subjects {
        out.push(revoke_subject(id, &s.sub, unix(&s.before)?));
    }
    Ok(out)
}

/// The statement that creates an organization's row at version `version` if there is none
/// (an import's first step; its commit then moves the version on).
pub fn ensure_org(org: &str, version: u64, now: i64) -> Statement {
    Statement::new(
        "INSERT INTO orgs (id, version, published, settings, created_at) VALUES (?1, ?2, 0, '{\"permissions\":{}}', ?3) \
         ON CONFLICT (id) DO NOTHING",
        vec![org.into(), SqlValue::Int(i64::try_from(version).unwrap_or(i64::MAX)), now.into()],
    )
}

/// A source instant as Unix seconds.
pub fn unix(t: &TimeSource) -> Result<i64, ControlError> {
    match t {
        TimeSource::Unix(n) => Ok(*n),
        TimeSource::Text(s) => {
            portcullis::time::parse_rfc3339(s).ok_or_else(|| ControlError::InvalidField {
                path: "before".into(),
                message: format!("`{s}` is not an RFC 3339 instant"),
            })
        }
    }
}
