//! Oversight signals (category 8 of R-21): gathered for a subtree from the service's own tables
//! and the ledger, judged by [`crate::domain::signals`]. Asked for on demand
//! (ListOversightSignals, for the caller's jurisdiction) and evaluated for the whole tree by one
//! replica at a time (the `vendor-oversight` lease), which publishes a signal when it is first
//! raised and again when it clears.

use std::{collections::BTreeMap, time::Duration};

use govmedia_kit::{
    CancellationToken,
    lease::{self, Leases},
    unit::Writer,
    worker,
};
use govmedia_proto::{registry::v1 as rpb, vendor::v1 as pb};
use govmedia_registry_client::{Asker, OrgRef, RegistryClient, strip};
use prost::Message;
use sea_orm::{ActiveValue::Set, EntityTrait};

use crate::{
    config::OversightConfig,
    domain::signals::{self, Signal, VendorOperated},
    error::VendorError,
    events,
    grpc::convert,
    store::{self, entity::signal as row},
};

/// Every signal that holds now in the subtree of `scope`, asking the ledger as `asker`.
pub async fn evaluate(
    writer: &Writer,
    config: &OversightConfig,
    asker: &Asker<'_>,
    scope: &OrgRef,
) -> Result<Vec<Signal>, VendorError> {
    let ledger = asker
        .accounts(&scope.id)
        .await?
        .into_iter()
        .filter_map(|account| vendor_operated(&account))
        .collect::<Vec<_>>();
    let conn = writer.db().conn();
    let vendors = store::vendors::on_line_of(conn, &scope.path).await?;
    let delegations = store::delegations::live_in(conn, &scope.path).await?;
    Ok(signals::evaluate(signals::Inputs {
        now: writer.clock().now(),
        expiring_within: chrono::Duration::days(i64::from(config.expiring_within_days)),
        vendors: &vendors,
        delegations: &delegations,
        ledger: &ledger,
    }))
}

/// The account, when the ledger says a vendor operates it (and it is not cancelled).
fn vendor_operated(account: &rpb::Account) -> Option<VendorOperated> {
    let operator = account.operator.as_ref()?;
    if operator.r#type != rpb::OperatorType::Vendor as i32
        || account.status == rpb::AccountStatus::Cancelled as i32
    {
        return None;
    }
    Some(VendorOperated {
        account: strip(&account.name, "accounts/").ok()?.to_owned(),
        organization: strip(&account.organization, "organizations/")
            .ok()?
            .to_owned(),
        vendor: operator
            .vendor
            .strip_prefix("vendors/")
            .unwrap_or(&operator.vendor)
            .to_owned(),
    })
}

/// The contract form of a signal.
pub fn to_proto(signal: &Signal) -> pb::OversightSignal {
    pb::OversightSignal {
        kind: signal.kind as i32,
        key: signal.key.clone(),
        vendor: signal
            .vendor
            .as_deref()
            .map(convert::vendor_name)
            .unwrap_or_default(),
        delegation: signal
            .delegation
            .as_deref()
            .map(|id| format!("delegations/{id}"))
            .unwrap_or_default(),
        account: signal
            .account
            .as_deref()
            .map(convert::account_name)
            .unwrap_or_default(),
        organization: signal
            .organization
            .as_deref()
            .map(convert::organization_name)
            .unwrap_or_default(),
        description: signal.description.clone(),
        evidence: signal
            .evidence
            .iter()
            .map(|(name, value)| pb::Evidence {
                name: name.clone(),
                value: value.clone(),
            })
            .collect(),
    }
}

/// The daily evaluation of the whole tree the service serves.
#[derive(Clone, Debug)]
pub struct Watch {
    writer: Writer,
    registry: RegistryClient,
    config: OversightConfig,
}

impl Watch {
    /// A watch writing through `writer`, asking the ledger through `registry` on the service's
    /// own account.
    pub fn new(writer: Writer, registry: RegistryClient, config: OversightConfig) -> Self {
        Self {
            writer,
            registry,
            config,
        }
    }

    /// Evaluates every interval on whichever replica holds the lease, until `shutdown`.
    pub async fn run(self, leases: Leases, owner: String, shutdown: CancellationToken) {
        let interval = Duration::from_millis(self.config.interval_ms);
        lease::lead(
            leases,
            "vendor-oversight",
            &owner,
            lease::TTL,
            shutdown,
            |_, lost| {
                let watch = self.clone();
                async move {
                    worker::repeat("evaluating oversight signals", interval, None, lost, || {
                        watch.pass()
                    })
                    .await;
                }
            },
        )
        .await;
    }

    /// One evaluation: raises what is new, clears what no longer holds; returns how many
    /// signals changed.
    pub async fn pass(&self) -> Result<usize, VendorError> {
        let asker = self.registry.as_service();
        let root = asker.jurisdiction().await?;
        let now: BTreeMap<String, Signal> = evaluate(&self.writer, &self.config, &asker, &root)
            .await?
            .into_iter()
            .map(|signal| (signal.key.clone(), signal))
            .collect();
        let system = self.registry.own_principal();
        let mut unit = self
            .writer
            .begin("EvaluateOversight", &system, "", &())
            .await?;
        let before = row::Entity::find().all(unit.txn()).await?;
        let mut changed = 0;
        for old in &before {
            if now.contains_key(&old.key) {
                continue;
            }
            let signal = pb::OversightSignal::decode(old.signal.as_slice()).unwrap_or_default();
            unit.publish(
                &old.key,
                &pb::OversightSignalCleared {
                    signal: Some(signal),
                },
            )
            .await?;
            row::Entity::delete_by_id(old.key.clone())
                .exec(unit.txn())
                .await?;
            changed += 1;
        }
        for (key, signal) in &now {
            if before.iter().any(|old| &old.key == key) {
                continue;
            }
            let message = to_proto(signal);
            row::Entity::insert(row::ActiveModel {
                key: Set(key.clone()),
                kind: Set(signal.kind as i32),
                signal: Set(message.encode_to_vec()),
                raised_at: Set(unit.now()),
            })
            .exec(unit.txn())
            .await?;
            unit.publish(key, &events::signal_raised(&message)).await?;
            changed += 1;
        }
        unit.commit(()).await?;
        Ok(changed)
    }
}
