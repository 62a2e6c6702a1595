//! The gateway's decisions, without I/O: which bundle to use, whether a token verifies, what
//! to answer or how to forward. The Worker adapter supplies bundle bytes from KV, the time and
//! a decision id, and carries out the plan.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use portcullis::decide::{Detail, TokenFacts};
use portcullis::model::match_route;
use portcullis::token::UnverifiedToken;
use portcullis::{
    Authorizer, BundleKeys, Decision, LoadOptions, Reason, Request, Resource, TokenError,
    TokenKind, VerifiedToken, VerifyOptions,
};
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

mod authzen;
mod request;

pub use authzen::{is_authzen_path, AuthzenCall, AuthzenSettings, AuthzenStep};

pub use request::{
    forwarded_header, normalized_name, resource_header, CanonicalRequest, HeaderRules, Refusal,
    DEFAULT_STRIP_HEADERS, METHOD_OVERRIDE_HEADERS, METHOD_OVERRIDE_PARAMS,
};

/// Gateway settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Keys trusted to sign bundles.
    pub trusted: BundleKeys,
    /// How long a loaded bundle is used before KV is read again, in seconds.
    pub refresh_seconds: i64,
    /// Most organizations whose bundles are kept per isolate.
    pub max_orgs: usize,
    /// Most verified tokens kept per isolate.
    pub max_tokens: usize,
    /// Reads the size of the module's linear memory, for health (`None` where there is none).
    pub memory_bytes: fn() -> Option<u64>,
    /// Which client headers are refused or dropped.
    pub headers: HeaderRules,
    /// SHA-256 of the operator secret that unlocks per-organization health (`HEALTH_SECRET`);
    /// without one, health is aggregate only.
    pub operator_secret: Option<[u8; 32]>,
}

/// Most organizations remembered as having no bundle (a bounded negative cache).
pub const MAX_UNKNOWN_ORGS: usize = 4096;

/// SHA-256 of an operator secret, as [`Config::operator_secret`] holds it.
pub fn secret_digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The KV key holding an organization's bundle.
pub fn bundle_key(org: &str) -> String {
    format!("bundle:{org}")
}

/// Path of the effective-permissions endpoint.
pub const ME_PATH: &str = "/_portcullis/me";
/// Path of the health endpoint.
pub const HEALTH_PATH: &str = "/_portcullis/health";

/// Length and signature of a bundle's bytes: the same pair is the same bundle.
type Fingerprint = (usize, Vec<u8>);

/// What an offered bundle comes to: a new one, the same one again, or why it was refused.
type Offered = Result<Option<(Authorizer, Fingerprint)>, &'static str>;

struct Loaded {
    authorizer: Rc<Authorizer>,
    fingerprint: Fingerprint,
    checked_at: i64,
    loaded_at: i64,
    last_used: u64,
    last_error: Option<&'static str>,
}

struct CachedToken {
    token: Rc<VerifiedToken>,
    /// What the bundle that verified the token makes of it: the same at every decision,
    /// and stamped with that bundle, so a newer one verifies the token again.
    facts: TokenFacts,
    org: String,
    last_used: Cell<u64>,
}

/// A bearer token as [`Gateway::start`] found it: its text and, when it was verified before,
/// its cache entry (so that a request looks the token up once).
pub struct BearerToken<'a> {
    raw: &'a str,
    known: Option<Rc<CachedToken>>,
}

/// Whether a usable bundle is at hand.
pub enum Lookup {
    /// Use this one.
    Ready(Rc<Authorizer>),
    /// KV had no bundle for the organization a moment ago: answer as to a bad token.
    Unknown,
    /// Read KV (again) and [`Gateway::offer_bundle`] the result.
    Fetch,
}

/// The bundle a request is decided with.
pub enum Available {
    /// This one.
    Ready(Rc<Authorizer>),
    /// None exists for the organization: the token is answered as one no key of any
    /// organization signed (401), so that an unknown organization looks like a bad token.
    Unknown,
    /// One exists but none is usable (KV unreachable, expired, corrupt): 503.
    Unavailable,
}

