//! The filing service's gRPC face: handlers orchestrate (validate at the edge, ask the registry
//! what only it knows, open a unit of work, ask the domain, store, publish, audit, commit) and
//! convert. Protobuf types stay in this module and in `events`.
//!
//! Handlers that must ask the registry do so before they open their unit of work (a write
//! transaction is never held across a network call), then re-read the filing inside the unit
//! and refuse with ABORTED if it changed in between.

mod closures;
pub mod convert;
mod filings;
mod reconciliation;
pub mod registry;
pub(crate) mod reports;
mod roster;
mod validation;
mod workflow;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use govmedia_accounts::status::AccountStatus;
use govmedia_kit::{
    auth::{self, Principal, Role},
    calendar::Calendar,
    error::{ApiError, Violations},
    regional::Regional,
    unit::{Unit, Writer},
    validate,
};
use govmedia_proto::filing::v1::{self as pb, filing_service_server::FilingService};
use serde_json::json;
use tokio::sync::Notify;
use tonic::{Request, Response, Status};

use govmedia_registry_client::OrgRef;
pub use registry::Registry;

use crate::{
    config::FilingConfig,
    domain::{Filing, FilingKind, Limits, Stamp, TimelineEntry},
    error::FilingError,
    events, store,
};

/// The filing service implementation.
#[derive(Clone, Debug)]
pub struct FilingApi {
    writer: Writer,
    registry: Registry,
    deadlines: Deadlines,
    applier: Arc<Notify>,
    reporter: Arc<Notify>,
    /// The inspection service, when configured: rectification orders behind enforced closures.
    inspection: Option<govmedia_kit::client::Peer>,
}

/// What wakes the background workers.
#[derive(Clone, Debug, Default)]
pub struct Wake {
    /// The applier, on acceptance.
    pub applier: Arc<Notify>,
    /// The reporter, when a report is queued or queued again.
    pub reporter: Arc<Notify>,
}

impl FilingApi {
    /// A service writing through `writer`, asking `registry` (and `inspection` about
    /// rectification orders), timing waits by `deadlines`, waking the workers in `wake`.
    pub fn new(
        writer: Writer,
        registry: Registry,
        inspection: Option<govmedia_kit::client::Peer>,
        deadlines: Deadlines,
        wake: Wake,
    ) -> Self {
        Self {
            writer,
            registry,
            deadlines,
            applier: wake.applier,
            reporter: wake.reporter,
            inspection,
        }
    }

    fn conn(&self) -> &sea_orm::DatabaseConnection {
        self.writer.db().conn()
    }

    /// Now, by the service's clock.
    fn now(&self) -> DateTime<Utc> {
        self.writer.clock().now()
    }
}

/// When waits become overdue: the limits in working days and the calendars they count in,
/// both by the unit's region.
#[derive(Clone, Debug)]
pub struct Deadlines {
    limits: Regional<Limits>,
    calendars: Arc<Regional<Calendar>>,
}

impl Deadlines {
    /// The limits of `config`, counted in `calendars`.
    pub fn new(config: &FilingConfig, calendars: Arc<Regional<Calendar>>) -> Self {
        Self {
            limits: config.limits(),
            calendars,
        }
    }

    /// The due time of `filing`'s current wait, if it waits for someone. A calendar that holds
    /// no data for the year the deadline falls in leaves it empty, loudly: an operator must load
    /// the year's holiday notice, and the reminder fills the time in once it is there.
    pub fn due_time(&self, filing: &Filing) -> Option<DateTime<Utc>> {
        let path = &filing.organization_path;
        let limits = self.limits.for_path(path);
        match limits.due_time(
            filing.state,
            filing.state_time,
            self.calendars.for_path(path),
        ) {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(filing = %filing.name(), %error, "no due time for a waiting filing");
                None
            }
        }
    }
}

/// The stamp of the change `unit` makes.
fn stamp(unit: &Unit) -> Stamp {
    Stamp {
        time: unit.now(),
        actor: unit.principal().subject.clone(),
        actor_organization: unit.principal().organization.clone(),
    }
}

/// True for callers that act for a unit (file, edit, submit, bind).
fn acts_for_units(principal: &Principal) -> bool {
    principal.has(Role::Operator) || principal.has(Role::Leader) || principal.has(Role::System)
}

/// ABORTED when a sent etag is not the current one.
fn check_etag(sent: &str, filing: &Filing) -> Result<(), FilingError> {
    if sent.is_empty() || sent == convert::etag(filing.version) {
        Ok(())
    } else {
        Err(FilingError::EtagMismatch {
            resource: filing.name(),
            current: convert::etag(filing.version),
        })
    }
}

/// A filing by id; NOT_FOUND when there is none.
async fn load(conn: &impl sea_orm::ConnectionTrait, id: &str) -> Result<Filing, FilingError> {
    store::filings::get(conn, id)
        .await?
        .ok_or_else(|| FilingError::NotFound(convert::filing_name(id)))
}

