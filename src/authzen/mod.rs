//! The OpenID AuthZEN Authorization API 1.0, answered by an [`Authorizer`]: a request body in,
//! an answer out, nothing read from the clock or the network. The adapters (the gateway
//! Worker, `portcullis serve`, the npm package) choose the organization's authorizer,
//! authenticate the client, and answer an [`AuthzenError`] with its status.
//!
//! How a request maps onto the policy (docs/authzen.md):
//!
//! - the **subject** is a member of the organization, named by its id, a service's client id,
//!   or the value of one of the policy's `subject_aliases` attributes; it is decided as if it
//!   presented a token made for the request (see [`Authorizer::check_subject`]);
//! - the **action** names a permission: `verb` of the resource's type, or `type:verb` whole;
//! - the **resource** is the resource of that type and id; the policy's own facts about it
//!   (its `resources` entry: environment, attributes) come first, the request's
//!   `properties` add what the policy does not say, and a string property `env` places a
//!   resource the policy does not know;
//! - a resource of type `route`, whose id is a route template and whose action is an HTTP
//!   method, is decided by the policy's route table, as the gateway decides the request.

mod error;
mod request;

use serde::Serialize;

use crate::decide::{Authorizer, Context, Decision, Detail, Reason, Request, Resource};
use crate::model::{MemberKind, PermissionIndex, RouteTemplate};

pub use error::AuthzenError;
pub use request::{
    Action, Entity, EvaluationRequest, EvaluationsRequest, Item, RequestContext, SearchKind,
    SearchRequest, Semantic,
};

/// Largest request body, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Deepest nesting of a request body (the body itself is level 0).
pub const MAX_JSON_DEPTH: usize = 8;
/// Most evaluations in one batch.
pub const MAX_EVALUATIONS: usize = 1000;
/// Most properties of one subject or resource.
pub const MAX_PROPERTIES: usize = 64;
/// Longest type, id or action name, in bytes.
pub const MAX_STRING_BYTES: usize = 1024;
/// Results of one search page when the request names no limit.
pub const DEFAULT_PAGE_LIMIT: usize = 100;
/// Most results of one search page.
pub const MAX_PAGE_LIMIT: usize = 1000;

/// The resource type whose resources are the gateway's routes.
pub const ROUTE_TYPE: &str = "route";

/// The resource type of the permissions a PEP needs to ask (`pdp:evaluate`, `pdp:search`).
pub const PDP_TYPE: &str = "pdp";

/// An endpoint of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /access/v1/evaluation`.
    Evaluation,
    /// `POST /access/v1/evaluations`.
    Evaluations,
    /// `POST /access/v1/search/{subject,resource,action}`.
    Search(SearchKind),
}

impl Endpoint {
    /// The endpoint a path names after `/access/v1/` (`evaluation`, `search/subject`, …).
    pub fn from_path(path: &str) -> Option<Self> {
        Some(match path {
            "evaluation" => Endpoint::Evaluation,
            "evaluations" => Endpoint::Evaluations,
            "search/subject" => Endpoint::Search(SearchKind::Subject),
            "search/resource" => Endpoint::Search(SearchKind::Resource),
            "search/action" => Endpoint::Search(SearchKind::Action),
            _ => return None,
        })
    }

    /// Its path after `/access/v1/`.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Evaluation => "evaluation",
            Endpoint::Evaluations => "evaluations",
            Endpoint::Search(SearchKind::Subject) => "search/subject",
            Endpoint::Search(SearchKind::Resource) => "search/resource",
            Endpoint::Search(SearchKind::Action) => "search/action",
        }
    }

    /// The policy permission a PEP's client needs to call it: `pdp:evaluate` for the
    /// evaluations, `pdp:search` for the searches.
    pub fn permission(self) -> &'static str {
        match self {
            Endpoint::Evaluation | Endpoint::Evaluations => "pdp:evaluate",
            Endpoint::Search(_) => "pdp:search",
        }
    }
}