/// Per-isolate state: verified bundles by organization (bounded, least recently used out),
/// the version floor of every organization seen, and verified tokens (bounded).
pub struct Gateway {
    config: Config,
    bundles: HashMap<String, Loaded>,
    floors: HashMap<String, u64>,
    /// Organizations KV has no bundle for, until when (Unix seconds) that is believed.
    unknown: HashMap<String, i64>,
    /// By the token's text. FxHash: entries are only ever tokens that verified, whose bytes
    /// their holders cannot choose, so crafted collisions are out of reach.
    tokens: FxHashMap<String, Rc<CachedToken>>,
    clock: u64,
}

/// One JSON log line per decision; never the token.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct LogLine {
    /// Unix seconds.
    pub time: i64,
    /// Organization, when known.
    pub org: Option<String>,
    /// Environment of the resource, if any.
    pub env: Option<String>,
    /// Token subject, when verified.
    pub sub: Option<String>,
    /// Permission asked for.
    pub action: Option<String>,
    /// `type/id` of the resource.
    pub resource: Option<String>,
    /// Reason code, or the gateway's own condition (`no_route`, `no_bundle`, `me`, `health`).
    pub reason: String,
    /// What a token error names (a claim, a header, a malformation), when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Deciding rule.
    pub rule: Option<String>,
    /// Bundle version.
    pub bundle_version: Option<u64>,
    /// Decision id.
    pub decision_id: String,
    /// An opaque digest of the token's issuer and id, for the activity event (never logged).
    #[serde(skip)]
    pub token: Option<String>,
}

impl LogLine {
    /// The activity event of this decision for the control plane's Queue: organization,
    /// subject, action, resource, environment, reason, time and the token's digest; `None`
    /// when no token was verified.
    pub fn event(&self) -> Option<String> {
        let (org, sub, token) = (self.org.as_ref()?, self.sub.as_ref()?, self.token.as_ref()?);
        Some(
            json!({
                "org": org, "sub": sub, "action": self.action, "resource": self.resource,
                "env": self.env, "reason": self.reason, "time": self.time, "token": token,
            })
            .to_string(),
        )
    }
}

/// The digest that stands for a token in activity events: 16 hex digits of SHA-256 over its
/// issuer and id, enough to count distinct tokens, useless to replay one.
pub fn token_digest(token: &portcullis::VerifiedToken) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(token.iss().as_bytes());
    h.update([0]);
    h.update(token.jti().as_bytes());
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What to do with a request.
#[derive(Debug, PartialEq)]
pub enum Plan {
    /// Answer directly.
    Respond {
        /// HTTP status.
        status: u16,
        /// JSON body.
        body: Value,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// The decision log line.
        log: LogLine,
    },
    /// Forward the canonical request to the origin, with these headers set.
    Forward {
        /// The method to send (upper case, as decided).
        method: String,
        /// The canonical path and the query, as decided.
        target: String,
        /// Client headers to drop.
        drop: Vec<String>,
        /// Headers to set: the `x-portcullis-*` identity, and with
        /// [`HeaderRules::set_forwarded`] `forwarded`, `x-forwarded-host` and
        /// `x-forwarded-proto` from the gateway's own view.
        identity: Vec<(String, String)>,
        /// The decision log line.
        log: LogLine,
    },
}

/// The request as the gateway receives it.
#[derive(Clone, Copy, Debug)]
pub struct Incoming<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Host name, without port.
    pub host: &'a str,
    /// URL scheme (`https`).
    pub scheme: &'a str,
    /// Path as received (escapes not decoded), without query.
    pub path: &'a str,
    /// Query as received, without `?` (empty when none).
    pub query: &'a str,
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    /// Names of every header the client sent, separated by NUL.
    pub header_names: &'a str,
    /// The `Connection` header, if any.
    pub connection: Option<&'a str>,
}

