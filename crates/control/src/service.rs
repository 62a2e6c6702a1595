//! The management API, sans I/O: which call a request is, who may make it (decided by
//! Portcullis over the organization's own policy), and what it answers and changes.
//!
//! The Worker reads the organization from D1 ([`crate::store::OrgRows`]), hands it here with
//! the request and `now`, and commits the [`Change`] it gets back in one batch.

use portcullis::model::PolicyData;
use portcullis::source::{BindingSource, OrgSource, PolicySource, UserSource};
use portcullis::{
    Authorizer, Decision, Detail, Reason, Request, Resource, TokenKind, UnverifiedToken,
    VerifiedToken, VerifyOptions,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ControlError;
use crate::store::{self, AuditEntry, OrgRows, Statement};

/// Largest body a user call accepts.
pub const MAX_CALL_BODY_BYTES: usize = 16 * 1024;
/// Largest policy an import accepts.
pub const MAX_IMPORT_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Longest user id, in bytes.
pub const MAX_USER_ID_BYTES: usize = 256;

/// The permissions that guard the API, named by the organization's policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permissions {
    /// Needed to add, change or remove users (`users:manage`).
    pub manage: String,
    /// Needed to list and read users (`users:read`).
    pub read: String,
    /// Needed to export the policy (`settings:read`).
    pub export: String,
}

impl Default for Permissions {
    fn default() -> Self {
        Permissions {
            manage: "users:manage".into(),
            read: "users:read".into(),
            export: "settings:read".into(),
        }
    }
}

/// One call of the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// `GET /iam/users`.
    ListUsers,
    /// `POST /iam/users`.
    AddUser,
    /// `GET /iam/users/{user}`.
    GetUser(String),
    /// `DELETE /iam/users/{user}`.
    RemoveUser(String),
    /// `PATCH /iam/users/{user}`: a new access level.
    ChangeUser(String),
    /// `GET /iam/users/{user}/roles`: the user's role bindings.
    UserRoles(String),
    /// `POST /iam/users/{user}/roles`: bind a role (an env role in one environment, possibly
    /// time-bound).
    AddUserRole(String),
    /// `DELETE /iam/users/{user}/roles/{rule}`.
    RemoveUserRole(String, String),
    /// `GET /iam/users/{user}/audit`: the audit trail of one user.
    UserAudit(String),
    /// `GET /iam/groups`.
    ListGroups,
    /// `POST /iam/groups`.
    AddGroup,
    /// `DELETE /iam/groups/{group}`.
    RemoveGroup(String),
    /// `PUT /iam/groups/{group}/members/{user}`.
    AddGroupMember(String, String),
    /// `DELETE /iam/groups/{group}/members/{user}`.
    RemoveGroupMember(String, String),
    /// `POST /iam/groups/{group}/roles`.
    AddGroupRole(String),
    /// `DELETE /iam/groups/{group}/roles/{rule}`.
    RemoveGroupRole(String, String),
    /// `GET /iam/defaults`: the roles every member holds.
    ListDefaults,
    /// `POST /iam/defaults`.
    AddDefault,
    /// `DELETE /iam/defaults/{rule}`.
    RemoveDefault(String),
    /// `GET /iam/overrides`.
    ListOverrides,
    /// `POST /iam/overrides`.
    AddOverride,
    /// `DELETE /iam/overrides/{id}`.
    RemoveOverride(String),
    /// `GET /iam/services`.
    ListServices,
    /// `POST /iam/services`.
    AddService,
    /// `DELETE /iam/services/{service}`.
    RemoveService(String),
    /// `POST /iam/services/{service}/roles`.
    AddServiceRole(String),
    /// `DELETE /iam/services/{service}/roles/{rule}`.
    RemoveServiceRole(String, String),
    /// `GET /iam/revocations`.
    ListRevocations,
    /// `POST /iam/revocations`: a token id, or a subject's tokens issued before an instant.
    Revoke,
    /// `GET /iam/roles`: the organization's roles (any member).
    ListRoles,
    /// `GET /iam/bundle`: the signed bundle KV holds, for UI gating in the browser (any member).
    Bundle,
    /// `GET /iam/export`: the organization's policy source.
    Export,
    /// `PUT /iam/import`: replace the organization's policy (operator only).
    Import,
    /// `GET /me`: the caller's roles, permissions and restrictions.
    Me,
}

