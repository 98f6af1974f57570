//! The inspection service's gRPC face: handlers orchestrate (validate at the edge, ask the
//! registry where the caller's jurisdiction lies, read, run the domain, open a unit of work,
//! store, publish, commit) and convert. Protobuf types stay in this module and in `events`.
//!
//! The registry is asked before the unit of work opens (a write transaction is never held
//! across a network call).

mod bulletins;
mod checks;
mod consolidation;
pub mod convert;
mod feeds;
mod findings;
mod hot_events;
mod lexicons;
mod notices;
mod posts;
mod rectification;
mod rollups;
mod runs;
mod schemes;
mod spot_checks;
mod validation;

use std::{sync::Arc, time::Duration};

use govmedia_kit::{
    auth::{self, Principal},
    calendar::Calendar,
    error::ApiError,
    identity::Identity,
    regional::Regional,
    unit::{Unit, Writer},
};
use govmedia_proto::inspection::v1::{self as pb, inspection_service_server::InspectionService};
use govmedia_registry_client::{OrgRef, PerCaller, RegistryClient, strip};
use tonic::{Request, Response, Status, Streaming};

use crate::{
    config::{InspectionConfig, RectificationConfig},
    domain::{Account, AccountStatus, Stamp, detect::Knowledge, within},
    error::InspectionError,
    lexicons::InForce,
    sources::Sources,
};

/// How long an account a caller may deliver posts to is remembered.
pub const ACCOUNT_TTL: Duration = Duration::from_secs(5);

/// The inspection service implementation.
#[derive(Clone, Debug)]
pub struct InspectionApi {
    writer: Writer,
    registry: RegistryClient,
    sources: Sources,
    lexicons: Arc<InForce>,
    /// What the scanner in force found in posts checked before.
    scans: Arc<crate::lexicons::Scans>,
    knowledge: Arc<Knowledge>,
    root: String,
    lookback_days: u32,
    spot_check_per_mille: u32,
    accounts: PerCaller<Account>,
    /// Whether a caller's organization is a management department, remembered briefly.
    management: PerCaller<bool>,
    /// Wakes the monitor: a run was asked for.
    monitor: Arc<tokio::sync::Notify>,
    /// Wakes the collector: a feed was added.
    collector: Arc<tokio::sync::Notify>,
    /// Wakes the rectification worker: an order was opened, answered or rejected.
    rectifier: Arc<tokio::sync::Notify>,
    /// The working-day calendars deadlines count in, by region.
    calendars: Arc<Regional<Calendar>>,
    /// Deadlines of rectification orders.
    rectification: RectificationConfig,
    /// When an account is recommended for closure.
    closure: crate::domain::closure::Thresholds,
    /// When an account is to be merged or closed.
    consolidation: crate::domain::consolidation::Thresholds,
}

impl InspectionApi {
    /// A service writing through `writer`, asking `registry` where callers stand and `sources`
    /// what other services know, scanning with the `lexicons` in force, counting deadlines in
    /// `calendars`.
    pub fn new(
        writer: Writer,
        registry: RegistryClient,
        sources: Sources,
        lexicons: Arc<InForce>,
        calendars: Arc<Regional<Calendar>>,
        config: &InspectionConfig,
    ) -> Self {
        Self {
            writer,
            registry,
            sources,
            lexicons,
            scans: Arc::default(),
            knowledge: Arc::new(config.knowledge()),
            root: config.system_organization.clone(),
            lookback_days: config.lookback_days,
            spot_check_per_mille: config.spot_check_per_mille(),
            accounts: PerCaller::new(ACCOUNT_TTL, 100_000),
            management: PerCaller::new(ACCOUNT_TTL, 10_000),
            monitor: Arc::default(),
            collector: Arc::default(),
            rectifier: Arc::default(),
            calendars,
            rectification: config.rectification.clone(),
            closure: config.closure.thresholds(),
            consolidation: config.consolidation.thresholds(),
        }
    }

    /// What wakes the rectification worker when an order changes.
    pub fn rectifier_wake(&self) -> Arc<tokio::sync::Notify> {
        self.rectifier.clone()
    }

