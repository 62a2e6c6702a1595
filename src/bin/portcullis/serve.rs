//! `portcullis serve`: the AuthZEN PDP as a native HTTP server (axum on tokio).
//!
//! Bundles come from a directory (one `*.bundle` per organization), verified against the
//! trusted keys and swapped in whole when a file changes; a bundle that does not load leaves
//! its organization on the last one that did (never an older version). The server keeps no
//! other state, so any number of them can stand behind a load balancer.
//!
//! Every API call carries a service token (`Authorization: Bearer …`) of the organization
//! asked about, verified against that organization's issuers; its client needs `pdp:evaluate`
//! (evaluations) or `pdp:search` (searches) in the policy. The core answers the body
//! (`portcullis::authzen`); this file is HTTP around it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use portcullis::authzen::{self, AuthzenError, Configuration, Endpoint};
use portcullis::{Authorizer, BundleKeys, LoadOptions, TokenKind, UnverifiedToken, VerifyOptions};
use serde_json::{json, Value};

use crate::files::CliError;

/// What `portcullis serve` is started with.
pub struct ServeOptions {
    /// The directory of `*.bundle` files.
    pub bundles: PathBuf,
    /// Trusted bundle signing keys.
    pub keys: BundleKeys,
    /// Address to listen on (port 0: any free port; the log's first line names it).
    pub listen: SocketAddr,
    /// How often the directory is looked at for changes.
    pub poll: Duration,
    /// The audience PEP tokens must carry; each issuer's own when absent.
    pub audience: Option<String>,
    /// The base URL the well-known metadata names; `http://<listen address>` by default.
    pub base_url: Option<String>,
    /// Whether answers carry the reason, rule and bundle version in their `context`.
    pub reasons: bool,
}

/// The loaded bundles, by organization, and what the directory looked like when read.
struct Loaded {
    by_org: HashMap<String, Arc<Authorizer>>,
    files: Vec<(PathBuf, SystemTime, u64)>,
}

struct Pdp {
    loaded: RwLock<Arc<Loaded>>,
    keys: BundleKeys,
    audience: Option<String>,
    base_url: String,
    reasons: bool,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn log(line: Value) {
    println!("{line}");
}

/// The `*.bundle` files of `dir`, with their modification times and sizes, sorted.
fn listing(dir: &Path) -> Vec<(PathBuf, SystemTime, u64)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "bundle"))
        .filter_map(|p| {
            let meta = std::fs::metadata(&p).ok()?;
            Some((p, meta.modified().unwrap_or(UNIX_EPOCH), meta.len()))
        })
        .collect();
    files.sort();
    files
}

/// Loads every bundle of the directory. An organization keeps its current authorizer when
/// its file does not load, or holds an older version than the one loaded.
fn load(dir: &Path, keys: &BundleKeys, previous: Option<&Loaded>) -> Loaded {
    let files = listing(dir);
    let mut by_org: HashMap<String, Arc<Authorizer>> =
        previous.map(|p| p.by_org.clone()).unwrap_or_default();
    for (path, _, _) in &files {
        let loaded = std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                // The header names the organization before anything is verified: only to find the
                // version floor, which the signed header is then checked against.
                let min_version = portcullis::bundle::read_header(&bytes)
                    .ok()
                    .and_then(|(header, _)| by_org.get(&header.org).map(|a| a.version()))
                    .unwrap_or(0);
                Authorizer::from_bundle(
                    &bytes,
                    keys,
                    LoadOptions {
                        now: now(),
                        min_version,
                    },
                )
                .map_err(|e| format!("{}: {e}", e.code()))
            });
        match loaded {
            Ok(a) => {
                let org = a.policy().org().to_owned();
                let changed = by_org
                    .get(&org)
                    .is_none_or(|old| old.version() != a.version());
                if changed {
                    log(
                        json!({ "event": "bundle_loaded", "file": path.display().to_string(),
                                "org": org, "version": a.version() }),
                    );
                }
                by_org.insert(org, Arc::new(a));
            }
            Err(e) => log(
                json!({ "event": "bundle_refused", "file": path.display().to_string(),
                                  "error": e }),
            ),
        }
    }
    Loaded { by_org, files }
}

