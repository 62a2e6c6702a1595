//! The gateway's face towards its JavaScript Worker entry (`crates/gateway/js/worker.mjs`).
//!
//! The entry keeps every runtime object (the request, its headers and body, KV, `fetch`) on
//! its side and hands this module plain strings and integers: the method, host, scheme, path,
//! query, header names, `Authorization` and `Connection` headers of a request, the time, and a
//! bundle's bytes when one was read. The answer crosses back as one [`Outcome`] in JSON, so
//! that a decision costs one call (two when a bundle has to be read first); its `kind` says
//! what the entry does next: `respond`, `forward` or `read_bundle`.

use std::time::Duration;

use portcullis::BundleKeys;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wasm_bindgen::prelude::wasm_bindgen;

use crate::logic::{
    is_authzen_path, secret_digest, AuthzenCall, AuthzenSettings, AuthzenStep, Available, Config,
    Gateway, HeaderRules, Incoming, LogLine, Lookup, Plan, Start,
};

/// The Worker settings (vars and secrets) the gateway reads, by name.
const SETTING_NAMES: &[&str] = &[
    "BUNDLE_KEYS",
    "BUNDLE_REFRESH_SECONDS",
    "ORIGIN",
    "ORIGIN_TIMEOUT_SECONDS",
    "DECISION_LOG",
    "STRIP_HEADERS",
    "ALLOW_UNDERSCORE_HEADERS",
    "HEALTH_SECRET",
    "FORWARDED_HEADERS",
    "AUTHZEN",
    "AUTHZEN_REASONS",
];

/// The settings, each as text (see `docs/gateway.md`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct Settings {
    bundle_keys: Option<String>,
    bundle_refresh_seconds: Option<String>,
    origin: Option<String>,
    origin_timeout_seconds: Option<String>,
    decision_log: Option<String>,
    strip_headers: Option<String>,
    allow_underscore_headers: Option<String>,
    health_secret: Option<String>,
    forwarded_headers: Option<String>,
    authzen: Option<String>,
    authzen_reasons: Option<String>,
    activity: Option<String>,
}

/// The origin's settings, or why the gateway cannot forward.
struct Origin {
    base: Result<String, String>,
    timeout: Duration,
}

/// One isolate's gateway: configuration read once from the Worker's environment, bundles and
/// verified tokens kept across requests.
#[wasm_bindgen]
pub struct Edge {
    gateway: Result<Gateway, String>,
    origin: Origin,
    log_forwarded: bool,
    /// Whether outcomes carry an activity event (the entry sets `ACTIVITY` when a Queue is
    /// bound).
    activity: bool,
    authzen: AuthzenSettings,
    ids: IdSource,
}

/// Whether a setting says yes (`on`, `true`, `yes` or `1`).
fn switched_on(setting: Option<&str>) -> bool {
    setting.is_some_and(|s| {
        matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "on" | "true" | "yes" | "1"
        )
    })
}

fn config(settings: &Settings) -> Result<Config, String> {
    let jwks = settings
        .bundle_keys
        .as_deref()
        .ok_or("BUNDLE_KEYS is not set")?;
    let value: Value =
        serde_json::from_str(jwks).map_err(|e| format!("BUNDLE_KEYS is not JSON: {e}"))?;
    let list = value.get("keys").cloned().unwrap_or(value);
    let jwks: Vec<portcullis::Jwk> = serde_json::from_value(match list {
        Value::Array(a) => Value::Array(a),
        one => Value::Array(vec![one]),
    })
    .map_err(|e| format!("BUNDLE_KEYS: {e}"))?;
    let mut trusted = BundleKeys::new();
    for jwk in &jwks {
        trusted
            .add_jwk(jwk)
            .map_err(|e| format!("BUNDLE_KEYS: {e}"))?;
    }
    let refresh_seconds = settings
        .bundle_refresh_seconds
        .as_deref()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(30);
    let operator_secret = settings
        .health_secret
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(secret_digest);
    Ok(Config {
        trusted,
        refresh_seconds,
        max_orgs: 256,
        max_tokens: 10_000,
        memory_bytes: || Some(core::arch::wasm32::memory_size::<0>() as u64 * 65_536),
        headers: HeaderRules::from_settings(
            settings.strip_headers.as_deref(),
            settings.allow_underscore_headers.as_deref(),
            settings.forwarded_headers.as_deref(),
        ),
        operator_secret,
    })
}

