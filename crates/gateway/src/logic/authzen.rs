//! The AuthZEN Authorization API at the edge: the same endpoints, credential rules and answers
//! as `portcullis serve`, with the bundles and verified tokens the gateway already keeps.
//! Enabled with the `AUTHZEN` setting; the Worker's entry reads the body (bounded) before it
//! calls in, since an answer needs it.

use portcullis::authzen::{self, AuthzenError, Configuration, Endpoint};
use portcullis::token::UnverifiedToken;
use portcullis::TokenKind;
use serde_json::{json, Value};

use super::{bearer, Available, BearerToken, Gateway, LogLine, Lookup, Plan};

/// The settings of the AuthZEN endpoints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuthzenSettings {
    /// Whether the gateway answers them.
    pub enabled: bool,
    /// Whether answers carry the reason, rule and bundle version.
    pub reasons: bool,
}

/// An AuthZEN call as the Worker's entry hands it over.
#[derive(Clone, Copy, Debug)]
pub struct AuthzenCall<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// `scheme://host` of the request, for the metadata.
    pub origin: &'a str,
    /// The path as received.
    pub path: &'a str,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The `X-Request-ID` header.
    pub request_id: Option<&'a str>,
    /// The body, when it was within [`authzen::MAX_BODY_BYTES`].
    pub body: Option<&'a [u8]>,
}

/// What an AuthZEN call comes to.
#[derive(Debug, PartialEq)]
pub enum AuthzenStep {
    /// Answer now.
    Done(Box<Plan>),
    /// Read this organization's bundle, then call again with it.
    NeedBundle(String),
}

/// Whether a path is one the AuthZEN endpoints answer (the entry reads the body of these).
pub fn is_authzen_path(path: &str) -> bool {
    path == WELL_KNOWN
        || path.starts_with("/.well-known/authzen-configuration/")
        || api_path(path).is_some()
}

const WELL_KNOWN: &str = "/.well-known/authzen-configuration";

/// The tenant named in the path (if any) and the endpoint of an API path.
fn api_path(path: &str) -> Option<(Option<&str>, &str)> {
    if let Some(endpoint) = path.strip_prefix("/access/v1/") {
        return Some((None, endpoint));
    }
    let rest = path.strip_prefix("/tenants/")?;
    let (tenant, endpoint) = rest.split_once("/access/v1/")?;
    (!tenant.is_empty() && !tenant.contains('/')).then_some((Some(tenant), endpoint))
}

