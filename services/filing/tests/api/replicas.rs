//! Several replicas of the filing service on one database and one bus: every accepted filing
//! is applied exactly once, and the work a killed replica held is taken over once its lease
//! runs out.

use std::time::Duration;

use govmedia_filing::apply;
use govmedia_kit::jobs::{self, JobState, Queue, RetryPolicy};
use govmedia_proto::{
    common::v1::Platform,
    filing::v1::{ApplicationState, FilingAction},
    registry::v1 as rpb,
};
use govmedia_test_support::{Backend, backend_test, eventually};

use crate::helpers::*;

const FILINGS: usize = 12;

async fn two_replicas_apply_each_filing_once_and_take_over_a_killed_ones_work(backend: Backend) {
    let suite = Suite::spawn_with(
        backend,
        Options {
            no_workers: true,
            clock_at: Some(chrono::Utc::now()),
            ..Options::default()
        },
    )
    .await;
    let platforms = [Platform::Weibo, Platform::Douyin, Platform::Toutiao];
    let units = ["golmud-edu", "golmud-health", "golmud-office", "golmud"];
    let mut ids = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        for platform in platforms {
            let id = format!("r{i}-{}", platform as i32);
            let mut filing = open_filing(platform, &id);
            filing.organization = format!("organizations/{unit}");
            file_and_accept_for(&suite, unit, &id, filing).await;
            ids.push(id);
        }
    }
    assert_eq!(ids.len(), FILINGS);

    // A replica claims a third of the applications and is killed before it settles them.
    let killed = Queue::new(
        suite.filing_db.clone(),
        suite.clock.clone(),
        apply::QUEUE,
        "killed-replica",
        Duration::from_secs(14),
        RetryPolicy {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
            max_attempts: 1000,
        },
    );
    let held = killed.claim(4).await.expect("claim");
    assert_eq!(held.len(), 4);

    let replicas = [suite.filing_replica().await, suite.filing_replica().await];
    let supervisor = suite.supervisor().await;
    let applied = |ids: Vec<String>| {
        let supervisor = supervisor.clone();
        async move {
            let mut count = 0;
            for id in &ids {
                let filing = get(&mut supervisor.clone(), id).await;
                if filing.application_state == ApplicationState::Applied as i32 {
                    count += 1;
                }
            }
            count
        }
    };
    eventually(
        "the unclaimed applications",
        Duration::from_secs(30),
        || {
            let applied = applied(ids.clone());
            async move { (applied.await == FILINGS - 4).then_some(()) }
        },
    )
    .await;
    assert_eq!(
        jobs::count(suite.filing_db.conn(), apply::QUEUE, JobState::Running)
            .await
            .expect("count"),
        4,
        "the killed replica's jobs wait for its lease"
    );
    // Its lease runs out: the live replicas take the work over.
    suite.time().advance(chrono::Duration::seconds(15));
    eventually(
        "the taken-over applications",
        Duration::from_secs(30),
        || {
            let applied = applied(ids.clone());
            async move { (applied.await == FILINGS).then_some(()) }
        },
    )
    .await;
    // The killed replica, come back, records nothing over its successors.
    for job in &held {
        assert!(
            !killed
                .settle(job, &govmedia_kit::jobs::Outcome::Done)
                .await
                .expect("settle")
        );
    }

    // Exactly once: one APPLIED step per filing, one registration per account.
    let mut ledger = suite.ledger_direct().await;
    for id in &ids {
        let filing = get(&mut supervisor.clone(), id).await;
        let steps = filing
            .timeline
            .iter()
            .filter(|entry| entry.action == FilingAction::Applied as i32)
            .count();
        assert_eq!(steps, 1, "{id}: {:?}", filing.timeline);
        let registrations = ledger
            .list_audit_records(rpb::ListAuditRecordsRequest {
                resource: format!("accounts/{id}"),
                page_size: 100,
                ..Default::default()
            })
            .await
            .expect("audit")
            .into_inner()
            .records
            .iter()
            .filter(|record| record.action == "CreateAccount")
            .count();
        assert_eq!(registrations, 1, "{id}");
    }
    for state in [JobState::Ready, JobState::Running, JobState::Dead] {
        assert_eq!(
            jobs::count(suite.filing_db.conn(), apply::QUEUE, state)
                .await
                .expect("count"),
            0
        );
    }
    for replica in replicas {
        replica.cancel();
    }
}
backend_test!(
    two_replicas_apply_each_filing_once_and_take_over_a_killed_ones_work_on,
    two_replicas_apply_each_filing_once_and_take_over_a_killed_ones_work
);
