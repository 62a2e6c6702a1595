//! The `portcullis` binary, driven as a user would: exit codes, files, JSON output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NOW: &str = "2026-06-01T12:00:00Z";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portcullis-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn pc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn mint(sub: &str, kind: &str, env: Option<&str>) -> String {
    let mut args = vec![
        "token",
        "mint",
        "--key",
        "examples/keys/idp.private.jwk",
        "--kind",
        kind,
        "--iss",
        "https://idp.accesslevels.example",
        "--aud",
        "https://api.accesslevels.example",
        "--sub",
        sub,
        "--org",
        "northwind",
        "--now",
        NOW,
    ];
    if let Some(e) = env {
        args.extend(["--env", e]);
    }
    let o = pc(&args);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    stdout(&o).trim().to_owned()
}

struct Keys {
    private: PathBuf,
    public: PathBuf,
}

fn keygen(dir: &Path) -> Keys {
    let keys = Keys {
        private: dir.join("bundle.jwk"),
        public: dir.join("bundle.pub.jwk"),
    };
    let o = pc(&[
        "keygen",
        "--kid",
        "test-bundle",
        "--private",
        s(&keys.private),
        "--public",
        s(&keys.public),
    ]);
    assert_eq!(code(&o), 0);
    keys
}

fn build(policy: &Path, keys: &Keys, out: &Path) {
    let o = pc(&[
        "bundle",
        "build",
        s(policy),
        "--key",
        s(&keys.private),
        "--out",
        s(out),
        "--issued-at",
        NOW,
        "--bundle-version",
        "2",
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
}

fn check(
    bundle: &Path,
    keys: &Keys,
    token: &str,
    action: &str,
    env: Option<&str>,
) -> (i32, serde_json::Value) {
    let mut args = vec![
        "--json",
        "check",
        "--bundle",
        s(bundle),
        "--trust",
        s(&keys.public),
        "--token",
        token,
        "--action",
        action,
        "--now",
        NOW,
    ];
    if let Some(e) = env {
        args.extend(["--env", e]);
    }
    let o = pc(&args);
    let json = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (code(&o), json)
}

#[test]
fn allowed_exits_0_denied_exits_1_errors_exit_2() {
    let dir = scratch("exit-codes");
    let keys = keygen(&dir);
    let bundle = dir.join("northwind.bundle");
    build(&root().join("examples/access-levels.json"), &keys, &bundle);
    let o = pc(&[
        "bundle",
        "verify",
        s(&bundle),
        "--trust",
        s(&keys.public),
        "--now",
        NOW,
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let o = pc(&["--json", "bundle", "inspect", s(&bundle)]);
    let inspected: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(inspected["header"]["org"], "northwind");
    assert_eq!(inspected["header"]["version"], 2);

    let bob = mint("bob", "envauth", Some("nw-staging"));
    let (c, d) = check(&bundle, &keys, &bob, "workflow:edit", Some("nw-staging"));
    assert_eq!((c, d["reason"].as_str()), (0, Some("allowed")));
    let (c, d) = check(&bundle, &keys, &bob, "workflow:edit", Some("nw-production"));
    assert_eq!((c, d["reason"].as_str()), (1, Some("cross_environment")));
    let (c, d) = check(
        &bundle,
        &keys,
        "not-a-token",
        "workflow:edit",
        Some("nw-staging"),
    );
    assert_eq!(
        (c, d["reason"].as_str(), d["detail"].as_str()),
        (1, Some("invalid_token"), Some("token_malformed"))
    );

    let other = keygen(&scratch("exit-codes-other"));
    let (c, _) = check(&bundle, &other, &bob, "workflow:edit", Some("nw-staging"));
    assert_eq!(c, 2, "a bundle signed by an untrusted key is an error");
    let o = pc(&[
        "check",
        "--bundle",
        "/nonexistent.bundle",
        "--trust",
        s(&keys.public),
        "--token",
        &bob,
        "--action",
        "workflow:read",
    ]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("error[io]"));
}

#[test]
fn explain_shows_the_deciding_rule() {
    let dir = scratch("explain");
    let keys = keygen(&dir);
    let bundle = dir.join("northwind.bundle");
    build(&root().join("examples/access-levels.json"), &keys, &bundle);
    let bob = mint("bob", "envauth", Some("nw-production"));
    let o = pc(&[
        "explain",
        "--bundle",
        s(&bundle),
        "--trust",
        s(&keys.public),
        "--token",
        &bob,
        "--action",
        "workflow:edit",
        "--env",
        "nw-production",
        "--now",
        NOW,
    ]);
    assert_eq!(code(&o), 1);
    let text = stdout(&o);
    assert!(text.contains("explicit_deny"), "{text}");
    assert!(
        text.contains("bob-read-only-production-workflows"),
        "{text}"
    );
}

/// `portcullis users <verb> POLICY --org northwind --as ACTOR --user USER [--role ROLE]`.
fn users(verb: &str, policy: &Path, actor: &str, user: &str, role: Option<&str>) -> Output {
    let mut args = vec![
        "users",
        verb,
        s(policy),
        "--org",
        "northwind",
        "--as",
        actor,
        "--user",
        user,
        "--now",
        NOW,
    ];
    if let Some(r) = role {
        args.extend(["--role", r]);
    }
    pc(&args)
}

#[test]
fn users_add_and_remove_follow_the_delegation_rules() {
    let dir = scratch("users");
    let policy = dir.join("policy.json");
    std::fs::copy(root().join("examples/access-levels.json"), &policy).unwrap();
    let keys = keygen(&dir);
    let bundle = dir.join("northwind.bundle");

    // Jane (Admin) adds Carol as Write: allowed, and Carol can work once the bundle is rebuilt.
    let o = users("add", &policy, "jane", "carol", Some("Write"));
    assert_eq!(
        code(&o),
        0,
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    build(&policy, &keys, &bundle);
    let carol = mint("carol", "envauth", Some("nw-staging"));
    assert_eq!(
        check(&bundle, &keys, &carol, "workflow:edit", Some("nw-staging")).0,
        0
    );

    // Jane may never touch a SuperAdmin assignment, nor hand out Admin; the file is unchanged.
    let before = std::fs::read(&policy).unwrap();
    assert_eq!(
        code(&users("remove", &policy, "jane", "sue", Some("SuperAdmin"))),
        1
    );
    assert_eq!(
        code(&users("add", &policy, "jane", "dave", Some("Admin"))),
        1
    );
    assert_eq!(code(&users("add", &policy, "jane", "sue", Some("Read"))), 1);
    assert_eq!(
        code(&users("add", &policy, "bob", "dave", Some("Read"))),
        1,
        "Write holders may not assign roles"
    );
    assert_eq!(std::fs::read(&policy).unwrap(), before);

    // Removing Carol: the next bundle no longer knows her.
    let o = users("remove", &policy, "jane", "carol", None);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    build(&policy, &keys, &bundle);
    let (c, d) = check(&bundle, &keys, &carol, "workflow:edit", Some("nw-staging"));
    assert_eq!((c, d["reason"].as_str()), (1, Some("not_a_member")));

    let o = pc(&[
        "--json",
        "users",
        "show",
        s(&policy),
        "--org",
        "northwind",
        "--user",
        "bob",
    ]);
    let shown: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown[0]["roles"][0], "Write");
}

#[test]
fn an_unsigned_preview_decides_straight_from_the_source() {
    let bob = mint("bob", "envauth", Some("nw-production"));
    let o = pc(&[
        "--json",
        "check",
        "--policy",
        "examples/access-levels.json",
        "--token",
        &bob,
        "--action",
        "workflow:edit",
        "--env",
        "nw-production",
        "--now",
        NOW,
    ]);
    assert_eq!(code(&o), 1);
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["reason"], "explicit_deny");
    let o = pc(&[
        "--json",
        "permissions",
        "--policy",
        "examples/access-levels.json",
        "--token",
        &bob,
        "--env",
        "nw-production",
        "--now",
        NOW,
    ]);
    assert_eq!(code(&o), 0);
    let p: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(p["principal"], "bob");
    assert!(p["restrictions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["rule"] == "bob-read-only-production-workflows"));
}

#[test]
fn policy_test_passes_the_examples_and_fails_a_wrong_expectation() {
    let o = pc(&["policy", "test", "examples/access-levels.test.json"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).trim_end().ends_with("passed, 0 failed"));

    let dir = scratch("policy-test");
    std::fs::copy(
        root().join("examples/access-levels.json"),
        dir.join("access-levels.json"),
    )
    .unwrap();
    let text = std::fs::read_to_string(root().join("examples/access-levels.test.json")).unwrap();
    let wrong = text.replacen(
        "\"expect\": \"explicit_deny\"",
        "\"expect\": \"allowed\"",
        1,
    );
    std::fs::write(dir.join("wrong.test.json"), wrong).unwrap();
    let o = pc(&["policy", "test", s(&dir.join("wrong.test.json"))]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("FAIL  Bob has Write but is read-only on production workflows"));
}

#[test]
fn compile_errors_point_at_the_mistake() {
    let dir = scratch("compile-errors");
    let policy = dir.join("bad.json");
    let text = std::fs::read_to_string(root().join("examples/access-levels.json")).unwrap();
    std::fs::write(
        &policy,
        text.replacen(
            "\"role\": \"Admin\", \"user\": \"jane\"",
            "\"role\": \"Admn\", \"user\": \"jane\"",
            1,
        ),
    )
    .unwrap();
    let o = pc(&["policy", "check", s(&policy)]);
    assert_eq!(code(&o), 2);
    let out = stdout(&o);
    assert!(
        out.contains("/orgs/0/bindings/1/role: unknown role `Admn` (did you mean `Admin`?)"),
        "{out}"
    );
}

#[test]
fn check_reads_the_token_exactly_as_given() {
    let dir = scratch("token-text");
    let keys = keygen(&dir);
    let bundle = dir.join("northwind.bundle");
    build(&root().join("examples/access-levels.json"), &keys, &bundle);
    let bob = mint("bob", "envauth", Some("nw-staging"));
    let at = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        format!("@{}", s(&path))
    };
    // One line ending at the end of a file is left out; nothing else is trimmed.
    for file in [
        at("lf.jwt", &format!("{bob}\n")),
        at("crlf.jwt", &format!("{bob}\r\n")),
    ] {
        let (c, d) = check(&bundle, &keys, &file, "workflow:edit", Some("nw-staging"));
        assert_eq!((c, d["reason"].as_str()), (0, Some("allowed")), "{file}");
    }
    for (token, detail) in [
        (format!(" {bob}"), "not_base64url"),
        (format!("{bob} "), "not_base64url"),
        (format!("{bob}\n"), "not_base64url"),
        (at("two.jwt", &format!("{bob}\n\n")), "not_base64url"),
        (at("space.jwt", &format!("{bob} \n")), "not_base64url"),
        (format!("{bob}="), "padding"),
    ] {
        let (c, d) = check(&bundle, &keys, &token, "workflow:edit", Some("nw-staging"));
        assert_eq!(
            (
                c,
                d["reason"].as_str(),
                d["token_error"]["code"].as_str(),
                d["token_error"]["detail"].as_str()
            ),
            (
                1,
                Some("invalid_token"),
                Some("token_malformed"),
                Some(detail)
            ),
            "{token:?}"
        );
    }
    let (head, _) = bob.rsplit_once('.').unwrap();
    let (c, d) = check(&bundle, &keys, &format!("{head}."), "workflow:edit", None);
    assert_eq!(
        (
            c,
            d["token_error"]["detail"].as_str(),
            d["token_error"]["message"].as_str()
        ),
        (
            1,
            Some("empty_signature"),
            Some("the signature segment is empty")
        )
    );
}
