//! A bundle is accepted only as it was signed: every bit flip, every truncation, the wrong
//! key, an unknown key id, expiry and rollback are refused; rotation works.

use portcullis::bundle::{self, BundleError, BundleKeys, BundleSigner, LoadOptions};
use portcullis::model::{Environment, PolicyData};

fn small_policy() -> PolicyData {
    PolicyData {
        org: "acme".into(),
        permissions: vec!["workflow:read".into()],
        envs: vec![Environment {
            id: "acme-dev".into(),
            attrs: Default::default(),
        }],
        ..PolicyData::default()
    }
}

fn keys(signers: &[&BundleSigner]) -> BundleKeys {
    let mut k = BundleKeys::new();
    for s in signers {
        k.add(s.kid(), &s.public_key()).unwrap();
    }
    k
}

const OK: LoadOptions = LoadOptions {
    now: 1_500,
    min_version: 0,
};

#[test]
fn every_single_bit_flip_is_refused() {
    let signer = BundleSigner::from_seed("k1", &[1; 32]);
    let trusted = keys(&[&signer]);
    let good = bundle::build(&small_policy(), 3, 1_000, 2_000, &signer).unwrap();
    assert!(bundle::load(&good, &trusted, OK).is_ok());
    let mut flips = 0;
    for byte in 0..good.len() {
        for bit in 0..8 {
            let mut bad = good.clone();
            bad[byte] ^= 1 << bit;
            assert!(
                bundle::load(&bad, &trusted, OK).is_err(),
                "flip of bit {bit} in byte {byte} was accepted"
            );
            flips += 1;
        }
    }
    assert_eq!(flips, good.len() * 8);
}

#[test]
fn every_truncation_and_extension_is_refused() {
    let signer = BundleSigner::from_seed("k1", &[1; 32]);
    let trusted = keys(&[&signer]);
    let good = bundle::build(&small_policy(), 3, 1_000, 2_000, &signer).unwrap();
    for len in 0..good.len() {
        assert!(
            bundle::load(&good[..len], &trusted, OK).is_err(),
            "truncation to {len} bytes accepted"
        );
    }
    let mut longer = good.clone();
    longer.push(0);
    assert_eq!(
        bundle::load(&longer, &trusted, OK).unwrap_err(),
        BundleError::Truncated
    );
}

#[test]
fn keys_expiry_and_rollback() {
    let k1 = BundleSigner::from_seed("k1", &[1; 32]);
    let k2 = BundleSigner::from_seed("k2", &[2; 32]);
    let impostor = BundleSigner::from_seed("k1", &[9; 32]);
    let v3 = bundle::build(&small_policy(), 3, 1_000, 2_000, &k1).unwrap();
    let v4 = bundle::build(&small_policy(), 4, 1_100, 2_100, &k2).unwrap();
    let forged = bundle::build(&small_policy(), 9, 1_000, 2_000, &impostor).unwrap();

    let only_k1 = keys(&[&k1]);
    assert!(
        matches!(bundle::load(&v4, &only_k1, OK), Err(BundleError::UnknownKey(kid)) if kid == "k2")
    );
    assert_eq!(
        bundle::load(&forged, &only_k1, OK).unwrap_err(),
        BundleError::BadSignature
    );

    // Rotation: both keys trusted while bundles signed by either are in flight.
    let both = keys(&[&k1, &k2]);
    assert_eq!(bundle::load(&v3, &both, OK).unwrap().0.version, 3);
    assert_eq!(bundle::load(&v4, &both, OK).unwrap().0.version, 4);

    let expired = LoadOptions {
        now: 2_000,
        min_version: 0,
    };
    assert_eq!(
        bundle::load(&v3, &both, expired).unwrap_err(),
        BundleError::Expired { not_after: 2_000 }
    );
    let floor = LoadOptions {
        now: 1_500,
        min_version: 4,
    };
    assert_eq!(
        bundle::load(&v3, &both, floor).unwrap_err(),
        BundleError::Rollback {
            version: 3,
            floor: 4
        }
    );
    assert!(bundle::load(&v4, &both, floor).is_ok());
    let early = LoadOptions {
        now: 1_000 - 301,
        min_version: 0,
    };
    assert_eq!(
        bundle::load(&v3, &both, early).unwrap_err(),
        BundleError::IssuedInFuture
    );
}

#[test]
fn a_body_for_another_org_than_the_header_is_refused() {
    let signer = BundleSigner::from_seed("k1", &[1; 32]);
    let good = bundle::build(&small_policy(), 3, 1_000, 2_000, &signer).unwrap();
    let (_, body) = bundle::read_header(&good).unwrap();
    assert_eq!(bundle::decode_body(body).unwrap(), small_policy());
    let mut other = small_policy();
    other.org = "evil".into();
    let body = bundle::encode_body(&other);
    let mut forged =
        good[..good.len() - 64 - 4 - bundle::encode_body(&small_policy()).len()].to_vec();
    forged.extend_from_slice(&(body.len() as u32).to_le_bytes());
    forged.extend_from_slice(&body);
    use ed25519_dalek::Signer;
    let sig = ed25519_dalek::SigningKey::from_bytes(&[1; 32]).sign(&forged);
    forged.extend_from_slice(&sig.to_bytes());
    assert_eq!(
        bundle::load(&forged, &keys(&[&signer]), OK).unwrap_err(),
        BundleError::OrgMismatch
    );
}
