//! The canonical request: what the gateway decides on and what the origin receives.
//!
//! The path is read once as a [`CanonicalPath`] (each segment decoded exactly once, ambiguous
//! segments refused); the method is the upper-case one that was decided; the client's headers
//! are checked once for names an origin could read another way, and those the origin must not
//! receive from the client are listed to drop. The origin then gets exactly what was decided.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use portcullis::model::{CanonicalPath, IdError, PathError};

/// Identity and routing headers an origin may trust, never taken from the client (the default
/// of `STRIP_HEADERS`). Compared lower case, with `_` read as `-`.
pub const DEFAULT_STRIP_HEADERS: &[&str] = &[
    "forwarded",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-forwarded-server",
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-groups",
    "x-user",
    "x-remote-user",
    "remote-user",
    "x-auth-request-user",
    "x-auth-request-email",
    "x-auth-request-groups",
    "x-original-url",
    "x-original-uri",
    "x-rewrite-url",
    "x-original-method",
];

/// Headers that change the method an origin runs (Rack, Laravel, Symfony, Express
/// `method-override`, Yii, ASP.NET): always dropped.
pub const METHOD_OVERRIDE_HEADERS: &[&str] = &[
    "x-http-method-override",
    "x-method-override",
    "x-http-method",
];

/// Query parameters that change the method an origin runs: a request carrying one is refused
/// (compared as header names are, so `_method` and `-method` alike).
pub const METHOD_OVERRIDE_PARAMS: &[&str] = &[
    "_method",
    "x-http-method-override",
    "x-method-override",
    "x-http-method",
];

/// Hop-by-hop headers (RFC 9110 §7.6.1) and `host`: never forwarded as the client sent them.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// Headers kept even when the client names them in `Connection` (with every `cf-*` header of
/// the platform): dropping them would take from the origin what it needs to know who is
/// asking, from where, and what the body is.
const NEVER_DROPPED_ON_REQUEST: &[&str] = &[
    "authorization",
    "cookie",
    "content-type",
    "content-length",
    "content-encoding",
    "x-forwarded-for",
    "x-real-ip",
    "true-client-ip",
];

/// The prefix of the gateway's own headers.
pub const IDENTITY_PREFIX: &str = "x-portcullis-";

/// What the `x-portcullis-resource` header escapes in its values: all but letters, digits and
/// `-._~`, so that `;`, `=` and `,` always separate.
const RESOURCE_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a request was refused before anything was decided on it: 400 (414 for a long path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The path can be read as another path.
    Path(PathError),
    /// A header name holds `_` (some servers read it as `-`).
    HeaderUnderscore,
    /// The query asks the origin to run another method.
    MethodOverride,
    /// The route's id breaks the canonical form or the route's id pattern.
    Id(IdError),
}

impl Refusal {
    /// HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Path(PathError::TooLong) => 414,
            _ => 400,
        }
    }

    /// Reason code (answer body and log line).
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Path(e) => e.code(),
            Refusal::HeaderUnderscore => "ambiguous_header",
            Refusal::MethodOverride => "method_override",
            Refusal::Id(_) => "invalid_id",
        }
    }

    /// Stable code of the rule broken.
    pub fn detail(&self) -> &'static str {
        match self {
            Refusal::Path(e) => e.detail(),
            Refusal::HeaderUnderscore => "header_name_underscore",
            Refusal::MethodOverride => "method_override_param",
            Refusal::Id(e) => e.detail(),
        }
    }
}

/// How the gateway treats client headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderRules {
    /// Client headers never forwarded, lower case with `-` (besides hop-by-hop, method-override
    /// and `x-portcullis-*` ones, which are never forwarded whatever this says).
    pub strip: Vec<String>,
    /// Whether header names holding `_` are accepted (`ALLOW_UNDERSCORE_HEADERS`).
    pub allow_underscore: bool,
    /// Whether `Forwarded`, `X-Forwarded-Host` and `X-Forwarded-Proto` are set from the
    /// gateway's own view of the request (`FORWARDED_HEADERS`), for origins that need them.
    pub set_forwarded: bool,
}

impl Default for HeaderRules {
    fn default() -> Self {
        HeaderRules {
            strip: DEFAULT_STRIP_HEADERS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            allow_underscore: false,
            set_forwarded: false,
        }
    }
}

impl HeaderRules {
    /// Rules from the `STRIP_HEADERS` setting (comma-separated names; replaces the default
    /// list), `ALLOW_UNDERSCORE_HEADERS` (`true` to accept names with `_`) and
    /// `FORWARDED_HEADERS` (`true` to set the forwarding headers from the gateway's view).
    pub fn from_settings(
        strip: Option<&str>,
        allow_underscore: Option<&str>,
        forwarded: Option<&str>,
    ) -> Self {
        let mut rules = HeaderRules::default();
        if let Some(list) = strip {
            rules.strip = list
                .split(',')
                .map(normalized_name)
                .filter(|n| !n.is_empty())
                .collect();
        }
        let yes = |v: Option<&str>| v.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        rules.allow_underscore = yes(allow_underscore);
        rules.set_forwarded = yes(forwarded);
        rules
    }
}

/// A header name as servers that fold `_` into `-` read it: lower case, `_` as `-`.
pub fn normalized_name(name: &str) -> String {
    name.trim().bytes().map(|b| char::from(fold(b))).collect()
}

