//! Signed policy bundles: the compact binary form of one organization's policy.
//!
//! Layout (all integers little-endian; see `docs/bundle.md`):
//!
//! ```text
//! magic "PCLB" | format u16 | reserved u16 | version u64 | issued_at i64 | not_after i64
//! | org_len u8 | org | kid_len u8 | kid | body_len u32 | body | Ed25519 signature (64)
//! ```
//!
//! The signature covers every byte before it. [`load`] checks the size, the header, the
//! signature (strict Ed25519 against the trusted key named by `kid`), expiry and the
//! caller's version floor, and only then decodes the body into an indexed [`Policy`].

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

use crate::codec::{DecodeError, Reader, Writer};
use crate::condition::{
    AttrRef, Condition, Operand, Subject, MAX_CONDITION_DEPTH, MAX_CONDITION_NODES,
};
use crate::keys::{Alg, KeyError, KeyMaterial, TrustedKey};
use crate::model::*;
use crate::permission::PermSet;
use crate::route::{IdPattern, RouteTemplate};
use crate::token::TokenKind;
use crate::value::{Attrs, Value, MAX_VALUE_DEPTH};

/// The four magic bytes every bundle starts with.
pub const MAGIC: [u8; 4] = *b"PCLB";
/// The format version this code reads and writes.
pub const FORMAT_VERSION: u16 = 3;
/// Largest bundle accepted, in bytes.
pub const MAX_BUNDLE_BYTES: usize = 16 * 1024 * 1024;
/// Length of the Ed25519 signature trailer.
pub const SIGNATURE_LEN: usize = 64;
/// How far in the future `issued_at` may lie (clock skew between builder and edge), seconds.
pub const MAX_ISSUED_AT_SKEW: i64 = 300;

/// The metadata in a bundle's header.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BundleHeader {
    /// Format version.
    pub format: u16,
    /// Bundle version: a monotonic integer chosen by the publisher.
    pub version: u64,
    /// The organization the bundle governs.
    pub org: String,
    /// When it was built, Unix seconds.
    pub issued_at: i64,
    /// When it stops being valid, Unix seconds.
    pub not_after: i64,
    /// Id of the signing key.
    pub kid: String,
}

/// Why a bundle was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BundleError {
    /// Larger than [`MAX_BUNDLE_BYTES`].
    TooLarge,
    /// The bytes end before the header, body or signature does, or run past them.
    Truncated,
    /// The bytes do not start with [`MAGIC`].
    BadMagic,
    /// A format version this code does not read.
    UnsupportedFormat(u16),
    /// A header field is malformed.
    BadHeader(&'static str),
    /// No trusted key has the bundle's key id.
    UnknownKey(String),
    /// The signature does not verify.
    BadSignature,
    /// `not_after` has passed.
    Expired {
        /// The bundle's `not_after`.
        not_after: i64,
    },
    /// `issued_at` lies further in the future than clock skew explains.
    IssuedInFuture,
    /// The version is below the caller's floor.
    Rollback {
        /// The bundle's version.
        version: u64,
        /// The lowest version accepted.
        floor: u64,
    },
    /// The signed body does not decode.
    Corrupt(DecodeError),
    /// The body decodes but its contents are inconsistent.
    Invalid(ModelError),
    /// The body's organization differs from the header's.
    OrgMismatch,
}

impl BundleError {
    /// A stable code.
    pub fn code(&self) -> &'static str {
        match self {
            BundleError::TooLarge => "bundle_too_large",
            BundleError::Truncated => "bundle_truncated",
            BundleError::BadMagic => "bundle_bad_magic",
            BundleError::UnsupportedFormat(_) => "bundle_unsupported_format",
            BundleError::BadHeader(_) => "bundle_bad_header",
            BundleError::UnknownKey(_) => "bundle_unknown_key",
            BundleError::BadSignature => "bundle_bad_signature",
            BundleError::Expired { .. } => "bundle_expired",
            BundleError::IssuedInFuture => "bundle_issued_in_future",
            BundleError::Rollback { .. } => "bundle_rollback",
            BundleError::Corrupt(_) => "bundle_corrupt",
            BundleError::Invalid(_) => "bundle_invalid",
            BundleError::OrgMismatch => "bundle_org_mismatch",
        }
    }
}

