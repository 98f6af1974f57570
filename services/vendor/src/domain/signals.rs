//! Oversight signals (category 8 of R-21, 托管变脱管: outsourced operation escaping the unit's
//! oversight), computed from what the service knows (vendors, their qualifications, the
//! delegations) and what the ledger says (who operates each account). Pure: the caller gathers
//! the inputs, [`evaluate`] says what holds now.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use govmedia_kit::numbered;

use super::{Delegation, DelegationStatus, HandoverState, Vendor, VendorStatus};

numbered! {
    /// Kinds of signal.
    SignalKind {
        /// A qualification has expired.
        QualificationExpired = 1 => "QUALIFICATION_EXPIRED",
        /// A qualification expires soon.
        QualificationExpiring = 2 => "QUALIFICATION_EXPIRING",
        /// A delegation runs without an active reviewer.
        ReviewerMissing = 3 => "REVIEWER_MISSING",
        /// The contract is over but the ledger still names the vendor.
        ContractOverStillOperating = 4 => "CONTRACT_OVER_STILL_OPERATING",
        /// A terminated or blacklisted vendor still operates an account.
        BarredVendorOperating = 5 => "BARRED_VENDOR_OPERATING",
        /// The ledger names a vendor that no delegation handed the account to.
        UndelegatedOperator = 6 => "UNDELEGATED_OPERATOR",
        /// The latest performance assessment is below the threshold.
        VendorBelowThreshold = 7 => "VENDOR_BELOW_THRESHOLD",
    }
}

/// An account whose ledger record names a vendor as its operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendorOperated {
    /// The account's id.
    pub account: String,
    /// Its unit's id.
    pub organization: String,
    /// The vendor's id, as the ledger names it.
    pub vendor: String,
}

/// One signal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signal {
    /// Kind.
    pub kind: SignalKind,
    /// Stable key: kind and subject.
    pub key: String,
    /// The vendor's id, when the service knows it.
    pub vendor: Option<String>,
    /// The delegation's id.
    pub delegation: Option<String>,
    /// The account's id.
    pub account: Option<String>,
    /// The unit's id.
    pub organization: Option<String>,
    /// What is wrong.
    pub description: String,
    /// The facts, by name.
    pub evidence: Vec<(String, String)>,
}

/// What the evaluation looks at.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    /// The time of the evaluation.
    pub now: DateTime<Utc>,
    /// How far ahead an expiring qualification is signalled.
    pub expiring_within: Duration,
    /// The vendors on the line of the scope.
    pub vendors: &'a [Vendor],
    /// The delegations of the scope that may still hold an account (not REFUSED or ENDED).
    pub delegations: &'a [Delegation],
    /// The accounts of the scope the ledger says a vendor operates.
    pub ledger: &'a [VendorOperated],
}

