//! The inspection service (监测检查): the posts of government accounts taken from collectors,
//! scanned for wrong and sensitive wording (错敏词) with the lexicons in force, judged by one
//! detector per problem category of the notice, and checked against indicator schemes kept
//! as versioned data with every item explained. See `proto/govmedia/inspection/v1` for the
//! contract and ARCHITECTURE.md for where it sits.
//!
//! Same rooms as every govmedia service: [`config`], [`error`], [`grpc`] (handlers and
//! proto↔domain conversion), [`domain`] (rules, no I/O), [`store`] (entities, migrations,
//! queries), [`events`] (what it publishes); plus [`lexicons`] (the scanner of the lexicons in
//! force, kept alike on every replica), [`sources`] (what the routing and vendor services
//! know about an account), [`monitor`] (the daily run), [`collector`] (RSS/Atom feeds) and
//! [`rectification`] (the timers and re-checks of rectification orders).

#![forbid(unsafe_code)]

pub mod collector;
pub mod config;
pub mod documents;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod lexicons;
pub mod monitor;
pub mod rectification;
pub mod sources;
pub mod store;
pub mod web;

use std::sync::Arc;

use govmedia_kit::{
    CancellationToken,
    lease::Leases,
    server::{self, ServerError, ServiceContext},
};
use govmedia_proto::inspection::v1::inspection_service_server::InspectionServiceServer;
use tokio::net::TcpListener;
use tonic::service::Routes;

pub use config::InspectionConfig;
pub use store::Migrator;

/// Full gRPC name of the service (health checks use it).
pub const SERVICE_NAME: &str = "govmedia.inspection.v1.InspectionService";

/// Short name: the `govmedia serve` argument, the default PostgreSQL schema and SQLite file.
pub const NAME: &str = "inspection";

/// Serves the inspection service on `listener` until `shutdown`. The database must be migrated.
pub async fn serve(
    context: ServiceContext,
    config: InspectionConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    // Read before anything starts: a lexicon file with a bad line stops the service here.
    let files = lexicons::read_files(&config.lexicon_files)
        .map_err(|problem| ServerError::Config(vec![problem]))?;
    let (writer, mut background) =
        server::start(&context, NAME, events::STREAM, config.problems(), &shutdown)?;
    let registry = grpc::registry(&config, context.identity.clone())?;
    let sources = sources::Sources::new(&config, &context.identity)?;
    let api = grpc::InspectionApi::new(
        writer,
        registry,
        sources,
        Arc::new(lexicons::InForce::new(files)),
        context.calendar.clone(),
        &config,
    );
    if config.workers {
        let replica = server::replica_id(NAME);
        let monitor =
            monitor::Monitor::new(api.clone(), config.monitoring.clone(), api.monitor_wake());
        background.spawn(monitor.run(
            Leases::for_bus(&context.bus),
            replica.clone(),
            shutdown.clone(),
        ));
        let collector =
            collector::Collector::new(api.clone(), config.feeds.clone(), api.collector_wake());
        background.spawn(collector.run(
            Leases::for_bus(&context.bus),
            replica.clone(),
            shutdown.clone(),
        ));
        let rectifier = rectification::Rectifier::new(api.clone(), &config.rectification, &replica);
        background.spawn(rectifier.run(api.rectifier_wake(), shutdown.clone()));
    }
    let routes = Routes::new(InspectionServiceServer::new(api));
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
