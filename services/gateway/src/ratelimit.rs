//! Per-caller rate limits (GCRA, see `domain::gcra`): in Redis when the deployment has Redis, so
//! that every gateway replica spends one shared budget, otherwise in this process.
//!
//! Shared budgets without a round trip on most calls: a replica leases a few cells of a
//! caller's budget from Redis at once (`rate_limit.lease_cells`, fewer when the burst is small)
//! and spends them locally, leasing more in the background when half are gone. Cells are paid
//! for in Redis when leased, so replicas never spend more than the budget between them; the
//! price is that a lease lives `LEASE_TTL`, and cells a replica leased but did not spend within
//! it are lost to the caller. Worst case across N replicas: a caller gets up to N × lease cells
//! more than its burst within one lease lifetime (cells leased just before its budget refilled,
//! spent just after), and up to (N − 1) × lease cells fewer while other replicas hold leases it
//! does not call them for.
//!
//! A replica has at most one lease of a caller's budget in flight: when a caller's calls arrive
//! together and nothing is held for it, one of them leases and the others wait for that lease
//! (and spend from it), and a background refresh goes through the same gate. A burst within the
//! budget would otherwise lease many times what it spends, and be refused by a budget it never
//! used.
//!
//! A caller refused by Redis is remembered until its retry time, so a flood of refused calls is
//! no flood of Redis calls. When Redis does not answer within `rate_limit.redis_timeout_ms`, the
//! replica falls back to limits of its own (the same quotas, in this process: up to N times the
//! budget across N replicas) at once for every call, says so in `/healthz` and in the
//! `govmedia_gateway_rate_limiter_local` gauge, probes Redis in the background, and goes back
//! to it when it answers. No lease waits on Redis longer than the timeout; a call waits for its
//! own and for those queued at its caller's gate before it (one per `lease_cells` calls of a
//! burst), and once one lease times out every waiting call uses the local limits at once.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use prometheus_client::metrics::{counter::Counter, gauge::Gauge};
use redis::aio::ConnectionManager;

use crate::domain::gcra::{self, Decision, Quota};

/// The lease of `domain::gcra` (`gcra::lease`, whose tests state its arithmetic), run
/// atomically inside Redis on Redis's clock.
/// KEYS[1]: the caller's key. ARGV: interval_us, tolerance_us, wanted cells.
/// Returns {cells, 0} when `cells` ≥ 1 were granted, {0, retry_after_us} when none.
const SCRIPT: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local ahead = tat - now
local room = math.floor(math.max(tolerance - ahead, 0) / interval)
local cells = math.min(room, want)
if cells < 1 then
  return {0, math.max(ahead + interval - tolerance, 1)}
end
local new_tat = tat + cells * interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {cells, 0}
";

/// How long leased cells may be spent.
pub const LEASE_TTL: Duration = Duration::from_secs(1);

/// How often a replica that fell back to local limits asks Redis whether it is back.
const PROBE_EVERY: Duration = Duration::from_millis(500);

/// Where budgets are kept.
pub enum RateLimiter {
    /// No limits (benchmarks of the proxy alone).
    Disabled,
    /// In this process.
    Memory(LocalBudgets<String>),
    /// In Redis, shared by every replica, spent locally from leases.
    Shared(Arc<Shared>),
}

/// What the limiter reports about itself.
#[derive(Clone, Debug, Default)]
pub struct LimiterMetrics {
    /// 1 while the limiter uses local limits because Redis does not answer.
    pub local: Gauge,
    /// Round trips to Redis (leases and probes).
    pub round_trips: Counter,
}

/// Settings of the shared limiter.
#[derive(Clone, Copy, Debug)]
pub struct SharedSettings {
    /// Cells leased at once, at most.
    pub lease_cells: u32,
    /// The longest a call waits on Redis.
    pub timeout: Duration,
}

/// The shared limiter's state.
pub struct Shared {
    conn: ConnectionManager,
    prefix: String,
    script: redis::Script,
    settings: SharedSettings,
    leases: Mutex<HashMap<String, Held>>,
    /// The limits used while Redis is away.
    fallback: LocalBudgets<String>,
    /// Redis is away (calls use `fallback`); a probe may be running.
    away: Mutex<Option<Instant>>,
    probing: AtomicBool,
    metrics: LimiterMetrics,
}