/// A request, routed: the call and the organization its path names, if it names one (the
/// token's organization otherwise).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routed {
    /// The organization of an `/orgs/{org}/…` path.
    pub org: Option<String>,
    /// The call.
    pub call: Call,
}

/// Routes `method` and `path` (without the query). Paths are `/iam/…` and `/me`, for the
/// token's organization, or the same under `/orgs/{org}`.
pub fn route(method: &str, path: &str) -> Result<Routed, ControlError> {
    let not_found = || ControlError::NotFound {
        code: "not_found",
        message: format!("no such path `{path}`"),
    };
    let mut segments: Vec<String> = Vec::new();
    for raw in path.strip_prefix('/').ok_or_else(not_found)?.split('/') {
        segments.push(decode_segment(raw)?);
    }
    let (org, rest) = match segments.split_first() {
        Some((first, rest)) if first == "orgs" => match rest.split_first() {
            Some((org, rest)) => (Some(org.clone()), rest),
            None => return Err(not_found()),
        },
        _ => (None, segments.as_slice()),
    };
    let parts: Vec<&str> = rest.iter().map(String::as_str).collect();
    let id = valid_user_id;
    let call = match (method, parts.as_slice()) {
        ("GET", ["iam", "users"]) => Call::ListUsers,
        ("POST", ["iam", "users"]) => Call::AddUser,
        ("GET", ["iam", "users", user]) => Call::GetUser(valid_user_id(user, "user")?),
        ("DELETE", ["iam", "users", user]) => Call::RemoveUser(valid_user_id(user, "user")?),
        ("PATCH", ["iam", "users", user]) => Call::ChangeUser(valid_user_id(user, "user")?),
        ("GET", ["iam", "users", user, "roles"]) => Call::UserRoles(id(user, "user")?),
        ("POST", ["iam", "users", user, "roles"]) => Call::AddUserRole(id(user, "user")?),
        ("DELETE", ["iam", "users", user, "roles", rule]) => {
            Call::RemoveUserRole(id(user, "user")?, id(rule, "rule")?)
        }
        ("GET", ["iam", "users", user, "audit"]) => Call::UserAudit(id(user, "user")?),
        ("GET", ["iam", "groups"]) => Call::ListGroups,
        ("POST", ["iam", "groups"]) => Call::AddGroup,
        ("DELETE", ["iam", "groups", group]) => Call::RemoveGroup(id(group, "group")?),
        ("PUT", ["iam", "groups", group, "members", user]) => {
            Call::AddGroupMember(id(group, "group")?, id(user, "user")?)
        }
        ("DELETE", ["iam", "groups", group, "members", user]) => {
            Call::RemoveGroupMember(id(group, "group")?, id(user, "user")?)
        }
        ("POST", ["iam", "groups", group, "roles"]) => Call::AddGroupRole(id(group, "group")?),
        ("DELETE", ["iam", "groups", group, "roles", rule]) => {
            Call::RemoveGroupRole(id(group, "group")?, id(rule, "rule")?)
        }
        ("GET", ["iam", "defaults"]) => Call::ListDefaults,
        ("POST", ["iam", "defaults"]) => Call::AddDefault,
        ("DELETE", ["iam", "defaults", rule]) => Call::RemoveDefault(id(rule, "rule")?),
        ("GET", ["iam", "overrides"]) => Call::ListOverrides,
        ("POST", ["iam", "overrides"]) => Call::AddOverride,
        ("DELETE", ["iam", "overrides", o]) => Call::RemoveOverride(id(o, "override")?),
        ("GET", ["iam", "services"]) => Call::ListServices,
        ("POST", ["iam", "services"]) => Call::AddService,
        ("DELETE", ["iam", "services", svc]) => Call::RemoveService(id(svc, "service")?),
        ("POST", ["iam", "services", svc, "roles"]) => Call::AddServiceRole(id(svc, "service")?),
        ("DELETE", ["iam", "services", svc, "roles", rule]) => {
            Call::RemoveServiceRole(id(svc, "service")?, id(rule, "rule")?)
        }
        ("GET", ["iam", "revocations"]) => Call::ListRevocations,
        ("POST", ["iam", "revocations"]) => Call::Revoke,
        ("GET", ["iam", "roles"]) => Call::ListRoles,
        ("GET", ["iam", "bundle"]) => Call::Bundle,
        ("GET", ["iam", "export"]) => Call::Export,
        ("PUT", ["iam", "import"]) => Call::Import,
        ("GET", ["me"]) => Call::Me,
        (
            _,
            ["iam", "users" | "groups" | "defaults" | "overrides" | "services" | "revocations"]
            | ["iam", "users" | "groups" | "defaults" | "overrides" | "services", _]
            | ["iam", "users" | "groups" | "services", _, "roles"]
            | ["iam", "users" | "groups" | "services", _, "roles", _]
            | ["iam", "users", _, "audit"]
            | ["iam", "groups", _, "members", _]
            | ["iam", "export" | "import" | "roles" | "bundle"]
            | ["me"],
        ) => return Err(ControlError::MethodNotAllowed),
        _ => return Err(not_found()),
    };
    if let Some(o) = &org {
        valid_user_id(o, "org")?;
    }
    Ok(Routed { org, call })
}

