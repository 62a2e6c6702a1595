//! RSASSA-PKCS1-v1_5 signature verification with SHA-256 (RFC 8017, section 8.2.2) for public
//! keys of 2048 to 4096 bits: what RS256 needs, and nothing else.
//!
//! Verification handles public values only (the key, the message, the signature), so the
//! arithmetic need not run in constant time. The signature is raised to the public exponent
//! with Montgomery multiplication (separated operand scanning, one double-width product per
//! limb pair: 64-bit limbs on 64-bit targets, 32-bit limbs on wasm32, where a 64-bit product
//! is one instruction) and square-and-multiply; the result is compared byte for byte with the
//! one encoding a valid signature can have: `00 01 FF…FF 00`, the DER `DigestInfo` of
//! SHA-256, the digest.

/// The unsigned integer a modulus is split into, with its double-width product: `u64` on
/// 64-bit targets, `u32` elsewhere (wasm32 multiplies two of them in one instruction).
pub trait Limb:
    Copy
    + Eq
    + Ord
    + std::fmt::Debug
    + std::ops::Shl<u32, Output = Self>
    + std::ops::Shr<u32, Output = Self>
    + std::ops::BitOr<Output = Self>
    + std::ops::BitAnd<Output = Self>
{
    /// Width in bits.
    const BITS: u32;
    /// Width in bytes.
    const BYTES: usize;
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// A byte as a limb.
    fn from_byte(byte: u8) -> Self;
    /// The limb's big-endian bytes, `BYTES` of them, into `out` from its end (the low ones).
    fn write_low_bytes(self, out: &mut [u8]);
    /// `self + a · b + carry`, which never overflows two limbs: (low, high).
    fn mul_add(self, a: Self, b: Self, carry: Self) -> (Self, Self);
    /// Sum and whether it wrapped.
    fn overflowing_add(self, other: Self) -> (Self, bool);
    /// Difference and whether it wrapped.
    fn overflowing_sub(self, other: Self) -> (Self, bool);
    /// Product modulo 2^BITS.
    fn wrapping_mul(self, other: Self) -> Self;
    /// Difference modulo 2^BITS.
    fn wrapping_sub(self, other: Self) -> Self;
    /// Leading zero bits.
    fn leading_zeros(self) -> u32;
}

macro_rules! limb {
    ($limb:ty, $wide:ty) => {
        impl Limb for $limb {
            const BITS: u32 = <$limb>::BITS;
            const BYTES: usize = std::mem::size_of::<$limb>();
            const ZERO: Self = 0;
            const ONE: Self = 1;
            fn from_byte(byte: u8) -> Self {
                Self::from(byte)
            }
            fn write_low_bytes(self, out: &mut [u8]) {
                let bytes = self.to_be_bytes();
                for (dst, src) in out.iter_mut().rev().zip(bytes.iter().rev()) {
                    *dst = *src;
                }
            }
            fn mul_add(self, a: Self, b: Self, carry: Self) -> (Self, Self) {
                let sum = <$wide>::from(self)
                    + <$wide>::from(a) * <$wide>::from(b)
                    + <$wide>::from(carry);
                (sum as $limb, (sum >> <$limb>::BITS) as $limb)
            }
            fn overflowing_add(self, other: Self) -> (Self, bool) {
                <$limb>::overflowing_add(self, other)
            }
            fn overflowing_sub(self, other: Self) -> (Self, bool) {
                <$limb>::overflowing_sub(self, other)
            }
            fn wrapping_mul(self, other: Self) -> Self {
                <$limb>::wrapping_mul(self, other)
            }
            fn wrapping_sub(self, other: Self) -> Self {
                <$limb>::wrapping_sub(self, other)
            }
            fn leading_zeros(self) -> u32 {
                <$limb>::leading_zeros(self)
            }
        }
    };
}
limb!(u32, u64);
limb!(u64, u128);

/// The limb of this target.
#[cfg(target_pointer_width = "64")]
pub type NativeLimb = u64;
/// The limb of this target.
#[cfg(not(target_pointer_width = "64"))]
pub type NativeLimb = u32;

/// An RSA public key prepared for verification, in this target's limbs.
pub type RsaPublicKey = RsaKey<NativeLimb>;

/// The DER encoding of `DigestInfo` for SHA-256 up to the digest itself (RFC 8017, note 1 of
/// section 9.2).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// Smallest and largest modulus accepted, in bytes.
pub const MODULUS_BYTES: std::ops::RangeInclusive<usize> = 256..=512;

