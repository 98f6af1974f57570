//! The reporter: delivers PENDING report records through the configured adapter.
//!
//! Each record is a durable job (`deliver-report:{report}`, see `govmedia_kit::jobs`), queued in
//! the transaction that queues the record, so nothing is lost while the national system (or
//! this service) is down. Any replica claims due jobs with a lease, delivers the record outside
//! any transaction, and stores the outcome only if nobody changed the record meanwhile: an
//! operator marking it by hand wins over a delivery that was in flight (marking it drops its
//! job), and the receiving side sees the record id as an idempotency key, so the duplicate that
//! may cause is harmless. The records of one account leave in the order they were queued: a
//! record waits while an older one of its account is PENDING.
//!
//! A failed delivery is the record's business, not a failed job: the record counts its
//! attempts and sets its next attempt after the kit's backoff with jitter, or FAILS after the
//! last one (an operator may queue it again with MarkReports), and its job waits for it. Only
//! this service's own trouble (its database) makes the job retry, and in the end DEAD
//! (`govmedia jobs dead`). One record that fails never holds up the others.

use std::{sync::Arc, time::Duration};

use govmedia_kit::{
    CancellationToken,
    auth::Principal,
    jobs::{self, Job, Outcome, Queue, RetryPolicy},
    unit::{Unit, Writer},
};
use serde_json::json;
use tokio::sync::Notify;

use super::{NationalSystem, http::HttpAdapter};
use crate::{
    config::{NationalAdapter, NationalConfig},
    domain::report::ReportState,
    error::FilingError,
    grpc::convert,
    store,
};

/// The queue of deliveries.
pub const QUEUE: &str = "deliver-report";

/// Jobs claimed at a time.
const BATCH: u64 = 20;

/// Queues the delivery of the record `id`, in the unit that queues the record (or queues it
/// again).
pub async fn enqueue(unit: &Unit, id: &str) -> Result<(), FilingError> {
    jobs::enqueue(unit.txn(), QUEUE, id, unit.now()).await?;
    Ok(())
}

/// Drops the delivery of the record `id`, in the unit that settles it by hand.
pub async fn forget(unit: &Unit, id: &str) -> Result<(), FilingError> {
    jobs::cancel(unit.txn(), QUEUE, id).await?;
    Ok(())
}

/// The reporter's state.
#[derive(Clone, Debug)]
pub struct Reporter {
    writer: Writer,
    adapter: Arc<dyn NationalSystem>,
    system: Principal,
    policy: RetryPolicy,
    queue: Queue,
    interval: Duration,
}

impl Reporter {
    /// A reporter delivering through `adapter`, writing outcomes as `system`, working the queue
    /// as this replica (`owner`, unique per process); an attempt holds its job for `lease`
    /// (longer than the adapter's timeout).
    pub fn new(
        writer: Writer,
        adapter: Arc<dyn NationalSystem>,
        system: Principal,
        policy: RetryPolicy,
        timing: (Duration, Duration),
        owner: &str,
    ) -> Self {
        let (interval, lease) = timing;
        let queue = Queue::new(
            writer.db().clone(),
            writer.clock().clone(),
            QUEUE,
            owner,
            lease,
            // This service's own trouble: the same backoff, the same patience.
            policy,
        );
        Self {
            writer,
            adapter,
            system,
            policy,
            queue,
            interval,
        }
    }

    /// The reporter `config` asks for, if any: with the `export` adapter records wait for an
    /// operator and nothing runs.
    pub fn from_config(
        writer: Writer,
        system: Principal,
        config: &NationalConfig,
        owner: &str,
    ) -> Option<Self> {
        match config.adapter {
            NationalAdapter::Export => None,
            NationalAdapter::Http => {
                let timeout = Duration::from_millis(config.timeout_ms);
                let endpoint = config.endpoint_uri()?;
                Some(Self::new(
                    writer,
                    Arc::new(HttpAdapter::new(endpoint, timeout)),
                    system,
                    RetryPolicy {
                        initial: Duration::from_millis(config.retry_initial_ms),
                        max: Duration::from_millis(config.retry_max_ms),
                        max_attempts: i32::try_from(config.max_attempts).unwrap_or(i32::MAX),
                    },
                    // An attempt ends within the timeout; the lease outlasts it.
                    (
                        Duration::from_millis(config.interval_ms),
                        timeout * 2 + Duration::from_secs(1),
                    ),
                    owner,
                ))
            }
        }
    }

    /// Delivers due records whenever woken or every interval, until `shutdown`.
    pub async fn run(self, wake: Arc<Notify>, shutdown: CancellationToken) {
        let queue = self.queue.clone();
        let interval = self.interval;
        queue
            .run(BATCH, interval, Some(wake), shutdown, |job| {
                self.handle(job)
            })
            .await;
    }

    /// One attempt at the job of one record.
    async fn handle(&self, job: Job) -> Outcome {
        Outcome::or_retry(self.deliver(&job.key).await)
    }

    async fn deliver(&self, id: &str) -> Result<Outcome, FilingError> {
        let now = self.writer.clock().now();
        let Some(read) = store::reports::get(self.writer.db().conn(), id).await? else {
            return Ok(Outcome::Done);
        };
        if read.state != ReportState::Pending {
            return Ok(Outcome::Done);
        }
        if let Some(due) = read.next_attempt
            && due > now
        {
            return Ok(Outcome::Wait((due - now).to_std().unwrap_or_default()));
        }
        if store::reports::older_pending(self.writer.db().conn(), &read)
            .await?
            .is_some()
        {
            return Ok(Outcome::Wait(self.interval));
        }

        let delivery = self.adapter.deliver(&convert::record(&read)).await;

        let mut work = self
            .writer
            .begin("DeliverReport", &self.system, "", &())
            .await?;
        let Some(mut report) = store::reports::get(work.txn(), id).await? else {
            return Ok(Outcome::Done);
        };
        // Marked by hand meanwhile: the operator's word stands; look at the record afresh.
        if report.version != read.version {
            return Ok(Outcome::Wait(Duration::ZERO));
        }
        let now = work.now();
        report.delivered(delivery, &self.policy, jobs::jitter(), now);
        if !store::reports::update(work.txn(), &report, read.version).await? {
            return Ok(Outcome::Wait(Duration::ZERO));
        }
        if report.state != read.state {
            tracing::info!(report = %report.id, state = %report.state, attempts = report.attempts, "national report delivered");
            work.audit(
                &convert::report_name(&report.id),
                &report.organization_path,
                json!({
                    "action": "DELIVERED",
                    "from": read.state.as_str(),
                    "to": report.state.as_str(),
                    "receipt": report.receipt,
                    "error": report.last_error,
                }),
            );
        } else {
            tracing::info!(report = %report.id, attempts = report.attempts, error = %report.last_error, "will retry a national report");
        }
        work.commit(()).await?;
        Ok(match report.next_attempt {
            Some(due) if report.state == ReportState::Pending => {
                Outcome::Wait((due - now).to_std().unwrap_or_default())
            }
            _ => Outcome::Done,
        })
    }
}
