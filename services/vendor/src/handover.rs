//! The handover worker: files the CHANGE filings that hand a delegation's accounts to the
//! vendor and back, and records what the filing service decides about them.
//!
//! Creating or ending a delegation queues one durable job per account (`file-handover`, see
//! `govmedia_kit::jobs`) in the same transaction; any replica claims due jobs and files the
//! filing in the filing service under the service's own identity. A filing the filing service
//! refuses outright (the account is cancelled, say) refuses the handover at once; one it cannot
//! take now is tried again with backoff. From then on the filing goes its normal way (the
//! unit's leader consents, the management department accepts or rejects, the filing service
//! applies it to the ledger), and [`crate::events::FilingDecisions`] records the outcome on the
//! handover when the filing service publishes it.

use std::{sync::Arc, time::Duration};

use govmedia_kit::{
    CancellationToken,
    client::is_retryable,
    jobs::{self, Job, Outcome, Queue, RetryPolicy},
    unit::{Unit, Writer},
};
use serde_json::json;
use tokio::sync::Notify;

use crate::{
    config::VendorConfig,
    domain::{
        Delegation, HandoverState,
        delegation::{self as rules, FilingOutcome},
    },
    error::VendorError,
    events,
    grpc::{
        convert,
        filing::{Filings, HandoverFiling},
    },
    store,
};

/// The queue of handover filings.
pub const QUEUE: &str = "file-handover";

/// Jobs claimed at a time.
const BATCH: u64 = 20;

/// Queues the filing `filing` of `account` in `delegation`, in the unit that calls for it.
pub async fn enqueue(
    unit: &Unit,
    delegation: &str,
    account: &str,
    filing: &str,
) -> Result<(), VendorError> {
    jobs::enqueue(
        unit.txn(),
        QUEUE,
        &job_key(delegation, account, filing),
        unit.now(),
    )
    .await?;
    Ok(())
}

fn job_key(delegation: &str, account: &str, filing: &str) -> String {
    format!("{delegation}/{account}/{filing}")
}

/// Records on the handover that waits for `filing` what became of it, and the delegation's
/// status that follows (an account handed to the vendor after its delegation ended is filed
/// back at once); false when no handover waits for it (a filing of someone else, or a decision
/// already recorded).
pub async fn record(
    unit: &mut Unit,
    filing: &str,
    outcome: &FilingOutcome,
    handed: Option<&rules::Handed>,
) -> Result<bool, VendorError> {
    let Some(mut delegation) = store::delegations::by_filing(unit.txn(), filing).await? else {
        return Ok(false);
    };
    let Some(handover) = delegation
        .handovers
        .iter_mut()
        .find(|h| h.start_filing == filing || h.end_filing.as_deref() == Some(filing))
    else {
        return Ok(false);
    };
    // An applied filing counts only if it still makes the change it was filed for.
    let outcome = match (outcome, handed) {
        (FilingOutcome::Applied, Some(handed)) => {
            rules::applied_as_filed(handover, filing, &delegation.vendor, handed)
        }
        (outcome, _) => outcome.clone(),
    };
    if !rules::on_filing(handover, filing, &outcome) {
        return Ok(false);
    }
    let (account, mut state) = (handover.account.clone(), handover.state);
    let before = delegation.version;
    delegation.settle();
    // Ended while the account was still starting: now that the vendor holds it, it goes back.
    let phase = format!("end{}", before + 1);
    let back = rules::filing_id(&delegation.id, &account, &phase);
    if rules::return_if_ended(&mut delegation, &account, back.clone()) {
        enqueue(unit, &delegation.id, &account, &back).await?;
        state = HandoverState::Ending;
    }
    delegation.version += 1;
    delegation.updated = crate::grpc::stamp(unit);
    if !store::delegations::update(unit.txn(), &delegation, before).await? {
        return Err(VendorError::stale(&delegation.name(), before));
    }
    publish(unit, &delegation, "HANDOVER").await?;
    unit.audit(
        &delegation.name(),
        &delegation.organization_path,
        json!({
            "account": convert::account_name(&account),
            "filing": format!("filings/{filing}"),
            "handover": state.as_str(),
            "status": delegation.status.as_str(),
        }),
    );
    Ok(true)
}

