//! The parts of a bundle body, each writer beside its reader: permission sets, values,
//! targets, environments, windows, conditions and token kinds.

use super::codec::{DecodeError, Reader, Writer};
use crate::model::{
    AttrRef, Attrs, Condition, EnvSelector, Operand, PermSet, Subject, Target, Value, Window,
    MAX_CONDITION_DEPTH, MAX_CONDITION_NODES, MAX_ENTRIES, MAX_PERMISSIONS, MAX_VALUE_DEPTH,
};
use crate::token::TokenKind;

pub(super) struct Budget {
    pub(super) nodes: usize,
}

pub(super) fn put_permset(w: &mut Writer, set: &PermSet) {
    w.len(set.words().len());
    for word in set.words() {
        w.raw(&word.to_le_bytes());
    }
}

pub(super) fn get_permset(r: &mut Reader<'_>, limit: u32) -> Result<PermSet, DecodeError> {
    let n = r.count(MAX_PERMISSIONS.div_ceil(64))?;
    let mut words = Vec::with_capacity(n);
    for _ in 0..n {
        let bytes: [u8; 8] = r.take(8)?.try_into().map_err(|_| DecodeError::Truncated)?;
        words.push(u64::from_le_bytes(bytes));
    }
    Ok(PermSet::from_words(words, limit))
}

pub(super) fn put_value(w: &mut Writer, v: &Value) {
    match v {
        Value::Bool(false) => w.u8(0),
        Value::Bool(true) => w.u8(1),
        Value::Int(i) => {
            w.u8(2);
            w.zigzag(*i);
        }
        Value::Str(s) => {
            w.u8(3);
            w.str(s);
        }
        Value::List(items) => {
            w.u8(4);
            w.len(items.len());
            for item in items {
                put_value(w, item);
            }
        }
    }
}

pub(super) fn get_value(r: &mut Reader<'_>, depth: usize) -> Result<Value, DecodeError> {
    Ok(match r.u8()? {
        0 => Value::Bool(false),
        1 => Value::Bool(true),
        2 => Value::Int(r.zigzag()?),
        3 => Value::Str(r.str()?),
        4 => {
            if depth >= MAX_VALUE_DEPTH {
                return Err(DecodeError::TooDeep);
            }
            let n = r.count(MAX_ENTRIES)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(get_value(r, depth + 1)?);
            }
            Value::List(items)
        }
        _ => return Err(DecodeError::BadTag),
    })
}

pub(super) fn put_attrs(w: &mut Writer, attrs: &Attrs) {
    w.len(attrs.len());
    for (k, v) in attrs {
        w.str(k);
        put_value(w, v);
    }
}

pub(super) fn get_attrs(r: &mut Reader<'_>) -> Result<Attrs, DecodeError> {
    let n = r.count(MAX_ENTRIES)?;
    let mut attrs = Attrs::new();
    for _ in 0..n {
        let k = r.str()?;
        let v = get_value(r, 1)?;
        attrs.insert(k, v);
    }
    Ok(attrs)
}

pub(super) fn put_target(w: &mut Writer, t: Target) {
    match t {
        Target::Member(m) => {
            w.u8(0);
            w.varint(m.into());
        }
        Target::Group(g) => {
            w.u8(1);
            w.varint(g.into());
        }
        Target::Everyone => w.u8(2),
    }
}

pub(super) fn get_target(r: &mut Reader<'_>) -> Result<Target, DecodeError> {
    Ok(match r.u8()? {
        0 => Target::Member(r.index()?),
        1 => Target::Group(r.index()?),
        2 => Target::Everyone,
        _ => return Err(DecodeError::BadTag),
    })
}

pub(super) fn put_env(w: &mut Writer, e: Option<EnvSelector>) {
    w.option(e, |w, e| match e {
        EnvSelector::One(i) => {
            w.u8(0);
            w.varint(i.into());
        }
        EnvSelector::All => w.u8(1),
    });
}

pub(super) fn get_env(r: &mut Reader<'_>) -> Result<Option<EnvSelector>, DecodeError> {
    r.option(|r| {
        Ok(match r.u8()? {
            0 => EnvSelector::One(r.index()?),
            1 => EnvSelector::All,
            _ => return Err(DecodeError::BadTag),
        })
    })
}

pub(super) fn put_window(w: &mut Writer, win: &Window) {
    w.option(win.not_before, Writer::zigzag);
    w.option(win.not_after, Writer::zigzag);
}

pub(super) fn get_window(r: &mut Reader<'_>) -> Result<Window, DecodeError> {
    Ok(Window {
        not_before: r.option(Reader::zigzag)?,
        not_after: r.option(Reader::zigzag)?,
    })
}

