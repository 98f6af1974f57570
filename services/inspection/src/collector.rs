//! The RSS/Atom collector: one replica at a time (lease `inspection-feeds`) polls the feeds that
//! are due, with a conditional GET (If-None-Match / If-Modified-Since from the last full
//! answer), a time limit on the whole poll and a size limit on the document, follows up to three
//! redirects, takes every entry as a post of the feed's account through the same intake as
//! SubmitPost (idempotent on the entry's id), and schedules the next poll: the interval after a
//! success or a 304, twice the last wait after each failure up to `max_backoff_ms`.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use futures::StreamExt as _;
use govmedia_kit::{
    CancellationToken,
    lease::{self, Leases},
    worker,
};
use govmedia_proto::inspection::v1 as pb;
use http::{HeaderValue, StatusCode, header};
use http_body_util::{BodyExt as _, Empty, Limited};
use tokio::sync::Notify;

use crate::{
    config::FeedConfig,
    domain::feed::{self, Feed},
    error::InspectionError,
    grpc::{InspectionApi, convert},
    store,
    web::{self, HttpClient},
};

/// The collector.
#[derive(Clone, Debug)]
pub struct Collector {
    api: InspectionApi,
    config: FeedConfig,
    client: HttpClient,
    wake: Arc<Notify>,
}

/// What a poll got.
enum Fetched {
    /// 304: nothing new.
    Unchanged,
    /// A document with its validators.
    Document {
        body: Bytes,
        etag: String,
        last_modified: String,
    },
}

impl Collector {
    /// A collector taking posts through `api`, woken by `wake` when a feed is added.
    pub fn new(api: InspectionApi, config: FeedConfig, wake: Arc<Notify>) -> Self {
        Self {
            api,
            config,
            client: web::client(),
            wake,
        }
    }

    /// Polls on whichever replica holds the lease, until `shutdown`.
    pub async fn run(self, leases: Leases, owner: String, shutdown: CancellationToken) {
        lease::lead(
            leases,
            "inspection-feeds",
            &owner,
            lease::TTL,
            shutdown,
            |_, lost| {
                let collector = self.clone();
                async move {
                    let interval = Duration::from_millis(collector.config.poll_ms);
                    let wake = collector.wake.clone();
                    worker::repeat("polling feeds", interval, Some(&wake), lost, || {
                        collector.pass()
                    })
                    .await;
                }
            },
        )
        .await;
    }

    /// Polls every feed due now; returns how many were polled.
    pub async fn pass(&self) -> Result<usize, InspectionError> {
        let now = self.api.writer().clock().now();
        let due = store::feeds::due(self.api.conn(), now, 100).await?;
        let count = due.len();
        let polls: Vec<_> = due
            .into_iter()
            .map(|feed| {
                let collector = self.clone();
                async move { collector.poll(feed).await }
            })
            .collect();
        let results: Vec<Result<(), InspectionError>> = futures::stream::iter(polls)
            .buffer_unordered(self.config.concurrency as usize)
            .collect()
            .await;
        for result in results {
            result?;
        }
        Ok(count)
    }

