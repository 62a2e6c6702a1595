//! Every size limit of the core in one place. Each is enforced before the work it bounds, and
//! exceeding one is a typed error, never a hang,
//! a panic or a trap. `docs/security.md` lists them; a test keeps that list true.
//!
//! | limit | value | exceeded gives |
//! |---|---|---|
//! | [`MAX_TOKEN_BYTES`] | 8 KiB | `token_too_large`, before any decoding or cryptography |
//! | [`MAX_TOKEN_JSON_DEPTH`] | 4 | `token_bad_json` |
//! | [`MAX_LEEWAY`] | 60 s | an issuer's leeway is capped at it |
//! | [`MAX_BUNDLE_BYTES`] | 16 MiB | `bundle_too_large`, before the signature is checked |
//! | [`MAX_SOURCE_BYTES`] | 64 MiB | `policy_invalid` (pointer `/`) |
//! | [`MAX_PERMISSIONS`] | 4096 | `policy_invalid`; a bundle: refused (`bundle_corrupt`) |
//! | [`MAX_ENTRIES`] | 1,000,000 per table | `policy_invalid`; a bundle: refused (`bundle_corrupt`) |
//! | [`MAX_ROUTES`] | 1024 | `policy_invalid` (pointer `/routes`); a bundle: `bundle_invalid` |
//! | [`MAX_ISSUERS`] | 64 | `policy_invalid` (pointer `/issuers`); a bundle: refused |
//! | [`MAX_KEYS_PER_ISSUER`] | 64 | `policy_invalid`; a bundle: refused |
//! | [`MAX_SEGMENTS`] | 32 per route template | `policy_invalid` |
//! | [`MAX_PATH_BYTES`] | 4096 | `path_too_long` (414 at the gateway) |
//! | [`MAX_CONDITION_DEPTH`] | 8 | `policy_invalid`; a bundle: refused (`bundle_corrupt`) |
//! | [`MAX_CONDITION_NODES`] | 64 | `policy_invalid`; a bundle: refused (`bundle_corrupt`) |
//! | [`MAX_VALUE_DEPTH`] | 2 | `policy_invalid`; a bundle: refused (`bundle_corrupt`) |
//! | [`MAX_BATCH`] | 1000 requests | `batch_too_large` |
//! | [`MAX_SUBJECT_ALIASES`] | 8 | `policy_invalid`; a bundle: refused (`bundle_corrupt`) |
//! | [`MAX_AUTHZEN_BODY_BYTES`] | 1 MiB | `body_too_large` (413) |
//! | [`MAX_AUTHZEN_JSON_DEPTH`] | 8 | `invalid_json` (400) |
//! | [`MAX_EVALUATIONS`] | 1000 per batch | `too_many_evaluations` (400) |
//! | [`MAX_PROPERTIES`] | 64 per entity | `invalid_field` (400) |
//! | [`MAX_PAGE_LIMIT`] | 1000 results per search page | a larger `page.limit` is capped |

pub use crate::authzen::{
    MAX_BODY_BYTES as MAX_AUTHZEN_BODY_BYTES, MAX_EVALUATIONS,
    MAX_JSON_DEPTH as MAX_AUTHZEN_JSON_DEPTH, MAX_PAGE_LIMIT, MAX_PROPERTIES,
};
pub use crate::bundle::MAX_BUNDLE_BYTES;
pub use crate::decide::MAX_BATCH;
pub use crate::model::MAX_VALUE_DEPTH;
pub use crate::model::{MAX_CONDITION_DEPTH, MAX_CONDITION_NODES};
pub use crate::model::{
    MAX_ENTRIES, MAX_ISSUERS, MAX_KEYS_PER_ISSUER, MAX_PERMISSIONS, MAX_ROUTES, MAX_SUBJECT_ALIASES,
};
pub use crate::model::{MAX_PATH_BYTES, MAX_SEGMENTS};
pub use crate::source::MAX_SOURCE_BYTES;
pub use crate::token::{MAX_LEEWAY, MAX_TOKEN_BYTES, MAX_TOKEN_JSON_DEPTH};
