//! Oversight signals (category 8 of R-21): each computed from the vendors, the delegations and
//! the ledger, named with its evidence, on demand and by the daily evaluation.

use chrono::Duration;
use govmedia_kit::auth::Role;
use govmedia_proto::{filing::v1 as fpb, registry::v1 as rpb, vendor::v1 as pb};
use govmedia_test_support::{Backend, backend_test};
use prost::Message;
use tonic::Code;

use crate::helpers::*;

use pb::SignalKind as Kind;

async fn signals(client: &mut Vendors) -> Vec<pb::OversightSignal> {
    client
        .list_oversight_signals(pb::ListOversightSignalsRequest::default())
        .await
        .expect("signals")
        .into_inner()
        .signals
}

fn of_kind(signals: &[pb::OversightSignal], kind: Kind) -> Vec<&pb::OversightSignal> {
    signals.iter().filter(|s| s.kind == kind as i32).collect()
}

fn fact<'a>(signal: &'a pb::OversightSignal, name: &str) -> &'a str {
    signal
        .evidence
        .iter()
        .find(|e| e.name == name)
        .map_or("", |e| e.value.as_str())
}

async fn outsourcing_without_oversight_is_signalled_with_its_evidence(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    approved_vendor(&suite, "qingyun", "青云传媒有限公司", QINGYUN_CODE).await;
    let mut golmud = suite.golmud().await;
    let mut short = licence();
    short.valid_until = Some(govmedia_kit::clock::to_proto(
        start_time() + Duration::days(40),
    ));
    golmud
        .add_qualification(pb::AddQualificationRequest {
            vendor: "vendors/qingyun".into(),
            qualification: Some(short),
            ..Default::default()
        })
        .await
        .expect("qualification");
    let created = delegate(
        &mut suite.operator().await,
        "edu-2026",
        delegation("qingyun", &["golmud-edu-wechat"], pb::DelegationScope::Both),
    )
    .await
    .expect("delegate");
    decide(&suite, &created.handovers[0].start_filing, true).await;
    delegation_when(&suite, "edu-2026", "the account to be operated", |d| {
        d.status == pb::DelegationStatus::Active as i32
    })
    .await;
    // Nobody but the vendor service files a vendor as an operator: the unit cannot.
    let mut unit = suite
        .filings("zhang.operator", "golmud-edu", Role::Operator)
        .await;
    assert_error(
        unit.create_filing(fpb::CreateFilingRequest {
            filing_id: "douyin-outsourced".into(),
            filing: Some(fpb::Filing {
                organization: "organizations/golmud-edu".into(),
                kind: fpb::FilingKind::Change as i32,
                target_account: "accounts/golmud-edu-douyin".into(),
                change_mask: Some(prost_types::FieldMask {
                    paths: vec!["operator".into()],
                }),
                account: Some(rpb::Account {
                    operator: Some(rpb::Operator {
                        r#type: rpb::OperatorType::Vendor as i32,
                        vendor: "vendors/qingyun".into(),
                    }),
                    ..Default::default()
                }),
                reason: "交由外部机构运营".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await,
        Code::FailedPrecondition,
        "DELEGATION_REQUIRED",
    );
    // But a ledger kept before govmedia may say the vendor runs its Douyin without a delegation.
    let basis = "filings/paper-2021-03";
    suite
        .ledger(Some(basis))
        .await
        .update_account(rpb::UpdateAccountRequest {
            account: Some(rpb::Account {
                name: "accounts/golmud-edu-douyin".into(),
                operator: Some(rpb::Operator {
                    r#type: rpb::OperatorType::Vendor as i32,
                    vendor: "vendors/qingyun".into(),
                }),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["operator".into()],
            }),
            filing: basis.into(),
            request_id: String::new(),
        })
        .await
        .expect("a change made before govmedia");
    let found = govmedia_test_support::eventually(
        "the ledger to name the studio",
        std::time::Duration::from_secs(20),
        || {
            let golmud = golmud.clone();
            async move {
                let found = signals(&mut golmud.clone()).await;
                (!of_kind(&found, Kind::UndelegatedOperator).is_empty()).then_some(found)
            }
        },
    )
    .await;
    let undelegated = of_kind(&found, Kind::UndelegatedOperator);
    assert_eq!(undelegated.len(), 1, "{found:?}");
    assert_eq!(undelegated[0].account, "accounts/golmud-edu-douyin");
    assert_eq!(fact(undelegated[0], "ledger_operator"), "vendors/qingyun");
    assert_eq!(fact(undelegated[0], "vendor_known"), "true");
    // The clean-out report counts it too, as undelegated.
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
    let handovers: Vec<&str> = document["units"][0]["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["handover"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        handovers,
        ["UNDELEGATED", "OPERATING"],
        "douyin sorts before wechat"
    );
    assert!(
        of_kind(&found, Kind::QualificationExpiring).is_empty(),
        "40 days is not soon"
    );
    assert_eq!(found.len(), 1, "{found:?}");

    // The daily evaluation raises it once, as an event.
    let watch = suite.watch();
    assert_eq!(watch.pass().await.expect("pass"), 1);
    assert_eq!(watch.pass().await.expect("pass again"), 0, "nothing new");
    let event = govmedia_test_support::next_event(&suite.bus, "vendor", "oversight-test", |e| {
        e.r#type == "govmedia.vendor.v1.OversightSignalRaised"
    })
    .await;
    let raised = pb::OversightSignalRaised::decode(event.payload.as_slice()).expect("payload");
    assert_eq!(
        raised.signal.map(|s| s.key),
        Some(undelegated[0].key.clone())
    );

    // The licence expires in 25 days, then has expired.
    suite.time.advance(Duration::days(15));
    let found = signals(&mut golmud).await;
    let expiring = of_kind(&found, Kind::QualificationExpiring);
    assert_eq!(expiring.len(), 1, "{found:?}");
    assert_eq!(expiring[0].vendor, "vendors/qingyun");
    assert_eq!(fact(expiring[0], "qualification"), "q1");
    assert_eq!(fact(expiring[0], "number"), "632801000012345");
    suite.time.advance(Duration::days(30));
    let found = signals(&mut golmud).await;
    assert_eq!(
        of_kind(&found, Kind::QualificationExpired).len(),
        1,
        "{found:?}"
    );
    assert!(of_kind(&found, Kind::QualificationExpiring).is_empty());

    // The unit's reviewer leaves.
    let mut operator = suite.operator().await;
    let mut changed = delegation("qingyun", &[], pb::DelegationScope::Both);
    changed.name = "delegations/edu-2026".into();
    if let Some(reviewer) = changed.unit_reviewer.as_mut() {
        reviewer.departed = true;
    }
    operator
        .update_delegation(pb::UpdateDelegationRequest {
            delegation: Some(changed),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["unit_reviewer".into()],
            }),
            request_id: String::new(),
        })
        .await
        .expect("reviewer departed");
    let found = signals(&mut golmud).await;
    let missing = of_kind(&found, Kind::ReviewerMissing);
    assert_eq!(missing.len(), 1, "{found:?}");
    assert_eq!(missing[0].delegation, "delegations/edu-2026");

    // The contract's year passes; the ledger still names the vendor.
    suite.time.advance(Duration::days(330));
    let found = signals(&mut golmud).await;
    let over = of_kind(&found, Kind::ContractOverStillOperating);
    assert_eq!(over.len(), 1, "{found:?}");
    assert_eq!(over[0].account, "accounts/golmud-edu-wechat");
    assert_eq!(fact(over[0], "ledger_operator"), "vendors/qingyun");

    // Terminated, and while the account's return waits for its decision, it still operates it.
    golmud
        .terminate_vendor(pb::TerminateVendorRequest {
            name: "vendors/qingyun".into(),
            reason: "资质过期".into(),
            ..Default::default()
        })
        .await
        .expect("terminate");
    let found = signals(&mut golmud).await;
    let barred = of_kind(&found, Kind::BarredVendorOperating);
    assert_eq!(barred.len(), 2, "{found:?}");
    assert_eq!(fact(barred[0], "vendor_status"), "TERMINATED");
    assert!(
        of_kind(&found, Kind::QualificationExpired).is_empty(),
        "a terminated vendor's licences no longer matter"
    );

    // Another region sees none of it; vendors and operators do not read signals.
    assert!(signals(&mut suite.xining().await).await.is_empty());
    assert_error(
        suite
            .as_vendor("qingyun")
            .await
            .list_oversight_signals(pb::ListOversightSignalsRequest::default())
            .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    assert_invalid(
        golmud
            .list_oversight_signals(pb::ListOversightSignalsRequest {
                kind: 42,
                ..Default::default()
            })
            .await,
        "kind",
    );
}

backend_test!(
    outsourcing_without_oversight_is_signalled_with_its_evidence_on,
    outsourcing_without_oversight_is_signalled_with_its_evidence
);
