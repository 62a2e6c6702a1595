//! Token verification at the core: each case is named for what it defends against.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::SigningKey;
use portcullis::token::{verify, TokenError, VerifyOptions, MAX_TOKEN_BYTES};
use portcullis::token::{Issuer, IssuerKeys};
use portcullis::tools::mint::sign_parts;
use portcullis::TokenKind;
use portcullis_testkit::{issuer, signing_key, NOW};
use serde_json::{json, Value};

fn key() -> SigningKey {
    signing_key(11)
}

fn issuer_keys(kinds: Vec<TokenKind>) -> IssuerKeys {
    let issuer = Issuer {
        kinds,
        ..issuer(
            "https://idp.example",
            "https://api.example",
            "k1",
            &key(),
            30,
        )
    };
    IssuerKeys::new(&[issuer]).unwrap()
}

fn header(kind: TokenKind) -> Value {
    json!({ "alg": "EdDSA", "typ": kind.typ(), "kid": "k1" })
}

fn claims(kind: TokenKind) -> Value {
    let mut c = json!({
        "iss": "https://idp.example", "sub": "ann", "aud": "https://api.example",
        "exp": NOW + 600, "iat": NOW - 10, "jti": "t-1", "org": "acme"
    });
    match kind {
        TokenKind::EnvAuth => c["env"] = json!("acme-dev"),
        TokenKind::Service => c["client_id"] = json!("svc-1"),
        TokenKind::OrgAuth => {}
    }
    c
}

fn sign(header: &Value, payload: &Value) -> String {
    sign_parts(
        &key(),
        header.to_string().as_bytes(),
        payload.to_string().as_bytes(),
    )
}

fn check(token: &str) -> Result<(), TokenError> {
    verify(
        token,
        &issuer_keys(TokenKind::ALL.to_vec()),
        &VerifyOptions {
            now: NOW,
            audience: None,
        },
    )
    .map(|_| ())
}

fn with(kind: TokenKind, edit: impl FnOnce(&mut Value, &mut Value)) -> Result<(), TokenError> {
    let (mut h, mut c) = (header(kind), claims(kind));
    edit(&mut h, &mut c);
    check(&sign(&h, &c))
}

#[test]
fn well_formed_tokens_of_every_kind_verify() {
    for kind in TokenKind::ALL {
        assert_eq!(with(kind, |_, _| {}), Ok(()), "{kind:?}");
    }
    let t = verify(
        &sign(&header(TokenKind::EnvAuth), &claims(TokenKind::EnvAuth)),
        &issuer_keys(TokenKind::ALL.to_vec()),
        &VerifyOptions {
            now: NOW,
            audience: None,
        },
    )
    .unwrap();
    assert_eq!(
        (t.kind(), t.sub(), t.org(), t.env()),
        (TokenKind::EnvAuth, "ann", "acme", Some("acme-dev"))
    );
    assert_eq!(t.scope(), None, "no scope claim: the token is not narrowed");
    let mut c = claims(TokenKind::Service);
    c["scope"] = json!("workflow:read  workflow:*");
    let s = verify(
        &sign(&header(TokenKind::Service), &c),
        &issuer_keys(TokenKind::ALL.to_vec()),
        &VerifyOptions {
            now: NOW,
            audience: None,
        },
    )
    .unwrap();
    assert_eq!(
        s.scope(),
        Some(&["workflow:read".to_owned(), "workflow:*".to_owned()][..])
    );
    assert_eq!(s.client_id(), Some("svc-1"));
}

#[test]
fn typ_compares_as_a_media_type() {
    assert_eq!(
        with(TokenKind::EnvAuth, |h, _| h["typ"] =
            json!("application/envauth+jwt")),
        Ok(())
    );
    assert_eq!(
        with(TokenKind::EnvAuth, |h, _| h["typ"] = json!("EnvAuth+JWT")),
        Ok(())
    );
    assert_eq!(
        with(TokenKind::EnvAuth, |h, _| h["typ"] = json!("JWT")),
        Err(TokenError::UnknownType)
    );
}

#[test]
fn every_kind_requires_its_claims() {
    for kind in TokenKind::ALL {
        let mut required = vec!["iss", "sub", "aud", "exp", "iat", "jti", "org"];
        match kind {
            TokenKind::EnvAuth => required.push("env"),
            TokenKind::Service => required.push("client_id"),
            TokenKind::OrgAuth => {}
        }
        for claim in required {
            let got = with(kind, |_, c| {
                c.as_object_mut().unwrap().remove(claim);
            });
            assert_eq!(
                got,
                Err(TokenError::MissingClaim(claim)),
                "{kind:?} without {claim}"
            );
        }
    }
}

