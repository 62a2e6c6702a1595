//! The request bodies of the API, read from strict JSON: required members checked with their
//! path, unknown members ignored (as the specification asks), entity properties turned into
//! attributes.

use crate::model::{Attrs, Value};
use crate::token::strict_json::{self, JsonValue};

use super::{AuthzenError, MAX_BODY_BYTES, MAX_JSON_DEPTH, MAX_PROPERTIES, MAX_STRING_BYTES};

/// A subject or a resource: a type, an id and properties.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entity {
    /// The type (`user`, `todo`, `route`, …).
    pub entity_type: String,
    /// The id; empty only where a search leaves it out.
    pub id: String,
    /// Properties that are scalars (strings, booleans, integers) or lists of them, as
    /// attributes; other properties (objects, fractions, `null`) are left out.
    pub properties: Attrs,
}

/// What is done: an action name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Action {
    /// The action's name: a verb of the resource's type (`can_read_user`), a whole
    /// permission (`todo:can_read_todos`), or, on a `route`, an HTTP method.
    pub name: String,
}

/// The request context the policy can read: `context.method` and `context.ip`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// `method`, when a string.
    pub method: Option<String>,
    /// `ip`, when a string.
    pub ip: Option<String>,
}

/// One access evaluation: subject, action, resource and context.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvaluationRequest {
    /// Who.
    pub subject: Entity,
    /// What.
    pub action: Action,
    /// On what.
    pub resource: Entity,
    /// In which context.
    pub context: RequestContext,
}

/// How a batch stops early.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Semantic {
    /// Every evaluation is answered.
    #[default]
    ExecuteAll,
    /// The answers stop after the first denial (an item's error counts as one).
    DenyOnFirstDeny,
    /// The answers stop after the first permit.
    PermitOnFirstPermit,
}

/// A batch's item as read: the evaluation it names with the defaults filled in, or why it
/// names none (answered as a denial with that error; the batch goes on).
pub type Item = Result<EvaluationRequest, AuthzenError>;

/// An access evaluations request.
#[derive(Clone, Debug, PartialEq)]
pub enum EvaluationsRequest {
    /// No `evaluations` (or an empty list): one evaluation of the top-level members, answered
    /// as the single evaluation API answers it.
    Single(EvaluationRequest),
    /// A batch, in request order.
    Batch {
        /// The items.
        items: Vec<Item>,
        /// When to stop.
        semantic: Semantic,
    },
}

/// A search request: the entity searched for has a type and no id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchRequest {
    /// The subject (its type only, for a subject search).
    pub subject: Entity,
    /// The action (absent for an action search).
    pub action: Action,
    /// The resource (its type only, for a resource search).
    pub resource: Entity,
    /// The context.
    pub context: RequestContext,
    /// Where the page starts (a token from the previous answer).
    pub page_token: Option<String>,
    /// At most this many results.
    pub page_limit: Option<usize>,
}

/// Which search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchKind {
    /// Which subjects may act on one resource.
    Subject,
    /// Which resources one subject may act on.
    Resource,
    /// Which actions one subject may do on one resource.
    Action,
}

type Members = [(String, JsonValue)];

/// Reads a body: not empty, within the size limit, strict JSON, an object at the top.
fn body(bytes: &[u8]) -> Result<JsonValue, AuthzenError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AuthzenError::EmptyBody);
    }
    if bytes.len() > MAX_BODY_BYTES {
        return Err(AuthzenError::TooLarge);
    }
    let value = strict_json::parse(bytes, MAX_JSON_DEPTH).map_err(AuthzenError::InvalidJson)?;
    if !matches!(value, JsonValue::Object(_)) {
        return Err(invalid("the body", "an object"));
    }
    Ok(value)
}

fn invalid(at: &str, expected: &'static str) -> AuthzenError {
    AuthzenError::Invalid {
        at: at.to_owned(),
        expected,
    }
}

fn members(value: &JsonValue) -> &Members {
    match value {
        JsonValue::Object(m) => m,
        _ => &[],
    }
}

fn get<'a>(members: &'a Members, name: &str) -> Option<&'a JsonValue> {
    members.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// The object at `name`, if present (`null` counts as absent).
fn object<'a>(
    members: &'a Members,
    name: &str,
    at: &str,
) -> Result<Option<&'a Members>, AuthzenError> {
    match get(members, name) {
        None | Some(JsonValue::Null) => Ok(None),
        Some(JsonValue::Object(m)) => Ok(Some(m)),
        Some(_) => Err(invalid(at, "an object")),
    }
}

