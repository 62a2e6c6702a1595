//! The gateway's promise about paths, as a property: for any request target, either the
//! canonical path refuses it, or an origin that decodes the forwarded path and normalizes it
//! (as nginx with a URI in `proxy_pass` does before a framework routes it) resolves it to the
//! same route, environment and id the gateway decided.

use portcullis::model::{match_route, CanonicalPath, Segment};
use portcullis::model::{EnvSource, Route};
use proptest::prelude::*;

/// The integration platform's routes.
fn routes() -> Vec<Route> {
    portcullis_testkit::example("integration-platform")
        .unwrap()
        .remove(0)
        .routes
}

/// Percent-decodes a whole path the permissive way servers do: a `%` with two hex digits is a
/// byte, anything else stays as it is; the bytes are read as UTF-8 with replacement.
fn decode_all(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The reference origin: decode, split on `/` and `\`, merge empty segments, resolve `.` and
/// `..`, then the first template of the route's method whose segments match.
fn reference_route<'r>(
    routes: &'r [Route],
    method: &str,
    path: &str,
) -> Option<(&'r str, Option<String>, Option<String>)> {
    let decoded = decode_all(path);
    let mut segments: Vec<&str> = Vec::new();
    for part in decoded.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    routes.iter().find_map(|route| {
        if route.method != method {
            return None;
        }
        let template = route.path.segments();
        if template.len() != segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (t, s) in template.iter().zip(&segments) {
            match t {
                Segment::Literal(l) if l == s => {}
                Segment::Param(name) => params.push((name.clone(), (*s).to_owned())),
                _ => return None,
            }
        }
        let param = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let env = match &route.env {
            EnvSource::PathParam(p) => param(p),
            _ => None,
        };
        let id = route.id_param.as_deref().and_then(param);
        Some((route.id.as_str(), env, id))
    })
}

/// Segments an attacker would try: route words, escapes of separators and dots, stray `%`,
/// backslashes, `;` and non-ASCII.
fn segment() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("v1".to_owned()),
        Just("envs".to_owned()),
        Just("workflows".to_owned()),
        Just("logs".to_owned()),
        Just("client-a-dev".to_owned()),
        Just("client-a-prod".to_owned()),
        Just("wf-orders".to_owned()),
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("%2e".to_owned()),
        Just("%2E".to_owned()),
        Just("%2F".to_owned()),
        Just("%2f".to_owned()),
        Just("%5C".to_owned()),
        Just("\\".to_owned()),
        Just("%25".to_owned()),
        Just("%252F".to_owned()),
        Just("%".to_owned()),
        Just(";".to_owned()),
        Just("%3B".to_owned()),
        Just("%00".to_owned()),
        Just("%20".to_owned()),
        Just("%C3%A9".to_owned()),
        Just("%C3".to_owned()),
        "[a-z0-9-]{1,3}",
        "%[0-9A-Fa-f]{2}",
    ];
    prop::collection::vec(piece, 0..4).prop_map(|p| p.concat())
}

fn target() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..8).prop_map(|s| format!("/{}", s.join("/")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn what_is_forwarded_routes_at_the_origin_as_it_was_decided(
        method in prop::sample::select(vec!["GET", "PUT", "POST"]),
        raw in target(),
    ) {
        let routes = routes();
        let Ok(path) = CanonicalPath::parse(&raw) else { return Ok(()) };
        let forwarded = path.encoded();
        // The canonical spelling is a fixed point.
        let reread = CanonicalPath::parse(forwarded);
        prop_assert_eq!(reread.as_ref(), Ok(&path));
        if let Ok(Some(m)) = match_route(&routes, method, "api.example", &path) {
            let decided = (m.route.id.as_str(), m.env.clone(), m.id.clone());
            prop_assert_eq!(
                reference_route(&routes, method, forwarded),
                Some(decided),
                "{} {} forwarded as {}", method, raw, forwarded
            );
        }
    }
}

#[test]
fn the_known_attacks_are_refused_or_decided_as_the_origin_reads_them() {
    let routes = routes();
    for raw in [
        "/v1/envs/client-a-dev/workflows/x%2F..%2F..%2F..%2Fclient-a-prod%2Fworkflows%2Fwf-orders",
        "/v1/envs/client-a-dev/workflows/x%2f..%2f..%2fclient-a-prod%2flogs",
        "/v1/envs/client-a-dev/workflows/x%5C..%5C..%5Cclient-a-prod",
        "/v1/envs/client-a-dev/workflows/%2e%2e%2f%2e%2e%2fclient-a-prod%2flogs",
        "/v1/envs/client-a-dev/workflows/x%252F..%252Fwf-payroll",
    ] {
        assert!(CanonicalPath::parse(raw).is_err(), "{raw}");
    }
    let path = CanonicalPath::parse("/v1/envs/client-a-d%65v/workflows/wf-payrol%6C").unwrap();
    let m = match_route(&routes, "PUT", "api.example", &path)
        .unwrap()
        .unwrap();
    assert_eq!(
        (m.env.as_deref(), m.id.as_deref()),
        (Some("client-a-dev"), Some("wf-payroll"))
    );
    assert_eq!(
        reference_route(&routes, "PUT", path.encoded()),
        Some((
            "edit-workflow",
            Some("client-a-dev".into()),
            Some("wf-payroll".into())
        ))
    );
}
