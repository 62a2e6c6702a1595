//! Ed25519 signature checks in the strict form, with the key decoded once.
//!
//! A signature `R‖S` over `M` under the key `A` holds when `S` is canonical (below the group
//! order `ℓ`), `R` and `A` are not of small order, and `[S]B − [k]A` encodes to exactly the
//! bytes `R`, where `k = SHA-512(R‖A‖M) mod ℓ`. That is the strict verification of
//! `ed25519-dalek` (`verify_strict`), reached with less work: the strict form decompresses
//! `R` (a square root) to check its order, then compares `R` with the compressed
//! `[S]B − [k]A`. Here `R` is never decompressed: if the compressed point equals the bytes
//! `R`, they are its canonical encoding and decompress to that very point, so checking the
//! order of the computed point is checking the order of `R`; if it does not, both forms
//! refuse. The key is decompressed and checked once, when it is loaded. The square root saved
//! is a few percent of a signature check; the double scalar multiplication is the rest.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};

/// An Ed25519 public key, decoded and checked for verification.
#[derive(Clone)]
pub(crate) struct Ed25519Key {
    /// The key's bytes as given: they are hashed into every challenge.
    encoded: [u8; 32],
    /// The key's point, negated: the verification equation subtracts `[k]A`.
    minus_point: EdwardsPoint,
}

/// Why bytes are not an Ed25519 key to verify with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ed25519KeyError {
    /// The bytes do not decode to a point of the curve.
    NotAPoint,
    /// The point is of small order: any message would verify under some signature.
    SmallOrder,
}

impl Ed25519KeyError {
    /// A short explanation, for the key error that carries it.
    pub(crate) fn why(self) -> &'static str {
        match self {
            Ed25519KeyError::NotAPoint => "not a valid Ed25519 point",
            Ed25519KeyError::SmallOrder => "an Ed25519 key of small order",
        }
    }
}

impl Ed25519Key {
    /// Decodes a key from its 32 bytes, refusing non-points and points of small order.
    pub(crate) fn from_bytes(encoded: &[u8; 32]) -> Result<Self, Ed25519KeyError> {
        let point = CompressedEdwardsY(*encoded)
            .decompress()
            .ok_or(Ed25519KeyError::NotAPoint)?;
        if point.is_small_order() {
            return Err(Ed25519KeyError::SmallOrder);
        }
        Ok(Self {
            encoded: *encoded,
            minus_point: -point,
        })
    }

