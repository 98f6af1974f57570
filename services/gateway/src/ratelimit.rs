//! Per-caller rate limits (GCRA, see `domain::gcra`): in Redis when the deployment has Redis, so
//! that every gateway replica spends one shared budget, otherwise in this process.
//!
//! If Redis fails, calls are let through (and the failure logged): a rate limiter must not take
//! the suite down with it.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use redis::aio::ConnectionManager;

use crate::domain::gcra::{self, Decision, Quota};

/// The GCRA of `domain::gcra`, run atomically inside Redis on Redis's clock.
/// KEYS[1]: the caller's key. ARGV: interval_us, tolerance_us.
/// Returns {1, 0} when allowed, {0, retry_after_us} when not.
const SCRIPT: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local ahead = new_tat - now
if ahead > tolerance then
  return {0, ahead - tolerance}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(ahead / 1000) + 1)
return {1, 0}
";

/// Where budgets are kept.
pub enum RateLimiter {
    /// No limits (benchmarks of the proxy alone).
    Disabled,
    /// In this process.
    Memory(LocalBudgets<String>),
    /// In Redis, shared by every replica.
    Redis {
        /// Connection.
        conn: ConnectionManager,
        /// Key prefix.
        prefix: String,
        /// The script.
        script: redis::Script,
    },
}

/// GCRA budgets kept in this process, one number per key; keys whose budget is whole again are
/// dropped when there are many.
pub struct LocalBudgets<K> {
    /// TAT per key, in µs since `epoch`.
    tats: Mutex<HashMap<K, u64>>,
    /// The clock's origin.
    epoch: Instant,
}

impl<K> std::fmt::Debug for LocalBudgets<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalBudgets")
    }
}

impl<K: std::hash::Hash + Eq + Clone> Default for LocalBudgets<K> {
    fn default() -> Self {
        Self {
            tats: Mutex::new(HashMap::new()),
            epoch: Instant::now(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone> LocalBudgets<K> {
    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, u64>> {
        self.tats
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Spends one of `key`'s budget; `Err(retry_after)` when it is spent.
    pub fn spend<Q>(&self, key: &Q, quota: Quota) -> Result<(), Duration>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let now = self.now_us();
        let mut tats = self.lock();
        if tats.len() > MEMORY_SWEEP_AT {
            tats.retain(|_, tat| *tat > now);
        }
        let stored = tats.get_mut(key);
        match gcra::decide(stored.as_deref().copied(), now, quota) {
            Decision::Allow { tat_us, .. } => {
                // A key seen before is updated in place: no allocation on the common path.
                match stored {
                    Some(tat) => *tat = tat_us,
                    None => {
                        tats.insert(key.to_owned(), tat_us);
                    }
                }
                Ok(())
            }
            Decision::Deny { retry_after_us } => Err(Duration::from_micros(retry_after_us)),
        }
    }

    /// Whether `key` could spend one now, without spending it.
    pub fn check<Q>(&self, key: &Q, quota: Quota) -> Result<(), Duration>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        let now = self.now_us();
        match gcra::decide(self.lock().get(key).copied(), now, quota) {
            Decision::Allow { .. } => Ok(()),
            Decision::Deny { retry_after_us } => Err(Duration::from_micros(retry_after_us)),
        }
    }
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RateLimiter::Disabled => "RateLimiter::Disabled",
            RateLimiter::Memory(_) => "RateLimiter::Memory",
            RateLimiter::Redis { .. } => "RateLimiter::Redis",
        })
    }
}

/// Keys kept in process before the expired ones are dropped.
const MEMORY_SWEEP_AT: usize = 50_000;

impl RateLimiter {
    /// An in-process limiter.
    pub fn memory() -> Self {
        RateLimiter::Memory(LocalBudgets::default())
    }

    /// A limiter on Redis, keys under `prefix`.
    pub fn redis(conn: ConnectionManager, prefix: &str) -> Self {
        RateLimiter::Redis {
            conn,
            prefix: format!("{prefix}ratelimit:"),
            script: redis::Script::new(SCRIPT),
        }
    }

    /// Spends one call of `key`'s budget; `Err(retry_after)` when it is spent.
    pub async fn check(&self, key: &str, quota: Quota) -> Result<(), Duration> {
        match self {
            RateLimiter::Disabled => Ok(()),
            RateLimiter::Memory(budgets) => budgets.spend(key, quota),
            RateLimiter::Redis {
                conn,
                prefix,
                script,
            } => {
                let mut conn = conn.clone();
                let result: Result<(i64, i64), redis::RedisError> = script
                    .key(format!("{prefix}{key}"))
                    .arg(quota.interval_us)
                    .arg(quota.tolerance_us)
                    .invoke_async(&mut conn)
                    .await;
                match result {
                    Ok((1, _)) => Ok(()),
                    Ok((_, retry_after_us)) => {
                        Err(Duration::from_micros(retry_after_us.max(1) as u64))
                    }
                    Err(error) => {
                        tracing::error!(%error, "rate limiter unavailable; letting the call through");
                        Ok(())
                    }
                }
            }
        }
    }
}
