//! Every role against every registry method, in and out of jurisdiction, through the gateway:
//! the gateway admits exactly the roles the method's proto option names, and the registry then
//! refuses targets outside the caller's subtree.

use bytes::Bytes;
use govmedia_gateway::codec::RawCodec;
use govmedia_kit::auth::Role;
use govmedia_proto::{common::v1::Platform, registry::v1 as pb};
use govmedia_test_support::{Backend, backend_test};
use prost::Message;
use prost_types::FieldMask;
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{Suite, account};

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

/// A well-formed request for `method` aimed at unit `org` (a department) and its account.
fn request(method: &str, org: &str, serial: &str) -> Vec<u8> {
    let account_id = format!("{org}-wechat");
    let account_name = format!("accounts/{account_id}");
    let org_name = format!("organizations/{org}");
    let custody = format!("{account_name}/credentialCustody");
    let filing = format!("filings/matrix-{serial}");
    match method {
        "GetOrganization" => pb::GetOrganizationRequest { name: org_name }.encode_to_vec(),
        // Nothing to aim at: it answers about the caller, so it is never outside jurisdiction.
        "GetJurisdiction" => pb::GetJurisdictionRequest {}.encode_to_vec(),
        "ListOrganizations" => pb::ListOrganizationsRequest {
            ancestor: org_name,
            ..Default::default()
        }
        .encode_to_vec(),
        "CreateOrganization" => pb::CreateOrganizationRequest {
            organization_id: format!("{org}-{serial}"),
            organization: Some(pb::Organization {
                parent: org_name,
                display_name: "内设科室".into(),
                level: if org.starts_with("golmud") {
                    govmedia_proto::common::v1::AdministrativeLevel::County
                } else {
                    govmedia_proto::common::v1::AdministrativeLevel::Municipal
                } as i32,
                kind: pb::OrganizationKind::InternalBody as i32,
                ..Default::default()
            }),
            request_id: String::new(),
        }
        .encode_to_vec(),
        "UpdateOrganization" => pb::UpdateOrganizationRequest {
            organization: Some(pb::Organization {
                name: org_name,
                display_name: format!("{org} 更新"),
                ..Default::default()
            }),
            update_mask: mask(&["display_name"]),
            request_id: String::new(),
        }
        .encode_to_vec(),
        "GetAccount" => pb::GetAccountRequest { name: account_name }.encode_to_vec(),
        "ListAccounts" => pb::ListAccountsRequest {
            organization: org_name,
            ..Default::default()
        }
        .encode_to_vec(),
        "SearchAccounts" => pb::SearchAccountsRequest {
            query: "教育".into(),
            organization: org_name,
            ..Default::default()
        }
        .encode_to_vec(),
        "CreateAccount" => pb::CreateAccountRequest {
            account_id: format!("{org}-{serial}"),
            account: Some(account(org, Platform::Bilibili)),
            filing,
            request_id: String::new(),
        }
        .encode_to_vec(),
        "UpdateAccount" => pb::UpdateAccountRequest {
            account: Some(pb::Account {
                name: account_name,
                display_name: "新名称".into(),
                ..Default::default()
            }),
            update_mask: mask(&["display_name"]),
            filing,
            request_id: String::new(),
        }
        .encode_to_vec(),
        "ActivateAccount" => pb::ActivateAccountRequest {
            name: account_name,
            platform_account_id: format!("gh_{org}"),
            filing,
            ..Default::default()
        }
        .encode_to_vec(),
        "SuspendAccount" => pb::SuspendAccountRequest {
            name: account_name,
            filing,
            reason: "矩阵测试".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "CancelAccount" => pb::CancelAccountRequest {
            name: account_name,
            filing,
            reason: "矩阵测试".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "ReportAccountActivity" => pb::ReportAccountActivityRequest {
            name: account_name,
            last_post_time: None,
            follower_count: Some(1),
            request_id: String::new(),
        }
        .encode_to_vec(),
        "CountAccounts" => pb::CountAccountsRequest {
            organization: org_name,
            group_by: vec![],
        }
        .encode_to_vec(),
        "ListCoverageGaps" => pb::ListCoverageGapsRequest {
            organization: org_name,
            ..Default::default()
        }
        .encode_to_vec(),
        "GetCredentialCustody" => pb::GetCredentialCustodyRequest { name: custody }.encode_to_vec(),
        "UpdateCredentialCustody" => pb::UpdateCredentialCustodyRequest {
            credential_custody: Some(pb::CredentialCustody {
                name: custody,
                custodian_name: "李华".into(),
                ..Default::default()
            }),
            update_mask: mask(&["custodian_name"]),
            allow_missing: true,
            request_id: String::new(),
        }
        .encode_to_vec(),
        "RecordCredentialRotation" => pb::RecordCredentialRotationRequest {
            name: custody,
            rotate_time: None,
            request_id: String::new(),
        }
        .encode_to_vec(),
        "ListCredentialAlerts" => pb::ListCredentialAlertsRequest {
            organization: org_name,
            ..Default::default()
        }
        .encode_to_vec(),
        "ListAuditRecords" => pb::ListAuditRecordsRequest {
            organization: org_name,
            ..Default::default()
        }
        .encode_to_vec(),
        "EvaluateAccountOpening" => pb::EvaluateAccountOpeningRequest {
            organization: org_name,
            platform: Platform::Weibo as i32,
            justification: String::new(),
        }
        .encode_to_vec(),
        other => panic!("the matrix has no request for {other}; add one"),
    }
}

async fn every_role_against_every_method_in_and_out_of_jurisdiction(backend: Backend) {
    let suite = Suite::spawn(backend, |_| {}).await;
    let channel = suite.channel().await;
    let rules: Vec<_> = govmedia_proto::all_method_access()
        .iter()
        .filter(|rule| {
            rule.path
                .starts_with("/govmedia.registry.v1.RegistryService/")
        })
        .collect();
    assert_eq!(rules.len(), 22);
    // SYSTEM is no outside caller's role: no credential carrying it gets past the gateway
    // (see credentials.rs), so the matrix is over the roles people and systems hold.
    for role in Role::ALL.into_iter().filter(|role| role.is_outside()) {
        let token = suite.token(&format!("matrix-{role}"), "golmud", &[role]);
        for rule in &rules {
            let method = rule.path.rsplit('/').next().expect("method");
            let allowed = govmedia_kit::auth::allowed_roles(rule.path)
                .expect("rule")
                .contains(&role);
            for (target, inside) in [("golmud-edu", true), ("xining-edu", false)] {
                let mut grpc = tonic::client::Grpc::new(channel.clone());
                grpc.ready().await.expect("ready");
                let mut call =
                    tonic::Request::new(Bytes::from(request(method, target, role.as_str())));
                call.metadata_mut().insert(
                    "authorization",
                    format!("Bearer {token}").parse().expect("metadata"),
                );
                let result = grpc
                    .unary(call, rule.path.parse().expect("path"), RawCodec)
                    .await;
                let reason = result.as_ref().err().and_then(|status| {
                    status
                        .get_error_details()
                        .error_info()
                        .map(|info| info.reason.clone())
                });
                let code = result.as_ref().err().map(tonic::Status::code);
                let context = format!("{role} {method} on {target}: {code:?} {reason:?}");
                let inside = inside || method == "GetJurisdiction";
                match (allowed, inside) {
                    (false, _) => {
                        assert_eq!(code, Some(Code::PermissionDenied), "{context}");
                        assert_eq!(reason.as_deref(), Some("ROLE_NOT_ALLOWED"), "{context}");
                    }
                    (true, false) => {
                        assert_eq!(code, Some(Code::PermissionDenied), "{context}");
                        assert_eq!(reason.as_deref(), Some("OUTSIDE_JURISDICTION"), "{context}");
                    }
                    (true, true) => {
                        assert_ne!(code, Some(Code::PermissionDenied), "{context}");
                        assert_ne!(code, Some(Code::Unauthenticated), "{context}");
                    }
                }
            }
        }
    }
}
backend_test!(
    every_role_against_every_method_in_and_out_of_jurisdiction_on,
    every_role_against_every_method_in_and_out_of_jurisdiction
);
