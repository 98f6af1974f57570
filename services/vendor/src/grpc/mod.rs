//! The vendor service's gRPC face: handlers orchestrate (validate at the edge, ask the registry
//! where the caller's jurisdiction lies, open a unit of work, ask the domain, store, publish,
//! audit, commit) and convert. Protobuf types stay in this module and in `events`.
//!
//! The registry is asked before the unit of work opens (a write transaction is never held
//! across a network call); the vendor is then read inside the unit.

pub mod convert;
mod delegations;
pub mod filing;
mod performance;
mod reports;
mod validation;
mod vendors;
mod vettings;

use std::{sync::Arc, time::Duration};

use tokio::sync::Notify;

use govmedia_kit::{
    auth::{self, Principal, Role},
    identity::Identity,
    unit::{Unit, Writer},
};
use govmedia_proto::vendor::v1::{self as pb, vendor_service_server::VendorService};
use govmedia_registry_client::{OrgRef, RegistryClient};
use sea_orm::ConnectionTrait;
use tonic::{Request, Response, Status};

use crate::{
    config::VendorConfig,
    domain::{self, Reach, Stamp, Vendor, VettingRules},
    error::VendorError,
    store,
};

/// The vendor service implementation.
#[derive(Clone, Debug)]
pub struct VendorApi {
    writer: Writer,
    registry: RegistryClient,
    vetting: VettingRules,
    oversight: crate::config::OversightConfig,
    performance: crate::domain::performance::Formula,
    handovers: Arc<Notify>,
}

impl VendorApi {
    /// A service writing through `writer`, asking `registry` where callers stand, judging
    /// vettings by `config`, waking `handovers` when a handover is queued.
    pub fn new(
        writer: Writer,
        registry: RegistryClient,
        config: &VendorConfig,
        handovers: Arc<Notify>,
    ) -> Self {
        Self {
            writer,
            registry,
            vetting: config.vetting_rules(),
            oversight: config.oversight.clone(),
            performance: config.performance.formula(),
            handovers,
        }
    }

    fn conn(&self) -> &sea_orm::DatabaseConnection {
        self.writer.db().conn()
    }

    /// Who is calling, as far as vendors go.
    async fn caller(&self, principal: &Principal) -> Result<Caller, VendorError> {
        // A vendor's credential names the vendor, not an organization of the tree: it is never
        // sent to the registry, and it reads as the vendor whatever other roles it holds.
        if principal.has(Role::Vendor) {
            return Ok(Caller::Vendor(principal.organization.clone()));
        }
        Ok(Caller::Official(
            self.registry.as_caller(principal).jurisdiction().await?,
        ))
    }

    /// The jurisdiction a supervisor governs vendors in: only a supervisor of a new-media
    /// management department (or the SYSTEM role) registers, vets, approves, assesses and
    /// bars vendors, for the government that department serves.
    async fn governing(&self, principal: &Principal) -> Result<OrgRef, VendorError> {
        let jurisdiction = self.jurisdiction(principal).await?;
        if !principal.has(Role::System) {
            let own = self
                .registry
                .as_caller(principal)
                .organization(&principal.organization)
                .await?;
            if !own.management_department {
                return Err(VendorError::NotManagementDepartment(
                    principal.organization_name(),
                ));
            }
        }
        Ok(jurisdiction)
    }

    /// The caller's jurisdiction, for what only officials do.
    async fn jurisdiction(&self, principal: &Principal) -> Result<OrgRef, VendorError> {
        match self.caller(principal).await? {
            Caller::Official(jurisdiction) => Ok(jurisdiction),
            Caller::Vendor(_) => Err(VendorError::OutsideJurisdiction("vendors".to_owned())),
        }
    }
}

/// A client of the registry for the service of `identity`, configured by `config`.
pub fn registry(
    config: &VendorConfig,
    identity: Arc<Identity>,
) -> Result<RegistryClient, govmedia_kit::endpoints::BadTarget> {
    RegistryClient::new(
        &config.registry_endpoint,
        Duration::from_millis(config.registry_timeout_ms),
        identity,
        &config.system_organization,
    )
}

