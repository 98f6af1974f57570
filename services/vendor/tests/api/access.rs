//! Hostile and mistaken callers: a vendor reading another vendor, roles that may not act, a
//! supervisor of another region, a caller replaying someone else's request id, a vendor
//! credential that also claims to supervise.

use govmedia_kit::auth::Role;
use govmedia_proto::vendor::v1 as pb;
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;

use crate::helpers::*;

async fn a_vendor_reads_only_its_own_record_and_vettings(backend: Backend) {
    let suite = Suite::spawn_with(backend, Options { gateway: true }).await;
    let mut golmud = suite.golmud().await;
    create(
        &mut golmud,
        "qingyun",
        new_vendor("青云传媒有限公司", QINGYUN_CODE),
    )
    .await
    .expect("register");
    create(
        &mut golmud,
        "haixi-media",
        new_vendor("海西融媒科技有限公司", HAIXI_MEDIA_CODE),
    )
    .await
    .expect("register");
    vet(&mut golmud, "haixi-media", [90, 90, 90, 90])
        .await
        .expect("vet");

    let mut qingyun = suite.as_vendor("qingyun").await;
    let own = get(&mut qingyun, "qingyun").await.expect("its own record");
    assert_eq!(own.unified_social_credit_code, QINGYUN_CODE);
    qingyun
        .list_vettings(pb::ListVettingsRequest {
            vendor: "vendors/qingyun".into(),
            ..Default::default()
        })
        .await
        .expect("its own vettings");
    assert_error(
        get(&mut qingyun, "haixi-media").await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_error(
        qingyun
            .list_vettings(pb::ListVettingsRequest {
                vendor: "vendors/haixi-media".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    // The list of vendors, and every write, are not for vendors at all.
    assert_error(
        qingyun
            .list_vendors(pb::ListVendorsRequest::default())
            .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    assert_error(
        vet(&mut qingyun, "qingyun", [100, 100, 100, 100]).await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    assert_error(
        approve(&mut qingyun, "qingyun").await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    // A vendor credential that also claims to supervise is read as the vendor it names: it
    // acts on nothing.
    let mut both = suite
        .vendors("staff", "qingyun", &[Role::Vendor, Role::Supervisor])
        .await;
    assert_error(
        vet(&mut both, "qingyun", [100, 100, 100, 100]).await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_error(
        create(&mut both, "qingyun-2", new_vendor("青云二号", XINING_CODE)).await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    // A supervisor outside a new-media management department governs no vendor.
    assert_error(
        create(
            &mut suite
                .vendors("s", "golmud-health", &[Role::Supervisor])
                .await,
            "health-vendor",
            new_vendor("某公司", XINING_CODE),
        )
        .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    // Unit operators read vendors; they do not register or vet them.
    assert_error(
        create(
            &mut suite.operator().await,
            "op-vendor",
            new_vendor("某公司", XINING_CODE),
        )
        .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    assert_eq!(suite.vendor_count().await, 2);
}

backend_test!(
    a_vendor_reads_only_its_own_record_and_vettings_on,
    a_vendor_reads_only_its_own_record_and_vettings
);

async fn another_region_cannot_act_on_a_vendor_or_borrow_a_request_id(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut golmud = suite.golmud().await;
    let registered = golmud
        .create_vendor(pb::CreateVendorRequest {
            vendor_id: "qingyun".into(),
            vendor: Some(new_vendor("青云传媒有限公司", QINGYUN_CODE)),
            request_id: "register-qingyun".into(),
        })
        .await
        .expect("register")
        .into_inner();
    let audits = suite.audit_count().await;

    let mut xining = suite.xining().await;
    for result in [
        get(&mut xining, "qingyun").await.map(|_| ()),
        vet(&mut xining, "qingyun", [90, 90, 90, 90])
            .await
            .map(|_| ()),
        approve(&mut xining, "qingyun").await.map(|_| ()),
        xining
            .blacklist_vendor(pb::BlacklistVendorRequest {
                name: "vendors/qingyun".into(),
                reason: "越权操作".into(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
    ] {
        assert_error(result, Code::PermissionDenied, "OUTSIDE_JURISDICTION");
    }

    // Xining sends Golmud's request id with the same body: it is not Golmud's replay, it is
    // Xining's own registration (its own jurisdiction, its own line), and it does not see
    // Golmud's answer.
    let own = xining
        .create_vendor(pb::CreateVendorRequest {
            vendor_id: "qingyun".into(),
            vendor: Some(new_vendor("青云传媒有限公司", QINGYUN_CODE)),
            request_id: "register-qingyun".into(),
        })
        .await;
    assert_error(own, Code::AlreadyExists, "ALREADY_EXISTS");

    // Golmud's own retry gets its first answer back, unchanged.
    let again = golmud
        .create_vendor(pb::CreateVendorRequest {
            vendor_id: "qingyun".into(),
            vendor: Some(new_vendor("青云传媒有限公司", QINGYUN_CODE)),
            request_id: "register-qingyun".into(),
        })
        .await
        .expect("replayed")
        .into_inner();
    assert_eq!(again, registered);
    // The same key for another body is refused.
    assert_error(
        golmud
            .create_vendor(pb::CreateVendorRequest {
                vendor_id: "qingyun-2".into(),
                vendor: Some(new_vendor("青云传媒有限公司", QINGYUN_CODE)),
                request_id: "register-qingyun".into(),
            })
            .await,
        Code::InvalidArgument,
        "REQUEST_ID_REUSED",
    );
    let seen = get(&mut golmud, "qingyun").await.expect("get");
    assert_eq!(seen.status, pb::VendorStatus::Candidate as i32);
    assert_eq!(suite.vendor_count().await, 1);
    assert_eq!(suite.audit_count().await, audits);
}

backend_test!(
    another_region_cannot_act_on_a_vendor_or_borrow_a_request_id_on,
    another_region_cannot_act_on_a_vendor_or_borrow_a_request_id
);