    /// Whether `signature` (64 bytes, `R‖S`) is a valid strict Ed25519 signature of
    /// `message` under this key.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = <&[u8; 64]>::try_from(signature) else {
            return false;
        };
        let (r, s) = signature.split_at(32);
        let (Ok(r), Ok(s)) = (<[u8; 32]>::try_from(r), <[u8; 32]>::try_from(s)) else {
            return false;
        };
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s)) else {
            return false;
        };
        let challenge = Sha512::new()
            .chain_update(r)
            .chain_update(self.encoded)
            .chain_update(message)
            .finalize();
        let k = Scalar::from_bytes_mod_order_wide(&challenge.into());
        let computed = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &self.minus_point, &s);
        !computed.is_small_order() && computed.compress().to_bytes() == r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
    use proptest::prelude::*;

    /// The eight points of small order, canonically encoded.
    fn small_order_encodings() -> Vec<[u8; 32]> {
        curve25519_dalek::constants::EIGHT_TORSION
            .iter()
            .map(|p| p.compress().to_bytes())
            .collect()
    }

    /// What `ed25519-dalek`'s strict verification says of the same inputs.
    fn strict(key: &[u8; 32], message: &[u8], signature: &[u8]) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(key) else {
            return false;
        };
        if key.is_weak() {
            return false;
        }
        ed25519_dalek::Signature::from_slice(signature)
            .is_ok_and(|s| key.verify_strict(message, &s).is_ok())
    }

    fn ours(key: &[u8; 32], message: &[u8], signature: &[u8]) -> bool {
        Ed25519Key::from_bytes(key).is_ok_and(|k| k.verify(message, signature))
    }

    #[test]
    fn a_signature_verifies_and_a_changed_message_does_not() {
        let signer = SigningKey::from_bytes(&[7; 32]);
        let key = signer.verifying_key().to_bytes();
        let signature = signer.sign(b"payload").to_bytes();
        assert!(ours(&key, b"payload", &signature));
        assert!(!ours(&key, b"payloae", &signature));
        assert!(!ours(&key, b"payload", &signature[..63]));
    }

    #[test]
    fn keys_of_small_order_and_non_points_are_refused() {
        for encoded in small_order_encodings() {
            assert_eq!(
                Ed25519Key::from_bytes(&encoded).err(),
                Some(Ed25519KeyError::SmallOrder)
            );
        }
        // y = 2 is not the y of any point of the curve.
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        assert_eq!(
            Ed25519Key::from_bytes(&not_a_point).err(),
            Some(Ed25519KeyError::NotAPoint)
        );
    }

    #[test]
    fn a_non_canonical_s_is_refused() {
        let signer = SigningKey::from_bytes(&[3; 32]);
        let key = signer.verifying_key().to_bytes();
        let mut signature = signer.sign(b"m").to_bytes();
        // S + ℓ encodes the same scalar modulo ℓ, non-canonically.
        // ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
        let order: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (byte, add) in signature[32..].iter_mut().zip(order) {
            let sum = u16::from(*byte) + u16::from(add) + carry;
            *byte = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
        assert!(!strict(&key, b"m", &signature));
        assert!(!ours(&key, b"m", &signature));
    }

    #[test]
    fn an_r_of_small_order_is_refused_even_when_the_equation_holds() {
        // With R the identity and S = k·a (a the secret scalar), [S]B − [k]A is the identity:
        // the equation holds, and only the order check refuses the signature.
        let signer = SigningKey::from_bytes(&[5; 32]);
        let key = signer.verifying_key().to_bytes();
        let identity = EdwardsPoint::default().compress().to_bytes();
        let challenge = Sha512::new()
            .chain_update(identity)
            .chain_update(key)
            .chain_update(b"m")
            .finalize();
        let k = Scalar::from_bytes_mod_order_wide(&challenge.into());
        let s = k * signer.to_scalar();
        let mut signature = identity.to_vec();
        signature.extend_from_slice(s.as_bytes());
        let decoded = Ed25519Key::from_bytes(&key).map_err(Ed25519KeyError::why);
        let computed = decoded
            .as_ref()
            .map(|key| EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &key.minus_point, &s));
        assert_eq!(computed.map(|p| p.compress().to_bytes()), Ok(identity));
        assert!(!strict(&key, b"m", &signature));
        assert!(!ours(&key, b"m", &signature));
    }

    proptest! {
        /// On valid signatures and on every kind of damage to them, the answer is the strict
        /// verification's: a flipped bit anywhere, `R` replaced by a point of small order,
        /// `S` set to an arbitrary value, a truncated or extended signature.
        #[test]
        fn agrees_with_the_strict_verification(
            seed in any::<[u8; 32]>(),
            message in proptest::collection::vec(any::<u8>(), 0..200),
            damage in 0u8..5,
            position in 0usize..512,
            bytes in any::<[u8; 32]>(),
        ) {
            let signer = SigningKey::from_bytes(&seed);
            let key = signer.verifying_key().to_bytes();
            let mut signature = signer.sign(&message).to_bytes().to_vec();
            match damage {
                0 => {}
                1 => {
                    let bit = position % 512;
                    if let Some(byte) = signature.get_mut(bit / 8) {
                        *byte ^= 1 << (bit % 8);
                    }
                }
                2 => {
                    let encodings = small_order_encodings();
                    let r = encodings.get(position % encodings.len()).copied().unwrap_or_default();
                    signature.splice(..32, r);
                }
                3 => {
                    signature.splice(32.., bytes);
                }
                _ => {
                    if position % 2 == 0 {
                        signature.truncate(position % 64);
                    } else {
                        signature.push(0);
                    }
                }
            }
            prop_assert_eq!(ours(&key, &message, &signature), strict(&key, &message, &signature));
            if damage == 0 {
                prop_assert!(ours(&key, &message, &signature));
            }
        }

        /// Arbitrary key bytes: decoded keys and refusals agree with `ed25519-dalek`'s.
        #[test]
        fn keys_decode_as_the_strict_verification_decodes_them(bytes in any::<[u8; 32]>()) {
            let theirs = VerifyingKey::from_bytes(&bytes).map(|k| k.is_weak());
            match Ed25519Key::from_bytes(&bytes) {
                Ok(_) => prop_assert_eq!(theirs.ok(), Some(false)),
                Err(Ed25519KeyError::SmallOrder) => prop_assert_eq!(theirs.ok(), Some(true)),
                Err(Ed25519KeyError::NotAPoint) => prop_assert!(theirs.is_err()),
            }
        }
    }
}
