//! What the vendor service tells the other services. Every state change publishes exactly one of
//! these (through the outbox, in the change's transaction) on the stream [`STREAM`]; the payload
//! messages are contracts in `vendor.proto`, and each carries the vendor as it is after the
//! change, so consumers need no call back.
//!
//! | event | published by |
//! |---|---|
//! | `VendorCreated` | CreateVendor |
//! | `VendorUpdated` | UpdateVendor, AddQualification |
//! | `VendorStatusChanged` | ApproveVendor, SuspendVendor, TerminateVendor, BlacklistVendor |
//! | `VendorVetted` | RecordVetting |
//! | `VendorAssessed` | AssessPerformance |
//! | `DelegationChanged` | CreateDelegation, UpdateDelegation, EndDelegation, and each handover the filing service decides |
//! | `OversightSignalRaised`, `OversightSignalCleared` | the daily oversight evaluation ([`crate::oversight`]) |
//!
//! It consumes the filing service's `FilingChanged` ([`FilingDecisions`]): the decisions on the
//! CHANGE filings that hand delegated accounts over move those handovers.

use govmedia_kit::{
    events::{
        EventEnvelope,
        consumer::{EventHandler, HandlerError},
    },
    unit::Unit,
};
use govmedia_proto::{filing::v1 as filing, vendor::v1 as pb};
use prost::{Message, Name};

use crate::domain::delegation::{FilingOutcome, Handed};

/// The vendor service's event stream (Redis key `{prefix}events:vendor`).
pub const STREAM: &str = "vendor";

/// `VendorCreated`.
pub fn vendor_created(vendor: &pb::Vendor) -> pb::VendorCreated {
    pb::VendorCreated {
        vendor: Some(vendor.clone()),
    }
}

/// `VendorUpdated`.
pub fn vendor_updated(vendor: &pb::Vendor, changed: &[String]) -> pb::VendorUpdated {
    pb::VendorUpdated {
        vendor: Some(vendor.clone()),
        changed_fields: changed.to_vec(),
    }
}

/// `VendorStatusChanged`.
pub fn vendor_status_changed(
    vendor: &pb::Vendor,
    previous: i32,
    reason: &str,
) -> pb::VendorStatusChanged {
    pb::VendorStatusChanged {
        vendor: Some(vendor.clone()),
        previous_status: previous,
        reason: reason.to_owned(),
    }
}

/// `VendorVetted`.
pub fn vendor_vetted(vendor: &str, vetting: &pb::Vetting) -> pb::VendorVetted {
    pb::VendorVetted {
        vendor: vendor.to_owned(),
        vetting: Some(vetting.clone()),
    }
}

/// `DelegationChanged`.
pub fn delegation_changed(delegation: &pb::Delegation, change: &str) -> pb::DelegationChanged {
    pb::DelegationChanged {
        delegation: Some(delegation.clone()),
        change: change.to_owned(),
    }
}

/// The filing service's stream.
pub const FILING_STREAM: &str = "filing";

/// Whom the filing makes the account's operator (what it asks, which is what it applied).
fn handed(filing: &filing::Filing) -> Handed {
    let changes_operator = filing.kind == filing::FilingKind::Open as i32
        || filing
            .change_mask
            .as_ref()
            .is_some_and(|mask| mask.paths.iter().any(|path| path == "operator"));
    let operator = filing
        .account
        .as_ref()
        .and_then(|account| account.operator.as_ref());
    match operator {
        Some(operator) if changes_operator => {
            if operator.r#type == govmedia_proto::registry::v1::OperatorType::Vendor as i32 {
                Handed::ToVendor(
                    operator
                        .vendor
                        .strip_prefix("vendors/")
                        .unwrap_or(&operator.vendor)
                        .to_owned(),
                )
            } else {
                Handed::ToUnit
            }
        }
        Some(_) | None => Handed::Untouched,
    }
}

/// Records on delegations' handovers what the filing service decided about their filings:
/// applied to the ledger, or rejected, withdrawn, or refused by the registry when applied.
#[derive(Clone, Debug, Default)]
pub struct FilingDecisions;

impl EventHandler for FilingDecisions {
    async fn handle(&self, unit: &mut Unit, event: &EventEnvelope) -> Result<(), HandlerError> {
        if event.r#type != filing::FilingChanged::full_name() {
            return Ok(());
        }
        let changed = filing::FilingChanged::decode(event.payload.as_slice()).map_err(|error| {
            HandlerError::permanent(format!("FilingChanged {} is unreadable: {error}", event.id))
        })?;
        let Some(decided) = changed.filing else {
            return Err(HandlerError::permanent(format!(
                "FilingChanged {} carries no filing",
                event.id
            )));
        };
        let by = decided
            .updated
            .as_ref()
            .map(|stamp| stamp.actor_organization.clone())
            .unwrap_or_default();
        let outcome = match filing::FilingAction::try_from(changed.action).unwrap_or_default() {
            filing::FilingAction::Applied => FilingOutcome::Applied,
            filing::FilingAction::Rejected => {
                FilingOutcome::Refused(format!("the filing was rejected by {by}"))
            }
            filing::FilingAction::Withdrawn => {
                FilingOutcome::Refused("the filing was withdrawn".to_owned())
            }
            filing::FilingAction::ApplicationFailed => FilingOutcome::Refused(format!(
                "the registry refused the filing: {}",
                decided.application_error
            )),
            _ => return Ok(()),
        };
        let Some(id) = decided.name.strip_prefix("filings/") else {
            return Ok(());
        };
        let handed = handed(&decided);
        crate::handover::record(unit, id, &outcome, Some(&handed))
            .await
            .map_err(|error| HandlerError::from(govmedia_kit::error::ApiError::from(error)))?;
        Ok(())
    }
}

/// `OversightSignalRaised`.
pub fn signal_raised(signal: &pb::OversightSignal) -> pb::OversightSignalRaised {
    pb::OversightSignalRaised {
        signal: Some(signal.clone()),
    }
}

/// `VendorAssessed`.
pub fn vendor_assessed(vendor: &str, assessment: &pb::PerformanceAssessment) -> pb::VendorAssessed {
    pb::VendorAssessed {
        vendor: vendor.to_owned(),
        assessment: Some(assessment.clone()),
    }
}
