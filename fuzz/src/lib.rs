//! Fixtures shared by the fuzz targets: the signed bundles, keys, instant and requests of the
//! decision test vectors (`tests/vectors/decisions.json`), loaded once per process.
//!
//! The targets check properties, not just the absence of crashes: a bundle that decodes
//! re-encodes to the same policy, a decision that allows never crosses a tenant or an
//! environment, a batch decides like single checks, an explanation agrees with its check.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis::model::PolicyData;
use portcullis::{Authorizer, BundleKeys, Decision, Request, TokenKind, VerifiedToken};
use portcullis_testkit::vectors::DecisionVectors;
use serde_json::json;

/// The decision vectors, compiled in.
const DECISIONS: &str = include_str!("../../tests/vectors/decisions.json");

/// What every target shares.
pub struct Fixtures {
    /// The instant the vectors are decided at.
    pub now: i64,
    /// The trusted bundle keys.
    pub bundle_keys: BundleKeys,
    /// The signed bundles, raw.
    pub bundles: Vec<Vec<u8>>,
    /// The loaded bundles, one per organization.
    pub authorizers: Vec<Authorizer>,
    /// Requests of the vectors (actions, resource types and ids, environments).
    pub requests: Vec<Request>,
    /// Key ids the bundles' issuers trust.
    pub kids: Vec<String>,
}

/// The Todo example's policy (`examples/authzen-todo.json`) as an unsigned preview, and an
/// instant to decide at, for the AuthZEN target; compiled once per process.
pub fn authzen_fixture() -> (&'static Authorizer, i64) {
    static TODO: OnceLock<Authorizer> = OnceLock::new();
    let authorizer = TODO.get_or_init(|| {
        let text = include_str!("../../examples/authzen-todo.json");
        let source = portcullis::source::parse_source(text.as_bytes()).expect("the example parses");
        let mut data = portcullis::source::compile(&source).expect("the example compiles");
        Authorizer::preview(data.remove(0), 1).expect("the example loads")
    });
    (authorizer, 1_780_000_000)
}

/// The control plane's state for the access-levels example (`northwind`), an authorizer over
/// it, and a verified OrgAuth token of Sue (SuperAdmin), for the control plane target.
pub struct ControlFixture {
    /// The organization as D1 would hold it.
    pub rows: portcullis_control::store::OrgRows,
    /// An authorizer over its policy.
    pub authorizer: Authorizer,
    /// Sue's verified token.
    pub token: VerifiedToken,
    /// The instant calls are decided at.
    pub now: i64,
}

/// Loads the control plane fixture once.
pub fn control_fixture() -> &'static ControlFixture {
    static CONTROL: OnceLock<ControlFixture> = OnceLock::new();
    CONTROL.get_or_init(|| {
        use ed25519_dalek::Signer;
        let now = 1_796_000_000;
        let text = include_str!("../../examples/access-levels.json");
        let mut source = portcullis::source::parse_source(text.as_bytes()).expect("the example parses");
        source.version = Some(1);
        let rows = portcullis_control::store::OrgRows {
            source,
            version: 1,
            published: 1,
            users: Default::default(),
        };
        let (_, authorizer) = portcullis_control::service::authorizer_for(&rows).expect("the example compiles");
        let jwk: serde_json::Value =
            serde_json::from_str(include_str!("../../examples/keys/idp.private.jwk")).expect("the key parses");
        let seed: [u8; 32] = URL_SAFE_NO_PAD
            .decode(jwk["d"].as_str().expect("d"))
            .expect("base64url")
            .try_into()
            .expect("32 bytes");
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let header = json!({ "alg": "EdDSA", "typ": "orgauth+jwt", "kid": jwk["kid"] });
        let claims = json!({ "iss": "https://idp.accesslevels.example", "aud": "https://api.accesslevels.example",
            "sub": "sue", "org": "northwind", "iat": now - 10, "exp": now + 600, "jti": "fuzz-sue" });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).to_bytes()));
        let token = portcullis_control::service::admit(&authorizer, Some(&token), now).expect("Sue's token verifies");
        ControlFixture { rows, authorizer, token, now }
    })
}

