//! `govmedia dev`: every service in one process, SQLite files under the data directory,
//! in-process events, the development token secret, 127.0.0.1 only.

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context as _;
use govmedia_kit::{
    CancellationToken,
    auth::{Role, TokenKeys},
    config::DatabaseSettings,
    db::Db,
    events::EventBus,
    server::{self, ServiceContext, termination_signal},
    telemetry,
};
use tokio::task::JoinSet;

use crate::{demo, services::SERVICES, settings::Settings};

pub async fn run(settings: Settings, data_dir: PathBuf, load_demo: bool) -> anyhow::Result<()> {
    let _telemetry = telemetry::init("govmedia", &settings.telemetry)?;
    if settings.database.url.is_some() || settings.redis.url.is_some() {
        tracing::warn!(
            "`govmedia dev` ignores GOVMEDIA_DATABASE_URL and GOVMEDIA_REDIS_URL; use `govmedia serve` for them"
        );
    }
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let data_dir = data_dir.canonicalize()?;
    let keys = Arc::new(TokenKeys::from_settings(&settings.auth, true)?);
    let bus = EventBus::memory(settings.events.max_stream_len);
    let shutdown = CancellationToken::new();
    let mut servers = JoinSet::new();
    let mut listening = Vec::new();

    for service in SERVICES {
        let database = DatabaseSettings {
            url: Some(format!(
                "sqlite://{}?mode=rwc",
                data_dir.join(format!("{}.db", service.name)).display()
            )),
            ..settings.database.clone()
        };
        let db = Db::connect(&database, service.name)
            .await
            .with_context(|| format!("opening the {} database", service.name))?;
        (service.migrate)(db.clone())
            .await
            .with_context(|| format!("migrating the {} database", service.name))?;
        let addr = (service.listen)(&settings);
        // The development secret is public: dev never listens beyond this machine.
        anyhow::ensure!(
            addr.ip().is_loopback(),
            "`govmedia dev` listens on loopback only, but {} is set to {addr}; use `govmedia serve` to serve a network",
            service.name
        );
        let listener = server::bind(addr).await.with_context(|| {
            format!(
                "starting {} (is another govmedia already running?)",
                service.name
            )
        })?;
        listening.push((service, listener.local_addr()?));
        let context = ServiceContext {
            db,
            bus: bus.clone(),
            keys: keys.clone(),
            events: settings.events.clone(),
        };
        let serve = (service.serve)(context, settings.clone(), listener, shutdown.clone());
        servers.spawn(async move { (service.name, serve.await) });
    }

    let (_, registry_addr) = listening[0];
    let registry_uri = format!("http://{registry_addr}");
    if load_demo {
        let token = keys.issue(
            "govmedia-demo",
            demo::ROOT,
            &[Role::System],
            Duration::from_secs(600),
        )?;
        let summary = demo::load(&registry_uri, &token)
            .await
            .context("loading the demo data")?;
        println!("{summary}");
    }

    let token = keys.issue(
        "developer",
        demo::ROOT,
        &[Role::Supervisor, Role::Auditor, Role::System],
        Duration::from_secs(settings.auth.token_ttl_secs),
    )?;
    println!(
        "\ngovmedia dev is running (SQLite files in {}, events in-process):",
        data_dir.display()
    );
    for (service, addr) in &listening {
        println!("  {:<10} {:<42} {addr}", service.name, service.grpc_name);
    }
    println!(
        "\nA development token (organization {root}, roles supervisor+auditor+system, valid {hours} h):\n\n  \
         export TOKEN={token}\n\n\
         Try:\n\n  \
         grpcurl -plaintext {registry_addr} list\n  \
         grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" -d '{{\"group_by\":[\"COUNT_DIMENSION_PLATFORM\"]}}' \\\n    \
         {registry_addr} govmedia.registry.v1.RegistryService/CountAccounts\n\n\
         Stop with Ctrl-C.",
        root = demo::ROOT,
        hours = settings.auth.token_ttl_secs / 3600,
    );

    let outcome = tokio::select! {
        () = termination_signal() => {
            tracing::info!("shutting down");
            Ok(())
        }
        Some(joined) = servers.join_next() => match joined {
            Ok((name, Ok(()))) => Err(anyhow::anyhow!("{name} stopped unexpectedly")),
            Ok((name, Err(error))) => Err(anyhow::anyhow!("{name} failed: {error}")),
            Err(error) => Err(anyhow::anyhow!("a server task failed: {error}")),
        },
    };
    shutdown.cancel();
    while let Some(joined) = servers.join_next().await {
        if let Ok((name, Err(error))) = joined {
            tracing::warn!(service = name, %error, "stopped with an error");
        }
    }
    outcome
}
