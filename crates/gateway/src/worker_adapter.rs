//! The Cloudflare Worker: reads the environment, carries out the plans of [`crate::logic`].
//!
//! Bindings and variables (see `wrangler.toml` and `docs/gateway.md`):
//! - `BUNDLES`: the Workers KV namespace holding one bundle per organization (`bundle:<org>`);
//! - `BUNDLE_KEYS`: a JWKS of the Ed25519 public keys trusted to sign bundles (var or secret);
//! - `ORIGIN`: the origin's base URL;
//! - `BUNDLE_REFRESH_SECONDS`: how long a loaded bundle is used before KV is read again;
//! - `ORIGIN_TIMEOUT_SECONDS`: how long to wait for the origin's response headers (default
//!   30); beyond it the request is aborted and answered 504.

use std::cell::RefCell;
use std::time::Duration;

use portcullis::BundleKeys;
use serde_json::Value;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{console_log, event, js_sys, web_sys, Context, Date, Env, Response, Result};

use crate::logic::{
    bundle_key, forwardable, Config, Gateway, Incoming, LogLine, Lookup, Plan, Start,
};

thread_local! {
    static GATEWAY: RefCell<Option<Gateway>> = const { RefCell::new(None) };
}

/// A failure of configuration: the gateway answers 503 and forwards nothing.
struct Misconfigured(String);

fn text(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
}

fn config(env: &Env) -> std::result::Result<Config, Misconfigured> {
    let jwks =
        text(env, "BUNDLE_KEYS").ok_or_else(|| Misconfigured("BUNDLE_KEYS is not set".into()))?;
    let value: Value = serde_json::from_str(&jwks)
        .map_err(|e| Misconfigured(format!("BUNDLE_KEYS is not JSON: {e}")))?;
    let list = value.get("keys").cloned().unwrap_or(value);
    let jwks: Vec<portcullis::Jwk> = serde_json::from_value(match list {
        Value::Array(a) => Value::Array(a),
        one => Value::Array(vec![one]),
    })
    .map_err(|e| Misconfigured(format!("BUNDLE_KEYS: {e}")))?;
    let mut trusted = BundleKeys::new();
    for jwk in &jwks {
        trusted
            .add_jwk(jwk)
            .map_err(|e| Misconfigured(format!("BUNDLE_KEYS: {e}")))?;
    }
    let refresh_seconds = text(env, "BUNDLE_REFRESH_SECONDS")
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    Ok(Config {
        trusted,
        refresh_seconds,
        max_orgs: 256,
        max_tokens: 10_000,
        memory_bytes: || Some(core::arch::wasm32::memory_size::<0>() as u64 * 65_536),
    })
}

fn with_gateway<T>(
    env: &Env,
    f: impl FnOnce(&mut Gateway) -> T,
) -> std::result::Result<T, Misconfigured> {
    GATEWAY.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Gateway::new(config(env)?));
        }
        match slot.as_mut() {
            Some(g) => Ok(f(g)),
            None => Err(Misconfigured("gateway state unavailable".into())),
        }
    })
}

