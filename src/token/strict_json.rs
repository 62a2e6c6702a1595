//! A strict reader for the untrusted JSON of token segments: duplicate member names and deep
//! nesting are errors, and the document is read into a small tree in one pass.
//!
//! `serde_json` keeps the last of two equal member names and ignores unknown ones, so a
//! token such as `{"sub":"alice","sub":"admin"}` could be read differently by two parsers.
//! Portcullis refuses it before reading any field. The reader is written out by hand rather
//! than derived: a token's header and claims are a handful of flat members, and a small
//! parser is quicker to run and, in WebAssembly, quicker to compile on a cold start.
//!
//! It accepts exactly the JSON of RFC 8259 (UTF-8, no comments, no trailing commas, no
//! `NaN`), the same documents `serde_json` accepts, and reads them to the same values.

use std::fmt;

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

impl std::error::Error for StrictJsonError {}

/// A JSON value as [`parse`] reads it.
#[derive(Clone, Debug, PartialEq)]
pub enum JsonValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number written without fraction or exponent that fits an `i64`.
    Int(i64),
    /// Any other number (always finite).
    Float(f64),
    /// A string, escapes resolved.
    Str(String),
    /// An array.
    Array(Vec<JsonValue>),
    /// An object's members in document order (names are unique).
    Object(Vec<(String, JsonValue)>),
}

/// Reads `bytes` as one JSON value with no duplicate member names, containers nested at most
/// `max_depth` levels (the outermost object or array is level 0).
pub fn parse(bytes: &[u8], max_depth: usize) -> Result<JsonValue, StrictJsonError> {
    let text = std::str::from_utf8(bytes).map_err(|_| StrictJsonError::Syntax)?;
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        max_depth,
    };
    let value = reader.value(0)?;
    reader.skip_whitespace();
    if reader.pos != reader.bytes.len() {
        return Err(StrictJsonError::Syntax);
    }
    Ok(value)
}