/// How long to wait for the origin's response headers: `ORIGIN_TIMEOUT_SECONDS`, default 30,
/// at most 600.
fn origin_timeout(setting: Option<&str>) -> Duration {
    setting
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_millis((s.min(600.0) * 1000.0) as u64))
        .unwrap_or(Duration::from_secs(30))
}

/// Random bytes for decision ids, drawn from the runtime's `crypto.getRandomValues` for 64
/// ids at a time rather than once per request.
struct IdSource {
    pool: [u8; POOL_BYTES],
    /// Bytes of `pool` already given out (all of them at first, so the first id draws).
    used: usize,
    /// Ids given out so far: without randomness, it keeps ids apart even when the clock
    /// stands still (as it does within a request in Workers).
    issued: u32,
}

/// Bytes of randomness in a decision id (24 hex digits).
const ID_BYTES: usize = 12;
/// Bytes drawn at a time: 64 ids.
const POOL_BYTES: usize = ID_BYTES * 64;

impl IdSource {
    fn new() -> Self {
        IdSource {
            pool: [0; POOL_BYTES],
            used: POOL_BYTES,
            issued: 0,
        }
    }

    fn next(&mut self) -> String {
        if self.used + ID_BYTES > POOL_BYTES {
            if getrandom::getrandom(&mut self.pool).is_err() {
                // No randomness: the clock and a counter still keep ids apart in one isolate.
                let t = js_sys_now_millis();
                for (i, chunk) in self.pool.chunks_mut(ID_BYTES).enumerate() {
                    let n = self.issued.wrapping_add(i as u32);
                    for (dst, src) in chunk
                        .iter_mut()
                        .zip(t.to_le_bytes().iter().chain(&n.to_le_bytes()))
                    {
                        *dst = *src;
                    }
                }
            }
            self.used = 0;
        }
        let bytes = self
            .pool
            .get(self.used..self.used + ID_BYTES)
            .unwrap_or_default();
        self.used += ID_BYTES;
        self.issued = self.issued.wrapping_add(1);
        let mut id = String::with_capacity(2 * ID_BYTES);
        for nibble in bytes.iter().flat_map(|b| [b >> 4, b & 0xf]) {
            id.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
        id
    }
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

fn js_sys_now_millis() -> u64 {
    date_now() as u64
}

/// The request as the logic reads it, from the strings both steps of a decision receive:
/// method, host, scheme, path, query and header names, then the two headers it reads.
fn incoming<'a>(
    (method, host, scheme, path, query, header_names): (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
    ),
    authorization: Option<&'a str>,
    connection: Option<&'a str>,
) -> Incoming<'a> {
    Incoming {
        method,
        host,
        scheme,
        path,
        query,
        authorization,
        header_names,
        connection,
    }
}

/// An AuthZEN call from what both of its steps receive: method, origin and path, then the
/// `Authorization`, `Content-Type` and `X-Request-ID` headers, and the body (absent when too
/// large).
fn call<'a>(
    (method, origin, path): (&'a str, &'a str, &'a str),
    (authorization, content_type, request_id): (
        &'a Option<String>,
        &'a Option<String>,
        &'a Option<String>,
    ),
    body: &'a Option<Vec<u8>>,
) -> AuthzenCall<'a> {
    AuthzenCall {
        method,
        origin,
        path,
        authorization: authorization.as_deref(),
        content_type: content_type.as_deref(),
        request_id: request_id.as_deref(),
        body: body.as_deref(),
    }
}

