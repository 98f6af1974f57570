//! The append-only audit trail. Every state change writes its entries in the same
//! transaction as the change. Entries form hash chains: each `hash` covers the entry and the
//! previous entry's hash in its chain, so rewriting or deleting an entry breaks [`verify`] from
//! that point on.
//!
//! A service's trail is `database.audit_chains` chains (16 by default); an entry goes to the
//! chain its resource hashes to ([`chain_of`]), so the history of one resource is one ordered
//! run of one chain. Appends to one chain are serialized so that it cannot fork: on PostgreSQL
//! by a transaction-scoped advisory lock per (schema, chain), on SQLite by the single-writer
//! guard of [`crate::db::Db::begin_write`]. Writes about resources of different chains do not
//! wait for each other, where a single chain made every write of a service wait for the one
//! before it to commit. A unit of work appends all its entries at commit, taking the chain
//! locks in ascending order, so two writes never wait for each other's chains (no deadlock),
//! and holds them only for the end of the transaction.
//!
//! `seq` numbers every entry of the trail in the order of appending (the order of listings);
//! on PostgreSQL it comes from a sequence and may skip numbers that rolled-back writes drew.
//! `chain_seq` numbers the entries of one chain from 1 without gaps, and it is what the hash
//! covers. A trail written before there were chains is chain 0 with `chain_seq` = `seq`: its
//! hashes are unchanged.
//!
//! The chains prove that nothing was rewritten or removed *before* the latest entry of each;
//! to also notice entries cut off at the end, keep the chains' [`heads`] somewhere else (a
//! report, a ledger).

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
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
        pub chain: i32,
        pub chain_seq: i64,
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
    /// Position in the trail, in the order of appending (see the module docs).
    pub seq: i64,
    /// The chain it belongs to ([`chain_of`] its resource).
    pub chain: i32,
    /// Position in its chain, from 1, without gaps.
    pub chain_seq: i64,
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
            chain: row.chain,
            chain_seq: row.chain_seq,
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

/// The most chains a trail may have (`database.audit_chains`).
pub const MAX_CHAINS: u16 = 256;

/// The chain of `resource` when the trail has `chains` chains: a stable hash of its name, so the
/// entries about one resource stay in one chain for as long as the number does not change.
pub fn chain_of(resource: &str, chains: u16) -> i32 {
    let digest = Sha256::digest(resource.as_bytes());
    let head = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    (head % u32::from(chains.max(1))) as i32
}

/// The hash of an entry. It covers the position in the chain, not `seq` nor the chain number:
/// an entry moved to another chain or position no longer links to its neighbours there.
fn chain_hash(record: &AuditRecord) -> String {
    let mut hasher = Sha256::new();
    for part in [
        record.chain_seq.to_string().as_str(),
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

/// Appends `entries` recorded at `now` inside the caller's transaction, to the chains their
/// resources hash to among `chains`, taking the chains in ascending order (see the module
/// docs). The lock of a chain is held until the transaction ends.
pub async fn append(
    txn: &impl ConnectionTrait,
    chains: u16,
    principal: &Principal,
    request_id: &str,
    entries: Vec<AuditEntry>,
    now: DateTime<Utc>,
) -> Result<Vec<AuditRecord>, DbErr> {
    let mut entries: Vec<(i32, AuditEntry)> = entries
        .into_iter()
        .map(|entry| (chain_of(&entry.resource, chains), entry))
        .collect();
    // Stable: the entries of one chain keep the order the change wrote them in.
    entries.sort_by_key(|(chain, _)| *chain);
    let postgres = txn.get_database_backend() == DbBackend::Postgres;
    let mut seqs = next_seqs(txn, entries.len()).await?.into_iter();
    let mut locked = None;
    let mut last: Option<(i64, String)> = None;
    let mut records = Vec::with_capacity(entries.len());
    for (chain, entry) in entries {
        if locked != Some(chain) {
            if postgres {
                txn.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':audit'), $1)",
                    [chain.into()],
                ))
                .await?;
            }
            last = entity::Entity::find()
                .filter(entity::Column::Chain.eq(chain))
                .order_by_desc(entity::Column::ChainSeq)
                .one(txn)
                .await?
                .map(|row| (row.chain_seq, row.hash));
            locked = Some(chain);
        }
        let (previous_seq, previous_hash) = last.take().unwrap_or_default();
        let seq = seqs
            .next()
            .ok_or_else(|| DbErr::RecordNotFound("an audit sequence number".to_owned()))?;
        let mut record = AuditRecord {
            seq,
            chain,
            chain_seq: previous_seq + 1,
            recorded_at: now,
            actor: principal.subject.clone(),
            actor_organization: principal.organization.clone(),
            action: entry.action,
            resource: entry.resource,
            scope: entry.scope,
            request_id: request_id.to_owned(),
            details: entry.details.to_string(),
            previous_hash,
            hash: String::new(),
        };
        record.hash = chain_hash(&record);
        last = Some((record.chain_seq, record.hash.clone()));
        records.push(record);
    }
    // Every chain is locked by now: the rows go in a few hundred to a statement.
    for rows in records.chunks(ROWS_PER_INSERT) {
        entity::Entity::insert_many(rows.iter().map(|record| entity::ActiveModel {
            seq: Set(record.seq),
            chain: Set(record.chain),
            chain_seq: Set(record.chain_seq),
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
        }))
        .exec_without_returning(txn)
        .await?;
    }
    Ok(records)
}

