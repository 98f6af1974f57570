use govmedia_kit::auth::Role;
use govmedia_proto::{
    common::v1::{AdministrativeLevel, Platform},
    registry::v1::{self as pb, AccountStatus, CountDimension},
};
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;

use crate::helpers::{
    TestApp, activate, assert_error, assert_invalid, new_account, open_account, seed_tree,
};

async fn headcount_and_coverage_are_exact_per_subtree(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    for (id, org, platform) in [
        ("o-wechat", "golmud-office", Platform::WechatOfficialAccount),
        ("o-weibo", "golmud-office", Platform::Weibo),
        ("o-douyin", "golmud-office", Platform::Douyin),
        ("e-wechat", "golmud-edu", Platform::WechatOfficialAccount),
    ] {
        open_account(&app, id, new_account(org, platform, "账号"))
            .await
            .expect("create");
    }
    activate(&app, "o-wechat", "gh_o").await.expect("activate");
    activate(&app, "o-weibo", "weibo_o")
        .await
        .expect("activate");

    let mut supervisor = app.client("golmud", &[Role::Supervisor]).await;
    let count = |group_by: Vec<CountDimension>| pb::CountAccountsRequest {
        organization: String::new(),
        group_by: group_by.into_iter().map(|d| d as i32).collect(),
    };
    let total = supervisor
        .count_accounts(count(vec![]))
        .await
        .expect("count")
        .into_inner();
    assert_eq!(total.total, 4);
    assert_eq!(total.groups.len(), 1);
    let by_status = supervisor
        .count_accounts(count(vec![CountDimension::Status]))
        .await
        .expect("count")
        .into_inner();
    let pairs: Vec<(i32, i64)> = by_status
        .groups
        .iter()
        .map(|g| (g.status, g.count))
        .collect();
    assert_eq!(
        pairs,
        [
            (AccountStatus::Filed as i32, 2),
            (AccountStatus::Active as i32, 2)
        ]
    );
    assert!(
        by_status
            .groups
            .iter()
            .all(|g| g.platform == 0 && g.level == 0)
    );
    let by_platform_status = supervisor
        .count_accounts(count(vec![
            CountDimension::Platform,
            CountDimension::Status,
            CountDimension::Level,
        ]))
        .await
        .expect("count")
        .into_inner();
    assert_eq!(by_platform_status.total, 4);
    let wechat: i64 = by_platform_status
        .groups
        .iter()
        .filter(|g| g.platform == Platform::WechatOfficialAccount as i32)
        .map(|g| g.count)
        .sum();
    assert_eq!(wechat, 2);
    assert!(
        by_platform_status
            .groups
            .iter()
            .all(|g| g.level == AdministrativeLevel::County as i32)
    );
    let repeated = supervisor
        .count_accounts(count(vec![CountDimension::Kind, CountDimension::Kind]))
        .await;
    assert_invalid(repeated, "group_by[1]");

    let edu = supervisor
        .count_accounts(pb::CountAccountsRequest {
            organization: "organizations/golmud-edu".into(),
            group_by: vec![],
        })
        .await
        .expect("count")
        .into_inner();
    assert_eq!(edu.total, 1);
    let mut xining = app.client("xining", &[Role::Supervisor]).await;
    assert_error(
        xining
            .count_accounts(pb::CountAccountsRequest {
                organization: "organizations/golmud".into(),
                group_by: vec![],
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );

    // golmud (government) and golmud-edu must have an active account; golmud-office has one.
    let gaps = supervisor
        .list_coverage_gaps(pb::ListCoverageGapsRequest::default())
        .await
        .expect("gaps")
        .into_inner();
    let names: Vec<_> = gaps
        .gaps
        .iter()
        .map(|g| {
            (
                g.organization.as_ref().expect("org").name.as_str(),
                g.filed_accounts,
            )
        })
        .collect();
    assert_eq!(
        names,
        [("organizations/golmud", 0), ("organizations/golmud-edu", 1)]
    );
    assert_eq!(gaps.total_size, 2);
    activate(&app, "e-wechat", "gh_e").await.expect("activate");
    let gaps = supervisor
        .list_coverage_gaps(pb::ListCoverageGapsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("gaps")
        .into_inner();
    assert_eq!(gaps.total_size, 1);
    assert!(gaps.next_page_token.is_empty());
}
backend_test!(
    headcount_and_coverage_are_exact_per_subtree_on,
    headcount_and_coverage_are_exact_per_subtree
);

async fn the_audit_trail_pages_backwards_and_stays_chained(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    let mut auditor = app.client("qinghai", &[Role::Auditor]).await;
    let mut sequences = Vec::new();
    let mut token = String::new();
    loop {
        let page = auditor
            .list_audit_records(pb::ListAuditRecordsRequest {
                page_size: 4,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .expect("audit")
            .into_inner();
        for record in &page.records {
            assert_eq!(record.hash.len(), 64);
            assert_eq!(
                record.stamp.as_ref().expect("stamp").actor,
                "govmedia-filing"
            );
        }
        sequences.extend(page.records.iter().map(|r| r.sequence));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(sequences, [6, 5, 4, 3, 2, 1]);
    let mut golmud = app.client("golmud", &[Role::Auditor]).await;
    let subtree = golmud
        .list_audit_records(pb::ListAuditRecordsRequest::default())
        .await
        .expect("audit")
        .into_inner();
    assert_eq!(subtree.records.len(), 3, "golmud and its two departments");
    assert_eq!(crate::helpers::audit_count(&app).await, 6);
}
backend_test!(
    the_audit_trail_pages_backwards_and_stays_chained_on,
    the_audit_trail_pages_backwards_and_stays_chained
);