pub(super) fn put_attr_ref(w: &mut Writer, a: &AttrRef) {
    w.u8(match a.subject {
        Subject::Principal => 0,
        Subject::Resource => 1,
        Subject::Env => 2,
        Subject::Context => 3,
    });
    w.str(&a.name);
}

pub(super) fn get_attr_ref(r: &mut Reader<'_>) -> Result<AttrRef, DecodeError> {
    let subject = match r.u8()? {
        0 => Subject::Principal,
        1 => Subject::Resource,
        2 => Subject::Env,
        3 => Subject::Context,
        _ => return Err(DecodeError::BadTag),
    };
    Ok(AttrRef {
        subject,
        name: r.str()?,
    })
}

pub(super) fn put_operand(w: &mut Writer, op: &Operand) {
    match op {
        Operand::Attr(a) => {
            w.u8(0);
            put_attr_ref(w, a);
        }
        Operand::Literal(v) => {
            w.u8(1);
            put_value(w, v);
        }
    }
}

pub(super) fn get_operand(r: &mut Reader<'_>) -> Result<Operand, DecodeError> {
    Ok(match r.u8()? {
        0 => Operand::Attr(get_attr_ref(r)?),
        1 => Operand::Literal(get_value(r, 1)?),
        _ => return Err(DecodeError::BadTag),
    })
}

pub(super) fn put_condition(w: &mut Writer, c: &Condition) {
    match c {
        Condition::All(cs) | Condition::Any(cs) => {
            w.u8(if matches!(c, Condition::All(_)) { 0 } else { 1 });
            w.len(cs.len());
            for c in cs {
                put_condition(w, c);
            }
        }
        Condition::Not(c) => {
            w.u8(2);
            put_condition(w, c);
        }
        Condition::Eq(a, b) | Condition::In(a, b) => {
            w.u8(if matches!(c, Condition::Eq(..)) { 3 } else { 4 });
            put_operand(w, a);
            put_operand(w, b);
        }
        Condition::Has(a) => {
            w.u8(5);
            put_attr_ref(w, a);
        }
        Condition::Time { after, before } => {
            w.u8(6);
            w.option(*after, Writer::zigzag);
            w.option(*before, Writer::zigzag);
        }
    }
}

pub(super) fn get_condition(
    r: &mut Reader<'_>,
    depth: usize,
    budget: &mut Budget,
) -> Result<Condition, DecodeError> {
    if depth > MAX_CONDITION_DEPTH {
        return Err(DecodeError::TooDeep);
    }
    budget.nodes = budget.nodes.checked_sub(1).ok_or(DecodeError::TooMany)?;
    Ok(match r.u8()? {
        tag @ (0 | 1) => {
            let n = r.count(MAX_CONDITION_NODES)?;
            let mut cs = Vec::with_capacity(n);
            for _ in 0..n {
                cs.push(get_condition(r, depth + 1, budget)?);
            }
            if tag == 0 {
                Condition::All(cs)
            } else {
                Condition::Any(cs)
            }
        }
        2 => Condition::Not(Box::new(get_condition(r, depth + 1, budget)?)),
        tag @ (3 | 4) => {
            budget.nodes = budget.nodes.checked_sub(2).ok_or(DecodeError::TooMany)?;
            let (a, b) = (get_operand(r)?, get_operand(r)?);
            if tag == 3 {
                Condition::Eq(a, b)
            } else {
                Condition::In(a, b)
            }
        }
        5 => {
            budget.nodes = budget.nodes.checked_sub(1).ok_or(DecodeError::TooMany)?;
            Condition::Has(get_attr_ref(r)?)
        }
        6 => Condition::Time {
            after: r.option(Reader::zigzag)?,
            before: r.option(Reader::zigzag)?,
        },
        _ => return Err(DecodeError::BadTag),
    })
}

pub(super) fn get_cond_opt(r: &mut Reader<'_>) -> Result<Option<Box<Condition>>, DecodeError> {
    r.option(|r| {
        get_condition(
            r,
            1,
            &mut Budget {
                nodes: MAX_CONDITION_NODES,
            },
        )
        .map(Box::new)
    })
}

pub(super) fn kind_bits(kinds: &[TokenKind]) -> u8 {
    kinds.iter().fold(0, |acc, k| {
        acc | match k {
            TokenKind::OrgAuth => 1,
            TokenKind::EnvAuth => 2,
            TokenKind::Service => 4,
        }
    })
}

pub(super) fn get_kinds(bits: u8) -> Result<Vec<TokenKind>, DecodeError> {
    if bits & !7 != 0 {
        return Err(DecodeError::BadTag);
    }
    Ok([
        (1, TokenKind::OrgAuth),
        (2, TokenKind::EnvAuth),
        (4, TokenKind::Service),
    ]
    .into_iter()
    .filter(|(b, _)| bits & b != 0)
    .map(|(_, k)| k)
    .collect())
}
