//! The whole life of an account through filings, as the people involved do it:
//! open, bind, change, suspend, cancel; and the ways a filing can end without acceptance.

use govmedia_kit::auth::Role;
use govmedia_proto::{
    common::v1::Platform,
    filing::v1::{self as pb, ApplicationState, FilingAction, FilingKind, FilingState},
    registry::v1::{self as rpb, AccountStatus},
};
use govmedia_test_support::{Backend, backend_test, next_event};
use prost::{Message, Name};

use crate::helpers::*;

fn actions(filing: &pb::Filing) -> Vec<FilingAction> {
    filing
        .timeline
        .iter()
        .map(|entry| FilingAction::try_from(entry.action).expect("action"))
        .collect()
}

async fn account(suite: &Suite, id: &str) -> rpb::Account {
    suite
        .ledger("golmud-edu", &[Role::Operator])
        .await
        .get_account(rpb::GetAccountRequest {
            name: format!("accounts/{id}"),
        })
        .await
        .unwrap_or_else(|status| panic!("account {id}: {status:?}"))
        .into_inner()
}

/// The acceptance path of the whole suite, through the gateway: open, bind, change, suspend,
/// cancel.
async fn an_account_lives_and_ends_through_filings(backend: Backend) {
    let suite = Suite::spawn_with(
        backend,
        Options {
            gateway: true,
            ..Options::default()
        },
    )
    .await;
    let mut operator = suite.operator().await;
    let mut leader = suite.leader().await;
    let mut supervisor = suite.supervisor().await;

    // The operator files an opening; nothing exists in the ledger yet (未经报备,不得开设).
    let draft = create(
        &mut operator,
        "edu-wechat",
        open_filing(Platform::WechatOfficialAccount, "格尔木教育"),
    )
    .await
    .expect("create");
    assert_eq!(draft.state, FilingState::Draft as i32);
    assert_eq!(draft.name, "filings/edu-wechat");
    let submitted = submit(&mut operator, "edu-wechat").await.expect("submit");
    assert_eq!(submitted.state, FilingState::Submitted as i32);
    assert_eq!(
        submitted.management_department,
        "organizations/golmud-office"
    );
    let check = submitted
        .opening_check
        .expect("R-03 evaluated on submission");
    assert!(check.allowed && !check.further_account);

    // Its leader consents; the management department of the same level accepts.
    let consented = consent(&mut leader, "edu-wechat").await.expect("consent");
    assert_eq!(consented.state, FilingState::LeaderApproved as i32);
    let accepted = accept(&mut supervisor, "edu-wechat").await.expect("accept");
    assert_eq!(accepted.state, FilingState::Accepted as i32);
    let opened = applied(&suite, "edu-wechat").await;
    assert_eq!(
        opened.application_state,
        ApplicationState::Applied as i32,
        "{}",
        opened.application_error
    );
    assert_eq!(opened.target_account, "accounts/edu-wechat");
    assert_eq!(
        actions(&opened),
        [
            FilingAction::Created,
            FilingAction::Submitted,
            FilingAction::Consented,
            FilingAction::Accepted,
            FilingAction::Applied
        ]
    );
    let entry = &opened.timeline[2];
    assert_eq!(entry.stamp.as_ref().expect("stamp").actor, "li.leader");
    assert_eq!(entry.comment, "同意");

    // The ledger has it, FILED, on the authority of the filing.
    let registered = account(&suite, "edu-wechat").await;
    assert_eq!(registered.status, AccountStatus::Filed as i32);
    assert_eq!(registered.display_name, "格尔木教育");
    assert_eq!(registered.last_filing, "filings/edu-wechat");

    // Binding the real platform id makes it ACTIVE.
    let bound = operator
        .bind_platform_account(pb::BindPlatformAccountRequest {
            name: "filings/edu-wechat".into(),
            platform_account_id: "gh_2f8a1c9e7b3d".into(),
            request_id: "bind-1".into(),
        })
        .await
        .expect("bind")
        .into_inner();
    assert_eq!(bound.bound_platform_account_id, "gh_2f8a1c9e7b3d");
    let active = account(&suite, "edu-wechat").await;
    assert_eq!(active.status, AccountStatus::Active as i32);
    assert_eq!(active.platform_account_id, "gh_2f8a1c9e7b3d");

    // A CHANGE filing renames it, the same way.
    let mut change = filing_about(FilingKind::Change, "edu-wechat");
    change.account = Some(rpb::Account {
        display_name: "格尔木市教育局".into(),
        ..rpb::Account::default()
    });
    change.change_mask = Some(prost_types::FieldMask {
        paths: vec!["display_name".into()],
    });
    file_and_accept(&suite, "edu-wechat-rename", change).await;
    let renamed = applied(&suite, "edu-wechat-rename").await;
    assert_eq!(renamed.application_state, ApplicationState::Applied as i32);
    let changed = account(&suite, "edu-wechat").await;
    assert_eq!(changed.display_name, "格尔木市教育局");
    assert_eq!(changed.last_filing, "filings/edu-wechat-rename");

    // SUSPEND, then CANCEL.
    file_and_accept(
        &suite,
        "edu-wechat-suspend",
        filing_about(FilingKind::Suspend, "edu-wechat"),
    )
    .await;
    applied(&suite, "edu-wechat-suspend").await;
    assert_eq!(
        account(&suite, "edu-wechat").await.status,
        AccountStatus::Suspended as i32
    );
    file_and_accept(
        &suite,
        "edu-wechat-cancel",
        filing_about(FilingKind::Cancel, "edu-wechat"),
    )
    .await;
    let cancelled = applied(&suite, "edu-wechat-cancel").await;
    assert_eq!(
        cancelled.application_state,
        ApplicationState::Applied as i32
    );
    let gone = account(&suite, "edu-wechat").await;
    assert_eq!(gone.status, AccountStatus::Cancelled as i32);
    assert_eq!(gone.last_filing, "filings/edu-wechat-cancel");

    // Every step was told to the other services.
    let event = next_event(&suite.bus, "filing", "lifecycle-test", |envelope| {
        envelope.subject == "filings/edu-wechat-cancel"
            && envelope.r#type == pb::FilingChanged::full_name()
            && pb::FilingChanged::decode(envelope.payload.as_slice())
                .is_ok_and(|changed| changed.action == FilingAction::Applied as i32)
    })
    .await;
    let changed = pb::FilingChanged::decode(event.payload.as_slice()).expect("payload");
    let filing = changed.filing.expect("filing");
    assert!(filing.timeline.is_empty(), "events carry no timeline");
    assert_eq!(filing.kind, FilingKind::Cancel as i32);
}
backend_test!(
    an_account_lives_and_ends_through_filings_on,
    an_account_lives_and_ends_through_filings
);

