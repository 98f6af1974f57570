//! Post intake through the gateway: the client stream, idempotent repeats, the registry's
//! verdict on who may deliver where.

use govmedia_proto::inspection::v1 as pb;
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;

use crate::helpers::*;

backend_test!(
    a_stream_of_posts_passes_the_gateway_and_repeats_change_nothing,
    stream_and_repeat
);

async fn stream_and_repeat(backend: Backend) {
    let suite = Suite::spawn(backend, NOW).await;
    let mut collector = suite.collector().await;
    let mut posts: Vec<pb::IncomingPost> = (0..40)
        .map(|i| {
            post(
                "golmud-wechat",
                &format!("wx-{i}"),
                &format!("2026-11-20T09:{i:02}:00+08:00"),
                &format!("第 {i} 期：我市政务服务事项办理指南"),
            )
        })
        .collect();
    // A repeat inside the stream, and one post for an account of another city.
    posts.push(posts[3].clone());
    posts.push(post(
        "xining-edu-weibo",
        "wb-1",
        "2026-11-20T09:00:00+08:00",
        "西宁教育",
    ));
    let response = stream(&mut collector, posts.clone()).await;
    assert_eq!((response.accepted, response.refused), (41, 1));
    assert!(
        response.results[40]
            .response
            .as_ref()
            .expect("taken")
            .replayed
    );
    assert_eq!(
        response.results[41].error_code,
        Code::PermissionDenied as i32,
        "{:?}",
        response.results[41]
    );
    assert_eq!(suite.post_count().await, 40);

    // The whole stream again: every post answered as a repeat, nothing stored.
    let again = stream(&mut collector, posts[..40].to_vec()).await;
    assert_eq!(again.accepted, 40);
    assert!(
        again
            .results
            .iter()
            .all(|r| r.response.as_ref().is_some_and(|p| p.replayed))
    );
    assert_eq!(suite.post_count().await, 40);

    // Another post under a platform id already taken is refused.
    let mut other = posts[0].clone();
    other.text = "另一条内容".into();
    let refused = collector
        .submit_post(pb::SubmitPostRequest { post: Some(other) })
        .await;
    assert_error(refused, Code::InvalidArgument, "REQUEST_ID_REUSED");

    // Listing pages through all 40, newest published first.
    let mut supervisor = suite.supervisor().await;
    let (mut seen, mut token) = (Vec::new(), String::new());
    loop {
        let page = supervisor
            .list_posts(pb::ListPostsRequest {
                account: "accounts/golmud-wechat".into(),
                page_size: 15,
                page_token: token,
            })
            .await
            .expect("list")
            .into_inner();
        seen.extend(page.posts.into_iter().map(|p| p.platform_post_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), 40);
    assert_eq!(seen[0], "wx-39");
    let unique: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 40);
}

backend_test!(
    a_stream_past_its_limit_is_cut_with_the_posts_before_taken,
    stream_limit
);

async fn stream_limit(backend: Backend) {
    let suite = Suite::spawn(backend, NOW).await;
    let mut collector = suite.collector().await;
    let posts: Vec<pb::SubmitPostsRequest> = (0..1001)
        .map(|i| pb::SubmitPostsRequest {
            post: Some(post(
                "golmud-wechat",
                &format!("wx-{i}"),
                "2026-11-20T09:00:00+08:00",
                "政务信息",
            )),
        })
        .collect();
    let refused = collector.submit_posts(tokio_stream::iter(posts)).await;
    assert_error(refused, Code::ResourceExhausted, "MESSAGE_TOO_LARGE");
    assert_eq!(suite.post_count().await, 1000);
}
