//! The message-routing service (留言转办): citizens' messages become cases routed by duty to the
//! responsible department, answered within working-day deadlines of the official calendar
//! reviewed by the department's competent leader before the answer goes out and
//! published back through a platform adapter. Citizens' personal data is sealed with SM4-GCM.
//! See `proto/govmedia/routing/v1` for the contract and ARCHITECTURE.md for where it sits.
//!
//! Same rooms as every govmedia service: [`config`], [`error`], [`grpc`] (handlers and
//! proto↔domain conversion), [`domain`] (rules, no I/O), [`store`] (entities, migrations,
//! queries), [`events`] (what it publishes); plus [`personal`] (the sealing of personal data) and
//! [`publish`] (the outbox of approved replies and the platform adapters) and [`escalate`] (the
//! leased scheduler of warnings and escalations).

#![forbid(unsafe_code)]

pub mod config;
pub mod domain;
pub mod error;
pub mod escalate;
pub mod events;
pub mod grpc;
pub mod personal;
pub mod publish;
pub mod store;

use std::sync::Arc;

use govmedia_kit::{
    CancellationToken,
    lease::{self, Leases},
    server::{self, ServerError, ServiceContext},
};
use govmedia_proto::routing::v1::routing_service_server::RoutingServiceServer;
use tokio::net::TcpListener;
use tonic::service::Routes;

pub use config::RoutingConfig;
pub use store::Migrator;

/// Full gRPC name of the service (health checks use it).
pub const SERVICE_NAME: &str = "govmedia.routing.v1.RoutingService";

/// Short name: the `govmedia serve` argument, the default PostgreSQL schema and SQLite file.
pub const NAME: &str = "routing";

/// Serves the routing service on `listener` until `shutdown`, publishing approved replies into
/// the configured spool directory. The database must be migrated.
pub async fn serve(
    context: ServiceContext,
    config: RoutingConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(ServerError::Config(problems));
    }
    let spool = config.publish.spool_dir.clone().unwrap_or_default();
    let adapter = Arc::new(publish::Spool::new(spool));
    serve_with(context, config, adapter, listener, shutdown).await
}

/// [`serve`], publishing approved replies through `adapter`.
pub async fn serve_with(
    context: ServiceContext,
    config: RoutingConfig,
    adapter: Arc<dyn publish::PlatformAdapter>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    // Read before anything starts: a key that does not load stops the service here.
    let vault = config
        .vault()
        .map_err(|problem| ServerError::Config(vec![problem]))?;
    let (writer, mut background) = server::start(
        &context,
        NAME,
        events::STREAM,
        config.problems_besides_spool(),
        &shutdown,
    )?;
    let registry = grpc::registry(&config, context.identity.clone())?;
    let wake = grpc::Wake::default();
    if config.workers {
        let replica = server::replica_id(NAME);
        let publisher = publish::Publisher::new(
            writer.clone(),
            adapter,
            registry.own_principal(),
            &config.publish,
            &replica,
        );
        background.spawn(publisher.run(wake.publisher.clone(), shutdown.clone()));
        // One replica fires escalations at a time; another takes over within the lease's life.
        let escalator = escalate::Escalator::new(
            writer.clone(),
            registry.own_principal(),
            &config,
            wake.escalator.clone(),
        );
        let leases = Leases::for_bus(&context.bus);
        let stop = shutdown.clone();
        background.spawn(async move {
            lease::lead(
                leases,
                "routing-escalations",
                &replica,
                lease::TTL,
                stop,
                |_, lost| escalator.clone().run(lost),
            )
            .await;
        });
    }
    let api = grpc::RoutingApi::new(
        writer,
        registry,
        vault,
        &config,
        context.calendar.clone(),
        wake,
    );
    let routes = Routes::new(RoutingServiceServer::new(api));
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
