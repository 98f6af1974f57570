//! The account rules of the ledger, in one home. The registry keeps the ledger and applies them;
//! a service that proposes a change (the filing service, and later vendors and inspection)
//! checks a proposal against exactly the same rules before it travels, so a proposal that
//! passes every step is never refused for a rule that was written twice and differently.
//!
//! | module | rule |
//! |---|---|
//! | [`fields`] | R-01: which fields an account has, which a change may touch, their limits |
//! | [`status`] | R-02: the lifecycle, which change each status allows, the refusal |
//! | [`opening`] | R-03: one account per platform, unless justified and the others healthy |
//!
//! [`status`] and [`opening`] are plain values; [`fields`] reads the contract's `Account`,
//! because a proposal is a message until it is accepted.

#![forbid(unsafe_code)]

pub mod fields;
pub mod opening;
pub mod status;