impl std::fmt::Display for BundleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BundleError::TooLarge => write!(f, "bundle is larger than {MAX_BUNDLE_BYTES} bytes"),
            BundleError::Truncated => write!(f, "bundle length does not match its header"),
            BundleError::BadMagic => write!(f, "not a Portcullis bundle"),
            BundleError::UnsupportedFormat(v) => write!(
                f,
                "bundle format {v} is not supported (expected {FORMAT_VERSION})"
            ),
            BundleError::BadHeader(what) => write!(f, "bundle header: {what}"),
            BundleError::UnknownKey(kid) => write!(f, "bundle signed by untrusted key `{kid}`"),
            BundleError::BadSignature => write!(f, "bundle signature does not verify"),
            BundleError::Expired { not_after } => write!(f, "bundle expired at {not_after}"),
            BundleError::IssuedInFuture => write!(f, "bundle issued in the future"),
            BundleError::Rollback { version, floor } => {
                write!(
                    f,
                    "bundle version {version} is older than the accepted floor {floor}"
                )
            }
            BundleError::Corrupt(e) => write!(f, "bundle body: {e}"),
            BundleError::Invalid(e) => write!(f, "bundle contents: {e}"),
            BundleError::OrgMismatch => {
                write!(f, "bundle body names another organization than its header")
            }
        }
    }
}

impl From<DecodeError> for BundleError {
    fn from(e: DecodeError) -> Self {
        BundleError::Corrupt(e)
    }
}

/// Ed25519 public keys trusted to sign bundles, by key id.
#[derive(Clone, Debug, Default)]
pub struct BundleKeys {
    keys: Vec<(String, VerifyingKey)>,
}

impl BundleKeys {
    /// An empty set.
    pub fn new() -> Self {
        BundleKeys::default()
    }

    /// Trusts an Ed25519 public key under `kid`.
    pub fn add(&mut self, kid: &str, public_key: &[u8; 32]) -> Result<(), KeyError> {
        let key = VerifyingKey::from_bytes(public_key).map_err(|_| KeyError::InvalidMaterial {
            kid: kid.to_owned(),
            why: "not a valid Ed25519 point",
        })?;
        if key.is_weak() {
            return Err(KeyError::InvalidMaterial {
                kid: kid.to_owned(),
                why: "an Ed25519 key of small order",
            });
        }
        self.keys.retain(|(k, _)| k != kid);
        self.keys.push((kid.to_owned(), key));
        Ok(())
    }

    /// Trusts an OKP Ed25519 public JWK.
    pub fn add_jwk(&mut self, jwk: &crate::keys::Jwk) -> Result<(), KeyError> {
        let key = TrustedKey::from_jwk(jwk)?;
        match key.material {
            KeyMaterial::Ed25519(x) if key.alg == Alg::EdDSA => self.add(&key.kid, &x),
            _ => Err(KeyError::UnsupportedKeyType(
                "bundles are signed with Ed25519 keys only".into(),
            )),
        }
    }

    fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.iter().find(|(k, _)| k == kid).map(|(_, v)| v)
    }

    /// Number of trusted keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// What a load is checked against.
#[derive(Clone, Copy, Debug)]
pub struct LoadOptions {
    /// The current instant, Unix seconds.
    pub now: i64,
    /// Lowest bundle version accepted (rollback protection): usually the newest accepted so far.
    pub min_version: u64,
}

/// The Ed25519 key a bundle is signed with.
pub struct BundleSigner {
    kid: String,
    key: SigningKey,
}

impl BundleSigner {
    /// A signer from a 32-byte Ed25519 seed.
    pub fn from_seed(kid: &str, seed: &[u8; 32]) -> Self {
        BundleSigner {
            kid: kid.to_owned(),
            key: SigningKey::from_bytes(seed),
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }
}

/// Encodes and signs a bundle.
pub fn build(
    data: &PolicyData,
    version: u64,
    issued_at: i64,
    not_after: i64,
    signer: &BundleSigner,
) -> Result<Vec<u8>, BundleError> {
    if data.org.is_empty() || data.org.len() > 255 {
        return Err(BundleError::BadHeader(
            "organization id must be 1 to 255 bytes",
        ));
    }
    if signer.kid.is_empty() || signer.kid.len() > 255 {
        return Err(BundleError::BadHeader("key id must be 1 to 255 bytes"));
    }
    let body = encode_body(data);
    let body_len = u32::try_from(body.len()).map_err(|_| BundleError::TooLarge)?;
    let mut out = Vec::with_capacity(body.len() + 128);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&issued_at.to_le_bytes());
    out.extend_from_slice(&not_after.to_le_bytes());
    out.push(data.org.len() as u8);
    out.extend_from_slice(data.org.as_bytes());
    out.push(signer.kid.len() as u8);
    out.extend_from_slice(signer.kid.as_bytes());
    out.extend_from_slice(&body_len.to_le_bytes());
    out.extend_from_slice(&body);
    let signature = signer.key.sign(&out);
    out.extend_from_slice(&signature.to_bytes());
    if out.len() > MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge);
    }
    Ok(out)
}

