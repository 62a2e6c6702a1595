//! Declared permissions (`type:verb`), their interned indices and sets of them.
//!
//! A policy declares every resource type and verb it uses. Each declared permission gets a
//! small index; a role's permissions, an org role's ceiling and an override's permissions are
//! bit sets over those indices, so a grant test is one bit look-up.

use rustc_hash::FxHashMap;

/// Index of a declared permission in its [`PermissionTable`].
pub type PermissionIndex = u32;

/// A set of declared permissions, stored as a bit set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PermSet {
    words: Vec<u64>,
}

impl PermSet {
    /// The empty set.
    pub fn new() -> Self {
        PermSet { words: Vec::new() }
    }

    /// Adds a permission.
    pub fn insert(&mut self, index: PermissionIndex) {
        let word = (index / 64) as usize;
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        if let Some(w) = self.words.get_mut(word) {
            *w |= 1u64 << (index % 64);
        }
    }

    /// Whether the set holds `index`.
    #[inline]
    pub fn contains(&self, index: PermissionIndex) -> bool {
        self.words
            .get((index / 64) as usize)
            .is_some_and(|w| w & (1u64 << (index % 64)) != 0)
    }

    /// Adds every member of `other`.
    pub fn union_with(&mut self, other: &PermSet) {
        if self.words.len() < other.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (mine, theirs) in self.words.iter_mut().zip(&other.words) {
            *mine |= theirs;
        }
    }

    /// Keeps only the members also in `other`.
    pub fn intersect_with(&mut self, other: &PermSet) {
        for (i, mine) in self.words.iter_mut().enumerate() {
            *mine &= other.words.get(i).copied().unwrap_or(0);
        }
    }

    /// Removes every member of `other`.
    pub fn subtract(&mut self, other: &PermSet) {
        for (mine, theirs) in self.words.iter_mut().zip(&other.words) {
            *mine &= !theirs;
        }
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    /// The members in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = PermissionIndex> + '_ {
        self.words.iter().enumerate().flat_map(|(i, w)| {
            (0..64u32)
                .filter_map(move |bit| (w & (1u64 << bit) != 0).then_some(i as u32 * 64 + bit))
        })
    }

    /// The raw 64-bit words, lowest permissions first (for the bundle encoding).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Builds a set from raw words, dropping bits at or above `limit`.
    pub fn from_words(mut words: Vec<u64>, limit: u32) -> Self {
        let full = (limit / 64) as usize;
        let rest = limit % 64;
        words.truncate(full + usize::from(rest != 0));
        if rest != 0 {
            if let Some(last) = words.get_mut(full) {
                *last &= (1u64 << rest) - 1;
            }
        }
        while words.last() == Some(&0) {
            words.pop();
        }
        PermSet { words }
    }
}

/// Why a permission pattern was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatternError {
    /// Not of the form `type:verb`, `type:*` or `*`.
    Malformed,
    /// The resource type is not declared.
    UnknownType,
    /// The permission is not declared.
    Undeclared,
}

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PatternError::Malformed => "not of the form `type:verb`, `type:*` or `*`",
            PatternError::UnknownType => "the resource type is not declared",
            PatternError::Undeclared => "the permission is not declared",
        })
    }
}

impl std::error::Error for PatternError {}

/// The declared permissions of a policy, in declaration order.
#[derive(Clone, Debug, Default)]
pub struct PermissionTable {
    names: Vec<String>,
    by_name: FxHashMap<String, PermissionIndex>,
    by_type: FxHashMap<String, PermSet>,
}

impl PermissionTable {
    /// Declares `type:verb`; returns its index, or `None` if it was declared already.
    pub fn declare(&mut self, name: &str) -> Option<PermissionIndex> {
        if self.by_name.contains_key(name) {
            return None;
        }
        let (ty, _) = split_permission(name)?;
        let index = self.names.len() as PermissionIndex;
        self.names.push(name.to_owned());
        self.by_name.insert(name.to_owned(), index);
        self.by_type.entry(ty.to_owned()).or_default().insert(index);
        Some(index)
    }