struct Reader<'a> {
    /// The input, valid UTF-8: a run between quotes and escapes is sliced from it, never
    /// validated again.
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Takes `byte` as the next byte, or fails with a syntax error.
    fn consume(&mut self, byte: u8) -> Result<(), StrictJsonError> {
        if self.next() == Some(byte) {
            Ok(())
        } else {
            Err(StrictJsonError::Syntax)
        }
    }

    fn value(&mut self, depth: usize) -> Result<JsonValue, StrictJsonError> {
        self.skip_whitespace();
        match self.peek().ok_or(StrictJsonError::Syntax)? {
            b'{' | b'[' if depth >= self.max_depth => Err(StrictJsonError::TooDeep),
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => self.string().map(JsonValue::Str),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal("true", JsonValue::Bool(true)),
            b'f' => self.literal("false", JsonValue::Bool(false)),
            b'n' => self.literal("null", JsonValue::Null),
            _ => Err(StrictJsonError::Syntax),
        }
    }

    fn literal(&mut self, word: &str, value: JsonValue) -> Result<JsonValue, StrictJsonError> {
        let end = self.pos + word.len();
        if self.bytes.get(self.pos..end) != Some(word.as_bytes()) {
            return Err(StrictJsonError::Syntax);
        }
        self.pos = end;
        Ok(value)
    }

    fn object(&mut self, depth: usize) -> Result<JsonValue, StrictJsonError> {
        self.consume(b'{')?;
        let mut members: Vec<(String, JsonValue)> = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(JsonValue::Object(members));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(StrictJsonError::Syntax);
            }
            let name = self.string()?;
            self.skip_whitespace();
            self.consume(b':')?;
            let value = self.value(depth + 1)?;
            members.push((name, value));
            self.skip_whitespace();
            match self.next() {
                Some(b',') => continue,
                Some(b'}') => break,
                _ => return Err(StrictJsonError::Syntax),
            }
        }
        if let Some(name) = first_duplicate(&members) {
            return Err(StrictJsonError::DuplicateMember(name.to_owned()));
        }
        Ok(JsonValue::Object(members))
    }

    fn array(&mut self, depth: usize) -> Result<JsonValue, StrictJsonError> {
        self.consume(b'[')?;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(JsonValue::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_whitespace();
            match self.next() {
                Some(b',') => continue,
                Some(b']') => return Ok(JsonValue::Array(items)),
                _ => return Err(StrictJsonError::Syntax),
            }
        }
    }

    /// A string from its opening quote; the input is valid UTF-8, and runs between escapes
    /// are copied whole. Quotes and backslashes are ASCII, so every run starts and ends on a
    /// character boundary.
    fn string(&mut self) -> Result<String, StrictJsonError> {
        self.consume(b'"')?;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            out.push_str(
                self.text
                    .get(start..self.pos)
                    .ok_or(StrictJsonError::Syntax)?,
            );
            match self.next() {
                Some(b'"') => return Ok(out),
                Some(b'\\') => out.push(self.escape()?),
                // A control character, or the end of the input.
                _ => return Err(StrictJsonError::Syntax),
            }
        }
    }

    /// The character of an escape, after its backslash.
    fn escape(&mut self) -> Result<char, StrictJsonError> {
        Ok(match self.next().ok_or(StrictJsonError::Syntax)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                let code = match first {
                    0xD800..=0xDBFF => {
                        // A high surrogate must be followed by an escaped low one.
                        self.consume(b'\\')?;
                        self.consume(b'u')?;
                        let second = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return Err(StrictJsonError::Syntax);
                        }
                        0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err(StrictJsonError::Syntax),
                    _ => first,
                };
                char::from_u32(code).ok_or(StrictJsonError::Syntax)?
            }
            _ => return Err(StrictJsonError::Syntax),
        })
    }

    fn hex4(&mut self) -> Result<u32, StrictJsonError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self
                .next()
                .and_then(|b| char::from(b).to_digit(16))
                .ok_or(StrictJsonError::Syntax)?;
            code = code * 16 + digit;
        }
        Ok(code)
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<JsonValue, StrictJsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(StrictJsonError::Syntax),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(StrictJsonError::Syntax);
            }
            integer = false;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(StrictJsonError::Syntax);
            }
            integer = false;
        }
        let text = self
            .bytes
            .get(start..self.pos)
            .and_then(|b| std::str::from_utf8(b).ok())
            .ok_or(StrictJsonError::Syntax)?;
        if integer {
            match text.parse::<i64>() {
                // `-0` is the float negative zero, as in serde_json.
                Ok(0) if text.starts_with('-') => {}
                Ok(i) => return Ok(JsonValue::Int(i)),
                Err(_) => {}
            }
        }
        float(text)
    }
}

/// A member name that appears twice, if any (sorted, so that a large object costs
/// `n log n`, not `n²`).
fn first_duplicate(members: &[(String, JsonValue)]) -> Option<&str> {
    let mut names: Vec<&str> = members.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    names.windows(2).find_map(|pair| match pair {
        [a, b] if a == b => Some(*a),
        _ => None,
    })
}

/// A number that is not a small integer; out of the range of `f64` it is an error, as in
/// `serde_json`.
#[inline(never)]
fn float(text: &str) -> Result<JsonValue, StrictJsonError> {
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(JsonValue::Float(f)),
        _ => Err(StrictJsonError::Syntax),
    }
}

