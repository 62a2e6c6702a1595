//! The subcommands: parse files and flags, call the core, print the answer.

use std::path::{Path, PathBuf};

use portcullis::bundle::{self, LoadOptions};
use portcullis::source::{self, BindingSource, PolicySource, UserSource};
use portcullis::time::{format_rfc3339, parse_rfc3339};
use portcullis::tools::expect::{self, DelegationAction, PolicyTestFile};
use portcullis::tools::mint::Claims;
use portcullis::{
    Authorizer, Decision, Detail, Reason, Request, Resource, TokenKind, Value, VerifyOptions,
};
use serde::Serialize;

use crate::files::{read_file, write_file, CliError};
use crate::keyfile::{read_trusted, PrivateKey};

/// A refused token as structured output: its code, its detail and its message.
fn token_error_json(e: &portcullis::TokenError) -> serde_json::Value {
    serde_json::json!({ "code": e.code(), "detail": e.detail(), "message": e.to_string() })
}

pub(crate) type Outcome = Result<u8, CliError>;

/// Text or JSON output.
pub struct Output {
    pub json: bool,
}

impl Output {
    pub(crate) fn emit<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_default()
            );
        } else {
            println!("{}", text());
        }
    }

    pub fn error(&self, e: &CliError) {
        if self.json {
            eprintln!(
                "{}",
                serde_json::json!({ "error": e.code, "detail": e.detail, "message": e.message })
            );
        } else {
            eprintln!("error[{}]: {}", e.code, e.message);
        }
    }
}

/// Reads `--now`-style instants; the system clock when absent.
fn instant(text: Option<&str>) -> Result<i64, CliError> {
    match text {
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .map_err(|_| CliError::new("clock", "the system clock is before 1970")),
        Some(t) => t
            .parse::<i64>()
            .ok()
            .or_else(|| parse_rfc3339(t))
            .ok_or_else(|| {
                CliError::new("bad_time", format!("`{t}` is not Unix seconds or RFC 3339"))
            }),
    }
}

fn json_out<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

pub fn keygen(out: &Output, kid: &str, private: &Path, public: &Path) -> Outcome {
    let key = PrivateKey::generate(kid)?;
    write_file(private, json_out(&key.private_jwk()).as_bytes())?;
    write_file(public, json_out(&key.public_jwk()).as_bytes())?;
    out.emit(&key.public_jwk(), || {
        format!(
            "wrote {} (private; keep it secret) and {} (public)",
            private.display(),
            public.display()
        )
    });
    Ok(0)
}

pub struct BuildRequest {
    pub policy: PathBuf,
    pub key: PathBuf,
    pub org: Option<String>,
    pub version: Option<u64>,
    pub issued_at: Option<String>,
    pub ttl: i64,
    pub out: PathBuf,
}

fn load_source(
    path: &Path,
) -> Result<(PolicySource, Vec<portcullis::model::PolicyData>), CliError> {
    let bytes = read_file(path)?;
    let source = source::parse_source(&bytes)
        .map_err(|e| CliError::new(e.code(), format!("{}:\n{e}", path.display())))?;
    let data = source::compile(&source)
        .map_err(|e| CliError::new(e.code(), format!("{}:\n{e}", path.display())))?;
    Ok((source, data))
}

#[derive(Serialize)]
struct Built {
    org: String,
    file: String,
    bytes: usize,
    version: u64,
    issued_at: i64,
    not_after: i64,
    kid: String,
}

