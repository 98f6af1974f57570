//! The policy knowledge base, pre-publication review chains, matrix relay and statistics.

use govmedia_kit::auth::Role;
use govmedia_proto::routing::v1 as pb;
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;

use crate::helpers::*;

fn entry(organization: &str, question: &str, answer: &str) -> pb::KnowledgeEntry {
    pb::KnowledgeEntry {
        organization: format!("organizations/{organization}"),
        question: question.into(),
        answer: answer.into(),
        source_document: "格尔木市义务教育阶段招生入学实施方案（2026）".into(),
        ..Default::default()
    }
}

async fn create_entry(
    client: &mut Routing,
    id: &str,
    entry: pb::KnowledgeEntry,
) -> Result<pb::KnowledgeEntry, tonic::Status> {
    client
        .create_knowledge_entry(pb::CreateKnowledgeEntryRequest {
            entry_id: id.into(),
            entry: Some(entry),
            request_id: String::new(),
        })
        .await
        .map(tonic::Response::into_inner)
}

backend_test!(
    the_knowledge_base_suggests_the_entry_in_force_for_a_chinese_question_on,
    knowledge
);

async fn knowledge(backend: Backend) {
    let suite = Suite::spawn(backend, "2026-06-01T09:00:00+08:00").await;
    let mut edu = suite.edu_handler().await;
    create_entry(
        &mut edu,
        "enrol-materials",
        entry(
            "golmud-edu",
            "孩子上小学需要准备哪些入学材料？",
            "户口簿、房产证明或租赁合同、预防接种证，7月1日起到学区学校登记。",
        ),
    )
    .await
    .expect("entry");
    create_entry(
        &mut edu,
        "enrol-vaccines",
        entry(
            "golmud-edu",
            "入学前需要补种哪些疫苗？",
            "入学时查验预防接种证，漏种的麻腮风、脊灰疫苗到社区卫生服务中心补种。",
        ),
    )
    .await
    .expect("entry");
    // Last year's answer to the same question: expired, never suggested.
    let mut old = entry(
        "golmud-edu",
        "小学入学需要哪些材料？",
        "户口簿和出生证明（2025年旧规定）。",
    );
    old.valid_from = Some(timestamp("2025-01-01T00:00:00+08:00"));
    old.valid_to = Some(timestamp("2026-01-01T00:00:00+08:00"));
    create_entry(&mut edu, "enrol-2025", old)
        .await
        .expect("old entry");

    let suggested = edu
        .suggest_answers(pb::SuggestAnswersRequest {
            text: "我家孩子明年上小学了，入学要准备什么材料？".into(),
            ..Default::default()
        })
        .await
        .expect("suggestions")
        .into_inner()
        .suggestions;
    let names: Vec<String> = suggested
        .iter()
        .map(|s| s.entry.as_ref().expect("entry").name.clone())
        .collect();
    assert_eq!(names[0], "knowledgeEntries/enrol-materials");
    assert!(!names.contains(&"knowledgeEntries/enrol-2025".to_owned()));
    assert!(
        suggested[0]
            .matched
            .iter()
            .any(|m| m == "入学" || m == "材料")
    );

    // For a case: its text is the question.
    let mut collector = suite.collector().await;
    let case = case_of(
        &submit(
            &mut collector,
            message(
                "golmud-wechat",
                "wx-kb-1",
                "孩子要上一年级了，入学前要补种什么疫苗",
                "2026-06-01T08:00:00+08:00",
            ),
        )
        .await
        .expect("taken"),
    );
    let suggested = suite
        .dispatcher()
        .await
        .suggest_answers(pb::SuggestAnswersRequest {
            case: case.name.clone(),
            limit: 1,
            ..Default::default()
        })
        .await
        .expect("suggestions")
        .into_inner()
        .suggestions;
    assert_eq!(suggested.len(), 1);
    assert_eq!(
        suggested[0].entry.as_ref().expect("entry").name,
        "knowledgeEntries/enrol-vaccines"
    );

    // Xining sees none of Golmud's knowledge.
    let mut xining = suite.client("ma.xn", "xining-edu", &[Role::Handler]).await;
    let none = xining
        .suggest_answers(pb::SuggestAnswersRequest {
            text: "上小学需要准备哪些入学材料".into(),
            ..Default::default()
        })
        .await
        .expect("suggestions")
        .into_inner();
    assert!(none.suggestions.is_empty());
    assert_error(
        xining
            .get_knowledge_entry(pb::GetKnowledgeEntryRequest {
                name: "knowledgeEntries/enrol-materials".into(),
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );

    // An entry that ends before it starts is refused and not stored.
    let mut bad = entry("golmud-edu", "问题", "答案");
    bad.valid_from = Some(timestamp("2026-09-01T00:00:00+08:00"));
    bad.valid_to = Some(timestamp("2026-08-01T00:00:00+08:00"));
    assert_invalid(
        create_entry(&mut edu, "bad-period", bad).await,
        "entry.valid_to",
    );
    assert_error(
        edu.get_knowledge_entry(pb::GetKnowledgeEntryRequest {
            name: "knowledgeEntries/bad-period".into(),
        })
        .await,
        Code::NotFound,
        "NOT_FOUND",
    );
    // Nor is one for another region.
    assert_error(
        create_entry(&mut edu, "elsewhere", entry("xining-edu", "问题", "答案")).await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
}

const ALL_ASPECTS: [pb::ReviewAspect; 5] = [
    pb::ReviewAspect::Politics,
    pb::ReviewAspect::Law,
    pb::ReviewAspect::Policy,
    pb::ReviewAspect::Secrecy,
    pb::ReviewAspect::Wording,
];

fn review(
    name: &str,
    approve: bool,
    comment: &str,
    aspects: &[pb::ReviewAspect],
) -> pb::ReviewDraftRequest {
    pb::ReviewDraftRequest {
        name: name.into(),
        approve,
        comment: comment.into(),
        aspects: aspects.iter().map(|a| *a as i32).collect(),
        ..Default::default()
    }
}

backend_test!(
    a_draft_passes_a_three_level_chain_and_its_hash_is_found_on,
    review_chain
);

async fn review_chain(backend: Backend) {
    let suite = Suite::spawn(backend, "2026-06-01T09:00:00+08:00").await;
    let mut author = suite.client("xiao.bian", "golmud", &[Role::Operator]).await;
    author
        .create_review_chain(pb::CreateReviewChainRequest {
            chain_id: "golmud-three".into(),
            chain: Some(pb::ReviewChain {
                organization: "organizations/golmud".into(),
                display_name: "格尔木发布 三审".into(),
                levels: vec![
                    pb::ReviewLevel {
                        title: "编辑".into(),
                        role: govmedia_proto::common::v1::Role::Operator as i32,
                        ..Default::default()
                    },
                    pb::ReviewLevel {
                        title: "科室负责人".into(),
                        role: govmedia_proto::common::v1::Role::Leader as i32,
                        ..Default::default()
                    },
                    pb::ReviewLevel {
                        title: "分管领导".into(),
                        reviewer: "ma.lin".into(),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("chain");
    let text = "全市2026年义务教育招生工作于7月1日启动，适龄儿童家长可通过“格尔木发布”报名。";
    let submit_draft = |revision_text: &str| pb::SubmitDraftRequest {
        draft_id: "enrol-2026".into(),
        chain: "reviewChains/golmud-three".into(),
        title: "2026年义务教育招生公告".into(),
        text: revision_text.into(),
        accounts: vec!["accounts/golmud-wechat".into()],
        request_id: String::new(),
    };
    author
        .submit_draft(submit_draft("全市招生工作7月1日启动。"))
        .await
        .expect("draft");
    let name = "drafts/enrol-2026";
    let mut editor = suite
        .client("liu.editor", "golmud", &[Role::Operator, Role::Leader])
        .await;
    let mut head = suite.client("sun.head", "golmud", &[Role::Leader]).await;
    let mut chief = suite
        .client("ma.lin", "golmud-office", &[Role::Supervisor])
        .await;

    // The first revision is rejected at the first level; the author submits a second.
    let rejected = editor
        .review_draft(review(name, false, "请写明报名渠道", &[]))
        .await
        .expect("rejected")
        .into_inner();
    assert_eq!(rejected.state, pb::DraftState::Rejected as i32);
    // Nobody but the author writes the next revision (else they could approve their own text).
    assert_error(
        editor
            .submit_draft(submit_draft("编辑自己改写的稿件"))
            .await,
        Code::PermissionDenied,
        "STEP_NOT_ALLOWED",
    );
    let draft = author
        .submit_draft(submit_draft(text))
        .await
        .expect("revision")
        .into_inner();
    assert_eq!((draft.revision, draft.current_level), (2, 0));

    // Out of order, by the author, without all five checks, twice by one person: refused.
    assert_error(
        head.review_draft(review(name, true, "", &ALL_ASPECTS))
            .await,
        Code::PermissionDenied,
        "STEP_NOT_ALLOWED",
    );
    assert_error(
        author
            .review_draft(review(name, true, "", &ALL_ASPECTS))
            .await,
        Code::PermissionDenied,
        "STEP_NOT_ALLOWED",
    );
    assert_invalid(
        editor
            .review_draft(review(name, true, "", &ALL_ASPECTS[..4]))
            .await,
        "aspects",
    );
    editor
        .review_draft(review(name, true, "", &ALL_ASPECTS))
        .await
        .expect("level 1");
    assert_error(
        editor
            .review_draft(review(name, true, "", &ALL_ASPECTS))
            .await,
        Code::PermissionDenied,
        "STEP_NOT_ALLOWED",
    );
    head.review_draft(review(name, true, "", &ALL_ASPECTS))
        .await
        .expect("level 2");
    // A namesake of the named reviewer in another region is nobody here.
    let mut namesake = suite.client("ma.lin", "xining", &[Role::Leader]).await;
    assert_error(
        namesake
            .review_draft(review(name, true, "", &ALL_ASPECTS))
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    let approved = chief
        .review_draft(review(name, true, "同意发布", &ALL_ASPECTS))
        .await
        .expect("level 3")
        .into_inner();
    assert_eq!(approved.state, pb::DraftState::Approved as i32);
    assert_eq!(approved.content_hash.len(), 64);
    assert_eq!(approved.reviews.len(), 4);

    // What was published, however spaced or punctuated, is found; anything else is not.
    let mut inspector = suite
        .client("inspect", "golmud-office", &[Role::Supervisor])
        .await;
    let found = inspector
        .lookup_approved_content(pb::LookupApprovedContentRequest {
            text: "全市2026年义务教育招生工作于7月1日启动 适龄儿童家长可通过 格尔木发布 报名"
                .into(),
            account: "accounts/golmud-wechat".into(),
            ..Default::default()
        })
        .await
        .expect("lookup")
        .into_inner();
    assert_eq!(found.content_hash, approved.content_hash);
    assert_eq!(found.matches.len(), 1);
    assert_eq!(found.matches[0].draft, name);
    let by_hash = inspector
        .lookup_approved_content(pb::LookupApprovedContentRequest {
            content_hash: approved.content_hash.clone(),
            ..Default::default()
        })
        .await
        .expect("lookup")
        .into_inner();
    assert_eq!(by_hash.matches.len(), 1);
    let unreviewed = inspector
        .lookup_approved_content(pb::LookupApprovedContentRequest {
            text: "全市招生工作7月1日启动。".into(),
            ..Default::default()
        })
        .await
        .expect("lookup")
        .into_inner();
    assert!(
        unreviewed.matches.is_empty(),
        "the rejected revision passed no review"
    );
    // Frozen: no revision of an approved draft.
    assert_error(
        author.submit_draft(submit_draft("改一个字")).await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
    assert_invalid(
        inspector
            .lookup_approved_content(pb::LookupApprovedContentRequest {
                content_hash: "not-a-hash".into(),
                ..Default::default()
            })
            .await,
        "content_hash",
    );
}

backend_test!(a_relay_task_completes_and_reports_who_was_late_on, relay);

async fn relay(backend: Backend) {
    let suite = Suite::spawn(backend, "2026-06-01T09:00:00+08:00").await;
    let mut office = suite
        .client("zhang.li", "golmud-office", &[Role::Supervisor])
        .await;
    let task = |targets: &[&str]| pb::CreateRelayTaskRequest {
        task_id: "flood-warning".into(),
        task: Some(pb::RelayTask {
            source_account: "accounts/golmud-wechat".into(),
            source_post_id: "wx-post-100".into(),
            title: "格尔木市防汛Ⅳ级应急响应".into(),
            targets: targets
                .iter()
                .map(|a| pb::RelayTarget {
                    account: format!("accounts/{a}"),
                    ..Default::default()
                })
                .collect(),
            due_time: Some(timestamp("2026-06-01T18:00:00+08:00")),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    assert_invalid(
        office.create_relay_task(task(&["golmud-douyin"])).await,
        "task.targets[0].account",
    );
    assert_error(
        office.create_relay_task(task(&["xining-edu-weibo"])).await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    let created = office
        .create_relay_task(task(&["golmud-edu-wechat", "golmud-health-weibo"]))
        .await
        .expect("task")
        .into_inner();
    assert_eq!(created.report.expect("report").missing, 2);

    let confirm = |account: &str, post: &str| pb::ConfirmRelayRequest {
        name: "relayTasks/flood-warning".into(),
        account: format!("accounts/{account}"),
        relayed_post_id: post.into(),
        request_id: String::new(),
    };
    // Whoever set the task cannot certify it for the targets.
    assert_error(
        office
            .confirm_relay(confirm("golmud-edu-wechat", "wx-post-7"))
            .await,
        Code::PermissionDenied,
        "STEP_NOT_ALLOWED",
    );
    let mut edu = suite
        .client("edu.operator", "golmud-edu", &[Role::Operator])
        .await;
    edu.confirm_relay(confirm("golmud-edu-wechat", "wx-post-7"))
        .await
        .expect("confirmed");
    // Another unit cannot confirm for the health commission; an account not asked is refused.
    assert_error(
        edu.confirm_relay(confirm("golmud-health-weibo", "wb-1"))
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    let mut xining = suite
        .client("xn.operator", "xining-edu", &[Role::Operator])
        .await;
    assert_invalid(
        xining
            .confirm_relay(confirm("xining-edu-weibo", "wb-9"))
            .await,
        "account",
    );
    // Below the setter, a unit asked to relay sees the task; a unit not asked does not.
    let get = || pb::GetRelayTaskRequest {
        name: "relayTasks/flood-warning".into(),
    };
    edu.get_relay_task(get())
        .await
        .expect("a unit asked sees it");
    let mut office_clerk = suite
        .client("clerk", "golmud-office", &[Role::Operator])
        .await;
    assert_error(
        office_clerk.get_relay_task(get()).await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    // After the deadline: overdue, then late but complete.
    suite.time.set(at("2026-06-01T19:00:00+08:00"));
    let overdue = office
        .get_relay_task(pb::GetRelayTaskRequest {
            name: "relayTasks/flood-warning".into(),
        })
        .await
        .expect("task")
        .into_inner();
    let report = overdue.report.expect("report");
    assert!(report.overdue && !report.complete);
    let mut health = suite
        .client("health.operator", "golmud-health", &[Role::Operator])
        .await;
    let done = health
        .confirm_relay(confirm("golmud-health-weibo", "wb-post-3"))
        .await
        .expect("late confirmation")
        .into_inner();
    let report = done.report.expect("report");
    assert_eq!((report.on_time, report.late, report.missing), (1, 1, 0));
    assert!(report.complete && !report.overdue);
    assert!(done.targets[1].late && !done.targets[0].late);
}

backend_test!(
    statistics_count_each_clock_per_account_and_department_on,
    statistics
);

async fn statistics(backend: Backend) {
    let suite = Suite::spawn(backend, "2026-06-01T09:00:00+08:00").await;
    let mut collector = suite.collector().await;
    let mut names = Vec::new();
    for (id, text) in [
        ("s-1", "路灯不亮"),
        ("s-2", "学校收费问题"),
        ("s-3", "医院排队太久"),
    ] {
        names.push(
            case_of(
                &submit(
                    &mut collector,
                    message("golmud-wechat", id, text, "2026-06-01T08:00:00+08:00"),
                )
                .await
                .expect("taken"),
            )
            .name,
        );
    }
    let mut dispatcher = suite.dispatcher().await;
    dispatcher
        .dispatch_case(pb::DispatchCaseRequest {
            name: names[1].clone(),
            department: "organizations/golmud-edu".into(),
            ..Default::default()
        })
        .await
        .expect("dispatched");
    // The third is dispatched two days late: the dispatcher's clock is blamed, not the
    // department's.
    suite.time.set(at("2026-06-03T10:00:00+08:00"));
    dispatcher
        .dispatch_case(pb::DispatchCaseRequest {
            name: names[2].clone(),
            department: "organizations/golmud-health".into(),
            ..Default::default()
        })
        .await
        .expect("dispatched late");
    let stats = dispatcher
        .get_case_statistics(pb::GetCaseStatisticsRequest {
            period_start: Some(timestamp("2026-06-01T00:00:00+08:00")),
            period_end: Some(timestamp("2026-07-01T00:00:00+08:00")),
            grouping: pb::StatisticsGrouping::Department as i32,
            ..Default::default()
        })
        .await
        .expect("statistics")
        .into_inner();
    let total = stats.total.expect("total");
    assert_eq!((total.received, total.dispatched), (3, 2));
    assert_eq!(
        total.dispatch_on_time, 1,
        "one waits past its deadline, one was late"
    );
    // The bureau has not signed for its case by the end of 2 June; the health commission's
    // sign-for deadline has not come yet.
    assert_eq!(total.department_on_time, 1);
    assert_eq!(total.overdue, 3);
    let keys: Vec<&str> = stats.rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(
        keys,
        ["organizations/golmud-edu", "organizations/golmud-health"]
    );
    assert_eq!(stats.rows[1].dispatch_on_time_rate, 0.0);
    assert_invalid(
        dispatcher
            .get_case_statistics(pb::GetCaseStatisticsRequest {
                period_start: Some(timestamp("2026-07-01T00:00:00+08:00")),
                period_end: Some(timestamp("2026-06-01T00:00:00+08:00")),
                ..Default::default()
            })
            .await,
        "period_end",
    );
}