/// Whether `ours` is the value `serde_json` reads as `theirs`: the same tree, the same
/// strings, integers as integers; floats equal up to one unit in the last place, as
/// `serde_json`'s default float parsing may round differently. For differential tests and
/// fuzzing.
pub fn agrees_with(ours: &JsonValue, theirs: &serde_json::Value) -> bool {
    match (ours, theirs) {
        (JsonValue::Null, serde_json::Value::Null) => true,
        (JsonValue::Bool(a), serde_json::Value::Bool(b)) => a == b,
        (JsonValue::Int(a), serde_json::Value::Number(b)) => b.as_i64() == Some(*a),
        (JsonValue::Float(a), serde_json::Value::Number(b)) => {
            b.as_i64().is_none()
                && b.as_f64()
                    .is_some_and(|x| x == *a || (x - a).abs() <= a.abs() * 1e-15)
        }
        (JsonValue::Str(a), serde_json::Value::String(b)) => a == b,
        (JsonValue::Array(a), serde_json::Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| agrees_with(x, y))
        }
        (JsonValue::Object(a), serde_json::Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(name, v)| b.get(name).is_some_and(|w| agrees_with(v, w)))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn refuses_duplicates_and_depth() {
        let check = |bytes: &[u8], depth| parse(bytes, depth).map(|_| ());
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

    #[test]
    fn reads_what_json_means() {
        let doc = br#" { "s" : "a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00z", "n": -12, "f": 1.5e3,
            "big": 18446744073709551616, "t": true, "no": false, "x": null, "l": [ ] } "#;
        let JsonValue::Object(members) = parse(doc, 4).unwrap() else {
            panic!("not an object")
        };
        let get = |name: &str| {
            members
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            get("s"),
            Some(JsonValue::Str(
                "a\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{1F600}z".into()
            ))
        );
        assert_eq!(get("n"), Some(JsonValue::Int(-12)));
        assert_eq!(parse(b"-0", 4), Ok(JsonValue::Float(-0.0)));
        assert_eq!(get("f"), Some(JsonValue::Float(1500.0)));
        assert_eq!(get("big"), Some(JsonValue::Float(18446744073709551616.0)));
        assert_eq!(get("t"), Some(JsonValue::Bool(true)));
        assert_eq!(get("no"), Some(JsonValue::Bool(false)));
        assert_eq!(get("x"), Some(JsonValue::Null));
        assert_eq!(get("l"), Some(JsonValue::Array(vec![])));
    }

    #[test]
    fn refuses_what_json_does_not_allow() {
        for bad in [
            &b""[..],
            b"{",
            b"{\"a\":1,}",
            b"[1,]",
            b"{'a':1}",
            b"{\"a\":01}",
            b"{\"a\":1.}",
            b"{\"a\":.5}",
            b"{\"a\":+1}",
            b"{\"a\":1e}",
            b"{\"a\":-}",
            b"{\"a\":1e999}",
            b"{\"a\":NaN}",
            b"{\"a\":tru}",
            b"{\"a\":\"\\ud800\"}",
            b"{\"a\":\"\\udc00\"}",
            b"{\"a\":\"\\ud800\\u0041\"}",
            b"{\"a\":\"\\x41\"}",
            b"{\"a\":\"tab\there\"}",
            b"{\"a\":\"\xff\"}",
            b"{\"a\" 1}",
            b"{1:1}",
            b"{\"a\":1}/* */",
        ] {
            assert_eq!(
                parse(bad, 4),
                Err(StrictJsonError::Syntax),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    fn arbitrary_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|i| serde_json::json!(i)),
            any::<u64>().prop_map(|i| serde_json::json!(i)),
            (-1e300f64..1e300).prop_map(|f| serde_json::json!(f)),
            "\\PC{0,12}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::btree_map("[a-z\u{e9}\"\\\\]{0,4}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any document serde_json writes, compact or pretty, reads back to the same value.
        #[test]
        fn reads_what_serde_json_writes(value in arbitrary_json()) {
            for text in [serde_json::to_vec(&value).unwrap(), serde_json::to_vec_pretty(&value).unwrap()] {
                let ours = parse(&text, 8).unwrap();
                prop_assert!(agrees_with(&ours, &value), "{} read as {:?}", String::from_utf8_lossy(&text), ours);
            }
        }

        /// On arbitrary bytes the two parsers agree on what is JSON (no duplicates at this
        /// depth can arise from so few bytes without being seen by both).
        #[test]
        fn accepts_what_serde_json_accepts(text in "[\\[\\]{}\",:0-9eE.+\\-a-z\\\\ ]{0,24}") {
            let ours = parse(text.as_bytes(), 64);
            let theirs = serde_json::from_str::<serde_json::Value>(&text);
            match (&ours, &theirs) {
                (Ok(a), Ok(b)) => prop_assert!(agrees_with(a, b)),
                (Err(StrictJsonError::DuplicateMember(_)), Ok(_)) => {}
                (Err(_), Err(_)) => {}
                _ => prop_assert!(false, "{text:?}: ours {ours:?}, serde_json {theirs:?}"),
            }
        }
    }
}
