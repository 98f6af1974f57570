//! `govmedia dev`: every service in one process behind the gateway, SQLite files under the data
//! directory, in-process events and rate limits, the development token secret, loopback only.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context as _;
use govmedia_kit::{
    CancellationToken,
    auth::{Role, TokenKeys},
    clock::Clock,
    config::DatabaseSettings,
    db::Db,
    events::EventBus,
    identity::Keyring,
    server::{self, ServiceContext, termination_signal},
    telemetry,
};
use tokio::task::JoinSet;

use govmedia_registry_client::RegistryClient;

use crate::{
    demo,
    services::{SERVICES, find_schema},
    settings::Settings,
};

/// The development secret is public: dev never listens beyond this machine.
fn loopback(what: &str, addr: SocketAddr) -> anyhow::Result<SocketAddr> {
    anyhow::ensure!(
        addr.ip().is_loopback(),
        "`govmedia dev` listens on loopback only, but {what} is set to {addr}; use `govmedia serve` to serve a network"
    );
    Ok(addr)
}

async fn open(settings: &Settings, data_dir: &std::path::Path, name: &str) -> anyhow::Result<Db> {
    let database = DatabaseSettings {
        url: Some(format!(
            "sqlite://{}?mode=rwc",
            data_dir.join(format!("{name}.db")).display()
        )),
        ..settings.database.clone()
    };
    let db = Db::connect(&database, name)
        .await
        .with_context(|| format!("opening the {name} database"))?;
    let schema = find_schema(name).with_context(|| format!("no schema {name}"))?;
    (schema.migrate)(db.clone())
        .await
        .with_context(|| format!("migrating the {name} database"))?;
    Ok(db)
}

