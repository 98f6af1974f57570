//! The daily monitoring run (日常监测, R-20): one replica at a time (the lease
//! `inspection-monitoring`) checks the suite's ACTIVE accounts under the configured scheme, every
//! day at `monitoring.daily_at` (Asia/Shanghai) and whenever a supervisor asks
//! (StartMonitoringRun). A run is incremental — the accounts [`crate::domain::run::select`]
//! chooses — unless it is the first, the lexicons changed since the last one, or a full run was
//! asked for.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use govmedia_kit::{
    CancellationToken,
    lease::{self, Leases},
};
use govmedia_proto::inspection::v1 as pb;
use tokio::sync::Notify;

use crate::{
    config::MonitoringConfig,
    domain::{
        Account,
        run::{self, Changes, MonitoringRun, RunMode, RunState},
        scheme::Verdict,
    },
    error::InspectionError,
    grpc::InspectionApi,
    store,
};

/// Accounts checked together: their posts read in one query, their checks recorded in one
/// unit of work.
const CHUNK: usize = 100;

/// What a run counted as it went.
#[derive(Debug, Default)]
struct Tally {
    active: usize,
    new_posts: i64,
    checked: usize,
    /// Passed, failed, incomplete.
    counts: [i32; 3],
    errors: Vec<String>,
    /// How long the ledger's listing took.
    listed: std::time::Duration,
}

impl Tally {
    fn add(&mut self, result: Result<Vec<pb::Check>, String>) {
        match result {
            Ok(checks) => {
                for check in checks {
                    self.checked += 1;
                    match Verdict::from_i32(check.outcome) {
                        Some(Verdict::Pass) => self.counts[0] += 1,
                        Some(Verdict::Fail) => self.counts[1] += 1,
                        Some(Verdict::Incomplete) | None => self.counts[2] += 1,
                    }
                }
            }
            Err(error) => self.errors.push(error),
        }
    }
}

/// The worker of the monitoring runs.
#[derive(Clone, Debug)]
pub struct Monitor {
    api: InspectionApi,
    config: MonitoringConfig,
    wake: Arc<Notify>,
}

impl Monitor {
    /// A monitor checking through `api`, woken by `wake` when a run is asked for.
    pub fn new(api: InspectionApi, config: MonitoringConfig, wake: Arc<Notify>) -> Self {
        Self { api, config, wake }
    }

    /// Works through the runs on whichever replica holds the lease, until `shutdown`.
    pub async fn run(self, leases: Leases, owner: String, shutdown: CancellationToken) {
        lease::lead(
            leases,
            "inspection-monitoring",
            &owner,
            lease::TTL,
            shutdown,
            |_, lost| {
                let monitor = self.clone();
                async move { monitor.lead(lost).await }
            },
        )
        .await;
    }