/// Whether a PEP presenting `token` may call `endpoint`: a service token whose client holds
/// the endpoint's permission (on the organization itself, resource type [`PDP_TYPE`]).
pub fn pep_may_call(
    authorizer: &Authorizer,
    token: &crate::token::VerifiedToken,
    endpoint: Endpoint,
    now: i64,
) -> bool {
    let request = Request {
        action: endpoint.permission().to_owned(),
        resource: Resource {
            resource_type: PDP_TYPE.to_owned(),
            id: None,
            org: None,
            env: None,
            attrs: Default::default(),
        },
        context: Context::default(),
    };
    token.kind() == crate::token::TokenKind::Service
        && authorizer.check(token, &request, now).allowed
}

/// An endpoint's answer as JSON, with the number of decisions in it (for a log line).
#[derive(Clone, Debug, PartialEq)]
pub struct Answered {
    /// The answer body.
    pub body: serde_json::Value,
    /// How many decisions (or search results) it holds.
    pub count: usize,
}

/// Answers `endpoint`'s request body: [`evaluation`], [`evaluations`] or [`search`].
pub fn answer(
    authorizer: &Authorizer,
    endpoint: Endpoint,
    body: &[u8],
    now: i64,
    reasons: bool,
) -> Result<Answered, AuthzenError> {
    let (value, count) = match endpoint {
        Endpoint::Evaluation => (
            serde_json::to_value(evaluation(authorizer, body, now, reasons)?),
            1,
        ),
        Endpoint::Evaluations => {
            let a = evaluations(authorizer, body, now, reasons)?;
            let count = match &a {
                EvaluationsAnswer::Single(_) => 1,
                EvaluationsAnswer::Batch { evaluations } => evaluations.len(),
            };
            (serde_json::to_value(a), count)
        }
        Endpoint::Search(kind) => {
            let a = search(authorizer, kind, body, now)?;
            let count = a.results.len();
            (serde_json::to_value(a), count)
        }
    };
    // The answers are plain data (booleans, strings, numbers): they always serialize.
    Ok(Answered {
        body: value.unwrap_or(serde_json::Value::Null),
        count,
    })
}

/// Why a decision came out as it did, for an answer's `context` (off unless asked for: batch
/// answers are compared exactly by interoperability runners).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DecisionContext {
    /// The decision's reason code.
    pub reason: &'static str,
    /// The deciding rule, where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// A code refining the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'static str>,
    /// The bundle version that decided.
    pub bundle_version: u64,
}

/// An item's error in a batch answer's `context`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemError {
    /// The error's stable code ([`AuthzenError::code`]).
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

/// The `context` of an answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AnswerContext {
    /// Why, when asked for.
    Decision(DecisionContext),
    /// A batch item that could not be evaluated.
    Error {
        /// The error.
        error: ItemError,
    },
}

/// One answer: `{"decision": …}`, with a context where there is one to give.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// Whether the subject may do it.
    pub decision: bool,
    /// Why, or the item's error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<AnswerContext>,
}

/// The answer to an access evaluations request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum EvaluationsAnswer {
    /// A request without `evaluations`, answered as a single evaluation.
    Single(Answer),
    /// A batch: one answer per item, in request order, up to where the semantic stopped.
    Batch {
        /// The answers.
        evaluations: Vec<Answer>,
    },
}

/// One search result: an entity (type and id) or an action (name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Found {
    /// A subject or a resource.
    Entity {
        /// Its type.
        #[serde(rename = "type")]
        entity_type: String,
        /// Its id.
        id: String,
    },
    /// An action.
    Action {
        /// Its name.
        name: String,
    },
}

/// Where a search answer's page ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PageOut {
    /// The token of the next page; empty on the last.
    pub next_token: String,
    /// Results on this page.
    pub count: usize,
    /// Results on every page.
    pub total: usize,
}