/// Returned by the leader, corrected, resubmitted; returned by the department; withdrawn.
async fn filings_go_back_for_correction_and_can_be_withdrawn(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut operator = suite.operator().await;
    let mut leader = suite.leader().await;
    let mut supervisor = suite.supervisor().await;
    create(
        &mut operator,
        "edu-douyin",
        open_filing(Platform::Douyin, "格尔木教育抖音"),
    )
    .await
    .expect("create");
    submit(&mut operator, "edu-douyin").await.expect("submit");
    let returned = leader
        .return_filing(pb::ReturnFilingRequest {
            name: filing_name("edu-douyin"),
            comment: "名称请与单位简称一致".into(),
            ..Default::default()
        })
        .await
        .expect("return")
        .into_inner();
    assert_eq!(returned.state, FilingState::Returned as i32);

    // The operator corrects the name and submits again.
    let mut corrected = open_filing(Platform::Douyin, "格尔木市教育局");
    corrected.name = filing_name("edu-douyin");
    corrected.etag = returned.etag.clone();
    let updated = operator
        .update_filing(pb::UpdateFilingRequest {
            filing: Some(corrected),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["account".into()],
            }),
            request_id: String::new(),
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.state, FilingState::Returned as i32);
    assert_eq!(
        updated.account.expect("account").display_name,
        "格尔木市教育局"
    );
    submit(&mut operator, "edu-douyin").await.expect("resubmit");
    consent(&mut leader, "edu-douyin").await.expect("consent");

    // The department sends it back too; then the unit gives up.
    let returned = supervisor
        .return_filing(pb::ReturnFilingRequest {
            name: filing_name("edu-douyin"),
            comment: "请补充运维人员信息".into(),
            ..Default::default()
        })
        .await
        .expect("return by the department")
        .into_inner();
    assert_eq!(returned.state, FilingState::Returned as i32);
    let withdrawn = operator
        .withdraw_filing(pb::WithdrawFilingRequest {
            name: filing_name("edu-douyin"),
            comment: "暂不开设".into(),
            ..Default::default()
        })
        .await
        .expect("withdraw by its creator")
        .into_inner();
    assert_eq!(withdrawn.state, FilingState::Withdrawn as i32);
    assert_eq!(
        actions(&withdrawn),
        [
            FilingAction::Created,
            FilingAction::Submitted,
            FilingAction::Returned,
            FilingAction::Updated,
            FilingAction::Submitted,
            FilingAction::Consented,
            FilingAction::Returned,
            FilingAction::Withdrawn
        ]
    );
    assert_eq!(withdrawn.application_state, 0, "nothing to apply");
}
backend_test!(
    filings_go_back_for_correction_and_can_be_withdrawn_on,
    filings_go_back_for_correction_and_can_be_withdrawn
);

