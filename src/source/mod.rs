//! The policy source: readable JSON, compiled into one [`PolicyData`] per organization.
//!
//! The format is documented in `docs/policy.md` and described by
//! `schema/policy.schema.json`. Every compile error names the place with a JSON pointer,
//! says what is wrong and, where it can, what would be right.

mod compile;
mod conditions;
mod error;
mod org;
mod suggest;
mod types;

use compile::{valid_id, Compiler};
pub use error::{CompileError, PolicyError};
use suggest::closest;
pub use types::*;

use std::collections::{HashMap, HashSet};

use crate::model::*;
use crate::time::parse_rfc3339;
use crate::token::{Issuer, TokenKind, TrustedKey, MAX_LEEWAY};

/// Largest policy source accepted, in bytes.
pub const MAX_SOURCE_BYTES: usize = 64 * 1024 * 1024;

/// Parses a policy source, reporting the JSON pointer of the first shape error.
pub fn parse_source(json: &[u8]) -> Result<PolicySource, PolicyError> {
    let one = |pointer: String, message: String| PolicyError {
        errors: vec![CompileError {
            pointer,
            message,
            hint: None,
        }],
    };
    if json.len() > MAX_SOURCE_BYTES {
        return Err(one(
            String::new(),
            format!("policy source is larger than {MAX_SOURCE_BYTES} bytes"),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let parsed: Result<PolicySource, _> = serde_path_to_error::deserialize(&mut de);
    match parsed {
        Ok(source) => match de.end() {
            Ok(()) => Ok(source),
            Err(e) => Err(one(String::new(), e.to_string())),
        },
        Err(e) => {
            let pointer = path_to_pointer(e.path());
            let message = e.into_inner().to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            Err(one(pointer, message))
        }
    }
}

fn path_to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        out.push('/');
        match seg {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push_str(&key.replace('~', "~0").replace('/', "~1"))
            }
            Segment::Unknown => out.push('?'),
        }
    }
    out
}

/// Compiles a policy source into one policy per organization, in source order.
pub fn compile(source: &PolicySource) -> Result<Vec<PolicyData>, PolicyError> {
    let mut c = Compiler { errors: Vec::new() };
    let out = c.compile(source);
    if c.errors.is_empty() {
        Ok(out)
    } else {
        Err(PolicyError { errors: c.errors })
    }
}

/// Parses and compiles, then indexes each organization's policy.
pub fn compile_json(json: &[u8]) -> Result<Vec<Policy>, PolicyError> {
    let source = parse_source(json)?;
    let data = compile(&source)?;
    data.into_iter()
        .map(|d| {
            let org = d.org.clone();
            Policy::new(d).map_err(|e| PolicyError {
                errors: vec![CompileError {
                    pointer: format!("/orgs/{org}"),
                    message: e.to_string(),
                    hint: None,
                }],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bind_everyone_and_rule_ids_are_derived() {
        let source = parse_source(crate::testing::source().to_string().as_bytes()).unwrap();
        let mut source = source;
        source.orgs[0].defaults.push(DefaultSource {
            id: None,
            role: "editor".into(),
            env: Some("dev".into()),
            when: None,
        });
        let data = compile(&source).unwrap().remove(0);
        let ids: Vec<&str> = data.bindings.iter().map(|b| &*b.id).collect();
        assert_eq!(
            ids,
            [
                "olga:owner",
                "mia:member",
                "writers:editor@*",
                "bot:member",
                "default:editor@dev"
            ]
        );
        let last = data.bindings.last().unwrap();
        assert_eq!(
            (last.target, last.env),
            (Target::Everyone, Some(EnvSelector::One(0)))
        );
        assert_eq!(data.bindings[2].env, Some(EnvSelector::All));
    }

    #[test]
    fn closest_suggests_only_near_names() {
        assert_eq!(
            closest("Admn", ["Admin", "Read"].into_iter()),
            Some("Admin")
        );
        assert_eq!(closest("zzzz", ["Admin", "Read"].into_iter()), None);
    }

    #[test]
    fn trailing_bytes_after_the_document_are_an_error() {
        let err = parse_source(b"{\"permissions\": {}, \"orgs\": []} x").unwrap_err();
        assert_eq!(err.errors.len(), 1);
    }
}
