//! Consolidation through the gateway: a unit's little-used account of one function is to merge
//! into its busiest, a silent one to close, with the numbers that say so.

use govmedia_kit::auth::Role;
use govmedia_proto::{
    common::v1::{AccountKind, Platform as PlatformKind},
    inspection::v1 as pb,
    registry::v1 as rpb,
};
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;

use crate::helpers::*;

backend_test!(
    little_used_and_silent_accounts_are_consolidation_candidates,
    consolidation
);

async fn consolidation(backend: Backend) {
    let suite = Suite::spawn(backend, NOW).await;
    // A second publishing account of Golmud, on Weibo, that nobody reads.
    let basis = "filings/paper-2021-3";
    let mut applying = suite.ledger(Some(basis)).await;
    applying
        .create_account(rpb::CreateAccountRequest {
            account_id: "golmud-weibo".into(),
            account: Some(rpb::Account {
                organization: "organizations/golmud".into(),
                platform: PlatformKind::Weibo as i32,
                display_name: "格尔木微博".into(),
                kind: AccountKind::Publishing as i32,
                operator: Some(rpb::Operator {
                    r#type: rpb::OperatorType::Self_ as i32,
                    vendor: String::new(),
                }),
                responsible_person: Some(rpb::Contact {
                    name: "王敏".into(),
                    title: "办公室主任".into(),
                    phone: "0979-8412345".into(),
                }),
                verified_subject: "golmud 单位".into(),
                justification: "面向青年群体的第二渠道".into(),
                ..Default::default()
            }),
            filing: basis.into(),
            request_id: String::new(),
        })
        .await
        .expect("second account");
    applying
        .activate_account(rpb::ActivateAccountRequest {
            name: "accounts/golmud-weibo".into(),
            platform_account_id: "pid-golmud-weibo".into(),
            filing: basis.into(),
            ..Default::default()
        })
        .await
        .expect("activate");
    let mut collector = suite.collector().await;
    let mut posts = Vec::new();
    for day in 1..=20 {
        let mut busy = post(
            "golmud-wechat",
            &format!("wx-{day}"),
            &format!("2026-11-{day:02}T09:00:00+08:00"),
            "我市冬季供暖工作有序推进。",
        );
        busy.reads = 5_000;
        busy.likes = 40;
        posts.push(busy);
    }
    let mut quiet = post(
        "golmud-weibo",
        "wb-1",
        "2026-11-02T09:00:00+08:00",
        "转发：天气预报。",
    );
    quiet.reads = 12;
    posts.push(quiet);
    let response = stream(&mut collector, posts).await;
    assert_eq!(response.refused, 0, "{response:?}");

    let mut supervisor = suite.supervisor().await;
    let answer = supervisor
        .list_consolidation_candidates(pb::ListConsolidationCandidatesRequest::default())
        .await
        .expect("candidates")
        .into_inner();
    assert_eq!(answer.window_days, 90);
    // No routing service in this suite: messages are not counted, and the answer says why.
    assert!(
        answer
            .messages_unavailable_reason
            .contains("routing_endpoint")
    );
    let advice: Vec<(&str, i32, &str)> = answer
        .candidates
        .iter()
        .map(|c| (c.account.as_str(), c.advice, c.merge_into.as_str()))
        .collect();
    assert!(
        advice.contains(&(
            "accounts/golmud-weibo",
            pb::ConsolidationAdvice::Merge as i32,
            "accounts/golmud-wechat"
        )),
        "{advice:?}"
    );
    // The education bureau's account published nothing in the window: to close. The service
    // account published nothing either, but a service account owes no posts: it is judged by
    // its use, and has no other of its kind to merge into.
    assert!(
        advice.contains(&(
            "accounts/golmud-edu-wechat",
            pb::ConsolidationAdvice::Close as i32,
            ""
        )),
        "{advice:?}"
    );
    assert!(
        !advice
            .iter()
            .any(|(account, ..)| *account == "accounts/golmud-service"),
        "{advice:?}"
    );
    assert!(
        !advice
            .iter()
            .any(|(account, ..)| *account == "accounts/golmud-wechat")
    );
    // Cancelled accounts are no candidates; Xining's are outside Golmud's office.
    assert!(
        !advice
            .iter()
            .any(|(account, ..)| account.contains("douyin") || account.contains("xining"))
    );
    let weibo = answer
        .candidates
        .iter()
        .find(|c| c.account == "accounts/golmud-weibo")
        .expect("weibo");
    let figures = weibo.figures.expect("figures");
    assert_eq!((figures.posts, figures.reads), (1, 12));
    assert_eq!(figures.messages, None);
    assert!(
        weibo.reasons.iter().any(|r| r.contains("篇均阅读 12")),
        "{:?}",
        weibo.reasons
    );

    // Paged, the same list.
    let first = supervisor
        .list_consolidation_candidates(pb::ListConsolidationCandidatesRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("page")
        .into_inner();
    assert_eq!(first.candidates.len(), 1);
    let rest = supervisor
        .list_consolidation_candidates(pb::ListConsolidationCandidatesRequest {
            page_size: 100,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .expect("page")
        .into_inner();
    assert_eq!(1 + rest.candidates.len(), answer.candidates.len());
    assert_error(
        supervisor
            .list_consolidation_candidates(pb::ListConsolidationCandidatesRequest {
                organization: "organizations/golmud-edu".into(),
                page_token: first.next_page_token,
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "INVALID_PAGE_TOKEN",
    );
    let mut xining = suite.xining_supervisor().await;
    assert_error(
        xining
            .list_consolidation_candidates(pb::ListConsolidationCandidatesRequest {
                organization: "organizations/golmud".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    let mut operator = suite
        .client("li.operator", "golmud", &[Role::Operator])
        .await;
    assert_error(
        operator
            .list_consolidation_candidates(pb::ListConsolidationCandidatesRequest::default())
            .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
}
