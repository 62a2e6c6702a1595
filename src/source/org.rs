//! One organization: environments, groups, members, bindings, overrides and revocations.

use super::*;

pub(crate) struct OrgCtx<'a> {
    pub(super) org: &'a str,
    pub(super) roles: compile::RoleIds<'a>,
    pub(super) envs: HashMap<&'a str, u32>,
    pub(super) groups: HashMap<&'a str, u32>,
    pub(super) users: HashMap<&'a str, u32>,
    pub(super) services: HashMap<&'a str, u32>,
    pub(super) env_owner: &'a HashMap<&'a str, &'a str>,
}

impl Compiler {
    /// Compiles organization `oi` of the source: the shared roles and its own, then its
    /// environments, groups, members, bindings and defaults, overrides and revocations. Errors
    /// are collected with their source path (`/orgs/<oi>/...`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn org(
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
        let mut ctx = OrgCtx {
            org: &org.id,
            roles: HashMap::new(),
            envs: HashMap::new(),
            groups: HashMap::new(),
            users: HashMap::new(),
            services: HashMap::new(),
            env_owner,
        };
        let roles = self.org_roles(&base, s, org, table, shared, &mut ctx);
        let envs = self.environments(&base, org, &mut ctx);
        let groups = self.groups(&base, org, &mut ctx);
        let members = self.members(&base, org, &mut ctx);
        let bindings = self.bindings(&base, org, &ctx);
        let overrides = self.overrides(&base, org, table, &bindings, &ctx);
        let revocations = self.revocations(&base, org);
        let subject_aliases = self.subject_aliases(&base, org, &members);
        let resources = self.resources(&base, org, table, &ctx);
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
            revocations,
            routes: routes.to_vec(),
            subject_aliases,
            resources,
        }
    }

    /// The member attributes that also name members to a PDP client. Every value must name
    /// one member only: not two members, and not a member other than the one whose id it is.
    fn subject_aliases(&mut self, base: &str, org: &OrgSource, members: &[Member]) -> Vec<String> {
        let at = format!("{base}/subject_aliases");
        if org.subject_aliases.len() > MAX_SUBJECT_ALIASES {
            self.error(
                &at,
                format!("at most {MAX_SUBJECT_ALIASES} subject aliases"),
                None,
            );
            return Vec::new();
        }
        let ids: HashMap<&str, usize> = members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.as_str(), i))
            .collect();
        let mut named: HashMap<&str, usize> = HashMap::new();
        for (ai, name) in org.subject_aliases.iter().enumerate() {
            if !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                || name.is_empty()
            {
                self.error(
                    format!("{at}/{ai}"),
                    format!("`{name}` is not an attribute name"),
                    None,
                );
            }
            for (mi, member) in members.iter().enumerate() {
                let Some(Value::Str(alias)) = member.attrs.get(name) else {
                    continue;
                };
                let other = ids
                    .get(alias.as_str())
                    .filter(|&&i| i != mi)
                    .or_else(|| named.get(alias.as_str()).filter(|&&i| i != mi))
                    .and_then(|&i| members.get(i));
                if let Some(other) = other {
                    self.error(
                        format!("{at}/{ai}"),
                        format!("`{alias}` names both `{}` and `{}`", member.id, other.id),
                        Some("an alias must name one member".into()),
                    );
                }
                named.insert(alias.as_str(), mi);
            }
        }
        org.subject_aliases.clone()
    }

    /// The resources the policy knows by id: a declared type, a valid id unique within its
    /// type, an environment of this organization.
    fn resources(
        &mut self,
        base: &str,
        org: &OrgSource,
        table: &PermissionTable,
        ctx: &OrgCtx<'_>,
    ) -> Vec<ResourceEntity> {
        let mut seen: HashSet<(&str, &str)> = HashSet::new();
        let mut out = Vec::with_capacity(org.resources.len());
        for (ri, r) in org.resources.iter().enumerate() {
            let at = format!("{base}/resources/{ri}");
            if !table.has_type(&r.resource_type) {
                self.error(
                    format!("{at}/type"),
                    format!("unknown resource type `{}`", r.resource_type),
                    Some("declare it under `permissions`".into()),
                );
            }
            if !valid_id(&r.id) {
                self.error(
                    format!("{at}/id"),
                    format!("`{}` is not a valid id", r.id),
                    None,
                );
            }
            if !seen.insert((r.resource_type.as_str(), r.id.as_str())) {
                self.error(
                    format!("{at}/id"),
                    format!(
                        "duplicate resource `{}` of type `{}`",
                        r.id, r.resource_type
                    ),
                    None,
                );
            }
            self.attrs(&format!("{at}/attrs"), &r.attrs);
            let env = match r.env.as_deref() {
                None => None,
                Some("*") => {
                    self.error(
                        format!("{at}/env"),
                        "a resource lives in one environment",
                        None,
                    );
                    None
                }
                Some(e) => match self.env_ref(&format!("{at}/env"), e, ctx) {
                    Some(EnvSelector::One(i)) => Some(i),
                    _ => None,
                },
            };
            out.push(ResourceEntity {
                resource_type: r.resource_type.clone(),
                id: r.id.clone(),
                env,
                attrs: r.attrs.clone(),
            });
        }
        out
    }

    /// The shared roles followed by the organization's custom roles, whose ids must differ
    /// from the shared ones and each other; `can_assign` is resolved once all are known.
    fn org_roles<'a>(
        &mut self,
        base: &str,
        s: &'a PolicySource,
        org: &'a OrgSource,
        table: &PermissionTable,
        shared: &[Role],
        ctx: &mut OrgCtx<'a>,
    ) -> Vec<Role> {
        let mut roles: Vec<Role> = shared.to_vec();
        for (i, r) in s.roles.iter().enumerate() {
            ctx.roles
                .entry((r.id.as_str(), r.scope))
                .or_insert(i as u32);
        }
        for (ri, r) in org.roles.iter().enumerate() {
            let at = format!("{base}/roles/{ri}");
            if ctx.roles.contains_key(&(r.id.as_str(), r.scope)) {
                self.error(
                    format!("{at}/id"),
                    format!(
                        "duplicate {} role id `{}`",
                        compile::scope_name(r.scope),
                        r.id
                    ),
                    Some(
                        "custom role ids must differ from shared ones and each other at one scope"
                            .into(),
                    ),
                );
            }
            roles.push(self.role(&at, r, table));
            ctx.roles
                .entry((r.id.as_str(), r.scope))
                .or_insert(roles.len() as u32 - 1);
        }
        for (ri, r) in org.roles.iter().enumerate() {
            let at = format!("{base}/roles/{ri}");
            let assign = self.assignable(&at, &r.can_assign, &ctx.roles);
            if let Some(role) = roles.get_mut(s.roles.len() + ri) {
                role.can_assign = assign;
            }
        }
        roles
    }

    /// The organization's environments, with valid ids and attributes.
    fn environments<'a>(
        &mut self,
        base: &str,
        org: &'a OrgSource,
        ctx: &mut OrgCtx<'a>,
    ) -> Vec<Environment> {
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
        envs
    }

    /// The organization's groups, with distinct ids.
    fn groups<'a>(&mut self, base: &str, org: &'a OrgSource, ctx: &mut OrgCtx<'a>) -> Vec<Group> {
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
        groups
    }

    /// Users, then services (each with a distinct, non-empty client id), as members.
    fn members<'a>(&mut self, base: &str, org: &'a OrgSource, ctx: &mut OrgCtx<'a>) -> Vec<Member> {
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
            let groups = self.group_refs(&at, &u.groups, ctx);
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
            let groups = self.group_refs(&at, &svc.groups, ctx);
            members.push(Member {
                id: svc.id.clone(),
                kind: MemberKind::Service,
                client_id: Some(svc.client_id.clone()),
                attrs: svc.attrs.clone(),
                groups,
                disabled: svc.disabled,
            });
        }
        members
    }

    /// Role bindings, then the defaults for everyone, each with a rule id that no other
    /// binding shares.
    fn bindings(&mut self, base: &str, org: &OrgSource, ctx: &OrgCtx<'_>) -> Vec<Binding> {
        let mut bindings = Vec::new();
        for (bi, b) in org.bindings.iter().enumerate() {
            let at = format!("{base}/bindings/{bi}");
            let target = self.target(
                &at,
                b.user.as_deref(),
                b.group.as_deref(),
                b.service.as_deref(),
                false,
                ctx,
            );
            let (role, env) = self.role_place(&at, &b.role, b.env.as_deref(), ctx);
            let window = self.window(&at, &b.not_before, &b.not_after);
            let condition = b
                .when
                .as_ref()
                .and_then(|w| self.condition_root(&format!("{at}/when"), w));
            let id = b.rule_id();
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
            let (role, env) = self.role_place(&at, &d.role, d.env.as_deref(), ctx);
            let id = d.rule_id();
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
        bindings
    }

    /// Allow and deny overrides, whose ids differ from each other and from the bindings'.
    fn overrides(
        &mut self,
        base: &str,
        org: &OrgSource,
        table: &PermissionTable,
        bindings: &[Binding],
        ctx: &OrgCtx<'_>,
    ) -> Vec<Override> {
        let mut overrides = Vec::new();
        let mut rule_ids: HashSet<&str> = bindings.iter().map(|b| &*b.id).collect();
        for (xi, o) in org.overrides.iter().enumerate() {
            let at = format!("{base}/overrides/{xi}");
            if !rule_ids.insert(o.id.as_str()) {
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
                ctx,
            );
            let env = o
                .env
                .as_deref()
                .and_then(|e| self.env_ref(&format!("{at}/env"), e, ctx));
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
        overrides
    }

    /// Revoked token ids and the subjects whose tokens issued before a cut-off are revoked.
    fn revocations(&mut self, base: &str, org: &OrgSource) -> Revocations {
        let mut subjects_before = Vec::new();
        for (ri, r) in org.revocations.subjects.iter().enumerate() {
            if let Some(t) = self.time(
                &format!("{base}/revocations/subjects/{ri}/before"),
                &Some(r.before.clone()),
            ) {
                subjects_before.push((r.sub.clone(), t));
            }
        }
        Revocations {
            token_ids: org.revocations.token_ids.clone(),
            subjects_before,
        }
    }

    /// Resolves `can_assign`: a role id names the role of that id when only one scope has
    /// one; when an org role and an env role share the id, the entry names its scope.
    pub(super) fn assignable(
        &mut self,
        at: &str,
        refs: &[RoleRef],
        roles: &compile::RoleIds<'_>,
    ) -> Vec<u32> {
        let mut out = Vec::new();
        for (ai, r) in refs.iter().enumerate() {
            let id = r.id();
            let found: Vec<u32> = [ScopeSource::Org, ScopeSource::Env]
                .into_iter()
                .filter(|s| r.scope().is_none_or(|given| given == *s))
                .filter_map(|s| roles.get(&(id, s)).copied())
                .collect();
            match found.as_slice() {
                [ri] => out.push(*ri),
                [] => self.error(
                    format!("{at}/can_assign/{ai}"),
                    format!("unknown role `{id}`"),
                    closest(id, roles.keys().map(|(k, _)| *k))
                        .map(|c| format!("did you mean `{c}`?")),
                ),
                _ => self.error(
                    format!("{at}/can_assign/{ai}"),
                    format!("`{id}` names an org role and an env role"),
                    Some(format!(
                        "name one: {{\"role\": \"{id}\", \"scope\": \"env\"}} or \"scope\": \"org\""
                    )),
                ),
            }
        }
        out
    }

    pub(super) fn attrs(&mut self, at: &str, attrs: &Attrs) {
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

    pub(super) fn group_refs(&mut self, at: &str, names: &[String], ctx: &OrgCtx<'_>) -> Vec<u32> {
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

    pub(super) fn env_ref(&mut self, at: &str, env: &str, ctx: &OrgCtx<'_>) -> Option<EnvSelector> {
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

    /// The role a binding names and where it applies: with `env`, the env role of that id;
    /// without, the org role.
    pub(super) fn role_place(
        &mut self,
        at: &str,
        role: &str,
        env: Option<&str>,
        ctx: &OrgCtx<'_>,
    ) -> (Option<u32>, Option<EnvSelector>) {
        let org_role = ctx.roles.get(&(role, ScopeSource::Org)).copied();
        let env_role = ctx.roles.get(&(role, ScopeSource::Env)).copied();
        match (env, org_role, env_role) {
            (_, None, None) => {
                self.error(
                    format!("{at}/role"),
                    format!("unknown role `{role}`"),
                    closest(role, ctx.roles.keys().map(|(k, _)| *k))
                        .map(|c| format!("did you mean `{c}`?")),
                );
                (None, None)
            }
            (Some(_), Some(_), None) => {
                self.error(
                    format!("{at}/env"),
                    format!("`{role}` is an org role; it applies org-wide"),
                    Some("remove `env`, or bind an env role".into()),
                );
                (None, None)
            }
            (None, None, Some(_)) => {
                self.error(
                    format!("{at}/env"),
                    format!("`{role}` is an env role; name its environment"),
                    Some("set `env` to an environment id or `*`".into()),
                );
                (None, None)
            }
            (Some(e), _, Some(ri)) => match self.env_ref(&format!("{at}/env"), e, ctx) {
                Some(sel) => (Some(ri), Some(sel)),
                None => (None, None),
            },
            (None, Some(ri), _) => (Some(ri), None),
        }
    }

    pub(super) fn target(
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
}
