//! Checks through the gateway: posts streamed in, the national and the provincial scheme
//! applied, findings in six categories with their evidence, found again without duplicates.

use std::collections::BTreeSet;

use govmedia_proto::{common::v1::ProblemCategory, inspection::v1 as pb};
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;

use crate::helpers::*;

/// A few weeks of Golmud's posts: a serious wording error, an advertisement with a shop link, an
/// emoji-crowded post, a relay of Xinhua with video, a policy graphic; the education bureau's
/// account last posted in May; the service account only relays.
async fn publish_weeks(suite: &Suite) {
    let mut collector = suite.collector().await;
    let mut posts = vec![
        post(
            "golmud-wechat",
            "wx-1",
            "2026-11-28T18:00:00+08:00",
            "我市召开专题会议，深入学习贯彻以习近平总书记为核心的党中央决策部署。",
        ),
        post(
            "golmud-wechat",
            "wx-3",
            "2026-11-20T12:00:00+08:00",
            "本地特产枸杞，全网最低价，点击链接购买！",
        ),
        post(
            "golmud-wechat",
            "wx-4",
            "2026-11-18T20:00:00+08:00",
            "周末愉快😀😀😀😀🎉🎉🎉🎉 一起去盐湖玩吧",
        ),
        post(
            "golmud-wechat",
            "wx-6",
            "2026-11-10T09:00:00+08:00",
            "我市冬季供暖工作全面启动，热线 12345。",
        ),
        post(
            "golmud-edu-wechat",
            "edu-1",
            "2026-05-10T09:00:00+08:00",
            "关于做好2026年中考报名工作的通知",
        ),
    ];
    posts[1].links = vec!["https://shop.example.com/goji?id=7".into()];
    let mut relay = post(
        "golmud-wechat",
        "wx-2",
        "2026-11-25T08:00:00+08:00",
        "国务院常务会议部署进一步稳就业举措",
    );
    relay.original = false;
    relay.relayed_from = "新华社".into();
    relay.media_kind = pb::MediaKind::Video as i32;
    posts.push(relay);
    let mut graphic = post(
        "golmud-wechat",
        "wx-5",
        "2026-11-15T09:00:00+08:00",
        "一图读懂：城乡居民医保缴费新规",
    );
    graphic.media_kind = pb::MediaKind::Image as i32;
    posts.push(graphic);
    for i in 0..6 {
        let mut relayed = post(
            "golmud-service",
            &format!("svc-{i}"),
            &format!("2026-11-{:02}T09:00:00+08:00", 10 + i),
            "办事指南转载",
        );
        relayed.original = false;
        relayed.relayed_from = "某生活资讯号".into();
        posts.push(relayed);
    }
    let response = stream(&mut collector, posts).await;
    assert_eq!(response.refused, 0, "{response:?}");
}

backend_test!(
    checks_find_six_categories_and_explain_every_item,
    six_categories
);

