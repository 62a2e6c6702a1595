//! Verification keys: JSON Web Keys for token issuers, checked once and prepared once.
//!
//! Key material is validated before it ever reaches the signature library: an Ed25519 key is
//! 32 bytes, not of small order; a P-256 key is a point on the curve; an RSA modulus has
//! 2048 to 4096 bits and a sane public exponent. Each key pins exactly one algorithm.

use super::ed25519::Ed25519Key;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Verifier as _;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

/// A token signature algorithm Portcullis accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alg {
    /// Ed25519 (RFC 8037).
    EdDSA,
    /// ECDSA P-256 with SHA-256, raw `r‖s` signatures.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
}

impl Alg {
    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::EdDSA => "EdDSA",
            Alg::ES256 => "ES256",
            Alg::RS256 => "RS256",
        }
    }

    /// Parses a JOSE name; names are case-sensitive.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "EdDSA" => Alg::EdDSA,
            "ES256" => Alg::ES256,
            "RS256" => Alg::RS256,
            _ => return None,
        })
    }
}

/// Public key material of one of the accepted kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyMaterial {
    /// An Ed25519 public key.
    Ed25519([u8; 32]),
    /// An uncompressed P-256 point.
    P256 {
        /// Affine x coordinate, big-endian.
        x: [u8; 32],
        /// Affine y coordinate, big-endian.
        y: [u8; 32],
    },
    /// An RSA public key.
    Rsa {
        /// Modulus, big-endian, no leading zero.
        n: Vec<u8>,
        /// Public exponent, big-endian, no leading zero.
        e: Vec<u8>,
    },
}

/// A verification key with its id and pinned algorithm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    /// Key id, matched against the token header's `kid`.
    pub kid: String,
    /// The only algorithm this key verifies.
    pub alg: Alg,
    /// The public key.
    pub material: KeyMaterial,
}

/// Why a key was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// The JWK is not valid JSON of the expected shape.
    Malformed(String),
    /// The key type or curve is not accepted.
    UnsupportedKeyType(String),
    /// The `alg` is not accepted or does not fit the key type.
    AlgorithmMismatch {
        /// The key id.
        kid: String,
    },
    /// The key material is unusable (wrong length, not on the curve, too short a modulus).
    InvalidMaterial {
        /// The key id.
        kid: String,
        /// What is wrong.
        why: &'static str,
    },
    /// A private key was supplied where only public keys belong.
    PrivateKey {
        /// The key id.
        kid: String,
    },
}

impl std::error::Error for KeyError {}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::Malformed(m) => write!(f, "malformed key: {m}"),
            KeyError::UnsupportedKeyType(t) => {
                write!(
                    f,
                    "unsupported key type `{t}`; expected OKP Ed25519, EC P-256 or RSA"
                )
            }
            KeyError::AlgorithmMismatch { kid } => {
                write!(
                    f,
                    "key `{kid}`: `alg` must be EdDSA for OKP, ES256 for EC P-256, RS256 for RSA"
                )
            }
            KeyError::InvalidMaterial { kid, why } => write!(f, "key `{kid}`: {why}"),
            KeyError::PrivateKey { kid } => {
                write!(
                    f,
                    "key `{kid}` holds private material (`d`); publish public keys only"
                )
            }
        }
    }
}

/// A JSON Web Key as it appears in a JWKS.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `OKP`, `EC` or `RSA`.
    pub kty: String,
    /// Key id.
    pub kid: String,
    /// Pinned algorithm.
    pub alg: String,
    /// Curve, for OKP and EC keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// Public key (OKP) or x coordinate (EC), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// y coordinate (EC), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Modulus (RSA), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// Exponent (RSA), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Private part; refused in trusted key sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    /// Intended use; must be `sig` when present.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
}

fn b64_field(kid: &str, v: &Option<String>, why: &'static str) -> Result<Vec<u8>, KeyError> {
    let text = v.as_deref().ok_or(KeyError::InvalidMaterial {
        kid: kid.to_owned(),
        why,
    })?;
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| KeyError::InvalidMaterial {
            kid: kid.to_owned(),
            why: "component is not base64url",
        })
}

