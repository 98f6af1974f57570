//! The registry as every other govmedia service sees it: the one client that asks it.
//!
//! A question is asked *as* someone, and the registry judges it with that someone's
//! jurisdiction, so its verdict (NOT_FOUND, PERMISSION_DENIED, a field violation) reaches the
//! caller unchanged ([`govmedia_kit::error::ApiError::relay`]):
//!
//! * [`RegistryClient::as_caller`]: on behalf of the person or system that called the service,
//!   with an identity this service mints for that caller (for another service's own identity,
//!   this service's own, at that service's root);
//! * [`RegistryClient::as_service`]: on the service's own account (its SYSTEM identity, rooted
//!   at the organization the service serves), for what the service needs to know whoever asked;
//! * [`RegistryClient::applying`]: the filing service applying an accepted filing, its own
//!   identity naming the filing as the basis of the change (the registry accepts lifecycle
//!   changes from nobody else).
//!
//! Whether a failed call may succeed later is decided by the kit's one policy,
//! [`govmedia_kit::client::is_retryable`]. A service that asks the same question for every item
//! of a stream (may this collector deliver to that account?) remembers the answer per caller for
//! a few seconds with [`PerCaller`].

#![forbid(unsafe_code)]

mod per_caller;

pub use per_caller::PerCaller;

use std::{sync::Arc, time::Duration};

use govmedia_kit::{
    auth::Principal,
    client::{self, Credentials},
    error::ApiError,
    identity::Identity,
};
use govmedia_proto::registry::v1::{self as pb, registry_service_client::RegistryServiceClient};
use tonic::{Code, Status, codegen::InterceptedService, transport::Channel};

/// The registry's name as an audience of identities.
pub const AUDIENCE: &str = "registry";

/// Accounts asked for per page (the registry's largest page).
const ACCOUNT_PAGE: i32 = 500;

/// Organizations asked for per page.
const ORGANIZATION_PAGE: i32 = 100;

/// Largest query SearchAccounts takes.
const SEARCH_QUERY_MAX: usize = 50;

/// The generated client with the identity of one asker.
pub type Client = RegistryServiceClient<InterceptedService<Channel, Credentials>>;

/// An organization, reduced to what other services need of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgRef {
    /// Id.
    pub id: String,
    /// Materialized path, `/root/…/id/`: the key of jurisdiction and of regional settings.
    pub path: String,
    /// Id of its nearest government, if any.
    pub government: Option<String>,
    /// Administrative level (proto number).
    pub level: i32,
}

impl OrgRef {
    /// The reduced form of the registry's answer.
    pub fn from_proto(org: &pb::Organization) -> Result<Self, ApiError> {
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

/// The id part of a resource name the registry answered with.
pub fn strip<'a>(name: &'a str, prefix: &str) -> Result<&'a str, ApiError> {
    name.strip_prefix(prefix).ok_or_else(|| {
        ApiError::internal(
            "reading the registry's answer",
            &format!("{name:?} is not a {prefix} name"),
        )
    })
}

/// A registry answer that is not an answer: relayed as the registry's verdict, or as
/// UNAVAILABLE/INTERNAL when it never came from the registry.
pub fn relay(status: &Status) -> ApiError {
    ApiError::relay("the registry", status)
}

/// The registry client of one service. Cheap to clone.
#[derive(Clone, Debug)]
pub struct RegistryClient {
    channel: Channel,
    identity: Arc<Identity>,
    root: String,
}

impl RegistryClient {
    /// A client of the registry at `endpoint` for the service of `identity`, whose own
    /// questions are asked at `root` (the organization it serves). Connects on first use, so
    /// the service starts while the registry is down; each call gives up after `timeout`.
    pub fn new(
        endpoint: &str,
        timeout: Duration,
        identity: Arc<Identity>,
        root: &str,
    ) -> Result<Self, govmedia_kit::endpoints::BadTarget> {
        Ok(Self {
            channel: client::lazy(endpoint, timeout)?,
            identity,
            root: root.to_owned(),
        })
    }

    /// The service's own principal (SYSTEM at its root), as the registry will see it.
    pub fn own_principal(&self) -> Principal {
        self.identity.own_principal(&self.root)
    }

