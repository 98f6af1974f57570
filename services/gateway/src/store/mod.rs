//! The gateway's tables: API keys (plus the kit's outbox, audit and idempotency tables).

pub mod api_keys;
pub mod entity;
pub mod migration;

pub use migration::Migrator;
