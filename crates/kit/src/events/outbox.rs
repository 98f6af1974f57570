//! The transactional outbox and its relay.

use std::{sync::Arc, time::Duration};

use prost::{Message, Name};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::Expr,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{BusError, EventBus, EventEnvelope};
use chrono::{DateTime, Utc};

use crate::{
    clock::{self, Clock},
    config::EventSettings,
    db::Db,
    lease::Leases,
    telemetry,
};

pub(crate) mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox_events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub event_id: String,
        pub stream: String,
        pub event_type: String,
        pub subject: String,
        pub payload: Vec<u8>,
        pub traceparent: String,
        pub created_at: DateTimeUtc,
        pub published_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Wakes the relay after a commit, so events leave within milliseconds instead of at the next
/// poll. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct OutboxSignal(Arc<Notify>);

impl OutboxSignal {
    /// Tells the relay that new events are committed.
    pub fn notify(&self) {
        self.0.notify_one();
    }
}

/// Writes an event that happened at `now` into the outbox inside the caller's transaction.
/// `stream` names the publishing service (e.g. `registry`); `subject` the resource the event is
/// about.
pub async fn enqueue<M: Message + Name>(
    txn: &impl ConnectionTrait,
    stream: &str,
    subject: &str,
    payload: &M,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    let event = Pending::new(stream, subject, payload, now);
    let event_id = event.id().to_owned();
    insert(txn, vec![event]).await?;
    Ok(event_id)
}

/// An event not yet written: what [`enqueue`] writes, for a change that writes its events
/// together with [`insert`] (the unit of work, at commit).
#[derive(Debug)]
pub struct Pending(entity::ActiveModel);

impl Pending {
    /// The event about `subject` that happened at `now`, for `stream`.
    pub fn new<M: Message + Name>(
        stream: &str,
        subject: &str,
        payload: &M,
        now: DateTime<Utc>,
    ) -> Self {
        Pending(entity::ActiveModel {
            seq: sea_orm::NotSet,
            event_id: Set(uuid::Uuid::now_v7().to_string()),
            stream: Set(stream.to_owned()),
            event_type: Set(M::full_name()),
            subject: Set(subject.to_owned()),
            payload: Set(payload.encode_to_vec()),
            traceparent: Set(telemetry::current_traceparent().unwrap_or_default()),
            created_at: Set(now),
            published_at: Set(None),
        })
    }

    /// Its id.
    pub fn id(&self) -> &str {
        match &self.0.event_id {
            sea_orm::ActiveValue::Set(id) | sea_orm::ActiveValue::Unchanged(id) => id,
            sea_orm::ActiveValue::NotSet => "",
        }
    }
}

/// Rows written by one statement: well inside the bind-parameter limits of both backends.
const ROWS_PER_INSERT: usize = 500;

