//! The filing service (备案): openings, changes, suspensions and cancellations of accounts,
//! consented by the unit's leader, decided by the management department of the unit's
//! own level and applied to the registry exactly once. See
//! `proto/govmedia/filing/v1` for the contract and ARCHITECTURE.md for where it sits.
//!
//! Same rooms as every govmedia service: [`config`], [`error`], [`grpc`] (handlers,
//! proto↔domain conversion, and the registry client), [`domain`] (rules, no I/O), [`store`]
//! (entities, migrations, queries), [`events`] (what it publishes); plus its background tasks,
//! [`apply`], [`reminders`] and [`national::reporter`], and the adapters to the national
//! reporting system in [`national`].

#![forbid(unsafe_code)]

pub mod apply;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod national;
pub mod reminders;
pub mod store;

use std::time::Duration;

use govmedia_kit::{
    CancellationToken,
    lease::{self, Leases},
    server::{self, ServerError, ServiceContext},
};
use govmedia_proto::filing::v1::filing_service_server::FilingServiceServer;
use tokio::net::TcpListener;
use tonic::service::Routes;

pub use config::FilingConfig;
pub use store::Migrator;

/// Full gRPC name of the service (health checks use it).
pub const SERVICE_NAME: &str = "govmedia.filing.v1.FilingService";

/// Short name: the `govmedia serve` argument, the default PostgreSQL schema and SQLite file.
pub const NAME: &str = "filing";

/// Serves the filing service on `listener` until `shutdown`, relaying its outbox, applying
/// accepted filings and sending reminders meanwhile. The database must be migrated.
pub async fn serve(
    context: ServiceContext,
    config: FilingConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let (writer, mut background) =
        server::start(&context, NAME, events::STREAM, config.problems(), &shutdown)?;
    let deadlines = grpc::Deadlines::new(&config, context.calendar.clone());
    let registry = grpc::Registry::new(&config, context.identity.clone())?;

    let wake = grpc::Wake::default();
    if config.workers {
        let replica = server::replica_id(NAME);
        let applier = apply::Applier::new(writer.clone(), registry.clone(), &config, &replica)
            .waking(wake.reporter.clone());
        background.spawn(applier.run(wake.applier.clone(), shutdown.clone()));
        let reminder = reminders::Reminder::new(
            writer.clone(),
            registry.own_principal(),
            deadlines.clone(),
            Duration::from_millis(config.reminder_interval_ms),
        );
        // One replica reminds at a time; another takes over within the lease's life.
        let leases = Leases::for_bus(&context.bus);
        let (owner, stop) = (replica.clone(), shutdown.clone());
        background.spawn(async move {
            lease::lead(
                leases,
                "filing-reminders",
                &owner,
                lease::TTL,
                stop,
                |_, lost| reminder.clone().run(lost),
            )
            .await;
        });
        if let Some(reporter) = national::reporter::Reporter::from_config(
            writer.clone(),
            registry.own_principal(),
            &config.national,
            &replica,
        ) {
            background.spawn(reporter.run(wake.reporter.clone(), shutdown.clone()));
        }
    }

    let inspection = if config.inspection_endpoint.is_empty() {
        None
    } else {
        Some(govmedia_kit::client::Peer::new(
            &config.inspection_endpoint,
            Duration::from_millis(config.inspection_timeout_ms),
            context.identity.clone(),
            &config.system_organization,
            "inspection",
        )?)
    };
    let api = grpc::FilingApi::new(writer, registry, inspection, deadlines, wake);
    let routes = Routes::new(FilingServiceServer::new(api));
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
