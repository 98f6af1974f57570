//! The catalogue of services the binary can run. Adding a service means adding one entry here
//! (and its section to `Settings`); `dev`, `serve` and `migrate` pick it up.

use std::net::SocketAddr;

use futures::future::BoxFuture;
use govmedia_kit::{
    CancellationToken,
    db::Db,
    server::{ServerError, ServiceContext},
};
use sea_orm::DbErr;
use sea_orm_migration::MigratorTrait;
use tokio::net::TcpListener;

use crate::settings::Settings;

/// How a service is served: context, settings, listener, shutdown → the server future.
pub type ServeFn = fn(
    ServiceContext,
    Settings,
    TcpListener,
    CancellationToken,
) -> BoxFuture<'static, Result<(), ServerError>>;

/// One runnable service.
pub struct Service {
    /// Short name: `govmedia serve <name>`, the SQLite file and the PostgreSQL schema.
    pub name: &'static str,
    /// Full gRPC service name.
    pub grpc_name: &'static str,
    /// Where it listens, from the settings.
    pub listen: fn(&Settings) -> SocketAddr,
    /// Migrates its database.
    pub migrate: fn(Db) -> BoxFuture<'static, Result<(), DbErr>>,
    /// How many of its migrations have not run yet.
    pub pending: fn(Db) -> BoxFuture<'static, Result<usize, DbErr>>,
    /// Serves it until the token is cancelled.
    pub serve: ServeFn,
}

/// Every service, in start order.
pub const SERVICES: &[Service] = &[Service {
    name: govmedia_registry::NAME,
    grpc_name: govmedia_registry::SERVICE_NAME,
    listen: |settings| settings.registry.listen,
    migrate: |db| Box::pin(async move { db.migrate::<govmedia_registry::Migrator>().await }),
    pending: |db| {
        Box::pin(async move {
            govmedia_registry::Migrator::get_pending_migrations(db.conn())
                .await
                .map(|pending| pending.len())
        })
    },
    serve: |context, settings, listener, shutdown| {
        Box::pin(govmedia_registry::serve(
            context,
            settings.registry,
            listener,
            shutdown,
        ))
    },
}];

/// The service called `name`.
pub fn find(name: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|service| service.name == name)
}

/// The names, for messages.
pub fn names() -> String {
    SERVICES
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}
