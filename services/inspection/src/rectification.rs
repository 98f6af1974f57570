//! The rectification worker: the durable jobs of rectification orders (queue `rectification`,
//! see `govmedia_kit::jobs`), queued in the transaction of the change that calls for them and
//! worked by any replica.
//!
//! | job key | queued by | does |
//! |---|---|---|
//! | `{order}/{round}/warning` | opening, a rejection, a due time found late | the warning (WARNED) |
//! | `{order}/{round}/due` | the same | the escalation (OVERDUE), or the due time once the calendar gives it |
//! | `{order}/{round}/recheck` | an answer | the re-check under the order's scheme version |
//!
//! A timer job is due at its instant and fires at most once per round (the order records it);
//! a job about a round that was answered or decided meanwhile does nothing.

use std::{sync::Arc, time::Duration};

use govmedia_kit::{
    CancellationToken,
    jobs::{self, Job, Outcome, Queue, RetryPolicy},
    unit::Unit,
};
use tokio::sync::Notify;

use crate::{
    config::RectificationConfig, domain::rectification::Order, error::InspectionError,
    grpc::InspectionApi,
};

/// The queue.
pub const QUEUE: &str = "rectification";

/// Jobs claimed at a time.
const BATCH: u64 = 20;

/// Which timer of a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rung {
    /// The warning before the deadline.
    Warning,
    /// The deadline itself.
    Due,
}

/// Queues the timers of `order`'s current round in `unit`: the warning at its time, the
/// escalation at the due time (at once when the due time is not known yet, to ask the calendar
/// again).
pub async fn schedule(unit: &Unit, order: &Order) -> Result<(), InspectionError> {
    let round = order.current();
    if let Some(warning) = round.schedule.warning {
        jobs::enqueue(
            unit.txn(),
            QUEUE,
            &key(&order.id, round.round, "warning"),
            warning,
        )
        .await?;
    }
    let due = round.schedule.due.unwrap_or_else(|| unit.now());
    jobs::enqueue(unit.txn(), QUEUE, &key(&order.id, round.round, "due"), due).await?;
    Ok(())
}

/// Queues the re-check of round `round`'s answer of `order` in `unit`, due now.
pub async fn recheck(unit: &Unit, order: &Order, round: u32) -> Result<(), InspectionError> {
    jobs::enqueue(
        unit.txn(),
        QUEUE,
        &key(&order.id, round, "recheck"),
        unit.now(),
    )
    .await?;
    Ok(())
}

fn key(order: &str, round: u32, what: &str) -> String {
    format!("{order}/{round}/{what}")
}

/// The worker of the queue.
#[derive(Clone, Debug)]
pub struct Rectifier {
    api: InspectionApi,
    queue: Queue,
    poll: Duration,
}

impl Rectifier {
    /// A worker of `api`'s orders with the settings of `config`, as replica `replica`.
    pub fn new(api: InspectionApi, config: &RectificationConfig, replica: &str) -> Self {
        let queue = Queue::new(
            api.writer().db().clone(),
            api.writer().clock().clone(),
            QUEUE,
            replica,
            // Longer than a re-check can take.
            Duration::from_secs(300),
            RetryPolicy {
                initial: Duration::from_millis(config.retry_initial_ms),
                max: Duration::from_millis(config.retry_max_ms),
                max_attempts: i32::try_from(config.max_attempts).unwrap_or(i32::MAX),
            },
        );
        Self {
            api,
            queue,
            poll: Duration::from_millis(config.poll_ms),
        }
    }

    /// Works the queue until `shutdown`, at once when `wake` is notified.
    pub async fn run(self, wake: Arc<Notify>, shutdown: CancellationToken) {
        let queue = self.queue.clone();
        let poll = self.poll;
        queue
            .run(BATCH, poll, Some(wake), shutdown, |job| {
                let this = self.clone();
                async move { Outcome::or_retry(this.handle(job).await) }
            })
            .await;
    }

    async fn handle(&self, job: Job) -> Result<Outcome, InspectionError> {
        let mut parts = job.key.split('/');
        let (Some(order), Some(round), Some(what), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(Outcome::Dead(format!("{} is no order job", job.key)));
        };
        let Ok(round) = round.parse::<u32>() else {
            return Ok(Outcome::Dead(format!("{} names no round", job.key)));
        };
        match what {
            "warning" => self.api.fire_order_timer(order, round, Rung::Warning).await,
            "due" => self.api.fire_order_timer(order, round, Rung::Due).await,
            "recheck" => self.api.recheck_order(order, round).await,
            _ => Ok(Outcome::Dead(format!("{} is no order job", job.key))),
        }
    }
}
