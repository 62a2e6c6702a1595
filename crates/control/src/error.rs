//! The control plane's errors: each has a stable code and an HTTP status.

use portcullis::Decision;
use serde_json::{json, Value};

/// Why a call was not carried out. Nothing was written when one of these is returned, except
/// for [`ControlError::Unpublished`], whose change is committed.
#[derive(Clone, Debug, PartialEq)]
pub enum ControlError {
    /// No bearer token, or one that does not verify against the organization's issuers.
    InvalidToken(String),
    /// The token verified but is not an OrgAuth token.
    OrgAuthRequired,
    /// Portcullis refused the call: the decision says why.
    Denied(Box<Decision>, String),
    /// No such organization, user or path.
    NotFound {
        /// `unknown_org`, `unknown_user` or `not_found`.
        code: &'static str,
        /// What was looked for.
        message: String,
    },
    /// The path exists, the method does not.
    MethodNotAllowed,
    /// The request has no body where one is needed.
    EmptyBody,
    /// The body exceeds the limit.
    BodyTooLarge(usize),
    /// The body is not JSON.
    InvalidJson(String),
    /// A required member is missing.
    MissingField(String),
    /// A member has the wrong type or an invalid value.
    InvalidField {
        /// Where, such as `accessLevel`.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A member the call does not know.
    UnknownField(String),
    /// The role named does not exist at that scope.
    UnknownRole(String),
    /// The user exists already.
    UserExists(String),
    /// A group, service, rule or override of that id exists already.
    AlreadyExists(String),
    /// The change would make a policy that does not compile.
    PolicyInvalid {
        /// The compiler's code.
        code: &'static str,
        /// Its message.
        message: String,
    },
    /// The change would take the admin permission from the actor making it.
    WouldLockOut,
    /// Other changes kept committing first; the call may be retried.
    Conflict,
    /// D1 failed or holds rows this version cannot read.
    Storage(String),
    /// The Worker's configuration is missing or invalid (signing key, bindings).
    Misconfigured(String),
}

impl ControlError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ControlError::InvalidToken(_) => "invalid_token",
            ControlError::OrgAuthRequired => "orgauth_required",
            ControlError::Denied(d, _) => d.reason.as_str(),
            ControlError::NotFound { code, .. } => code,
            ControlError::MethodNotAllowed => "method_not_allowed",
            ControlError::EmptyBody => "empty_body",
            ControlError::BodyTooLarge(_) => "body_too_large",
            ControlError::InvalidJson(_) => "invalid_json",
            ControlError::MissingField(_) => "missing_field",
            ControlError::InvalidField { .. } => "invalid_field",
            ControlError::UnknownField(_) => "unknown_field",
            ControlError::UnknownRole(_) => "unknown_role",
            ControlError::UserExists(_) => "user_exists",
            ControlError::AlreadyExists(_) => "already_exists",
            ControlError::PolicyInvalid { code, .. } => code,
            ControlError::WouldLockOut => "would_lock_out",
            ControlError::Conflict => "conflict",
            ControlError::Storage(_) => "storage_error",
            ControlError::Misconfigured(_) => "misconfigured",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            ControlError::InvalidToken(_) => 401,
            ControlError::OrgAuthRequired | ControlError::Denied(..) => 403,
            ControlError::NotFound { .. } => 404,
            ControlError::MethodNotAllowed => 405,
            ControlError::UserExists(_)
            | ControlError::AlreadyExists(_)
            | ControlError::WouldLockOut
            | ControlError::Conflict => 409,
            ControlError::BodyTooLarge(_) => 413,
            ControlError::Storage(_) | ControlError::Misconfigured(_) => 500,
            _ => 400,
        }
    }

    /// A sentence for people.
    pub fn message(&self) -> String {
        match self {
            ControlError::InvalidToken(why) => {
                format!("a valid OrgAuth bearer token is required: {why}")
            }
            ControlError::OrgAuthRequired => "the management API takes OrgAuth tokens only".into(),
            ControlError::Denied(_, why) => why.clone(),
            ControlError::NotFound { message, .. } => message.clone(),
            ControlError::MethodNotAllowed => "this path does not take that method".into(),
            ControlError::EmptyBody => "the request needs a JSON body".into(),
            ControlError::BodyTooLarge(limit) => format!("the body exceeds {limit} bytes"),
            ControlError::InvalidJson(why) => format!("the body is not valid JSON: {why}"),
            ControlError::MissingField(f) => format!("`{f}` is required"),
            ControlError::InvalidField { path, message } => format!("`{path}`: {message}"),
            ControlError::UnknownField(f) => format!("unknown member `{f}`"),
            ControlError::UnknownRole(r) => format!("no role `{r}` at that scope"),
            ControlError::UserExists(u) => format!("user `{u}` exists already"),
            ControlError::AlreadyExists(what) => format!("{what} exists already"),
            ControlError::PolicyInvalid { message, .. } => message.clone(),
            ControlError::WouldLockOut => {
                "the change would take the admin permission from the actor making it".into()
            }
            ControlError::Conflict => {
                "other changes to this organization kept committing first; try again".into()
            }
            ControlError::Storage(why) => format!("storage failed: {why}"),
            ControlError::Misconfigured(why) => {
                format!("the control plane is misconfigured: {why}")
            }
        }
    }

    /// The JSON body: `{"error": {"code", "message", …}}`, with the decision's reason, rule
    /// and detail for a refusal.
    pub fn body(&self) -> Value {
        let mut error = json!({ "code": self.code(), "message": self.message() });
        if let (ControlError::Denied(d, _), Some(map)) = (self, error.as_object_mut()) {
            map.insert("reason".into(), json!(d.reason.as_str()));
            if let Some(rule) = &d.rule {
                map.insert("rule".into(), json!(rule.as_ref()));
            }
            if let Some(detail) = d.detail {
                map.insert("detail".into(), json!(detail.code()));
            }
            map.insert("bundleVersion".into(), json!(d.bundle_version));
        }
        json!({ "error": error })
    }
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for ControlError {}
