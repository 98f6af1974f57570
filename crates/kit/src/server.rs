//! The one way a govmedia gRPC server is assembled: the service's routes plus grpc.health.v1 and
//! reflection (v1 and v1alpha, since grpcurl 1.8 speaks only v1alpha), behind a single tower
//! stack (trace, then auth, then the call's deadline, then the right codes for undecodable and
//! oversized requests), served by [`crate::listen`] with graceful
//! shutdown.

use std::{net::SocketAddr, sync::Arc};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic_health::ServingStatus;

use govmedia_calendar::Calendar;

use crate::{
    auth::AuthLayer,
    clock::Clock,
    config::{EventSettings, ListenSettings},
    db::Db,
    events::{
        EventBus,
        outbox::{self, OutboxSignal},
    },
    idempotency,
    identity::Identity,
    lease::{self, Leases},
    listen::{self, Protocol},
    regional::Regional,
    telemetry::TraceLayer,
    unit::Writer,
};

/// What every service needs from its environment; the `govmedia` binary and the test harness
/// build one per service, so a service is started the same way in dev, production and tests.
#[derive(Clone, Debug)]
pub struct ServiceContext {
    /// The service's own database (migrated).
    pub db: Db,
    /// The event bus.
    pub bus: EventBus,
    /// The service's identity: the key it signs its calls with, the public keys it believes.
    pub identity: Arc<Identity>,
    /// Outbox relay and consumer tuning.
    pub events: EventSettings,
    /// Where "now" comes from (the system clock, or a test's).
    pub clock: Clock,
    /// The working-day calendars deadlines count in, national and by region.
    pub calendar: Arc<Regional<Calendar>>,
    /// The limits of the service's listening ports.
    pub listen: ListenSettings,
}

/// A server could not start or failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Binding the address failed.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// Reflection could not be built from the descriptors.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("grpc transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// A peer's endpoint setting names no usable address.
    #[error(transparent)]
    Target(#[from] crate::endpoints::BadTarget),
    /// The service's settings cannot work (one line per problem).
    #[error("configuration: {}", .0.join("; "))]
    Config(Vec<String>),
}

/// What runs beside a service's server: the kit's background work and the service's own
/// workers, stopped and awaited together when the server stops.
#[derive(Debug)]
pub struct Background {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Background {
    /// Runs `work` beside the server; it must end when the service's shutdown token is
    /// cancelled.
    pub fn spawn<F>(&mut self, work: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(tokio::spawn(work));
    }

