//! The registry as the filing service sees it: the one place that calls it. Questions asked on a
//! caller's behalf carry a token minted for that caller, so the registry applies the caller's
//! own jurisdiction and its verdict (NOT_FOUND, PERMISSION_DENIED) is relayed unchanged; what
//! the service does on its own account (applying an accepted filing, finding a unit's management
//! department above the caller) carries the service's SYSTEM identity.

use std::{sync::Arc, time::Duration};

use govmedia_kit::{
    auth::{Principal, Role, TokenKeys},
    client::{self, Credentials},
    error::ApiError,
};
use govmedia_proto::{
    filing::v1 as fpb,
    registry::v1::{self as pb, registry_service_client::RegistryServiceClient},
};
use prost::Message;
use tonic::{Code, Status, codegen::InterceptedService, transport::Channel};
use tonic_types::StatusExt;

use crate::{
    config::FilingConfig,
    domain::{ApplyOutcome, Filing, FilingKind},
    error::FilingError,
};

/// Subject of the service's own calls (it appears in the registry's audit trail).
pub const SYSTEM_SUBJECT: &str = "govmedia-filing";

/// Lifetime of the tokens minted for one call.
const TOKEN_TTL: Duration = Duration::from_secs(300);

/// Accounts asked for per page (the registry's largest page).
const ACCOUNT_PAGE: i32 = 500;

/// Largest query SearchAccounts takes.
const SEARCH_QUERY_MAX: usize = 50;

type Client = RegistryServiceClient<InterceptedService<Channel, Credentials>>;

/// An organization, reduced to what filings need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgRef {
    /// Id.
    pub id: String,
    /// Materialized path, `/root/…/id/`.
    pub path: String,
    /// Id of its nearest government, if any.
    pub government: Option<String>,
    /// Administrative level (proto number).
    pub level: i32,
}

impl OrgRef {
    fn from_proto(org: &pb::Organization) -> Result<Self, FilingError> {
        let id = strip(&org.name, "organizations/")?;
        let mut path = String::from("/");
        for ancestor in &org.ancestors {
            path.push_str(strip(ancestor, "organizations/")?);
            path.push('/');
        }
        path.push_str(id);
        path.push('/');
        Ok(Self {
            id: id.to_owned(),
            path,
            government: (!org.government.is_empty())
                .then(|| strip(&org.government, "organizations/").map(str::to_owned))
                .transpose()?,
            level: org.level,
        })
    }
}

fn strip<'a>(name: &'a str, prefix: &str) -> Result<&'a str, FilingError> {
    name.strip_prefix(prefix).ok_or_else(|| {
        FilingError::Api(ApiError::internal(
            "reading the registry's answer",
            &format!("{name:?} is not a {prefix} name"),
        ))
    })
}

fn relay(status: &Status) -> FilingError {
    FilingError::Api(ApiError::relay("the registry", status))
}

/// The registry client.
#[derive(Clone, Debug)]
pub struct Registry {
    channel: Channel,
    keys: Arc<TokenKeys>,
    system: Principal,
}

impl Registry {
    /// A client of the registry at `config.registry_endpoint`; connects on first use, so the
    /// filing service starts while the registry is down.
    pub fn new(
        config: &FilingConfig,
        keys: Arc<TokenKeys>,
    ) -> Result<Self, tonic::transport::Error> {
        Ok(Self {
            channel: client::lazy(
                &config.registry_endpoint,
                Duration::from_millis(config.registry_timeout_ms),
            )?,
            keys,
            system: Principal {
                subject: SYSTEM_SUBJECT.to_owned(),
                organization: config.system_organization.clone(),
                roles: [Role::System].into(),
            },
        })
    }

    /// The service's own identity.
    pub fn system(&self) -> &Principal {
        &self.system
    }

    fn client(&self, principal: &Principal) -> Result<Client, FilingError> {
        let roles: Vec<Role> = principal.roles.iter().copied().collect();
        let token = self
            .keys
            .issue(
                &principal.subject,
                &principal.organization,
                &roles,
                TOKEN_TTL,
            )
            .map_err(|error| ApiError::internal("minting a token for the registry", &error))?;
        let credentials = Credentials::bearer(&token).map_err(|status| relay(&status))?;
        Ok(RegistryServiceClient::with_interceptor(
            self.channel.clone(),
            credentials,
        ))
    }

