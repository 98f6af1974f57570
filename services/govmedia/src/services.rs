//! The catalogue: which databases the binary migrates and which services it runs behind the
//! gateway. Adding a service means adding an entry to both (and its section to `Settings`);
//! `dev`, `serve`, `migrate` and the gateway's upstreams pick it up.

use std::{collections::BTreeMap, net::SocketAddr, path::Path};

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

/// A database schema the binary migrates.
pub struct Schema {
    /// Name: the SQLite file (`{name}.db`) and the default PostgreSQL schema.
    pub name: &'static str,
    /// Runs its migrations.
    pub migrate: fn(Db) -> BoxFuture<'static, Result<(), DbErr>>,
    /// How many of its migrations have not run yet (the second argument is its name).
    pub pending: fn(Db, &'static str) -> BoxFuture<'static, Result<usize, DbErr>>,
}

fn schema<M: MigratorTrait + 'static>(name: &'static str) -> Schema {
    Schema {
        name,
        migrate: |db| Box::pin(async move { db.migrate::<M>().await }),
        pending: |db, name| Box::pin(pending::<M>(db, name)),
    }
}

/// How many of `M`'s migrations the database has not run. Migrations the database ran and this
/// binary does not know (a newer release migrated it: expand first, contract later) do not stop
/// it, so that during a rolling upgrade a replica of the release before can still (re)start.
async fn pending<M: MigratorTrait + 'static>(db: Db, name: &'static str) -> Result<usize, DbErr> {
    use sea_orm::{ConnectionTrait as _, Statement};
    let query = Statement::from_string(
        db.conn().get_database_backend(),
        format!("SELECT version FROM {}", M::migration_table_name()),
    );
    let Ok(rows) = db.conn().query_all_raw(query).await else {
        // No migration table yet: nothing ran.
        return M::get_pending_migrations(db.conn()).await.map(|p| p.len());
    };
    let applied: std::collections::BTreeSet<String> = rows
        .iter()
        .filter_map(|row| row.try_get::<String>("", "version").ok())
        .collect();
    let known: Vec<String> = M::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect();
    let ahead = applied
        .iter()
        .filter(|version| !known.contains(version))
        .count();
    if ahead > 0 {
        tracing::info!(
            service = name,
            ahead,
            "the database holds migrations newer than this release (it was upgraded); running on it"
        );
    }
    Ok(known
        .iter()
        .filter(|version| !applied.contains(*version))
        .count())
}

/// Every schema.
pub fn schemas() -> [Schema; 6] {
    [
        schema::<govmedia_registry::Migrator>(govmedia_registry::NAME),
        schema::<govmedia_filing::Migrator>(govmedia_filing::NAME),
        schema::<govmedia_vendor::Migrator>(govmedia_vendor::NAME),
        schema::<govmedia_routing::Migrator>(govmedia_routing::NAME),
        schema::<govmedia_inspection::Migrator>(govmedia_inspection::NAME),
        schema::<govmedia_gateway::Migrator>(govmedia_gateway::NAME),
    ]
}

/// The schema called `name`.
pub fn find_schema(name: &str) -> Option<Schema> {
    schemas().into_iter().find(|schema| schema.name == name)
}

/// How a service is served: context, settings, listener, shutdown → the server future.
pub type ServeFn = fn(
    ServiceContext,
    Settings,
    TcpListener,
    CancellationToken,
) -> BoxFuture<'static, Result<(), ServerError>>;

/// A service behind the gateway.
pub struct Service {
    /// Short name: `govmedia serve <name>`, its schema, and its package (`govmedia.<name>.v1`),
    /// by which the gateway routes to it.
    pub name: &'static str,
    /// Full gRPC service name.
    pub grpc_name: &'static str,
    /// Where it listens, from the settings.
    pub listen: fn(&Settings) -> SocketAddr,
    /// What in its settings cannot work, one line per problem (checked before anything starts).
    pub problems: fn(&Settings) -> Vec<String>,
    /// Serves it until the token is cancelled.
    pub serve: ServeFn,
    /// How `govmedia dev` points it at the services started before it (`started`: name →
    /// address) and keeps its files under the data directory, where production configures each.
    /// Fails when a file it needs cannot be made.
    pub wire_dev: fn(&mut Settings, &BTreeMap<String, String>, &Path) -> anyhow::Result<()>,
}