fn fixed32(kid: &str, bytes: Vec<u8>, why: &'static str) -> Result<[u8; 32], KeyError> {
    bytes.try_into().map_err(|_| KeyError::InvalidMaterial {
        kid: kid.to_owned(),
        why,
    })
}

impl TrustedKey {
    /// Validates a public JWK and pins its algorithm.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        let kid = jwk.kid.clone();
        if kid.is_empty() || kid.len() > 128 {
            return Err(KeyError::Malformed(
                "`kid` must be 1 to 128 characters".into(),
            ));
        }
        if jwk.d.is_some() {
            return Err(KeyError::PrivateKey { kid });
        }
        if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(KeyError::Malformed(format!(
                "key `{kid}`: `use` must be `sig`"
            )));
        }
        let alg = Alg::parse(&jwk.alg).ok_or(KeyError::AlgorithmMismatch { kid: kid.clone() })?;
        let material = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("OKP", Some("Ed25519")) => {
                let x = b64_field(&kid, &jwk.x, "`x` is missing")?;
                KeyMaterial::Ed25519(fixed32(&kid, x, "an Ed25519 key is 32 bytes")?)
            }
            ("EC", Some("P-256")) => KeyMaterial::P256 {
                x: fixed32(
                    &kid,
                    b64_field(&kid, &jwk.x, "`x` is missing")?,
                    "a P-256 coordinate is 32 bytes",
                )?,
                y: fixed32(
                    &kid,
                    b64_field(&kid, &jwk.y, "`y` is missing")?,
                    "a P-256 coordinate is 32 bytes",
                )?,
            },
            ("RSA", _) => KeyMaterial::Rsa {
                n: b64_field(&kid, &jwk.n, "`n` is missing")?,
                e: b64_field(&kid, &jwk.e, "`e` is missing")?,
            },
            (kty, crv) => {
                return Err(KeyError::UnsupportedKeyType(match crv {
                    Some(c) => format!("{kty} {c}"),
                    None => kty.to_owned(),
                }))
            }
        };
        let key = TrustedKey { kid, alg, material };
        key.verifier()?;
        Ok(key)
    }

    /// The public JWK of this key.
    pub fn to_jwk(&self) -> Jwk {
        let b64 = |b: &[u8]| Some(URL_SAFE_NO_PAD.encode(b));
        let mut jwk = Jwk {
            kid: self.kid.clone(),
            alg: self.alg.as_str().to_owned(),
            use_: Some("sig".into()),
            ..Jwk::default()
        };
        match &self.material {
            KeyMaterial::Ed25519(x) => {
                jwk.kty = "OKP".into();
                jwk.crv = Some("Ed25519".into());
                jwk.x = b64(x);
            }
            KeyMaterial::P256 { x, y } => {
                jwk.kty = "EC".into();
                jwk.crv = Some("P-256".into());
                jwk.x = b64(x);
                jwk.y = b64(y);
            }
            KeyMaterial::Rsa { n, e } => {
                jwk.kty = "RSA".into();
                jwk.n = b64(n);
                jwk.e = b64(e);
            }
        }
        jwk
    }

    /// Checks the material against its algorithm and prepares it for verification.
    pub fn verifier(&self) -> Result<VerifierKey, KeyError> {
        let invalid = |why| KeyError::InvalidMaterial {
            kid: self.kid.clone(),
            why,
        };
        let prepared = match (&self.material, self.alg) {
            (KeyMaterial::Ed25519(x), Alg::EdDSA) => {
                Prepared::Ed25519(Ed25519Key::from_bytes(x).map_err(|e| invalid(e.why()))?)
            }
            (KeyMaterial::P256 { x, y }, Alg::ES256) => prepare_p256(x, y).map_err(invalid)?,
            (KeyMaterial::Rsa { n, e }, Alg::RS256) => prepare_rsa(n, e).map_err(invalid)?,
            _ => {
                return Err(KeyError::AlgorithmMismatch {
                    kid: self.kid.clone(),
                })
            }
        };
        Ok(VerifierKey {
            alg: self.alg,
            prepared,
        })
    }
}