/// A replica's part of one caller's budget.
#[derive(Clone, Debug)]
struct Held {
    cells: u32,
    valid_until: Instant,
    /// Redis refused the caller until then.
    denied_until: Option<Instant>,
    refreshing: bool,
    /// Held by the one call leasing for this caller while nothing is held; the others wait
    /// on it.
    leasing: Gate,
}

/// The gate of one caller's leases.
type Gate = Arc<tokio::sync::Mutex<()>>;

impl Held {
    fn empty(now: Instant) -> Self {
        Held {
            cells: 0,
            valid_until: now,
            denied_until: None,
            refreshing: false,
            leasing: Arc::default(),
        }
    }

    /// Adds `cells` leased now; held cells past their lease are gone.
    fn add(&mut self, cells: u32, now: Instant) {
        self.cells = if self.valid_until > now {
            self.cells + cells
        } else {
            cells
        };
        self.valid_until = now + LEASE_TTL;
    }
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
            RateLimiter::Shared(_) => "RateLimiter::Shared",
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
    pub fn redis(
        conn: ConnectionManager,
        prefix: &str,
        settings: SharedSettings,
        metrics: LimiterMetrics,
    ) -> Self {
        RateLimiter::Shared(Arc::new(Shared {
            conn,
            prefix: format!("{prefix}ratelimit:"),
            script: redis::Script::new(SCRIPT),
            settings,
            leases: Mutex::new(HashMap::new()),
            fallback: LocalBudgets::default(),
            away: Mutex::new(None),
            probing: AtomicBool::new(false),
            metrics,
        }))
    }

    /// Whether budgets are kept where they should be: false while a shared limiter has fallen
    /// back to local limits.
    pub fn shared_as_configured(&self) -> bool {
        match self {
            RateLimiter::Disabled | RateLimiter::Memory(_) => true,
            RateLimiter::Shared(shared) => !shared.is_away(),
        }
    }