/// Every service behind the gateway, in start order (a service calls only those before it).
pub const SERVICES: &[Service] = &[
    Service {
        name: govmedia_registry::NAME,
        grpc_name: govmedia_registry::SERVICE_NAME,
        listen: |settings| settings.registry.listen,
        problems: |settings| settings.registry.problems(),
        serve: |context, settings, listener, shutdown| {
            Box::pin(govmedia_registry::serve(
                context,
                settings.registry,
                listener,
                shutdown,
            ))
        },
        wire_dev: |_, _, _| Ok(()),
    },
    Service {
        name: govmedia_filing::NAME,
        grpc_name: govmedia_filing::SERVICE_NAME,
        listen: |settings| settings.filing.listen,
        problems: |settings| settings.filing.problems(),
        serve: |context, settings, listener, shutdown| {
            Box::pin(govmedia_filing::serve(
                context,
                settings.filing,
                listener,
                shutdown,
            ))
        },
        wire_dev: |settings, started, _| {
            if let Some(registry) = started.get(govmedia_registry::NAME) {
                settings.filing.registry_endpoint = registry.clone();
            }
            if settings.filing.system_organization.is_empty() {
                settings.filing.system_organization = crate::demo::ROOT.to_owned();
            }
            // Inspection starts later (it asks filing for rosters); filing asks it about
            // rectification orders only when a closure is enforced or resumed, at the address
            // dev binds it to (loopback, checked when it starts).
            settings.filing.inspection_endpoint = format!("http://{}", settings.inspection.listen);
            Ok(())
        },
    },
    Service {
        name: govmedia_vendor::NAME,
        grpc_name: govmedia_vendor::SERVICE_NAME,
        listen: |settings| settings.vendor.listen,
        problems: |settings| settings.vendor.problems(),
        serve: |context, settings, listener, shutdown| {
            Box::pin(govmedia_vendor::serve(
                context,
                settings.vendor,
                listener,
                shutdown,
            ))
        },
        wire_dev: |settings, started, _| {
            if let Some(registry) = started.get(govmedia_registry::NAME) {
                settings.vendor.registry_endpoint = registry.clone();
            }
            if let Some(filing) = started.get(govmedia_filing::NAME) {
                settings.vendor.filing_endpoint = filing.clone();
            }
            if settings.vendor.system_organization.is_empty() {
                settings.vendor.system_organization = crate::demo::ROOT.to_owned();
            }
            Ok(())
        },
    },
    Service {
        name: govmedia_routing::NAME,
        grpc_name: govmedia_routing::SERVICE_NAME,
        listen: |settings| settings.routing.listen,
        problems: |settings| settings.routing.problems(),
        serve: |context, settings, listener, shutdown| {
            Box::pin(govmedia_routing::serve(
                context,
                settings.routing,
                listener,
                shutdown,
            ))
        },
        wire_dev: |settings, started, data_dir| {
            if let Some(registry) = started.get(govmedia_registry::NAME) {
                settings.routing.registry_endpoint = registry.clone();
            }
            if settings.routing.system_organization.is_empty() {
                settings.routing.system_organization = crate::demo::ROOT.to_owned();
            }
            let routing = &mut settings.routing;
            if routing.contact_key.is_empty() && routing.contact_key_file.is_none() {
                routing.contact_key_file = Some(crate::dev::secret_file(
                    data_dir,
                    "routing-contact.key",
                    govmedia_routing::personal::Vault::generate_hex,
                )?);
            }
            if routing.publish.spool_dir.is_none() {
                routing.publish.spool_dir = Some(data_dir.join("replies"));
            }
            Ok(())
        },
    },
    Service {
        name: govmedia_inspection::NAME,
        grpc_name: govmedia_inspection::SERVICE_NAME,
        listen: |settings| settings.inspection.listen,
        problems: |settings| settings.inspection.problems(),
        serve: |context, settings, listener, shutdown| {
            Box::pin(govmedia_inspection::serve(
                context,
                settings.inspection,
                listener,
                shutdown,
            ))
        },
        wire_dev: |settings, started, _| {
            let inspection = &mut settings.inspection;
            if let Some(registry) = started.get(govmedia_registry::NAME) {
                inspection.registry_endpoint = registry.clone();
            }
            if let Some(routing) = started.get(govmedia_routing::NAME) {
                inspection.routing_endpoint = routing.clone();
            }
            if let Some(vendor) = started.get(govmedia_vendor::NAME) {
                inspection.vendor_endpoint = vendor.clone();
            }
            if let Some(filing) = started.get(govmedia_filing::NAME) {
                inspection.filing_endpoint = filing.clone();
            }
            if settings.inspection.system_organization.is_empty() {
                settings.inspection.system_organization = crate::demo::ROOT.to_owned();
            }
            Ok(())
        },
    },
];

/// The service called `name`.
pub fn find(name: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|service| service.name == name)
}

/// Every name `serve` accepts, for messages.
pub fn names() -> String {
    let mut names: Vec<&str> = SERVICES.iter().map(|s| s.name).collect();
    names.push(govmedia_gateway::NAME);
    names.join(", ")
}
