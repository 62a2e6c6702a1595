//! A bundle body: the tables of one organization's [`PolicyData`], in order.

use super::codec::{DecodeError, Reader, Writer};
use super::elements::*;
use super::BundleError;
use crate::model::*;
use crate::token::{Alg, Issuer, KeyMaterial, TrustedKey};

/// Encodes the body of a bundle.
pub fn encode_body(d: &PolicyData) -> Vec<u8> {
    let mut w = Writer::new();
    w.str(&d.org);
    w.len(d.permissions.len());
    for p in &d.permissions {
        w.str(p);
    }
    w.len(d.roles.len());
    for r in &d.roles {
        w.str(&r.id);
        w.u8(match r.scope {
            RoleScope::Org => 0,
            RoleScope::Env => 1,
        });
        put_permset(&mut w, &r.permissions);
        w.option(r.env_ceiling.as_ref(), put_permset);
        w.len(r.can_assign.len());
        for a in &r.can_assign {
            w.varint((*a).into());
        }
    }
    w.len(d.envs.len());
    for e in &d.envs {
        w.str(&e.id);
        put_attrs(&mut w, &e.attrs);
    }
    w.len(d.groups.len());
    for g in &d.groups {
        w.str(&g.id);
    }
    w.len(d.members.len());
    for m in &d.members {
        w.str(&m.id);
        w.u8(match m.kind {
            MemberKind::User => 0,
            MemberKind::Service => 1,
        });
        w.option(m.client_id.as_deref(), Writer::str);
        put_attrs(&mut w, &m.attrs);
        w.len(m.groups.len());
        for g in &m.groups {
            w.varint((*g).into());
        }
        w.u8(m.disabled.into());
    }
    w.len(d.bindings.len());
    let names = Names::of(d);
    let mut derived = String::new();
    for b in &d.bindings {
        // A rule id the loader can work out from the binding is left out (tag 0): on a large
        // organization those ids are most of the bundle's bytes, all hashed on every load.
        if names.write_default_binding_id(b.role, b.target, b.env, &mut derived) && derived == *b.id
        {
            w.u8(0);
        } else {
            w.u8(1);
            w.str(&b.id);
        }
        w.varint(b.role.into());
        put_target(&mut w, b.target);
        put_env(&mut w, b.env);
        put_window(&mut w, &b.window);
        w.option(b.condition.as_deref(), put_condition);
    }
    w.len(d.overrides.len());
    for o in &d.overrides {
        w.str(&o.id);
        w.u8(match o.effect {
            Effect::Allow => 0,
            Effect::Deny => 1,
        });
        put_permset(&mut w, &o.permissions);
        put_target(&mut w, o.target);
        put_env(&mut w, o.env);
        w.option(o.resource.resource_type.as_deref(), Writer::str);
        w.option(o.resource.id_glob.as_deref(), Writer::str);
        put_attrs(&mut w, &o.resource.attrs);
        put_window(&mut w, &o.window);
        w.option(o.condition.as_deref(), put_condition);
    }
    w.len(d.issuers.len());
    for i in &d.issuers {
        w.str(&i.iss);
        w.str(&i.audience);
        w.u8(kind_bits(&i.kinds));
        w.varint(i.max_lifetime);
        w.varint(i.leeway);
        w.len(i.keys.len());
        for k in &i.keys {
            w.str(&k.kid);
            match &k.material {
                KeyMaterial::Ed25519(x) => {
                    w.u8(0);
                    w.raw(x);
                }
                KeyMaterial::P256 { x, y } => {
                    w.u8(1);
                    w.raw(x);
                    w.raw(y);
                }
                KeyMaterial::Rsa { n, e } => {
                    w.u8(2);
                    w.bytes(n);
                    w.bytes(e);
                }
            }
        }
    }
    w.len(d.revocations.token_ids.len());
    for j in &d.revocations.token_ids {
        w.str(j);
    }
    w.len(d.revocations.subjects_before.len());
    for (s, t) in &d.revocations.subjects_before {
        w.str(s);
        w.zigzag(*t);
    }
    w.len(d.routes.len());
    for r in &d.routes {
        w.str(&r.id);
        w.str(&r.method);
        w.str(r.path.as_str());
        w.varint(r.permission.into());
        w.str(&r.resource_type);
        match &r.env {
            EnvSource::None => w.u8(0),
            EnvSource::PathParam(p) => {
                w.u8(1);
                w.str(p);
            }
            EnvSource::HostLabel => w.u8(2),
        }
        w.option(r.id_param.as_deref(), Writer::str);
        w.option(r.id_pattern.as_ref().map(IdPattern::as_str), Writer::str);
    }
    w.len(d.subject_aliases.len());
    for a in &d.subject_aliases {
        w.str(a);
    }
    w.len(d.resources.len());
    for r in &d.resources {
        w.str(&r.resource_type);
        w.str(&r.id);
        w.option(r.env, |w, e| w.varint(e.into()));
        put_attrs(&mut w, &r.attrs);
    }
    w.into_bytes()
}