    /// Number of declared permissions.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether nothing is declared.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The index of a declared permission.
    #[inline]
    pub fn index(&self, name: &str) -> Option<PermissionIndex> {
        self.by_name.get(name).copied()
    }

    /// The name of a declared permission.
    pub fn name(&self, index: PermissionIndex) -> Option<&str> {
        self.names.get(index as usize).map(String::as_str)
    }

    /// All declared names, in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether some permission of resource type `ty` is declared.
    pub fn has_type(&self, ty: &str) -> bool {
        self.by_type.contains_key(ty)
    }

    /// The declared permissions of resource type `ty` (empty for an undeclared type).
    pub fn of_type(&self, ty: &str) -> PermSet {
        self.by_type.get(ty).cloned().unwrap_or_default()
    }

    /// Every declared permission.
    pub fn all(&self) -> PermSet {
        let mut set = PermSet::new();
        for i in 0..self.names.len() {
            set.insert(i as PermissionIndex);
        }
        set
    }

    /// The permissions a pattern (`*`, `type:*` or `type:verb`) stands for.
    pub fn expand(&self, pattern: &str) -> Result<PermSet, PatternError> {
        if pattern == "*" {
            return Ok(self.all());
        }
        let (ty, verb) = split_permission(pattern).ok_or(PatternError::Malformed)?;
        if verb == "*" {
            return self
                .by_type
                .get(ty)
                .cloned()
                .ok_or(PatternError::UnknownType);
        }
        let index = self
            .index(pattern)
            .ok_or(if self.by_type.contains_key(ty) {
                PatternError::Undeclared
            } else {
                PatternError::UnknownType
            })?;
        let mut set = PermSet::new();
        set.insert(index);
        Ok(set)
    }

    /// Names of the members of `set`, in index order.
    pub fn names_of(&self, set: &PermSet) -> Vec<String> {
        set.iter()
            .filter_map(|i| self.name(i))
            .map(str::to_owned)
            .collect()
    }
}

/// Splits `type:verb` into its parts when both are non-empty identifiers.
pub(crate) fn split_permission(name: &str) -> Option<(&str, &str)> {
    let (ty, verb) = name.split_once(':')?;
    let ok = |s: &str, star: bool| {
        (!s.is_empty() && s.len() <= 64 && s.bytes().all(is_ident_byte)) || (star && s == "*")
    };
    (ok(ty, false) && ok(verb, true)).then_some((ty, verb))
}

/// Bytes allowed in identifiers: ASCII letters, digits, `_`, `-` and `.`.
pub fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> PermissionTable {
        let mut t = PermissionTable::default();
        for p in ["workflow:read", "workflow:edit", "logs:read"] {
            t.declare(p).unwrap();
        }
        t
    }

    #[test]
    fn patterns_expand_to_declared_permissions() {
        let mut t = table();
        assert_eq!(
            t.names_of(&t.expand("workflow:*").unwrap()),
            ["workflow:read", "workflow:edit"]
        );
        assert_eq!(t.expand("*").unwrap().iter().count(), 3);
        assert_eq!(t.expand("logs:write"), Err(PatternError::Undeclared));
        assert_eq!(t.expand("billing:*"), Err(PatternError::UnknownType));
        assert_eq!(t.expand("logs"), Err(PatternError::Malformed));
        assert!(t.declare("logs:read").is_none());
    }

    #[test]
    fn sets_combine() {
        let mut a = PermSet::new();
        a.insert(1);
        a.insert(70);
        let mut b = PermSet::new();
        b.insert(70);
        let mut i = a.clone();
        i.intersect_with(&b);
        assert_eq!(i.iter().collect::<Vec<_>>(), [70]);
        a.subtract(&b);
        assert_eq!(a.iter().collect::<Vec<_>>(), [1]);
        assert_eq!(
            PermSet::from_words(vec![u64::MAX, u64::MAX], 66)
                .iter()
                .count(),
            66
        );
    }
}
