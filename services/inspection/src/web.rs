//! The service's HTTP client (hyper over rustls with ring and the Mozilla roots), shared by the
//! feed collector and the probes of service links. govmedia holds no platform's credentials:
//! both only read public pages.

use std::time::Duration;

use bytes::Bytes;
use http::{StatusCode, header};
use http_body_util::{BodyExt as _, Empty};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};

/// The client type.
pub type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// The User-Agent of every request.
pub const USER_AGENT: &str = "govmedia-inspection/1";

/// A client for http and https URLs.
pub fn client() -> HttpClient {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(https)
}

/// `location` resolved against `base` (absolute, or a path on the same origin).
pub fn resolve(base: &str, location: &str) -> Result<String, String> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return Ok(location.to_owned());
    }
    let uri: http::Uri = base.parse().map_err(|_| "a bad redirect".to_owned())?;
    match (uri.scheme_str(), uri.authority(), location.starts_with('/')) {
        (Some(scheme), Some(authority), true) => Ok(format!("{scheme}://{authority}{location}")),
        _ => Err(format!("a redirect to {location:?}, which is not absolute")),
    }
}

/// Whether the page at `url` answers within `timeout`, following up to three redirects: its
/// final status, or why it did not answer. The body is read (at most 64 KiB) and dropped.
pub async fn probe(
    client: &HttpClient,
    url: &str,
    timeout: Duration,
) -> Result<StatusCode, String> {
    let attempt = async {
        let mut url = url.to_owned();
        for _ in 0..4 {
            let request = http::Request::get(&url)
                .header(header::USER_AGENT, USER_AGENT)
                .body(Empty::<Bytes>::new())
                .map_err(|error| format!("the URL cannot be requested: {error}"))?;
            let response = client
                .request(request)
                .await
                .map_err(|error| format!("no answer: {error}"))?;
            let status = response.status();
            if status.is_redirection()
                && let Some(location) = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|value| value.to_str().ok())
            {
                url = resolve(&url, location)?;
                continue;
            }
            let _ = http_body_util::Limited::new(response.into_body(), 64 * 1024)
                .collect()
                .await;
            return Ok(status);
        }
        Err("more than three redirects".to_owned())
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} ms", timeout.as_millis())))
}
