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

type Members = Vec<(String, JsonValue)>;

/// Where a member is (`evaluations[2].resource`), written out only for an error.
#[derive(Clone, Copy)]
struct At<'a> {
    /// `evaluations[2].` in a batch, empty otherwise.
    prefix: &'a str,
    /// `subject`, `resource`, …
    member: &'a str,
}

impl At<'_> {
    /// The path of a field of the member (`subject.id`); the member's own when `field` is
    /// empty.
    fn to(self, field: &str) -> String {
        match field {
            "" => format!("{}{}", self.prefix, self.member),
            f => format!("{}{}.{f}", self.prefix, self.member),
        }
    }
}

/// Reads a body: not empty, within the size limit, strict JSON, an object at the top.
fn body(bytes: &[u8]) -> Result<Members, AuthzenError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AuthzenError::EmptyBody);
    }
    if bytes.len() > MAX_BODY_BYTES {
        return Err(AuthzenError::TooLarge);
    }
    match strict_json::parse(bytes, MAX_JSON_DEPTH).map_err(AuthzenError::InvalidJson)? {
        JsonValue::Object(members) => Ok(members),
        _ => Err(invalid("the body", "an object")),
    }
}

fn invalid(at: &str, expected: &'static str) -> AuthzenError {
    AuthzenError::Invalid {
        at: at.to_owned(),
        expected,
    }
}

/// Takes member `name` out of `members`, if present; `null` counts as absent. Member names
/// are unique (the strict reader refuses duplicates), so nothing else is left under it.
fn take(members: &mut Members, name: &str) -> Option<JsonValue> {
    let i = members.iter().position(|(k, _)| k == name)?;
    match members.swap_remove(i).1 {
        JsonValue::Null => None,
        v => Some(v),
    }
}

/// The object at `name`, if present.
fn object(members: &mut Members, name: &str, at: &str) -> Result<Option<Members>, AuthzenError> {
    match take(members, name) {
        None => Ok(None),
        Some(JsonValue::Object(m)) => Ok(Some(m)),
        Some(_) => Err(invalid(at, "an object")),
    }
}

/// A non-empty string of at most [`MAX_STRING_BYTES`].
fn text(value: JsonValue, at: impl FnOnce() -> String) -> Result<String, AuthzenError> {
    match value {
        JsonValue::Str(s) if !s.is_empty() && s.len() <= MAX_STRING_BYTES => Ok(s),
        _ => Err(invalid(&at(), "a non-empty string of at most 1024 bytes")),
    }
}

fn required_text(members: &mut Members, name: &str, at: At<'_>) -> Result<String, AuthzenError> {
    match take(members, name) {
        None => Err(AuthzenError::Missing(at.to(name))),
        Some(v) => text(v, || at.to(name)),
    }
}

/// A property value as an attribute value: scalars and lists of scalars (`None` otherwise).
fn attribute(value: JsonValue, depth: usize) -> Option<Value> {
    match value {
        JsonValue::Bool(b) => Some(Value::Bool(b)),
        JsonValue::Int(i) => Some(Value::Int(i)),
        JsonValue::Str(s) => Some(Value::Str(s)),
        JsonValue::Array(items) if depth == 0 => items
            .into_iter()
            .map(|v| attribute(v, 1))
            .collect::<Option<Vec<_>>>()
            .map(Value::List),
        _ => None,
    }
}

/// A subject or resource. `with_id`: the id is required (else it may be absent).
fn entity(value: JsonValue, at: At<'_>, with_id: bool) -> Result<Entity, AuthzenError> {
    let JsonValue::Object(mut m) = value else {
        return Err(invalid(&at.to(""), "an object"));
    };
    let entity_type = required_text(&mut m, "type", at)?;
    let id = match take(&mut m, "id") {
        None if !with_id => String::new(),
        None => return Err(AuthzenError::Missing(at.to("id"))),
        Some(v) => text(v, || at.to("id"))?,
    };
    let mut properties = Attrs::new();
    let props = match take(&mut m, "properties") {
        None => None,
        Some(JsonValue::Object(p)) => Some(p),
        Some(_) => return Err(invalid(&at.to("properties"), "an object")),
    };
    if let Some(props) = props {
        if props.len() > MAX_PROPERTIES {
            return Err(invalid(
                &at.to("properties"),
                "an object of at most 64 properties",
            ));
        }
        for (k, v) in props {
            if let Some(v) = attribute(v, 0) {
                properties.insert(k, v);
            }
        }
    }
    // The first drafts carried properties beside `type` and `id` (`"ownerID": …`): the
    // members left are read as properties too, where `properties` does not name them.
    for (name, value) in m {
        if properties.len() >= MAX_PROPERTIES {
            break;
        }
        if let Some(v) = attribute(value, 0) {
            properties.entry(name).or_insert(v);
        }
    }
    Ok(Entity {
        entity_type,
        id,
        properties,
    })
}

