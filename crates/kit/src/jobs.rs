//! Durable jobs: work that must happen, eventually and once in effect, kept in the service's own
//! database (`jobs`, a kit table) so that nothing is lost when the process, the database
//! connection or the service it calls goes away.
//!
//! * A job is enqueued in the transaction of the change that calls for it ([`enqueue`]): it
//!   exists exactly when the change committed. Its id is `{queue}:{key}`, so enqueueing the same
//!   work twice queues it once.
//! * A replica *claims* due jobs with a lease ([`Queue::claim`]): a conditional update that only
//!   one replica can win per job. A holder that dies leaves its jobs RUNNING with a lease that
//!   runs out; then any replica claims them again.
//! * The handler's [`Outcome`] decides: done (the row goes), retry after a backoff that doubles
//!   per attempt with jitter (so replicas that failed together do not retry together), wait
//!   (not an attempt: something else must happen first), or DEAD with the last error, kept for
//!   an operator ([`dead`], [`revive`]).
//! * Each job is handled on its own: one that fails or hangs never holds up the others.
//!
//! Handlers must be idempotent: a lease can run out while a slow holder still works, and a
//! holder can die after its effect committed but before the job was marked done.

use std::{future::Future, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, ExprTrait,
    QueryFilter, QueryOrder, QuerySelect, sea_query::Expr, sea_query::OnConflict,
};
use tokio::sync::Notify;

use crate::{CancellationToken, clock::Clock, db::Db};

pub(crate) mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "jobs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub queue: String,
        pub key: String,
        pub state: i32,
        pub attempts: i32,
        pub run_at: DateTimeUtc,
        pub lease_owner: Option<String>,
        pub lease_until: Option<DateTimeUtc>,
        pub last_error: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Waiting to run (or to run again).
const READY: i32 = 1;
/// Claimed by a holder whose lease has not run out.
const RUNNING: i32 = 2;
/// Given up; kept for an operator.
const DEAD: i32 = 3;

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    /// Waiting to run.
    Ready,
    /// Claimed by a holder.
    Running,
    /// Given up.
    Dead,
}

fn state_of(value: i32) -> JobState {
    match value {
        RUNNING => JobState::Running,
        DEAD => JobState::Dead,
        _ => JobState::Ready,
    }
}

/// A claimed (or listed) job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// `{queue}:{key}`.
    pub id: String,
    /// The queue.
    pub queue: String,
    /// What the job is about, e.g. a filing id.
    pub key: String,
    /// Where it is.
    pub state: JobState,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// When it is (or was) due.
    pub run_at: DateTime<Utc>,
    /// Who holds it.
    pub lease_owner: Option<String>,
    /// The last failure.
    pub last_error: String,
}

impl From<entity::Model> for Job {
    fn from(row: entity::Model) -> Self {
        Job {
            id: row.id,
            queue: row.queue,
            key: row.key,
            state: state_of(row.state),
            attempts: row.attempts,
            run_at: row.run_at,
            lease_owner: row.lease_owner,
            last_error: row.last_error,
        }
    }
}

/// The id of the job of `queue` about `key`.
pub fn job_id(queue: &str, key: &str) -> String {
    format!("{queue}:{key}")
}

