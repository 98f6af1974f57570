//! The RSS/Atom collector against a local HTTP server: entries become posts, a second poll is
//! conditional, and malformed, huge and endless feeds fail and back off without stopping it.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use govmedia_proto::inspection::v1 as pb;
use govmedia_test_support::{Backend, backend_test, eventually};
use tonic::Code;

use crate::helpers::*;

const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>格尔木发布</title><link>https://www.golmud.gov.cn/</link>
<item><title>冬季供暖全面启动</title><link>https://www.golmud.gov.cn/a/1.html</link>
<guid>https://www.golmud.gov.cn/a/1.html</guid><pubDate>Sat, 28 Nov 2026 09:00:00 +0800</pubDate>
<description><![CDATA[<p>我市冬季供暖工作<b>全面启动</b>。</p>]]></description></item>
<item><title>专题学习会</title><link>https://www.golmud.gov.cn/a/2.html</link>
<guid>https://www.golmud.gov.cn/a/2.html</guid><pubDate>Sun, 29 Nov 2026 09:00:00 +0800</pubDate>
<description>深入学习贯彻以习近平总书记为核心的党中央决策部署。</description></item>
</channel></rss>"#;

/// What the site saw: (path, If-None-Match) of each request.
#[derive(Clone, Default)]
struct Site(Arc<Mutex<Vec<(String, String)>>>);

impl Site {
    fn saw(&self, path: &str, headers: &HeaderMap) {
        let tag = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        self.0.lock().expect("lock").push((path.to_owned(), tag));
    }

    fn requests(&self, path: &str) -> Vec<String> {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, tag)| tag.clone())
            .collect()
    }
}

async fn feed(State(site): State<Site>, headers: HeaderMap) -> Response {
    site.saw("/feed.xml", &headers);
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v == "\"v1\"")
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    (
        [
            (header::ETAG, "\"v1\""),
            (header::CONTENT_TYPE, "application/rss+xml"),
        ],
        RSS,
    )
        .into_response()
}

async fn broken(State(site): State<Site>, headers: HeaderMap) -> Response {
    site.saw("/broken.xml", &headers);
    "<html><body>维护中</body></html>".into_response()
}

async fn huge(State(site): State<Site>, headers: HeaderMap) -> Response {
    site.saw("/huge.xml", &headers);
    format!("<rss><channel>{}</channel></rss>", "x".repeat(200_000)).into_response()
}

async fn endless(State(site): State<Site>, headers: HeaderMap) -> Response {
    site.saw("/endless.xml", &headers);
    let chunks = futures::stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((
            Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"<item>")),
            (),
        ))
    });
    Body::from_stream(chunks).into_response()
}

async fn serve_site() -> (SocketAddr, Site) {
    let site = Site::default();
    let app = Router::new()
        .route("/feed.xml", get(feed))
        .route("/broken.xml", get(broken))
        .route("/huge.xml", get(huge))
        .route("/endless.xml", get(endless))
        .with_state(site.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("site");
    });
    (addr, site)
}

