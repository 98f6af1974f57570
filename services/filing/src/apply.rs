//! The applier: takes accepted filings to the registry, exactly once each.
//!
//! Acceptance marks a filing APPLYING in the same transaction that accepts it, so the table is
//! the queue (a transactional outbox of commands): nothing is lost when the registry, or this
//! service, is down at that moment. The applier wakes on every acceptance and on a timer, sends
//! each due filing to the registry with the filing as idempotency key, and records the outcome:
//! APPLIED, FAILED (the registry refused the content), or a later retry with backoff (the
//! registry could not answer). Several replicas may run it at once: the registry's idempotency
//! makes a duplicate call harmless, and the version check lets only one outcome be recorded.

use std::{sync::Arc, time::Duration};

use chrono::Duration as Span;
use govmedia_kit::{CancellationToken, unit::Writer, worker};
use tokio::sync::Notify;

use crate::{
    config::FilingConfig,
    domain::{
        Application, ApplicationState, ApplyOutcome, FilingAction, FilingKind, Stamp,
        TimelineEntry, report::ReportCause, retry_delay,
    },
    error::FilingError,
    grpc::{self, Registry, convert},
    store,
};

/// Filings taken per query.
const BATCH: u64 = 20;
/// Batches per wake-up at most, so that one pass cannot spin on filings that keep failing to
/// record.
const MAX_BATCHES: usize = 50;

/// The applier's state.
#[derive(Clone, Debug)]
pub struct Applier {
    writer: Writer,
    registry: Registry,
    interval: Duration,
    retry_initial: Span,
    retry_max: Span,
    reporter: Option<Arc<Notify>>,
}

impl Applier {
    /// An applier writing through `writer` and calling `registry`.
    pub fn new(writer: Writer, registry: Registry, config: &FilingConfig) -> Self {
        Self {
            writer,
            registry,
            interval: Duration::from_millis(config.apply_interval_ms),
            retry_initial: Span::milliseconds(config.apply_retry_initial_ms as i64),
            retry_max: Span::milliseconds(config.apply_retry_max_ms as i64),
            reporter: None,
        }
    }

    /// Wakes `reporter` whenever a change is queued for the national system.
    pub fn waking(mut self, reporter: Arc<Notify>) -> Self {
        self.reporter = Some(reporter);
        self
    }

    /// Applies due filings whenever woken or every interval, until `shutdown`.
    pub async fn run(self, wake: Arc<Notify>, shutdown: CancellationToken) {
        let what = "applying accepted filings";
        worker::repeat(what, self.interval, Some(&wake), shutdown, || self.pass()).await;
    }

    /// Applies every filing due now.
    pub async fn pass(&self) -> Result<(), FilingError> {
        for _ in 0..MAX_BATCHES {
            let due = store::filings::due_for_application(
                self.writer.db().conn(),
                self.writer.clock().now(),
                BATCH,
            )
            .await?;
            for id in &due {
                self.apply(id).await?;
            }
            if (due.len() as u64) < BATCH {
                break;
            }
        }
        Ok(())
    }

    async fn apply(&self, id: &str) -> Result<(), FilingError> {
        let Some(read) = store::filings::get(self.writer.db().conn(), id).await? else {
            return Ok(());
        };
        if read.application.state != Some(ApplicationState::Applying) {
            return Ok(());
        }
        let outcome = self.registry.apply(&read).await;

        let system = self.registry.own_principal();
        let mut work = self.writer.begin("ApplyFiling", &system, "", &()).await?;
        let Some(mut filing) = store::filings::get(work.txn(), id).await? else {
            return Ok(());
        };
        if filing.version != read.version {
            // Another replica recorded an outcome meanwhile.
            return Ok(());
        }
        let now = work.now();
        let attempts = filing.application.attempts.saturating_add(1);
        filing.version += 1;
        let mut report = None;
        let (action, comment) = match outcome {
            ApplyOutcome::Applied {
                account,
                ledger,
                unit,
            } => {
                tracing::info!(filing = %filing.name(), %account, "filing applied to the registry");
                if filing.kind == FilingKind::Open {
                    filing.target_account = Some(account.clone());
                }
                filing.application = Application {
                    state: Some(ApplicationState::Applied),
                    error: String::new(),
                    attempts,
                    next_attempt: None,
                };
                report = Some((account.clone(), ledger, unit));
                (FilingAction::Applied, convert::account_name(&account))
            }
            ApplyOutcome::Refused(why) => {
                tracing::warn!(filing = %filing.name(), %why, "the registry refused a filing");
                filing.application = Application {
                    state: Some(ApplicationState::Failed),
                    error: why.clone(),
                    attempts,
                    next_attempt: None,
                };
                (FilingAction::ApplicationFailed, why)
            }
            ApplyOutcome::Unreachable(why) => {
                let delay = retry_delay(attempts, self.retry_initial, self.retry_max);
                tracing::info!(filing = %filing.name(), %why, attempts, retry_in = %delay, "will retry applying a filing");
                filing.application = Application {
                    state: Some(ApplicationState::Applying),
                    error: why,
                    attempts,
                    next_attempt: Some(now + delay),
                };
                // Bookkeeping of a retry: no step in the timeline, no event.
                if !store::filings::update(work.txn(), &filing, read.version).await? {
                    return Ok(());
                }
                work.commit(()).await?;
                return Ok(());
            }
        };
        let entry = TimelineEntry {
            action,
            from: filing.state,
            to: filing.state,
            stamp: Stamp {
                time: now,
                actor: system.subject.clone(),
                actor_organization: system.organization.clone(),
            },
            comment,
        };
        let recorded =
            grpc::record(&mut work, &filing, grpc::Save::Over(read.version), entry).await;
        match recorded {
            Ok(_) => {}
            // Another replica recorded the outcome after this one read the filing (its update
            // waited for the other's commit, then matched no row): nothing is left to do.
            Err(FilingError::EtagMismatch { .. }) => return Ok(()),
            Err(error) => return Err(error),
        }
        // The ledger changed: the national system must learn it.
        if let Some((account, ledger, unit)) = report {
            let registered = grpc::reports::Registered { ledger, unit };
            grpc::reports::queue(
                &mut work,
                &filing,
                ReportCause::of(filing.kind),
                &account,
                registered,
            )
            .await?;
        }
        work.commit(()).await?;
        if let Some(reporter) = &self.reporter {
            reporter.notify_one();
        }
        Ok(())
    }
}