    /// The schedule of a deadline of `days` working days from `start` for a unit at `path`, in
    /// its region's calendar. A calendar without data for the year it reaches gives an unknown
    /// schedule, loudly: an operator must load that year's holiday notice, and the order's
    /// timer fills the due time in once it is there.
    pub(crate) fn schedule(
        &self,
        path: &str,
        start: chrono::DateTime<chrono::Utc>,
        days: u32,
    ) -> crate::domain::rectification::Schedule {
        match crate::domain::rectification::Schedule::of(
            self.calendars.for_path(path),
            start,
            days,
            self.rectification.warning_days,
        ) {
            Ok(schedule) => schedule,
            Err(error) => {
                tracing::error!(%path, %error, "no due time for a rectification round: the working-day calendar cannot count it");
                crate::domain::rectification::Schedule::default()
            }
        }
    }

    /// Fires a timer of a rectification order (see [`crate::rectification`]).
    pub(crate) async fn fire_order_timer(
        &self,
        order: &str,
        round: u32,
        rung: crate::rectification::Rung,
    ) -> Result<govmedia_kit::jobs::Outcome, InspectionError> {
        rectification::fire(self, order, round, rung).await
    }

    /// Re-checks the account of a rectification order after an answer (see
    /// [`crate::rectification`]).
    pub(crate) async fn recheck_order(
        &self,
        order: &str,
        round: u32,
    ) -> Result<govmedia_kit::jobs::Outcome, InspectionError> {
        rectification::recheck(self, order, round).await
    }

    /// Refuses a caller that is neither one of the suite's services nor a SUPERVISOR of a
    /// management department: posts and feeds are evidence, and schemes are the measure; the
    /// inspected unit supplies neither.
    pub(crate) async fn management_only(
        &self,
        principal: &Principal,
        what: &str,
    ) -> Result<(), InspectionError> {
        if principal.has(auth::Role::System) {
            return Ok(());
        }
        if self.in_management(principal).await? && principal.has(auth::Role::Supervisor) {
            Ok(())
        } else {
            Err(InspectionError::NotManagement {
                what: what.to_owned(),
            })
        }
    }

    /// PERMISSION_DENIED naming `name` unless `path` lies in `principal`'s jurisdiction.
    pub(crate) async fn in_reach(
        &self,
        principal: &Principal,
        path: &str,
        name: String,
    ) -> Result<(), InspectionError> {
        let root = self.scope(principal, None).await?;
        if within(&root.path, path) {
            Ok(())
        } else {
            Err(InspectionError::OutsideJurisdiction(name))
        }
    }

    /// Whether the caller's organization is a management department, as the registry says
    /// (remembered briefly).
    pub(crate) async fn in_management(
        &self,
        principal: &Principal,
    ) -> Result<bool, InspectionError> {
        Ok(match self.management.get(principal, "").await {
            Some(known) => known,
            None => {
                let organization = self
                    .registry
                    .as_caller(principal)
                    .organization(&principal.organization)
                    .await?;
                self.management
                    .insert(principal, "", organization.management_department)
                    .await;
                organization.management_department
            }
        })
    }

    /// What wakes the collector when a feed is added.
    pub fn collector_wake(&self) -> Arc<tokio::sync::Notify> {
        self.collector.clone()
    }

    /// Takes `post` as SubmitPost does, for `principal`.
    pub(crate) async fn take_post(
        &self,
        principal: &Principal,
        post: pb::IncomingPost,
    ) -> Result<pb::SubmitPostResponse, InspectionError> {
        posts::take(self, principal, Some(&post)).await
    }

    /// What wakes the monitor when a run is asked for.
    pub fn monitor_wake(&self) -> Arc<tokio::sync::Notify> {
        self.monitor.clone()
    }

    /// The writer.
    pub(crate) fn writer(&self) -> &Writer {
        &self.writer
    }

    /// The service's own principal (SYSTEM at its root).
    pub(crate) fn own_principal(&self) -> Principal {
        self.registry.own_principal()
    }

    /// The fingerprint of the lexicons in force.
    pub(crate) async fn lexicon_fingerprint(&self) -> Result<String, InspectionError> {
        Ok(self.lexicons.fingerprint(self.conn()).await?)
    }

    /// The latest version of the scheme `id`.
    pub(crate) async fn scheme(&self, id: &str) -> Result<crate::domain::Scheme, InspectionError> {
        schemes::find(self, id, 0).await
    }

