//! The HTTP adapter: each record is POSTed as one JSON object to a configured endpoint.
//!
//! The contract it expects of the receiving side (the national system, or the front-end
//! processor 前置机 that relays to it):
//! - the body is the record as JSON ([`Record::to_json`]); the `Idempotency-Key` header holds
//!   the record id, and the same record may arrive again after a lost answer;
//! - 200 or 201: taken and confirmed; 202: taken, confirmation later. A JSON body with a string
//!   `receipt` gives the receipt;
//! - 409: the record id was taken before (a replay after a lost answer): confirmed;
//! - 408, 425, 429 and 5xx: not taken now, try again;
//! - 3xx, 401, 403, 404 and 407: the endpoint, the proxy or the credentials are wrong, not the
//!   record: try again (and fix the configuration; the error says which status came back);
//! - any other status: refused; a JSON body with a string `message` says why.
//!
//! Plain HTTP only: government networks reach the national system through a front-end
//! processor or an egress proxy that holds the certificates, so the service needs no TLS stack
//! of its own for this.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};

use super::{DeliveryFuture, NationalSystem, Record};
use crate::domain::report::Delivery;

/// Largest answer body read (receipts and messages are short).
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Longest receipt or message kept from an answer.
const MAX_TEXT_CHARS: usize = 200;

/// Posts records to one endpoint.
#[derive(Clone, Debug)]
pub struct HttpAdapter {
    endpoint: Uri,
    timeout: Duration,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl HttpAdapter {
    /// An adapter posting to `endpoint` (an `http://` URL; the configuration checks it), giving
    /// up on an attempt after `timeout`.
    pub fn new(endpoint: Uri, timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        Self {
            endpoint,
            timeout,
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    async fn post(&self, record: &Record) -> Delivery {
        let request = Request::post(self.endpoint.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", record.id())
            .body(Full::new(Bytes::from(record.to_json().to_string())));
        let request = match request {
            Ok(request) => request,
            // Only an id that is not a valid header value gets here; ids are [a-z0-9-].
            Err(error) => return Delivery::Rejected(format!("cannot build the request: {error}")),
        };
        let answer = tokio::time::timeout(self.timeout, async {
            let response = self.client.request(request).await?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map(|collected| collected.to_bytes())
                .unwrap_or_default();
            Ok::<_, hyper_util::client::legacy::Error>((status, body))
        })
        .await;
        match answer {
            Err(_) => {
                Delivery::Unreachable(format!("no answer within {} ms", self.timeout.as_millis()))
            }
            Ok(Err(error)) => Delivery::Unreachable(format!("cannot reach the endpoint: {error}")),
            Ok(Ok((status, body))) => read_answer(status, &body),
        }
    }
}

impl NationalSystem for HttpAdapter {
    fn deliver<'a>(&'a self, record: &'a Record) -> DeliveryFuture<'a> {
        Box::pin(self.post(record))
    }
}

/// What an answer means (see the module documentation).
fn read_answer(status: StatusCode, body: &[u8]) -> Delivery {
    let field = |name: &str| -> String {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|json| json.get(name)?.as_str().map(str::to_owned))
            .map(|text| text.chars().take(MAX_TEXT_CHARS).collect())
            .unwrap_or_default()
    };
    match status.as_u16() {
        200 | 201 | 409 => Delivery::Confirmed {
            receipt: field("receipt"),
        },
        202 => Delivery::Accepted {
            receipt: field("receipt"),
        },
        408 | 425 | 429 | 500..=599 => {
            Delivery::Unreachable(format!("the endpoint answered {status}"))
        }
        300..=399 | 401 | 403 | 404 | 407 => Delivery::Unreachable(format!(
            "the endpoint answered {status}: check filing.national.endpoint and the proxy"
        )),
        _ => {
            let message = field("message");
            Delivery::Rejected(if message.is_empty() {
                format!("the endpoint refused the record ({status})")
            } else {
                format!("the endpoint refused the record ({status}): {message}")
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_by_status() {
        assert_eq!(
            read_answer(StatusCode::OK, br#"{"receipt":"GB-2026-0001"}"#),
            Delivery::Confirmed {
                receipt: "GB-2026-0001".into()
            }
        );
        assert_eq!(
            read_answer(StatusCode::ACCEPTED, b"not json"),
            Delivery::Accepted {
                receipt: String::new()
            }
        );
        assert!(matches!(
            read_answer(StatusCode::SERVICE_UNAVAILABLE, b""),
            Delivery::Unreachable(_)
        ));
        assert!(matches!(
            read_answer(StatusCode::TOO_MANY_REQUESTS, b""),
            Delivery::Unreachable(_)
        ));
        assert!(matches!(
            read_answer(StatusCode::NOT_FOUND, b""),
            Delivery::Unreachable(_)
        ));
        assert_eq!(
            read_answer(StatusCode::CONFLICT, br#"{"receipt":"GB-1"}"#),
            Delivery::Confirmed {
                receipt: "GB-1".into()
            }
        );
        assert_eq!(
            read_answer(
                StatusCode::UNPROCESSABLE_ENTITY,
                r#"{"message":"统一社会信用代码不存在"}"#.as_bytes()
            ),
            Delivery::Rejected(
                "the endpoint refused the record (422 Unprocessable Entity): 统一社会信用代码不存在"
                    .into()
            )
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        drop(listener);
        let adapter = HttpAdapter::new(
            format!("http://127.0.0.1:{port}/reports")
                .parse()
                .expect("uri"),
            Duration::from_secs(2),
        );
        let record = Record {
            values: std::array::from_fn(|_| "x".to_owned()),
        };
        assert!(matches!(
            adapter.post(&record).await,
            Delivery::Unreachable(_)
        ));
    }
}
