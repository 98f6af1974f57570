//! The HTTP/2 client forwarded calls go out on: one multiplexed connection per upstream service,
//! driven with `h2` itself.
//!
//! A general HTTP client (hyper's) sends a request's headers as soon as the stream opens and its
//! body once the stream has been given send capacity, which comes only after the headers went
//! out: a unary call crossed to the service in two writes, waking the service twice, and each
//! call cost two spawned tasks. Here the message the caller has already sent is queued with the
//! headers, so both leave in one write, and a call's response is awaited in the caller's own
//! task; only a request body still arriving gets a task that feeds it on as flow control allows.
//!
//! A connection is made on first use (within [`CONNECT_TIMEOUT`]), kept alive with pings (one
//! unanswered for [`PING_TIMEOUT`] ends it) and replaced when it ends or the service sends
//! GOAWAY; a call that could not be started on a connection that had just ended is started once
//! more on a new one (nothing of it reached the service).

use std::{
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Waker},
    time::Duration,
};

use axum::body::Body;
use bytes::Bytes;
use h2::{
    RecvStream, SendStream,
    client::{self, SendRequest},
};
use http::{Request, Response, header};
use http_body::{Body as _, Frame};
use http_body_util::BodyExt as _;
use tokio::net::TcpStream;

/// How long connecting to a service may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How often an upstream connection is pinged.
pub const PING_EVERY: Duration = Duration::from_secs(30);
/// How long a ping may go unanswered before the connection is given up.
pub const PING_TIMEOUT: Duration = Duration::from_secs(20);

/// The flow-control window of each forwarded call's response stream. A call whose caller does
/// not read holds at most this much of its connection's window (the relay reads the rest).
pub const STREAM_WINDOW: u32 = 512 * 1024;

/// The flow-control window of a whole upstream connection: 2048 stalled calls' worth, so that
/// callers who do not read cannot together fill it before their calls are cut.
pub const CONNECTION_WINDOW: u32 = 1024 * 1024 * 1024;

/// What of a request body is queued with its headers at most; the rest follows as the
/// service's window allows.
const QUEUED_WITH_HEADERS: usize = 64 * 1024;

/// Headers that belong to one HTTP connection and must not be forwarded on another (HTTP/2
/// refuses them).
const CONNECTION_HEADERS: [header::HeaderName; 5] = [
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::HeaderName::from_static("keep-alive"),
    header::HeaderName::from_static("proxy-connection"),
];

/// Why a call could not be forwarded (the service never answered it).
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No connection could be made.
    #[error("cannot connect to {0}: {1}")]
    Connect(String, std::io::Error),
    /// Connecting took longer than [`CONNECT_TIMEOUT`].
    #[error("connecting to {0} timed out")]
    ConnectTimeout(String),
    /// The HTTP/2 connection failed or refused the call.
    #[error("{0}")]
    Http2(#[from] h2::Error),
    /// The upstream's name resolves to no address.
    #[error("{0} resolves to no address")]
    NoAddress(String),
    /// The caller's request broke off before it was whole.
    #[error("the request broke off: {0}")]
    Caller(String),
}

impl UpstreamError {
    /// Whether the service may have seen the call. It has not when no connection could be
    /// made, when the stream was refused (REFUSED_STREAM: the server took none of it), or when it
    /// was beyond the last stream a GOAWAY said the server would process.
    pub fn reached_service(&self) -> bool {
        match self {
            UpstreamError::Connect(..)
            | UpstreamError::ConnectTimeout(_)
            | UpstreamError::NoAddress(_)
            | UpstreamError::Caller(_) => false,
            UpstreamError::Http2(error) => {
                !(error.reason() == Some(h2::Reason::REFUSED_STREAM)
                    || (error.is_go_away() && error.is_remote()))
            }
        }
    }
}

/// One upstream service's connection, made when first needed and replaced when it ends.
#[derive(Debug)]
pub struct Upstream {
    /// `host:port`.
    address: String,
    live: Mutex<Option<Live>>,
    /// Held while connecting, so that callers arriving meanwhile wait for the one connection.
    connecting: tokio::sync::Mutex<()>,
}

#[derive(Clone, Debug)]
struct Live {
    send: SendRequest<Bytes>,
    /// Set when the connection ended.
    ended: Arc<AtomicBool>,
}

impl Upstream {
    /// A client for the service at `address` (`host:port`); connects on first use.
    pub fn new(address: String) -> Upstream {
        Upstream {
            address,
            live: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
        }
    }