fn fixed<const N: usize>(r: &mut Reader<'_>) -> Result<[u8; N], BundleError> {
    r.take(N)?.try_into().map_err(|_| BundleError::Truncated)
}

fn short_str(r: &mut Reader<'_>, what: &'static str) -> Result<String, BundleError> {
    let n = r.u8().map_err(|_| BundleError::Truncated)? as usize;
    let b = r.take(n).map_err(|_| BundleError::Truncated)?;
    match std::str::from_utf8(b) {
        Ok(s) if !s.is_empty() => Ok(s.to_owned()),
        _ => Err(BundleError::BadHeader(what)),
    }
}

/// Reads the header and locates body and signature, checking only lengths.
pub fn read_header(bytes: &[u8]) -> Result<(BundleHeader, &[u8]), BundleError> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge);
    }
    let mut r = Reader::new(bytes);
    let magic: [u8; 4] = fixed(&mut r).map_err(|_| BundleError::BadMagic)?;
    if magic != MAGIC {
        return Err(BundleError::BadMagic);
    }
    let format = u16::from_le_bytes(fixed(&mut r)?);
    if format != FORMAT_VERSION {
        return Err(BundleError::UnsupportedFormat(format));
    }
    if u16::from_le_bytes(fixed(&mut r)?) != 0 {
        return Err(BundleError::BadHeader("reserved bytes must be zero"));
    }
    let version = u64::from_le_bytes(fixed(&mut r)?);
    let issued_at = i64::from_le_bytes(fixed(&mut r)?);
    let not_after = i64::from_le_bytes(fixed(&mut r)?);
    let org = short_str(&mut r, "organization id")?;
    let kid = short_str(&mut r, "key id")?;
    let body_len = u32::from_le_bytes(fixed(&mut r)?) as usize;
    let body = r.take(body_len).map_err(|_| BundleError::Truncated)?;
    if r.remaining() != SIGNATURE_LEN {
        return Err(BundleError::Truncated);
    }
    let header = BundleHeader {
        format,
        version,
        org,
        issued_at,
        not_after,
        kid,
    };
    Ok((header, body))
}

/// Verifies a bundle's signature with the trusted key it names; returns header and body.
pub fn verify<'b>(
    bytes: &'b [u8],
    keys: &BundleKeys,
) -> Result<(BundleHeader, &'b [u8]), BundleError> {
    let (header, body) = read_header(bytes)?;
    let split = bytes
        .len()
        .checked_sub(SIGNATURE_LEN)
        .ok_or(BundleError::Truncated)?;
    let (signed, signature) = bytes.split_at(split);
    let key = keys
        .get(&header.kid)
        .ok_or_else(|| BundleError::UnknownKey(header.kid.clone()))?;
    let signature =
        ed25519_dalek::Signature::from_slice(signature).map_err(|_| BundleError::BadSignature)?;
    key.verify_strict(signed, &signature)
        .map_err(|_| BundleError::BadSignature)?;
    Ok((header, body))
}

/// Verifies, checks freshness and version, and decodes a bundle into an indexed policy.
pub fn load(
    bytes: &[u8],
    keys: &BundleKeys,
    options: LoadOptions,
) -> Result<(BundleHeader, Policy), BundleError> {
    let (header, body) = verify(bytes, keys)?;
    if options.now >= header.not_after {
        return Err(BundleError::Expired {
            not_after: header.not_after,
        });
    }
    if header.issued_at > options.now.saturating_add(MAX_ISSUED_AT_SKEW) {
        return Err(BundleError::IssuedInFuture);
    }
    if header.version < options.min_version {
        return Err(BundleError::Rollback {
            version: header.version,
            floor: options.min_version,
        });
    }
    let data = decode_body(body)?;
    if data.org != header.org {
        return Err(BundleError::OrgMismatch);
    }
    let policy = Policy::new(data).map_err(BundleError::Invalid)?;
    Ok((header, policy))
}

// ---- body encoding -------------------------------------------------------------------------

fn put_permset(w: &mut Writer, set: &PermSet) {
    w.len(set.words().len());
    for word in set.words() {
        w.raw(&word.to_le_bytes());
    }
}