/// A non-empty string of at most [`MAX_STRING_BYTES`].
fn text(value: &JsonValue, at: &str) -> Result<String, AuthzenError> {
    match value {
        JsonValue::Str(s) if !s.is_empty() && s.len() <= MAX_STRING_BYTES => Ok(s.clone()),
        _ => Err(invalid(at, "a non-empty string of at most 1024 bytes")),
    }
}

fn required_text(members: &Members, name: &str, at: &str) -> Result<String, AuthzenError> {
    match get(members, name) {
        None | Some(JsonValue::Null) => Err(AuthzenError::Missing(at.to_owned())),
        Some(v) => text(v, at),
    }
}

/// A property value as an attribute value: scalars and lists of scalars (`None` otherwise).
fn attribute(value: &JsonValue, depth: usize) -> Option<Value> {
    match value {
        JsonValue::Bool(b) => Some(Value::Bool(*b)),
        JsonValue::Int(i) => Some(Value::Int(*i)),
        JsonValue::Str(s) => Some(Value::Str(s.clone())),
        JsonValue::Array(items) if depth == 0 => items
            .iter()
            .map(|v| attribute(v, 1))
            .collect::<Option<Vec<_>>>()
            .map(Value::List),
        _ => None,
    }
}

fn properties(members: &Members, at: &str) -> Result<Attrs, AuthzenError> {
    let Some(props) = object(members, "properties", &format!("{at}.properties"))? else {
        return Ok(Attrs::new());
    };
    if props.len() > MAX_PROPERTIES {
        return Err(invalid(
            &format!("{at}.properties"),
            "an object of at most 64 properties",
        ));
    }
    Ok(props
        .iter()
        .filter_map(|(k, v)| attribute(v, 0).map(|v| (k.clone(), v)))
        .collect())
}

/// A subject or resource. `with_id`: the id is required (else it may be absent).
fn entity(value: &JsonValue, at: &str, with_id: bool) -> Result<Entity, AuthzenError> {
    let JsonValue::Object(m) = value else {
        return Err(invalid(at, "an object"));
    };
    let id = match get(m, "id") {
        None | Some(JsonValue::Null) if !with_id => String::new(),
        _ => required_text(m, "id", &format!("{at}.id"))?,
    };
    // The first drafts carried properties beside `type` and `id` (`"ownerID": …`): members
    // other than those are read as properties too, where `properties` does not name them.
    let mut props = properties(m, at)?;
    for (name, value) in m {
        if !matches!(name.as_str(), "type" | "id" | "properties") && props.len() < MAX_PROPERTIES {
            if let Some(v) = attribute(value, 0) {
                props.entry(name.clone()).or_insert(v);
            }
        }
    }
    Ok(Entity {
        entity_type: required_text(m, "type", &format!("{at}.type"))?,
        id,
        properties: props,
    })
}

fn action(value: &JsonValue, at: &str) -> Result<Action, AuthzenError> {
    let JsonValue::Object(m) = value else {
        return Err(invalid(at, "an object"));
    };
    Ok(Action {
        name: required_text(m, "name", &format!("{at}.name"))?,
    })
}

fn context(value: Option<&JsonValue>, at: &str) -> Result<RequestContext, AuthzenError> {
    let m = match value {
        None | Some(JsonValue::Null) => return Ok(RequestContext::default()),
        Some(JsonValue::Object(m)) => m,
        Some(_) => return Err(invalid(at, "an object")),
    };
    let string = |name| match get(m, name) {
        Some(JsonValue::Str(s)) if s.len() <= MAX_STRING_BYTES => Some(s.clone()),
        _ => None,
    };
    Ok(RequestContext {
        method: string("method"),
        ip: string("ip"),
    })
}

/// The defaults or the members of one evaluation, each read where present.
#[derive(Default)]
struct Parts {
    subject: Option<Entity>,
    action: Option<Action>,
    resource: Option<Entity>,
    context: Option<RequestContext>,
}

impl Parts {
    fn read(m: &Members, prefix: &str) -> Result<Self, AuthzenError> {
        let present = |name| get(m, name).filter(|v| !matches!(v, JsonValue::Null));
        Ok(Parts {
            subject: present("subject")
                .map(|v| entity(v, &format!("{prefix}subject"), true))
                .transpose()?,
            action: present("action")
                .map(|v| action(v, &format!("{prefix}action")))
                .transpose()?,
            resource: present("resource")
                .map(|v| entity(v, &format!("{prefix}resource"), true))
                .transpose()?,
            context: present("context")
                .map(|v| context(Some(v), &format!("{prefix}context")))
                .transpose()?,
        })
    }