#[test]
fn a_kind_the_issuer_may_not_mint_is_refused() {
    let p = issuer_keys(vec![TokenKind::EnvAuth]);
    let t = sign(&header(TokenKind::OrgAuth), &claims(TokenKind::OrgAuth));
    assert_eq!(
        verify(
            &t,
            &p,
            &VerifyOptions {
                now: NOW,
                audience: None
            }
        )
        .unwrap_err(),
        TokenError::KindNotAllowed
    );
}

#[test]
fn times_are_checked_against_now_with_the_leeway() {
    use TokenKind::EnvAuth;
    assert_eq!(
        with(EnvAuth, |_, c| {
            c["iat"] = json!(NOW - 700);
            c["exp"] = json!(NOW - 31);
        }),
        Err(TokenError::Expired)
    );
    assert_eq!(
        with(EnvAuth, |_, c| {
            c["iat"] = json!(NOW - 700);
            c["exp"] = json!(NOW - 29);
        }),
        Ok(()),
        "within leeway"
    );
    assert_eq!(
        with(EnvAuth, |_, c| c["nbf"] = json!(NOW + 31)),
        Err(TokenError::NotYetValid)
    );
    assert_eq!(with(EnvAuth, |_, c| c["nbf"] = json!(NOW + 29)), Ok(()));
    assert_eq!(
        with(EnvAuth, |_, c| {
            c["iat"] = json!(NOW + 31);
            c["exp"] = json!(NOW + 600);
        }),
        Err(TokenError::IssuedInFuture)
    );
    assert_eq!(
        with(EnvAuth, |_, c| c["exp"] = json!(NOW + 3600)),
        Err(TokenError::LifetimeTooLong)
    );
    assert_eq!(
        with(EnvAuth, |_, c| c["exp"] = json!(NOW - 10)),
        Err(TokenError::InvalidClaim("exp")),
        "exp before iat"
    );
    assert_eq!(
        with(EnvAuth, |_, c| c["exp"] = json!("tomorrow")),
        Err(TokenError::InvalidClaim("exp"))
    );
}

#[test]
fn issuer_and_audience_must_match() {
    use TokenKind::EnvAuth;
    assert_eq!(
        with(EnvAuth, |_, c| c["iss"] = json!("https://evil.example")),
        Err(TokenError::WrongIssuer)
    );
    assert_eq!(
        with(EnvAuth, |_, c| c["aud"] = json!("https://other.example")),
        Err(TokenError::WrongAudience)
    );
    assert_eq!(
        with(EnvAuth, |_, c| c["aud"] =
            json!(["https://other.example", "https://api.example"])),
        Ok(())
    );
    assert_eq!(
        with(EnvAuth, |_, c| c["aud"] = json!([])),
        Err(TokenError::InvalidClaim("aud"))
    );
    let t = sign(&header(EnvAuth), &claims(EnvAuth));
    let p = issuer_keys(TokenKind::ALL.to_vec());
    assert_eq!(
        verify(
            &t,
            &p,
            &VerifyOptions {
                now: NOW,
                audience: Some("https://gateway.example")
            }
        )
        .unwrap_err(),
        TokenError::WrongAudience
    );
}

#[test]
fn headers_that_bring_their_own_keys_or_extensions_are_refused() {
    use TokenKind::EnvAuth;
    for name in ["jwk", "jku", "x5u", "x5c", "x5t", "zip", "b64"] {
        assert!(
            matches!(
                with(EnvAuth, |h, _| h[name] = json!("x")),
                Err(TokenError::ForbiddenHeader(_))
            ),
            "{name}"
        );
    }
    assert_eq!(
        with(EnvAuth, |h, _| h["crit"] = json!(["exp"])),
        Err(TokenError::UnsupportedCritical)
    );
    assert_eq!(
        with(EnvAuth, |h, _| h["kid"] = json!("../../k1")),
        Err(TokenError::UnknownKey)
    );
    assert_eq!(
        with(EnvAuth, |h, _| h["kid"] = json!("")),
        Err(TokenError::MissingKeyId)
    );
    for alg in [
        "none", "None", "NONE", "HS256", "HS384", "PS256", "ES384", "eddsa",
    ] {
        assert_eq!(
            with(EnvAuth, |h, _| h["alg"] = json!(alg)),
            Err(TokenError::UnsupportedAlgorithm),
            "{alg}"
        );
    }
    assert_eq!(
        with(EnvAuth, |h, _| h["alg"] = json!("ES256")),
        Err(TokenError::AlgorithmMismatch)
    );
    assert_eq!(
        with(EnvAuth, |h, _| h["alg"] = json!("RS256")),
        Err(TokenError::AlgorithmMismatch)
    );
}

