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
//! The registry consumes no events yet.

use govmedia_proto::registry::v1 as pb;

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
