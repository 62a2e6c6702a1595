//! Details: stable codes that refine a decision's reason.

use serde::{Serialize, Serializer};

use crate::token::TokenError;

/// A stable code refining a decision's reason: why a token is invalid or revoked, why no
/// grant applies, why a delegation is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Detail {
    /// `invalid_token`: the token's error (its code: `token_expired`, `token_bad_signature`, …).
    Token(TokenError),
    /// `revoked`: the token id is revoked.
    TokenRevoked,
    /// `revoked`: the subject's tokens issued before a cut-off are revoked.
    SubjectRevoked,
    /// `revoked`: the member is disabled.
    MemberDisabled,
    /// `no_matching_grant`: the action is no declared permission.
    UndeclaredPermission,
    /// `no_matching_grant`: a grant exists but the org role's environment ceiling caps it.
    AboveEnvCeiling,
    /// Delegation: the role does not exist.
    UnknownRole,
    /// Delegation: the actor may not assign or remove this role.
    RoleNotAssignable,
    /// Delegation: an environment role needs an environment.
    EnvRoleNeedsEnv,
    /// Delegation: the target holds a role the actor may not manage.
    TargetHoldsUnassignableRole,
}

impl Detail {
    /// Every detail that is not a token error.
    pub const DECISION: [Detail; 9] = [
        Detail::TokenRevoked,
        Detail::SubjectRevoked,
        Detail::MemberDisabled,
        Detail::UndeclaredPermission,
        Detail::AboveEnvCeiling,
        Detail::UnknownRole,
        Detail::RoleNotAssignable,
        Detail::EnvRoleNeedsEnv,
        Detail::TargetHoldsUnassignableRole,
    ];

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Detail::Token(e) => e.code(),
            Detail::TokenRevoked => "token_revoked",
            Detail::SubjectRevoked => "subject_revoked",
            Detail::MemberDisabled => "member_disabled",
            Detail::UndeclaredPermission => "undeclared_permission",
            Detail::AboveEnvCeiling => "above_env_ceiling",
            Detail::UnknownRole => "unknown_role",
            Detail::RoleNotAssignable => "role_not_assignable",
            Detail::EnvRoleNeedsEnv => "env_role_needs_env",
            Detail::TargetHoldsUnassignableRole => "target_holds_unassignable_role",
        }
    }

    /// Every code a decision's detail can have: the token errors' codes, then the others.
    pub fn codes() -> impl Iterator<Item = &'static str> {
        TokenError::CODES
            .iter()
            .copied()
            .chain(Detail::DECISION.iter().map(Detail::code))
    }
}

impl std::fmt::Display for Detail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Detail {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}
