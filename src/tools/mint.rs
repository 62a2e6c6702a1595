//! A development token issuer: signs EdDSA tokens of any kind from a local key.
//!
//! For the CLI's `token mint`, the policy test runner and the test vectors. Production
//! tokens come from the customer's identity provider.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use serde::Serialize;

use crate::token::TokenKind;

/// The claims of a token to mint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject.
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued-at, Unix seconds.
    pub iat: i64,
    /// Not-before, Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Token id.
    pub jti: String,
    /// Organization.
    pub org: String,
    /// Environment (EnvAuth).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// OAuth2 client id (service tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Space-separated scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// Signs a compact JWS with `alg: EdDSA`, the kind's `typ` and `kid`.
pub fn mint_eddsa(key: &SigningKey, kid: &str, kind: TokenKind, claims: &Claims) -> String {
    let header = serde_json::json!({ "alg": "EdDSA", "typ": kind.typ(), "kid": kid });
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    sign_parts(key, header.to_string().as_bytes(), &payload)
}

/// Signs arbitrary header and payload bytes (for test vectors of malformed tokens).
pub fn sign_parts(key: &SigningKey, header: &[u8], payload: &[u8]) -> String {
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let signature = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature.to_bytes()));
    token
}