/// Queues the work of `queue` about `key`, due at `run_at`, inside the caller's transaction.
/// Returns false when it is queued already (READY, RUNNING or DEAD): the same work is one job.
pub async fn enqueue(
    txn: &impl ConnectionTrait,
    queue: &str,
    key: &str,
    run_at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let inserted = entity::Entity::insert(entity::ActiveModel {
        id: Set(job_id(queue, key)),
        queue: Set(queue.to_owned()),
        key: Set(key.to_owned()),
        state: Set(READY),
        attempts: Set(0),
        run_at: Set(run_at),
        lease_owner: Set(None),
        lease_until: Set(None),
        last_error: Set(String::new()),
        created_at: Set(run_at),
        updated_at: Set(run_at),
    })
    .on_conflict(
        OnConflict::column(entity::Column::Id)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(inserted > 0)
}

/// Drops the job of `queue` about `key` inside the caller's transaction, whatever its state:
/// the work is no longer wanted (e.g. an operator did it by hand). A holder working it
/// meanwhile records nothing when it settles. Returns whether there was such a job.
pub async fn cancel(txn: &impl ConnectionTrait, queue: &str, key: &str) -> Result<bool, DbErr> {
    let result = entity::Entity::delete_by_id(job_id(queue, key))
        .exec(txn)
        .await?;
    Ok(result.rows_affected > 0)
}

/// The dead jobs of `queue` (of every queue when `None`), oldest first (at most `limit`).
pub async fn dead(
    conn: &impl ConnectionTrait,
    queue: Option<&str>,
    limit: u64,
) -> Result<Vec<Job>, DbErr> {
    let mut query = entity::Entity::find().filter(entity::Column::State.eq(DEAD));
    if let Some(queue) = queue {
        query = query.filter(entity::Column::Queue.eq(queue));
    }
    Ok(query
        .order_by_asc(entity::Column::RunAt)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(Job::from)
        .collect())
}

/// One job by id.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Job>, DbErr> {
    Ok(entity::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .map(Job::from))
}

/// Gives a dead job another round of attempts from `now`; false when `id` is not dead.
pub async fn revive(
    txn: &impl ConnectionTrait,
    id: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = entity::Entity::update_many()
        .col_expr(entity::Column::State, Expr::value(READY))
        .col_expr(entity::Column::Attempts, Expr::value(0))
        .col_expr(entity::Column::RunAt, Expr::value(now))
        .col_expr(entity::Column::UpdatedAt, Expr::value(now))
        .filter(entity::Column::Id.eq(id))
        .filter(entity::Column::State.eq(DEAD))
        .exec(txn)
        .await?;
    Ok(result.rows_affected > 0)
}