/// A search answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SearchAnswer {
    /// This page's results, in the policy's order.
    pub results: Vec<Found>,
    /// The paging.
    pub page: PageOut,
}

/// The metadata of `/.well-known/authzen-configuration`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Configuration {
    /// The PDP's base URL.
    pub policy_decision_point: String,
    /// The access evaluation endpoint.
    pub access_evaluation_endpoint: String,
    /// The access evaluations endpoint.
    pub access_evaluations_endpoint: String,
    /// The subject search endpoint.
    pub search_subject_endpoint: String,
    /// The resource search endpoint.
    pub search_resource_endpoint: String,
    /// The action search endpoint.
    pub search_action_endpoint: String,
}

impl Configuration {
    /// The metadata of a PDP whose endpoints live under `base` (such as
    /// `https://pdp.example.com` or, per tenant, `https://pdp.example.com/tenants/acme`).
    pub fn at(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        let endpoint = |path: &str| format!("{base}{path}");
        Configuration {
            policy_decision_point: base.to_owned(),
            access_evaluation_endpoint: endpoint("/access/v1/evaluation"),
            access_evaluations_endpoint: endpoint("/access/v1/evaluations"),
            search_subject_endpoint: endpoint("/access/v1/search/subject"),
            search_resource_endpoint: endpoint("/access/v1/search/resource"),
            search_action_endpoint: endpoint("/access/v1/search/action"),
        }
    }
}

/// A decision's answer, with its reasons when `reasons`.
fn answer_of(decision: &Decision, reasons: bool) -> Answer {
    Answer {
        decision: decision.allowed,
        context: reasons.then(|| {
            AnswerContext::Decision(DecisionContext {
                reason: decision.reason.as_str(),
                rule: decision.rule.as_deref().map(str::to_owned),
                detail: decision.detail.as_ref().map(Detail::code),
                bundle_version: decision.bundle_version,
            })
        }),
    }
}

fn item_error(e: &AuthzenError) -> Answer {
    Answer {
        decision: false,
        context: Some(AnswerContext::Error {
            error: ItemError {
                code: e.code(),
                message: e.to_string(),
            },
        }),
    }
}

/// The permission an action names on a resource type: `type:verb` whole, or the verb of the
/// type.
fn permission_name(action: &str, resource_type: &str) -> String {
    if action.contains(':') {
        action.to_owned()
    } else {
        format!("{resource_type}:{action}")
    }
}

/// Whether two route templates have the same shape: the same literal segments and a
/// parameter where the other has one, whatever the parameters' names.
fn same_template(declared: &RouteTemplate, asked: &str) -> bool {
    let param = |s: &str| s.starts_with('{') && s.ends_with('}');
    let ours: Vec<&str> = declared.as_str().split('/').collect();
    let theirs: Vec<&str> = asked.split('/').collect();
    ours.len() == theirs.len()
        && ours
            .iter()
            .zip(&theirs)
            .all(|(a, b)| if param(a) { param(b) } else { a == b })
}

