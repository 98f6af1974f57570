//! The HTTP/JSON port, for systems that cannot speak gRPC:
//!
//! * `POST /v1/{package.Service}/{Method}` with a proto3-JSON body runs the same admission
//!   (authentication, roles, rate limit) and the same unary call as gRPC, and answers with the
//!   response message as proto3 JSON. The mapping comes from the descriptors: there is no code
//!   per method.
//! * Errors answer with the matching HTTP status and
//!   `{"code": <gRPC code>, "status": "NOT_FOUND", "message": …, "details": [{"@type": …}]}`.
//! * `GET /healthz` and `GET /metrics` (Prometheus text).

mod transcode;

use std::time::Instant;

use axum::{
    Router,
    body::Body,
    extract::{Path, Request, State},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use govmedia_kit::{
    CancellationToken,
    config::ListenSettings,
    listen::{self, Protocol},
};
use http::{StatusCode, header};
use tokio::net::TcpListener;

use crate::gate::Gateway;

/// The routes of the HTTP/JSON port.
pub fn router(gateway: Gateway) -> Router {
    Router::new()
        .route("/v1/{service}/{method}", post(call))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(gateway)
}

/// Serves the HTTP/JSON port, within the limits of `listen`, until `shutdown`.
pub async fn serve(
    gateway: Gateway,
    listener: TcpListener,
    listen: &ListenSettings,
    shutdown: CancellationToken,
) {
    listen::serve(
        listener,
        Protocol::Http,
        router(gateway),
        listen,
        shutdown.cancelled_owned(),
    )
    .await;
}

async fn call(
    State(gateway): State<Gateway>,
    Path((service, method)): Path<(String, String)>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let path = format!("/{service}/{method}");
    let (code, response) = match transcode::unary(&gateway, &path, request).await {
        Ok(json) => (tonic::Code::Ok, json_response(StatusCode::OK, json)),
        Err(status) => (status.code(), transcode::error_response(&gateway, &status)),
    };
    gateway
        .metrics()
        .record(&path, code, "http", started.elapsed());
    response
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

async fn healthz(State(gateway): State<Gateway>) -> Response {
    let services = gateway.health();
    let serving = !gateway.stopping() && !services.is_empty() && services.values().all(|ok| *ok);
    let body = serde_json::json!({
        "status": if serving { "SERVING" } else { "NOT_SERVING" },
        // Where rate budgets are kept right now: shared in Redis, or this replica's own while
        // Redis does not answer (the gateway serves either way).
        "rate_limits": if gateway.limiter().shared_as_configured() { "as configured" } else { "local (Redis unavailable)" },
        "services": services
            .iter()
            .map(|(name, ok)| (name.clone(), serde_json::Value::from(if *ok { "SERVING" } else { "NOT_SERVING" })))
            .collect::<serde_json::Map<_, _>>(),
    });
    let status = if serving {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(status, body.to_string().into_bytes())
}

async fn metrics(State(gateway): State<Gateway>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        gateway.metrics().render(),
    )
}
