//! Deciding: an [`Authorizer`] holds one verified, indexed bundle and answers every question
//! asked of it — one decision, a batch, the effective permissions of a member, delegation,
//! the trace of a decision.

mod authorizer;
mod engine;

pub use authorizer::{
    Authorizer, BatchTooLarge, DelegationAction, EffectivePermissions, Explanation, HeldRole,
    Provenance, Restriction, MAX_BATCH,
};
pub use engine::{
    selector_matches, Context, Decision, EnvRef, Reason, Request, Resolved, Resource, TokenFacts,
    TraceStep,
};
