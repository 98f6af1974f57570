//! Steps the rules refuse: each gets its code and reason, and changes nothing.

use govmedia_kit::auth::Role;
use govmedia_proto::routing::v1 as pb;
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;

use crate::helpers::*;

/// A case dispatched by hand to the education bureau, its etag unchanged by what follows.
async fn dispatched(suite: &Suite) -> pb::Case {
    let mut collector = suite.collector().await;
    let taken = submit(
        &mut collector,
        message(
            "golmud-wechat",
            "wx-6001",
            "学校食堂的饭菜价格太高",
            "2026-06-01T08:00:00+08:00",
        ),
    )
    .await
    .expect("taken");
    let case = case_of(&taken);
    assert_eq!(state(&case), "RECEIVED", "no rule matches");
    suite
        .dispatcher()
        .await
        .dispatch_case(pb::DispatchCaseRequest {
            name: case.name.clone(),
            department: "organizations/golmud-edu".into(),
            comment: "教育局主管学校食堂".into(),
            ..Default::default()
        })
        .await
        .expect("dispatched")
        .into_inner()
}

async fn current(suite: &Suite, name: &str) -> pb::Case {
    suite
        .dispatcher()
        .await
        .get_case(pb::GetCaseRequest { name: name.into() })
        .await
        .expect("case")
        .into_inner()
}

backend_test!(
    steps_out_of_turn_or_by_the_wrong_people_are_refused_on,
    refused
);

