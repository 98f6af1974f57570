//! The reminder: filings waiting past their due time for their leader or their
//! management department get one OVERDUE step in their timeline, and so one
//! `FilingChanged` event, per waiting step. Listing overdue filings needs no reminder: it is
//! computed from the stored due time. Several replicas may run it: the version check lets one
//! record each reminder.
//!
//! Each pass first gives a due time to waiting filings that have none: those that waited before
//! due times were stored, and those whose deadline fell in a year the calendar had no data for
//! (once an operator loads it).

use std::time::Duration;

use govmedia_kit::{CancellationToken, auth::Principal, calendar::SHANGHAI, unit::Writer, worker};

use crate::{
    domain::{FilingAction, FilingState, Stamp, TimelineEntry},
    error::FilingError,
    grpc::{self, Deadlines},
    store,
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

    /// Gives due times to waiting filings without one, then records a reminder for every
    /// overdue filing that has none yet; returns how many reminders.
    pub async fn pass(&self) -> Result<usize, FilingError> {
        // One batch a pass: a filing whose year the calendar still lacks stays without a due
        // time, and must not keep the pass busy.
        let missing =
            store::filings::waiting_without_due_time(self.writer.db().conn(), BATCH).await?;
        for id in &missing {
            self.fill_due_time(id).await?;
        }
        let mut reminded = 0;
        loop {
            let due = store::filings::overdue_unnotified(
                self.writer.db().conn(),
                self.writer.clock().now(),
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

    async fn fill_due_time(&self, id: &str) -> Result<(), FilingError> {
        let work = self
            .writer
            .begin("ScheduleFiling", &self.system, "", &())
            .await?;
        let Some(mut filing) = store::filings::get(work.txn(), id).await? else {
            return Ok(());
        };
        if filing.due_time.is_some() {
            return Ok(());
        }
        let Some(due) = self.deadlines.due_time(&filing) else {
            return Ok(());
        };
        // Bookkeeping, not a step: no timeline entry, no event.
        let expected = filing.version;
        filing.due_time = Some(due);
        filing.version += 1;
        if store::filings::update(work.txn(), &filing, expected).await? {
            work.commit(()).await?;
        }
        Ok(())
    }

    async fn remind(&self, id: &str) -> Result<bool, FilingError> {
        let mut work = self
            .writer
            .begin("RemindFiling", &self.system, "", &())
            .await?;
        let Some(mut filing) = store::filings::get(work.txn(), id).await? else {
            return Ok(false);
        };
        let now = work.now();
        if filing.overdue_notified || !filing.is_overdue(now) {
            return Ok(false);
        }
        let waiting_for = match filing.state {
            FilingState::Submitted => "the unit leader's consent",
            _ => "the management department's decision",
        };
        let due = filing
            .due_time
            .map(|due| {
                due.with_timezone(&SHANGHAI)
                    .format("%Y-%m-%d %H:%M %:z")
                    .to_string()
            })
            .unwrap_or_default();
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
            comment: format!("waiting for {waiting_for}, due {due}"),
        };
        match grpc::record(&mut work, &filing, grpc::Save::Over(expected), entry).await {
            Ok(_) => {}
            // Changed meanwhile (a step, or another replica's reminder): look again next pass.
            Err(FilingError::EtagMismatch { .. }) => return Ok(false),
            Err(error) => return Err(error),
        }
        work.commit(()).await?;
        Ok(true)
    }
}