    /// Sends `request` (an absolute URI, HTTP/2 headers) and waits for the response headers.
    /// Dropping the returned future, or the response body, resets the call's stream.
    pub async fn send(&self, request: Request<Body>) -> Result<Response<Received>, UpstreamError> {
        let (mut parts, body) = request.into_parts();
        for name in &CONNECTION_HEADERS {
            parts.headers.remove(name);
        }
        let head = Request::from_parts(parts, ());
        let mut retried = false;
        let (mut send, live) = loop {
            let live = self.connection().await?;
            match live.send.clone().ready().await {
                Ok(send) => break (send, live),
                // The connection ended or was told to go away before this call began on it:
                // nothing was sent, so it starts once more on a new connection.
                Err(_) if !retried => {
                    self.forget(&live);
                    retried = true;
                }
                Err(error) => {
                    self.forget(&live);
                    return Err(error.into());
                }
            }
        };
        let (response, stream) =
            send.send_request(head, body.is_end_stream())
                .inspect_err(|error| {
                    if error.is_go_away() || error.is_io() {
                        self.forget(&live);
                    }
                })?;
        // While this lives (the call is waited for, then its response read), the caller is
        // there; when it goes, a request body still being fed is cut off with CANCEL rather
        // than ended as if complete.
        let (caller, gone) = tokio::sync::oneshot::channel::<std::convert::Infallible>();
        if !body.is_end_stream() {
            feed(body, stream, gone);
        }
        let response = response.await?;
        Ok(response.map(|stream| Received::new(stream, caller)))
    }

    /// The live connection, made now if there is none.
    async fn connection(&self) -> Result<Live, UpstreamError> {
        if let Some(live) = self.current() {
            return Ok(live);
        }
        let _connecting = self.connecting.lock().await;
        if let Some(live) = self.current() {
            return Ok(live);
        }
        let live = self.connect().await?;
        *lock(&self.live) = Some(live.clone());
        Ok(live)
    }

    fn current(&self) -> Option<Live> {
        lock(&self.live)
            .as_ref()
            .filter(|live| !live.ended.load(Ordering::Acquire))
            .cloned()
    }

    /// Stops using `live` (if it is still the current connection).
    fn forget(&self, live: &Live) {
        live.ended.store(true, Ordering::Release);
        let mut current = lock(&self.live);
        if current
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(&current.ended, &live.ended))
        {
            *current = None;
        }
    }

    async fn connect(&self) -> Result<Live, UpstreamError> {
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&self.address))
            .await
            .map_err(|_| UpstreamError::ConnectTimeout(self.address.clone()))?
            .map_err(|error| UpstreamError::Connect(self.address.clone(), error))?;
        // A forwarded call is a few small frames each way: no Nagle delay.
        tcp.set_nodelay(true)
            .map_err(|error| UpstreamError::Connect(self.address.clone(), error))?;
        let (send, connection) = tokio::time::timeout(
            CONNECT_TIMEOUT,
            client::Builder::new()
                .enable_push(false)
                .initial_window_size(STREAM_WINDOW)
                .initial_connection_window_size(CONNECTION_WINDOW)
                .handshake::<_, Bytes>(tcp),
        )
        .await
        .map_err(|_| UpstreamError::ConnectTimeout(self.address.clone()))??;
        let ended = Arc::new(AtomicBool::new(false));
        tokio::spawn(drive(connection, ended.clone(), self.address.clone()));
        Ok(Live { send, ended })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs one connection until it ends or stops answering pings.
async fn drive(
    mut connection: client::Connection<TcpStream, Bytes>,
    ended: Arc<AtomicBool>,
    address: String,
) {
    let pings = connection.ping_pong();
    let keepalive = async move {
        let Some(mut pings) = pings else {
            return std::future::pending().await;
        };
        loop {
            tokio::time::sleep(PING_EVERY).await;
            match tokio::time::timeout(PING_TIMEOUT, pings.ping(h2::Ping::opaque())).await {
                Ok(Ok(_)) => {}
                Ok(Err(_)) | Err(_) => return,
            }
        }
    };
    tokio::select! {
        result = &mut connection => {
            if let Err(error) = result {
                tracing::debug!(%address, %error, "upstream connection ended");
            }
        }
        () = keepalive => {
            tracing::warn!(%address, "upstream connection does not answer pings; closing it");
        }
    }
    ended.store(true, Ordering::Release);
}

