use govmedia_kit::auth::Role;
use govmedia_proto::{
    common::v1::Platform,
    registry::v1::{self as pb, AccountStatus},
};
use govmedia_test_support::{Backend, backend_test};
use prost_types::{FieldMask, Timestamp};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{
    TestApp, activate, assert_error, assert_invalid, audit_count, new_account, open_account,
    seed_tree,
};

fn days_ago(days: i64) -> Timestamp {
    let time = chrono::Utc::now() - chrono::Duration::days(days);
    Timestamp {
        seconds: time.timestamp(),
        nanos: 0,
    }
}

async fn an_account_goes_through_its_lifecycle(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    let mut system = app.system().await;

    let filed = open_account(
        &app,
        "golmud-edu-wechat",
        new_account("golmud-edu", Platform::WechatOfficialAccount, "格尔木教育"),
    )
    .await
    .expect("create");
    assert_eq!(filed.status, AccountStatus::Filed as i32);
    assert_eq!(
        filed.level,
        govmedia_proto::common::v1::AdministrativeLevel::County as i32
    );
    assert_eq!(filed.last_filing, "filings/open-golmud-edu-wechat");
    assert_eq!(filed.platform_account_id, "");

    // Binding needs the platform id.
    assert_invalid(
        activate(&app, "golmud-edu-wechat", "").await,
        "platform_account_id",
    );
    let active = activate(&app, "golmud-edu-wechat", "gh_8a1b2c3d4e5f")
        .await
        .expect("activate");
    assert_eq!(active.status, AccountStatus::Active as i32);
    assert_eq!(active.platform_account_id, "gh_8a1b2c3d4e5f");
    assert!(active.open_time.is_some());

    let again = activate(&app, "golmud-edu-wechat", "gh_8a1b2c3d4e5f").await;
    let status = assert_error(again, Code::FailedPrecondition, "INVALID_TRANSITION");
    let details = status.get_error_details();
    assert_eq!(
        details.error_info().expect("info").metadata["from"],
        "ACTIVE"
    );
    assert!(
        details
            .localized_message()
            .expect("zh")
            .message
            .contains("运行中")
    );

    let suspend = |reason: &str, filing: &str| pb::SuspendAccountRequest {
        name: "accounts/golmud-edu-wechat".into(),
        filing: filing.into(),
        reason: reason.into(),
        etag: String::new(),
        request_id: String::new(),
    };
    assert_error(
        system
            .suspend_account(suspend("整改期间暂停更新", ""))
            .await,
        Code::FailedPrecondition,
        "FILING_REQUIRED",
    );
    assert_invalid(
        system
            .suspend_account(suspend("", "filings/suspend-1"))
            .await,
        "reason",
    );
    // Only the filing service, and only for the filing it vouches for, changes the ledger.
    assert_error(
        system
            .suspend_account(suspend("整改期间暂停更新", "filings/suspend-1"))
            .await,
        Code::FailedPrecondition,
        "FILING_NOT_ACCEPTED",
    );
    assert_error(
        app.applying("filings/another")
            .await
            .suspend_account(suspend("整改期间暂停更新", "filings/suspend-1"))
            .await,
        Code::FailedPrecondition,
        "FILING_NOT_ACCEPTED",
    );
    let gateway = app.service("gateway", Some("filings/suspend-1"));
    assert_error(
        app.client_as("gateway", &gateway)
            .await
            .suspend_account(suspend("整改期间暂停更新", "filings/suspend-1"))
            .await,
        Code::PermissionDenied,
        "SERVICE_ONLY",
    );
    assert_error(
        app.client("golmud", &[Role::Supervisor])
            .await
            .suspend_account(suspend("整改期间暂停更新", "filings/suspend-1"))
            .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    assert_eq!(
        system
            .get_account(pb::GetAccountRequest {
                name: "accounts/golmud-edu-wechat".into(),
            })
            .await
            .expect("get")
            .into_inner()
            .status,
        AccountStatus::Active as i32,
        "nothing changed"
    );
    let suspended = app
        .applying("filings/suspend-1")
        .await
        .suspend_account(suspend("整改期间暂停更新", "filings/suspend-1"))
        .await
        .expect("suspend")
        .into_inner();
    assert_eq!(suspended.status, AccountStatus::Suspended as i32);
    assert_eq!(suspended.last_filing, "filings/suspend-1");

    // Resuming keeps the bound id; another id is refused.
    assert_invalid(
        activate(&app, "golmud-edu-wechat", "gh_other").await,
        "platform_account_id",
    );
    let resumed = activate(&app, "golmud-edu-wechat", "")
        .await
        .expect("resume");
    assert_eq!(resumed.platform_account_id, "gh_8a1b2c3d4e5f");

    let cancel = |etag: &str| pb::CancelAccountRequest {
        name: "accounts/golmud-edu-wechat".into(),
        filing: "filings/cancel-1".into(),
        reason: "职能调整,账号注销".into(),
        etag: etag.into(),
        request_id: String::new(),
    };
    let mut canceller = app.applying("filings/cancel-1").await;
    assert_error(
        canceller.cancel_account(cancel("1")).await,
        Code::Aborted,
        "ETAG_MISMATCH",
    );
    let cancelled = canceller
        .cancel_account(cancel(&resumed.etag))
        .await
        .expect("cancel")
        .into_inner();
    assert_eq!(cancelled.status, AccountStatus::Cancelled as i32);
    assert_error(
        activate(&app, "golmud-edu-wechat", "").await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );

    // Every change is in the audit trail of the account, newest first.
    let mut auditor = app.client("golmud", &[Role::Auditor]).await;
    let trail = auditor
        .list_audit_records(pb::ListAuditRecordsRequest {
            resource: "accounts/golmud-edu-wechat".into(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner();
    let actions: Vec<_> = trail.records.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "CancelAccount",
            "ActivateAccount",
            "SuspendAccount",
            "ActivateAccount",
            "CreateAccount"
        ]
    );
    assert!(
        trail
            .records
            .iter()
            .all(|r| r.organization == "organizations/golmud-edu")
    );
}
backend_test!(
    an_account_goes_through_its_lifecycle_on,
    an_account_goes_through_its_lifecycle
);

async fn changes_without_a_filing_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    let mut system = app.system().await;
    let result = system
        .create_account(pb::CreateAccountRequest {
            account_id: "no-filing".into(),
            account: Some(new_account("golmud-edu", Platform::Weibo, "格尔木教育")),
            filing: String::new(),
            request_id: String::new(),
        })
        .await;
    let status = assert_error(result, Code::FailedPrecondition, "FILING_REQUIRED");
    assert!(
        status
            .get_error_details()
            .localized_message()
            .expect("zh")
            .message
            .contains("未经报备")
    );
    assert_eq!(audit_count(&app).await, 6, "only the seeded organizations");
    let missing = system
        .get_account(pb::GetAccountRequest {
            name: "accounts/no-filing".into(),
        })
        .await;
    assert_error(missing, Code::NotFound, "NOT_FOUND");
}
backend_test!(
    changes_without_a_filing_are_refused_on,
    changes_without_a_filing_are_refused
);

async fn one_account_per_platform_unless_justified_and_healthy(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    let mut system = app.system().await;
    open_account(
        &app,
        "edu-weibo",
        new_account("golmud-edu", Platform::Weibo, "格尔木教育"),
    )
    .await
    .expect("first");

    // A second one without justification.
    let second = open_account(
        &app,
        "edu-weibo-2",
        new_account("golmud-edu", Platform::Weibo, "格尔木招考"),
    )
    .await;
    let status = assert_error(
        second,
        Code::FailedPrecondition,
        "ACCOUNT_LIMIT_PER_PLATFORM",
    );
    let details = status.get_error_details();
    let violations = &details.precondition_failure().expect("pf").violations;
    assert!(
        violations
            .iter()
            .any(|v| v.r#type == "JUSTIFICATION_REQUIRED")
    );
    assert!(
        violations
            .iter()
            .any(|v| v.r#type == "ACCOUNT_NOT_HEALTHY" && v.subject == "accounts/edu-weibo")
    );

    // Justified, but the first is only FILED.
    let mut justified = new_account("golmud-edu", Platform::Weibo, "格尔木招考");
    justified.justification = "招生考试信息需独立发布,与局官方账号分开运营".into();
    let status = assert_error(
        open_account(&app, "edu-weibo-2", justified.clone()).await,
        Code::FailedPrecondition,
        "ACCOUNT_LIMIT_PER_PLATFORM",
    );
    assert!(
        !status
            .get_error_details()
            .precondition_failure()
            .expect("pf")
            .violations
            .iter()
            .any(|v| v.r#type == "JUSTIFICATION_REQUIRED")
    );

    // Active, but silent: still unhealthy.
    activate(&app, "edu-weibo", "7712345678")
        .await
        .expect("activate");
    let report = |days: i64| pb::ReportAccountActivityRequest {
        name: "accounts/edu-weibo".into(),
        last_post_time: Some(days_ago(days)),
        follower_count: Some(5230),
        request_id: String::new(),
    };
    system
        .report_account_activity(report(30))
        .await
        .expect("report");
    assert_error(
        open_account(&app, "edu-weibo-2", justified.clone()).await,
        Code::FailedPrecondition,
        "ACCOUNT_LIMIT_PER_PLATFORM",
    );
    // Posting recently: now healthy, and the justified second account is allowed.
    let reported = system
        .report_account_activity(report(1))
        .await
        .expect("report")
        .into_inner();
    assert_eq!(reported.follower_count, 5230);
    // An older observation does not move the latest post back.
    let older = system
        .report_account_activity(report(20))
        .await
        .expect("report")
        .into_inner();
    assert_eq!(older.last_post_time, reported.last_post_time);
    let second = open_account(&app, "edu-weibo-2", justified)
        .await
        .expect("justified second account");
    assert_eq!(
        second.justification,
        "招生考试信息需独立发布,与局官方账号分开运营"
    );
    // Other platforms are not affected.
    open_account(
        &app,
        "edu-douyin",
        new_account("golmud-edu", Platform::Douyin, "格尔木教育"),
    )
    .await
    .expect("another platform");
}
backend_test!(
    one_account_per_platform_unless_justified_and_healthy_on,
    one_account_per_platform_unless_justified_and_healthy
);

async fn a_platform_id_belongs_to_one_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    open_account(
        &app,
        "office-douyin",
        new_account("golmud-office", Platform::Douyin, "格尔木发布"),
    )
    .await
    .expect("create");
    open_account(
        &app,
        "edu-douyin",
        new_account("golmud-edu", Platform::Douyin, "格尔木教育"),
    )
    .await
    .expect("create");
    activate(&app, "office-douyin", "golmudfabu")
        .await
        .expect("activate");
    let taken = activate(&app, "edu-douyin", "golmudfabu").await;
    let status = assert_error(taken, Code::AlreadyExists, "ALREADY_EXISTS");
    assert_eq!(
        status
            .get_error_details()
            .error_info()
            .expect("info")
            .metadata["existing"],
        "accounts/office-douyin"
    );
    let duplicate = open_account(
        &app,
        "office-douyin",
        new_account("golmud-office", Platform::Kuaishou, "x"),
    )
    .await;
    assert_error(duplicate, Code::AlreadyExists, "ALREADY_EXISTS");

    // An account already on its platform (补报) is registered with its id, bound at once and
    // marked; the id is taken from then on, and activation keeps it.
    let mut retro = new_account("golmud-edu", Platform::Kuaishou, "格尔木教育快手");
    retro.platform_account_id = "ks_golmud_edu".into();
    let registered = open_account(&app, "edu-kuaishou", retro.clone())
        .await
        .expect("a 补报 registration");
    assert_eq!(registered.status, AccountStatus::Filed as i32);
    assert_eq!(registered.platform_account_id, "ks_golmud_edu");
    assert!(registered.filed_after_opening);
    let mut twin = retro.clone();
    twin.organization = "organizations/golmud-office".into();
    let before = audit_count(&app).await;
    let status = assert_error(
        open_account(&app, "office-kuaishou", twin).await,
        Code::AlreadyExists,
        "ALREADY_EXISTS",
    );
    assert!(
        status.message().contains("accounts/edu-kuaishou"),
        "{status:?}"
    );
    assert_eq!(audit_count(&app).await, before, "nothing changed");
    assert_error(
        activate(&app, "edu-kuaishou", "ks_other").await,
        Code::InvalidArgument,
        "INVALID_FIELD",
    );
    let live = activate(&app, "edu-kuaishou", "").await.expect("activate");
    assert_eq!(live.status, AccountStatus::Active as i32);
    assert_eq!(live.platform_account_id, "ks_golmud_edu");
    // An account opened through govmedia is not marked.
    assert!(
        !activate(&app, "edu-douyin", "edu_douyin")
            .await
            .expect("bind")
            .filed_after_opening
    );
}
backend_test!(
    a_platform_id_belongs_to_one_account_on,
    a_platform_id_belongs_to_one_account
);

async fn a_request_id_makes_a_write_happen_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    let mut system = app.applying("filings/open-1").await;
    let request = pb::CreateAccountRequest {
        account_id: String::new(),
        account: Some(new_account("golmud-edu", Platform::Bilibili, "格尔木教育")),
        filing: "filings/open-1".into(),
        request_id: "3f2b4c1e-1b7a-4c0e-9a55-0d7f2a6e8b11".into(),
    };
    let first = system
        .create_account(request.clone())
        .await
        .expect("first")
        .into_inner();
    assert!(first.name.starts_with("accounts/acc-"), "{}", first.name);
    let before = audit_count(&app).await;
    let second = system
        .create_account(request.clone())
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(first, second, "the replay returns the first result");
    assert_eq!(audit_count(&app).await, before, "and changes nothing");

    let mut changed = request;
    changed.account.as_mut().expect("account").display_name = "别的名字".into();
    let status = assert_error(
        system.create_account(changed).await,
        Code::InvalidArgument,
        "REQUEST_ID_REUSED",
    );
    assert!(status.get_error_details().bad_request().is_some());
}
backend_test!(
    a_request_id_makes_a_write_happen_once_on,
    a_request_id_makes_a_write_happen_once
);

async fn accounts_are_listed_searched_and_updated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    for (id, org, platform, name) in [
        (
            "a-office-wechat",
            "golmud-office",
            Platform::WechatOfficialAccount,
            "格尔木发布",
        ),
        (
            "a-office-weibo",
            "golmud-office",
            Platform::Weibo,
            "格尔木发布",
        ),
        (
            "a-edu-wechat",
            "golmud-edu",
            Platform::WechatOfficialAccount,
            "格尔木教育",
        ),
        (
            "a-edu-app",
            "golmud-edu",
            Platform::MobileApp,
            "Golmud Edu App",
        ),
    ] {
        open_account(&app, id, new_account(org, platform, name))
            .await
            .expect("create");
    }
    let mut vendor_account = new_account("golmud-edu", Platform::Kuaishou, "格尔木教育快手");
    vendor_account.operator = Some(pb::Operator {
        r#type: pb::OperatorType::Vendor as i32,
        vendor: "vendors/qinghai-media".into(),
    });
    open_account(&app, "a-edu-kuaishou", vendor_account)
        .await
        .expect("create");
    activate(&app, "a-edu-wechat", "gh_edu")
        .await
        .expect("activate");

    let mut operator = app.client("golmud-edu", &[Role::Operator]).await;
    let own = operator
        .list_accounts(pb::ListAccountsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(own.total_size, 3, "an operator sees its unit only");

    let mut supervisor = app.client("golmud", &[Role::Supervisor]).await;
    let wechat = supervisor
        .list_accounts(pb::ListAccountsRequest {
            platform: Platform::WechatOfficialAccount as i32,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(wechat.accounts.len(), 2);
    let active = supervisor
        .list_accounts(pb::ListAccountsRequest {
            status: AccountStatus::Active as i32,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        active
            .accounts
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["accounts/a-edu-wechat"]
    );
    let vendor = supervisor
        .list_accounts(pb::ListAccountsRequest {
            operator_vendor: "vendors/qinghai-media".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(vendor.total_size, 1);

    let search = |query: &str| pb::SearchAccountsRequest {
        query: query.into(),
        ..Default::default()
    };
    let found = supervisor
        .search_accounts(search("发布"))
        .await
        .expect("search")
        .into_inner();
    assert_eq!(found.total_size, 2);
    let found = supervisor
        .search_accounts(search("golmud EDU"))
        .await
        .expect("search")
        .into_inner();
    assert_eq!(
        found.accounts.len(),
        1,
        "case-insensitive for Latin letters"
    );
    let found = supervisor
        .search_accounts(search("gh_edu"))
        .await
        .expect("search")
        .into_inner();
    assert_eq!(
        found.accounts[0].name, "accounts/a-edu-wechat",
        "platform ids are searched too"
    );
    let found = supervisor
        .search_accounts(search("100%"))
        .await
        .expect("search")
        .into_inner();
    assert_eq!(found.total_size, 0, "wildcards are literal");

    let updated = app
        .applying("filings/change-1")
        .await
        .update_account(pb::UpdateAccountRequest {
            account: Some(pb::Account {
                name: "accounts/a-edu-app".into(),
                display_name: "格尔木教育客户端".into(),
                homepage_url: "https://edu.golmud.gov.cn/app".into(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["display_name".into(), "homepage_url".into()],
            }),
            filing: "filings/change-1".into(),
            request_id: String::new(),
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.display_name, "格尔木教育客户端");
    assert_eq!(updated.last_filing, "filings/change-1");
    assert_eq!(
        updated.responsible_person.expect("contact").name,
        "王敏",
        "unmasked fields stay"
    );
}
backend_test!(
    accounts_are_listed_searched_and_updated_on,
    accounts_are_listed_searched_and_updated
);

/// R-03's health window is a regional number: Golmud calls an account healthy only if it
/// posted within the last 7 days, where the national setting says 14.
async fn the_health_window_is_set_per_region(backend: Backend) {
    let mut config = govmedia_registry::RegistryConfig::default();
    config.regions.insert(
        "golmud".into(),
        govmedia_registry::config::RegionRules {
            healthy_post_window_days: Some(7),
        },
    );
    let app = TestApp::spawn_with(backend, config).await;
    seed_tree(&app).await;
    let mut system = app.system().await;
    open_account(
        &app,
        "edu-weibo",
        new_account("golmud-edu", Platform::Weibo, "格尔木教育"),
    )
    .await
    .expect("create");
    activate(&app, "edu-weibo", "7712345678")
        .await
        .expect("activate");
    let posted = |days: i64| pb::ReportAccountActivityRequest {
        name: "accounts/edu-weibo".into(),
        last_post_time: Some(days_ago(days)),
        follower_count: None,
        request_id: String::new(),
    };
    let evaluate = pb::EvaluateAccountOpeningRequest {
        organization: "organizations/golmud-edu".into(),
        platform: Platform::Weibo as i32,
        justification: "招生考试信息需独立发布".into(),
    };
    system
        .report_account_activity(posted(10))
        .await
        .expect("report");
    let silent = system
        .evaluate_account_opening(evaluate.clone())
        .await
        .expect("evaluate")
        .into_inner();
    assert!(
        !silent.allowed,
        "ten days is too long in Golmud: {silent:?}"
    );
    system
        .report_account_activity(posted(5))
        .await
        .expect("report");
    let recent = system
        .evaluate_account_opening(evaluate)
        .await
        .expect("evaluate")
        .into_inner();
    assert!(recent.allowed, "{recent:?}");
}
backend_test!(
    the_health_window_is_set_per_region_on,
    the_health_window_is_set_per_region
);

async fn an_opening_can_be_evaluated_without_changing_anything(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    let mut supervisor = app.client("golmud", &[Role::Supervisor]).await;
    let evaluate = |justification: &str| pb::EvaluateAccountOpeningRequest {
        organization: "organizations/golmud-edu".into(),
        platform: Platform::Weibo as i32,
        justification: justification.into(),
    };
    let first = supervisor
        .evaluate_account_opening(evaluate(""))
        .await
        .expect("evaluate")
        .into_inner();
    assert!(first.allowed && !first.further_account && first.existing.is_empty());

    open_account(
        &app,
        "edu-weibo",
        new_account("golmud-edu", Platform::Weibo, "格尔木教育"),
    )
    .await
    .expect("create");
    let before = audit_count(&app).await;
    let second = supervisor
        .evaluate_account_opening(evaluate(""))
        .await
        .expect("evaluate")
        .into_inner();
    assert!(!second.allowed && second.further_account && second.justification_missing);
    assert_eq!(second.existing[0].account, "accounts/edu-weibo");
    assert!(
        second.existing[0].problem.contains("FILED"),
        "{:?}",
        second.existing
    );
    let justified = supervisor
        .evaluate_account_opening(evaluate("专项服务需要"))
        .await
        .expect("evaluate")
        .into_inner();
    assert!(
        !justified.allowed && !justified.justification_missing,
        "the existing one is not healthy yet"
    );
    assert_eq!(
        audit_count(&app).await,
        before,
        "evaluating changes nothing"
    );

    let mut xining = app.client("xining", &[Role::Supervisor]).await;
    assert_error(
        xining.evaluate_account_opening(evaluate("")).await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_invalid(
        supervisor
            .evaluate_account_opening(pb::EvaluateAccountOpeningRequest {
                organization: "organizations/golmud-edu".into(),
                platform: 0,
                justification: String::new(),
            })
            .await,
        "platform",
    );

    let departments = supervisor
        .list_organizations(pb::ListOrganizationsRequest {
            management_department: Some(true),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let names: Vec<_> = departments
        .organizations
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(names, ["organizations/golmud-office"]);
}
backend_test!(
    an_opening_can_be_evaluated_without_changing_anything_on,
    an_opening_can_be_evaluated_without_changing_anything
);
