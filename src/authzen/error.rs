//! Why an AuthZEN request body was refused.

use std::fmt;

use crate::token::strict_json::StrictJsonError;

/// A request the API refuses as a whole (HTTP `400`, `413` for [`AuthzenError::TooLarge`]).
/// Within a batch, an item's own error is an answer of that item instead (see
/// [`super::evaluations`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthzenError {
    /// The body is empty.
    EmptyBody,
    /// The body is larger than [`super::MAX_BODY_BYTES`].
    TooLarge,
    /// Not JSON, a member name twice in one object, or nested deeper than
    /// [`super::MAX_JSON_DEPTH`].
    InvalidJson(StrictJsonError),
    /// A required member is absent (its path, such as `subject.id`).
    Missing(String),
    /// A member has the wrong type or an empty value (its path, and what it must be).
    Invalid {
        /// Where, such as `resource.properties`.
        at: String,
        /// What it must be.
        expected: &'static str,
    },
    /// More evaluations than [`super::MAX_EVALUATIONS`] in one batch.
    TooManyEvaluations,
    /// A page token this API did not issue, or issued for another bundle version.
    InvalidPageToken,
}

impl AuthzenError {
    /// Every code, in declaration order.
    pub const CODES: [&'static str; 7] = [
        "empty_body",
        "body_too_large",
        "invalid_json",
        "missing_field",
        "invalid_field",
        "too_many_evaluations",
        "invalid_page_token",
    ];

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthzenError::EmptyBody => "empty_body",
            AuthzenError::TooLarge => "body_too_large",
            AuthzenError::InvalidJson(_) => "invalid_json",
            AuthzenError::Missing(_) => "missing_field",
            AuthzenError::Invalid { .. } => "invalid_field",
            AuthzenError::TooManyEvaluations => "too_many_evaluations",
            AuthzenError::InvalidPageToken => "invalid_page_token",
        }
    }

    /// The HTTP status the API answers with.
    pub fn status(&self) -> u16 {
        match self {
            AuthzenError::TooLarge => 413,
            _ => 400,
        }
    }
}

impl fmt::Display for AuthzenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthzenError::EmptyBody => write!(f, "the request body is empty"),
            AuthzenError::TooLarge => write!(
                f,
                "the request body is larger than {} bytes",
                super::MAX_BODY_BYTES
            ),
            AuthzenError::InvalidJson(e) => write!(f, "the request body is not accepted: {e}"),
            AuthzenError::Missing(at) => write!(f, "`{at}` is required"),
            AuthzenError::Invalid { at, expected } => write!(f, "`{at}` must be {expected}"),
            AuthzenError::TooManyEvaluations => write!(
                f,
                "a batch holds at most {} evaluations",
                super::MAX_EVALUATIONS
            ),
            AuthzenError::InvalidPageToken => write!(
                f,
                "the page token is not one this API issued for the current policy"
            ),
        }
    }
}

impl std::error::Error for AuthzenError {}