#[test]
fn the_signature_covers_every_byte() {
    let t = sign(&header(TokenKind::EnvAuth), &claims(TokenKind::EnvAuth));
    let parts: Vec<&str> = t.split('.').collect();
    let mut c = claims(TokenKind::EnvAuth);
    c["sub"] = json!("admin");
    let forged_payload = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(c.to_string()),
        parts[2]
    );
    assert_eq!(check(&forged_payload), Err(TokenError::BadSignature));
    let mut h = header(TokenKind::EnvAuth);
    h["typ"] = json!("orgauth+jwt");
    let forged_header = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(h.to_string()),
        parts[1],
        parts[2]
    );
    assert_eq!(check(&forged_header), Err(TokenError::BadSignature));
    // A non-canonical S (S + L) is the same signature to a lax verifier; it is refused.
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = sig[32 + i] as u16 + l[i] as u16 + carry;
        sig[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    let malleable = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&sig));
    assert_eq!(check(&malleable), Err(TokenError::BadSignature));
    let short = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(&sig[..63])
    );
    assert_eq!(check(&short), Err(TokenError::BadSignature));
}

#[test]
fn encodings_are_strict() {
    let t = sign(&header(TokenKind::EnvAuth), &claims(TokenKind::EnvAuth));
    assert_eq!(
        check(&format!("{t}=")),
        Err(TokenError::Malformed("padding")),
        "padding"
    );
    assert_eq!(
        check(&format!(" {t}")),
        Err(TokenError::Malformed("not_base64url")),
        "whitespace"
    );
    assert_eq!(
        check(&format!("{t}\n")),
        Err(TokenError::Malformed("not_base64url")),
        "a line ending"
    );
    assert_eq!(
        check(&t.replace('-', "+").replace('_', "/")),
        if t.contains(['-', '_']) {
            Err(TokenError::Malformed("standard_base64"))
        } else {
            Ok(())
        }
    );
    assert_eq!(
        check(&format!("{t}.extra")),
        Err(TokenError::Malformed("segments")),
        "extra segment"
    );
    let (head, _) = t.rsplit_once('.').unwrap();
    assert_eq!(
        check(&format!("{head}.")),
        Err(TokenError::Malformed("empty_signature"))
    );
    let err = TokenError::Malformed("empty_signature");
    assert_eq!(
        (err.code(), err.detail(), err.to_string().as_str()),
        (
            "token_malformed",
            Some("empty_signature"),
            "the signature segment is empty"
        )
    );
    assert_eq!(
        TokenError::Malformed("padding").to_string(),
        "a segment has `=` padding, which base64url leaves out"
    );
    assert_eq!(
        check(&"a".repeat(MAX_TOKEN_BYTES + 1)),
        Err(TokenError::TooLarge)
    );
}

#[test]
fn payloads_are_plain_objects() {
    let h = header(TokenKind::EnvAuth).to_string();
    let dup = r#"{"iss":"https://idp.example","sub":"ann","sub":"admin","aud":"https://api.example","exp":1780315800,"iat":1780315190,"jti":"t","org":"acme","env":"acme-dev"}"#;
    assert_eq!(
        check(&sign_parts(&key(), h.as_bytes(), dup.as_bytes())),
        Err(TokenError::BadJson),
        "duplicate claim"
    );
    assert_eq!(
        check(&sign_parts(&key(), h.as_bytes(), b"[1,2]")),
        Err(TokenError::BadJson),
        "array payload"
    );
    assert_eq!(
        check(&sign_parts(&key(), h.as_bytes(), b"\"sub\"")),
        Err(TokenError::BadJson),
        "string payload"
    );
    let nested = format!("{{\"x\":{}1{}}}", "[".repeat(50), "]".repeat(50));
    assert_eq!(
        check(&sign_parts(&key(), h.as_bytes(), nested.as_bytes())),
        Err(TokenError::BadJson),
        "deep nesting"
    );
}