fn put_value(w: &mut Writer, v: &Value) {
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

fn put_attrs(w: &mut Writer, attrs: &Attrs) {
    w.len(attrs.len());
    for (k, v) in attrs {
        w.str(k);
        put_value(w, v);
    }
}

fn put_target(w: &mut Writer, t: Target) {
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

fn put_env(w: &mut Writer, e: Option<EnvSelector>) {
    w.option(e, |w, e| match e {
        EnvSelector::One(i) => {
            w.u8(0);
            w.varint(i.into());
        }
        EnvSelector::All => w.u8(1),
    });
}

fn put_window(w: &mut Writer, win: &Window) {
    w.option(win.not_before, Writer::zigzag);
    w.option(win.not_after, Writer::zigzag);
}

fn put_attr_ref(w: &mut Writer, a: &AttrRef) {
    w.u8(match a.subject {
        Subject::Principal => 0,
        Subject::Resource => 1,
        Subject::Env => 2,
        Subject::Context => 3,
    });
    w.str(&a.name);
}

fn put_operand(w: &mut Writer, op: &Operand) {
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

fn put_condition(w: &mut Writer, c: &Condition) {
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

fn kind_bits(kinds: &[TokenKind]) -> u8 {
    kinds.iter().fold(0, |acc, k| {
        acc | match k {
            TokenKind::OrgAuth => 1,
            TokenKind::EnvAuth => 2,
            TokenKind::Service => 4,
        }
    })
}

/// Encodes the body of a bundle.
pub fn encode_body(d: &PolicyData) -> Vec<u8> {
    let mut w = Writer::new();
    w.str(&d.org);
    w.len(d.permissions.len());
    for p in &d.permissions {
        w.str(p);
    }
    w.len(d.roles.len());
    for r in &d.roles {
        w.str(&r.id);
        w.u8(match r.scope {
            RoleScope::Org => 0,
            RoleScope::Env => 1,
        });
        put_permset(&mut w, &r.permissions);
        w.option(r.env_ceiling.as_ref(), put_permset);
        w.len(r.can_assign.len());
        for a in &r.can_assign {
            w.varint((*a).into());
        }
    }
    w.len(d.envs.len());
    for e in &d.envs {
        w.str(&e.id);
        put_attrs(&mut w, &e.attrs);
    }
    w.len(d.groups.len());
    for g in &d.groups {
        w.str(&g.id);
    }
    w.len(d.members.len());
    for m in &d.members {
        w.str(&m.id);
        w.u8(match m.kind {
            MemberKind::User => 0,
            MemberKind::Service => 1,
        });
        w.option(m.client_id.as_deref(), Writer::str);
        put_attrs(&mut w, &m.attrs);
        w.len(m.groups.len());
        for g in &m.groups {
            w.varint((*g).into());
        }
        w.u8(m.disabled.into());
    }
    w.len(d.bindings.len());
    let names = Names::of(d);
    let mut derived = String::new();
    for b in &d.bindings {
        // A rule id the loader can work out from the binding is left out (tag 0): on a large
        // organization those ids are most of the bundle's bytes, all hashed on every load.
        if names.write_default_binding_id(b.role, b.target, b.env, &mut derived) && derived == *b.id
        {
            w.u8(0);
        } else {
            w.u8(1);
            w.str(&b.id);
        }
        w.varint(b.role.into());
        put_target(&mut w, b.target);
        put_env(&mut w, b.env);
        put_window(&mut w, &b.window);
        w.option(b.condition.as_deref(), put_condition);
    }
    w.len(d.overrides.len());
    for o in &d.overrides {
        w.str(&o.id);
        w.u8(match o.effect {
            Effect::Allow => 0,
            Effect::Deny => 1,
        });
        put_permset(&mut w, &o.permissions);
        put_target(&mut w, o.target);
        put_env(&mut w, o.env);
        w.option(o.resource.resource_type.as_deref(), Writer::str);
        w.option(o.resource.id_glob.as_deref(), Writer::str);
        put_attrs(&mut w, &o.resource.attrs);
        put_window(&mut w, &o.window);
        w.option(o.condition.as_deref(), put_condition);
    }
    w.len(d.issuers.len());
    for i in &d.issuers {
        w.str(&i.iss);
        w.str(&i.audience);
        w.u8(kind_bits(&i.kinds));
        w.varint(i.max_lifetime);
        w.varint(i.leeway);
        w.len(i.keys.len());
        for k in &i.keys {
            w.str(&k.kid);
            match &k.material {
                KeyMaterial::Ed25519(x) => {
                    w.u8(0);
                    w.raw(x);
                }
                KeyMaterial::P256 { x, y } => {
                    w.u8(1);
                    w.raw(x);
                    w.raw(y);
                }
                KeyMaterial::Rsa { n, e } => {
                    w.u8(2);
                    w.bytes(n);
                    w.bytes(e);
                }
            }
        }
    }
    w.len(d.revocations.token_ids.len());
    for j in &d.revocations.token_ids {
        w.str(j);
    }
    w.len(d.revocations.subjects_before.len());
    for (s, t) in &d.revocations.subjects_before {
        w.str(s);
        w.zigzag(*t);
    }
    w.len(d.routes.len());
    for r in &d.routes {
        w.str(&r.id);
        w.str(&r.method);
        w.str(r.path.as_str());
        w.varint(r.permission.into());
        w.str(&r.resource_type);
        match &r.env {
            EnvSource::None => w.u8(0),
            EnvSource::PathParam(p) => {
                w.u8(1);
                w.str(p);
            }
            EnvSource::HostLabel => w.u8(2),
        }
        w.option(r.id_param.as_deref(), Writer::str);
        w.option(r.id_pattern.as_ref().map(IdPattern::as_str), Writer::str);
    }
    w.into_bytes()
}

// ---- body decoding -------------------------------------------------------------------------

struct Budget {
    nodes: usize,
}

fn get_permset(r: &mut Reader<'_>, limit: u32) -> Result<PermSet, DecodeError> {
    let n = r.count(MAX_PERMISSIONS.div_ceil(64))?;
    let mut words = Vec::with_capacity(n);
    for _ in 0..n {
        let bytes: [u8; 8] = r.take(8)?.try_into().map_err(|_| DecodeError::Truncated)?;
        words.push(u64::from_le_bytes(bytes));
    }
    Ok(PermSet::from_words(words, limit))
}

fn get_value(r: &mut Reader<'_>, depth: usize) -> Result<Value, DecodeError> {
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

fn get_attrs(r: &mut Reader<'_>) -> Result<Attrs, DecodeError> {
    let n = r.count(MAX_ENTRIES)?;
    let mut attrs = Attrs::new();
    for _ in 0..n {
        let k = r.str()?;
        let v = get_value(r, 1)?;
        attrs.insert(k, v);
    }
    Ok(attrs)
}

/// The tables a binding's default rule id is made from.
struct Names<'a> {
    roles: &'a [Role],
    envs: &'a [Environment],
    groups: &'a [Group],
    members: &'a [Member],
}

impl<'a> Names<'a> {
    /// A policy's own tables.
    fn of(d: &'a PolicyData) -> Self {
        Names {
            roles: &d.roles,
            envs: &d.envs,
            groups: &d.groups,
            members: &d.members,
        }
    }

    /// Writes to `id` (emptied first) the rule id the policy compiler gives a binding whose
    /// source names none: `holder:role@environment` (`holder:role` for an organization role,
    /// `*` for every environment, `default` as the holder of an organization default). `false`
    /// where an index is out of range.
    fn write_default_binding_id(
        &self,
        role: u32,
        target: Target,
        env: Option<EnvSelector>,
        id: &mut String,
    ) -> bool {
        id.clear();
        let Some(role) = self.roles.get(role as usize) else {
            return false;
        };
        let holder = match target {
            Target::Member(m) => self.members.get(m as usize).map(|m| m.id.as_str()),
            Target::Group(g) => self.groups.get(g as usize).map(|g| g.id.as_str()),
            Target::Everyone => Some("default"),
        };
        let env = match env {
            None => Some(None),
            Some(EnvSelector::All) => Some(Some("*")),
            Some(EnvSelector::One(e)) => self.envs.get(e as usize).map(|e| Some(e.id.as_str())),
        };
        let (Some(holder), Some(env)) = (holder, env) else {
            return false;
        };
        id.push_str(holder);
        id.push(':');
        id.push_str(&role.id);
        if let Some(env) = env {
            id.push('@');
            id.push_str(env);
        }
        true
    }
}

fn get_target(r: &mut Reader<'_>) -> Result<Target, DecodeError> {
    Ok(match r.u8()? {
        0 => Target::Member(r.index()?),
        1 => Target::Group(r.index()?),
        2 => Target::Everyone,
        _ => return Err(DecodeError::BadTag),
    })
}

fn get_env(r: &mut Reader<'_>) -> Result<Option<EnvSelector>, DecodeError> {
    r.option(|r| {
        Ok(match r.u8()? {
            0 => EnvSelector::One(r.index()?),
            1 => EnvSelector::All,
            _ => return Err(DecodeError::BadTag),
        })
    })
}

fn get_window(r: &mut Reader<'_>) -> Result<Window, DecodeError> {
    Ok(Window {
        not_before: r.option(Reader::zigzag)?,
        not_after: r.option(Reader::zigzag)?,
    })
}

fn get_attr_ref(r: &mut Reader<'_>) -> Result<AttrRef, DecodeError> {
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

fn get_operand(r: &mut Reader<'_>) -> Result<Operand, DecodeError> {
    Ok(match r.u8()? {
        0 => Operand::Attr(get_attr_ref(r)?),
        1 => Operand::Literal(get_value(r, 1)?),
        _ => return Err(DecodeError::BadTag),
    })
}

fn get_condition(
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

fn get_cond_opt(r: &mut Reader<'_>) -> Result<Option<Box<Condition>>, DecodeError> {
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

fn get_kinds(bits: u8) -> Result<Vec<TokenKind>, DecodeError> {
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

fn list<'b, T>(
    r: &mut Reader<'b>,
    max: usize,
    mut item: impl FnMut(&mut Reader<'b>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let n = r.count(max)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(item(r)?);
    }
    Ok(out)
}

/// Decodes a bundle body. Every count is bounded by the bytes left and by
/// [`MAX_ENTRIES`]; references are checked afterwards by [`Policy::new`].
pub fn decode_body(body: &[u8]) -> Result<PolicyData, BundleError> {
    let mut r = Reader::new(body);
    let org = r.str()?;
    let permissions = list(&mut r, MAX_PERMISSIONS, Reader::str)?;
    let limit = permissions.len() as u32;
    let roles = list(&mut r, MAX_ENTRIES, |r| {
        Ok(Role {
            id: r.shared_str()?,
            scope: match r.u8()? {
                0 => RoleScope::Org,
                1 => RoleScope::Env,
                _ => return Err(DecodeError::BadTag),
            },
            permissions: get_permset(r, limit)?,
            env_ceiling: r.option(|r| get_permset(r, limit))?,
            can_assign: list(r, MAX_ENTRIES, Reader::index)?,
        })
    })?;
    let envs = list(&mut r, MAX_ENTRIES, |r| {
        Ok(Environment {
            id: r.str()?,
            attrs: get_attrs(r)?,
        })
    })?;
    let groups = list(&mut r, MAX_ENTRIES, |r| Ok(Group { id: r.str()? }))?;
    let members = list(&mut r, MAX_ENTRIES, |r| {
        Ok(Member {
            id: r.str()?,
            kind: match r.u8()? {
                0 => MemberKind::User,
                1 => MemberKind::Service,
                _ => return Err(DecodeError::BadTag),
            },
            client_id: r.option(Reader::str)?,
            attrs: get_attrs(r)?,
            groups: list(r, MAX_ENTRIES, Reader::index)?,
            disabled: r.bool()?,
        })
    })?;
    let names = Names {
        roles: &roles,
        envs: &envs,
        groups: &groups,
        members: &members,
    };
    let mut scratch = String::new();
    let bindings = list(&mut r, MAX_ENTRIES, |r| {
        let explicit_id = r.option(Reader::shared_str)?;
        let (role, target, env) = (r.index()?, get_target(r)?, get_env(r)?);
        // A default id names the binding's role, holder and environment. Where one of them is
        // out of range there is nothing to name: the id stays empty and the policy check
        // refuses the reference itself, as it would with an explicit id.
        let id = match explicit_id {
            Some(id) => id,
            None => {
                names.write_default_binding_id(role, target, env, &mut scratch);
                std::sync::Arc::from(scratch.as_str())
            }
        };
        Ok(Binding {
            id,
            role,
            target,
            env,
            window: get_window(r)?,
            condition: get_cond_opt(r)?,
        })
    })?;
    let overrides = list(&mut r, MAX_ENTRIES, |r| {
        Ok(Override {
            id: r.shared_str()?,
            effect: match r.u8()? {
                0 => Effect::Allow,
                1 => Effect::Deny,
                _ => return Err(DecodeError::BadTag),
            },
            permissions: get_permset(r, limit)?,
            target: get_target(r)?,
            env: get_env(r)?,
            resource: ResourceSelector {
                resource_type: r.option(Reader::str)?,
                id_glob: r.option(Reader::str)?,
                attrs: get_attrs(r)?,
            },
            window: get_window(r)?,
            condition: get_cond_opt(r)?,
        })
    })?;
    let issuers = list(&mut r, MAX_ISSUERS, |r| {
        Ok(Issuer {
            iss: r.str()?,
            audience: r.str()?,
            kinds: get_kinds(r.u8()?)?,
            max_lifetime: r.varint()?,
            leeway: r.varint()?,
            keys: list(r, MAX_KEYS_PER_ISSUER, |r| {
                let kid = r.str()?;
                let (alg, material) = match r.u8()? {
                    0 => (
                        Alg::EdDSA,
                        KeyMaterial::Ed25519(
                            r.take(32)?.try_into().map_err(|_| DecodeError::Truncated)?,
                        ),
                    ),
                    1 => {
                        let x = r.take(32)?.try_into().map_err(|_| DecodeError::Truncated)?;
                        let y = r.take(32)?.try_into().map_err(|_| DecodeError::Truncated)?;
                        (Alg::ES256, KeyMaterial::P256 { x, y })
                    }
                    2 => (
                        Alg::RS256,
                        KeyMaterial::Rsa {
                            n: r.bytes()?.to_vec(),
                            e: r.bytes()?.to_vec(),
                        },
                    ),
                    _ => return Err(DecodeError::BadTag),
                };
                Ok(TrustedKey { kid, alg, material })
            })?,
        })
    })?;
    let token_ids = list(&mut r, MAX_ENTRIES, Reader::str)?;
    let subjects_before = list(&mut r, MAX_ENTRIES, |r| Ok((r.str()?, r.zigzag()?)))?;
    let routes = list(&mut r, MAX_ENTRIES, |r| {
        let id = r.str()?;
        let method = r.str()?;
        let path_text = r.str()?;
        let path = RouteTemplate::parse(&path_text).map_err(|_| DecodeError::BadTag)?;
        Ok(Route {
            id,
            method,
            path,
            permission: r.index()?,
            resource_type: r.str()?,
            env: match r.u8()? {
                0 => EnvSource::None,
                1 => EnvSource::PathParam(r.str()?),
                2 => EnvSource::HostLabel,
                _ => return Err(DecodeError::BadTag),
            },
            id_param: r.option(Reader::str)?,
            id_pattern: r
                .option(Reader::str)?
                .map(|p| IdPattern::parse(&p))
                .transpose()
                .map_err(|_| DecodeError::BadTag)?,
        })
    })?;
    r.finish()?;
    Ok(PolicyData {
        org,
        permissions,
        roles,
        envs,
        groups,
        members,
        bindings,
        overrides,
        issuers,
        revocations: Revocations {
            token_ids,
            subjects_before,
        },
        routes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`Names::write_default_binding_id`] over a policy's own tables.
    fn default_binding_id(
        d: &PolicyData,
        role: u32,
        target: Target,
        env: Option<EnvSelector>,
    ) -> Option<String> {
        let mut id = String::new();
        Names::of(d)
            .write_default_binding_id(role, target, env, &mut id)
            .then_some(id)
    }

    fn rich() -> PolicyData {
        let source =
            crate::policy::parse_source(crate::testing::source().to_string().as_bytes()).unwrap();
        let mut data = crate::policy::compile(&source).unwrap().remove(0);
        let every_condition = Condition::All(vec![
            Condition::Any(vec![Condition::Has(AttrRef {
                subject: Subject::Context,
                name: "ip".into(),
            })]),
            Condition::Not(Box::new(Condition::Eq(
                Operand::Attr(AttrRef {
                    subject: Subject::Env,
                    name: "tier".into(),
                }),
                Operand::Literal(Value::List(vec![
                    Value::Int(-5),
                    Value::Bool(true),
                    Value::Str("x".into()),
                ])),
            ))),
            Condition::In(
                Operand::Attr(AttrRef {
                    subject: Subject::Resource,
                    name: "site".into(),
                }),
                Operand::Attr(AttrRef {
                    subject: Subject::Principal,
                    name: "sites".into(),
                }),
            ),
            Condition::Time {
                after: Some(-1),
                before: None,
            },
        ]);
        data.bindings[0].condition = Some(Box::new(every_condition));
        data.bindings[0].window = Window {
            not_before: Some(i64::MIN),
            not_after: Some(i64::MAX),
        };
        data.revocations.subjects_before.push(("mia".into(), 42));
        data.issuers[0].keys.push(TrustedKey {
            kid: "p256".into(),
            alg: Alg::ES256,
            material: KeyMaterial::P256 {
                x: hex32("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"),
                y: hex32("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"),
            },
        });
        data.routes.push(Route {
            id: "r".into(),
            method: "GET".into(),
            path: RouteTemplate::parse("/v1/envs/{env}/docs/{id}").unwrap(),
            permission: 0,
            resource_type: "doc".into(),
            env: EnvSource::PathParam("env".into()),
            id_param: Some("id".into()),
            id_pattern: None,
        });
        data
    }

    fn hex32(h: &str) -> [u8; 32] {
        let bytes: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        bytes.try_into().unwrap()
    }

    #[test]
    fn every_field_survives_encoding() {
        let data = rich();
        assert_eq!(decode_body(&encode_body(&data)).unwrap(), data);
        let signer = BundleSigner::from_seed("k", &[5; 32]);
        let mut keys = BundleKeys::new();
        keys.add("k", &signer.public_key()).unwrap();
        let bytes = build(&data, 1, 0, 10, &signer).unwrap();
        let (header, policy) = load(
            &bytes,
            &keys,
            LoadOptions {
                now: 5,
                min_version: 1,
            },
        )
        .unwrap();
        assert_eq!(
            (header.org.as_str(), header.version, header.kid.as_str()),
            ("acme", 1, "k")
        );
        assert_eq!(policy.data(), &data);
    }

    #[test]
    fn default_rule_ids_are_left_out_and_written_out_again() {
        let mut data = rich();
        let env_role = data.bindings[2].role; // writers:editor@*
        let binding = |id: &str, target, env| Binding {
            id: id.into(),
            role: env_role,
            target,
            env,
            window: Window::default(),
            condition: None,
        };
        let (olga, mia) = (data.members[0].id.clone(), data.members[1].id.clone());
        let env = data.envs[0].id.clone();
        let editor = data.roles[env_role as usize].id.clone();
        let derived = [
            format!("{olga}:{editor}@{env}"),
            format!("default:{editor}@{env}"),
        ];
        // Ids the loader could not work out: a name of the author's, and another holder's
        // default id.
        let explicit = [
            "on-call-editors".to_string(),
            format!("{mia}:{editor}@{env}"),
        ];
        data.bindings.extend([
            binding(&derived[0], Target::Member(0), Some(EnvSelector::One(0))),
            binding(&derived[1], Target::Everyone, Some(EnvSelector::One(0))),
            binding(&explicit[0], Target::Group(0), Some(EnvSelector::One(0))),
            binding(&explicit[1], Target::Member(0), Some(EnvSelector::One(0))),
        ]);
        let body = encode_body(&data);
        let contains = |id: &str| body.windows(id.len()).any(|w| w == id.as_bytes());
        for id in derived
            .iter()
            .chain(["olga:owner", "writers:editor@*"].map(String::from).iter())
        {
            assert!(!contains(id), "{id} is written in the body");
        }
        for id in &explicit {
            assert!(contains(id), "{id} is missing from the body");
        }
        assert_eq!(decode_body(&body).unwrap(), data);

        // A default id naming a role past the end of its table: there is nothing to write out,
        // the id stays empty, and the policy check refuses the reference.
        assert_eq!(default_binding_id(&data, 99, Target::Member(0), None), None);
        assert_eq!(
            default_binding_id(&data, env_role, Target::Group(99), None),
            None
        );
        let far_env = Some(EnvSelector::One(99));
        assert_eq!(
            default_binding_id(&data, env_role, Target::Everyone, far_env),
            None
        );
        data.bindings.push(binding("", Target::Member(0), None));
        data.bindings.last_mut().unwrap().role = 99;
        let decoded = decode_body(&encode_body(&data)).unwrap();
        assert!(matches!(
            Policy::new(decoded),
            Err(ModelError::DanglingReference {
                from: "binding",
                to: "role"
            })
        ));
    }

    #[test]
    fn every_truncated_body_is_refused() {
        let body = encode_body(&rich());
        for len in 0..body.len() {
            assert!(
                decode_body(&body[..len]).is_err(),
                "body truncated to {len} bytes decoded"
            );
        }
    }

    #[test]
    fn counts_cannot_promise_more_than_the_bytes_left() {
        let mut w = Writer::new();
        w.str("acme");
        w.varint(u64::MAX);
        assert_eq!(
            decode_body(&w.into_bytes()).unwrap_err(),
            BundleError::Corrupt(DecodeError::TooMany)
        );
    }
}