    /// Cancels `shutdown` (the server may have stopped on its own, on an error) and waits for
    /// everything that runs beside it.
    pub async fn stop(self, shutdown: &CancellationToken) {
        shutdown.cancel();
        for task in self.tasks {
            if task.await.is_err() {
                tracing::error!("a background task panicked");
            }
        }
    }
}

/// The start of every service's `serve`: refuses the `problems` of its settings before anything
/// runs, starts the kit's background work ([`spawn_background`]), and gives the writer of the
/// service's units of work, whose events go to `stream`.
pub fn start(
    context: &ServiceContext,
    name: &str,
    stream: &'static str,
    problems: Vec<String>,
    shutdown: &CancellationToken,
) -> Result<(Writer, Background), ServerError> {
    if !problems.is_empty() {
        return Err(ServerError::Config(problems));
    }
    let signal = OutboxSignal::default();
    let background = spawn_background(context, name, signal.clone(), shutdown.clone());
    let writer = Writer::new(context.db.clone(), signal, stream, context.clock.clone());
    Ok((
        writer,
        Background {
            tasks: vec![background],
        },
    ))
}

/// Starts what runs beside the server of the service `name` until `shutdown`, each on one
/// replica at a time (a leader lease): the outbox relay (woken by `signal`) and the hourly
/// housekeeping (expired idempotency keys, relayed outbox rows and old processed-event ids are
/// forgotten). Await the handle after shutdown.
pub fn spawn_background(
    context: &ServiceContext,
    name: &str,
    signal: OutboxSignal,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let leases = Leases::for_bus(&context.bus);
    let owner = replica_id(name);
    let relay = outbox::spawn_relay(
        context.db.clone(),
        context.bus.clone(),
        context.events.clone(),
        context.clock.clone(),
        signal,
        (
            leases.clone(),
            format!("{name}-outbox-relay"),
            owner.clone(),
        ),
        shutdown.clone(),
    );
    let (db, clock, events) = (
        context.db.clone(),
        context.clock.clone(),
        context.events.clone(),
    );
    let lease_name = format!("{name}-housekeeping");
    let housekeeping = tokio::spawn(async move {
        lease::lead(
            leases,
            &lease_name,
            &owner,
            lease::TTL,
            shutdown,
            |_, lost| {
                let (db, clock, events) = (db.clone(), clock.clone(), events.clone());
                async move {
                    loop {
                        housekeeping(&db, &clock, &events).await;
                        tokio::select! {
                            () = lost.cancelled() => return,
                            () = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
                        }
                    }
                }
            },
        )
        .await;
    });
    tokio::spawn(async move {
        if relay.await.is_err() {
            tracing::error!("the outbox relay task panicked");
        }
        if housekeeping.await.is_err() {
            tracing::error!("the housekeeping task panicked");
        }
    })
}

/// Forgets what no one will ask for again: idempotency keys past their retention, outbox rows
/// relayed more than `events.outbox_retention_hours` ago, processed-event ids older than
/// `events.processed_retention_hours`.
pub async fn housekeeping(db: &Db, clock: &Clock, events: &EventSettings) {
    let now = clock.now();
    let hours =
        |hours: u64| chrono::Duration::hours(i64::try_from(hours).unwrap_or(i64::MAX / 3_600_000));
    let swept = async {
        let txn = db.begin_write().await?;
        let swept = idempotency::sweep(&*txn, now).await?;
        txn.commit().await?;
        Ok::<u64, sea_orm::DbErr>(swept)
    };
    for (what, result) in [
        ("expired idempotency keys", swept.await),
        (
            "relayed outbox events",
            outbox::prune(db, now - hours(events.outbox_retention_hours)).await,
        ),
        (
            "old processed-event ids",
            crate::events::consumer::prune(db, now - hours(events.processed_retention_hours)).await,
        ),
    ] {
        match result {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "forgot {what}"),
            Err(error) => tracing::warn!(%error, "cannot forget {what}"),
        }
    }
}

/// A name for this process among the replicas of `service`, for the jobs and leases it holds.
pub fn replica_id(service: &str) -> String {
    format!("{service}-{}", uuid::Uuid::now_v7().simple())
}

/// Binds `addr` (port 0 picks a free port).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|error| ServerError::Bind(addr, error))
}

/// Serves `routes` (the service's own gRPC services, whose full names are `service_names`) on
/// `listener`, within the limits of `listen`, until `shutdown` is cancelled; then reports
/// NOT_SERVING, finishes in-flight calls and returns.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    service_names: &[&'static str],
    identity: Arc<Identity>,
    listen: &ListenSettings,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for name in service_names {
        reporter
            .set_service_status(*name, ServingStatus::Serving)
            .await;
    }
    let routes = with_reflection(routes.add_service(health))?;
    let service = tower::ServiceBuilder::new()
        .layer(TraceLayer)
        .layer(AuthLayer::new(identity))
        .layer_fn(Deadline)
        .layer_fn(WireErrors)
        .service(routes);
    let names: Vec<&'static str> = service_names.to_vec();
    listen::serve(listener, Protocol::Grpc, service, listen, async move {
        shutdown.cancelled().await;
        for name in names {
            reporter
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
    })
    .await;
    Ok(())
}

/// Ends a call whose `grpc-timeout` has passed with DEADLINE_EXCEEDED, dropping its handler, as
/// gRPC servers do: nobody waits for the answer any more.
#[derive(Clone, Debug)]
pub struct Deadline<S>(pub S);