/// Ends `delegation` in `unit` with `reason` (EndDelegation, or a vendor's clean-out): stores it,
/// queues the return filing of every account the vendor operates, publishes and audits the
/// change. Returns the accounts whose return is filed.
pub async fn end(
    unit: &mut Unit,
    delegation: &mut Delegation,
    reason: &str,
) -> Result<Vec<String>, VendorError> {
    let before = delegation.version;
    // Each end files new return filings: numbered by the version this change makes.
    let phase = format!("end{}", before + 1);
    let id = delegation.id.clone();
    let filed = rules::end(delegation, reason, unit.now(), |account| {
        rules::filing_id(&id, account, &phase)
    })
    .map_err(|error| VendorError::End {
        delegation: format!("delegations/{id}"),
        error,
    })?;
    delegation.version += 1;
    delegation.updated = crate::grpc::stamp(unit);
    if !store::delegations::update(unit.txn(), delegation, before).await? {
        return Err(VendorError::stale(&delegation.name(), before));
    }
    for handover in &delegation.handovers {
        if filed.contains(&handover.account)
            && let Some(filing) = &handover.end_filing
        {
            enqueue(unit, &delegation.id, &handover.account, filing).await?;
        } else if handover.state == HandoverState::Starting {
            // Its start filing is withdrawn (the job sees the delegation ended).
            enqueue(
                unit,
                &delegation.id,
                &handover.account,
                &handover.start_filing,
            )
            .await?;
        }
    }
    publish(unit, delegation, "ENDED").await?;
    unit.audit(
        &delegation.name(),
        &delegation.organization_path,
        json!({
            "reason": reason,
            "returning": filed.iter().map(|a| convert::account_name(a)).collect::<Vec<_>>(),
            "status": delegation.status.as_str(),
        }),
    );
    Ok(filed)
}

/// Publishes `DelegationChanged` for `delegation`.
pub async fn publish(
    unit: &mut Unit,
    delegation: &Delegation,
    change: &str,
) -> Result<(), VendorError> {
    let response = convert::delegation(delegation);
    unit.publish(
        &delegation.name(),
        &events::delegation_changed(&response, change),
    )
    .await?;
    Ok(())
}

/// The handover worker of one replica.
#[derive(Clone, Debug)]
pub struct Handovers {
    writer: Writer,
    filings: Filings,
    queue: Queue,
    interval: Duration,
}

impl Handovers {
    /// A worker writing through `writer` and filing through `filings`, as this replica
    /// (`owner`, unique per process).
    pub fn new(writer: Writer, filings: Filings, config: &VendorConfig, owner: &str) -> Self {
        let queue = Queue::new(
            writer.db().clone(),
            writer.clock().clone(),
            QUEUE,
            owner,
            // An attempt makes three filing calls at most, each within the timeout.
            Duration::from_millis(config.filing_timeout_ms) * 4 + Duration::from_secs(5),
            RetryPolicy {
                initial: Duration::from_millis(config.handover_retry_initial_ms),
                max: Duration::from_millis(config.handover_retry_max_ms),
                max_attempts: i32::try_from(config.handover_max_attempts).unwrap_or(i32::MAX),
            },
        );
        Self {
            writer,
            filings,
            queue,
            interval: Duration::from_millis(config.handover_interval_ms),
        }
    }

    /// Files due handovers whenever woken or every interval, until `shutdown`.
    pub async fn run(self, wake: Arc<Notify>, shutdown: CancellationToken) {
        let queue = self.queue.clone();
        let interval = self.interval;
        queue
            .run(BATCH, interval, Some(wake), shutdown, |job| {
                self.handle(job)
            })
            .await;
    }

    async fn handle(&self, job: Job) -> Outcome {
        Outcome::or_retry(self.file(&job.key).await)
    }

