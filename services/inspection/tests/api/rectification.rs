//! Rectification orders through the gateway: opened from a finding on a working-day deadline,
//! warned, answered, re-checked under the order's scheme version, rejected, overdue, answered
//! late and verified; and every refusal on the way changes nothing.

use govmedia_kit::auth::Role;
use govmedia_proto::{filing::v1 as fpb, inspection::v1 as pb, registry::v1 as rpb};
use std::time::Duration;

use govmedia_test_support::{Backend, backend_test, eventually, next_event};
use prost::{Message, Name};
use tonic::Code;

use crate::helpers::*;

/// The serious wording error of the national scheme, once on Golmud's account and once on its
/// education bureau's.
const WRONG: &str = "我市召开专题会议，深入学习贯彻以习近平总书记为核心的党中央决策部署。";

/// Publishes the wrong wording on both accounts and checks them; returns the two findings.
pub async fn findings(suite: &Suite) -> (String, String, pb::Check) {
    let mut collector = suite.collector().await;
    let response = stream(
        &mut collector,
        vec![
            post("golmud-wechat", "wx-1", "2026-11-28T18:00:00+08:00", WRONG),
            post(
                "golmud-edu-wechat",
                "edu-1",
                "2026-11-27T18:00:00+08:00",
                WRONG,
            ),
        ],
    )
    .await;
    assert_eq!(response.refused, 0, "{response:?}");
    let mut supervisor = suite.supervisor().await;
    let golmud = check(&mut supervisor, "golmud-wechat", "").await;
    let edu = check(&mut supervisor, "golmud-edu-wechat", "").await;
    let first = |check: &pb::Check| {
        item(check, "serious-wording-error")
            .findings
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("a wording finding in {check:?}"))
    };
    (first(&golmud), first(&edu), golmud)
}

fn opening(findings: &[&str], days: i32, request_id: &str) -> pb::OpenRectificationOrderRequest {
    pb::OpenRectificationOrderRequest {
        findings: findings.iter().map(|f| (*f).to_owned()).collect(),
        requirement: "删除错误表述，公开更正，并说明审核把关整改措施".into(),
        deadline_working_days: days,
        request_id: request_id.into(),
        order_id: String::new(),
    }
}

fn answer(name: &str, text: &str) -> pb::AnswerRectificationOrderRequest {
    pb::AnswerRectificationOrderRequest {
        name: name.into(),
        text: text.into(),
        links: vec!["https://mp.weixin.qq.com/s/correction-1".into()],
        attachments: vec![pb::Attachment {
            name: "整改报告.pdf".into(),
            sha256: "9f86d081884c7d659a2feb2a0c55ae15a0d4f0e5e0c3a1b7e4b5c6d7e8f90a1b".into(),
            size_bytes: 48_213,
            uri: String::new(),
        }],
        etag: String::new(),
        request_id: String::new(),
    }
}

/// The next `RectificationOrderChanged` of `order` with `change` on the bus (events before it
/// are passed over, so the test asks for them in the order they happen).
async fn changed(
    suite: &Suite,
    order: &str,
    change: pb::RectificationChange,
) -> pb::RectificationOrder {
    let event = next_event(&suite.bus, "inspection", "rectification-test", |envelope| {
        envelope.subject == order
            && envelope.r#type == pb::RectificationOrderChanged::full_name()
            && pb::RectificationOrderChanged::decode(envelope.payload.as_slice())
                .is_ok_and(|changed| changed.change == change as i32)
    })
    .await;
    pb::RectificationOrderChanged::decode(event.payload.as_slice())
        .expect("payload")
        .order
        .expect("order")
}

async fn get(client: &mut Inspection, name: &str) -> pb::RectificationOrder {
    client
        .get_rectification_order(pb::GetRectificationOrderRequest { name: name.into() })
        .await
        .expect("get order")
        .into_inner()
}

async fn list(client: &mut Inspection, overdue_only: bool) -> Vec<String> {
    client
        .list_rectification_orders(pb::ListRectificationOrdersRequest {
            overdue_only,
            ..Default::default()
        })
        .await
        .expect("list orders")
        .into_inner()
        .orders
        .into_iter()
        .map(|order| order.name)
        .collect()
}

backend_test!(
    an_order_is_warned_answered_rejected_overdue_and_verified,
    order_lifecycle
);

