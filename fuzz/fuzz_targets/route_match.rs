//! Request paths, route templates and matching: a path is refused or read as canonical
//! segments that every decoding origin reads alike; a template parses or is refused with a
//! typed error; a match binds only non-empty parameters, and the gateway's route table (from
//! the vector bundles) matches any method, host and path without trapping.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use portcullis::model::{match_route, CanonicalPath, RouteTemplate};
use portcullis_fuzz::fixtures;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    template: &'a str,
    method: &'a str,
    host: &'a str,
    path: &'a str,
}

/// Decodes every `%XX` of a text, as a permissive origin does.
fn decode_all(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(i + j).and_then(|c| (*c as char).to_digit(16));
        if let (b'%', Some(h), Some(l)) = (b, hex(1), hex(2)) {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

fuzz_target!(|input: Input<'_>| {
    if let Ok(template) = RouteTemplate::parse(input.template) {
        assert_eq!(
            RouteTemplate::parse(template.as_str()).as_ref(),
            Ok(&template)
        );
        if let Some(params) = template.matches(input.path) {
            for (name, value) in params {
                assert!(template.has_param(name));
                assert!(!value.is_empty() && !value.contains('/'));
            }
        }
    }
    let Ok(path) = CanonicalPath::parse(input.path) else {
        return;
    };
    let encoded = path.encoded();
    // The canonical spelling reads back as itself, and an origin that decodes it whole and
    // splits on `/` (or `\`) finds exactly the decided segments, none of them a dot segment.
    assert_eq!(CanonicalPath::parse(&encoded).as_ref(), Ok(&path));
    let decoded = decode_all(&encoded);
    let origin: Vec<&[u8]> = decoded
        .get(1..)
        .unwrap_or_default()
        .split(|b| *b == b'/' || *b == b'\\')
        .collect();
    if path.segments().is_empty() {
        assert_eq!(encoded, "/");
    } else {
        assert_eq!(origin.len(), path.segments().len());
        for (seen, decided) in origin.iter().zip(path.segments()) {
            assert_eq!(*seen, decided.as_bytes());
            assert!(decided != "." && decided != "..");
            assert!(!decided.contains('%') && !decided.chars().any(char::is_control));
        }
    }
    for authorizer in &fixtures().authorizers {
        let routes = authorizer.policy().routes();
        if let Ok(Some(m)) = match_route(routes, input.method, input.host, &path) {
            assert!(m.route.method == "*" || m.route.method.eq_ignore_ascii_case(input.method));
            assert!(m.route.path.matches_segments(path.segments()).is_some());
            if let Some(env) = &m.env {
                assert!(!env.is_empty() && !env.contains('/'));
            }
        }
    }
});
