//! Detectors that read the routing service: citizens' messages left overdue, posts published
//! without an approved draft; and what a check says when the vendor service is absent.

use govmedia_kit::auth::Role;
use govmedia_proto::{common::v1::ProblemCategory, inspection::v1 as pb, routing::v1 as rpb};
use govmedia_test_support::{Backend, backend_test};

use crate::helpers::*;

backend_test!(
    overdue_messages_and_unreviewed_posts_come_from_routing,
    from_routing
);

async fn from_routing(backend: Backend) {
    let suite = Suite::spawn_with(
        backend,
        NOW,
        Peers {
            routing: true,
            ..Peers::default()
        },
    )
    .await;
    let mut routing = suite.routing_collector().await;
    for i in 0..4 {
        routing
            .submit_message(rpb::SubmitMessageRequest {
                message: Some(rpb::IncomingMessage {
                    account: "accounts/golmud-wechat".into(),
                    platform_message_id: format!("msg-{i}"),
                    citizen_handle: format!("市民{i}"),
                    text: format!("第{i}个问题：供暖什么时候开始？"),
                    category: rpb::MessageCategory::Consult as i32,
                    received_time: Some(govmedia_kit::clock::to_proto(at(NOW))),
                    ..Default::default()
                }),
            })
            .await
            .expect("message taken");
    }
    let mut collector = suite.collector().await;
    stream(
        &mut collector,
        vec![post(
            "golmud-wechat",
            "wx-1",
            "2026-11-29T09:00:00+08:00",
            "我市冬季供暖工作全面启动。",
        )],
    )
    .await;
    // Nobody dispatches them: ten days on, every case is overdue on the dispatcher's clock.
    suite.time.advance(chrono::Duration::days(10));
    let mut supervisor = suite.supervisor().await;
    let national = check(&mut supervisor, "golmud-wechat", "").await;
    let interaction = item(&national, "interaction-poor");
    assert_eq!(
        interaction.status,
        pb::ItemStatus::Triggered as i32,
        "{interaction:?}"
    );
    assert!(
        interaction.explanation.contains("收到留言 4 件"),
        "{interaction:?}"
    );
    assert_eq!(national.outcome, pb::Outcome::Fail as i32);

    let provincial = check(
        &mut supervisor,
        "golmud-wechat",
        "schemes/provincial-example",
    )
    .await;
    let unreviewed = item(&provincial, "unreviewed-posts");
    assert_eq!(
        unreviewed.status,
        pb::ItemStatus::Triggered as i32,
        "{unreviewed:?}"
    );
    assert_eq!(unreviewed.findings.len(), 1);
    let vendor = item(&provincial, "vendor-oversight");
    assert_eq!(vendor.status, pb::ItemStatus::NotEvaluated as i32);
    assert!(
        vendor.explanation.contains("inspection.vendor_endpoint"),
        "{vendor:?}"
    );
    assert_eq!(provincial.not_evaluated, 1);

    let findings = supervisor
        .list_findings(pb::ListFindingsRequest {
            category: ProblemCategory::HollowInteraction as i32,
            ..Default::default()
        })
        .await
        .expect("findings")
        .into_inner()
        .findings;
    assert_eq!(findings.len(), 1);
    let evidence = findings[0].evidence.as_ref().expect("evidence");
    assert_eq!(evidence.source, "routing");
    assert!(
        evidence
            .figures
            .iter()
            .any(|f| f.name == "overdue" && f.value == 4.0)
    );
}

backend_test!(
    a_rude_reply_published_to_a_citizen_is_found_with_its_case,
    rude_reply
);

