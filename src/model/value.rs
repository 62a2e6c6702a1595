//! Attribute values carried by principals, resources, environments and request contexts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Most nesting an attribute value may have (a list of scalars is depth 2).
pub const MAX_VALUE_DEPTH: usize = 2;

/// An attribute value: a string, an integer, a boolean or a list of scalars.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// `true` or `false`.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A UTF-8 string.
    Str(String),
    /// A list of values.
    List(Vec<Value>),
}

impl Value {
    /// How deeply lists nest in this value (a scalar is depth 1).
    pub fn depth(&self) -> usize {
        match self {
            Value::List(items) => 1 + items.iter().map(Value::depth).max().unwrap_or(0),
            _ => 1,
        }
    }

    /// The value as a string slice, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A short name of this value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Str(_) => "string",
            Value::List(_) => "list",
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

/// Named attributes, ordered by name.
pub type Attrs = BTreeMap<String, Value>;
