//! Gateway routes: path templates such as `/v1/envs/{env}/workflows/{id}`, the canonical form
//! of a request path, and matching one against the other.
//!
//! A gateway must decide on the request its origin will run. Origins decode a path before they
//! route it, and some normalize it as well (nginx resolves `..`, merges slashes, decodes
//! `%2F`), so a path is first read as a [`CanonicalPath`]: each segment decoded exactly once,
//! and refused ([`PathError`]) when two readers could take it for different paths. Routes,
//! the environment and the resource id are decided on the decoded segments, ids follow the
//! rules of [`check_id`], and the origin is sent [`CanonicalPath::encoded`]: the one spelling
//! of exactly the segments that were decided on.

use percent_encoding::{percent_decode, utf8_percent_encode, AsciiSet, CONTROLS};
use unicode_normalization::{is_nfc_quick, IsNormalized};

/// Most segments a path template or a matched path may have.
pub const MAX_SEGMENTS: usize = 32;
/// Longest request path matched against routes, in bytes; a longer one matches no route.
pub const MAX_PATH_BYTES: usize = 4096;

/// What the canonical encoding escapes: everything but RFC 3986's unreserved characters, the
/// sub-delimiters other than `;` (which Tomcat, Jetty and Spring read as a path parameter), and
/// `:` and `@`. Non-ASCII characters are always escaped, as their UTF-8 bytes.
const SEGMENT_ESCAPES: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b';')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Why a request path was refused: it is not absolute, too long, or some reader could take
/// it for another path than the one it decodes to here.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathError {
    /// Does not start with `/`.
    NotAbsolute,
    /// Longer than [`MAX_PATH_BYTES`], as received or in its canonical spelling.
    TooLong,
    /// A `%` not followed by two hexadecimal digits.
    BadEscape,
    /// A segment's escapes do not decode to UTF-8.
    NotUtf8,
    /// A segment decodes to text holding `/` or `\`, which an origin may split on.
    EncodedSeparator,
    /// A segment is `.` or `..` (after decoding), which an origin may resolve.
    DotSegment,
    /// A segment holds a control character (after decoding), NUL among them.
    ControlCharacter,
    /// A segment still holds `%` after decoding: an origin that decodes twice reads another
    /// path.
    DoubleEncoded,
}

impl PathError {
    /// Stable code: `path_too_long` for [`PathError::TooLong`], `ambiguous_path` otherwise.
    pub fn code(&self) -> &'static str {
        match self {
            PathError::TooLong => "path_too_long",
            _ => "ambiguous_path",
        }
    }

    /// Stable code of the rule the path breaks.
    pub fn detail(&self) -> &'static str {
        match self {
            PathError::NotAbsolute => "not_absolute",
            PathError::TooLong => "too_long",
            PathError::BadEscape => "bad_escape",
            PathError::NotUtf8 => "not_utf8",
            PathError::EncodedSeparator => "encoded_separator",
            PathError::DotSegment => "dot_segment",
            PathError::ControlCharacter => "control_character",
            PathError::DoubleEncoded => "double_encoded",
        }
    }
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathError::NotAbsolute => write!(f, "the path does not start with `/`"),
            PathError::TooLong => write!(f, "the path is longer than {MAX_PATH_BYTES} bytes"),
            PathError::BadEscape => write!(f, "a `%` is not followed by two hexadecimal digits"),
            PathError::NotUtf8 => write!(f, "a segment does not decode to UTF-8"),
            PathError::EncodedSeparator => write!(f, "a segment decodes to `/` or `\\`"),
            PathError::DotSegment => write!(f, "a segment is `.` or `..`"),
            PathError::ControlCharacter => write!(f, "a segment holds a control character"),
            PathError::DoubleEncoded => write!(f, "a segment still holds `%` once decoded"),
        }
    }
}

impl std::error::Error for PathError {}