/// What the Worker's entry does next, handed over as JSON.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Outcome<'a> {
    /// Answer the client: `status`, the JSON `body` and `headers`; write `log` afterwards.
    Respond {
        decision_id: &'a str,
        status: u16,
        log: &'a str,
        body: &'a str,
        headers: &'a [(String, String)],
        /// The activity event to send to the Queue, when one is bound and a token was verified.
        #[serde(skip_serializing_if = "str::is_empty")]
        event: &'a str,
    },
    /// Send `method` and `target` to the origin with the client's headers less `drop`, plus
    /// `set`; write `log` afterwards (empty when forwarded requests are not logged).
    Forward {
        decision_id: &'a str,
        log: &'a str,
        method: &'a str,
        target: &'a str,
        drop: &'a [String],
        set: &'a [(String, String)],
        /// The activity event, as for `Respond`.
        #[serde(skip_serializing_if = "str::is_empty")]
        event: &'a str,
    },
    /// Read the bundle under the KV `key` and call [`Edge::decide_with_bundle`] with the same
    /// request.
    ReadBundle { decision_id: &'a str, key: &'a str },
}

impl Outcome<'_> {
    fn encode(&self) -> String {
        // Nothing in an outcome fails to serialize: strings, numbers and pairs of strings.
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn log_text(line: &LogLine) -> String {
    serde_json::to_string(line).unwrap_or_default()
}

fn respond(
    decision_id: &str,
    status: u16,
    log: &str,
    body: &Value,
    headers: &[(String, String)],
    event: &str,
) -> String {
    Outcome::Respond {
        decision_id,
        status,
        log,
        body: &body.to_string(),
        headers,
        event,
    }
    .encode()
}

/// An answer of the gateway itself when a plan cannot be carried out.
fn failure(decision_id: &str, status: u16, error: &str, reason: &str, log: Value) -> String {
    let body = json!({ "error": error, "reason": reason, "decision_id": decision_id });
    respond(decision_id, status, &log.to_string(), &body, &[], "")
}

fn misconfigured(decision_id: &str, message: &str) -> String {
    failure(
        decision_id,
        503,
        "unavailable",
        "gateway_misconfigured",
        json!({ "error": "misconfigured", "message": message, "decision_id": decision_id }),
    )
}

#[wasm_bindgen]
impl Edge {
    /// The names of the settings [`Edge::new`] reads, separated by `,`.
    #[wasm_bindgen(js_name = settingNames)]
    pub fn setting_names() -> String {
        SETTING_NAMES.join(",")
    }

    /// Reads the Worker's settings, given as one JSON object of texts by name (see
    /// [`Edge::setting_names`]). Never fails: a misconfiguration is answered 503 per request,
    /// and a missing `ORIGIN` only for requests that would be forwarded.
    ///
    /// `DECISION_LOG` is `all` (the default: one line per decision) or `denied` (no line for
    /// forwarded requests, which carry their decision id to the origin); any other value is
    /// taken as `all`.
    #[wasm_bindgen(constructor)]
    pub fn new(settings_json: &str) -> Edge {
        console_error_panic_hook::set_once();
        let settings: Result<Settings, String> =
            serde_json::from_str(settings_json).map_err(|e| format!("settings: {e}"));
        let (settings, broken) = match settings {
            Ok(s) => (s, None),
            Err(e) => (Settings::default(), Some(e)),
        };
        let base = settings
            .origin
            .as_deref()
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .ok_or_else(|| "ORIGIN is not set".to_owned());
        let gateway = match broken {
            Some(e) => Err(e),
            None => config(&settings).map(Gateway::new),
        };
        Edge {
            gateway,
            origin: Origin {
                base,
                timeout: origin_timeout(settings.origin_timeout_seconds.as_deref()),
            },
            log_forwarded: settings
                .decision_log
                .as_deref()
                .is_none_or(|l| !l.trim().eq_ignore_ascii_case("denied")),
            activity: switched_on(settings.activity.as_deref()),
            authzen: AuthzenSettings {
                enabled: switched_on(settings.authzen.as_deref()),
                reasons: switched_on(settings.authzen_reasons.as_deref()),
            },
            ids: IdSource::new(),
        }
    }

    /// The origin's base URL, without a trailing `/` (empty when `ORIGIN` is not set).
    #[wasm_bindgen(getter)]
    pub fn origin(&self) -> String {
        self.origin.base.clone().unwrap_or_default()
    }

    /// How long to wait for the origin's response headers, in milliseconds.
    #[wasm_bindgen(getter, js_name = originTimeoutMs)]
    pub fn origin_timeout_ms(&self) -> u32 {
        u32::try_from(self.origin.timeout.as_millis()).unwrap_or(u32::MAX)
    }

    /// The first step of a request: an answer, a forward, or the organization whose bundle
    /// must be read (see the module's documentation for the outcome's fields). `scheme` is
    /// without `:`, `path` as received (escapes not decoded), `query` without `?`, and
    /// `header_names` the names of every header the client sent, separated by NUL.
    #[allow(clippy::too_many_arguments)]
    pub fn decide(
        &mut self,
        method: &str,
        host: &str,
        scheme: &str,
        path: &str,
        query: &str,
        header_names: &str,
        authorization: Option<String>,
        connection: Option<String>,
        now_ms: f64,
    ) -> String {
        let id = self.ids.next();
        let incoming = incoming(
            (method, host, scheme, path, query, header_names),
            authorization.as_deref(),
            connection.as_deref(),
        );
        self.run(&id, &incoming, now_ms, None)
    }

    /// The second step, with the same request and what was read for the organization's
    /// bundle: its bytes, nothing (no such key), or the error of the read (`kv_error`).
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = decideWithBundle)]
    pub fn decide_with_bundle(
        &mut self,
        decision_id: &str,
        method: &str,
        host: &str,
        scheme: &str,
        path: &str,
        query: &str,
        header_names: &str,
        authorization: Option<String>,
        connection: Option<String>,
        now_ms: f64,
        bundle: Option<Vec<u8>>,
        kv_error: Option<String>,
    ) -> String {
        let fetched = match kv_error {
            Some(e) => Err(e),
            None => Ok(bundle),
        };
        let incoming = incoming(
            (method, host, scheme, path, query, header_names),
            authorization.as_deref(),
            connection.as_deref(),
        );
        self.run(decision_id, &incoming, now_ms, Some(fetched))
    }

    /// Whether the AuthZEN endpoints are on (`AUTHZEN`).
    #[wasm_bindgen(getter, js_name = authzenEnabled)]
    pub fn authzen_enabled(&self) -> bool {
        self.authzen.enabled
    }

    /// Whether the AuthZEN endpoints answer `path` (the entry reads the body of these).
    #[wasm_bindgen(js_name = isAuthzenPath)]
    pub fn is_authzen_path(path: &str) -> bool {
        is_authzen_path(path)
    }

    /// An AuthZEN call (see `logic::authzen`): an answer, or the organization whose bundle
    /// must be read, after which [`Edge::authzen_with_bundle`] answers. `body` is absent when
    /// it was larger than the API's limit.
    #[allow(clippy::too_many_arguments)]
    pub fn authzen(
        &mut self,
        method: &str,
        origin: &str,
        path: &str,
        authorization: Option<String>,
        content_type: Option<String>,
        request_id: Option<String>,
        body: Option<Vec<u8>>,
        now_ms: f64,
    ) -> String {
        let id = self.ids.next();
        let headers = (&authorization, &content_type, &request_id);
        self.run_authzen(
            &id,
            &call((method, origin, path), headers, &body),
            now_ms,
            None,
        )
    }

    /// The second step of an AuthZEN call, with what was read for the bundle.
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = authzenWithBundle)]
    pub fn authzen_with_bundle(
        &mut self,
        decision_id: &str,
        method: &str,
        origin: &str,
        path: &str,
        authorization: Option<String>,
        content_type: Option<String>,
        request_id: Option<String>,
        body: Option<Vec<u8>>,
        now_ms: f64,
        bundle: Option<Vec<u8>>,
        kv_error: Option<String>,
    ) -> String {
        let fetched = match kv_error {
            Some(e) => Err(e),
            None => Ok(bundle),
        };
        let headers = (&authorization, &content_type, &request_id);
        let call = call((method, origin, path), headers, &body);
        self.run_authzen(decision_id, &call, now_ms, Some(fetched))
    }

    /// The gateway's answer when carrying out a forward failed: `timeout` for the origin's
    /// headers arriving too late (504), otherwise the origin being unreachable (502).
    pub fn failure(&self, decision_id: &str, timeout: bool, message: &str) -> String {
        if timeout {
            let after = self.origin.timeout.as_millis() as u64;
            failure(
                decision_id,
                504,
                "gateway_timeout",
                "origin_timeout",
                json!({ "error": "origin_timeout", "after_ms": after, "decision_id": decision_id }),
            )
        } else {
            failure(
                decision_id,
                502,
                "bad_gateway",
                "origin_unreachable",
                json!({ "error": "origin_unreachable", "message": message, "decision_id": decision_id }),
            )
        }
    }

    /// Both steps: the request as the logic sees it, its token's organization, the bundle
    /// (cached, just read, or to be read), then the plan.
    fn run(
        &mut self,
        id: &str,
        incoming: &Incoming<'_>,
        now_ms: f64,
        fetched: Option<Result<Option<Vec<u8>>, String>>,
    ) -> String {
        let now = (now_ms / 1000.0).floor() as i64;
        let gateway = match &mut self.gateway {
            Ok(g) => g,
            Err(m) => return misconfigured(id, m),
        };
        let (org, token, request) = match gateway.start(incoming, now, id) {
            Start::Done(plan) => return self.encode(*plan, id),
            Start::NeedBundle {
                org,
                token,
                request,
            } => (org, token, request),
        };
        let available = match fetched {
            Some(fetched) => gateway.offer_bundle(&org, fetched, now),
            None => match gateway.bundle_for(&org, now) {
                Lookup::Ready(authorizer) => Available::Ready(authorizer),
                Lookup::Unknown => Available::Unknown,
                // An organization named with a NUL has no bundle (nor a KV key).
                Lookup::Fetch if org.contains('\0') => Available::Unknown,
                Lookup::Fetch => {
                    // The KV key to read, spelt here only (`logic::bundle_key`).
                    return Outcome::ReadBundle {
                        decision_id: id,
                        key: &crate::logic::bundle_key(&org),
                    }
                    .encode();
                }
            },
        };
        let plan = gateway.finish(incoming, *request, &org, token, available, now, id);
        self.encode(plan, id)
    }

    fn run_authzen(
        &mut self,
        id: &str,
        call: &AuthzenCall<'_>,
        now_ms: f64,
        fetched: Option<Result<Option<Vec<u8>>, String>>,
    ) -> String {
        let now = (now_ms / 1000.0).floor() as i64;
        let settings = self.authzen;
        let gateway = match &mut self.gateway {
            Ok(g) => g,
            Err(m) => return misconfigured(id, m),
        };
        match gateway.authzen(settings, call, fetched, now, id) {
            AuthzenStep::Done(plan) => self.encode(*plan, id),
            AuthzenStep::NeedBundle(org) if org.contains('\0') => misconfigured(id, "unreachable"),
            AuthzenStep::NeedBundle(org) => Outcome::ReadBundle {
                decision_id: id,
                key: &crate::logic::bundle_key(&org),
            }
            .encode(),
        }
    }

    /// The decision's activity event, or nothing when no Queue is bound.
    fn event(&self, log: &crate::logic::LogLine) -> String {
        if self.activity {
            log.event().unwrap_or_default()
        } else {
            String::new()
        }
    }

    fn encode(&self, plan: Plan, decision_id: &str) -> String {
        match plan {
            Plan::Respond {
                status,
                body,
                headers,
                log,
            } => {
                let event = self.event(&log);
                respond(
                    decision_id,
                    status,
                    &log_text(&log),
                    &body,
                    &headers,
                    &event,
                )
            }
            Plan::Forward {
                method,
                target,
                drop,
                identity,
                log,
            } => {
                if let Err(m) = &self.origin.base {
                    return misconfigured(decision_id, m);
                }
                let line = if self.log_forwarded {
                    log_text(&log)
                } else {
                    String::new()
                };
                Outcome::Forward {
                    decision_id,
                    log: &line,
                    method: &method,
                    target: &target,
                    drop: &drop,
                    set: &identity,
                    event: &self.event(&log),
                }
                .encode()
            }
        }
    }
}