#[test]
fn an_all_zero_signature_is_refused_outside_fuzzing_builds() {
    // Fuzzing builds (`cfg(fuzzing)`) accept an all-zero signature so that the fuzzer
    // reaches claim validation; no other build may.
    let kind = TokenKind::EnvAuth;
    let signed = sign(&header(kind), &claims(kind));
    let unsigned = format!(
        "{}.{}",
        signed.rsplit_once('.').unwrap().0,
        URL_SAFE_NO_PAD.encode([0u8; 64])
    );
    assert_eq!(check(&signed), Ok(()));
    assert_eq!(check(&unsigned), Err(TokenError::BadSignature));
}

#[test]
fn a_claim_of_the_wrong_type_is_an_invalid_claim_naming_it() {
    let kind = TokenKind::EnvAuth;
    for (claim, value) in [
        ("exp", json!("1900000000")),
        ("iat", json!(true)),
        ("nbf", json!([1])),
        ("scope", json!(7)),
        ("sub", json!(42)),
        ("iss", json!({})),
        ("jti", json!(1)),
        ("org", json!(["acme"])),
        ("env", json!(3)),
        ("client_id", json!(false)),
        ("aud", json!(5)),
        ("aud", json!(["https://api.example", 5])),
    ] {
        let mut c = claims(kind);
        c[claim] = value.clone();
        let err = check(&sign(&header(kind), &c)).unwrap_err();
        assert_eq!(err, TokenError::InvalidClaim(claim), "{claim}: {value}");
        assert_eq!(
            (err.code(), err.detail()),
            ("token_invalid_claim", Some(claim))
        );
    }
    // A claim left out, or null, is missing, and named too.
    for claim in ["exp", "iat", "sub", "jti", "aud"] {
        let mut c = claims(kind);
        c[claim] = Value::Null;
        let err = check(&sign(&header(kind), &c)).unwrap_err();
        assert_eq!(err, TokenError::MissingClaim(claim));
        assert_eq!(err.detail(), Some(claim));
    }
    // A header member of the wrong type is no claim: the header is bad JSON for a token.
    let mut h = header(kind);
    h["kid"] = json!(1);
    assert_eq!(check(&sign(&h, &claims(kind))), Err(TokenError::BadJson));
}

#[test]
fn every_time_rule_holds_at_its_exact_boundary() {
    use TokenKind::EnvAuth;
    // The issuer of these tests: max_lifetime 3600, leeway 30.
    let times = |iat: i64, exp: i64, nbf: Option<i64>| {
        with(EnvAuth, |_, c| {
            c["iat"] = json!(iat);
            c["exp"] = json!(exp);
            if let Some(n) = nbf {
                c["nbf"] = json!(n);
            }
        })
    };
    // Lifetime: exactly the maximum is allowed, a second more is not; exp must follow iat.
    assert_eq!(times(NOW - 10, NOW - 10 + 3600, None), Ok(()));
    assert_eq!(
        times(NOW - 10, NOW - 10 + 3601, None),
        Err(TokenError::LifetimeTooLong)
    );
    assert_eq!(
        times(NOW - 10, NOW - 10, None),
        Err(TokenError::InvalidClaim("exp"))
    );
    assert_eq!(times(NOW - 10, NOW - 9, None), Ok(()));
    // iat in the future: up to the leeway.
    assert_eq!(times(NOW + 30, NOW + 600, None), Ok(()));
    assert_eq!(
        times(NOW + 31, NOW + 600, None),
        Err(TokenError::IssuedInFuture)
    );
    // exp: valid while now < exp + leeway.
    assert_eq!(times(NOW - 600, NOW - 29, None), Ok(()));
    assert_eq!(times(NOW - 600, NOW - 30, None), Err(TokenError::Expired));
    // nbf: valid once now + leeway >= nbf.
    assert_eq!(times(NOW - 10, NOW + 600, Some(NOW + 30)), Ok(()));
    assert_eq!(
        times(NOW - 10, NOW + 600, Some(NOW + 31)),
        Err(TokenError::NotYetValid)
    );
}