async fn rude_reply(backend: Backend) {
    let suite = Suite::spawn_with(
        backend,
        NOW,
        Peers {
            routing: true,
            ..Peers::default()
        },
    )
    .await;
    let mut dispatcher = suite.routing_collector().await;
    let taken = dispatcher
        .submit_message(rpb::SubmitMessageRequest {
            message: Some(rpb::IncomingMessage {
                account: "accounts/golmud-wechat".into(),
                platform_message_id: "msg-rude".into(),
                citizen_handle: "市民甲".into(),
                text: "学校门口的路灯坏了一个月，谁来修？".into(),
                category: rpb::MessageCategory::Complaint as i32,
                received_time: Some(govmedia_kit::clock::to_proto(at(NOW))),
                ..Default::default()
            }),
        })
        .await
        .expect("message taken")
        .into_inner();
    let name = taken.r#case.expect("case").name;
    dispatcher
        .dispatch_case(rpb::DispatchCaseRequest {
            name: name.clone(),
            department: "organizations/golmud-edu".into(),
            request_id: "dispatch-rude".into(),
            ..Default::default()
        })
        .await
        .expect("dispatched");
    let mut handler = suite
        .routing_as("chen.handler", "golmud-edu", &[Role::Handler])
        .await;
    handler
        .sign_for_case(rpb::SignForCaseRequest {
            name: name.clone(),
            request_id: "sign-rude".into(),
            ..Default::default()
        })
        .await
        .expect("signed");
    handler
        .draft_reply(rpb::DraftReplyRequest {
            name: name.clone(),
            text: "路灯的事不归 我们管，你爱找谁找谁。".into(),
            request_id: "draft-rude".into(),
            ..Default::default()
        })
        .await
        .expect("drafted");
    suite
        .routing_as("li.leader", "golmud-edu", &[Role::Leader])
        .await
        .review_reply(rpb::ReviewReplyRequest {
            name: name.clone(),
            approve: true,
            request_id: "review-rude".into(),
            ..Default::default()
        })
        .await
        .expect("approved");
    govmedia_test_support::eventually(
        "the reply to be published",
        std::time::Duration::from_secs(10),
        || {
            let mut dispatcher = dispatcher.clone();
            let name = name.clone();
            async move {
                let case = dispatcher
                    .get_case(rpb::GetCaseRequest { name })
                    .await
                    .ok()?
                    .into_inner();
                case.replies
                    .iter()
                    .any(|reply| reply.state == rpb::ReplyState::Published as i32)
                    .then_some(())
            }
        },
    )
    .await;
    suite.time.advance(chrono::Duration::hours(1));

    let mut supervisor = suite.supervisor().await;
    let provincial = check(
        &mut supervisor,
        "golmud-wechat",
        "schemes/provincial-example",
    )
    .await;
    let rude = item(&provincial, "rude-replies");
    assert_eq!(rude.status, pb::ItemStatus::Triggered as i32, "{rude:?}");
    assert!(rude.explanation.contains("1 条答复"), "{rude:?}");
    assert_eq!(rude.findings.len(), 2, "{rude:?}");
    let findings = supervisor
        .list_findings(pb::ListFindingsRequest {
            account: "accounts/golmud-wechat".into(),
            category: ProblemCategory::HollowInteraction as i32,
            ..Default::default()
        })
        .await
        .expect("findings")
        .into_inner()
        .findings;
    let rude: Vec<_> = findings
        .iter()
        .filter(|f| f.detector == "rude-replies")
        .collect();
    assert_eq!(rude.len(), 2, "{findings:?}");
    let evidence = rude[0].evidence.as_ref().expect("evidence");
    assert_eq!(evidence.source, "routing");
    assert_eq!(evidence.reference, name);
    let hit = evidence.hit.as_ref().expect("the wording hit");
    assert_eq!(hit.category, pb::WordingCategory::Rude as i32);
    assert!(
        rude[0].summary.contains("organizations/golmud-edu"),
        "{rude:?}"
    );

    // A spot check of the city checks many accounts at once, routing asked once for the
    // replies of the whole tree: the same reply is found on the same account.
    let spot = supervisor
        .start_spot_check(pb::StartSpotCheckRequest {
            spot_check_id: "golmud-rude".into(),
            organization: "organizations/golmud".into(),
            period: "2026-Q4".into(),
            scheme: "schemes/provincial-example".into(),
            full_coverage: true,
            request_id: "spot-rude".into(),
            ..Default::default()
        })
        .await
        .expect("spot check")
        .into_inner();
    let mut drawn = None;
    for name in &spot.checks {
        let check = supervisor
            .get_check(pb::GetCheckRequest { name: name.clone() })
            .await
            .expect("check")
            .into_inner();
        if check.account == "accounts/golmud-wechat" {
            drawn = Some(check);
        }
    }
    let drawn = drawn.expect("golmud-wechat is in the city's population");
    let rude = item(&drawn, "rude-replies");
    assert_eq!(rude.status, pb::ItemStatus::Triggered as i32, "{rude:?}");
    assert!(rude.explanation.contains("1 条答复"), "{rude:?}");

    // The national scheme has no such item; an active account is not asked about rosters, and
    // a cancelled one, which the filing service (not configured here) would be asked about, is
    // not evaluated.
    let national = check(&mut supervisor, "golmud-wechat", "").await;
    assert_eq!(
        item(&national, "zombie-listed").status,
        pb::ItemStatus::Clear as i32
    );
    let douyin = check(&mut supervisor, "golmud-douyin", "").await;
    let listed = item(&douyin, "zombie-listed");
    assert_eq!(
        listed.status,
        pb::ItemStatus::NotEvaluated as i32,
        "{listed:?}"
    );
    assert!(
        listed.explanation.contains("inspection.filing_endpoint"),
        "{listed:?}"
    );
}

