//! Where another govmedia service is, kept current, so that a caller spreads its calls over every
//! replica that serves and stops sending to one that is stopping before its port closes.
//!
//! A target is one or more `http://host:port`, comma-separated; each host may resolve to several
//! addresses (a Kubernetes headless Service names one per ready pod). A watcher resolves the names
//! again every [`RESOLVE_EVERY`] and asks every address `grpc.health.v1.Health/Check` every
//! [`CHECK_EVERY`]: an address that answers NOT_SERVING (a replica told to stop reports it at
//! once and serves on for `listen.shutdown_delay_ms`) or does not answer within
//! [`CHECK_TIMEOUT`] is left out until it answers SERVING again. When no address serves, all are
//! offered, so that calls fail at once with the real reason instead of waiting for one.
//!
//! Two kinds of caller read the same [`Endpoints`]: tonic channels balanced over the serving
//! addresses ([`Endpoints::channel`], every service-to-service client), and the gateway, which
//! picks an address per forwarded call itself.
//!
//! Why not Kubernetes' ClusterIP alone: it balances connections, not calls, and HTTP/2 keeps one
//! connection for every call, so all of one caller's calls would go to one replica.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    net::SocketAddr,
    sync::Arc,
    time::Duration,
};

use tokio::{sync::watch, time::Instant};
use tonic::transport::{Channel, Endpoint, channel::Change};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// How often names are resolved again.
pub const RESOLVE_EVERY: Duration = Duration::from_secs(5);
/// How often every address's health is asked.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);
/// How long a health check may take before the address counts as down.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(1);
/// How long resolving the names may take.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);
/// How many checks in a row an address may leave unanswered before it is left out (one that
/// answers NOT_SERVING is left out at once): one slow answer from a busy replica is no reason
/// to move its callers.
pub const MISSES_ALLOWED: u8 = 2;
/// How long connecting to an address may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A peer's endpoint setting that names no usable address.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("peer endpoint: {0}")]
pub struct BadTarget(pub String);

/// One or more `http://host:port`, as a setting names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    text: String,
    hosts: Vec<(String, u16)>,
}