    async fn file(&self, key: &str) -> Result<Outcome, VendorError> {
        let mut parts = key.splitn(3, '/');
        let (Some(id), Some(account), Some(filing)) = (parts.next(), parts.next(), parts.next())
        else {
            return Ok(Outcome::Dead(format!("{key:?} is not a handover job key")));
        };
        let Some(delegation) = store::delegations::get(self.writer.db().conn(), id).await? else {
            return Ok(Outcome::Done);
        };
        let Some(handover) = delegation.handovers.iter().find(|h| h.account == account) else {
            return Ok(Outcome::Done);
        };
        let vendor = match handover.state {
            // Ended (or its vendor cleaned out) before the account was handed over: the start
            // filing is withdrawn, so nobody can still hand the account to the vendor.
            HandoverState::Starting
                if handover.start_filing == filing && delegation.ended.is_some() =>
            {
                return self.withdraw(filing).await;
            }
            HandoverState::Starting if handover.start_filing == filing => {
                Some(delegation.vendor.clone())
            }
            HandoverState::Ending if handover.end_filing.as_deref() == Some(filing) => None,
            // Decided already, or superseded by a newer filing.
            HandoverState::Starting
            | HandoverState::Ending
            | HandoverState::Operating
            | HandoverState::Refused
            | HandoverState::Returned
            | HandoverState::ReturnRefused => return Ok(Outcome::Done),
        };
        let reason = match &vendor {
            Some(vendor) => format!(
                "代运营委托 {}:账号交由 vendors/{vendor} 运营({} 至 {}),由 {}(organizations/{})提出",
                delegation.name(),
                delegation.start_time.format("%Y-%m-%d"),
                delegation.end_time.format("%Y-%m-%d"),
                delegation.created.actor,
                delegation.created.actor_organization,
            ),
            None => format!(
                "代运营委托 {} 终止,由 {}(organizations/{})办理:账号收回本单位自行运营。{}",
                delegation.name(),
                delegation.updated.actor,
                delegation.updated.actor_organization,
                delegation.end_reason
            ),
        };
        let request = HandoverFiling {
            id: filing.to_owned(),
            organization: delegation.organization.clone(),
            account: account.to_owned(),
            vendor,
            reason,
        };
        let starting = request.vendor.is_some();
        match self.filings.file(&request).await {
            // Ended while it was being filed: take it back at once.
            Ok(()) if starting && self.ended(id).await? => self.withdraw(filing).await,
            Ok(()) => Ok(Outcome::Done),
            Err(status) if is_retryable(status.code()) => Ok(Outcome::Retry(format!(
                "the filing service could not take the filing: {}",
                status.message()
            ))),
            Err(status) => {
                // Refused for good: the handover says why, and the delegation moves on.
                let why = format!(
                    "the filing service refused the filing: {}",
                    status.message()
                );
                self.refuse(filing, why).await
            }
        }
    }

    /// Withdraws the start filing `filing` of a delegation that ended before it was decided.
    async fn withdraw(&self, filing: &str) -> Result<Outcome, VendorError> {
        match self.filings.withdraw(filing).await {
            Ok(()) => {
                self.refuse(
                    filing,
                    "the delegation ended before the account was handed over; its filing was withdrawn"
                        .to_owned(),
                )
                .await
            }
            // Never filed (the delegation ended first): there is nothing to withdraw.
            Err(status) if status.code() == tonic::Code::NotFound => {
                self.refuse(
                    filing,
                    "the delegation ended before the account was handed over".to_owned(),
                )
                .await
            }
            Err(status) if is_retryable(status.code()) => Ok(Outcome::Retry(format!(
                "the filing service could not withdraw the filing: {}",
                status.message()
            ))),
            // Decided already: its decision comes as an event (an applied one is handed back
            // at once, a rejected one refuses the handover).
            Err(_) => Ok(Outcome::Done),
        }
    }

    /// True when the delegation `id` has been ended.
    async fn ended(&self, id: &str) -> Result<bool, VendorError> {
        Ok(store::delegations::get(self.writer.db().conn(), id)
            .await?
            .is_some_and(|delegation| delegation.ended.is_some()))
    }

    /// Records `filing` as refused for `why`.
    async fn refuse(&self, filing: &str, why: String) -> Result<Outcome, VendorError> {
        let system = self.filings.own_principal();
        let mut unit = self
            .writer
            .begin("RecordHandover", &system, "", &())
            .await?;
        record(&mut unit, filing, &FilingOutcome::Refused(why), None).await?;
        unit.commit(()).await?;
        Ok(Outcome::Done)
    }
}
