//! The applier: takes accepted filings to the registry, exactly once each.
//!
//! Acceptance queues a durable job (`apply-filing:{filing}`, see `govmedia_kit::jobs`) in the
//! same transaction that accepts the filing and marks it APPLYING: nothing is lost when the
//! registry, or this service, is down at that moment. Any replica claims due jobs with a lease,
//! sends the filing to the registry with the filing as idempotency key and as the basis of its
//! own identity, and records the outcome: APPLIED, FAILED (the registry refused the content), or
//! a retry after a backoff with jitter (the registry could not answer). A replica that dies
//! holding a job leaves it to another once the lease runs out; the registry's idempotency makes
//! a repeated call harmless, and the version check lets only one outcome be recorded. One
//! filing that keeps failing never holds up the others.

use std::{sync::Arc, time::Duration};

use govmedia_kit::{
    CancellationToken,
    jobs::{self, Job, Outcome, Queue, RetryPolicy},
    unit::{Unit, Writer},
};
use tokio::sync::Notify;

use crate::{
    config::FilingConfig,
    domain::{
        Application, ApplicationState, ApplyOutcome, ClosureReport, Filing, FilingAction,
        FilingKind, Stamp, TimelineEntry, report::ReportCause,
    },
    error::FilingError,
    grpc::{self, Registry, convert},
    store,
};

/// The queue of applications.
pub const QUEUE: &str = "apply-filing";

/// Jobs claimed at a time.
const BATCH: u64 = 20;

/// Queues the application of the filing `id`, in the unit that accepts it.
pub async fn enqueue(unit: &Unit, id: &str) -> Result<(), FilingError> {
    jobs::enqueue(unit.txn(), QUEUE, id, unit.now()).await?;
    Ok(())
}

/// The applier's state.
#[derive(Clone, Debug)]
pub struct Applier {
    writer: Writer,
    registry: Registry,
    queue: Queue,
    interval: Duration,
    reporter: Option<Arc<Notify>>,
}

impl Applier {
    /// An applier writing through `writer` and calling `registry`, working the queue as this
    /// replica (`owner`, unique per process).
    pub fn new(writer: Writer, registry: Registry, config: &FilingConfig, owner: &str) -> Self {
        let queue = Queue::new(
            writer.db().clone(),
            writer.clock().clone(),
            QUEUE,
            owner,
            // An attempt makes two registry calls at most, each within the timeout.
            Duration::from_millis(config.registry_timeout_ms) * 3 + Duration::from_secs(5),
            RetryPolicy {
                initial: Duration::from_millis(config.apply_retry_initial_ms),
                max: Duration::from_millis(config.apply_retry_max_ms),
                max_attempts: i32::try_from(config.apply_max_attempts).unwrap_or(i32::MAX),
            },
        );
        Self {
            writer,
            registry,
            queue,
            interval: Duration::from_millis(config.apply_interval_ms),
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
        let queue = self.queue.clone();
        let interval = self.interval;
        queue
            .run(BATCH, interval, Some(wake), shutdown, |job| {
                self.handle(job)
            })
            .await;
    }

    /// Applies every filing due now.
    pub async fn pass(&self) -> Result<(), FilingError> {
        self.queue.work(BATCH, &mut |job| self.handle(job)).await?;
        Ok(())
    }

    /// One attempt at the job of one filing.
    async fn handle(&self, job: Job) -> Outcome {
        Outcome::or_retry(self.apply(&job.key).await)
    }

    async fn apply(&self, id: &str) -> Result<Outcome, FilingError> {
        let Some(read) = store::filings::get(self.writer.db().conn(), id).await? else {
            return Ok(Outcome::Done);
        };
        if read.application.state != Some(ApplicationState::Applying) {
            return Ok(Outcome::Done);
        }
        let outcome = self.registry.apply(&read).await;

        let system = self.registry.own_principal();
        let mut work = self.writer.begin("ApplyFiling", &system, "", &()).await?;
        let Some(mut filing) = store::filings::get(work.txn(), id).await? else {
            return Ok(Outcome::Done);
        };
        if filing.version != read.version {
            // Another replica recorded an outcome meanwhile.
            return Ok(Outcome::Done);
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
                tracing::info!(filing = %filing.name(), %why, attempts, "will retry applying a filing");
                filing.application = Application {
                    state: Some(ApplicationState::Applying),
                    error: why.clone(),
                    attempts,
                    next_attempt: None,
                };
                // Bookkeeping of a retry: no step in the timeline, no event; the job waits.
                if store::filings::update(work.txn(), &filing, read.version).await? {
                    work.commit(()).await?;
                }
                return Ok(Outcome::Retry(why));
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
            Err(FilingError::EtagMismatch { .. }) => return Ok(Outcome::Done),
            Err(error) => return Err(error),
        }
        // A suspension or cancellation is reported to the unit's government office.
        if let Some((account, ledger, unit)) = &report
            && matches!(filing.kind, FilingKind::Suspend | FilingKind::Cancel)
        {
            let closure = closure_report(&filing, account, ledger, unit, now);
            store::closures::insert(work.txn(), &closure).await?;
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
        Ok(Outcome::Done)
    }
}

/// The closure report of applied `filing` (SUSPEND or CANCEL) of `account`, from the ledger's
/// and the unit's answers as the registry gave them (encoded); a unit without a government
/// (the suite's root) reports to itself.
fn closure_report(
    filing: &Filing,
    account: &str,
    ledger: &[u8],
    unit: &[u8],
    applied: chrono::DateTime<chrono::Utc>,
) -> ClosureReport {
    use prost::Message;
    let display_name = govmedia_proto::registry::v1::Account::decode(ledger)
        .map(|account| account.display_name)
        .unwrap_or_default();
    let government = govmedia_proto::registry::v1::Organization::decode(unit)
        .ok()
        .and_then(|unit| {
            unit.government
                .strip_prefix("organizations/")
                .map(str::to_owned)
        })
        .unwrap_or_else(|| filing.organization.clone());
    ClosureReport {
        // One report per filing: its name is the filing's.
        id: filing.id.clone(),
        filing: filing.id.clone(),
        kind: filing.kind,
        account: account.to_owned(),
        account_display_name: display_name,
        organization: filing.organization.clone(),
        organization_path: filing.organization_path.clone(),
        government,
        enforced: filing.enforced,
        grounds: filing.grounds.clone(),
        reason: filing.reason.clone(),
        applied,
    }
}