async fn refused(backend: Backend) {
    let suite = Suite::spawn_with(backend, "2026-06-01T09:00:00+08:00", false).await;
    let case = dispatched(&suite).await;
    let name = case.name.clone();
    let audited = suite.audit_count().await;

    // Sign-for by another department, which cannot see the case (as GetCase says), and by the
    // dispatcher, who sees it but is not its department.
    let mut health = suite.health_handler().await;
    assert_error(
        health
            .sign_for_case(pb::SignForCaseRequest {
                name: name.clone(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_error(
        suite
            .client("zhou.dispatcher", "golmud", &[Role::Handler])
            .await
            .sign_for_case(pb::SignForCaseRequest {
                name: name.clone(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "STEP_NOT_ALLOWED",
    );
    // Dispatching outside the dispatcher's jurisdiction, or a dispatched case again.
    let mut dispatcher = suite.dispatcher().await;
    assert_error(
        dispatcher
            .dispatch_case(pb::DispatchCaseRequest {
                name: name.clone(),
                department: "organizations/xining-edu".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_error(
        dispatcher
            .dispatch_case(pb::DispatchCaseRequest {
                name: name.clone(),
                department: "organizations/golmud-health".into(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
    // A reply before sign-for.
    let mut edu = suite.edu_handler().await;
    assert_error(
        edu.draft_reply(pb::DraftReplyRequest {
            name: name.clone(),
            text: "答复".into(),
            ..Default::default()
        })
        .await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
    // A return after the window (2 working days: 2 and 3 June).
    suite.time.set(at("2026-06-04T00:00:01+08:00"));
    assert_error(
        edu.return_case(pb::ReturnCaseRequest {
            name: name.clone(),
            reason: "不属于我局".into(),
            ..Default::default()
        })
        .await,
        Code::FailedPrecondition,
        "RETURN_WINDOW_CLOSED",
    );
    // Nothing of the refused steps is on the case (the scheduler may have marked the bureau
    // late meanwhile: its sign-for deadline passed too).
    let unchanged = current(&suite, &name).await;
    assert_eq!(state(&unchanged), "DISPATCHED");
    assert_eq!(unchanged.return_count, 0);
    assert!(
        actions(&unchanged)
            .iter()
            .all(|a| a == "RECEIVED" || a == "DISPATCHED" || a == "ESCALATED")
    );

    edu.sign_for_case(pb::SignForCaseRequest {
        name: name.clone(),
        ..Default::default()
    })
    .await
    .expect("signed");
    // Extensions beyond the cap of 10 working days, then beyond what is left of it.
    assert_invalid(
        edu.request_extension(pb::RequestExtensionRequest {
            name: name.clone(),
            days: 11,
            reason: "情况复杂".into(),
            ..Default::default()
        })
        .await,
        "days",
    );
    edu.request_extension(pb::RequestExtensionRequest {
        name: name.clone(),
        days: 8,
        reason: "情况复杂".into(),
        ..Default::default()
    })
    .await
    .expect("asked");
    // A second request while one waits; a refusal without a reason.
    assert_error(
        edu.request_extension(pb::RequestExtensionRequest {
            name: name.clone(),
            days: 1,
            reason: "再延".into(),
            ..Default::default()
        })
        .await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
    assert_invalid(
        dispatcher
            .decide_extension(pb::DecideExtensionRequest {
                name: name.clone(),
                approve: false,
                ..Default::default()
            })
            .await,
        "comment",
    );
    dispatcher
        .decide_extension(pb::DecideExtensionRequest {
            name: name.clone(),
            approve: true,
            ..Default::default()
        })
        .await
        .expect("approved");
    assert_invalid(
        edu.request_extension(pb::RequestExtensionRequest {
            name: name.clone(),
            days: 3,
            reason: "还需时间".into(),
            ..Default::default()
        })
        .await,
        "days",
    );

    // The leader who drafts a reply never approves it; a handler never reviews.
    let mut leader = suite.edu_leader().await;
    leader
        .draft_reply(pb::DraftReplyRequest {
            name: name.clone(),
            text: "食堂价格已按规定公示，将组织核查。".into(),
            ..Default::default()
        })
        .await
        .expect("drafted by the leader");
    let before = current(&suite, &name).await;
    assert_error(
        leader
            .review_reply(pb::ReviewReplyRequest {
                name: name.clone(),
                approve: true,
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "STEP_NOT_ALLOWED",
    );
    assert_error(
        edu.review_reply(pb::ReviewReplyRequest {
            name: name.clone(),
            approve: true,
            ..Default::default()
        })
        .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    // Nor does a leader of another department (who cannot see the case).
    let mut other_leader = suite.health_leader().await;
    assert_error(
        other_leader
            .review_reply(pb::ReviewReplyRequest {
                name: name.clone(),
                approve: true,
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    // Rejecting needs a reason; a stale etag is refused.
    assert_invalid(
        suite
            .client(
                "sun.leader",
                "golmud-edu",
                &[govmedia_kit::auth::Role::Leader],
            )
            .await
            .review_reply(pb::ReviewReplyRequest {
                name: name.clone(),
                approve: false,
                ..Default::default()
            })
            .await,
        "comment",
    );
    assert_error(
        suite
            .client(
                "sun.leader",
                "golmud-edu",
                &[govmedia_kit::auth::Role::Leader],
            )
            .await
            .review_reply(pb::ReviewReplyRequest {
                name: name.clone(),
                approve: true,
                etag: case.etag.clone(),
                ..Default::default()
            })
            .await,
        Code::Aborted,
        "ETAG_MISMATCH",
    );
    let after = current(&suite, &name).await;
    assert_eq!(after.etag, before.etag);
    assert_eq!(state(&after), "REVIEWING");
    // Satisfaction and closing wait for a published reply; reopening for a dissatisfied one.
    assert_error(
        dispatcher
            .close_case(pb::CloseCaseRequest {
                name: name.clone(),
                reason: "结案".into(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
    // Every refusal left the trail as it was but for the steps that were taken.
    assert_eq!(suite.audit_count().await, audited + 4);
}

backend_test!(malformed_requests_name_their_fields_on, malformed);

async fn malformed(backend: Backend) {
    let suite = Suite::spawn_with(backend, "2026-06-01T09:00:00+08:00", false).await;
    let mut collector = suite.collector().await;
    let mut bad = message("golmud-wechat", "wx 7001", "", "2030-01-01T00:00:00+08:00");
    bad.category = 9;
    bad.region_code = "63x".into();
    bad.citizen_contact = "1".repeat(200);
    let status = assert_invalid(
        submit(&mut collector, bad).await,
        "message.platform_message_id",
    );
    let text = format!("{status:?}");
    for field in [
        "message.text",
        "message.category",
        "message.received_time",
        "message.region_code",
        "message.citizen_contact",
    ] {
        assert!(text.contains(field), "{field} is named: {text}");
    }
    assert!(!text.contains(&"1".repeat(50)), "the contact is not echoed");
    let mut dispatcher = suite.dispatcher().await;
    assert_invalid(
        dispatcher
            .create_routing_rule(pb::CreateRoutingRuleRequest {
                rule_id: "Bad Id".into(),
                rule: Some(pb::RoutingRule {
                    organization: "organizations/golmud".into(),
                    keywords: vec!["".into(), "！！".into()],
                    region_prefixes: vec!["abc".into()],
                    department: "organizations/golmud-edu".into(),
                    priority: 5000,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await,
        "rule_id",
    );
    assert_invalid(
        dispatcher
            .get_case(pb::GetCaseRequest {
                name: "cases/".into(),
            })
            .await,
        "name",
    );
    assert_error(
        dispatcher
            .get_case(pb::GetCaseRequest {
                name: "cases/c0000".into(),
            })
            .await,
        Code::NotFound,
        "NOT_FOUND",
    );
    assert_eq!(suite.case_count().await, 0);
}

backend_test!(
    a_rule_set_from_above_is_withdrawn_only_from_above_on,
    rule_from_above
);

/// Haixi's supervisor sets a routing rule for Golmud: Golmud's own supervisor may not delete it
/// (it could not set it again), Haixi's may.
async fn rule_from_above(backend: Backend) {
    let suite = Suite::spawn_with(backend, "2026-06-01T09:00:00+08:00", false).await;
    let mut haixi = suite
        .client("hx.supervisor", "haixi", &[Role::Supervisor])
        .await;
    haixi
        .create_routing_rule(pb::CreateRoutingRuleRequest {
            rule_id: "haixi-schools".into(),
            rule: Some(pb::RoutingRule {
                organization: "organizations/golmud".into(),
                keywords: vec!["学校".into()],
                department: "organizations/golmud-edu".into(),
                priority: 5,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("set from above");
    let delete = || pb::DeleteRoutingRuleRequest {
        name: "routingRules/haixi-schools".into(),
        request_id: String::new(),
    };
    let mut golmud = suite
        .client("gm.supervisor", "golmud-office", &[Role::Supervisor])
        .await;
    let status = assert_error(
        golmud.delete_routing_rule(delete()).await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert!(
        status.message().contains("organizations/haixi"),
        "{status:?}"
    );
    haixi
        .delete_routing_rule(delete())
        .await
        .expect("withdrawn from above");
}

backend_test!(
    filters_outside_the_jurisdiction_are_refused_not_emptied_on,
    filters_outside
);

/// A list or look-up naming a unit or account outside the caller's jurisdiction is refused, as
/// the organization filter is; a department still lists the cases of other units' accounts
/// dispatched to it.
async fn filters_outside(backend: Backend) {
    let suite = Suite::spawn_with(backend, "2026-06-01T09:00:00+08:00", false).await;
    let case = dispatched(&suite).await;
    let mut dispatcher = suite.dispatcher().await;
    let listed = dispatcher
        .list_cases(pb::ListCasesRequest {
            department: "organizations/golmud-edu".into(),
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(listed.cases.len(), 1);
    assert_error(
        dispatcher
            .list_cases(pb::ListCasesRequest {
                department: "organizations/xining-edu".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    let mut edu = suite.edu_handler().await;
    let mine = edu
        .list_cases(pb::ListCasesRequest {
            account: "accounts/golmud-wechat".into(),
            ..Default::default()
        })
        .await
        .expect("a department filters by the account its case came from")
        .into_inner();
    assert_eq!(mine.cases.len(), 1);
    assert_eq!(mine.cases[0].name, case.name);
    // The dispatcher's steps: the department, which sees the case, hears the step is not its
    // own; another county, which does not, hears what GetCase would say.
    let close = || pb::CloseCaseRequest {
        name: case.name.clone(),
        reason: "已办结".into(),
        ..Default::default()
    };
    let mut edu_operator = suite
        .client("edu.operator", "golmud-edu", &[Role::Operator])
        .await;
    assert_error(
        edu_operator.close_case(close()).await,
        Code::PermissionDenied,
        "STEP_NOT_ALLOWED",
    );
    let mut xining = suite
        .client("xn.operator", "xining-edu", &[Role::Operator])
        .await;
    assert_error(
        xining.close_case(close()).await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_error(
        dispatcher
            .lookup_approved_content(pb::LookupApprovedContentRequest {
                content_hash: "0".repeat(64),
                account: "accounts/xining-edu-weibo".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
}