/// Who calls.
#[derive(Clone, Debug)]
enum Caller {
    /// A person or system of the government tree, with the root of its jurisdiction.
    Official(OrgRef),
    /// A vendor's own credential: the vendor's id.
    Vendor(String),
}

/// The vendor `id` if `caller` may see it: NOT_FOUND when missing, PERMISSION_DENIED off the
/// caller's line of jurisdiction (or, for a vendor, when it is another vendor).
async fn visible(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: &str,
) -> Result<Vendor, VendorError> {
    let name = convert::vendor_name(id);
    let vendor = store::vendors::get(conn, id)
        .await?
        .ok_or_else(|| VendorError::NotFound(name.clone()))?;
    let sees = match caller {
        Caller::Official(jurisdiction) => {
            domain::reach(&jurisdiction.path, &vendor.organization_path) != Reach::None
        }
        Caller::Vendor(own) => *own == vendor.id,
    };
    if sees {
        Ok(vendor)
    } else {
        Err(VendorError::OutsideJurisdiction(name))
    }
}

/// The vendor `id` if it lies in `jurisdiction`, whose supervisors act on it.
async fn governed(
    conn: &impl ConnectionTrait,
    jurisdiction: &OrgRef,
    id: &str,
) -> Result<Vendor, VendorError> {
    let vendor = visible(conn, &Caller::Official(jurisdiction.clone()), id).await?;
    if domain::reach(&jurisdiction.path, &vendor.organization_path) == Reach::Governs {
        Ok(vendor)
    } else {
        Err(VendorError::RegisteredAbove(vendor.name()))
    }
}

/// ABORTED when a sent etag is not the vendor's current one.
fn check_etag(sent: &str, vendor: &Vendor) -> Result<(), VendorError> {
    check_etag_version(sent, vendor.version, &vendor.name())
}

