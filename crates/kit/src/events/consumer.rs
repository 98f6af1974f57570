//! Consuming a stream as a member of a consumer group, exactly once in effect.
//!
//! Each delivery runs through a unit of work of the consuming service (its effects, the events
//! it publishes and its audit entries commit together), which also records the event id as
//! processed, so a redelivered event is applied once. An event the handler cannot apply goes to
//! the consumer's *dead letters* (`dead_events`, in its own database) instead of blocking the
//! stream: at once when the handler says it never can (a payload it cannot read), after
//! `events.max_deliveries` failed attempts otherwise. Dead letters are listed
//! ([`dead_letters`], `govmedia events dead <service>`) and replayed ([`replay`], `govmedia
//! events replay`) through the same handler once the cause is mended.

use std::{future::Future, time::Duration};

use chrono::{DateTime, Utc};
use prost::Message;
use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, OnConflict},
};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{BusError, Delivery, EventBus, EventEnvelope, Subscriber};
use crate::{
    auth::Principal,
    config::EventSettings,
    db::Db,
    telemetry,
    unit::{Unit, Writer},
};

pub(crate) mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "processed_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub consumer_group: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        pub processed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod dead {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "dead_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub consumer_group: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        pub stream: String,
        pub event_type: String,
        pub subject: String,
        pub envelope: Vec<u8>,
        pub state: i32,
        pub attempts: i32,
        pub last_error: String,
        pub first_failed_at: DateTimeUtc,
        pub last_failed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Failed, and will be delivered again.
const FAILING: i32 = 1;
/// Given up: waits for an operator.
const DEAD: i32 = 2;
/// An operator asked for it to be handled again.
const REPLAY: i32 = 3;

/// Forgets processed-event ids older than `before`; returns how many.
pub async fn prune(db: &Db, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let txn = db.begin_write().await?;
    let pruned = entity::Entity::delete_many()
        .filter(entity::Column::ProcessedAt.lt(before))
        .exec(&*txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    Ok(pruned)
}

/// A handler could not apply an event.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct HandlerError {
    /// Why, for the log and the dead letter.
    pub message: String,
    /// It never will (e.g. the payload cannot be read): a dead letter at once.
    pub permanent: bool,
}

impl HandlerError {
    /// A failure that may pass (the database is busy): the event is delivered again.
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }

    /// A failure no retry mends: the event becomes a dead letter at once.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }
}

impl From<DbErr> for HandlerError {
    fn from(error: DbErr) -> Self {
        HandlerError::transient(error.to_string())
    }
}

impl From<crate::error::ApiError> for HandlerError {
    fn from(error: crate::error::ApiError) -> Self {
        HandlerError::transient(error.to_string())
    }
}

/// What a consumer does with an event, inside the consuming service's unit of work: its
/// effects, events and audit entries commit together with the record that the event was
/// processed, or not at all.
pub trait EventHandler: Send + Sync + 'static {
    /// Applies one event.
    fn handle(
        &self,
        unit: &mut Unit,
        event: &EventEnvelope,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// Which stream, group and consumer, and who the consumer acts as.
#[derive(Clone, Debug)]
pub struct ConsumerSpec {
    /// The publishing service's stream, e.g. `filing`.
    pub stream: String,
    /// The consuming service's group, e.g. `registry`.
    pub group: String,
    /// This replica's name within the group (unique per process).
    pub consumer: String,
    /// The name its units of work go by in the audit trail, e.g. `ProjectFilingOutcome`.
    pub method: &'static str,
    /// Who the consumer acts as: the consuming service's own identity.
    pub principal: Principal,
}

/// What happened to one delivery.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Applied now.
    Applied,
    /// Seen before; acknowledged without applying again.
    Duplicate,
    /// The handler failed; left pending for redelivery.
    Failed,
    /// The handler cannot apply it: kept as a dead letter and acknowledged.
    Dead,
}