fn respond(status: u16, body: Value, call: &AuthzenCall<'_>, log: LogLine) -> AuthzenStep {
    let mut headers = Vec::new();
    if let Some(id) = call
        .request_id
        .filter(|v| v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
    {
        headers.push(("x-request-id".to_owned(), id.to_owned()));
    }
    match status {
        401 => headers.push((
            "www-authenticate".into(),
            r#"Bearer error="invalid_token""#.into(),
        )),
        403 => headers.push((
            "www-authenticate".into(),
            r#"Bearer error="insufficient_scope""#.into(),
        )),
        _ => {}
    }
    AuthzenStep::Done(Box::new(Plan::Respond {
        status,
        body,
        headers,
        log,
    }))
}

fn refusal(
    status: u16,
    code: &str,
    message: &str,
    call: &AuthzenCall<'_>,
    mut log: LogLine,
) -> AuthzenStep {
    log.reason = code.into();
    respond(
        status,
        json!({ "error": code, "message": message }),
        call,
        log,
    )
}

const BAD_CREDENTIAL: &str = "a valid service token of the organization is required";

impl Gateway {
    /// Answers an AuthZEN call, given what was read for its organization's bundle on the
    /// second call (`fetched`). Every credential failure is the same 401, so a caller learns
    /// nothing about organizations it does not belong to.
    pub fn authzen(
        &mut self,
        settings: AuthzenSettings,
        call: &AuthzenCall<'_>,
        fetched: Option<Result<Option<Vec<u8>>, String>>,
        now: i64,
        decision_id: &str,
    ) -> AuthzenStep {
        let mut log = LogLine {
            time: now,
            decision_id: decision_id.into(),
            ..LogLine::default()
        };
        if call.path == WELL_KNOWN || call.path.starts_with("/.well-known/authzen-configuration/") {
            if call.method != "GET" {
                return refusal(405, "method_not_allowed", "use GET", call, log);
            }
            let base = match call
                .path
                .strip_prefix("/.well-known/authzen-configuration/")
            {
                None => call.origin.to_owned(),
                Some(tenant) => format!("{}/tenants/{tenant}", call.origin),
            };
            log.reason = "authzen_configuration".into();
            let body = serde_json::to_value(Configuration::at(&base)).unwrap_or(Value::Null);
            return respond(200, body, call, log);
        }
        let Some((tenant, name)) = api_path(call.path) else {
            return refusal(404, "not_found", "no such endpoint", call, log);
        };
        let Some(endpoint) = Endpoint::from_path(name) else {
            return refusal(404, "not_found", "no such endpoint", call, log);
        };
        if call.method != "POST" {
            return refusal(405, "method_not_allowed", "use POST", call, log);
        }
        let Some(raw) = bearer(call.authorization) else {
            return refusal(401, "invalid_token", BAD_CREDENTIAL, call, log);
        };
        let known = self.tokens.get(raw).cloned();
        let org = match &known {
            Some(k) => Some(k.org.clone()),
            None => UnverifiedToken::parse(raw).ok().and_then(|t| t.org_hint()),
        };
        let Some(org) = org.filter(|o| tenant.is_none_or(|t| t == o)) else {
            return refusal(401, "invalid_token", BAD_CREDENTIAL, call, log);
        };
        log.org = Some(org.clone());
        let available = match fetched {
            Some(fetched) => self.offer_bundle(&org, fetched, now),
            None => match self.bundle_for(&org, now) {
                Lookup::Ready(a) => Available::Ready(a),
                Lookup::Unknown => Available::Unknown,
                Lookup::Fetch if org.contains('\0') => Available::Unknown,
                Lookup::Fetch => return AuthzenStep::NeedBundle(org),
            },
        };
        let authorizer = match available {
            Available::Ready(a) => a,
            Available::Unknown => return refusal(401, "invalid_token", BAD_CREDENTIAL, call, log),
            Available::Unavailable => {
                return refusal(
                    503,
                    "unavailable",
                    "no valid bundle for the organization",
                    call,
                    log,
                )
            }
        };
        log.bundle_version = Some(authorizer.version());
        let token = BearerToken { raw, known };
        let Ok((verified, _)) = self.verify(&authorizer, token, now) else {
            return refusal(401, "invalid_token", BAD_CREDENTIAL, call, log);
        };
        if verified.kind() != TokenKind::Service {
            return refusal(401, "invalid_token", BAD_CREDENTIAL, call, log);
        }
        log.sub = Some(verified.sub().to_owned());
        log.token = Some(crate::logic::token_digest(&verified));
        if !authzen::pep_may_call(&authorizer, &verified, endpoint, now) {
            return refusal(
                403,
                "insufficient_scope",
                "the client may not ask for these decisions",
                call,
                log,
            );
        }
        let json = call
            .content_type
            .and_then(|t| t.split(';').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return refusal(
                400,
                "invalid_content_type",
                "the body must be application/json",
                call,
                log,
            );
        }
        let Some(body) = call.body else {
            let e = AuthzenError::TooLarge;
            return refusal(e.status(), e.code(), &e.to_string(), call, log);
        };
        log.action = Some(format!("authzen:{name}"));
        match authzen::answer(&authorizer, endpoint, body, now, settings.reasons) {
            Ok(answered) => {
                log.reason = "authzen".into();
                respond(200, answered.body, call, log)
            }
            Err(e) => refusal(e.status(), e.code(), &e.to_string(), call, log),
        }
    }
}
