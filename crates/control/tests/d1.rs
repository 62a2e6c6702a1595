//! The control plane's statements against SQLite (what D1 runs), natively: the migration, an
//! import of every example organization and its export, the version guard, the append-only
//! audit log, and every write's rows agreeing with the policy it publishes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::too_many_arguments
)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use portcullis::source::{compile, parse_source, PolicySource};
use portcullis_control::service::{self, Call, Context, Outcome, Permissions};
use portcullis_control::store::{self, OrgRows, SqlValue, Statement};
use rusqlite::Connection;
use serde_json::{json, Map, Value};

const MIGRATIONS: [&str; 3] = [
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_activity.sql"),
    include_str!("../migrations/0003_published_at.sql"),
];
const NOW: i64 = 1_796_000_000;

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn database() -> Connection {
    let db = Connection::open_in_memory().unwrap();
    for m in MIGRATIONS {
        db.execute_batch(m).unwrap();
    }
    db
}

fn param(v: &SqlValue) -> rusqlite::types::Value {
    match v {
        SqlValue::Null => rusqlite::types::Value::Null,
        SqlValue::Int(n) => rusqlite::types::Value::Integer(*n),
        SqlValue::Text(t) => rusqlite::types::Value::Text(t.clone()),
    }
}

/// Runs statements as D1 runs a batch: in one transaction, all or nothing.
fn batch(db: &mut Connection, statements: &[Statement]) -> Result<(), String> {
    let tx = db.transaction().map_err(|e| e.to_string())?;
    for s in statements {
        let params: Vec<rusqlite::types::Value> = s.params.iter().map(param).collect();
        tx.execute(s.sql, rusqlite::params_from_iter(params))
            .map_err(|e| format!("{}: {e}", s.sql))?;
    }
    tx.commit().map_err(|e| e.to_string())
}