async fn order_lifecycle(backend: Backend) {
    let suite = Suite::spawn(backend, NOW).await;
    let (finding, edu_finding, golmud_check) = findings(&suite).await;
    let mut supervisor = suite.supervisor().await;
    let mut operator = suite
        .client("li.operator", "golmud", &[Role::Operator])
        .await;
    let mut xining = suite.xining_supervisor().await;

    // Refusals first: none of them leaves an order behind.
    assert_error(
        operator
            .open_rectification_order(opening(&[&finding], 3, ""))
            .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    assert_error(
        xining
            .open_rectification_order(opening(&[&finding], 3, ""))
            .await,
        // Another city's finding is as unknown to Xining as one that does not exist.
        Code::NotFound,
        "NOT_FOUND",
    );
    assert_invalid(
        supervisor
            .open_rectification_order(opening(&[&finding, &edu_finding], 3, ""))
            .await,
        "findings[1]",
    );
    assert_invalid(
        supervisor
            .open_rectification_order(opening(&[&finding], 61, ""))
            .await,
        "deadline_working_days",
    );
    assert_invalid(
        supervisor
            .open_rectification_order(opening(&[&finding, &finding], 3, ""))
            .await,
        "findings[1]",
    );
    assert_invalid(
        supervisor
            .open_rectification_order(opening(&[], 3, ""))
            .await,
        "findings",
    );
    assert_error(
        supervisor
            .open_rectification_order(opening(&["findings/f0000"], 3, ""))
            .await,
        Code::NotFound,
        "NOT_FOUND",
    );
    assert!(list(&mut supervisor, false).await.is_empty());

    // Opened on Monday 30 November 2026 at 10:00 with 3 working days: due at the end of
    // Thursday 3 December (Asia/Shanghai); the warning when the last 2 days begin.
    let order = supervisor
        .open_rectification_order(opening(&[&finding], 3, "open-golmud-1"))
        .await
        .expect("open")
        .into_inner();
    assert_eq!(order.state, pb::RectificationState::Open as i32);
    assert_eq!(order.account, "accounts/golmud-wechat");
    assert_eq!(order.organization, "organizations/golmud");
    assert_eq!(order.findings, std::slice::from_ref(&finding));
    assert_eq!(order.scheme, "schemes/national");
    assert_eq!(order.scheme_version, golmud_check.scheme_version);
    let due = govmedia_kit::clock::from_proto(order.due_time.as_ref().expect("due"));
    assert_eq!(due, Some(at("2026-12-04T00:00:00+08:00")));
    let first = &order.rounds[0];
    assert_eq!(first.deadline_working_days, 3);
    assert_eq!(
        govmedia_kit::clock::from_proto(first.warning_time.as_ref().expect("warning")),
        Some(at("2026-12-02T00:00:00+08:00"))
    );
    assert!(!order.overdue);
    // The same request again is the same order; another supervisor replaying its id is judged
    // on its own and gets nothing of it.
    let again = supervisor
        .open_rectification_order(opening(&[&finding], 3, "open-golmud-1"))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(again.name, order.name);
    assert_error(
        xining
            .open_rectification_order(opening(&[&finding], 3, "open-golmud-1"))
            .await,
        Code::NotFound,
        "NOT_FOUND",
    );
    // A finding is in one open order at a time.
    let twice = assert_error(
        supervisor
            .open_rectification_order(opening(&[&finding], 5, ""))
            .await,
        Code::AlreadyExists,
        "ALREADY_EXISTS",
    );
    assert!(twice.message().contains(&order.name), "{twice:?}");

    // Wednesday just after midnight: the warning fires, once.
    suite.time.set(at("2026-12-02T00:30:00+08:00"));
    let warned = changed(&suite, &order.name, pb::RectificationChange::Warned).await;
    assert!(warned.rounds[0].warned_time.is_some());

    // The office that opened the order does not answer it for the unit, whatever roles its
    // people hold; nothing changes.
    let mut office = suite
        .client(
            "wu.office",
            "golmud-office",
            &[Role::Operator, Role::Supervisor],
        )
        .await;
    assert_error(
        office
            .answer_rectification_order(answer(&order.name, "代为回复"))
            .await,
        Code::PermissionDenied,
        "STEP_NOT_ALLOWED",
    );
    assert_eq!(
        get(&mut office, &order.name).await.etag,
        warned.etag,
        "a refused answer changes nothing"
    );

    // The unit answers; the service re-checks the account under the order's scheme version.
    let mut operator = suite
        .client("li.operator", "golmud", &[Role::Operator])
        .await;
    let mut supervisor = suite.supervisor().await;
    let answered = operator
        .answer_rectification_order(answer(&order.name, "已删除原文并发布更正说明"))
        .await
        .expect("answer")
        .into_inner();
    assert_eq!(answered.state, pb::RectificationState::Answered as i32);
    let reply = answered.rounds[0].answer.as_ref().expect("answer");
    assert!(!reply.late);
    assert_eq!(reply.attachments[0].size_bytes, 48_213);
    let rechecked = changed(&suite, &order.name, pb::RectificationChange::Rechecked).await;
    let recheck = rechecked.rounds[0].recheck.as_ref().expect("recheck");
    // The post is still stored as published: the finding is found again, and the check says so.
    assert_eq!(recheck.still_found, std::slice::from_ref(&finding));
    assert_eq!(recheck.outcome, pb::Outcome::Fail as i32);
    let recheck_check = supervisor
        .get_check(pb::GetCheckRequest {
            name: recheck.check.clone(),
        })
        .await
        .expect("the re-check is a check")
        .into_inner();
    assert_eq!(recheck_check.scheme_version, order.scheme_version);
    assert_eq!(recheck_check.account, order.account);

    // Verification: not by the unit, not from outside, not on a stale etag, not without saying
    // why while the problem is still found.
    assert_error(
        operator
            .verify_rectification_order(pb::VerifyRectificationOrderRequest {
                name: order.name.clone(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    let mut xining = suite.xining_supervisor().await;
    assert_error(
        xining
            .verify_rectification_order(pb::VerifyRectificationOrderRequest {
                name: order.name.clone(),
                comment: "看过了".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_error(
        supervisor
            .verify_rectification_order(pb::VerifyRectificationOrderRequest {
                name: order.name.clone(),
                comment: "看过了".into(),
                etag: order.etag.clone(),
                ..Default::default()
            })
            .await,
        Code::Aborted,
        "ETAG_MISMATCH",
    );
    assert_invalid(
        supervisor
            .verify_rectification_order(pb::VerifyRectificationOrderRequest {
                name: order.name.clone(),
                ..Default::default()
            })
            .await,
        "comment",
    );
    let current = get(&mut supervisor, &order.name).await;
    assert_eq!(current.etag, rechecked.etag, "refusals change nothing");

    // Rejected: a second round of 2 working days from Wednesday, due at the end of Friday.
    let rejected = supervisor
        .reject_rectification_order(pb::RejectRectificationOrderRequest {
            name: order.name.clone(),
            comment: "原文仍可在平台检索到，请彻底删除".into(),
            deadline_working_days: 2,
            etag: current.etag.clone(),
            request_id: String::new(),
        })
        .await
        .expect("reject")
        .into_inner();
    assert_eq!(rejected.state, pb::RectificationState::Open as i32);
    assert_eq!(rejected.rounds.len(), 2);
    assert_eq!(
        rejected.rounds[0].decision,
        pb::RectificationChange::Rejected as i32
    );
    assert_eq!(
        govmedia_kit::clock::from_proto(rejected.due_time.as_ref().expect("due")),
        Some(at("2026-12-05T00:00:00+08:00"))
    );
    assert!(
        rejected.rounds[1].warning_time.is_none(),
        "too short to warn"
    );

    // Saturday morning: overdue, escalated, on the overdue list.
    suite.time.set(at("2026-12-05T09:00:00+08:00"));
    let overdue = changed(&suite, &order.name, pb::RectificationChange::Overdue).await;
    assert!(overdue.rounds[1].overdue_time.is_some());
    let mut supervisor = suite.supervisor().await;
    assert_eq!(
        list(&mut supervisor, true).await,
        std::slice::from_ref(&order.name)
    );
    assert!(get(&mut supervisor, &order.name).await.overdue);

    // A late answer is taken and marked late; verified with a comment, the order closes.
    let mut operator = suite
        .client("li.operator", "golmud", &[Role::Operator])
        .await;
    let late = operator
        .answer_rectification_order(answer(&order.name, "已向平台申请彻底删除，附平台回执"))
        .await
        .expect("late answer")
        .into_inner();
    assert!(late.rounds[1].answer.as_ref().expect("answer").late);
    assert!(!late.overdue, "answered: no longer waiting");
    changed(&suite, &order.name, pb::RectificationChange::Rechecked).await;
    let verified = supervisor
        .verify_rectification_order(pb::VerifyRectificationOrderRequest {
            name: order.name.clone(),
            comment: "平台回执显示原文已删除，采集库保留原文作为证据".into(),
            ..Default::default()
        })
        .await
        .expect("verify")
        .into_inner();
    assert_eq!(verified.state, pb::RectificationState::Verified as i32);
    assert_eq!(
        verified.closed.as_ref().map(|s| s.actor.as_str()),
        Some("ma.supervisor")
    );
    assert!(verified.due_time.is_none());
    assert!(list(&mut supervisor, true).await.is_empty());

    // Nothing more on a verified order.
    assert_error(
        operator
            .answer_rectification_order(answer(&order.name, "再补充一点"))
            .await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
    assert_eq!(get(&mut supervisor, &order.name).await.etag, verified.etag);
    // Its finding is free for a new order should the problem come back.
    supervisor
        .open_rectification_order(opening(&[&finding], 5, ""))
        .await
        .expect("a new order on the same finding");

    // Who sees what.
    assert_error(
        xining
            .get_rectification_order(pb::GetRectificationOrderRequest {
                name: order.name.clone(),
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    let mut xining = suite.xining_supervisor().await;
    assert!(list(&mut xining, false).await.is_empty());
    assert_eq!(list(&mut operator, false).await.len(), 2);
}

backend_test!(answers_with_bad_evidence_are_refused_whole, bad_answers);

async fn bad_answers(backend: Backend) {
    let suite = Suite::spawn(backend, NOW).await;
    let (finding, _, _) = findings(&suite).await;
    let mut supervisor = suite.supervisor().await;
    let order = supervisor
        .open_rectification_order(opening(&[&finding], 3, ""))
        .await
        .expect("open")
        .into_inner();
    let mut operator = suite
        .client("li.operator", "golmud", &[Role::Operator])
        .await;
    let mut bad = answer(&order.name, "已整改");
    bad.attachments[0].sha256 = "ABC".into();
    assert_invalid(
        operator.answer_rectification_order(bad).await,
        "attachments[0].sha256",
    );
    let mut bad = answer(&order.name, "已整改");
    bad.links = vec!["javascript:alert(1)".into()];
    assert_invalid(operator.answer_rectification_order(bad).await, "links[0]");
    let mut bad = answer(&order.name, "已整改");
    bad.attachments.push(bad.attachments[0].clone());
    assert_invalid(
        operator.answer_rectification_order(bad).await,
        "attachments[1].name",
    );
    assert_invalid(
        operator
            .answer_rectification_order(answer(&order.name, "  "))
            .await,
        "text",
    );
    assert_invalid(
        operator
            .answer_rectification_order(answer("rectificationOrders/", "已整改"))
            .await,
        "name",
    );
    assert_error(
        operator
            .answer_rectification_order(answer("rectificationOrders/o404", "已整改"))
            .await,
        Code::NotFound,
        "NOT_FOUND",
    );
    // An operator of another region cannot answer for Golmud.
    let mut stranger = suite
        .client("wu.operator", "xining-edu", &[Role::Operator])
        .await;
    assert_error(
        stranger
            .answer_rectification_order(answer(&order.name, "已整改"))
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    // Deciding before any answer is a wrong step.
    assert_error(
        supervisor
            .reject_rectification_order(pb::RejectRectificationOrderRequest {
                name: order.name.clone(),
                comment: "未回复".into(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
    let unchanged = get(&mut supervisor, &order.name).await;
    assert_eq!(unchanged.etag, order.etag);
    assert_eq!(unchanged.state, pb::RectificationState::Open as i32);
}

/// Answers `order` as Golmud's operator and waits for its re-check.
async fn answer_and_recheck(suite: &Suite, order: &str, text: &str) {
    let mut operator = suite
        .client("li.operator", "golmud", &[Role::Operator])
        .await;
    operator
        .answer_rectification_order(answer(order, text))
        .await
        .expect("answer");
    changed(suite, order, pb::RectificationChange::Rechecked).await;
}

async fn reject(supervisor: &mut Inspection, order: &str) {
    supervisor
        .reject_rectification_order(pb::RejectRectificationOrderRequest {
            name: order.into(),
            comment: "仍未整改到位".into(),
            ..Default::default()
        })
        .await
        .expect("reject");
}

fn enforcement(kind: fpb::FilingKind, grounds: &str) -> fpb::EnforceClosureRequest {
    fpb::EnforceClosureRequest {
        filing_id: String::new(),
        account: "accounts/golmud-wechat".into(),
        kind: kind as i32,
        grounds: grounds.into(),
        reason: "整改通知两次退回仍未整改到位，依规关停".into(),
        request_id: String::new(),
    }
}

backend_test!(
    an_account_still_failing_is_suspended_by_its_department_and_resumes_once_verified,
    enforced_closure
);

async fn enforced_closure(backend: Backend) {
    let suite = Suite::spawn_with(
        backend,
        NOW,
        Peers {
            filing: true,
            ..Peers::default()
        },
    )
    .await;
    let (finding, _, _) = findings(&suite).await;
    let mut supervisor = suite.supervisor().await;
    let order = supervisor
        .open_rectification_order(opening(&[&finding], 5, ""))
        .await
        .expect("open")
        .into_inner()
        .name;
    let recommendations = |client: &mut Inspection| {
        let mut client = client.clone();
        async move {
            client
                .list_closure_recommendations(pb::ListClosureRecommendationsRequest {
                    account: "accounts/golmud-wechat".into(),
                    ..Default::default()
                })
                .await
                .expect("recommendations")
                .into_inner()
                .recommendations
        }
    };
    let mut department = suite
        .filing_as("ma.supervisor", "golmud-office", &[Role::Supervisor])
        .await;

    // Rejected once: not yet a case for closure, and a closure on that order is refused.
    answer_and_recheck(&suite, &order, "已删除").await;
    reject(&mut supervisor, &order).await;
    assert!(recommendations(&mut supervisor).await.is_empty());
    assert_error(
        department
            .enforce_closure(enforcement(fpb::FilingKind::Suspend, &order))
            .await,
        Code::FailedPrecondition,
        "CLOSURE_NOT_RECOMMENDED",
    );

    // Rejected twice: still failing after rectification.
    answer_and_recheck(&suite, &order, "已再次删除").await;
    reject(&mut supervisor, &order).await;
    let recommended = recommendations(&mut supervisor).await;
    assert_eq!(recommended.len(), 1, "{recommended:?}");
    assert_eq!(
        recommended[0].reasons[0].ground,
        pb::ClosureGround::StillFailing as i32
    );
    assert_eq!(recommended[0].reasons[0].count, 2);
    assert_eq!(recommended[0].grounds, std::slice::from_ref(&order));

    // Only the management department of Golmud's level enforces, with a closure kind and
    // grounds; the unit itself, the province and another city cannot.
    let mut unit = suite
        .filing_as("li.operator", "golmud", &[Role::Operator])
        .await;
    assert_error(
        unit.enforce_closure(enforcement(fpb::FilingKind::Suspend, &order))
            .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    let mut province = suite
        .filing_as("zhao.supervisor", "qinghai-office", &[Role::Supervisor])
        .await;
    assert_error(
        province
            .enforce_closure(enforcement(fpb::FilingKind::Suspend, &order))
            .await,
        Code::PermissionDenied,
        "STEP_NOT_ALLOWED",
    );
    let mut xining = suite
        .filing_as("sun.supervisor", "xining-office", &[Role::Supervisor])
        .await;
    assert_error(
        xining
            .enforce_closure(enforcement(fpb::FilingKind::Suspend, &order))
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_invalid(
        department
            .enforce_closure(enforcement(fpb::FilingKind::Change, &order))
            .await,
        "kind",
    );
    assert_invalid(
        department
            .enforce_closure(enforcement(fpb::FilingKind::Suspend, ""))
            .await,
        "grounds",
    );

    // Enforced: accepted at once without the unit's leader, applied, reported.
    let filing = department
        .enforce_closure(enforcement(fpb::FilingKind::Suspend, &order))
        .await
        .expect("enforce")
        .into_inner();
    assert!(filing.enforced);
    assert_eq!(filing.grounds, order);
    assert_eq!(filing.state, fpb::FilingState::Accepted as i32);
    assert_eq!(
        filing
            .timeline
            .iter()
            .map(|entry| entry.action)
            .collect::<Vec<_>>(),
        [fpb::FilingAction::Enforced as i32],
        "no consent, no submission"
    );
    // Applied: the filing service says so once the ledger took it and the report is written.
    next_event(&suite.bus, "filing", "enforce-test", |envelope| {
        envelope.subject == filing.name
            && fpb::FilingChanged::decode(envelope.payload.as_slice())
                .is_ok_and(|changed| changed.action == fpb::FilingAction::Applied as i32)
    })
    .await;
    let mut ledger = suite.ledger(None).await;
    let account = ledger
        .get_account(rpb::GetAccountRequest {
            name: "accounts/golmud-wechat".into(),
        })
        .await
        .expect("account")
        .into_inner();
    assert_eq!(account.status, rpb::AccountStatus::Suspended as i32);
    assert_eq!(account.last_filing, filing.name);
    // The registry writes the department's decision into the account's audit trail.
    eventually(
        "the enforced decision in the audit trail",
        Duration::from_secs(20),
        || {
            let mut ledger = ledger.clone();
            async move {
                let records = ledger
                    .list_audit_records(rpb::ListAuditRecordsRequest {
                        resource: "accounts/golmud-wechat".into(),
                        ..Default::default()
                    })
                    .await
                    .ok()?
                    .into_inner()
                    .records;
                records
                    .iter()
                    .any(|record| record.details.contains("\"decision\":\"ENFORCED\""))
                    .then_some(())
            }
        },
    )
    .await;
    let reports = department
        .list_closure_reports(fpb::ListClosureReportsRequest::default())
        .await
        .expect("reports")
        .into_inner()
        .reports;
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].government, "organizations/golmud");
    assert_eq!(reports[0].filing, filing.name);
    assert!(reports[0].enforced);
    assert_eq!(reports[0].grounds, order);

    // The unit files to resume: refused while the order is not verified, nothing changes.
    let resume = unit
        .create_filing(fpb::CreateFilingRequest {
            filing_id: "resume-golmud-wechat".into(),
            filing: Some(fpb::Filing {
                organization: "organizations/golmud".into(),
                kind: fpb::FilingKind::Resume as i32,
                target_account: "accounts/golmud-wechat".into(),
                reason: "整改到位，申请恢复".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("a draft")
        .into_inner();
    let submit = || fpb::SubmitFilingRequest {
        name: resume.name.clone(),
        ..Default::default()
    };
    assert_error(
        unit.submit_filing(submit()).await,
        Code::FailedPrecondition,
        "RECTIFICATION_NOT_VERIFIED",
    );
    // Rectified at last and verified: the RESUME travels.
    answer_and_recheck(&suite, &order, "原文已彻底删除，建立三审三校制度").await;
    let mut supervisor = suite.supervisor().await;
    supervisor
        .verify_rectification_order(pb::VerifyRectificationOrderRequest {
            name: order.clone(),
            comment: "平台确认原文已删除".into(),
            ..Default::default()
        })
        .await
        .expect("verify");
    let submitted = unit
        .submit_filing(submit())
        .await
        .expect("submit")
        .into_inner();
    assert_eq!(submitted.state, fpb::FilingState::Submitted as i32);

    // The unit's year, for its disclosure report: the closure comes from filing's reports.
    let mut operator = suite
        .client("li.operator", "golmud", &[Role::Operator])
        .await;
    let rollup_request = |year: i32| pb::GetAnnualRollupRequest {
        organization: "organizations/golmud".into(),
        year,
    };
    let rollup = operator
        .get_annual_rollup(rollup_request(2026))
        .await
        .expect("rollup")
        .into_inner();
    let checks = operator
        .list_checks(pb::ListChecksRequest {
            organization: "organizations/golmud".into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("checks")
        .into_inner()
        .checks;
    assert_eq!(rollup.checks, checks.len() as i32);
    assert!(!rollup.complete);
    let orders = rollup.orders.expect("orders");
    assert_eq!(
        (orders.opened, orders.verified, orders.rejected_answers),
        (1, 1, 2)
    );
    let closures = rollup.closures.expect("closures");
    assert!(closures.available, "{closures:?}");
    assert_eq!((closures.suspended, closures.enforced), (1, 1));
    assert!(
        rollup.summary.contains("强制关停注销1个"),
        "{}",
        rollup.summary
    );
    assert_invalid(
        operator.get_annual_rollup(rollup_request(2027)).await,
        "year",
    );
    let mut stranger = suite
        .client("wu.operator", "xining-edu", &[Role::Operator])
        .await;
    assert_error(
        stranger.get_annual_rollup(rollup_request(2026)).await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    let workbook = operator
        .export_annual_rollup(pb::ExportAnnualRollupRequest {
            organization: "organizations/golmud".into(),
            year: 2026,
        })
        .await
        .expect("workbook")
        .into_inner();
    assert_eq!(&workbook.content[..2], b"PK");
    assert_eq!(workbook.file_name, "rollup-golmud-2026.xlsx");
}
