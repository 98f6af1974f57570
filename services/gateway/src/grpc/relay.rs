//! The response body of a forwarded call, carried from the upstream connection to the caller so
//! that a caller who does not read holds nothing but its own call.
//!
//! Every call to one service shares one HTTP/2 connection to it, and with it one flow-control
//! window: bytes the gateway has received but not passed on count against it. If the gateway read
//! an upstream stream only as fast as its caller reads, a few callers that never read would fill
//! that window and stall every other caller of the service. So a task reads each upstream body
//! as fast as the upstream sends, into a buffer of its own call, returning the window at once:
//!
//! * the buffer holds at most `buffer_bytes`; a response larger than that waits upstream, in its
//!   own stream's window (which is small beside the connection's);
//! * a call whose caller takes nothing from a full buffer for `stall` is cut: the upstream stream
//!   is reset and the caller, if it ever reads again, gets RESOURCE_EXHAUSTED (RESPONSE_NOT_READ);
//! * the call's deadline covers the body and the trailers: when it passes, whatever is left is
//!   dropped, the upstream stream is reset and the caller gets DEADLINE_EXCEEDED.
//!
//! Most responses need none of that: a unary answer arrives whole, its headers, message and
//! trailers in one read from the upstream connection. What has arrived by the time the response
//! headers are handed over is taken at once; a body that ends there within [`WHOLE_BYTES`] is
//! passed on as it is, with no task, lock or timer, and reaches the caller in one write (the
//! caller's HTTP/2 stream sends the headers, message and trailers together when the body is ready
//! as the headers go out, and in three writes when it is not). Such a call holds nothing
//! upstream any more, and a caller who never reads it holds at most `WHOLE_BYTES` of it.

use std::{
    collections::VecDeque,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll, Waker},
    time::Duration,
};

use bytes::Bytes;
use govmedia_kit::error::ApiError;
use http::HeaderMap;
use http_body::{Body, Frame};
use http_body_util::BodyExt as _;
use tokio::{sync::Notify, time::Instant};

use crate::{error::GatewayError, metrics::Cuts};

/// The error type of a relayed body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How a relay buffers and how long it waits for its caller.
#[derive(Clone, Copy, Debug)]
pub struct RelayLimits {
    /// The most a call's response buffers in the gateway.
    pub buffer_bytes: usize,
    /// How long a full buffer waits for its caller to take something.
    pub stall: Duration,
}

/// The call's deadline: when it passes, and how long it was.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    /// When.
    pub at: Instant,
    /// The call's whole deadline, for the message.
    pub length: Duration,
}

/// The most a response may hold to be passed on whole, without a relay task: one HTTP/2 frame's
/// worth at the default frame size, as much as hyper keeps of a relayed body for a caller who
/// does not read.
pub const WHOLE_BYTES: usize = 16 * 1024;

/// Starts relaying `upstream` until `deadline`; the returned body is what the caller reads.
pub fn start<B>(mut upstream: B, deadline: Deadline, limits: RelayLimits, cuts: Cuts) -> Relayed
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    // What has already arrived, without waiting (a waker that does nothing: the pump, if one
    // is needed, polls again with its own).
    let mut frames = VecDeque::new();
    let mut bytes = 0;
    let mut arrived = Context::from_waker(Waker::noop());
    let whole_within = WHOLE_BYTES.min(limits.buffer_bytes);
    while bytes < whole_within {
        match Pin::new(&mut upstream).poll_frame(&mut arrived) {
            Poll::Pending => break,
            Poll::Ready(None) => {
                return Relayed(Reader::Whole {
                    frames,
                    error: None,
                });
            }
            Poll::Ready(Some(Err(error))) => {
                return Relayed(Reader::Whole {
                    frames,
                    error: Some(error.into()),
                });
            }
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    bytes += data.len();
                }
                frames.push_back(frame);
            }
        }
    }
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            frames,
            bytes,
            end: End::Open,
            reader: None,
            reader_gone: false,
        }),
        changed: Notify::new(),
    });
    tokio::spawn(pump(upstream, shared.clone(), deadline, limits, cuts));
    Relayed(Reader::Pumped(shared))
}

struct Shared {
    state: Mutex<State>,
    /// Woken when the caller took a frame or went away.
    changed: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Ends the call with `trailers` in place of whatever was not read yet.
    fn cut(&self, trailers: HeaderMap) {
        let mut state = self.lock();
        state.frames.clear();
        state.bytes = 0;
        state.end = End::Cut(trailers);
        state.wake_reader();
    }
}

struct State {
    frames: VecDeque<Frame<Bytes>>,
    /// DATA bytes in `frames`.
    bytes: usize,
    end: End,
    reader: Option<Waker>,
    reader_gone: bool,
}

