use std::time::{SystemTime, UNIX_EPOCH};

use govmedia_kit::auth::{DEV_JWT_SECRET, Role};
use govmedia_proto::{common::v1::Platform, registry::v1 as pb};
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;

use govmedia_kit::auth::Principal;

use crate::helpers::{
    TestApp, assert_error, audit_count, create_account, new_account, open_account, seed_tree,
};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn forge(secret: &str, claims: serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).expect("key"),
    )
    .expect("token")
}

fn claims(exp: u64, aud: &str) -> serde_json::Value {
    serde_json::json!({
        "sub": "mallory", "org": "qinghai", "roles": ["system"],
        "iss": "govmedia", "aud": aud, "iat": now(), "nbf": now() - 10, "exp": exp,
    })
}

async fn calls_without_valid_credentials_are_refused_before_anything_runs(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    let before = audit_count(&app).await;
    let tokens = [
        String::new(),
        "not-a-jwt".to_owned(),
        forge(&"x".repeat(40), claims(now() + 600, "govmedia")),
        forge(DEV_JWT_SECRET, claims(now() - 3600, "govmedia")),
        forge(DEV_JWT_SECRET, claims(now() + 600, "someone-else")),
        forge(
            DEV_JWT_SECRET,
            serde_json::json!({"sub": "x", "org": "qinghai", "roles": ["emperor"], "iss": "govmedia",
                               "aud": "govmedia", "iat": now(), "nbf": now(), "exp": now() + 600}),
        ),
        // A caller's own, valid govmedia token sent straight to the service's port: services
        // accept only identities the gateway or another service signed.
        forge(
            DEV_JWT_SECRET,
            serde_json::json!({"sub": "x", "org": "qinghai", "roles": ["auditor"], "iss": "govmedia",
                               "aud": "govmedia", "iat": now(), "nbf": now(), "exp": now() + 600}),
        ),
        // An identity signed with a key of another deployment.
        govmedia_test_support::identity_token(
            &govmedia_test_support::keyring(),
            "gateway",
            &govmedia_test_support::person("x", "qinghai", &[Role::Auditor]),
            "registry",
        ),
        // An identity the gateway signed for another service.
        govmedia_test_support::identity_token(
            &app.keyring,
            "gateway",
            &govmedia_test_support::person("x", "qinghai", &[Role::Auditor]),
            "filing",
        ),
    ];
    for token in tokens {
        let mut client = app.client_with_token(&token).await;
        let read = client
            .get_organization(pb::GetOrganizationRequest {
                name: "organizations/golmud".into(),
            })
            .await;
        assert_error(read, Code::Unauthenticated, "UNAUTHENTICATED");
        let write = create_account(
            &mut client,
            "sneaky",
            new_account("golmud-edu", Platform::Weibo, "x"),
        )
        .await;
        assert_error(write, Code::Unauthenticated, "UNAUTHENTICATED");
    }
    assert_eq!(audit_count(&app).await, before);
}
backend_test!(
    calls_without_valid_credentials_are_refused_before_anything_runs_on,
    calls_without_valid_credentials_are_refused_before_anything_runs
);

/// Every registry method against every role: the roles named in the method's proto option get
/// past the access check (an empty request then fails validation or returns an empty result);
/// all others get PERMISSION_DENIED / ROLE_NOT_ALLOWED.
async fn every_method_admits_exactly_its_roles(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    let channel = app.channel().await;
    let methods: Vec<_> = govmedia_proto::all_method_access()
        .iter()
        .filter(|rule| {
            rule.path
                .starts_with("/govmedia.registry.v1.RegistryService/")
        })
        .collect();
    assert_eq!(methods.len(), 22);
    for rule in &methods {
        let path = rule.path;
        let allowed = govmedia_kit::auth::allowed_roles(path).expect("govmedia method");
        for role in Role::ALL {
            let mut grpc = tonic::client::Grpc::new(channel.clone());
            grpc.ready().await.expect("ready");
            let mut request = tonic::Request::new(());
            // SYSTEM is only ever a service's own identity.
            let token = if role == Role::System {
                govmedia_test_support::identity_token(
                    &app.keyring,
                    "filing",
                    &app.service("filing", None),
                    "registry",
                )
            } else {
                app.token("matrix", "golmud", &[role])
            };
            request.metadata_mut().insert(
                "authorization",
                format!("Bearer {token}").parse().expect("metadata"),
            );
            let codec = tonic_prost::ProstCodec::<(), ()>::default();
            let path_and_query: http::uri::PathAndQuery = path.parse().expect("path");
            let result = grpc.unary(request, path_and_query, codec).await;
            if allowed.contains(&role) {
                if let Err(status) = &result {
                    assert_ne!(
                        status.code(),
                        Code::PermissionDenied,
                        "{path} must admit {role}: {status:?}"
                    );
                    assert_ne!(status.code(), Code::Unauthenticated, "{path}: {status:?}");
                }
            } else {
                assert_error(result, Code::PermissionDenied, "ROLE_NOT_ALLOWED");
            }
        }
    }
    assert_eq!(audit_count(&app).await, 6, "empty requests changed nothing");
}
backend_test!(
    every_method_admits_exactly_its_roles_on,
    every_method_admits_exactly_its_roles
);

