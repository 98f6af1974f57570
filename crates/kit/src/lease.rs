//! Leader leases: work that exactly one replica of a service may do at a time (a periodic sweep,
//! a scheduler), while every replica stands ready to take it over.
//!
//! A lease is a key in Redis (production) or in this process (embedded mode, one replica)
//! held by one owner for a time-to-live, renewed well before it runs out. A holder that dies
//! stops renewing, and another replica takes the lease once it has expired. Each acquisition
//! gets a *fencing token* that only grows: work that writes somewhere a stale holder could also
//! write checks the token there, so a holder that paused past its lease cannot overwrite its
//! successor's work.
//!
//! [`lead`] runs a piece of work under a lease: it tries to take the lease, runs the work while
//! it holds it (cancelling it if a renewal fails), and tries again when it does not.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use redis::{Script, aio::ConnectionManager};

use crate::{CancellationToken, events::EventBus};

/// The life of a service's leases: a dead holder's work resumes elsewhere within this time.
pub const TTL: Duration = Duration::from_secs(30);

/// A lease store failed (Redis unreachable).
#[derive(Debug, thiserror::Error)]
#[error("lease store: {0}")]
pub struct LeaseError(#[from] redis::RedisError);

/// Where leases live. Cheap to clone.
#[derive(Clone)]
pub enum Leases {
    /// In this process: the embedded mode, where one process runs every service.
    Memory(Arc<Mutex<HashMap<String, Held>>>),
    /// Redis, shared by every replica.
    Redis {
        /// The connection.
        conn: ConnectionManager,
        /// Key prefix of the deployment.
        prefix: String,
    },
}

impl std::fmt::Debug for Leases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Leases::Memory(_) => f.write_str("Leases::Memory"),
            Leases::Redis { prefix, .. } => write!(f, "Leases::Redis({prefix})"),
        }
    }
}

/// A lease held in this process.
#[derive(Clone, Debug)]
pub struct Held {
    owner: String,
    until: Instant,
    token: u64,
}

/// Takes the lease when it is free (or already ours) and returns its fencing token: a new one
/// when the lease changed hands, the current one when the owner renews by acquiring again.
const ACQUIRE: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('GET', KEYS[2]) or '0')
end
return 0
";

/// Extends the lease if the caller still holds it.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// Gives the lease up if the caller holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

impl Leases {
    /// Leases beside the event bus: in Redis when the bus is Redis, in this process otherwise.
    pub fn for_bus(bus: &EventBus) -> Leases {
        match bus {
            EventBus::Redis(bus) => Leases::Redis {
                conn: bus.connection(),
                prefix: bus.prefix().to_owned(),
            },
            EventBus::Memory(bus) => Leases::Memory(bus.leases.clone()),
        }
    }

    fn keys(prefix: &str, name: &str) -> (String, String) {
        (
            format!("{prefix}lease:{name}"),
            format!("{prefix}lease:{name}:fence"),
        )
    }

    /// Takes (or keeps) the lease `name` for `owner` for `ttl`; its fencing token when it is
    /// ours, `None` when another owner holds it.
    pub async fn acquire(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<u64>, LeaseError> {
        match self {
            Leases::Memory(held) => {
                let mut held = held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let now = Instant::now();
                let previous = held.get(name).cloned();
                let token = match previous {
                    Some(lease) if lease.until > now && lease.owner != owner => return Ok(None),
                    Some(lease) if lease.owner == owner && lease.until > now => lease.token,
                    Some(lease) => lease.token + 1,
                    None => 1,
                };
                held.insert(
                    name.to_owned(),
                    Held {
                        owner: owner.to_owned(),
                        until: now + ttl,
                        token,
                    },
                );
                Ok(Some(token))
            }
            Leases::Redis { conn, prefix } => {
                let (key, fence) = Self::keys(prefix, name);
                let token: u64 = Script::new(ACQUIRE)
                    .key(key)
                    .key(fence)
                    .arg(owner)
                    .arg(ttl.as_millis() as u64)
                    .invoke_async(&mut conn.clone())
                    .await?;
                Ok((token > 0).then_some(token))
            }
        }
    }

    /// Extends the lease `name` if `owner` still holds it; false when it does not.
    pub async fn renew(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool, LeaseError> {
        match self {
            Leases::Memory(held) => {
                let mut held = held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let now = Instant::now();
                match held.get_mut(name) {
                    Some(lease) if lease.owner == owner && lease.until > now => {
                        lease.until = now + ttl;
                        Ok(true)
                    }
                    _ => Ok(false),
                }
            }
            Leases::Redis { conn, prefix } => {
                let (key, _) = Self::keys(prefix, name);
                let renewed: i64 = Script::new(RENEW)
                    .key(key)
                    .arg(owner)
                    .arg(ttl.as_millis() as u64)
                    .invoke_async(&mut conn.clone())
                    .await?;
                Ok(renewed == 1)
            }
        }
    }

    /// Gives the lease `name` up if `owner` holds it (on shutdown, so that another replica
    /// need not wait for it to expire).
    pub async fn release(&self, name: &str, owner: &str) -> Result<(), LeaseError> {
        match self {
            Leases::Memory(held) => {
                let mut held = held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if held.get(name).is_some_and(|lease| lease.owner == owner) {
                    // Keep the token, so that the next holder's is higher.
                    if let Some(lease) = held.get_mut(name) {
                        lease.until = Instant::now();
                        lease.owner.clear();
                    }
                }
                Ok(())
            }
            Leases::Redis { conn, prefix } => {
                let (key, _) = Self::keys(prefix, name);
                let _: i64 = Script::new(RELEASE)
                    .key(key)
                    .arg(owner)
                    .invoke_async(&mut conn.clone())
                    .await?;
                Ok(())
            }
        }
    }
}

/// Runs `work` whenever this replica (`owner`) holds the lease `name`, until `shutdown`. The
/// lease lives `ttl` and is renewed every third of it; `work` gets the fencing token and a
/// token that is cancelled when the lease is lost (or at shutdown), and should return soon
/// after. When another replica holds the lease, this one tries again every third of `ttl`.
pub async fn lead<W, F>(
    leases: Leases,
    name: &str,
    owner: &str,
    ttl: Duration,
    shutdown: CancellationToken,
    mut work: W,
) where
    W: FnMut(u64, CancellationToken) -> F,
    F: Future<Output = ()>,
{
    let beat = ttl / 3;
    while !shutdown.is_cancelled() {
        match leases.acquire(name, owner, ttl).await {
            Ok(Some(token)) => {
                tracing::info!(lease = name, token, "took the lease");
                let lost = shutdown.child_token();
                let running = work(token, lost.clone());
                tokio::pin!(running);
                loop {
                    tokio::select! {
                        () = &mut running => break,
                        () = tokio::time::sleep(beat) => {
                            match leases.renew(name, owner, ttl).await {
                                Ok(true) => {}
                                Ok(false) => {
                                    tracing::warn!(lease = name, "lost the lease; stopping its work");
                                    lost.cancel();
                                }
                                Err(error) => {
                                    tracing::warn!(lease = name, %error, "cannot renew the lease; stopping its work");
                                    lost.cancel();
                                }
                            }
                        }
                    }
                }
                if shutdown.is_cancelled() {
                    if let Err(error) = leases.release(name, owner).await {
                        tracing::warn!(lease = name, %error, "cannot release the lease");
                    }
                    return;
                }
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(lease = name, %error, "cannot reach the lease store"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(beat) => {}
        }
    }
}
