//! One upstream service as the gateway reaches it: its replicas (resolved and health-checked by
//! the kit's [`Endpoints`]), one multiplexed connection to each ([`Upstream`]), and the choice of
//! replica per call, with the one retry policy of forwarded calls:
//!
//! * a call that never reached a replica (no connection, the connection was closing, the stream
//!   was refused or lay beyond a GOAWAY) is sent to another replica, read or write: the service
//!   never saw it;
//! * a read (`MethodClass::Read`) that failed on the way, before any answer, is sent to another
//!   replica too: reading twice changes nothing;
//! * a write that may have reached its replica is never sent again by the gateway: only its caller
//!   knows whether to repeat it (with the same `request_id`, which makes the repeat harmless).
//!
//! Only a request whose message is already whole can be sent twice, so a call whose request is
//! a single message (every read) is taken whole before it is sent; a client stream goes through
//! as it arrives and is never repeated.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::body::Body;
use bytes::Bytes;
use govmedia_kit::endpoints::{Endpoints, Target};
use http::{Request, Response};
use http_body_util::BodyExt as _;
use tonic::transport::Channel;

use super::upstream::{Received, Upstream, UpstreamError};

/// The most of a single-message request that is held so that it can be sent again: as much as
/// one HTTP/2 stream's default window lets a caller send before anyone reads, so holding it costs
/// no more than the connection already allows. A larger request streams and goes once.
pub const REPLAYABLE_BYTES: usize = 64 * 1024;

/// How many replicas one call tries at most.
const MAX_ATTEMPTS: usize = 3;

/// A request body as it goes out.
#[derive(Debug)]
pub enum Outgoing {
    /// The whole request, which can be sent again.
    Whole(Bytes),
    /// A request still arriving (a client stream, or one too large to hold): sent once.
    Streaming(Body),
}

impl Outgoing {
    /// Takes `body` whole when `single` (the method's request is one message) and it fits in
    /// [`REPLAYABLE_BYTES`]; otherwise it streams, starting with what was read.
    pub async fn take(body: Body, single: bool) -> Result<Outgoing, UpstreamError> {
        if !single {
            return Ok(Outgoing::Streaming(body));
        }
        let mut body = body;
        let mut taken: Vec<Bytes> = Vec::new();
        let mut len = 0;
        loop {
            match body.frame().await {
                None => break,
                Some(Err(error)) => return Err(UpstreamError::Caller(error.to_string())),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        len += data.len();
                        taken.push(data);
                        if len > REPLAYABLE_BYTES {
                            return Ok(Outgoing::Streaming(prepend(taken, body)));
                        }
                    }
                    // A request does not end with trailers; pass it on as it came.
                    Err(frame) => {
                        let rest = Body::new(http_body_util::StreamBody::new(
                            futures::stream::once(async move { Ok::<_, axum::Error>(frame) }),
                        ));
                        return Ok(Outgoing::Streaming(prepend(taken, rest)));
                    }
                },
            }
        }
        Ok(Outgoing::Whole(match taken.len() {
            0 => Bytes::new(),
            1 => taken.swap_remove(0),
            _ => taken.concat().into(),
        }))
    }
}

/// `rest` with `taken` before it.
fn prepend(taken: Vec<Bytes>, rest: Body) -> Body {
    use futures::StreamExt as _;
    let first = futures::stream::iter(
        taken
            .into_iter()
            .map(|data| Ok::<_, axum::Error>(http_body::Frame::data(data))),
    );
    Body::new(http_body_util::StreamBody::new(
        first.chain(http_body_util::BodyStream::new(rest)),
    ))
}

/// Where an upstream is and how calls to it go out.
#[derive(Debug)]
pub struct Origin {
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    endpoints: Endpoints,
    connections: Mutex<HashMap<SocketAddr, Arc<Upstream>>>,
    next: AtomicUsize,
    /// A balanced tonic channel for the calls the gateway makes itself (JSON transcoding).
    channel: Channel,
}

