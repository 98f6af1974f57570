//! Criticism notices and the quarterly bulletin through the gateway: notices cite what they
//! rest on and stay within the issuer's reach; the bulletin counts each account's latest check
//! of the quarter, exactly as the checks say, in both editions and both documents.

use std::collections::BTreeMap;

use govmedia_kit::auth::Role;
use govmedia_proto::{common::v1::ProblemCategory, inspection::v1 as pb};
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;

use crate::{helpers::*, rectification::findings};

fn notice(organization: &str, findings: &[&str], period: &str) -> pb::IssueCriticismNoticeRequest {
    pb::IssueCriticismNoticeRequest {
        organization: organization.into(),
        period: period.into(),
        title: "关于格尔木市教育局政务新媒体严重表述错误的通报".into(),
        text: "经检查，该单位账号出现严重表述错误，审核把关不严，予以通报批评。".into(),
        findings: findings.iter().map(|f| (*f).to_owned()).collect(),
        orders: vec![],
        request_id: String::new(),
        notice_id: String::new(),
    }
}

fn bulletin_request(period: &str, edition: pb::BulletinEdition) -> pb::GetBulletinRequest {
    pb::GetBulletinRequest {
        organization: "organizations/golmud".into(),
        period: period.into(),
        edition: edition as i32,
    }
}

