//! `govmedia serve <service>` and `govmedia migrate`: production, one service per process.

use std::sync::Arc;

use anyhow::Context as _;
use govmedia_kit::{
    CancellationToken,
    auth::TokenKeys,
    db::{Db, redact},
    events::EventBus,
    server::{self, ServiceContext, termination_signal},
    telemetry,
};

use crate::{
    services::{self, Service},
    settings::Settings,
};

fn service(name: &str) -> anyhow::Result<&'static Service> {
    services::find(name)
        .with_context(|| format!("unknown service {name:?}; known: {}", services::names()))
}

async fn open(settings: &Settings, service: &Service) -> anyhow::Result<Db> {
    let url = settings
        .database
        .url
        .as_deref()
        .map(redact)
        .unwrap_or_default();
    Db::connect(&settings.database, service.name)
        .await
        .with_context(|| format!("opening the {} database {url}", service.name))
}

pub async fn run(settings: Settings, name: &str, migrate: bool) -> anyhow::Result<()> {
    let service = service(name)?;
    let _telemetry = telemetry::init(&format!("govmedia-{name}"), &settings.telemetry)?;
    let keys = Arc::new(TokenKeys::from_settings(&settings.auth, false)?);
    let db = open(&settings, service).await?;
    if migrate {
        (service.migrate)(db.clone())
            .await
            .context("running migrations")?;
    } else {
        let pending = (service.pending)(db.clone())
            .await
            .context("reading the migration state")?;
        anyhow::ensure!(
            pending == 0,
            "{pending} migration(s) of {name} have not run; run `govmedia migrate {name}` or start with --migrate"
        );
    }
    if settings.redis.url.is_none() {
        tracing::warn!(
            "no GOVMEDIA_REDIS_URL: events stay inside this process and reach no other service"
        );
    }
    let bus = EventBus::from_settings(&settings.redis, settings.events.max_stream_len)
        .await
        .context("connecting to Redis")?;
    let addr = (service.listen)(&settings);
    let listener = server::bind(addr).await?;
    tracing::info!(service = name, addr = %listener.local_addr()?, "serving");
    let shutdown = CancellationToken::new();
    let context = ServiceContext {
        db,
        bus,
        keys,
        events: settings.events.clone(),
    };
    let serving = tokio::spawn((service.serve)(
        context,
        settings,
        listener,
        shutdown.clone(),
    ));
    tokio::select! {
        () = termination_signal() => {
            tracing::info!("shutting down");
            shutdown.cancel();
        }
        () = shutdown.cancelled() => {}
    }
    serving.await.context("the server task failed")??;
    Ok(())
}

pub async fn migrate(settings: Settings, names: &[String]) -> anyhow::Result<()> {
    let _telemetry = telemetry::init("govmedia-migrate", &settings.telemetry)?;
    let selected: Vec<&Service> = if names.is_empty() {
        services::SERVICES.iter().collect()
    } else {
        names
            .iter()
            .map(|name| service(name))
            .collect::<Result<_, _>>()?
    };
    for service in selected {
        let db = open(&settings, service).await?;
        let pending = (service.pending)(db.clone()).await?;
        (service.migrate)(db)
            .await
            .with_context(|| format!("migrating {}", service.name))?;
        println!("{}: {pending} migration(s) applied", service.name);
    }
    Ok(())
}
