//! Compile errors name the place (a JSON pointer), say what is wrong and what would be right.

use portcullis::source::{compile, parse_source, CompileError};
use serde_json::{json, Value};

fn base() -> Value {
    json!({
        "permissions": { "workflow": ["read", "edit"], "logs": ["read"] },
        "roles": [
            { "id": "admin", "scope": "org", "permissions": ["workflow:*"], "can_assign": ["viewer"] },
            { "id": "viewer", "scope": "env", "permissions": ["workflow:read"] }
        ],
        "orgs": [
            { "id": "a", "environments": [ { "id": "a-dev" } ], "users": [ { "id": "ann" } ],
              "bindings": [ { "role": "viewer", "user": "ann", "env": "a-dev" } ] },
            { "id": "b", "environments": [ { "id": "b-dev" } ], "users": [ { "id": "bo" } ] }
        ]
    })
}

fn errors(mutate: impl FnOnce(&mut Value)) -> Vec<CompileError> {
    let mut v = base();
    mutate(&mut v);
    let bytes = serde_json::to_vec(&v).unwrap();
    match parse_source(&bytes).and_then(|s| compile(&s)) {
        Ok(_) => vec![],
        Err(e) => e.errors,
    }
}

fn expect_error(mutate: impl FnOnce(&mut Value), pointer: &str, message: &str, hint: Option<&str>) {
    let errs = errors(mutate);
    let found = errs.iter().find(|e| e.pointer == pointer);
    let Some(e) = found else {
        panic!("no error at {pointer}; got {errs:#?}")
    };
    assert!(
        e.message.contains(message),
        "{pointer}: `{}` lacks `{message}`",
        e.message
    );
    if let Some(h) = hint {
        assert!(
            e.hint.as_deref().unwrap_or("").contains(h),
            "{pointer}: hint {:?} lacks `{h}`",
            e.hint
        );
    }
}

#[test]
fn the_base_policy_compiles() {
    assert_eq!(errors(|_| {}), vec![]);
}

#[test]
fn unknown_role_suggests_the_closest() {
    expect_error(
        |v| v["orgs"][0]["bindings"][0]["role"] = json!("veiwer"),
        "/orgs/0/bindings/0/role",
        "unknown role `veiwer`",
        Some("did you mean `viewer`?"),
    );
}

#[test]
fn undeclared_permission() {
    expect_error(
        |v| v["roles"][1]["permissions"][0] = json!("workflow:delete"),
        "/roles/1/permissions/0",
        "permission `workflow:delete` is not declared",
        Some("did you mean"),
    );
    expect_error(
        |v| v["roles"][1]["permissions"][0] = json!("billing:*"),
        "/roles/1/permissions/0",
        "resource type of `billing:*` is not declared",
        None,
    );
    expect_error(
        |v| v["roles"][1]["permissions"][0] = json!("workflow"),
        "/roles/1/permissions/0",
        "not a permission pattern",
        Some("`type:verb`"),
    );
}

#[test]
fn environment_of_another_org() {
    expect_error(
        |v| v["orgs"][0]["bindings"][0]["env"] = json!("b-dev"),
        "/orgs/0/bindings/0/env",
        "environment `b-dev` belongs to org `b`, not `a`",
        Some("bind it in org `b`"),
    );
    expect_error(
        |v| v["orgs"][0]["bindings"][0]["env"] = json!("a-dve"),
        "/orgs/0/bindings/0/env",
        "unknown environment `a-dve`",
        Some("did you mean `a-dev`?"),
    );
}