/// A request path read the one way every origin reads it: split on `/`, each segment
/// percent-decoded exactly once.
///
/// [`CanonicalPath::parse`] refuses a path whose segments decode to a separator, a dot
/// segment, a control character, another escape or invalid UTF-8; what it accepts, every
/// origin that decodes once (and nginx, which also normalizes) reads as the same segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalPath {
    segments: Vec<String>,
    /// The canonical spelling of `segments`.
    encoded: String,
}

impl CanonicalPath {
    /// Reads a request path (no query string): `/` then segments separated by `/`. Empty
    /// segments are kept as they are (no route template has one, so they match no route).
    /// The path, and its canonical spelling, must both be at most [`MAX_PATH_BYTES`].
    pub fn parse(path: &str) -> Result<Self, PathError> {
        if path.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong);
        }
        let rest = path.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
        let segments = if rest.is_empty() {
            vec![]
        } else {
            rest.split('/')
                .map(decode_segment)
                .collect::<Result<Vec<_>, _>>()?
        };
        let mut encoded = String::with_capacity(path.len());
        if segments.is_empty() {
            encoded.push('/');
        }
        for segment in &segments {
            encoded.push('/');
            encoded.extend(utf8_percent_encode(segment, SEGMENT_ESCAPES));
        }
        if encoded.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong);
        }
        Ok(CanonicalPath { segments, encoded })
    }

    /// The decoded segments.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The canonical spelling: `/`, then each decoded segment escaped the one way
    /// (unreserved characters, the sub-delimiters but `;`, and `:` and `@` as they are;
    /// everything else as `%XX` in upper case).
    pub fn encoded(&self) -> &str {
        &self.encoded
    }
}

/// Decodes one segment once, refusing what could be read another way.
fn decode_segment(raw: &str) -> Result<String, PathError> {
    let bytes = raw.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%' {
            let hex = |j: usize| bytes.get(i + j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(1) && hex(2)) {
                return Err(PathError::BadEscape);
            }
        }
    }
    let decoded: Vec<u8> = percent_decode(bytes).collect();
    let text = String::from_utf8(decoded).map_err(|_| PathError::NotUtf8)?;
    if text.contains(['/', '\\']) {
        return Err(PathError::EncodedSeparator);
    }
    if text == "." || text == ".." {
        return Err(PathError::DotSegment);
    }
    if text.chars().any(char::is_control) {
        return Err(PathError::ControlCharacter);
    }
    if text.contains('%') {
        return Err(PathError::DoubleEncoded);
    }
    Ok(text)
}

/// Longest id pattern, in bytes.
pub const MAX_ID_PATTERN_BYTES: usize = 256;

/// A route's restriction of its ids: one character class of printable ASCII and a length,
/// written `[A-Za-z0-9_-]{1,64}` (`{n}`, `{m,n}`, `+` for 1 or more, `*` for any length). In
/// the class, `a-z` is a range, `-` first or last is itself, `\` escapes the next character.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdPattern {
    text: String,
    /// Bit `c` is set when ASCII character `c` is allowed.
    allowed: u128,
    min: usize,
    max: usize,
}

/// Why an id pattern was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdPatternError {
    /// Not `[class]` followed by a length.
    Shape,
    /// The class holds a character other than printable ASCII, or a range runs backwards.
    BadClass,
    /// The length is not `{n}`, `{m,n}` with `m <= n`, `+` or `*`.
    BadLength,
    /// Longer than [`MAX_ID_PATTERN_BYTES`].
    TooLong,
}

impl std::fmt::Display for IdPatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdPatternError::Shape => write!(
                f,
                "an id pattern is one character class and a length, e.g. `[a-z0-9-]{{1,64}}`"
            ),
            IdPatternError::BadClass => write!(
                f,
                "the class holds only printable ASCII, with ranges from low to high"
            ),
            IdPatternError::BadLength => {
                write!(
                    f,
                    "the length is `{{n}}`, `{{m,n}}` with m <= n, `+` or `*`"
                )
            }
            IdPatternError::TooLong => {
                write!(f, "an id pattern is at most {MAX_ID_PATTERN_BYTES} bytes")
            }
        }
    }
}

impl std::error::Error for IdPatternError {}

