//! Policy tests: a file of requests with the decisions a policy must give.
//!
//! Each case describes a token by its claims; the runner signs it with a test issuer added
//! to an unsigned preview of the policy, then verifies it through the real token path, so a
//! case exercises everything a production request does except the bundle signature.

use std::collections::BTreeSet;

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::authzen::{self, EvaluationRequest};
use crate::decide::Authorizer;
use crate::decide::{Reason, Request};
use crate::model::PolicyData;
use crate::source::TimeSource;
use crate::time::parse_rfc3339;
use crate::token::{Issuer, TokenKind, VerifyOptions};
use crate::token::{KeyMaterial, TrustedKey};
use crate::tools::mint::{mint_eddsa, Claims};

/// Issuer and audience of the tokens a policy test mints.
pub const TEST_ISSUER: &str = "portcullis-policy-test";
/// Key id of the policy-test signing key.
pub const TEST_KID: &str = "policy-test";

/// A policy test file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyTestFile {
    /// Path of the policy source, relative to the test file.
    pub policy: String,
    /// The instant the cases are decided at.
    pub now: TimeSource,
    /// The cases.
    pub cases: Vec<TestCase>,
}

/// The claims of a case's token; unset claims get sensible values.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TestToken {
    /// Token kind.
    pub kind: Option<TokenKind>,
    /// Organization.
    pub org: String,
    /// Subject.
    pub sub: String,
    /// Environment (EnvAuth).
    #[serde(default)]
    pub env: Option<String>,
    /// Client id (service tokens).
    #[serde(default)]
    pub client_id: Option<String>,
    /// Scope.
    #[serde(default)]
    pub scope: Option<String>,
    /// Issued-at; `now - 60` by default.
    #[serde(default)]
    pub iat: Option<TimeSource>,
    /// Expiry; `iat + 600` by default.
    #[serde(default)]
    pub exp: Option<TimeSource>,
    /// Token id; derived from the case index by default.
    #[serde(default)]
    pub jti: Option<String>,
    /// Audience; the test issuer's by default.
    #[serde(default)]
    pub aud: Option<String>,
}

/// Assign or remove a role. Both follow one delegation rule; a case names which for its
/// readers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DelegationAction {
    /// Give the role.
    Assign,
    /// Take it away.
    Remove,
}

/// A delegation question.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DelegationCase {
    /// Assign or remove.
    pub action: DelegationAction,
    /// The role.
    pub role: String,
    /// The user whose roles change.
    pub user: String,
    /// Environment, for env roles.
    #[serde(default)]
    pub env: Option<String>,
}

/// An effective-permissions question.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionsCase {
    /// Environment, or org level when absent.
    #[serde(default)]
    pub env: Option<String>,
    /// Exactly these permissions are expected.
    pub expect: Vec<String>,
}

/// One expected decision.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// What the case shows.
    pub name: String,
    /// The caller's token (every case but an `evaluation` has one).
    #[serde(default)]
    pub token: Option<TestToken>,
    /// An AuthZEN access evaluation request (`subject`, `action`, `resource`, `context`),
    /// decided as the PDP decides it, without a token.
    #[serde(default)]
    pub evaluation: Option<serde_json::Value>,
    /// The bundle's organization; the token's by default.
    #[serde(default)]
    pub bundle: Option<String>,
    /// A request to decide.
    #[serde(default)]
    pub request: Option<Request>,
    /// A delegation to decide.
    #[serde(default)]
    pub delegation: Option<DelegationCase>,
    /// Effective permissions to compare.
    #[serde(default)]
    pub permissions: Option<PermissionsCase>,
    /// Expected reason (for `request` and `delegation`), or `allowed` for `permissions`.
    pub expect: Reason,
    /// Expected deciding rule, if given.
    #[serde(default)]
    pub rule: Option<String>,
    /// The instant of this case; the file's `now` by default.
    #[serde(default)]
    pub now: Option<TimeSource>,
}

/// The outcome of one case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseResult {
    /// The case name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was expected.
    pub expected: String,
    /// What happened.
    pub got: String,
}

/// The outcome of a test file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TestReport {
    /// One result per case, in order.
    pub cases: Vec<CaseResult>,
}

impl TestReport {
    /// Number of passing cases.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed).count()
    }

    /// Number of failing cases.
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }
}

