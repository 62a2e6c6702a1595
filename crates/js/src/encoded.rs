//! Requests encoded as numbers: what the package's fast path sends for `check` with attributes
//! and for `checkMany`, so that a request crosses into wasm as one `Uint32Array` instead of a
//! JavaScript object read field by field.
//!
//! A request is, in 32-bit words: the interned numbers of its action, resource type,
//! environment, id and organization (0: absent), the number of its resource attributes, then
//! each attribute as its name's interned number followed by its value. A value is a tag and a
//! payload: `1, n` a string (interned number `n`), `2, 0|1` a boolean, `3, i` an integer
//! (`i` as a 32-bit two's complement), `4, len` a list of `len` scalars, each a tag and a
//! payload. The package encodes only what the general path reads the same way: strings,
//! booleans, integers within 32 bits and lists of those; anything else goes to the general
//! path. A batch is requests one after the other.

use portcullis::model::{Attrs, Value};

/// The tag of a string value.
pub const STRING: u32 = 1;
/// The tag of a boolean value.
pub const BOOLEAN: u32 = 2;
/// The tag of an integer value.
pub const INTEGER: u32 = 3;
/// The tag of a list value.
pub const LIST: u32 = 4;

/// Most attributes one encoded request may have, and most elements one list may have: more
/// is the general path's to read.
pub const MAX_ENCODED_ATTRS: u32 = 64;

/// Encoded words, read front to back.
pub struct Words<'w> {
    rest: &'w [u32],
}

impl<'w> Words<'w> {
    /// Reads `words` from the start.
    pub fn new(words: &'w [u32]) -> Self {
        Words { rest: words }
    }

    /// Whether every word has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next word.
    pub fn next_word(&mut self) -> Option<u32> {
        let (&word, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(word)
    }

    /// The next five words: a request's names.
    pub fn names(&mut self) -> Option<[u32; 5]> {
        Some([
            self.next_word()?,
            self.next_word()?,
            self.next_word()?,
            self.next_word()?,
            self.next_word()?,
        ])
    }

    /// Reads a request's attributes into `attrs`, with `text` giving an interned number's
    /// text. `names` are the interned numbers of `attrs`' names, in the order the last request
    /// gave them: when this request has the same names in the same order (as requests built by
    /// one piece of code do), their values are overwritten in place and nothing is allocated;
    /// otherwise `attrs` and `names` are built anew. `None` when the words are not a
    /// well-formed encoding or name a number `text` does not know: the general path then
    /// decides, and `attrs` and `names` are left empty.
    pub fn attrs<'t>(
        &mut self,
        attrs: &mut Attrs,
        names: &mut Vec<u32>,
        text: impl Fn(u32) -> Option<&'t str>,
    ) -> Option<()> {
        let read = self.read_attrs(attrs, names, &text);
        if read.is_none() {
            attrs.clear();
            names.clear();
        }
        read
    }

