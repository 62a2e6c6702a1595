//! The look-up structures of an indexed policy, built with a handful of allocations however
//! large the bundle: loading is on the path of every bundle refresh.
//!
//! - [`IdIndex`] finds a table entry by its string id. It stores entry numbers, not strings:
//!   an open-addressing table of `u64` slots (32 bits of the hash, the entry number + 1), so
//!   building it copies no id and a look-up compares strings only on a hash match.
//! - [`Lists`] holds one list of numbers per owner (the bindings that name a member, say) in
//!   two flat vectors: offsets and items.

use std::hash::Hasher;

use rustc_hash::FxHasher;

/// The hash of an id. FxHash mixes its low bits poorly and the slot comes from them, so the
/// result goes through a finalizer (MurmurHash3's `fmix64`).
#[inline]
fn hash(id: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(id.as_bytes());
    h.write_usize(id.len());
    let mut h = h.finish();
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// Entries by string id, for a table whose ids live elsewhere (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct IdIndex {
    slots: Vec<u64>,
}

impl IdIndex {
    /// Indexes `entries` (entry number and id). `id_of` gives the id of an entry already
    /// indexed. `Err` carries the first id seen twice.
    ///
    /// The ids are hashed in one pass and placed in a second: reading a hundred thousand ids
    /// (each in an allocation of its own) goes at the memory's pace when nothing else waits on
    /// each read, and placing needs only the hashes.
    pub fn build<'a>(
        expected: usize,
        entries: impl IntoIterator<Item = (u32, &'a str)>,
        id_of: impl Fn(u32) -> Option<&'a str>,
    ) -> Result<IdIndex, &'a str> {
        let mut hashed = Vec::with_capacity(expected);
        hashed.extend(entries.into_iter().map(|(entry, id)| (entry, hash(id))));
        let len = hashed.len().saturating_mul(2).max(8).next_power_of_two();
        let mut index = IdIndex {
            slots: vec![0; len],
        };
        let mask = len - 1;
        for (entry, h) in hashed {
            let mut at = (h as usize) & mask;
            while let Some(slot) = index.slots.get_mut(at) {
                if *slot == 0 {
                    *slot = (h & 0xFFFF_FFFF_0000_0000) | (u64::from(entry) + 1);
                    break;
                }
                if *slot >> 32 == h >> 32 {
                    if let Some(id) = id_of(entry) {
                        if id_of((*slot as u32).wrapping_sub(1)) == Some(id) {
                            return Err(id);
                        }
                    }
                }
                at = (at + 1) & mask;
            }
        }
        Ok(index)
    }

    /// The entry whose id is `id`.
    #[inline]
    pub fn get<'a>(&self, id: &str, id_of: impl Fn(u32) -> Option<&'a str>) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let h = hash(id);
        let mask = self.slots.len() - 1;
        let mut at = (h as usize) & mask;
        loop {
            let slot = *self.slots.get(at)?;
            if slot == 0 {
                return None;
            }
            let entry = (slot as u32).wrapping_sub(1);
            if slot >> 32 == h >> 32 && id_of(entry) == Some(id) {
                return Some(entry);
            }
            at = (at + 1) & mask;
        }
    }
}

/// One list of numbers per owner, in two flat vectors (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Lists {
    /// `offsets[o]..offsets[o + 1]` is owner `o`'s part of `items`.
    offsets: Vec<u32>,
    items: Vec<u32>,
}

impl Lists {
    /// Lists for `owners` owners from `(owner, item)` pairs, each list in the pairs' order.
    /// Pairs whose owner is out of range are left out.
    pub fn build<I>(owners: usize, pairs: I) -> Lists
    where
        I: IntoIterator<Item = (u32, u32)>,
        I::IntoIter: Clone,
    {
        let pairs = pairs.into_iter();
        let mut offsets = vec![0u32; owners + 1];
        for (owner, _) in pairs.clone() {
            if let Some(n) = offsets.get_mut(owner as usize + 1) {
                *n += 1;
            }
        }
        for i in 1..offsets.len() {
            let before = offsets.get(i - 1).copied().unwrap_or(0);
            if let Some(n) = offsets.get_mut(i) {
                *n += before;
            }
        }
        let total = offsets.last().copied().unwrap_or(0) as usize;
        let mut items = vec![0u32; total];
        let mut cursor: Vec<u32> = offsets.iter().take(owners).copied().collect();
        for (owner, item) in pairs {
            if let Some(at) = cursor.get_mut(owner as usize) {
                if let Some(slot) = items.get_mut(*at as usize) {
                    *slot = item;
                }
                *at += 1;
            }
        }
        Lists { offsets, items }
    }

    /// Owner `o`'s list (empty when out of range).
    #[inline]
    pub fn of(&self, owner: u32) -> &[u32] {
        let o = owner as usize;
        match (self.offsets.get(o), self.offsets.get(o + 1)) {
            (Some(&start), Some(&end)) => {
                self.items.get(start as usize..end as usize).unwrap_or(&[])
            }
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_found_and_strangers_are_not() {
        let ids: Vec<String> = (0..5_000).map(|i| format!("u{i:05}")).collect();
        let id_of = |i: u32| ids.get(i as usize).map(String::as_str);
        let index = IdIndex::build(
            ids.len(),
            ids.iter().enumerate().map(|(i, s)| (i as u32, s.as_str())),
            id_of,
        )
        .unwrap();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(index.get(id, id_of), Some(i as u32));
        }
        assert_eq!(index.get("u99999", id_of), None);
        assert_eq!(index.get("", id_of), None);
        assert_eq!(IdIndex::default().get("u00001", id_of), None);
    }

    #[test]
    fn a_repeated_id_is_refused_and_an_underestimate_still_works() {
        let ids = ["a", "b", "a"];
        let id_of = |i: u32| ids.get(i as usize).copied();
        let entries = ids.iter().enumerate().map(|(i, s)| (i as u32, *s));
        assert_eq!(IdIndex::build(3, entries, id_of).unwrap_err(), "a");
        let many: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        let id_of = |i: u32| many.get(i as usize).map(String::as_str);
        let entries = many.iter().enumerate().map(|(i, s)| (i as u32, s.as_str()));
        let index = IdIndex::build(1, entries, id_of).unwrap();
        assert!((0..100).all(|i| index.get(&i.to_string(), id_of) == Some(i)));
    }

    #[test]
    fn lists_keep_their_order_and_skip_strangers() {
        let lists = Lists::build(3, [(2, 10), (0, 11), (2, 12), (7, 13), (0, 14)]);
        assert_eq!(lists.of(0), &[11, 14]);
        assert_eq!(lists.of(1), &[] as &[u32]);
        assert_eq!(lists.of(2), &[10, 12]);
        assert_eq!(lists.of(3), &[] as &[u32]);
        assert_eq!(Lists::default().of(0), &[] as &[u32]);
    }
}
