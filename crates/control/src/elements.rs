//! Calls on the policy beyond access levels: role bindings of users, groups and services
//! (org or env scope, possibly time-bound), groups and their members, the defaults every
//! member holds, resource overrides, services and revocations.
//!
//! Who may make them, beyond the policy's admin permission:
//! - binding, unbinding a role (for a user, a group, a service or everyone): delegation of that
//!   role, in every environment the binding reaches, and for a user every role they hold there;
//! - an allow override, or removing a deny: the actor holds every permission it grants;
//! - a deny override on a user, or removing an allow from one: the actor could remove that
//!   user (delegation of every role they hold); on a group, a service or everyone: the actor
//!   may assign every role of the organization;
//! - revoking a subject: the actor could remove them; a token id: the admin permission.

use portcullis::source::{
    BindingSource, DefaultSource, EffectSource, GroupSource, OrgSource, OverrideSource,
    PolicySource, ScopeSource, ServiceSource, TimeSource,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ControlError;
use crate::service::{
    compile_one, delegate, field_error, find_user, require, Call, Change, Context, Outcome,
    MAX_CALL_BODY_BYTES,
};
use crate::store::{self, AuditEntry, Statement};

/// Reads a JSON object body into `T` (unknown members refused).
fn read_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, ControlError> {
    if body.len() > MAX_CALL_BODY_BYTES {
        return Err(ControlError::BodyTooLarge(MAX_CALL_BODY_BYTES));
    }
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Err(ControlError::EmptyBody),
        Some(b'{') => serde_json::from_slice(body).map_err(|e| field_error(&e)),
        Some(_) => match serde_json::from_slice::<Value>(body) {
            Err(e) => Err(ControlError::InvalidJson(e.to_string())),
            Ok(_) => Err(ControlError::InvalidField {
                path: String::new(),
                message: "the body is a JSON object".into(),
            }),
        },
    }
}

/// The body that binds a role: the policy file's binding without its holder.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    #[serde(default)]
    id: Option<String>,
    role: String,
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    not_before: Option<TimeSource>,
    #[serde(default)]
    not_after: Option<TimeSource>,
    #[serde(default)]
    when: Option<Value>,
}

/// The body of `POST /iam/revocations`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    before: Option<TimeSource>,
}

