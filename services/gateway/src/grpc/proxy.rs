//! Forwarding a gRPC call, as raw HTTP/2: bodies stream both ways untouched (unary and
//! streaming alike), metadata and trailers pass, cancellation passes (dropping the call here
//! resets the upstream stream). The gateway only replaces identity, sets the deadline and
//! continues the trace. Responses come back through [`relay`], which holds the deadline to the
//! last byte and keeps a caller who does not read from holding anyone else's calls.

use std::time::{Duration, Instant};

use axum::body::Body;
use govmedia_kit::{error::ApiError, telemetry};
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body::Body as _;

use govmedia_proto::common::v1::MethodClass;

use super::{origin::Outgoing, relay};
use crate::{
    domain::deadline,
    error::GatewayError,
    gate::{Gateway, peer_of},
};

/// Metadata the gateway consumes and never forwards.
const CONSUMED: [&str; 2] = ["authorization", "x-api-key"];

/// Forwards one call, answering with a gRPC error when the gateway refuses it.
pub async fn forward(gateway: Gateway, request: Request<Body>) -> Response<Body> {
    let started = Instant::now();
    let path = request.uri().path().to_owned();
    let response = match forward_inner(&gateway, &path, request, started).await {
        Ok(response) => response,
        Err(error) => tonic::Status::from(ApiError::from(error)).into_http(),
    };
    let code = response
        .headers()
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<i32>().ok())
        .map_or(tonic::Code::Ok, tonic::Code::from_i32);
    gateway
        .metrics()
        .record(&path, code, "grpc", started.elapsed());
    response
}

async fn forward_inner(
    gateway: &Gateway,
    path: &str,
    request: Request<Body>,
    started: Instant,
) -> Result<Response<Body>, GatewayError> {
    let is_grpc = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/grpc"));
    if !is_grpc {
        // The gRPC spec: a non-gRPC content type gets HTTP 415.
        let mut response = Response::new(Body::from(
            "this port speaks gRPC; use the HTTP/JSON port for JSON\n",
        ));
        *response.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        response
            .headers_mut()
            .insert("grpc-status", HeaderValue::from_static("3"));
        response.headers_mut().insert(
            "grpc-message",
            HeaderValue::from_static("content-type%20must%20be%20application/grpc"),
        );
        return Ok(response);
    }
    gateway.check_metadata(request.headers())?;

    let admission = gateway
        .admit(path, request.headers(), peer_of(&request))
        .await?;
    let requested = request
        .headers()
        .get("grpc-timeout")
        .and_then(|value| value.to_str().ok())
        .and_then(deadline::parse);
    let deadline = gateway.deadline(requested);
    let ends = relay::Deadline {
        at: tokio::time::Instant::from_std(started) + deadline,
        length: deadline,
    };

    let (mut parts, body) = request.into_parts();
    for name in CONSUMED {
        parts.headers.remove(name);
    }
    parts.headers.insert(
        header::AUTHORIZATION,
        gateway.identity(&admission.caller, admission.service)?,
    );
    if let Ok(value) = HeaderValue::try_from(deadline::format(deadline)) {
        parts.headers.insert("grpc-timeout", value);
    }
    parts
        .headers
        .insert(header::TE, HeaderValue::from_static("trailers"));
    let mut metadata =
        tonic::metadata::MetadataMap::from_headers(std::mem::take(&mut parts.headers));
    telemetry::inject_into_metadata(&mut metadata);
    parts.headers = metadata.into_headers();
    parts.version = http::Version::HTTP_2;
    parts.uri = admission.origin.uri(parts.uri.path_and_query());
    let read = matches!(admission.rule.class, MethodClass::Read);
    let single = gateway.single_request(path);
    let sent = async {
        let outgoing = Outgoing::take(body, single).await?;
        admission.origin.send(parts, outgoing, read, ends.at).await
    };
    match tokio::time::timeout_at(ends.at, sent).await {
        Err(_) => Err(GatewayError::DeadlineExceeded(deadline)),
        Ok(Err(error)) => Err(GatewayError::UpstreamUnavailable {
            service: admission.service.to_owned(),
            cause: error.to_string(),
        }),
        // A trailers-only answer (every error a service gives) has no body to relay, and must
        // reach the caller as it came: one HEADERS frame that ends the stream. gRPC clients
        // other than tonic refuse anything else.
        Ok(Ok(response)) if response.body().is_end_stream() => Ok(response.map(Body::new)),
        Ok(Ok(response)) => {
            let limits = relay::RelayLimits {
                buffer_bytes: gateway.config().response_buffer_bytes,
                stall: Duration::from_millis(gateway.config().response_stall_ms),
            };
            let cuts = gateway.metrics().cuts().clone();
            Ok(response.map(|body| Body::new(relay::start(body, ends, limits, cuts))))
        }
    }
}
