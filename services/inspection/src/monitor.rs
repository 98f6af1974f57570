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

        let active = match self.api.active_accounts().await {
            Ok(active) => active,
            Err(error) => return self.fail(run, &error.to_string()).await,
        };
        run.accounts_active = i32::try_from(active.len()).unwrap_or(i32::MAX);
        let since = last.as_ref().map_or(0, |last| last.post_mark);
        let posted = store::posts::posted_between(conn, since, mark).await?;
        run.new_posts =
            i32::try_from(posted.iter().map(|(_, n)| n).sum::<i64>()).unwrap_or(i32::MAX);
        let selected: Vec<Account> = match (&last, run.mode) {
            (Some(last), RunMode::Incremental) => {
                let ids: Vec<String> = active.iter().map(|a| a.id.clone()).collect();
                let posted: BTreeSet<String> = posted.into_iter().map(|(a, _)| a).collect();
                let latest: BTreeMap<String, DateTime<Utc>> =
                    store::posts::latest_per_account(conn)
                        .await?
                        .into_iter()
                        .collect();
                let last_checked: BTreeMap<String, DateTime<Utc>> =
                    store::checks::last_per_account(conn)
                        .await?
                        .into_iter()
                        .collect();
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
                let chosen: BTreeSet<String> = run::select(
                    &ids,
                    &Changes {
                        last_as_of: last.as_of.unwrap_or(as_of),
                        as_of,
                        posted: &posted,
                        latest: &latest,
                        last_checked: &last_checked,
                        windows: &windows,
                        refresh_days: i64::from(self.config.refresh_days),
                    },
                )
                .into_iter()
                .collect();
                active
                    .into_iter()
                    .filter(|account| chosen.contains(&account.id))
                    .collect()
            }
            _ => active,
        };

        let system = self.api.own_principal();
        let checks: Vec<_> = selected
            .into_iter()
            .map(|account| {
                let (api, system, scheme, lost) = (
                    self.api.clone(),
                    system.clone(),
                    scheme.clone(),
                    lost.clone(),
                );
                async move {
                    if lost.is_cancelled() {
                        return Err("the lease was lost".to_owned());
                    }
                    api.check_account(&system, &account, &scheme, "MonitoringRun")
                        .await
                        .map_err(|error| format!("accounts/{}: {error}", account.id))
                }
            })
            .collect();
        let results: Vec<Result<pb::Check, String>> = futures::stream::iter(checks)
            .buffer_unordered(self.config.concurrency as usize)
            .collect()
            .await;
        let mut errors = Vec::new();
        for result in results {
            match result {
                Ok(check) => {
                    run.accounts_checked += 1;
                    match Verdict::from_i32(check.outcome) {
                        Some(Verdict::Pass) => run.counts[0] += 1,
                        Some(Verdict::Fail) => run.counts[1] += 1,
                        Some(Verdict::Incomplete) | None => run.counts[2] += 1,
                    }
                }
                Err(error) => errors.push(error),
            }
        }
        run.finished = Some(self.api.writer().clock().now());
        if let Some(first) = errors.first() {
            run.state = RunState::Failed;
            run.error = format!("{} checks failed; the first: {first}", errors.len());
        } else {
            run.state = RunState::Done;
        }
        store::runs::update(conn, &run).await?;
        tracing::info!(
            run = %run.id,
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
