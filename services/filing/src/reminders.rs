//! The reminder: filings waiting longer than allowed for their leader or their
//! management department get one OVERDUE step in their timeline, and so one
//! `FilingChanged` event, per waiting step. Listing overdue filings needs no reminder: it is
//! computed from the state time. Several replicas may run it: the version check lets one record
//! each reminder.

use std::time::Duration;

use govmedia_kit::{CancellationToken, auth::Principal, clock, unit::Writer, worker};

use crate::{
    domain::{Deadlines, FilingAction, FilingState, Stamp, TimelineEntry},
    error::FilingError,
    grpc, store,
};

/// Filings reminded per query.
const BATCH: u64 = 100;

/// The reminder's state.
#[derive(Clone, Debug)]
pub struct Reminder {
    writer: Writer,
    system: Principal,
    deadlines: Deadlines,
    interval: Duration,
}

impl Reminder {
    /// A reminder writing through `writer` as `system`.
    pub fn new(
        writer: Writer,
        system: Principal,
        deadlines: Deadlines,
        interval: Duration,
    ) -> Self {
        Self {
            writer,
            system,
            deadlines,
            interval,
        }
    }

    /// Reminds every interval until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let what = "sending filing reminders";
        worker::repeat(what, self.interval, None, shutdown, || self.pass()).await;
    }

    /// Records a reminder for every overdue filing that has none yet; returns how many.
    pub async fn pass(&self) -> Result<usize, FilingError> {
        let mut reminded = 0;
        loop {
            let due = store::filings::overdue_unnotified(
                self.writer.db().conn(),
                self.deadlines,
                clock::now(),
                BATCH,
            )
            .await?;
            for id in &due {
                if self.remind(id).await? {
                    reminded += 1;
                }
            }
            if (due.len() as u64) < BATCH {
                return Ok(reminded);
            }
        }
    }

    async fn remind(&self, id: &str) -> Result<bool, FilingError> {
        let mut work = self
            .writer
            .begin("RemindFiling", &self.system, "", &())
            .await?;
        let Some(mut filing) = store::filings::get(work.txn(), id).await? else {
            return Ok(false);
        };
        let now = clock::now();
        if filing.overdue_notified
            || !self
                .deadlines
                .is_overdue(filing.state, filing.state_time, now)
        {
            return Ok(false);
        }
        let waiting_for = match filing.state {
            FilingState::Submitted => "the unit leader's consent",
            _ => "the management department's decision",
        };
        let days = (now - filing.state_time).num_days();
        let expected = filing.version;
        filing.overdue_notified = true;
        filing.version += 1;
        let entry = TimelineEntry {
            action: FilingAction::Overdue,
            from: filing.state,
            to: filing.state,
            stamp: Stamp {
                time: now,
                actor: self.system.subject.clone(),
                actor_organization: self.system.organization.clone(),
            },
            comment: format!("waiting for {waiting_for} for {days} day(s)"),
        };
        match grpc::record(
            &mut work,
            &self.deadlines,
            &filing,
            grpc::Save::Over(expected),
            entry,
        )
        .await
        {
            Ok(_) => {}
            // Changed meanwhile (a step, or another replica's reminder): look again next pass.
            Err(FilingError::EtagMismatch { .. }) => return Ok(false),
            Err(error) => return Err(error),
        }
        work.commit(()).await?;
        Ok(true)
    }
}
