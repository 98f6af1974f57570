//! A vendor's life: registration, vetting, approval, suspension, termination, blacklisting;
//! who sees which vendor; idempotent registration.

use chrono::Duration;
use govmedia_proto::vendor::v1 as pb;
use govmedia_test_support::{Backend, backend_test};
use prost::Message;
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::*;

/// The ErrorInfo metadata value `key` of a refused call.
fn metadata(status: &tonic::Status, key: &str) -> String {
    status
        .get_error_details()
        .error_info()
        .and_then(|info| info.metadata.get(key).cloned())
        .unwrap_or_default()
}

async fn a_vendor_is_vetted_approved_suspended_terminated_and_blacklisted(backend: Backend) {
    let suite = Suite::spawn_with(backend, Options { gateway: true }).await;
    let mut golmud = suite.golmud().await;

    let vendor = create(
        &mut golmud,
        "qingyun",
        new_vendor("青云传媒有限公司", QINGYUN_CODE),
    )
    .await
    .expect("register");
    assert_eq!(vendor.name, "vendors/qingyun");
    assert_eq!(vendor.status, pb::VendorStatus::Candidate as i32);
    assert_eq!(vendor.organization, "organizations/golmud");
    assert_eq!(vendor.etag, "1");

    // No vetting yet: no approval.
    let refused = assert_error(
        approve(&mut golmud, "qingyun").await,
        Code::FailedPrecondition,
        "VETTING_REQUIRED",
    );
    assert_eq!(metadata(&refused, "latest_vetting"), "");

    // A vetting with a high mean but one dimension under the floor does not pass.
    let failed = vet(&mut golmud, "qingyun", [100, 100, 100, 59])
        .await
        .expect("vet");
    assert!(!failed.passed);
    assert_eq!(failed.total_score, 89.75);
    assert_eq!((failed.pass_threshold, failed.dimension_floor), (80, 60));
    let refused = assert_error(
        approve(&mut golmud, "qingyun").await,
        Code::FailedPrecondition,
        "VETTING_REQUIRED",
    );
    assert_eq!(metadata(&refused, "latest_vetting"), failed.name);
    assert_eq!(metadata(&refused, "why"), "it did not pass");
    // A failed vetting flags the vendor for clean-out; a passed one clears it.
    let flagged = get(&mut golmud, "qingyun").await.expect("get");
    assert!(
        flagged.clean_out_flag.starts_with("vetting:"),
        "{}",
        flagged.clean_out_flag
    );

    let passed = vet(&mut golmud, "qingyun", [85, 80, 90, 82])
        .await
        .expect("vet again");
    assert!(passed.passed);
    assert_eq!(
        passed.valid_until,
        Some(govmedia_kit::clock::to_proto(
            start_time() + Duration::days(180)
        ))
    );
    let approved = approve(&mut golmud, "qingyun").await.expect("approve");
    assert_eq!(approved.clean_out_flag, "");
    assert_eq!(approved.status, pb::VendorStatus::Approved as i32);
    assert_eq!(approved.approval_vetting, passed.name);
    assert_eq!(approved.approval_valid_until, passed.valid_until);

    let vettings = golmud
        .list_vettings(pb::ListVettingsRequest {
            vendor: "vendors/qingyun".into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("list vettings")
        .into_inner();
    assert_eq!(vettings.vettings.len(), 1);
    assert_eq!(vettings.vettings[0].name, passed.name, "newest first");
    let rest = golmud
        .list_vettings(pb::ListVettingsRequest {
            vendor: "vendors/qingyun".into(),
            page_size: 1,
            page_token: vettings.next_page_token,
        })
        .await
        .expect("second page")
        .into_inner();
    assert_eq!(rest.vettings[0].name, failed.name);
    assert!(rest.next_page_token.is_empty());

    let with_licence = golmud
        .add_qualification(pb::AddQualificationRequest {
            vendor: "vendors/qingyun".into(),
            qualification: Some(licence()),
            etag: approved.etag.clone(),
            request_id: "licence-1".into(),
        })
        .await
        .expect("add qualification")
        .into_inner();
    assert_eq!(with_licence.qualifications.len(), 1);
    assert_eq!(with_licence.qualifications[0].id, "q1");
    assert_eq!(
        with_licence.qualifications[0]
            .added
            .as_ref()
            .map(|s| s.actor.as_str()),
        Some("wang.supervisor")
    );

    let suspended = golmud
        .suspend_vendor(pb::SuspendVendorRequest {
            name: "vendors/qingyun".into(),
            reason: "季度考核不合格".into(),
            ..Default::default()
        })
        .await
        .expect("suspend")
        .into_inner();
    assert_eq!(suspended.status, pb::VendorStatus::Suspended as i32);
    assert_eq!(suspended.status_reason, "季度考核不合格");
    approve(&mut golmud, "qingyun")
        .await
        .expect("approved again on the still valid vetting");

    let terminated = golmud
        .terminate_vendor(pb::TerminateVendorRequest {
            name: "vendors/qingyun".into(),
            reason: "合同终止".into(),
            ..Default::default()
        })
        .await
        .expect("terminate")
        .into_inner();
    assert_eq!(terminated.status, pb::VendorStatus::Terminated as i32);
    let refused = assert_error(
        approve(&mut golmud, "qingyun").await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
    assert_eq!(metadata(&refused, "from"), "TERMINATED");

    // The province, above Golmud, blacklists it; nothing more happens to it after that.
    let blacklisted = suite
        .province()
        .await
        .blacklist_vendor(pb::BlacklistVendorRequest {
            name: "vendors/qingyun".into(),
            reason: "发布违规信息".into(),
            ..Default::default()
        })
        .await
        .expect("blacklist")
        .into_inner();
    assert_eq!(blacklisted.status, pb::VendorStatus::Blacklisted as i32);
    assert_eq!(blacklisted.blacklisted_in, "organizations/qinghai");
    for result in [
        approve(&mut golmud, "qingyun").await,
        vet(&mut golmud, "qingyun", [90, 90, 90, 90])
            .await
            .map(|_| pb::Vendor::default()),
    ] {
        assert_error(result, Code::FailedPrecondition, "VENDOR_BLACKLISTED");
    }

    // Every change published its event, in order.
    let event = govmedia_test_support::next_event(&suite.bus, "vendor", "test", |event| {
        event.r#type == "govmedia.vendor.v1.VendorStatusChanged"
            && pb::VendorStatusChanged::decode(event.payload.as_slice())
                .is_ok_and(|e| e.previous_status == pb::VendorStatus::Terminated as i32)
    })
    .await;
    let changed = pb::VendorStatusChanged::decode(event.payload.as_slice()).expect("payload");
    assert_eq!(changed.reason, "发布违规信息");
    // Registration, two vettings, approval, qualification, suspension, approval,
    // termination, blacklisting.
    assert_eq!(suite.audit_count().await, 9);
}

backend_test!(
    a_vendor_is_vetted_approved_suspended_terminated_and_blacklisted_on,
    a_vendor_is_vetted_approved_suspended_terminated_and_blacklisted
);

async fn an_expired_vetting_approves_nothing(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut golmud = suite.golmud().await;
    create(
        &mut golmud,
        "qingyun",
        new_vendor("青云传媒有限公司", QINGYUN_CODE),
    )
    .await
    .expect("register");
    let vetting = vet(&mut golmud, "qingyun", [90, 90, 90, 90])
        .await
        .expect("vet");
    suite.time.advance(Duration::days(180));
    let refused = assert_error(
        approve(&mut golmud, "qingyun").await,
        Code::FailedPrecondition,
        "VETTING_REQUIRED",
    );
    assert_eq!(metadata(&refused, "latest_vetting"), vetting.name);
    assert_eq!(metadata(&refused, "why"), "it has expired");
    vet(&mut golmud, "qingyun", [90, 90, 90, 90])
        .await
        .expect("vet anew");
    approve(&mut golmud, "qingyun")
        .await
        .expect("approved on the new vetting");
}

backend_test!(
    an_expired_vetting_approves_nothing_on,
    an_expired_vetting_approves_nothing
);

async fn a_blacklisting_bars_the_company_in_the_whole_jurisdiction(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut golmud = suite.golmud().await;
    create(
        &mut golmud,
        "haixi-media",
        new_vendor("海西融媒科技有限公司", HAIXI_MEDIA_CODE),
    )
    .await
    .expect("register in Golmud");
    suite
        .province()
        .await
        .blacklist_vendor(pb::BlacklistVendorRequest {
            name: "vendors/haixi-media".into(),
            reason: "弄虚作假".into(),
            ..Default::default()
        })
        .await
        .expect("blacklist in Qinghai");
    // Xining, elsewhere in Qinghai, cannot register the company anew.
    let refused = assert_error(
        create(
            &mut suite.xining().await,
            "haixi-media-xn",
            new_vendor("海西融媒科技有限公司", HAIXI_MEDIA_CODE),
        )
        .await,
        Code::FailedPrecondition,
        "VENDOR_BLACKLISTED",
    );
    assert_eq!(metadata(&refused, "jurisdiction"), "organizations/qinghai");
    // Golmud cannot change it any more.
    let mut renamed = new_vendor("海西融媒", HAIXI_MEDIA_CODE);
    renamed.name = "vendors/haixi-media".into();
    assert_error(
        golmud
            .update_vendor(pb::UpdateVendorRequest {
                vendor: Some(renamed),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["display_name".into()],
                }),
                request_id: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        "VENDOR_BLACKLISTED",
    );
    // Golmud still sees it, blacklisted.
    let seen = get(&mut golmud, "haixi-media").await.expect("get");
    assert_eq!(seen.status, pb::VendorStatus::Blacklisted as i32);
    assert_eq!(suite.vendor_count().await, 1);
}

backend_test!(
    a_blacklisting_bars_the_company_in_the_whole_jurisdiction_on,
    a_blacklisting_bars_the_company_in_the_whole_jurisdiction
);

async fn vendors_are_seen_along_their_line_of_jurisdiction(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    create(
        &mut suite.golmud().await,
        "qingyun",
        new_vendor("青云传媒有限公司", QINGYUN_CODE),
    )
    .await
    .expect("Golmud registers");
    create(
        &mut suite.xining().await,
        "xining-media",
        new_vendor("西宁新媒体有限公司", XINING_CODE),
    )
    .await
    .expect("Xining registers");
    create(
        &mut suite.province().await,
        "haixi-media",
        new_vendor("海西融媒科技有限公司", HAIXI_MEDIA_CODE),
    )
    .await
    .expect("the province registers");

    let names = |response: pb::ListVendorsResponse| -> Vec<String> {
        response.vendors.into_iter().map(|v| v.name).collect()
    };
    let list = pb::ListVendorsRequest::default();
    let province = names(
        suite
            .province()
            .await
            .list_vendors(list.clone())
            .await
            .expect("list")
            .into_inner(),
    );
    assert_eq!(
        province,
        [
            "vendors/haixi-media",
            "vendors/qingyun",
            "vendors/xining-media"
        ]
    );
    let golmud = names(
        suite
            .golmud()
            .await
            .list_vendors(list.clone())
            .await
            .expect("list")
            .into_inner(),
    );
    assert_eq!(
        golmud,
        ["vendors/haixi-media", "vendors/qingyun"],
        "its own and the province's"
    );
    let operator = names(
        suite
            .operator()
            .await
            .list_vendors(list)
            .await
            .expect("list")
            .into_inner(),
    );
    assert_eq!(
        operator,
        ["vendors/haixi-media", "vendors/qingyun"],
        "a unit of Golmud sees Golmud's line"
    );

    let mut operator = suite.operator().await;
    get(&mut operator, "qingyun")
        .await
        .expect("a unit reads its city's vendor");
    assert_error(
        get(&mut operator, "xining-media").await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    // Golmud sees the province's vendor but does not govern it.
    let mut golmud = suite.golmud().await;
    get(&mut golmud, "haixi-media").await.expect("visible");
    assert_error(
        golmud
            .suspend_vendor(pb::SuspendVendorRequest {
                name: "vendors/haixi-media".into(),
                reason: "试图越权".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    // Filters.
    let filtered = names(
        suite
            .province()
            .await
            .list_vendors(pb::ListVendorsRequest {
                unified_social_credit_code: XINING_CODE.into(),
                ..Default::default()
            })
            .await
            .expect("by code")
            .into_inner(),
    );
    assert_eq!(filtered, ["vendors/xining-media"]);
    let approved = names(
        suite
            .province()
            .await
            .list_vendors(pb::ListVendorsRequest {
                status: pb::VendorStatus::Approved as i32,
                ..Default::default()
            })
            .await
            .expect("by status")
            .into_inner(),
    );
    assert!(approved.is_empty());
}

backend_test!(
    vendors_are_seen_along_their_line_of_jurisdiction_on,
    vendors_are_seen_along_their_line_of_jurisdiction
);