    async fn poll(&self, mut feed: Feed) -> Result<(), InspectionError> {
        let outcome = tokio::time::timeout(
            Duration::from_millis(self.config.timeout_ms),
            self.fetch(&feed),
        )
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no whole answer within {} ms",
                self.config.timeout_ms
            ))
        });
        let result = match outcome {
            Ok(Fetched::Unchanged) => Ok(()),
            Ok(Fetched::Document {
                body,
                etag,
                last_modified,
            }) => match feed::parse(&body) {
                Ok(entries) => {
                    feed.posts_taken += self.take(&feed, entries).await?;
                    feed.etag = etag;
                    feed.last_modified = last_modified;
                    Ok(())
                }
                Err(why) => Err(why),
            },
            Err(why) => Err(why),
        };
        let now = self.api.writer().clock().now();
        let interval = chrono::Duration::milliseconds(self.config.interval_ms as i64);
        let max = chrono::Duration::milliseconds(self.config.max_backoff_ms as i64);
        match result {
            Ok(()) => {
                feed.failures = 0;
                feed.last_error.clear();
            }
            Err(why) => {
                feed.failures = feed.failures.saturating_add(1);
                tracing::warn!(feed = %feed.id, failures = feed.failures, error = %why, "polling a feed failed");
                feed.last_error = why;
            }
        }
        feed.last_polled = Some(now);
        feed.next_poll = now + feed::wait(interval, feed.failures, max);
        store::feeds::record_poll(self.api.conn(), &feed).await?;
        Ok(())
    }

    /// Fetches the feed, conditionally, following up to three redirects.
    async fn fetch(&self, feed: &Feed) -> Result<Fetched, String> {
        let mut url = feed.url.clone();
        for _ in 0..4 {
            let mut request = http::Request::get(&url)
                .header(header::USER_AGENT, web::USER_AGENT)
                .header(header::ACCEPT, "application/rss+xml, application/atom+xml, application/xml, text/xml, application/feed+json;q=0.9, */*;q=0.1");
            if !feed.etag.is_empty() {
                request = request.header(header::IF_NONE_MATCH, &feed.etag);
            }
            if !feed.last_modified.is_empty() {
                request = request.header(header::IF_MODIFIED_SINCE, &feed.last_modified);
            }
            let request = request
                .body(Empty::<Bytes>::new())
                .map_err(|error| format!("the URL cannot be requested: {error}"))?;
            let response = self
                .client
                .request(request)
                .await
                .map_err(|error| format!("cannot fetch: {error}"))?;
            let status = response.status();
            if status == StatusCode::NOT_MODIFIED {
                return Ok(Fetched::Unchanged);
            }
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .ok_or_else(|| format!("HTTP {status} without a Location"))?;
                url = web::resolve(&url, location)?;
                continue;
            }
            if !status.is_success() {
                return Err(format!("HTTP {status}"));
            }
            let text = |value: Option<&HeaderValue>| {
                value
                    .and_then(|value| value.to_str().ok())
                    .map(|value| value.chars().take(400).collect::<String>())
                    .unwrap_or_default()
            };
            let etag = text(response.headers().get(header::ETAG));
            let last_modified = text(response.headers().get(header::LAST_MODIFIED));
            let limit = usize::try_from(self.config.max_bytes).unwrap_or(usize::MAX);
            let body = Limited::new(response.into_body(), limit)
                .collect()
                .await
                .map_err(|error| {
                    if error.is::<http_body_util::LengthLimitError>() {
                        format!("the document is larger than {limit} bytes")
                    } else {
                        format!("the document broke off: {error}")
                    }
                })?
                .to_bytes();
            return Ok(Fetched::Document {
                body,
                etag,
                last_modified,
            });
        }
        Err("more than three redirects".to_owned())
    }

    /// Takes `entries` as posts of the feed's account; returns how many were new.
    async fn take(&self, feed: &Feed, entries: Vec<feed::Entry>) -> Result<i64, InspectionError> {
        let system = self.api.own_principal();
        let now = self.api.writer().clock().now();
        let mut new = 0;
        for entry in entries {
            // A feed's future date is the collector's now: posts are observations.
            let published = entry.published.filter(|at| *at <= now).unwrap_or(now);
            let post = pb::IncomingPost {
                account: convert::account_name(&feed.account),
                platform_post_id: entry.platform_post_id,
                published_time: Some(govmedia_kit::clock::to_proto(published)),
                title: entry.title.chars().take(500).collect(),
                text: entry.text.chars().take(100_000).collect(),
                links: entry
                    .links
                    .into_iter()
                    .filter(|link| link.len() <= 2048 && !link.contains(char::is_whitespace))
                    .collect(),
                media_kind: pb::MediaKind::Text as i32,
                original: true,
                ..Default::default()
            };
            match self.api.take_post(&system, post).await {
                Ok(taken) if !taken.replayed => new += 1,
                Ok(_) => {}
                Err(InspectionError::Store(error)) => return Err(error.into()),
                Err(error) => {
                    tracing::info!(feed = %feed.id, error = %error, "a feed entry was not taken");
                }
            }
        }
        Ok(new)
    }
}