/// Percent-decodes one path segment strictly: valid escapes, UTF-8, no control characters.
fn decode_segment(raw: &str) -> Result<String, ControlError> {
    let bad = |why: &str| ControlError::InvalidField {
        path: "path".into(),
        message: format!("`{raw}`: {why}"),
    };
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad("a bad percent escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    let s = String::from_utf8(out).map_err(|_| bad("not UTF-8"))?;
    if s.contains('/') {
        return Err(bad("an escaped `/`"));
    }
    Ok(s)
}

/// A user (or organization) id: 1 to 256 bytes, no control characters, no white space.
fn valid_user_id(id: &str, path: &str) -> Result<String, ControlError> {
    let bad = |message: &str| ControlError::InvalidField {
        path: path.into(),
        message: message.into(),
    };
    if id.is_empty() {
        return Err(bad("must not be empty"));
    }
    if id.len() > MAX_USER_ID_BYTES {
        return Err(bad("longer than 256 bytes"));
    }
    if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("contains a control character or white space"));
    }
    Ok(id.to_owned())
}

/// The organization a bearer token claims, read before verification to know whose issuers
/// verify it. `None` for anything that is not a token at all.
pub fn claimed_org(bearer: &str) -> Option<String> {
    UnverifiedToken::parse(bearer).ok()?.org_hint()
}

/// What a call needs D1 to hold besides the organization.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// The change to commit, for writes.
    pub change: Option<Change>,
}

/// An accepted change: commit these statements with this audit row as the next version, then
/// publish the policy it makes.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The audit row.
    pub audit: AuditEntry,
    /// The rows it writes.
    pub statements: Vec<Statement>,
    /// The organization's policy after it, compiled.
    pub policy: PolicyData,
}

/// The organization's policy, compiled, and an authorizer over it at its version.
pub fn authorizer_for(rows: &OrgRows) -> Result<(PolicyData, Authorizer), ControlError> {
    let data = compile_one(&rows.source)?;
    let authorizer = Authorizer::preview(data.clone(), rows.version).map_err(|e| {
        ControlError::PolicyInvalid {
            code: "policy_inconsistent",
            message: e.to_string(),
        }
    })?;
    Ok((data, authorizer))
}

pub(crate) fn compile_one(source: &PolicySource) -> Result<PolicyData, ControlError> {
    portcullis::source::compile(source)
        .map_err(|e| ControlError::PolicyInvalid {
            code: e.code(),
            message: e.to_string(),
        })?
        .into_iter()
        .next()
        .ok_or_else(|| ControlError::PolicyInvalid {
            code: "no_organization",
            message: "the policy names no organization".into(),
        })
}

/// Verifies the caller's token against the organization's issuers: an OrgAuth token.
pub fn admit(
    authorizer: &Authorizer,
    bearer: Option<&str>,
    now: i64,
) -> Result<VerifiedToken, ControlError> {
    let bearer = bearer.ok_or_else(|| ControlError::InvalidToken("no bearer token".into()))?;
    let token = authorizer
        .verify_token(
            bearer,
            &VerifyOptions {
                now,
                audience: None,
            },
        )
        .map_err(|e| ControlError::InvalidToken(e.to_string()))?;
    if token.kind() != TokenKind::OrgAuth {
        return Err(ControlError::OrgAuthRequired);
    }
    Ok(token)
}

