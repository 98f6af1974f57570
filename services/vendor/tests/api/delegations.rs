//! Delegations: accounts handed to an approved vendor through CHANGE filings that the
//! unit's leader consents to and the management department decides, and handed back when the
//! delegation ends; refusals and overlaps.

use govmedia_kit::auth::Role;
use govmedia_proto::{registry::v1 as rpb, vendor::v1 as pb};
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;

use crate::helpers::*;

const VENDOR: i32 = rpb::OperatorType::Vendor as i32;
const SELF: i32 = rpb::OperatorType::Self_ as i32;

fn states(delegation: &pb::Delegation) -> Vec<pb::HandoverState> {
    delegation
        .handovers
        .iter()
        .map(|h| pb::HandoverState::try_from(h.state).expect("state"))
        .collect()
}

async fn accounts_are_handed_over_by_filings_and_back(backend: Backend) {
    use pb::HandoverState::{Ending, Operating, ReturnRefused, Returned, Starting};
    let suite = Suite::spawn_with(backend, Options { gateway: true }).await;
    approved_vendor(&suite, "qingyun", "青云传媒有限公司", QINGYUN_CODE).await;

    let created = delegate(
        &mut suite.operator().await,
        "edu-2026",
        delegation(
            "qingyun",
            &["golmud-edu-wechat", "golmud-edu-douyin"],
            pb::DelegationScope::Both,
        ),
    )
    .await
    .expect("delegate");
    assert_eq!(created.status, pb::DelegationStatus::Pending as i32);
    assert_eq!(states(&created), [Starting, Starting]);
    let [wechat, douyin] = [&created.handovers[0], &created.handovers[1]];

    // The vendor service files each account's CHANGE filing in the unit's name; the unit's
    // leader consents, the management department accepts, the filing service applies it.
    let filing = submitted(&suite, &wechat.start_filing).await;
    assert_eq!(filing.target_account, "accounts/golmud-edu-wechat");
    assert!(
        filing.reason.contains("delegations/edu-2026"),
        "{}",
        filing.reason
    );
    decide(&suite, &wechat.start_filing, true).await;
    decide(&suite, &douyin.start_filing, true).await;
    let active = delegation_when(&suite, "edu-2026", "both accounts to be operated", |d| {
        states(d) == [Operating, Operating]
    })
    .await;
    assert_eq!(active.status, pb::DelegationStatus::Active as i32);
    for account in ["golmud-edu-wechat", "golmud-edu-douyin"] {
        assert_eq!(
            operator_of(&suite, account).await,
            (VENDOR, "vendors/qingyun".to_owned()),
            "{account}"
        );
    }

    // The vendor sees its delegation; another vendor does not.
    let mut qingyun = suite.as_vendor("qingyun").await;
    let own = qingyun
        .list_delegations(pb::ListDelegationsRequest::default())
        .await
        .expect("own delegations")
        .into_inner();
    assert_eq!(own.delegations.len(), 1);
    assert_error(
        suite
            .as_vendor("someone-else")
            .await
            .get_delegation(pb::GetDelegationRequest {
                name: "delegations/edu-2026".into(),
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );

    // Ending files the returns; one is accepted, the other rejected: the ledger still names
    // the vendor for it, and the delegation stays ENDING until it is filed again.
    let ending = suite
        .operator()
        .await
        .end_delegation(pb::EndDelegationRequest {
            name: "delegations/edu-2026".into(),
            reason: "合同到期不再续约".into(),
            ..Default::default()
        })
        .await
        .expect("end")
        .into_inner();
    assert_eq!(ending.status, pb::DelegationStatus::Ending as i32);
    assert_eq!(states(&ending), [Ending, Ending]);
    decide(&suite, &ending.handovers[0].end_filing, true).await;
    decide(&suite, &ending.handovers[1].end_filing, false).await;
    let half = delegation_when(&suite, "edu-2026", "one return done, one refused", |d| {
        states(d) == [Returned, ReturnRefused]
    })
    .await;
    assert_eq!(half.status, pb::DelegationStatus::Ending as i32);
    assert!(
        half.handovers[1].detail.contains("rejected"),
        "{:?}",
        half.handovers[1]
    );
    assert_eq!(
        operator_of(&suite, "golmud-edu-wechat").await,
        (SELF, String::new())
    );
    assert_eq!(
        operator_of(&suite, "golmud-edu-douyin").await,
        (VENDOR, "vendors/qingyun".to_owned())
    );

    let again = suite
        .operator()
        .await
        .end_delegation(pb::EndDelegationRequest {
            name: "delegations/edu-2026".into(),
            reason: "补充材料后重新报备".into(),
            ..Default::default()
        })
        .await
        .expect("end again")
        .into_inner();
    assert_eq!(states(&again), [Returned, Ending]);
    assert_ne!(
        again.handovers[1].end_filing,
        ending.handovers[1].end_filing
    );
    assert_eq!(
        again.end_reason, "合同到期不再续约",
        "the first end's reason stays"
    );
    decide(&suite, &again.handovers[1].end_filing, true).await;
    let ended = delegation_when(&suite, "edu-2026", "the delegation to end", |d| {
        d.status == pb::DelegationStatus::Ended as i32
    })
    .await;
    assert_eq!(states(&ended), [Returned, Returned]);
    assert_eq!(
        operator_of(&suite, "golmud-edu-douyin").await,
        (SELF, String::new())
    );
    // Nothing more to end.
    assert_error(
        suite
            .operator()
            .await
            .end_delegation(pb::EndDelegationRequest {
                name: "delegations/edu-2026".into(),
                reason: "再次终止".into(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
}

backend_test!(
    accounts_are_handed_over_by_filings_and_back_on,
    accounts_are_handed_over_by_filings_and_back
);

async fn a_delegation_ended_before_its_handovers_are_decided(backend: Backend) {
    use pb::HandoverState::{Refused, Starting};
    let suite = Suite::spawn(backend).await;
    approved_vendor(&suite, "qingyun", "青云传媒有限公司", QINGYUN_CODE).await;
    let created = delegate(
        &mut suite.operator().await,
        "edu-short",
        delegation(
            "qingyun",
            &["golmud-edu-wechat", "golmud-edu-douyin"],
            pb::DelegationScope::Publishing,
        ),
    )
    .await
    .expect("delegate");
    submitted(&suite, &created.handovers[0].start_filing).await;
    submitted(&suite, &created.handovers[1].start_filing).await;
    // The unit changes its mind before the filings are decided: the delegation ends at once,
    // and its start filings are withdrawn, so nobody can still hand the accounts over.
    let ended = suite
        .operator()
        .await
        .end_delegation(pb::EndDelegationRequest {
            name: "delegations/edu-short".into(),
            reason: "改由本单位自行运营".into(),
            ..Default::default()
        })
        .await
        .expect("end while starting")
        .into_inner();
    assert_eq!(ended.status, pb::DelegationStatus::Ending as i32);
    assert_eq!(states(&ended), [Starting, Starting]);
    let done = delegation_when(
        &suite,
        "edu-short",
        "the start filings to be withdrawn",
        |d| d.status == pb::DelegationStatus::Ended as i32,
    )
    .await;
    assert_eq!(states(&done), [Refused, Refused]);
    assert!(
        done.handovers[0].detail.contains("withdrawn"),
        "{:?}",
        done.handovers[0]
    );
    let leader = suite
        .filings("li.leader", "golmud-edu", govmedia_kit::auth::Role::Leader)
        .await;
    for handover in &created.handovers {
        let filing = leader
            .clone()
            .get_filing(govmedia_proto::filing::v1::GetFilingRequest {
                name: handover.start_filing.clone(),
            })
            .await
            .expect("filing")
            .into_inner();
        assert_eq!(
            filing.state,
            govmedia_proto::filing::v1::FilingState::Withdrawn as i32
        );
    }
    assert_eq!(
        operator_of(&suite, "golmud-edu-wechat").await,
        (SELF, String::new())
    );
    assert_eq!(
        operator_of(&suite, "golmud-edu-douyin").await,
        (SELF, String::new())
    );
    // An ended delegation holds nothing: the accounts can be delegated again.
    delegate(
        &mut suite.operator().await,
        "edu-again",
        delegation(
            "qingyun",
            &["golmud-edu-wechat", "golmud-edu-douyin"],
            pb::DelegationScope::Publishing,
        ),
    )
    .await
    .expect("delegate again");
}

backend_test!(
    a_delegation_ended_before_its_handovers_are_decided_on,
    a_delegation_ended_before_its_handovers_are_decided
);

async fn delegations_that_cannot_be_are_refused_and_change_nothing(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    approved_vendor(&suite, "qingyun", "青云传媒有限公司", QINGYUN_CODE).await;
    let mut operator = suite.operator().await;
    delegate(
        &mut operator,
        "edu-publishing",
        delegation(
            "qingyun",
            &["golmud-edu-wechat"],
            pb::DelegationScope::Publishing,
        ),
    )
    .await
    .expect("first delegation");
    let count = |suite: &Suite| {
        let conn = suite.vendor_db.conn().clone();
        async move {
            use sea_orm::{EntityTrait, PaginatorTrait};
            govmedia_vendor::store::entity::delegation::Entity::find()
                .count(&conn)
                .await
                .expect("count")
        }
    };
    let before = count(&suite).await;

    // The same account for an overlapping scope and period.
    let status = assert_error(
        delegate(
            &mut operator,
            "edu-both",
            delegation(
                "qingyun",
                &["golmud-edu-douyin", "golmud-edu-wechat"],
                pb::DelegationScope::Both,
            ),
        )
        .await,
        Code::FailedPrecondition,
        "DELEGATION_OVERLAP",
    );
    assert!(
        status.message().contains("delegations/edu-publishing"),
        "{status:?}"
    );
    // Another scope of the same account is another vendor's work: allowed.
    delegate(
        &mut operator,
        "edu-interaction",
        delegation(
            "qingyun",
            &["golmud-edu-wechat"],
            pb::DelegationScope::Interaction,
        ),
    )
    .await
    .expect("another scope");

    // A vendor that is not approved.
    create(
        &mut suite.golmud().await,
        "candidate",
        new_vendor("候选传媒", HAIXI_MEDIA_CODE),
    )
    .await
    .expect("register");
    assert_error(
        delegate(
            &mut operator,
            "to-candidate",
            delegation(
                "candidate",
                &["golmud-edu-douyin"],
                pb::DelegationScope::Both,
            ),
        )
        .await,
        Code::FailedPrecondition,
        "VENDOR_NOT_APPROVED",
    );
    // No reviewer, a period that ends before it starts.
    let mut no_reviewer = delegation("qingyun", &["golmud-edu-douyin"], pb::DelegationScope::Both);
    no_reviewer.unit_reviewer = None;
    assert_invalid(
        delegate(&mut operator, "dx", no_reviewer).await,
        "delegation.unit_reviewer",
    );
    let mut backwards = delegation("qingyun", &["golmud-edu-douyin"], pb::DelegationScope::Both);
    std::mem::swap(&mut backwards.start_time, &mut backwards.end_time);
    assert_invalid(
        delegate(&mut operator, "dx", backwards).await,
        "delegation.end_time",
    );
    // An account of another unit of the city, and one of another city.
    let mut city = suite.vendors("op", "golmud", &[Role::Operator]).await;
    let mut other_unit = delegation(
        "qingyun",
        &["golmud-health-weibo"],
        pb::DelegationScope::Both,
    );
    other_unit.organization = "organizations/golmud-edu".into();
    assert_invalid(
        delegate(&mut city, "dx", other_unit).await,
        "delegation.accounts[0]",
    );
    assert_error(
        delegate(
            &mut operator,
            "dx",
            delegation("qingyun", &["xining-edu-weibo"], pb::DelegationScope::Both),
        )
        .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    // A period already over, and one too long.
    let mut past = delegation("qingyun", &["golmud-edu-douyin"], pb::DelegationScope::Both);
    past.start_time = Some(timestamp("2020-01-01T00:00:00+08:00"));
    past.end_time = Some(timestamp("2021-01-01T00:00:00+08:00"));
    assert_invalid(
        delegate(&mut operator, "dx", past).await,
        "delegation.end_time",
    );
    let mut endless = delegation("qingyun", &["golmud-edu-douyin"], pb::DelegationScope::Both);
    endless.end_time = Some(timestamp("9999-12-31T23:59:59Z"));
    assert_invalid(
        delegate(&mut operator, "dx", endless).await,
        "delegation.end_time",
    );
    // A vendor's credential that also claims to operate the unit delegates nothing.
    let mut both = suite
        .vendors("staff", "golmud-edu", &[Role::Vendor, Role::Operator])
        .await;
    assert_error(
        delegate(
            &mut both,
            "dx",
            delegation("qingyun", &["golmud-edu-douyin"], pb::DelegationScope::Both),
        )
        .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    // A unit the caller does not act for.
    let mut foreign = delegation("qingyun", &["golmud-edu-douyin"], pb::DelegationScope::Both);
    foreign.organization = "organizations/golmud-health".into();
    assert_error(
        delegate(&mut operator, "dx", foreign).await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    // A vendor blacklisted in the province.
    suite
        .province()
        .await
        .blacklist_vendor(pb::BlacklistVendorRequest {
            name: "vendors/qingyun".into(),
            reason: "违规转包".into(),
            ..Default::default()
        })
        .await
        .expect("blacklist");
    assert_error(
        delegate(
            &mut operator,
            "dx",
            delegation("qingyun", &["golmud-edu-douyin"], pb::DelegationScope::Both),
        )
        .await,
        Code::FailedPrecondition,
        "VENDOR_BLACKLISTED",
    );
    // Supervisors and vendors do not delegate a unit's accounts.
    assert_error(
        delegate(
            &mut suite.golmud().await,
            "dx",
            delegation("qingyun", &["golmud-edu-douyin"], pb::DelegationScope::Both),
        )
        .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    assert_eq!(
        count(&suite).await,
        before + 1,
        "only the second-scope delegation was made"
    );
}

backend_test!(
    delegations_that_cannot_be_are_refused_and_change_nothing_on,
    delegations_that_cannot_be_are_refused_and_change_nothing
);

async fn terminating_a_vendor_ends_its_delegations(backend: Backend) {
    use pb::HandoverState::{Ending, Operating, Returned};
    let suite = Suite::spawn(backend).await;
    approved_vendor(&suite, "qingyun", "青云传媒有限公司", QINGYUN_CODE).await;
    let created = delegate(
        &mut suite.operator().await,
        "edu-2026",
        delegation(
            "qingyun",
            &["golmud-edu-wechat", "golmud-edu-douyin"],
            pb::DelegationScope::Both,
        ),
    )
    .await
    .expect("delegate");
    for handover in &created.handovers {
        decide(&suite, &handover.start_filing, true).await;
    }
    delegation_when(&suite, "edu-2026", "both accounts to be operated", |d| {
        states(d) == [Operating, Operating]
    })
    .await;

    let terminated = suite
        .golmud()
        .await
        .terminate_vendor(pb::TerminateVendorRequest {
            name: "vendors/qingyun".into(),
            reason: "绩效考核不合格".into(),
            ..Default::default()
        })
        .await
        .expect("terminate")
        .into_inner();
    assert_eq!(terminated.status, pb::VendorStatus::Terminated as i32);
    let ending = delegation_when(&suite, "edu-2026", "the delegation to be ending", |d| {
        states(d) == [Ending, Ending]
    })
    .await;
    assert!(
        ending.end_reason.contains("绩效考核不合格"),
        "{}",
        ending.end_reason
    );
    // The clean-out report lists the affected accounts by unit, as JSON and as a workbook.
    let mut golmud = suite.golmud().await;
    let report = golmud
        .export_clean_out_report(pb::ExportCleanOutReportRequest {
            vendor: "vendors/qingyun".into(),
            format: pb::ReportFormat::Json as i32,
        })
        .await
        .expect("report")
        .into_inner();
    assert_eq!((report.accounts, report.units), (2, 1));
    let document: serde_json::Value = serde_json::from_slice(&report.content).expect("JSON");
    assert_eq!(document["vendor_status"], "TERMINATED");
    assert_eq!(
        document["units"][0]["organization"],
        "organizations/golmud-edu"
    );
    assert_eq!(document["units"][0]["accounts"][0]["handover"], "ENDING");
    let workbook = golmud
        .export_clean_out_report(pb::ExportCleanOutReportRequest {
            vendor: "vendors/qingyun".into(),
            format: pb::ReportFormat::Xlsx as i32,
        })
        .await
        .expect("workbook")
        .into_inner();
    assert!(workbook.file_name.ends_with(".xlsx"));
    assert_eq!(&workbook.content[..2], b"PK");
    assert_invalid(
        golmud
            .export_clean_out_report(pb::ExportCleanOutReportRequest {
                vendor: "vendors/qingyun".into(),
                format: 0,
            })
            .await,
        "format",
    );
    // Another region's supervisor sees nothing of Golmud's vendor.
    assert_error(
        suite
            .xining()
            .await
            .export_clean_out_report(pb::ExportCleanOutReportRequest {
                vendor: "vendors/qingyun".into(),
                format: pb::ReportFormat::Json as i32,
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    for handover in &ending.handovers {
        decide(&suite, &handover.end_filing, true).await;
    }
    let ended = delegation_when(&suite, "edu-2026", "the delegation to end", |d| {
        d.status == pb::DelegationStatus::Ended as i32
    })
    .await;
    assert_eq!(states(&ended), [Returned, Returned]);
    for account in ["golmud-edu-wechat", "golmud-edu-douyin"] {
        assert_eq!(
            operator_of(&suite, account).await,
            (SELF, String::new()),
            "{account}"
        );
    }
}

backend_test!(
    terminating_a_vendor_ends_its_delegations_on,
    terminating_a_vendor_ends_its_delegations
);

async fn a_handover_filing_changed_on_its_way_does_not_count(backend: Backend) {
    use govmedia_proto::filing::v1 as fpb;
    let suite = Suite::spawn(backend).await;
    approved_vendor(&suite, "qingyun", "青云传媒有限公司", QINGYUN_CODE).await;
    let created = delegate(
        &mut suite.operator().await,
        "edu-2026",
        delegation("qingyun", &["golmud-edu-wechat"], pb::DelegationScope::Both),
    )
    .await
    .expect("delegate");
    let start = created.handovers[0].start_filing.clone();
    submitted(&suite, &start).await;
    // The leader sends it back; the unit's operator rewrites it to keep the account, and it
    // goes through: the ledger keeps its operator, so the handover did not happen.
    let mut leader = suite.filings("li.leader", "golmud-edu", Role::Leader).await;
    leader
        .return_filing(fpb::ReturnFilingRequest {
            name: start.clone(),
            comment: "请补充材料".into(),
            ..Default::default()
        })
        .await
        .expect("return");
    let mut unit = suite
        .filings("zhang.operator", "golmud-edu", Role::Operator)
        .await;
    unit.update_filing(fpb::UpdateFilingRequest {
        filing: Some(fpb::Filing {
            name: start.clone(),
            account: Some(rpb::Account {
                operator: Some(rpb::Operator {
                    r#type: rpb::OperatorType::Self_ as i32,
                    vendor: String::new(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["account".into()],
        }),
        request_id: String::new(),
    })
    .await
    .expect("rewrite");
    unit.submit_filing(fpb::SubmitFilingRequest {
        name: start.clone(),
        ..Default::default()
    })
    .await
    .expect("submit again");
    decide(&suite, &start, true).await;
    let refused = delegation_when(&suite, "edu-2026", "the handover to be refused", |d| {
        d.status == pb::DelegationStatus::Refused as i32
    })
    .await;
    assert!(
        refused.handovers[0]
            .detail
            .contains("changed before it was applied"),
        "{:?}",
        refused.handovers[0]
    );
    assert_eq!(
        operator_of(&suite, "golmud-edu-wechat").await,
        (SELF, String::new())
    );
}

backend_test!(
    a_handover_filing_changed_on_its_way_does_not_count_on,
    a_handover_filing_changed_on_its_way_does_not_count
);