    /// A new PENDING run asked for by `principal` at `now`.
    pub(crate) fn new_run(
        &self,
        mode: crate::domain::run::RunMode,
        principal: &Principal,
        now: chrono::DateTime<chrono::Utc>,
    ) -> crate::domain::run::MonitoringRun {
        crate::domain::run::MonitoringRun {
            id: format!("r{}", uuid::Uuid::now_v7().simple()),
            mode,
            mode_reason: String::new(),
            state: crate::domain::run::RunState::Pending,
            as_of: None,
            scheme: (String::new(), 0),
            accounts_active: 0,
            accounts_checked: 0,
            new_posts: 0,
            counts: [0; 3],
            lexicon_fingerprint: String::new(),
            post_mark: 0,
            started: None,
            finished: None,
            error: String::new(),
            created: Stamp {
                time: now,
                actor: principal.subject.clone(),
                actor_organization: principal.organization.clone(),
            },
        }
    }

    /// What checks of many accounts of the whole tree under `scheme` read once (see
    /// [`InspectionApi::check_accounts`]).
    pub(crate) async fn shared_reads(
        &self,
        scheme: &crate::domain::Scheme,
    ) -> Result<checks::Shared, InspectionError> {
        checks::Shared::read(self, scheme, checks::Reach::Tree(&self.root)).await
    }

    /// Checks `accounts` under `scheme` for `principal`, as `method` (no idempotency key), with
    /// what `shared` read for them, recording the checks in one unit of work.
    pub(crate) async fn check_accounts(
        &self,
        principal: &Principal,
        accounts: &[Account],
        scheme: &crate::domain::Scheme,
        shared: &checks::Shared,
        method: &'static str,
    ) -> Result<Vec<pb::Check>, InspectionError> {
        checks::perform_many(self, principal, accounts, scheme, shared, method).await
    }

    /// The ACTIVE accounts of the whole tree the service serves, sent to `pages` page by page
    /// as the registry lists them; stops early when `pages` is dropped.
    pub(crate) async fn active_account_pages(
        &self,
        pages: tokio::sync::mpsc::Sender<Vec<Account>>,
    ) -> Result<(), InspectionError> {
        let root = self.registry.as_service().jurisdiction().await?;
        self.active_accounts_of(&root, pages).await
    }

    /// The ACTIVE accounts of the subtree of `root`, with their organizations' paths, as the
    /// service sees them.
    pub(crate) async fn active_accounts_under(
        &self,
        root: &OrgRef,
    ) -> Result<Vec<Account>, InspectionError> {
        let (pages_in, mut pages) = tokio::sync::mpsc::channel(8);
        let collect = async {
            let mut accounts = Vec::new();
            while let Some(page) = pages.recv().await {
                accounts.extend(page);
            }
            accounts
        };
        let (listed, accounts) = tokio::join!(self.active_accounts_of(root, pages_in), collect);
        listed.map(|()| accounts)
    }

    /// [`InspectionApi::active_accounts_under`] page by page into `pages`.
    async fn active_accounts_of(
        &self,
        root: &OrgRef,
        pages: tokio::sync::mpsc::Sender<Vec<Account>>,
    ) -> Result<(), InspectionError> {
        let asker = self.registry.as_service();
        // One listing of the subtree's organizations for their paths.
        let paths: std::collections::BTreeMap<String, String> = asker
            .units(&root.id)
            .await?
            .into_iter()
            .map(|unit| (unit.id, unit.path))
            .collect();
        let filter = govmedia_proto::registry::v1::ListAccountsRequest {
            organization: convert::organization_name(&root.id),
            status: AccountStatus::Active as i32,
            ..Default::default()
        };
        let mut page_token = String::new();
        loop {
            let (entries, next) = asker.account_page(&filter, page_token).await?;
            let mut page = Vec::with_capacity(entries.len());
            for entry in entries {
                if AccountStatus::from_i32(entry.status) != Some(AccountStatus::Active) {
                    continue;
                }
                let organization = strip(&entry.organization, "organizations/")?.to_owned();
                let path = match paths.get(&organization) {
                    Some(path) => path.clone(),
                    // Created between the two listings.
                    None => asker.unit(&organization).await?.path,
                };
                if !within(&root.path, &path) {
                    continue;
                }
                page.push(Account {
                    id: strip(&entry.name, "accounts/")?.to_owned(),
                    organization,
                    path,
                    display_name: entry.display_name,
                    platform: entry.platform,
                    kind: entry.kind,
                    level: entry.level,
                    status: Some(AccountStatus::Active),
                    opened: entry
                        .open_time
                        .as_ref()
                        .and_then(govmedia_kit::clock::from_proto),
                    homepage: entry.homepage_url,
                    followers: (entry.follower_count > 0).then_some(entry.follower_count),
                });
            }
            if pages.send(page).await.is_err() || next.is_empty() {
                return Ok(());
            }
            page_token = next;
        }
    }