fn query(db: &Connection, sql: &str, org: &str) -> Vec<Value> {
    let mut stmt = db.prepare(sql).unwrap();
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let rows = stmt
        .query_map([org], |row| {
            let mut m = Map::new();
            for (i, n) in names.iter().enumerate() {
                let v = match row.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => Value::Null,
                    rusqlite::types::ValueRef::Integer(n) => json!(n),
                    rusqlite::types::ValueRef::Real(f) => json!(f),
                    rusqlite::types::ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                    rusqlite::types::ValueRef::Blob(_) => Value::Null,
                };
                m.insert(n.clone(), v);
            }
            Ok(Value::Object(m))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn query2(db: &Connection, sql: &str, org: &str, sub: &str) -> Vec<Value> {
    let mut stmt = db.prepare(sql).unwrap();
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let rows = stmt
        .query_map([org, sub], |row| {
            let mut m = Map::new();
            for (i, n) in names.iter().enumerate() {
                let v = match row.get_ref(i)? {
                    rusqlite::types::ValueRef::Integer(n) => json!(n),
                    rusqlite::types::ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                    _ => Value::Null,
                };
                m.insert(n.clone(), v);
            }
            Ok(Value::Object(m))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn load(db: &Connection, org: &str) -> Option<OrgRows> {
    let results: Vec<Vec<Value>> = store::LOAD_QUERIES
        .iter()
        .map(|q| query(db, q, org))
        .collect();
    OrgRows::from_results(&results).unwrap()
}

/// Imports `org` of the policy file `file` as the operator does.
fn import(db: &mut Connection, file: &str, org: &str) -> u64 {
    let body = std::fs::read(root().join(file)).unwrap();
    let previous = load(db, org);
    let change = service::import(org, &body, previous.as_ref(), "operator", NOW).unwrap();
    let expected = previous.map_or(0, |p| p.version);
    let mut all = vec![store::ensure_org(org, expected, NOW)];
    all.extend(store::commit(
        org,
        expected,
        expected + 1,
        NOW,
        &change.audit,
        change.statements,
    ));
    batch(db, &all).unwrap();
    expected + 1
}

fn one_org(source: &PolicySource, org: &str) -> PolicySource {
    let mut s = source.clone();
    s.orgs.retain(|o| o.id == org);
    s.schema = None;
    s.version = None;
    s
}

#[test]
fn every_example_organization_exports_as_it_was_imported_and_compiles_alike() {
    let mut orgs = 0;
    for file in [
        "access-levels",
        "ai-platform",
        "authzen-search",
        "authzen-todo",
        "identity-service",
        "integration-platform",
        "iot-brand-platform",
    ] {
        let path = format!("examples/{file}.json");
        let source = parse_source(&std::fs::read(root().join(&path)).unwrap()).unwrap();
        for org in source.orgs.iter().map(|o| o.id.clone()) {
            let mut db = database();
            let version = import(&mut db, &path, &org);
            let rows = load(&db, &org).expect("the organization is there");
            assert_eq!(rows.version, version);
            let mut exported = rows.source.clone();
            exported.version = None;
            let original = one_org(&source, &org);
            // Instants come back as Unix seconds: the same instants.
            let (a, b) = (compile(&exported).unwrap(), compile(&original).unwrap());
            assert_eq!(a, b, "{path} {org}: the export compiles to another policy");
            let mut normalized = original.clone();
            for s in &mut normalized.orgs[0].revocations.subjects {
                s.before = portcullis::source::TimeSource::Unix(store::unix(&s.before).unwrap());
            }
            assert_eq!(
                exported, normalized,
                "{path} {org}: the export is not the source"
            );
            // And the CLI reads the export as a policy file.
            let text = serde_json::to_vec(&exported).unwrap();
            assert_eq!(compile(&parse_source(&text).unwrap()).unwrap(), b);
            orgs += 1;
        }
    }
    assert!(orgs >= 9, "{orgs} organizations");
}

#[test]
fn a_second_import_replaces_the_first_and_keeps_who_made_the_users() {
    let mut db = database();
    import(&mut db, "examples/access-levels.json", "northwind");
    let first = load(&db, "northwind").unwrap();
    let v = import(&mut db, "examples/access-levels.json", "northwind");
    let second = load(&db, "northwind").unwrap();
    assert_eq!(v, 2);
    assert_eq!(first.source.orgs, second.source.orgs);
    assert_eq!(first.users, second.users);
}

#[test]
fn two_changes_decided_on_one_version_cannot_both_commit() {
    let mut db = database();
    let v = import(&mut db, "examples/access-levels.json", "northwind");
    let audit = |who: &str| store::AuditEntry {
        actor: who.into(),
        action: "user.add",
        target: Some(who.into()),
        before: None,
        after: None,
    };
    let user = |id: &str| portcullis::source::UserSource {
        id: id.into(),
        name: None,
        attrs: Default::default(),
        groups: vec![],
        disabled: false,
    };
    let first = store::commit(
        "northwind",
        v,
        v + 1,
        NOW,
        &audit("a"),
        store::insert_user("northwind", &user("a"), "sue", NOW).unwrap(),
    );
    let second = store::commit(
        "northwind",
        v,
        v + 1,
        NOW,
        &audit("b"),
        store::insert_user("northwind", &user("b"), "sue", NOW).unwrap(),
    );
    batch(&mut db, &first).unwrap();
    let err = batch(&mut db, &second).unwrap_err();
    assert!(
        err.contains("version_conflict") || err.contains("UNIQUE"),
        "{err}"
    );
    // Decided on the old version but numbered past it: refused too.
    let skipping = store::commit(
        "northwind",
        v,
        v + 2,
        NOW,
        &audit("b"),
        store::insert_user("northwind", &user("b"), "sue", NOW).unwrap(),
    );
    assert!(batch(&mut db, &skipping)
        .unwrap_err()
        .contains("version_conflict"));
    let rows = load(&db, "northwind").unwrap();
    assert_eq!(rows.version, v + 1);
    assert!(rows.org().unwrap().users.iter().any(|u| u.id == "a"));
    assert!(
        !rows.org().unwrap().users.iter().any(|u| u.id == "b"),
        "nothing of the refused change is written"
    );
}

#[test]
fn the_audit_log_is_append_only() {
    let mut db = database();
    import(&mut db, "examples/access-levels.json", "northwind");
    assert!(db
        .execute("UPDATE audit SET actor = 'mallory'", [])
        .unwrap_err()
        .to_string()
        .contains("append-only"));
    assert!(db
        .execute("DELETE FROM audit", [])
        .unwrap_err()
        .to_string()
        .contains("append-only"));
    let _ = &mut db;
}

/// Where an example organization's tokens come from.
struct Idp {
    org: &'static str,
    iss: &'static str,
    aud: &'static str,
}

const NORTHWIND: Idp = Idp {
    org: "northwind",
    iss: "https://idp.accesslevels.example",
    aud: "https://api.accesslevels.example",
};
const CLIENT_A: Idp = Idp {
    org: "client-a",
    iss: "https://idp.integrations.example",
    aud: "https://api.integrations.example",
};
const ACME_ID: Idp = Idp {
    org: "acme-id",
    iss: "https://id.acme-identity.example",
    aud: "https://iam.acme-identity.example",
};

/// An OrgAuth token of an example's identity provider (the demo key signs them all).
fn token_of(idp: &Idp, sub: &str) -> String {
    let jwk: Value = serde_json::from_slice(
        &std::fs::read(root().join("examples/keys/idp.private.jwk")).unwrap(),
    )
    .unwrap();
    let seed: [u8; 32] = URL_SAFE_NO_PAD
        .decode(jwk["d"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let key = SigningKey::from_bytes(&seed);
    let header = json!({ "alg": "EdDSA", "typ": "orgauth+jwt", "kid": jwk["kid"] });
    let claims = json!({
        "iss": idp.iss, "aud": idp.aud,
        "sub": sub, "org": idp.org, "iat": NOW - 10, "exp": NOW + 600, "jti": format!("t-{sub}"),
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// Decides a call as `actor` on what the database holds; commits a write and checks that the
/// rows it wrote compile to the policy it publishes.
fn call_in(
    db: &mut Connection,
    idp: &Idp,
    actor: &str,
    call: &Call,
    body: &str,
) -> Result<Outcome, portcullis_control::ControlError> {
    let rows = load(db, idp.org).unwrap();
    let (_, authorizer) = service::authorizer_for(&rows).unwrap();
    let bearer = token_of(idp, actor);
    let verified = service::admit(&authorizer, Some(&bearer), NOW)?;
    let permissions = Permissions::default();
    let cx = Context {
        rows: &rows,
        authorizer: &authorizer,
        token: &verified,
        permissions: &permissions,
        now: NOW,
    };
    let outcome = service::handle(call, &cx, body.as_bytes())?;
    if let Some(change) = &outcome.change {
        batch(
            db,
            &store::commit(
                idp.org,
                rows.version,
                rows.version + 1,
                NOW,
                &change.audit,
                change.statements.clone(),
            ),
        )
        .unwrap();
        let after = load(db, idp.org).unwrap();
        assert_eq!(
            service::authorizer_for(&after).unwrap().0,
            change.policy,
            "{call:?}: rows and policy disagree"
        );
    }
    Ok(outcome)
}

fn call(
    db: &mut Connection,
    actor: &str,
    c: &Call,
    body: &str,
) -> Result<Outcome, portcullis_control::ControlError> {
    call_in(db, &NORTHWIND, actor, c, body)
}

/// What the policy D1 holds decides for `subject` (as AuthZEN subjects are decided).
fn decide(
    db: &Connection,
    org: &str,
    subject: &str,
    action: &str,
    resource_type: &str,
    id: Option<&str>,
    env: Option<&str>,
    now: i64,
) -> (bool, String) {
    let rows = load(db, org).unwrap();
    let (_, authorizer) = service::authorizer_for(&rows).unwrap();
    let request = portcullis::Request {
        action: action.into(),
        resource: portcullis::Resource {
            resource_type: resource_type.into(),
            id: id.map(str::to_owned),
            env: env.map(str::to_owned),
            ..Default::default()
        },
        context: Default::default(),
    };
    let d = authorizer.check_subject(subject, &request, now);
    (d.allowed, d.reason.as_str().to_owned())
}

#[test]
fn every_write_commits_the_rows_of_the_policy_it_publishes() {
    let mut db = database();
    import(&mut db, "examples/access-levels.json", "northwind");
    let added = call(
        &mut db,
        "sue",
        &Call::AddUser,
        r#"["Admin", "jane.doe@example.com"]"#,
    )
    .unwrap();
    assert_eq!(added.status, 201);
    assert_eq!(
        added.body,
        json!({ "message": "User added successfully", "userId": "jane.doe@example.com", "accessLevel": "Admin" })
    );
    let changed = call(
        &mut db,
        "sue",
        &Call::ChangeUser("jane.doe@example.com".into()),
        r#"{"accessLevel": "Read"}"#,
    )
    .unwrap();
    assert_eq!(changed.body["accessLevel"], "Read");
    let seen = call(
        &mut db,
        "jane",
        &Call::GetUser("jane.doe@example.com".into()),
        "",
    )
    .unwrap();
    assert_eq!(seen.body["accessLevel"], "Read");
    assert_eq!(seen.body["createdBy"], "sue");
    // Bob's two allow overrides are on templates.
    let bob = call(&mut db, "jane", &Call::GetUser("bob".into()), "").unwrap();
    assert_eq!(bob.body["managedResources"], json!({ "template": 2 }));
    let removed = call(&mut db, "jane", &Call::RemoveUser("bob".into()), "").unwrap();
    assert_eq!(
        removed.body,
        json!({ "message": "User removed successfully", "userId": "bob" })
    );
    let rows = load(&db, "northwind").unwrap();
    let org = rows.org().unwrap();
    assert!(!org.users.iter().any(|u| u.id == "bob"));
    assert!(
        !org.overrides
            .iter()
            .any(|o| o.user.as_deref() == Some("bob")),
        "his overrides go with him"
    );
    assert!(
        org.revocations.subjects.iter().any(|s| s.sub == "bob"),
        "his tokens are revoked"
    );
    assert_eq!(rows.version, 4);
    let audit = query(
        &db,
        "SELECT version, actor, action, target FROM audit WHERE org = ?1 ORDER BY version",
        "northwind",
    );
    let actions: Vec<&str> = audit
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["policy.import", "user.add", "user.change", "user.remove"]
    );
}

#[test]
fn refusals_write_nothing_and_carry_the_reason() {
    let mut db = database();
    import(&mut db, "examples/access-levels.json", "northwind");
    let before = query(&db, "SELECT * FROM audit WHERE org = ?1", "northwind");
    let e = call(
        &mut db,
        "jane",
        &Call::AddUser,
        r#"["SuperAdmin", "x@example.com"]"#,
    )
    .unwrap_err();
    assert_eq!((e.status(), e.code()), (403, "no_matching_grant"));
    assert_eq!(e.body()["error"]["detail"], "role_not_assignable");
    let e = call(&mut db, "jane", &Call::RemoveUser("sue".into()), "").unwrap_err();
    assert_eq!(e.body()["error"]["detail"], "role_not_assignable");
    let e = call(
        &mut db,
        "bob",
        &Call::AddUser,
        r#"["Read", "x@example.com"]"#,
    )
    .unwrap_err();
    assert_eq!((e.status(), e.code()), (403, "no_matching_grant"));
    let e = call(&mut db, "nobody", &Call::ListUsers, "").unwrap_err();
    assert_eq!(e.code(), "not_a_member");
    let e = call(
        &mut db,
        "sue",
        &Call::AddUser,
        r#"["Owner", "x@example.com"]"#,
    )
    .unwrap_err();
    assert_eq!((e.status(), e.code()), (400, "unknown_role"));
    assert_eq!(
        query(&db, "SELECT * FROM audit WHERE org = ?1", "northwind"),
        before
    );
}

#[test]
fn routes_and_bodies() {
    use service::route;
    assert_eq!(route("GET", "/iam/users").unwrap().call, Call::ListUsers);
    let r = route("DELETE", "/orgs/northwind/iam/users/jane.doe%40example.com").unwrap();
    assert_eq!(
        (r.org.as_deref(), r.call),
        (
            Some("northwind"),
            Call::RemoveUser("jane.doe@example.com".into())
        )
    );
    assert_eq!(
        route("POST", "/iam/export").unwrap_err().code(),
        "method_not_allowed"
    );
    assert_eq!(
        route("GET", "/iam/users/a%2Fb").unwrap_err().code(),
        "invalid_field"
    );
    assert_eq!(
        route("GET", "/iam/users/a%0Ab").unwrap_err().code(),
        "invalid_field"
    );
    assert_eq!(
        route("GET", "/iam/users/%ff").unwrap_err().code(),
        "invalid_field"
    );
    assert_eq!(
        route("GET", "/iam/users/%4").unwrap_err().code(),
        "invalid_field"
    );
    assert_eq!(route("GET", "/orgs").unwrap_err().code(), "not_found");
    assert_eq!(route("GET", "iam/users").unwrap_err().code(), "not_found");
    assert_eq!(
        service::read_add_user(br#"["Admin", "jane.doe@example.com"]"#).unwrap(),
        ("jane.doe@example.com".into(), Some("Admin".into()), None)
    );
    for (body, code) in [
        (
            &br#"{"userId": "a", "accessLevel": "Read", "userId": "b"}"#[..],
            "invalid_field",
        ),
        (
            br#"{"userId": "a", "accessLevel": "Read", "extra": 1}"#,
            "unknown_field",
        ),
        (br#"{"accessLevel": "Read"}"#, "missing_field"),
        (br#"["Read"]"#, "missing_field"),
        (br#"[1, "a"]"#, "invalid_field"),
        (br#"["Read", "a", "b"]"#, "invalid_field"),
        (br#""Read""#, "invalid_field"),
        (br#"[""#, "invalid_json"),
        (b"  ", "empty_body"),
        (br#"["Read", "a\tb"]"#, "invalid_field"),
    ] {
        assert_eq!(
            service::read_add_user(body).unwrap_err().code(),
            code,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    let big = format!(r#"["Read", "{}"]"#, "a".repeat(20_000));
    assert_eq!(
        service::read_add_user(big.as_bytes()).unwrap_err().status(),
        413
    );
}

#[test]
fn the_integration_platforms_developer_works_in_dev_only_and_a_workspace_key_in_one_environment() {
    let mut db = database();
    import(&mut db, "examples/integration-platform.json", "client-a");
    let added = call_in(
        &mut db,
        &CLIENT_A,
        "olivia",
        &Call::AddUser,
        r#"{"userId": "devon@example.com"}"#,
    )
    .unwrap();
    assert_eq!(added.status, 201);
    assert_eq!(added.body["accessLevel"], Value::Null);
    let bound = call_in(
        &mut db,
        &CLIENT_A,
        "olivia",
        &Call::AddUserRole("devon@example.com".into()),
        r#"{"role": "integration_developer", "env": "client-a-dev"}"#,
    )
    .unwrap();
    assert_eq!(
        bound.body["id"],
        "devon@example.com:integration_developer@client-a-dev"
    );
    let edit = |db: &Connection, who: &str, env: &str| {
        decide(
            db,
            "client-a",
            who,
            "workflow:edit",
            "workflow",
            Some("wf-1"),
            Some(env),
            NOW,
        )
    };
    assert_eq!(
        edit(&db, "devon@example.com", "client-a-dev"),
        (true, "allowed".into())
    );
    assert!(
        !edit(&db, "devon@example.com", "client-a-prod").0,
        "dev only"
    );
    let roles = call_in(
        &mut db,
        &CLIENT_A,
        "olivia",
        &Call::UserRoles("devon@example.com".into()),
        "",
    )
    .unwrap();
    assert_eq!(roles.body["roles"].as_array().unwrap().len(), 1);
    // The same rule twice is a conflict; an env role without an environment does not compile.
    let again = call_in(
        &mut db,
        &CLIENT_A,
        "olivia",
        &Call::AddUserRole("devon@example.com".into()),
        r#"{"role": "integration_developer", "env": "client-a-dev"}"#,
    );
    assert_eq!(again.unwrap_err().code(), "already_exists");
    let nowhere = call_in(
        &mut db,
        &CLIENT_A,
        "olivia",
        &Call::AddUserRole("devon@example.com".into()),
        r#"{"role": "tier1_support"}"#,
    );
    assert_eq!(
        nowhere.unwrap_err().status(),
        403,
        "delegation of an env role needs its environment"
    );
    // Adam (administrator) may assign and remove the env roles, not owner.
    let owner = call_in(
        &mut db,
        &CLIENT_A,
        "adam",
        &Call::AddUserRole("devon@example.com".into()),
        r#"{"role": "owner"}"#,
    );
    assert_eq!(
        owner.unwrap_err().body()["error"]["detail"],
        "role_not_assignable"
    );
    call_in(
        &mut db,
        &CLIENT_A,
        "adam",
        &Call::RemoveUserRole(
            "devon@example.com".into(),
            "devon@example.com:integration_developer@client-a-dev".into(),
        ),
        "",
    )
    .unwrap();
    assert!(!edit(&db, "devon@example.com", "client-a-dev").0);
    // A workspace API key: a service bound to one environment.
    call_in(
        &mut db,
        &CLIENT_A,
        "olivia",
        &Call::AddService,
        r#"{"id": "ci-key", "client_id": "svc-ci-key"}"#,
    )
    .unwrap();
    call_in(
        &mut db,
        &CLIENT_A,
        "olivia",
        &Call::AddServiceRole("ci-key".into()),
        r#"{"role": "implementation_specialist", "env": "client-a-dev"}"#,
    )
    .unwrap();
    let deploy = |db: &Connection, env: &str| {
        decide(
            db,
            "client-a",
            "ci-key",
            "bundle:deploy",
            "bundle",
            None,
            Some(env),
            NOW,
        )
        .0
    };
    assert!(deploy(&db, "client-a-dev"));
    assert!(!deploy(&db, "client-a-prod"));
    let services = call_in(&mut db, &CLIENT_A, "olivia", &Call::ListServices, "").unwrap();
    assert!(services.body["services"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == "ci-key" && s["roles"].as_array().unwrap().len() == 1));
    call_in(
        &mut db,
        &CLIENT_A,
        "olivia",
        &Call::RemoveService("ci-key".into()),
        "",
    )
    .unwrap();
    assert!(!deploy(&db, "client-a-dev"));
}

#[test]
fn the_identity_services_groups_and_default_policy() {
    let mut db = database();
    import(&mut db, "examples/identity-service.json", "acme-id");
    call_in(
        &mut db,
        &ACME_ID,
        "ada",
        &Call::AddUser,
        r#"["auditor", "gus@example.com"]"#,
    )
    .unwrap();
    call_in(
        &mut db,
        &ACME_ID,
        "ada",
        &Call::AddGroup,
        r#"{"id": "mfa-desk", "description": "resets second factors"}"#,
    )
    .unwrap();
    call_in(
        &mut db,
        &ACME_ID,
        "ada",
        &Call::AddGroupRole("mfa-desk".into()),
        r#"{"role": "mfa_admin"}"#,
    )
    .unwrap();
    let reset = |db: &Connection| {
        decide(
            db,
            "acme-id",
            "gus@example.com",
            "mfa:update",
            "mfa",
            None,
            None,
            NOW,
        )
        .0
    };
    assert!(!reset(&db));
    call_in(
        &mut db,
        &ACME_ID,
        "ada",
        &Call::AddGroupMember("mfa-desk".into(), "gus@example.com".into()),
        "",
    )
    .unwrap();
    assert!(reset(&db), "a member of the group holds its role");
    let groups = call_in(&mut db, &ACME_ID, "ada", &Call::ListGroups, "").unwrap();
    let desk = groups.body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == "mfa-desk")
        .unwrap()
        .clone();
    assert_eq!(desk["members"], json!(["gus@example.com"]));
    call_in(
        &mut db,
        &ACME_ID,
        "ada",
        &Call::RemoveGroupMember("mfa-desk".into(), "gus@example.com".into()),
        "",
    )
    .unwrap();
    assert!(!reset(&db));
    // The default policy for everyone: sessions of their own, in every namespace.
    let defaults = call_in(&mut db, &ACME_ID, "ada", &Call::ListDefaults, "").unwrap();
    assert_eq!(
        defaults.body["defaults"][0]["id"],
        "namespace-default-account-policy"
    );
    // Nobody may assign self_service in this policy, so nobody may remove it from everyone.
    let e = call_in(
        &mut db,
        &ACME_ID,
        "ada",
        &Call::RemoveDefault("namespace-default-account-policy".into()),
        "",
    )
    .unwrap_err();
    assert_eq!(e.body()["error"]["detail"], "role_not_assignable");
    call_in(
        &mut db,
        &ACME_ID,
        "ada",
        &Call::AddDefault,
        r#"{"id": "everyone-reads-users", "role": "users_auditor"}"#,
    )
    .unwrap();
    assert!(
        decide(
            &db,
            "acme-id",
            "gus@example.com",
            "users:list",
            "users",
            None,
            None,
            NOW
        )
        .0
    );
    assert_eq!(
        load(&db, "acme-id").unwrap().org().unwrap().defaults.len(),
        2
    );
    call_in(
        &mut db,
        &ACME_ID,
        "ada",
        &Call::RemoveDefault("everyone-reads-users".into()),
        "",
    )
    .unwrap();
    assert_eq!(
        load(&db, "acme-id").unwrap().org().unwrap().defaults.len(),
        1
    );
    // Ian (identity providers admin) may assign nothing of it.
    let ian = call_in(
        &mut db,
        &ACME_ID,
        "ian",
        &Call::AddGroupRole("mfa-desk".into()),
        r#"{"role": "superadmin"}"#,
    );
    assert_eq!(ian.unwrap_err().status(), 403);
    call_in(
        &mut db,
        &ACME_ID,
        "ada",
        &Call::RemoveGroup("mfa-desk".into()),
        "",
    )
    .unwrap();
    assert!(!load(&db, "acme-id")
        .unwrap()
        .org()
        .unwrap()
        .bindings
        .iter()
        .any(|b| b.group.as_deref() == Some("mfa-desk")));
}

#[test]
fn overrides_with_expiry_and_who_may_make_them() {
    let mut db = database();
    import(&mut db, "examples/access-levels.json", "northwind");
    // The contractor: Write until the end of the contract.
    call(
        &mut db,
        "jane",
        &Call::AddUser,
        r#"["None", "kai@example.com"]"#,
    )
    .unwrap();
    call(
        &mut db,
        "jane",
        &Call::AddUserRole("kai@example.com".into()),
        r#"{"id": "kai-contract", "role": "Write", "not_after": "2026-12-31T00:00:00Z"}"#,
    )
    .unwrap();
    let edit = |db: &Connection, at: i64| {
        decide(
            db,
            "northwind",
            "kai@example.com",
            "workflow:edit",
            "workflow",
            Some("wf-1"),
            None,
            at,
        )
        .0
    };
    assert!(edit(&db, NOW));
    assert!(!edit(&db, 1_798_675_200), "not after the contract");
    // Admin on one template, for a month.
    let grant = r#"{"id": "kai-onboarding", "effect": "allow", "user": "kai@example.com", "permissions": ["template:*"],
        "resource": {"type": "template", "id": "tmpl-onboarding"}, "not_after": "2027-01-31T00:00:00Z"}"#;
    call(&mut db, "jane", &Call::AddOverride, grant).unwrap();
    let publish = |db: &Connection, id: &str, at: i64| {
        decide(
            db,
            "northwind",
            "kai@example.com",
            "template:publish",
            "template",
            Some(id),
            None,
            at,
        )
        .0
    };
    assert!(publish(&db, "tmpl-onboarding", NOW));
    assert!(!publish(&db, "tmpl-other", NOW));
    assert!(
        !publish(&db, "tmpl-onboarding", 1_801_440_000),
        "the override has expired"
    );
    // Jane may not grant what she does not hold, nor restrict Sue, nor everyone.
    let settings = r#"{"id": "kai-settings", "effect": "allow", "user": "kai@example.com", "permissions": ["settings:manage"], "resource": {}}"#;
    assert_eq!(
        call(&mut db, "jane", &Call::AddOverride, settings)
            .unwrap_err()
            .code(),
        "no_matching_grant"
    );
    let deny_sue = r#"{"id": "no-sue", "effect": "deny", "user": "sue", "permissions": ["*"], "resource": {}}"#;
    assert_eq!(
        call(&mut db, "jane", &Call::AddOverride, deny_sue)
            .unwrap_err()
            .code(),
        "no_matching_grant"
    );
    let deny_all = r#"{"id": "no-deletes", "effect": "deny", "everyone": true, "permissions": ["template:delete"], "resource": {}}"#;
    assert_eq!(
        call(&mut db, "jane", &Call::AddOverride, deny_all)
            .unwrap_err()
            .code(),
        "no_matching_grant"
    );
    assert!(
        call(&mut db, "sue", &Call::AddOverride, deny_all).is_ok(),
        "a SuperAdmin may"
    );
    assert_eq!(
        call(
            &mut db,
            "jane",
            &Call::RemoveOverride("no-deletes".into()),
            ""
        )
        .unwrap_err()
        .status(),
        403
    );
    call(
        &mut db,
        "sue",
        &Call::RemoveOverride("no-deletes".into()),
        "",
    )
    .unwrap();
    // Nobody locks themselves out of the API: not even a SuperAdmin.
    let freeze = r#"{"id": "freeze", "effect": "deny", "everyone": true, "permissions": ["users:*"], "resource": {}}"#;
    assert_eq!(
        call(&mut db, "sue", &Call::AddOverride, freeze)
            .unwrap_err()
            .code(),
        "would_lock_out"
    );
    assert_eq!(
        call(
            &mut db,
            "sue",
            &Call::ChangeUser("sue".into()),
            r#"{"accessLevel": "Read"}"#
        )
        .unwrap_err()
        .code(),
        "would_lock_out"
    );
    call(
        &mut db,
        "jane",
        &Call::RemoveOverride("kai-onboarding".into()),
        "",
    )
    .unwrap();
    assert!(!publish(&db, "tmpl-onboarding", NOW));
    let unknown = r#"{"id": "x", "effect": "allow", "user": "kai@example.com", "permissions": ["template:read"], "resource": {}, "expires": 1}"#;
    assert_eq!(
        call(&mut db, "sue", &Call::AddOverride, unknown)
            .unwrap_err()
            .code(),
        "unknown_field"
    );
}

#[test]
fn revocations_by_token_id_and_by_subject() {
    let mut db = database();
    import(&mut db, "examples/access-levels.json", "northwind");
    call(
        &mut db,
        "jane",
        &Call::Revoke,
        r#"{"jti": "leaked-token-1"}"#,
    )
    .unwrap();
    call(
        &mut db,
        "jane",
        &Call::Revoke,
        r#"{"sub": "alice", "before": "2026-11-01T00:00:00Z"}"#,
    )
    .unwrap();
    call(
        &mut db,
        "jane",
        &Call::Revoke,
        r#"{"sub": "alice", "before": "2026-10-01T00:00:00Z"}"#,
    )
    .unwrap();
    let list = call(&mut db, "jane", &Call::ListRevocations, "").unwrap();
    assert_eq!(list.body["tokenIds"], json!(["leaked-token-1"]));
    assert_eq!(
        list.body["subjects"],
        json!([{ "sub": "alice", "before": "2026-11-01T00:00:00Z" }]),
        "the later instant stays"
    );
    assert_eq!(
        call(&mut db, "jane", &Call::Revoke, r#"{"sub": "sue"}"#)
            .unwrap_err()
            .code(),
        "no_matching_grant"
    );
    assert_eq!(
        call(
            &mut db,
            "jane",
            &Call::Revoke,
            r#"{"jti": "a", "sub": "b"}"#
        )
        .unwrap_err()
        .code(),
        "invalid_field"
    );
    assert_eq!(
        call(&mut db, "jane", &Call::Revoke, r#"{}"#)
            .unwrap_err()
            .code(),
        "missing_field"
    );
    assert_eq!(
        call(&mut db, "bob", &Call::Revoke, r#"{"jti": "x"}"#)
            .unwrap_err()
            .code(),
        "no_matching_grant"
    );
}

#[test]
fn activity_folds_events_into_last_active_distinct_tokens_and_the_newest_operations() {
    use portcullis_control::activity;
    let mut db = database();
    let event = |t: i64, token: &str, action: &str, reason: &str| {
        format!(
            r#"{{"org":"northwind","sub":"bob","action":"{action}","resource":"workflow/wf-{t}","env":"nw-staging","reason":"{reason}","time":{t},"token":"{token}"}}"#
        )
    };
    let mut events = Vec::new();
    for t in 0..30 {
        let token = if t < 10 { "aaaa" } else { "bbbb" };
        events.push(
            activity::parse_event(&event(NOW + t, token, "workflow:read", "allowed")).unwrap(),
        );
    }
    events.push(
        activity::parse_event(&event(NOW + 5, "cccc", "workflow:edit", "explicit_deny")).unwrap(),
    );
    // Malformed events are dropped.
    assert!(activity::parse_event("{").is_none());
    assert!(activity::parse_event(&event(NOW, "", "workflow:read", "allowed")).is_none());
    assert!(activity::parse_event(&event(NOW, "x\\u0000", "workflow:read", "allowed")).is_none());
    let (first, second) = events.split_at(12);
    batch(&mut db, &activity::record(first)).unwrap();
    batch(&mut db, &activity::record(second)).unwrap();
    let results: Vec<Vec<Value>> = activity::QUERIES
        .iter()
        .map(|q| query2(&db, q, "northwind", "bob"))
        .collect();
    let (last_active, view) = activity::view(&results);
    assert_eq!(
        last_active,
        json!(portcullis::time::format_rfc3339(NOW + 29))
    );
    assert_eq!(view["loginCount"], 3);
    assert_eq!(
        view["lastLogin"],
        json!(portcullis::time::format_rfc3339(NOW + 10)),
        "the newest token's first use"
    );
    let ops = view["lastOperations"].as_array().unwrap();
    assert_eq!(ops.len(), activity::SHOWN_OPERATIONS);
    assert_eq!(ops[0]["resource"], format!("workflow/wf-{}", NOW + 29));
    let kept = query(
        &db,
        "SELECT count(*) AS n FROM activity_operations WHERE org = ?1",
        "northwind",
    );
    assert_eq!(kept[0]["n"], activity::KEPT_OPERATIONS);
    // A member nobody has seen.
    let none: Vec<Vec<Value>> = activity::QUERIES
        .iter()
        .map(|q| query2(&db, q, "northwind", "nina"))
        .collect();
    assert_eq!(
        activity::view(&none),
        (
            Value::Null,
            json!({ "lastLogin": null, "loginCount": 0, "lastOperations": [] })
        )
    );
}

#[test]
fn me_answers_the_callers_roles_permissions_and_restrictions() {
    let mut db = database();
    import(&mut db, "examples/access-levels.json", "northwind");
    let me = call(&mut db, "bob", &Call::Me, "").unwrap();
    assert_eq!(me.status, 200);
    assert_eq!(me.body["principal"], "bob");
    let roles: Vec<&str> = me.body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["Write"]);
    assert!(me.body["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "workflow:edit"));
    let restrictions: Vec<&str> = me.body["restrictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    // At org level: his two templates; the production deny is an environment's.
    assert_eq!(
        restrictions,
        [
            "bob-admin-onboarding-template",
            "bob-admin-billing-template"
        ]
    );
    // A stranger's token is refused with the reason.
    assert_eq!(
        call(&mut db, "mallory", &Call::Me, "").unwrap_err().code(),
        "not_a_member"
    );
}

#[test]
fn the_cron_finds_unpublished_versions_and_bundles_past_half_their_lifetime() {
    let mut db = database();
    import(&mut db, "examples/access-levels.json", "northwind");
    import(&mut db, "examples/integration-platform.json", "client-a");
    let due = |db: &Connection, signed_before: i64| -> Vec<String> {
        let mut stmt = db.prepare(store::DUE_QUERY).unwrap();
        let rows = stmt
            .query_map([signed_before], |r| r.get::<_, String>(0))
            .unwrap();
        let mut ids: Vec<String> = rows.map(Result::unwrap).collect();
        ids.sort();
        ids
    };
    // Committed, never published: both are due.
    assert_eq!(due(&db, 0), ["client-a", "northwind"]);
    batch(
        &mut db,
        &[
            store::mark_published("northwind", 1, NOW),
            store::mark_published("client-a", 1, NOW),
        ],
    )
    .unwrap();
    assert!(due(&db, NOW - 100).is_empty(), "published and fresh");
    assert_eq!(
        due(&db, NOW + 1),
        ["client-a", "northwind"],
        "signed before the cut-off: sign again"
    );
    // A publish never lowers the recorded version.
    batch(&mut db, &[store::mark_published("northwind", 0, NOW)]).unwrap();
    assert_eq!(
        query(&db, "SELECT published FROM orgs WHERE id = ?1", "northwind")[0]["published"],
        1
    );
}

#[test]
fn every_path_routes_to_its_call_and_other_methods_are_refused() {
    use service::route;
    let u = || "jane.doe@example.com".to_owned();
    let table = [
        ("GET", "/iam/users", Call::ListUsers),
        ("POST", "/iam/users", Call::AddUser),
        ("GET", "/iam/users/jane.doe@example.com", Call::GetUser(u())),
        (
            "DELETE",
            "/iam/users/jane.doe@example.com",
            Call::RemoveUser(u()),
        ),
        (
            "PATCH",
            "/iam/users/jane.doe@example.com",
            Call::ChangeUser(u()),
        ),
        (
            "GET",
            "/iam/users/jane.doe@example.com/roles",
            Call::UserRoles(u()),
        ),
        (
            "POST",
            "/iam/users/jane.doe@example.com/roles",
            Call::AddUserRole(u()),
        ),
        (
            "DELETE",
            "/iam/users/jane.doe@example.com/roles/r-1",
            Call::RemoveUserRole(u(), "r-1".into()),
        ),
        (
            "GET",
            "/iam/users/jane.doe@example.com/audit",
            Call::UserAudit(u()),
        ),
        ("GET", "/iam/groups", Call::ListGroups),
        ("POST", "/iam/groups", Call::AddGroup),
        ("DELETE", "/iam/groups/ops", Call::RemoveGroup("ops".into())),
        (
            "PUT",
            "/iam/groups/ops/members/jane.doe@example.com",
            Call::AddGroupMember("ops".into(), u()),
        ),
        (
            "DELETE",
            "/iam/groups/ops/members/jane.doe@example.com",
            Call::RemoveGroupMember("ops".into(), u()),
        ),
        (
            "POST",
            "/iam/groups/ops/roles",
            Call::AddGroupRole("ops".into()),
        ),
        (
            "DELETE",
            "/iam/groups/ops/roles/r-2",
            Call::RemoveGroupRole("ops".into(), "r-2".into()),
        ),
        ("GET", "/iam/defaults", Call::ListDefaults),
        ("POST", "/iam/defaults", Call::AddDefault),
        (
            "DELETE",
            "/iam/defaults/d-1",
            Call::RemoveDefault("d-1".into()),
        ),
        ("GET", "/iam/overrides", Call::ListOverrides),
        ("POST", "/iam/overrides", Call::AddOverride),
        (
            "DELETE",
            "/iam/overrides/o-1",
            Call::RemoveOverride("o-1".into()),
        ),
        ("GET", "/iam/services", Call::ListServices),
        ("POST", "/iam/services", Call::AddService),
        (
            "DELETE",
            "/iam/services/ci",
            Call::RemoveService("ci".into()),
        ),
        (
            "POST",
            "/iam/services/ci/roles",
            Call::AddServiceRole("ci".into()),
        ),
        (
            "DELETE",
            "/iam/services/ci/roles/r-3",
            Call::RemoveServiceRole("ci".into(), "r-3".into()),
        ),
        ("GET", "/iam/revocations", Call::ListRevocations),
        ("POST", "/iam/revocations", Call::Revoke),
        ("GET", "/iam/roles", Call::ListRoles),
        ("GET", "/iam/bundle", Call::Bundle),
        ("GET", "/iam/export", Call::Export),
        ("PUT", "/iam/import", Call::Import),
        ("GET", "/me", Call::Me),
    ];
    for (method, path, call) in table {
        let own = route(method, path).unwrap();
        assert_eq!((own.org, &own.call), (None, &call), "{method} {path}");
        let named = route(method, &format!("/orgs/client-a{path}")).unwrap();
        assert_eq!(
            (named.org.as_deref(), &named.call),
            (Some("client-a"), &call),
            "{method} /orgs/client-a{path}"
        );
        for other in ["GET", "POST", "PUT", "PATCH", "DELETE"]
            .into_iter()
            .filter(|m| *m != method && route(m, path).is_err())
        {
            assert_eq!(
                route(other, path).unwrap_err().code(),
                "method_not_allowed",
                "{other} {path}"
            );
        }
    }
    assert_eq!(
        route("HEAD", "/me").unwrap_err().code(),
        "method_not_allowed"
    );
    assert_eq!(
        route("GET", "/orgs/a%20b/me").unwrap_err().code(),
        "invalid_field"
    );
    assert_eq!(
        route("GET", "/iam/users/a/b/c").unwrap_err().code(),
        "not_found"
    );
    // Escapes decode in every segment, and a bad escape anywhere is refused.
    assert_eq!(
        route("GET", "/iam/users/%6a%61ne").unwrap().call,
        Call::GetUser("jane".into())
    );
    assert_eq!(
        route("GET", "/iam/users/ja%6").unwrap_err().code(),
        "invalid_field"
    );
    assert_eq!(
        route("GET", "/iam/users/j%C3%A9").unwrap().call,
        Call::GetUser("jé".into())
    );
}

#[test]
fn limits_sit_exactly_where_they_are_documented() {
    // Ids: 256 bytes pass, 257 do not; white space and control characters never.
    let id = |n: usize| format!(r#"["Read", "{}"]"#, "a".repeat(n));
    assert!(service::read_add_user(id(256).as_bytes()).is_ok());
    assert_eq!(
        service::read_add_user(id(257).as_bytes())
            .unwrap_err()
            .code(),
        "invalid_field"
    );
    for bad in ["a b", "a\u{7f}b", "a\u{2028}b", "\u{a0}"] {
        let body = serde_json::to_string(&json!(["Read", bad])).unwrap();
        assert_eq!(
            service::read_add_user(body.as_bytes()).unwrap_err().code(),
            "invalid_field",
            "{bad:?}"
        );
    }
    // Bodies: 16 KiB pass (padded with white space), one byte more does not.
    let padded = |n: usize| {
        let body = r#"{"userId": "kim@example.com", "accessLevel": "Read"}"#;
        format!("{body}{}", " ".repeat(n - body.len()))
    };
    assert_eq!(
        service::MAX_CALL_BODY_BYTES,
        16 * 1024,
        "docs/control-plane.md says 16 KiB"
    );
    assert_eq!(
        service::MAX_IMPORT_BODY_BYTES,
        8 * 1024 * 1024,
        "and 8 MiB for an import"
    );
    assert!(service::read_add_user(padded(16 * 1024).as_bytes()).is_ok());
    assert_eq!(
        service::read_add_user(padded(service::MAX_CALL_BODY_BYTES + 1).as_bytes())
            .unwrap_err()
            .code(),
        "body_too_large"
    );
    let change = |n: usize| format!(r#"{{"accessLevel": "Read"}}{}"#, " ".repeat(n - 23));
    assert!(service::read_change_user(change(service::MAX_CALL_BODY_BYTES).as_bytes()).is_ok());
    assert_eq!(
        service::read_change_user(change(service::MAX_CALL_BODY_BYTES + 1).as_bytes())
            .unwrap_err()
            .status(),
        413
    );
    // Names: 256 bytes, no control characters.
    let name = |n: &str| {
        format!(
            r#"{{"userId": "kim", "accessLevel": "Read", "name": {}}}"#,
            json!(n)
        )
    };
    assert!(service::read_add_user(name(&"n".repeat(256)).as_bytes()).is_ok());
    assert_eq!(
        service::read_add_user(name(&"n".repeat(257)).as_bytes())
            .unwrap_err()
            .code(),
        "invalid_field"
    );
    assert_eq!(
        service::read_add_user(name("Kim\u{1b}[31m").as_bytes())
            .unwrap_err()
            .code(),
        "invalid_field"
    );
    // A body cut short is not JSON.
    assert_eq!(
        service::read_add_user(br#"{"userId": "a""#)
            .unwrap_err()
            .code(),
        "invalid_json"
    );
    assert_eq!(
        service::read_add_user(br#"{"userId": 7, "accessLevel": "Read"}"#)
            .unwrap_err()
            .code(),
        "invalid_field"
    );
    // An import may hold a few MiB of policy: 2 MiB pass, 8 MiB and one byte do not.
    let mut big =
        parse_source(&std::fs::read(root().join("examples/access-levels.json")).unwrap()).unwrap();
    for i in 0..20_000 {
        big.orgs[0].users.push(portcullis::source::UserSource {
            id: format!("user-{i:05}@example.com"),
            name: Some("x".repeat(80)),
            attrs: Default::default(),
            groups: vec![],
            disabled: false,
        });
    }
    let text = serde_json::to_vec(&big).unwrap();
    assert!(text.len() > 2 * 1024 * 1024, "{} bytes", text.len());
    assert!(service::import("northwind", &text, None, "operator", NOW).is_ok());
    let huge = vec![b' '; service::MAX_IMPORT_BODY_BYTES + 1];
    assert_eq!(
        service::import("northwind", &huge, None, "operator", NOW)
            .unwrap_err()
            .code(),
        "body_too_large"
    );
}

#[test]
fn a_token_names_its_organization_before_it_is_verified() {
    assert_eq!(
        service::claimed_org(&token_of(&CLIENT_A, "olivia")),
        Some("client-a".into())
    );
    assert_eq!(
        service::claimed_org(&token_of(&NORTHWIND, "sue")),
        Some("northwind".into())
    );
    assert_eq!(service::claimed_org("not a token"), None);
}

#[test]
fn the_admin_permission_is_asked_for_the_user_acted_on() {
    // Jane may manage users, except Alice: an override denies her users:manage on that user.
    let mut db = database();
    import(&mut db, "examples/access-levels.json", "northwind");
    call(&mut db, "sue", &Call::AddOverride,
        r#"{"id": "hands-off-alice", "effect": "deny", "user": "jane", "permissions": ["users:manage"], "resource": {"type": "users", "id": "alice"}}"#).unwrap();
    let e = call(&mut db, "jane", &Call::RemoveUser("alice".into()), "").unwrap_err();
    assert_eq!(
        (e.code(), e.body()["error"]["rule"].as_str()),
        ("explicit_deny", Some("hands-off-alice"))
    );
    assert!(call(
        &mut db,
        "jane",
        &Call::ChangeUser("bob".into()),
        r#"{"accessLevel": "Read"}"#
    )
    .is_ok());
    // A deny on another resource type leaves users alone.
    call(&mut db, "sue", &Call::AddOverride,
        r#"{"id": "no-templates", "effect": "deny", "user": "jane", "permissions": ["template:*"], "resource": {"type": "template"}}"#).unwrap();
    assert!(call(
        &mut db,
        "jane",
        &Call::ChangeUser("bob".into()),
        r#"{"accessLevel": "Write"}"#
    )
    .is_ok());
}

#[test]
fn roles_and_the_audit_trail_as_members_see_them() {
    let mut db = database();
    import(&mut db, "examples/access-levels.json", "northwind");
    // Any member sees the roles (Bob has no users:read), a stranger does not.
    let roles = call(&mut db, "bob", &Call::ListRoles, "").unwrap();
    let admin = roles.body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "Admin")
        .unwrap()
        .clone();
    assert_eq!(admin["scope"], "org");
    assert_eq!(admin["canAssign"], json!(["Write", "Read", "None"]));
    assert_eq!(
        call(&mut db, "bob", &Call::Bundle, "").unwrap().body,
        json!({})
    );
    assert_eq!(
        call(&mut db, "mallory", &Call::ListRoles, "")
            .unwrap_err()
            .code(),
        "not_a_member"
    );
    assert_eq!(
        call(&mut db, "mallory", &Call::Bundle, "")
            .unwrap_err()
            .code(),
        "not_a_member"
    );
    // Dates are RFC 3339 and the audit rows read back as JSON.
    call(
        &mut db,
        "jane",
        &Call::AddUser,
        r#"["Read", "kim@example.com"]"#,
    )
    .unwrap();
    let kim = call(
        &mut db,
        "jane",
        &Call::GetUser("kim@example.com".into()),
        "",
    )
    .unwrap();
    assert_eq!(kim.body["created"], portcullis::time::format_rfc3339(NOW));
    let rows = query(&db, "SELECT version, at, actor, action, target, before, after FROM audit WHERE org = ?1 AND action = 'user.add'", "northwind");
    let trail = call(
        &mut db,
        "jane",
        &Call::UserAudit("kim@example.com".into()),
        "",
    )
    .unwrap();
    assert_eq!(
        trail.body,
        json!({ "userId": "kim@example.com" }),
        "the Worker adds the rows"
    );
    assert_eq!(
        call(
            &mut db,
            "bob",
            &Call::UserAudit("kim@example.com".into()),
            ""
        )
        .unwrap_err()
        .code(),
        "no_matching_grant"
    );
    assert_eq!(
        call(&mut db, "jane", &Call::UserAudit("nobody".into()), "")
            .unwrap_err()
            .code(),
        "unknown_user"
    );
    assert_eq!(
        call(&mut db, "sue", &Call::Import, "{}")
            .unwrap_err()
            .code(),
        "invalid_token",
        "an import is the operator's"
    );
    let view = service::audit_entry_view(&rows[0]);
    assert_eq!(view["at"], portcullis::time::format_rfc3339(NOW));
    assert_eq!(
        (view["actor"].as_str(), view["action"].as_str()),
        (Some("jane"), Some("user.add"))
    );
    assert_eq!(
        view["after"],
        json!({ "userId": "kim@example.com", "accessLevel": "Read" })
    );
    assert_eq!(view["before"], Value::Null);
}

#[test]
fn removing_a_user_bound_in_every_environment() {
    let mut db = database();
    import(&mut db, "examples/integration-platform.json", "client-a");
    call_in(
        &mut db,
        &CLIENT_A,
        "olivia",
        &Call::AddUser,
        r#"{"userId": "tia@example.com"}"#,
    )
    .unwrap();
    call_in(
        &mut db,
        &CLIENT_A,
        "olivia",
        &Call::AddUserRole("tia@example.com".into()),
        r#"{"role": "tier1_support", "env": "*"}"#,
    )
    .unwrap();
    assert!(
        decide(
            &db,
            "client-a",
            "tia@example.com",
            "logs:read",
            "logs",
            None,
            Some("client-a-prod"),
            NOW
        )
        .0
    );
    call_in(
        &mut db,
        &CLIENT_A,
        "olivia",
        &Call::RemoveUser("tia@example.com".into()),
        "",
    )
    .unwrap();
    assert!(
        !decide(
            &db,
            "client-a",
            "tia@example.com",
            "logs:read",
            "logs",
            None,
            Some("client-a-prod"),
            NOW
        )
        .0
    );
}

#[test]
fn refusals_say_who_may_not_do_what() {
    let mut db = database();
    import(&mut db, "examples/access-levels.json", "northwind");
    let e = call(
        &mut db,
        "jane",
        &Call::AddUser,
        r#"["SuperAdmin", "x@example.com"]"#,
    )
    .unwrap_err();
    assert_eq!(e.message(), "`jane` may not assign role `SuperAdmin`");
    let e = call(
        &mut db,
        "jane",
        &Call::ChangeUser("sue".into()),
        r#"{"accessLevel": "Read"}"#,
    )
    .unwrap_err();
    assert_eq!(e.message(), "`sue` holds a role `jane` may not manage");
    assert_eq!(
        e.body()["error"]["detail"],
        "target_holds_unassignable_role"
    );
    let e = call(
        &mut db,
        "jane",
        &Call::AddUserRole("bob".into()),
        r#"{"role": "Ghost"}"#,
    )
    .unwrap_err();
    assert_eq!((e.status(), e.code()), (400, "unknown_role"));
    // An env role is no access level.
    let mut db = database();
    import(&mut db, "examples/integration-platform.json", "client-a");
    let e = call_in(
        &mut db,
        &CLIENT_A,
        "olivia",
        &Call::AddUser,
        r#"["integration_developer", "x@example.com"]"#,
    )
    .unwrap_err();
    assert_eq!((e.status(), e.code()), (400, "unknown_role"));
    let e = call_in(
        &mut db,
        &CLIENT_A,
        "olivia",
        &Call::ChangeUser("sam".into()),
        r#"{"accessLevel": "tier1_support"}"#,
    )
    .unwrap_err();
    assert_eq!((e.status(), e.code()), (400, "unknown_role"));
}

#[test]
fn the_export_is_the_organizations_policy_without_a_version() {
    let mut db = database();
    import(&mut db, "examples/access-levels.json", "northwind");
    let out = call(&mut db, "bob", &Call::Export, "").unwrap();
    let source = parse_source(out.body.to_string().as_bytes()).unwrap();
    assert_eq!(source.version, None);
    assert_eq!(source.orgs.len(), 1);
    assert_eq!(
        compile(&source).unwrap(),
        compile(&load(&db, "northwind").unwrap().source).unwrap()
    );
    // Nina (None) may not read settings.
    assert_eq!(
        call(&mut db, "nina", &Call::Export, "").unwrap_err().code(),
        "no_matching_grant"
    );
}

#[test]
fn groups_and_overrides_cannot_carry_a_role_or_a_restriction_past_delegation() {
    let mut db = database();
    import(&mut db, "examples/access-levels.json", "northwind");
    // A group bound to Admin: Jane (Admin) may neither put Bob in nor take anyone out.
    call(&mut db, "sue", &Call::AddGroup, r#"{"id": "admins"}"#).unwrap();
    call(
        &mut db,
        "sue",
        &Call::AddGroupRole("admins".into()),
        r#"{"id": "admins-admin", "role": "Admin"}"#,
    )
    .unwrap();
    let e = call(
        &mut db,
        "jane",
        &Call::AddGroupMember("admins".into(), "bob".into()),
        "",
    )
    .unwrap_err();
    assert_eq!(e.body()["error"]["detail"], "role_not_assignable");
    call(
        &mut db,
        "sue",
        &Call::AddGroupMember("admins".into(), "bob".into()),
        "",
    )
    .unwrap();
    assert!(
        decide(
            &db,
            "northwind",
            "bob",
            "users:manage",
            "users",
            None,
            None,
            NOW
        )
        .0,
        "Bob is Admin through the group"
    );
    let e = call(
        &mut db,
        "jane",
        &Call::RemoveGroupMember("admins".into(), "bob".into()),
        "",
    )
    .unwrap_err();
    assert_eq!(e.body()["error"]["detail"], "role_not_assignable");
    let e = call(
        &mut db,
        "jane",
        &Call::RemoveGroupRole("admins".into(), "admins-admin".into()),
        "",
    )
    .unwrap_err();
    assert_eq!(e.code(), "no_matching_grant");
    call(
        &mut db,
        "sue",
        &Call::RemoveGroupRole("admins".into(), "admins-admin".into()),
        "",
    )
    .unwrap();
    assert!(
        !decide(
            &db,
            "northwind",
            "bob",
            "users:manage",
            "users",
            None,
            None,
            NOW
        )
        .0
    );
    // Jane may restrict Alice (Read), not a group, not a service, not everyone.
    let deny = |target: &str| {
        format!(
            r#"{{"id": "d-{}", "effect": "deny", {target}, "permissions": ["workflow:run"], "resource": {{"type": "workflow"}}}}"#,
            target.len()
        )
    };
    assert!(call(
        &mut db,
        "jane",
        &Call::AddOverride,
        &deny(r#""user": "alice""#)
    )
    .is_ok());
    call(
        &mut db,
        "sue",
        &Call::AddService,
        r#"{"id": "bot", "client_id": "svc-bot"}"#,
    )
    .unwrap();
    for target in [
        r#""group": "admins""#,
        r#""service": "bot""#,
        r#""everyone": true"#,
    ] {
        assert_eq!(
            call(&mut db, "jane", &Call::AddOverride, &deny(target))
                .unwrap_err()
                .code(),
            "no_matching_grant",
            "{target}"
        );
    }
    // An allow on a group that Jane holds the permission of: fine; removing it takes away from
    // the whole group: not hers.
    let allow = r#"{"id": "admins-templates", "effect": "allow", "group": "admins", "permissions": ["template:read"], "resource": {"type": "template"}}"#;
    call(&mut db, "jane", &Call::AddOverride, allow).unwrap();
    assert_eq!(
        call(
            &mut db,
            "jane",
            &Call::RemoveOverride("admins-templates".into()),
            ""
        )
        .unwrap_err()
        .code(),
        "no_matching_grant"
    );
    let listed = call(&mut db, "jane", &Call::ListOverrides, "").unwrap();
    assert!(listed.body["overrides"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["id"] == "admins-templates"));
    // A service's roles: bound and unbound by whoever may assign them.
    call(
        &mut db,
        "jane",
        &Call::AddServiceRole("bot".into()),
        r#"{"id": "bot-read", "role": "Read"}"#,
    )
    .unwrap();
    assert_eq!(
        call(
            &mut db,
            "jane",
            &Call::AddServiceRole("bot".into()),
            r#"{"role": "Admin"}"#
        )
        .unwrap_err()
        .code(),
        "no_matching_grant"
    );
    call(
        &mut db,
        "jane",
        &Call::RemoveServiceRole("bot".into(), "bot-read".into()),
        "",
    )
    .unwrap();
    assert_eq!(
        call(
            &mut db,
            "jane",
            &Call::RemoveServiceRole("bot".into(), "bot-read".into()),
            ""
        )
        .unwrap_err()
        .code(),
        "unknown_rule"
    );
}

#[test]
fn a_role_for_a_user_is_checked_against_what_the_user_holds_and_kept_as_given() {
    let mut db = database();
    import(&mut db, "examples/access-levels.json", "northwind");
    // Sue is SuperAdmin: Jane may give her nothing, not even Read.
    let e = call(
        &mut db,
        "jane",
        &Call::AddUserRole("sue".into()),
        r#"{"role": "Read"}"#,
    )
    .unwrap_err();
    assert_eq!(
        e.body()["error"]["detail"],
        "target_holds_unassignable_role"
    );
    // The binding keeps its id, window and condition.
    call(&mut db, "jane", &Call::AddUserRole("nina".into()),
        r#"{"id": "nina-summer", "role": "Read", "not_before": "2026-06-01T00:00:00Z", "not_after": "2026-09-01T00:00:00Z", "when": {"eq": [{"attr": "resource.team"}, "ops"]}}"#).unwrap();
    let roles = call(&mut db, "jane", &Call::UserRoles("nina".into()), "").unwrap();
    let ids: Vec<&str> = roles.body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["nina:None", "nina-summer"], "only Nina's bindings");
    let summer = &roles.body["roles"][1];
    assert_eq!(
        (
            summer["not_before"].as_str(),
            summer["when"]["eq"][1].as_str()
        ),
        (Some("2026-06-01T00:00:00Z"), Some("ops"))
    );
    // A rule of someone else is not hers to remove.
    assert_eq!(
        call(
            &mut db,
            "jane",
            &Call::RemoveUserRole("nina".into(), "alice:Read".into()),
            ""
        )
        .unwrap_err()
        .code(),
        "unknown_rule"
    );
    assert_eq!(
        call(
            &mut db,
            "jane",
            &Call::AddUserRole("nobody".into()),
            r#"{"role": "Read"}"#
        )
        .unwrap_err()
        .code(),
        "unknown_user"
    );
    assert_eq!(
        call(
            &mut db,
            "jane",
            &Call::AddGroupRole("nogroup".into()),
            r#"{"role": "Read"}"#
        )
        .unwrap_err()
        .code(),
        "unknown_group"
    );
    assert_eq!(
        call(
            &mut db,
            "jane",
            &Call::AddServiceRole("nosvc".into()),
            r#"{"role": "Read"}"#
        )
        .unwrap_err()
        .code(),
        "unknown_service"
    );
    // Revocation ids: 1 to 256 bytes, no control characters.
    for bad in [String::new(), "x".repeat(257), "a\\u0001".into()] {
        let body = format!(r#"{{"jti": "{bad}"}}"#);
        assert_eq!(
            call(&mut db, "jane", &Call::Revoke, &body)
                .unwrap_err()
                .code(),
            "invalid_field",
            "{bad:?}"
        );
    }
    assert!(call(
        &mut db,
        "jane",
        &Call::Revoke,
        &format!(r#"{{"jti": "{}"}}"#, "x".repeat(256))
    )
    .is_ok());
    // Bodies of these calls: 16 KiB at most.
    let padded = format!(r#"{{"id": "g2"}}{}"#, " ".repeat(16 * 1024 - 12));
    assert!(call(&mut db, "jane", &Call::AddGroup, &padded).is_ok());
    let over = format!(r#"{{"id": "g3"}}{}"#, " ".repeat(16 * 1024 - 11));
    assert_eq!(
        call(&mut db, "jane", &Call::AddGroup, &over)
            .unwrap_err()
            .code(),
        "body_too_large"
    );
}

#[test]
fn what_a_group_or_an_override_gives_needs_the_actor_to_hold_it() {
    let mut db = database();
    import(&mut db, "examples/access-levels.json", "northwind");
    // Removing Sue's deny on Alice gives Alice settings:manage back: Jane does not hold it.
    call(&mut db, "sue", &Call::AddOverride,
        r#"{"id": "alice-no-settings", "effect": "deny", "user": "alice", "permissions": ["settings:manage"], "resource": {}}"#).unwrap();
    assert_eq!(
        call(
            &mut db,
            "jane",
            &Call::RemoveOverride("alice-no-settings".into()),
            ""
        )
        .unwrap_err()
        .code(),
        "no_matching_grant"
    );
    // A deny Jane could have made herself, she may remove.
    call(&mut db, "sue", &Call::AddOverride,
        r#"{"id": "alice-no-run", "effect": "deny", "user": "alice", "permissions": ["workflow:run"], "resource": {}}"#).unwrap();
    call(
        &mut db,
        "jane",
        &Call::RemoveOverride("alice-no-run".into()),
        "",
    )
    .unwrap();
    // Groups without roles but with overrides: joining one gives or takes what they say.
    call(
        &mut db,
        "sue",
        &Call::AddGroup,
        r#"{"id": "settings-people"}"#,
    )
    .unwrap();
    call(&mut db, "sue", &Call::AddOverride,
        r#"{"id": "settings-people-manage", "effect": "allow", "group": "settings-people", "permissions": ["settings:manage"], "resource": {}}"#).unwrap();
    let e = call(
        &mut db,
        "jane",
        &Call::AddGroupMember("settings-people".into(), "alice".into()),
        "",
    )
    .unwrap_err();
    assert_eq!(
        e.message(),
        "`jane` may not grant `settings:manage`, which they do not hold"
    );
    call(&mut db, "sue", &Call::AddGroup, r#"{"id": "frozen"}"#).unwrap();
    call(&mut db, "sue", &Call::AddOverride,
        r#"{"id": "frozen-run", "effect": "deny", "group": "frozen", "permissions": ["workflow:run"], "resource": {}}"#).unwrap();
    assert_eq!(
        call(
            &mut db,
            "jane",
            &Call::AddGroupMember("frozen".into(), "sue".into()),
            ""
        )
        .unwrap_err()
        .code(),
        "no_matching_grant"
    );
    call(
        &mut db,
        "jane",
        &Call::AddGroupMember("frozen".into(), "alice".into()),
        "",
    )
    .unwrap();
    assert!(
        !decide(
            &db,
            "northwind",
            "alice",
            "workflow:run",
            "workflow",
            None,
            None,
            NOW
        )
        .0
    );
    // Leaving: the reverse.
    call(
        &mut db,
        "sue",
        &Call::AddGroupMember("settings-people".into(), "alice".into()),
        "",
    )
    .unwrap();
    call(
        &mut db,
        "jane",
        &Call::RemoveGroupMember("settings-people".into(), "alice".into()),
        "",
    )
    .unwrap();
    assert_eq!(
        call(
            &mut db,
            "jane",
            &Call::RemoveGroupMember("frozen".into(), "alice".into()),
            ""
        )
        .unwrap()
        .status,
        200
    );
    // The groups list shows each group's own roles only.
    call(
        &mut db,
        "sue",
        &Call::AddGroupRole("frozen".into()),
        r#"{"id": "frozen-read", "role": "Read"}"#,
    )
    .unwrap();
    let groups = call(&mut db, "jane", &Call::ListGroups, "").unwrap();
    let roles_of = |id: &str| -> Vec<String> {
        let g = groups.body["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == id)
            .unwrap();
        g["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(roles_of("frozen"), ["frozen-read"]);
    assert!(roles_of("settings-people").is_empty());
    // Duplicates: a default's rule id against bindings, a service's client id.
    call(
        &mut db,
        "sue",
        &Call::AddService,
        r#"{"id": "bot", "client_id": "svc-bot"}"#,
    )
    .unwrap();
    assert_eq!(
        call(
            &mut db,
            "sue",
            &Call::AddService,
            r#"{"id": "bot2", "client_id": "svc-bot"}"#
        )
        .unwrap_err()
        .code(),
        "already_exists"
    );
    assert_eq!(
        call(
            &mut db,
            "sue",
            &Call::AddService,
            r#"{"id": "bot", "client_id": "svc-bot2"}"#
        )
        .unwrap_err()
        .code(),
        "already_exists"
    );
    assert_eq!(
        call(
            &mut db,
            "sue",
            &Call::AddDefault,
            r#"{"id": "alice:Read", "role": "Read"}"#
        )
        .unwrap_err()
        .code(),
        "already_exists"
    );
    call(
        &mut db,
        "sue",
        &Call::AddDefault,
        r#"{"id": "everyone-reads", "role": "Read"}"#,
    )
    .unwrap();
    assert_eq!(
        call(
            &mut db,
            "sue",
            &Call::AddDefault,
            r#"{"id": "everyone-reads", "role": "None"}"#
        )
        .unwrap_err()
        .code(),
        "already_exists"
    );
    // A service's roles go with it, and only its own are listed.
    call(
        &mut db,
        "sue",
        &Call::AddServiceRole("bot".into()),
        r#"{"id": "bot-write", "role": "Write"}"#,
    )
    .unwrap();
    call(
        &mut db,
        "sue",
        &Call::AddService,
        r#"{"id": "idle", "client_id": "svc-idle"}"#,
    )
    .unwrap();
    let services = call(&mut db, "jane", &Call::ListServices, "").unwrap();
    let idle = services.body["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "idle")
        .unwrap()
        .clone();
    assert_eq!(idle["roles"], json!([]));
    assert_eq!(
        call(&mut db, "jane", &Call::RemoveService("bot".into()), "")
            .unwrap()
            .status,
        200,
        "Jane may remove Write"
    );
    assert!(!load(&db, "northwind")
        .unwrap()
        .org()
        .unwrap()
        .bindings
        .iter()
        .any(|b| b.service.as_deref() == Some("bot")));
    call(
        &mut db,
        "sue",
        &Call::AddServiceRole("idle".into()),
        r#"{"id": "idle-admin", "role": "Admin"}"#,
    )
    .unwrap();
    assert_eq!(
        call(&mut db, "jane", &Call::RemoveService("idle".into()), "")
            .unwrap_err()
            .code(),
        "no_matching_grant"
    );
}
