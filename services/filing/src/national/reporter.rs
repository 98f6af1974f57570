//! The reporter: delivers PENDING report records through the configured adapter.
//!
//! The table is the queue, as for the applier: a record is queued in the transaction that
//! records the change of the ledger, so nothing is lost while the national system (or this
//! service) is down. Each due record is claimed (its next attempt moved past the attempt's
//! timeout, so another replica leaves it alone), delivered outside any transaction, and its
//! outcome stored only if nobody changed the record meanwhile: an operator marking it by hand
//! wins over a delivery that was in flight, and the receiving side sees the record id as an
//! idempotency key, so the duplicate that may cause is harmless. The records of one account
//! leave in the order they were queued (see `store::reports::due`).

use std::{sync::Arc, time::Duration};

use govmedia_kit::{CancellationToken, auth::Principal, unit::Writer, worker};
use serde_json::json;
use tokio::sync::Notify;

use super::{NationalSystem, http::HttpAdapter};
use crate::{
    config::{NationalAdapter, NationalConfig},
    domain::report::{ReportState, RetryPolicy},
    error::FilingError,
    grpc::convert,
    store,
};

/// Records taken per query.
const BATCH: u64 = 20;
/// Batches per wake-up at most.
const MAX_BATCHES: usize = 50;

/// The reporter's state.
#[derive(Clone, Debug)]
pub struct Reporter {
    writer: Writer,
    adapter: Arc<dyn NationalSystem>,
    system: Principal,
    policy: RetryPolicy,
    interval: Duration,
    lease: chrono::Duration,
}

impl Reporter {
    /// A reporter delivering through `adapter`, writing outcomes as `system`; an attempt
    /// claims its record for `lease` (longer than the adapter's timeout).
    pub fn new(
        writer: Writer,
        adapter: Arc<dyn NationalSystem>,
        system: Principal,
        policy: RetryPolicy,
        timing: (Duration, Duration),
    ) -> Self {
        let (interval, lease) = timing;
        Self {
            writer,
            adapter,
            system,
            policy,
            interval,
            lease: chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX),
        }
    }

    /// The reporter `config` asks for, if any: with the `export` adapter records wait for an
    /// operator and nothing runs.
    pub fn from_config(writer: Writer, system: Principal, config: &NationalConfig) -> Option<Self> {
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
                        initial: chrono::Duration::milliseconds(config.retry_initial_ms as i64),
                        max: chrono::Duration::milliseconds(config.retry_max_ms as i64),
                        max_attempts: i32::try_from(config.max_attempts).unwrap_or(i32::MAX),
                    },
                    // An attempt ends within the timeout; the lease outlasts it.
                    (
                        Duration::from_millis(config.interval_ms),
                        timeout * 2 + Duration::from_secs(1),
                    ),
                ))
            }
        }
    }

    /// Delivers due records whenever woken or every interval, until `shutdown`.
    pub async fn run(self, wake: Arc<Notify>, shutdown: CancellationToken) {
        let what = "delivering national reports";
        worker::repeat(what, self.interval, Some(&wake), shutdown, || self.pass()).await;
    }

    /// Delivers every record due now (each at most once per pass).
    pub async fn pass(&self) -> Result<(), FilingError> {
        for _ in 0..MAX_BATCHES {
            let now = self.writer.clock().now();
            let due = store::reports::due(self.writer.db().conn(), now, BATCH).await?;
            for id in &due {
                self.deliver(id).await?;
            }
            if (due.len() as u64) < BATCH {
                break;
            }
        }
        Ok(())
    }

    async fn deliver(&self, id: &str) -> Result<(), FilingError> {
        let now = self.writer.clock().now();
        let Some(read) = store::reports::get(self.writer.db().conn(), id).await? else {
            return Ok(());
        };
        if read.state != ReportState::Pending || read.next_attempt.is_some_and(|at| at > now) {
            return Ok(());
        }
        // Claim the record for one attempt, so that another replica's reporter leaves it alone
        // until the attempt is over (or, if this process dies, until the lease runs out).
        let mut claimed = read.clone();
        claimed.next_attempt = Some(now + self.lease);
        claimed.version += 1;
        let work = self
            .writer
            .begin("ClaimReport", &self.system, "", &())
            .await?;
        if !store::reports::update(work.txn(), &claimed, read.version).await? {
            return Ok(());
        }
        work.commit(()).await?;

        let delivery = self.adapter.deliver(&convert::record(&claimed)).await;

        let mut work = self
            .writer
            .begin("DeliverReport", &self.system, "", &())
            .await?;
        let Some(mut report) = store::reports::get(work.txn(), id).await? else {
            return Ok(());
        };
        // Marked by hand meanwhile: the operator's word stands.
        if report.version != claimed.version {
            return Ok(());
        }
        report.delivered(delivery, self.policy, self.writer.clock().now());
        if !store::reports::update(work.txn(), &report, claimed.version).await? {
            return Ok(());
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
        Ok(())
    }
}
