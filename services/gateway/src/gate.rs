//! The gateway's shared state and the admission every call passes, whatever the transport:
//! route (which upstream serves the method), authenticate, authorize (the method's roles from
//! the proto option), spend the caller's rate budget, and decide the deadline.

use std::{
    collections::{BTreeMap, HashMap},
    net::IpAddr,
    sync::{Arc, RwLock},
    time::Duration,
};

use govmedia_kit::auth;
use govmedia_kit::endpoints::Target;
use govmedia_proto::{MethodRule, common::v1::MethodClass};
use prost_reflect::DescriptorPool;

use crate::{
    config::GatewayConfig,
    credentials::{self, Authenticator, Caller, Minter},
    domain::{deadline, gcra::Quota},
    error::GatewayError,
    grpc::origin::Origin,
    metrics::Metrics,
    ratelimit::{LocalBudgets, RateLimiter},
};

/// A gateway that cannot be built from its configuration.
#[derive(Debug, thiserror::Error)]
#[error("gateway: {0}")]
pub struct BuildError(pub String);

/// Cheap to clone; every clone is the same gateway.
#[derive(Clone, Debug)]
pub struct Gateway(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    config: GatewayConfig,
    auth: Authenticator,
    minter: Minter,
    limiter: RateLimiter,
    /// Each upstream by service package: where it is and how it is called.
    upstreams: HashMap<String, Origin>,
    read_quota: Quota,
    write_quota: Quota,
    /// Failed authentications per peer address and per API key id.
    failures_by_source: LocalBudgets<IpAddr>,
    failures_by_key: LocalBudgets<String>,
    source_failure_quota: Quota,
    key_failure_quota: Quota,
    metrics: Metrics,
    pool: DescriptorPool,
    /// Methods whose request is a stream of messages (never taken whole, never sent twice).
    client_streams: std::collections::HashSet<String>,
    health: RwLock<BTreeMap<String, bool>>,
    /// Set when the gateway is told to stop: it reports NOT_SERVING from then on.
    stopping: std::sync::atomic::AtomicBool,
}

/// A call that may go through.
#[derive(Debug)]
pub struct Admission<'g> {
    /// Who (shared by every call with the same credential).
    pub caller: Arc<Caller>,
    /// The method's access rule.
    pub rule: &'static MethodRule,
    /// The upstream's service package, e.g. `registry`.
    pub service: &'static str,
    /// Where it is and how it is called.
    pub origin: &'g Origin,
}

/// The address a request came from (every port's connections carry it).
pub fn peer_of<B>(request: &http::Request<B>) -> Option<IpAddr> {
    request
        .extensions()
        .get::<tonic::transport::server::TcpConnectInfo>()
        .and_then(|info| info.remote_addr)
        .map(|addr| addr.ip())
}

/// The service package of a govmedia path: `/govmedia.registry.v1.X/Y` → `registry`.
pub fn package_of(path: &str) -> Option<&str> {
    path.strip_prefix("/govmedia.")?.split('.').next()
}

impl Gateway {
    /// A gateway from its parts; upstream channels connect lazily.
    pub fn new(
        config: GatewayConfig,
        auth: Authenticator,
        minter: Minter,
        limiter: RateLimiter,
        metrics: Metrics,
    ) -> Result<Gateway, BuildError> {
        let mut upstreams = HashMap::new();
        let timeout = Duration::from_millis(config.max_timeout_ms);
        // Every unusable upstream is named, by its setting, before any is used.
        let problems: Vec<String> = config
            .upstreams
            .iter()
            .filter_map(|(service, uri)| {
                govmedia_kit::endpoints::problem(&format!("gateway.upstreams.{service}"), uri)
            })
            .collect();
        if !problems.is_empty() {
            return Err(BuildError(problems.join("; ")));
        }
        for (service, uri) in &config.upstreams {
            let origin = Target::parse(uri)
                .map_err(|error| error.0)
                .and_then(|target| Origin::new(target, timeout))
                .map_err(|error| BuildError(format!("gateway.upstreams.{service}: {error}")))?;
            upstreams.insert(service.clone(), origin);
        }
        let mut pool = DescriptorPool::new();
        for set in [
            govmedia_proto::FILE_DESCRIPTOR_SET,
            tonic_types::pb::FILE_DESCRIPTOR_SET,
        ] {
            pool.decode_file_descriptor_set(set)
                .map_err(|error| BuildError(format!("descriptors: {error}")))?;
        }
        let client_streams = pool
            .services()
            .flat_map(|service| service.methods().collect::<Vec<_>>())
            .filter(|method| method.is_client_streaming())
            .map(|method| format!("/{}/{}", method.parent_service().full_name(), method.name()))
            .collect();
        let limits = &config.rate_limit;
        let failures = &config.auth_failures;
        Ok(Gateway(Arc::new(Inner {
            failures_by_source: LocalBudgets::default(),
            failures_by_key: LocalBudgets::default(),
            source_failure_quota: Quota::per_minute(
                failures.per_source_per_minute,
                failures.per_source_burst,
            ),
            key_failure_quota: Quota::per_minute(
                failures.per_key_per_minute,
                failures.per_key_burst,
            ),
            read_quota: Quota::per_minute(limits.reads_per_minute, limits.read_burst),
            write_quota: Quota::per_minute(limits.writes_per_minute, limits.write_burst),
            limiter: if limits.enabled {
                limiter
            } else {
                RateLimiter::Disabled
            },
            config,
            auth,
            minter,
            upstreams,
            metrics,
            pool,
            client_streams,
            health: RwLock::new(BTreeMap::new()),
            stopping: std::sync::atomic::AtomicBool::new(false),
        })))
    }