    fn read_attrs<'t>(
        &mut self,
        attrs: &mut Attrs,
        names: &mut Vec<u32>,
        text: &impl Fn(u32) -> Option<&'t str>,
    ) -> Option<()> {
        let count = self.next_word()?;
        if count > MAX_ENCODED_ATTRS {
            return None;
        }
        let start = self.rest;
        if names.len() == count as usize && self.overwrite(attrs, names, text).is_some() {
            return Some(());
        }
        self.rest = start;
        attrs.clear();
        names.clear();
        for _ in 0..count {
            let name = self.next_word()?;
            let mut value = Value::Bool(false);
            self.value(&mut value, text)?;
            if attrs.insert(text(name)?.to_owned(), value).is_some() {
                return None; // a name twice: no JavaScript object has that
            }
            names.push(name);
        }
        Some(())
    }

    /// Overwrites the values of `attrs`, whose names are `names`, in place: `None` (with the
    /// reader somewhere in the words) when a name differs or the words are malformed.
    fn overwrite<'t>(
        &mut self,
        attrs: &mut Attrs,
        names: &[u32],
        text: &impl Fn(u32) -> Option<&'t str>,
    ) -> Option<()> {
        for &expected in names {
            if self.next_word()? != expected {
                return None;
            }
            let slot = attrs.get_mut(text(expected)?)?;
            self.value(slot, text)?;
        }
        Some(())
    }

    /// Reads one value into `slot`, reusing the capacity of the string or list there.
    fn value<'t>(
        &mut self,
        slot: &mut Value,
        text: &impl Fn(u32) -> Option<&'t str>,
    ) -> Option<()> {
        let tag = self.next_word()?;
        if tag != LIST {
            return self.scalar(tag, slot, text);
        }
        let len = self.next_word()?;
        if len > MAX_ENCODED_ATTRS {
            return None;
        }
        if !matches!(slot, Value::List(_)) {
            *slot = Value::List(Vec::with_capacity(len as usize));
        }
        let Value::List(items) = slot else {
            return None;
        };
        items.truncate(len as usize);
        for i in 0..len as usize {
            let tag = self.next_word()?;
            match items.get_mut(i) {
                Some(item) => self.scalar(tag, item, text)?,
                None => {
                    let mut item = Value::Bool(false);
                    self.scalar(tag, &mut item, text)?;
                    items.push(item);
                }
            }
        }
        Some(())
    }

    /// Reads a scalar of `tag` into `slot`, reusing the capacity of a string there.
    fn scalar<'t>(
        &mut self,
        tag: u32,
        slot: &mut Value,
        text: &impl Fn(u32) -> Option<&'t str>,
    ) -> Option<()> {
        let payload = self.next_word()?;
        match tag {
            STRING => {
                let value = text(payload)?;
                match slot {
                    Value::Str(s) => {
                        s.clear();
                        s.push_str(value);
                    }
                    _ => *slot = Value::Str(value.to_owned()),
                }
            }
            BOOLEAN if payload <= 1 => *slot = Value::Bool(payload == 1),
            INTEGER => *slot = Value::Int(i64::from(payload as i32)),
            _ => return None,
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const TEXTS: [&str; 4] = ["region", "eu", "tags", "hr"];

    fn text(n: u32) -> Option<&'static str> {
        n.checked_sub(1)
            .and_then(|i| TEXTS.get(i as usize))
            .copied()
    }

    fn read(words: &[u32]) -> Option<Attrs> {
        let mut attrs = Attrs::new();
        attrs.insert("stale".into(), Value::Bool(true));
        let mut names = vec![9];
        let mut w = Words::new(words);
        let read = w.attrs(&mut attrs, &mut names, text);
        if read.is_none() {
            assert!(attrs.is_empty() && names.is_empty(), "left empty");
            return None;
        }
        assert_eq!(names.len(), attrs.len());
        w.is_empty().then_some(attrs)
    }

    #[test]
    fn every_kind_of_value_reads_back() {
        let attrs = read(&[
            4,
            1,
            STRING,
            2,
            3,
            LIST,
            2,
            STRING,
            4,
            INTEGER,
            u32::MAX,
            2,
            BOOLEAN,
            1,
            4,
            INTEGER,
            7,
        ])
        .unwrap();
        assert_eq!(attrs["region"], Value::Str("eu".into()));
        assert_eq!(
            attrs["tags"],
            Value::List(vec![Value::Str("hr".into()), Value::Int(-1)])
        );
        assert_eq!(attrs["eu"], Value::Bool(true));
        assert_eq!(attrs["hr"], Value::Int(7));
        assert_eq!(attrs.len(), 4, "the stale attribute is gone");
    }

    #[test]
    fn no_attributes_empties_the_map() {
        assert_eq!(read(&[0]).unwrap(), Attrs::new());
    }

    #[test]
    fn malformed_words_ask_the_general_path() {
        for words in [
            &[][..],
            &[1],
            &[1, 1],
            &[1, 1, STRING],
            &[1, 9, STRING, 2],
            &[1, 1, STRING, 9],
            &[1, 1, BOOLEAN, 2],
            &[1, 1, 9, 0],
            &[1, 1, LIST, 1, LIST, 0],
            &[1, 1, LIST, 2, STRING, 2],
            &[MAX_ENCODED_ATTRS + 1],
            &[1, 1, LIST, MAX_ENCODED_ATTRS + 1],
            &[2, 1, BOOLEAN, 0, 1, BOOLEAN, 1],
        ] {
            assert!(read(words).is_none(), "{words:?}");
        }
    }

    /// Reads `words` after the request before left `attrs` and `names`, checking the outcome is
    /// what a fresh read gives.
    fn read_after(attrs: &mut Attrs, names: &mut Vec<u32>, words: &[u32]) {
        let mut w = Words::new(words);
        w.attrs(attrs, names, text).unwrap();
        assert!(w.is_empty());
        assert_eq!(Some(attrs.clone()), read(words), "{words:?}");
        assert_eq!(names.len(), attrs.len());
    }

    #[test]
    fn a_request_after_another_reads_the_same_as_a_fresh_one() {
        let (mut attrs, mut names) = (Attrs::new(), Vec::new());
        let sequence: [&[u32]; 8] = [
            &[2, 1, STRING, 2, 3, LIST, 2, STRING, 4, STRING, 2],
            // Same names, other values: overwritten in place, the list shorter, then longer.
            &[2, 1, STRING, 4, 3, LIST, 1, INTEGER, 5],
            &[
                2, 1, BOOLEAN, 1, 3, LIST, 3, STRING, 2, BOOLEAN, 0, STRING, 4,
            ],
            // A scalar where a list was, and back.
            &[2, 1, LIST, 1, STRING, 2, 3, INTEGER, 7],
            &[2, 1, STRING, 2, 3, LIST, 0],
            // Other names, fewer, more, the same in another order.
            &[1, 2, BOOLEAN, 1],
            &[3, 1, INTEGER, 1, 2, INTEGER, 2, 3, INTEGER, 3],
            &[3, 3, INTEGER, 1, 2, INTEGER, 2, 1, INTEGER, 3],
        ];
        for words in sequence {
            read_after(&mut attrs, &mut names, words);
        }
        read_after(&mut attrs, &mut names, &[0]);
        assert!(attrs.is_empty());
    }

    #[test]
    fn a_malformed_request_after_another_leaves_nothing_behind() {
        let (mut attrs, mut names) = (Attrs::new(), Vec::new());
        read_after(&mut attrs, &mut names, &[1, 1, STRING, 2]);
        // The same name, then a value that cannot be read.
        let mut w = Words::new(&[1, 1, STRING, 99]);
        assert!(w.attrs(&mut attrs, &mut names, text).is_none());
        assert!(attrs.is_empty() && names.is_empty());
    }

    #[test]
    fn names_take_five_words() {
        let mut w = Words::new(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(w.names(), Some([1, 2, 3, 4, 5]));
        assert_eq!(w.next_word(), Some(6));
        assert!(w.is_empty());
        assert_eq!(Words::new(&[1, 2, 3, 4]).names(), None);
    }
}