    async fn lead(&self, lost: CancellationToken) {
        let poll = Duration::from_millis(self.config.poll_ms);
        match store::runs::abandon_running(
            self.api.conn(),
            "the replica running it stopped; the next run starts over",
        )
        .await
        {
            Ok(0) => {}
            Ok(n) => tracing::warn!(runs = n, "marked runs left half done as failed"),
            Err(error) => tracing::warn!(%error, "cannot look for runs left half done"),
        }
        loop {
            let wait = match self.pass(&lost).await {
                Ok(wait) => wait.min(poll),
                Err(error) => {
                    tracing::warn!(%error, "monitoring failed; trying again later");
                    poll
                }
            };
            tokio::select! {
                () = lost.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// The instant of today's daily run (Asia/Shanghai) at or before `now`, if today's time has
    /// come.
    fn due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let time = self.config.daily_time()?;
        let local = now.with_timezone(&govmedia_kit::calendar::SHANGHAI);
        let today = local.date_naive().and_time(time);
        let due = today
            .and_local_timezone(govmedia_kit::calendar::SHANGHAI)
            .single()?
            .with_timezone(&Utc);
        (due <= now).then_some(due)
    }

    /// Runs what is asked for, then the daily run when due; returns how long to sleep.
    async fn pass(&self, lost: &CancellationToken) -> Result<Duration, InspectionError> {
        while let Some(asked) = store::runs::oldest_in(self.api.conn(), RunState::Pending).await? {
            if lost.is_cancelled() {
                return Ok(Duration::ZERO);
            }
            self.execute(asked, lost).await?;
        }
        let now = self.api.writer().clock().now();
        if let Some(due) = self.due(now) {
            let last = store::runs::last_done(self.api.conn()).await?;
            if last
                .and_then(|run| run.as_of)
                .is_none_or(|as_of| as_of < due)
            {
                let system = self.api.own_principal();
                let daily = self.api.new_run(RunMode::Incremental, &system, now);
                store::runs::insert(self.api.conn(), &daily).await?;
                self.execute(daily, lost).await?;
            }
        }
        // Until tomorrow's time at most (the caller caps it at the poll interval).
        Ok(Duration::from_secs(3_600))
    }

    /// Runs `run` to its end.
    async fn execute(
        &self,
        mut run: MonitoringRun,
        lost: &CancellationToken,
    ) -> Result<(), InspectionError> {
        let conn = self.api.conn();
        let as_of = self.api.writer().clock().now();
        let last = store::runs::last_done(conn).await?;
        let fingerprint = self.api.lexicon_fingerprint().await?;
        let mark = store::posts::mark(conn).await?;
        run.state = RunState::Running;
        run.started = Some(as_of);
        run.as_of = Some(as_of);
        run.lexicon_fingerprint = fingerprint.clone();
        run.post_mark = mark;
        (run.mode, run.mode_reason) = match (&last, run.mode) {
            (_, RunMode::Full) => (RunMode::Full, "a full run was asked for".to_owned()),
            (None, _) => (RunMode::Full, "the first run".to_owned()),
            (Some(last), _) if last.lexicon_fingerprint != fingerprint => (
                RunMode::Full,
                "the lexicons changed since the last run".to_owned(),
            ),
            (Some(_), _) => (
                RunMode::Incremental,
                "what changed since the last run".to_owned(),
            ),
        };
        let scheme = match self.api.scheme(&self.config.scheme).await {
            Ok(scheme) => scheme,
            Err(error) => return self.fail(run, &error.to_string()).await,
        };
        run.scheme = (scheme.id.clone(), scheme.version);
        store::runs::update(conn, &run).await?;

        let started = std::time::Instant::now();
        let since = last.as_ref().map_or(0, |last| last.post_mark);
        let incremental = last.is_some() && run.mode == RunMode::Incremental;
        let windows: BTreeSet<i64> = scheme
            .items
            .iter()
            .flat_map(|item| {
                ["window_days", "idle_days"]
                    .into_iter()
                    .filter_map(|name| item.parameters.get(name))
                    .filter_map(|value| value.parse::<i64>().ok())
                    .collect::<Vec<_>>()
            })
            .chain([14, 180])
            .collect();
        // The ledger is listed page by page while the rest is read and the first accounts are
        // checked: a province's listing takes seconds.
        let (pages_in, mut pages) = tokio::sync::mpsc::channel(8);
        let listing = self.api.active_account_pages(pages_in);
        let checking = async {
            // What changed, and what checks read once (the scanner, the hot events, other
            // services' facts about every account), side by side.
            let (posted, latest, last_checked, shared) = tokio::join!(
                store::posts::posted_between(conn, since, mark),
                async {
                    match incremental {
                        true => store::posts::latest_per_account(conn).await,
                        false => Ok(Vec::new()),
                    }
                },
                async {
                    match incremental {
                        true => store::checks::last_per_account(conn).await,
                        false => Ok(Vec::new()),
                    }
                },
                self.api.shared_reads(&scheme),
            );
            let shared = shared.map_err(|error| error.to_string())?;
            let posted = posted.map_err(|error| error.to_string())?;
            let latest: BTreeMap<String, DateTime<Utc>> = latest
                .map_err(|error| error.to_string())?
                .into_iter()
                .collect();
            let last_checked: BTreeMap<String, DateTime<Utc>> = last_checked
                .map_err(|error| error.to_string())?
                .into_iter()
                .collect();
            let mut tally = Tally {
                new_posts: posted.iter().map(|(_, n)| n).sum(),
                ..Tally::default()
            };
            let posted: BTreeSet<String> = posted.into_iter().map(|(a, _)| a).collect();
            let changes = last.as_ref().map(|last| Changes {
                last_as_of: last.as_of.unwrap_or(as_of),
                as_of,
                posted: &posted,
                latest: &latest,
                last_checked: &last_checked,
                windows: &windows,
                refresh_days: i64::from(self.config.refresh_days),
            });
            let system = self.api.own_principal();
            let check = |accounts: Vec<Account>| {
                let (api, system, scheme, shared, lost) =
                    (&self.api, &system, &scheme, &shared, lost.clone());
                async move {
                    if lost.is_cancelled() {
                        return Err("the lease was lost".to_owned());
                    }
                    let once = api
                        .check_accounts(system, &accounts, scheme, shared, "MonitoringRun")
                        .await;
                    let result = match once {
                        Ok(checks) => Ok(checks),
                        // A check of one of them recorded the same finding at the same moment
                        // (ABORTED), or the database failed a moment: once more, since a group
                        // commits whole or not at all.
                        Err(error) => {
                            tracing::warn!(%error, "a group of checks failed; checking it again");
                            api.check_accounts(system, &accounts, scheme, shared, "MonitoringRun")
                                .await
                        }
                    };
                    result.map_err(|error| {
                        let first = accounts.first().map_or("", |a| a.id.as_str());
                        format!(
                            "the {} accounts from accounts/{first}: {error}",
                            accounts.len()
                        )
                    })
                }
            };
            let concurrency = self.config.concurrency.max(1) as usize;
            let mut in_flight = futures::stream::FuturesUnordered::new();
            let mut waiting: Vec<Account> = Vec::new();
            let mut listed = false;
            loop {
                while in_flight.len() < concurrency
                    && (waiting.len() >= CHUNK || (listed && !waiting.is_empty()))
                {
                    let group: Vec<Account> = waiting.drain(..CHUNK.min(waiting.len())).collect();
                    in_flight.push(check(group));
                }
                if listed && waiting.is_empty() && in_flight.is_empty() {
                    break;
                }
                tokio::select! {
                    page = pages.recv(), if !listed && waiting.len() < CHUNK * concurrency * 2 => {
                        let Some(page) = page else {
                            listed = true;
                            tally.listed = started.elapsed();
                            continue;
                        };
                        tally.active += page.len();
                        match (&changes, incremental) {
                            (Some(changes), true) => {
                                let ids: Vec<String> = page.iter().map(|a| a.id.clone()).collect();
                                let chosen: BTreeSet<String> =
                                    run::select(&ids, changes).into_iter().collect();
                                waiting.extend(
                                    page.into_iter().filter(|a| chosen.contains(&a.id)),
                                );
                            }
                            _ => waiting.extend(page),
                        }
                    }
                    Some(result) = in_flight.next(), if !in_flight.is_empty() => tally.add(result),
                }
            }
            Ok::<Tally, String>(tally)
        };
        let (listing, checking) = tokio::join!(listing, checking);
        let tally = match (listing, checking) {
            (Ok(()), Ok(tally)) => tally,
            (Err(error), _) => return self.fail(run, &error.to_string()).await,
            (_, Err(error)) => return self.fail(run, &error).await,
        };
        run.accounts_active = i32::try_from(tally.active).unwrap_or(i32::MAX);
        run.new_posts = i32::try_from(tally.new_posts).unwrap_or(i32::MAX);
        run.accounts_checked = i32::try_from(tally.checked).unwrap_or(i32::MAX);
        run.counts = tally.counts;
        let errors = tally.errors;
        let listed = tally.listed;
        run.finished = Some(self.api.writer().clock().now());
        if let Some(first) = errors.first() {
            run.state = RunState::Failed;
            run.error = format!(
                "{} groups of checks failed; the first: {first}",
                errors.len()
            );
        } else {
            run.state = RunState::Done;
        }
        store::runs::update(conn, &run).await?;
        tracing::info!(
            run = %run.id,
            listed_ms = listed.as_millis(),
            checked_ms = started.elapsed().as_millis(),
            mode = %run.mode,
            checked = run.accounts_checked,
            active = run.accounts_active,
            "monitoring run ended"
        );
        Ok(())
    }

    async fn fail(&self, mut run: MonitoringRun, why: &str) -> Result<(), InspectionError> {
        run.state = RunState::Failed;
        run.error = why.to_owned();
        run.finished = Some(self.api.writer().clock().now());
        store::runs::update(self.api.conn(), &run).await?;
        Ok(())
    }
}
