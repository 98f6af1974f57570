//! Publishing approved replies back to the citizen (及时反馈), through an outbox: approving a
//! reply queues a durable job (`publish-reply`, see `govmedia_kit::jobs`) in the same
//! transaction; any replica claims it and hands the reply to the [`PlatformAdapter`], then
//! records the publication on the case (REPLY_PUBLISHED). A platform that cannot take it now is
//! tried again with backoff; one that refuses it for good leaves the job DEAD for an operator.
//!
//! govmedia holds no platform's credentials. The adapter shipped, [`Spool`], writes each reply as
//! a JSON file into a directory that the unit's publishing bridge (which does hold them) takes
//! from; tests plug in their own adapter.

use std::{fmt::Debug, path::PathBuf, sync::Arc, time::Duration};

use futures::future::BoxFuture;
use govmedia_kit::{
    CancellationToken,
    auth::Principal,
    jobs::{self, Job, Outcome, Queue, RetryPolicy},
    unit::{Unit, Writer},
};
use serde_json::json;
use tokio::sync::Notify;

use crate::{
    config::PublishConfig,
    domain::{ReplyState, Stamp},
    error::RoutingError,
    grpc::{self, convert},
    store,
};

/// The queue of replies to publish.
pub const QUEUE: &str = "publish-reply";

/// Jobs claimed at a time.
const BATCH: u64 = 20;

/// A reply on its way to the platform.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OutgoingReply {
    /// `cases/{id}`.
    pub case: String,
    /// Which reply of the case.
    pub round: u32,
    /// `accounts/{id}`: the account that answers.
    pub account: String,
    /// The platform's id of the message answered (the case's first).
    pub platform_message_id: String,
    /// The approved text.
    pub text: String,
}

/// Why a platform did not take a reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// Not now (the platform or the bridge is away): tried again later.
    #[error("not published yet: {0}")]
    Retry(String),
    /// Never (the message was deleted on the platform, say): given up.
    #[error("refused: {0}")]
    Refused(String),
}

/// Where replies go out: one implementation per way of reaching the platforms.
pub trait PlatformAdapter: Debug + Send + Sync + 'static {
    /// Publishes `reply`; returns the platform's id of the published reply. Must be idempotent:
    /// the same reply (case and round) may be handed over again after a crash.
    fn publish<'a>(
        &'a self,
        reply: &'a OutgoingReply,
    ) -> BoxFuture<'a, Result<String, PublishError>>;
}

/// The spool adapter: one JSON file per reply, `{case id}-{round}.json`, written whole (to a
/// temporary name, then renamed) so the bridge never reads half a reply.
#[derive(Clone, Debug)]
pub struct Spool {
    dir: PathBuf,
}

impl Spool {
    /// A spool writing into `dir` (created when missing).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }
}

impl PlatformAdapter for Spool {
    fn publish<'a>(
        &'a self,
        reply: &'a OutgoingReply,
    ) -> BoxFuture<'a, Result<String, PublishError>> {
        Box::pin(async move {
            let id = format!(
                "{}-{}",
                reply.case.trim_start_matches("cases/"),
                reply.round
            );
            let body = serde_json::to_vec_pretty(reply)
                .map_err(|error| PublishError::Refused(error.to_string()))?;
            let retry = |error: std::io::Error| {
                PublishError::Retry(format!("writing to the spool directory: {error}"))
            };
            tokio::fs::create_dir_all(&self.dir).await.map_err(retry)?;
            let partial = self.dir.join(format!(".{id}.json.partial"));
            tokio::fs::write(&partial, body).await.map_err(retry)?;
            tokio::fs::rename(&partial, self.dir.join(format!("{id}.json")))
                .await
                .map_err(retry)?;
            Ok(format!("spool:{id}"))
        })
    }
}

/// Queues the publication of reply `round` of `case`, in the unit that approved it.
pub async fn enqueue(unit: &Unit, case: &str, round: u32) -> Result<(), RoutingError> {
    jobs::enqueue(unit.txn(), QUEUE, &format!("{case}/{round}"), unit.now()).await?;
    Ok(())
}