/// Why an RSA public key is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsaKeyError {
    /// The modulus or the exponent starts with a zero byte.
    LeadingZero,
    /// The modulus is not 2048 to 4096 bits long.
    ModulusSize,
    /// The modulus is even, so it is not a product of two odd primes.
    EvenModulus,
    /// The exponent is even, 1, or longer than 32 bits.
    Exponent,
}

/// An RSA public key prepared for verification: the modulus as limbs, and the two constants
/// Montgomery multiplication needs, computed once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaKey<L: Limb> {
    /// The modulus, least significant limb first.
    modulus: Vec<L>,
    /// −n⁻¹ mod 2^BITS.
    n_prime: L,
    /// R² mod n, with R = 2^(BITS · limbs): a number's Montgomery form is its Montgomery
    /// product with this.
    r_squared: Vec<L>,
    /// The public exponent.
    exponent: u32,
    /// The modulus's length in bytes: every signature has exactly this length.
    len: usize,
}

impl<L: Limb> RsaKey<L> {
    /// Prepares a key from its big-endian modulus and exponent (the JWK `n` and `e`).
    pub fn new(modulus: &[u8], exponent: &[u8]) -> Result<Self, RsaKeyError> {
        if modulus.first() == Some(&0) || exponent.first() == Some(&0) {
            return Err(RsaKeyError::LeadingZero);
        }
        if !MODULUS_BYTES.contains(&modulus.len()) {
            return Err(RsaKeyError::ModulusSize);
        }
        if modulus.last().is_none_or(|b| b & 1 == 0) {
            return Err(RsaKeyError::EvenModulus);
        }
        if exponent.len() > 4 || exponent.last().is_none_or(|b| b & 1 == 0) || exponent == [1] {
            return Err(RsaKeyError::Exponent);
        }
        let exponent = exponent.iter().fold(0u32, |e, &b| (e << 8) | u32::from(b));
        let n: Vec<L> = limbs_of(modulus, modulus.len().div_ceil(L::BYTES));
        let n_prime = L::ZERO.wrapping_sub(inverse_mod_limb(n.first().copied().unwrap_or(L::ONE)));
        let mut key = RsaKey {
            r_squared: Vec::new(),
            modulus: n,
            n_prime,
            exponent,
            len: modulus.len(),
        };
        key.r_squared = key.compute_r_squared();
        Ok(key)
    }

    /// Checks a PKCS#1 v1.5 signature over a SHA-256 `digest`.
    pub fn verify_sha256(&self, digest: &[u8; 32], signature: &[u8]) -> bool {
        if signature.len() != self.len {
            return false;
        }
        let s = limbs_of(signature, self.modulus.len());
        if !less_than(&s, &self.modulus) {
            return false;
        }
        let m = self.pow_exponent(&s);
        let mut encoded = vec![0u8; self.len];
        write_big_endian(&m, &mut encoded);
        encoded == self.expected_encoding(digest)
    }

    /// EMSA-PKCS1-v1_5 of a SHA-256 digest for this key's length.
    fn expected_encoding(&self, digest: &[u8; 32]) -> Vec<u8> {
        let padding = self.len - 3 - SHA256_DIGEST_INFO.len() - digest.len();
        let mut em = Vec::with_capacity(self.len);
        em.extend_from_slice(&[0x00, 0x01]);
        em.resize(2 + padding, 0xff);
        em.push(0x00);
        em.extend_from_slice(&SHA256_DIGEST_INFO);
        em.extend_from_slice(digest);
        em
    }

    /// s^e mod n, for s < n. Every product goes through one scratch buffer: a verification
    /// allocates its buffers once, not per multiplication.
    fn pow_exponent(&self, s: &[L]) -> Vec<L> {
        let limbs = self.modulus.len();
        let mut scratch = vec![L::ZERO; 2 * limbs + 1];
        let mut base = vec![L::ZERO; limbs];
        self.mont_mul_into(s, &self.r_squared, &mut scratch, &mut base);
        let mut x = base.clone();
        let mut product = vec![L::ZERO; limbs];
        let top = u32::BITS - 1 - self.exponent.leading_zeros();
        for bit in (0..top).rev() {
            self.mont_mul_into(&x, &x, &mut scratch, &mut product);
            std::mem::swap(&mut x, &mut product);
            if self.exponent >> bit & 1 == 1 {
                self.mont_mul_into(&x, &base, &mut scratch, &mut product);
                std::mem::swap(&mut x, &mut product);
            }
        }
        // Out of Montgomery form: the product with 1.
        base.fill(L::ZERO);
        if let Some(first) = base.first_mut() {
            *first = L::ONE;
        }
        self.mont_mul_into(&x, &base, &mut scratch, &mut product);
        product
    }