/// Writes `events` into the outbox inside the caller's transaction, in order, a few hundred to
/// a statement (a change that publishes many events pays a few round trips, not one each).
pub async fn insert(txn: &impl ConnectionTrait, events: Vec<Pending>) -> Result<(), DbErr> {
    let mut events = events.into_iter().map(|event| event.0).peekable();
    while events.peek().is_some() {
        let rows: Vec<entity::ActiveModel> = events.by_ref().take(ROWS_PER_INSERT).collect();
        entity::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

fn envelope(row: &entity::Model) -> EventEnvelope {
    EventEnvelope {
        id: row.event_id.clone(),
        r#type: row.event_type.clone(),
        subject: row.subject.clone(),
        time: Some(clock::to_proto(row.created_at)),
        payload: row.payload.clone(),
        traceparent: row.traceparent.clone(),
    }
}

/// Why a relay round stopped.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The database failed.
    #[error("outbox database: {0}")]
    Db(#[from] DbErr),
    /// The bus refused an event; it stays in the outbox.
    #[error("event bus: {0}")]
    Bus(#[from] BusError),
}

/// Moves up to `batch` committed, unpublished events to the bus in commit order; returns how
/// many were published. No transaction is held while the bus is called: the rows are read,
/// published one by one, and those the bus took are marked in a short write afterwards. A crash
/// in between publishes them again, which consumers deduplicate. One relay per service works at
/// a time ([`spawn_relay`] holds a leader lease), so events of one resource reach the bus in the
/// order they committed.
pub async fn relay_once(
    db: &Db,
    bus: &EventBus,
    batch: u64,
    clock: &Clock,
) -> Result<usize, RelayError> {
    let rows = entity::Entity::find()
        .filter(entity::Column::PublishedAt.is_null())
        .order_by_asc(entity::Column::Seq)
        .limit(batch)
        .all(db.conn())
        .await?;
    let mut published = Vec::with_capacity(rows.len());
    let mut failure = None;
    for row in &rows {
        match bus.publish(&row.stream, &envelope(row)).await {
            Ok(()) => published.push(row.seq),
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    if !published.is_empty() {
        let txn = db.begin_write().await?;
        entity::Entity::update_many()
            .col_expr(entity::Column::PublishedAt, Expr::value(clock.now()))
            .filter(entity::Column::Seq.is_in(published.clone()))
            .exec(&*txn)
            .await?;
        txn.commit().await?;
    }
    match failure {
        Some(error) => Err(error.into()),
        None => Ok(published.len()),
    }
}

/// Forgets events published before `before` (relayed long ago; consumers that were away longer
/// than the retention read them from the bus, not from here); returns how many.
pub async fn prune(db: &Db, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let txn = db.begin_write().await?;
    let pruned = entity::Entity::delete_many()
        .filter(entity::Column::PublishedAt.lt(before))
        .exec(&*txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    Ok(pruned)
}

/// Number of committed events not yet on the bus.
pub async fn backlog(db: &Db) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    entity::Entity::find()
        .filter(entity::Column::PublishedAt.is_null())
        .count(db.conn())
        .await
}

/// Runs the relay until `cancel` on whichever replica of the service holds its relay lease
/// (`leases`, as `owner`): after every signal, and every `relay_interval_ms` in any case.
/// Failures back off up to 30 s and never lose an event.
pub fn spawn_relay(
    db: Db,
    bus: EventBus,
    settings: EventSettings,
    clock: Clock,
    signal: OutboxSignal,
    lease: (Leases, String, String),
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let (leases, name, owner) = lease;
    tokio::spawn(async move {
        crate::lease::lead(
            leases,
            &name,
            &owner,
            crate::lease::TTL,
            cancel,
            |_, lost| {
                relay_while(
                    db.clone(),
                    bus.clone(),
                    settings.clone(),
                    clock.clone(),
                    signal.clone(),
                    lost,
                )
            },
        )
        .await;
    })
}

async fn relay_while(
    db: Db,
    bus: EventBus,
    settings: EventSettings,
    clock: Clock,
    signal: OutboxSignal,
    cancel: CancellationToken,
) {
    let interval = Duration::from_millis(settings.relay_interval_ms.max(10));
    let batch = settings.relay_batch.max(1);
    let mut backoff = Duration::ZERO;
    loop {
        loop {
            match relay_once(&db, &bus, batch, &clock).await {
                Ok(count) => {
                    backoff = Duration::ZERO;
                    if (count as u64) < batch {
                        break;
                    }
                }
                Err(error) => {
                    backoff =
                        (backoff * 2).clamp(Duration::from_millis(200), Duration::from_secs(30));
                    tracing::warn!(%error, retry_in = ?backoff, "outbox relay failed; events stay in the outbox");
                    break;
                }
            }
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = signal.0.notified() => {}
            () = tokio::time::sleep(interval + backoff) => {}
        }
    }
    // One last round so that events committed just before shutdown leave if they can.
    if let Err(error) = relay_once(&db, &bus, batch, &clock).await {
        tracing::warn!(%error, "final outbox relay failed; events stay in the outbox");
    }
}
