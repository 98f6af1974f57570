//! The one accept loop of every govmedia port: each service's gRPC port and the gateway's gRPC
//! and HTTP/JSON ports are served here, with the limits of [`ListenSettings`].
//!
//! Why not `tonic::transport::Server` or `axum::serve`: neither closes a connection that never
//! finishes its first request, nor one that sits idle, nor counts connections, and a port that
//! lets a client hold a connection for nothing can be filled by a few hundred such clients.
//! Here every connection
//!
//! * counts against the port's and its peer address's connection limits (one over is closed at
//!   once),
//! * must complete its first request within `header_read_timeout_ms` or is closed (slow or
//!   partial headers, a partial HTTP/2 preface),
//! * is asked to close (GOAWAY) once it has had no call in flight for `idle_timeout_ms`, and is
//!   closed `drain_timeout_ms` later whatever it still holds; the same on shutdown,
//! * advertises `max_concurrent_streams`, and is pinged when quiet so that dead peers go.
//!
//! Each request carries the connection's [`TcpConnectInfo`], so `tonic::Request::remote_addr`
//! works as it does under tonic's server.

use std::{
    collections::HashMap,
    convert::Infallible,
    future::Future,
    net::IpAddr,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use tokio::{net::TcpListener, sync::watch, task::JoinSet, time::Instant};
use tonic::transport::server::TcpConnectInfo;
use tower::ServiceExt as _;

use crate::config::ListenSettings;

/// What a port speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// gRPC: HTTP/2 only (with prior knowledge, as gRPC clients connect).
    Grpc,
    /// HTTP/1.1, and HTTP/2 for clients that ask for it.
    Http,
}

/// The error type of response bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The largest HTTP/1 request head read before the request is refused (431); the gateway's
/// own metadata limit, smaller, is checked after it.
const HTTP1_MAX_HEAD_BYTES: usize = 64 * 1024;

/// Serves `service` on `listener` until `shutdown` resolves; then stops accepting, asks every
/// connection to close, and returns when they have (each within `drain_timeout_ms`).
pub async fn serve<S, B>(
    listener: TcpListener,
    protocol: Protocol,
    service: S,
    settings: &ListenSettings,
    shutdown: impl Future<Output = ()>,
) where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let limits = Arc::new(Limits::from(settings));
    let builder = Arc::new(builder(protocol, settings));
    let admission = Arc::new(Admission::new(settings));
    let (stopping, stop_signal) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut last_refusal_logged: Option<Instant> = None;
    // Told to stop: serve on, new connections included, until `stop_at` (see
    // `ListenSettings::shutdown_delay_ms`), then close the port.
    let delay = Duration::from_millis(settings.shutdown_delay_ms);
    let mut stop_at: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown, if stop_at.is_none() => {
                if delay.is_zero() {
                    break;
                }
                tracing::info!(delay_ms = settings.shutdown_delay_ms, "stopping: serving on until callers have gone elsewhere");
                stop_at = Some(Instant::now() + delay);
            }
            () = sleep_until(stop_at), if stop_at.is_some() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Some(slot) = admission.admit(peer.ip()) else {
                        // Logged at most every ten seconds: a flood must not become a log flood.
                        if last_refusal_logged.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
                            tracing::warn!(%peer, open = admission.open(), "connection limit reached; closing new connections");
                            last_refusal_logged = Some(Instant::now());
                        }
                        drop(stream);
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let local = stream.local_addr().ok();
                    connections.spawn(connection(
                        stream,
                        TcpConnectInfo { local_addr: local, remote_addr: Some(peer) },
                        builder.clone(),
                        service.clone(),
                        limits.clone(),
                        stop_signal.clone(),
                        slot,
                    ));
                }
                Err(error) => {
                    // Out of file descriptors, most likely: pause rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // No new connections from here on: the port is closed before the drain, so that clients
    // go elsewhere at once instead of waiting on a server that will not answer.
    drop(listener);
    let _ = stopping.send(true);
    while connections.join_next().await.is_some() {}
}

/// Sleeps until `at` (never when there is none; the caller guards the branch).
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn builder(protocol: Protocol, settings: &ListenSettings) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    if protocol == Protocol::Grpc {
        builder = builder.http2_only();
    }
    let keepalive = Duration::from_millis(settings.keepalive_interval_ms);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(settings.max_concurrent_streams)
        .keep_alive_interval(keepalive)
        .keep_alive_timeout(keepalive);
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(settings.header_read_timeout_ms))
        .max_buf_size(HTTP1_MAX_HEAD_BYTES);
    builder
}

/// The timings a connection keeps to.
struct Limits {
    first_request: Duration,
    idle: Duration,
    drain: Duration,
}

impl From<&ListenSettings> for Limits {
    fn from(settings: &ListenSettings) -> Self {
        Self {
            first_request: Duration::from_millis(settings.header_read_timeout_ms),
            idle: Duration::from_millis(settings.idle_timeout_ms),
            drain: Duration::from_millis(settings.drain_timeout_ms),
        }
    }
}

