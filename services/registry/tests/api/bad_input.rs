//! Every request field is validated at the edge: INVALID_ARGUMENT with a violation naming the
//! field, no panic, no database text, and nothing changes.

use govmedia_kit::auth::Role;
use govmedia_proto::{
    common::v1::{AdministrativeLevel as Level, Platform},
    registry::v1::{self as pb, OrganizationKind},
};
use govmedia_test_support::{Backend, backend_test};
use prost_types::{FieldMask, Timestamp};
use tonic::{Code, Status};

use crate::helpers::{
    TestApp, activate, assert_error, assert_invalid, audit_count, new_account, open_account, org,
    seed_tree,
};

fn long(n: usize) -> String {
    "长".repeat(n)
}

/// INVALID_ARGUMENT with exactly one violation, of `field`.
fn check<T: std::fmt::Debug>(result: Result<tonic::Response<T>, Status>, field: &str) {
    let status = assert_invalid(result, field);
    use tonic_types::StatusExt;
    let details = status.get_error_details();
    let fields: Vec<_> = details
        .bad_request()
        .expect("br")
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, [field], "{status:?}");
    let message = status.message().to_lowercase();
    assert!(
        !message.contains("sql") && !message.contains("constraint"),
        "{message}"
    );
}

async fn malformed_requests_are_refused_field_by_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    let mut system = app.system().await;
    open_account(
        &app,
        "edu-wechat",
        new_account("golmud-edu", Platform::WechatOfficialAccount, "格尔木教育"),
    )
    .await
    .expect("create");
    activate(&app, "edu-wechat", "gh_edu")
        .await
        .expect("activate");
    let before = audit_count(&app).await;

    // Names and ids.
    for (name, field) in [
        ("", "name"),
        ("organizations/Bad_ID", "name"),
        ("accounts/golmud", "name"),
        ("organizations/a/b", "name"),
    ] {
        check(
            system
                .get_organization(pb::GetOrganizationRequest { name: name.into() })
                .await,
            field,
        );
    }
    check(
        system
            .get_account(pb::GetAccountRequest {
                name: "accounts/".into(),
            })
            .await,
        "name",
    );

    // Paging and enum filters.
    for (request, field) in [
        (
            pb::ListOrganizationsRequest {
                page_size: 501,
                ..Default::default()
            },
            "page_size",
        ),
        (
            pb::ListOrganizationsRequest {
                page_size: -1,
                ..Default::default()
            },
            "page_size",
        ),
        (
            pb::ListOrganizationsRequest {
                level: 99,
                ..Default::default()
            },
            "level",
        ),
        (
            pb::ListOrganizationsRequest {
                kind: 42,
                ..Default::default()
            },
            "kind",
        ),
        (
            pb::ListOrganizationsRequest {
                ancestor: "org/golmud".into(),
                ..Default::default()
            },
            "ancestor",
        ),
    ] {
        check(system.list_organizations(request).await, field);
    }
    assert_error(
        system
            .list_accounts(pb::ListAccountsRequest {
                page_token: "garbage".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "INVALID_PAGE_TOKEN",
    );
    for (request, field) in [
        (
            pb::ListAccountsRequest {
                platform: 99,
                ..Default::default()
            },
            "platform",
        ),
        (
            pb::ListAccountsRequest {
                status: 7,
                ..Default::default()
            },
            "status",
        ),
        (
            pb::ListAccountsRequest {
                operator_vendor: "vendor/x".into(),
                ..Default::default()
            },
            "operator_vendor",
        ),
    ] {
        check(system.list_accounts(request).await, field);
    }
    check(
        system
            .search_accounts(pb::SearchAccountsRequest::default())
            .await,
        "query",
    );
    check(
        system
            .search_accounts(pb::SearchAccountsRequest {
                query: long(51),
                ..Default::default()
            })
            .await,
        "query",
    );
    check(
        system
            .count_accounts(pb::CountAccountsRequest {
                organization: String::new(),
                group_by: vec![9],
            })
            .await,
        "group_by[0]",
    );

    // Organizations.
    let create_org = |id: &str, organization: Option<pb::Organization>, request_id: &str| {
        pb::CreateOrganizationRequest {
            organization_id: id.into(),
            organization,
            request_id: request_id.into(),
        }
    };
    let good = || {
        org(
            "golmud",
            "格尔木市文体旅游广电局",
            Level::County,
            OrganizationKind::Department,
        )
    };
    for (request, field) in [
        (create_org("", Some(good()), ""), "organization_id"),
        (create_org("1abc", Some(good()), ""), "organization_id"),
        (create_org("golmud-wt", None, ""), "organization"),
        (
            create_org("golmud-wt", Some(good()), "has spaces"),
            "request_id",
        ),
        (
            create_org(
                "golmud-wt",
                Some(pb::Organization {
                    display_name: String::new(),
                    ..good()
                }),
                "",
            ),
            "organization.display_name",
        ),
        (
            create_org(
                "golmud-wt",
                Some(pb::Organization {
                    display_name: long(101),
                    ..good()
                }),
                "",
            ),
            "organization.display_name",
        ),
        (
            create_org(
                "golmud-wt",
                Some(pb::Organization { level: 0, ..good() }),
                "",
            ),
            "organization.level",
        ),
        (
            create_org(
                "golmud-wt",
                Some(pb::Organization { kind: 99, ..good() }),
                "",
            ),
            "organization.kind",
        ),
        (
            create_org(
                "golmud-wt",
                Some(pb::Organization {
                    parent: "golmud".into(),
                    ..good()
                }),
                "",
            ),
            "organization.parent",
        ),
        (
            create_org(
                "golmud-wt",
                Some(pb::Organization {
                    unified_social_credit_code: "11100000000013127E".into(),
                    ..good()
                }),
                "",
            ),
            "organization.unified_social_credit_code",
        ),
        (
            create_org(
                "golmud-wt",
                Some(pb::Organization {
                    region_code: "63280".into(),
                    ..good()
                }),
                "",
            ),
            "organization.region_code",
        ),
    ] {
        check(system.create_organization(request).await, field);
    }
    // Several bad fields are reported together.
    let many = system
        .create_organization(create_org(
            "X",
            Some(pb::Organization {
                display_name: String::new(),
                level: 0,
                ..good()
            }),
            "",
        ))
        .await;
    let status = assert_invalid(many, "organization_id");
    use tonic_types::StatusExt;
    assert_eq!(
        status
            .get_error_details()
            .bad_request()
            .expect("br")
            .field_violations
            .len(),
        3
    );

    // Accounts.
    let base = || new_account("golmud-edu", Platform::Douyin, "格尔木教育");
    let create = |id: &str, account: pb::Account, filing: &str| pb::CreateAccountRequest {
        account_id: id.into(),
        account: Some(account),
        filing: filing.into(),
        request_id: String::new(),
    };
    let vendorless = pb::Account {
        operator: Some(pb::Operator {
            r#type: pb::OperatorType::Vendor as i32,
            vendor: String::new(),
        }),
        ..base()
    };
    let bad_phone = pb::Account {
        responsible_person: Some(pb::Contact {
            name: "王敏".into(),
            title: String::new(),
            phone: "call me".into(),
        }),
        ..base()
    };
    for (request, field) in [
        (create("BAD", base(), "filings/open-1"), "account_id"),
        (create("ok-id", base(), "filing/x"), "filing"),
        (
            create(
                "ok-id",
                pb::Account {
                    platform: 99,
                    ..base()
                },
                "filings/open-1",
            ),
            "account.platform",
        ),
        (
            create(
                "ok-id",
                pb::Account {
                    organization: String::new(),
                    ..base()
                },
                "filings/open-1",
            ),
            "account.organization",
        ),
        (
            create(
                "ok-id",
                pb::Account {
                    display_name: long(101),
                    ..base()
                },
                "filings/open-1",
            ),
            "account.display_name",
        ),
        (
            create("ok-id", pb::Account { kind: 0, ..base() }, "filings/open-1"),
            "account.kind",
        ),
        (
            create(
                "ok-id",
                pb::Account {
                    operator: None,
                    ..base()
                },
                "filings/open-1",
            ),
            "account.operator",
        ),
        (
            create("ok-id", vendorless, "filings/open-1"),
            "account.operator.vendor",
        ),
        (
            create("ok-id", bad_phone, "filings/open-1"),
            "account.responsible_person.phone",
        ),
        (
            create(
                "ok-id",
                pb::Account {
                    homepage_url: "http://x.cn".into(),
                    ..base()
                },
                "filings/open-1",
            ),
            "account.homepage_url",
        ),
        (
            create(
                "ok-id",
                pb::Account {
                    justification: long(501),
                    ..base()
                },
                "filings/open-1",
            ),
            "account.justification",
        ),
    ] {
        check(system.create_account(request).await, field);
    }
    check(
        system
            .update_account(pb::UpdateAccountRequest {
                account: Some(pb::Account {
                    name: "accounts/edu-wechat".into(),
                    ..Default::default()
                }),
                update_mask: None,
                filing: "filings/open-1".into(),
                request_id: String::new(),
            })
            .await,
        "update_mask",
    );
    check(
        system
            .activate_account(pb::ActivateAccountRequest {
                name: "accounts/edu-wechat".into(),
                platform_account_id: "has space".into(),
                filing: "filings/open-1".into(),
                ..Default::default()
            })
            .await,
        "platform_account_id",
    );
    check(
        system
            .suspend_account(pb::SuspendAccountRequest {
                name: "accounts/edu-wechat".into(),
                filing: "filings/open-1".into(),
                reason: long(501),
                ..Default::default()
            })
            .await,
        "reason",
    );
    let future = Timestamp {
        seconds: chrono::Utc::now().timestamp() + 86_400,
        nanos: 0,
    };
    for (request, field) in [
        (
            pb::ReportAccountActivityRequest {
                name: "accounts/edu-wechat".into(),
                follower_count: Some(-1),
                ..Default::default()
            },
            "follower_count",
        ),
        (
            pb::ReportAccountActivityRequest {
                name: "accounts/edu-wechat".into(),
                last_post_time: Some(future),
                ..Default::default()
            },
            "last_post_time",
        ),
        (
            pb::ReportAccountActivityRequest {
                name: "accounts/edu-wechat".into(),
                last_post_time: Some(Timestamp {
                    seconds: 0,
                    nanos: -5,
                }),
                ..Default::default()
            },
            "last_post_time",
        ),
    ] {
        check(system.report_account_activity(request).await, field);
    }

    // Custody and audit.
    let mut operator = app.client("golmud-edu", &[Role::Operator]).await;
    let custody = |name: &str, record: pb::CredentialCustody, paths: &[&str]| {
        pb::UpdateCredentialCustodyRequest {
            credential_custody: Some(pb::CredentialCustody {
                name: name.into(),
                ..record
            }),
            update_mask: Some(FieldMask {
                paths: paths.iter().map(|p| p.to_string()).collect(),
            }),
            allow_missing: true,
            request_id: String::new(),
        }
    };
    let named = |n: &str| pb::CredentialCustody {
        custodian_name: n.into(),
        ..Default::default()
    };
    let at = "accounts/edu-wechat/credentialCustody";
    for (request, field) in [
        (
            custody("accounts/edu-wechat", named("李华"), &["custodian_name"]),
            "credential_custody.name",
        ),
        (
            custody(at, named(""), &["custodian_name"]),
            "credential_custody.custodian_name",
        ),
        (
            custody(
                at,
                pb::CredentialCustody {
                    rotation_interval_days: 400,
                    ..named("李华")
                },
                &["custodian_name", "rotation_interval_days"],
            ),
            "credential_custody.rotation_interval_days",
        ),
        (
            custody(
                at,
                pb::CredentialCustody {
                    bound_phone: "12ab".into(),
                    ..named("李华")
                },
                &["custodian_name", "bound_phone"],
            ),
            "credential_custody.bound_phone",
        ),
        (
            custody(
                at,
                pb::CredentialCustody {
                    bound_email: "nope".into(),
                    ..named("李华")
                },
                &["custodian_name", "bound_email"],
            ),
            "credential_custody.bound_email",
        ),
        (custody(at, named("李华"), &["password"]), "update_mask"),
        (
            custody(at, pb::CredentialCustody::default(), &["custodian_title"]),
            "update_mask",
        ),
    ] {
        check(operator.update_credential_custody(request).await, field);
    }
    check(
        operator
            .record_credential_rotation(pb::RecordCredentialRotationRequest {
                name: at.into(),
                rotate_time: Some(future),
                request_id: String::new(),
            })
            .await,
        "rotate_time",
    );
    let mut auditor = app.client("golmud", &[Role::Auditor]).await;
    check(
        auditor
            .list_audit_records(pb::ListAuditRecordsRequest {
                resource: long(301),
                ..Default::default()
            })
            .await,
        "resource",
    );

    assert_eq!(
        audit_count(&app).await,
        before,
        "no rejected request changed anything"
    );
}
backend_test!(
    malformed_requests_are_refused_field_by_field_on,
    malformed_requests_are_refused_field_by_field
);