/// Passes a request body on to its upstream stream: what has already arrived is queued with
/// the headers; the rest, if any, follows in a task of its own, as flow control allows.
fn feed(
    mut body: Body,
    mut stream: SendStream<Bytes>,
    mut gone: tokio::sync::oneshot::Receiver<std::convert::Infallible>,
) {
    let mut arrived = Context::from_waker(Waker::noop());
    let mut queued = 0;
    while queued < QUEUED_WITH_HEADERS {
        match Pin::new(&mut body).poll_frame(&mut arrived) {
            Poll::Pending => break,
            Poll::Ready(frame) => match pass_on(frame, &body, &mut stream) {
                Passed::Data(len) => queued += len,
                Passed::Done => return,
            },
        }
    }
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                biased;
                // The caller went (its call was cut, ran out of time or was dropped): what
                // came of the request must not reach the service as if it were whole.
                _ = &mut gone => Next::CallerGone,
                frame = body.frame() => Next::Frame(frame),
                // The service reset the stream: nothing more is wanted.
                _ = std::future::poll_fn(|cx| stream.poll_reset(cx)) => return,
            };
            let frame = match next {
                Next::CallerGone => {
                    stream.send_reset(h2::Reason::CANCEL);
                    return;
                }
                Next::Frame(frame) => frame,
            };
            let data = match frame {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => data,
                    Err(frame) => {
                        let _ = pass_on(Some(Ok(frame)), &body, &mut stream);
                        return;
                    }
                },
                other => {
                    let _ = pass_on(other, &body, &mut stream);
                    return;
                }
            };
            let end = body.is_end_stream();
            let sent = tokio::select! {
                biased;
                _ = &mut gone => None,
                sent = send_within_window(&mut stream, data, end) => Some(sent),
            };
            match sent {
                None => {
                    stream.send_reset(h2::Reason::CANCEL);
                    return;
                }
                Some(false) => return,
                Some(true) if end => return,
                Some(true) => {}
            }
        }
    });
}

/// What a request body's feeder waits for.
enum Next {
    CallerGone,
    Frame(Option<Result<Frame<Bytes>, axum::Error>>),
}

enum Passed {
    /// This many bytes were queued; more may follow.
    Data(usize),
    /// The body ended, failed or was refused: nothing follows.
    Done,
}

/// Queues one frame of the caller's body (or its end) on the upstream stream.
fn pass_on(
    frame: Option<Result<Frame<Bytes>, axum::Error>>,
    body: &Body,
    stream: &mut SendStream<Bytes>,
) -> Passed {
    match frame {
        None => {
            let _ = stream.send_data(Bytes::new(), true);
            Passed::Done
        }
        // The caller's side failed (it reset its stream or its connection broke).
        Some(Err(_)) => {
            stream.send_reset(h2::Reason::CANCEL);
            Passed::Done
        }
        Some(Ok(frame)) => match frame.into_data() {
            Ok(data) => {
                let len = data.len();
                let end = body.is_end_stream();
                match stream.send_data(data, end) {
                    Ok(()) if !end => Passed::Data(len),
                    Ok(()) | Err(_) => Passed::Done,
                }
            }
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    let _ = stream.send_trailers(trailers);
                }
                Passed::Done
            }
        },
    }
}

/// Sends `data` as the stream's window allows; false once the stream is gone.
async fn send_within_window(stream: &mut SendStream<Bytes>, mut data: Bytes, end: bool) -> bool {
    if data.is_empty() {
        return stream.send_data(data, end).is_ok();
    }
    while !data.is_empty() {
        stream.reserve_capacity(data.len());
        let granted = match std::future::poll_fn(|cx| stream.poll_capacity(cx)).await {
            Some(Ok(granted)) => granted,
            Some(Err(_)) | None => return false,
        };
        if granted == 0 {
            continue;
        }
        let chunk = data.split_to(granted.min(data.len()));
        if stream.send_data(chunk, end && data.is_empty()).is_err() {
            return false;
        }
    }
    true
}

/// A response body as it comes from the service; the window is given back as it is read.
#[derive(Debug)]
pub struct Received {
    stream: RecvStream,
    data_done: bool,
    /// Dropped with the body: tells a request body still being fed that the caller is gone.
    _caller: tokio::sync::oneshot::Sender<std::convert::Infallible>,
}

impl Received {
    fn new(
        stream: RecvStream,
        caller: tokio::sync::oneshot::Sender<std::convert::Infallible>,
    ) -> Received {
        Received {
            stream,
            data_done: false,
            _caller: caller,
        }
    }
}

impl http_body::Body for Received {
    type Data = Bytes;
    type Error = h2::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, h2::Error>>> {
        if !self.data_done {
            match self.stream.poll_data(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(data))) => {
                    let _ = self.stream.flow_control().release_capacity(data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => self.data_done = true,
            }
        }
        match self.stream.poll_trailers(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Some(trailers))) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Poll::Ready(Ok(None)) => Poll::Ready(None),
            Poll::Ready(Err(error)) => Poll::Ready(Some(Err(error))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.stream.is_end_stream()
    }
}