fn action(value: JsonValue, at: At<'_>) -> Result<Action, AuthzenError> {
    let JsonValue::Object(mut m) = value else {
        return Err(invalid(&at.to(""), "an object"));
    };
    Ok(Action {
        name: required_text(&mut m, "name", at)?,
    })
}

fn context(value: Option<JsonValue>, at: At<'_>) -> Result<RequestContext, AuthzenError> {
    let mut m = match value {
        None => return Ok(RequestContext::default()),
        Some(JsonValue::Object(m)) => m,
        Some(_) => return Err(invalid(&at.to(""), "an object")),
    };
    let mut string = |name| match take(&mut m, name) {
        Some(JsonValue::Str(s)) if s.len() <= MAX_STRING_BYTES => Some(s),
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
    fn read(m: &mut Members, prefix: &str) -> Result<Self, AuthzenError> {
        let at = |member| At { prefix, member };
        Ok(Parts {
            subject: take(m, "subject")
                .map(|v| entity(v, at("subject"), true))
                .transpose()?,
            action: take(m, "action")
                .map(|v| action(v, at("action")))
                .transpose()?,
            resource: take(m, "resource")
                .map(|v| entity(v, at("resource"), true))
                .transpose()?,
            context: take(m, "context")
                .map(|v| context(Some(v), at("context")))
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
        let mut members = body(bytes)?;
        Parts::read(&mut members, "")?.complete(&Parts::default(), "")
    }
}

impl EvaluationsRequest {
    /// Reads an access evaluations request body. The top level must be well formed (else the
    /// whole request is refused); an item that is not, or that lacks a member its defaults do
    /// not give, is read as that item's error.
    pub fn parse(bytes: &[u8]) -> Result<Self, AuthzenError> {
        let mut top = body(bytes)?;
        let defaults = Parts::read(&mut top, "")?;
        let semantic = match object(&mut top, "options", "options")?
            .and_then(|mut o| take(&mut o, "evaluations_semantic"))
        {
            None => Semantic::ExecuteAll,
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
        let list = match take(&mut top, "evaluations") {
            None => Vec::new(),
            Some(JsonValue::Array(items)) => items,
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
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let prefix = format!("evaluations[{i}].");
                match item {
                    JsonValue::Object(mut m) => {
                        Parts::read(&mut m, &prefix)?.complete(&defaults, &prefix)
                    }
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
        let mut m = body(bytes)?;
        let mut required =
            |name: &str| take(&mut m, name).ok_or_else(|| AuthzenError::Missing(name.to_owned()));
        let at = |member| At { prefix: "", member };
        let subject = entity(
            required("subject")?,
            at("subject"),
            kind != SearchKind::Subject,
        )?;
        let resource = entity(
            required("resource")?,
            at("resource"),
            kind != SearchKind::Resource,
        )?;
        let action = match kind {
            SearchKind::Action => Action::default(),
            _ => action(required("action")?, at("action"))?,
        };
        let (page_token, page_limit) = match object(&mut m, "page", "page")? {
            None => (None, None),
            Some(mut page) => {
                let token = match take(&mut page, "token") {
                    None => None,
                    Some(JsonValue::Str(s)) if s.is_empty() => None,
                    Some(v) => Some(text(v, || "page.token".to_owned())?),
                };
                let limit = match take(&mut page, "limit") {
                    None => None,
                    Some(JsonValue::Int(n)) if n > 0 => {
                        Some(usize::try_from(n).unwrap_or(usize::MAX))
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
            context: context(take(&mut m, "context"), at("context"))?,
            page_token,
            page_limit,
        })
    }
}