enum Holder<'a> {
    User(&'a str),
    Group(&'a str),
    Service(&'a str),
}

impl Holder<'_> {
    /// The id delegation looks the target up by: a user's id; nothing else is a user.
    fn delegation_target(&self) -> &str {
        match self {
            Holder::User(u) => u,
            Holder::Group(_) | Holder::Service(_) => "",
        }
    }
}

fn binding_of(body: RoleBody, holder: &Holder<'_>) -> BindingSource {
    let mut b = BindingSource {
        id: body.id,
        role: body.role,
        env: body.env,
        not_before: body.not_before,
        not_after: body.not_after,
        when: body.when,
        ..BindingSource::default()
    };
    match holder {
        Holder::User(u) => b.user = Some((*u).to_owned()),
        Holder::Group(g) => b.group = Some((*g).to_owned()),
        Holder::Service(s) => b.service = Some((*s).to_owned()),
    }
    b
}

/// The environments a binding placed at `env` reaches: none for an org role, one, or all.
fn reach(org: &OrgSource, env: Option<&str>) -> Vec<Option<String>> {
    match env {
        None => vec![None],
        Some("*") => org
            .environments
            .iter()
            .map(|e| Some(e.id.clone()))
            .collect(),
        Some(e) => vec![Some(e.to_owned())],
    }
}

fn may_bind(
    cx: &Context<'_>,
    org: &OrgSource,
    b: &BindingSource,
    target: &str,
    assign: bool,
) -> Result<(), ControlError> {
    for env in reach(org, b.env.as_deref()) {
        delegate(
            cx.authorizer,
            cx.token,
            &b.role,
            target,
            env.as_deref(),
            cx.now,
            assign,
        )?;
    }
    Ok(())
}

/// The actor could remove `user`: delegation of every role the user is bound to.
pub(crate) fn may_remove_user(
    cx: &Context<'_>,
    org: &OrgSource,
    user: &str,
) -> Result<(), ControlError> {
    for b in org
        .bindings
        .iter()
        .filter(|b| b.user.as_deref() == Some(user))
    {
        may_bind(cx, org, b, user, false)?;
    }
    Ok(())
}

fn all_roles(source: &PolicySource) -> impl Iterator<Item = &portcullis::source::RoleSource> {
    source
        .roles
        .iter()
        .chain(source.orgs.iter().flat_map(|o| o.roles.iter()))
}

/// The actor may assign every role of the organization (in its first environment, for env
/// roles): what a rule over everyone, a group or a service needs.
fn may_manage_everyone(cx: &Context<'_>, org: &OrgSource) -> Result<(), ControlError> {
    let first_env = org.environments.first().map(|e| e.id.as_str());
    for role in all_roles(&cx.rows.source) {
        let env = match role.scope {
            ScopeSource::Org => None,
            ScopeSource::Env => match first_env {
                Some(e) => Some(e),
                None => continue,
            },
        };
        delegate(cx.authorizer, cx.token, &role.id, "", env, cx.now, true)?;
    }
    Ok(())
}

/// The actor holds, at org level, every declared permission `patterns` names (as
/// `authorizer` decides: the current policy, or the one after the change).
fn may_grant(
    cx: &Context<'_>,
    authorizer: &portcullis::Authorizer,
    patterns: &[String],
) -> Result<(), ControlError> {
    let held = authorizer
        .permissions(cx.token, None, cx.now)
        .map_err(|d| {
            let why = format!(
                "`{}` may not grant permissions ({})",
                cx.token.sub(),
                d.reason.as_str()
            );
            ControlError::Denied(Box::new(d), why)
        })?
        .permissions;
    for (ty, verbs) in &cx.rows.source.permissions {
        for verb in verbs {
            let p = format!("{ty}:{verb}");
            let named = patterns
                .iter()
                .any(|x| x == "*" || *x == p || x.strip_suffix(":*") == Some(ty.as_str()));
            if named && !held.contains(&p) {
                let d = portcullis::Decision {
                    allowed: false,
                    reason: portcullis::Reason::NoMatchingGrant,
                    rule: None,
                    bundle_version: cx.authorizer.version(),
                    detail: None,
                };
                let why = format!(
                    "`{}` may not grant `{p}`, which they do not hold",
                    cx.token.sub()
                );
                return Err(ControlError::Denied(Box::new(d), why));
            }
        }
    }
    Ok(())
}

/// Who may make an override: an allow needs the actor to hold what it grants; a deny on a
/// user needs the actor to be able to remove that user, on anyone else to assign every role.
/// Removing one needs what making it needed, and for a deny the actor holds its permissions
/// once it is gone.
fn may_touch_override(
    cx: &Context<'_>,
    org: &OrgSource,
    o: &OverrideSource,
    adding: bool,
) -> Result<(), ControlError> {
    if o.effect == EffectSource::Allow && adding {
        return may_grant(cx, cx.authorizer, &o.permissions);
    }
    // An override names exactly one target (the compiler refuses any other): a user, or a
    // group, a service or everyone.
    match &o.user {
        Some(u) => may_remove_user(cx, org, u)?,
        None => may_manage_everyone(cx, org)?,
    }
    if o.effect == EffectSource::Deny && !adding {
        let mut source = cx.rows.source.clone();
        if let Some(x) = source.orgs.first_mut() {
            x.overrides.retain(|y| y.id != o.id);
        }
        let after = portcullis::Authorizer::preview(compile_one(&source)?, cx.rows.version + 1)
            .map_err(|e| ControlError::PolicyInvalid {
                code: "policy_inconsistent",
                message: e.to_string(),
            })?;
        may_grant(cx, &after, &o.permissions)?;
    }
    Ok(())
}

fn json_of<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn not_found(code: &'static str, message: String) -> ControlError {
    ControlError::NotFound { code, message }
}

/// One accepted edit: the change to the source (to compile and publish) and the rows.
pub(crate) struct Edit<'a> {
    pub(crate) action: &'static str,
    pub(crate) target: Option<String>,
    pub(crate) before: Option<Value>,
    pub(crate) after: Option<Value>,
    pub(crate) statements: Vec<Statement>,
    pub(crate) answer: Value,
    pub(crate) status: u16,
    pub(crate) mutate: Box<dyn FnOnce(&mut OrgSource) + 'a>,
}