/// Inside a unit: the filing as it was read before the registry was asked, or ABORTED when
/// someone changed it meanwhile.
async fn reload(unit: &Unit, read: &Filing) -> Result<Filing, FilingError> {
    let current = load(unit.txn(), &read.id).await?;
    if current.version == read.version {
        Ok(current)
    } else {
        Err(FilingError::EtagMismatch {
            resource: current.name(),
            current: convert::etag(current.version),
        })
    }
}

/// Checks the `organization` field of a request, `organizations/{id}`; returns the id.
fn organization_field(v: &mut Violations, value: &str, required: bool) -> Option<String> {
    validate::resource_id(v, "organization", value, "organizations", required)
}

/// The subtree a listing covers: the organization named (which the registry checks the caller
/// reaches) or, when none is, the caller's jurisdiction.
async fn subtree(
    api: &FilingApi,
    principal: &Principal,
    organization: Option<String>,
) -> Result<OrgRef, FilingError> {
    Ok(api
        .registry
        .as_caller(principal)
        .scope(organization.as_deref())
        .await?)
}

/// How [`record`] stores the filing.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Save {
    /// A new filing.
    New,
    /// A change of the filing read at this version.
    Over(i64),
}

/// Stores a new or changed filing with its timeline entry, publishes `FilingChanged`, writes
/// the audit entry and returns the filing as the caller sees it.
pub(crate) async fn record(
    unit: &mut Unit,
    filing: &Filing,
    save: Save,
    entry: TimelineEntry,
) -> Result<pb::Filing, FilingError> {
    match save {
        Save::New => store::filings::insert(unit.txn(), filing).await?,
        Save::Over(expected) => {
            if !store::filings::update(unit.txn(), filing, expected).await? {
                return Err(FilingError::EtagMismatch {
                    resource: filing.name(),
                    current: convert::etag(expected + 1),
                });
            }
        }
    }
    store::timeline::append(unit.txn(), &filing.id, &entry).await?;
    let timeline = store::timeline::of(unit.txn(), &filing.id).await?;
    let response = convert::filing(filing, &timeline, unit.now());
    let action = pb::FilingAction::try_from(entry.action as i32).unwrap_or_default();
    unit.publish(&filing.name(), &events::filing_changed(&response, action))
        .await?;
    unit.audit(
        &filing.name(),
        &filing.organization_path,
        json!({
            "kind": filing.kind.as_str(),
            "action": entry.action.as_str(),
            "from": entry.from.as_str(),
            "to": entry.to.as_str(),
            "comment": entry.comment,
            "application": filing.application.state.map(|state| state.as_str()),
        }),
    );
    Ok(response)
}

/// What a filing is about, as far as the registry must confirm it.
#[derive(Clone, Copy, Debug)]
struct Subject<'a> {
    organization: &'a str,
    kind: FilingKind,
    target: Option<&'a str>,
    platform: Option<i32>,
    platform_account_id: Option<&'a str>,
}

impl<'a> Subject<'a> {
    fn of(filing: &'a Filing) -> Self {
        Self {
            organization: &filing.organization,
            kind: filing.kind,
            target: filing.target_account.as_deref(),
            platform: filing.platform,
            platform_account_id: filing.platform_account_id.as_deref(),
        }
    }
}

/// What only the registry can confirm, asked as `principal`: the unit exists within the
/// caller's reach; a named account belongs to the unit and its status still allows the change;
/// a platform id an OPEN names is not registered yet. Returns the unit.
async fn preflight(
    api: &FilingApi,
    principal: &Principal,
    subject: Subject<'_>,
) -> Result<OrgRef, FilingError> {
    let asker = api.registry.as_caller(principal);
    let unit = asker.unit(subject.organization).await?;
    let mut platform = subject.platform;
    if let Some(target) = subject.target {
        let account = asker.account(target).await?;
        platform = platform.or(Some(account.platform));
        if account.organization != convert::organization_name(&unit.id) {
            return Err(FilingError::AccountOfAnotherUnit {
                account: account.name,
                unit: convert::organization_name(&unit.id),
            });
        }
        // The ledger's own lifecycle rule, asked before the filing travels on.
        let status = AccountStatus::from_i32(account.status).ok_or_else(|| {
            ApiError::internal(
                "reading the registry's answer",
                &"an account without a status",
            )
        })?;
        if let Some(change) = subject.kind.ledger_change()
            && !change.allowed_from(status)
        {
            return Err(FilingError::TargetNotEligible {
                account: account.name,
                status,
                kind: subject.kind,
            });
        }
        // A correction of the platform id needs one to correct.
        if subject.kind == FilingKind::Change
            && subject.platform_account_id.is_some()
            && account.platform_account_id.is_empty()
        {
            return Err(govmedia_accounts::status::unbound(&account.name).into());
        }
    }
    if let (Some(platform), Some(platform_account_id)) = (platform, subject.platform_account_id)
        && let Some(existing) = api
            .registry
            .as_service()
            .platform_account_holder(platform, platform_account_id)
            .await?
        && Some(existing.as_str()) != subject.target.map(|id| format!("accounts/{id}")).as_deref()
    {
        // Named only to a caller who may see it: the platform id is public, which account of
        // which unit holds it in the ledger is not.
        let holder = existing.strip_prefix("accounts/").unwrap_or(&existing);
        let visible = matches!(asker.find_account(holder).await, Ok(Some(_)));
        return Err(FilingError::PlatformAccountTaken {
            platform_account_id: platform_account_id.to_owned(),
            existing: visible.then_some(existing),
        });
    }
    Ok(unit)
}