/// A JSON answer with a status.
fn answer(status: StatusCode, body: &Value, request_id: Option<&HeaderValue>) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if let Some(id) = request_id {
        response.headers_mut().insert("x-request-id", id.clone());
    }
    response
}

fn error(
    status: StatusCode,
    code: &str,
    message: &str,
    request_id: Option<&HeaderValue>,
) -> Response {
    let mut response = answer(
        status,
        &json!({ "error": code, "message": message }),
        request_id,
    );
    let challenge = match status {
        StatusCode::UNAUTHORIZED => Some(r#"Bearer error="invalid_token""#),
        StatusCode::FORBIDDEN => Some(r#"Bearer error="insufficient_scope""#),
        _ => None,
    };
    if let Some(c) = challenge {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
    }
    response
}

/// The request id to echo: a header of at most 128 visible ASCII characters.
fn request_id(headers: &HeaderMap) -> Option<&HeaderValue> {
    headers
        .get("x-request-id")
        .filter(|v| v.len() <= 128 && v.as_bytes().iter().all(|b| b.is_ascii_graphic()))
}

/// The organization's authorizer when the bearer token is a service token of it, valid, and
/// its client may call `endpoint`. Anything else is answered as a bad credential: a caller
/// learns nothing about organizations it does not belong to.
fn authenticate(
    pdp: &Pdp,
    headers: &HeaderMap,
    tenant: Option<&str>,
    endpoint: Endpoint,
    now: i64,
) -> Result<(Arc<Authorizer>, String), (StatusCode, &'static str, &'static str)> {
    let bad = (
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "a valid service token of the organization is required",
    );
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(bad)?;
    let org = UnverifiedToken::parse(token)
        .ok()
        .and_then(|t| t.org_hint())
        .ok_or(bad)?;
    if tenant.is_some_and(|t| t != org) {
        return Err(bad);
    }
    let loaded = pdp.loaded.read().map_err(|_| bad)?.clone();
    let authorizer = loaded.by_org.get(&org).cloned().ok_or(bad)?;
    if authorizer.header().is_some_and(|h| h.not_after <= now) {
        return Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "bundle_expired",
            "the organization's bundle has expired",
        ));
    }
    let verified = authorizer
        .verify_token(
            token,
            &VerifyOptions {
                now,
                audience: pdp.audience.as_deref(),
            },
        )
        .map_err(|_| bad)?;
    if verified.kind() != TokenKind::Service {
        return Err(bad);
    }
    if !authzen::pep_may_call(&authorizer, &verified, endpoint, now) {
        return Err((
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the client may not ask for these decisions",
        ));
    }
    let client = verified.client_id().unwrap_or_default().to_owned();
    Ok((authorizer, client))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

async fn api(
    pdp: Arc<Pdp>,
    tenant: Option<String>,
    path: String,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let id = request_id(&headers).cloned();
    let now = now();
    let (status, org, client, count, response) =
        match handle(&pdp, tenant.as_deref(), &path, &headers, body, now).await {
            Ok((org, client, count, value)) => (
                StatusCode::OK,
                org,
                client,
                count,
                answer(StatusCode::OK, &value, id.as_ref()),
            ),
            Err((status, code, message)) => (
                status,
                String::new(),
                String::new(),
                0,
                error(status, code, &message, id.as_ref()),
            ),
        };
    log(json!({
        "time": now, "request_id": id.as_ref().and_then(|v| v.to_str().ok()),
        "method": "POST", "path": format!("/access/v1/{path}"), "tenant": tenant,
        "status": status.as_u16(), "org": org, "client": client, "decisions": count,
        "micros": started.elapsed().as_micros() as u64,
    }));
    response
}

type Failure = (StatusCode, &'static str, String);

async fn handle(
    pdp: &Pdp,
    tenant: Option<&str>,
    path: &str,
    headers: &HeaderMap,
    body: Body,
    now: i64,
) -> Result<(String, String, usize, Value), Failure> {
    let endpoint = Endpoint::from_path(path).ok_or((
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint".into(),
    ))?;
    let (authorizer, client) = authenticate(pdp, headers, tenant, endpoint, now)
        .map_err(|(s, c, m)| (s, c, m.to_owned()))?;
    if !is_json(headers) {
        return Err((
            StatusCode::BAD_REQUEST,
            "invalid_content_type",
            "the body must be application/json".into(),
        ));
    }
    let bytes: Bytes = to_bytes(body, authzen::MAX_BODY_BYTES + 1)
        .await
        .map_err(|_| {
            let e = AuthzenError::TooLarge;
            (StatusCode::PAYLOAD_TOO_LARGE, e.code(), e.to_string())
        })?;
    let refused = |e: AuthzenError| {
        (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            e.code(),
            e.to_string(),
        )
    };
    let org = authorizer.policy().org().to_owned();
    let answered =
        authzen::answer(&authorizer, endpoint, &bytes, now, pdp.reasons).map_err(refused)?;
    Ok((org, client, answered.count, answered.body))
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
pub fn run(options: ServeOptions) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new("serve_failed", e.to_string()))?;
    runtime.block_on(serve(options))
}

async fn serve(options: ServeOptions) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| CliError::new("serve_failed", format!("{}: {e}", options.listen)))?;
    let address = listener
        .local_addr()
        .map_err(|e| CliError::new("serve_failed", e.to_string()))?;
    let loaded = load(&options.bundles, &options.keys, None);
    let pdp = Arc::new(Pdp {
        loaded: RwLock::new(Arc::new(loaded)),
        keys: options.keys,
        audience: options.audience,
        base_url: options
            .base_url
            .unwrap_or_else(|| format!("http://{address}")),
        reasons: options.reasons,
    });
    {
        let orgs: Vec<String> = pdp
            .loaded
            .read()
            .map(|l| l.by_org.keys().cloned().collect())
            .unwrap_or_default();
        log(json!({ "event": "listening", "address": address.to_string(), "organizations": orgs }));
    }
    let watcher = {
        let pdp = pdp.clone();
        let dir = options.bundles.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(options.poll);
            loop {
                tick.tick().await;
                let current = pdp.loaded.read().map(|l| l.clone()).ok();
                let Some(current) = current else { continue };
                if listing(&dir) == current.files {
                    continue;
                }
                let fresh = Arc::new(load(&dir, &pdp.keys, Some(&current)));
                if let Ok(mut slot) = pdp.loaded.write() {
                    *slot = fresh;
                }
            }
        })
    };
    let app = Router::new()
        .route("/health", get(health))
        .route("/.well-known/authzen-configuration", get(configuration))
        .route(
            "/.well-known/authzen-configuration/{tenant}",
            get(tenant_configuration),
        )
        .route("/access/v1/{*endpoint}", post(untenanted))
        .route("/tenants/{tenant}/access/v1/{*endpoint}", post(tenanted))
        .fallback(not_found)
        .with_state(pdp);
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| CliError::new("serve_failed", e.to_string()));
    watcher.abort();
    log(json!({ "event": "stopped" }));
    result
}