pub(crate) fn require(
    authorizer: &Authorizer,
    token: &VerifiedToken,
    org: &str,
    permission: &str,
    target: Option<&str>,
    now: i64,
) -> Result<Decision, ControlError> {
    let request = Request {
        action: permission.to_owned(),
        resource: Resource {
            resource_type: permission.split(':').next().unwrap_or_default().to_owned(),
            id: target.map(str::to_owned),
            org: Some(org.to_owned()),
            ..Resource::default()
        },
        context: Default::default(),
    };
    let d = authorizer.check(token, &request, now);
    if d.allowed {
        Ok(d)
    } else {
        let why = format!(
            "`{}` may not {permission} in `{org}` ({})",
            token.sub(),
            d.reason.as_str()
        );
        Err(ControlError::Denied(Box::new(d), why))
    }
}

pub(crate) fn delegate(
    authorizer: &Authorizer,
    token: &VerifiedToken,
    role: &str,
    user: &str,
    env: Option<&str>,
    now: i64,
    assign: bool,
) -> Result<(), ControlError> {
    let d = authorizer.delegation(token, role, user, env, now);
    if d.allowed {
        return Ok(());
    }
    let verb = if assign { "assign" } else { "remove" };
    let why = match d.detail {
        Some(Detail::RoleNotAssignable) => {
            format!("`{}` may not {verb} role `{role}`", token.sub())
        }
        Some(Detail::TargetHoldsUnassignableRole) => {
            format!("`{user}` holds a role `{}` may not manage", token.sub())
        }
        Some(Detail::UnknownRole) => return Err(ControlError::UnknownRole(role.to_owned())),
        _ => format!(
            "`{}` may not {verb} role `{role}` ({})",
            token.sub(),
            d.reason.as_str()
        ),
    };
    Err(ControlError::Denied(Box::new(d), why))
}

/// The object form of `POST /iam/users`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AddUserObject {
    user_id: String,
    #[serde(default)]
    access_level: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// Reads the body of `POST /iam/users`: `["Admin", "jane.doe@example.com"]` or
/// `{"userId": …, "accessLevel": …, "name": …}` (an object without `accessLevel` adds a
/// member with no org role, such as a developer given env roles only). Returns (user id,
/// access level, name).
pub fn read_add_user(
    body: &[u8],
) -> Result<(String, Option<String>, Option<String>), ControlError> {
    if body.len() > MAX_CALL_BODY_BYTES {
        return Err(ControlError::BodyTooLarge(MAX_CALL_BODY_BYTES));
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let (user, level, name) = match first {
        None => return Err(ControlError::EmptyBody),
        Some(b'[') => {
            let v: Vec<Value> = serde_json::from_slice(body)
                .map_err(|e| ControlError::InvalidJson(e.to_string()))?;
            let text = |i: usize, what: &str| match v.get(i) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(ControlError::InvalidField {
                    path: format!("[{i}]"),
                    message: format!("the {what} must be a string"),
                }),
                None => Err(ControlError::MissingField(format!("[{i}] ({what})"))),
            };
            if v.len() > 2 {
                return Err(ControlError::InvalidField {
                    path: "[2]".into(),
                    message: "the array form is [accessLevel, userId]".into(),
                });
            }
            (text(1, "user id")?, Some(text(0, "access level")?), None)
        }
        Some(b'{') => {
            let o: AddUserObject = serde_json::from_slice(body).map_err(|e| field_error(&e))?;
            (o.user_id, o.access_level, o.name)
        }
        Some(_) => {
            return match serde_json::from_slice::<Value>(body) {
                Err(e) => Err(ControlError::InvalidJson(e.to_string())),
                Ok(_) => Err(ControlError::InvalidField {
                    path: "".into(),
                    message: "the body is an array [accessLevel, userId] or an object".into(),
                }),
            }
        }
    };
    if let Some(n) = &name {
        if n.len() > 256 || n.chars().any(char::is_control) {
            return Err(ControlError::InvalidField {
                path: "name".into(),
                message: "at most 256 bytes, no control characters".into(),
            });
        }
    }
    let level = match level {
        Some(l) => Some(valid_user_id(&l, "accessLevel")?),
        None => None,
    };
    Ok((valid_user_id(&user, "userId")?, level, name))
}

