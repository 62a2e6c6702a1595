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

mod body;
mod codec;
mod elements;

use crate::model::{ModelError, Policy, PolicyData};
use crate::token::{Alg, KeyError, KeyMaterial, TrustedKey};
pub use body::{decode_body, encode_body};
pub use codec::DecodeError;
use codec::Reader;

/// The four magic bytes every bundle starts with.
pub const MAGIC: [u8; 4] = *b"PCLB";

/// The format version this code reads and writes.
pub const FORMAT_VERSION: u16 = 4;

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

impl std::error::Error for BundleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BundleError::Corrupt(e) => Some(e),
            BundleError::Invalid(e) => Some(e),
            _ => None,
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
    pub fn add_jwk(&mut self, jwk: &crate::token::Jwk) -> Result<(), KeyError> {
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
pub(crate) fn verify<'b>(
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

#[cfg(test)]
mod tests {
    use super::body::Names;
    use super::codec::Writer;
    use super::*;
    use crate::model::*;

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
            crate::source::parse_source(crate::testing::source().to_string().as_bytes()).unwrap();
        let mut data = crate::source::compile(&source).unwrap().remove(0);
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
        data.subject_aliases = vec!["email".into(), "pid".into()];
        data.resources = vec![
            ResourceEntity {
                resource_type: "doc".into(),
                id: "d-1".into(),
                env: Some(0),
                attrs: [("owner".to_owned(), Value::Str("mia".into()))].into(),
            },
            ResourceEntity {
                resource_type: "doc".into(),
                id: "d-2".into(),
                env: None,
                attrs: Attrs::new(),
            },
        ];
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