fn decision_id() -> String {
    let mut bytes = [0u8; 12];
    if getrandom::getrandom(&mut bytes).is_err() {
        let t = Date::now().as_millis();
        bytes[..8].copy_from_slice(&t.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Answers with the runtime's own response object, so that a forwarded origin response goes
/// back untouched.
type Answer = web_sys::Response;

fn json_response(status: u16, body: &Value, headers: &[(String, String)]) -> Result<Answer> {
    let mut response = Response::from_json(body)?.with_status(status);
    let h = response.headers_mut();
    h.set("cache-control", "no-store")?;
    for (k, v) in headers {
        h.set(k, v)?;
    }
    Ok(response.into())
}

fn log(line: &LogLine) {
    console_log!("{}", serde_json::to_string(line).unwrap_or_default());
}

// The runtime's request as it is: `worker::Request` would read `request.cf` on every request,
// which the gateway never needs and which costs more than its decision.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> Result<Answer> {
    let id = decision_id();
    match handle(req, &env, &id).await {
        Ok(response) => Ok(response),
        Err(e) => {
            let detail = match e {
                Failure::Misconfigured(Misconfigured(m)) => {
                    console_log!(
                        "{}",
                        serde_json::json!({ "error": "misconfigured", "message": m, "decision_id": id })
                    );
                    return json_response(
                        503,
                        &serde_json::json!({ "error": "unavailable", "reason": "gateway_misconfigured", "decision_id": id }),
                        &[],
                    );
                }
                Failure::Origin(m) => m,
                Failure::OriginTimeout(after) => {
                    console_log!(
                        "{}",
                        serde_json::json!({ "error": "origin_timeout", "after_ms": after.as_millis() as u64, "decision_id": id })
                    );
                    return json_response(
                        504,
                        &serde_json::json!({ "error": "gateway_timeout", "reason": "origin_timeout", "decision_id": id }),
                        &[],
                    );
                }
            };
            console_log!(
                "{}",
                serde_json::json!({ "error": "origin_unreachable", "message": detail, "decision_id": id })
            );
            json_response(
                502,
                &serde_json::json!({ "error": "bad_gateway", "reason": "origin_unreachable", "decision_id": id }),
                &[],
            )
        }
    }
}

enum Failure {
    Misconfigured(Misconfigured),
    Origin(String),
    OriginTimeout(Duration),
}

thread_local! {
    static ORIGIN: RefCell<Option<(String, Duration)>> = const { RefCell::new(None) };
}

/// The origin's base URL (no trailing `/`) and how long to wait for its response headers,
/// read once per isolate.
fn origin_settings(env: &Env) -> std::result::Result<(String, Duration), Misconfigured> {
    if let Some(settings) = ORIGIN.with(|o| o.borrow().clone()) {
        return Ok(settings);
    }
    let origin = text(env, "ORIGIN").ok_or_else(|| Misconfigured("ORIGIN is not set".into()))?;
    let settings = (origin.trim_end_matches('/').to_owned(), origin_timeout(env));
    ORIGIN.with(|o| *o.borrow_mut() = Some(settings.clone()));
    Ok(settings)
}

/// A string property of a JavaScript value (an error's `name` or `message`).
fn js_text(value: &JsValue, property: &str) -> Option<String> {
    js_sys::Reflect::get(value, &JsValue::from_str(property))
        .ok()
        .and_then(|v| v.as_string())
}

/// A runtime call on the way to the origin failed.
fn origin_failure(e: JsValue) -> Failure {
    Failure::Origin(js_text(&e, "message").unwrap_or_else(|| format!("{e:?}")))
}

/// How long to wait for the origin's response headers.
fn origin_timeout(env: &Env) -> Duration {
    text(env, "ORIGIN_TIMEOUT_SECONDS")
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_millis((s.min(600.0) * 1000.0) as u64))
        .unwrap_or(Duration::from_secs(30))
}

impl From<Misconfigured> for Failure {
    fn from(m: Misconfigured) -> Self {
        Failure::Misconfigured(m)
    }
}

impl From<worker::Error> for Failure {
    fn from(e: worker::Error) -> Self {
        Failure::Origin(e.to_string())
    }
}

async fn handle(
    req: web_sys::Request,
    env: &Env,
    id: &str,
) -> std::result::Result<Answer, Failure> {
    let now = (Date::now().as_millis() / 1000) as i64;
    let url = worker::Url::parse(&req.url()).map_err(|e| Failure::Origin(e.to_string()))?;
    let method = req.method();
    let host = url.host_str().unwrap_or_default().to_owned();
    let authorization = req.headers().get("authorization").map_err(origin_failure)?;
    let incoming = Incoming {
        method: &method,
        host: &host,
        path: url.path(),
        authorization: authorization.as_deref(),
    };
    let (org, token) = match with_gateway(env, |g| match g.start(&incoming, now, id) {
        Start::Done(plan) => Err(plan),
        Start::NeedBundle { org, token } => Ok((org, token.to_owned())),
    })? {
        Ok(pair) => pair,
        Err(plan) => return carry_out(*plan, req, env, &url).await,
    };
    let authorizer = match with_gateway(env, |g| g.bundle_for(&org, now))? {
        Lookup::Ready(a) => Some(a),
        Lookup::Fetch => {
            let fetched = match env.kv("BUNDLES") {
                Ok(kv) => kv
                    .get(&bundle_key(&org))
                    .bytes()
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            with_gateway(env, |g| g.offer_bundle(&org, fetched, now))?
        }
    };
    let plan = with_gateway(env, |g| {
        g.finish(&incoming, &org, &token, authorizer, now, id)
    })?;
    carry_out(plan, req, env, &url).await
}

async fn carry_out(
    plan: Plan,
    req: web_sys::Request,
    env: &Env,
    url: &worker::Url,
) -> std::result::Result<Answer, Failure> {
    match plan {
        Plan::Respond {
            status,
            body,
            headers,
            log: line,
        } => {
            log(&line);
            Ok(json_response(status, &body, &headers)?)
        }
        Plan::Forward {
            identity,
            log: line,
        } => {
            log(&line);
            let (origin, timeout) = origin_settings(env)?;
            let mut target = origin;
            target.push_str(url.path());
            if let Some(q) = url.query() {
                target.push('?');
                target.push_str(q);
            }
            // The outbound request takes the incoming one's headers and body (streamed) as
            // they are, inside the runtime; only the names to drop cross into wasm.
            let init = web_sys::RequestInit::new();
            let method = req.method();
            init.set_method(&method);
            init.set_headers(&req.headers());
            if !matches!(method.as_str(), "GET" | "HEAD") {
                if let Some(body) = req.body() {
                    init.set_body(&body);
                }
            }
            init.set_redirect(web_sys::RequestRedirect::Manual);
            // The runtime aborts the request when the origin's headers are late.
            let millis = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
            init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(millis)));
            let outbound =
                web_sys::Request::new_with_str_and_init(&target, &init).map_err(origin_failure)?;
            let headers = outbound.headers();
            // Headers the client names in `Connection` are hop-by-hop too.
            let connection = headers
                .get("connection")
                .ok()
                .flatten()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let named: Vec<&str> = connection
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            let mut drop = Vec::new();
            if let Ok(Some(names)) = js_sys::try_iter(&headers.keys()) {
                for name in names.flatten() {
                    if let Some(name) = name.as_string() {
                        if !forwardable(&name) || named.contains(&name.as_str()) {
                            drop.push(name);
                        }
                    }
                }
            }
            for name in &drop {
                headers.delete(name).map_err(origin_failure)?;
            }
            for (name, value) in &identity {
                headers.set(name, value).map_err(origin_failure)?;
            }
            let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
            match JsFuture::from(scope.fetch_with_request(&outbound)).await {
                Ok(response) => response
                    .dyn_into::<web_sys::Response>()
                    .map_err(origin_failure),
                Err(e) if js_text(&e, "name").as_deref() == Some("TimeoutError") => {
                    Err(Failure::OriginTimeout(timeout))
                }
                Err(e) => Err(origin_failure(e)),
            }
        }
    }
}
