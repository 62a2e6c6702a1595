//! Gateway routes: path templates such as `/v1/envs/{env}/workflows/{id}` and matching.

/// Most segments a path template or a matched path may have.
pub const MAX_SEGMENTS: usize = 32;
/// Longest request path matched against routes, in bytes; a longer one matches no route.
pub const MAX_PATH_BYTES: usize = 4096;

/// One segment of a path template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// Matches exactly this text.
    Literal(String),
    /// Matches any one non-empty segment and binds it to the name.
    Param(String),
}

/// A parsed path template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteTemplate {
    text: String,
    segments: Vec<Segment>,
}

/// Why a path template was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateError {
    /// Does not start with `/`.
    NotAbsolute,
    /// A segment is empty or mixes text and `{…}`.
    BadSegment(String),
    /// A parameter name appears twice.
    DuplicateParam(String),
    /// More than [`MAX_SEGMENTS`] segments.
    TooLong,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateError::NotAbsolute => write!(f, "a path template starts with `/`"),
            TemplateError::BadSegment(s) => {
                write!(
                    f,
                    "segment `{s}` must be plain text or one whole `{{name}}` parameter"
                )
            }
            TemplateError::DuplicateParam(p) => write!(f, "parameter `{p}` appears twice"),
            TemplateError::TooLong => write!(f, "more than {MAX_SEGMENTS} segments"),
        }
    }
}

impl RouteTemplate {
    /// Parses a template.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let rest = text.strip_prefix('/').ok_or(TemplateError::NotAbsolute)?;
        let mut segments = Vec::new();
        if !rest.is_empty() {
            for raw in rest.split('/') {
                if segments.len() >= MAX_SEGMENTS {
                    return Err(TemplateError::TooLong);
                }
                let seg = match raw.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
                    Some(name)
                        if !name.is_empty()
                            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
                    {
                        if segments
                            .iter()
                            .any(|s| matches!(s, Segment::Param(p) if p == name))
                        {
                            return Err(TemplateError::DuplicateParam(name.to_owned()));
                        }
                        Segment::Param(name.to_owned())
                    }
                    Some(_) => return Err(TemplateError::BadSegment(raw.to_owned())),
                    None if raw.is_empty() || raw.contains(['{', '}']) => {
                        return Err(TemplateError::BadSegment(raw.to_owned()))
                    }
                    None => Segment::Literal(raw.to_owned()),
                };
                segments.push(seg);
            }
        }
        Ok(RouteTemplate {
            text: text.to_owned(),
            segments,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The segments.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether the template has a parameter of this name.
    pub fn has_param(&self, name: &str) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Param(p) if p == name))
    }

    /// Matches a request path (without query); returns the bound parameters.
    pub fn matches<'p>(&self, path: &'p str) -> Option<Vec<(&str, &'p str)>> {
        let rest = path.strip_prefix('/')?;
        let mut params = Vec::new();
        // "/" has no segments; otherwise every piece between slashes is one.
        let mut parts = rest.split('/').filter(|_| !rest.is_empty());
        for seg in &self.segments {
            let part = parts.next()?;
            match seg {
                Segment::Literal(l) if l == part => {}
                Segment::Param(name) if !part.is_empty() => params.push((name.as_str(), part)),
                _ => return None,
            }
        }
        parts.next().is_none().then_some(params)
    }
}

/// A request matched to a route: what to decide.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteMatch<'r> {
    /// The route.
    pub route: &'r crate::model::Route,
    /// The environment named by the path or host, if the route has one.
    pub env: Option<String>,
    /// The resource id named by the path, if the route has one.
    pub id: Option<String>,
}

/// Finds the first route matching `method`, `host` and `path` (no query string).
pub fn match_route<'r>(
    routes: &'r [crate::model::Route],
    method: &str,
    host: &str,
    path: &str,
) -> Option<RouteMatch<'r>> {
    if path.len() > MAX_PATH_BYTES {
        return None;
    }
    routes.iter().find_map(|route| {
        if route.method != "*" && !route.method.eq_ignore_ascii_case(method) {
            return None;
        }
        let params = route.path.matches(path)?;
        let param = |name: &str| {
            params
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let env = match &route.env {
            crate::model::EnvSource::None => None,
            crate::model::EnvSource::PathParam(p) => Some(param(p)?),
            crate::model::EnvSource::HostLabel => {
                let label = host
                    .split('.')
                    .next()
                    .filter(|l| !l.is_empty() && host.contains('.'))?;
                Some(label.to_ascii_lowercase())
            }
        };
        let id = route.id_param.as_deref().and_then(param);
        Some(RouteMatch { route, env, id })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_method_path_and_host() {
        use crate::model::{EnvSource, Route};
        let route = |id: &str, method: &str, path: &str, env: EnvSource| Route {
            id: id.into(),
            method: method.into(),
            path: RouteTemplate::parse(path).unwrap(),
            permission: 0,
            resource_type: "workflow".into(),
            env,
            id_param: Some("id".into()),
        };
        let routes = vec![
            route(
                "get",
                "GET",
                "/v1/envs/{env}/workflows/{id}",
                EnvSource::PathParam("env".into()),
            ),
            route("host", "*", "/workflows/{id}", EnvSource::HostLabel),
        ];
        let m = match_route(
            &routes,
            "get",
            "api.example",
            "/v1/envs/prod/workflows/wf-1",
        )
        .unwrap();
        assert_eq!(
            (m.route.id.as_str(), m.env.as_deref(), m.id.as_deref()),
            ("get", Some("prod"), Some("wf-1"))
        );
        assert!(match_route(
            &routes,
            "PUT",
            "api.example",
            "/v1/envs/prod/workflows/wf-1"
        )
        .is_none());
        let m = match_route(
            &routes,
            "DELETE",
            "Client-A-Dev.api.example",
            "/workflows/wf-2",
        )
        .unwrap();
        assert_eq!(m.env.as_deref(), Some("client-a-dev"));
        assert!(
            match_route(&routes, "GET", "localhost", "/workflows/wf-2").is_none(),
            "no env label in a bare host"
        );
        assert!(match_route(&routes, "GET", "api.example", "/v2/nothing").is_none());
    }

    #[test]
    fn templates_match_whole_paths() {
        let t = RouteTemplate::parse("/v1/envs/{env}/workflows/{id}").unwrap();
        assert_eq!(
            t.matches("/v1/envs/prod/workflows/wf-1"),
            Some(vec![("env", "prod"), ("id", "wf-1")])
        );
        assert_eq!(t.matches("/v1/envs/prod/workflows"), None);
        assert_eq!(t.matches("/v1/envs/prod/workflows/wf-1/x"), None);
        assert_eq!(t.matches("/v1/envs//workflows/wf-1"), None);
        let root = RouteTemplate::parse("/").unwrap();
        assert_eq!(root.matches("/"), Some(vec![]));
        assert_eq!(root.matches("/x"), None);
        assert!(RouteTemplate::parse("/a/{x}y").is_err());
        assert!(RouteTemplate::parse("/a/{x}/{x}").is_err());
        assert!(RouteTemplate::parse("a").is_err());
        assert!(RouteTemplate::parse("/a//b").is_err());
    }
}