/// A rejected filing is final and changes nothing in the ledger.
async fn a_rejected_filing_changes_nothing(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut operator = suite.operator().await;
    create(
        &mut operator,
        "edu-weibo",
        open_filing(Platform::Weibo, "格尔木教育微博"),
    )
    .await
    .expect("create");
    submit(&mut operator, "edu-weibo").await.expect("submit");
    consent(&mut suite.leader().await, "edu-weibo")
        .await
        .expect("consent");
    let rejected = suite
        .supervisor()
        .await
        .reject_filing(pb::RejectFilingRequest {
            name: filing_name("edu-weibo"),
            comment: "功能与现有微信公众号重复,建议整合".into(),
            ..Default::default()
        })
        .await
        .expect("reject")
        .into_inner();
    assert_eq!(rejected.state, FilingState::Rejected as i32);
    assert_eq!(
        rejected.timeline.last().expect("entry").comment,
        "功能与现有微信公众号重复,建议整合"
    );
    let status = suite
        .ledger("golmud-edu", &[Role::Operator])
        .await
        .get_account(rpb::GetAccountRequest {
            name: "accounts/edu-weibo".into(),
        })
        .await
        .expect_err("never registered");
    assert_eq!(status.code(), tonic::Code::NotFound);
    // Final: nothing moves it any more.
    assert_error(
        submit(&mut operator, "edu-weibo").await,
        tonic::Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
}
backend_test!(
    a_rejected_filing_changes_nothing_on,
    a_rejected_filing_changes_nothing
);

/// There is a way back from SUSPENDED: a RESUME filing, through the same workflow, makes
/// the account ACTIVE again with the platform id it had, and the national system learns it. A
/// RESUME of an account that is not suspended is refused before it travels. Through the gateway.
async fn a_suspended_account_is_resumed_by_a_resume_filing(backend: Backend) {
    let suite = Suite::spawn_with(
        backend,
        Options {
            gateway: true,
            ..Options::default()
        },
    )
    .await;
    file_and_accept(
        &suite,
        "edu-wechat",
        open_filing(Platform::WechatOfficialAccount, "格尔木教育"),
    )
    .await;
    applied(&suite, "edu-wechat").await;
    bind(&suite, "edu-wechat", "gh_resume01").await;
    let mut operator = suite.operator().await;

    // Nothing to resume while it runs.
    let status = assert_error(
        create(
            &mut operator,
            "edu-wechat-resume-early",
            filing_about(FilingKind::Resume, "edu-wechat"),
        )
        .await,
        tonic::Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
    assert!(status.message().contains("ACTIVE"), "{status:?}");

    file_and_accept(
        &suite,
        "edu-wechat-suspend",
        filing_about(FilingKind::Suspend, "edu-wechat"),
    )
    .await;
    applied(&suite, "edu-wechat-suspend").await;
    assert_eq!(
        account(&suite, "edu-wechat").await.status,
        AccountStatus::Suspended as i32
    );

    let resumed = file_and_accept(
        &suite,
        "edu-wechat-resume",
        filing_about(FilingKind::Resume, "edu-wechat"),
    )
    .await;
    assert_eq!(resumed.kind, FilingKind::Resume as i32);
    let done = applied(&suite, "edu-wechat-resume").await;
    assert_eq!(done.application_state, ApplicationState::Applied as i32);
    let ledger = account(&suite, "edu-wechat").await;
    assert_eq!(ledger.status, AccountStatus::Active as i32);
    assert_eq!(ledger.platform_account_id, "gh_resume01");
    assert_eq!(ledger.last_filing, "filings/edu-wechat-resume");

    let reports = suite
        .supervisor()
        .await
        .list_reports(pb::ListReportsRequest::default())
        .await
        .expect("reports")
        .into_inner();
    assert!(
        reports
            .reports
            .iter()
            .any(|report| report.cause == pb::ReportCause::Resumed as i32
                && report.filing == "filings/edu-wechat-resume"),
        "{:?}",
        reports.reports
    );
}
backend_test!(
    a_suspended_account_is_resumed_by_a_resume_filing_on,
    a_suspended_account_is_resumed_by_a_resume_filing
);

/// The registry consumes the filing service's events: every decision on a filing about an
/// account, rejected as well as accepted, enters that account's audit trail, with who decided.
async fn decisions_about_an_account_enter_its_audit_trail(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    file_and_accept(
        &suite,
        "edu-wechat",
        open_filing(Platform::WechatOfficialAccount, "格尔木教育"),
    )
    .await;
    applied(&suite, "edu-wechat").await;
    bind(&suite, "edu-wechat", "gh_audit01").await;
    let mut operator = suite.operator().await;
    let mut rename = filing_about(FilingKind::Change, "edu-wechat");
    rename.account = Some(rpb::Account {
        display_name: "格尔木教育发布".into(),
        ..Default::default()
    });
    rename.change_mask = Some(prost_types::FieldMask {
        paths: vec!["display_name".into()],
    });
    create(&mut operator, "edu-wechat-rename", rename)
        .await
        .expect("create");
    submit(&mut operator, "edu-wechat-rename")
        .await
        .expect("submit");
    consent(&mut suite.leader().await, "edu-wechat-rename")
        .await
        .expect("consent");
    suite
        .supervisor()
        .await
        .reject_filing(pb::RejectFilingRequest {
            name: filing_name("edu-wechat-rename"),
            comment: "名称不规范".into(),
            ..Default::default()
        })
        .await
        .expect("reject");
    file_and_accept(
        &suite,
        "edu-wechat-suspend",
        filing_about(FilingKind::Suspend, "edu-wechat"),
    )
    .await;

    let ledger = suite.ledger_direct().await;
    let projected = govmedia_test_support::eventually(
        "both decisions in the account's trail",
        std::time::Duration::from_secs(20),
        || {
            let mut ledger = ledger.clone();
            async move {
                let records = ledger
                    .list_audit_records(rpb::ListAuditRecordsRequest {
                        resource: "accounts/edu-wechat".into(),
                        page_size: 100,
                        ..Default::default()
                    })
                    .await
                    .ok()?
                    .into_inner()
                    .records;
                let decisions: Vec<_> = records
                    .into_iter()
                    .filter(|record| record.action == "ProjectFilingOutcome")
                    .collect();
                (decisions.len() == 2).then_some(decisions)
            }
        },
    )
    .await;
    let details: Vec<serde_json::Value> = projected
        .iter()
        .map(|record| serde_json::from_str(&record.details).expect("json"))
        .collect();
    assert!(
        details
            .iter()
            .any(|d| d["filing"] == "filings/edu-wechat-rename"
                && d["decision"] == "REJECTED"
                && d["decided_by"] == "wang.supervisor")
    );
    assert!(
        details
            .iter()
            .any(|d| d["filing"] == "filings/edu-wechat-suspend" && d["decision"] == "ACCEPTED")
    );
}
backend_test!(
    decisions_about_an_account_enter_its_audit_trail_on,
    decisions_about_an_account_enter_its_audit_trail
);

/// A platform id bound by mistake is corrected by a CHANGE filing; the new id must not be
/// another account's, and an account not bound yet is bound, not changed.
async fn a_platform_id_bound_by_mistake_is_corrected_by_a_change_filing(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    for (id, platform_id) in [("edu-wechat", "gh_wrong01"), ("edu-weibo", "7712345678")] {
        let platform = if id == "edu-wechat" {
            Platform::WechatOfficialAccount
        } else {
            Platform::Weibo
        };
        file_and_accept(&suite, id, open_filing(platform, id)).await;
        applied(&suite, id).await;
        bind(&suite, id, platform_id).await;
    }
    file_and_accept(&suite, "edu-douyin", open_filing(Platform::Douyin, "抖音")).await;
    applied(&suite, "edu-douyin").await;
    let correction = |account: &str, platform_id: &str| {
        let mut filing = filing_about(FilingKind::Change, account);
        filing.account = Some(rpb::Account {
            platform_account_id: platform_id.into(),
            ..Default::default()
        });
        filing.change_mask = Some(prost_types::FieldMask {
            paths: vec!["platform_account_id".into()],
        });
        filing
    };
    let mut operator = suite.operator().await;
    // Not bound yet: bind it instead.
    assert_error(
        create(
            &mut operator,
            "fix-douyin",
            correction("edu-douyin", "dy_001"),
        )
        .await,
        tonic::Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
    // Another account's id on the platform (here another unit's) is refused.
    let mut health = open_filing(Platform::WechatOfficialAccount, "格尔木卫健");
    health.organization = "organizations/golmud-health".into();
    file_and_accept_for(&suite, "golmud-health", "health-wechat", health).await;
    applied(&suite, "health-wechat").await;
    suite
        .filings("op", "golmud-health", Role::Operator)
        .await
        .bind_platform_account(pb::BindPlatformAccountRequest {
            name: filing_name("health-wechat"),
            platform_account_id: "gh_health01".into(),
            request_id: String::new(),
        })
        .await
        .expect("bind");
    assert_error(
        create(
            &mut operator,
            "fix-taken",
            correction("edu-wechat", "gh_health01"),
        )
        .await,
        tonic::Code::AlreadyExists,
        "ALREADY_EXISTS",
    );
    let fixed = file_and_accept(&suite, "fix-wechat", correction("edu-wechat", "gh_right01")).await;
    assert_eq!(fixed.kind, FilingKind::Change as i32);
    applied(&suite, "fix-wechat").await;
    let ledger = account(&suite, "edu-wechat").await;
    assert_eq!(ledger.platform_account_id, "gh_right01");
    assert_eq!(ledger.status, AccountStatus::Active as i32);
}
backend_test!(
    a_platform_id_bound_by_mistake_is_corrected_by_a_change_filing_on,
    a_platform_id_bound_by_mistake_is_corrected_by_a_change_filing
);