pub fn bundle_build(out: &Output, r: &BuildRequest) -> Outcome {
    let (source, data) = load_source(&r.policy)?;
    let key = PrivateKey::read(&r.key)?;
    let signer = key.bundle_signer();
    let issued_at = instant(r.issued_at.as_deref())?;
    let version = r
        .version
        .or(source.version)
        .unwrap_or(issued_at.max(0) as u64);
    let not_after = issued_at.saturating_add(r.ttl);
    let selected: Vec<_> = match &r.org {
        Some(org) => {
            let one: Vec<_> = data.into_iter().filter(|d| &d.org == org).collect();
            if one.is_empty() {
                return Err(CliError::new(
                    "unknown_org",
                    format!("no organization `{org}` in {}", r.policy.display()),
                ));
            }
            one
        }
        None => data,
    };
    let single = selected.len() == 1 && r.out.extension().is_some();
    let mut built = Vec::new();
    for d in &selected {
        portcullis::model::Policy::new(d.clone())
            .map_err(|e| CliError::new("policy_inconsistent", e.to_string()))?;
        let bytes = bundle::build(d, version, issued_at, not_after, &signer)
            .map_err(portcullis::Error::from)?;
        let path = if single {
            r.out.clone()
        } else {
            r.out.join(format!("{}.bundle", d.org))
        };
        write_file(&path, &bytes)?;
        built.push(Built {
            org: d.org.clone(),
            file: path.display().to_string(),
            bytes: bytes.len(),
            version,
            issued_at,
            not_after,
            kid: key.kid.clone(),
        });
    }
    out.emit(&built, || {
        built
            .iter()
            .map(|b| {
                format!(
                    "{}: {} bytes, version {}, valid until {} -> {}",
                    b.org,
                    b.bytes,
                    b.version,
                    format_rfc3339(b.not_after),
                    b.file
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(0)
}

#[derive(Serialize)]
struct Inspection {
    header: bundle::BundleHeader,
    bytes: usize,
    permissions: usize,
    roles: usize,
    environments: usize,
    groups: usize,
    members: usize,
    bindings: usize,
    overrides: usize,
    issuers: usize,
    routes: usize,
    revoked_tokens: usize,
    revoked_subjects: usize,
}

fn summarize(bytes: &[u8]) -> Result<Inspection, CliError> {
    let (header, body) = bundle::read_header(bytes).map_err(portcullis::Error::from)?;
    let d = bundle::decode_body(body).map_err(portcullis::Error::from)?;
    Ok(Inspection {
        header,
        bytes: bytes.len(),
        permissions: d.permissions.len(),
        roles: d.roles.len(),
        environments: d.envs.len(),
        groups: d.groups.len(),
        members: d.members.len(),
        bindings: d.bindings.len(),
        overrides: d.overrides.len(),
        issuers: d.issuers.len(),
        routes: d.routes.len(),
        revoked_tokens: d.revocations.token_ids.len(),
        revoked_subjects: d.revocations.subjects_before.len(),
    })
}

fn describe(i: &Inspection) -> String {
    let h = &i.header;
    format!(
        "org {} | version {} | format {} | key {}\nissued {} | valid until {}\n{} bytes: {} permissions, {} roles, {} environments, {} groups, {} members, {} bindings, {} overrides, {} issuers, {} routes, {} revoked tokens, {} revoked subjects",
        h.org, h.version, h.format, h.kid, format_rfc3339(h.issued_at), format_rfc3339(h.not_after),
        i.bytes, i.permissions, i.roles, i.environments, i.groups, i.members, i.bindings, i.overrides, i.issuers, i.routes, i.revoked_tokens, i.revoked_subjects
    )
}

pub fn bundle_inspect(out: &Output, path: &Path) -> Outcome {
    let bytes = read_file(path)?;
    let summary = summarize(&bytes)?;
    out.emit(&summary, || {
        format!(
            "{}\n(signature not checked; use `bundle verify`)",
            describe(&summary)
        )
    });
    Ok(0)
}

pub fn bundle_verify(
    out: &Output,
    path: &Path,
    trust: &[PathBuf],
    now: Option<&str>,
    min_version: u64,
) -> Outcome {
    let bytes = read_file(path)?;
    let keys = read_trusted(trust)?;
    let now = instant(now)?;
    let authorizer = Authorizer::from_bundle(&bytes, &keys, LoadOptions { now, min_version })
        .map_err(portcullis::Error::from)?;
    let summary = summarize(&bytes)?;
    let _ = authorizer;
    out.emit(&summary, || {
        format!(
            "valid: signature, freshness and version check out\n{}",
            describe(&summary)
        )
    });
    Ok(0)
}

pub struct MintRequest {
    pub key: PathBuf,
    pub kind: String,
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub org: String,
    pub env: Option<String>,
    pub client_id: Option<String>,
    pub scope: Option<String>,
    pub ttl: i64,
    pub jti: Option<String>,
    pub now: Option<String>,
}

pub fn token_mint(out: &Output, r: &MintRequest) -> Outcome {
    let kind = TokenKind::parse(&r.kind).ok_or_else(|| {
        CliError::new(
            "bad_kind",
            format!(
                "`{}` is not a kind; use orgauth, envauth or service",
                r.kind
            ),
        )
    })?;
    match kind {
        TokenKind::EnvAuth if r.env.is_none() => {
            return Err(CliError::new("missing_env", "an envauth token needs --env"))
        }
        TokenKind::Service if r.client_id.is_none() => {
            return Err(CliError::new(
                "missing_client_id",
                "a service token needs --client-id",
            ))
        }
        _ => {}
    }
    let key = PrivateKey::read(&r.key)?;
    let now = instant(r.now.as_deref())?;
    let claims = Claims {
        iss: r.iss.clone(),
        sub: r.sub.clone(),
        aud: r.aud.clone(),
        exp: now + r.ttl,
        iat: now,
        nbf: None,
        jti: r
            .jti
            .clone()
            .unwrap_or_else(|| format!("{}-{}-{now}", r.org, r.sub)),
        org: r.org.clone(),
        env: if kind == TokenKind::EnvAuth {
            r.env.clone()
        } else {
            None
        },
        client_id: r.client_id.clone(),
        scope: r.scope.clone(),
    };
    let token = sign_with_jsonwebtoken(&key, kind, &claims)?;
    out.emit(
        &serde_json::json!({ "token": token, "claims": claims }),
        || token.clone(),
    );
    Ok(0)
}

/// Signs a development token with `jsonwebtoken` (its `rust_crypto` backend), as a Rust
/// identity provider would: `alg: EdDSA`, the kind's `typ`, the key's `kid`.
fn sign_with_jsonwebtoken(
    key: &PrivateKey,
    kind: TokenKind,
    claims: &Claims,
) -> Result<String, CliError> {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let der = key
        .key
        .to_pkcs8_der()
        .map_err(|e| CliError::new("key_invalid", format!("cannot encode the key: {e}")))?;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.typ = Some(kind.typ().to_owned());
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes()),
    )
    .map_err(|e| CliError::new("mint_failed", format!("cannot sign the token: {e}")))
}

pub struct Source {
    pub bundle: Option<PathBuf>,
    pub trust: Vec<PathBuf>,
    pub policy: Option<PathBuf>,
    pub policy_org: Option<String>,
}

/// The token of `--token`: the argument exactly as given, or with `@path` the file's text
/// less one line ending at its end (`\n` or `\r\n`, as editors and `>` leave them). Nothing
/// else is trimmed: the library reads the same bytes the CLI was given.
pub(crate) fn token_text(arg: &str) -> Result<String, CliError> {
    match arg.strip_prefix('@') {
        Some(path) => {
            let text = String::from_utf8(read_file(Path::new(path))?).map_err(|_| {
                CliError::new("token_malformed", format!("{path} is not UTF-8 text"))
            })?;
            let text = text
                .strip_suffix("\r\n")
                .or_else(|| text.strip_suffix('\n'))
                .unwrap_or(&text);
            Ok(text.to_owned())
        }
        None => Ok(arg.to_owned()),
    }
}

fn authorizer(source: &Source, token: &str, now: i64) -> Result<Authorizer, CliError> {
    match (&source.bundle, &source.policy) {
        (Some(path), None) => {
            if source.trust.is_empty() {
                return Err(CliError::new(
                    "no_trusted_keys",
                    "--bundle needs at least one --trust key",
                ));
            }
            let keys = read_trusted(&source.trust)?;
            let bytes = read_file(path)?;
            Authorizer::from_bundle(
                &bytes,
                &keys,
                LoadOptions {
                    now,
                    min_version: 0,
                },
            )
            .map_err(|e| portcullis::Error::from(e).into())
        }
        (None, Some(path)) => {
            let (_, data) = load_source(path)?;
            let org = match &source.policy_org {
                Some(o) => o.clone(),
                None => portcullis::UnverifiedToken::parse(token)
                    .ok()
                    .and(unverified_org(token))
                    .ok_or_else(|| {
                        CliError::new("unknown_org", "name the organization with --policy-org")
                    })?,
            };
            let d = data.into_iter().find(|d| d.org == org).ok_or_else(|| {
                CliError::new(
                    "unknown_org",
                    format!("no organization `{org}` in {}", path.display()),
                )
            })?;
            Authorizer::preview(d, 0)
                .map_err(|e| CliError::new("policy_inconsistent", e.to_string()))
        }
        _ => Err(CliError::new(
            "no_policy",
            "give --bundle (with --trust) or --policy",
        )),
    }
}

/// The `org` claim of a token not yet verified: only to choose which preview to load.
fn unverified_org(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("org")?.as_str().map(str::to_owned)
}

pub struct CheckRequest {
    pub source: Source,
    pub token: String,
    pub action: String,
    pub resource_type: Option<String>,
    pub id: Option<String>,
    pub env: Option<String>,
    pub org: Option<String>,
    pub attrs: Vec<String>,
    pub now: Option<String>,
}

fn decision_text(d: &Decision, request: &Request) -> String {
    let verdict = if d.allowed { "ALLOW" } else { "DENY" };
    let r = &request.resource;
    let mut place = format!("{} on {}", request.action, r.resource_type);
    if let Some(id) = &r.id {
        place.push_str(&format!(" `{id}`"));
    }
    match &r.env {
        Some(e) => place.push_str(&format!(" in {e}")),
        None => place.push_str(" (org level)"),
    }
    let mut s = format!("{verdict}  {place}\n  reason: {}", d.reason);
    if let Some(detail) = d.detail {
        s.push_str(&format!(" ({detail})"));
    }
    if let Some(rule) = &d.rule {
        s.push_str(&format!("\n  rule:   {rule}"));
    }
    s.push_str(&format!("\n  bundle: version {}", d.bundle_version));
    s
}

pub fn check(out: &Output, r: &CheckRequest, explain: bool) -> Outcome {
    let now = instant(r.now.as_deref())?;
    let token = token_text(&r.token)?;
    let authorizer = authorizer(&r.source, &token, now)?;
    let mut attrs = portcullis::Attrs::new();
    for a in &r.attrs {
        let (k, v) = a
            .split_once('=')
            .ok_or_else(|| CliError::new("bad_attr", format!("`{a}` is not name=value")))?;
        let value = serde_json::from_str::<Value>(v).unwrap_or_else(|_| Value::Str(v.to_owned()));
        attrs.insert(k.to_owned(), value);
    }
    let resource_type = match &r.resource_type {
        Some(t) => t.clone(),
        None => r.action.split(':').next().unwrap_or_default().to_owned(),
    };
    let request = Request {
        action: r.action.clone(),
        resource: Resource {
            resource_type,
            id: r.id.clone(),
            org: r.org.clone(),
            env: r.env.clone(),
            attrs,
        },
        ..Request::default()
    };
    let options = VerifyOptions {
        now,
        audience: None,
    };
    let decision = match authorizer.verify_token(&token, &options) {
        Err(e) => {
            let d = Decision::invalid_token(authorizer.version(), e);
            if explain {
                let steps = vec![portcullis::TraceStep {
                    check: "token",
                    rule: None,
                    outcome: "fail",
                    note: e.to_string(),
                }];
                out.emit(
                    &serde_json::json!({ "decision": d, "token_error": token_error_json(&e), "trace": steps }),
                    || {
                        format!(
                            "{}\n  trace:\n    token      fail   {e}",
                            decision_text(&d, &request)
                        )
                    },
                );
            } else {
                let mut json = serde_json::to_value(&d).unwrap_or_default();
                if let Some(fields) = json.as_object_mut() {
                    fields.insert("token_error".into(), token_error_json(&e));
                }
                out.emit(&json, || {
                    format!("{}\n  why:    {e}", decision_text(&d, &request))
                });
            }
            return Ok(1);
        }
        Ok(verified) if explain => {
            let x = authorizer.explain(&verified, &request, now);
            out.emit(&x, || {
                let mut s = decision_text(&x.decision, &request);
                s.push_str("\n  trace:");
                for step in &x.trace {
                    s.push_str(&format!(
                        "\n    {:<12}{:<7}{}",
                        step.check, step.outcome, step.note
                    ));
                    if let Some(rule) = &step.rule {
                        s.push_str(&format!("  [{rule}]"));
                    }
                }
                s
            });
            x.decision
        }
        Ok(verified) => {
            let d = authorizer.check(&verified, &request, now);
            out.emit(&d, || decision_text(&d, &request));
            d
        }
    };
    Ok(if decision.allowed { 0 } else { 1 })
}

pub fn permissions(
    out: &Output,
    source: &Source,
    token: &str,
    env: Option<&str>,
    now: Option<&str>,
) -> Outcome {
    let now = instant(now)?;
    let token = token_text(token)?;
    let authorizer = authorizer(source, &token, now)?;
    let verified = match authorizer.verify_token(
        &token,
        &VerifyOptions {
            now,
            audience: None,
        },
    ) {
        Ok(v) => v,
        Err(e) => {
            let d = Decision::invalid_token(authorizer.version(), e);
            out.emit(&d, || format!("DENY  invalid_token: {e}"));
            return Ok(1);
        }
    };
    match authorizer.permissions(&verified, env, now) {
        Ok(p) => {
            out.emit(&p, || {
                let mut s = format!(
                    "{} in {}{}\n  roles:",
                    p.principal,
                    p.org,
                    p.env
                        .as_deref()
                        .map(|e| format!(" / {e}"))
                        .unwrap_or_default()
                );
                for r in &p.roles {
                    s.push_str(&format!(
                        "\n    {} ({}, {}){}",
                        r.role,
                        r.scope,
                        r.via,
                        if r.conditional { " conditional" } else { "" }
                    ));
                }
                s.push_str(&format!("\n  permissions: {}", p.permissions.join(" ")));
                for x in &p.restrictions {
                    s.push_str(&format!(
                        "\n  {} [{}]: {} on {}",
                        x.effect,
                        x.rule,
                        x.permissions.join(" "),
                        x.applies_to
                    ));
                }
                s
            });
            Ok(0)
        }
        Err(d) => {
            out.emit(&d, || format!("DENY  {}", d.reason));
            Ok(1)
        }
    }
}

fn org_source<'a>(
    source: &'a mut PolicySource,
    org: &str,
) -> Result<&'a mut portcullis::source::OrgSource, CliError> {
    source
        .orgs
        .iter_mut()
        .find(|o| o.id == org)
        .ok_or_else(|| CliError::new("unknown_org", format!("no organization `{org}`")))
}

#[derive(Serialize)]
struct UserView {
    id: String,
    disabled: bool,
    roles: Vec<String>,
    groups: Vec<String>,
}

pub fn users_show(out: &Output, path: &Path, org: &str, user: Option<&str>) -> Outcome {
    let (mut source, _) = load_source(path)?;
    let o = org_source(&mut source, org)?;
    let views: Vec<UserView> = o
        .users
        .iter()
        .filter(|u| user.is_none_or(|x| x == u.id))
        .map(|u| UserView {
            id: u.id.clone(),
            disabled: u.disabled,
            roles: o
                .bindings
                .iter()
                .filter(|b| b.user.as_deref() == Some(&u.id))
                .map(|b| match &b.env {
                    Some(e) => format!("{}@{e}", b.role),
                    None => b.role.clone(),
                })
                .collect(),
            groups: u.groups.clone(),
        })
        .collect();
    if let (Some(u), true) = (user, views.is_empty()) {
        return Err(CliError::new(
            "unknown_user",
            format!("no user `{u}` in `{org}`"),
        ));
    }
    out.emit(&views, || {
        views
            .iter()
            .map(|v| {
                format!(
                    "{:<16} {}{}{}",
                    v.id,
                    if v.roles.is_empty() {
                        "-".to_owned()
                    } else {
                        v.roles.join(", ")
                    },
                    if v.groups.is_empty() {
                        String::new()
                    } else {
                        format!("  groups: {}", v.groups.join(", "))
                    },
                    if v.disabled { "  (disabled)" } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(0)
}

pub struct UserChangeRequest {
    pub policy: PathBuf,
    pub org: String,
    pub actor: String,
    pub user: String,
    pub role: Option<String>,
    pub env: Option<String>,
    pub now: Option<String>,
}

fn delegation_check(
    data: &[portcullis::model::PolicyData],
    r: &UserChangeRequest,
    role: &str,
    env: Option<&str>,
    now: i64,
) -> Result<Decision, CliError> {
    let d = data
        .iter()
        .find(|d| d.org == r.org)
        .ok_or_else(|| CliError::new("unknown_org", format!("no organization `{}`", r.org)))?;
    let authorizer = Authorizer::preview(d.clone(), 0)
        .map_err(|e| CliError::new("policy_inconsistent", e.to_string()))?;
    let policy = authorizer.policy();
    let Some(actor) = policy.user_index(&r.actor) else {
        return Ok(Decision {
            allowed: false,
            reason: Reason::NotAMember,
            rule: None,
            bundle_version: 0,
            detail: None,
        });
    };
    if policy.member(actor).is_some_and(|m| m.disabled) {
        return Ok(Decision {
            allowed: false,
            reason: Reason::Revoked,
            rule: None,
            bundle_version: 0,
            detail: Some(Detail::MemberDisabled),
        });
    }
    let env_index = match env {
        Some(e) => Some(policy.env_index(e).ok_or_else(|| {
            CliError::new(
                "unknown_env",
                format!("no environment `{e}` in `{}`", r.org),
            )
        })?),
        None => None,
    };
    Ok(authorizer.delegation_for(actor, env_index, role, &r.user, now))
}

#[derive(Serialize)]
struct Change<'a> {
    changed: bool,
    action: DelegationAction,
    user: &'a str,
    roles: Vec<String>,
    decision: Option<Decision>,
}

pub fn users_change(out: &Output, r: &UserChangeRequest, add: bool) -> Outcome {
    let now = instant(r.now.as_deref())?;
    let (mut source, data) = load_source(&r.policy)?;
    let action = if add {
        DelegationAction::Assign
    } else {
        DelegationAction::Remove
    };
    let roles: Vec<(String, Option<String>)> = match (&r.role, add) {
        (Some(role), _) => vec![(role.clone(), r.env.clone())],
        (None, true) => return Err(CliError::new("missing_role", "`users add` needs --role")),
        (None, false) => {
            let o = org_source(&mut source, &r.org)?;
            if !o.users.iter().any(|u| u.id == r.user) {
                return Err(CliError::new(
                    "unknown_user",
                    format!("no user `{}` in `{}`", r.user, r.org),
                ));
            }
            o.bindings
                .iter()
                .filter(|b| b.user.as_deref() == Some(&r.user))
                .map(|b| (b.role.clone(), b.env.clone()))
                .collect()
        }
    };
    for (role, env) in &roles {
        let d = delegation_check(&data, r, role, env.as_deref(), now)?;
        if !d.allowed {
            let why = match d.detail {
                Some(Detail::RoleNotAssignable) => format!(
                    "`{}` may not {} role `{role}`",
                    r.actor,
                    if add { "assign" } else { "remove" }
                ),
                Some(Detail::TargetHoldsUnassignableRole) => format!(
                    "`{}` holds a role `{}` may not manage{}",
                    r.user,
                    r.actor,
                    d.rule
                        .as_deref()
                        .map(|x| format!(" ({x})"))
                        .unwrap_or_default()
                ),
                _ => format!("{} ({})", d.reason, d.detail.map_or("", |d| d.code())),
            };
            out.emit(
                &Change {
                    changed: false,
                    action,
                    user: &r.user,
                    roles: vec![role.clone()],
                    decision: Some(d.clone()),
                },
                || format!("DENY  {why}; the policy is unchanged"),
            );
            return Ok(1);
        }
    }
    let o = org_source(&mut source, &r.org)?;
    if add {
        if !o.users.iter().any(|u| u.id == r.user) {
            o.users.push(UserSource {
                id: r.user.clone(),
                name: None,
                attrs: Default::default(),
                groups: vec![],
                disabled: false,
            });
        }
        for (role, env) in &roles {
            let exists = o
                .bindings
                .iter()
                .any(|b| b.user.as_deref() == Some(&r.user) && &b.role == role && &b.env == env);
            if !exists {
                o.bindings.push(BindingSource {
                    role: role.clone(),
                    user: Some(r.user.clone()),
                    env: env.clone(),
                    ..BindingSource::default()
                });
            }
        }
    } else {
        let before = o.bindings.len();
        o.bindings.retain(|b| {
            !(b.user.as_deref() == Some(&r.user)
                && roles
                    .iter()
                    .any(|(role, env)| &b.role == role && &b.env == env))
        });
        if r.role.is_none() {
            o.users.retain(|u| u.id != r.user);
            o.overrides.retain(|x| x.user.as_deref() != Some(&r.user));
        } else if before == o.bindings.len() {
            return Err(CliError::new(
                "no_such_binding",
                format!("`{}` does not hold that role", r.user),
            ));
        }
    }
    let text =
        serde_json::to_string_pretty(&source).map_err(|e| CliError::new("io", e.to_string()))?;
    source::compile(
        &source::parse_source(text.as_bytes())
            .map_err(|e| CliError::new(e.code(), e.to_string()))?,
    )
    .map_err(|e| {
        CliError::new(
            e.code(),
            format!("the edited policy no longer compiles:\n{e}"),
        )
    })?;
    write_file(&r.policy, format!("{text}\n").as_bytes())?;
    let names: Vec<String> = roles
        .iter()
        .map(|(role, env)| env.as_ref().map_or(role.clone(), |e| format!("{role}@{e}")))
        .collect();
    out.emit(
        &Change {
            changed: true,
            action,
            user: &r.user,
            roles: names.clone(),
            decision: None,
        },
        || {
            format!(
                "{} {} {} `{}`; rebuild and publish the bundle to take effect",
                if add { "assigned" } else { "removed" },
                names.join(", "),
                if add { "to" } else { "from" },
                r.user
            )
        },
    );
    Ok(0)
}

pub fn policy_check(out: &Output, path: &Path) -> Outcome {
    let bytes = read_file(path)?;
    match source::parse_source(&bytes).and_then(|s| source::compile(&s)) {
        Ok(data) => {
            let orgs: Vec<&str> = data.iter().map(|d| d.org.as_str()).collect();
            out.emit(&serde_json::json!({ "ok": true, "orgs": orgs }), || {
                format!("ok: {} organization(s): {}", orgs.len(), orgs.join(", "))
            });
            Ok(0)
        }
        Err(e) => {
            out.emit(
                &serde_json::json!({ "ok": false, "errors": e.errors }),
                || format!("{} error(s) in {}:\n{e}", e.errors.len(), path.display()),
            );
            Ok(2)
        }
    }
}

pub fn policy_test(out: &Output, files: &[PathBuf]) -> Outcome {
    let mut failed = 0;
    let mut reports = Vec::new();
    for file in files {
        let bytes = read_file(file)?;
        let test: PolicyTestFile = serde_json::from_slice(&bytes)
            .map_err(|e| CliError::new("test_invalid", format!("{}: {e}", file.display())))?;
        let policy_path = file.parent().unwrap_or(Path::new(".")).join(&test.policy);
        let (source, data) = load_source(&policy_path)?;
        let report = expect::run(&test, &data, source.version.unwrap_or(1))
            .map_err(|e| CliError::new("test_invalid", format!("{}: {e}", file.display())))?;
        failed += report.failed();
        reports.push((file.display().to_string(), report));
    }
    let total: usize = reports.iter().map(|(_, r)| r.cases.len()).sum();
    let json: Vec<_> = reports.iter().map(|(f, r)| serde_json::json!({ "file": f, "passed": r.passed(), "failed": r.failed(), "cases": r.cases })).collect();
    out.emit(&json, || {
        let mut s = String::new();
        for (file, report) in &reports {
            s.push_str(&format!("{file}\n"));
            for c in &report.cases {
                if c.passed {
                    s.push_str(&format!("  ok    {}\n", c.name));
                } else {
                    s.push_str(&format!(
                        "  FAIL  {}\n        expected {}\n        got      {}\n",
                        c.name, c.expected, c.got
                    ));
                }
            }
        }
        s.push_str(&format!("{} passed, {} failed", total - failed, failed));
        s
    });
    Ok(if failed == 0 { 0 } else { 1 })
}