/// Handles one event in a unit of work; `Ok(false)` when it was processed before.
async fn apply<H: EventHandler>(
    writer: &Writer,
    spec: &ConsumerSpec,
    handler: &H,
    event: &EventEnvelope,
) -> Result<bool, HandlerError> {
    let mut unit = writer
        .begin(spec.method, &spec.principal, "", event)
        .await?;
    let inserted = entity::Entity::insert(entity::ActiveModel {
        consumer_group: Set(spec.group.clone()),
        event_id: Set(event.id.clone()),
        processed_at: Set(unit.now()),
    })
    .on_conflict(
        OnConflict::columns([entity::Column::ConsumerGroup, entity::Column::EventId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(unit.txn())
    .await?;
    if inserted == 0 {
        return Ok(false);
    }
    handler.handle(&mut unit, event).await?;
    unit.commit(()).await?;
    Ok(true)
}

/// Records a failure of `event`; returns true when it is now a dead letter.
async fn record_failure(
    writer: &Writer,
    spec: &ConsumerSpec,
    event: &EventEnvelope,
    error: &HandlerError,
    max_deliveries: u32,
) -> Result<bool, DbErr> {
    let db = writer.db();
    let now = writer.clock().now();
    let txn = db.begin_write().await?;
    let existing = dead::Entity::find_by_id((spec.group.clone(), event.id.clone()))
        .one(&*txn)
        .await?;
    let attempts = existing.as_ref().map_or(0, |row| row.attempts) + 1;
    let state = if error.permanent
        || u32::try_from(attempts).unwrap_or(u32::MAX) >= max_deliveries.max(1)
        || existing.as_ref().is_some_and(|row| row.state == REPLAY)
    {
        DEAD
    } else {
        FAILING
    };
    let row = dead::ActiveModel {
        consumer_group: Set(spec.group.clone()),
        event_id: Set(event.id.clone()),
        stream: Set(spec.stream.clone()),
        event_type: Set(event.r#type.clone()),
        subject: Set(event.subject.clone()),
        envelope: Set(event.encode_to_vec()),
        state: Set(state),
        attempts: Set(attempts),
        last_error: Set(error.message.clone()),
        first_failed_at: Set(existing.as_ref().map_or(now, |row| row.first_failed_at)),
        last_failed_at: Set(now),
    };
    if existing.is_some() {
        dead::Entity::update(row).exec(&*txn).await?;
    } else {
        dead::Entity::insert(row)
            .exec_without_returning(&*txn)
            .await?;
    }
    txn.commit().await?;
    Ok(state == DEAD)
}

/// Forgets the failures of an event that was applied in the end.
async fn forget_failures(
    writer: &Writer,
    spec: &ConsumerSpec,
    event_id: &str,
) -> Result<(), DbErr> {
    let txn = writer.db().begin_write().await?;
    dead::Entity::delete_many()
        .filter(dead::Column::ConsumerGroup.eq(spec.group.as_str()))
        .filter(dead::Column::EventId.eq(event_id))
        .exec(&*txn)
        .await?;
    txn.commit().await
}

/// Processes one delivery: dedupe, handle in a unit of work, acknowledge; a failure is retried
/// by redelivery until it is a dead letter (then acknowledged).
pub async fn process<H: EventHandler>(
    writer: &Writer,
    subscriber: &mut Subscriber,
    spec: &ConsumerSpec,
    settings: &EventSettings,
    handler: &H,
    delivery: &Delivery,
) -> Result<Outcome, BusError> {
    let event = &delivery.envelope;
    let span = tracing::info_span!(
        "event.consume",
        otel.kind = "consumer",
        event.id = %event.id,
        event.type = %event.r#type,
        stream = %spec.stream,
        group = %spec.group,
    );
    telemetry::set_parent_from_traceparent(&span, &event.traceparent);
    let outcome = async {
        match apply(writer, spec, handler, event).await {
            Ok(true) => {
                if let Err(error) = forget_failures(writer, spec, &event.id).await {
                    tracing::warn!(%error, "cannot clear an event's earlier failures");
                }
                Outcome::Applied
            }
            Ok(false) => Outcome::Duplicate,
            Err(error) => {
                match record_failure(writer, spec, event, &error, settings.max_deliveries).await {
                    Ok(true) => {
                        tracing::error!(%error, "event handler gave up; the event is a dead letter");
                        Outcome::Dead
                    }
                    Ok(false) => {
                        tracing::warn!(%error, "event handler failed; the event will be delivered again");
                        Outcome::Failed
                    }
                    Err(db) => {
                        tracing::warn!(%error, record = %db, "event handler failed; the event will be delivered again");
                        Outcome::Failed
                    }
                }
            }
        }
    }
    .instrument(span.clone())
    .await;
    // One line per delivery at debug level: which replica applied which event, and which
    // recognised a redelivered one as done (the replica proof counts these).
    span.in_scope(|| tracing::debug!(outcome = ?outcome, "event handled"));
    if outcome != Outcome::Failed {
        subscriber
            .ack(&spec.stream, &spec.group, &delivery.entry_id)
            .await?;
    }
    Ok(outcome)
}

/// A dead letter, as an operator sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    /// The consuming group.
    pub group: String,
    /// The event.
    pub event_id: String,
    /// Where it came from.
    pub stream: String,
    /// Its payload type.
    pub event_type: String,
    /// What it is about.
    pub subject: String,
    /// Failed attempts.
    pub attempts: i32,
    /// The last failure.
    pub last_error: String,
    /// When it last failed.
    pub last_failed_at: DateTime<Utc>,
    /// An operator asked for it to be handled again and it has not been yet.
    pub replay_requested: bool,
}

/// The dead letters of this database's consumers, oldest first (at most `limit`).
pub async fn dead_letters(db: &Db, limit: u64) -> Result<Vec<DeadLetter>, DbErr> {
    Ok(dead::Entity::find()
        .filter(dead::Column::State.is_in([DEAD, REPLAY]))
        .order_by_asc(dead::Column::LastFailedAt)
        .limit(limit)
        .all(db.conn())
        .await?
        .into_iter()
        .map(|row| DeadLetter {
            group: row.consumer_group,
            event_id: row.event_id,
            stream: row.stream,
            event_type: row.event_type,
            subject: row.subject,
            attempts: row.attempts,
            last_error: row.last_error,
            last_failed_at: row.last_failed_at,
            replay_requested: row.state == REPLAY,
        })
        .collect())
}

/// Asks the consumer to handle the dead letter `event_id` again; false when there is none.
pub async fn replay(db: &Db, event_id: &str) -> Result<bool, DbErr> {
    let txn = db.begin_write().await?;
    let updated = dead::Entity::update_many()
        .col_expr(dead::Column::State, Expr::value(REPLAY))
        .filter(dead::Column::EventId.eq(event_id))
        .filter(dead::Column::State.eq(DEAD))
        .exec(&*txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    Ok(updated > 0)
}

/// Handles the dead letters of `spec.group` an operator asked to replay: applied ones are
/// forgotten, failing ones are dead again with the new error.
pub async fn replay_requested<H: EventHandler>(
    writer: &Writer,
    spec: &ConsumerSpec,
    handler: &H,
) -> Result<usize, DbErr> {
    let rows = dead::Entity::find()
        .filter(dead::Column::ConsumerGroup.eq(spec.group.as_str()))
        .filter(dead::Column::State.eq(REPLAY))
        .limit(100)
        .all(writer.db().conn())
        .await?;
    let mut applied = 0;
    for row in rows {
        let event = match EventEnvelope::decode(row.envelope.as_slice()) {
            Ok(event) => event,
            Err(error) => {
                let error =
                    HandlerError::permanent(format!("the stored event is unreadable: {error}"));
                record_failure(
                    writer,
                    spec,
                    &EventEnvelope {
                        id: row.event_id.clone(),
                        ..EventEnvelope::default()
                    },
                    &error,
                    1,
                )
                .await?;
                continue;
            }
        };
        match apply(writer, spec, handler, &event).await {
            Ok(_) => {
                forget_failures(writer, spec, &event.id).await?;
                applied += 1;
            }
            Err(error) => {
                tracing::warn!(event = %event.id, %error, "a replayed dead letter failed again");
                record_failure(writer, spec, &event, &error, 1).await?;
            }
        }
    }
    Ok(applied)
}

/// Runs a consumer until `cancel`: claims stale entries of crashed or slow group members, reads
/// new ones, processes each with [`process`], and handles dead letters an operator asked to
/// replay. Bus failures are logged and retried.
pub async fn run_consumer<H: EventHandler>(
    writer: Writer,
    bus: EventBus,
    spec: ConsumerSpec,
    settings: EventSettings,
    handler: H,
    cancel: CancellationToken,
) {
    let block = Duration::from_millis(settings.consumer_block_ms.max(10));
    let min_idle = Duration::from_millis(settings.claim_idle_ms.max(1));
    let mut backoff = Duration::ZERO;
    let mut subscriber: Option<Subscriber> = None;
    while !cancel.is_cancelled() {
        if !backoff.is_zero() {
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(backoff) => {}
            }
        }
        if let Err(error) = replay_requested(&writer, &spec, &handler).await {
            tracing::warn!(%error, group = %spec.group, "cannot replay dead letters");
        }
        let round = async {
            let sub = match subscriber.as_mut() {
                Some(sub) => sub,
                None => {
                    let mut sub = bus.subscriber().await?;
                    sub.ensure_group(&spec.stream, &spec.group).await?;
                    subscriber.insert(sub)
                }
            };
            let mut deliveries = sub
                .claim_stale(&spec.stream, &spec.group, &spec.consumer, min_idle, 100)
                .await?;
            if deliveries.is_empty() {
                deliveries = tokio::select! {
                    () = cancel.cancelled() => Vec::new(),
                    read = sub.read(&spec.stream, &spec.group, &spec.consumer, 100, block) => read?,
                };
            }
            for delivery in &deliveries {
                process(&writer, sub, &spec, &settings, &handler, delivery).await?;
            }
            Ok::<(), BusError>(())
        };
        match round.await {
            Ok(()) => backoff = Duration::ZERO,
            Err(error) => {
                backoff = (backoff * 2).clamp(Duration::from_millis(200), Duration::from_secs(30));
                tracing::warn!(%error, stream = %spec.stream, group = %spec.group, retry_in = ?backoff, "event consumer failed");
                subscriber = None;
            }
        }
    }
}
