//! Intake: unary and streamed through the gateway, idempotent on the platform's message id,
//! near-duplicates merged, accounts checked against the ledger and the caller's jurisdiction.

use govmedia_proto::routing::v1 as pb;
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;

use crate::helpers::*;

backend_test!(
    streamed_batches_pass_the_gateway_and_report_each_message_on,
    streamed
);

async fn streamed(backend: Backend) {
    let suite = Suite::spawn(backend, "2026-06-01T09:00:00+08:00").await;
    let mut collector = suite.collector().await;
    let mut good = message(
        "golmud-wechat",
        "wx-2001",
        "昆仑路的路灯坏了三天了",
        "2026-06-01T08:00:00+08:00",
    );
    good.category = pb::MessageCategory::Complaint as i32;
    let mut other = message(
        "golmud-wechat",
        "wx-2002",
        "公积金提取需要什么材料",
        "2026-06-01T08:10:00+08:00",
    );
    other.citizen_handle = "李四".into();
    other.citizen_contact = "13700002222".into();
    let suspended = message(
        "golmud-douyin",
        "dy-1",
        "抖音号为什么不更新了",
        "2026-06-01T08:20:00+08:00",
    );
    let mut blank = message("golmud-wechat", "wx-2003", "", "2026-06-01T08:30:00+08:00");
    blank.category = 0;
    let batch = vec![
        good,
        other,
        suspended,
        blank,
        message(
            "golmud-wechat",
            "wx-2001",
            "昆仑路的路灯坏了三天了",
            "2026-06-01T08:00:00+08:00",
        ),
    ];
    let response = collector
        .submit_messages(tokio_stream::iter(batch.into_iter().map(|message| {
            pb::SubmitMessagesRequest {
                message: Some(message),
            }
        })))
        .await
        .expect("the stream passes the gateway")
        .into_inner();
    assert_eq!((response.accepted, response.refused), (3, 2));
    let result = |i: usize| &response.results[i];
    assert!(result(0).response.is_some() && result(1).response.is_some());
    assert_eq!(result(2).error_code, Code::FailedPrecondition as i32);
    assert_eq!(result(2).error_reason, "ACCOUNT_NOT_ACTIVE");
    assert_eq!(result(3).error_reason, "INVALID_FIELD");
    assert!(result(3).error_message.contains("message.text"));
    // The repeat in the same stream is the same message.
    let repeat = result(4).response.as_ref().expect("replayed");
    assert!(repeat.replayed);
    assert_eq!(
        repeat.message,
        result(0).response.as_ref().expect("first").message
    );
    assert_eq!(suite.case_count().await, 2);
}

backend_test!(
    a_stream_past_its_limit_ends_with_every_earlier_message_taken_on,
    past_the_limit
);

/// A stream of 1,001 messages ends RESOURCE_EXHAUSTED, and the 1,000 before were all taken, the
/// last ones still waiting in the stream's last chunk too: a collector that sends only the rest
/// loses nothing.
async fn past_the_limit(backend: Backend) {
    let suite = Suite::spawn(backend, "2026-06-01T09:00:00+08:00").await;
    let mut collector = suite.collector().await;
    let batch: Vec<pb::SubmitMessagesRequest> = (0..1001)
        .map(|i| {
            let mut each = message(
                "golmud-wechat",
                &format!("wx-limit-{i}"),
                &format!("第{i}号路灯不亮"),
                "2026-06-01T08:00:00+08:00",
            );
            each.citizen_handle = format!("市民{i}");
            pb::SubmitMessagesRequest {
                message: Some(each),
            }
        })
        .collect();
    assert_error(
        collector.submit_messages(tokio_stream::iter(batch)).await,
        Code::ResourceExhausted,
        "MESSAGE_TOO_LARGE",
    );
    assert_eq!(suite.case_count().await, 1000);
}

backend_test!(
    a_message_is_taken_once_and_a_similar_one_joins_its_case_on,
    once_and_merged
);