/// One byte of a header name as [`normalized_name`] reads it.
fn fold(b: u8) -> u8 {
    match b {
        b'_' => b'-',
        b => b.to_ascii_lowercase(),
    }
}

/// Whether `name` read as [`normalized_name`] reads it begins with `prefix` (given in that
/// form), without building the normalized name.
fn name_starts_with(name: &str, prefix: &str) -> bool {
    name.len() >= prefix.len() && name.bytes().zip(prefix.bytes()).all(|(a, b)| fold(a) == b)
}

/// Whether `name` read as [`normalized_name`] reads it is `normalized`.
fn same_name(name: &str, normalized: &str) -> bool {
    name.len() == normalized.len() && name_starts_with(name, normalized)
}

/// The request as it was decided: the method and path the origin receives, and the client
/// headers to drop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalRequest {
    /// The method in upper case.
    pub method: String,
    /// The decoded path.
    pub path: CanonicalPath,
    /// The path and query to send to the origin: the canonical path, then `?` and the query
    /// as received when there is one.
    pub target: String,
    /// Names of client headers to drop before forwarding.
    pub drop: Vec<String>,
}

impl CanonicalRequest {
    /// Reads a request: its method, raw path (no query), raw query (without `?`, empty when
    /// none), its header names and its `Connection` header.
    pub fn read<'n>(
        method: &str,
        path: &str,
        query: &str,
        header_names: impl IntoIterator<Item = &'n str>,
        connection: Option<&str>,
        rules: &HeaderRules,
    ) -> Result<Self, Refusal> {
        let path = CanonicalPath::parse(path).map_err(Refusal::Path)?;
        if query_overrides_method(query) {
            return Err(Refusal::MethodOverride);
        }
        let drop = headers_to_drop(header_names, connection, rules)?;
        let mut target = path.encoded().to_owned();
        if !query.is_empty() {
            target.push('?');
            target.push_str(query);
        }
        Ok(CanonicalRequest {
            method: method.to_ascii_uppercase(),
            path,
            target,
            drop,
        })
    }
}

/// Whether a query string names a method-override parameter (names decoded once, `+` as a
/// space, compared without case).
fn query_overrides_method(query: &str) -> bool {
    query.split('&').any(|pair| {
        let name = pair
            .split_once('=')
            .map_or(pair, |(n, _)| n)
            .replace('+', " ");
        let name = percent_decode_str(&name).decode_utf8_lossy();
        let name = normalized_name(&name);
        METHOD_OVERRIDE_PARAMS
            .iter()
            .any(|p| normalized_name(p) == name)
    })
}

/// Of the client's header names, those not to forward: hop-by-hop ones, method-override
/// ones, any spelling of `x-portcullis-*`, the strip list, and what `Connection` names (but
/// never the headers of [`NEVER_DROPPED_ON_REQUEST`]). A name holding `_` refuses the request
/// unless the rules accept it.
fn headers_to_drop<'n>(
    names: impl IntoIterator<Item = &'n str>,
    connection: Option<&str>,
    rules: &HeaderRules,
) -> Result<Vec<String>, Refusal> {
    let named: Vec<String> = match connection {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(normalized_name)
            .filter(|n| !n.is_empty())
            .collect(),
    };
    let mut drop = Vec::new();
    for name in names {
        if name.is_empty() {
            continue;
        }
        if name.contains('_') && !rules.allow_underscore {
            return Err(Refusal::HeaderUnderscore);
        }
        let listed = |list: &[&str]| list.iter().any(|l| same_name(name, l));
        let dropped = name_starts_with(name, IDENTITY_PREFIX)
            || listed(HOP_BY_HOP)
            || listed(METHOD_OVERRIDE_HEADERS)
            || rules.strip.iter().any(|s| same_name(name, s))
            || (named.iter().any(|n| same_name(name, n))
                && !name_starts_with(name, "cf-")
                && !listed(NEVER_DROPPED_ON_REQUEST));
        if dropped {
            drop.push(name.to_owned());
        }
    }
    Ok(drop)
}

/// The `x-portcullis-resource` value: `type=…;id=…;env=…` (id and env only when decided),
/// each value escaped but for letters, digits and `-._~`.
pub fn resource_header(resource_type: &str, id: Option<&str>, env: Option<&str>) -> String {
    let mut out = String::from("type=");
    out.extend(utf8_percent_encode(resource_type, RESOURCE_ESCAPES));
    if let Some(id) = id {
        out.push_str(";id=");
        out.extend(utf8_percent_encode(id, RESOURCE_ESCAPES));
    }
    if let Some(env) = env {
        out.push_str(";env=");
        out.extend(utf8_percent_encode(env, RESOURCE_ESCAPES));
    }
    out
}

/// The `Forwarded` value (RFC 7239) from the gateway's own view of the request.
pub fn forwarded_header(host: &str, scheme: &str) -> String {
    let quoted: String = host
        .chars()
        .filter(|c| (' '..='~').contains(c) && *c != '"' && *c != '\\')
        .collect();
    let scheme: String = scheme
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        .collect();
    format!("host=\"{quoted}\";proto={}", scheme.to_ascii_lowercase())
}
