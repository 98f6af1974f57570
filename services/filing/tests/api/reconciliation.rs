//! Reconciliation: the ledger, the national reports and a platform roster imported as
//! CSV, compared; 误报, 漏报, 瞒报 and 僵尸号 listed by type. A bad roster is refused by line and
//! changes nothing.

use govmedia_kit::auth::Role;
use govmedia_proto::{
    common::v1::Platform,
    filing::v1::{self as pb, DiscrepancyType, FilingKind, ReportState},
    registry::v1 as rpb,
};
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::*;

fn roster(csv: &str, request_id: &str) -> pb::ImportRosterRequest {
    pb::ImportRosterRequest {
        organization: "organizations/golmud-edu".into(),
        platform: Platform::Weibo as i32,
        csv: csv.as_bytes().to_vec(),
        request_id: request_id.into(),
    }
}

async fn reconcile(client: &mut Filings, only: DiscrepancyType) -> pb::ReconcileResponse {
    client
        .reconcile(pb::ReconcileRequest {
            r#type: only as i32,
            ..Default::default()
        })
        .await
        .expect("reconcile")
        .into_inner()
}

/// Weibo: opened, bound, reported and confirmed, then renamed (the rename still queued).
/// Douyin: opened, never reported. The Weibo roster lists the bound account and one that was
/// never filed.
async fn setup(suite: &Suite) {
    let mut supervisor = suite.supervisor().await;
    file_and_accept(
        suite,
        "edu-weibo",
        open_filing(Platform::Weibo, "格尔木教育"),
    )
    .await;
    applied(suite, "edu-weibo").await;
    bind(suite, "edu-weibo", "7781234567").await;
    let names: Vec<String> = supervisor
        .list_reports(pb::ListReportsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .reports
        .into_iter()
        .map(|report| report.name)
        .collect();
    supervisor
        .mark_reports(pb::MarkReportsRequest {
            names,
            state: ReportState::Confirmed as i32,
            receipt: "青海-001".into(),
            request_id: "confirm-weibo".into(),
            ..Default::default()
        })
        .await
        .expect("confirm");
    let mut rename = filing_about(FilingKind::Change, "edu-weibo");
    rename.account = Some(rpb::Account {
        display_name: "格尔木市教育局".into(),
        ..rpb::Account::default()
    });
    rename.change_mask = Some(prost_types::FieldMask {
        paths: vec!["display_name".into()],
    });
    file_and_accept(suite, "edu-weibo-rename", rename).await;
    applied(suite, "edu-weibo-rename").await;
    file_and_accept(
        suite,
        "edu-douyin",
        open_filing(Platform::Douyin, "格尔木教育抖音"),
    )
    .await;
    applied(suite, "edu-douyin").await;
}

const ROSTER: &str = "平台账号ID,账号名称,认证主体\n\
                      7781234567,格尔木市教育局,格尔木市教育局\n\
                      9990001,格尔木教育发布,某文化传媒有限公司\n";

async fn discrepancies_are_listed_by_type(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    setup(&suite).await;
    let mut supervisor = suite.supervisor().await;
    let imported = supervisor
        .import_roster(roster(ROSTER, "roster-1"))
        .await
        .expect("import")
        .into_inner();
    assert_eq!(imported.entries, 2);
    assert_eq!(imported.organization, "organizations/golmud-edu");

    let all = reconcile(&mut supervisor, DiscrepancyType::Unspecified).await;
    assert_eq!(
        (all.wrong, all.missing, all.concealed),
        (1, 1, 1),
        "{all:#?}"
    );
    assert_eq!(
        (
            all.ledger_accounts,
            all.reported_accounts,
            all.roster_entries
        ),
        (2, 1, 2)
    );
    let [wrong, missing, concealed] = &all.discrepancies[..] else {
        panic!("three discrepancies: {all:#?}");
    };
    // 误报: the national system still holds the old name; the rename is queued.
    assert_eq!(wrong.r#type, DiscrepancyType::Wrong as i32);
    assert_eq!(wrong.account, "accounts/edu-weibo");
    assert_eq!(wrong.differences, ["display_name"]);
    assert!(wrong.report.starts_with("reports/"));
    assert!(wrong.unsent_report.starts_with("reports/"));
    assert_ne!(wrong.report, wrong.unsent_report);
    // 漏报: filed and registered, never reported.
    assert_eq!(missing.r#type, DiscrepancyType::Missing as i32);
    assert_eq!(missing.account, "accounts/edu-douyin");
    assert_eq!(missing.platform, Platform::Douyin as i32);
    // 瞒报: on the platform, never filed.
    assert_eq!(concealed.r#type, DiscrepancyType::Concealed as i32);
    assert_eq!(concealed.platform_account_id, "9990001");
    assert_eq!(concealed.display_name, "格尔木教育发布");
    assert_eq!(concealed.roster_organization, "organizations/golmud-edu");
    assert_eq!(concealed.roster_line, 3);
    assert!(concealed.account.is_empty());

    // One type at a time, and page by page.
    let only = reconcile(&mut supervisor, DiscrepancyType::Concealed).await;
    assert_eq!(only.discrepancies, std::slice::from_ref(concealed));
    assert_eq!(only.wrong, 1, "counts cover every type");
    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = supervisor
            .reconcile(pb::ReconcileRequest {
                page_size: 1,
                page_token,
                ..Default::default()
            })
            .await
            .expect("page")
            .into_inner();
        seen.extend(page.discrepancies);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(seen, all.discrepancies);

    // Once the rename is confirmed, the douyin account reported, and the roster replaced by
    // one without the stray account, nothing is left.
    let pending: Vec<String> = supervisor
        .list_reports(pb::ListReportsRequest {
            state: ReportState::Pending as i32,
            ..Default::default()
        })
        .await
        .expect("pending")
        .into_inner()
        .reports
        .into_iter()
        .map(|report| report.name)
        .collect();
    assert_eq!(pending.len(), 2);
    supervisor
        .mark_reports(pb::MarkReportsRequest {
            names: pending,
            state: ReportState::Confirmed as i32,
            receipt: "青海-002".into(),
            request_id: "confirm-rest".into(),
            ..Default::default()
        })
        .await
        .expect("confirm the rest");
    supervisor
        .import_roster(roster(
            "platform_account_id,display_name\n7781234567,格尔木市教育局\n",
            "roster-2",
        ))
        .await
        .expect("replace the roster");
    let clean = reconcile(&mut supervisor, DiscrepancyType::Unspecified).await;
    assert!(clean.discrepancies.is_empty(), "{clean:#?}");
    assert_eq!(
        (
            clean.ledger_accounts,
            clean.reported_accounts,
            clean.roster_entries
        ),
        (2, 2, 1)
    );

    // Cancelled in the ledger: the roster imported before says nothing of whether the platform
    // still lists it; one imported since that still does makes it a 僵尸号, with the row.
    file_and_accept(
        &suite,
        "edu-weibo-cancel",
        filing_about(FilingKind::Cancel, "edu-weibo"),
    )
    .await;
    applied(&suite, "edu-weibo-cancel").await;
    let before = reconcile(&mut supervisor, DiscrepancyType::Zombie).await;
    assert_eq!(before.zombie, 0, "{before:#?}");
    supervisor
        .import_roster(roster(
            "platform_account_id,display_name\n7781234567,格尔木市教育局\n",
            "roster-3",
        ))
        .await
        .expect("a roster of today");
    let zombies = reconcile(&mut supervisor, DiscrepancyType::Zombie).await;
    assert_eq!(zombies.zombie, 1, "{zombies:#?}");
    let [zombie] = &zombies.discrepancies[..] else {
        panic!("one zombie: {zombies:#?}");
    };
    assert_eq!(zombie.account, "accounts/edu-weibo");
    assert_eq!(zombie.platform_account_id, "7781234567");
    assert_eq!(zombie.roster_organization, "organizations/golmud-edu");
    assert_eq!(zombie.roster_line, 2);
    assert!(zombie.detail.contains("僵尸号"), "{}", zombie.detail);
}
backend_test!(
    discrepancies_are_listed_by_type_on,
    discrepancies_are_listed_by_type
);

async fn a_bad_roster_is_refused_by_line_and_imports_nothing(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut supervisor = suite.supervisor().await;
    supervisor
        .import_roster(roster(ROSTER, "roster-1"))
        .await
        .expect("import");
    let before = reconcile(&mut supervisor, DiscrepancyType::Unspecified).await;
    let audit = suite.audit_count().await;

    let bad = "platform_account_id,display_name,verified_subject\n\
               1001,格尔木发布,\n\
               ,无ID,\n\
               1001,重复,\n\
               1004\n";
    let status = assert_invalid(
        supervisor.import_roster(roster(bad, "roster-bad")).await,
        "csv[3].platform_account_id",
    );
    let fields: Vec<String> = status
        .get_error_details()
        .bad_request()
        .expect("BadRequest")
        .field_violations
        .iter()
        .map(|violation| format!("{}: {}", violation.field, violation.description))
        .collect();
    assert_eq!(
        fields,
        [
            "csv[3].platform_account_id: is required",
            "csv[4].platform_account_id: repeats line 2",
            "csv[5]: has 1 fields; the header names 3",
        ]
    );
    assert_invalid(
        supervisor
            .import_roster(roster("id,name\n1,a\n", "roster-bad-2"))
            .await,
        "csv[1]",
    );
    assert_invalid(
        supervisor
            .import_roster(pb::ImportRosterRequest {
                platform: 0,
                ..roster(ROSTER, "roster-bad-3")
            })
            .await,
        "platform",
    );
    assert_invalid(
        supervisor.import_roster(roster("", "roster-bad-4")).await,
        "csv",
    );
    assert_invalid(
        supervisor
            .reconcile(pb::ReconcileRequest {
                r#type: 99,
                ..Default::default()
            })
            .await,
        "type",
    );
    assert_error(
        supervisor
            .reconcile(pb::ReconcileRequest {
                page_token: "not-a-token".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "INVALID_PAGE_TOKEN",
    );
    // Someone else's subtree; someone without the role.
    assert_error(
        supervisor
            .import_roster(pb::ImportRosterRequest {
                organization: "organizations/xining-edu".into(),
                ..roster(ROSTER, "roster-bad-5")
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_error(
        suite
            .operator()
            .await
            .import_roster(roster(ROSTER, "roster-bad-6"))
            .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    assert_error(
        suite
            .filings("xining.supervisor", "xining", Role::Supervisor)
            .await
            .reconcile(pb::ReconcileRequest {
                organization: "organizations/golmud".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );

    let after = reconcile(&mut supervisor, DiscrepancyType::Unspecified).await;
    assert_eq!(after, before);
    assert_eq!(suite.audit_count().await, audit);
}
backend_test!(
    a_bad_roster_is_refused_by_line_and_imports_nothing_on,
    a_bad_roster_is_refused_by_line_and_imports_nothing
);