    /// The configuration.
    pub fn config(&self) -> &GatewayConfig {
        &self.0.config
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Every govmedia descriptor (and google.rpc's), for transcoding.
    pub fn pool(&self) -> &DescriptorPool {
        &self.0.pool
    }

    /// The rate limiter.
    pub fn limiter(&self) -> &RateLimiter {
        &self.0.limiter
    }

    /// The upstreams by service package.
    pub fn upstreams(&self) -> &HashMap<String, Origin> {
        &self.0.upstreams
    }

    /// Records an upstream service's health (by full gRPC service name).
    pub fn set_health(&self, service: &str, serving: bool) {
        let mut health = self
            .0
            .health
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        health.insert(service.to_owned(), serving);
    }

    /// Whether the request of the method at `path` is a single message (not a client stream).
    pub fn single_request(&self, path: &str) -> bool {
        !self.0.client_streams.contains(path)
    }

    /// Marks the gateway as stopping: its health is NOT_SERVING from now on.
    pub fn set_stopping(&self) {
        self.0
            .stopping
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Whether the gateway was told to stop.
    pub fn stopping(&self) -> bool {
        self.0.stopping.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Every upstream service's last known health.
    pub fn health(&self) -> BTreeMap<String, bool> {
        self.0
            .health
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The deadline for a call that asked for `requested` (`grpc-timeout`).
    pub fn deadline(&self, requested: Option<Duration>) -> Duration {
        deadline::effective(
            requested,
            Duration::from_millis(self.0.config.default_timeout_ms),
            Duration::from_millis(self.0.config.max_timeout_ms),
        )
    }

    /// The `authorization` value that carries `caller` to the `service` upstream.
    pub fn identity(
        &self,
        caller: &Caller,
        service: &str,
    ) -> Result<http::HeaderValue, GatewayError> {
        self.0.minter.authorization(caller, service)
    }

    /// Refuses metadata larger than `max_metadata_bytes` (names and values), on either port.
    pub fn check_metadata(&self, headers: &http::HeaderMap) -> Result<(), GatewayError> {
        let size: usize = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        let max = self.0.config.max_metadata_bytes;
        if size > max {
            return Err(GatewayError::MetadataTooLarge { size, max });
        }
        Ok(())
    }

    /// The caller behind `headers`, within the failure budgets: an API key id that failed too
    /// often is refused before its secret is looked at, and a failure past its address's or
    /// key id's budget is answered RESOURCE_EXHAUSTED instead of UNAUTHENTICATED.
    async fn authenticate(
        &self,
        headers: &http::HeaderMap,
        peer: Option<IpAddr>,
    ) -> Result<Arc<Caller>, GatewayError> {
        let refused = |retry_after| GatewayError::RateLimited {
            class: "failed-authentication",
            retry_after,
        };
        let inner = &self.0;
        // A peer address is not checked before authenticating: many systems may share one
        // (a NAT, a proxy), and one of them guessing must not lock the others out. A key id
        // is: guessing at one key stops there, whatever the addresses.
        let key_id = credentials::presented_key_id(headers);
        if let Some(id) = &key_id {
            inner
                .failures_by_key
                .check(id.as_str(), inner.key_failure_quota)
                .map_err(refused)?;
        }
        match inner.auth.authenticate(headers).await {
            Err(GatewayError::Unauthenticated(why)) => {
                let mut spent = Ok(());
                if let Some(peer) = peer {
                    spent = spent.and(
                        inner
                            .failures_by_source
                            .spend(&peer, inner.source_failure_quota),
                    );
                }
                if let Some(id) = &key_id {
                    spent = spent.and(
                        inner
                            .failures_by_key
                            .spend(id.as_str(), inner.key_failure_quota),
                    );
                }
                Err(match spent {
                    Ok(()) => GatewayError::Unauthenticated(why),
                    Err(retry_after) => refused(retry_after),
                })
            }
            other => other,
        }
    }

    /// Admits a call to `path` with these headers from `peer`, or says why not. Nothing is
    /// forwarded unless this succeeds.
    pub async fn admit(
        &self,
        path: &str,
        headers: &http::HeaderMap,
        peer: Option<IpAddr>,
    ) -> Result<Admission<'_>, GatewayError> {
        let rule = govmedia_proto::method_access(path)
            .ok_or_else(|| GatewayError::UnknownMethod(path.to_owned()))?;
        let service =
            package_of(rule.path).ok_or_else(|| GatewayError::UnknownMethod(path.to_owned()))?;
        let Some(origin) = self.0.upstreams.get(service) else {
            return Err(GatewayError::UpstreamUnavailable {
                service: service.to_owned(),
                cause: "no upstream is configured for it".to_owned(),
            });
        };
        let caller = self.authenticate(headers, peer).await?;
        tracing::Span::current().record("principal", caller.principal.subject.as_str());
        let allowed = auth::allowed_roles(path).unwrap_or_default();
        if !allowed.iter().any(|role| caller.principal.has(*role)) {
            return Err(GatewayError::RoleNotAllowed {
                method: path.to_owned(),
                allowed: allowed
                    .iter()
                    .map(|role| role.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let (class, quota, key) = match rule.class {
            MethodClass::Write => ("write", self.0.write_quota, caller.write_key.as_str()),
            MethodClass::Read | MethodClass::Unspecified => {
                ("read", self.0.read_quota, caller.read_key.as_str())
            }
        };
        if let Err(retry_after) = self.0.limiter.check(key, quota).await {
            return Err(GatewayError::RateLimited { class, retry_after });
        }
        Ok(Admission {
            caller,
            rule,
            service,
            origin,
        })
    }
}
