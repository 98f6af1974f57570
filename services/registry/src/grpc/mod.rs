//! The registry's gRPC face: handlers orchestrate (validate at the edge, open a unit of work,
//! ask the domain, store, publish, audit, commit) and convert. Protobuf types stay in this
//! module and in `events`.

mod accounts;
pub mod convert;
mod custody;
mod organizations;
mod reports;

use govmedia_kit::{
    auth::{self, Principal, Role},
    error::Violations,
    regional::Regional,
    unit::Writer,
    validate,
};
use govmedia_proto::registry::v1::{self as pb, registry_service_server::RegistryService};
use sea_orm::ConnectionTrait;
use tonic::{Request, Response, Status};

use crate::{config::RegistryConfig, domain::Organization, error::RegistryError, store};

/// The registry service implementation.
#[derive(Clone, Debug)]
pub struct RegistryApi {
    writer: Writer,
    config: RegistryConfig,
    health_windows: Regional<chrono::Duration>,
}

impl RegistryApi {
    /// A service writing through `writer`.
    pub fn new(writer: Writer, config: RegistryConfig) -> Self {
        Self {
            writer,
            health_windows: config.health_windows(),
            config,
        }
    }

    fn conn(&self) -> &sea_orm::DatabaseConnection {
        self.writer.db().conn()
    }

    /// Now, by the service's clock.
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.writer.clock().now()
    }
}

/// The root of the caller's jurisdiction: its own organization, or, for a SUPERVISOR in a
/// management department, the government that department serves (it supervises that level).
async fn jurisdiction(
    conn: &impl ConnectionTrait,
    principal: &Principal,
) -> Result<Organization, RegistryError> {
    let own = store::organizations::get(conn, &principal.organization)
        .await?
        .ok_or_else(|| {
            RegistryError::UnknownCallerOrganization(convert::organization_name(
                &principal.organization,
            ))
        })?;
    if principal.has(Role::Supervisor)
        && own.management_department
        && let Some(government) = own.government.as_deref()
        && government != own.id
        && let Some(government) = store::organizations::get(conn, government).await?
    {
        return Ok(government);
    }
    Ok(own)
}

/// PERMISSION_DENIED unless `path` lies in the subtree of `scope`.
fn ensure_within(scope: &Organization, path: &str, resource: &str) -> Result<(), RegistryError> {
    if scope.contains_path(path) {
        Ok(())
    } else {
        Err(RegistryError::OutsideJurisdiction(resource.to_owned()))
    }
}

