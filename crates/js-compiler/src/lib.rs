//! The policy compiler of the npm package, in a WebAssembly module of its own.
//!
//! The authorizer module (`crates/js`) verifies bundles and tokens and decides; it does not
//! carry the policy compiler, which is about a third of the code and only the playground and
//! previews use. This module turns a policy source into the body of a bundle for one
//! organization, with the policy-test issuer added; the authorizer module makes an unsigned
//! preview of it (`Authorizer.fromPreviewBody`). The JavaScript entries load it on the first
//! `compilePolicy` (Node) or on `initCompiler()` (browsers).

#![forbid(unsafe_code)]

use portcullis::source::{compile, parse_source};
use portcullis::tools::expect::with_test_issuer;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// Why a source did not compile, as the JavaScript side turns it into a `PortcullisError`.
#[derive(Serialize)]
struct Failure<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [portcullis::CompileError]>,
}

fn failure(code: &str, message: String, errors: Option<&[portcullis::CompileError]>) -> String {
    serde_json::to_string(&Failure {
        code,
        message,
        errors,
    })
    .unwrap_or_else(|_| format!(r#"{{"code":"{code}","message":"policy does not compile"}}"#))
}

/// Compiles `source` and encodes the chosen organization (the first when `org` is absent),
/// with the policy-test issuer added, as a bundle body. Unsigned: only
/// `Authorizer.fromPreviewBody` takes it. On failure the error is a JSON text with `code`,
/// `message` and, for compile errors, `errors` (each with a JSON pointer).
pub fn compile_preview_body(source: &str, org: Option<&str>) -> Result<Vec<u8>, String> {
    let policy_error =
        |e: portcullis::PolicyError| failure(e.code(), e.to_string(), Some(&e.errors));
    let parsed = parse_source(source.as_bytes()).map_err(policy_error)?;
    let data = compile(&parsed).map_err(policy_error)?;
    let chosen = match org {
        Some(o) => data.into_iter().find(|d| d.org == o),
        None => data.into_iter().next(),
    }
    .ok_or_else(|| {
        failure(
            "unknown_org",
            format!(
                "no organization `{}` in the policy",
                org.unwrap_or_default()
            ),
            None,
        )
    })?;
    Ok(portcullis::bundle::encode_body(&with_test_issuer(chosen)))
}

/// [`compile_preview_body`] for JavaScript: bytes, or a thrown JSON text.
#[wasm_bindgen(js_name = compilePreviewBody)]
pub fn compile_preview_body_js(source: &str, org: Option<String>) -> Result<Vec<u8>, JsValue> {
    compile_preview_body(source, org.as_deref()).map_err(|e| JsValue::from_str(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_compiles_to_a_body_that_decodes() {
        let source = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/access-levels.json"
        ))
        .unwrap();
        let body = compile_preview_body(&source, None).unwrap();
        let data = portcullis::bundle::decode_body(&body).unwrap();
        assert!(data
            .issuers
            .iter()
            .any(|i| i.iss == portcullis::tools::expect::TEST_ISSUER));
        let named = compile_preview_body(&source, Some(&data.org)).unwrap();
        assert_eq!(named, body);
    }

    #[test]
    fn errors_carry_their_code_and_pointers() {
        let failure: serde_json::Value =
            serde_json::from_str(&compile_preview_body("{}", None).unwrap_err()).unwrap();
        assert_eq!(failure["code"], "policy_invalid");
        assert!(failure["errors"][0]["pointer"].is_string());
        let unknown: serde_json::Value = serde_json::from_str(
            &compile_preview_body(
                &std::fs::read_to_string(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../../examples/access-levels.json"
                ))
                .unwrap(),
                Some("nobody"),
            )
            .unwrap_err(),
        )
        .unwrap();
        assert_eq!(unknown["code"], "unknown_org");
    }
}