    pub(crate) fn conn(&self) -> &sea_orm::DatabaseConnection {
        self.writer.db().conn()
    }

    /// The organization named by a filter (`organizations/{id}`, already validated to an id),
    /// or the caller's jurisdiction; a named one outside the jurisdiction is refused.
    async fn scope(
        &self,
        principal: &Principal,
        organization: Option<&str>,
    ) -> Result<OrgRef, InspectionError> {
        let asker = self.registry.as_caller(principal);
        let root = asker.jurisdiction().await?;
        match organization {
            None => Ok(root),
            Some(id) => {
                let unit = asker.unit(id).await?;
                if within(&root.path, &unit.path) {
                    Ok(unit)
                } else {
                    Err(InspectionError::OutsideJurisdiction(
                        convert::organization_name(id),
                    ))
                }
            }
        }
    }

    /// The account `id` as `principal` may see it in the ledger, with its organization's path:
    /// the registry refuses an account outside the caller's jurisdiction.
    async fn account(&self, principal: &Principal, id: &str) -> Result<Account, InspectionError> {
        if let Some(known) = self.accounts.get(principal, id).await {
            return Ok(known);
        }
        let account = self.ledger_account(principal, id).await?;
        self.accounts.insert(principal, id, account.clone()).await;
        Ok(account)
    }