/// The request an evaluation names, or the decision when it names none the policy knows (a
/// route that no route of the table matches).
fn engine_request(authorizer: &Authorizer, e: &EvaluationRequest) -> Result<Request, Decision> {
    let policy = authorizer.policy();
    let mut attrs = e.resource.properties.clone();
    let property_env = match attrs.get("env") {
        Some(crate::model::Value::Str(env)) => Some(env.clone()),
        _ => None,
    };
    let context = Context {
        method: e.context.method.clone(),
        ip: e.context.ip.clone(),
    };
    if e.resource.entity_type == ROUTE_TYPE {
        let route = policy.data().routes.iter().find(|r| {
            (r.method == e.action.name || r.method == "*") && same_template(&r.path, &e.resource.id)
        });
        let Some(route) = route else {
            return Err(Decision {
                allowed: false,
                reason: Reason::NoMatchingGrant,
                rule: None,
                bundle_version: authorizer.version(),
                detail: Some(Detail::UndeclaredPermission),
            });
        };
        let permission = policy
            .permissions()
            .name(route.permission)
            .unwrap_or_default();
        return Ok(Request {
            action: permission.to_owned(),
            resource: Resource {
                resource_type: route.resource_type.clone(),
                id: None,
                org: None,
                env: property_env,
                attrs,
            },
            context: Context {
                method: Some(e.action.name.clone()),
                ..context
            },
        });
    }
    let known = policy.resource_entity(&e.resource.entity_type, &e.resource.id);
    let env = match known {
        Some(entity) => entity
            .env
            .and_then(|i| policy.env(i))
            .map(|env| env.id.clone()),
        None => property_env,
    };
    if let Some(entity) = known {
        for (name, value) in &entity.attrs {
            attrs.insert(name.clone(), value.clone());
        }
    }
    Ok(Request {
        action: permission_name(&e.action.name, &e.resource.entity_type),
        resource: Resource {
            resource_type: e.resource.entity_type.clone(),
            id: Some(e.resource.id.clone()),
            org: None,
            env,
            attrs,
        },
        context,
    })
}

/// Decides one evaluation.
pub fn decide(authorizer: &Authorizer, evaluation: &EvaluationRequest, now: i64) -> Decision {
    match engine_request(authorizer, evaluation) {
        Ok(request) => authorizer.check_subject(&evaluation.subject.id, &request, now),
        Err(decision) => decision,
    }
}

/// `POST /access/v1/evaluation`: the answer to a request body. `reasons`: the answer's
/// `context` carries the reason, rule and bundle version.
pub fn evaluation(
    authorizer: &Authorizer,
    body: &[u8],
    now: i64,
    reasons: bool,
) -> Result<Answer, AuthzenError> {
    let request = EvaluationRequest::parse(body)?;
    Ok(answer_of(&decide(authorizer, &request, now), reasons))
}

/// `POST /access/v1/evaluations`: the answer to a request body. Items are answered in
/// request order; an item that names no evaluation is a denial with an error context, and
/// the semantic may stop the answers early (after the first denial or the first permit).
pub fn evaluations(
    authorizer: &Authorizer,
    body: &[u8],
    now: i64,
    reasons: bool,
) -> Result<EvaluationsAnswer, AuthzenError> {
    let (items, semantic) = match EvaluationsRequest::parse(body)? {
        EvaluationsRequest::Single(e) => {
            return Ok(EvaluationsAnswer::Single(answer_of(
                &decide(authorizer, &e, now),
                reasons,
            )))
        }
        EvaluationsRequest::Batch { items, semantic } => (items, semantic),
    };
    let mut evaluations = Vec::with_capacity(items.len());
    for item in &items {
        let a = match item {
            Ok(e) => answer_of(&decide(authorizer, e, now), reasons),
            Err(e) => item_error(e),
        };
        let stop = match semantic {
            Semantic::ExecuteAll => false,
            Semantic::DenyOnFirstDeny => !a.decision,
            Semantic::PermitOnFirstPermit => a.decision,
        };
        evaluations.push(a);
        if stop {
            break;
        }
    }
    Ok(EvaluationsAnswer::Batch { evaluations })
}

/// A page token: the bundle version and the offset, so that a token outlives neither.
fn page_start(token: Option<&str>, version: u64) -> Result<usize, AuthzenError> {
    let Some(token) = token else {
        return Ok(0);
    };
    let (v, offset) = token
        .strip_prefix('v')
        .and_then(|t| t.split_once('.'))
        .ok_or(AuthzenError::InvalidPageToken)?;
    match (v.parse::<u64>(), offset.parse::<usize>()) {
        (Ok(v), Ok(offset)) if v == version && offset > 0 => Ok(offset),
        _ => Err(AuthzenError::InvalidPageToken),
    }
}