// The P-256 and RSA paths live in functions of their own, never inlined into the Ed25519
// path: a JavaScript engine compiles a wasm function whole on its first call, so a cold start
// that checks only Ed25519 signatures would otherwise compile them too.

/// A P-256 public key from its coordinates, or why it is not one.
#[inline(never)]
fn prepare_p256(x: &[u8; 32], y: &[u8; 32]) -> Result<Prepared, &'static str> {
    let mut sec1 = [0x04u8; 65];
    for (to, from) in sec1.iter_mut().skip(1).zip(x.iter().chain(y)) {
        *to = *from;
    }
    p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
        .map(Prepared::P256)
        .map_err(|_| "not a point on P-256")
}

/// Smallest and largest RSA modulus accepted, in bytes (2048 to 4096 bits).
pub const RSA_MODULUS_BYTES: std::ops::RangeInclusive<usize> = 256..=512;

/// An RSA public key from its modulus and exponent (big-endian, as in a JWK), or why it is
/// not usable. Portcullis's own rules come first: no leading zero bytes, a modulus of 2048 to
/// 4096 bits that is odd, an odd exponent above 1 that fits 32 bits. The key is then the
/// RustCrypto `rsa` crate's, which checks it again.
#[inline(never)]
fn prepare_rsa(n: &[u8], e: &[u8]) -> Result<Prepared, &'static str> {
    if n.first() == Some(&0) || e.first() == Some(&0) {
        return Err("RSA components have leading zero bytes");
    }
    if !RSA_MODULUS_BYTES.contains(&n.len()) {
        return Err("an RSA modulus has 2048 to 4096 bits");
    }
    if n.last().is_none_or(|b| b & 1 == 0) {
        return Err("not a usable RSA public key: an even modulus");
    }
    if e.len() > 4 || e.last().is_none_or(|b| b & 1 == 0) || e == [1] {
        return Err("the RSA exponent must be odd, above 1 and fit 32 bits");
    }
    let key = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(n),
        rsa::BigUint::from_bytes_be(e),
    )
    .map_err(|_| "not a usable RSA public key")?;
    Ok(Prepared::Rsa(Box::new(key)))
}

/// ECDSA P-256 over SHA-256, `r‖s` raw.
#[inline(never)]
fn verify_p256(key: &p256::ecdsa::VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    p256::ecdsa::Signature::from_slice(signature).is_ok_and(|s| key.verify(message, &s).is_ok())
}

/// RSASSA-PKCS1-v1_5 over SHA-256, by the `rsa` crate: the signature must be exactly as long
/// as the modulus and below it, and the encoded message must be exactly the padded
/// `DigestInfo` of the hash.
#[inline(never)]
fn verify_rs256(key: &rsa::RsaPublicKey, message: &[u8], signature: &[u8]) -> bool {
    let hashed = sha2::Sha256::digest(message);
    key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &hashed, signature)
        .is_ok()
}

/// The public key of a [`VerifierKey`], decoded once for its algorithm.
#[derive(Clone)]
enum Prepared {
    Ed25519(Ed25519Key),
    P256(p256::ecdsa::VerifyingKey),
    Rsa(Box<rsa::RsaPublicKey>),
}

/// A key prepared for signature checks.
#[derive(Clone)]
pub struct VerifierKey {
    alg: Alg,
    prepared: Prepared,
}

impl std::fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl VerifierKey {
    /// The pinned algorithm.
    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// Checks `signature` (the decoded bytes) over `message` with the pinned algorithm:
    /// Ed25519 in its strict form (canonical `S`, no small-order `R` or key), ECDSA P-256 over
    /// SHA-256 with a raw `r‖s` signature of two non-zero scalars, RSASSA-PKCS1-v1_5 over
    /// SHA-256.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.prepared {
            Prepared::Ed25519(key) => key.verify(message, signature),
            Prepared::P256(key) => verify_p256(key, message, signature),
            Prepared::Rsa(key) => verify_rs256(key, message, signature),
        }
    }
}