/// The first step: with a token's organization known, which bundle to fetch.
pub enum Start<'a> {
    /// Answer now (ambiguous request, health, missing or unreadable token).
    Done(Box<Plan>),
    /// The bundle of this organization is needed; then call [`Gateway::finish`].
    NeedBundle {
        /// The organization the token claims (not yet verified).
        org: String,
        /// The bearer token.
        token: BearerToken<'a>,
        /// The request as it will be decided and forwarded.
        request: Box<CanonicalRequest>,
    },
}

fn usable(a: &Authorizer, now: i64) -> bool {
    a.header().is_some_and(|h| now < h.not_after)
}

fn fingerprint(bytes: &[u8]) -> Fingerprint {
    (
        bytes.len(),
        bytes
            .get(bytes.len().saturating_sub(64)..)
            .unwrap_or_default()
            .to_vec(),
    )
}

/// A 401 with the token error's code, and its detail (the claim, header or malformation it
/// names) in the body and the log line when it has one.
fn unauthorized(code: &str, detail: Option<&str>, mut log: LogLine) -> Plan {
    let body = match detail {
        Some(detail) => {
            log.detail = Some(detail.to_owned());
            json!({ "error": "invalid_token", "reason": code, "detail": detail })
        }
        None => json!({ "error": "invalid_token", "reason": code }),
    };
    Plan::Respond {
        status: 401,
        body,
        headers: vec![(
            "www-authenticate".into(),
            format!("Bearer error=\"invalid_token\", error_description=\"{code}\""),
        )],
        log,
    }
}

/// A 401 for a token error.
fn refused_token(e: &TokenError, log: LogLine) -> Plan {
    unauthorized(e.code(), e.detail(), log)
}

/// A 400 (414 for a long path) for a request the gateway will not decide on, logged with
/// the refusal's reason.
fn refused_request(refusal: &Refusal, mut log: LogLine, decision_id: &str) -> Plan {
    log.reason = refusal.reason().into();
    Plan::Respond {
        status: refusal.status(),
        body: json!({
            "error": "bad_request",
            "reason": refusal.reason(),
            "detail": refusal.detail(),
            "decision_id": decision_id,
        }),
        headers: vec![],
        log,
    }
}

/// The bearer token of an `Authorization` header.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let h = header?.trim();
    let (scheme, token) = h.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

