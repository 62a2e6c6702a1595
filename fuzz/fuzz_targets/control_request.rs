//! The control plane's request parsers and calls: the first byte picks what the rest is — a
//! method and path to route, a `POST /iam/users` or `PATCH` body, a gateway activity event, or
//! the body of a write decided against the access-levels example as its SuperAdmin.
//! Properties: nothing panics; a refusal has a code and a 4xx status; a routed path names a
//! call; an accepted write carries a change whose policy compiled and an audit row.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_control::service::{self, Call, Context, Permissions};
use portcullis_control::{activity, ControlError};
use portcullis_fuzz::control_fixture;

fn refused(e: &ControlError) {
    assert!(!e.code().is_empty());
    assert!((400..500).contains(&e.status()), "{e}: {}", e.status());
}

const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    match pick % 5 {
        0 => {
            let Ok(path) = std::str::from_utf8(rest) else {
                return;
            };
            let method = METHODS
                .get(usize::from(pick / 5) % METHODS.len())
                .copied()
                .unwrap_or("GET");
            if let Err(e) = service::route(method, path) {
                refused(&e);
            }
        }
        1 => {
            if let Ok((user, level, _)) = service::read_add_user(rest) {
                assert!(
                    !user.is_empty() && !user.chars().any(|c| c.is_control() || c.is_whitespace())
                );
                assert!(level.is_none_or(|l| !l.is_empty()));
            }
        }
        2 => {
            let _ = service::read_change_user(rest);
        }
        3 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                if let Some(e) = activity::parse_event(text) {
                    assert!(!activity::record(&[e]).is_empty());
                }
            }
        }
        _ => {
            let f = control_fixture();
            let calls = [
                Call::AddUser,
                Call::ChangeUser("bob".into()),
                Call::AddUserRole("alice".into()),
                Call::AddGroup,
                Call::AddDefault,
                Call::AddOverride,
                Call::AddService,
                Call::Revoke,
            ];
            let call = &calls[usize::from(pick / 5) % calls.len()];
            let permissions = Permissions::default();
            let cx = Context {
                rows: &f.rows,
                authorizer: &f.authorizer,
                token: &f.token,
                permissions: &permissions,
                now: f.now,
            };
            match service::handle(call, &cx, rest) {
                Ok(outcome) => {
                    let change = outcome.change.expect("a write answers with a change");
                    assert_eq!(change.audit.actor, "sue");
                    assert!(!change.statements.is_empty());
                    assert!((200..300).contains(&outcome.status));
                }
                Err(e) => refused(&e),
            }
        }
    }
});