/// Turns a handler result into what tonic wants.
fn respond<T>(result: Result<T, FilingError>) -> Result<Response<T>, Status> {
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
impl FilingService for FilingApi {
    async fn create_filing(
        &self,
        request: Request<pb::CreateFilingRequest>,
    ) -> Result<Response<pb::Filing>, Status> {
        handle!(self, request, filings::create)
    }

    async fn get_filing(
        &self,
        request: Request<pb::GetFilingRequest>,
    ) -> Result<Response<pb::Filing>, Status> {
        handle!(self, request, filings::get)
    }

    async fn list_filings(
        &self,
        request: Request<pb::ListFilingsRequest>,
    ) -> Result<Response<pb::ListFilingsResponse>, Status> {
        handle!(self, request, filings::list)
    }

    async fn update_filing(
        &self,
        request: Request<pb::UpdateFilingRequest>,
    ) -> Result<Response<pb::Filing>, Status> {
        handle!(self, request, filings::update)
    }

    async fn submit_filing(
        &self,
        request: Request<pb::SubmitFilingRequest>,
    ) -> Result<Response<pb::Filing>, Status> {
        handle!(self, request, workflow::submit)
    }

    async fn consent_filing(
        &self,
        request: Request<pb::ConsentFilingRequest>,
    ) -> Result<Response<pb::Filing>, Status> {
        handle!(self, request, workflow::consent)
    }

    async fn return_filing(
        &self,
        request: Request<pb::ReturnFilingRequest>,
    ) -> Result<Response<pb::Filing>, Status> {
        handle!(self, request, workflow::return_for_correction)
    }

    async fn accept_filing(
        &self,
        request: Request<pb::AcceptFilingRequest>,
    ) -> Result<Response<pb::Filing>, Status> {
        handle!(self, request, workflow::accept)
    }

    async fn reject_filing(
        &self,
        request: Request<pb::RejectFilingRequest>,
    ) -> Result<Response<pb::Filing>, Status> {
        handle!(self, request, workflow::reject)
    }

    async fn withdraw_filing(
        &self,
        request: Request<pb::WithdrawFilingRequest>,
    ) -> Result<Response<pb::Filing>, Status> {
        handle!(self, request, workflow::withdraw)
    }

    async fn bind_platform_account(
        &self,
        request: Request<pb::BindPlatformAccountRequest>,
    ) -> Result<Response<pb::Filing>, Status> {
        handle!(self, request, workflow::bind)
    }

    async fn list_reports(
        &self,
        request: Request<pb::ListReportsRequest>,
    ) -> Result<Response<pb::ListReportsResponse>, Status> {
        handle!(self, request, reports::list)
    }

    async fn summarize_reports(
        &self,
        request: Request<pb::SummarizeReportsRequest>,
    ) -> Result<Response<pb::SummarizeReportsResponse>, Status> {
        handle!(self, request, reports::summarize)
    }

    async fn export_reports(
        &self,
        request: Request<pb::ExportReportsRequest>,
    ) -> Result<Response<pb::ExportReportsResponse>, Status> {
        handle!(self, request, reports::export)
    }

    async fn mark_reports(
        &self,
        request: Request<pb::MarkReportsRequest>,
    ) -> Result<Response<pb::MarkReportsResponse>, Status> {
        handle!(self, request, reports::mark)
    }

    async fn import_roster(
        &self,
        request: Request<pb::ImportRosterRequest>,
    ) -> Result<Response<pb::Roster>, Status> {
        handle!(self, request, reconciliation::import_roster)
    }

    async fn reconcile(
        &self,
        request: Request<pb::ReconcileRequest>,
    ) -> Result<Response<pb::ReconcileResponse>, Status> {
        handle!(self, request, reconciliation::reconcile)
    }

    async fn enforce_closure(
        &self,
        request: Request<pb::EnforceClosureRequest>,
    ) -> Result<Response<pb::Filing>, Status> {
        handle!(self, request, closures::enforce)
    }

    async fn list_closure_reports(
        &self,
        request: Request<pb::ListClosureReportsRequest>,
    ) -> Result<Response<pb::ListClosureReportsResponse>, Status> {
        handle!(self, request, closures::list_reports)
    }
}