impl Gateway {
    /// An empty gateway.
    pub fn new(config: Config) -> Self {
        Gateway {
            config,
            bundles: HashMap::new(),
            floors: HashMap::new(),
            unknown: HashMap::new(),
            tokens: FxHashMap::default(),
            clock: 0,
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// The bundle to use for `org` now, or a request to read KV.
    pub fn bundle_for(&mut self, org: &str, now: i64) -> Lookup {
        let clock = self.tick();
        let refresh = self.config.refresh_seconds;
        match self.bundles.get_mut(org) {
            Some(l) if now - l.checked_at < refresh && usable(&l.authorizer, now) => {
                l.last_used = clock;
                Lookup::Ready(l.authorizer.clone())
            }
            Some(_) => Lookup::Fetch,
            None if self.unknown.get(org).is_some_and(|until| now < *until) => Lookup::Unknown,
            None => Lookup::Fetch,
        }
    }

    /// Remembers that KV has no bundle for `org`, within [`MAX_UNKNOWN_ORGS`]: when full, the
    /// entries past their time go first, then all of them.
    fn remember_unknown(&mut self, org: &str, now: i64) {
        if self.unknown.len() >= MAX_UNKNOWN_ORGS {
            self.unknown.retain(|_, until| now < *until);
            if self.unknown.len() >= MAX_UNKNOWN_ORGS {
                self.unknown.clear();
            }
        }
        self.unknown.insert(
            org.to_owned(),
            now.saturating_add(self.config.refresh_seconds.max(1)),
        );
    }

    /// Number of organizations remembered as having no bundle.
    pub fn unknown_orgs(&self) -> usize {
        self.unknown.len()
    }

    /// Takes what KV returned for `org` and answers with the bundle to use, if any.
    ///
    /// A newer valid bundle replaces the current one; an older one is refused (the floor is
    /// kept even when the organization is evicted); a corrupt, expired or unreadable one never
    /// replaces a good one; once the good one expires, there is none.
    pub fn offer_bundle(
        &mut self,
        org: &str,
        fetched: Result<Option<Vec<u8>>, String>,
        now: i64,
    ) -> Available {
        let clock = self.tick();
        let floor = self.floors.get(org).copied().unwrap_or(0);
        let outcome: Offered = match fetched {
            Err(_) => Err("kv_unavailable"),
            Ok(None) if !self.bundles.contains_key(org) => {
                self.remember_unknown(org, now);
                return Available::Unknown;
            }
            Ok(None) => Err("bundle_missing"),
            Ok(Some(bytes)) => {
                let print = fingerprint(&bytes);
                if self
                    .bundles
                    .get(org)
                    .is_some_and(|l| l.fingerprint == print)
                {
                    Ok(None)
                } else {
                    match Authorizer::from_bundle(
                        &bytes,
                        &self.config.trusted,
                        LoadOptions {
                            now,
                            min_version: floor,
                        },
                    ) {
                        Err(e) => Err(e.code()),
                        Ok(a) if a.policy().org() != org => Err("bundle_org_mismatch"),
                        Ok(a) => Ok(Some((a, print))),
                    }
                }
            }
        };
        match outcome {
            Ok(Some((authorizer, print))) => {
                self.unknown.remove(org);
                self.floors.insert(org.to_owned(), authorizer.version());
                self.make_room(org);
                let loaded = Loaded {
                    authorizer: Rc::new(authorizer),
                    fingerprint: print,
                    checked_at: now,
                    loaded_at: now,
                    last_used: clock,
                    last_error: None,
                };
                self.bundles.insert(org.to_owned(), loaded);
            }
            Ok(None) => {
                if let Some(l) = self.bundles.get_mut(org) {
                    l.checked_at = now;
                    l.last_error = None;
                }
            }
            Err(code) => {
                if let Some(l) = self.bundles.get_mut(org) {
                    l.checked_at = now;
                    l.last_error = Some(code);
                }
            }
        }
        match self.bundles.get_mut(org) {
            Some(loaded) if usable(&loaded.authorizer, now) => {
                loaded.last_used = clock;
                Available::Ready(loaded.authorizer.clone())
            }
            Some(loaded) => {
                loaded.last_used = clock;
                Available::Unavailable
            }
            None => Available::Unavailable,
        }
    }

    fn make_room(&mut self, org: &str) {
        if self.bundles.contains_key(org) || self.bundles.len() < self.config.max_orgs.max(1) {
            return;
        }
        let oldest = self
            .bundles
            .iter()
            .min_by_key(|(_, l)| l.last_used)
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            self.bundles.remove(&k);
            self.tokens.retain(|_, t| t.org != k);
        }
    }

    /// Verifies a bearer token against `authorizer`, reusing an earlier verification under the same
    /// bundle version, with what the bundle makes of the token ([`TokenFacts`]). Expiry is
    /// checked again here and revocation at every decision.
    pub fn verify(
        &mut self,
        authorizer: &Authorizer,
        token: BearerToken<'_>,
        now: i64,
    ) -> Result<(Rc<VerifiedToken>, TokenFacts), TokenError> {
        let clock = self.tick();
        let raw = token.raw;
        let known = token.known.or_else(|| self.tokens.get(raw).cloned());
        if let Some(c) = known {
            if authorizer.made(&c.facts) {
                c.token.check_time(now)?;
                c.last_used.set(clock);
                return Ok((c.token.clone(), c.facts));
            }
        }
        let token = Rc::new(authorizer.verify_token(
            raw,
            &VerifyOptions {
                now,
                audience: None,
            },
        )?);
        if self.tokens.len() >= self.config.max_tokens.max(1) {
            self.tokens.retain(|_, t| t.token.check_time(now).is_ok());
            if self.tokens.len() >= self.config.max_tokens.max(1) {
                let oldest = self
                    .tokens
                    .iter()
                    .min_by_key(|(_, t)| t.last_used.get())
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    self.tokens.remove(&k);
                }
            }
        }
        let facts = authorizer.token_facts(&token);
        let entry = CachedToken {
            token: token.clone(),
            facts,
            org: authorizer.policy().org().to_owned(),
            last_used: Cell::new(clock),
        };
        self.tokens.insert(raw.to_owned(), Rc::new(entry));
        Ok((token, facts))
    }