/// Serves one connection under `limits` until it ends, is idle too long, or the port stops.
async fn connection<S, B>(
    stream: tokio::net::TcpStream,
    info: TcpConnectInfo,
    builder: Arc<auto::Builder<TokioExecutor>>,
    service: S,
    limits: Arc<Limits>,
    mut stopping: watch::Receiver<bool>,
    _slot: Slot,
) where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let activity = Arc::new(Activity::new());
    let peer = info.remote_addr;
    let service = ConnectionService {
        inner: service,
        activity: activity.clone(),
        info,
    };
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let opened = Instant::now();
    let first_by = opened + limits.first_request;
    let mut check_at = opened + limits.first_request.min(limits.idle);
    let mut closing_by: Option<Instant> = None;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(peer = ?peer, %error, "connection ended with an error");
                }
                return;
            }
            () = tokio::time::sleep_until(check_at), if closing_by.is_none() => {
                let now = Instant::now();
                if activity.requests() == 0 {
                    if now >= first_by {
                        tracing::debug!(peer = ?peer, "closing a connection that sent no complete request in time");
                        return;
                    }
                    check_at = first_by;
                    continue;
                }
                match activity.quiet_for() {
                    Some(quiet) if quiet >= limits.idle => {
                        conn.as_mut().graceful_shutdown();
                        closing_by = Some(now + limits.drain);
                    }
                    Some(quiet) => check_at = now + (limits.idle - quiet),
                    None => check_at = now + limits.idle,
                }
            }
            _ = stopping.wait_for(|stop| *stop), if closing_by.is_none() => {
                conn.as_mut().graceful_shutdown();
                closing_by = Some(Instant::now() + limits.drain);
            }
            () = tokio::time::sleep_until(closing_by.unwrap_or(check_at)), if closing_by.is_some() => {
                tracing::debug!(peer = ?peer, "closing a connection whose calls did not finish within the drain time");
                return;
            }
        }
    }
}

/// The calls of one connection: how many began, how many are in flight, and since when none
/// has been.
struct Activity {
    requests: AtomicU64,
    in_flight: AtomicUsize,
    /// When the last call ended (or the connection opened), in [`process_millis`].
    quiet_since_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            requests: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            quiet_since_ms: AtomicU64::new(process_millis()),
        }
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Acquire)
    }

    /// How long no call has been in flight; `None` while one is.
    fn quiet_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let since = self.quiet_since_ms.load(Ordering::Acquire);
        Some(Duration::from_millis(
            process_millis().saturating_sub(since),
        ))
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.requests.fetch_add(1, Ordering::AcqRel);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }
}

/// One call in flight, until its response body is finished or dropped.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .quiet_since_ms
            .store(process_millis(), Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Milliseconds on a monotonic clock shared by every connection (atomics hold numbers, not
/// instants).
fn process_millis() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    Instant::now().saturating_duration_since(start).as_millis() as u64
}

/// The service of one connection: counts its calls and hands each the connection's addresses.
#[derive(Clone)]
struct ConnectionService<S> {
    inner: S,
    activity: Arc<Activity>,
    info: TcpConnectInfo,
}

impl<S, B> hyper::service::Service<Request<Incoming>> for ConnectionService<S>
where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Tracked<B>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.begin();
        request.extensions_mut().insert(self.info.clone());
        let call = self.inner.clone().oneshot(request);
        Box::pin(async move {
            let response = call.await?;
            Ok(response.map(|body| Tracked {
                body,
                _in_flight: in_flight,
            }))
        })
    }
}

/// A response body that keeps its call counted as in flight until it is finished or dropped.
pub struct Tracked<B> {
    body: B,
    _in_flight: InFlight,
}

impl<B> Body for Tracked<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.body)
            .poll_frame(cx)
            .map(|frame| frame.map(|result| result.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The connections a port holds, in all and per peer address.
struct Admission {
    max: usize,
    max_per_peer: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

impl Admission {
    fn new(settings: &ListenSettings) -> Self {
        Self {
            max: settings.max_connections as usize,
            max_per_peer: settings.max_connections_per_peer as usize,
            open: Mutex::new((0, HashMap::new())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, HashMap<IpAddr, usize>)> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn open(&self) -> usize {
        self.lock().0
    }

    /// A slot for one more connection from `peer`, if the limits allow it.
    fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<Slot> {
        let mut open = self.lock();
        let (total, per_peer) = &mut *open;
        let of_peer = per_peer.entry(peer).or_insert(0);
        if *total >= self.max || *of_peer >= self.max_per_peer {
            if *of_peer == 0 {
                per_peer.remove(&peer);
            }
            return None;
        }
        *of_peer += 1;
        *total += 1;
        Some(Slot {
            admission: self.clone(),
            peer,
        })
    }
}

/// One open connection's place in the limits, given back when it closes.
struct Slot {
    admission: Arc<Admission>,
    peer: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.admission.lock();
        let (total, per_peer) = &mut *open;
        *total -= 1;
        if let Some(count) = per_peer.get_mut(&self.peer) {
            *count -= 1;
            if *count == 0 {
                per_peer.remove(&self.peer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(max: u32, per_peer: u32) -> ListenSettings {
        ListenSettings {
            max_connections: max,
            max_connections_per_peer: per_peer,
            ..ListenSettings::default()
        }
    }

    #[test]
    fn connections_are_counted_in_all_and_per_peer_and_given_back() {
        let admission = Arc::new(Admission::new(&settings(3, 2)));
        let a: IpAddr = "10.0.0.1".parse().expect("address");
        let b: IpAddr = "10.0.0.2".parse().expect("address");
        let first = admission.admit(a).expect("first");
        let _second = admission.admit(a).expect("second");
        assert!(admission.admit(a).is_none(), "a third from one peer");
        let _third = admission.admit(b).expect("another peer");
        assert!(admission.admit(b).is_none(), "the port is full");
        drop(first);
        let _fourth = admission
            .admit(b)
            .expect("a closed connection frees its place");
        assert_eq!(admission.open(), 3);
    }
}
