//! The gateway: govmedia's one front door. See ARCHITECTURE.md ("Trust") for why it exists and
//! what it vouches for.
//!
//! Rooms as in every service: [`config`], [`error`], [`grpc`] (the gRPC port: local health and
//! reflection, everything else admitted and forwarded), [`http`] (the HTTP/JSON port),
//! [`domain`] (deadlines, GCRA, API-key format; no I/O), [`store`] (API keys), [`events`].
//! Beside them: [`gate`] (admission, shared by both ports), [`credentials`], [`ratelimit`],
//! [`health`], [`metrics`], and [`apikeys`] (what `govmedia apikey` does).

#![forbid(unsafe_code)]

pub mod apikeys;
pub mod codec;
pub mod config;
pub mod credentials;
pub mod domain;
pub mod error;
pub mod events;
pub mod gate;
pub mod grpc;
pub mod health;
pub mod http;
pub mod metrics;
pub mod ratelimit;
pub mod store;

use std::{sync::Arc, time::Duration};

use govmedia_kit::{
    CancellationToken,
    auth::TokenKeys,
    events::{EventBus, outbox::OutboxSignal},
    server::{self, ServerError, ServiceContext},
};
use tokio::net::TcpListener;

pub use config::GatewayConfig;
pub use store::Migrator;

/// Short name: `govmedia serve gateway`, the SQLite file and the PostgreSQL schema.
pub const NAME: &str = "gateway";

/// The gateway could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration is unusable.
    #[error(transparent)]
    Build(#[from] gate::BuildError),
    /// The external token keys are unusable.
    #[error(transparent)]
    Keys(#[from] credentials::KeyConfigError),
    /// The gRPC port failed.
    #[error(transparent)]
    Grpc(#[from] ServerError),
    /// The Redis of the rate limits cannot be reached.
    #[error("rate limits: cannot reach Redis at gateway.rate_limit.redis_url: {0}")]
    LimiterRedis(#[from] redis::RedisError),
}

/// Where rate budgets are kept: in Redis when the deployment has one (the bus's, or
/// `rate_limit.redis_url`), else in this process.
async fn limiter(
    bus: &EventBus,
    config: &config::RateLimitConfig,
    metrics: &metrics::Metrics,
) -> Result<ratelimit::RateLimiter, ServeError> {
    let settings = ratelimit::SharedSettings {
        lease_cells: config.lease_cells,
        timeout: Duration::from_millis(config.redis_timeout_ms.max(1)),
    };
    let limiter_metrics = metrics.limiter().clone();
    Ok(match (&config.redis_url, bus) {
        (Some(url), _) => {
            let conn = redis::Client::open(url.as_str())?
                .get_connection_manager()
                .await?;
            let prefix = match bus {
                EventBus::Redis(bus) => bus.prefix().to_owned(),
                EventBus::Memory(_) => "govmedia:".to_owned(),
            };
            ratelimit::RateLimiter::redis(conn, &prefix, settings, limiter_metrics)
        }
        (None, EventBus::Redis(bus)) => {
            ratelimit::RateLimiter::redis(bus.connection(), bus.prefix(), settings, limiter_metrics)
        }
        (None, EventBus::Memory(_)) => ratelimit::RateLimiter::memory(),
    })
}

/// Serves the gateway on `grpc` and `http` until `shutdown`, accepting govmedia tokens signed
/// with `tokens` (besides external tokens and API keys) and passing callers on with the
/// context's identity. The database (API keys) must be migrated. Rate limits live in Redis when
/// the context's bus is Redis, else in this process.
pub async fn serve(
    context: ServiceContext,
    config: GatewayConfig,
    tokens: Arc<TokenKeys>,
    grpc: TcpListener,
    http: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let external = credentials::ExternalVerifier::from_config(&config.jwt)?;
    let authenticator = credentials::Authenticator::new(
        context.clock.clone(),
        tokens,
        external,
        context.db.clone(),
        Duration::from_secs(config.api_key_cache_secs),
        domain::gcra::Quota::per_minute(
            config.api_key_lookups_per_minute,
            config.api_key_lookup_burst,
        ),
    );
    let minter = credentials::Minter::new(context.identity.clone());
    let metrics = metrics::Metrics::default();
    let limiter = limiter(&context.bus, &config.rate_limit, &metrics).await?;
    let interval = Duration::from_millis(config.health_interval_ms.max(100));
    let gateway = gate::Gateway::new(config, authenticator, minter, limiter, metrics)?;

    let (reporter, health_service) = tonic_health::server::health_reporter();
    let background =
        server::spawn_background(&context, NAME, OutboxSignal::default(), shutdown.clone());
    let watcher = health::spawn_watcher(gateway.clone(), reporter, interval, shutdown.clone());
    let listen = context.listen.clone();
    let grpc_port = grpc::serve(
        gateway.clone(),
        health_service,
        grpc,
        &listen,
        shutdown.clone(),
    );
    let http_port = http::serve(gateway, http, &listen, shutdown.clone());
    // Whichever port stops first (on shutdown or failure) stops the other.
    let (grpc_result, ()) = tokio::join!(
        async {
            let result = grpc_port.await;
            shutdown.cancel();
            result
        },
        async {
            http_port.await;
            shutdown.cancel();
        }
    );
    let _ = watcher.await;
    let _ = background.await;
    grpc_result?;
    Ok(())
}
