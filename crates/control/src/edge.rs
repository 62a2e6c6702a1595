//! The Worker: D1, KV and secrets around [`crate::service`]. Nothing here decides.
//!
//! A write reads the organization from D1, is decided on that version, and commits as the next
//! version in one batch (refused whole when another change committed first, then decided
//! again on the new state after a random pause). Then the committed policy is signed and put
//! into KV, and the version is read again: if a newer change committed meanwhile, its policy is
//! published too, so KV never ends older than the last acknowledged change. A failed KV write
//! is retried; what is still unpublished is published by the next write or the cron trigger.

use std::time::Duration;

use portcullis::model::PolicyData;
use portcullis::BundleSigner;
use serde_json::{json, Value};
use worker::{
    event, Context, D1Database, D1PreparedStatement, Date, Delay, Env, Headers, MessageBatch,
    Method, Request, Response, ScheduleContext, ScheduledEvent,
};

use crate::activity;
use crate::error::ControlError;
use crate::keys::signer_from_jwk;
use crate::service::{self, Call, Change, Permissions};
use crate::store::{self, OrgRows, SqlValue, Statement};

/// Attempts at deciding and committing one write before answering `conflict`.
const COMMIT_ATTEMPTS: u32 = 100;
/// Attempts at one KV write.
const KV_ATTEMPTS: u32 = 4;
/// Rounds of "publish, then read the version again".
const PUBLISH_ROUNDS: u32 = 8;
/// Default lifetime of a published bundle: 30 days.
const DEFAULT_BUNDLE_TTL: i64 = 30 * 24 * 3600;

/// A pause before deciding a write again, after another change committed first: random
/// within a window that grows with the attempt, so that writers that collided spread out.
async fn back_off(attempt: u32) {
    let mut b = [0u8; 2];
    let spread = getrandom::getrandom(&mut b).map_or(0, |()| u64::from(u16::from_le_bytes(b)));
    let window = 2 + 2 * u64::from(attempt.min(20));
    Delay::from(Duration::from_millis(spread % window)).await;
}

fn now() -> i64 {
    (Date::now().as_millis() / 1000) as i64
}

fn storage(e: impl std::fmt::Display) -> ControlError {
    ControlError::Storage(e.to_string())
}

fn bind(db: &D1Database, s: &Statement) -> Result<D1PreparedStatement, ControlError> {
    let params: Vec<wasm_bindgen::JsValue> = s
        .params
        .iter()
        .map(|p| match p {
            SqlValue::Null => wasm_bindgen::JsValue::NULL,
            SqlValue::Int(n) => wasm_bindgen::JsValue::from_f64(*n as f64),
            SqlValue::Text(t) => wasm_bindgen::JsValue::from_str(t),
        })
        .collect();
    db.prepare(s.sql).bind(&params).map_err(storage)
}