    /// Number of verified tokens held.
    pub fn cached_tokens(&self) -> usize {
        self.tokens.len()
    }

    /// Number of organizations whose bundles are held.
    pub fn cached_bundles(&self) -> usize {
        self.bundles.len()
    }

    /// `GET /_portcullis/health` for anyone: aggregate figures only (how many organizations
    /// are held and usable, the newest refresh error, cache sizes), so that it names no
    /// organization and no version.
    pub fn health_summary(&self, now: i64) -> Value {
        let usable_count = self
            .bundles
            .values()
            .filter(|l| usable(&l.authorizer, now))
            .count();
        let last_error = self
            .bundles
            .values()
            .filter(|l| l.last_error.is_some())
            .max_by_key(|l| l.checked_at)
            .and_then(|l| l.last_error);
        json!({
            "status": "ok",
            "organizations": self.bundles.len(),
            "usable": usable_count,
            "refresh_errors": self.bundles.values().filter(|l| l.last_error.is_some()).count(),
            "last_refresh_error": last_error,
            "cached_tokens": self.tokens.len(),
            "memory_bytes": (self.config.memory_bytes)(),
        })
    }

    /// Whether an `Authorization` header carries the operator secret.
    fn is_operator(&self, authorization: Option<&str>) -> bool {
        match (self.config.operator_secret, bearer(authorization)) {
            (Some(want), Some(given)) => bool::from(secret_digest(given).ct_eq(&want)),
            _ => false,
        }
    }

    /// `GET /_portcullis/health` for the operator: bundle versions and ages per organization,
    /// nothing secret.
    pub fn health(&self, now: i64) -> Value {
        let mut orgs: Vec<Value> = self
            .bundles
            .iter()
            .map(|(org, l)| {
                json!({
                    "org": org,
                    "version": l.authorizer.version(),
                    "usable": usable(&l.authorizer, now),
                    "age_seconds": now - l.loaded_at,
                    "checked_seconds_ago": now - l.checked_at,
                    "expires_in_seconds": l.authorizer.header().map(|h| h.not_after - now),
                    "last_refresh_error": l.last_error,
                })
            })
            .collect();
        orgs.sort_by(|a, b| a["org"].as_str().cmp(&b["org"].as_str()));
        let mut summary = self.health_summary(now);
        if let Some(fields) = summary.as_object_mut() {
            fields.insert("bundles".into(), Value::Array(orgs));
            fields.insert("unknown_orgs".into(), json!(self.unknown.len()));
        }
        summary
    }