/// The secret kept in `name` under the data directory, made with `make` on first use and
/// readable by its owner alone: the SQLite files it protects outlive the process, so the key
/// must too.
pub fn secret_file<E: std::fmt::Display>(
    data_dir: &std::path::Path,
    name: &str,
    make: fn() -> Result<String, E>,
) -> anyhow::Result<PathBuf> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = data_dir.join(name);
    if path.exists() {
        return Ok(path);
    }
    let secret = make().map_err(|error| anyhow::anyhow!("making {name}: {error}"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "{secret}").with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

pub async fn run(mut settings: Settings, data_dir: PathBuf, load_demo: bool) -> anyhow::Result<()> {
    let _telemetry = telemetry::init("govmedia", &settings.telemetry)?;
    if settings.database.url.is_some() || settings.redis.url.is_some() {
        tracing::warn!(
            "`govmedia dev` ignores GOVMEDIA_DATABASE_URL and GOVMEDIA_REDIS_URL; use `govmedia serve` for them"
        );
    }
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let data_dir = data_dir.canonicalize()?;
    let tokens = Arc::new(TokenKeys::from_settings(&settings.auth, true)?);
    settings.check_listen()?;
    // One process runs every service, so it holds every service's key; fresh ones each start
    // (identities live minutes, nothing signed with them outlives the process).
    let mut names: Vec<&str> = SERVICES.iter().map(|service| service.name).collect();
    names.push(govmedia_gateway::NAME);
    let keyring = Keyring::generate(&names)?;
    let bus = EventBus::memory(settings.events.max_stream_len);
    let calendar = Arc::new(settings.calendar.load()?);
    let shutdown = CancellationToken::new();
    let mut servers = JoinSet::new();
    let events = settings.events.clone();
    let listen = settings.listen.clone();
    let context = |db, name: &str| -> anyhow::Result<ServiceContext> {
        Ok(ServiceContext {
            db,
            bus: bus.clone(),
            identity: Arc::new(keyring.identity(name)?),
            events: events.clone(),
            clock: Clock::system(),
            calendar: calendar.clone(),
            listen: listen.clone(),
        })
    };

    let mut listening = Vec::new();
    settings.gateway.upstreams.clear();
    for service in SERVICES {
        let started = settings.gateway.upstreams.clone();
        (service.wire_dev)(&mut settings, &started, &data_dir)?;
        let problems = (service.problems)(&settings);
        anyhow::ensure!(
            problems.is_empty(),
            "the {} settings cannot work:\n  {}",
            service.name,
            problems.join("\n  ")
        );
        let db = open(&settings, &data_dir, service.name).await?;
        let addr = loopback(service.name, (service.listen)(&settings))?;
        let listener = server::bind(addr).await.with_context(|| {
            format!(
                "starting {} (is another govmedia already running?)",
                service.name
            )
        })?;
        let addr = listener.local_addr()?;
        listening.push((service.name, service.grpc_name, addr));
        settings
            .gateway
            .upstreams
            .insert(service.name.to_owned(), format!("http://{addr}"));
        let serve = (service.serve)(
            context(db, service.name)?,
            settings.clone(),
            listener,
            shutdown.clone(),
        );
        servers.spawn(async move { (service.name, serve.await.map_err(anyhow::Error::from)) });
    }

    let gateway_db = open(&settings, &data_dir, govmedia_gateway::NAME).await?;
    let grpc = server::bind(loopback("gateway.listen", settings.gateway.listen)?)
        .await
        .context("starting the gateway (is another govmedia already running?)")?;
    let http = server::bind(loopback(
        "gateway.http_listen",
        settings.gateway.http_listen,
    )?)
    .await
    .context("starting the gateway's HTTP/JSON port")?;
    let (gateway_addr, http_addr) = (grpc.local_addr()?, http.local_addr()?);
    let gateway = govmedia_gateway::serve(
        context(gateway_db, govmedia_gateway::NAME)?,
        settings.gateway.clone(),
        tokens.clone(),
        grpc,
        http,
        shutdown.clone(),
    );
    servers.spawn(async move {
        (
            govmedia_gateway::NAME,
            gateway.await.map_err(anyhow::Error::from),
        )
    });

    if load_demo {
        // Straight to the registry: the loader is one trusted client, not a caller to rate-limit.
        let registry = listening
            .iter()
            .find(|(name, ..)| *name == govmedia_registry::NAME)
            .map(|(.., addr)| format!("http://{addr}"))
            .context("no registry to load the demo into")?;
        let client = RegistryClient::new(
            &registry,
            Duration::from_secs(30),
            Arc::new(keyring.identity(govmedia_filing::NAME)?),
            demo::ROOT,
        )?;
        let vendor = listening
            .iter()
            .find(|(name, ..)| *name == govmedia_vendor::NAME)
            .map(|(.., addr)| format!("http://{addr}"))
            .context("no vendor service to load the demo into")?;
        let vendors = demo::Loader::new(&vendor, keyring.identity(govmedia_gateway::NAME)?)?;
        let inspection = listening
            .iter()
            .find(|(name, ..)| *name == govmedia_inspection::NAME)
            .map(|(.., addr)| format!("http://{addr}"))
            .context("no inspection service to load the demo posts into")?;
        let posts = demo::Loader::new(&inspection, keyring.identity(govmedia_gateway::NAME)?)?;
        let summary = demo::load(&client, &vendors, &posts)
            .await
            .context("loading the demo data")?;
        println!("{summary}");
    }

    let token = tokens.issue(
        "developer",
        demo::ROOT,
        &[Role::Supervisor, Role::Auditor],
        Duration::from_secs(settings.auth.token_ttl_secs),
    )?;
    println!(
        "\ngovmedia dev is running (SQLite files in {}, events in-process):",
        data_dir.display()
    );
    println!(
        "  {:<10} {:<42} {gateway_addr}  <- use this address",
        "gateway", "every govmedia service (gRPC)"
    );
    println!(
        "  {:<10} {:<42} http://{http_addr}",
        "", "HTTP/JSON, /healthz, /metrics"
    );
    for (name, grpc_name, addr) in &listening {
        println!("  {name:<10} {grpc_name:<42} {addr}");
    }
    println!(
        "\nA development token (organization {root}, roles supervisor+auditor, valid {hours} h):\n\n  \
         export TOKEN={token}\n\n\
         Try:\n\n  \
         grpcurl -plaintext {gateway_addr} list\n  \
         grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" -d '{{\"group_by\":[\"COUNT_DIMENSION_PLATFORM\"]}}' \\\n    \
         {gateway_addr} govmedia.registry.v1.RegistryService/CountAccounts\n  \
         curl -s -H \"authorization: Bearer $TOKEN\" -H 'content-type: application/json' -d '{{}}' \\\n    \
         http://{http_addr}/v1/govmedia.registry.v1.RegistryService/CountAccounts\n\n\
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
            Ok((name, Err(error))) => Err(anyhow::anyhow!("{name} failed: {error:#}")),
            Err(error) => Err(anyhow::anyhow!("a server task failed: {error}")),
        },
    };
    shutdown.cancel();
    while let Some(joined) = servers.join_next().await {
        if let Ok((name, Err(error))) = joined {
            tracing::warn!(service = name, error = %format!("{error:#}"), "stopped with an error");
        }
    }
    outcome
}
