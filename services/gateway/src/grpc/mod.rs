//! The gateway's gRPC port: health (the suite's and each upstream service's, as last checked)
//! and reflection over every govmedia service are answered here; every other call is admitted
//! and forwarded by [`proxy`].

pub mod proxy;

use axum::extract::Request;
use govmedia_kit::{
    CancellationToken,
    server::{ServerError, incoming, with_reflection},
    telemetry::TraceLayer,
};
use tokio::net::TcpListener;
use tonic::{service::Routes, transport::Server};

use crate::gate::Gateway;

/// Serves the gRPC port until `shutdown`.
pub async fn serve(
    gateway: Gateway,
    health: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let local = with_reflection(Routes::new(health))?;
    let router = local.into_axum_router().fallback(move |request: Request| {
        let gateway = gateway.clone();
        async move { proxy::forward(gateway, request).await }
    });
    Server::builder()
        .layer(TraceLayer)
        .add_routes(Routes::from(router))
        .serve_with_incoming_shutdown(incoming(listener), shutdown.cancelled_owned())
        .await?;
    Ok(())
}
