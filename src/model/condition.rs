//! Conditions: a small, closed, bounded language of restrictive attribute filters.
//!
//! A condition is a tree of `all`, `any`, `not`, `eq`, `in`, `has` and `time` nodes over
//! attribute references (`principal.factories`, `resource.factory`, `env.tier`,
//! `context.method`) and literal values. There are no loops, no recursion and no user code;
//! depth and size are bounded when the policy is compiled and again when a bundle is loaded.
//!
//! A condition that cannot be evaluated (a missing attribute, an operand of the wrong type)
//! counts as *not holding* for a grant and as *holding* for a deny: it always fails closed.

use crate::model::{Attrs, Value};

/// Deepest nesting a condition may have.
pub const MAX_CONDITION_DEPTH: usize = 8;
/// Most nodes (operators and operands) a condition may have.
pub const MAX_CONDITION_NODES: usize = 64;

/// Which object an attribute reference reads from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    /// The calling principal (user or service).
    Principal,
    /// The resource acted on.
    Resource,
    /// The environment the resource lives in.
    Env,
    /// The request context.
    Context,
}

impl Subject {
    /// The prefix used in the policy source.
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Principal => "principal",
            Subject::Resource => "resource",
            Subject::Env => "env",
            Subject::Context => "context",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "principal" => Subject::Principal,
            "resource" => Subject::Resource,
            "env" => Subject::Env,
            "context" => Subject::Context,
            _ => return None,
        })
    }
}

/// An attribute reference such as `resource.factory`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AttrRef {
    /// The object read.
    pub subject: Subject,
    /// The attribute name (`id`, `type` and `env` name built-in fields).
    pub name: String,
}

impl AttrRef {
    /// Parses `subject.name`.
    pub fn parse(text: &str) -> Option<Self> {
        let (subject, name) = text.split_once('.')?;
        let subject = Subject::parse(subject)?;
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        valid.then(|| AttrRef {
            subject,
            name: name.to_owned(),
        })
    }
}

impl std::fmt::Display for AttrRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.subject.as_str(), self.name)
    }
}

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// An attribute read at evaluation time.
    Attr(AttrRef),
    /// A literal value.
    Literal(Value),
}

/// A condition tree.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Condition {
    /// Every child holds (true when empty).
    All(Vec<Condition>),
    /// At least one child holds (false when empty).
    Any(Vec<Condition>),
    /// The child does not hold.
    Not(Box<Condition>),
    /// Both operands are equal.
    Eq(Operand, Operand),
    /// The left operand (or every element of it, if a list) is in the right-hand list.
    In(Operand, Operand),
    /// The attribute is present.
    Has(AttrRef),
    /// `now` lies in `[after, before)`; either bound may be absent.
    Time {
        /// Earliest instant (Unix seconds), inclusive.
        after: Option<i64>,
        /// Latest instant (Unix seconds), exclusive.
        before: Option<i64>,
    },
}

impl Condition {
    /// Nesting depth (a leaf is depth 1).
    pub fn depth(&self) -> usize {
        match self {
            Condition::All(c) | Condition::Any(c) => {
                1 + c.iter().map(Condition::depth).max().unwrap_or(0)
            }
            Condition::Not(c) => 1 + c.depth(),
            _ => 1,
        }
    }

    /// Whether evaluating the condition may read the resource's attributes (`resource.<name>`
    /// other than the built-in `type`, `id` and `env`, which come from the request itself).
    pub fn reads_resource_attributes(&self) -> bool {
        let attribute = |a: &AttrRef| {
            a.subject == Subject::Resource && !matches!(a.name.as_str(), "type" | "id" | "env")
        };
        let operand = |o: &Operand| matches!(o, Operand::Attr(a) if attribute(a));
        match self {
            Condition::All(c) | Condition::Any(c) => {
                c.iter().any(Condition::reads_resource_attributes)
            }
            Condition::Not(c) => c.reads_resource_attributes(),
            Condition::Eq(a, b) | Condition::In(a, b) => operand(a) || operand(b),
            Condition::Has(a) => attribute(a),
            Condition::Time { .. } => false,
        }
    }

    /// Number of nodes, counting operands.
    pub fn size(&self) -> usize {
        match self {
            Condition::All(c) | Condition::Any(c) => {
                1 + c.iter().map(Condition::size).sum::<usize>()
            }
            Condition::Not(c) => 1 + c.size(),
            Condition::Eq(..) | Condition::In(..) => 3,
            Condition::Has(_) => 2,
            Condition::Time { .. } => 1,
        }
    }
}

/// What a condition is evaluated against.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    /// The principal's id.
    pub principal_id: &'a str,
    /// The principal's attributes.
    pub principal: &'a Attrs,
    /// The resource type.
    pub resource_type: &'a str,
    /// The resource id, if any.
    pub resource_id: Option<&'a str>,
    /// The resource's environment id, if any.
    pub env_id: Option<&'a str>,
    /// The resource's attributes.
    pub resource: &'a Attrs,
    /// The environment's attributes (empty for org-level resources).
    pub env: &'a Attrs,
    /// The request method, if known.
    pub method: Option<&'a str>,
    /// The client address, if known.
    pub ip: Option<&'a str>,
    /// The evaluation instant, Unix seconds.
    pub now: i64,
}

