//! Bad input: the right code, a reason or a field, and no change.

use govmedia_proto::inspection::v1 as pb;
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;

use crate::helpers::*;

backend_test!(
    bad_posts_lexicons_schemes_and_findings_change_nothing,
    bad_input
);

async fn bad_input(backend: Backend) {
    let suite = Suite::spawn(backend, NOW).await;
    let mut collector = suite.collector().await;
    let submit = |post: pb::IncomingPost| pb::SubmitPostRequest { post: Some(post) };

    let unknown = collector
        .submit_post(submit(post(
            "nobody-wechat",
            "x-1",
            "2026-11-20T09:00:00+08:00",
            "文本",
        )))
        .await;
    assert_eq!(unknown.expect_err("unknown").code(), Code::NotFound);
    let mut future = post("golmud-wechat", "x-2", "2026-12-30T09:00:00+08:00", "文本");
    assert_invalid(
        collector.submit_post(submit(future.clone())).await,
        "post.published_time",
    );
    future.published_time = None;
    assert_invalid(
        collector.submit_post(submit(future)).await,
        "post.published_time",
    );
    let empty = post("golmud-wechat", "x-3", "2026-11-20T09:00:00+08:00", "  ");
    assert_invalid(collector.submit_post(submit(empty)).await, "post.text");
    let mut link = post("golmud-wechat", "x-4", "2026-11-20T09:00:00+08:00", "文本");
    link.links = vec!["javascript:alert(1)".into()];
    assert_invalid(collector.submit_post(submit(link)).await, "post.links[0]");
    let mut negative = post("golmud-wechat", "x-5", "2026-11-20T09:00:00+08:00", "文本");
    negative.reads = -1;
    assert_invalid(collector.submit_post(submit(negative)).await, "post.reads");
    let huge = post(
        "golmud-wechat",
        "x-6",
        "2026-11-20T09:00:00+08:00",
        &"字".repeat(100_001),
    );
    assert_invalid(collector.submit_post(submit(huge)).await, "post.text");
    assert_eq!(suite.post_count().await, 0);

    // The inspected unit does not deliver its own evidence, as an operator or as a supervisor of
    // a unit that is not a management department; nor does such a supervisor set a scheme.
    let fine = post(
        "golmud-edu-wechat",
        "self-1",
        "2026-11-20T09:00:00+08:00",
        "本单位自报",
    );
    let mut operator = suite
        .client(
            "wang.op",
            "golmud-edu",
            &[govmedia_kit::auth::Role::Operator],
        )
        .await;
    let refused = operator.submit_post(submit(fine.clone())).await;
    assert_error(refused, Code::PermissionDenied, "ROLE_NOT_ALLOWED");
    let mut unit_supervisor = suite
        .client(
            "wu.sup",
            "golmud-edu",
            &[govmedia_kit::auth::Role::Supervisor],
        )
        .await;
    let refused = unit_supervisor.submit_post(submit(fine)).await;
    assert_error(refused, Code::PermissionDenied, "ROLE_NOT_ALLOWED");
    let lenient = pb::Scheme {
        name: "schemes/edu-lenient".into(),
        title: "宽松".into(),
        organization: "organizations/golmud-edu".into(),
        mode: pb::SchemeMode::PassFail as i32,
        items: vec![pb::SchemeItem {
            id: "zombie".into(),
            title: "僵尸号".into(),
            kind: pb::ItemKind::Veto as i32,
            detector: "cancelled-still-publishing".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let refused = unit_supervisor
        .put_scheme(pb::PutSchemeRequest {
            scheme: Some(lenient),
            request_id: String::new(),
        })
        .await;
    assert_error(refused, Code::PermissionDenied, "ROLE_NOT_ALLOWED");
    assert_eq!(suite.post_count().await, 0);

    // Lexicons: a bad line is refused with its number; only the root changes them.
    let mut root = suite.root_supervisor().await;
    let bad = root
        .put_lexicon(pb::PutLexiconRequest {
            name: "lexicons/qinghai".into(),
            text: "@version 1\nformulation | high | 台湾总统 | 台湾地区领导人\nnonsense | x | y\n"
                .into(),
            request_id: String::new(),
        })
        .await;
    let status = assert_invalid(bad, "text");
    assert!(status.message().contains("line 3"), "{status:?}");
    let starter = root
        .put_lexicon(pb::PutLexiconRequest {
            name: "lexicons/starter".into(),
            text: "@version 1\nbanned | high | 赌场\n".into(),
            request_id: String::new(),
        })
        .await;
    assert_invalid(starter, "name");
    let mut supervisor = suite.supervisor().await;
    let not_root = supervisor
        .put_lexicon(pb::PutLexiconRequest {
            name: "lexicons/golmud".into(),
            text: "@version 1\nbanned | high | 赌场\n".into(),
            request_id: String::new(),
        })
        .await;
    assert_error(not_root, Code::PermissionDenied, "OUTSIDE_JURISDICTION");
    let listed = root
        .list_lexicons(pb::ListLexiconsRequest {})
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.lexicons.len(), 1, "only the starter: {listed:?}");

    // Schemes that do not add up, or bind unknown detectors, are refused whole.
    let scheme = pb::Scheme {
        name: "schemes/golmud-scored".into(),
        title: "格尔木考评".into(),
        organization: "organizations/golmud".into(),
        mode: pb::SchemeMode::Scored as i32,
        deduction_points: 100,
        pass_mark: 60,
        veto_cap: 59,
        items: vec![
            pb::SchemeItem {
                id: "wording".into(),
                title: "表述错误".into(),
                kind: pb::ItemKind::Deduction as i32,
                detector: "wording-errors".into(),
                points: 5,
                max_points: 40,
                ..Default::default()
            },
            pb::SchemeItem {
                id: "mood".into(),
                title: "情绪".into(),
                kind: pb::ItemKind::Deduction as i32,
                detector: "mood-ring".into(),
                points: 5,
                max_points: 50,
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let refused = supervisor
        .put_scheme(pb::PutSchemeRequest {
            scheme: Some(scheme.clone()),
            request_id: String::new(),
        })
        .await;
    let status = assert_invalid(refused, "scheme.items[1].detector");
    assert!(
        status.message().contains("deduction_points") || {
            use tonic_types::StatusExt;
            status.get_error_details().bad_request().is_some_and(|b| {
                b.field_violations
                    .iter()
                    .any(|v| v.field == "scheme.deduction_points")
            })
        }
    );
    let mut national = scheme.clone();
    national.name = "schemes/national".into();
    assert_invalid(
        supervisor
            .put_scheme(pb::PutSchemeRequest {
                scheme: Some(national),
                request_id: String::new(),
            })
            .await,
        "scheme.name",
    );
    let mut elsewhere = scheme.clone();
    elsewhere.items.truncate(1);
    elsewhere.items[0].max_points = 100;
    elsewhere.organization = "organizations/xining".into();
    let outside = supervisor
        .put_scheme(pb::PutSchemeRequest {
            scheme: Some(elsewhere),
            request_id: String::new(),
        })
        .await;
    assert_eq!(outside.expect_err("outside").code(), Code::PermissionDenied);
    let schemes = supervisor
        .list_schemes(pb::ListSchemesRequest {})
        .await
        .expect("list")
        .into_inner();
    assert_eq!(schemes.schemes.len(), 2, "the shipped ones only");

    // Findings: outside the jurisdiction, a post of another account, a missing category.
    let outside = supervisor
        .create_finding(pb::CreateFindingRequest {
            account: "accounts/xining-edu-weibo".into(),
            category: 3,
            severity: 2,
            summary: "无人接听".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(outside.expect_err("outside").code(), Code::PermissionDenied);
    let no_category = supervisor
        .create_finding(pb::CreateFindingRequest {
            account: "accounts/golmud-wechat".into(),
            severity: 2,
            summary: "无人接听".into(),
            ..Default::default()
        })
        .await;
    assert_invalid(no_category, "category");
    let foreign_post = supervisor
        .create_finding(pb::CreateFindingRequest {
            account: "accounts/golmud-wechat".into(),
            category: 3,
            severity: 2,
            summary: "无人接听".into(),
            post: "posts/p0000".into(),
            ..Default::default()
        })
        .await;
    assert_invalid(foreign_post, "post");
    assert_eq!(suite.finding_count().await, 0);

    // A unit's operator cannot run checks; a check of an unknown scheme is NOT_FOUND.
    let refused = operator
        .run_check(pb::RunCheckRequest {
            account: "accounts/golmud-wechat".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(refused.expect_err("role").code(), Code::PermissionDenied);
    let unknown = supervisor
        .run_check(pb::RunCheckRequest {
            account: "accounts/golmud-wechat".into(),
            scheme: "schemes/nowhere".into(),
            ..Default::default()
        })
        .await;
    assert_error(unknown, Code::NotFound, "NOT_FOUND");
    let page = supervisor
        .list_findings(pb::ListFindingsRequest {
            page_size: 501,
            ..Default::default()
        })
        .await;
    assert_invalid(page, "page_size");
}