/// Rows written by one statement: well inside the bind-parameter limits of both backends.
const ROWS_PER_INSERT: usize = 500;

/// The next `n` values of `seq`, ascending: from the trail's sequence on PostgreSQL (appends to
/// different chains run concurrently), past the largest on SQLite (its writers take turns).
async fn next_seqs(txn: &impl ConnectionTrait, n: usize) -> Result<Vec<i64>, DbErr> {
    let backend = txn.get_database_backend();
    let count = i64::try_from(n).unwrap_or(i64::MAX);
    match backend {
        DbBackend::Postgres => {
            let rows = txn
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    "SELECT nextval('audit_log_seq') AS seq FROM generate_series(1, $1)",
                    [count.into()],
                ))
                .await?;
            let mut seqs = rows
                .iter()
                .map(|row| row.try_get::<i64>("", "seq"))
                .collect::<Result<Vec<_>, _>>()?;
            seqs.sort_unstable();
            Ok(seqs)
        }
        _ => {
            let row = txn
                .query_one_raw(Statement::from_string(
                    backend,
                    "SELECT COALESCE(MAX(seq), 0) AS seq FROM audit_log",
                ))
                .await?
                .ok_or_else(|| {
                    DbErr::RecordNotFound("the largest audit sequence number".to_owned())
                })?;
            let largest: i64 = row.try_get("", "seq")?;
            Ok((1..=count).map(|k| largest + k).collect())
        }
    }
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

/// Where a chain breaks.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The entry with this `seq` does not match its hash, or does not point to its predecessor
    /// in its chain.
    #[error("the audit trail is broken at entry {0}")]
    Broken(i64),
    /// Entries of a chain are missing before the entry with this `seq` (deleted).
    #[error("the audit trail misses entries before entry {0}")]
    Gap(i64),
    /// The trail could not be read.
    #[error("cannot read the audit trail: {0}")]
    Read(String),
}

/// The latest entry of one chain: what to keep elsewhere to notice entries cut off at the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    /// The chain.
    pub chain: i32,
    /// Its number of entries (the latest `chain_seq`).
    pub length: i64,
    /// The latest entry's hash.
    pub hash: String,
}

/// Recomputes every chain; returns the number of entries when all are intact.
pub async fn verify(conn: &impl ConnectionTrait) -> Result<u64, ChainError> {
    let read = |error: DbErr| ChainError::Read(error.to_string());
    let mut count = 0;
    let mut previous: Option<(i32, i64, String)> = None;
    loop {
        // Keyset paging over (chain, chain_seq), the trail's unique index.
        let mut query = entity::Entity::find()
            .order_by_asc(entity::Column::Chain)
            .order_by_asc(entity::Column::ChainSeq)
            .limit(500);
        if let Some((chain, chain_seq, _)) = &previous {
            query = query.filter(
                Condition::any().add(entity::Column::Chain.gt(*chain)).add(
                    Condition::all()
                        .add(entity::Column::Chain.eq(*chain))
                        .add(entity::Column::ChainSeq.gt(*chain_seq)),
                ),
            );
        }
        let rows = query.all(conn).await.map_err(read)?;
        if rows.is_empty() {
            return Ok(count);
        }
        for row in rows {
            let record = AuditRecord::from(row);
            let (expected_seq, previous_hash) = match previous.take() {
                Some((chain, chain_seq, hash)) if chain == record.chain => (chain_seq + 1, hash),
                _ => (1, String::new()),
            };
            if record.chain_seq != expected_seq {
                return Err(ChainError::Gap(record.seq));
            }
            if record.previous_hash != previous_hash || chain_hash(&record) != record.hash {
                return Err(ChainError::Broken(record.seq));
            }
            previous = Some((record.chain, record.chain_seq, record.hash));
            count += 1;
        }
    }
}

/// The latest entry of every chain that has one, by chain.
pub async fn heads(conn: &impl ConnectionTrait) -> Result<Vec<ChainHead>, DbErr> {
    let mut heads = Vec::new();
    let mut after = -1;
    // One indexed look-up per chain: the chain after `after`, then its last entry.
    while let Some(first) = entity::Entity::find()
        .filter(entity::Column::Chain.gt(after))
        .order_by_asc(entity::Column::Chain)
        .one(conn)
        .await?
    {
        let last = entity::Entity::find()
            .filter(entity::Column::Chain.eq(first.chain))
            .order_by_desc(entity::Column::ChainSeq)
            .one(conn)
            .await?
            .unwrap_or(first);
        after = last.chain;
        heads.push(ChainHead {
            chain: last.chain,
            length: last.chain_seq,
            hash: last.hash,
        });
    }
    Ok(heads)
}