/// What the checks of Golmud's accounts say: each account's latest check, by outcome.
async fn latest_outcomes(client: &mut Inspection) -> BTreeMap<String, i32> {
    let checks = client
        .list_checks(pb::ListChecksRequest {
            organization: "organizations/golmud".into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("checks")
        .into_inner()
        .checks;
    let mut latest = BTreeMap::new();
    // Newest first: the first seen of an account is its latest.
    for check in checks {
        latest.entry(check.account).or_insert(check.outcome);
    }
    latest
}

backend_test!(
    notices_and_the_quarterly_bulletin_match_the_checks,
    notices_and_bulletin
);

async fn notices_and_bulletin(backend: Backend) {
    let suite = Suite::spawn(backend, NOW).await;
    let (finding, edu_finding, _) = findings(&suite).await;
    let mut supervisor = suite.supervisor().await;
    // The service account is checked too; the Xining account is outside Golmud.
    check(&mut supervisor, "golmud-service", "").await;
    let mut xining = suite.xining_supervisor().await;
    check(&mut xining, "xining-edu-weibo", "").await;
    let order = supervisor
        .open_rectification_order(pb::OpenRectificationOrderRequest {
            findings: vec![finding.clone()],
            requirement: "删除错误表述".into(),
            deadline_working_days: 5,
            request_id: String::new(),
            order_id: "golmud-wechat-2026-1".into(),
        })
        .await
        .expect("order")
        .into_inner();

    // Notices: refused when they cite nothing, cite another unit's finding, or come early.
    let mut operator = suite
        .client("li.operator", "golmud", &[Role::Operator])
        .await;
    assert_error(
        operator
            .issue_criticism_notice(notice(
                "organizations/golmud-edu",
                &[&edu_finding],
                "2026-Q4",
            ))
            .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    assert_invalid(
        supervisor
            .issue_criticism_notice(notice("organizations/golmud-edu", &[], "2026-Q4"))
            .await,
        "findings",
    );
    assert_invalid(
        supervisor
            .issue_criticism_notice(notice("organizations/golmud-edu", &[&finding], "2026-Q4"))
            .await,
        "findings[0]",
    );
    assert_invalid(
        supervisor
            .issue_criticism_notice(notice(
                "organizations/golmud-edu",
                &[&edu_finding],
                "2027-Q1",
            ))
            .await,
        "period",
    );
    assert_error(
        xining
            .issue_criticism_notice(notice(
                "organizations/golmud-edu",
                &[&edu_finding],
                "2026-Q4",
            ))
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    let issued = supervisor
        .issue_criticism_notice(notice(
            "organizations/golmud-edu",
            &[&edu_finding],
            "2026-Q4",
        ))
        .await
        .expect("notice")
        .into_inner();
    assert_eq!(issued.organization, "organizations/golmud-edu");
    let listed = |period: &str| pb::ListCriticismNoticesRequest {
        period: period.into(),
        ..Default::default()
    };
    for (period, count) in [("", 1), ("2026", 1), ("2026-Q4", 1), ("2026-Q3", 0)] {
        let notices = operator
            .list_criticism_notices(listed(period))
            .await
            .expect("notices")
            .into_inner()
            .notices;
        assert_eq!(notices.len(), count, "period {period:?}");
    }
    assert_invalid(
        operator.list_criticism_notices(listed("2026-5")).await,
        "period",
    );
    assert!(
        xining
            .list_criticism_notices(listed(""))
            .await
            .expect("notices")
            .into_inner()
            .notices
            .is_empty()
    );
    assert_error(
        xining
            .get_criticism_notice(pb::GetCriticismNoticeRequest {
                name: issued.name.clone(),
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );

    // The internal bulletin of the running quarter: a draft whose numbers are the checks'.
    let outcomes = latest_outcomes(&mut supervisor).await;
    let count =
        |outcome: pb::Outcome| outcomes.values().filter(|o| **o == outcome as i32).count() as i32;
    let draft = supervisor
        .get_bulletin(bulletin_request("2026-Q4", pb::BulletinEdition::Internal))
        .await
        .expect("bulletin")
        .into_inner();
    assert!(draft.draft);
    assert_eq!(draft.accounts_checked, outcomes.len() as i32);
    assert_eq!(draft.passed, count(pb::Outcome::Pass));
    assert_eq!(draft.failed, count(pb::Outcome::Fail));
    assert_eq!(draft.incomplete, count(pb::Outcome::Incomplete));
    assert_eq!(draft.failed, 2, "{outcomes:?}");
    assert_eq!(
        draft
            .vetoes
            .iter()
            .find(|v| v.category == ProblemCategory::LaxReview as i32)
            .map(|v| v.accounts),
        Some(2)
    );
    let rectification = draft.rectification.expect("rectification");
    assert_eq!((rectification.opened, rectification.in_progress), (1, 1));
    assert_eq!(draft.criticised.len(), 1);
    assert_eq!(draft.criticised[0].organization, "organizations/golmud-edu");
    assert!(
        draft
            .failing
            .iter()
            .all(|f| !f.problems.is_empty() && !f.check.is_empty())
    );
    assert!(
        !draft
            .failing
            .iter()
            .any(|f| f.account == "accounts/xining-edu-weibo")
    );
    assert!(!draft.notes.is_empty());
    // Not public before the quarter is over.
    assert_error(
        supervisor
            .get_bulletin(bulletin_request("2026-Q4", pb::BulletinEdition::Public))
            .await,
        Code::FailedPrecondition,
        "PERIOD_NOT_OVER",
    );
    assert_invalid(
        supervisor
            .get_bulletin(bulletin_request("2027-Q1", pb::BulletinEdition::Internal))
            .await,
        "period",
    );
    assert_error(
        xining
            .get_bulletin(bulletin_request("2026-Q4", pb::BulletinEdition::Internal))
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_error(
        operator
            .get_bulletin(bulletin_request("2026-Q4", pb::BulletinEdition::Internal))
            .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );

    // The quarter over: the public edition, without internal notes; the order now overdue.
    suite.time.set(at("2027-01-04T09:00:00+08:00"));
    let mut supervisor = suite.supervisor().await;
    let public = supervisor
        .get_bulletin(bulletin_request("2026-Q4", pb::BulletinEdition::Public))
        .await
        .expect("public bulletin")
        .into_inner();
    assert!(!public.draft);
    assert_eq!(public.accounts_checked, draft.accounts_checked);
    assert_eq!(public.failed, draft.failed);
    assert!(public.notes.is_empty());
    assert!(
        public
            .failing
            .iter()
            .all(|f| f.problems.is_empty() && f.check.is_empty())
    );
    let rectification = public.rectification.expect("rectification");
    assert_eq!(
        (rectification.opened, rectification.overdue),
        (1, 1),
        "{order:?}"
    );

    // The documents carry the same numbers.
    let export =
        |edition: pb::BulletinEdition, format: pb::BulletinFormat| pb::ExportBulletinRequest {
            organization: "organizations/golmud".into(),
            period: "2026-Q4".into(),
            edition: edition as i32,
            format: format as i32,
        };
    let html = supervisor
        .export_bulletin(export(
            pb::BulletinEdition::Public,
            pb::BulletinFormat::Html,
        ))
        .await
        .expect("html")
        .into_inner();
    assert_eq!(html.media_type, "text/html; charset=utf-8");
    assert_eq!(html.file_name, "bulletin-golmud-2026-Q4-public.html");
    let page = String::from_utf8(html.content).expect("utf-8");
    for (metric, value) in [
        ("accounts_checked", public.accounts_checked),
        ("passed", public.passed),
        ("failed", public.failed),
        ("rectification_overdue", 1),
        ("criticised_units", 1),
    ] {
        assert!(
            page.contains(&format!("data-metric=\"{metric}\">{value}<")),
            "{metric} = {value} in the page"
        );
    }
    assert!(page.contains("Content-Security-Policy") && page.contains("<svg"));
    assert!(!page.contains("<script") && !page.contains("http-equiv=\"refresh\""));
    assert!(!page.contains("问题（内部）") && !page.contains("统计说明"));
    let workbook = supervisor
        .export_bulletin(export(
            pb::BulletinEdition::Internal,
            pb::BulletinFormat::Xlsx,
        ))
        .await
        .expect("xlsx")
        .into_inner();
    assert_eq!(&workbook.content[..2], b"PK");
    assert!(workbook.file_name.ends_with("-internal.xlsx"));

    // A notice belongs to the quarter running or the one just over: an older quarter's
    // bulletin is not rewritten.
    assert_invalid(
        supervisor
            .issue_criticism_notice(notice(
                "organizations/golmud-edu",
                &[&edu_finding],
                "2026-Q3",
            ))
            .await,
        "period",
    );
    // Without a filing service the rollup says it cannot count closures, and says why.
    let rollup = supervisor
        .get_annual_rollup(pb::GetAnnualRollupRequest {
            organization: "organizations/golmud-edu".into(),
            year: 2026,
        })
        .await
        .expect("rollup")
        .into_inner();
    assert!(rollup.complete);
    let closures = rollup.closures.expect("closures");
    assert!(!closures.available && closures.unavailable_reason.contains("filing_endpoint"));
    assert_eq!(rollup.notices, std::slice::from_ref(&issued.name));
    assert!(rollup.summary.contains("关停注销情况暂无法统计"));
}