/// ABORTED when a sent etag is not the one of `version` of `resource`.
fn check_etag_version(sent: &str, version: i64, resource: &str) -> Result<(), VendorError> {
    if sent.is_empty() || sent == convert::etag(version) {
        Ok(())
    } else {
        Err(VendorError::EtagMismatch {
            resource: resource.to_owned(),
            current: convert::etag(version),
        })
    }
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
fn unvalidated(what: &str) -> VendorError {
    VendorError::Api(govmedia_kit::error::ApiError::internal(
        "handling a request",
        &format!("validation let an empty {what} through"),
    ))
}

/// ListOversightSignals: the signals of the caller's jurisdiction (or a subtree of it), computed
/// now, the ledger asked as the caller.
async fn signals(
    api: &VendorApi,
    principal: &Principal,
    req: pb::ListOversightSignalsRequest,
) -> Result<pb::ListOversightSignalsResponse, VendorError> {
    let mut v = govmedia_kit::error::Violations::new();
    let organization = govmedia_kit::validate::resource_id(
        &mut v,
        "organization",
        &req.organization,
        "organizations",
        false,
    );
    let kind = govmedia_kit::validate::enum_value(
        &mut v,
        "kind",
        req.kind,
        false,
        crate::domain::signals::SignalKind::from_i32,
    );
    v.finish()?;
    // Officials only: a vendor's credential has no jurisdiction to look at.
    api.jurisdiction(principal).await?;
    let asker = api.registry.as_caller(principal);
    let scope = asker.scope(organization.as_deref()).await?;
    let computed = api.writer.clock().now();
    let found = crate::oversight::evaluate(&api.writer, &api.oversight, &asker, &scope).await?;
    Ok(pb::ListOversightSignalsResponse {
        signals: found
            .iter()
            .filter(|signal| kind.is_none_or(|kind| signal.kind == kind))
            .map(crate::oversight::to_proto)
            .collect(),
        computed_time: Some(govmedia_kit::clock::to_proto(computed)),
    })
}

/// Turns a handler result into what tonic wants.
fn respond<T>(result: Result<T, VendorError>) -> Result<Response<T>, Status> {
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
impl VendorService for VendorApi {
    async fn create_vendor(
        &self,
        request: Request<pb::CreateVendorRequest>,
    ) -> Result<Response<pb::Vendor>, Status> {
        handle!(self, request, vendors::create)
    }

    async fn get_vendor(
        &self,
        request: Request<pb::GetVendorRequest>,
    ) -> Result<Response<pb::Vendor>, Status> {
        handle!(self, request, vendors::get)
    }

    async fn list_vendors(
        &self,
        request: Request<pb::ListVendorsRequest>,
    ) -> Result<Response<pb::ListVendorsResponse>, Status> {
        handle!(self, request, vendors::list)
    }

    async fn update_vendor(
        &self,
        request: Request<pb::UpdateVendorRequest>,
    ) -> Result<Response<pb::Vendor>, Status> {
        handle!(self, request, vendors::update)
    }

    async fn add_qualification(
        &self,
        request: Request<pb::AddQualificationRequest>,
    ) -> Result<Response<pb::Vendor>, Status> {
        handle!(self, request, vendors::add_qualification)
    }

    async fn record_vetting(
        &self,
        request: Request<pb::RecordVettingRequest>,
    ) -> Result<Response<pb::Vetting>, Status> {
        handle!(self, request, vettings::record)
    }

    async fn list_vettings(
        &self,
        request: Request<pb::ListVettingsRequest>,
    ) -> Result<Response<pb::ListVettingsResponse>, Status> {
        handle!(self, request, vettings::list)
    }

    async fn approve_vendor(
        &self,
        request: Request<pb::ApproveVendorRequest>,
    ) -> Result<Response<pb::Vendor>, Status> {
        handle!(self, request, vendors::approve)
    }

    async fn suspend_vendor(
        &self,
        request: Request<pb::SuspendVendorRequest>,
    ) -> Result<Response<pb::Vendor>, Status> {
        handle!(self, request, vendors::suspend)
    }

    async fn terminate_vendor(
        &self,
        request: Request<pb::TerminateVendorRequest>,
    ) -> Result<Response<pb::Vendor>, Status> {
        handle!(self, request, vendors::terminate)
    }

    async fn blacklist_vendor(
        &self,
        request: Request<pb::BlacklistVendorRequest>,
    ) -> Result<Response<pb::Vendor>, Status> {
        handle!(self, request, vendors::blacklist)
    }

    async fn create_delegation(
        &self,
        request: Request<pb::CreateDelegationRequest>,
    ) -> Result<Response<pb::Delegation>, Status> {
        handle!(self, request, delegations::create)
    }

    async fn get_delegation(
        &self,
        request: Request<pb::GetDelegationRequest>,
    ) -> Result<Response<pb::Delegation>, Status> {
        handle!(self, request, delegations::get)
    }

    async fn list_delegations(
        &self,
        request: Request<pb::ListDelegationsRequest>,
    ) -> Result<Response<pb::ListDelegationsResponse>, Status> {
        handle!(self, request, delegations::list)
    }

    async fn end_delegation(
        &self,
        request: Request<pb::EndDelegationRequest>,
    ) -> Result<Response<pb::Delegation>, Status> {
        handle!(self, request, delegations::end)
    }

    async fn update_delegation(
        &self,
        request: Request<pb::UpdateDelegationRequest>,
    ) -> Result<Response<pb::Delegation>, Status> {
        handle!(self, request, delegations::update)
    }

    async fn assess_performance(
        &self,
        request: Request<pb::AssessPerformanceRequest>,
    ) -> Result<Response<pb::PerformanceAssessment>, Status> {
        handle!(self, request, performance::assess)
    }

    async fn list_performance_assessments(
        &self,
        request: Request<pb::ListPerformanceAssessmentsRequest>,
    ) -> Result<Response<pb::ListPerformanceAssessmentsResponse>, Status> {
        handle!(self, request, performance::list)
    }

    async fn export_clean_out_report(
        &self,
        request: Request<pb::ExportCleanOutReportRequest>,
    ) -> Result<Response<pb::ExportCleanOutReportResponse>, Status> {
        handle!(self, request, reports::clean_out)
    }

    async fn list_oversight_signals(
        &self,
        request: Request<pb::ListOversightSignalsRequest>,
    ) -> Result<Response<pb::ListOversightSignalsResponse>, Status> {
        handle!(self, request, signals)
    }
}