impl<S, B> tower::Service<http::Request<B>> for Deadline<S>
where
    S: tower::Service<
            http::Request<B>,
            Response = http::Response<tonic::body::Body>,
            Error = std::convert::Infallible,
        >,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let timeout = request
            .headers()
            .get("grpc-timeout")
            .and_then(|value| value.to_str().ok())
            .and_then(crate::deadline::parse);
        let call = self.0.call(request);
        Box::pin(async move {
            match timeout {
                None => call.await,
                Some(timeout) => match tokio::time::timeout(timeout, call).await {
                    Ok(response) => response,
                    Err(_) => Ok(tonic::Status::deadline_exceeded(format!(
                        "no answer within the call's deadline of {} ms",
                        timeout.as_millis()
                    ))
                    .into_http()),
                },
            }
        })
    }
}

/// Gives the caller's own mistakes on the wire the codes gRPC says they have. tonic's decoder
/// answers a request that is not valid protobuf with INTERNAL (and the decoder's text) and one
/// over the size limit with OUT_OF_RANGE; both are the caller's doing: INVALID_ARGUMENT with the
/// reason MALFORMED_MESSAGE (a truncated message too), and RESOURCE_EXHAUSTED with
/// MESSAGE_TOO_LARGE. A request whose caller's connection broke before the request was read is
/// CANCELLED, as gRPC says a call its client abandoned is, where tonic says UNKNOWN: nobody reads
/// that answer, but the access log and metrics would count every client that disconnects with
/// calls in flight as a failure of the service. Only these answers of tonic's own are
/// recognised (by the text it writes); every handler's error passes untouched.
#[derive(Clone, Debug)]
pub struct WireErrors<S>(pub S);

/// tonic's text for an undecodable request (prost's `DecodeError`).
const UNDECODABLE: &str = "failed to decode Protobuf message";
/// tonic's text for a request over the size limit.
const TOO_LARGE: &str = "Error, decoded message length too large";
/// tonic's text for a request whose body ends inside a message.
const TRUNCATED: &str = "Unexpected EOF decoding stream";
/// tonic's text for a unary request whose body holds no message at all.
const MISSING: &str = "Missing request message";
/// tonic's text for a request whose first byte is neither 0 nor 1 (it is not gRPC framing).
const UNFRAMED: &str = "protocol error: received message with invalid compression flag";
/// tonic's text for a request body the connection failed under.
const CONNECTION_BROKE: &str = "h2 protocol error";

impl<S, B, RB> tower::Service<http::Request<B>> for WireErrors<S>
where
    S: tower::Service<
            http::Request<B>,
            Response = http::Response<RB>,
            Error = std::convert::Infallible,
        >,
    S::Future: Send + 'static,
    RB: Default + Send + 'static,
{
    type Response = http::Response<RB>;
    type Error = std::convert::Infallible;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let call = self.0.call(request);
        Box::pin(async move {
            let response = call.await?;
            Ok(match wire_error(response.headers()) {
                Some(status) => status.into_http(),
                None => response,
            })
        })
    }
}

/// The answer a trailers-only error of tonic's decoder stands for, if it is one.
fn wire_error(headers: &http::HeaderMap) -> Option<tonic::Status> {
    let status = headers.get("grpc-status")?.as_bytes();
    if status != b"13" && status != b"11" && status != b"2" {
        return None;
    }
    let status = tonic::Status::from_header_map(headers)?;
    if status.code() == tonic::Code::Unknown && status.message().starts_with(CONNECTION_BROKE) {
        return Some(tonic::Status::cancelled(
            "the caller's connection closed before its request was read",
        ));
    }
    decoder_error(&status).map(tonic::Status::from)
}