fn instant(t: &TimeSource) -> Result<i64, String> {
    match t {
        TimeSource::Unix(v) => Ok(*v),
        TimeSource::Text(s) => parse_rfc3339(s).ok_or_else(|| format!("`{s}` is not a time")),
    }
}

/// The deterministic key policy tests sign with.
pub fn test_signing_key() -> SigningKey {
    SigningKey::from_bytes(&[0x5a; 32])
}

/// Adds the policy-test issuer to compiled policy data.
pub fn with_test_issuer(mut data: PolicyData) -> PolicyData {
    let key = test_signing_key();
    data.issuers.push(Issuer {
        iss: TEST_ISSUER.into(),
        audience: TEST_ISSUER.into(),
        kinds: TokenKind::ALL.to_vec(),
        max_lifetime: 24 * 3600,
        leeway: 0,
        keys: vec![TrustedKey {
            kid: TEST_KID.into(),
            alg: crate::token::Alg::EdDSA,
            material: KeyMaterial::Ed25519(key.verifying_key().to_bytes()),
        }],
    });
    data
}

/// Decides an `evaluation` case: the AuthZEN request, for the case's `bundle` (or the only
/// organization).
fn evaluation_case(
    case: &TestCase,
    evaluation: &serde_json::Value,
    authorizers: &[Authorizer],
    now: i64,
) -> Result<(Reason, Option<String>, Option<String>), String> {
    if case.token.is_some()
        || case.request.is_some()
        || case.delegation.is_some()
        || case.permissions.is_some()
    {
        return Err(format!(
            "case `{}`: an `evaluation` case has no `token`, `request`, `delegation` or `permissions`",
            case.name
        ));
    }
    let authorizer = match (case.bundle.as_deref(), authorizers) {
        (None, [only]) => Some(only),
        (Some(org), _) => authorizers.iter().find(|a| a.policy().org() == org),
        (None, _) => None,
    }
    .ok_or_else(|| {
        format!(
            "case `{}`: name the organization of the evaluation in `bundle`",
            case.name
        )
    })?;
    let request = EvaluationRequest::parse(evaluation.to_string().as_bytes())
        .map_err(|e| format!("case `{}`: {e}", case.name))?;
    let d = authzen::decide(authorizer, &request, now);
    Ok((
        d.reason,
        d.rule.map(|r| r.to_string()),
        d.detail.map(|d| d.code().to_owned()),
    ))
}

