//! Token parse + verify. Raw inputs exercise the JWS parser and the real signature checks;
//! inputs starting with `0x01` are a header and a payload (split at the first newline) under
//! an all-zero signature, which fuzzing builds accept, so claim validation is reached too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::{TokenKind, UnverifiedToken, VerifyOptions};
use portcullis_fuzz::{fixtures, unsigned_token};

fuzz_target!(|data: &[u8]| {
    let f = fixtures();
    let owned;
    let token: &str = match data.split_first() {
        Some((1, rest)) => {
            let split = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            let (header, payload) = rest.split_at(split);
            owned = unsigned_token(header, payload.get(1..).unwrap_or_default());
            &owned
        }
        _ => match std::str::from_utf8(data) {
            Ok(s) => s,
            Err(_) => return,
        },
    };
    let Ok(unverified) = UnverifiedToken::parse(token) else {
        return;
    };
    let _ = unverified.org_hint();
    for authorizer in &f.authorizers {
        for audience in [None, Some("https://api.vectors.example")] {
            let options = VerifyOptions {
                now: f.now,
                audience,
            };
            let Ok(verified) = authorizer.verify_token(token, &options) else {
                continue;
            };
            // What verification promises.
            assert!(verified.check_time(f.now).is_ok());
            assert!(!verified.sub().is_empty() && !verified.org().is_empty());
            assert!(verified.exp() > verified.iat());
            assert_eq!(
                verified.env().is_some(),
                verified.kind() == TokenKind::EnvAuth
            );
            assert_eq!(
                verified.client_id().is_some(),
                verified.kind() == TokenKind::Service
            );
            let issuer = authorizer
                .policy()
                .data()
                .issuers
                .iter()
                .find(|i| i.iss == verified.iss())
                .expect("a verified token names one of the bundle's issuers");
            assert!(issuer.kinds.contains(&verified.kind()));
            assert!((verified.exp() - verified.iat()) as u64 <= issuer.max_lifetime);
        }
    }
});