/// How a queue retries: the first wait, its cap, and how many attempts before a job is DEAD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait after the first failed attempt; it doubles with every further one.
    pub initial: Duration,
    /// Longest wait.
    pub max: Duration,
    /// Attempts before the job is given up (at least 1).
    pub max_attempts: i32,
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempts` (from 1): `initial`, doubled per
    /// attempt, capped at `max`, then a random point in its upper half (`jitter` in 0..1), so
    /// that jobs that failed together spread out.
    pub fn delay(&self, attempts: i32, jitter: f64) -> Duration {
        let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
        let full = self
            .initial
            .checked_mul(1 << doublings)
            .map_or(self.max, |delay| delay.min(self.max));
        full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// What became of one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done (or nothing left to do): the job goes.
    Done,
    /// Failed for now: try again after the policy's backoff, or give up when the attempts are
    /// spent.
    Retry(String),
    /// Not yet, and not a failure (something else must happen first): look again after this
    /// long, without counting an attempt.
    Wait(Duration),
    /// Cannot succeed: DEAD now, with why.
    Dead(String),
}

impl Outcome {
    /// The outcome a handler decided, or, when it could not decide because of its own service's
    /// trouble (its database, say), a retry.
    pub fn or_retry<E: std::fmt::Display>(decided: Result<Outcome, E>) -> Outcome {
        decided.unwrap_or_else(|error| Outcome::Retry(error.to_string()))
    }
}

/// One queue of one service, as a replica works it.
#[derive(Clone, Debug)]
pub struct Queue {
    db: Db,
    clock: Clock,
    name: &'static str,
    owner: String,
    lease: Duration,
    policy: RetryPolicy,
}

impl Queue {
    /// The queue `name` on `db`, worked by this replica (`owner`, unique per process), each
    /// claim lasting `lease` (longer than an attempt can take).
    pub fn new(
        db: Db,
        clock: Clock,
        name: &'static str,
        owner: &str,
        lease: Duration,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            db,
            clock,
            name,
            owner: owner.to_owned(),
            lease,
            policy,
        }
    }

    /// The queue's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The retry policy.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    fn claimable(now: DateTime<Utc>) -> Condition {
        Condition::any()
            .add(
                Condition::all()
                    .add(entity::Column::State.eq(READY))
                    .add(entity::Column::RunAt.lte(now)),
            )
            .add(
                Condition::all()
                    .add(entity::Column::State.eq(RUNNING))
                    .add(entity::Column::LeaseUntil.lt(now)),
            )
    }

    /// Claims up to `limit` due jobs (and jobs whose holder's lease ran out) for this replica.
    pub async fn claim(&self, limit: u64) -> Result<Vec<Job>, DbErr> {
        let now = self.clock.now();
        let candidates = entity::Entity::find()
            .filter(entity::Column::Queue.eq(self.name))
            .filter(Self::claimable(now))
            .order_by_asc(entity::Column::RunAt)
            .limit(limit)
            .all(self.db.conn())
            .await?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let lease_until =
            now + chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::seconds(60));
        let txn = self.db.begin_write().await?;
        let mut claimed = Vec::with_capacity(candidates.len());
        for row in candidates {
            // Conditional on the job still being claimable: of two replicas racing for it,
            // one updates the row, the other matches nothing.
            let result = entity::Entity::update_many()
                .col_expr(entity::Column::State, Expr::value(RUNNING))
                .col_expr(entity::Column::LeaseOwner, Expr::value(self.owner.clone()))
                .col_expr(entity::Column::LeaseUntil, Expr::value(lease_until))
                .col_expr(
                    entity::Column::Attempts,
                    Expr::col(entity::Column::Attempts).add(1),
                )
                .col_expr(entity::Column::UpdatedAt, Expr::value(now))
                .filter(entity::Column::Id.eq(row.id.as_str()))
                .filter(Self::claimable(now))
                .exec(&*txn)
                .await?;
            if result.rows_affected == 1 {
                claimed.push(Job {
                    state: JobState::Running,
                    attempts: row.attempts + 1,
                    lease_owner: Some(self.owner.clone()),
                    ..Job::from(row)
                });
            }
        }
        txn.commit().await?;
        Ok(claimed)
    }

    /// Records `outcome` of `job`, if this replica still holds it (a holder whose lease ran out
    /// and was taken over records nothing). Returns whether it was recorded.
    pub async fn settle(&self, job: &Job, outcome: &Outcome) -> Result<bool, DbErr> {
        let now = self.clock.now();
        let txn = self.db.begin_write().await?;
        let held = Condition::all()
            .add(entity::Column::Id.eq(job.id.as_str()))
            .add(entity::Column::State.eq(RUNNING))
            .add(entity::Column::LeaseOwner.eq(self.owner.as_str()))
            .add(entity::Column::Attempts.eq(job.attempts));
        let affected = match outcome {
            Outcome::Done => {
                entity::Entity::delete_many()
                    .filter(held)
                    .exec(&*txn)
                    .await?
                    .rows_affected
            }
            Outcome::Wait(delay) => {
                let run_at = now + chrono::Duration::from_std(*delay).unwrap_or_default();
                self.reschedule(&*txn, held, READY, run_at, job.attempts - 1, "")
                    .await?
            }
            Outcome::Retry(error) if job.attempts >= Ord::max(self.policy.max_attempts, 1) => {
                let error = format!("gave up after {} attempts: {error}", job.attempts);
                self.reschedule(&*txn, held, DEAD, now, job.attempts, &error)
                    .await?
            }
            Outcome::Retry(error) => {
                let delay = self.policy.delay(job.attempts, jitter());
                let run_at = now + chrono::Duration::from_std(delay).unwrap_or_default();
                self.reschedule(&*txn, held, READY, run_at, job.attempts, error)
                    .await?
            }
            Outcome::Dead(error) => {
                self.reschedule(&*txn, held, DEAD, now, job.attempts, error)
                    .await?
            }
        };
        txn.commit().await?;
        Ok(affected == 1)
    }

    async fn reschedule(
        &self,
        txn: &impl ConnectionTrait,
        held: Condition,
        state: i32,
        run_at: DateTime<Utc>,
        attempts: i32,
        error: &str,
    ) -> Result<u64, DbErr> {
        Ok(entity::Entity::update_many()
            .col_expr(entity::Column::State, Expr::value(state))
            .col_expr(entity::Column::RunAt, Expr::value(run_at))
            .col_expr(entity::Column::Attempts, Expr::value(attempts))
            .col_expr(
                entity::Column::LeaseOwner,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                entity::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(entity::Column::LastError, Expr::value(error.to_owned()))
            .col_expr(entity::Column::UpdatedAt, Expr::value(self.clock.now()))
            .filter(held)
            .exec(txn)
            .await?
            .rows_affected)
    }

    /// Works the queue until `shutdown`: claims due jobs whenever woken or every `interval`,
    /// hands each to `handle` (one at a time, each on its own: one that fails never stops the
    /// others) and records its outcome. Database failures are logged and retried next round.
    pub async fn run<H, F>(
        self,
        batch: u64,
        interval: Duration,
        wake: Option<Arc<Notify>>,
        shutdown: CancellationToken,
        mut handle: H,
    ) where
        H: FnMut(Job) -> F,
        F: Future<Output = Outcome>,
    {
        loop {
            if let Err(error) = self.work(batch, &mut handle).await {
                tracing::warn!(%error, queue = self.name, "working the queue failed; trying again later");
            }
            let woken = async {
                match &wake {
                    Some(wake) => wake.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = woken => {}
                () = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// Claims and handles due jobs until none is left.
    pub async fn work<H, F>(&self, batch: u64, handle: &mut H) -> Result<(), DbErr>
    where
        H: FnMut(Job) -> F,
        F: Future<Output = Outcome>,
    {
        loop {
            let jobs = self.claim(batch).await?;
            let claimed = jobs.len() as u64;
            for job in jobs {
                let outcome = handle(job.clone()).await;
                match &outcome {
                    Outcome::Retry(error) | Outcome::Dead(error) => {
                        tracing::warn!(job = %job.id, attempts = job.attempts, %error, "job failed");
                    }
                    Outcome::Done | Outcome::Wait(_) => {}
                }
                if !self.settle(&job, &outcome).await? {
                    tracing::info!(job = %job.id, "job was taken over; its outcome is not recorded");
                }
            }
            if claimed < batch {
                return Ok(());
            }
        }
    }
}

/// A random number in 0..1 for backoff jitter (see [`RetryPolicy::delay`]).
pub fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// Deletes nothing; counts the jobs of `queue` in each state (for health and tests).
pub async fn count(
    conn: &impl ConnectionTrait,
    queue: &str,
    state: JobState,
) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    let value = match state {
        JobState::Ready => READY,
        JobState::Running => RUNNING,
        JobState::Dead => DEAD,
    };
    entity::Entity::find()
        .filter(entity::Column::Queue.eq(queue))
        .filter(entity::Column::State.eq(value))
        .count(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let policy = RetryPolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            max_attempts: 10,
        };
        assert_eq!(policy.delay(1, 1.0), Duration::from_secs(1));
        assert_eq!(policy.delay(1, 0.0), Duration::from_millis(500));
        assert_eq!(policy.delay(4, 1.0), Duration::from_secs(8));
        assert_eq!(policy.delay(7, 1.0), Duration::from_secs(60));
        assert_eq!(policy.delay(i32::MAX, 1.0), Duration::from_secs(60));
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
            let delay = policy.delay(3, j);
            assert!(delay >= Duration::from_secs(2) && delay <= Duration::from_secs(4));
        }
    }
}
