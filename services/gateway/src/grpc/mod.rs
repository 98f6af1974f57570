//! The gateway's gRPC port: health (the suite's and each upstream service's, as last checked)
//! and reflection over every govmedia service are answered here; every other call is admitted
//! and forwarded by [`proxy`].

pub mod origin;
pub mod proxy;
pub mod relay;
pub mod upstream;

use axum::extract::Request;
use govmedia_kit::{
    CancellationToken,
    config::ListenSettings,
    listen::{self, Protocol},
    server::{ServerError, WireErrors, with_reflection},
    telemetry::TraceLayer,
};
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::gate::Gateway;

/// Serves the gRPC port, within the limits of `listen`, until `shutdown`.
pub async fn serve(
    gateway: Gateway,
    health: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
    listener: TcpListener,
    listen: &ListenSettings,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let local = with_reflection(Routes::new(health))?;
    let router = local.into_axum_router().fallback(move |request: Request| {
        let gateway = gateway.clone();
        async move { proxy::forward(gateway, request).await }
    });
    let service = tower::ServiceBuilder::new()
        .layer(TraceLayer)
        .layer_fn(WireErrors)
        .service(router);
    listen::serve(
        listener,
        Protocol::Grpc,
        service,
        listen,
        shutdown.cancelled_owned(),
    )
    .await;
    Ok(())
}
