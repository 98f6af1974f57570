//! The registry: govmedia's account ledger (台账). See `proto/govmedia/registry/v1` for the
//! contract and ARCHITECTURE.md for where it sits.
//!
//! Same rooms as every govmedia service: [`config`], [`error`], [`grpc`] (handlers and
//! proto↔domain conversion), [`domain`] (rules, no I/O), [`store`] (entities, migrations,
//! queries), [`events`] (what it publishes).

#![forbid(unsafe_code)]

pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod store;

use govmedia_kit::{
    CancellationToken,
    events::consumer::ConsumerSpec,
    server::{self, ServerError, ServiceContext},
};
use govmedia_proto::registry::v1::registry_service_server::RegistryServiceServer;
use tokio::net::TcpListener;
use tonic::service::Routes;

pub use config::RegistryConfig;
pub use store::Migrator;

/// Full gRPC name of the service (health checks use it).
pub const SERVICE_NAME: &str = "govmedia.registry.v1.RegistryService";

/// Short name: the `govmedia serve` argument, the default PostgreSQL schema and SQLite file.
pub const NAME: &str = "registry";

/// Serves the registry on `listener` until `shutdown`, relaying its outbox meanwhile. The
/// database must be migrated.
pub async fn serve(
    context: ServiceContext,
    config: RegistryConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let (writer, mut background) =
        server::start(&context, NAME, events::STREAM, config.problems(), &shutdown)?;
    background.spawn(govmedia_kit::events::consumer::run_consumer(
        writer.clone(),
        context.bus.clone(),
        ConsumerSpec {
            stream: events::FILING_STREAM.to_owned(),
            group: NAME.to_owned(),
            consumer: server::replica_id(NAME),
            method: "ProjectFilingOutcome",
            principal: context.identity.own_principal(""),
        },
        context.events.clone(),
        events::FilingOutcomes,
        shutdown.clone(),
    ));
    let api = grpc::RegistryApi::new(writer, config);
    let routes = Routes::new(RegistryServiceServer::new(api));
    let result = server::serve(
        listener,
        routes,
        &[SERVICE_NAME],
        context.identity,
        &context.listen,
        shutdown.clone(),
    )
    .await;
    background.stop(&shutdown).await;
    result
}
