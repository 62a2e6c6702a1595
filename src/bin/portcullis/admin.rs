//! `portcullis admin`: the control plane's operator and admin calls over HTTPS, for a
//! git-based workflow: import an organization from a policy file, export it back.

use std::path::Path;

use serde_json::Value;

use crate::commands::{token_text, Outcome, Output};
use crate::files::{read_file, write_file, CliError};

/// `portcullis admin import`: `PUT {url}/orgs/{org}/iam/import` with the policy file, as the
/// operator (the secret is read from the environment variable `secret_env`, never from the
/// command line).
pub fn import(out: &Output, url: &str, org: &str, policy: &Path, secret_env: &str) -> Outcome {
    let secret = std::env::var(secret_env).map_err(|_| {
        CliError::new(
            "missing_secret",
            format!("set {secret_env} to the control plane's OPERATOR_SECRET"),
        )
    })?;
    let body = read_file(policy)?;
    let answer = call(
        "PUT",
        &endpoint(url, org, "iam/import")?,
        &secret,
        Some(body),
    )?;
    out.emit(&answer, || {
        format!(
            "imported `{org}` from {}: bundle version {} published",
            policy.display(),
            answer
                .get("version")
                .and_then(Value::as_u64)
                .unwrap_or_default()
        )
    });
    Ok(0)
}

/// `portcullis admin export`: `GET {url}/orgs/{org}/iam/export` with an OrgAuth token; the
/// policy source to `out_path`, or to standard output.
pub fn export(out: &Output, url: &str, org: &str, token: &str, out_path: Option<&Path>) -> Outcome {
    let token = token_text(token)?;
    let answer = call("GET", &endpoint(url, org, "iam/export")?, &token, None)?;
    let text = serde_json::to_string_pretty(&answer).unwrap_or_default();
    match out_path {
        Some(p) => {
            write_file(p, format!("{text}\n").as_bytes())?;
            out.emit(&serde_json::json!({ "org": org, "file": p }), || {
                format!("exported `{org}` to {}", p.display())
            });
        }
        None => println!("{text}"),
    }
    Ok(0)
}

fn endpoint(url: &str, org: &str, path: &str) -> Result<String, CliError> {
    let base = url.trim_end_matches('/');
    if !(base.starts_with("https://")
        || base.starts_with("http://127.0.0.1")
        || base.starts_with("http://localhost"))
    {
        return Err(CliError::new(
            "insecure_url",
            format!("`{url}`: the control plane is reached over https (http only on this machine)"),
        ));
    }
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
    };
    if !ok(org) {
        return Err(CliError::new(
            "invalid_org",
            format!("`{org}` is not an organization id"),
        ));
    }
    Ok(format!("{base}/orgs/{org}/{path}"))
}

/// One call; the control plane's JSON answer, or its error as a CLI error.
fn call(method: &str, url: &str, bearer: &str, body: Option<Vec<u8>>) -> Result<Value, CliError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .into();
    let auth = format!("Bearer {bearer}");
    let sent = match (method, body) {
        ("PUT", Some(b)) => agent
            .put(url)
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .send(&b[..]),
        _ => agent.get(url).header("authorization", &auth).call(),
    };
    let mut response =
        sent.map_err(|e| CliError::new("http_failed", format!("{method} {url}: {e}")))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| CliError::new("http_failed", format!("{method} {url}: {e}")))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|_| CliError::new("http_failed", format!("{method} {url}: {status}, not JSON")))?;
    if status >= 300 {
        let code = value
            .pointer("/error/code")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let message = value
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Err(CliError::new(
            "control_refused",
            format!("{status} {code}: {message}"),
        ));
    }
    Ok(value)
}
