//! Applying accepted filings to the registry exactly once, whatever the registry does meanwhile.

use govmedia_kit::auth::Role;
use govmedia_proto::{
    common::v1::Platform,
    filing::v1::{ApplicationState, FilingAction, FilingState},
    registry::v1::{self as rpb, AccountStatus},
};
use govmedia_test_support::{Backend, backend_test};

use crate::helpers::*;

/// Audit records of the registry for `method` on `resource`: how often the ledger changed.
async fn registry_changes(suite: &Suite, method: &str, resource: &str) -> usize {
    suite
        .ledger_direct()
        .await
        .list_audit_records(rpb::ListAuditRecordsRequest {
            resource: resource.into(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("audit records")
        .into_inner()
        .records
        .iter()
        .filter(|record| record.action == method)
        .count()
}

/// The registry goes away right after acceptance and comes back: the filing waits in
/// APPLYING, then is applied, once.
async fn the_registry_down_during_acceptance_delays_the_change_once(backend: Backend) {
    let mut suite = Suite::spawn_with(
        backend,
        Options {
            no_workers: true,
            ..Options::default()
        },
    )
    .await;
    let accepted = file_and_accept(
        &suite,
        "edu-weibo",
        open_filing(Platform::Weibo, "格尔木教育"),
    )
    .await;
    assert_eq!(accepted.state, FilingState::Accepted as i32);
    assert_eq!(
        accepted.application_state,
        ApplicationState::Applying as i32
    );

    suite.stop_registry().await;
    let applier = suite.applier();
    applier.pass().await.expect("a pass with the registry down");
    // Reading filings needs the registry too (it says who sees what): look in the table.
    let waiting = govmedia_filing::store::filings::get(suite.filing_db.conn(), "edu-weibo")
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        waiting.application.state,
        Some(govmedia_filing::domain::ApplicationState::Applying)
    );
    assert_eq!(waiting.application.attempts, 1);
    // Its job waits for the backoff.
    let job = govmedia_kit::jobs::get(
        suite.filing_db.conn(),
        &govmedia_kit::jobs::job_id(govmedia_filing::apply::QUEUE, "edu-weibo"),
    )
    .await
    .expect("read")
    .expect("the job");
    assert_eq!(job.state, govmedia_kit::jobs::JobState::Ready);
    assert_eq!(job.attempts, 1);
    assert!(job.last_error.contains("could not be reached"), "{job:?}");
    assert!(
        waiting.application.error.contains("could not be reached"),
        "{}",
        waiting.application.error
    );
    assert!(
        !waiting.application.error.contains("tcp"),
        "no transport internals: {}",
        waiting.application.error
    );
    let mut operator = suite.operator().await;

    suite.start_registry().await;
    // Retries back off; within the test's short backoff, passes apply it.
    govmedia_test_support::eventually(
        "the application after the registry is back",
        std::time::Duration::from_secs(20),
        || {
            let applier = applier.clone();
            let mut operator = operator.clone();
            async move {
                applier.pass().await.ok()?;
                let filing = get(&mut operator, "edu-weibo").await;
                (filing.application_state == ApplicationState::Applied as i32).then_some(())
            }
        },
    )
    .await;

    // More passes, and a second applier replaying the same application, change nothing.
    applier.pass().await.expect("pass");
    let filing = get(&mut operator, "edu-weibo").await;
    assert_eq!(
        filing
            .timeline
            .iter()
            .filter(|entry| entry.action == FilingAction::Applied as i32)
            .count(),
        1
    );
    assert_eq!(
        registry_changes(&suite, "CreateAccount", "accounts/edu-weibo").await,
        1,
        "the ledger changed once"
    );
    let account = suite
        .ledger("golmud-edu", &[Role::Operator])
        .await
        .get_account(rpb::GetAccountRequest {
            name: "accounts/edu-weibo".into(),
        })
        .await
        .expect("registered")
        .into_inner();
    assert_eq!(account.status, AccountStatus::Filed as i32);
}
backend_test!(
    the_registry_down_during_acceptance_delays_the_change_once_on,
    the_registry_down_during_acceptance_delays_the_change_once
);

/// An application whose answer was lost is sent again; the registry answers from its key and
/// the ledger changes once. An application the ledger refuses ends FAILED with the reason.
async fn repeated_and_refused_applications(backend: Backend) {
    let suite = Suite::spawn_with(
        backend,
        Options {
            no_workers: true,
            ..Options::default()
        },
    )
    .await;
    file_and_accept(
        &suite,
        "edu-weibo",
        open_filing(Platform::Weibo, "格尔木教育"),
    )
    .await;
    // Two appliers at once (two replicas): one outcome recorded, one change in the ledger.
    let (first, second) = (suite.applier(), suite.applier());
    let (a, b) = tokio::join!(first.pass(), second.pass());
    a.expect("first pass");
    b.expect("second pass");
    let mut operator = suite.operator().await;
    let filing = get(&mut operator, "edu-weibo").await;
    assert_eq!(filing.application_state, ApplicationState::Applied as i32);
    assert_eq!(
        registry_changes(&suite, "CreateAccount", "accounts/edu-weibo").await,
        1
    );

    // The account is cancelled behind the filing's back (a paper filing); a CHANGE accepted
    // before that cannot apply any more.
    let mut change = filing_about(govmedia_proto::filing::v1::FilingKind::Change, "edu-weibo");
    change.account = Some(rpb::Account {
        display_name: "新名称".into(),
        ..Default::default()
    });
    change.change_mask = Some(prost_types::FieldMask {
        paths: vec!["display_name".into()],
    });
    file_and_accept(&suite, "edu-weibo-rename", change).await;
    suite
        .ledger_applying("filings/paper-2026-3")
        .await
        .cancel_account(rpb::CancelAccountRequest {
            name: "accounts/edu-weibo".into(),
            filing: "filings/paper-2026-3".into(),
            reason: "纸质备案注销".into(),
            ..Default::default()
        })
        .await
        .expect("cancel behind the filing's back");
    suite.applier().pass().await.expect("pass");
    let failed = get(&mut operator, "edu-weibo-rename").await;
    assert_eq!(failed.application_state, ApplicationState::Failed as i32);
    assert!(
        failed.application_error.contains("INVALID_TRANSITION"),
        "{}",
        failed.application_error
    );
    assert_eq!(
        failed.timeline.last().expect("entry").action,
        FilingAction::ApplicationFailed as i32
    );
}
backend_test!(
    repeated_and_refused_applications_on,
    repeated_and_refused_applications
);