#[test]
fn duplicate_ids() {
    expect_error(
        |v| v["orgs"][0]["users"] = json!([{ "id": "ann" }, { "id": "ann" }]),
        "/orgs/0/users/1/id",
        "duplicate user id `ann`",
        None,
    );
    expect_error(
        |v| v["orgs"][1]["environments"][0]["id"] = json!("a-dev"),
        "/orgs/1/environments/0/id",
        "duplicate environment id `a-dev`",
        Some("unique across organizations"),
    );
    expect_error(
        |v| {
            v["roles"][1]["id"] = json!("admin");
            v["roles"][1]["scope"] = json!("org");
        },
        "/roles/1/id",
        "duplicate org role id `admin`",
        Some("once per scope"),
    );
    expect_error(
        |v| v["orgs"][0]["groups"] = json!([{ "id": "ops" }, { "id": "ops" }]),
        "/orgs/0/groups/1/id",
        "duplicate group id `ops`",
        None,
    );
    expect_error(
        |v| {
            v["orgs"][0]["services"] = json!([
                { "id": "bot", "client_id": "c-1" },
                { "id": "bot", "client_id": "c-2" },
                { "id": "etl", "client_id": "c-1" }
            ])
        },
        "/orgs/0/services/1/id",
        "duplicate service id `bot`",
        None,
    );
    expect_error(
        |v| {
            v["orgs"][0]["services"] =
                json!([{ "id": "a", "client_id": "c" }, { "id": "b", "client_id": "c" }])
        },
        "/orgs/0/services/1/client_id",
        "client id `c` is empty or used twice",
        None,
    );
    // Rule ids are one namespace: bindings (named or derived), defaults and overrides.
    expect_error(
        |v| {
            v["orgs"][0]["bindings"]
                .as_array_mut()
                .unwrap()
                .push(json!({ "role": "viewer", "user": "ann", "env": "a-dev" }))
        },
        "/orgs/0/bindings",
        "two bindings share the rule id `ann:viewer@a-dev` (entries 0 and 1)",
        Some("explicit `id`"),
    );
    let deny = |id: &str| json!({ "id": id, "effect": "deny", "everyone": true, "permissions": ["logs:read"] });
    expect_error(
        |v| v["orgs"][0]["overrides"] = json!([deny("ann:viewer@a-dev")]),
        "/orgs/0/overrides/0/id",
        "duplicate rule id `ann:viewer@a-dev`",
        None,
    );
    expect_error(
        |v| v["orgs"][0]["overrides"] = json!([deny("x"), deny("y"), deny("x")]),
        "/orgs/0/overrides/2/id",
        "duplicate rule id `x`",
        None,
    );
    assert!(
        !errors(|v| v["orgs"][0]["overrides"] = json!([deny("x"), deny("y")]))
            .iter()
            .any(|e| e.message.contains("duplicate")),
        "distinct override ids are no duplicates"
    );
    expect_error(
        |v| v["permissions"]["logs"] = json!(["read", "read"]),
        "/permissions/logs/1",
        "declared twice",
        None,
    );
}

#[test]
fn scope_mismatches() {
    expect_error(
        |v| {
            v["orgs"][0]["bindings"][0]
                .as_object_mut()
                .unwrap()
                .remove("env");
        },
        "/orgs/0/bindings/0/env",
        "`viewer` is an env role; name its environment",
        Some("`*`"),
    );
    expect_error(
        |v| v["orgs"][0]["bindings"] = json!([{ "role": "admin", "user": "ann", "env": "a-dev" }]),
        "/orgs/0/bindings/0/env",
        "`admin` is an org role",
        None,
    );
    expect_error(
        |v| v["roles"][1]["env_ceiling"] = json!(["logs:read"]),
        "/roles/1/env_ceiling",
        "only org roles",
        None,
    );
}

#[test]
fn conditions_are_bounded_and_checked() {
    let mut deep = json!({ "eq": [{ "attr": "resource.x" }, "y"] });
    for _ in 0..9 {
        deep = json!({ "not": deep });
    }
    expect_error(
        |v| v["orgs"][0]["bindings"][0]["when"] = deep,
        "/orgs/0/bindings/0/when/not/not/not/not/not/not/not/not",
        "nested deeper than 8",
        None,
    );
    let wide: Vec<Value> = (0..30)
        .map(|i| json!({ "eq": [{ "attr": "resource.x" }, i] }))
        .collect();
    expect_error(
        |v| v["orgs"][0]["bindings"][0]["when"] = json!({ "any": wide }),
        "/orgs/0/bindings/0/when",
        "at most 64 are allowed",
        None,
    );
    expect_error(
        |v| v["orgs"][0]["bindings"][0]["when"] = json!({ "equals": [1, 2] }),
        "/orgs/0/bindings/0/when/equals",
        "unknown operator `equals`",
        None,
    );
    expect_error(
        |v| v["orgs"][0]["bindings"][0]["when"] = json!({ "eq": [{ "attr": "user.x" }, 1] }),
        "/orgs/0/bindings/0/when/eq/0/attr",
        "not an attribute reference",
        None,
    );
}

#[test]
fn shape_errors_carry_a_pointer() {
    expect_error(
        |v| v["orgs"][0]["users"][0]["colour"] = json!("red"),
        "/orgs/0/users/0/colour",
        "unknown field `colour`",
        None,
    );
    expect_error(
        |v| v["roles"][0]["scope"] = json!("global"),
        "/roles/0/scope",
        "unknown variant `global`",
        None,
    );
    expect_error(
        |v| v["orgs"][0]["bindings"][0]["not_after"] = json!("tomorrow"),
        "/orgs/0/bindings/0/not_after",
        "`tomorrow` is not a time",
        Some("RFC 3339"),
    );
}