backend_test!(
    silence_on_a_hot_event_is_found_and_speaking_clears_it,
    hot_events
);

async fn hot_events(backend: Backend) {
    let suite = Suite::spawn(backend, NOW).await;
    let mut supervisor = suite.supervisor().await;
    let event = supervisor
        .create_hot_event(pb::CreateHotEventRequest {
            hot_event_id: "golmud-snow-2026".into(),
            hot_event: Some(pb::HotEvent {
                title: "格尔木市强降雪".into(),
                keywords: vec!["降雪".into(), "暴雪".into()],
                organization: "organizations/golmud".into(),
                start_time: Some(govmedia_kit::clock::to_proto(at(
                    "2026-11-27T06:00:00+08:00",
                ))),
                end_time: Some(govmedia_kit::clock::to_proto(at(
                    "2026-12-05T00:00:00+08:00",
                ))),
                ..Default::default()
            }),
            request_id: "snow-1".into(),
        })
        .await
        .expect("event")
        .into_inner();
    assert_eq!(event.name, "hotEvents/golmud-snow-2026");
    let mut collector = suite.collector().await;
    stream(
        &mut collector,
        vec![
            post(
                "golmud-wechat",
                "wx-1",
                "2026-11-28T09:00:00+08:00",
                "关于暴 雪天气出行的提示",
            ),
            post(
                "golmud-edu-wechat",
                "edu-1",
                "2026-11-28T09:00:00+08:00",
                "期末考试安排",
            ),
        ],
    )
    .await;
    let provincial = "schemes/provincial-example";
    let spoke = check(&mut supervisor, "golmud-wechat", provincial).await;
    assert_eq!(
        item(&spoke, "hot-event-silence").status,
        pb::ItemStatus::Clear as i32
    );
    let silent = check(&mut supervisor, "golmud-edu-wechat", provincial).await;
    let silence = item(&silent, "hot-event-silence");
    assert_eq!(
        silence.status,
        pb::ItemStatus::Triggered as i32,
        "{silence:?}"
    );
    let finding = supervisor
        .get_finding(pb::GetFindingRequest {
            name: silence.findings[0].clone(),
        })
        .await
        .expect("finding")
        .into_inner();
    assert_eq!(
        finding.category,
        ProblemCategory::LowInformationQuality as i32
    );
    assert_eq!(
        finding.evidence.expect("evidence").reference,
        "hotEvents/golmud-snow-2026"
    );
    // Xining's accounts were not expected to speak, and Xining's supervisor does not see it.
    let mut xining = suite.xining_supervisor().await;
    let listed = xining
        .list_hot_events(pb::ListHotEventsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert!(listed.hot_events.is_empty());
    // An event outside the caller's jurisdiction, or longer than 90 days, is refused.
    let outside = xining
        .create_hot_event(pb::CreateHotEventRequest {
            hot_event_id: "other".into(),
            hot_event: Some(pb::HotEvent {
                title: "x".into(),
                keywords: vec!["x".into()],
                organization: "organizations/golmud".into(),
                start_time: Some(govmedia_kit::clock::to_proto(at(NOW))),
                end_time: Some(govmedia_kit::clock::to_proto(at(
                    "2026-12-05T00:00:00+08:00",
                ))),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await;
    assert_eq!(
        outside.expect_err("outside").code(),
        tonic::Code::PermissionDenied
    );
    let long = supervisor
        .create_hot_event(pb::CreateHotEventRequest {
            hot_event_id: "long".into(),
            hot_event: Some(pb::HotEvent {
                title: "x".into(),
                keywords: vec!["！！".into()],
                organization: "organizations/golmud".into(),
                start_time: Some(govmedia_kit::clock::to_proto(at(
                    "2026-01-01T00:00:00+08:00",
                ))),
                end_time: Some(govmedia_kit::clock::to_proto(at(NOW))),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await;
    let status = assert_invalid(long, "hot_event.end_time");
    assert!(
        status.message().contains("keywords[0]") || {
            use tonic_types::StatusExt;
            status.get_error_details().bad_request().is_some_and(|b| {
                b.field_violations
                    .iter()
                    .any(|v| v.field == "hot_event.keywords[0]")
            })
        }
    );
}
