//! Who may take which step, and the rules the registry must confirm: jurisdiction, the
//! same-level management department, the unit's own leader, one account per
//! platform, binding only after an applied opening, exactly-once requests.

use chrono::{Duration, Utc};
use govmedia_kit::auth::Role;
use govmedia_proto::{
    common::v1::Platform,
    filing::v1::{self as pb, ApplicationState, FilingKind, FilingState},
    registry::v1 as rpb,
};
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;

use crate::helpers::*;

async fn a_filing_is_for_a_unit_the_caller_reaches(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut xining = suite.filings("op", "xining-edu", Role::Operator).await;
    assert_error(
        create(
            &mut xining,
            "foreign",
            open_filing(Platform::Weibo, "越权开设"),
        )
        .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    let mut operator = suite.operator().await;
    let mut missing = open_filing(Platform::Weibo, "不存在的单位");
    missing.organization = "organizations/nowhere".into();
    assert_error(
        create(&mut operator, "missing", missing).await,
        Code::NotFound,
        "NOT_FOUND",
    );
    // A filing the caller cannot reach is not shown either.
    create(
        &mut operator,
        "edu-weibo",
        open_filing(Platform::Weibo, "格尔木教育"),
    )
    .await
    .expect("create");
    assert_error(
        xining
            .get_filing(pb::GetFilingRequest {
                name: filing_name("edu-weibo"),
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_eq!(suite.filing_count().await, 1);
}
backend_test!(
    a_filing_is_for_a_unit_the_caller_reaches_on,
    a_filing_is_for_a_unit_the_caller_reaches
);

async fn each_step_belongs_to_its_party(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut operator = suite.operator().await;
    create(
        &mut operator,
        "edu-weibo",
        open_filing(Platform::Weibo, "格尔木教育"),
    )
    .await
    .expect("create");

    // Out of order, whoever asks.
    assert_error(
        accept(&mut suite.supervisor().await, "edu-weibo").await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
    assert_error(
        consent(&mut suite.leader().await, "edu-weibo").await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
    submit(&mut operator, "edu-weibo").await.expect("submit");

    // Consent: the leader of the filing unit itself, not of another unit, not an operator.
    let mut other_leader = suite.filings("leader", "golmud-health", Role::Leader).await;
    assert_error(
        consent(&mut other_leader, "edu-weibo").await,
        Code::PermissionDenied,
        "STEP_NOT_ALLOWED",
    );
    let mut upper_leader = suite.filings("leader", "golmud", Role::Leader).await;
    assert_error(
        consent(&mut upper_leader, "edu-weibo").await,
        Code::PermissionDenied,
        "STEP_NOT_ALLOWED",
    );
    assert_error(
        consent(&mut operator, "edu-weibo").await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    // Nor any leader of the unit: its principal leader as its record names them, here
    // the designated deputy; another leader of the same unit is refused and changes nothing.
    let audited = suite.audit_count().await;
    let mut vice = suite.filings("zhao.vice", "golmud-edu", Role::Leader).await;
    let status = assert_error(
        consent(&mut vice, "edu-weibo").await,
        Code::PermissionDenied,
        "STEP_NOT_ALLOWED",
    );
    assert!(status.message().contains("principal leader"), "{status:?}");
    assert_eq!(suite.audit_count().await, audited, "nothing changed");
    let mut deputy = suite
        .filings("deputy.leader", "golmud-edu", Role::Leader)
        .await;
    let consented = consent(&mut deputy, "edu-weibo").await.expect("consent");
    assert_eq!(consented.state, FilingState::LeaderApproved as i32);

    // Decision: the management department of the unit's own level; the prefecture's department
    // sees the filing but does not decide it.
    let mut prefecture = suite
        .filings("supervisor", "haixi-office", Role::Supervisor)
        .await;
    assert_error(
        accept(&mut prefecture, "edu-weibo").await,
        Code::PermissionDenied,
        "STEP_NOT_ALLOWED",
    );
    let mut elsewhere = suite
        .filings("supervisor", "xining-edu", Role::Supervisor)
        .await;
    assert_error(
        accept(&mut elsewhere, "edu-weibo").await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    let accepted = accept(&mut suite.supervisor().await, "edu-weibo")
        .await
        .expect("accept");
    assert_eq!(accepted.state, FilingState::Accepted as i32);

    // A second acceptance (another request) is refused; withdrawal is too late.
    assert_error(
        accept(&mut suite.supervisor().await, "edu-weibo").await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
    assert_error(
        operator
            .withdraw_filing(pb::WithdrawFilingRequest {
                name: filing_name("edu-weibo"),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
}
backend_test!(
    each_step_belongs_to_its_party_on,
    each_step_belongs_to_its_party
);

async fn a_repeated_request_returns_the_first_result(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut operator = suite.operator().await;
    create(
        &mut operator,
        "edu-weibo",
        open_filing(Platform::Weibo, "格尔木教育"),
    )
    .await
    .expect("create");
    let request = pb::SubmitFilingRequest {
        name: filing_name("edu-weibo"),
        request_id: "submit-edu-weibo-1".into(),
        ..Default::default()
    };
    let first = operator
        .submit_filing(request.clone())
        .await
        .expect("submit")
        .into_inner();
    let audit = suite.audit_count().await;
    let again = operator
        .submit_filing(request.clone())
        .await
        .expect("the same submit again")
        .into_inner();
    assert_eq!(first, again);
    assert_eq!(suite.audit_count().await, audit, "nothing ran twice");
    assert_eq!(get(&mut operator, "edu-weibo").await.timeline.len(), 2);
    // The same key for another request is refused.
    let mut other = request;
    other.comment = "另一个请求".into();
    assert_error(
        operator.submit_filing(other).await,
        Code::InvalidArgument,
        "REQUEST_ID_REUSED",
    );
}
backend_test!(
    a_repeated_request_returns_the_first_result_on,
    a_repeated_request_returns_the_first_result
);

async fn nobody_decides_where_there_is_no_management_department(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut operator = suite.filings("op", "xining-edu", Role::Operator).await;
    let mut filing = open_filing(Platform::Weibo, "西宁教育");
    filing.organization = "organizations/xining-edu".into();
    create(&mut operator, "xining-weibo", filing)
        .await
        .expect("a draft needs no department");
    assert_error(
        submit(&mut operator, "xining-weibo").await,
        Code::FailedPrecondition,
        "NO_MANAGEMENT_DEPARTMENT",
    );
    assert_eq!(
        get(&mut operator, "xining-weibo").await.state,
        FilingState::Draft as i32
    );
}
backend_test!(
    nobody_decides_where_there_is_no_management_department_on,
    nobody_decides_where_there_is_no_management_department
);

/// Opens, applies and binds an account of golmud-edu; returns its id.
async fn open_account(suite: &Suite, id: &str, platform: Platform, platform_id: &str) {
    file_and_accept(suite, id, open_filing(platform, id)).await;
    let filing = applied(suite, id).await;
    assert_eq!(
        filing.application_state,
        ApplicationState::Applied as i32,
        "{}",
        filing.application_error
    );
    bind(suite, id, platform_id).await;
}

async fn a_further_account_needs_a_reason_and_healthy_siblings(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    open_account(&suite, "edu-weibo", Platform::Weibo, "edu_weibo_1").await;
    let mut operator = suite.operator().await;

    // A second Weibo account without a justification: the rule shows on submission, and
    // acceptance is refused.
    create(
        &mut operator,
        "edu-weibo-2",
        open_filing(Platform::Weibo, "格尔木招生"),
    )
    .await
    .expect("create");
    let submitted = submit(&mut operator, "edu-weibo-2").await.expect("submit");
    let check = submitted.opening_check.expect("opening check");
    assert!(check.further_account && check.justification_missing && !check.allowed);
    assert_eq!(check.existing.len(), 1);
    consent(&mut suite.leader().await, "edu-weibo-2")
        .await
        .expect("consent");
    let status = assert_error(
        accept(&mut suite.supervisor().await, "edu-weibo-2").await,
        Code::FailedPrecondition,
        "ACCOUNT_LIMIT_PER_PLATFORM",
    );
    assert!(
        preconditions(&status)
            .iter()
            .any(|(kind, _)| kind == "JUSTIFICATION_REQUIRED")
    );
    assert_eq!(
        get(&mut operator, "edu-weibo-2").await.state,
        FilingState::LeaderApproved as i32,
        "a refused acceptance changes nothing"
    );

    // With a justification, but the existing account has not posted for weeks: still refused.
    suite
        .supervisor()
        .await
        .return_filing(pb::ReturnFilingRequest {
            name: filing_name("edu-weibo-2"),
            comment: "请说明再开设的理由".into(),
            ..Default::default()
        })
        .await
        .expect("return");
    let mut justified = open_filing(Platform::Weibo, "格尔木招生");
    justified.name = filing_name("edu-weibo-2");
    justified.account.as_mut().expect("account").justification =
        "招生季咨询量大,需独立的招生服务账号".into();
    operator
        .update_filing(pb::UpdateFilingRequest {
            filing: Some(justified),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["account".into()],
            }),
            request_id: String::new(),
        })
        .await
        .expect("update");
    submit(&mut operator, "edu-weibo-2").await.expect("submit");
    consent(&mut suite.leader().await, "edu-weibo-2")
        .await
        .expect("consent");
    let mut ledger = suite.ledger_direct().await;
    let report = |days: i64| rpb::ReportAccountActivityRequest {
        name: "accounts/edu-weibo".into(),
        last_post_time: Some(prost_types::Timestamp {
            seconds: (Utc::now() - Duration::days(days)).timestamp(),
            nanos: 0,
        }),
        follower_count: Some(1200),
        request_id: String::new(),
    };
    ledger
        .report_account_activity(report(30))
        .await
        .expect("report");
    let status = assert_error(
        accept(&mut suite.supervisor().await, "edu-weibo-2").await,
        Code::FailedPrecondition,
        "ACCOUNT_LIMIT_PER_PLATFORM",
    );
    assert!(preconditions(&status).contains(&(
        "ACCOUNT_NOT_HEALTHY".to_owned(),
        "accounts/edu-weibo".to_owned()
    )));

    // Once it posts again, the further account is accepted.
    ledger
        .report_account_activity(report(1))
        .await
        .expect("report");
    let accepted = accept(&mut suite.supervisor().await, "edu-weibo-2")
        .await
        .expect("accepted once the existing account is healthy");
    let check = accepted.opening_check.expect("check");
    assert!(check.allowed && check.further_account && !check.justification_missing);
    let applied = applied(&suite, "edu-weibo-2").await;
    assert_eq!(applied.application_state, ApplicationState::Applied as i32);
}
backend_test!(
    a_further_account_needs_a_reason_and_healthy_siblings_on,
    a_further_account_needs_a_reason_and_healthy_siblings
);

async fn binding_needs_an_applied_opening(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut operator = suite.operator().await;
    let bind = |id: &str, platform_id: &str| pb::BindPlatformAccountRequest {
        name: filing_name(id),
        platform_account_id: platform_id.into(),
        request_id: String::new(),
    };
    // Not accepted yet: 未经报备,不得开设.
    create(
        &mut operator,
        "edu-weibo",
        open_filing(Platform::Weibo, "格尔木教育"),
    )
    .await
    .expect("create");
    assert_error(
        operator
            .bind_platform_account(bind("edu-weibo", "w1"))
            .await,
        Code::FailedPrecondition,
        "FILING_REQUIRED",
    );
    assert_error(
        operator.bind_platform_account(bind("nothing", "w1")).await,
        Code::NotFound,
        "NOT_FOUND",
    );

    // Another unit's account holds the platform id: the bind is refused by the ledger.
    open_account(&suite, "edu-douyin", Platform::Douyin, "dy_golmud_edu").await;
    let mut health = open_filing(Platform::Douyin, "格尔木卫健");
    health.organization = "organizations/golmud-health".into();
    let mut health_operator = suite.filings("op", "golmud-health", Role::Operator).await;
    create(&mut health_operator, "health-douyin", health)
        .await
        .expect("create");
    submit(&mut health_operator, "health-douyin")
        .await
        .expect("submit");
    consent(
        &mut suite.filings("leader", "golmud-health", Role::Leader).await,
        "health-douyin",
    )
    .await
    .expect("consent");
    accept(&mut suite.supervisor().await, "health-douyin")
        .await
        .expect("accept");
    applied(&suite, "health-douyin").await;
    assert_error(
        health_operator
            .bind_platform_account(bind("health-douyin", "dy_golmud_edu"))
            .await,
        Code::AlreadyExists,
        "ALREADY_EXISTS",
    );
    let bound = health_operator
        .bind_platform_account(bind("health-douyin", "dy_golmud_health"))
        .await
        .expect("bind a free id")
        .into_inner();
    assert_eq!(bound.bound_platform_account_id, "dy_golmud_health");
    // Binding the same id again answers as before; another id is refused.
    health_operator
        .bind_platform_account(bind("health-douyin", "dy_golmud_health"))
        .await
        .expect("same bind again");
    assert_error(
        health_operator
            .bind_platform_account(bind("health-douyin", "dy_other"))
            .await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );

    // An OPEN naming a platform id that is registered already is refused at once.
    let mut retro = open_filing(Platform::Douyin, "补报账号");
    retro.account.as_mut().expect("account").platform_account_id = "dy_golmud_edu".into();
    let status = assert_error(
        create(&mut operator, "retro", retro).await,
        Code::AlreadyExists,
        "ALREADY_EXISTS",
    );
    assert!(
        status.message().contains("accounts/edu-douyin"),
        "{status:?}"
    );
}
backend_test!(
    binding_needs_an_applied_opening_on,
    binding_needs_an_applied_opening
);

/// An OPEN of an account already on its platform (补报) takes its platform id from the moment it
/// is applied: no other unit's filing can be accepted for the same id, whether it comes after
/// or was already on its way; and another unit's operator is not told which account holds it.
async fn a_filed_after_opening_account_holds_its_platform_id(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let named = |id: &str| {
        let mut filing = open_filing(Platform::Kuaishou, "格尔木快手");
        filing
            .account
            .as_mut()
            .expect("account")
            .platform_account_id = id.into();
        filing
    };
    let for_health = |id: &str| {
        let mut filing = named(id);
        filing.organization = "organizations/golmud-health".into();
        filing
    };
    let mut health = suite.filings("op", "golmud-health", Role::Operator).await;
    // On its way already: created, submitted and consented before the other is applied.
    create(&mut health, "health-race", for_health("ks_shared"))
        .await
        .expect("create");
    submit(&mut health, "health-race").await.expect("submit");
    consent(
        &mut suite.filings("leader", "golmud-health", Role::Leader).await,
        "health-race",
    )
    .await
    .expect("consent");

    file_and_accept(&suite, "edu-kuaishou", named("ks_shared")).await;
    applied(&suite, "edu-kuaishou").await;
    let ledger = suite
        .ledger("golmud-edu", &[Role::Operator])
        .await
        .get_account(rpb::GetAccountRequest {
            name: "accounts/edu-kuaishou".into(),
        })
        .await
        .expect("account")
        .into_inner();
    assert_eq!(ledger.status, rpb::AccountStatus::Filed as i32);
    assert_eq!(ledger.platform_account_id, "ks_shared");
    assert!(ledger.filed_after_opening);

    // A new filing of another unit: refused at once, without naming the holder to it.
    let status = assert_error(
        create(&mut health, "health-late", for_health("ks_shared")).await,
        Code::AlreadyExists,
        "ALREADY_EXISTS",
    );
    assert!(!status.message().contains("accounts/"), "{status:?}");
    // The one on its way: the department that decides sees who holds the id, and refuses.
    let status = assert_error(
        accept(&mut suite.supervisor().await, "health-race").await,
        Code::AlreadyExists,
        "ALREADY_EXISTS",
    );
    assert!(
        status.message().contains("accounts/edu-kuaishou"),
        "{status:?}"
    );

    // Binding confirms the id the filing named; the account goes live with it.
    let bound = bind(&suite, "edu-kuaishou", "").await;
    assert_eq!(bound.bound_platform_account_id, "ks_shared");
}
backend_test!(
    a_filed_after_opening_account_holds_its_platform_id_on,
    a_filed_after_opening_account_holds_its_platform_id
);

/// Registers an account straight in the ledger (as if filed before govmedia).
async fn seed_account(suite: &Suite, id: &str, organization: &str, platform: Platform) {
    let mut account = proposed_account(platform, id);
    account.organization = format!("organizations/{organization}");
    suite
        .ledger_applying("filings/paper-2020-17")
        .await
        .create_account(rpb::CreateAccountRequest {
            account_id: id.into(),
            account: Some(account),
            filing: "filings/paper-2020-17".into(),
            request_id: String::new(),
        })
        .await
        .expect("seed account");
}

async fn changes_must_fit_the_account(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    open_account(&suite, "edu-weibo", Platform::Weibo, "w_edu").await;
    seed_account(&suite, "edu-app", "golmud-edu", Platform::MobileApp).await;
    seed_account(&suite, "health-weibo", "golmud-health", Platform::Weibo).await;
    let mut operator = suite.operator().await;
    let before = suite.filing_count().await;

    // Suspending an account the caller cannot see, or of another unit, or not ACTIVE, or one
    // that does not exist, is refused before anyone signs.
    assert_error(
        create(
            &mut operator,
            "foreign-suspend",
            filing_about(FilingKind::Suspend, "health-weibo"),
        )
        .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    let mut city = suite.filings("op", "golmud", Role::Operator).await;
    let status = assert_error(
        create(
            &mut city,
            "mixed-up",
            filing_about(FilingKind::Suspend, "health-weibo"),
        )
        .await,
        Code::FailedPrecondition,
        "ORGANIZATION_CONSTRAINT",
    );
    assert!(
        status.message().contains("accounts/health-weibo"),
        "{status:?}"
    );
    assert_error(
        create(
            &mut operator,
            "suspend-filed",
            filing_about(FilingKind::Suspend, "edu-app"),
        )
        .await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
    assert_error(
        create(
            &mut operator,
            "ghost",
            filing_about(FilingKind::Cancel, "no-such-account"),
        )
        .await,
        Code::NotFound,
        "NOT_FOUND",
    );

    // A CHANGE of a field accounts do not have (or may not change).
    let mut change = filing_about(FilingKind::Change, "edu-weibo");
    change.account = Some(rpb::Account::default());
    change.change_mask = Some(prost_types::FieldMask {
        paths: vec!["follower_count".into()],
    });
    assert_invalid(
        create(&mut operator, "bad-change", change).await,
        "filing.change_mask",
    );
    assert_eq!(suite.filing_count().await, before, "nothing was filed");

    // What fits is filed.
    create(
        &mut operator,
        "edu-suspend",
        filing_about(FilingKind::Suspend, "edu-weibo"),
    )
    .await
    .expect("suspending an active account");
    create(
        &mut operator,
        "edu-app-cancel",
        filing_about(FilingKind::Cancel, "edu-app"),
    )
    .await
    .expect("cancelling a filed account");
}
backend_test!(
    changes_must_fit_the_account_on,
    changes_must_fit_the_account
);