    /// a · b · R⁻¹ mod n, for a, b < n, as a new number.
    fn mont_mul(&self, a: &[L], b: &[L]) -> Vec<L> {
        let limbs = self.modulus.len();
        let mut scratch = vec![L::ZERO; 2 * limbs + 1];
        let mut out = vec![L::ZERO; limbs];
        self.mont_mul_into(a, b, &mut scratch, &mut out);
        out
    }

    /// out ← a · b · R⁻¹ mod n, for a, b < n, with `scratch` of 2·limbs + 1 limbs and `out`
    /// of limbs limbs (both overwritten).
    fn mont_mul_into(&self, a: &[L], b: &[L], scratch: &mut [L], out: &mut [L]) {
        let limbs = self.modulus.len();
        let t = scratch;
        t.fill(L::ZERO);
        // t = a · b, in 2·limbs + 1 limbs (the top one takes the reduction's carry).
        for (i, &bi) in b.iter().enumerate() {
            let Some(row) = t.get_mut(i..) else { break };
            let mut carry = L::ZERO;
            let mut cells = row.iter_mut();
            // The limbs of `a` lead the zip, so that it takes no cell past them.
            for (&aj, cell) in a.iter().zip(cells.by_ref()) {
                (*cell, carry) = cell.mul_add(aj, bi, carry);
            }
            if let Some(cell) = cells.next() {
                *cell = carry;
            }
        }
        // Reduction: add m·n at limb i so that limb i becomes zero, for every i < limbs.
        for i in 0..limbs {
            let Some(row) = t.get_mut(i..) else { break };
            let m = row
                .first()
                .copied()
                .unwrap_or(L::ZERO)
                .wrapping_mul(self.n_prime);
            let mut carry = L::ZERO;
            let mut cells = row.iter_mut();
            for (&nj, cell) in self.modulus.iter().zip(cells.by_ref()) {
                (*cell, carry) = cell.mul_add(m, nj, carry);
            }
            for cell in cells {
                if carry == L::ZERO {
                    break;
                }
                let (sum, overflow) = cell.overflowing_add(carry);
                *cell = sum;
                carry = if overflow { L::ONE } else { L::ZERO };
            }
        }
        // t / R < 2n: one subtraction at most.
        let upper = t.get(limbs..).unwrap_or_default();
        let (result, top) = upper.split_at(upper.len().saturating_sub(1));
        for (cell, &limb) in out.iter_mut().zip(result) {
            *cell = limb;
        }
        let overflow = top.first().is_some_and(|&top| top != L::ZERO);
        if overflow || !less_than(out, &self.modulus) {
            subtract_in_place(out, &self.modulus);
        }
    }

    /// R² mod n: the modulus's top power of two doubled up to R mod n, then doubled and
    /// Montgomery-squared up to R².
    fn compute_r_squared(&self) -> Vec<L> {
        let limbs = self.modulus.len();
        let r_bits = L::BITS * limbs as u32;
        let n_bits = r_bits - leading_zeros(&self.modulus);
        // 2^(n_bits − 1) < n.
        let mut x = vec![L::ZERO; limbs];
        let top = n_bits - 1;
        if let Some(limb) = x.get_mut((top / L::BITS) as usize) {
            *limb = L::ONE << (top % L::BITS);
        }
        // Up to R = 2^r_bits, then to 2^t · R where r_bits = t · 2^s with t odd: Montgomery
        // forms square into Montgomery forms, so s squarings of 2^t · R give 2^r_bits · R.
        let s = r_bits.trailing_zeros();
        let t = r_bits >> s;
        for _ in 0..(r_bits - top + t) {
            self.double_in_place(&mut x);
        }
        for _ in 0..s {
            x = self.mont_mul(&x, &x);
        }
        x
    }

    /// x ← 2x mod n, for x < n.
    fn double_in_place(&self, x: &mut [L]) {
        let mut carry = L::ZERO;
        for limb in x.iter_mut() {
            let next = *limb >> (L::BITS - 1);
            *limb = (*limb << 1) | carry;
            carry = next;
        }
        if carry != L::ZERO || !less_than(x, &self.modulus) {
            subtract_in_place(x, &self.modulus);
        }
    }
}

/// A big-endian byte string as `limbs` limbs, least significant first (zero-extended).
fn limbs_of<L: Limb>(bytes: &[u8], limbs: usize) -> Vec<L> {
    let mut out = vec![L::ZERO; limbs];
    for (limb, chunk) in out.iter_mut().zip(bytes.rchunks(L::BYTES)) {
        *limb = chunk
            .iter()
            .fold(L::ZERO, |acc, &b| (acc << 8) | L::from_byte(b));
    }
    out
}