async fn once_and_merged(backend: Backend) {
    let suite = Suite::spawn(backend, "2026-06-01T09:00:00+08:00").await;
    let mut collector = suite.collector().await;
    let first = message(
        "golmud-wechat",
        "wx-3001",
        "格尔木市昆仑路的路灯坏了三天了，晚上很不安全",
        "2026-06-01T08:00:00+08:00",
    );
    let taken = submit(&mut collector, first.clone()).await.expect("first");
    let again = submit(&mut collector, first.clone()).await.expect("again");
    assert!(again.replayed && !taken.replayed);
    assert_eq!(again.message, taken.message);
    assert_eq!(case_of(&again).name, case_of(&taken).name);

    // The same platform id for another text is refused, and changes nothing.
    let mut forged = first.clone();
    forged.text = "另一条留言".into();
    assert_error(
        submit(&mut collector, forged).await,
        Code::InvalidArgument,
        "REQUEST_ID_REUSED",
    );

    // The same citizen writes again, nearly the same words: the case grows, no new case.
    suite.time.set(at("2026-06-01T15:00:00+08:00"));
    let follow = submit(
        &mut collector,
        message(
            "golmud-wechat",
            "wx-3002",
            "格尔木昆仑路路灯坏了已经三天了！晚上很不安全",
            "2026-06-01T14:50:00+08:00",
        ),
    )
    .await
    .expect("follow-up");
    assert!(follow.merged);
    let case = case_of(&follow);
    assert_eq!(case.name, case_of(&taken).name);
    assert_eq!(case.message_count, 2);
    assert_eq!(actions(&case), ["RECEIVED", "MERGED"]);

    // Another citizen with the same words, or the same citizen on another matter, opens a case.
    let mut neighbour = message(
        "golmud-wechat",
        "wx-3003",
        "格尔木市昆仑路的路灯坏了三天了，晚上很不安全",
        "2026-06-01T15:00:00+08:00",
    );
    neighbour.citizen_handle = "王五".into();
    neighbour.citizen_contact = String::new();
    assert!(
        !submit(&mut collector, neighbour)
            .await
            .expect("neighbour")
            .merged
    );
    let other_matter = message(
        "golmud-wechat",
        "wx-3004",
        "孩子入学需要准备哪些材料",
        "2026-06-01T15:01:00+08:00",
    );
    assert!(
        !submit(&mut collector, other_matter)
            .await
            .expect("other")
            .merged
    );
    assert_eq!(suite.case_count().await, 3);
}

backend_test!(
    collectors_deliver_only_to_active_accounts_in_their_jurisdiction_on,
    jurisdiction
);

async fn jurisdiction(backend: Backend) {
    let suite = Suite::spawn(backend, "2026-06-01T09:00:00+08:00").await;
    let mut collector = suite.collector().await;
    let taken = submit(
        &mut collector,
        message(
            "golmud-wechat",
            "wx-4001",
            "咨询社保卡办理",
            "2026-06-01T08:00:00+08:00",
        ),
    )
    .await
    .expect("taken");
    let before = suite.case_count().await;

    // Xining's collector can neither deliver to Golmud's account nor learn, by replaying
    // Golmud's message id, which case it went to.
    let mut xining = suite.client("collector", "xining", &[pb_role()]).await;
    assert_error(
        submit(
            &mut xining,
            message(
                "golmud-wechat",
                "wx-4001",
                "咨询社保卡办理",
                "2026-06-01T08:00:00+08:00",
            ),
        )
        .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_error(
        submit(
            &mut collector,
            message(
                "no-such-account",
                "x-1",
                "你好",
                "2026-06-01T08:00:00+08:00",
            ),
        )
        .await,
        Code::NotFound,
        "NOT_FOUND",
    );
    assert_error(
        submit(
            &mut collector,
            message("golmud-douyin", "dy-2", "你好", "2026-06-01T08:00:00+08:00"),
        )
        .await,
        Code::FailedPrecondition,
        "ACCOUNT_NOT_ACTIVE",
    );
    // Xining cannot read Golmud's case either.
    assert_error(
        xining
            .get_case(pb::GetCaseRequest {
                name: case_of(&taken).name,
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    // A handler cannot deliver messages at all.
    let mut handler = suite.edu_handler().await;
    assert_error(
        submit(
            &mut handler,
            message(
                "golmud-edu-wechat",
                "wx-9",
                "你好",
                "2026-06-01T08:00:00+08:00",
            ),
        )
        .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    assert_eq!(suite.case_count().await, before);
}

fn pb_role() -> govmedia_kit::auth::Role {
    govmedia_kit::auth::Role::Operator
}
