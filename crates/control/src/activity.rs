//! Activity without state at the edge: the gateway sends one small event per decision to a
//! Queue; the control plane reads them in batches into D1, and a user's details show when they
//! were last active, how many distinct tokens they presented and their last operations.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::store::{SqlValue, Statement};

/// Operations kept per member (the newest).
pub const KEPT_OPERATIONS: i64 = 20;
/// Operations a user's details show.
pub const SHOWN_OPERATIONS: usize = 10;
/// Longest text in an event; longer events are dropped.
const MAX_FIELD_BYTES: usize = 512;

/// One decision of the gateway, as it sends it: never the token, only an opaque digest of its
/// id to count distinct tokens.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Event {
    /// Organization.
    pub org: String,
    /// The token's subject.
    pub sub: String,
    /// Permission asked for (absent for `/_portcullis/me`).
    #[serde(default)]
    pub action: Option<String>,
    /// `type/id` of the resource.
    #[serde(default)]
    pub resource: Option<String>,
    /// Environment of the resource.
    #[serde(default)]
    pub env: Option<String>,
    /// The decision's reason (`allowed`, `no_matching_grant`, …).
    pub reason: String,
    /// Unix seconds.
    pub time: i64,
    /// A digest of the token's issuer and id.
    pub token: String,
}

/// Reads one event; `None` for anything malformed or oversized (dropped, never retried).
pub fn parse_event(text: &str) -> Option<Event> {
    let e: Event = serde_json::from_str(text).ok()?;
    let fields = [
        Some(&e.org),
        Some(&e.sub),
        e.action.as_ref(),
        e.resource.as_ref(),
        e.env.as_ref(),
        Some(&e.reason),
        Some(&e.token),
    ];
    let fine = fields
        .iter()
        .flatten()
        .all(|f| !f.is_empty() && f.len() <= MAX_FIELD_BYTES && !f.chars().any(char::is_control));
    fine.then_some(e)
}

/// The statements that fold a batch of events into D1: per member the last time seen, each
/// distinct token with when it was first seen, and the newest operations.
pub fn record(events: &[Event]) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut last: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for e in events {
        let t = last.entry((&e.org, &e.sub)).or_insert(e.time);
        *t = (*t).max(e.time);
        out.push(Statement::new(
            "INSERT INTO activity_tokens (org, sub, token, first_seen) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (org, sub, token) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen)",
            vec![e.org.as_str().into(), e.sub.as_str().into(), e.token.as_str().into(), e.time.into()],
        ));
        out.push(Statement::new(
            "INSERT INTO activity_operations (org, sub, at, action, resource, env, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            vec![
                e.org.as_str().into(),
                e.sub.as_str().into(),
                e.time.into(),
                e.action.clone().into(),
                e.resource.clone().into(),
                e.env.clone().into(),
                e.reason.as_str().into(),
            ],
        ));
    }
    for ((org, sub), time) in last {
        out.push(Statement::new(
            "INSERT INTO activity (org, sub, last_active) VALUES (?1, ?2, ?3) \
             ON CONFLICT (org, sub) DO UPDATE SET last_active = max(last_active, excluded.last_active)",
            vec![org.into(), sub.into(), time.into()],
        ));
        out.push(Statement::new(
            "DELETE FROM activity_operations WHERE org = ?1 AND sub = ?2 AND seq NOT IN \
             (SELECT seq FROM activity_operations WHERE org = ?1 AND sub = ?2 ORDER BY at DESC, seq DESC LIMIT ?3)",
            vec![org.into(), sub.into(), SqlValue::Int(KEPT_OPERATIONS)],
        ));
    }
    out
}

/// The queries for one member's activity (`?1` organization, `?2` subject), in the order
/// [`view`] expects.
pub const QUERIES: [&str; 3] = [
    "SELECT last_active FROM activity WHERE org = ?1 AND sub = ?2",
    "SELECT count(*) AS tokens, max(first_seen) AS last_login FROM activity_tokens WHERE org = ?1 AND sub = ?2",
    "SELECT at, action, resource, env, reason FROM activity_operations WHERE org = ?1 AND sub = ?2 ORDER BY at DESC, seq DESC LIMIT 10",
];

/// A member's activity as the user details show it: `lastActive` and `activity {lastLogin,
/// loginCount, lastOperations}` (times in RFC 3339).
pub fn view(results: &[Vec<Value>]) -> (Value, Value) {
    let first = |i: usize, k: &str| {
        results
            .get(i)
            .and_then(|r| r.first())
            .and_then(|r| r.get(k))
            .and_then(Value::as_i64)
    };
    let time =
        |t: Option<i64>| t.map_or(Value::Null, |t| json!(portcullis::time::format_rfc3339(t)));
    let operations: Vec<Value> = results
        .get(2)
        .map(|rows| {
            rows.iter()
                .take(SHOWN_OPERATIONS)
                .map(|r| {
                    json!({
                        "at": time(r.get("at").and_then(Value::as_i64)),
                        "action": r.get("action"),
                        "resource": r.get("resource"),
                        "env": r.get("env"),
                        "outcome": match r.get("reason").and_then(Value::as_str) {
                            Some("allowed" | "me") => "allow",
                            _ => "deny",
                        },
                        "reason": r.get("reason"),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    (
        time(first(0, "last_active")),
        json!({
            "lastLogin": time(first(1, "last_login")),
            "loginCount": first(1, "tokens").unwrap_or(0),
            "lastOperations": operations,
        }),
    )
}