/// Maps serde's message for an object body to a typed error.
pub(crate) fn field_error(e: &serde_json::Error) -> ControlError {
    let text = e.to_string();
    let quoted = || text.split('`').nth(1).unwrap_or_default().to_owned();
    if e.is_syntax() || e.is_eof() {
        ControlError::InvalidJson(text)
    } else if text.starts_with("unknown field") {
        ControlError::UnknownField(quoted())
    } else if text.starts_with("missing field") {
        ControlError::MissingField(quoted())
    } else if text.starts_with("duplicate field") {
        ControlError::InvalidField {
            path: quoted(),
            message: "given twice".into(),
        }
    } else {
        ControlError::InvalidField {
            path: String::new(),
            message: text,
        }
    }
}

fn org_of(rows: &OrgRows) -> Result<&OrgSource, ControlError> {
    rows.org()
        .ok_or_else(|| ControlError::Storage("an organization without its row".into()))
}

/// The access level of a user: the org-scope role they are bound to directly, first.
fn access_level<'a>(rows: &'a OrgRows, user: &str) -> Option<&'a str> {
    let o = rows.org()?;
    o.bindings
        .iter()
        .filter(|b| b.user.as_deref() == Some(user) && b.env.is_none() && b.when.is_none())
        .map(|b| b.role.as_str())
        .find(|r| is_org_role(&rows.source, r))
}

fn is_org_role(source: &PolicySource, role: &str) -> bool {
    source
        .roles
        .iter()
        .chain(source.orgs.iter().flat_map(|o| o.roles.iter()))
        .any(|r| r.id == role && r.scope == portcullis::source::ScopeSource::Org)
}

fn rfc3339(t: i64) -> String {
    portcullis::time::format_rfc3339(t)
}

/// Everything a call is decided and answered with.
pub struct Context<'a> {
    /// The organization as D1 holds it.
    pub rows: &'a OrgRows,
    /// An authorizer over its policy.
    pub authorizer: &'a Authorizer,
    /// The verified caller.
    pub token: &'a VerifiedToken,
    /// The guarding permissions.
    pub permissions: &'a Permissions,
    /// Unix seconds.
    pub now: i64,
}

/// Decides and answers one call of the caller's own organization (never `Import`, which is
/// the operator's).
pub fn handle(call: &Call, cx: &Context<'_>, body: &[u8]) -> Result<Outcome, ControlError> {
    let outcome = answer(call, cx, body)?;
    if let Some(change) = &outcome.change {
        keeps_admin(cx, &change.policy)?;
    }
    Ok(outcome)
}

/// Refuses a change after which the actor would no longer hold the admin permission: nobody
/// locks themselves (or, with a rule over everyone, every admin) out of the API.
fn keeps_admin(cx: &Context<'_>, policy: &PolicyData) -> Result<(), ControlError> {
    let org = org_of(cx.rows)?;
    let after = Authorizer::preview(policy.clone(), cx.rows.version + 1).map_err(|e| {
        ControlError::PolicyInvalid {
            code: "policy_inconsistent",
            message: e.to_string(),
        }
    })?;
    match require(
        &after,
        cx.token,
        &org.id,
        &cx.permissions.manage,
        None,
        cx.now,
    ) {
        Ok(_) => Ok(()),
        Err(_) => Err(ControlError::WouldLockOut),
    }
}

