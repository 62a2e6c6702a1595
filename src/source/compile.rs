//! The compiler's state and the parts shared by every organization: times, permissions,
//! issuers, routes and roles.

use super::*;

pub(crate) struct Compiler {
    pub(crate) errors: Vec<CompileError>,
}

/// Roles by id and scope: an org role and an env role may share an id.
pub(crate) type RoleIds<'a> = HashMap<(&'a str, ScopeSource), u32>;

/// `org` or `env`.
pub(crate) fn scope_name(scope: ScopeSource) -> &'static str {
    match scope {
        ScopeSource::Org => "org",
        ScopeSource::Env => "env",
    }
}

pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:@".contains(&b))
}

impl Compiler {
    pub(super) fn error(
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

    pub(super) fn time(&mut self, at: &str, t: &Option<TimeSource>) -> Option<i64> {
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

    pub(super) fn window(
        &mut self,
        at: &str,
        nb: &Option<TimeSource>,
        na: &Option<TimeSource>,
    ) -> Window {
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

    pub(super) fn perms(
        &mut self,
        at: &str,
        table: &PermissionTable,
        patterns: &[String],
    ) -> PermSet {
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

    pub(super) fn compile(&mut self, s: &PolicySource) -> Vec<PolicyData> {
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
        let mut shared_ids: RoleIds<'_> = HashMap::new();
        let mut shared = Vec::new();
        for (ri, r) in s.roles.iter().enumerate() {
            if shared_ids
                .insert((r.id.as_str(), r.scope), ri as u32)
                .is_some()
            {
                self.error(
                    format!("/roles/{ri}/id"),
                    format!("duplicate {} role id `{}`", scope_name(r.scope), r.id),
                    Some("a role id may be used once per scope".into()),
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

    pub(super) fn issuers(&mut self, s: &PolicySource) -> Vec<Issuer> {
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

    pub(super) fn routes(&mut self, s: &PolicySource, table: &PermissionTable) -> Vec<Route> {
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

    pub(super) fn role(&mut self, at: &str, r: &RoleSource, table: &PermissionTable) -> Role {
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
}