/// Runs read-only queries with the same parameters in one batch; their rows, in order.
async fn query_batch(
    db: &D1Database,
    queries: &[&'static str],
    params: &[SqlValue],
) -> Result<Vec<Vec<Value>>, ControlError> {
    let statements: Vec<D1PreparedStatement> = queries
        .iter()
        .map(|q| bind(db, &Statement::new(q, params.to_vec())))
        .collect::<Result<_, _>>()?;
    let results = db.batch(statements).await.map_err(storage)?;
    results
        .iter()
        .map(|r| r.results::<Value>())
        .collect::<Result<_, _>>()
        .map_err(storage)
}

async fn load(db: &D1Database, org: &str) -> Result<Option<OrgRows>, ControlError> {
    let rows = query_batch(db, &store::LOAD_QUERIES, &[org.into()]).await?;
    OrgRows::from_results(&rows)
}

/// Commits a change decided on `expected` as `version`. `Ok(false)` when another change
/// committed first.
async fn commit(
    db: &D1Database,
    org: &str,
    expected: u64,
    version: u64,
    prelude: Vec<Statement>,
    change: &Change,
    at: i64,
) -> Result<bool, ControlError> {
    let mut all = prelude;
    all.extend(store::commit(
        org,
        expected,
        version,
        at,
        &change.audit,
        change.statements.clone(),
    ));
    let statements: Vec<D1PreparedStatement> =
        all.iter().map(|s| bind(db, s)).collect::<Result<_, _>>()?;
    match db.batch(statements).await {
        Ok(_) => Ok(true),
        Err(e) => {
            let text = e.to_string();
            if text.contains("version_conflict") || text.contains("UNIQUE constraint failed: audit")
            {
                Ok(false)
            } else {
                Err(storage(text))
            }
        }
    }
}

struct Settings {
    signer: BundleSigner,
    ttl: i64,
    permissions: Permissions,
}

fn settings(env: &Env) -> Result<Settings, ControlError> {
    let key = env
        .secret("BUNDLE_SIGNING_KEY")
        .map_err(|_| ControlError::Misconfigured("no BUNDLE_SIGNING_KEY secret".into()))?
        .to_string();
    let signer = signer_from_jwk(&key)?;
    let var = |name: &str| {
        env.var(name)
            .ok()
            .map(|v| v.to_string())
            .filter(|v| !v.is_empty())
    };
    let ttl = match var("BUNDLE_TTL_SECONDS") {
        None => DEFAULT_BUNDLE_TTL,
        Some(t) => t.parse::<i64>().ok().filter(|t| *t >= 60).ok_or_else(|| {
            ControlError::Misconfigured("BUNDLE_TTL_SECONDS must be at least 60".into())
        })?,
    };
    let mut permissions = Permissions::default();
    if let Some(p) = var("MANAGE_PERMISSION") {
        permissions.manage = p;
    }
    if let Some(p) = var("READ_PERMISSION") {
        permissions.read = p;
    }
    if let Some(p) = var("EXPORT_PERMISSION") {
        permissions.export = p;
    }
    Ok(Settings {
        signer,
        ttl,
        permissions,
    })
}

async fn kv_put(env: &Env, org: &str, bytes: &[u8]) -> Result<(), ControlError> {
    let kv = env
        .kv("BUNDLES")
        .map_err(|_| ControlError::Misconfigured("no BUNDLES KV binding".into()))?;
    let mut last = String::new();
    for attempt in 0..KV_ATTEMPTS {
        if attempt > 0 {
            Delay::from(Duration::from_millis(25 << attempt)).await;
        }
        match kv.put_bytes(&format!("bundle:{org}"), bytes) {
            Ok(put) => match put.execute().await {
                Ok(()) => return Ok(()),
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = e.to_string(),
        }
    }
    Err(ControlError::Storage(format!(
        "KV write failed {KV_ATTEMPTS} times: {last}"
    )))
}

async fn put_policy(
    env: &Env,
    s: &Settings,
    org: &str,
    policy: &PolicyData,
    version: u64,
) -> Result<(), ControlError> {
    let at = now();
    let bytes = portcullis::bundle::build(policy, version, at, at.saturating_add(s.ttl), &s.signer)
        .map_err(|e| ControlError::PolicyInvalid {
            code: e.code(),
            message: e.to_string(),
        })?;
    kv_put(env, org, &bytes).await?;
    let db = database(env)?;
    bind(&db, &store::mark_published(org, version, at))?
        .run()
        .await
        .map_err(storage)?;
    Ok(())
}

/// Puts `policy` (version `version`) into KV, then publishes whatever committed after it,
/// until KV holds the newest committed version. Returns the version KV holds.
async fn publish(
    env: &Env,
    s: &Settings,
    org: &str,
    policy: &PolicyData,
    version: u64,
) -> Result<u64, ControlError> {
    put_policy(env, s, org, policy, version).await?;
    let mut published = version;
    let db = database(env)?;
    for _ in 0..PUBLISH_ROUNDS {
        // One small query in the common case: nothing committed since.
        if committed_version(&db, org).await? <= published {
            return Ok(published);
        }
        let Some(rows) = load(&db, org).await? else {
            return Ok(published);
        };
        let (data, _) = service::authorizer_for(&rows)?;
        put_policy(env, s, org, &data, rows.version).await?;
        published = rows.version;
    }
    Ok(published)
}

/// The organization's last committed version (0 when it has none).
async fn committed_version(db: &D1Database, org: &str) -> Result<u64, ControlError> {
    let row: Option<Value> = bind(db, &Statement::new(store::VERSION_QUERY, vec![org.into()]))?
        .first(None)
        .await
        .map_err(storage)?;
    Ok(row
        .and_then(|r| r.get("version").and_then(Value::as_u64))
        .unwrap_or(0))
}

/// Publishes every organization whose committed version is not yet in KV, and signs again
/// every bundle past half its lifetime: a quiet organization's bundle never expires at the
/// gateway.
async fn republish_due(env: &Env) -> Result<u32, ControlError> {
    let s = settings(env)?;
    let db = database(env)?;
    let signed_before = now().saturating_sub(s.ttl / 2);
    let due = bind(
        &db,
        &Statement::new(store::DUE_QUERY, vec![signed_before.into()]),
    )?
    .all()
    .await
    .map_err(storage)?
    .results::<Value>()
    .map_err(storage)?;
    let mut n = 0;
    for row in due {
        if let Some(org) = row.get("id").and_then(Value::as_str) {
            if let Some(rows) = load(&db, org).await? {
                let (data, _) = service::authorizer_for(&rows)?;
                publish(env, &s, org, &data, rows.version).await?;
                n += 1;
            }
        }
    }
    Ok(n)
}

fn database(env: &Env) -> Result<D1Database, ControlError> {
    env.d1("DB")
        .map_err(|_| ControlError::Misconfigured("no DB (D1) binding".into()))
}

fn answer(
    status: u16,
    body: &Value,
    version: Option<u64>,
    published: bool,
) -> worker::Result<Response> {
    let headers = Headers::new();
    if !published {
        headers.set("x-portcullis-publish", "pending")?;
    }
    headers.set("content-type", "application/json")?;
    headers.set("cache-control", "no-store")?;
    if let Some(v) = version {
        headers.set("x-portcullis-bundle-version", &v.to_string())?;
    }
    Ok(Response::from_bytes(body.to_string().into_bytes())?
        .with_status(status)
        .with_headers(headers))
}

fn refuse(e: &ControlError) -> worker::Result<Response> {
    let r = answer(e.status(), &e.body(), None, true)?;
    if e.status() == 401 {
        r.headers()
            .set("www-authenticate", "Bearer error=\"invalid_token\"")?;
    }
    Ok(r)
}

async fn read_body(req: &mut Request, limit: usize) -> Result<Vec<u8>, ControlError> {
    if let Ok(Some(len)) = req.headers().get("content-length") {
        if len.parse::<usize>().map_or(true, |n| n > limit) {
            return Err(ControlError::BodyTooLarge(limit));
        }
    }
    let bytes = req
        .bytes()
        .await
        .map_err(|e| ControlError::InvalidJson(e.to_string()))?;
    if bytes.len() > limit {
        return Err(ControlError::BodyTooLarge(limit));
    }
    Ok(bytes)
}

fn bearer(req: &Request) -> Option<String> {
    let h = req.headers().get("authorization").ok()??;
    let (scheme, token) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

struct Answered {
    status: u16,
    body: Value,
    version: Option<u64>,
    /// Whether the committed version reached KV (the cron trigger publishes it otherwise).
    published: bool,
    /// A binary answer (the bundle) instead of JSON.
    bytes: Option<Vec<u8>>,
}

/// Publishes after a commit; a failure is logged and left to the cron trigger: the change is
/// committed and acknowledged either way.
async fn publish_committed(
    env: &Env,
    s: &Settings,
    org: &str,
    policy: &PolicyData,
    version: u64,
) -> bool {
    match publish(env, s, org, policy, version).await {
        Ok(_) => true,
        Err(e) => {
            worker::console_error!("version {version} of {org} committed, not yet published: {e}");
            false
        }
    }
}

async fn serve(mut req: Request, env: &Env) -> Result<Answered, ControlError> {
    let url = req.url().map_err(|e| ControlError::InvalidField {
        path: "url".into(),
        message: e.to_string(),
    })?;
    let method = match req.method() {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Patch => "PATCH",
        _ => "OTHER",
    };
    let routed = service::route(method, url.path())?;
    let s = settings(env)?;
    let db = database(env)?;
    let token = bearer(&req);
    if routed.call == Call::Import {
        return import(&mut req, env, &s, &db, routed.org, token).await;
    }
    let token = token.ok_or_else(|| ControlError::InvalidToken("no bearer token".into()))?;
    let claimed = service::claimed_org(&token)
        .ok_or_else(|| ControlError::InvalidToken("not a token of any organization".into()))?;
    let org = routed.org.clone().unwrap_or_else(|| claimed.clone());
    if org != claimed {
        // A token of another organization: verified against its own issuers first, so that
        // only a genuine token learns the answer `cross_tenant`.
        let rows = load(&db, &claimed)
            .await?
            .ok_or_else(|| ControlError::InvalidToken("no such organization".into()))?;
        let (_, authorizer) = service::authorizer_for(&rows)?;
        service::admit(&authorizer, Some(&token), now())?;
        return Err(service::cross_tenant(&claimed, &org));
    }
    let body = match method {
        "POST" | "PATCH" | "PUT" => read_body(&mut req, service::MAX_CALL_BODY_BYTES).await?,
        _ => Vec::new(),
    };
    for attempt in 0..COMMIT_ATTEMPTS {
        let at = now();
        let rows = load(&db, &org)
            .await?
            .ok_or_else(|| ControlError::InvalidToken("no such organization".into()))?;
        let (_, authorizer) = service::authorizer_for(&rows)?;
        let verified = service::admit(&authorizer, Some(&token), at)?;
        let cx = service::Context {
            rows: &rows,
            authorizer: &authorizer,
            token: &verified,
            permissions: &s.permissions,
            now: at,
        };
        let outcome = service::handle(&routed.call, &cx, &body)?;
        let Some(change) = outcome.change else {
            let mut body = outcome.body;
            if routed.call == Call::Bundle {
                return Ok(Answered {
                    status: 200,
                    body: Value::Null,
                    version: None,
                    published: true,
                    bytes: Some(bundle_bytes(env, &org).await?),
                });
            }
            if let (Call::UserAudit(user), Some(map)) = (&routed.call, body.as_object_mut()) {
                map.insert("entries".into(), audit_trail(&db, &org, user).await?);
            }
            if let (Call::GetUser(user), Some(map)) = (&routed.call, body.as_object_mut()) {
                let (last_active, activity) = member_activity(&db, &org, user).await?;
                map.insert("lastActive".into(), last_active);
                map.insert("activity".into(), activity);
            }
            return Ok(Answered {
                status: outcome.status,
                body,
                version: None,
                published: true,
                bytes: None,
            });
        };
        let version = rows.version + 1;
        if commit(&db, &org, rows.version, version, Vec::new(), &change, at).await? {
            let published = publish_committed(env, &s, &org, &change.policy, version).await;
            return Ok(Answered {
                status: outcome.status,
                body: outcome.body,
                version: Some(version),
                published,
                bytes: None,
            });
        }
        back_off(attempt).await;
    }
    Err(ControlError::Conflict)
}

async fn import(
    req: &mut Request,
    env: &Env,
    s: &Settings,
    db: &D1Database,
    org: Option<String>,
    token: Option<String>,
) -> Result<Answered, ControlError> {
    let secret = env
        .secret("OPERATOR_SECRET")
        .map_err(|_| ControlError::InvalidToken("imports are disabled: no OPERATOR_SECRET".into()))?
        .to_string();
    if !token.as_deref().is_some_and(|t| same_secret(t, &secret)) {
        return Err(ControlError::InvalidToken(
            "an import takes the operator's secret".into(),
        ));
    }
    let org = org.ok_or_else(|| ControlError::NotFound {
        code: "not_found",
        message: "an import names its organization: PUT /orgs/{org}/iam/import".into(),
    })?;
    let body = read_body(req, service::MAX_IMPORT_BODY_BYTES).await?;
    for attempt in 0..COMMIT_ATTEMPTS {
        let at = now();
        let previous = load(db, &org).await?;
        let change = service::import(&org, &body, previous.as_ref(), "operator", at)?;
        let expected = previous.as_ref().map_or(0, |p| p.version);
        // The first version stays above any bundle KV holds already (a gateway refuses to go
        // back to an older one).
        let in_kv = kv_version(env, &org).await;
        let version = (expected + 1).max(in_kv + 1);
        let prelude = vec![store::ensure_org(&org, expected, at)];
        if commit(db, &org, expected, version, prelude, &change, at).await? {
            let published = publish_committed(env, s, &org, &change.policy, version).await;
            return Ok(Answered {
                status: 200,
                body: json!({ "message": "Policy imported", "org": org, "version": version }),
                version: Some(version),
                published,
                bytes: None,
            });
        }
        back_off(attempt).await;
    }
    Err(ControlError::Conflict)
}

/// A member's activity: `lastActive` and `activity` of the user details.
async fn member_activity(
    db: &D1Database,
    org: &str,
    sub: &str,
) -> Result<(Value, Value), ControlError> {
    let rows = query_batch(db, &activity::QUERIES, &[org.into(), sub.into()]).await?;
    Ok(activity::view(&rows))
}

/// The last changes made to `user`, newest first.
async fn audit_trail(db: &D1Database, org: &str, user: &str) -> Result<Value, ControlError> {
    let rows = bind(
        db,
        &Statement::new(store::AUDIT_QUERY, vec![org.into(), user.into()]),
    )?
    .all()
    .await
    .map_err(storage)?
    .results::<Value>()
    .map_err(storage)?;
    Ok(Value::Array(
        rows.iter().map(service::audit_entry_view).collect(),
    ))
}

/// The signed bundle KV holds for `org`.
async fn bundle_bytes(env: &Env, org: &str) -> Result<Vec<u8>, ControlError> {
    let kv = env
        .kv("BUNDLES")
        .map_err(|_| ControlError::Misconfigured("no BUNDLES KV binding".into()))?;
    kv.get(&format!("bundle:{org}"))
        .bytes()
        .await
        .map_err(storage)?
        .ok_or_else(|| ControlError::NotFound {
            code: "no_bundle",
            message: format!("no bundle of `{org}` is published yet"),
        })
}

/// The version of the bundle KV holds for `org`, 0 when none (or unreadable).
async fn kv_version(env: &Env, org: &str) -> u64 {
    let Ok(kv) = env.kv("BUNDLES") else {
        return 0;
    };
    match kv.get(&format!("bundle:{org}")).bytes().await {
        Ok(Some(bytes)) => portcullis::bundle::read_header(&bytes).map_or(0, |(h, _)| h.version),
        _ => 0,
    }
}

/// The request's `Origin` when `ADMIN_ORIGINS` (a comma-separated list) names it: a browser
/// page there (the admin page) may call the API.
fn allowed_origin(req: &Request, env: &Env) -> Option<String> {
    let origin = req.headers().get("origin").ok()??;
    let allowed = env.var("ADMIN_ORIGINS").ok()?.to_string();
    allowed
        .split(',')
        .map(str::trim)
        .any(|a| !a.is_empty() && a == origin)
        .then_some(origin)
}

fn with_cors(response: Response, origin: Option<&str>) -> worker::Result<Response> {
    if let Some(o) = origin {
        let h = response.headers();
        h.set("access-control-allow-origin", o)?;
        h.set("vary", "origin")?;
        h.set(
            "access-control-expose-headers",
            "x-portcullis-bundle-version, x-portcullis-publish",
        )?;
    }
    Ok(response)
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    console_error_panic_hook::set_once();
    let origin = allowed_origin(&req, &env);
    if req.method() == Method::Options {
        let r = Response::empty()?.with_status(204);
        if origin.is_some() {
            let h = r.headers();
            h.set(
                "access-control-allow-methods",
                "GET, POST, PUT, PATCH, DELETE",
            )?;
            h.set(
                "access-control-allow-headers",
                "authorization, content-type",
            )?;
            h.set("access-control-max-age", "600")?;
        }
        return with_cors(r, origin.as_deref());
    }
    let response = match serve(req, &env).await {
        Ok(Answered {
            bytes: Some(bytes), ..
        }) => {
            let headers = Headers::new();
            headers.set("content-type", "application/octet-stream")?;
            headers.set("cache-control", "no-store")?;
            Response::from_bytes(bytes)?.with_headers(headers)
        }
        Ok(a) => answer(a.status, &a.body, a.version, a.published)?,
        Err(e) => refuse(&e)?,
    };
    with_cors(response, origin.as_deref())
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    if let Err(e) = republish_due(&env).await {
        worker::console_error!("republish failed: {e}");
    }
}

/// Folds a batch of the gateway's decision events into D1. Malformed events are dropped; when
/// D1 fails, the whole batch is retried.
#[event(queue)]
async fn activity_batch(batch: MessageBatch<Value>, env: Env, _ctx: Context) -> worker::Result<()> {
    let events: Vec<activity::Event> = batch
        .raw_iter()
        .filter_map(|m| m.body().as_string())
        .filter_map(|text| activity::parse_event(&text))
        .collect();
    let outcome = async {
        let db = database(&env)?;
        let statements: Vec<D1PreparedStatement> = activity::record(&events)
            .iter()
            .map(|s| bind(&db, s))
            .collect::<Result<_, _>>()?;
        if !statements.is_empty() {
            db.batch(statements).await.map_err(storage)?;
        }
        Ok::<(), ControlError>(())
    }
    .await;
    match outcome {
        Ok(()) => batch.ack_all(),
        Err(e) => {
            worker::console_error!("activity batch not recorded, retried: {e}");
            batch.retry_all();
        }
    }
    Ok(())
}
