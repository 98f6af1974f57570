//! The gateway's rules, in plain Rust: deadlines, the GCRA rate limit and API-key formats.

pub mod apikey;
pub mod deadline;
pub mod gcra;
