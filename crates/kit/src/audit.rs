//! The append-only audit trail. Every state change writes one entry in the same
//! transaction as the change. Entries form a hash chain: each `hash` covers the entry and the
//! previous entry's hash, so rewriting or deleting an entry breaks [`verify`] from that point on.
//!
//! Appends are serialized so that the chain cannot fork: on PostgreSQL by a transaction-scoped
//! advisory lock keyed on the schema (each service has its own chain and its own lock), on
//! SQLite by the single-writer guard of [`crate::db::Db::begin_write`].
//!
//! The chain proves that nothing was rewritten or removed *before* the latest entry; to also
//! notice entries cut off at the end, keep the latest hash somewhere else (a report, a ledger).

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement,
};
use sha2::{Digest, Sha256};

use crate::{auth::Principal, idempotency::hex};

pub(crate) mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub recorded_at: DateTimeUtc,
        pub actor: String,
        pub actor_organization: String,
        pub action: String,
        pub resource: String,
        pub scope: String,
        pub request_id: String,
        pub details: String,
        pub previous_hash: String,
        pub hash: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// What a change writes to the trail.
#[derive(Clone, Debug)]
pub struct AuditEntry {
    /// The RPC, e.g. `CreateAccount`.
    pub action: String,
    /// The changed resource, e.g. `accounts/x`.
    pub resource: String,
    /// A service-defined scope string used to filter by jurisdiction (the registry stores the
    /// organization path, e.g. `/qinghai/haixi/golmud/`).
    pub scope: String,
    /// What changed.
    pub details: serde_json::Value,
}

/// One stored entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// Commit time.
    pub recorded_at: DateTime<Utc>,
    /// The caller's subject.
    pub actor: String,
    /// The caller's organization id.
    pub actor_organization: String,
    /// The RPC.
    pub action: String,
    /// The resource.
    pub resource: String,
    /// The scope (see [`AuditEntry::scope`]).
    pub scope: String,
    /// The request's idempotency key, possibly empty.
    pub request_id: String,
    /// JSON details.
    pub details: String,
    /// Hash of the previous entry.
    pub previous_hash: String,
    /// Hash of this entry.
    pub hash: String,
}

impl From<entity::Model> for AuditRecord {
    fn from(row: entity::Model) -> Self {
        Self {
            seq: row.seq,
            recorded_at: row.recorded_at,
            actor: row.actor,
            actor_organization: row.actor_organization,
            action: row.action,
            resource: row.resource,
            scope: row.scope,
            request_id: row.request_id,
            details: row.details,
            previous_hash: row.previous_hash,
            hash: row.hash,
        }
    }
}

fn chain_hash(record: &AuditRecord) -> String {
    let mut hasher = Sha256::new();
    for part in [
        record.seq.to_string().as_str(),
        &record
            .recorded_at
            .to_rfc3339_opts(SecondsFormat::Micros, true),
        &record.actor,
        &record.actor_organization,
        &record.action,
        &record.resource,
        &record.scope,
        &record.request_id,
        &record.details,
        &record.previous_hash,
    ] {
        hasher.update(part.len().to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex(&hasher.finalize())
}

/// Appends an entry recorded at `now` inside the caller's transaction.
pub async fn append(
    txn: &impl ConnectionTrait,
    principal: &Principal,
    request_id: &str,
    entry: AuditEntry,
    now: DateTime<Utc>,
) -> Result<AuditRecord, DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':audit'))",
        ))
        .await?;
    }
    let last = entity::Entity::find()
        .order_by_desc(entity::Column::Seq)
        .one(txn)
        .await?;
    let mut record = AuditRecord {
        seq: last.as_ref().map_or(1, |row| row.seq + 1),
        recorded_at: now,
        actor: principal.subject.clone(),
        actor_organization: principal.organization.clone(),
        action: entry.action,
        resource: entry.resource,
        scope: entry.scope,
        request_id: request_id.to_owned(),
        details: entry.details.to_string(),
        previous_hash: last.map(|row| row.hash).unwrap_or_default(),
        hash: String::new(),
    };
    record.hash = chain_hash(&record);
    entity::Entity::insert(entity::ActiveModel {
        seq: Set(record.seq),
        recorded_at: Set(record.recorded_at),
        actor: Set(record.actor.clone()),
        actor_organization: Set(record.actor_organization.clone()),
        action: Set(record.action.clone()),
        resource: Set(record.resource.clone()),
        scope: Set(record.scope.clone()),
        request_id: Set(record.request_id.clone()),
        details: Set(record.details.clone()),
        previous_hash: Set(record.previous_hash.clone()),
        hash: Set(record.hash.clone()),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(record)
}

/// Entries whose scope starts with `scope_prefix`, optionally about one resource, newest first,
/// starting below `before_seq`.
pub async fn list(
    conn: &impl ConnectionTrait,
    scope_prefix: &str,
    resource: Option<&str>,
    before_seq: Option<i64>,
    limit: u64,
) -> Result<Vec<AuditRecord>, DbErr> {
    let mut query = entity::Entity::find()
        .filter(crate::store::starts_with(
            entity::Column::Scope,
            scope_prefix,
        ))
        .order_by_desc(entity::Column::Seq)
        .limit(limit);
    if let Some(resource) = resource {
        query = query.filter(entity::Column::Resource.eq(resource));
    }
    if let Some(before) = before_seq {
        query = query.filter(entity::Column::Seq.lt(before));
    }
    Ok(query
        .all(conn)
        .await?
        .into_iter()
        .map(AuditRecord::from)
        .collect())
}

/// Where the chain breaks.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// An entry's hash does not match its content, or it does not point to its predecessor.
    #[error("the audit chain is broken at entry {0}")]
    Broken(i64),
    /// Sequence numbers skip (an entry was deleted).
    #[error("the audit chain misses entries before {0}")]
    Gap(i64),
    /// The trail could not be read.
    #[error("cannot read the audit trail: {0}")]
    Read(String),
}

/// Recomputes the whole chain; returns the number of entries when it is intact.
pub async fn verify(conn: &impl ConnectionTrait) -> Result<u64, ChainError> {
    let mut previous_hash = String::new();
    let mut expected_seq = 1;
    let mut after = 0;
    loop {
        let rows = entity::Entity::find()
            .filter(entity::Column::Seq.gt(after))
            .order_by_asc(entity::Column::Seq)
            .limit(500)
            .all(conn)
            .await
            .map_err(|error| ChainError::Read(error.to_string()))?;
        if rows.is_empty() {
            return Ok((expected_seq - 1) as u64);
        }
        for row in rows {
            let record = AuditRecord::from(row);
            if record.seq != expected_seq {
                return Err(ChainError::Gap(record.seq));
            }
            if record.previous_hash != previous_hash || chain_hash(&record) != record.hash {
                return Err(ChainError::Broken(record.seq));
            }
            previous_hash = record.hash;
            after = record.seq;
            expected_seq += 1;
        }
    }
}