    /// Spends one call of `key`'s budget; `Err(retry_after)` when it is spent.
    pub async fn check(&self, key: &str, quota: Quota) -> Result<(), Duration> {
        match self {
            RateLimiter::Disabled => Ok(()),
            RateLimiter::Memory(budgets) => budgets.spend(key, quota),
            RateLimiter::Shared(shared) => shared.check(key, quota).await,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn is_away(&self) -> bool {
        lock(&self.away).is_some()
    }

    /// Cells one lease asks for: a quarter of the burst, within `lease_cells`, at least one.
    fn lease_size(&self, quota: Quota) -> u32 {
        (quota.burst() / 4).clamp(1, u64::from(self.settings.lease_cells.max(1))) as u32
    }

    async fn check(self: &Arc<Self>, key: &str, quota: Quota) -> Result<(), Duration> {
        if self.is_away() {
            self.probe();
            return self.fallback.spend(key, quota);
        }
        let size = self.lease_size(quota);
        let leasing = match self.spend_held(key, quota, size) {
            Ok(decided) => return decided,
            Err(leasing) => leasing,
        };
        // Nothing held: one call leases for all that arrive meanwhile. Whoever gets the gate
        // after it looks again, and finds the cells (or the refusal) the one before brought.
        let _gate = leasing.lock().await;
        if self.is_away() {
            return self.fallback.spend(key, quota);
        }
        if let Ok(decided) = self.spend_held(key, quota, size) {
            return decided;
        }
        // This call waits for a lease, but never longer than the timeout.
        match self.lease(key, quota, size).await {
            Some(Ok(cells)) => {
                self.hold(key, cells - 1, None);
                Ok(())
            }
            Some(Err(retry_after)) => {
                self.hold(key, 0, Some(Instant::now() + retry_after));
                // A refresh may have brought cells while this lease was refused.
                self.spend_held(key, quota, size)
                    .unwrap_or(Err(retry_after))
            }
            None => self.fallback.spend(key, quota),
        }
    }

    /// Decides a call from what this replica holds for `key`: a cell spent, or the refusal
    /// Redis gave; otherwise (nothing held) the gate of the caller's lease.
    fn spend_held(
        self: &Arc<Self>,
        key: &str,
        quota: Quota,
        size: u32,
    ) -> Result<Result<(), Duration>, Gate> {
        let now = Instant::now();
        let mut leases = lock(&self.leases);
        let Some(held) = leases.get_mut(key) else {
            return Err(leases
                .entry(key.to_owned())
                .or_insert_with(|| Held::empty(now))
                .leasing
                .clone());
        };
        // Cells first: a refusal may have been given to one lease while another (a refresh)
        // brought cells that are still to be spent.
        if held.cells > 0 && held.valid_until > now {
            held.cells -= 1;
            if held.cells <= size / 2 && !held.refreshing && size > 1 {
                held.refreshing = true;
                let (shared, key) = (self.clone(), key.to_owned());
                tokio::spawn(async move { shared.refresh(key, quota, size).await });
            }
            return Ok(Ok(()));
        }
        if let Some(until) = held.denied_until {
            if until > now {
                return Ok(Err(until - now));
            }
            held.denied_until = None;
        }
        Err(held.leasing.clone())
    }

    /// Leases more cells for `key` before its held ones run out, through the caller's gate, so
    /// that no two leases of one caller are ever in flight in this replica (a call refused while
    /// cells were on their way would waste them).
    async fn refresh(self: Arc<Self>, key: String, quota: Quota, size: u32) {
        let Some(gate) = lock(&self.leases)
            .get(&key)
            .map(|held| held.leasing.clone())
        else {
            return;
        };
        let _gate = gate.lock().await;
        let low = lock(&self.leases)
            .get(&key)
            .is_some_and(|held| held.cells <= size / 2 || held.valid_until <= Instant::now());
        let outcome = if low {
            self.lease(&key, quota, size).await
        } else {
            None // a call waiting at the gate leased meanwhile
        };
        let mut leases = lock(&self.leases);
        let Some(held) = leases.get_mut(&key) else {
            return;
        };
        held.refreshing = false;
        // Refused, or Redis away: the cells held are the last until the budget refills.
        if let Some(Ok(cells)) = outcome {
            held.add(cells, Instant::now());
        }
    }

    fn hold(&self, key: &str, cells: u32, denied_until: Option<Instant>) {
        let now = Instant::now();
        let mut leases = lock(&self.leases);
        if leases.len() > MEMORY_SWEEP_AT {
            leases.retain(|_, held| {
                held.valid_until > now || held.denied_until.is_some_and(|until| until > now)
            });
        }
        let held = leases
            .entry(key.to_owned())
            .or_insert_with(|| Held::empty(now));
        held.add(cells, now);
        held.denied_until = denied_until;
    }

    /// One lease from Redis, within the timeout: the cells granted (at least one), or how long
    /// until one would be; `None` (and the fallback) when Redis does not answer in time.
    async fn lease(&self, key: &str, quota: Quota, want: u32) -> Option<Result<u32, Duration>> {
        self.metrics.round_trips.inc();
        let mut conn = self.conn.clone();
        let mut invocation = self.script.key(format!("{}{key}", self.prefix));
        invocation
            .arg(quota.interval_us)
            .arg(quota.tolerance_us)
            .arg(want);
        let call = invocation.invoke_async::<(i64, i64)>(&mut conn);
        match tokio::time::timeout(self.settings.timeout, call).await {
            Ok(Ok((cells, _))) if cells > 0 => Some(Ok(cells as u32)),
            Ok(Ok((_, retry_after_us))) => {
                Some(Err(Duration::from_micros(retry_after_us.max(1) as u64)))
            }
            Ok(Err(error)) => {
                self.fall_back(&error.to_string());
                None
            }
            Err(_) => {
                self.fall_back("no answer within the rate limiter's timeout");
                None
            }
        }
    }

    fn fall_back(&self, why: &str) {
        let mut away = lock(&self.away);
        if away.is_none() {
            tracing::error!(%why, "rate limiter: Redis unavailable; limiting with this replica's own budgets until it answers");
            *away = Some(Instant::now());
            self.metrics.local.set(1);
        }
    }

    /// Asks Redis, in the background and one probe at a time, whether it is back.
    fn probe(self: &Arc<Self>) {
        let due = lock(&self.away).is_some_and(|since| since.elapsed() >= PROBE_EVERY);
        if !due || self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let shared = self.clone();
        tokio::spawn(async move {
            shared.metrics.round_trips.inc();
            let mut conn = shared.conn.clone();
            let command = redis::cmd("PING");
            let ping = command.query_async::<String>(&mut conn);
            let answered = matches!(
                tokio::time::timeout(shared.settings.timeout, ping).await,
                Ok(Ok(_))
            );
            {
                let mut away = lock(&shared.away);
                if answered {
                    tracing::info!("rate limiter: Redis answers again; budgets are shared again");
                    *away = None;
                    shared.metrics.local.set(0);
                } else {
                    *away = Some(Instant::now());
                }
            }
            shared.probing.store(false, Ordering::Release);
        });
    }
}