impl IdPattern {
    /// Parses a pattern such as `[a-z0-9-]{1,64}`.
    pub fn parse(text: &str) -> Result<Self, IdPatternError> {
        if text.len() > MAX_ID_PATTERN_BYTES {
            return Err(IdPatternError::TooLong);
        }
        let body = text.strip_prefix('[').ok_or(IdPatternError::Shape)?;
        let mut chars: Vec<char> = Vec::new();
        let mut escaped = Vec::new();
        let mut it = body.char_indices();
        let mut end = None;
        while let Some((i, c)) = it.next() {
            match c {
                '\\' => {
                    let (_, next) = it.next().ok_or(IdPatternError::BadClass)?;
                    chars.push(next);
                    escaped.push(true);
                }
                ']' => {
                    end = Some(i);
                    break;
                }
                _ => {
                    chars.push(c);
                    escaped.push(false);
                }
            }
        }
        let end = end.ok_or(IdPatternError::Shape)?;
        if chars.is_empty() {
            return Err(IdPatternError::BadClass);
        }
        let mut allowed: u128 = 0;
        let printable = |c: char| (' '..='~').contains(&c) && c != ' ';
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            if !printable(c) {
                return Err(IdPatternError::BadClass);
            }
            let dash = chars.get(i + 1) == Some(&'-') && escaped.get(i + 1) == Some(&false);
            match chars.get(i + 2) {
                Some(&hi) if dash => {
                    if !printable(hi) || hi < c {
                        return Err(IdPatternError::BadClass);
                    }
                    for b in (c as u32)..=(hi as u32) {
                        allowed |= 1u128 << b;
                    }
                    i += 3;
                }
                _ => {
                    allowed |= 1u128 << (c as u32);
                    i += 1;
                }
            }
        }
        let length = body.get(end + 1..).unwrap_or_default();
        let (min, max) = match length {
            "+" => (1, MAX_PATH_BYTES),
            "*" => (0, MAX_PATH_BYTES),
            _ => {
                let inner = length
                    .strip_prefix('{')
                    .and_then(|l| l.strip_suffix('}'))
                    .ok_or(IdPatternError::BadLength)?;
                let number = |s: &str| {
                    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                        .then(|| s.parse::<usize>().ok())
                        .flatten()
                        .ok_or(IdPatternError::BadLength)
                };
                match inner.split_once(',') {
                    None => (number(inner)?, number(inner)?),
                    Some((lo, hi)) => (number(lo)?, number(hi)?),
                }
            }
        };
        if min > max || max == 0 {
            return Err(IdPatternError::BadLength);
        }
        Ok(IdPattern {
            text: text.to_owned(),
            allowed,
            min,
            max,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the class holds `c`.
    pub fn allows_char(&self, c: char) -> bool {
        (c as u32) < 128 && self.allowed & (1u128 << (c as u32)) != 0
    }

    /// Whether `id` is of the class and length.
    pub fn matches(&self, id: &str) -> bool {
        (self.min..=self.max).contains(&id.len()) && id.chars().all(|c| self.allows_char(c))
    }
}

/// Why a resource id taken from a path was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdError {
    /// Begins or ends with white space.
    Whitespace,
    /// Not in Unicode Normalization Form C, so that another spelling of the same text exists;
    /// or holding a character whose form depends on its neighbour (Unicode's quick check
    /// answers "maybe": a combining mark or a jamo that may compose), refused alike.
    NotNfc,
    /// Holds `;`, which some origins read as the start of a path parameter.
    Parameter,
    /// Outside the route's [`IdPattern`].
    Pattern,
}

impl IdError {
    /// Stable code of the rule the id breaks.
    pub fn detail(&self) -> &'static str {
        match self {
            IdError::Whitespace => "id_whitespace",
            IdError::NotNfc => "id_not_nfc",
            IdError::Parameter => "id_parameter",
            IdError::Pattern => "id_pattern",
        }
    }
}