    /// Questions asked on behalf of `caller`. When the caller is another govmedia service on
    /// its own account (the vendor service filing in a unit's name, say), its identity cannot be
    /// minted here — only its own key can — so the question is asked as this service, rooted at
    /// the caller's root: the registry judges the same jurisdiction.
    pub fn as_caller(&self, caller: &Principal) -> Asker<'_> {
        let principal = match &caller.service {
            Some(service) if service != self.identity.service() => {
                self.identity.own_principal(&caller.organization)
            }
            Some(_) | None => caller.clone(),
        };
        Asker {
            client: self,
            principal,
        }
    }

    /// Questions the service asks on its own account.
    pub fn as_service(&self) -> Asker<'_> {
        Asker {
            client: self,
            principal: self.own_principal(),
        }
    }

    /// The ledger change that applies `filing` (`filings/{id}`), on the service's own account.
    pub fn applying(&self, filing: &str) -> Asker<'_> {
        Asker {
            client: self,
            principal: Principal {
                basis: Some(filing.to_owned()),
                ..self.own_principal()
            },
        }
    }
}

/// Questions to the registry asked as one principal.
#[derive(Debug)]
pub struct Asker<'a> {
    client: &'a RegistryClient,
    principal: Principal,
}

impl Asker<'_> {
    /// The generated client with this asker's identity, for calls whose raw status the caller
    /// must read (see [`govmedia_kit::client::is_retryable`]).
    pub fn raw(&self) -> Result<Client, ApiError> {
        let token = self
            .client
            .identity
            .mint(&self.principal, AUDIENCE)
            .map_err(|error| ApiError::internal("minting an identity for the registry", &error))?;
        let credentials = Credentials::bearer(&token).map_err(|status| relay(&status))?;
        Ok(RegistryServiceClient::with_interceptor(
            self.client.channel.clone(),
            credentials,
        ))
    }

    /// The organization `id` as the asker may see it.
    pub async fn organization(&self, id: &str) -> Result<pb::Organization, ApiError> {
        Ok(self
            .raw()?
            .get_organization(pb::GetOrganizationRequest {
                name: format!("organizations/{id}"),
            })
            .await
            .map_err(|status| relay(&status))?
            .into_inner())
    }

    /// [`Asker::organization`], reduced.
    pub async fn unit(&self, id: &str) -> Result<OrgRef, ApiError> {
        OrgRef::from_proto(&self.organization(id).await?)
    }

    /// The root of the asker's jurisdiction.
    pub async fn jurisdiction(&self) -> Result<OrgRef, ApiError> {
        let org = self
            .raw()?
            .get_jurisdiction(pb::GetJurisdictionRequest {})
            .await
            .map_err(|status| relay(&status))?
            .into_inner();
        OrgRef::from_proto(&org)
    }

    /// The organization named, or the asker's jurisdiction when none is.
    pub async fn scope(&self, organization: Option<&str>) -> Result<OrgRef, ApiError> {
        match organization {
            Some(id) => self.unit(id).await,
            None => self.jurisdiction().await,
        }
    }

    /// The account `id` as the asker may see it.
    pub async fn account(&self, id: &str) -> Result<pb::Account, ApiError> {
        Ok(self
            .raw()?
            .get_account(pb::GetAccountRequest {
                name: format!("accounts/{id}"),
            })
            .await
            .map_err(|status| relay(&status))?
            .into_inner())
    }

    /// The account `id` as the ledger holds it now; `None` when there is none. The raw status
    /// otherwise, so that the caller can tell a registry that cannot answer from a refusal.
    pub async fn find_account(&self, id: &str) -> Result<Option<pb::Account>, Status> {
        let mut client = self
            .raw()
            .map_err(|_| Status::internal("cannot mint an identity"))?;
        match client
            .get_account(pb::GetAccountRequest {
                name: format!("accounts/{id}"),
            })
            .await
        {
            Ok(found) => Ok(Some(found.into_inner())),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(status),
        }
    }

    /// Every account of the subtree of `organization` the asker may see, page by page.
    pub async fn accounts(&self, organization: &str) -> Result<Vec<pb::Account>, ApiError> {
        self.all_accounts(pb::ListAccountsRequest {
            organization: format!("organizations/{organization}"),
            ..Default::default()
        })
        .await
    }

    /// Every organization of the subtree of `organization` (itself included) the asker may see,
    /// page by page: one listing instead of a look-up per organization.
    pub async fn units(&self, organization: &str) -> Result<Vec<OrgRef>, ApiError> {
        let mut client = self.raw()?;
        let mut units = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = client
                .list_organizations(pb::ListOrganizationsRequest {
                    ancestor: format!("organizations/{organization}"),
                    page_size: ACCOUNT_PAGE,
                    page_token,
                    ..Default::default()
                })
                .await
                .map_err(|status| relay(&status))?
                .into_inner();
            for unit in &page.organizations {
                units.push(OrgRef::from_proto(unit)?);
            }
            if page.next_page_token.is_empty() {
                return Ok(units);
            }
            page_token = page.next_page_token;
        }
    }

    /// Every account of the subtree of `organization` whose ledger operator is the vendor
    /// `vendor` (its id), as the asker may see them.
    pub async fn accounts_operated_by(
        &self,
        organization: &str,
        vendor: &str,
    ) -> Result<Vec<pb::Account>, ApiError> {
        self.all_accounts(pb::ListAccountsRequest {
            organization: format!("organizations/{organization}"),
            operator_vendor: format!("vendors/{vendor}"),
            ..Default::default()
        })
        .await
    }

    /// Every account `filter` lists, the registry's largest pages one after the other.
    async fn all_accounts(
        &self,
        filter: pb::ListAccountsRequest,
    ) -> Result<Vec<pb::Account>, ApiError> {
        let mut accounts = Vec::new();
        let mut page_token = String::new();
        loop {
            let (page, next) = self.account_page(&filter, page_token).await?;
            accounts.extend(page);
            if next.is_empty() {
                return Ok(accounts);
            }
            page_token = next;
        }
    }

    /// One page of the accounts `filter` selects, from `page_token` (empty for the first), and
    /// the token of the next page (empty after the last): for a caller that works through a
    /// long listing as it arrives.
    pub async fn account_page(
        &self,
        filter: &pb::ListAccountsRequest,
        page_token: String,
    ) -> Result<(Vec<pb::Account>, String), ApiError> {
        let page = self
            .raw()?
            .list_accounts(pb::ListAccountsRequest {
                page_size: ACCOUNT_PAGE,
                page_token,
                ..filter.clone()
            })
            .await
            .map_err(|status| relay(&status))?
            .into_inner();
        Ok((page.accounts, page.next_page_token))
    }

    /// The management department of `unit`'s own government, if it has one: the
    /// organization that decides its filings and supervises it.
    pub async fn management_department(&self, unit: &OrgRef) -> Result<Option<String>, ApiError> {
        let Some(government) = unit.government.as_deref() else {
            return Ok(None);
        };
        let government_name = format!("organizations/{government}");
        let mut client = self.raw()?;
        let mut page_token = String::new();
        loop {
            let page = client
                .list_organizations(pb::ListOrganizationsRequest {
                    ancestor: government_name.clone(),
                    level: unit.level,
                    management_department: Some(true),
                    page_size: ORGANIZATION_PAGE,
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
                return Ok(Some(strip(&department.name, "organizations/")?.to_owned()));
            }
            if page.next_page_token.is_empty() {
                return Ok(None);
            }
            page_token = page.next_page_token;
        }
    }

    /// R-03 for an account `unit` would open on `platform` with `justification`, as the
    /// registry rules it now.
    pub async fn evaluate_opening(
        &self,
        unit: &str,
        platform: i32,
        justification: &str,
    ) -> Result<pb::EvaluateAccountOpeningResponse, ApiError> {
        Ok(self
            .raw()?
            .evaluate_account_opening(pb::EvaluateAccountOpeningRequest {
                organization: format!("organizations/{unit}"),
                platform,
                justification: justification.to_owned(),
            })
            .await
            .map_err(|status| relay(&status))?
            .into_inner())
    }

    /// The registered account holding `platform_account_id` on `platform`, if any (among the
    /// accounts the asker may see).
    pub async fn platform_account_holder(
        &self,
        platform: i32,
        platform_account_id: &str,
    ) -> Result<Option<String>, ApiError> {
        let query: String = platform_account_id.chars().take(SEARCH_QUERY_MAX).collect();
        let mut client = self.raw()?;
        let mut page_token = String::new();
        loop {
            let page = client
                .search_accounts(pb::SearchAccountsRequest {
                    query: query.clone(),
                    page_size: ORGANIZATION_PAGE,
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
}
