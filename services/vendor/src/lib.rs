//! The vendor service (代运营机构): the companies that run government accounts on a unit's
//! behalf, registered with their unified social credit code, their qualifications on record,
//! vetted by named assessors before they are approved, and suspended, terminated or
//! blacklisted when they fail. See `proto/govmedia/vendor/v1` for the contract and
//! ARCHITECTURE.md for where it sits.
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
pub mod handover;
pub mod oversight;
pub mod store;

use std::sync::Arc;

use govmedia_kit::{
    CancellationToken,
    events::consumer::ConsumerSpec,
    lease::Leases,
    server::{self, ServerError, ServiceContext},
};
use govmedia_proto::vendor::v1::vendor_service_server::VendorServiceServer;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tonic::service::Routes;

pub use config::VendorConfig;
pub use store::Migrator;

/// Full gRPC name of the service (health checks use it).
pub const SERVICE_NAME: &str = "govmedia.vendor.v1.VendorService";

/// Short name: the `govmedia serve` argument, the default PostgreSQL schema and SQLite file.
pub const NAME: &str = "vendor";

/// Serves the vendor service on `listener` until `shutdown`, relaying its outbox, filing the
/// handovers of delegations and recording the filing service's decisions on them meanwhile. The
/// database must be migrated.
pub async fn serve(
    context: ServiceContext,
    config: VendorConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let (writer, mut background) =
        server::start(&context, NAME, events::STREAM, config.problems(), &shutdown)?;
    let registry = grpc::registry(&config, context.identity.clone())?;
    let filings = grpc::filing::Filings::new(&config, context.identity.clone())?;
    let wake = Arc::new(Notify::new());
    if config.workers {
        let replica = server::replica_id(NAME);
        let worker = handover::Handovers::new(writer.clone(), filings.clone(), &config, &replica);
        background.spawn(worker.run(wake.clone(), shutdown.clone()));
        background.spawn(govmedia_kit::events::consumer::run_consumer(
            writer.clone(),
            context.bus.clone(),
            ConsumerSpec {
                stream: events::FILING_STREAM.to_owned(),
                group: NAME.to_owned(),
                consumer: replica.clone(),
                method: "RecordHandover",
                principal: filings.own_principal(),
            },
            context.events.clone(),
            events::FilingDecisions,
            shutdown.clone(),
        ));
        // One replica at a time evaluates the whole tree and publishes what changed.
        let watch =
            oversight::Watch::new(writer.clone(), registry.clone(), config.oversight.clone());
        background.spawn(watch.run(Leases::for_bus(&context.bus), replica, shutdown.clone()));
    }
    let api = grpc::VendorApi::new(writer, registry, &config, wake);
    let routes = Routes::new(VendorServiceServer::new(api));
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
