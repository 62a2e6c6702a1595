//! Bundle decoding: the signed envelope (header, signature, version floor, expiry) and the
//! body decoder on its own (which a fuzzer could not reach through the signature). A body
//! that decodes must re-encode to the same policy, index or be refused with a typed error,
//! and decide requests soundly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::bundle::{decode_body, encode_body, read_header};
use portcullis::{Authorizer, LoadOptions, TokenKind, VerifyOptions};
use portcullis_fuzz::{assert_decision_sound, fixtures, token_for, TokenSpec};

fuzz_target!(|data: &[u8]| {
    let f = fixtures();
    let _ = read_header(data);
    for min_version in [0, 7] {
        let _ = Authorizer::from_bundle(
            data,
            &f.bundle_keys,
            LoadOptions {
                now: f.now,
                min_version,
            },
        );
    }
    let Ok(policy) = decode_body(data) else {
        return;
    };
    let again = decode_body(&encode_body(&policy)).expect("an encoded body decodes");
    assert_eq!(again, policy, "decode(encode(policy)) changed the policy");
    let Ok(authorizer) = Authorizer::preview(policy, 1) else {
        return;
    };
    let data = authorizer.policy().data();
    let env = data.envs.first().map(|e| e.id.as_str());
    for member in data.members.iter().take(4) {
        for kind in [TokenKind::OrgAuth, TokenKind::EnvAuth, TokenKind::Service] {
            let spec = TokenSpec {
                kind,
                sub: &member.id,
                org: &data.org,
                env: (kind == TokenKind::EnvAuth).then_some(env.unwrap_or("env")),
                client_id: member.client_id.as_deref().or(Some("client")),
                scope: None,
                jti: "fuzz",
            };
            let Some(token) = token_for(data, &spec, f.now) else {
                continue;
            };
            let options = VerifyOptions {
                now: f.now,
                audience: None,
            };
            let Ok(verified) = authorizer.verify_token(&token, &options) else {
                continue;
            };
            for request in &f.requests {
                let mut here = request.clone();
                here.resource.env = env.map(str::to_owned);
                for request in [request, &here] {
                    let decision = authorizer.check(&verified, request, f.now);
                    assert_decision_sound(&authorizer, &verified, request, &decision);
                }
            }
        }
    }
});
