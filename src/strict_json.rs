//! A strict pre-check for untrusted JSON: duplicate member names and deep nesting are errors.
//!
//! `serde_json` keeps the last of two equal member names and ignores unknown ones, so a
//! token such as `{"sub":"alice","sub":"admin"}` could be read differently by two parsers.
//! Portcullis refuses it before reading any field.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Why a JSON document was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StrictJsonError {
    /// Not valid JSON.
    Syntax,
    /// A member name appears twice in one object.
    DuplicateMember(String),
    /// Objects and arrays nest deeper than allowed.
    TooDeep,
}

impl fmt::Display for StrictJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StrictJsonError::Syntax => write!(f, "not valid JSON"),
            StrictJsonError::DuplicateMember(name) => write!(f, "member `{name}` appears twice"),
            StrictJsonError::TooDeep => write!(f, "nested too deeply"),
        }
    }
}

struct Walk<'a> {
    depth: usize,
    max_depth: usize,
    found: &'a mut Option<StrictJsonError>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.depth >= self.max_depth {
            *self.found = Some(StrictJsonError::TooDeep);
            return Err(de::Error::custom("too deep"));
        }
        while seq
            .next_element_seed(Walk {
                depth: self.depth + 1,
                max_depth: self.max_depth,
                found: &mut *self.found,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.depth >= self.max_depth {
            *self.found = Some(StrictJsonError::TooDeep);
            return Err(de::Error::custom("too deep"));
        }
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                *self.found = Some(StrictJsonError::DuplicateMember(key));
                return Err(de::Error::custom("duplicate member"));
            }
            map.next_value_seed(Walk {
                depth: self.depth + 1,
                max_depth: self.max_depth,
                found: &mut *self.found,
            })?;
        }
        Ok(())
    }
}

/// Checks that `bytes` is one JSON value with no duplicate member names, nested at most
/// `max_depth` levels.
pub fn check(bytes: &[u8], max_depth: usize) -> Result<(), StrictJsonError> {
    let mut found = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let walked = Walk {
        depth: 0,
        max_depth,
        found: &mut found,
    }
    .deserialize(&mut de);
    if let Some(err) = found {
        return Err(err);
    }
    walked.map_err(|_| StrictJsonError::Syntax)?;
    de.end().map_err(|_| StrictJsonError::Syntax)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_duplicates_and_depth() {
        assert_eq!(check(br#"{"a":1,"b":{"a":2}}"#, 4), Ok(()));
        assert_eq!(
            check(br#"{"sub":"a","sub":"b"}"#, 4),
            Err(StrictJsonError::DuplicateMember("sub".into()))
        );
        assert_eq!(
            check(br#"{"a":{"b":{"c":[1]}}}"#, 3),
            Err(StrictJsonError::TooDeep)
        );
        assert_eq!(check(br#"{"a":1} x"#, 4), Err(StrictJsonError::Syntax));
        assert_eq!(check(&[b'['; 10_000], 8), Err(StrictJsonError::TooDeep));
    }
}