pub(crate) fn commit(cx: &Context<'_>, edit: Edit<'_>) -> Result<Outcome, ControlError> {
    let mut source = cx.rows.source.clone();
    if let Some(o) = source.orgs.first_mut() {
        (edit.mutate)(o);
    }
    let policy = compile_one(&source)?;
    Ok(Outcome {
        status: edit.status,
        body: edit.answer,
        change: Some(Change {
            audit: AuditEntry {
                actor: cx.token.sub().to_owned(),
                action: edit.action,
                target: edit.target,
                before: edit.before.map(|v| v.to_string()),
                after: edit.after.map(|v| v.to_string()),
            },
            statements: edit.statements,
            policy,
        }),
    })
}

fn roles_view(org: &OrgSource, holder: &Holder<'_>) -> Vec<Value> {
    org.bindings
        .iter()
        .filter(|b| match holder {
            Holder::User(u) => b.user.as_deref() == Some(u),
            Holder::Group(g) => b.group.as_deref() == Some(g),
            Holder::Service(s) => b.service.as_deref() == Some(s),
        })
        .map(|b| {
            let mut v = json_of(b);
            if let Some(m) = v.as_object_mut() {
                m.insert("id".into(), json!(b.rule_id()));
            }
            v
        })
        .collect()
}

fn add_role(
    cx: &Context<'_>,
    org: &OrgSource,
    holder: Holder<'_>,
    body: &[u8],
    action: &'static str,
) -> Result<Outcome, ControlError> {
    let b = binding_of(read_object::<RoleBody>(body)?, &holder);
    let rule = b.rule_id();
    if org.bindings.iter().any(|x| x.rule_id() == rule)
        || org.defaults.iter().any(|d| d.rule_id() == rule)
    {
        return Err(ControlError::AlreadyExists(format!("a rule `{rule}`")));
    }
    may_bind(cx, org, &b, holder.delegation_target(), true)?;
    let mut statements = vec![store::insert_binding(&org.id, &b)?];
    if let Holder::User(u) = holder {
        statements.push(store::touch_user(&org.id, u, cx.token.sub(), cx.now));
    }
    let answer = json!({ "message": "Role assigned successfully", "id": rule, "role": b.role, "env": b.env });
    let after = json_of(&b);
    commit(
        cx,
        Edit {
            action,
            target: Some(
                b.user
                    .clone()
                    .or(b.group.clone())
                    .or(b.service.clone())
                    .unwrap_or_default(),
            ),
            before: None,
            after: Some(after),
            statements,
            answer,
            status: 201,
            mutate: Box::new(move |o| o.bindings.push(b)),
        },
    )
}

fn remove_role(
    cx: &Context<'_>,
    org: &OrgSource,
    holder: Holder<'_>,
    rule: &str,
    action: &'static str,
) -> Result<Outcome, ControlError> {
    let b = org
        .bindings
        .iter()
        .find(|b| {
            b.rule_id() == rule
                && match &holder {
                    Holder::User(u) => b.user.as_deref() == Some(*u),
                    Holder::Group(g) => b.group.as_deref() == Some(*g),
                    Holder::Service(s) => b.service.as_deref() == Some(*s),
                }
        })
        .ok_or_else(|| not_found("unknown_rule", format!("no role binding `{rule}` there")))?
        .clone();
    may_bind(cx, org, &b, holder.delegation_target(), false)?;
    let mut statements = vec![store::delete_binding(&org.id, rule)];
    if let Holder::User(u) = holder {
        statements.push(store::touch_user(&org.id, u, cx.token.sub(), cx.now));
    }
    let rule = rule.to_owned();
    commit(
        cx,
        Edit {
            action,
            target: Some(
                b.user
                    .clone()
                    .or(b.group.clone())
                    .or(b.service.clone())
                    .unwrap_or_default(),
            ),
            before: Some(json_of(&b)),
            after: None,
            statements,
            answer: json!({ "message": "Role removed successfully", "id": rule }),
            status: 200,
            mutate: Box::new(move |o| o.bindings.retain(|x| x.rule_id() != rule)),
        },
    )
}

fn find_group<'a>(org: &'a OrgSource, group: &str) -> Result<&'a GroupSource, ControlError> {
    org.groups.iter().find(|g| g.id == group).ok_or_else(|| {
        not_found(
            "unknown_group",
            format!("no group `{group}` in `{}`", org.id),
        )
    })
}