async fn six_categories(backend: Backend) {
    let suite = Suite::spawn(backend, NOW).await;
    publish_weeks(&suite).await;
    let mut supervisor = suite.supervisor().await;

    // National (pass/fail): Golmud's account fails on the serious wording error alone.
    let national = check(&mut supervisor, "golmud-wechat", "").await;
    assert_eq!(national.scheme, "schemes/national");
    assert_eq!(national.outcome, pb::Outcome::Fail as i32);
    assert_eq!(national.score, None);
    let wording = item(&national, "serious-wording-error");
    assert_eq!(wording.status, pb::ItemStatus::Triggered as i32);
    assert_eq!(wording.findings.len(), 1);
    assert_eq!(
        item(&national, "no-update").status,
        pb::ItemStatus::Clear as i32
    );
    let finding = supervisor
        .get_finding(pb::GetFindingRequest {
            name: wording.findings[0].clone(),
        })
        .await
        .expect("finding")
        .into_inner();
    assert_eq!(finding.category, ProblemCategory::LaxReview as i32);
    let evidence = finding.evidence.expect("evidence");
    let hit = evidence.hit.expect("hit");
    assert_eq!(hit.matched, "以习近平总书记为核心的党中央");
    assert_eq!(hit.suggestion, "以习近平同志为核心的党中央");
    // The position points at the matched text in the post as published.
    let text = "我市召开专题会议，深入学习贯彻以习近平总书记为核心的党中央决策部署。";
    assert_eq!(
        &text[hit.byte_start as usize..hit.byte_end as usize],
        hit.matched
    );
    assert_eq!(
        text.chars()
            .skip(hit.char_start as usize)
            .take(3)
            .collect::<String>(),
        "以习近"
    );
    assert_eq!(evidence.platform_post_id, "wx-1");
    assert_eq!(evidence.field, "text");

    // The same check again: the finding is found again, not duplicated.
    let findings_before = suite.finding_count().await;
    let again = check(&mut supervisor, "golmud-wechat", "").await;
    assert_eq!(
        item(&again, "serious-wording-error").findings,
        wording.findings
    );
    assert_eq!(suite.finding_count().await, findings_before);

    // Provincial (scored): vetoed, so capped at 59, every deduction and bonus explained.
    let provincial = check(
        &mut supervisor,
        "golmud-wechat",
        "schemes/provincial-example",
    )
    .await;
    assert_eq!(provincial.outcome, pb::Outcome::Fail as i32);
    assert_eq!(provincial.score, Some(59.0));
    // Two findings of 5 points; the service-link item does not apply to a publishing account,
    // so the 95 points that do are rescaled to 100.
    assert_eq!(item(&provincial, "commercial-content").points, -10.53);
    assert_eq!(
        item(&provincial, "over-entertainment").status,
        pb::ItemStatus::Triggered as i32
    );
    assert_eq!(item(&provincial, "authoritative-relay").points, 3.0);
    assert_eq!(
        item(&provincial, "authoritative-relay")
            .credited_posts
            .len(),
        1
    );
    assert_eq!(item(&provincial, "media-variety").points, 4.0);
    assert_eq!(item(&provincial, "media-variety").credited_posts.len(), 2);
    assert_eq!(
        item(&provincial, "no-update").status,
        pb::ItemStatus::NotApplicable as i32,
        "a county account has the 10-day rule, not the 14-day one"
    );
    assert!(
        item(&provincial, "authoritative-relay")
            .explanation
            .contains("新华社"),
        "{:?}",
        item(&provincial, "authoritative-relay")
    );

    // The education bureau's account: silent since May, idle and not updated.
    let edu = check(&mut supervisor, "golmud-edu-wechat", "").await;
    assert_eq!(edu.outcome, pb::Outcome::Fail as i32);
    assert_eq!(
        item(&edu, "no-update").status,
        pb::ItemStatus::Triggered as i32
    );
    assert_eq!(
        item(&edu, "idle-not-cancelled").status,
        pb::ItemStatus::Triggered as i32
    );
    assert!(item(&edu, "no-update").explanation.contains("2026-05-10"));

    // The cancelled Douyin account still publishes on the platform: a zombie account.
    stream(
        &mut suite.collector().await,
        vec![post(
            "golmud-douyin",
            "dy-1",
            "2026-11-29T20:00:00+08:00",
            "今晚直播带货",
        )],
    )
    .await;
    let zombie = check(&mut supervisor, "golmud-douyin", "").await;
    assert_eq!(
        item(&zombie, "zombie").status,
        pb::ItemStatus::Triggered as i32
    );
    assert_eq!(zombie.outcome, pb::Outcome::Fail as i32);

    // The service account: the publishing items do not apply; its original share is low.
    let service = check(
        &mut supervisor,
        "golmud-service",
        "schemes/provincial-example",
    )
    .await;
    assert_eq!(
        item(&service, "update-frequency").status,
        pb::ItemStatus::NotApplicable as i32
    );
    // Its service link in the ledger does not answer.
    let link = item(&service, "service-unavailable");
    assert_eq!(link.status, pb::ItemStatus::Triggered as i32, "{link:?}");
    assert!(
        link.explanation.contains("https://127.0.0.1:9/"),
        "{link:?}"
    );
    let original = item(&service, "original-share");
    assert_eq!(original.status, pb::ItemStatus::Triggered as i32);
    assert_eq!(original.weight_percent, 50);

    // Findings in six categories, each with its evidence.
    let findings = supervisor
        .list_findings(pb::ListFindingsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("findings")
        .into_inner()
        .findings;
    let categories: BTreeSet<i32> = findings.iter().map(|f| f.category).collect();
    for category in [
        ProblemCategory::UnclearPositioning,
        ProblemCategory::LowInformationQuality,
        ProblemCategory::LaxReview,
        ProblemCategory::UnknownHeadcount,
        ProblemCategory::OverEntertainment,
        ProblemCategory::PoorMaintenance,
    ] {
        assert!(
            categories.contains(&(category as i32)),
            "no {category:?} finding in {findings:#?}"
        );
    }
    let link = findings
        .iter()
        .find(|f| {
            f.detector == "commercial-content"
                && f.evidence.as_ref().is_some_and(|e| !e.link.is_empty())
        })
        .expect("a commercial link finding");
    assert!(link.summary.contains("shop.example.com"), "{link:?}");
    let only_ads = supervisor
        .list_findings(pb::ListFindingsRequest {
            category: ProblemCategory::UnclearPositioning as i32,
            ..Default::default()
        })
        .await
        .expect("findings")
        .into_inner()
        .findings;
    assert!(
        only_ads
            .iter()
            .all(|f| f.category == ProblemCategory::UnclearPositioning as i32)
    );

    // The checks are stored with their scheme versions, listable by outcome.
    let failed = supervisor
        .list_checks(pb::ListChecksRequest {
            account: "accounts/golmud-wechat".into(),
            outcome: pb::Outcome::Fail as i32,
            ..Default::default()
        })
        .await
        .expect("checks")
        .into_inner()
        .checks;
    assert_eq!(failed.len(), 3);
    assert!(failed.iter().all(|c| c.scheme_version == 2));

    // Another city's supervisor sees none of it.
    let mut xining = suite.xining_supervisor().await;
    let hidden = xining
        .get_check(pb::GetCheckRequest {
            name: national.name.clone(),
        })
        .await;
    assert_error(hidden, Code::PermissionDenied, "OUTSIDE_JURISDICTION");
    let none = xining
        .list_findings(pb::ListFindingsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert!(none.findings.is_empty());
    let refused = xining
        .run_check(pb::RunCheckRequest {
            account: "accounts/golmud-wechat".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(refused.expect_err("outside").code(), Code::PermissionDenied);
}

backend_test!(
    lexicons_and_schemes_are_data_that_checks_follow,
    lexicons_and_schemes
);

async fn lexicons_and_schemes(backend: Backend) {
    let suite = Suite::spawn(backend, NOW).await;
    let mut collector = suite.collector().await;
    stream(
        &mut collector,
        vec![post(
            "golmud-wechat",
            "wx-1",
            "2026-11-29T09:00:00+08:00",
            "我市持续推进精准扶贫攻艰战。",
        )],
    )
    .await;
    let mut root = suite.root_supervisor().await;
    let mut supervisor = suite.supervisor().await;
    // Nothing fails the account, but without a routing service the interaction item cannot be
    // evaluated: no verdict of pass is given.
    let before = check(&mut supervisor, "golmud-wechat", "").await;
    assert_eq!(before.outcome, pb::Outcome::Incomplete as i32);
    assert_eq!(before.not_evaluated, 1);
    let interaction = item(&before, "interaction-poor");
    assert_eq!(interaction.status, pb::ItemStatus::NotEvaluated as i32);
    assert!(
        interaction
            .explanation
            .contains("inspection.routing_endpoint"),
        "{interaction:?}"
    );

    // A province puts a lexicon; the next scan and check use it.
    let lexicon = root
        .put_lexicon(pb::PutLexiconRequest {
            name: "lexicons/qinghai-2026".into(),
            text: "@version qinghai-2026.1\nformulation | high | 攻艰战 | 攻坚战\n".into(),
            request_id: "lex-1".into(),
        })
        .await
        .expect("put lexicon")
        .into_inner();
    assert_eq!(
        (lexicon.version.as_str(), lexicon.wording_count),
        ("qinghai-2026.1", 1)
    );
    let scanned = supervisor
        .scan_text(pb::ScanTextRequest {
            text: "打赢脱贫攻 艰 战".into(),
        })
        .await
        .expect("scan")
        .into_inner();
    assert_eq!(scanned.hits.len(), 1);
    assert_eq!(scanned.hits[0].suggestion, "攻坚战");
    assert!(
        scanned
            .lexicon_versions
            .contains(&"qinghai-2026.1".to_owned())
    );
    let after = check(&mut supervisor, "golmud-wechat", "").await;
    assert_eq!(after.outcome, pb::Outcome::Fail as i32);

    // A city's scheme: a stricter update window for its own accounts.
    let scheme = pb::Scheme {
        name: "schemes/golmud-2026".into(),
        title: "格尔木市政务新媒体检查指标".into(),
        organization: "organizations/golmud".into(),
        mode: pb::SchemeMode::PassFail as i32,
        items: vec![pb::SchemeItem {
            id: "weekly".into(),
            title: "7天内无更新".into(),
            kind: pb::ItemKind::Veto as i32,
            detector: "no-update".into(),
            parameters: [("window_days".to_owned(), "7".to_owned())].into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let put = supervisor
        .put_scheme(pb::PutSchemeRequest {
            scheme: Some(scheme.clone()),
            request_id: "scheme-1".into(),
        })
        .await
        .expect("put scheme")
        .into_inner();
    assert_eq!(put.version, 1);
    let mut second = scheme.clone();
    second.items[0]
        .parameters
        .insert("window_days".into(), "1".into());
    let put = supervisor
        .put_scheme(pb::PutSchemeRequest {
            scheme: Some(second),
            request_id: "scheme-2".into(),
        })
        .await
        .expect("put scheme v2")
        .into_inner();
    assert_eq!(put.version, 2);
    let strict = check(&mut supervisor, "golmud-wechat", "schemes/golmud-2026").await;
    assert_eq!(
        (strict.scheme_version, strict.outcome),
        (2, pb::Outcome::Fail as i32)
    );
    let first = supervisor
        .get_scheme(pb::GetSchemeRequest {
            name: "schemes/golmud-2026".into(),
            version: 1,
        })
        .await
        .expect("v1")
        .into_inner();
    assert_eq!(first.items[0].parameters["window_days"], "7");

    // Xining's accounts are not checked under Golmud's scheme.
    let mut xining = suite.xining_supervisor().await;
    let refused = xining
        .run_check(pb::RunCheckRequest {
            account: "accounts/xining-edu-weibo".into(),
            scheme: "schemes/golmud-2026".into(),
            request_id: String::new(),
        })
        .await;
    assert_error(refused, Code::FailedPrecondition, "OUTSIDE_JURISDICTION");

    // A supervisor's own finding.
    let manual = supervisor
        .create_finding(pb::CreateFindingRequest {
            account: "accounts/golmud-wechat".into(),
            category: ProblemCategory::HollowInteraction as i32,
            severity: pb::Severity::Medium as i32,
            summary: "拨打公布的咨询电话三次无人接听".into(),
            request_id: "manual-1".into(),
            ..Default::default()
        })
        .await
        .expect("manual finding")
        .into_inner();
    assert_eq!(manual.detector, "manual");
    assert_eq!(manual.evidence.expect("evidence").source, "supervisor");
}

backend_test!(
    a_post_full_of_one_error_is_one_finding_with_its_count,
    error_bomb
);

async fn error_bomb(backend: Backend) {
    let suite = Suite::spawn(backend, NOW).await;
    let mut collector = suite.collector().await;
    stream(
        &mut collector,
        vec![post(
            "golmud-wechat",
            "wx-bomb",
            "2026-11-29T09:00:00+08:00",
            &"台湾总统".repeat(20_000),
        )],
    )
    .await;
    let mut supervisor = suite.supervisor().await;
    let national = check(&mut supervisor, "golmud-wechat", "").await;
    let wording = item(&national, "serious-wording-error");
    assert_eq!(wording.findings.len(), 1);
    let finding = supervisor
        .get_finding(pb::GetFindingRequest {
            name: wording.findings[0].clone(),
        })
        .await
        .expect("finding")
        .into_inner();
    let figures = finding.evidence.expect("evidence").figures;
    assert!(
        figures
            .iter()
            .any(|f| f.name == "occurrences" && f.value == 20_000.0),
        "{figures:?}"
    );
    // ScanText answers with the first 1,000 and the count.
    let scanned = supervisor
        .scan_text(pb::ScanTextRequest {
            text: "台湾总统".repeat(5_000),
        })
        .await
        .expect("scan")
        .into_inner();
    assert_eq!((scanned.hits.len(), scanned.total_hits), (1_000, 5_000));
}