fn time(value: DateTime<Utc>) -> String {
    value.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn evidence(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect()
}

/// Every signal that holds, by kind and key.
pub fn evaluate(inputs: Inputs<'_>) -> Vec<Signal> {
    let mut signals = Vec::new();
    qualifications(&inputs, &mut signals);
    performance(&inputs, &mut signals);
    reviewers(&inputs, &mut signals);
    operators(&inputs, &mut signals);
    signals.sort_by(|a, b| (a.kind as i32, &a.key).cmp(&(b.kind as i32, &b.key)));
    signals
}

/// The latest qualification of each kind of an approved or suspended vendor, expired or
/// expiring (a renewed licence replaces the old one).
fn qualifications(inputs: &Inputs<'_>, signals: &mut Vec<Signal>) {
    for vendor in inputs.vendors {
        if !matches!(
            vendor.status,
            VendorStatus::Approved | VendorStatus::Suspended
        ) {
            continue;
        }
        let mut latest = BTreeMap::new();
        for qualification in &vendor.qualifications {
            let entry = latest
                .entry(qualification.kind as i32)
                .or_insert(qualification);
            if qualification.valid_until > entry.valid_until {
                *entry = qualification;
            }
        }
        for qualification in latest.values() {
            let kind = if qualification.valid_until <= inputs.now {
                SignalKind::QualificationExpired
            } else if qualification.valid_until <= inputs.now + inputs.expiring_within {
                SignalKind::QualificationExpiring
            } else {
                continue;
            };
            let description = match kind {
                SignalKind::QualificationExpired => "a qualification of the vendor has expired",
                _ => "a qualification of the vendor expires soon",
            };
            signals.push(Signal {
                kind,
                key: format!("{kind}:{}:{}", vendor.id, qualification.id),
                vendor: Some(vendor.id.clone()),
                delegation: None,
                account: None,
                organization: Some(vendor.organization.clone()),
                description: description.to_owned(),
                evidence: evidence(&[
                    ("qualification", qualification.id.clone()),
                    ("type", qualification.kind.to_string()),
                    ("number", qualification.number.clone()),
                    ("valid_until", time(qualification.valid_until)),
                ]),
            });
        }
    }
}

/// Vendors whose latest performance assessment flagged them (and that are still in use).
fn performance(inputs: &Inputs<'_>, signals: &mut Vec<Signal>) {
    for vendor in inputs.vendors {
        let in_use = matches!(
            vendor.status,
            VendorStatus::Approved | VendorStatus::Suspended
        );
        if in_use && vendor.clean_out_flag.starts_with("performance:") {
            let kind = SignalKind::VendorBelowThreshold;
            signals.push(Signal {
                kind,
                key: format!("{kind}:{}", vendor.id),
                vendor: Some(vendor.id.clone()),
                delegation: None,
                account: None,
                organization: Some(vendor.organization.clone()),
                description: "the vendor's latest performance assessment is below the threshold"
                    .to_owned(),
                evidence: evidence(&[("clean_out_flag", vendor.clean_out_flag.clone())]),
            });
        }
    }
}

/// Running delegations whose reviewer left.
fn reviewers(inputs: &Inputs<'_>, signals: &mut Vec<Signal>) {
    for delegation in inputs.delegations {
        let running = delegation.ended.is_none()
            && matches!(
                delegation.status,
                DelegationStatus::Pending | DelegationStatus::Active
            );
        if running && delegation.reviewer.departed {
            let kind = SignalKind::ReviewerMissing;
            signals.push(Signal {
                kind,
                key: format!("{kind}:{}", delegation.id),
                vendor: Some(delegation.vendor.clone()),
                delegation: Some(delegation.id.clone()),
                account: None,
                organization: Some(delegation.organization.clone()),
                description: "the delegation runs without an active reviewer of the unit"
                    .to_owned(),
                evidence: evidence(&[
                    ("reviewer", delegation.reviewer.display_name.clone()),
                    ("reviewer_departed", "true".to_owned()),
                    ("status", delegation.status.to_string()),
                ]),
            });
        }
    }
}

/// Accounts the ledger says a vendor operates, against the delegations that hand them over.
fn operators(inputs: &Inputs<'_>, signals: &mut Vec<Signal>) {
    for operated in inputs.ledger {
        let vendor = inputs.vendors.iter().find(|v| v.id == operated.vendor);
        let holding = inputs.delegations.iter().find_map(|delegation| {
            (delegation.vendor == operated.vendor)
                .then(|| {
                    delegation.handovers.iter().find(|h| {
                        h.account == operated.account
                            && matches!(
                                h.state,
                                HandoverState::Operating
                                    | HandoverState::Ending
                                    | HandoverState::ReturnRefused
                            )
                    })
                })
                .flatten()
                .map(|handover| (delegation, handover))
        });
        let base = |kind: SignalKind, description: &str, facts: Vec<(String, String)>| Signal {
            kind,
            key: format!("{kind}:{}:{}", operated.account, operated.vendor),
            vendor: vendor.map(|v| v.id.clone()),
            delegation: holding.map(|(d, _)| d.id.clone()),
            account: Some(operated.account.clone()),
            organization: Some(operated.organization.clone()),
            description: description.to_owned(),
            evidence: facts,
        };
        let ledger_fact = (
            "ledger_operator".to_owned(),
            format!("vendors/{}", operated.vendor),
        );
        match holding {
            None => signals.push(base(
                SignalKind::UndelegatedOperator,
                "the ledger names a vendor as the account's operator, but no delegation hands the account to it",
                vec![
                    ledger_fact.clone(),
                    (
                        "vendor_known".to_owned(),
                        vendor.is_some().to_string(),
                    ),
                ],
            )),
            Some((delegation, handover)) => {
                let over = delegation.ended.is_some() || delegation.end_time <= inputs.now;
                if over {
                    let mut facts = vec![
                        ledger_fact.clone(),
                        ("end_time".to_owned(), time(delegation.end_time)),
                        ("handover".to_owned(), handover.state.to_string()),
                    ];
                    if let Some(ended) = delegation.ended {
                        facts.push(("ended_time".to_owned(), time(ended)));
                    }
                    signals.push(base(
                        SignalKind::ContractOverStillOperating,
                        "the delegation is over, but the ledger still names the vendor as the account's operator",
                        facts,
                    ));
                }
            }
        }
        if let Some(vendor) = vendor
            && matches!(
                vendor.status,
                VendorStatus::Terminated | VendorStatus::Blacklisted
            )
        {
            signals.push(base(
                SignalKind::BarredVendorOperating,
                "a terminated or blacklisted vendor is still the account's operator in the ledger",
                vec![
                    ledger_fact,
                    ("vendor_status".to_owned(), vendor.status.to_string()),
                    ("status_reason".to_owned(), vendor.status_reason.clone()),
                ],
            ));
        }
    }
}