fn find_service<'a>(org: &'a OrgSource, service: &str) -> Result<&'a ServiceSource, ControlError> {
    org.services
        .iter()
        .find(|s| s.id == service)
        .ok_or_else(|| {
            not_found(
                "unknown_service",
                format!("no service `{service}` in `{}`", org.id),
            )
        })
}

/// Joining or leaving a group gives or takes away what the group's bindings and overrides do.
fn may_change_membership(
    cx: &Context<'_>,
    org: &OrgSource,
    group: &str,
    user: &str,
    joining: bool,
) -> Result<(), ControlError> {
    for b in org
        .bindings
        .iter()
        .filter(|b| b.group.as_deref() == Some(group))
    {
        may_bind(cx, org, b, user, joining)?;
    }
    for o in org
        .overrides
        .iter()
        .filter(|o| o.group.as_deref() == Some(group))
    {
        if (o.effect == EffectSource::Allow) == joining {
            may_grant(cx, cx.authorizer, &o.permissions)?;
        } else {
            may_remove_user(cx, org, user)?;
        }
    }
    Ok(())
}

/// Decides and answers the calls of this module.
pub(crate) fn handle(
    call: &Call,
    cx: &Context<'_>,
    org: &OrgSource,
    body: &[u8],
) -> Result<Outcome, ControlError> {
    let manage = |target: Option<&str>| {
        require(
            cx.authorizer,
            cx.token,
            &org.id,
            &cx.permissions.manage,
            target,
            cx.now,
        )
    };
    let read = || {
        require(
            cx.authorizer,
            cx.token,
            &org.id,
            &cx.permissions.read,
            None,
            cx.now,
        )
    };
    let ok = |body: Value| {
        Ok(Outcome {
            status: 200,
            body,
            change: None,
        })
    };
    match call {
        Call::UserRoles(u) => {
            read()?;
            find_user(org, u)?;
            ok(json!({ "userId": u, "roles": roles_view(org, &Holder::User(u)) }))
        }
        Call::AddUserRole(u) => {
            manage(Some(u))?;
            find_user(org, u)?;
            add_role(cx, org, Holder::User(u), body, "user.role.add")
        }
        Call::RemoveUserRole(u, rule) => {
            manage(Some(u))?;
            find_user(org, u)?;
            remove_role(cx, org, Holder::User(u), rule, "user.role.remove")
        }
        Call::ListGroups => {
            read()?;
            let groups: Vec<Value> = org
                .groups
                .iter()
                .map(|g| {
                    json!({
                        "id": g.id,
                        "description": g.description,
                        "members": org.users.iter().filter(|u| u.groups.contains(&g.id)).map(|u| u.id.as_str()).collect::<Vec<_>>(),
                        "roles": roles_view(org, &Holder::Group(&g.id)),
                    })
                })
                .collect();
            ok(json!({ "groups": groups }))
        }
        Call::AddGroup => {
            manage(None)?;
            let g: GroupSource = read_object(body)?;
            if org.groups.iter().any(|x| x.id == g.id) {
                return Err(ControlError::AlreadyExists(format!("group `{}`", g.id)));
            }
            let statements = vec![store::insert_group(&org.id, &g)?];
            commit(
                cx,
                Edit {
                    action: "group.add",
                    target: Some(g.id.clone()),
                    before: None,
                    after: Some(json_of(&g)),
                    statements,
                    answer: json!({ "message": "Group added successfully", "id": g.id }),
                    status: 201,
                    mutate: Box::new(move |o| o.groups.push(g)),
                },
            )
        }
        Call::RemoveGroup(g) => {
            manage(None)?;
            find_group(org, g)?;
            for b in org
                .bindings
                .iter()
                .filter(|b| b.group.as_deref() == Some(g))
            {
                may_bind(cx, org, b, "", false)?;
            }
            for o in org
                .overrides
                .iter()
                .filter(|o| o.group.as_deref() == Some(g))
            {
                may_touch_override(cx, org, o, false)?;
            }
            let g = g.clone();
            commit(
                cx,
                Edit {
                    action: "group.remove",
                    target: Some(g.clone()),
                    before: None,
                    after: None,
                    statements: store::delete_group(&org.id, &g),
                    answer: json!({ "message": "Group removed successfully", "id": g }),
                    status: 200,
                    mutate: Box::new(move |o| {
                        o.groups.retain(|x| x.id != g);
                        for u in &mut o.users {
                            u.groups.retain(|x| *x != g);
                        }
                        o.bindings.retain(|b| b.group.as_deref() != Some(&g));
                        o.overrides.retain(|x| x.group.as_deref() != Some(&g));
                    }),
                },
            )
        }
        Call::AddGroupMember(g, u) | Call::RemoveGroupMember(g, u) => {
            let joining = matches!(call, Call::AddGroupMember(..));
            manage(Some(u))?;
            find_group(org, g)?;
            let member = find_user(org, u)?;
            if member.groups.contains(g) == joining {
                return Ok(Outcome {
                    status: 200,
                    body: json!({ "message": "Nothing to change", "group": g, "userId": u }),
                    change: None,
                });
            }
            may_change_membership(cx, org, g, u, joining)?;
            let (g, u) = (g.clone(), u.clone());
            let statements = vec![
                if joining {
                    store::insert_membership(&org.id, &g, &u)
                } else {
                    store::delete_membership(&org.id, &g, &u)
                },
                store::touch_user(&org.id, &u, cx.token.sub(), cx.now),
            ];
            commit(
                cx,
                Edit {
                    action: if joining {
                        "group.member.add"
                    } else {
                        "group.member.remove"
                    },
                    target: Some(u.clone()),
                    before: None,
                    after: Some(json!({ "group": g })),
                    statements,
                    answer: json!({ "message": if joining { "Member added successfully" } else { "Member removed successfully" }, "group": g, "userId": u }),
                    status: 200,
                    mutate: Box::new(move |o| {
                        if let Some(user) = o.users.iter_mut().find(|x| x.id == u) {
                            if joining {
                                user.groups.push(g);
                            } else {
                                user.groups.retain(|x| *x != g);
                            }
                        }
                    }),
                },
            )
        }
        Call::AddGroupRole(g) => {
            manage(None)?;
            find_group(org, g)?;
            add_role(cx, org, Holder::Group(g), body, "group.role.add")
        }
        Call::RemoveGroupRole(g, rule) => {
            manage(None)?;
            find_group(org, g)?;
            remove_role(cx, org, Holder::Group(g), rule, "group.role.remove")
        }
        Call::ListDefaults => {
            read()?;
            let defaults: Vec<Value> = org
                .defaults
                .iter()
                .map(|d| {
                    let mut v = json_of(d);
                    if let Some(m) = v.as_object_mut() {
                        m.insert("id".into(), json!(d.rule_id()));
                    }
                    v
                })
                .collect();
            ok(json!({ "defaults": defaults }))
        }
        Call::AddDefault => {
            manage(None)?;
            let d: DefaultSource = read_object(body)?;
            let rule = d.rule_id();
            if org.defaults.iter().any(|x| x.rule_id() == rule)
                || org.bindings.iter().any(|b| b.rule_id() == rule)
            {
                return Err(ControlError::AlreadyExists(format!("a rule `{rule}`")));
            }
            for env in reach(org, d.env.as_deref()) {
                delegate(
                    cx.authorizer,
                    cx.token,
                    &d.role,
                    "",
                    env.as_deref(),
                    cx.now,
                    true,
                )?;
            }
            let statements = vec![store::insert_default(&org.id, &d)?];
            commit(
                cx,
                Edit {
                    action: "default.add",
                    target: Some(rule.clone()),
                    before: None,
                    after: Some(json_of(&d)),
                    statements,
                    answer: json!({ "message": "Default added successfully", "id": rule }),
                    status: 201,
                    mutate: Box::new(move |o| o.defaults.push(d)),
                },
            )
        }
        Call::RemoveDefault(rule) => {
            manage(None)?;
            let d = org
                .defaults
                .iter()
                .find(|d| d.rule_id() == *rule)
                .ok_or_else(|| not_found("unknown_rule", format!("no default `{rule}`")))?
                .clone();
            for env in reach(org, d.env.as_deref()) {
                delegate(
                    cx.authorizer,
                    cx.token,
                    &d.role,
                    "",
                    env.as_deref(),
                    cx.now,
                    false,
                )?;
            }
            let rule = rule.clone();
            commit(
                cx,
                Edit {
                    action: "default.remove",
                    target: Some(rule.clone()),
                    before: Some(json_of(&d)),
                    after: None,
                    statements: vec![store::delete_default(&org.id, &rule)],
                    answer: json!({ "message": "Default removed successfully", "id": rule }),
                    status: 200,
                    mutate: Box::new(move |o| o.defaults.retain(|x| x.rule_id() != rule)),
                },
            )
        }
        Call::ListOverrides => {
            read()?;
            ok(json!({ "overrides": json_of(&org.overrides) }))
        }
        Call::AddOverride => {
            let o: OverrideSource = read_object(body)?;
            manage(o.user.as_deref())?;
            if org.overrides.iter().any(|x| x.id == o.id) {
                return Err(ControlError::AlreadyExists(format!("override `{}`", o.id)));
            }
            may_touch_override(cx, org, &o, true)?;
            let statements = vec![store::insert_override(&org.id, &o)?];
            let id = o.id.clone();
            commit(
                cx,
                Edit {
                    action: "override.add",
                    target: o
                        .user
                        .clone()
                        .or(o.group.clone())
                        .or(o.service.clone())
                        .or(Some("*".into())),
                    before: None,
                    after: Some(json_of(&o)),
                    statements,
                    answer: json!({ "message": "Override added successfully", "id": id }),
                    status: 201,
                    mutate: Box::new(move |x| x.overrides.push(o)),
                },
            )
        }
        Call::RemoveOverride(id) => {
            let o = org
                .overrides
                .iter()
                .find(|o| o.id == *id)
                .ok_or_else(|| not_found("unknown_rule", format!("no override `{id}`")))?
                .clone();
            manage(o.user.as_deref())?;
            may_touch_override(cx, org, &o, false)?;
            let id = id.clone();
            commit(
                cx,
                Edit {
                    action: "override.remove",
                    target: o
                        .user
                        .clone()
                        .or(o.group.clone())
                        .or(o.service.clone())
                        .or(Some("*".into())),
                    before: Some(json_of(&o)),
                    after: None,
                    statements: vec![store::delete_override(&org.id, &id)],
                    answer: json!({ "message": "Override removed successfully", "id": id }),
                    status: 200,
                    mutate: Box::new(move |x| x.overrides.retain(|y| y.id != id)),
                },
            )
        }
        Call::ListServices => {
            read()?;
            let services: Vec<Value> = org
                .services
                .iter()
                .map(|s| {
                    let mut v = json_of(s);
                    if let Some(m) = v.as_object_mut() {
                        m.insert(
                            "roles".into(),
                            json!(roles_view(org, &Holder::Service(&s.id))),
                        );
                    }
                    v
                })
                .collect();
            ok(json!({ "services": services }))
        }
        Call::AddService => {
            manage(None)?;
            let s: ServiceSource = read_object(body)?;
            if org
                .services
                .iter()
                .any(|x| x.id == s.id || x.client_id == s.client_id)
            {
                return Err(ControlError::AlreadyExists(format!(
                    "service `{}` or client `{}`",
                    s.id, s.client_id
                )));
            }
            for g in &s.groups {
                find_group(org, g)?;
                for b in org
                    .bindings
                    .iter()
                    .filter(|b| b.group.as_deref() == Some(g))
                {
                    may_bind(cx, org, b, "", true)?;
                }
            }
            let statements = vec![store::insert_service(&org.id, &s)?];
            let id = s.id.clone();
            commit(
                cx,
                Edit {
                    action: "service.add",
                    target: Some(id.clone()),
                    before: None,
                    after: Some(json_of(&s)),
                    statements,
                    answer: json!({ "message": "Service added successfully", "id": id, "clientId": s.client_id }),
                    status: 201,
                    mutate: Box::new(move |o| o.services.push(s)),
                },
            )
        }
        Call::RemoveService(svc) => {
            manage(None)?;
            let s = find_service(org, svc)?.clone();
            for b in org
                .bindings
                .iter()
                .filter(|b| b.service.as_deref() == Some(svc))
            {
                may_bind(cx, org, b, "", false)?;
            }
            let svc = svc.clone();
            commit(
                cx,
                Edit {
                    action: "service.remove",
                    target: Some(svc.clone()),
                    before: Some(json_of(&s)),
                    after: None,
                    statements: store::delete_service(&org.id, &svc),
                    answer: json!({ "message": "Service removed successfully", "id": svc }),
                    status: 200,
                    mutate: Box::new(move |o| {
                        o.services.retain(|x| x.id != svc);
                        o.bindings.retain(|b| b.service.as_deref() != Some(&svc));
                        o.overrides.retain(|x| x.service.as_deref() != Some(&svc));
                    }),
                },
            )
        }
        Call::AddServiceRole(svc) => {
            manage(None)?;
            find_service(org, svc)?;
            add_role(cx, org, Holder::Service(svc), body, "service.role.add")
        }
        Call::RemoveServiceRole(svc, rule) => {
            manage(None)?;
            find_service(org, svc)?;
            remove_role(cx, org, Holder::Service(svc), rule, "service.role.remove")
        }
        Call::ListRevocations => {
            read()?;
            ok(json!({
                "tokenIds": org.revocations.token_ids,
                "subjects": org.revocations.subjects.iter().map(|s| json!({
                    "sub": s.sub,
                    "before": store::unix(&s.before).ok().map(portcullis::time::format_rfc3339),
                })).collect::<Vec<_>>(),
            }))
        }
        Call::Revoke => revoke(cx, org, body),
        _ => Err(ControlError::MethodNotAllowed),
    }
}

