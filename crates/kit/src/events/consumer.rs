//! Consuming a stream as a member of a consumer group, exactly once in effect.

use std::{future::Future, time::Duration};

use sea_orm::{DatabaseTransaction, DbErr, EntityTrait, Set, sea_query::OnConflict};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{BusError, Delivery, EventBus, EventEnvelope, Subscriber};
use crate::{clock::Clock, config::EventSettings, db::Db, telemetry};

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

/// Forgets processed-event ids older than `before`; returns how many.
pub async fn prune(db: &Db, before: chrono::DateTime<chrono::Utc>) -> Result<u64, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let txn = db.begin_write().await?;
    let pruned = entity::Entity::delete_many()
        .filter(entity::Column::ProcessedAt.lt(before))
        .exec(&*txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    Ok(pruned)
}

/// A handler failed; the event is not acknowledged and will be delivered again.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HandlerError(pub String);

impl From<DbErr> for HandlerError {
    fn from(error: DbErr) -> Self {
        HandlerError(error.to_string())
    }
}

/// What a consumer does with an event. Its database effects go through `txn`, which also records
/// the event as processed, so they commit together or not at all.
pub trait EventHandler: Send + Sync + 'static {
    /// Applies one event.
    fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &EventEnvelope,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// Which stream, group and consumer name.
#[derive(Clone, Debug)]
pub struct ConsumerSpec {
    /// The publishing service's stream, e.g. `registry`.
    pub stream: String,
    /// The consuming service's group, e.g. `filing`.
    pub group: String,
    /// This replica's name within the group (unique per process).
    pub consumer: String,
    /// The consuming service's clock.
    pub clock: Clock,
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
}

/// Processes one delivery: dedupe, handle, commit, acknowledge.
pub async fn process<H: EventHandler>(
    db: &Db,
    subscriber: &mut Subscriber,
    spec: &ConsumerSpec,
    handler: &H,
    delivery: &Delivery,
) -> Result<Outcome, BusError> {
    let span = tracing::info_span!(
        "event.consume",
        otel.kind = "consumer",
        event.id = %delivery.envelope.id,
        event.type = %delivery.envelope.r#type,
        stream = %spec.stream,
        group = %spec.group,
    );
    telemetry::set_parent_from_traceparent(&span, &delivery.envelope.traceparent);
    let outcome = async {
        let txn = match db.begin_write().await {
            Ok(txn) => txn,
            Err(error) => {
                tracing::warn!(%error, "cannot open a transaction for an event");
                return Outcome::Failed;
            }
        };
        let inserted = entity::Entity::insert(entity::ActiveModel {
            consumer_group: Set(spec.group.clone()),
            event_id: Set(delivery.envelope.id.clone()),
            processed_at: Set(spec.clock.now()),
        })
        .on_conflict(
            OnConflict::columns([entity::Column::ConsumerGroup, entity::Column::EventId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&*txn)
        .await;
        match inserted {
            Ok(0) => return Outcome::Duplicate,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "cannot record a processed event");
                return Outcome::Failed;
            }
        }
        if let Err(error) = handler.handle(&txn, &delivery.envelope).await {
            tracing::warn!(%error, "event handler failed; the event will be delivered again");
            return Outcome::Failed;
        }
        match txn.commit().await {
            Ok(()) => Outcome::Applied,
            Err(error) => {
                tracing::warn!(%error, "cannot commit an event's effects");
                Outcome::Failed
            }
        }
    }
    .instrument(span)
    .await;
    if outcome != Outcome::Failed {
        subscriber
            .ack(&spec.stream, &spec.group, &delivery.entry_id)
            .await?;
    }
    Ok(outcome)
}

/// Runs a consumer until `cancel`: claims stale entries of crashed or slow group members, reads
/// new ones, and processes each with [`process`]. Bus failures are logged and retried.
pub async fn run_consumer<H: EventHandler>(
    db: Db,
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
                process(&db, sub, &spec, &handler, delivery).await?;
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
