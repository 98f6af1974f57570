//! `govmedia serve <service>`, `govmedia migrate`, and how production commands find a database.

use std::sync::Arc;

use anyhow::Context as _;
use govmedia_kit::{
    CancellationToken,
    auth::TokenKeys,
    clock::Clock,
    db::{Db, redact},
    events::EventBus,
    server::{self, ServiceContext, termination_signal},
    telemetry,
};

use crate::{
    services::{self, Schema},
    settings::Settings,
};

/// Opens the database of `schema` from the settings (`GOVMEDIA_DATABASE_URL`).
pub async fn open(settings: &Settings, schema: &str) -> anyhow::Result<Db> {
    let url = settings
        .database
        .url
        .as_deref()
        .map(redact)
        .unwrap_or_default();
    Db::connect(&settings.database, schema)
        .await
        .with_context(|| format!("opening the {schema} database {url}"))
}

/// Migrates (`migrate`) or checks that no migration is pending.
async fn prepare(db: &Db, schema: &Schema, migrate: bool) -> anyhow::Result<()> {
    if migrate {
        return (schema.migrate)(db.clone())
            .await
            .context("running migrations");
    }
    let pending = (schema.pending)(db.clone(), schema.name)
        .await
        .context("reading the migration state")?;
    anyhow::ensure!(
        pending == 0,
        "{pending} migration(s) of {name} have not run; run `govmedia migrate {name}` or start with --migrate",
        name = schema.name
    );
    Ok(())
}

async fn context(settings: &Settings, db: Db, name: &str) -> anyhow::Result<ServiceContext> {
    let identity = Arc::new(
        settings
            .identity
            .load(name)
            .with_context(|| format!("loading the {name} service's identity"))?,
    );
    if settings.redis.url.is_none() {
        tracing::warn!("no GOVMEDIA_REDIS_URL: events and rate limits stay inside this process");
    }
    let bus = EventBus::from_settings(&settings.redis, settings.events.max_stream_len)
        .await
        .context("connecting to Redis")?;
    Ok(ServiceContext {
        db,
        bus,
        identity,
        events: settings.events.clone(),
        clock: Clock::system(),
        calendar: Arc::new(settings.calendar.load()?),
        listen: settings.listen.clone(),
    })
}

pub async fn run(settings: Settings, name: &str, migrate: bool) -> anyhow::Result<()> {
    let schema = services::find_schema(name)
        .with_context(|| format!("unknown service {name:?}; known: {}", services::names()))?;
    let _telemetry = telemetry::init(&format!("govmedia-{name}"), &settings.telemetry)?;
    // Only the gateway checks the tokens of people and outside systems; a service behind it
    // never holds the secret that signs them.
    let tokens = if name == govmedia_gateway::NAME {
        Some(Arc::new(TokenKeys::from_settings(&settings.auth, false)?))
    } else {
        None
    };
    settings.calendar.load()?;
    settings.check_listen()?;
    settings
        .identity
        .load(name)
        .with_context(|| format!("loading the {name} service's identity"))?;
    if let Some(service) = services::find(name) {
        let problems = (service.problems)(&settings);
        anyhow::ensure!(
            problems.is_empty(),
            "the {name} settings cannot work:\n  {}",
            problems.join("\n  ")
        );
    }
    let db = open(&settings, name).await?;
    prepare(&db, &schema, migrate).await?;
    let context = context(&settings, db, name).await?;
    let shutdown = CancellationToken::new();
    let mut serving = if let Some(tokens) = tokens {
        let grpc = server::bind(settings.gateway.listen).await?;
        let http = server::bind(settings.gateway.http_listen).await?;
        tracing::info!(service = name, addr = %grpc.local_addr()?, http = %http.local_addr()?, "serving");
        let gateway = govmedia_gateway::serve(
            context,
            settings.gateway.clone(),
            tokens,
            grpc,
            http,
            shutdown.clone(),
        );
        tokio::spawn(async move { gateway.await.map_err(anyhow::Error::from) })
    } else {
        let service = services::find(name).with_context(|| format!("{name} is not a service"))?;
        let listener = server::bind((service.listen)(&settings)).await?;
        tracing::info!(service = name, addr = %listener.local_addr()?, "serving");
        let serve = (service.serve)(context, settings, listener, shutdown.clone());
        tokio::spawn(async move { serve.await.map_err(anyhow::Error::from) })
    };
    // A server that stops on its own (it could not start, or it failed) ends the process at
    // once with its error, instead of waiting for a signal that nobody will send.
    let stopped = tokio::select! {
        () = termination_signal() => {
            tracing::info!("shutting down");
            shutdown.cancel();
            None
        }
        stopped = &mut serving => Some(stopped),
    };
    match stopped {
        Some(result) => result.context("the server task failed")??,
        None => serving.await.context("the server task failed")??,
    }
    Ok(())
}

pub async fn migrate(settings: Settings, names: &[String]) -> anyhow::Result<()> {
    let _telemetry = telemetry::init("govmedia-migrate", &settings.telemetry)?;
    let selected: Vec<Schema> = if names.is_empty() {
        // Every service needs its own tables: on PostgreSQL each gets its own schema; a SQLite
        // file or a fixed schema can hold only one service.
        let shared = settings.database.schema.is_some()
            || settings
                .database
                .url
                .as_deref()
                .is_some_and(|url| url.starts_with("sqlite:"));
        anyhow::ensure!(
            !shared,
            "this database can hold one service only; name it: govmedia migrate <{}>",
            services::names().replace(", ", "|")
        );
        services::schemas().into_iter().collect()
    } else {
        names
            .iter()
            .map(|name| {
                services::find_schema(name).with_context(|| {
                    format!("unknown service {name:?}; known: {}", services::names())
                })
            })
            .collect::<Result<_, _>>()?
    };
    for schema in selected {
        let db = open(&settings, schema.name).await?;
        let pending = (schema.pending)(db.clone(), schema.name).await?;
        (schema.migrate)(db)
            .await
            .with_context(|| format!("migrating {}", schema.name))?;
        println!("{}: {pending} migration(s) applied", schema.name);
    }
    Ok(())
}