#[test]
fn several_errors_are_reported_at_once() {
    let errs = errors(|v| {
        v["orgs"][0]["bindings"][0]["role"] = json!("nobody");
        v["roles"][0]["can_assign"] = json!(["ghost"]);
    });
    assert_eq!(errs.len(), 2, "{errs:#?}");
}

#[test]
fn a_subject_alias_names_one_member_only() {
    let with_aliases = |v: &mut Value, bo_email: &str| {
        v["orgs"][0]["subject_aliases"] = json!(["email"]);
        v["orgs"][0]["users"] = json!([
            { "id": "ann", "attrs": { "email": "ann@a.example" } },
            { "id": "bo", "attrs": { "email": bo_email } }
        ]);
    };
    assert_eq!(errors(|v| with_aliases(v, "bo@a.example")), vec![]);
    expect_error(
        |v| with_aliases(v, "ann@a.example"),
        "/orgs/0/subject_aliases/0",
        "`ann@a.example` names both `bo` and `ann`",
        Some("one member"),
    );
    // An alias that is another member's id would let one name stand for two members.
    expect_error(
        |v| with_aliases(v, "ann"),
        "/orgs/0/subject_aliases/0",
        "`ann` names both `bo` and `ann`",
        None,
    );
    expect_error(
        |v| v["orgs"][0]["subject_aliases"] = json!(["a", "b", "c", "d", "e", "f", "g", "h", "i"]),
        "/orgs/0/subject_aliases",
        "at most 8",
        None,
    );
    expect_error(
        |v| v["orgs"][0]["subject_aliases"] = json!(["e mail"]),
        "/orgs/0/subject_aliases/0",
        "not an attribute name",
        None,
    );
}

#[test]
fn a_resource_has_a_declared_type_a_unique_id_and_one_environment_of_its_organization() {
    let resource = |r: Value| move |v: &mut Value| v["orgs"][0]["resources"] = json!([r]);
    assert_eq!(
        errors(resource(
            json!({ "type": "workflow", "id": "wf-1", "env": "a-dev", "attrs": { "tier": "gold" } })
        )),
        vec![]
    );
    expect_error(
        resource(json!({ "type": "invoice", "id": "i-1" })),
        "/orgs/0/resources/0/type",
        "unknown resource type `invoice`",
        Some("permissions"),
    );
    expect_error(
        resource(json!({ "type": "workflow", "id": "wf 1" })),
        "/orgs/0/resources/0/id",
        "not a valid id",
        None,
    );
    expect_error(
        resource(json!({ "type": "workflow", "id": "wf-1", "env": "b-dev" })),
        "/orgs/0/resources/0/env",
        "belongs to org `b`",
        None,
    );
    expect_error(
        resource(json!({ "type": "workflow", "id": "wf-1", "env": "*" })),
        "/orgs/0/resources/0/env",
        "one environment",
        None,
    );
    expect_error(
        |v| {
            v["orgs"][0]["resources"] =
                json!([{ "type": "workflow", "id": "wf-1" }, { "type": "workflow", "id": "wf-1" }])
        },
        "/orgs/0/resources/1/id",
        "duplicate resource `wf-1` of type `workflow`",
        None,
    );
}

#[test]
fn an_org_role_and_an_env_role_may_share_an_id() {
    // The AI platform's `admin` at tenant and at workspace scope, without renaming either.
    let both = |v: &mut Value| {
        v["roles"][1]["id"] = json!("admin");
        v["roles"][0]["can_assign"] = json!([{ "role": "admin", "scope": "env" }]);
        v["orgs"][0]["bindings"] = json!([
            { "role": "admin", "user": "ann" },
            { "role": "admin", "user": "ann", "env": "a-dev" }
        ]);
    };
    assert_eq!(errors(both), vec![], "one of each scope compiles");
    // Unqualified, `admin` in `can_assign` is ambiguous and says how to name one.
    expect_error(
        |v| {
            both(v);
            v["roles"][0]["can_assign"] = json!(["admin"]);
        },
        "/roles/0/can_assign/0",
        "`admin` names an org role and an env role",
        Some("\"scope\": \"env\""),
    );
    // A scope with no role of that id is unknown.
    expect_error(
        |v| v["roles"][0]["can_assign"] = json!([{ "role": "viewer", "scope": "org" }]),
        "/roles/0/can_assign/0",
        "unknown role `viewer`",
        None,
    );
}
