//! Bad input: each refused with the right code and field or reason, and nothing changes.

use govmedia_proto::vendor::v1 as pb;
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;

use crate::helpers::*;

async fn registrations_with_bad_fields_are_refused_and_change_nothing(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut golmud = suite.golmud().await;
    create(
        &mut golmud,
        "qingyun",
        new_vendor("青云传媒有限公司", QINGYUN_CODE),
    )
    .await
    .expect("register");
    let audits = suite.audit_count().await;

    let wrong_check = new_vendor("某公司", "91632801MA7QY0001H");
    let status = assert_invalid(
        create(&mut golmud, "other", wrong_check).await,
        "vendor.unified_social_credit_code",
    );
    assert!(status.message().contains("check character"), "{status:?}");
    let mut no_contacts = new_vendor("某公司", XINING_CODE);
    no_contacts.contacts.clear();
    assert_invalid(
        create(&mut golmud, "other", no_contacts).await,
        "vendor.contacts",
    );
    let mut bad_contact = new_vendor("某公司", XINING_CODE);
    bad_contact.contacts[0].phone = "call me".into();
    bad_contact.contacts[0].email = "nobody".into();
    let status = assert_invalid(
        create(&mut golmud, "other", bad_contact).await,
        "vendor.contacts[0].phone",
    );
    assert!(
        status.message().contains("vendor.contacts[0].email"),
        "{status:?}"
    );
    assert_invalid(
        create(
            &mut golmud,
            "Other_Vendor",
            new_vendor("某公司", XINING_CODE),
        )
        .await,
        "vendor_id",
    );
    assert_invalid(
        golmud
            .create_vendor(pb::CreateVendorRequest {
                vendor_id: "other".into(),
                vendor: None,
                request_id: String::new(),
            })
            .await,
        "vendor",
    );

    // The same company again on Golmud's line, under another id: refused, naming the first.
    let status = assert_error(
        create(
            &mut golmud,
            "qingyun-again",
            new_vendor("青云传媒", QINGYUN_CODE),
        )
        .await,
        Code::AlreadyExists,
        "ALREADY_EXISTS",
    );
    assert!(status.message().contains("vendors/qingyun"), "{status:?}");
    // ... and from the province above, which would see both.
    assert_error(
        create(
            &mut suite.province().await,
            "qingyun-qh",
            new_vendor("青云传媒", QINGYUN_CODE),
        )
        .await,
        Code::AlreadyExists,
        "ALREADY_EXISTS",
    );
    // The same id.
    assert_error(
        create(&mut golmud, "qingyun", new_vendor("某公司", XINING_CODE)).await,
        Code::AlreadyExists,
        "ALREADY_EXISTS",
    );
    assert_eq!(suite.vendor_count().await, 1);
    assert_eq!(suite.audit_count().await, audits);
}

backend_test!(
    registrations_with_bad_fields_are_refused_and_change_nothing_on,
    registrations_with_bad_fields_are_refused_and_change_nothing
);