fn revoke(cx: &Context<'_>, org: &OrgSource, body: &[u8]) -> Result<Outcome, ControlError> {
    let r: RevokeBody = read_object(body)?;
    let valid = |s: &str, path: &str| -> Result<(), ControlError> {
        if s.is_empty() || s.len() > 256 || s.chars().any(char::is_control) {
            return Err(ControlError::InvalidField {
                path: path.into(),
                message: "1 to 256 bytes, no control characters".into(),
            });
        }
        Ok(())
    };
    match (r.jti, r.sub) {
        (Some(jti), None) => {
            if r.before.is_some() {
                return Err(ControlError::UnknownField("before".into()));
            }
            valid(&jti, "jti")?;
            require(
                cx.authorizer,
                cx.token,
                &org.id,
                &cx.permissions.manage,
                None,
                cx.now,
            )?;
            let statements = vec![store::revoke_token(&org.id, &jti)];
            let j = jti.clone();
            commit(
                cx,
                Edit {
                    action: "token.revoke",
                    target: None,
                    before: None,
                    after: Some(json!({ "jti": jti })),
                    statements,
                    answer: json!({ "message": "Token revoked successfully", "jti": jti }),
                    status: 200,
                    mutate: Box::new(move |o| {
                        if !o.revocations.token_ids.contains(&j) {
                            o.revocations.token_ids.push(j);
                        }
                    }),
                },
            )
        }
        (None, Some(sub)) => {
            valid(&sub, "sub")?;
            require(
                cx.authorizer,
                cx.token,
                &org.id,
                &cx.permissions.manage,
                Some(&sub),
                cx.now,
            )?;
            may_remove_user(cx, org, &sub)?;
            let before = match &r.before {
                None => cx.now,
                Some(t) => store::unix(t)?,
            };
            let statements = vec![store::revoke_subject(&org.id, &sub, before)];
            let s = sub.clone();
            commit(
                cx,
                Edit {
                    action: "subject.revoke",
                    target: Some(sub.clone()),
                    before: None,
                    after: Some(json!({ "sub": sub, "before": before })),
                    statements,
                    answer: json!({ "message": "Tokens revoked successfully", "sub": sub, "before": portcullis::time::format_rfc3339(before) }),
                    status: 200,
                    mutate: Box::new(move |o| {
                        revoke_in_source(o, s, before);
                    }),
                },
            )
        }
        (Some(_), Some(_)) => Err(ControlError::InvalidField {
            path: String::new(),
            message: "a revocation names a token id or a subject, not both".into(),
        }),
        (None, None) => Err(ControlError::MissingField("jti or sub".into())),
    }
}

/// Refuses `sub`'s tokens issued before `before` in `org` as the rows do: an existing
/// revocation keeps its place and the later instant.
pub(crate) fn revoke_in_source(org: &mut OrgSource, sub: String, before: i64) {
    let subjects = &mut org.revocations.subjects;
    match subjects.iter_mut().find(|x| x.sub == sub) {
        Some(x) => {
            let earlier = store::unix(&x.before).unwrap_or(i64::MIN);
            x.before = TimeSource::Unix(before.max(earlier));
        }
        None => subjects.push(portcullis::source::SubjectRevocation {
            sub,
            before: TimeSource::Unix(before),
        }),
    }
}