/// Loads the fixtures once.
pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(load)
}

fn load() -> Fixtures {
    let vectors = DecisionVectors::from_json(DECISIONS).expect("decisions.json is readable");
    let doc = &vectors.doc;
    let now = doc["cases"][0]["now"].as_i64().expect("a case has `now`");
    let mut bundles = Vec::new();
    let mut authorizers = Vec::new();
    for org in vectors.orgs() {
        bundles.push(vectors.bundle(org).expect("bundle bytes"));
        authorizers.push(
            vectors
                .authorizer(org, now)
                .expect("the vector bundles load"),
        );
    }
    let requests = doc["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| serde_json::from_value(c["request"].clone()).ok())
        .collect();
    let kids = authorizers
        .iter()
        .flat_map(|a| a.policy().data().issuers.iter())
        .flat_map(|i| i.keys.iter().map(|k| k.kid.clone()))
        .collect();
    Fixtures {
        now,
        bundle_keys: vectors.bundle_keys,
        bundles,
        authorizers,
        requests,
        kids,
    }
}

/// A compact JWS over `header` and `payload` whose signature is 64 zero bytes: accepted
/// without cryptography only in fuzzing builds (`cfg(fuzzing)`), so that a fuzzer reaches
/// claim validation; every other build refuses it like any bad signature.
pub fn unsigned_token(header: &[u8], payload: &[u8]) -> String {
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(payload));
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode([0u8; 64]));
    token
}

/// Who a fuzzed token speaks for.
#[derive(Clone, Copy, Debug)]
pub struct TokenSpec<'a> {
    /// Token kind.
    pub kind: TokenKind,
    /// Subject.
    pub sub: &'a str,
    /// Organization claim.
    pub org: &'a str,
    /// Environment claim (EnvAuth).
    pub env: Option<&'a str>,
    /// Client id (service tokens).
    pub client_id: Option<&'a str>,
    /// Space-separated scope.
    pub scope: Option<&'a str>,
    /// Token id.
    pub jti: &'a str,
}

/// An unsigned token (see [`unsigned_token`]) from the first issuer of `policy` that may issue
/// `spec.kind`, valid at `now`; `None` when no issuer may.
pub fn token_for(policy: &PolicyData, spec: &TokenSpec<'_>, now: i64) -> Option<String> {
    let issuer = policy
        .issuers
        .iter()
        .find(|i| i.kinds.contains(&spec.kind))?;
    let key = issuer.keys.first()?;
    let lifetime = issuer.max_lifetime.clamp(1, 600) as i64;
    let header = json!({ "alg": key.alg.as_str(), "typ": spec.kind.typ(), "kid": key.kid });
    let mut claims = json!({
        "iss": issuer.iss, "aud": issuer.audience, "sub": spec.sub, "org": spec.org,
        "jti": spec.jti, "iat": now - 1, "exp": now - 1 + lifetime,
    });
    for (name, value) in [
        ("env", spec.env),
        ("client_id", spec.client_id),
        ("scope", spec.scope),
    ] {
        if let Some(v) = value {
            claims[name] = json!(v);
        }
    }
    Some(unsigned_token(
        header.to_string().as_bytes(),
        claims.to_string().as_bytes(),
    ))
}

/// The properties every decision holds, whatever the input.
pub fn assert_decision_sound(
    authorizer: &Authorizer,
    token: &VerifiedToken,
    request: &Request,
    decision: &Decision,
) {
    assert_eq!(
        decision.allowed,
        decision.reason == portcullis::Reason::Allowed
    );
    assert_eq!(decision.bundle_version, authorizer.version());
    if decision.allowed {
        let org = authorizer.policy().org();
        assert_eq!(token.org(), org, "allowed a token of another tenant");
        if let Some(resource_org) = &request.resource.org {
            assert_eq!(resource_org, org, "allowed a resource of another tenant");
        }
        if let Some(env) = token.env() {
            assert_eq!(
                request.resource.env.as_deref(),
                Some(env),
                "an EnvAuth token was allowed outside its environment"
            );
        }
        assert!(
            token.scope_covers(&request.action),
            "allowed outside the token's scope"
        );
    }
}