async fn add(
    client: &mut Inspection,
    id: &str,
    account: &str,
    url: &str,
) -> Result<pb::Feed, tonic::Status> {
    client
        .add_feed(pb::AddFeedRequest {
            feed_id: id.into(),
            feed: Some(pb::Feed {
                account: format!("accounts/{account}"),
                url: url.into(),
                ..Default::default()
            }),
            request_id: format!("feed-{id}"),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// The feed `id` once `ready` holds for it.
async fn feed_when(
    client: &Inspection,
    id: &str,
    what: &str,
    ready: impl Fn(&pb::Feed) -> bool + Clone,
) -> pb::Feed {
    eventually(what, Duration::from_secs(30), || {
        let (mut client, ready) = (client.clone(), ready.clone());
        let name = format!("feeds/{id}");
        async move {
            // Asked through the gateway, whose read budget a tight loop would spend.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let feeds = match client.list_feeds(pb::ListFeedsRequest::default()).await {
                Ok(response) => response.into_inner().feeds,
                Err(status) if status.code() == Code::ResourceExhausted => return None,
                Err(status) => panic!("listing feeds: {status:?}"),
            };
            feeds.into_iter().find(|f| f.name == name && ready(f))
        }
    })
    .await
}

backend_test!(feeds_are_polled_conditionally_and_failures_back_off, feeds);

async fn feeds(backend: Backend) {
    let suite = Suite::spawn(backend, NOW).await;
    let (site_addr, site) = serve_site().await;
    let mut supervisor = suite.supervisor().await;
    let url = |path: &str| format!("http://{site_addr}{path}");

    add(
        &mut supervisor,
        "golmud-web",
        "golmud-wechat",
        &url("/feed.xml"),
    )
    .await
    .expect("feed added");
    let polled = feed_when(&supervisor, "golmud-web", "the first poll", |f| {
        f.last_polled_time.is_some()
    })
    .await;
    assert_eq!((polled.posts_taken, polled.failures), (2, 0), "{polled:?}");
    assert_eq!(polled.etag, "\"v1\"");
    let posts = supervisor
        .list_posts(pb::ListPostsRequest {
            account: "accounts/golmud-wechat".into(),
            ..Default::default()
        })
        .await
        .expect("posts")
        .into_inner()
        .posts;
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].title, "专题学习会");
    assert_eq!(posts[1].text, "我市冬季供暖工作 全面启动 。");
    assert_eq!(
        posts[1].platform_post_id,
        "https://www.golmud.gov.cn/a/1.html"
    );
    // The posts are checked like any other: the wording error is found.
    let national = check(&mut supervisor, "golmud-wechat", "").await;
    assert_eq!(
        item(&national, "serious-wording-error").status,
        pb::ItemStatus::Triggered as i32
    );

    // Fifteen minutes on, the feed is asked for again, conditionally: nothing new.
    suite.time.advance(chrono::Duration::minutes(16));
    eventually("a conditional poll", Duration::from_secs(30), || {
        let site = site.clone();
        async move {
            site.requests("/feed.xml")
                .iter()
                .any(|tag| tag == "\"v1\"")
                .then_some(())
        }
    })
    .await;
    let again = feed_when(&supervisor, "golmud-web", "the second poll recorded", |f| {
        f.last_polled_time != polled.last_polled_time
    })
    .await;
    assert_eq!((again.posts_taken, again.failures), (2, 0));

    // Failing feeds back off, each with its reason; the good one is not held up.
    for (id, path) in [
        ("broken", "/broken.xml"),
        ("huge", "/huge.xml"),
        ("endless", "/endless.xml"),
    ] {
        add(&mut supervisor, id, "golmud-edu-wechat", &url(path))
            .await
            .expect("feed added");
    }
    let broken = feed_when(&supervisor, "broken", "the broken feed to fail", |f| {
        f.failures >= 1
    })
    .await;
    assert!(broken.last_error.contains("not a feed"), "{broken:?}");
    let huge = feed_when(&supervisor, "huge", "the huge feed to fail", |f| {
        f.failures >= 1
    })
    .await;
    assert!(huge.last_error.contains("larger than"), "{huge:?}");
    let endless = feed_when(&supervisor, "endless", "the endless feed to fail", |f| {
        f.failures >= 1
    })
    .await;
    assert!(
        endless.last_error.contains("no whole answer"),
        "{endless:?}"
    );
    // One failure: the next poll waits twice the interval.
    let waited = |f: &pb::Feed| {
        let polled = govmedia_kit::clock::from_proto(f.last_polled_time.as_ref().expect("polled"))
            .expect("time");
        let next = govmedia_kit::clock::from_proto(f.next_poll_time.as_ref().expect("next"))
            .expect("time");
        next - polled
    };
    assert_eq!(waited(&broken), chrono::Duration::minutes(30));
    suite.time.advance(chrono::Duration::minutes(31));
    let twice = feed_when(&supervisor, "broken", "a second failure", |f| {
        f.failures >= 2
    })
    .await;
    assert_eq!(waited(&twice), chrono::Duration::minutes(60));
    assert_eq!(suite.post_count().await, 2);

    // Bad input and outsiders.
    assert_invalid(
        add(
            &mut supervisor,
            "ftp",
            "golmud-wechat",
            "ftp://example.com/f.xml",
        )
        .await,
        "feed.url",
    );
    let mut xining = suite.xining_supervisor().await;
    let outside = add(
        &mut xining,
        "xining-try",
        "golmud-wechat",
        &url("/feed.xml"),
    )
    .await;
    assert_eq!(outside.expect_err("outside").code(), Code::PermissionDenied);
    let hidden = xining
        .delete_feed(pb::DeleteFeedRequest {
            name: "feeds/golmud-web".into(),
        })
        .await;
    assert_error(hidden, Code::PermissionDenied, "OUTSIDE_JURISDICTION");
    let deleted = supervisor
        .delete_feed(pb::DeleteFeedRequest {
            name: "feeds/golmud-web".into(),
        })
        .await
        .expect("deleted")
        .into_inner();
    assert_eq!(deleted.posts_taken, 2);
}