fn answer(call: &Call, cx: &Context<'_>, body: &[u8]) -> Result<Outcome, ControlError> {
    let org = org_of(cx.rows)?;
    let org_id = org.id.as_str();
    let ok = |status: u16, body: Value| Outcome {
        status,
        body,
        change: None,
    };
    let read = |target: Option<&str>| {
        require(
            cx.authorizer,
            cx.token,
            org_id,
            &cx.permissions.read,
            target,
            cx.now,
        )
    };
    match call {
        Call::ListUsers => {
            read(None)?;
            let users: Vec<Value> = org
                .users
                .iter()
                .map(|u| {
                    json!({
                        "userId": u.id,
                        "accessLevel": access_level(cx.rows, &u.id),
                        "status": if u.disabled { "disabled" } else { "active" },
                    })
                })
                .collect();
            Ok(ok(200, json!({ "total": users.len(), "users": users })))
        }
        Call::GetUser(user) => {
            read(Some(user))?;
            let u = find_user(org, user)?;
            Ok(ok(200, user_view(cx.rows, u)))
        }
        Call::AddUser => add_user(cx, org, body),
        Call::RemoveUser(user) => remove_user(cx, org, user),
        Call::ChangeUser(user) => change_user(cx, org, user, body),
        Call::Export => {
            require(
                cx.authorizer,
                cx.token,
                org_id,
                &cx.permissions.export,
                None,
                cx.now,
            )?;
            let mut source = cx.rows.source.clone();
            source.version = None;
            let body =
                serde_json::to_value(&source).map_err(|e| ControlError::Storage(e.to_string()))?;
            Ok(ok(200, body))
        }
        Call::Me => match cx.authorizer.permissions(cx.token, None, cx.now) {
            Ok(p) => Ok(ok(
                200,
                serde_json::to_value(&p).map_err(|e| ControlError::Storage(e.to_string()))?,
            )),
            Err(d) => {
                let why = format!(
                    "`{}` may not act in `{org_id}` ({})",
                    cx.token.sub(),
                    d.reason.as_str()
                );
                Err(ControlError::Denied(Box::new(d), why))
            }
        },
        Call::ListRoles | Call::Bundle => {
            // What every member may see: their organization's policy is in the bundle their
            // browser gates its UI with.
            member(cx, org_id)?;
            if *call == Call::Bundle {
                return Ok(ok(200, json!({})));
            }
            let roles: Vec<Value> = cx
                .rows
                .source
                .roles
                .iter()
                .chain(org.roles.iter())
                .map(|r| {
                    json!({
                        "id": r.id,
                        "scope": match r.scope {
                            portcullis::source::ScopeSource::Org => "org",
                            portcullis::source::ScopeSource::Env => "env",
                        },
                        "description": r.description,
                        "permissions": r.permissions,
                        "canAssign": r.can_assign,
                    })
                })
                .collect();
            Ok(ok(200, json!({ "roles": roles })))
        }
        Call::UserAudit(user) => {
            read(Some(user))?;
            find_user(org, user)?;
            Ok(ok(200, json!({ "userId": user })))
        }
        Call::Import => Err(ControlError::InvalidToken(
            "an import takes the operator's secret".into(),
        )),
        _ => crate::elements::handle(call, cx, org, body),
    }
}

/// The caller is a member of the organization in good standing (not revoked, not disabled).
fn member(cx: &Context<'_>, org_id: &str) -> Result<(), ControlError> {
    cx.authorizer
        .permissions(cx.token, None, cx.now)
        .map(|_| ())
        .map_err(|d| {
            let why = format!(
                "`{}` may not act in `{org_id}` ({})",
                cx.token.sub(),
                d.reason.as_str()
            );
            ControlError::Denied(Box::new(d), why)
        })
}

pub(crate) fn find_user<'a>(
    org: &'a OrgSource,
    user: &str,
) -> Result<&'a UserSource, ControlError> {
    org.users
        .iter()
        .find(|u| u.id == user)
        .ok_or_else(|| ControlError::NotFound {
            code: "unknown_user",
            message: format!("no user `{user}` in `{}`", org.id),
        })
}

/// One audit row as the API shows it: `version`, `at` (RFC 3339), `actor`, `action`,
/// `target`, and `before`/`after` as JSON.
pub fn audit_entry_view(row: &Value) -> Value {
    let parsed = |k: &str| {
        row.get(k)
            .and_then(Value::as_str)
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .unwrap_or(Value::Null)
    };
    json!({
        "version": row.get("version"),
        "at": row.get("at").and_then(Value::as_i64).map(rfc3339),
        "actor": row.get("actor"),
        "action": row.get("action"),
        "target": row.get("target"),
        "before": parsed("before"),
        "after": parsed("after"),
    })
}