    /// The evaluation these parts name, each absent one taken whole from `defaults`.
    fn complete(self, defaults: &Parts, prefix: &str) -> Result<EvaluationRequest, AuthzenError> {
        let missing = |name: &str| AuthzenError::Missing(format!("{prefix}{name}"));
        Ok(EvaluationRequest {
            subject: self
                .subject
                .or_else(|| defaults.subject.clone())
                .ok_or_else(|| missing("subject"))?,
            action: self
                .action
                .or_else(|| defaults.action.clone())
                .ok_or_else(|| missing("action"))?,
            resource: self
                .resource
                .or_else(|| defaults.resource.clone())
                .ok_or_else(|| missing("resource"))?,
            context: self
                .context
                .or_else(|| defaults.context.clone())
                .unwrap_or_default(),
        })
    }
}

impl EvaluationRequest {
    /// Reads an access evaluation request body.
    pub fn parse(bytes: &[u8]) -> Result<Self, AuthzenError> {
        let value = body(bytes)?;
        Parts::read(members(&value), "")?.complete(&Parts::default(), "")
    }
}

impl EvaluationsRequest {
    /// Reads an access evaluations request body. The top level must be well formed (else the
    /// whole request is refused); an item that is not, or that lacks a member its defaults do
    /// not give, is read as that item's error.
    pub fn parse(bytes: &[u8]) -> Result<Self, AuthzenError> {
        let value = body(bytes)?;
        let top = members(&value);
        let defaults = Parts::read(top, "")?;
        let semantic =
            match object(top, "options", "options")?.and_then(|o| get(o, "evaluations_semantic")) {
                None | Some(JsonValue::Null) => Semantic::ExecuteAll,
                Some(JsonValue::Str(s)) if s == "execute_all" => Semantic::ExecuteAll,
                Some(JsonValue::Str(s)) if s == "deny_on_first_deny" => Semantic::DenyOnFirstDeny,
                Some(JsonValue::Str(s)) if s == "permit_on_first_permit" => {
                    Semantic::PermitOnFirstPermit
                }
                Some(_) => {
                    return Err(invalid(
                        "options.evaluations_semantic",
                        "`execute_all`, `deny_on_first_deny` or `permit_on_first_permit`",
                    ))
                }
            };
        let list = match get(top, "evaluations") {
            None | Some(JsonValue::Null) => &[][..],
            Some(JsonValue::Array(items)) => items.as_slice(),
            Some(_) => return Err(invalid("evaluations", "an array")),
        };
        if list.is_empty() {
            return Ok(EvaluationsRequest::Single(
                defaults.complete(&Parts::default(), "")?,
            ));
        }
        if list.len() > super::MAX_EVALUATIONS {
            return Err(AuthzenError::TooManyEvaluations);
        }
        let items = list
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let prefix = format!("evaluations[{i}].");
                match item {
                    JsonValue::Object(m) => Parts::read(m, &prefix)?.complete(&defaults, &prefix),
                    _ => Err(invalid(&format!("evaluations[{i}]"), "an object")),
                }
            })
            .collect();
        Ok(EvaluationsRequest::Batch { items, semantic })
    }
}

impl SearchRequest {
    /// Reads a search request body of `kind`: the entity searched for needs a type only.
    pub fn parse(bytes: &[u8], kind: SearchKind) -> Result<Self, AuthzenError> {
        let value = body(bytes)?;
        let m = members(&value);
        let required = |name: &str| {
            get(m, name)
                .filter(|v| !matches!(v, JsonValue::Null))
                .ok_or_else(|| AuthzenError::Missing(name.to_owned()))
        };
        let subject = entity(required("subject")?, "subject", kind != SearchKind::Subject)?;
        let resource = entity(
            required("resource")?,
            "resource",
            kind != SearchKind::Resource,
        )?;
        let action = match kind {
            SearchKind::Action => Action::default(),
            _ => action(required("action")?, "action")?,
        };
        let (page_token, page_limit) = match object(m, "page", "page")? {
            None => (None, None),
            Some(page) => {
                let token = match get(page, "token") {
                    None | Some(JsonValue::Null) => None,
                    Some(JsonValue::Str(s)) if s.is_empty() => None,
                    Some(v) => Some(text(v, "page.token")?),
                };
                let limit = match get(page, "limit") {
                    None | Some(JsonValue::Null) => None,
                    Some(JsonValue::Int(n)) if *n > 0 => {
                        Some(usize::try_from(*n).unwrap_or(usize::MAX))
                    }
                    Some(_) => return Err(invalid("page.limit", "a positive integer")),
                };
                (token, limit)
            }
        };
        Ok(SearchRequest {
            subject,
            action,
            resource,
            context: context(get(m, "context"), "context")?,
            page_token,
            page_limit,
        })
    }
}