fn vetting_request(
    assessors: Vec<pb::Assessor>,
    scores: Vec<pb::DimensionScore>,
) -> pb::RecordVettingRequest {
    pb::RecordVettingRequest {
        vendor: "vendors/qingyun".into(),
        vetting: Some(pb::Vetting {
            assessors,
            scores,
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

async fn bad_vettings_are_refused_and_change_nothing(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut golmud = suite.golmud().await;
    create(
        &mut golmud,
        "qingyun",
        new_vendor("青云传媒有限公司", QINGYUN_CODE),
    )
    .await
    .expect("register");
    let audits = suite.audit_count().await;

    let mut out_of_range = scores([90, 90, 90, 90]);
    out_of_range[0].score = 101;
    out_of_range[3].score = -1;
    let status = assert_invalid(
        golmud
            .record_vetting(vetting_request(assessors(), out_of_range))
            .await,
        "vetting.scores[0].score",
    );
    assert!(
        status.message().contains("vetting.scores[3].score"),
        "{status:?}"
    );

    let mut missing = scores([90, 90, 90, 90]);
    missing.pop();
    assert_invalid(
        golmud
            .record_vetting(vetting_request(assessors(), missing))
            .await,
        "vetting.scores",
    );
    let mut twice = scores([90, 90, 90, 90]);
    twice[1].dimension = twice[0].dimension;
    assert_invalid(
        golmud
            .record_vetting(vetting_request(assessors(), twice))
            .await,
        "vetting.scores[1].dimension",
    );

    let mut one = assessors();
    one.truncate(1);
    assert_invalid(
        golmud
            .record_vetting(vetting_request(one, scores([90, 90, 90, 90])))
            .await,
        "vetting.assessors",
    );
    let same_twice = vec![assessors()[0].clone(), assessors()[0].clone()];
    assert_invalid(
        golmud
            .record_vetting(vetting_request(same_twice, scores([90, 90, 90, 90])))
            .await,
        "vetting.assessors[1]",
    );

    // An assessor from the vendor itself, by its credit code or by its name.
    let mut insider = assessors();
    insider[1].affiliation_credit_code = QINGYUN_CODE.into();
    assert_invalid(
        golmud
            .record_vetting(vetting_request(insider, scores([90, 90, 90, 90])))
            .await,
        "vetting.assessors[1].affiliation_credit_code",
    );
    let mut insider = assessors();
    insider[0].affiliation = "青云传媒 有限公司".into();
    insider[0].affiliation_credit_code = String::new();
    assert_invalid(
        golmud
            .record_vetting(vetting_request(insider, scores([90, 90, 90, 90])))
            .await,
        "vetting.assessors[0].affiliation",
    );
    let listed = golmud
        .list_vettings(pb::ListVettingsRequest {
            vendor: "vendors/qingyun".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert!(listed.vettings.is_empty());
    assert_eq!(suite.audit_count().await, audits);
}

backend_test!(
    bad_vettings_are_refused_and_change_nothing_on,
    bad_vettings_are_refused_and_change_nothing
);

async fn bad_qualifications_and_status_steps_are_refused(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut golmud = suite.golmud().await;
    let registered = create(
        &mut golmud,
        "qingyun",
        new_vendor("青云传媒有限公司", QINGYUN_CODE),
    )
    .await
    .expect("register");
    let audits = suite.audit_count().await;
    let add = |qualification: pb::Qualification, etag: &str| pb::AddQualificationRequest {
        vendor: "vendors/qingyun".into(),
        qualification: Some(qualification),
        etag: etag.into(),
        request_id: String::new(),
    };

    let mut backwards = licence();
    backwards.valid_until = Some(timestamp("2025-12-31T00:00:00+08:00"));
    assert_invalid(
        golmud.add_qualification(add(backwards, "")).await,
        "qualification.valid_until",
    );
    let mut unhashed = licence();
    if let Some(file) = unhashed.file.as_mut() {
        file.sha256 = "ABC".into();
    }
    assert_invalid(
        golmud.add_qualification(add(unhashed, "")).await,
        "qualification.file.sha256",
    );
    let mut untyped = licence();
    untyped.r#type = 99;
    assert_invalid(
        golmud.add_qualification(add(untyped, "")).await,
        "qualification.type",
    );
    assert_error(
        golmud.add_qualification(add(licence(), "7")).await,
        Code::Aborted,
        "ETAG_MISMATCH",
    );

    assert_invalid(
        golmud
            .suspend_vendor(pb::SuspendVendorRequest {
                name: "vendors/qingyun".into(),
                reason: "   ".into(),
                ..Default::default()
            })
            .await,
        "reason",
    );
    assert_error(
        golmud
            .suspend_vendor(pb::SuspendVendorRequest {
                name: "vendors/qingyun".into(),
                reason: "尚未准入".into(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
    assert_invalid(approve(&mut golmud, "Qingyun").await, "name");
    assert_error(
        approve(&mut golmud, "nobody").await,
        Code::NotFound,
        "NOT_FOUND",
    );

    let seen = get(&mut golmud, "qingyun").await.expect("get");
    assert_eq!(seen, registered, "nothing changed");
    assert_eq!(suite.audit_count().await, audits);
}

backend_test!(
    bad_qualifications_and_status_steps_are_refused_on,
    bad_qualifications_and_status_steps_are_refused
);