async fn callers_act_only_within_their_subtree(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    open_account(
        &app,
        "edu-wechat",
        new_account("golmud-edu", Platform::WechatOfficialAccount, "格尔木教育"),
    )
    .await
    .expect("create");
    let before = audit_count(&app).await;

    let mut xining = app
        .client("xining", &[Role::Supervisor, Role::Auditor])
        .await;
    // The filing service of a deployment rooted at Xining reaches no further either.
    let xining_filing = |filing: &str| Principal {
        organization: "xining".into(),
        ..app.service("filing", Some(filing))
    };
    assert_error(
        xining
            .get_organization(pb::GetOrganizationRequest {
                name: "organizations/golmud".into(),
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_error(
        xining
            .get_account(pb::GetAccountRequest {
                name: "accounts/edu-wechat".into(),
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_error(
        xining
            .list_accounts(pb::ListAccountsRequest {
                organization: "organizations/haixi".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_error(
        create_account(
            &mut app
                .client_as("filing", &xining_filing("filings/open-grab"))
                .await,
            "grab",
            new_account("golmud-edu", Platform::Weibo, "x"),
        )
        .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_error(
        app.client_as("filing", &xining_filing("filings/cancel-1"))
            .await
            .cancel_account(pb::CancelAccountRequest {
                name: "accounts/edu-wechat".into(),
                filing: "filings/cancel-1".into(),
                reason: "越权".into(),
                etag: String::new(),
                request_id: String::new(),
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    // A sibling unit sees nothing of another; the parent sees both.
    let mut office = app.client("golmud-office", &[Role::Operator]).await;
    assert_error(
        office
            .get_account(pb::GetAccountRequest {
                name: "accounts/edu-wechat".into(),
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    let mut haixi = app.client("haixi", &[Role::Auditor]).await;
    haixi
        .get_account(pb::GetAccountRequest {
            name: "accounts/edu-wechat".into(),
        })
        .await
        .expect("an ancestor sees its subtree");
    // A caller whose organization is not in the registry has no jurisdiction at all.
    let mut stranger = app.client("nowhere", &[Role::Auditor]).await;
    assert_error(
        stranger
            .list_accounts(pb::ListAccountsRequest::default())
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_eq!(audit_count(&app).await, before);
}
backend_test!(
    callers_act_only_within_their_subtree_on,
    callers_act_only_within_their_subtree
);

/// A supervisor of the government office (the management department) supervises the whole
/// city; an operator of the same office sees only the office; neither rewrites its own record.
async fn a_management_department_supervises_its_government(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    open_account(
        &app,
        "edu-wechat",
        new_account("golmud-edu", Platform::WechatOfficialAccount, "格尔木教育"),
    )
    .await
    .expect("create");

    let mut supervisor = app.client("golmud-office", &[Role::Supervisor]).await;
    let root = supervisor
        .get_jurisdiction(pb::GetJurisdictionRequest {})
        .await
        .expect("jurisdiction")
        .into_inner();
    assert_eq!(root.name, "organizations/golmud");
    let mut office_operator = app.client("golmud-office", &[Role::Operator]).await;
    let own = office_operator
        .get_jurisdiction(pb::GetJurisdictionRequest {})
        .await
        .expect("jurisdiction")
        .into_inner();
    assert_eq!(own.name, "organizations/golmud-office");
    let city = supervisor
        .list_accounts(pb::ListAccountsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        city.accounts.len(),
        1,
        "the office's supervisor sees the city's departments"
    );
    supervisor
        .get_organization(pb::GetOrganizationRequest {
            name: "organizations/golmud".into(),
        })
        .await
        .expect("and the city government");
    for own in ["organizations/golmud", "organizations/golmud-office"] {
        let update = supervisor
            .update_organization(pb::UpdateOrganizationRequest {
                organization: Some(pb::Organization {
                    name: own.into(),
                    must_have_account: Some(false),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["must_have_account".into()],
                }),
                request_id: String::new(),
            })
            .await;
        assert_error(update, Code::PermissionDenied, "OUTSIDE_JURISDICTION");
    }
    supervisor
        .update_organization(pb::UpdateOrganizationRequest {
            organization: Some(pb::Organization {
                name: "organizations/golmud-edu".into(),
                display_name: "格尔木市教育局".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["display_name".into()],
            }),
            request_id: String::new(),
        })
        .await
        .expect("a department below is the supervisor's to keep");

    let mut operator = app.client("golmud-office", &[Role::Operator]).await;
    assert_error(
        operator
            .get_account(pb::GetAccountRequest {
                name: "accounts/edu-wechat".into(),
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );

    let mut xining = app.client("xining", &[Role::Supervisor]).await;
    let custody = xining
        .update_credential_custody(pb::UpdateCredentialCustodyRequest {
            credential_custody: Some(pb::CredentialCustody {
                name: "accounts/edu-wechat/credentialCustody".into(),
                custodian_name: "越权者".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["custodian_name".into()],
            }),
            allow_missing: true,
            request_id: String::new(),
        })
        .await;
    assert_error(custody, Code::PermissionDenied, "OUTSIDE_JURISDICTION");
}
backend_test!(
    a_management_department_supervises_its_government_on,
    a_management_department_supervises_its_government
);