/// Runs a test file against compiled policies (one per organization).
pub fn run(file: &PolicyTestFile, orgs: &[PolicyData], version: u64) -> Result<TestReport, String> {
    let file_now = instant(&file.now)?;
    let mut authorizers = Vec::new();
    for data in orgs {
        let a = Authorizer::preview(with_test_issuer(data.clone()), version)
            .map_err(|e| e.to_string())?;
        authorizers.push(a);
    }
    let key = test_signing_key();
    let mut results = Vec::new();
    for (i, case) in file.cases.iter().enumerate() {
        let now = case
            .now
            .as_ref()
            .map(instant)
            .transpose()?
            .unwrap_or(file_now);
        let (got, rule, detail) = if let Some(evaluation) = &case.evaluation {
            evaluation_case(case, evaluation, &authorizers, now)?
        } else {
            let Some(t) = &case.token else {
                return Err(format!(
                    "case `{}`: give a `token`, or an `evaluation` and its `bundle`",
                    case.name
                ));
            };
            let bundle_org = case.bundle.as_deref().unwrap_or(&t.org);
            let authorizer = authorizers
                .iter()
                .find(|a| a.policy().org() == bundle_org)
                .ok_or_else(|| {
                    format!(
                        "case `{}`: no organization `{bundle_org}` in the policy",
                        case.name
                    )
                })?;
            let kind = t.kind.unwrap_or(if t.env.is_some() {
                TokenKind::EnvAuth
            } else {
                TokenKind::OrgAuth
            });
            let iat = t.iat.as_ref().map(instant).transpose()?.unwrap_or(now - 60);
            let exp = t
                .exp
                .as_ref()
                .map(instant)
                .transpose()?
                .unwrap_or(iat + 600);
            let claims = Claims {
                iss: TEST_ISSUER.into(),
                sub: t.sub.clone(),
                aud: t.aud.clone().unwrap_or_else(|| TEST_ISSUER.into()),
                exp,
                iat,
                nbf: None,
                jti: t.jti.clone().unwrap_or_else(|| format!("test-{i}")),
                org: t.org.clone(),
                env: t.env.clone(),
                client_id: t.client_id.clone(),
                scope: t.scope.clone(),
            };
            let raw = mint_eddsa(&key, TEST_KID, kind, &claims);
            let verified = authorizer.verify_token(
                &raw,
                &VerifyOptions {
                    now,
                    audience: None,
                },
            );
            let (got, rule, detail) =
                match (&case.request, &case.delegation, &case.permissions, verified) {
                    (_, _, _, Err(e)) => (Reason::InvalidToken, None, Some(e.code().to_owned())),
                    (Some(req), None, None, Ok(token)) => {
                        let d = authorizer.check(&token, req, now);
                        (
                            d.reason,
                            d.rule.map(|r| r.to_string()),
                            d.detail.map(|d| d.code().to_owned()),
                        )
                    }
                    (None, Some(del), None, Ok(token)) => {
                        // Assigning and removing follow one rule; the file names which for its
                        // readers.
                        let d = authorizer.delegation(
                            &token,
                            &del.role,
                            &del.user,
                            del.env.as_deref(),
                            now,
                        );
                        (
                            d.reason,
                            d.rule.map(|r| r.to_string()),
                            d.detail.map(|d| d.code().to_owned()),
                        )
                    }
                    (None, None, Some(perms), Ok(token)) => {
                        match authorizer.permissions(&token, perms.env.as_deref(), now) {
                            Ok(eff) => {
                                let want: BTreeSet<&str> =
                                    perms.expect.iter().map(String::as_str).collect();
                                let have: BTreeSet<&str> =
                                    eff.permissions.iter().map(String::as_str).collect();
                                if want == have {
                                    (Reason::Allowed, None, None)
                                } else {
                                    let missing: Vec<_> = want.difference(&have).collect();
                                    let extra: Vec<_> = have.difference(&want).collect();
                                    results.push(CaseResult {
                                        name: case.name.clone(),
                                        passed: false,
                                        expected: format!("permissions {:?}", perms.expect),
                                        got: format!("missing {missing:?}, unexpected {extra:?}"),
                                    });
                                    continue;
                                }
                            }
                            Err(d) => (d.reason, None, None),
                        }
                    }
                    _ => {
                        return Err(format!(
                            "case `{}`: give exactly one of `request`, `delegation`, `permissions`",
                            case.name
                        ))
                    }
                };
            (got, rule, detail)
        };
        let rule_ok = case
            .rule
            .as_ref()
            .is_none_or(|want| rule.as_deref() == Some(want.as_str()));
        let passed = got == case.expect && rule_ok;
        let describe = |reason: Reason, rule: Option<&str>, detail: Option<&str>| {
            let mut s = reason.as_str().to_owned();
            if let Some(r) = rule {
                s.push_str(&format!(" by `{r}`"));
            }
            if let Some(d) = detail {
                s.push_str(&format!(" ({d})"));
            }
            s
        };
        results.push(CaseResult {
            name: case.name.clone(),
            passed,
            expected: describe(case.expect, case.rule.as_deref(), None),
            got: describe(got, rule.as_deref(), detail.as_deref()),
        });
    }
    Ok(TestReport { cases: results })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_expectation_is_reported_with_what_happened() {
        let source =
            crate::source::parse_source(crate::testing::source().to_string().as_bytes()).unwrap();
        let data = crate::source::compile(&source).unwrap();
        let file: PolicyTestFile = serde_json::from_value(serde_json::json!({
            "policy": "unused",
            "now": 1_780_315_200,
            "cases": [
                { "name": "right", "token": { "org": "acme", "sub": "olga" },
                  "request": { "action": "users:manage", "resource": { "type": "users" } }, "expect": "allowed", "rule": "olga:owner" },
                { "name": "wrong", "token": { "org": "acme", "sub": "mia", "env": "dev" },
                  "request": { "action": "doc:delete", "resource": { "type": "doc", "env": "dev" } }, "expect": "allowed" }
            ]
        }))
        .unwrap();
        let report = run(&file, &data, 1).unwrap();
        assert_eq!((report.passed(), report.failed()), (1, 1));
        assert_eq!(
            report.cases[1].got,
            "no_matching_grant by `writers:editor@*` (above_env_ceiling)"
        );
    }
}