impl State {
    fn wake_reader(&mut self) {
        if let Some(waker) = self.reader.take() {
            waker.wake();
        }
    }
}

enum End {
    /// More may come.
    Open,
    /// The upstream body ended; nothing follows the frames.
    Done,
    /// The upstream body failed; the caller's stream is reset.
    Failed(Option<BoxError>),
    /// The call was cut; these trailers end it.
    Cut(HeaderMap),
    /// The cut trailers were sent.
    Closed,
}

/// The trailers that end a cut call.
fn trailers_of(error: GatewayError) -> HeaderMap {
    let response = tonic::Status::from(ApiError::from(error)).into_http::<()>();
    response.into_parts().0.headers
}

/// Moves the upstream body into the buffer until it ends, its caller leaves, it stalls or its
/// deadline passes. Returning drops `upstream`, which resets its stream if it had not ended.
async fn pump<B>(
    mut upstream: B,
    shared: Arc<Shared>,
    deadline: Deadline,
    limits: RelayLimits,
    cuts: Cuts,
) where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    let expired = tokio::time::sleep_until(deadline.at);
    tokio::pin!(expired);
    let deadline_passed = |shared: &Shared| {
        cuts.deadline.inc();
        shared.cut(trailers_of(GatewayError::DeadlineExceeded(deadline.length)));
    };
    let mut ended = false;
    loop {
        // Wait for room (or, once the upstream ended, for the caller to take everything).
        loop {
            let changed = shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let state = shared.lock();
                if state.reader_gone {
                    return;
                }
                if ended && state.frames.is_empty() {
                    return;
                }
                if !ended && state.bytes < limits.buffer_bytes {
                    break;
                }
            }
            tokio::select! {
                () = &mut changed => {}
                () = tokio::time::sleep(limits.stall), if !ended => {
                    cuts.not_read.inc();
                    shared.cut(trailers_of(GatewayError::ResponseNotRead(limits.stall)));
                    return;
                }
                () = &mut expired => {
                    deadline_passed(&shared);
                    return;
                }
            }
        }
        let changed = shared.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let frame = tokio::select! {
            frame = upstream.frame() => frame,
            () = &mut changed => continue,
            () = &mut expired => {
                deadline_passed(&shared);
                return;
            }
        };
        let mut state = shared.lock();
        match frame {
            None => {
                state.end = End::Done;
                ended = true;
            }
            Some(Err(error)) => {
                state.end = End::Failed(Some(error.into()));
                state.wake_reader();
                return;
            }
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    state.bytes += data.len();
                }
                state.frames.push_back(frame);
            }
        }
        state.wake_reader();
    }
}

/// The body the caller reads.
pub struct Relayed(Reader);

enum Reader {
    /// The whole response had arrived: these frames, then the error if the body failed.
    Whole {
        frames: VecDeque<Frame<Bytes>>,
        error: Option<BoxError>,
    },
    /// A pump is moving the rest.
    Pumped(Arc<Shared>),
}

impl Body for Relayed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let shared = match &mut self.get_mut().0 {
            Reader::Whole { frames, error } => {
                return Poll::Ready(match frames.pop_front() {
                    Some(frame) => Some(Ok(frame)),
                    None => error.take().map(Err),
                });
            }
            Reader::Pumped(shared) => shared,
        };
        let mut state = shared.lock();
        if let End::Cut(_) = state.end {
            let End::Cut(trailers) = std::mem::replace(&mut state.end, End::Closed) else {
                unreachable!("matched just above");
            };
            return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
        }
        if let Some(frame) = state.frames.pop_front() {
            if let Some(data) = frame.data_ref() {
                state.bytes -= data.len();
            }
            drop(state);
            shared.changed.notify_one();
            return Poll::Ready(Some(Ok(frame)));
        }
        match &mut state.end {
            End::Open => {
                state.reader = Some(cx.waker().clone());
                Poll::Pending
            }
            End::Done | End::Closed | End::Cut(_) => Poll::Ready(None),
            End::Failed(error) => match error.take() {
                Some(error) => Poll::Ready(Some(Err(error))),
                None => Poll::Ready(None),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Reader::Whole { frames, error } => frames.is_empty() && error.is_none(),
            Reader::Pumped(_) => false,
        }
    }
}

impl Drop for Relayed {
    fn drop(&mut self) {
        let Reader::Pumped(shared) = &self.0 else {
            return;
        };
        {
            let mut state = shared.lock();
            state.reader_gone = true;
            state.frames.clear();
        }
        shared.changed.notify_one();
    }
}