async fn shutdown() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

async fn untenanted(
    State(pdp): State<Arc<Pdp>>,
    UrlPath(endpoint): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    api(pdp, None, endpoint, headers, body).await
}

async fn tenanted(
    State(pdp): State<Arc<Pdp>>,
    UrlPath((tenant, endpoint)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    api(pdp, Some(tenant), endpoint, headers, body).await
}

async fn health(State(pdp): State<Arc<Pdp>>) -> Response {
    let count = pdp.loaded.read().map(|l| l.by_org.len()).unwrap_or(0);
    let status = if count > 0 {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    answer(
        status,
        &json!({ "status": if count > 0 { "ok" } else { "no_bundles" }, "organizations": count }),
        None,
    )
}

async fn configuration(State(pdp): State<Arc<Pdp>>) -> Response {
    let value = serde_json::to_value(Configuration::at(&pdp.base_url)).unwrap_or_default();
    answer(StatusCode::OK, &value, None)
}

async fn tenant_configuration(
    State(pdp): State<Arc<Pdp>>,
    UrlPath(tenant): UrlPath<String>,
) -> Response {
    // The same answer for every tenant name: the metadata says nothing of who exists.
    let base = format!("{}/tenants/{}", pdp.base_url, urlencode(&tenant));
    let value = serde_json::to_value(Configuration::at(&base)).unwrap_or_default();
    answer(StatusCode::OK, &value, None)
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "no such endpoint", None)
}