#[test]
fn fractional_numeric_dates_are_read_as_whole_seconds() {
    use TokenKind::EnvAuth;
    // RFC 7519 allows fractions; they are cut off.
    assert_eq!(
        with(EnvAuth, |_, c| {
            c["iat"] = json!((NOW - 10) as f64 + 0.5);
            c["exp"] = json!((NOW + 600) as f64 + 0.25);
        }),
        Ok(())
    );
    assert_eq!(
        with(EnvAuth, |_, c| {
            c["iat"] = json!((NOW - 600) as f64);
            c["exp"] = json!((NOW - 30) as f64 + 0.9);
        }),
        Err(TokenError::Expired),
        "exp + leeway - 0.1 s is cut to a whole second that has passed"
    );
    for huge in [1e15, -1e15, 1e300] {
        assert_eq!(
            with(EnvAuth, |_, c| c["exp"] = json!(huge)),
            Err(TokenError::InvalidClaim("exp")),
            "{huge}"
        );
    }
}

#[test]
fn identifiers_are_non_empty_and_bounded() {
    for kind in TokenKind::ALL {
        let mut claims = vec!["sub", "jti", "org", "iss"];
        match kind {
            TokenKind::EnvAuth => claims.push("env"),
            TokenKind::Service => claims.push("client_id"),
            TokenKind::OrgAuth => {}
        }
        for claim in claims {
            for (value, ok) in [
                ("", false),
                (&*"a".repeat(256), true),
                (&*"a".repeat(257), false),
            ] {
                let got = with(kind, |_, c| c[claim] = json!(value));
                let want = if ok {
                    // A 256-character `iss` is well formed but not this issuer's.
                    if claim == "iss" {
                        Err(TokenError::WrongIssuer)
                    } else {
                        Ok(())
                    }
                } else {
                    Err(TokenError::InvalidClaim(claim))
                };
                assert_eq!(got, want, "{kind:?} {claim} of {} bytes", value.len());
            }
        }
    }
    // scope: at most 4096 bytes.
    let scope = |len: usize| {
        with(TokenKind::EnvAuth, |_, c| {
            c["scope"] = json!(format!("workflow:read {}", "x".repeat(len - 14)))
        })
    };
    assert_eq!(scope(4096), Ok(()));
    assert_eq!(scope(4097), Err(TokenError::InvalidClaim("scope")));
}

#[test]
fn a_signature_of_the_wrong_length_is_refused_before_it_is_checked() {
    let t = sign(&header(TokenKind::EnvAuth), &claims(TokenKind::EnvAuth));
    let (head, sig) = t.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    for len in [0usize, 1, 63, 65, 128, 513] {
        let mut s = sig.clone();
        s.resize(len, 7);
        let token = format!("{head}.{}", URL_SAFE_NO_PAD.encode(&s));
        let want = if len == 0 {
            TokenError::Malformed("empty_signature")
        } else {
            TokenError::BadSignature
        };
        assert_eq!(check(&token), Err(want), "{len} bytes");
    }
}

#[test]
fn a_4096_bit_rs256_token_verifies_and_a_longer_signature_is_refused() {
    // The longest modulus accepted signs 512-byte signatures: the length check in front of
    // the signature check lets exactly those through.
    use rand_chacha::rand_core::SeedableRng;
    use rsa::signature::{SignatureEncoding, Signer};
    use rsa::traits::PublicKeyParts;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4096);
    let private = rsa::RsaPrivateKey::new(&mut rng, 4096).unwrap();
    let public = private.to_public_key();
    let jwk = portcullis::Jwk {
        kty: "RSA".into(),
        kid: "r4096".into(),
        alg: "RS256".into(),
        n: Some(URL_SAFE_NO_PAD.encode(public.n().to_bytes_be())),
        e: Some(URL_SAFE_NO_PAD.encode(public.e().to_bytes_be())),
        ..portcullis::Jwk::default()
    };
    let keys = IssuerKeys::new(&[Issuer {
        keys: vec![portcullis::TrustedKey::from_jwk(&jwk).unwrap()],
        ..issuer(
            "https://idp.example",
            "https://api.example",
            "k1",
            &key(),
            30,
        )
    }])
    .unwrap();
    let header = json!({ "alg": "RS256", "typ": "envauth+jwt", "kid": "r4096" });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims(TokenKind::EnvAuth).to_string())
    );
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private);
    let mut signature = signer.sign(input.as_bytes()).to_vec();
    assert_eq!(signature.len(), 512);
    let options = VerifyOptions {
        now: NOW,
        audience: None,
    };
    let token = |s: &[u8]| format!("{input}.{}", URL_SAFE_NO_PAD.encode(s));
    assert!(verify(&token(&signature), &keys, &options).is_ok());
    signature.insert(0, 0);
    assert_eq!(
        verify(&token(&signature), &keys, &options).unwrap_err(),
        TokenError::BadSignature
    );
}