/// A borrowed view of an operand's value.
#[derive(Clone, Copy, Debug)]
enum Seen<'a> {
    Value(&'a Value),
    Str(&'a str),
}

impl<'a> Seen<'a> {
    fn eq(self, other: Seen<'_>) -> bool {
        match (self, other) {
            (Seen::Str(a), Seen::Str(b)) => a == b,
            (Seen::Str(a), Seen::Value(Value::Str(b)))
            | (Seen::Value(Value::Str(b)), Seen::Str(a)) => a == b,
            (Seen::Value(a), Seen::Value(b)) => a == b,
            _ => false,
        }
    }
}

impl<'a> Scope<'a> {
    fn read(&self, attr: &'a AttrRef) -> Option<Seen<'a>> {
        let name = attr.name.as_str();
        match attr.subject {
            Subject::Principal if name == "id" => Some(Seen::Str(self.principal_id)),
            Subject::Principal => self.principal.get(name).map(Seen::Value),
            Subject::Resource => match name {
                "type" => Some(Seen::Str(self.resource_type)),
                "id" => self.resource_id.map(Seen::Str),
                "env" => self.env_id.map(Seen::Str),
                _ => self.resource.get(name).map(Seen::Value),
            },
            Subject::Env if name == "id" => self.env_id.map(Seen::Str),
            Subject::Env => self.env.get(name).map(Seen::Value),
            Subject::Context => match name {
                "method" => self.method.map(Seen::Str),
                "ip" => self.ip.map(Seen::Str),
                _ => None,
            },
        }
    }

    fn operand(&self, op: &'a Operand) -> Option<Seen<'a>> {
        match op {
            Operand::Attr(a) => self.read(a),
            Operand::Literal(v) => Some(Seen::Value(v)),
        }
    }
}

/// Evaluates a condition; `None` means it could not be evaluated.
pub fn evaluate(cond: &Condition, scope: &Scope<'_>) -> Option<bool> {
    match cond {
        Condition::All(children) => {
            let mut all = true;
            for c in children {
                all &= evaluate(c, scope)?;
            }
            Some(all)
        }
        Condition::Any(children) => {
            let mut any = false;
            for c in children {
                any |= evaluate(c, scope)?;
            }
            Some(any)
        }
        Condition::Not(c) => evaluate(c, scope).map(|b| !b),
        Condition::Eq(a, b) => Some(scope.operand(a)?.eq(scope.operand(b)?)),
        Condition::In(a, b) => {
            let Seen::Value(Value::List(haystack)) = scope.operand(b)? else {
                return None;
            };
            let contains = |needle: Seen<'_>| haystack.iter().any(|h| needle.eq(Seen::Value(h)));
            match scope.operand(a)? {
                Seen::Value(Value::List(needles)) => {
                    Some(needles.iter().all(|n| contains(Seen::Value(n))))
                }
                needle => Some(contains(needle)),
            }
        }
        Condition::Has(attr) => Some(scope.read(attr).is_some()),
        Condition::Time { after, before } => {
            Some(after.is_none_or(|a| scope.now >= a) && before.is_none_or(|b| scope.now < b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(s: &str) -> Operand {
        Operand::Attr(AttrRef::parse(s).unwrap())
    }

    #[test]
    fn membership_and_missing_attributes() {
        let mut principal = Attrs::new();
        principal.insert(
            "factories".into(),
            Value::List(vec!["f1".into(), "f2".into()]),
        );
        let mut resource = Attrs::new();
        resource.insert("factory".into(), "f2".into());
        let empty = Attrs::new();
        let scope = Scope {
            principal_id: "maria",
            principal: &principal,
            resource_type: "factory",
            resource_id: Some("f2"),
            env_id: None,
            resource: &resource,
            env: &empty,
            method: None,
            ip: None,
            now: 100,
        };
        let c = Condition::In(attr("resource.factory"), attr("principal.factories"));
        assert_eq!(evaluate(&c, &scope), Some(true));
        let c = Condition::In(attr("resource.id"), attr("principal.factories"));
        assert_eq!(evaluate(&c, &scope), Some(true));
        let missing = Condition::Not(Box::new(Condition::Eq(
            attr("resource.region"),
            Operand::Literal("eu".into()),
        )));
        assert_eq!(
            evaluate(&missing, &scope),
            None,
            "a missing attribute is never read as false"
        );
        let t = Condition::Time {
            after: Some(50),
            before: Some(100),
        };
        assert_eq!(evaluate(&t, &scope), Some(false));
        assert_eq!(Condition::All(vec![t.clone(), missing]).depth(), 3);
    }
}