impl Origin {
    /// The upstream at `target`; its replicas are watched from now on (needs a Tokio runtime).
    pub fn new(target: Target, timeout: Duration) -> Result<Origin, String> {
        let authority: http::uri::Authority = target
            .authority()
            .parse()
            .map_err(|error| format!("{error}"))?;
        let endpoints = Endpoints::watch(target);
        let channel = endpoints.channel(timeout);
        Ok(Origin {
            scheme: http::uri::Scheme::HTTP,
            authority,
            endpoints,
            connections: Mutex::new(HashMap::new()),
            next: AtomicUsize::new(0),
            channel,
        })
    }

    /// The channel for calls the gateway makes itself.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Its replicas as last checked.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The upstream's address for a call to `path_and_query`.
    pub fn uri(&self, path_and_query: Option<&http::uri::PathAndQuery>) -> http::Uri {
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(
            path_and_query
                .cloned()
                .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
        );
        // Scheme, authority and path each parsed already: the parts always make a URI.
        http::Uri::from_parts(parts).unwrap_or_default()
    }

    /// Forwards a call (HTTP/2 headers in `head`, an absolute URI) to a serving replica, and to
    /// others as the module's policy allows (`read`: the method only reads). Waits for the
    /// response headers.
    pub async fn send(
        &self,
        head: http::request::Parts,
        body: Outgoing,
        read: bool,
        until: tokio::time::Instant,
    ) -> Result<Response<Received>, UpstreamError> {
        let offered = self.endpoints.resolved().await.offered;
        if offered.is_empty() {
            return Err(UpstreamError::NoAddress(self.authority.to_string()));
        }
        let whole = match body {
            Outgoing::Streaming(body) => {
                let upstream = self.connection(self.pick(&offered, &[]));
                return upstream.send(Request::from_parts(head, body)).await;
            }
            Outgoing::Whole(whole) => whole,
        };
        let mut tried: Vec<SocketAddr> = Vec::with_capacity(MAX_ATTEMPTS);
        loop {
            let address = self.pick(&offered, &tried);
            tried.push(address);
            let mut again = copy_head(&head);
            if tried.len() > 1 {
                // The replica is told the time that is left, not the call's whole deadline.
                let left = until.saturating_duration_since(tokio::time::Instant::now());
                if let Ok(value) =
                    http::HeaderValue::try_from(crate::domain::deadline::format(left))
                {
                    again.headers.insert("grpc-timeout", value);
                }
            }
            let request = Request::from_parts(again, Body::from(whole.clone()));
            let error = match self.connection(address).send(request).await {
                Ok(response) => return Ok(response),
                Err(error) => error,
            };
            let again =
                (read || !error.reached_service()) && tried.len() < MAX_ATTEMPTS.min(offered.len());
            if !again {
                return Err(error);
            }
            tracing::info!(%address, %error, read, "sending the call to another replica");
        }
    }

    /// The next replica in turn that this call has not tried yet.
    fn pick(&self, offered: &[SocketAddr], tried: &[SocketAddr]) -> SocketAddr {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..offered.len())
            .map(|step| offered[(start + step) % offered.len()])
            .find(|address| !tried.contains(address))
            .unwrap_or(offered[start % offered.len()])
    }

    /// The connection to `address`, made on first use; connections to replicas no longer
    /// resolved are dropped.
    fn connection(&self, address: SocketAddr) -> Arc<Upstream> {
        let mut connections = self
            .connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(upstream) = connections.get(&address) {
            return upstream.clone();
        }
        let current = self.endpoints.current().known;
        connections.retain(|known, _| current.contains(known));
        connections
            .entry(address)
            .or_insert_with(|| Arc::new(Upstream::new(address.to_string())))
            .clone()
    }
}

/// The same request head again (extensions are not carried: none is read upstream).
fn copy_head(head: &http::request::Parts) -> http::request::Parts {
    let mut request = Request::new(());
    *request.method_mut() = head.method.clone();
    *request.uri_mut() = head.uri.clone();
    *request.version_mut() = head.version;
    *request.headers_mut() = head.headers.clone();
    request.into_parts().0
}