impl std::fmt::Display for IdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdError::Whitespace => write!(f, "the id begins or ends with white space"),
            IdError::NotNfc => write!(
                f,
                "the id is not in Unicode Normalization Form C, or may compose with a neighbour"
            ),
            IdError::Parameter => write!(f, "the id holds `;`"),
            IdError::Pattern => write!(f, "the id is outside the route's id pattern"),
        }
    }
}

impl std::error::Error for IdError {}

/// Checks a decoded resource id against the canonical form: no white space at either end, in
/// NFC by Unicode's quick check (see [`IdError::NotNfc`]), no `;` unless `pattern` allows it,
/// and within `pattern` when the route has one.
pub fn check_id(id: &str, pattern: Option<&IdPattern>) -> Result<(), IdError> {
    if id.starts_with(char::is_whitespace) || id.ends_with(char::is_whitespace) {
        return Err(IdError::Whitespace);
    }
    // Unicode's quick check: `Maybe` (a combining mark or jamo that may compose with its
    // neighbour) is refused with `No`, failing closed without the full composition tables.
    if !id.is_ascii() && is_nfc_quick(id.chars()) != IsNormalized::Yes {
        return Err(IdError::NotNfc);
    }
    match pattern {
        Some(p) if !p.matches(id) => Err(IdError::Pattern),
        Some(_) => Ok(()),
        None if id.contains(';') => Err(IdError::Parameter),
        None => Ok(()),
    }
}

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

impl std::error::Error for TemplateError {}

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

    /// Matches the decoded segments of a [`CanonicalPath`]; returns the bound parameters.
    pub fn matches_segments<'p>(&self, segments: &'p [String]) -> Option<Vec<(&str, &'p str)>> {
        if segments.len() != self.segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (seg, part) in self.segments.iter().zip(segments) {
            match seg {
                Segment::Literal(l) if l == part => {}
                Segment::Param(name) if !part.is_empty() => {
                    params.push((name.as_str(), part.as_str()))
                }
                _ => return None,
            }
        }
        Some(params)
    }
}

/// Where a route takes the environment from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvSource {
    /// The route acts on org-level resources.
    None,
    /// A path parameter.
    PathParam(String),
    /// The first label of the host name (`{env}.api.example.com`).
    HostLabel,
}

/// A gateway route: method and path template mapped to a permission and resource.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// Rule id of the route.
    pub id: String,
    /// HTTP method, upper case, or `*` for any.
    pub method: String,
    /// Path template such as `/v1/envs/{env}/workflows/{id}`.
    pub path: RouteTemplate,
    /// Permission (index) required.
    pub permission: u32,
    /// Resource type acted on.
    pub resource_type: String,
    /// Where the environment comes from.
    pub env: EnvSource,
    /// Path parameter holding the resource id, if any.
    pub id_param: Option<String>,
    /// What the id may look like, beyond the canonical form every id follows.
    pub id_pattern: Option<IdPattern>,
}

/// A request matched to a route: what to decide.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteMatch<'r> {
    /// The route.
    pub route: &'r Route,
    /// The environment named by the path or host, if the route has one (decoded).
    pub env: Option<String>,
    /// The resource id named by the path, if the route has one (decoded, and within the
    /// canonical form of [`check_id`]).
    pub id: Option<String>,
}