    /// The first step of a request: health, or the token's organization.
    pub fn start<'a>(&self, req: &Incoming<'a>, now: i64, decision_id: &str) -> Start<'a> {
        let log = |reason: &str| LogLine {
            time: now,
            reason: reason.into(),
            decision_id: decision_id.into(),
            ..LogLine::default()
        };
        let request = match CanonicalRequest::read(
            req.method,
            req.path,
            req.query,
            req.header_names.split('\0'),
            req.connection,
            &self.config.headers,
        ) {
            Ok(request) => request,
            Err(refusal) => {
                return Start::Done(Box::new(refused_request(&refusal, log(""), decision_id)))
            }
        };
        if request.method == "GET" && request.path.encoded() == HEALTH_PATH {
            let body = if self.is_operator(req.authorization) {
                self.health(now)
            } else {
                self.health_summary(now)
            };
            return Start::Done(Box::new(Plan::Respond {
                status: 200,
                body,
                headers: vec![],
                log: log("health"),
            }));
        }
        let Some(token) = bearer(req.authorization) else {
            return Start::Done(Box::new(unauthorized(
                "token_missing",
                None,
                log("invalid_token"),
            )));
        };
        // A token verified before names its organization already: no need to parse it again.
        if let Some(cached) = self.tokens.get(token) {
            return Start::NeedBundle {
                org: cached.org.clone(),
                token: BearerToken {
                    raw: token,
                    known: Some(cached.clone()),
                },
                request: Box::new(request),
            };
        }
        let org = match UnverifiedToken::parse(token) {
            Err(e) => return Start::Done(Box::new(refused_token(&e, log("invalid_token")))),
            Ok(t) => match t.org_hint() {
                Some(org) => org,
                None => {
                    return Start::Done(Box::new(refused_token(
                        &TokenError::MissingClaim("org"),
                        log("invalid_token"),
                    )))
                }
            },
        };
        Start::NeedBundle {
            org,
            token: BearerToken {
                raw: token,
                known: None,
            },
            request: Box::new(request),
        }
    }

    /// The rest of a request once the organization's bundle is known.
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        &mut self,
        req: &Incoming<'_>,
        canonical: CanonicalRequest,
        org: &str,
        token: BearerToken<'_>,
        available: Available,
        now: i64,
        decision_id: &str,
    ) -> Plan {
        let mut log = LogLine {
            time: now,
            org: Some(org.to_owned()),
            decision_id: decision_id.into(),
            ..LogLine::default()
        };
        let authorizer = match available {
            Available::Ready(authorizer) => authorizer,
            Available::Unknown => {
                // What a known organization answers for a token none of its keys signed.
                log.reason = Reason::InvalidToken.as_str().into();
                return refused_token(&TokenError::UnknownKey, log);
            }
            Available::Unavailable => {
                log.reason = "no_bundle".into();
                return Plan::Respond {
                    status: 503,
                    body: json!({ "error": "unavailable", "reason": "no_valid_bundle", "decision_id": decision_id }),
                    headers: vec![("retry-after".into(), "5".into())],
                    log,
                };
            }
        };
        log.bundle_version = Some(authorizer.version());
        let (token, facts) = match self.verify(&authorizer, token, now) {
            Ok(verified) => verified,
            Err(e) => {
                log.reason = Reason::InvalidToken.as_str().into();
                return refused_token(&e, log);
            }
        };
        log.sub = Some(token.sub().to_owned());
        log.token = Some(token_digest(&token));
        if canonical.method == "GET" && canonical.path.encoded() == ME_PATH {
            let env = (token.kind() == TokenKind::EnvAuth)
                .then(|| token.env())
                .flatten();
            log.env = env.map(str::to_owned);
            return match authorizer.permissions(&token, env, now) {
                Ok(p) => {
                    log.reason = "me".into();
                    Plan::Respond {
                        status: 200,
                        body: serde_json::to_value(&p).unwrap_or(Value::Null),
                        headers: vec![],
                        log,
                    }
                }
                Err(d) => self.denied(d, log, decision_id),
            };
        }
        let m = match match_route(
            authorizer.policy().routes(),
            &canonical.method,
            req.host,
            &canonical.path,
        ) {
            Ok(Some(m)) => m,
            Ok(None) => {
                log.reason = "no_route".into();
                return Plan::Respond {
                    status: 404,
                    body: json!({ "error": "not_found", "reason": "no_route", "decision_id": decision_id }),
                    headers: vec![],
                    log,
                };
            }
            Err(e) => return refused_request(&Refusal::Id(e), log, decision_id),
        };
        let action = authorizer
            .policy()
            .permissions()
            .name(m.route.permission)
            .unwrap_or_default()
            .to_owned();
        let request = Request {
            action: action.clone(),
            resource: Resource {
                resource_type: m.route.resource_type.clone(),
                id: m.id.clone(),
                env: m.env.clone(),
                ..Resource::default()
            },
            context: portcullis::Context {
                method: Some(canonical.method.clone()),
                ip: None,
            },
        };
        log.env = m.env.clone();
        log.action = Some(action);
        log.resource = Some(match &m.id {
            Some(id) => format!("{}/{id}", m.route.resource_type),
            None => m.route.resource_type.clone(),
        });
        let resolved = authorizer.resolve(&request);
        let decision = authorizer.check_resolved(&token, &facts, &request, &resolved, now);
        if !decision.allowed {
            return self.denied(decision, log, decision_id);
        }
        log.reason = decision.reason.as_str().into();
        log.rule = decision.rule.as_deref().map(str::to_owned);
        let principal = match token.kind() {
            TokenKind::Service => format!("service:{}", token.client_id().unwrap_or_default()),
            _ => format!("user:{}", token.sub()),
        };
        let mut identity = vec![
            ("x-portcullis-principal".to_owned(), principal),
            ("x-portcullis-org".to_owned(), org.to_owned()),
            ("x-portcullis-decision".to_owned(), decision_id.to_owned()),
        ];
        if let Some(env) = &m.env {
            identity.push(("x-portcullis-env".to_owned(), env.clone()));
        }
        identity.push((
            "x-portcullis-bundle-version".to_owned(),
            authorizer.version().to_string(),
        ));
        identity.push((
            "x-portcullis-resource".to_owned(),
            resource_header(&m.route.resource_type, m.id.as_deref(), m.env.as_deref()),
        ));
        if self.config.headers.set_forwarded {
            identity.push((
                "forwarded".to_owned(),
                forwarded_header(req.host, req.scheme),
            ));
            identity.push(("x-forwarded-host".to_owned(), req.host.to_owned()));
            identity.push((
                "x-forwarded-proto".to_owned(),
                req.scheme.to_ascii_lowercase(),
            ));
        }
        if identity.iter().any(|(_, value)| !forwardable_value(value)) {
            // The runtime would refuse the header, send it as Latin-1 bytes or trim it: the
            // origin would not learn who is asking as the bundle names them. Fail closed.
            log.reason = "identity_not_forwardable".into();
            return Plan::Respond {
                status: 502,
                body: json!({
                    "error": "bad_gateway",
                    "reason": "identity_not_forwardable",
                    "decision_id": decision_id,
                }),
                headers: vec![],
                log,
            };
        }
        Plan::Forward {
            method: canonical.method,
            target: canonical.target,
            drop: canonical.drop,
            identity,
            log,
        }
    }

    fn denied(&self, d: Decision, mut log: LogLine, decision_id: &str) -> Plan {
        log.reason = d.reason.as_str().into();
        log.rule = d.rule.as_deref().map(str::to_owned);
        if d.reason == Reason::InvalidToken {
            return match d.detail {
                Some(Detail::Token(e)) => unauthorized(e.code(), e.detail(), log),
                other => unauthorized(other.map_or("token_invalid", |d| d.code()), None, log),
            };
        }
        Plan::Respond {
            status: 403,
            body: json!({
                "error": "forbidden",
                "reason": d.reason.as_str(),
                "decision_id": decision_id,
                "bundle_version": d.bundle_version,
            }),
            headers: vec![],
            log,
        }
    }
}

/// Whether an identity header's value reaches the origin exactly as written: printable ASCII,
/// without leading or trailing spaces.
pub fn forwardable_value(value: &str) -> bool {
    value.bytes().all(|b| (0x20..=0x7e).contains(&b)) && value.trim_matches(' ') == value
}

#[cfg(test)]
mod tests;
