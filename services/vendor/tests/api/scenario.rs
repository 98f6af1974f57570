//! The whole of it through the gateway, as issue 10 says it is done: register a vendor, vet it,
//! approve it, delegate two accounts, see the operator change in the registry once the CHANGE
//! filings are accepted, move the clock past a qualification's expiry and see the signal,
//! terminate the vendor and see its delegations end.

use chrono::Duration;
use govmedia_proto::{registry::v1 as rpb, vendor::v1 as pb};
use govmedia_test_support::{Backend, backend_test};

use crate::helpers::*;

async fn a_vendor_from_registration_to_clean_out(backend: Backend) {
    let suite = Suite::spawn_with(backend, Options { gateway: true }).await;
    let mut golmud = suite.golmud().await;
    create(
        &mut golmud,
        "qingyun",
        new_vendor("青云传媒有限公司", QINGYUN_CODE),
    )
    .await
    .expect("register");
    let mut licence = licence();
    licence.valid_until = Some(govmedia_kit::clock::to_proto(
        start_time() + Duration::days(10),
    ));
    golmud
        .add_qualification(pb::AddQualificationRequest {
            vendor: "vendors/qingyun".into(),
            qualification: Some(licence),
            ..Default::default()
        })
        .await
        .expect("licence");
    vet(&mut golmud, "qingyun", [88, 84, 92, 86])
        .await
        .expect("vet");
    approve(&mut golmud, "qingyun").await.expect("approve");

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
    delegation_when(&suite, "edu-2026", "the delegation to be active", |d| {
        d.handovers
            .iter()
            .all(|h| h.state == pb::HandoverState::Operating as i32)
    })
    .await;
    for account in ["golmud-edu-wechat", "golmud-edu-douyin"] {
        assert_eq!(
            operator_of(&suite, account).await,
            (
                rpb::OperatorType::Vendor as i32,
                "vendors/qingyun".to_owned()
            )
        );
    }

    suite.time.advance(Duration::days(11));
    let signals = golmud
        .list_oversight_signals(pb::ListOversightSignalsRequest {
            kind: pb::SignalKind::QualificationExpired as i32,
            ..Default::default()
        })
        .await
        .expect("signals")
        .into_inner()
        .signals;
    assert_eq!(signals.len(), 1, "{signals:?}");
    assert_eq!(signals[0].vendor, "vendors/qingyun");

    golmud
        .terminate_vendor(pb::TerminateVendorRequest {
            name: "vendors/qingyun".into(),
            reason: "资质过期未续".into(),
            ..Default::default()
        })
        .await
        .expect("terminate");
    let ending = delegation_when(&suite, "edu-2026", "the delegation to be ending", |d| {
        d.status == pb::DelegationStatus::Ending as i32
    })
    .await;
    for handover in &ending.handovers {
        decide(&suite, &handover.end_filing, true).await;
    }
    delegation_when(&suite, "edu-2026", "the delegation to end", |d| {
        d.status == pb::DelegationStatus::Ended as i32
    })
    .await;
    for account in ["golmud-edu-wechat", "golmud-edu-douyin"] {
        assert_eq!(
            operator_of(&suite, account).await,
            (rpb::OperatorType::Self_ as i32, String::new())
        );
    }
}

backend_test!(
    a_vendor_from_registration_to_clean_out_on,
    a_vendor_from_registration_to_clean_out
);
