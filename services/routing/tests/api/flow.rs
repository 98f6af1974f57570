//! The whole work order through the gateway, across the 2026 National Day holiday (1-7 October
//! off, Saturday 10 October worked): intake → rule routing → sign-for → return → re-route →
//! extension → reply → leader rejection → new reply → approval → publication → dissatisfied →
//! reopening → reply → publication → closing, every deadline on its working day.

use govmedia_kit::auth::Role;
use govmedia_proto::routing::v1 as pb;
use govmedia_test_support::{Backend, assert_error, assert_invalid, backend_test};
use tonic::Code;

use crate::helpers::*;

backend_test!(
    a_message_flows_through_the_work_order_across_national_day_on,
    work_order
);

async fn work_order(backend: Backend) {
    let suite = Suite::spawn(backend, "2026-09-29T09:00:00+08:00").await;
    let mut dispatcher = suite.dispatcher().await;
    // A rule that sends vaccination questions to the health commission.
    dispatcher
        .create_routing_rule(pb::CreateRoutingRuleRequest {
            rule_id: "golmud-vaccines".into(),
            rule: Some(pb::RoutingRule {
                organization: "organizations/golmud".into(),
                keywords: vec!["疫苗".into(), "接种".into()],
                department: "organizations/golmud-health".into(),
                priority: 10,
                ..Default::default()
            }),
            request_id: "rule-1".into(),
        })
        .await
        .expect("rule");

    // Intake: routed at once by the rule.
    let mut collector = suite.collector().await;
    let taken = submit(
        &mut collector,
        message(
            "golmud-wechat",
            "wx-msg-1001",
            "孩子今年秋季入学，入学前需要补种哪些疫苗？请回电13900001111",
            "2026-09-29T08:55:00+08:00",
        ),
    )
    .await
    .expect("intake");
    let case = case_of(&taken);
    assert!(!taken.merged && !taken.replayed);
    assert_eq!(state(&case), "DISPATCHED");
    assert_eq!(case.department, "organizations/golmud-health");
    assert_eq!(case.routed_by_rule, "routingRules/golmud-vaccines");
    assert_eq!(actions(&case), ["RECEIVED", "DISPATCHED"]);
    // Personal data only masked, the number in the text too.
    let citizen = case.citizen.clone().expect("citizen");
    assert_eq!(citizen.handle, "张***");
    assert_eq!(citizen.contact, "138****5678");
    assert!(case.text.contains("139****1111") && !case.text.contains("13900001111"));
    // Sign-for by the end of the next working day; returns within two.
    assert_eq!(
        time_of(case.sign_due_time.as_ref()),
        at("2026-10-01T00:00:00+08:00")
    );
    assert_eq!(
        time_of(case.return_window_end_time.as_ref()),
        at("2026-10-09T00:00:00+08:00")
    );
    let name = case.name.clone();

    // The health commission signs for it: five working days from 29 September are 30 September
    // and 8, 9, 10 (the adjusted Saturday) and 12 October.
    suite.time.set(at("2026-09-29T10:00:00+08:00"));
    let mut health = suite.health_handler().await;
    let case = health
        .sign_for_case(pb::SignForCaseRequest {
            name: name.clone(),
            request_id: "sign-1".into(),
            ..Default::default()
        })
        .await
        .expect("sign")
        .into_inner();
    assert_eq!(state(&case), "SIGNED");
    assert_eq!(
        time_of(case.handling_due_time.as_ref()),
        at("2026-10-13T00:00:00+08:00")
    );

    // After the holiday, within the window, it returns the case: vaccination before school is
    // organized by the education bureau.
    suite.time.set(at("2026-10-08T09:00:00+08:00"));
    let case = health
        .return_case(pb::ReturnCaseRequest {
            name: name.clone(),
            reason: "入学前查验补种由教育局会同学校统一组织".into(),
            request_id: "return-1".into(),
            ..Default::default()
        })
        .await
        .expect("return")
        .into_inner();
    assert_eq!(state(&case), "RETURN_REQUESTED");

    // The dispatcher accepts and re-routes to the education bureau.
    suite.time.set(at("2026-10-08T10:00:00+08:00"));
    let case = dispatcher
        .decide_return(pb::DecideReturnRequest {
            name: name.clone(),
            accept: true,
            redispatch_to: "organizations/golmud-edu".into(),
            comment: "改派教育局".into(),
            request_id: "decide-1".into(),
            ..Default::default()
        })
        .await
        .expect("re-route")
        .into_inner();
    assert_eq!(state(&case), "DISPATCHED");
    assert_eq!(case.department, "organizations/golmud-edu");
    assert_eq!(case.routed_by_rule, "");
    assert_eq!(
        time_of(case.return_window_end_time.as_ref()),
        at("2026-10-11T00:00:00+08:00"),
        "9 October and the adjusted Saturday 10 October"
    );

    // The education bureau signs: 9, 10, 12, 13, 14 October.
    suite.time.set(at("2026-10-08T11:00:00+08:00"));
    let mut edu = suite.edu_handler().await;
    let case = edu
        .sign_for_case(pb::SignForCaseRequest {
            name: name.clone(),
            request_id: "sign-2".into(),
            ..Default::default()
        })
        .await
        .expect("sign")
        .into_inner();
    assert_eq!(
        time_of(case.handling_due_time.as_ref()),
        at("2026-10-15T00:00:00+08:00")
    );

    // Three more working days, approved: 15, 16 and 19 October.
    suite.time.set(at("2026-10-09T09:00:00+08:00"));
    edu.request_extension(pb::RequestExtensionRequest {
        name: name.clone(),
        days: 3,
        reason: "需与卫健部门核对接种记录".into(),
        request_id: "extend-1".into(),
        ..Default::default()
    })
    .await
    .expect("extension asked");
    let case = dispatcher
        .decide_extension(pb::DecideExtensionRequest {
            name: name.clone(),
            approve: true,
            comment: "同意".into(),
            request_id: "extend-ok-1".into(),
            ..Default::default()
        })
        .await
        .expect("extension approved")
        .into_inner();
    assert_eq!(case.extension_days, 3);
    assert_eq!(
        time_of(case.handling_due_time.as_ref()),
        at("2026-10-20T00:00:00+08:00")
    );

    // A reply, rejected by the leader with a reason, then a better one, approved.
    suite.time.set(at("2026-10-12T09:00:00+08:00"));
    let draft = |text: &str, id: &str| pb::DraftReplyRequest {
        name: name.clone(),
        text: text.into(),
        request_id: id.into(),
        ..Default::default()
    };
    edu.draft_reply(draft("请到社区卫生服务中心补种。", "draft-1"))
        .await
        .expect("draft");
    let mut leader = suite.edu_leader().await;
    let case = leader
        .review_reply(pb::ReviewReplyRequest {
            name: name.clone(),
            approve: false,
            comment: "请写明补种的疫苗种类和接种地点".into(),
            request_id: "review-1".into(),
            ..Default::default()
        })
        .await
        .expect("rejected")
        .into_inner();
    assert_eq!(state(&case), "SIGNED");
    edu.draft_reply(draft(
        "入学前须查验接种证，漏种的麻腮风、脊灰等疫苗请到昆仑路社区卫生服务中心补种，并保持13611112222畅通。",
        "draft-2",
    ))
    .await
    .expect("second draft");
    suite.time.set(at("2026-10-13T09:00:00+08:00"));
    let case = leader
        .review_reply(pb::ReviewReplyRequest {
            name: name.clone(),
            approve: true,
            request_id: "review-2".into(),
            ..Default::default()
        })
        .await
        .expect("approved")
        .into_inner();
    assert_eq!(state(&case), "REPLIED");
    assert!(!case.department_overdue && !case.dispatcher_overdue);

    // Published on the platform, answering the citizen's message.
    let published = suite.published(1).await;
    assert_eq!(published[0].platform_message_id, "wx-msg-1001");
    assert!(published[0].text.contains("昆仑路社区卫生服务中心"));
    // A mobile number written into a reply is published, stored and shown only masked.
    assert!(
        published[0].text.contains("136****2222"),
        "{}",
        published[0].text
    );
    assert!(!published[0].text.contains("13611112222"));
    let case = published_case(&dispatcher, &name, 2).await;
    assert_eq!(case.replies.len(), 2);
    assert_eq!(case.replies[0].state, pb::ReplyState::Rejected as i32);
    assert_eq!(case.replies[1].platform_reply_id, "wx-reply-1");
    assert!(!format!("{case:?}").contains("13611112222"));

    // The citizen is dissatisfied; the dispatcher reopens it: five working days from 14
    // October.
    suite.time.set(at("2026-10-14T09:00:00+08:00"));
    let case = dispatcher
        .record_satisfaction(pb::RecordSatisfactionRequest {
            name: name.clone(),
            satisfaction: pb::Satisfaction::Dissatisfied as i32,
            comment: "没说清楚几岁要补种".into(),
            request_id: "rate-1".into(),
            ..Default::default()
        })
        .await
        .expect("rated")
        .into_inner();
    assert_eq!(state(&case), "REPLIED");
    let case = dispatcher
        .reopen_case(pb::ReopenCaseRequest {
            name: name.clone(),
            reason: "群众不满意，重办".into(),
            request_id: "reopen-1".into(),
            ..Default::default()
        })
        .await
        .expect("reopened")
        .into_inner();
    assert_eq!(state(&case), "SIGNED");
    assert_eq!(case.reopen_count, 1);
    assert_eq!(
        time_of(case.handling_due_time.as_ref()),
        at("2026-10-22T00:00:00+08:00")
    );

    edu.draft_reply(draft(
        "6周岁入学儿童须查验接种证，漏种疫苗请到昆仑路社区卫生服务中心补种，咨询电话0979-8412345。",
        "draft-3",
    ))
    .await
    .expect("third draft");
    leader
        .review_reply(pb::ReviewReplyRequest {
            name: name.clone(),
            approve: true,
            request_id: "review-3".into(),
            ..Default::default()
        })
        .await
        .expect("approved again");
    suite.published(2).await;
    published_case(&dispatcher, &name, 3).await;
    let case = dispatcher
        .close_case(pb::CloseCaseRequest {
            name: name.clone(),
            reason: "已重新答复，群众表示理解".into(),
            request_id: "close-1".into(),
            ..Default::default()
        })
        .await
        .expect("closed")
        .into_inner();
    assert_eq!(state(&case), "CLOSED");
    assert_eq!(
        actions(&case),
        [
            "RECEIVED",
            "DISPATCHED",
            "SIGNED",
            "RETURN_REQUESTED",
            "RETURN_ACCEPTED",
            "DISPATCHED",
            "SIGNED",
            "EXTENSION_REQUESTED",
            "EXTENSION_APPROVED",
            "REPLY_DRAFTED",
            "REPLY_REJECTED",
            "REPLY_DRAFTED",
            "REPLY_APPROVED",
            "REPLY_PUBLISHED",
            "SATISFACTION_RECORDED",
            "REOPENED",
            "REPLY_DRAFTED",
            "REPLY_APPROVED",
            "REPLY_PUBLISHED",
            "CLOSED",
        ]
    );
    // Who reviewed what is on the record: each step is in the audit trail.
    assert!(suite.audit_count().await >= 18);

    // In the statistics the case was answered, rated dissatisfied (the rating that reopened it,
    // not rated again) and reopened once: rates stay within 0..1.
    let stats = dispatcher
        .get_case_statistics(pb::GetCaseStatisticsRequest {
            period_start: Some(timestamp("2026-09-01T00:00:00+08:00")),
            period_end: Some(timestamp("2026-11-01T00:00:00+08:00")),
            ..Default::default()
        })
        .await
        .expect("statistics")
        .into_inner();
    let total = stats.total.expect("total");
    assert_eq!(
        (total.answered, total.rated, total.satisfied, total.reopened),
        (1, 1, 0, 1),
        "{total:?}"
    );
    assert_eq!((total.satisfaction_rate, total.reopen_rate), (0.0, 1.0));

    // What inspection reads: the two replies published, as published (the rejected draft is
    // not one), with the department that answered and nothing of the citizen.
    let mut supervisor = suite
        .client("ma.supervisor", "golmud", &[Role::Supervisor])
        .await;
    let october = |account: &str| pb::ListPublishedRepliesRequest {
        account: account.to_owned(),
        period_start: Some(timestamp("2026-10-01T00:00:00+08:00")),
        period_end: Some(timestamp("2026-11-01T00:00:00+08:00")),
        page_size: 1,
        ..Default::default()
    };
    let mut replies = Vec::new();
    let mut request = october("accounts/golmud-wechat");
    loop {
        let page = supervisor
            .list_published_replies(request.clone())
            .await
            .expect("replies")
            .into_inner();
        replies.extend(page.replies);
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    let rounds: Vec<(i32, &str, &str)> = replies
        .iter()
        .map(|r| (r.round, r.r#case.as_str(), r.department.as_str()))
        .collect();
    assert_eq!(
        rounds,
        [
            (2, name.as_str(), "organizations/golmud-edu"),
            (3, name.as_str(), "organizations/golmud-edu")
        ]
    );
    assert!(replies[1].text.contains("补种"), "{replies:?}");
    assert!(!format!("{replies:?}").contains("13611112222"));
    // Another account's, or a period before any publication: none.
    let none = supervisor
        .list_published_replies(pb::ListPublishedRepliesRequest {
            period_end: Some(timestamp("2026-10-12T00:00:00+08:00")),
            ..october("")
        })
        .await
        .expect("replies")
        .into_inner();
    assert!(none.replies.is_empty(), "{none:?}");
    let other = supervisor
        .list_published_replies(october("accounts/golmud-douyin"))
        .await
        .expect("replies")
        .into_inner();
    assert!(other.replies.is_empty(), "{other:?}");
    // A dispatcher is no reader of everyone's replies; a department's supervisor reads only
    // its own subtree; a period must be one.
    assert_error(
        dispatcher.list_published_replies(october("")).await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    assert_error(
        suite
            .client("he.supervisor", "golmud-health", &[Role::Supervisor])
            .await
            .list_published_replies(pb::ListPublishedRepliesRequest {
                organization: "organizations/golmud".into(),
                ..october("")
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_invalid(
        supervisor
            .list_published_replies(pb::ListPublishedRepliesRequest {
                period_end: Some(timestamp("2026-09-01T00:00:00+08:00")),
                ..october("")
            })
            .await,
        "period_end",
    );

    // Per department: the case under the bureau that answered it, the return under the
    // commission that returned it.
    let stats = dispatcher
        .get_case_statistics(pb::GetCaseStatisticsRequest {
            period_start: Some(timestamp("2026-09-01T00:00:00+08:00")),
            period_end: Some(timestamp("2026-11-01T00:00:00+08:00")),
            grouping: pb::StatisticsGrouping::Department as i32,
            ..Default::default()
        })
        .await
        .expect("statistics")
        .into_inner();
    let rows: Vec<(&str, i32, i32)> = stats
        .rows
        .iter()
        .map(|row| (row.key.as_str(), row.received, row.returned))
        .collect();
    assert_eq!(
        rows,
        [
            ("organizations/golmud-edu", 1, 0),
            ("organizations/golmud-health", 0, 1)
        ]
    );
    assert_eq!(stats.total.expect("total").returned, 1);
}

/// The case once its reply `round` is recorded as published.
pub async fn published_case(client: &Routing, name: &str, round: i32) -> pb::Case {
    govmedia_test_support::eventually(
        "the publication to be recorded",
        std::time::Duration::from_secs(10),
        || {
            let mut client = client.clone();
            let name = name.to_owned();
            async move {
                let case = client
                    .get_case(pb::GetCaseRequest { name })
                    .await
                    .ok()?
                    .into_inner();
                let reply = case.replies.iter().find(|r| r.round == round)?;
                (reply.state == pb::ReplyState::Published as i32).then_some(case)
            }
        },
    )
    .await
}

backend_test!(
    a_reply_the_platform_cannot_take_yet_is_published_once_later_on,
    retried
);

async fn retried(backend: Backend) {
    let suite = Suite::spawn_with(backend, "2026-06-01T09:00:00+08:00", false).await;
    let mut collector = suite.collector().await;
    let name = case_of(
        &submit(
            &mut collector,
            message(
                "golmud-wechat",
                "wx-8001",
                "学校放学时间能否推迟",
                "2026-06-01T08:00:00+08:00",
            ),
        )
        .await
        .expect("taken"),
    )
    .name;
    let mut dispatcher = suite.dispatcher().await;
    dispatcher
        .dispatch_case(pb::DispatchCaseRequest {
            name: name.clone(),
            department: "organizations/golmud-edu".into(),
            ..Default::default()
        })
        .await
        .expect("dispatched");
    let mut edu = suite.edu_handler().await;
    edu.sign_for_case(pb::SignForCaseRequest {
        name: name.clone(),
        ..Default::default()
    })
    .await
    .expect("signed");
    edu.draft_reply(pb::DraftReplyRequest {
        name: name.clone(),
        text: "放学时间由学校根据课程安排确定，已转学校研究。".into(),
        ..Default::default()
    })
    .await
    .expect("drafted");
    // The platform is away for the first three attempts.
    suite.platform.fail_next(3);
    suite
        .edu_leader()
        .await
        .review_reply(pb::ReviewReplyRequest {
            name: name.clone(),
            approve: true,
            request_id: "approve-8001".into(),
            ..Default::default()
        })
        .await
        .expect("approved");
    // Each retry waits its backoff on the services' clock, which the test moves.
    govmedia_test_support::eventually(
        "the publisher to get through",
        std::time::Duration::from_secs(20),
        || {
            suite.time.advance(chrono::Duration::seconds(1));
            let published = suite.platform.published().len();
            async move { (published == 1).then_some(()) }
        },
    )
    .await;
    let case = published_case(&dispatcher, &name, 1).await;
    assert_eq!(suite.platform.published().len(), 1);
    assert_eq!(
        actions(&case)
            .iter()
            .filter(|a| *a == "REPLY_PUBLISHED")
            .count(),
        1
    );
    // A repeated approval (same request id) answers from its key and queues nothing again.
    let again = suite
        .edu_leader()
        .await
        .review_reply(pb::ReviewReplyRequest {
            name: name.clone(),
            approve: true,
            request_id: "approve-8001".into(),
            ..Default::default()
        })
        .await
        .expect("replayed")
        .into_inner();
    assert_eq!(state(&again), "REPLIED");
    assert_eq!(suite.platform.published().len(), 1);
}