/// The caller's mistake a decoder error of tonic's stands for, if it is one.
fn decoder_error(status: &tonic::Status) -> Option<crate::error::ApiError> {
    use crate::error::{ApiError, ErrorCode};
    use govmedia_proto::common::v1::ErrorReason;
    let message = status.message();
    if status.code() == tonic::Code::Internal && message.starts_with(UNDECODABLE) {
        let cause = message
            .strip_prefix(UNDECODABLE)
            .unwrap_or_default()
            .trim_start_matches([':', ' ']);
        return Some(ApiError::new(
            ErrorCode::InvalidArgument,
            ErrorReason::MalformedMessage,
            format!(
                "the request is not a valid protobuf encoding of the method's request message ({cause})"
            ),
        ));
    }
    if status.code() == tonic::Code::Internal
        && (message.starts_with(MISSING) || message.starts_with(UNFRAMED))
    {
        return Some(ApiError::new(
            ErrorCode::InvalidArgument,
            ErrorReason::MalformedMessage,
            "the request body is not one length-prefixed gRPC message",
        ));
    }
    if status.code() == tonic::Code::Internal && message.starts_with(TRUNCATED) {
        return Some(ApiError::new(
            ErrorCode::InvalidArgument,
            ErrorReason::MalformedMessage,
            "the request ends inside a message: its length prefix promises more bytes than came",
        ));
    }
    if status.code() == tonic::Code::OutOfRange && message.starts_with(TOO_LARGE) {
        return Some(
            ApiError::new(
                ErrorCode::ResourceExhausted,
                ErrorReason::MessageTooLarge,
                format!(
                    "the request message is larger than accepted: {}",
                    message
                        .strip_prefix(TOO_LARGE)
                        .unwrap_or_default()
                        .trim_start_matches([':', ' '])
                ),
            )
            .with_metadata("limit_bytes", MAX_MESSAGE_BYTES.to_string()),
        );
    }
    None
}

/// The largest request message a govmedia server decodes (tonic's default).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Adds reflection v1 and v1alpha over every govmedia service (and health, reflection itself
/// and the google.rpc error details) to `routes`.
pub fn with_reflection(routes: Routes) -> Result<Routes, ServerError> {
    // Both versions describe everything, each other included, so that any client (grpcurl 1.8
    // speaks only v1alpha) lists the same services.
    let descriptors = [
        govmedia_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_types::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ];
    let mut v1 = tonic_reflection::server::Builder::configure().include_reflection_service(false);
    let mut v1alpha =
        tonic_reflection::server::Builder::configure().include_reflection_service(false);
    for set in descriptors {
        v1 = v1.register_encoded_file_descriptor_set(set);
        v1alpha = v1alpha.register_encoded_file_descriptor_set(set);
    }
    Ok(routes
        .add_service(v1.build_v1()?)
        .add_service(v1alpha.build_v1alpha()?))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn termination_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_of(status: tonic::Status) -> http::HeaderMap {
        status.into_http::<()>().into_parts().0.headers
    }

    #[test]
    fn a_request_its_connection_broke_under_is_cancelled() {
        // What tonic answers when the body of a request fails with the connection under it.
        let broke =
            tonic::Status::unknown("h2 protocol error: error reading a body from connection");
        let answer = wire_error(&headers_of(broke)).expect("recognised");
        assert_eq!(answer.code(), tonic::Code::Cancelled);
        // A handler's own UNKNOWN passes untouched.
        assert!(wire_error(&headers_of(tonic::Status::unknown("the handler's own"))).is_none());
    }

    #[test]
    fn decoder_errors_become_the_callers_codes() {
        let undecodable = tonic::Status::internal(format!("{UNDECODABLE}: invalid varint"));
        let answer = wire_error(&headers_of(undecodable)).expect("recognised");
        assert_eq!(answer.code(), tonic::Code::InvalidArgument);
        let too_large = tonic::Status::out_of_range(format!("{TOO_LARGE}: found 5000000 bytes"));
        let answer = wire_error(&headers_of(too_large)).expect("recognised");
        assert_eq!(answer.code(), tonic::Code::ResourceExhausted);
        for unframed in [
            "Missing request message.",
            "protocol error: received message with invalid compression flag: 104 (valid flags are 0 and 1), while sending request",
        ] {
            let answer = wire_error(&headers_of(tonic::Status::internal(unframed)));
            assert_eq!(
                answer.map(|status| status.code()),
                Some(tonic::Code::InvalidArgument),
                "{unframed}"
            );
        }
        // The gRPC compression spec demands INTERNAL for a compressed flag without an encoding.
        let compressed = tonic::Status::internal(
            "protocol error: received message with compressed-flag but no grpc-encoding was specified",
        );
        assert!(wire_error(&headers_of(compressed)).is_none());
        assert!(wire_error(&headers_of(tonic::Status::internal("a bug"))).is_none());
        assert!(wire_error(&headers_of(tonic::Status::not_found("no such"))).is_none());
    }
}