/// The tables a binding's default rule id is made from.
pub(super) struct Names<'a> {
    roles: &'a [Role],
    envs: &'a [Environment],
    groups: &'a [Group],
    members: &'a [Member],
}

impl<'a> Names<'a> {
    /// A policy's own tables.
    pub(super) fn of(d: &'a PolicyData) -> Self {
        Names {
            roles: &d.roles,
            envs: &d.envs,
            groups: &d.groups,
            members: &d.members,
        }
    }

    /// Writes to `id` (emptied first) the rule id the policy compiler gives a binding whose
    /// source names none: `holder:role@environment` (`holder:role` for an organization role,
    /// `*` for every environment, `default` as the holder of an organization default). `false`
    /// where an index is out of range.
    pub(super) fn write_default_binding_id(
        &self,
        role: u32,
        target: Target,
        env: Option<EnvSelector>,
        id: &mut String,
    ) -> bool {
        id.clear();
        let Some(role) = self.roles.get(role as usize) else {
            return false;
        };
        let holder = match target {
            Target::Member(m) => self.members.get(m as usize).map(|m| m.id.as_str()),
            Target::Group(g) => self.groups.get(g as usize).map(|g| g.id.as_str()),
            Target::Everyone => Some("default"),
        };
        let env = match env {
            None => Some(None),
            Some(EnvSelector::All) => Some(Some("*")),
            Some(EnvSelector::One(e)) => self.envs.get(e as usize).map(|e| Some(e.id.as_str())),
        };
        let (Some(holder), Some(env)) = (holder, env) else {
            return false;
        };
        id.push_str(holder);
        id.push(':');
        id.push_str(&role.id);
        if let Some(env) = env {
            id.push('@');
            id.push_str(env);
        }
        true
    }
}

fn list<'b, T>(
    r: &mut Reader<'b>,
    max: usize,
    mut item: impl FnMut(&mut Reader<'b>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let n = r.count(max)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(item(r)?);
    }
    Ok(out)
}

