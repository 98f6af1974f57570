//! The escalation scheduler (R-30's 限时督办): fires each case's timers (see
//! [`crate::domain::escalation`]) at their instants, as `CaseEscalated` events and ESCALATED steps.
//!
//! One replica runs it at a time (the lease `routing-escalations`); another takes over within
//! the lease's life. It sleeps until the earliest unfired timer, never longer than
//! `routing.escalation.poll_ms` (so timers another replica added are seen), and wakes at once
//! when this replica adds one. A timer fires in the transaction that marks it fired, with its
//! event and its step: after a crash or a takeover nothing is lost (unfired timers stay in the
//! table) and nothing repeats (the mark is conditional, and a rung is stored once per deadline).

use std::{sync::Arc, time::Duration};

use govmedia_kit::{CancellationToken, auth::Principal, clock::to_proto, unit::Writer};
use govmedia_proto::routing::v1 as pb;
use tokio::sync::Notify;

use crate::{
    config::RoutingConfig,
    domain::{Stamp, escalation},
    error::RoutingError,
    grpc::{self, convert},
    store::{self, timers::Pending},
};

/// Timers fired per query.
const BATCH: u64 = 200;

/// The scheduler.
#[derive(Clone, Debug)]
pub struct Escalator {
    writer: Writer,
    system: Principal,
    poll: Duration,
    wake: Arc<Notify>,
}

impl Escalator {
    /// A scheduler writing through `writer` as `system`, woken by `wake` when a timer is added.
    pub fn new(
        writer: Writer,
        system: Principal,
        config: &RoutingConfig,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            writer,
            system,
            poll: Duration::from_millis(config.escalation.poll_ms),
            wake,
        }
    }

    /// Fires timers as they come due until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let passed = self.pass().await;
            if let Err(error) = &passed {
                tracing::warn!(%error, "firing escalations failed; trying again later");
            }
            let wait = match (
                &passed,
                store::timers::next_fire(self.writer.db().conn()).await,
            ) {
                (Ok(_), Ok(Some(next))) => (next - self.writer.clock().now())
                    .to_std()
                    .unwrap_or_default()
                    .min(self.poll),
                _ => self.poll,
            };
            if wait.is_zero() {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Fires every timer due now; returns how many fired here.
    pub async fn pass(&self) -> Result<usize, RoutingError> {
        let mut fired = 0;
        loop {
            let due = store::timers::due(self.writer.db().conn(), self.writer.clock().now(), BATCH)
                .await?;
            let mut raced = 0;
            for pending in &due {
                match self.fire(pending).await {
                    Ok(true) => fired += 1,
                    Ok(false) => {}
                    // The case changed at the same moment: its timers were rescheduled or will
                    // be fired on the next pass.
                    Err(RoutingError::EtagMismatch { .. }) => raced += 1,
                    Err(error) => return Err(error),
                }
            }
            if (due.len() as u64) < BATCH || raced as u64 == BATCH {
                return Ok(fired);
            }
        }
    }

    async fn fire(&self, pending: &Pending) -> Result<bool, RoutingError> {
        let mut unit = self
            .writer
            .begin("EscalateCase", &self.system, "", &())
            .await?;
        let now = unit.now();
        // The case's row first, as every step of the case takes it, then the timer's: two
        // writers of both never wait for each other in a circle.
        govmedia_kit::store::lock_row(unit.txn(), "routing_cases", &pending.case_id).await?;
        if !store::timers::mark_fired(unit.txn(), pending.seq, now).await? {
            return Ok(false);
        }
        let Some(mut case) = store::cases::get(unit.txn(), &pending.case_id).await? else {
            unit.commit(()).await?;
            return Ok(false);
        };
        let stamp = Stamp {
            time: now,
            actor: self.system.subject.clone(),
            actor_organization: self.system.organization.clone(),
        };
        let (step, blamed) = escalation::fire(&mut case, &pending.timer, &stamp);
        case.updated = stamp;
        grpc::record(&mut unit, &mut case, &[step], None).await?;
        unit.publish(
            &convert::case_name(&case.id),
            &pb::CaseEscalated {
                case: Some(convert::case(&case, &[])),
                level: pending.timer.level as i32,
                due_time: Some(to_proto(pending.timer.due)),
                fire_time: Some(to_proto(pending.timer.fire_at)),
                fired_time: Some(to_proto(now)),
                blamed: convert::organization_name(&blamed),
            },
        )
        .await?;
        unit.commit(()).await?;
        Ok(true)
    }
}