/// `GET /iam/users/{user}`: the user's details (activity is filled in by the caller).
pub fn user_view(rows: &OrgRows, u: &UserSource) -> Value {
    let record = rows.users.get(&u.id);
    let mut managed: std::collections::BTreeMap<&str, u64> = Default::default();
    if let Some(o) = rows.org() {
        for x in o.overrides.iter().filter(|x| {
            x.user.as_deref() == Some(&u.id) && x.effect == portcullis::source::EffectSource::Allow
        }) {
            if let Some(t) = x.resource.resource_type.as_deref() {
                *managed.entry(t).or_default() += 1;
            }
        }
    }
    json!({
        "userId": u.id,
        "accessLevel": access_level(rows, &u.id),
        "created": record.map(|r| rfc3339(r.created_at)),
        "createdBy": record.map(|r| r.created_by.as_str()),
        "lastModified": record.map(|r| rfc3339(r.modified_at)),
        "lastModifiedBy": record.map(|r| r.modified_by.as_str()),
        "lastActive": Value::Null,
        "status": if u.disabled { "disabled" } else { "active" },
        "managedResources": managed,
        "activity": { "lastLogin": Value::Null, "loginCount": 0, "lastOperations": [] },
    })
}

fn add_user(cx: &Context<'_>, org: &OrgSource, body: &[u8]) -> Result<Outcome, ControlError> {
    let (user, level, name) = read_add_user(body)?;
    require(
        cx.authorizer,
        cx.token,
        &org.id,
        &cx.permissions.manage,
        Some(&user),
        cx.now,
    )?;
    if let Some(level) = &level {
        if !is_org_role(&cx.rows.source, level) {
            return Err(ControlError::UnknownRole(level.clone()));
        }
    }
    if org.users.iter().any(|u| u.id == user) {
        return Err(ControlError::UserExists(user));
    }
    if let Some(level) = &level {
        delegate(cx.authorizer, cx.token, level, &user, None, cx.now, true)?;
    }
    let new_user = UserSource {
        id: user.clone(),
        name,
        attrs: Default::default(),
        groups: vec![],
        disabled: false,
    };
    let binding = level.as_ref().map(|level| BindingSource {
        role: level.clone(),
        user: Some(user.clone()),
        ..BindingSource::default()
    });
    let mut statements = store::insert_user(&org.id, &new_user, cx.token.sub(), cx.now)?;
    if let Some(b) = &binding {
        statements.push(store::insert_binding(&org.id, b)?);
    }
    let after = json!({ "userId": user, "accessLevel": level });
    crate::elements::commit(
        cx,
        crate::elements::Edit {
            action: "user.add",
            target: Some(user.clone()),
            before: None,
            after: Some(after.clone()),
            statements,
            answer: json!({ "message": "User added successfully", "userId": user, "accessLevel": level }),
            status: 201,
            mutate: Box::new(move |o| {
                o.users.push(new_user);
                o.bindings.extend(binding);
            }),
        },
    )
}

/// The body of `PATCH /iam/users/{user}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ChangeUserObject {
    access_level: String,
}

/// Reads the body of `PATCH /iam/users/{user}`: `{"accessLevel": …}`.
pub fn read_change_user(body: &[u8]) -> Result<String, ControlError> {
    if body.len() > MAX_CALL_BODY_BYTES {
        return Err(ControlError::BodyTooLarge(MAX_CALL_BODY_BYTES));
    }
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Err(ControlError::EmptyBody),
        Some(b'{') => {
            let o: ChangeUserObject = serde_json::from_slice(body).map_err(|e| field_error(&e))?;
            valid_user_id(&o.access_level, "accessLevel")
        }
        Some(_) => match serde_json::from_slice::<Value>(body) {
            Err(e) => Err(ControlError::InvalidJson(e.to_string())),
            Ok(_) => Err(ControlError::InvalidField {
                path: String::new(),
                message: "the body is an object {\"accessLevel\": …}".into(),
            }),
        },
    }
}