/// Writes limbs (least significant first) big-endian into `out`, which holds their low bytes.
fn write_big_endian<L: Limb>(limbs: &[L], out: &mut [u8]) {
    for (chunk, limb) in out.rchunks_mut(L::BYTES).zip(limbs) {
        limb.write_low_bytes(chunk);
    }
}

/// a < b, both of the same number of limbs.
fn less_than<L: Limb>(a: &[L], b: &[L]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// a ← a − b mod 2^(BITS · limbs).
fn subtract_in_place<L: Limb>(a: &mut [L], b: &[L]) {
    let mut borrow = false;
    for (x, &y) in a.iter_mut().zip(b) {
        let (d1, b1) = x.overflowing_sub(y);
        let (d2, b2) = d1.overflowing_sub(if borrow { L::ONE } else { L::ZERO });
        *x = d2;
        borrow = b1 || b2;
    }
}

/// Leading zero bits of a number given as limbs.
fn leading_zeros<L: Limb>(limbs: &[L]) -> u32 {
    let mut zeros = 0;
    for limb in limbs.iter().rev() {
        if *limb != L::ZERO {
            return zeros + limb.leading_zeros();
        }
        zeros += L::BITS;
    }
    zeros
}

/// x⁻¹ mod 2^BITS for odd x (Newton's iteration: each step doubles the correct bits, from
/// the three that x itself gets right).
fn inverse_mod_limb<L: Limb>(x: L) -> L {
    let two = L::ONE << 1;
    let mut inverse = x;
    for _ in 0..5 {
        inverse = inverse.wrapping_mul(two.wrapping_sub(x.wrapping_mul(inverse)));
    }
    inverse
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rsa::traits::PublicKeyParts;
    use sha2::Digest as _;

    /// A key pair of the rsa crate, and our key for its public half in both limb widths
    /// (every test runs the wasm32 arithmetic natively too).
    struct Pair {
        private: rsa::RsaPrivateKey,
        narrow: RsaKey<u32>,
        wide: RsaKey<u64>,
    }

    impl Pair {
        fn with_exponent(bits: usize, seed: u64, e: u32) -> Pair {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let private =
                rsa::RsaPrivateKey::new_with_exp(&mut rng, bits, &rsa::BigUint::from(e)).unwrap();
            let (n, e) = (private.n().to_bytes_be(), private.e().to_bytes_be());
            Pair {
                narrow: RsaKey::new(&n, &e).unwrap(),
                wide: RsaKey::new(&n, &e).unwrap(),
                private,
            }
        }

        fn new(bits: usize, seed: u64) -> Pair {
            Pair::with_exponent(bits, seed, 65537)
        }

        fn sign(&self, digest: &[u8; 32]) -> Vec<u8> {
            self.private
                .sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), digest)
                .unwrap()
        }

        /// Both widths must agree; the answer is theirs.
        fn verify(&self, digest: &[u8; 32], signature: &[u8]) -> bool {
            let narrow = self.narrow.verify_sha256(digest, signature);
            assert_eq!(narrow, self.wide.verify_sha256(digest, signature));
            narrow
        }
    }

    fn r_squared_of<L: Limb>(key: &RsaKey<L>) -> rsa::BigUint {
        let mut bytes = vec![0u8; key.len];
        write_big_endian(&key.r_squared, &mut bytes);
        rsa::BigUint::from_bytes_be(&bytes)
    }

    #[test]
    fn inverse_mod_limb_inverts_odd_limbs() {
        for x in [1u32, 3, 0x1234_5677, u32::MAX, u32::MAX - 2] {
            assert_eq!(x.wrapping_mul(inverse_mod_limb(x)), 1, "{x}");
        }
        for x in [1u64, 3, 0x1234_5677_89ab_cdef, u64::MAX, u64::MAX - 2] {
            assert_eq!(x.wrapping_mul(inverse_mod_limb(x)), 1, "{x}");
        }
    }

    #[test]
    fn r_squared_is_r_squared_mod_n() {
        // Against plain big-integer arithmetic, for moduli that fill their top limb and for
        // ones that do not (2056 bits: 65 limbs of 32 bits, 33 of 64).
        for (bits, seed) in [(2048, 1), (2056, 2), (3072, 3)] {
            let pair = Pair::new(bits, seed);
            let n = pair.private.n();
            for (limb_bits, limbs, got) in [
                (32, pair.narrow.modulus.len(), r_squared_of(&pair.narrow)),
                (64, pair.wide.modulus.len(), r_squared_of(&pair.wide)),
            ] {
                let r = rsa::BigUint::from(1u8) << (limb_bits * limbs);
                assert_eq!(got, (&r * &r) % n, "{bits} bits, {limb_bits}-bit limbs");
            }
        }
    }

    #[test]
    fn signatures_of_the_rsa_crate_verify_and_altered_ones_do_not() {
        for (bits, seed) in [(2048, 7), (2056, 10), (3072, 8), (4096, 9)] {
            let pair = Pair::new(bits, seed);
            for message in [&b""[..], b"portcullis", &[0xa5; 1000]] {
                let digest: [u8; 32] = sha2::Sha256::digest(message).into();
                let signature = pair.sign(&digest);
                assert!(pair.verify(&digest, &signature), "{bits} bits");
                let mut other = digest;
                other[0] ^= 1;
                assert!(!pair.verify(&other, &signature));
                for byte in [0, signature.len() / 2, signature.len() - 1] {
                    let mut altered = signature.clone();
                    altered[byte] ^= 0x10;
                    assert!(!pair.verify(&digest, &altered), "byte {byte}");
                }
                assert!(!pair.verify(&digest, &signature[1..]));
                let mut longer = vec![0];
                longer.extend_from_slice(&signature);
                assert!(!pair.verify(&digest, &longer));
            }
        }
    }

    #[test]
    fn a_signature_not_below_the_modulus_is_refused() {
        let pair = Pair::new(2048, 11);
        let digest: [u8; 32] = sha2::Sha256::digest(b"m").into();
        let signature = pair.sign(&digest);
        let n = pair.private.n();
        // s + n has the same residue: as a 256-byte string it must still be refused.
        let shifted = (rsa::BigUint::from_bytes_be(&signature) + n).to_bytes_be();
        if shifted.len() == signature.len() {
            assert!(!pair.verify(&digest, &shifted));
        }
        assert!(!pair.verify(&digest, &n.to_bytes_be()));
        assert!(!pair.verify(&digest, &[0xff; 256]));
        assert!(!pair.verify(&digest, &[0; 256]));
    }

    #[test]
    fn odd_exponents_other_than_65537_work() {
        for e in [3, 17, 0x8000_0001] {
            let pair = Pair::with_exponent(2048, 5, e);
            let digest: [u8; 32] = sha2::Sha256::digest(b"e").into();
            assert!(pair.verify(&digest, &pair.sign(&digest)), "e = {e}");
        }
    }

    #[test]
    fn keys_outside_the_accepted_shapes_are_refused() {
        let mut n = vec![0xc1; 256];
        n[255] = 0x01;
        let e = [0x01, 0x00, 0x01];
        assert!(RsaPublicKey::new(&n, &e).is_ok());
        let mut leading_zero = vec![0];
        leading_zero.extend_from_slice(&n);
        let refused = |n: &[u8], e: &[u8]| RsaPublicKey::new(n, e).err();
        assert_eq!(refused(&leading_zero, &e), Some(RsaKeyError::LeadingZero));
        assert_eq!(refused(&n, &[0, 1, 0, 1]), Some(RsaKeyError::LeadingZero));
        assert_eq!(refused(&n[1..], &e), Some(RsaKeyError::ModulusSize));
        assert_eq!(refused(&[0xc1; 513], &e), Some(RsaKeyError::ModulusSize));
        let mut even = n.clone();
        even[255] = 0x02;
        assert_eq!(refused(&even, &e), Some(RsaKeyError::EvenModulus));
        for bad in [&[1u8][..], &[2], &[0x01, 0x00, 0x00, 0x00, 0x01], &[]] {
            assert_eq!(refused(&n, bad), Some(RsaKeyError::Exponent), "{bad:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// On any signature bytes, and on real signatures with one bit flipped, both widths
        /// answer as the rsa crate's verifier does.
        #[test]
        fn answers_as_the_rsa_crate_does(
            message in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 256),
            flip in 0usize..2048,
        ) {
            use std::sync::OnceLock;
            static PAIR: OnceLock<Pair> = OnceLock::new();
            let pair = PAIR.get_or_init(|| Pair::new(2048, 21));
            let public = rsa::RsaPublicKey::from(&pair.private);
            let digest: [u8; 32] = sha2::Sha256::digest(&message).into();
            let theirs = |signature: &[u8]| {
                public
                    .verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, signature)
                    .is_ok()
            };
            proptest::prop_assert_eq!(pair.verify(&digest, &noise), theirs(&noise));
            let mut signature = pair.sign(&digest);
            proptest::prop_assert!(pair.verify(&digest, &signature));
            signature[flip / 8] ^= 1 << (flip % 8);
            proptest::prop_assert_eq!(pair.verify(&digest, &signature), theirs(&signature));
        }
    }
}