fn page(
    all: Vec<Found>,
    request: &SearchRequest,
    version: u64,
) -> Result<SearchAnswer, AuthzenError> {
    let start = page_start(request.page_token.as_deref(), version)?;
    let limit = request
        .page_limit
        .unwrap_or(DEFAULT_PAGE_LIMIT)
        .min(MAX_PAGE_LIMIT);
    let total = all.len();
    if start > total {
        return Err(AuthzenError::InvalidPageToken);
    }
    let results: Vec<Found> = all.into_iter().skip(start).take(limit).collect();
    let end = start + results.len();
    Ok(SearchAnswer {
        page: PageOut {
            next_token: if end < total {
                format!("v{version}.{end}")
            } else {
                String::new()
            },
            count: results.len(),
            total,
        },
        results,
    })
}

fn evaluation_of(
    request: &SearchRequest,
    subject: &Entity,
    action: &str,
    resource: &Entity,
) -> EvaluationRequest {
    EvaluationRequest {
        subject: subject.clone(),
        action: Action {
            name: action.to_owned(),
        },
        resource: resource.clone(),
        context: request.context.clone(),
    }
}

/// `POST /access/v1/search/{subject,resource,action}`: the answer to a search request body.
/// Subject search lists the members (services for the type `service`, users otherwise) that
/// may do the action on the resource; resource search the policy's `resources` of the type
/// that the subject may act on; action search the verbs of the resource's type the subject
/// may do on it. Results come in the policy's order, a page at a time. Unknown types and ids
/// find nothing.
pub fn search(
    authorizer: &Authorizer,
    kind: SearchKind,
    body: &[u8],
    now: i64,
) -> Result<SearchAnswer, AuthzenError> {
    let request = SearchRequest::parse(body, kind)?;
    let policy = authorizer.policy();
    let allowed = |e: &EvaluationRequest| decide(authorizer, e, now).allowed;
    let found: Vec<Found> = match kind {
        SearchKind::Subject => {
            let wanted = if request.subject.entity_type == "service" {
                MemberKind::Service
            } else {
                MemberKind::User
            };
            policy
                .data()
                .members
                .iter()
                .filter(|m| m.kind == wanted)
                .filter(|m| {
                    let subject = Entity {
                        entity_type: request.subject.entity_type.clone(),
                        id: m.id.clone(),
                        properties: Default::default(),
                    };
                    allowed(&evaluation_of(
                        &request,
                        &subject,
                        &request.action.name,
                        &request.resource,
                    ))
                })
                .map(|m| Found::Entity {
                    entity_type: request.subject.entity_type.clone(),
                    id: m.id.clone(),
                })
                .collect()
        }
        SearchKind::Resource => policy
            .data()
            .resources
            .iter()
            .filter(|r| r.resource_type == request.resource.entity_type)
            .filter(|r| {
                let resource = Entity {
                    entity_type: r.resource_type.clone(),
                    id: r.id.clone(),
                    properties: Default::default(),
                };
                allowed(&evaluation_of(
                    &request,
                    &request.subject,
                    &request.action.name,
                    &resource,
                ))
            })
            .map(|r| Found::Entity {
                entity_type: r.resource_type.clone(),
                id: r.id.clone(),
            })
            .collect(),
        SearchKind::Action => {
            let table = policy.permissions();
            let ty = &request.resource.entity_type;
            table
                .of_type(ty)
                .iter()
                .filter_map(|p: PermissionIndex| table.name(p))
                .filter_map(|name| name.split_once(':').map(|(_, verb)| verb))
                .filter(|verb| {
                    allowed(&evaluation_of(
                        &request,
                        &request.subject,
                        verb,
                        &request.resource,
                    ))
                })
                .map(|verb| Found::Action {
                    name: verb.to_owned(),
                })
                .collect()
        }
    };
    page(found, &request, authorizer.version())
}
