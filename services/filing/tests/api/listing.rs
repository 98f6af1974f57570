//! Listing filings: by subtree, by what waits for the caller, overdue ones (and their
//! reminders), page by page.

use std::time::Duration;

use govmedia_kit::auth::Role;
use govmedia_proto::{
    common::v1::Platform,
    filing::v1::{self as pb, FilingAction, FilingKind, FilingState},
};
use govmedia_test_support::{Backend, backend_test, eventually, next_event};
use prost::Message;

use crate::helpers::*;

async fn list(client: &mut Filings, request: pb::ListFilingsRequest) -> pb::ListFilingsResponse {
    client
        .list_filings(request)
        .await
        .expect("list")
        .into_inner()
}

fn ids(response: &pb::ListFilingsResponse) -> Vec<&str> {
    response
        .filings
        .iter()
        .map(|filing| filing.name.trim_start_matches("filings/"))
        .collect()
}

async fn each_party_sees_what_waits_for_it(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut operator = suite.operator().await;
    for (id, platform) in [
        ("edu-weibo", Platform::Weibo),
        ("edu-douyin", Platform::Douyin),
        ("edu-toutiao", Platform::Toutiao),
    ] {
        create(&mut operator, id, open_filing(platform, id))
            .await
            .expect("create");
    }
    submit(&mut operator, "edu-weibo").await.expect("submit");
    submit(&mut operator, "edu-douyin").await.expect("submit");
    let mut leader = suite.leader().await;
    consent(&mut leader, "edu-douyin").await.expect("consent");

    // Newest first, the whole subtree of the caller.
    let all = list(&mut operator, pb::ListFilingsRequest::default()).await;
    assert_eq!(ids(&all), ["edu-toutiao", "edu-douyin", "edu-weibo"]);
    assert!(all.filings.iter().all(|filing| filing.timeline.is_empty()));

    let awaiting = pb::ListFilingsRequest {
        awaiting_caller: true,
        ..Default::default()
    };
    assert_eq!(
        ids(&list(&mut leader, awaiting.clone()).await),
        ["edu-weibo"]
    );
    let mut supervisor = suite.supervisor().await;
    assert_eq!(
        ids(&list(&mut supervisor, awaiting.clone()).await),
        ["edu-douyin"]
    );
    assert!(list(&mut operator, awaiting).await.filings.is_empty());

    // The department sees its government's subtree; another unit sees nothing of it.
    let drafts = list(
        &mut supervisor,
        pb::ListFilingsRequest {
            state: FilingState::Draft as i32,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&drafts), ["edu-toutiao"]);
    let mut health = suite.filings("op", "golmud-health", Role::Operator).await;
    assert!(
        list(&mut health, pb::ListFilingsRequest::default())
            .await
            .filings
            .is_empty()
    );
    assert_error(
        health
            .list_filings(pb::ListFilingsRequest {
                organization: "organizations/golmud-edu".into(),
                ..Default::default()
            })
            .await,
        tonic::Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );

    // Page by page; a token with other filters is refused.
    let first = list(
        &mut operator,
        pb::ListFilingsRequest {
            page_size: 2,
            kind: FilingKind::Open as i32,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&first), ["edu-toutiao", "edu-douyin"]);
    let second = list(
        &mut operator,
        pb::ListFilingsRequest {
            page_size: 2,
            kind: FilingKind::Open as i32,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&second), ["edu-weibo"]);
    assert!(second.next_page_token.is_empty());
    let status = assert_error(
        operator
            .list_filings(pb::ListFilingsRequest {
                page_size: 2,
                page_token: first.next_page_token,
                ..Default::default()
            })
            .await,
        tonic::Code::InvalidArgument,
        "INVALID_PAGE_TOKEN",
    );
    assert!(status.message().contains("page_token"), "{status:?}");
}
backend_test!(
    each_party_sees_what_waits_for_it_on,
    each_party_sees_what_waits_for_it
);

/// Waits count working days of the official calendar. A filing submitted on the eve of
/// National Day 2026 is due at the end of Tuesday 13 October (8, 9, the make-up Saturday 10, 12
/// and 13 October), not on 7 October as weekdays alone would say; it is listed as overdue from
/// then and reminded once; the department's wait then gets its own due time and reminder.
/// Through the gateway, on a clock the test moves.
async fn waits_are_due_in_working_days_and_reminded_once(backend: Backend) {
    let suite = Suite::spawn_with(
        backend,
        Options {
            gateway: true,
            clock_at: Some(at("2026-09-30T15:00:00+08:00")),
            ..Options::default()
        },
    )
    .await;
    let mut operator = suite.operator().await;
    create(
        &mut operator,
        "edu-weibo",
        open_filing(Platform::Weibo, "格尔木教育"),
    )
    .await
    .expect("create");
    create(
        &mut operator,
        "edu-draft",
        open_filing(Platform::Douyin, "草稿"),
    )
    .await
    .expect("create");
    let submitted = submit(&mut operator, "edu-weibo").await.expect("submit");
    assert_eq!(
        submitted.due_time,
        Some(timestamp("2026-10-14T00:00:00+08:00"))
    );
    assert!(!submitted.overdue);
    let overdue_only = pb::ListFilingsRequest {
        overdue_only: true,
        ..Default::default()
    };

    suite.time().set(at("2026-10-13T23:59:59+08:00"));
    assert!(
        list(&mut operator, overdue_only.clone())
            .await
            .filings
            .is_empty()
    );
    assert_eq!(suite.reminder().pass().await.expect("reminder"), 0);

    suite.time().set(at("2026-10-14T00:00:00+08:00"));
    let overdue = list(&mut operator, overdue_only.clone()).await;
    assert_eq!(ids(&overdue), ["edu-weibo"], "drafts wait for nobody");
    assert!(overdue.filings[0].overdue);

    let reminded = eventually("the reminder", Duration::from_secs(20), || {
        let mut operator = operator.clone();
        async move {
            let filing = get(&mut operator, "edu-weibo").await;
            filing
                .timeline
                .iter()
                .any(|entry| entry.action == FilingAction::Overdue as i32)
                .then_some(filing)
        }
    })
    .await;
    let event = next_event(&suite.bus, "filing", "reminder-test", |envelope| {
        pb::FilingChanged::decode(envelope.payload.as_slice())
            .is_ok_and(|changed| changed.action == FilingAction::Overdue as i32)
    })
    .await;
    assert_eq!(event.subject, "filings/edu-weibo");
    // Another pass finds nothing more to remind of this wait.
    assert_eq!(suite.reminder().pass().await.expect("reminder"), 0);
    let filing = get(&mut operator, "edu-weibo").await;
    let reminders = |filing: &pb::Filing| {
        filing
            .timeline
            .iter()
            .filter(|entry| entry.action == FilingAction::Overdue as i32)
            .count()
    };
    assert_eq!(reminders(&filing), 1, "{:?}", reminded.timeline);

    // The department's wait: ten working days from 14 October end with 28 October.
    let consented = consent(&mut suite.leader().await, "edu-weibo")
        .await
        .expect("consent");
    assert_eq!(
        consented.due_time,
        Some(timestamp("2026-10-29T00:00:00+08:00"))
    );
    assert!(!consented.overdue);
    suite.time().set(at("2026-10-29T00:00:00+08:00"));
    eventually("the second reminder", Duration::from_secs(20), || {
        let mut operator = operator.clone();
        async move { (reminders(&get(&mut operator, "edu-weibo").await) == 2).then_some(()) }
    })
    .await;
}
backend_test!(
    waits_are_due_in_working_days_and_reminded_once_on,
    waits_are_due_in_working_days_and_reminded_once
);