impl Target {
    /// Parses `http://host:port[,http://host:port…]`; says what is wrong otherwise.
    pub fn parse(text: &str) -> Result<Target, BadTarget> {
        let mut hosts = Vec::new();
        for part in text.split(',').map(str::trim) {
            let bad = |why: &str| BadTarget(format!("{part:?} {why}"));
            let uri: http::Uri = part.parse().map_err(|_| bad("is not a URL"))?;
            if uri.scheme_str() != Some("http") {
                return Err(bad("must start with http://"));
            }
            let (Some(authority), Some(port)) = (uri.authority(), uri.port_u16()) else {
                return Err(bad("must name a host and a port"));
            };
            if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
                return Err(bad("must have no path"));
            }
            let host = authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']');
            hosts.push((host.to_owned(), port));
        }
        Ok(Target {
            text: text.to_owned(),
            hosts,
        })
    }

    /// The first `host:port`, for the `:authority` of calls.
    pub fn authority(&self) -> String {
        let (host, port) = &self.hosts[0];
        if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }
    }

    /// Every address the names resolve to now; a name that does not resolve is logged and
    /// skipped.
    async fn resolve(&self) -> BTreeSet<SocketAddr> {
        let mut addresses = BTreeSet::new();
        for (host, port) in &self.hosts {
            // A resolver that does not answer must not hold up the health checks.
            match tokio::time::timeout(
                RESOLVE_TIMEOUT,
                tokio::net::lookup_host((host.as_str(), *port)),
            )
            .await
            {
                Ok(Ok(found)) => addresses.extend(found),
                Ok(Err(error)) => {
                    tracing::warn!(target = %self.text, %host, %error, "cannot resolve");
                }
                Err(_) => tracing::warn!(target = %self.text, %host, "resolving timed out"),
            }
        }
        addresses
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The problem with the endpoint setting `name` = `value`, if any (an empty value is allowed
/// only where the service can do without the peer, which the caller decides).
pub fn problem(name: &str, value: &str) -> Option<String> {
    Target::parse(value).err().map(|BadTarget(error)| {
        format!("{name}: {error} (http://host:port, several separated by commas)")
    })
}

/// The addresses of a target as the watcher last saw them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The first resolution has finished (before it, `offered` is empty for want of news).
    pub resolved: bool,
    /// Where calls go: the addresses that answered SERVING, or every resolved address when none
    /// did.
    pub offered: Arc<[SocketAddr]>,
    /// Every address the names resolved to, serving or not.
    pub known: Arc<[SocketAddr]>,
    /// How many addresses answered SERVING at the last check.
    pub serving: usize,
}

/// A target's addresses, kept current by a watcher task that runs as long as any handle (or
/// channel made from one) does.
#[derive(Clone, Debug)]
pub struct Endpoints {
    target: Arc<Target>,
    snapshot: watch::Receiver<Snapshot>,
}

impl Endpoints {
    /// Starts watching `target` (needs a Tokio runtime).
    pub fn watch(target: Target) -> Endpoints {
        let (sender, snapshot) = watch::channel(Snapshot::default());
        let target = Arc::new(target);
        tokio::spawn(run(target.clone(), sender));
        Endpoints { target, snapshot }
    }

    /// The target watched.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The addresses as last seen.
    pub fn current(&self) -> Snapshot {
        self.snapshot.borrow().clone()
    }

    /// The addresses once the first resolution has finished.
    pub async fn resolved(&self) -> Snapshot {
        let mut snapshot = self.snapshot.clone();
        match snapshot.wait_for(|current| current.resolved).await {
            Ok(current) => current.clone(),
            // The watcher never stops while a handle lives; nothing better to give if it did.
            Err(_) => self.current(),
        }
    }

    /// A tonic channel that balances its calls over the offered addresses, each call timing out
    /// after `timeout`; it follows the watcher while it lives.
    pub fn channel(&self, timeout: Duration) -> Channel {
        let (channel, changes) = Channel::balance_channel::<String>(64);
        let mut snapshot = self.snapshot.clone();
        let fallback = self.target.authority();
        tokio::spawn(async move {
            let mut current = HashSet::new();
            loop {
                let (resolved, mut wanted): (bool, HashSet<String>) = {
                    let now = snapshot.borrow_and_update();
                    (
                        now.resolved,
                        now.offered.iter().map(ToString::to_string).collect(),
                    )
                };
                // A name that resolves to nothing still gets an endpoint, which fails each call
                // at once with the resolver's error: a balancer with no endpoint at all would
                // hold calls with no time limit.
                if resolved && wanted.is_empty() {
                    wanted.insert(fallback.clone());
                }
                // Insert before removing: a balancer with no address at all would hold calls.
                for address in wanted.difference(&current) {
                    let Ok(endpoint) = endpoint(address, timeout) else {
                        continue;
                    };
                    if changes
                        .send(Change::Insert(address.clone(), endpoint))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                for address in current.difference(&wanted) {
                    if changes.send(Change::Remove(address.clone())).await.is_err() {
                        return;
                    }
                }
                current = wanted;
                tokio::select! {
                    // The channel and all its clones are gone.
                    () = changes.closed() => return,
                    changed = snapshot.changed() => if changed.is_err() { return },
                }
            }
        });
        channel
    }
}

fn endpoint(address: &str, timeout: Duration) -> Result<Endpoint, tonic::transport::Error> {
    Ok(Endpoint::from_shared(format!("http://{address}"))?
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true))
}

/// What one health check found.
enum Health {
    Serving,
    NotServing,
    Silent,
}

/// The watcher: resolve, check, publish, until every reader is gone.
async fn run(target: Arc<Target>, sender: watch::Sender<Snapshot>) {
    let mut probes: HashMap<SocketAddr, HealthClient<Channel>> = HashMap::new();
    let mut resolved_at: Option<Instant> = None;
    let mut up: BTreeSet<SocketAddr> = BTreeSet::new();
    let mut misses: HashMap<SocketAddr, u8> = HashMap::new();
    loop {
        if resolved_at.is_none_or(|at| at.elapsed() >= RESOLVE_EVERY) {
            let addresses = target.resolve().await;
            // A name that resolves to nothing for a moment (DNS failing) keeps what it had.
            if !addresses.is_empty() || resolved_at.is_none() {
                probes.retain(|address, _| addresses.contains(address));
                for address in addresses {
                    if let std::collections::hash_map::Entry::Vacant(entry) = probes.entry(address)
                        && let Ok(endpoint) = endpoint(&address.to_string(), CHECK_TIMEOUT)
                    {
                        entry.insert(HealthClient::new(endpoint.connect_lazy()));
                    }
                }
            }
            resolved_at = Some(Instant::now());
        }
        let checks = probes.iter().map(|(address, client)| {
            let mut client = client.clone();
            async move {
                let request = HealthCheckRequest {
                    service: String::new(),
                };
                let answer = tokio::time::timeout(CHECK_TIMEOUT, client.check(request)).await;
                let health = match answer {
                    Ok(Ok(response))
                        if response.get_ref().status == ServingStatus::Serving as i32 =>
                    {
                        Health::Serving
                    }
                    // It answered, and not SERVING: it is stopping (or not ready).
                    Ok(Ok(_)) => Health::NotServing,
                    Ok(Err(_)) | Err(_) => Health::Silent,
                };
                (*address, health)
            }
        });
        let mut now_up = BTreeSet::new();
        for (address, health) in futures::future::join_all(checks).await {
            let missed = misses.entry(address).or_default();
            match health {
                Health::Serving => {
                    *missed = 0;
                    now_up.insert(address);
                }
                Health::NotServing => *missed = MISSES_ALLOWED,
                Health::Silent => {
                    *missed = missed.saturating_add(1);
                    if *missed < MISSES_ALLOWED && up.contains(&address) {
                        now_up.insert(address);
                    }
                }
            }
        }
        misses.retain(|address, _| probes.contains_key(address));
        for address in now_up.difference(&up) {
            tracing::info!(target = %target, %address, "serving");
        }
        for address in up.difference(&now_up) {
            if probes.contains_key(address) {
                tracing::info!(target = %target, %address, "not serving; calls go elsewhere");
            }
        }
        up = now_up;
        let known: Arc<[SocketAddr]> = probes
            .keys()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let offered: Arc<[SocketAddr]> = if up.is_empty() {
            known.clone()
        } else {
            up.iter().copied().collect()
        };
        let next = Snapshot {
            resolved: true,
            offered,
            known,
            serving: up.len(),
        };
        sender.send_if_modified(|current| {
            let changed = *current != next;
            if changed {
                *current = next;
            }
            changed
        });
        tokio::select! {
            () = sender.closed() => return,
            () = tokio::time::sleep(CHECK_EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_one_or_more_http_addresses() {
        let target = Target::parse("http://registry:50061").unwrap();
        assert_eq!(target.authority(), "registry:50061");
        let several = Target::parse("http://127.0.0.1:1, http://[::1]:2").unwrap();
        assert_eq!(
            several.hosts,
            [("127.0.0.1".to_owned(), 1), ("::1".to_owned(), 2)]
        );
        assert_eq!(several.authority(), "127.0.0.1:1");
        for bad in [
            "",
            "registry:50061",
            "https://registry:50061",
            "http://registry",
            "http://registry:50061/x",
            "http://a:1,",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad:?} was taken");
            assert!(problem("x.endpoint", bad).is_some_and(|p| p.starts_with("x.endpoint: ")));
        }
    }
}