/// Parses a JWKS document (`{"keys": [...]}`) into trusted keys.
pub fn parse_jwks(json: &[u8]) -> Result<Vec<TrustedKey>, KeyError> {
    #[derive(Deserialize)]
    struct Jwks {
        keys: Vec<Jwk>,
    }
    let jwks: Jwks =
        serde_json::from_slice(json).map_err(|e| KeyError::Malformed(e.to_string()))?;
    jwks.keys.iter().map(TrustedKey::from_jwk).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ed_jwk(x: &[u8]) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: Some("Ed25519".into()),
            kid: "k1".into(),
            alg: "EdDSA".into(),
            x: Some(URL_SAFE_NO_PAD.encode(x)),
            ..Jwk::default()
        }
    }

    #[test]
    fn short_ed25519_keys_are_refused_before_the_library_sees_them() {
        let err = TrustedKey::from_jwk(&ed_jwk(&[7u8; 16])).unwrap_err();
        assert!(matches!(err, KeyError::InvalidMaterial { .. }));
    }

    #[test]
    fn small_order_keys_are_refused() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(TrustedKey::from_jwk(&ed_jwk(&identity)).is_err());
    }

    #[test]
    fn algorithms_are_pinned_to_key_types() {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
        let mut jwk = ed_jwk(sk.verifying_key().as_bytes());
        assert!(TrustedKey::from_jwk(&jwk).is_ok());
        jwk.alg = "ES256".into();
        assert!(matches!(
            TrustedKey::from_jwk(&jwk),
            Err(KeyError::AlgorithmMismatch { .. })
        ));
        jwk.alg = "HS256".into();
        assert!(TrustedKey::from_jwk(&jwk).is_err());
        jwk.alg = "EdDSA".into();
        jwk.d = Some("AAAA".into());
        assert!(matches!(
            TrustedKey::from_jwk(&jwk),
            Err(KeyError::PrivateKey { .. })
        ));
    }

    fn rsa_jwk(n: &[u8], e: &[u8]) -> Jwk {
        Jwk {
            kty: "RSA".into(),
            kid: "r1".into(),
            alg: "RS256".into(),
            n: Some(URL_SAFE_NO_PAD.encode(n)),
            e: Some(URL_SAFE_NO_PAD.encode(e)),
            ..Jwk::default()
        }
    }

    /// An odd modulus of `bytes` bytes with its top bit set (not a product of primes: only
    /// the checks in front of the `rsa` crate look at it).
    fn modulus(bytes: usize) -> Vec<u8> {
        let mut n = vec![0xa5; bytes];
        n[0] = 0xc1;
        n[bytes - 1] = 0x0b;
        n
    }

    #[test]
    fn rsa_keys_are_checked_before_the_rsa_crate_sees_them() {
        let why = |n: &[u8], e: &[u8]| match TrustedKey::from_jwk(&rsa_jwk(n, e)) {
            Ok(_) => None,
            Err(KeyError::InvalidMaterial { why, .. }) => Some(why),
            Err(other) => panic!("{other:?}"),
        };
        let f4 = [1, 0, 1];
        for bytes in [256, 257, 384, 512] {
            assert_eq!(why(&modulus(bytes), &f4), None, "{bytes} bytes");
        }
        for bytes in [255, 513] {
            assert_eq!(
                why(&modulus(bytes), &f4),
                Some("an RSA modulus has 2048 to 4096 bits"),
                "{bytes} bytes"
            );
        }
        let mut leading = modulus(256);
        leading.insert(0, 0);
        assert_eq!(
            why(&leading, &f4),
            Some("RSA components have leading zero bytes")
        );
        assert_eq!(
            why(&modulus(256), &[0, 1, 0, 1]),
            Some("RSA components have leading zero bytes")
        );
        let mut even = modulus(256);
        even[255] = 0x0a;
        assert_eq!(
            why(&even, &f4),
            Some("not a usable RSA public key: an even modulus")
        );
        for e in [&[1u8][..], &[2], &[1, 0, 0], &[1, 0, 0, 0, 1], &[]] {
            assert_eq!(
                why(&modulus(256), e),
                Some("the RSA exponent must be odd, above 1 and fit 32 bits"),
                "{e:?}"
            );
        }
        for e in [&[3u8][..], &[0xff, 0xff, 0xff, 0xff]] {
            assert_eq!(why(&modulus(256), e), None, "{e:?}");
        }
    }

    #[test]
    fn rs256_signatures_of_the_rsa_crate_verify_and_altered_ones_do_not() {
        use rand_chacha::rand_core::SeedableRng;
        use rsa::pkcs1v15::SigningKey;
        use rsa::signature::{SignatureEncoding, Signer};
        use rsa::traits::PublicKeyParts;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for (bits, exponent) in [(2048, 65_537u64), (2056, 3), (3072, 65_537)] {
            let private =
                rsa::RsaPrivateKey::new_with_exp(&mut rng, bits, &exponent.into()).unwrap();
            let public = private.to_public_key();
            let key = TrustedKey::from_jwk(&rsa_jwk(
                &public.n().to_bytes_be(),
                &public.e().to_bytes_be(),
            ))
            .unwrap()
            .verifier()
            .unwrap();
            let signer = SigningKey::<sha2::Sha256>::new(private);
            let message = b"header.payload";
            let mut signature = signer.sign(message).to_vec();
            assert!(key.verify(message, &signature), "{bits}");
            assert!(!key.verify(b"header.payloaD", &signature));
            signature[10] ^= 1;
            assert!(!key.verify(message, &signature));
            signature[10] ^= 1;
            signature.insert(0, 0);
            assert!(!key.verify(message, &signature), "one byte too long");
        }
    }

    #[test]
    fn key_ids_are_one_to_128_characters() {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
        let mut jwk = ed_jwk(sk.verifying_key().as_bytes());
        for (kid, ok) in [
            ("", false),
            ("k", true),
            (&*"k".repeat(128), true),
            (&*"k".repeat(129), false),
        ] {
            jwk.kid = kid.into();
            let got = TrustedKey::from_jwk(&jwk);
            assert_eq!(got.is_ok(), ok, "{} characters", kid.len());
            if !ok {
                assert_eq!(
                    got.unwrap_err().to_string(),
                    "malformed key: `kid` must be 1 to 128 characters"
                );
            }
        }
    }

    #[test]
    fn a_key_round_trips_through_its_public_jwk() {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
        let key = TrustedKey::from_jwk(&ed_jwk(sk.verifying_key().as_bytes())).unwrap();
        let jwk = key.to_jwk();
        assert_eq!(
            (jwk.kid.as_str(), jwk.alg.as_str(), jwk.use_.as_deref()),
            ("k1", "EdDSA", Some("sig"))
        );
        assert_eq!(TrustedKey::from_jwk(&jwk).unwrap(), key);
        let verifier = key.verifier().unwrap();
        assert_eq!(verifier.alg(), Alg::EdDSA);
        assert_eq!(
            format!("{verifier:?}"),
            "VerifierKey { alg: EdDSA, .. }",
            "no key material in debug output"
        );
    }

    #[test]
    fn a_jwks_document_gives_every_key_or_the_first_error() {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
        let mut second = ed_jwk(sk.verifying_key().as_bytes());
        second.kid = "k2".into();
        let doc = serde_json::json!({ "keys": [ed_jwk(sk.verifying_key().as_bytes()), second] });
        let keys = parse_jwks(doc.to_string().as_bytes()).unwrap();
        assert_eq!(
            keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
            ["k1", "k2"]
        );
        let err =
            parse_jwks(br#"{"keys": [{"kty": "oct", "kid": "h", "alg": "HS256"}]}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "key `h`: `alg` must be EdDSA for OKP, ES256 for EC P-256, RS256 for RSA"
        );
        assert!(matches!(parse_jwks(b"[]"), Err(KeyError::Malformed(_))));
    }
}
