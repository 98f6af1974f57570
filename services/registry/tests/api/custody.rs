use govmedia_kit::auth::Role;
use govmedia_proto::{common::v1::Platform, registry::v1 as pb};
use govmedia_test_support::{Backend, backend_test};
use prost_types::{FieldMask, Timestamp};
use tonic::Code;

use crate::helpers::{
    TestApp, activate, assert_error, assert_invalid, new_account, open_account, seed_tree,
};
use pb::CredentialAlertKind as Kind;

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

async fn alerts(client: &mut crate::helpers::Client) -> Vec<(String, Vec<i32>)> {
    client
        .list_credential_alerts(pb::ListCredentialAlertsRequest::default())
        .await
        .expect("alerts")
        .into_inner()
        .alerts
        .into_iter()
        .map(|a| (a.account, a.kinds))
        .collect()
}

async fn custody_is_kept_without_secrets_and_alerts_when_due(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    for (id, platform) in [
        ("edu-wechat", Platform::WechatOfficialAccount),
        ("edu-weibo", Platform::Weibo),
    ] {
        open_account(&app, id, new_account("golmud-edu", platform, "格尔木教育"))
            .await
            .expect("create");
        activate(&app, id, &format!("pid-{id}"))
            .await
            .expect("activate");
    }
    let mut operator = app.client("golmud-edu", &[Role::Operator]).await;
    assert_eq!(
        alerts(&mut app.client("golmud-edu", &[Role::Leader]).await).await,
        [
            (
                "accounts/edu-wechat".to_owned(),
                vec![Kind::NoCustody as i32]
            ),
            (
                "accounts/edu-weibo".to_owned(),
                vec![Kind::NoCustody as i32]
            ),
        ]
    );

    let missing = operator
        .get_credential_custody(pb::GetCredentialCustodyRequest {
            name: "accounts/edu-wechat/credentialCustody".into(),
        })
        .await;
    assert_error(missing, Code::NotFound, "NOT_FOUND");

    let record = pb::CredentialCustody {
        name: "accounts/edu-wechat/credentialCustody".into(),
        custodian_name: "李华".into(),
        custodian_title: "信息科科员".into(),
        bound_phone: "13812345678".into(),
        bound_email: "golmud.edu@example.gov.cn".into(),
        rotation_interval_days: 90,
        ..Default::default()
    };
    let all = [
        "custodian_name",
        "custodian_title",
        "bound_phone",
        "bound_email",
        "rotation_interval_days",
    ];
    let without_allow = operator
        .update_credential_custody(pb::UpdateCredentialCustodyRequest {
            credential_custody: Some(record.clone()),
            update_mask: mask(&all),
            allow_missing: false,
            request_id: String::new(),
        })
        .await;
    assert_error(without_allow, Code::NotFound, "NOT_FOUND");
    let created = operator
        .update_credential_custody(pb::UpdateCredentialCustodyRequest {
            credential_custody: Some(record),
            update_mask: mask(&all),
            allow_missing: true,
            request_id: String::new(),
        })
        .await
        .expect("create custody")
        .into_inner();
    assert_eq!(created.bound_phone, "138****5678");
    assert_eq!(created.bound_email, "g***@example.gov.cn");
    assert!(created.custodian_active, "a new custodian is active");
    assert!(created.last_rotation_time.is_none());

    // Nothing stored reveals the full number.
    let stored = app.db.conn();
    use sea_orm::{ConnectionTrait, Statement};
    let rows = stored
        .query_all_raw(Statement::from_string(
            app.db.backend(),
            "SELECT bound_phone, bound_email FROM credential_custody",
        ))
        .await
        .expect("rows");
    for row in rows {
        let phone: String = row.try_get("", "bound_phone").expect("phone");
        assert!(!phone.contains("12345678"), "{phone}");
    }

    // Sending the masked value back unchanged is fine; a different masked value is not.
    let echo = operator
        .update_credential_custody(pb::UpdateCredentialCustodyRequest {
            credential_custody: Some(pb::CredentialCustody {
                name: created.name.clone(),
                custodian_title: "信息科副科长".into(),
                bound_phone: "138****5678".into(),
                etag: created.etag.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["custodian_title", "bound_phone"]),
            allow_missing: false,
            request_id: String::new(),
        })
        .await
        .expect("echo")
        .into_inner();
    assert_eq!(echo.bound_phone, "138****5678");
    let forged = operator
        .update_credential_custody(pb::UpdateCredentialCustodyRequest {
            credential_custody: Some(pb::CredentialCustody {
                name: created.name.clone(),
                bound_phone: "139****0000".into(),
                ..Default::default()
            }),
            update_mask: mask(&["bound_phone"]),
            allow_missing: false,
            request_id: String::new(),
        })
        .await;
    assert_invalid(forged, "credential_custody.bound_phone");

    // A rotation 200 days ago is overdue; the custodian leaving adds a second alert.
    let long_ago = chrono::Utc::now() - chrono::Duration::days(200);
    let rotated = operator
        .record_credential_rotation(pb::RecordCredentialRotationRequest {
            name: created.name.clone(),
            rotate_time: Some(Timestamp {
                seconds: long_ago.timestamp(),
                nanos: 0,
            }),
            request_id: String::new(),
        })
        .await
        .expect("rotation")
        .into_inner();
    assert!(rotated.rotation_due_time.expect("due").seconds < chrono::Utc::now().timestamp());
    operator
        .update_credential_custody(pb::UpdateCredentialCustodyRequest {
            credential_custody: Some(pb::CredentialCustody {
                name: created.name.clone(),
                custodian_active: false,
                ..Default::default()
            }),
            update_mask: mask(&["custodian_active"]),
            allow_missing: false,
            request_id: String::new(),
        })
        .await
        .expect("departed");
    let mut supervisor = app.client("golmud", &[Role::Supervisor]).await;
    assert_eq!(
        alerts(&mut supervisor).await,
        [
            (
                "accounts/edu-wechat".to_owned(),
                vec![Kind::RotationOverdue as i32, Kind::CustodianDeparted as i32]
            ),
            (
                "accounts/edu-weibo".to_owned(),
                vec![Kind::NoCustody as i32]
            ),
        ]
    );

    // An earlier rotation than the last one is refused; a rotation now clears the overdue alert.
    let earlier = operator
        .record_credential_rotation(pb::RecordCredentialRotationRequest {
            name: created.name.clone(),
            rotate_time: Some(Timestamp {
                seconds: long_ago.timestamp() - 86_400,
                nanos: 0,
            }),
            request_id: String::new(),
        })
        .await;
    assert_invalid(earlier, "rotate_time");
    operator
        .record_credential_rotation(pb::RecordCredentialRotationRequest {
            name: created.name.clone(),
            rotate_time: None,
            request_id: String::new(),
        })
        .await
        .expect("rotation now");
    assert_eq!(
        alerts(&mut supervisor).await[0],
        (
            "accounts/edu-wechat".to_owned(),
            vec![Kind::CustodianDeparted as i32]
        )
    );
}
backend_test!(
    custody_is_kept_without_secrets_and_alerts_when_due_on,
    custody_is_kept_without_secrets_and_alerts_when_due
);
