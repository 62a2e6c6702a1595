//! Deciding: an [`Authorizer`] holds one verified, indexed bundle and answers every question
//! asked of it — one decision, a batch, the effective permissions of a member, delegation,
//! the trace of a decision.

mod authorizer;
mod detail;
mod engine;

pub use detail::Detail;

pub use authorizer::{
    Authorizer, BatchTooLarge, EffectivePermissions, Explanation, HeldRole, Provenance,
    Restriction, MAX_BATCH,
};
pub use engine::{
    Context, Decision, EnvRef, Reason, Request, Resolved, Resource, TokenFacts, TraceStep,
};