/// Finds the first route matching `method`, `host` and `path`. A route whose id breaks the
/// canonical form is not passed over for a later one: the request is refused with the
/// [`IdError`], so that no spelling of an id is decided as another.
pub fn match_route<'r>(
    routes: &'r [Route],
    method: &str,
    host: &str,
    path: &CanonicalPath,
) -> Result<Option<RouteMatch<'r>>, IdError> {
    for route in routes {
        if route.method != "*" && !route.method.eq_ignore_ascii_case(method) {
            continue;
        }
        let Some(params) = route.path.matches_segments(path.segments()) else {
            continue;
        };
        let param = |name: &str| {
            params
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let env = match &route.env {
            EnvSource::None => None,
            EnvSource::PathParam(p) => match param(p) {
                Some(env) => Some(env),
                None => continue,
            },
            EnvSource::HostLabel => {
                match host
                    .split('.')
                    .next()
                    .filter(|l| !l.is_empty() && host.contains('.'))
                {
                    Some(label) => Some(label.to_ascii_lowercase()),
                    None => continue,
                }
            }
        };
        let id = route.id_param.as_deref().and_then(param);
        if let Some(id) = &id {
            check_id(id, route.id_pattern.as_ref())?;
        }
        return Ok(Some(RouteMatch { route, env, id }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_method_path_and_host() {
        let route = |id: &str, method: &str, path: &str, env: EnvSource| Route {
            id: id.into(),
            method: method.into(),
            path: RouteTemplate::parse(path).unwrap(),
            permission: 0,
            resource_type: "workflow".into(),
            env,
            id_param: Some("id".into()),
            id_pattern: None,
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
        let path = |p: &str| CanonicalPath::parse(p).unwrap();
        let m = match_route(
            &routes,
            "get",
            "api.example",
            &path("/v1/envs/prod/workflows/wf-1"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (m.route.id.as_str(), m.env.as_deref(), m.id.as_deref()),
            ("get", Some("prod"), Some("wf-1"))
        );
        assert!(match_route(
            &routes,
            "PUT",
            "api.example",
            &path("/v1/envs/prod/workflows/wf-1")
        )
        .unwrap()
        .is_none());
        let m = match_route(
            &routes,
            "DELETE",
            "Client-A-Dev.api.example",
            &path("/workflows/wf-2"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(m.env.as_deref(), Some("client-a-dev"));
        assert!(
            match_route(&routes, "GET", "localhost", &path("/workflows/wf-2"))
                .unwrap()
                .is_none(),
            "no env label in a bare host"
        );
        assert!(
            match_route(&routes, "GET", "api.example", &path("/v2/nothing"))
                .unwrap()
                .is_none()
        );
        // Decided on decoded segments; an id outside the canonical form is refused, not
        // passed over for a later route.
        let m = match_route(
            &routes,
            "GET",
            "api.example",
            &path("/v1/envs/pr%6Fd/workflows/wf%2D1"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (m.env.as_deref(), m.id.as_deref()),
            (Some("prod"), Some("wf-1"))
        );
        assert_eq!(
            match_route(
                &routes,
                "GET",
                "api.example",
                &path("/v1/envs/prod/workflows/wf-1;a=b")
            ),
            Err(IdError::Parameter)
        );
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

    #[test]
    fn a_path_is_decoded_once_and_ambiguity_is_refused() {
        let ok = |p: &str| CanonicalPath::parse(p).unwrap();
        assert_eq!(ok("/").segments(), &[] as &[String]);
        assert_eq!(ok("/").encoded(), "/");
        assert_eq!(ok("/a/b%20c/%C3%A9").segments(), ["a", "b c", "é"]);
        assert_eq!(ok("/a/b%20c/%c3%a9").encoded(), "/a/b%20c/%C3%A9");
        assert_eq!(ok("/a//b").segments(), ["a", "", "b"]);
        assert_eq!(
            ok("/x;y/a:b@c!$&'()*+,=-._~").encoded(),
            "/x%3By/a:b@c!$&'()*+,=-._~"
        );
        assert_eq!(
            ok("/%5B%5D%7B%7D%7C%5E%60%22%3C%3E%3F%23").encoded(),
            "/%5B%5D%7B%7D%7C%5E%60%22%3C%3E%3F%23"
        );
        assert_eq!(ok("/...").segments(), ["..."]);
        assert_eq!(ok("/.a/a./a..b").segments(), [".a", "a.", "a..b"]);
        let err = |p: &str| CanonicalPath::parse(p).unwrap_err();
        assert_eq!(err("a/b"), PathError::NotAbsolute);
        assert_eq!(err(""), PathError::NotAbsolute);
        for p in ["/a%2Fb", "/a%2fb", "/a%5Cb", "/a%5cb", "/a\\b"] {
            assert_eq!(err(p), PathError::EncodedSeparator, "{p}");
        }
        for p in ["/.", "/..", "/a/%2e", "/a/%2E%2e", "/a/.%2E/b", "/a/./b"] {
            assert_eq!(err(p), PathError::DotSegment, "{p}");
        }
        for p in ["/a%00", "/a%0A", "/a%7f", "/a%C2%85", "/a\tb", "/%1b"] {
            assert_eq!(err(p), PathError::ControlCharacter, "{p}");
        }
        for p in ["/a%252F", "/%25", "/a%2525"] {
            assert_eq!(err(p), PathError::DoubleEncoded, "{p}");
        }
        for p in ["/a%", "/a%2", "/a%zz", "/a%g0", "/%%41"] {
            assert_eq!(err(p), PathError::BadEscape, "{p}");
        }
        for p in ["/a%ff", "/a%C3", "/%ED%A0%80", "/%C0%AF", "/%E0%80%AF"] {
            assert_eq!(err(p), PathError::NotUtf8, "{p}");
        }
        let long = format!("/{}", "a".repeat(MAX_PATH_BYTES));
        assert_eq!(err(&long), PathError::TooLong);
        // Within the limit as received, beyond it once escaped: the canonical spelling is
        // what the origin is sent, so it is held to the same limit.
        let widened = format!("/{}", "{".repeat(MAX_PATH_BYTES / 2));
        assert_eq!(err(&widened), PathError::TooLong);
        assert!(CanonicalPath::parse(&format!("/{}", "{".repeat(MAX_PATH_BYTES / 3 - 1))).is_ok());
        assert_eq!(err(&long).code(), "path_too_long");
        assert_eq!(err("/a%2Fb").code(), "ambiguous_path");
        assert_eq!(err("/a%2Fb").detail(), "encoded_separator");
    }

    #[test]
    fn ids_follow_the_canonical_form_and_the_routes_pattern() {
        assert_eq!(check_id("wf-1", None), Ok(()));
        assert_eq!(check_id("café", None), Ok(()));
        assert_eq!(check_id("日本", None), Ok(()));
        assert_eq!(check_id("a b", None), Ok(()));
        for id in [" a", "a ", "a\u{a0}", "\u{2003}a", "a\u{3000}"] {
            assert_eq!(check_id(id, None), Err(IdError::Whitespace), "{id:?}");
        }
        for id in [
            "cafe\u{301}",
            "\u{212b}",
            "e\u{301}\u{327}",
            "q\u{301}",
            "\u{1100}\u{1161}",
        ] {
            assert_eq!(check_id(id, None), Err(IdError::NotNfc), "{id:?}");
        }
        assert_eq!(check_id("a;b", None), Err(IdError::Parameter));
        let p = IdPattern::parse("[a-z0-9-]{1,8}").unwrap();
        assert_eq!(p.as_str(), "[a-z0-9-]{1,8}");
        assert_eq!(check_id("wf-1", Some(&p)), Ok(()));
        for id in ["WF-1", "wf_1", "wf-123456", "é", "a;b", "a b"] {
            assert_eq!(check_id(id, Some(&p)), Err(IdError::Pattern), "{id}");
        }
        let semi = IdPattern::parse("[a-z;=]+").unwrap();
        assert_eq!(
            check_id("a;b=c", Some(&semi)),
            Ok(()),
            "a pattern may allow `;`"
        );
        let exact = IdPattern::parse("[0-9]{3}").unwrap();
        assert!(exact.matches("123") && !exact.matches("12") && !exact.matches("1234"));
        let star = IdPattern::parse(r"[\]\\a-]*").unwrap();
        assert!(star.matches("]\\a-") && star.matches("") && !star.matches("b"));
        for bad in [
            "",
            "a",
            "[a-z]",
            "[a-z]{",
            "[a-z]{2,1}",
            "[a-z]{0}",
            "[z-a]+",
            "[]+",
            "[a-z]{1,x}",
            "[é]+",
            "[ ]+",
            "[a-z]+x",
            "[a-z",
        ] {
            assert!(IdPattern::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            IdPattern::parse(&"[a]".repeat(100)),
            Err(IdPatternError::TooLong)
        );
    }
}
