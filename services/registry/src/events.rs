//! What the registry tells the other services. Every state change publishes exactly one of
//! these (through the outbox, in the change's transaction) on the stream [`STREAM`]; the payload
//! messages are contracts in `registry.proto`, and each carries the resource as it is after the
//! change, so consumers need no call back.
//!
//! | event | published by |
//! |---|---|
//! | `OrganizationCreated` | CreateOrganization |
//! | `OrganizationUpdated` | UpdateOrganization |
//! | `AccountRegistered` | CreateAccount |
//! | `AccountUpdated` | UpdateAccount |
//! | `AccountStatusChanged` | ActivateAccount, SuspendAccount, CancelAccount |
//! | `AccountActivityReported` | ReportAccountActivity |
//! | `CredentialCustodyChanged` | UpdateCredentialCustody, RecordCredentialRotation |
//!
//! It consumes the filing service's `FilingChanged` ([`FilingOutcomes`]): every decision on a
//! filing about an existing account, accepted or rejected, enters that account's audit trail,
//! so an auditor reading the ledger sees what was asked of it and by whom, not only the changes
//! that were applied.

use govmedia_kit::{
    events::{
        EventEnvelope,
        consumer::{EventHandler, HandlerError},
    },
    unit::Unit,
};
use govmedia_proto::{filing::v1 as filing, registry::v1 as pb};
use prost::{Message, Name};
use serde_json::json;

use crate::store;

/// The registry's event stream (Redis key `{prefix}events:registry`).
pub const STREAM: &str = "registry";

/// `OrganizationCreated`.
pub fn organization_created(organization: &pb::Organization) -> pb::OrganizationCreated {
    pb::OrganizationCreated {
        organization: Some(organization.clone()),
    }
}

/// `OrganizationUpdated`.
pub fn organization_updated(
    organization: &pb::Organization,
    changed: &[String],
) -> pb::OrganizationUpdated {
    pb::OrganizationUpdated {
        organization: Some(organization.clone()),
        changed_fields: changed.to_vec(),
    }
}

/// `AccountRegistered`.
pub fn account_registered(account: &pb::Account) -> pb::AccountRegistered {
    pb::AccountRegistered {
        account: Some(account.clone()),
    }
}

/// `AccountUpdated`.
pub fn account_updated(account: &pb::Account, changed: &[String]) -> pb::AccountUpdated {
    pb::AccountUpdated {
        account: Some(account.clone()),
        changed_fields: changed.to_vec(),
    }
}

/// `AccountStatusChanged`.
pub fn account_status_changed(
    account: &pb::Account,
    previous: i32,
    reason: &str,
) -> pb::AccountStatusChanged {
    pb::AccountStatusChanged {
        account: Some(account.clone()),
        previous_status: previous,
        reason: reason.to_owned(),
    }
}

/// `AccountActivityReported`.
pub fn account_activity_reported(account: &pb::Account) -> pb::AccountActivityReported {
    pb::AccountActivityReported {
        account: Some(account.clone()),
    }
}

/// `CredentialCustodyChanged`.
pub fn credential_custody_changed(
    custody: &pb::CredentialCustody,
    account: &str,
) -> pb::CredentialCustodyChanged {
    pb::CredentialCustodyChanged {
        credential_custody: Some(custody.clone()),
        account: account.to_owned(),
    }
}

/// The filing service's stream.
pub const FILING_STREAM: &str = "filing";

/// Projects the decisions on filings into the audit trail of the accounts they are about.
#[derive(Clone, Debug, Default)]
pub struct FilingOutcomes;

impl EventHandler for FilingOutcomes {
    async fn handle(&self, unit: &mut Unit, event: &EventEnvelope) -> Result<(), HandlerError> {
        if event.r#type != filing::FilingChanged::full_name() {
            return Ok(());
        }
        let changed = filing::FilingChanged::decode(event.payload.as_slice()).map_err(|error| {
            HandlerError::permanent(format!("FilingChanged {} is unreadable: {error}", event.id))
        })?;
        let decision = filing::FilingAction::try_from(changed.action).unwrap_or_default();
        // An enforced closure is the management department's decision too, taken at once.
        if !matches!(
            decision,
            filing::FilingAction::Accepted
                | filing::FilingAction::Rejected
                | filing::FilingAction::Enforced
        ) {
            return Ok(());
        }
        let Some(decided) = changed.filing else {
            return Err(HandlerError::permanent(format!(
                "FilingChanged {} carries no filing",
                event.id
            )));
        };
        let Some(account) = decided.target_account.strip_prefix("accounts/") else {
            // An opening: no account exists yet; its registration is audited when it happens.
            return Ok(());
        };
        let Some(ledger) = store::accounts::get(unit.txn(), account).await? else {
            return Ok(());
        };
        let kind = filing::FilingKind::try_from(decided.kind).unwrap_or_default();
        let by = decided.updated.unwrap_or_default();
        unit.audit(
            &ledger.name(),
            &ledger.organization_path,
            json!({
                "filing": decided.name,
                "kind": kind.as_str_name().trim_start_matches("FILING_KIND_"),
                "decision": decision.as_str_name().trim_start_matches("FILING_ACTION_"),
                "decided_by": by.actor,
                "decided_by_organization": by.actor_organization,
            }),
        );
        Ok(())
    }
}