/// An account the caller may see: NOT_FOUND when missing, PERMISSION_DENIED outside its subtree.
async fn visible_account(
    conn: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> Result<crate::domain::Account, RegistryError> {
    let name = convert::account_name(id);
    let account = store::accounts::get(conn, id)
        .await?
        .ok_or_else(|| RegistryError::NotFound(name.clone()))?;
    ensure_within(
        &jurisdiction(conn, principal).await?,
        &account.organization_path,
        &name,
    )?;
    Ok(account)
}

/// An organization the caller may see (see [`visible_account`]).
async fn visible_organization(
    conn: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> Result<Organization, RegistryError> {
    let name = convert::organization_name(id);
    let org = store::organizations::get(conn, id)
        .await?
        .ok_or_else(|| RegistryError::NotFound(name.clone()))?;
    ensure_within(&jurisdiction(conn, principal).await?, &org.path, &name)?;
    Ok(org)
}

/// Resolves the optional subtree-root field of a read request: empty means the caller's own
/// organization; a named one must exist and lie within the caller's subtree.
async fn read_scope(
    conn: &impl ConnectionTrait,
    principal: &Principal,
    organization: Option<String>,
) -> Result<Organization, RegistryError> {
    match organization {
        Some(id) => visible_organization(conn, principal, &id).await,
        None => jurisdiction(conn, principal).await,
    }
}

/// Validates an optional subtree-root field (`organizations/{id}` or empty).
fn scope_field(violations: &mut Violations, field: &str, value: &str) -> Option<String> {
    validate::resource_id(violations, field, value, "organizations", false)
}

/// ABORTED when a sent etag is not the current one.
fn check_etag(sent: &str, version: i64, resource: &str) -> Result<(), RegistryError> {
    if sent.is_empty() || sent == convert::etag(version) {
        Ok(())
    } else {
        Err(RegistryError::EtagMismatch {
            resource: resource.to_owned(),
            current: convert::etag(version),
        })
    }
}

/// Turns a handler result into what tonic wants.
fn respond<T>(result: Result<T, RegistryError>) -> Result<Response<T>, Status> {
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
impl RegistryService for RegistryApi {
    async fn get_organization(
        &self,
        request: Request<pb::GetOrganizationRequest>,
    ) -> Result<Response<pb::Organization>, Status> {
        handle!(self, request, organizations::get)
    }

    async fn get_jurisdiction(
        &self,
        request: Request<pb::GetJurisdictionRequest>,
    ) -> Result<Response<pb::Organization>, Status> {
        handle!(self, request, organizations::jurisdiction_of)
    }

    async fn list_organizations(
        &self,
        request: Request<pb::ListOrganizationsRequest>,
    ) -> Result<Response<pb::ListOrganizationsResponse>, Status> {
        handle!(self, request, organizations::list)
    }

    async fn create_organization(
        &self,
        request: Request<pb::CreateOrganizationRequest>,
    ) -> Result<Response<pb::Organization>, Status> {
        handle!(self, request, organizations::create)
    }

    async fn update_organization(
        &self,
        request: Request<pb::UpdateOrganizationRequest>,
    ) -> Result<Response<pb::Organization>, Status> {
        handle!(self, request, organizations::update)
    }

    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        handle!(self, request, accounts::get)
    }

    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        handle!(self, request, accounts::list)
    }

    async fn search_accounts(
        &self,
        request: Request<pb::SearchAccountsRequest>,
    ) -> Result<Response<pb::SearchAccountsResponse>, Status> {
        handle!(self, request, accounts::search)
    }

    async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        handle!(self, request, accounts::create)
    }

    async fn update_account(
        &self,
        request: Request<pb::UpdateAccountRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        handle!(self, request, accounts::update)
    }

    async fn activate_account(
        &self,
        request: Request<pb::ActivateAccountRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        handle!(self, request, accounts::activate)
    }

    async fn suspend_account(
        &self,
        request: Request<pb::SuspendAccountRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        handle!(self, request, accounts::suspend)
    }

    async fn cancel_account(
        &self,
        request: Request<pb::CancelAccountRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        handle!(self, request, accounts::cancel)
    }

    async fn report_account_activity(
        &self,
        request: Request<pb::ReportAccountActivityRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        handle!(self, request, accounts::report_activity)
    }

    async fn count_accounts(
        &self,
        request: Request<pb::CountAccountsRequest>,
    ) -> Result<Response<pb::CountAccountsResponse>, Status> {
        handle!(self, request, reports::count_accounts)
    }

    async fn list_coverage_gaps(
        &self,
        request: Request<pb::ListCoverageGapsRequest>,
    ) -> Result<Response<pb::ListCoverageGapsResponse>, Status> {
        handle!(self, request, reports::coverage_gaps)
    }

    async fn get_credential_custody(
        &self,
        request: Request<pb::GetCredentialCustodyRequest>,
    ) -> Result<Response<pb::CredentialCustody>, Status> {
        handle!(self, request, custody::get)
    }

    async fn update_credential_custody(
        &self,
        request: Request<pb::UpdateCredentialCustodyRequest>,
    ) -> Result<Response<pb::CredentialCustody>, Status> {
        handle!(self, request, custody::update)
    }

    async fn record_credential_rotation(
        &self,
        request: Request<pb::RecordCredentialRotationRequest>,
    ) -> Result<Response<pb::CredentialCustody>, Status> {
        handle!(self, request, custody::record_rotation)
    }

    async fn list_credential_alerts(
        &self,
        request: Request<pb::ListCredentialAlertsRequest>,
    ) -> Result<Response<pb::ListCredentialAlertsResponse>, Status> {
        handle!(self, request, custody::alerts)
    }

    async fn evaluate_account_opening(
        &self,
        request: Request<pb::EvaluateAccountOpeningRequest>,
    ) -> Result<Response<pb::EvaluateAccountOpeningResponse>, Status> {
        handle!(self, request, accounts::evaluate_opening)
    }

    async fn list_audit_records(
        &self,
        request: Request<pb::ListAuditRecordsRequest>,
    ) -> Result<Response<pb::ListAuditRecordsResponse>, Status> {
        handle!(self, request, reports::audit_records)
    }
}