    /// [`InspectionApi::account`] as the ledger holds it now, never remembered.
    async fn ledger_account(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<Account, InspectionError> {
        let ledger = self.registry.as_caller(principal).account(id).await?;
        let organization = strip(&ledger.organization, "organizations/")?.to_owned();
        let unit = self.registry.as_service().unit(&organization).await?;
        let account = Account {
            id: id.to_owned(),
            organization,
            path: unit.path,
            display_name: ledger.display_name,
            platform: ledger.platform,
            kind: ledger.kind,
            level: ledger.level,
            status: AccountStatus::from_i32(ledger.status),
            opened: ledger
                .open_time
                .as_ref()
                .and_then(govmedia_kit::clock::from_proto),
            followers: (ledger.follower_count > 0).then_some(ledger.follower_count),
            homepage: ledger.homepage_url,
        };
        Ok(account)
    }
}

/// A client of the registry for the service of `identity`, configured by `config`.
pub fn registry(
    config: &InspectionConfig,
    identity: Arc<Identity>,
) -> Result<RegistryClient, govmedia_kit::endpoints::BadTarget> {
    RegistryClient::new(
        &config.registry_endpoint,
        Duration::from_millis(config.registry_timeout_ms),
        identity,
        &config.system_organization,
    )
}

/// Who changes something in `unit`, and when.
pub(crate) fn stamp(unit: &Unit) -> Stamp {
    Stamp {
        time: unit.now(),
        actor: unit.principal().subject.clone(),
        actor_organization: unit.principal().organization.clone(),
    }
}

/// The error for a value that validation let through although it should not have: a bug, not
/// bad input.
fn unvalidated(what: &str) -> InspectionError {
    InspectionError::Api(ApiError::internal(
        "handling a request",
        &format!("validation let an empty {what} through"),
    ))
}

/// Turns a handler result into what tonic wants.
fn respond<T>(result: Result<T, InspectionError>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

/// Runs a handler with the authenticated caller and the request body.
macro_rules! handle {
    ($self:ident, $request:ident, $handler:path) => {{
        let principal = auth::principal(&$request).map_err(Status::from)?;
        respond($handler($self, &principal, $request.into_inner()).await)
    }};
}

#[tonic::async_trait]
impl InspectionService for InspectionApi {
    async fn submit_post(
        &self,
        request: Request<pb::SubmitPostRequest>,
    ) -> Result<Response<pb::SubmitPostResponse>, Status> {
        handle!(self, request, posts::submit)
    }

    async fn submit_posts(
        &self,
        request: Request<Streaming<pb::SubmitPostsRequest>>,
    ) -> Result<Response<pb::SubmitPostsResponse>, Status> {
        handle!(self, request, posts::submit_batch)
    }

    async fn list_posts(
        &self,
        request: Request<pb::ListPostsRequest>,
    ) -> Result<Response<pb::ListPostsResponse>, Status> {
        handle!(self, request, posts::list)
    }

    async fn add_feed(
        &self,
        request: Request<pb::AddFeedRequest>,
    ) -> Result<Response<pb::Feed>, Status> {
        handle!(self, request, feeds::add)
    }

    async fn list_feeds(
        &self,
        request: Request<pb::ListFeedsRequest>,
    ) -> Result<Response<pb::ListFeedsResponse>, Status> {
        handle!(self, request, feeds::list)
    }

    async fn delete_feed(
        &self,
        request: Request<pb::DeleteFeedRequest>,
    ) -> Result<Response<pb::Feed>, Status> {
        handle!(self, request, feeds::delete)
    }

    async fn put_lexicon(
        &self,
        request: Request<pb::PutLexiconRequest>,
    ) -> Result<Response<pb::Lexicon>, Status> {
        handle!(self, request, lexicons::put)
    }

    async fn delete_lexicon(
        &self,
        request: Request<pb::DeleteLexiconRequest>,
    ) -> Result<Response<pb::Lexicon>, Status> {
        handle!(self, request, lexicons::delete)
    }

    async fn list_lexicons(
        &self,
        request: Request<pb::ListLexiconsRequest>,
    ) -> Result<Response<pb::ListLexiconsResponse>, Status> {
        handle!(self, request, lexicons::list)
    }

    async fn scan_text(
        &self,
        request: Request<pb::ScanTextRequest>,
    ) -> Result<Response<pb::ScanTextResponse>, Status> {
        handle!(self, request, lexicons::scan)
    }

    async fn put_scheme(
        &self,
        request: Request<pb::PutSchemeRequest>,
    ) -> Result<Response<pb::Scheme>, Status> {
        handle!(self, request, schemes::put)
    }

    async fn get_scheme(
        &self,
        request: Request<pb::GetSchemeRequest>,
    ) -> Result<Response<pb::Scheme>, Status> {
        handle!(self, request, schemes::get)
    }

    async fn list_schemes(
        &self,
        request: Request<pb::ListSchemesRequest>,
    ) -> Result<Response<pb::ListSchemesResponse>, Status> {
        handle!(self, request, schemes::list)
    }

    async fn list_detectors(
        &self,
        request: Request<pb::ListDetectorsRequest>,
    ) -> Result<Response<pb::ListDetectorsResponse>, Status> {
        handle!(self, request, schemes::detectors)
    }

    async fn create_hot_event(
        &self,
        request: Request<pb::CreateHotEventRequest>,
    ) -> Result<Response<pb::HotEvent>, Status> {
        handle!(self, request, hot_events::create)
    }

    async fn list_hot_events(
        &self,
        request: Request<pb::ListHotEventsRequest>,
    ) -> Result<Response<pb::ListHotEventsResponse>, Status> {
        handle!(self, request, hot_events::list)
    }

    async fn run_check(
        &self,
        request: Request<pb::RunCheckRequest>,
    ) -> Result<Response<pb::Check>, Status> {
        handle!(self, request, checks::run)
    }

    async fn get_check(
        &self,
        request: Request<pb::GetCheckRequest>,
    ) -> Result<Response<pb::Check>, Status> {
        handle!(self, request, checks::get)
    }

    async fn list_checks(
        &self,
        request: Request<pb::ListChecksRequest>,
    ) -> Result<Response<pb::ListChecksResponse>, Status> {
        handle!(self, request, checks::list)
    }

    async fn start_spot_check(
        &self,
        request: Request<pb::StartSpotCheckRequest>,
    ) -> Result<Response<pb::SpotCheck>, Status> {
        handle!(self, request, spot_checks::start)
    }

    async fn get_spot_check(
        &self,
        request: Request<pb::GetSpotCheckRequest>,
    ) -> Result<Response<pb::SpotCheck>, Status> {
        handle!(self, request, spot_checks::get)
    }

    async fn list_spot_checks(
        &self,
        request: Request<pb::ListSpotChecksRequest>,
    ) -> Result<Response<pb::ListSpotChecksResponse>, Status> {
        handle!(self, request, spot_checks::list)
    }

    async fn start_monitoring_run(
        &self,
        request: Request<pb::StartMonitoringRunRequest>,
    ) -> Result<Response<pb::MonitoringRun>, Status> {
        handle!(self, request, runs::start)
    }

    async fn get_monitoring_run(
        &self,
        request: Request<pb::GetMonitoringRunRequest>,
    ) -> Result<Response<pb::MonitoringRun>, Status> {
        handle!(self, request, runs::get)
    }

    async fn list_monitoring_runs(
        &self,
        request: Request<pb::ListMonitoringRunsRequest>,
    ) -> Result<Response<pb::ListMonitoringRunsResponse>, Status> {
        handle!(self, request, runs::list)
    }

    async fn create_finding(
        &self,
        request: Request<pb::CreateFindingRequest>,
    ) -> Result<Response<pb::Finding>, Status> {
        handle!(self, request, findings::create)
    }

    async fn get_finding(
        &self,
        request: Request<pb::GetFindingRequest>,
    ) -> Result<Response<pb::Finding>, Status> {
        handle!(self, request, findings::get)
    }

    async fn list_findings(
        &self,
        request: Request<pb::ListFindingsRequest>,
    ) -> Result<Response<pb::ListFindingsResponse>, Status> {
        handle!(self, request, findings::list)
    }

    async fn open_rectification_order(
        &self,
        request: Request<pb::OpenRectificationOrderRequest>,
    ) -> Result<Response<pb::RectificationOrder>, Status> {
        handle!(self, request, rectification::open)
    }

    async fn answer_rectification_order(
        &self,
        request: Request<pb::AnswerRectificationOrderRequest>,
    ) -> Result<Response<pb::RectificationOrder>, Status> {
        handle!(self, request, rectification::answer)
    }

    async fn verify_rectification_order(
        &self,
        request: Request<pb::VerifyRectificationOrderRequest>,
    ) -> Result<Response<pb::RectificationOrder>, Status> {
        handle!(self, request, rectification::verify)
    }

    async fn reject_rectification_order(
        &self,
        request: Request<pb::RejectRectificationOrderRequest>,
    ) -> Result<Response<pb::RectificationOrder>, Status> {
        handle!(self, request, rectification::reject)
    }

    async fn get_rectification_order(
        &self,
        request: Request<pb::GetRectificationOrderRequest>,
    ) -> Result<Response<pb::RectificationOrder>, Status> {
        handle!(self, request, rectification::get)
    }

    async fn list_rectification_orders(
        &self,
        request: Request<pb::ListRectificationOrdersRequest>,
    ) -> Result<Response<pb::ListRectificationOrdersResponse>, Status> {
        handle!(self, request, rectification::list)
    }

    async fn list_closure_recommendations(
        &self,
        request: Request<pb::ListClosureRecommendationsRequest>,
    ) -> Result<Response<pb::ListClosureRecommendationsResponse>, Status> {
        handle!(self, request, rectification::recommendations)
    }

    async fn issue_criticism_notice(
        &self,
        request: Request<pb::IssueCriticismNoticeRequest>,
    ) -> Result<Response<pb::CriticismNotice>, Status> {
        handle!(self, request, notices::issue)
    }

    async fn get_criticism_notice(
        &self,
        request: Request<pb::GetCriticismNoticeRequest>,
    ) -> Result<Response<pb::CriticismNotice>, Status> {
        handle!(self, request, notices::get)
    }

    async fn list_criticism_notices(
        &self,
        request: Request<pb::ListCriticismNoticesRequest>,
    ) -> Result<Response<pb::ListCriticismNoticesResponse>, Status> {
        handle!(self, request, notices::list)
    }

    async fn get_bulletin(
        &self,
        request: Request<pb::GetBulletinRequest>,
    ) -> Result<Response<pb::Bulletin>, Status> {
        handle!(self, request, bulletins::get)
    }

    async fn export_bulletin(
        &self,
        request: Request<pb::ExportBulletinRequest>,
    ) -> Result<Response<pb::ExportBulletinResponse>, Status> {
        handle!(self, request, bulletins::export)
    }

    async fn get_annual_rollup(
        &self,
        request: Request<pb::GetAnnualRollupRequest>,
    ) -> Result<Response<pb::AnnualRollup>, Status> {
        handle!(self, request, rollups::get)
    }

    async fn export_annual_rollup(
        &self,
        request: Request<pb::ExportAnnualRollupRequest>,
    ) -> Result<Response<pb::ExportAnnualRollupResponse>, Status> {
        handle!(self, request, rollups::export)
    }

    async fn list_consolidation_candidates(
        &self,
        request: Request<pb::ListConsolidationCandidatesRequest>,
    ) -> Result<Response<pb::ListConsolidationCandidatesResponse>, Status> {
        handle!(self, request, consolidation::list)
    }
}