    /// The organization `id` as `principal` may see it; the registry's NOT_FOUND or
    /// PERMISSION_DENIED otherwise.
    pub async fn organization_as(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<OrgRef, FilingError> {
        OrgRef::from_proto(&self.organization(principal, id).await?)
    }

    /// The organization `id` as the registry holds it, asked as `principal`.
    pub async fn organization(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<pb::Organization, FilingError> {
        Ok(self
            .client(principal)?
            .get_organization(pb::GetOrganizationRequest {
                name: format!("organizations/{id}"),
            })
            .await
            .map_err(|status| relay(&status))?
            .into_inner())
    }

    /// The root of `principal`'s jurisdiction.
    pub async fn jurisdiction_of(&self, principal: &Principal) -> Result<OrgRef, FilingError> {
        let org = self
            .client(principal)?
            .get_jurisdiction(pb::GetJurisdictionRequest {})
            .await
            .map_err(|status| relay(&status))?
            .into_inner();
        OrgRef::from_proto(&org)
    }

    /// The account `id` as `principal` may see it.
    pub async fn account_as(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<pb::Account, FilingError> {
        Ok(self
            .client(principal)?
            .get_account(pb::GetAccountRequest {
                name: format!("accounts/{id}"),
            })
            .await
            .map_err(|status| relay(&status))?
            .into_inner())
    }

    /// Every account of the subtree of `organization` as `principal` may see them, page by
    /// page.
    pub async fn accounts_as(
        &self,
        principal: &Principal,
        organization: &str,
    ) -> Result<Vec<pb::Account>, FilingError> {
        let mut client = self.client(principal)?;
        let mut accounts = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = client
                .list_accounts(pb::ListAccountsRequest {
                    organization: format!("organizations/{organization}"),
                    page_size: ACCOUNT_PAGE,
                    page_token,
                    ..Default::default()
                })
                .await
                .map_err(|status| relay(&status))?
                .into_inner();
            accounts.extend(page.accounts);
            if page.next_page_token.is_empty() {
                return Ok(accounts);
            }
            page_token = page.next_page_token;
        }
    }

    /// The management department of `unit`'s own government: the one organization that
    /// decides its filings.
    pub async fn management_department(&self, unit: &OrgRef) -> Result<String, FilingError> {
        let missing = |government: &str| FilingError::NoManagementDepartment {
            unit: format!("organizations/{}", unit.id),
            government: format!("organizations/{government}"),
        };
        let Some(government) = unit.government.as_deref() else {
            return Err(missing(&unit.id));
        };
        let government_name = format!("organizations/{government}");
        let mut client = self.client(&self.system)?;
        let mut page_token = String::new();
        loop {
            let page = client
                .list_organizations(pb::ListOrganizationsRequest {
                    ancestor: government_name.clone(),
                    level: unit.level,
                    management_department: Some(true),
                    page_size: 100,
                    page_token,
                    ..pb::ListOrganizationsRequest::default()
                })
                .await
                .map_err(|status| relay(&status))?
                .into_inner();
            if let Some(department) = page
                .organizations
                .iter()
                .find(|org| org.government == government_name)
            {
                return Ok(strip(&department.name, "organizations/")?.to_owned());
            }
            if page.next_page_token.is_empty() {
                return Err(missing(government));
            }
            page_token = page.next_page_token;
        }
    }

    /// R-03 for an account `unit` would open on `platform` with `justification`.
    pub async fn evaluate_opening(
        &self,
        unit: &str,
        platform: i32,
        justification: &str,
    ) -> Result<fpb::OpeningCheck, FilingError> {
        let answer = self
            .client(&self.system)?
            .evaluate_account_opening(pb::EvaluateAccountOpeningRequest {
                organization: format!("organizations/{unit}"),
                platform,
                justification: justification.to_owned(),
            })
            .await
            .map_err(|status| relay(&status))?
            .into_inner();
        Ok(fpb::OpeningCheck {
            allowed: answer.allowed,
            further_account: answer.further_account,
            justification_missing: answer.justification_missing,
            existing: answer.existing,
            check_time: answer.evaluate_time,
        })
    }

    /// The registered account holding `platform_account_id` on `platform`, if any.
    pub async fn platform_account_holder(
        &self,
        platform: i32,
        platform_account_id: &str,
    ) -> Result<Option<String>, FilingError> {
        let query: String = platform_account_id.chars().take(SEARCH_QUERY_MAX).collect();
        let mut client = self.client(&self.system)?;
        let mut page_token = String::new();
        loop {
            let page = client
                .search_accounts(pb::SearchAccountsRequest {
                    query: query.clone(),
                    page_size: 100,
                    page_token,
                    ..pb::SearchAccountsRequest::default()
                })
                .await
                .map_err(|status| relay(&status))?
                .into_inner();
            if let Some(holder) = page.accounts.iter().find(|account| {
                account.platform == platform && account.platform_account_id == platform_account_id
            }) {
                return Ok(Some(holder.name.clone()));
            }
            if page.next_page_token.is_empty() {
                return Ok(None);
            }
            page_token = page.next_page_token;
        }
    }

    /// Binds the platform id of the account an applied OPEN filing registered (FILED ->
    /// ACTIVE). Idempotent: the request id is the filing's.
    pub async fn bind(
        &self,
        filing: &Filing,
        account: &str,
        platform_account_id: &str,
    ) -> Result<pb::Account, FilingError> {
        Ok(self
            .client(&self.system)?
            .activate_account(pb::ActivateAccountRequest {
                name: format!("accounts/{account}"),
                platform_account_id: platform_account_id.to_owned(),
                filing: filing.name(),
                etag: String::new(),
                request_id: format!("filing:{}:bind", filing.id),
            })
            .await
            .map_err(|status| relay(&status))?
            .into_inner())
    }

    /// One attempt to apply an accepted filing to the ledger. The registry call carries the
    /// filing as its idempotency key, and an OPEN registers the account under the filing's id,
    /// so however often this runs, the ledger changes once.
    pub async fn apply(&self, filing: &Filing) -> ApplyOutcome {
        let account = match filing.kind {
            FilingKind::Open => filing.account_to_register(),
            FilingKind::Change | FilingKind::Suspend | FilingKind::Cancel => {
                match &filing.target_account {
                    Some(target) => target.clone(),
                    None => return ApplyOutcome::Refused("the filing names no account".into()),
                }
            }
        };
        let result = match self.send_application(filing, &account).await {
            Ok(result) => result,
            Err(error) => return ApplyOutcome::Refused(error.to_string()),
        };
        match result {
            Ok(ledger) => self.applied(filing, account, &ledger).await,
            Err(status) if retryable(status.code()) => ApplyOutcome::Unreachable(describe(&status)),
            Err(status) => {
                // Refused — unless an earlier attempt (whose answer was lost, or whose key the
                // registry has since forgotten) already made the change.
                match self.current(&account).await {
                    Ok(Some(ledger)) if ledger.last_filing == filing.name() => {
                        self.applied(filing, account, &ledger).await
                    }
                    Ok(_) => ApplyOutcome::Refused(describe(&status)),
                    Err(check) if retryable(check.code()) => {
                        ApplyOutcome::Unreachable(describe(&check))
                    }
                    Err(_) => ApplyOutcome::Refused(describe(&status)),
                }
            }
        }
    }

    /// The outcome of an application the ledger took, with the unit as it is now for the
    /// national report. A unit the registry cannot show now makes the attempt count as
    /// unanswered (it is retried, and the registry answers the retry from its idempotency key);
    /// one it will not show at all leaves the report without unit data.
    async fn applied(
        &self,
        filing: &Filing,
        account: String,
        ledger: &pb::Account,
    ) -> ApplyOutcome {
        let unit = match self.client(&self.system) {
            Ok(mut client) => {
                client
                    .get_organization(pb::GetOrganizationRequest {
                        name: format!("organizations/{}", filing.organization),
                    })
                    .await
            }
            Err(_) => Err(Status::internal("cannot mint a token")),
        };
        let unit = match unit {
            Ok(unit) => unit.into_inner().encode_to_vec(),
            Err(status) if retryable(status.code()) => {
                return ApplyOutcome::Unreachable(describe(&status));
            }
            Err(status) => {
                tracing::warn!(filing = %filing.name(), %status, "the report goes without unit data");
                Vec::new()
            }
        };
        ApplyOutcome::Applied {
            account,
            ledger: ledger.encode_to_vec(),
            unit,
        }
    }

    async fn send_application(
        &self,
        filing: &Filing,
        account: &str,
    ) -> Result<Result<pb::Account, Status>, FilingError> {
        let mut client = self.client(&self.system)?;
        let name = format!("accounts/{account}");
        let request_id = format!("filing:{}:apply", filing.id);
        let data = || {
            pb::Account::decode(filing.account.as_slice()).map_err(|error| {
                FilingError::Api(ApiError::internal("decoding a stored filing", &error))
            })
        };
        let result = match filing.kind {
            FilingKind::Open => {
                let mut data = data()?;
                data.organization = format!("organizations/{}", filing.organization);
                client
                    .create_account(pb::CreateAccountRequest {
                        account_id: account.to_owned(),
                        account: Some(data),
                        filing: filing.name(),
                        request_id,
                    })
                    .await
                    .map(tonic::Response::into_inner)
            }
            FilingKind::Change => {
                let mut data = data()?;
                data.name = name;
                client
                    .update_account(pb::UpdateAccountRequest {
                        account: Some(data),
                        update_mask: Some(prost_types::FieldMask {
                            paths: filing.change_mask.clone(),
                        }),
                        filing: filing.name(),
                        request_id,
                    })
                    .await
                    .map(tonic::Response::into_inner)
            }
            FilingKind::Suspend => client
                .suspend_account(pb::SuspendAccountRequest {
                    name,
                    filing: filing.name(),
                    reason: filing.reason.clone(),
                    etag: String::new(),
                    request_id,
                })
                .await
                .map(tonic::Response::into_inner),
            FilingKind::Cancel => client
                .cancel_account(pb::CancelAccountRequest {
                    name,
                    filing: filing.name(),
                    reason: filing.reason.clone(),
                    etag: String::new(),
                    request_id,
                })
                .await
                .map(tonic::Response::into_inner),
        };
        Ok(result)
    }

    /// The account as the ledger holds it now.
    async fn current(&self, account: &str) -> Result<Option<pb::Account>, Status> {
        let mut client = self
            .client(&self.system)
            .map_err(|_| Status::internal("cannot mint a token"))?;
        match client
            .get_account(pb::GetAccountRequest {
                name: format!("accounts/{account}"),
            })
            .await
        {
            Ok(found) => Ok(Some(found.into_inner())),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(status),
        }
    }
}

/// Codes after which the same application may succeed later: the registry (or the way to it)
/// is down or busy, or it cannot yet recognise the service (a configuration being fixed). The
/// others are verdicts on the filing's content.
fn retryable(code: Code) -> bool {
    match code {
        Code::Unavailable
        | Code::DeadlineExceeded
        | Code::ResourceExhausted
        | Code::Aborted
        | Code::Internal
        | Code::Unknown
        | Code::Cancelled
        | Code::Unauthenticated
        | Code::PermissionDenied
        | Code::DataLoss => true,
        Code::Ok
        | Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::FailedPrecondition
        | Code::OutOfRange
        | Code::Unimplemented => false,
    }
}

/// What the filing shows about a registry answer. A refusal is a govmedia error (code, reason,
/// message written for callers); anything else may carry transport internals, so the filing
/// shows only its code and the log keeps the rest.
fn describe(status: &Status) -> String {
    let reason = status
        .get_error_details()
        .error_info()
        .filter(|info| info.domain == govmedia_kit::error::ERROR_DOMAIN)
        .map(|info| info.reason.clone());
    match reason {
        Some(reason) => format!("the registry answered {reason}: {}", status.message()),
        None => {
            tracing::warn!(code = ?status.code(), message = status.message(), "registry call failed");
            format!("the registry could not be reached ({:?})", status.code())
        }
    }
}
