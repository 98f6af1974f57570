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

/// With the waiting limits at zero days, a submitted filing is overdue at once: it is listed as
/// overdue, and the reminder records and announces it once.
async fn overdue_filings_are_listed_and_reminded_once(backend: Backend) {
    let suite = Suite::spawn_with(
        backend,
        Options {
            overdue_at_once: true,
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
    submit(&mut operator, "edu-weibo").await.expect("submit");

    let overdue = list(
        &mut operator,
        pb::ListFilingsRequest {
            overdue_only: true,
            ..Default::default()
        },
    )
    .await;
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

    // Several more reminder rounds later, still one reminder for this wait.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let filing = get(&mut operator, "edu-weibo").await;
    assert_eq!(
        filing
            .timeline
            .iter()
            .filter(|entry| entry.action == FilingAction::Overdue as i32)
            .count(),
        1,
        "{:?}",
        reminded.timeline
    );
    // The next wait (for the department) gets its own reminder.
    consent(&mut suite.leader().await, "edu-weibo")
        .await
        .expect("consent");
    eventually("the second reminder", Duration::from_secs(20), || {
        let mut operator = operator.clone();
        async move {
            let filing = get(&mut operator, "edu-weibo").await;
            (filing
                .timeline
                .iter()
                .filter(|entry| entry.action == FilingAction::Overdue as i32)
                .count()
                == 2)
                .then_some(())
        }
    })
    .await;
}
backend_test!(
    overdue_filings_are_listed_and_reminded_once_on,
    overdue_filings_are_listed_and_reminded_once
);