/// Decodes a bundle body. Every count is bounded by the bytes left and by
/// [`MAX_ENTRIES`]; references are checked afterwards by [`Policy::new`].
pub fn decode_body(body: &[u8]) -> Result<PolicyData, BundleError> {
    let mut r = Reader::new(body);
    let org = r.str()?;
    let permissions = list(&mut r, MAX_PERMISSIONS, Reader::str)?;
    let limit = permissions.len() as u32;
    let roles = list(&mut r, MAX_ENTRIES, |r| {
        Ok(Role {
            id: r.shared_str()?,
            scope: match r.u8()? {
                0 => RoleScope::Org,
                1 => RoleScope::Env,
                _ => return Err(DecodeError::BadTag),
            },
            permissions: get_permset(r, limit)?,
            env_ceiling: r.option(|r| get_permset(r, limit))?,
            can_assign: list(r, MAX_ENTRIES, Reader::index)?,
        })
    })?;
    let envs = list(&mut r, MAX_ENTRIES, |r| {
        Ok(Environment {
            id: r.str()?,
            attrs: get_attrs(r)?,
        })
    })?;
    let groups = list(&mut r, MAX_ENTRIES, |r| Ok(Group { id: r.str()? }))?;
    let members = list(&mut r, MAX_ENTRIES, |r| {
        Ok(Member {
            id: r.str()?,
            kind: match r.u8()? {
                0 => MemberKind::User,
                1 => MemberKind::Service,
                _ => return Err(DecodeError::BadTag),
            },
            client_id: r.option(Reader::str)?,
            attrs: get_attrs(r)?,
            groups: list(r, MAX_ENTRIES, Reader::index)?,
            disabled: r.bool()?,
        })
    })?;
    let names = Names {
        roles: &roles,
        envs: &envs,
        groups: &groups,
        members: &members,
    };
    let mut scratch = String::new();
    let bindings = list(&mut r, MAX_ENTRIES, |r| {
        let explicit_id = r.option(Reader::shared_str)?;
        let (role, target, env) = (r.index()?, get_target(r)?, get_env(r)?);
        // A default id names the binding's role, holder and environment. Where one of them is
        // out of range there is nothing to name: the id stays empty and the policy check
        // refuses the reference itself, as it would with an explicit id.
        let id = match explicit_id {
            Some(id) => id,
            None => {
                names.write_default_binding_id(role, target, env, &mut scratch);
                std::sync::Arc::from(scratch.as_str())
            }
        };
        Ok(Binding {
            id,
            role,
            target,
            env,
            window: get_window(r)?,
            condition: get_cond_opt(r)?,
        })
    })?;
    let overrides = list(&mut r, MAX_ENTRIES, |r| {
        Ok(Override {
            id: r.shared_str()?,
            effect: match r.u8()? {
                0 => Effect::Allow,
                1 => Effect::Deny,
                _ => return Err(DecodeError::BadTag),
            },
            permissions: get_permset(r, limit)?,
            target: get_target(r)?,
            env: get_env(r)?,
            resource: ResourceSelector {
                resource_type: r.option(Reader::str)?,
                id_glob: r.option(Reader::str)?,
                attrs: get_attrs(r)?,
            },
            window: get_window(r)?,
            condition: get_cond_opt(r)?,
        })
    })?;
    let issuers = list(&mut r, MAX_ISSUERS, |r| {
        Ok(Issuer {
            iss: r.str()?,
            audience: r.str()?,
            kinds: get_kinds(r.u8()?)?,
            max_lifetime: r.varint()?,
            leeway: r.varint()?,
            keys: list(r, MAX_KEYS_PER_ISSUER, |r| {
                let kid = r.str()?;
                let (alg, material) = match r.u8()? {
                    0 => (
                        Alg::EdDSA,
                        KeyMaterial::Ed25519(
                            r.take(32)?.try_into().map_err(|_| DecodeError::Truncated)?,
                        ),
                    ),
                    1 => {
                        let x = r.take(32)?.try_into().map_err(|_| DecodeError::Truncated)?;
                        let y = r.take(32)?.try_into().map_err(|_| DecodeError::Truncated)?;
                        (Alg::ES256, KeyMaterial::P256 { x, y })
                    }
                    2 => (
                        Alg::RS256,
                        KeyMaterial::Rsa {
                            n: r.bytes()?.to_vec(),
                            e: r.bytes()?.to_vec(),
                        },
                    ),
                    _ => return Err(DecodeError::BadTag),
                };
                Ok(TrustedKey { kid, alg, material })
            })?,
        })
    })?;
    let token_ids = list(&mut r, MAX_ENTRIES, Reader::str)?;
    let subjects_before = list(&mut r, MAX_ENTRIES, |r| Ok((r.str()?, r.zigzag()?)))?;
    let routes = list(&mut r, MAX_ENTRIES, |r| {
        let id = r.str()?;
        let method = r.str()?;
        let path_text = r.str()?;
        let path = RouteTemplate::parse(&path_text).map_err(|_| DecodeError::BadTag)?;
        Ok(Route {
            id,
            method,
            path,
            permission: r.index()?,
            resource_type: r.str()?,
            env: match r.u8()? {
                0 => EnvSource::None,
                1 => EnvSource::PathParam(r.str()?),
                2 => EnvSource::HostLabel,
                _ => return Err(DecodeError::BadTag),
            },
            id_param: r.option(Reader::str)?,
            id_pattern: r
                .option(Reader::str)?
                .map(|p| IdPattern::parse(&p))
                .transpose()
                .map_err(|_| DecodeError::BadTag)?,
        })
    })?;
    let subject_aliases = list(&mut r, MAX_SUBJECT_ALIASES, Reader::str)?;
    let resources = list(&mut r, MAX_ENTRIES, |r| {
        Ok(ResourceEntity {
            resource_type: r.str()?,
            id: r.str()?,
            env: r.option(Reader::index)?,
            attrs: get_attrs(r)?,
        })
    })?;
    r.finish()?;
    Ok(PolicyData {
        org,
        permissions,
        roles,
        envs,
        groups,
        members,
        bindings,
        overrides,
        issuers,
        revocations: Revocations {
            token_ids,
            subjects_before,
        },
        routes,
        subject_aliases,
        resources,
    })
}
