//! Route templates and matching: a template parses or is refused with a typed error; a match
//! binds only non-empty parameters without slashes, and the gateway's route table (from the
//! vector bundles) matches any method, host and path without trapping.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use portcullis::route::{match_route, RouteTemplate};
use portcullis_fuzz::fixtures;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    template: &'a str,
    method: &'a str,
    host: &'a str,
    path: &'a str,
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
    for authorizer in &fixtures().authorizers {
        let routes = authorizer.policy().routes();
        if let Some(m) = match_route(routes, input.method, input.host, input.path) {
            assert!(m.route.method == "*" || m.route.method.eq_ignore_ascii_case(input.method));
            assert!(m.route.path.matches(input.path).is_some());
            if let Some(env) = &m.env {
                assert!(!env.is_empty() && !env.contains('/'));
            }
        }
    }
});