/// The publisher: works the queue.
#[derive(Clone, Debug)]
pub struct Publisher {
    writer: Writer,
    adapter: Arc<dyn PlatformAdapter>,
    system: Principal,
    queue: Queue,
    interval: Duration,
}

impl Publisher {
    /// A publisher writing through `writer` as `system`, handing replies to `adapter`.
    pub fn new(
        writer: Writer,
        adapter: Arc<dyn PlatformAdapter>,
        system: Principal,
        config: &PublishConfig,
        replica: &str,
    ) -> Self {
        let queue = Queue::new(
            writer.db().clone(),
            writer.clock().clone(),
            QUEUE,
            replica,
            Duration::from_secs(60),
            RetryPolicy {
                initial: Duration::from_millis(config.retry_initial_ms),
                max: Duration::from_millis(config.retry_max_ms),
                max_attempts: i32::try_from(config.max_attempts).unwrap_or(i32::MAX),
            },
        );
        Self {
            writer,
            adapter,
            system,
            queue,
            interval: Duration::from_millis(config.interval_ms),
        }
    }

    /// Publishes queued replies until `shutdown`, at once when `wake` is notified.
    pub async fn run(self, wake: Arc<Notify>, shutdown: CancellationToken) {
        let queue = self.queue.clone();
        let interval = self.interval;
        queue
            .run(BATCH, interval, Some(wake), shutdown, |job| {
                let this = self.clone();
                async move { Outcome::or_retry(this.handle(job).await) }
            })
            .await;
    }

    async fn handle(&self, job: Job) -> Result<Outcome, RoutingError> {
        let Some((case_id, round)) = job
            .key
            .rsplit_once('/')
            .and_then(|(case, round)| Some((case.to_owned(), round.parse::<u32>().ok()?)))
        else {
            return Ok(Outcome::Dead(format!(
                "{} is not a case and a round",
                job.key
            )));
        };
        let conn = self.writer.db().conn();
        let Some(case) = store::cases::get(conn, &case_id).await? else {
            return Ok(Outcome::Done);
        };
        // Only the approved reply of that round still goes out; anything else was recorded or
        // superseded meanwhile.
        let Some(reply) = case
            .replies
            .iter()
            .find(|r| r.round == round && r.state() == ReplyState::Approved)
        else {
            return Ok(Outcome::Done);
        };
        let first = store::messages::of_case(conn, &case_id).await?;
        let outgoing = OutgoingReply {
            case: convert::case_name(&case_id),
            round,
            account: convert::account_name(&case.account),
            platform_message_id: first
                .first()
                .map(|m| m.platform_message_id.clone())
                .unwrap_or_default(),
            text: reply.text.clone(),
        };
        match self.adapter.publish(&outgoing).await {
            Ok(platform_id) => {
                self.record(&case_id, round, &platform_id).await?;
                Ok(Outcome::Done)
            }
            Err(PublishError::Retry(why)) => Ok(Outcome::Retry(why)),
            Err(PublishError::Refused(why)) => Ok(Outcome::Dead(why)),
        }
    }

    async fn record(
        &self,
        case_id: &str,
        round: u32,
        platform_id: &str,
    ) -> Result<(), RoutingError> {
        let mut unit = self
            .writer
            .begin("PublishReply", &self.system, "", &())
            .await?;
        let Some(mut case) = store::cases::get(unit.txn(), case_id).await? else {
            return Ok(());
        };
        if case.latest_reply().is_none_or(|r| r.round != round) {
            return Ok(());
        }
        let stamp = Stamp {
            time: unit.now(),
            actor: self.system.subject.clone(),
            actor_organization: self.system.organization.clone(),
        };
        let Some(step) = case.published(&stamp, platform_id) else {
            return Ok(());
        };
        case.updated = stamp;
        let steps = [step];
        grpc::record(&mut unit, &mut case, &steps, None).await?;
        unit.audit(
            &convert::case_name(case_id),
            &case.account_path,
            json!({ "round": round, "platform_reply_id": platform_id }),
        );
        unit.commit(()).await?;
        Ok(())
    }
}