fn change_user(
    cx: &Context<'_>,
    org: &OrgSource,
    user: &str,
    body: &[u8],
) -> Result<Outcome, ControlError> {
    let level = read_change_user(body)?;
    require(
        cx.authorizer,
        cx.token,
        &org.id,
        &cx.permissions.manage,
        Some(user),
        cx.now,
    )?;
    if !is_org_role(&cx.rows.source, &level) {
        return Err(ControlError::UnknownRole(level));
    }
    let u = find_user(org, user)?;
    let old = access_level(cx.rows, user).map(str::to_owned);
    // Assigning the new level needs it, and every org role the user holds now, assignable.
    delegate(cx.authorizer, cx.token, &level, user, None, cx.now, true)?;
    let before = user_view(cx.rows, u);
    let binding = BindingSource {
        role: level.clone(),
        user: Some(user.to_owned()),
        ..BindingSource::default()
    };
    let mut statements = Vec::new();
    if let Some(old) = &old {
        statements.push(store::delete_access_level(&org.id, user, old));
    }
    statements.push(store::insert_binding(&org.id, &binding)?);
    statements.push(store::touch_user(&org.id, user, cx.token.sub(), cx.now));
    let who = user.to_owned();
    crate::elements::commit(
        cx,
        crate::elements::Edit {
            action: "user.change",
            target: Some(user.to_owned()),
            before: Some(before),
            after: Some(json!({ "userId": user, "accessLevel": level })),
            statements,
            answer: json!({ "message": "User updated successfully", "userId": user, "accessLevel": level }),
            status: 200,
            mutate: Box::new(move |o| {
                if let Some(old) = &old {
                    o.bindings.retain(|b| {
                        !(b.user.as_deref() == Some(who.as_str())
                            && &b.role == old
                            && b.env.is_none()
                            && b.when.is_none())
                    });
                }
                o.bindings.push(binding);
            }),
        },
    )
}

fn remove_user(cx: &Context<'_>, org: &OrgSource, user: &str) -> Result<Outcome, ControlError> {
    require(
        cx.authorizer,
        cx.token,
        &org.id,
        &cx.permissions.manage,
        Some(user),
        cx.now,
    )?;
    let u = find_user(org, user)?;
    // Removing a user removes every role they hold: each needs the actor's delegation, in
    // every environment the binding reaches.
    crate::elements::may_remove_user(cx, org, user)?;
    let before = user_view(cx.rows, u);
    let (who, now) = (user.to_owned(), cx.now);
    crate::elements::commit(
        cx,
        crate::elements::Edit {
            action: "user.remove",
            target: Some(user.to_owned()),
            before: Some(before),
            after: None,
            statements: store::delete_user(&org.id, user, cx.now),
            answer: json!({ "message": "User removed successfully", "userId": user }),
            status: 200,
            mutate: Box::new(move |o| {
                o.users.retain(|x| x.id != who);
                o.bindings
                    .retain(|b| b.user.as_deref() != Some(who.as_str()));
                o.overrides
                    .retain(|x| x.user.as_deref() != Some(who.as_str()));
                crate::elements::revoke_in_source(o, who, now);
            }),
        },
    )
}

/// `PUT /iam/import`: the statements that replace the organization `org` with the one
/// organization of `body` (a policy file), and the policy it makes. The file may hold other
/// organizations: only `org`'s part is taken.
pub fn import(
    org: &str,
    body: &[u8],
    previous: Option<&OrgRows>,
    actor: &str,
    now: i64,
) -> Result<Change, ControlError> {
    if body.len() > MAX_IMPORT_BODY_BYTES {
        return Err(ControlError::BodyTooLarge(MAX_IMPORT_BODY_BYTES));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ControlError::EmptyBody);
    }
    let mut source =
        portcullis::source::parse_source(body).map_err(|e| ControlError::PolicyInvalid {
            code: e.code(),
            message: e.to_string(),
        })?;
    source.orgs.retain(|o| o.id == org);
    if source.orgs.is_empty() {
        return Err(ControlError::NotFound {
            code: "unknown_org",
            message: format!("the policy has no organization `{org}`"),
        });
    }
    source.schema = None;
    source.version = None;
    let policy = compile_one(&source)?;
    let statements = store::replace_org(&source, previous, actor, now)?;
    Ok(Change {
        audit: AuditEntry {
            actor: actor.to_owned(),
            action: "policy.import",
            target: None,
            before: None,
            after: None,
        },
        statements,
        policy,
    })
}

/// A decision that refuses before any policy is read (an organization the control plane does
/// not hold), in the shape of the others.
pub fn unknown_org(org: &str) -> ControlError {
    ControlError::NotFound {
        code: "unknown_org",
        message: format!("no organization `{org}`"),
    }
}

/// The decision for a token of one organization on another's path.
pub fn cross_tenant(token_org: &str, path_org: &str) -> ControlError {
    let d = Decision {
        allowed: false,
        reason: Reason::CrossTenant,
        rule: None,
        bundle_version: 0,
        detail: None,
    };
    ControlError::Denied(
        Box::new(d),
        format!("a token of `{token_org}` may not manage `{path_org}`"),
    )
}
