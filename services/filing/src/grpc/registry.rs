//! What only the filing service asks of the registry, through the suite's one registry client
//! ([`govmedia_registry_client`]): applying an accepted filing to the ledger, binding the
//! platform id of an account it opened, and the management department that decides a unit's
//! filings. Everything else handlers ask the client directly, as the caller or as the service.

use std::{ops::Deref, sync::Arc, time::Duration};

use govmedia_kit::{client::is_retryable, error::ApiError, identity::Identity};
use govmedia_proto::registry::v1 as pb;
use govmedia_registry_client::{OrgRef, RegistryClient, relay};
use prost::Message;
use tonic::Status;
use tonic_types::StatusExt;

use crate::{
    config::FilingConfig,
    domain::{ApplyOutcome, Filing, FilingKind},
    error::FilingError,
};

/// The filing service's registry client.
#[derive(Clone, Debug)]
pub struct Registry(RegistryClient);

impl Deref for Registry {
    type Target = RegistryClient;

    fn deref(&self) -> &RegistryClient {
        &self.0
    }
}

impl Registry {
    /// A client of the registry at `config.registry_endpoint`, speaking with `identity`, its own
    /// questions rooted at `filing.system_organization`; connects on first use.
    pub fn new(
        config: &FilingConfig,
        identity: Arc<Identity>,
    ) -> Result<Self, govmedia_kit::endpoints::BadTarget> {
        Ok(Self(RegistryClient::new(
            &config.registry_endpoint,
            Duration::from_millis(config.registry_timeout_ms),
            identity,
            &config.system_organization,
        )?))
    }

    /// The management department of `unit`'s own government: the one organization that decides
    /// its filings; FAILED_PRECONDITION when the government has none.
    pub async fn management_department(&self, unit: &OrgRef) -> Result<String, FilingError> {
        self.as_service()
            .management_department(unit)
            .await?
            .ok_or_else(|| FilingError::NoManagementDepartment {
                unit: format!("organizations/{}", unit.id),
                government: format!(
                    "organizations/{}",
                    unit.government.as_deref().unwrap_or(&unit.id)
                ),
            })
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
            .applying(&filing.name())
            .raw()?
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
            FilingKind::Change | FilingKind::Suspend | FilingKind::Cancel | FilingKind::Resume => {
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
            Err(status) if is_retryable(status.code()) => {
                ApplyOutcome::Unreachable(describe(&status))
            }
            Err(status) => {
                // Refused — unless an earlier attempt (whose answer was lost, or whose key the
                // registry has since forgotten) already made the change.
                match self.as_service().find_account(&account).await {
                    Ok(Some(ledger)) if ledger.last_filing == filing.name() => {
                        self.applied(filing, account, &ledger).await
                    }
                    Ok(_) => ApplyOutcome::Refused(describe(&status)),
                    Err(check) if is_retryable(check.code()) => {
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
        let unit = match self.as_service().raw() {
            Ok(mut client) => {
                client
                    .get_organization(pb::GetOrganizationRequest {
                        name: format!("organizations/{}", filing.organization),
                    })
                    .await
            }
            Err(_) => Err(Status::internal("cannot mint an identity")),
        };
        let unit = match unit {
            Ok(unit) => unit.into_inner().encode_to_vec(),
            Err(status) if is_retryable(status.code()) => {
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
        let mut client = self.applying(&filing.name()).raw()?;
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
                // An account already on the platform (补报) arrives with its platform id.
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
            // Resuming is activation of a SUSPENDED account, its bound platform id kept.
            FilingKind::Resume => client
                .activate_account(pb::ActivateAccountRequest {
                    name,
                    platform_account_id: String::new(),
                    filing: filing.name(),
                    etag: String::new(),
                    request_id,
                })
                .await
                .map(tonic::Response::into_inner),
        };
        Ok(result)
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
