//! The AuthZEN Authorization API as the core answers it: the working group's Todo decisions
//! (every file, scored as its runner scores them), the API-gateway and search scenarios
//! written from their descriptions, batches and their semantics, and bad input.

use std::path::Path;

use portcullis::authzen::{self, AuthzenError, SearchKind};
use portcullis::source;
use portcullis::Authorizer;
use serde_json::{json, Value};

const NOW: i64 = 1_780_000_000;

fn authorizer(example: &str) -> Authorizer {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(example);
    let source = source::parse_source(&std::fs::read(path).unwrap()).unwrap();
    let mut data = source::compile(&source).unwrap();
    Authorizer::preview(data.remove(0), 7).unwrap()
}

fn interop_file(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/authzen/todo")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// Scores one Todo decision file: (passed, total) over its single evaluations and batches.
fn score(a: &Authorizer, file: &Value) -> (usize, usize, Vec<String>) {
    let (mut passed, mut total, mut failures) = (0, 0, Vec::new());
    let singles = file
        .get("evaluation")
        .or_else(|| file.get("decisions"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for case in singles {
        total += 1;
        let answer = authzen::evaluation(a, &body(&case["request"]), NOW, false).unwrap();
        let got = serde_json::to_value(&answer).unwrap();
        // The runner reads `decision`; a missing one counts as false.
        if got["decision"].as_bool().unwrap_or(false) == case["expected"].as_bool().unwrap() {
            passed += 1;
        } else {
            failures.push(format!("{} -> {got}", case["request"]));
        }
    }
    for case in file["evaluations"].as_array().cloned().unwrap_or_default() {
        total += 1;
        let answer = authzen::evaluations(a, &body(&case["request"]), NOW, false).unwrap();
        let got = serde_json::to_value(&answer).unwrap();
        // A batch is compared exactly.
        if got["evaluations"] == case["expected"] {
            passed += 1;
        } else {
            failures.push(format!("{} -> {got}", case["request"]));
        }
    }
    (passed, total, failures)
}

#[test]
fn every_todo_decision_file_passes() {
    let a = authorizer("authzen-todo.json");
    for (file, cases) in [
        ("decisions-authorization-api-1_0-02.json", 43),
        ("decisions-authorization-api-1_0-01.json", 40),
        ("decisions-authorization-api-1_0-00.json", 40),
        ("decisions.json", 40),
    ] {
        let (passed, total, failures) = score(&a, &interop_file(file));
        assert_eq!(total, cases, "{file}");
        assert_eq!(passed, total, "{file}: {failures:#?}");
    }
}

#[test]
fn reasons_are_given_only_when_asked_for() {
    let a = authorizer("authzen-todo.json");
    let request = json!({
        "subject": { "type": "user", "id": "morty@the-citadel.com" },
        "action": { "name": "can_update_todo" },
        "resource": { "type": "todo", "id": "t-1", "properties": { "ownerID": "morty@the-citadel.com" } }
    });
    let plain = serde_json::to_value(authzen::evaluation(&a, &body(&request), NOW, false).unwrap())
        .unwrap();
    assert_eq!(plain, json!({ "decision": true }));
    let explained =
        serde_json::to_value(authzen::evaluation(&a, &body(&request), NOW, true).unwrap()).unwrap();
    assert_eq!(
        explained,
        json!({ "decision": true, "context": { "reason": "allowed", "rule": "editors-change-their-own-todos", "bundle_version": 7 } })
    );
}

fn batch(a: &Authorizer, request: Value) -> Value {
    serde_json::to_value(authzen::evaluations(a, &body(&request), NOW, false).unwrap()).unwrap()
}

#[test]
fn a_batch_takes_defaults_whole_and_answers_in_order() {
    let a = authorizer("authzen-todo.json");
    let answer = batch(
        &a,
        json!({
            "subject": { "type": "user", "id": "summer" },
            "action": { "name": "can_delete_todo" },
            "resource": { "type": "todo", "id": "t-1", "properties": { "ownerID": "summer@the-smiths.com" } },
            "evaluations": [
                {},
                // The item's resource replaces the default whole: no owner now.
                { "resource": { "type": "todo", "id": "t-1" } },
                { "subject": { "type": "user", "id": "rick" } },
                { "action": { "name": "can_create_todo" } },
                { "subject": { "type": "user", "id": "beth" }, "action": { "name": "can_read_todos" } }
            ]
        }),
    );
    assert_eq!(
        answer,
        json!({ "evaluations": [
            { "decision": true }, { "decision": false }, { "decision": true },
            { "decision": true }, { "decision": true }
        ] })
    );
}

#[test]
fn semantics_stop_at_the_first_deny_or_permit() {
    let a = authorizer("authzen-todo.json");
    let items = json!([
        { "action": { "name": "can_read_todos" } },
        { "action": { "name": "can_create_todo" } },
        { "action": { "name": "can_delete_todo" } },
        { "action": { "name": "can_read_todos" } }
    ]);
    let with = |semantic: &str| {
        batch(
            &a,
            json!({
                "subject": { "type": "user", "id": "beth" },
                "resource": { "type": "todo", "id": "t-1" },
                "options": { "evaluations_semantic": semantic },
                "evaluations": items
            }),
        )
    };
    assert_eq!(
        with("execute_all")["evaluations"].as_array().unwrap().len(),
        4
    );
    assert_eq!(
        with("deny_on_first_deny"),
        json!({ "evaluations": [{ "decision": true }, { "decision": false }] })
    );
    assert_eq!(
        with("permit_on_first_permit"),
        json!({ "evaluations": [{ "decision": true }] })
    );
    let bad = json!({ "options": { "evaluations_semantic": "some" }, "evaluations": [] });
    assert_eq!(
        authzen::evaluations(&a, &body(&bad), NOW, false)
            .unwrap_err()
            .code(),
        "invalid_field"
    );
}

#[test]
fn an_item_that_names_no_evaluation_is_a_denial_with_its_error_and_the_batch_goes_on() {
    let a = authorizer("authzen-todo.json");
    let answer = batch(
        &a,
        json!({
            "action": { "name": "can_read_todos" },
            "resource": { "type": "todo", "id": "t-1" },
            "evaluations": [
                { "subject": { "type": "user", "id": "rick" } },
                {},
                { "subject": { "type": "user" } },
                7,
                { "subject": { "type": "user", "id": "jerry" } }
            ]
        }),
    );
    let items = answer["evaluations"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(items[0], json!({ "decision": true }));
    assert_eq!(items[1]["decision"], false);
    assert_eq!(items[1]["context"]["error"]["code"], "missing_field");
    assert_eq!(items[2]["context"]["error"]["code"], "missing_field");
    assert_eq!(items[3]["context"]["error"]["code"], "invalid_field");
    assert_eq!(items[4], json!({ "decision": true }));
    // Without `evaluations`, the request is one evaluation, answered as such.
    let single = batch(
        &a,
        json!({
            "subject": { "type": "user", "id": "rick" },
            "action": { "name": "can_read_todos" },
            "resource": { "type": "todo", "id": "t-1" }
        }),
    );
    assert_eq!(single, json!({ "decision": true }));
}

#[test]
fn bad_input_is_refused_with_a_code_and_never_decided() {
    let a = authorizer("authzen-todo.json");
    let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
    let many: Vec<Value> = (0..=authzen::MAX_EVALUATIONS).map(|_| json!({})).collect();
    let many = serde_json::to_vec(&json!({ "evaluations": many })).unwrap();
    let large = vec![b' '; authzen::MAX_BODY_BYTES + 1];
    let mut large_json = b"{\"pad\":\"".to_vec();
    large_json.extend(std::iter::repeat_n(b'x', authzen::MAX_BODY_BYTES));
    large_json.extend(b"\"}");
    let properties: serde_json::Map<String, Value> = (0..=authzen::MAX_PROPERTIES)
        .map(|i| (format!("p{i}"), json!(i)))
        .collect();
    let too_many_properties = body(&json!({
        "subject": { "type": "user", "id": "rick" }, "action": { "name": "can_read_todos" },
        "resource": { "type": "todo", "id": "t", "properties": properties }
    }));
    let cases: Vec<(&[u8], &str)> = vec![
        (b"", "empty_body"),
        (b"  \n", "empty_body"),
        (&large, "empty_body"),
        (&large_json, "body_too_large"),
        (b"{", "invalid_json"),
        (b"not json", "invalid_json"),
        (deep.as_bytes(), "invalid_json"),
        (br#"{"subject":{"type":"user","id":"rick"},"subject":{"type":"user","id":"beth"}}"#, "invalid_json"),
        (b"[]", "invalid_field"),
        (br#"{"action":{"name":"can_read_todos"},"resource":{"type":"todo","id":"t"}}"#, "missing_field"),
        (br#"{"subject":{"type":"user","id":5},"action":{"name":"x"},"resource":{"type":"todo","id":"t"}}"#, "invalid_field"),
        (br#"{"subject":{"type":"user","id":""},"action":{"name":"x"},"resource":{"type":"todo","id":"t"}}"#, "invalid_field"),
        (br#"{"subject":"rick","action":{"name":"x"},"resource":{"type":"todo","id":"t"}}"#, "invalid_field"),
        (br#"{"subject":{"type":"user","id":"rick"},"action":{},"resource":{"type":"todo","id":"t"}}"#, "missing_field"),
        (br#"{"subject":{"type":"user","id":"rick"},"action":{"name":"x"},"resource":{"type":"todo","id":"t","properties":[]}}"#, "invalid_field"),
        (b"{\"subject\":{\"type\":\"user\",\"id\":\"r\xff\"}}", "invalid_json"),
        (&too_many_properties, "invalid_field"),
    ];
    for (bytes, code) in cases {
        let err = authzen::evaluation(&a, bytes, NOW, false).unwrap_err();
        assert_eq!(
            err.code(),
            code,
            "{}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
        );
        assert_eq!(
            err.status(),
            if code == "body_too_large" { 413 } else { 400 }
        );
    }
    assert_eq!(
        authzen::evaluations(&a, &many, NOW, false).unwrap_err(),
        AuthzenError::TooManyEvaluations
    );
    // Unknown members are ignored; the answer is a decision.
    let extra = br#"{"subject":{"type":"user","id":"rick","x":{}},"action":{"name":"can_read_todos","y":[1]},"resource":{"type":"todo","id":"t"},"z":null,"context":{"time":"now"}}"#;
    assert!(authzen::evaluation(&a, extra, NOW, false).unwrap().decision);
    for code in AuthzenError::CODES {
        assert!(!code.is_empty());
    }
}

fn search(a: &Authorizer, kind: SearchKind, request: Value) -> Value {
    serde_json::to_value(authzen::search(a, kind, &body(&request), NOW).unwrap()).unwrap()
}

fn ids(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().or(r["name"].as_str()).unwrap().to_owned())
        .collect()
}

#[test]
fn subject_search_lists_who_may_act_on_one_record() {
    let a = authorizer("authzen-search.json");
    let who = |action: &str, record: &str| {
        ids(&search(
            &a,
            SearchKind::Subject,
            json!({
                "subject": { "type": "user" },
                "action": { "name": action },
                "resource": { "type": "record", "id": record }
            }),
        ))
    };
    // 101 is Legal's, Alice's: she owns it, Bob and Carol are Legal, Dan manages.
    assert_eq!(who("view", "101"), ["alice", "bob", "carol", "dan"]);
    assert_eq!(who("edit", "101"), ["alice"]);
    // 115 is Finance's, Carol's: Dan manages Finance.
    assert_eq!(who("edit", "115"), ["carol", "dan"]);
    assert_eq!(who("delete", "104"), ["dan"]);
    // Unknown ids find nothing, without an error.
    assert!(who("view", "999").is_empty());
    let answer = search(
        &a,
        SearchKind::Subject,
        json!({
            "subject": { "type": "user" }, "action": { "name": "view" },
            "resource": { "type": "record", "id": "101" }
        }),
    );
    assert_eq!(
        answer["results"][0],
        json!({ "type": "user", "id": "alice" })
    );
}

#[test]
fn resource_search_lists_the_records_one_user_may_act_on_a_page_at_a_time() {
    let a = authorizer("authzen-search.json");
    let page = |user: &str, action: &str, page: Value| {
        search(
            &a,
            SearchKind::Resource,
            json!({
                "subject": { "type": "user", "id": user },
                "action": { "name": action },
                "resource": { "type": "record" },
                "page": page
            }),
        )
    };
    let bob_views = [
        "101", "102", "103", "105", "108", "112", "114", "116", "117", "119", "120",
    ];
    assert_eq!(ids(&page("bob", "view", json!({}))), bob_views);
    assert_eq!(
        ids(&page("felix", "edit", json!({}))),
        ["106", "112", "118"]
    );
    assert_eq!(
        ids(&page("dan", "edit", json!({}))),
        ["104", "110", "115", "116"]
    );
    assert_eq!(ids(&page("alice", "view", json!({}))).len(), 20);
    // Pages of four: the tokens walk the whole list once.
    let mut seen = Vec::new();
    let mut token = Value::Null;
    for _ in 0..10 {
        let answer = page("bob", "view", json!({ "limit": 4, "token": token }));
        seen.extend(ids(&answer));
        assert_eq!(answer["page"]["total"], 11);
        token = answer["page"]["next_token"].clone();
        if token == "" {
            break;
        }
    }
    assert_eq!(seen, bob_views);
    // A token of another bundle version, or not ours, is refused.
    for bad in ["v6.4", "4", "v7.x", "v7.0", "v7.99"] {
        let request = json!({
            "subject": { "type": "user", "id": "bob" }, "action": { "name": "view" },
            "resource": { "type": "record" }, "page": { "token": bad }
        });
        assert_eq!(
            authzen::search(&a, SearchKind::Resource, &body(&request), NOW).unwrap_err(),
            AuthzenError::InvalidPageToken,
            "{bad}"
        );
    }
    // Unknown types find nothing.
    assert!(ids(&search(
        &a,
        SearchKind::Resource,
        json!({
            "subject": { "type": "user", "id": "bob" }, "action": { "name": "view" },
            "resource": { "type": "invoice" }
        })
    ))
    .is_empty());
}

#[test]
fn action_search_lists_what_one_user_may_do_on_one_record() {
    let a = authorizer("authzen-search.json");
    let actions = |user: &str, record: &str| {
        ids(&search(
            &a,
            SearchKind::Action,
            json!({
                "subject": { "type": "user", "id": user },
                "resource": { "type": "record", "id": record }
            }),
        ))
    };
    assert_eq!(actions("carol", "103"), ["view", "edit", "delete"]);
    assert_eq!(actions("carol", "102"), ["view"]);
    assert_eq!(actions("alice", "104"), ["view"]);
    assert_eq!(actions("dan", "115"), ["view", "edit"]);
    assert!(actions("erin", "101").is_empty());
    assert!(actions("zoe", "101").is_empty());
    let answer = search(
        &a,
        SearchKind::Action,
        json!({
            "subject": { "type": "user", "id": "carol" },
            "resource": { "type": "record", "id": "103" }
        }),
    );
    assert_eq!(answer["results"][0], json!({ "name": "view" }));
    assert_eq!(
        answer["page"],
        json!({ "next_token": "", "count": 3, "total": 3 })
    );
}

#[test]
fn the_gateway_scenario_decides_routes_by_the_route_table() {
    let a = authorizer("authzen-todo.json");
    let pid = |c: char| format!("CiRmZD{c}2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs");
    let people = [
        (pid('A'), "admin+evil_genius"),
        (pid('E'), "editor"),
        (pid('I'), "editor"),
        (pid('M'), "viewer"),
        (pid('Q'), "viewer"),
    ];
    let routes = [
        ("GET", "/users/{userId}"),
        ("GET", "/todos"),
        ("POST", "/todos"),
        ("PUT", "/todos/{todoId}"),
        ("DELETE", "/todos/{todoId}"),
    ];
    for (subject, roles) in &people {
        for (method, route) in routes {
            // GET for everyone; the rest for the admin, the evil genius and the editors.
            let expected = method == "GET" || *roles != "viewer";
            let request = json!({
                "subject": { "type": "identity", "id": subject },
                "action": { "name": method },
                "resource": { "type": "route", "id": route }
            });
            let answer = authzen::evaluation(&a, &body(&request), NOW, false).unwrap();
            assert_eq!(answer.decision, expected, "{roles} {method} {route}");
        }
    }
}
