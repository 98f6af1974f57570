//! Reconciliation: importing platform rosters, and comparing the ledger, the national
//! reports and the rosters.

use std::collections::{HashMap, HashSet};

use govmedia_kit::{
    auth::Principal,
    db::is_unique_violation,
    error::Violations,
    paging::{Page, fingerprint},
    validate, worker,
};
use govmedia_proto::{common::v1::Platform, filing::v1 as pb};
use serde_json::json;

use super::{FilingApi, convert, filings::unvalidated, organization_field, roster, stamp, subtree};
use crate::{
    domain::{
        reconcile::{self, DiscrepancyType, Inputs, Reported, SortKey},
        report::ReportState,
    },
    error::FilingError,
    store::{self, rosters::Scope},
};

pub(super) async fn import_roster(
    api: &FilingApi,
    principal: &Principal,
    req: pb::ImportRosterRequest,
) -> Result<pb::Roster, FilingError> {
    let mut v = Violations::new();
    let organization = organization_field(&mut v, &req.organization, true);
    let platform = validate::enum_value(&mut v, "platform", req.platform, true, |value| {
        Platform::try_from(value)
            .ok()
            .filter(|platform| *platform != Platform::Unspecified)
    });
    validate::request_id(&mut v, "request_id", &req.request_id);
    if req.csv.is_empty() {
        v.add("csv", "is required");
    }
    v.finish()?;
    let (Some(organization), Some(platform)) = (organization, platform) else {
        return Err(unvalidated("organization"));
    };
    // A roster of up to tens of thousands of lines, checked whole: off the async executor.
    let entries = {
        let (csv, organization) = (req.csv.clone(), organization.clone());
        worker::blocking("reading a roster", move || {
            roster::parse(&csv, &organization, platform as i32)
        })
        .await??
    };
    let method = "ImportRoster";
    if let Some(done) = api
        .writer
        .replayed(method, principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    let scope = api
        .registry
        .as_caller(principal)
        .unit(&organization)
        .await?;

    let mut work = api
        .writer
        .begin(method, principal, &req.request_id, &req)
        .await?;
    if let Some(done) = work.replay().await? {
        return Ok(done);
    }
    let imported = stamp(&work);
    let resource = format!(
        "{}/rosters/{}",
        convert::organization_name(&scope.id),
        platform.as_str_name()
    );
    let replaced = store::rosters::replace(
        work.txn(),
        Scope {
            organization: &scope.id,
            path: &scope.path,
            platform: platform as i32,
        },
        &entries,
        &imported,
    )
    .await;
    match replaced {
        Ok(()) => {}
        // Another import of the same roster committed first: the caller may send it again.
        Err(error) if is_unique_violation(&error) => {
            return Err(FilingError::ConcurrentChange(resource));
        }
        Err(error) => return Err(error.into()),
    }
    work.audit(
        &resource,
        &scope.path,
        json!({ "action": "IMPORTED", "entries": entries.len() }),
    );
    let roster = pb::Roster {
        organization: convert::organization_name(&scope.id),
        platform: platform as i32,
        entries: i32::try_from(entries.len()).unwrap_or(i32::MAX),
        imported: Some(convert::stamp(&imported)),
    };
    Ok(work.commit(roster).await?)
}

/// Per account, the latest record the national system holds (SENT or CONFIRMED) and the
/// latest newer one it does not (PENDING or FAILED).
fn reported_state(
    reports: Vec<crate::domain::report::Report>,
) -> (HashMap<String, Reported>, HashMap<String, String>) {
    let mut reported = HashMap::new();
    let mut unsent = HashMap::new();
    // Oldest first: a later record replaces an earlier one.
    for report in reports {
        match report.state {
            ReportState::Sent | ReportState::Confirmed => {
                unsent.remove(&report.account_id);
                reported.insert(
                    report.account_id.clone(),
                    Reported {
                        snapshot: convert::snapshot(
                            &convert::report_account(&report).unwrap_or_default(),
                        ),
                        report: report.id,
                    },
                );
            }
            ReportState::Pending | ReportState::Failed => {
                unsent.insert(report.account_id, report.id);
            }
        }
    }
    (reported, unsent)
}

pub(super) async fn reconcile(
    api: &FilingApi,
    principal: &Principal,
    req: pb::ReconcileRequest,
) -> Result<pb::ReconcileResponse, FilingError> {
    let mut v = Violations::new();
    let organization = organization_field(&mut v, &req.organization, false);
    let only = validate::enum_value(&mut v, "type", req.r#type, false, DiscrepancyType::from_i32);
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[
            &req.organization,
            &req.r#type.to_string(),
            &principal.subject,
        ]),
    );
    v.finish()?;
    // The token holds the sort key of the last discrepancy shown, not a position: one that
    // appears or is resolved between two pages shifts nothing.
    let after: Option<SortKey> = page.after_json()?;
    let scope = subtree(api, principal, organization).await?;
    let ledger: Vec<_> = api
        .registry
        .as_caller(principal)
        .accounts(&scope.id)
        .await?
        .iter()
        .map(convert::snapshot)
        .collect();
    let (reported, unsent) =
        reported_state(store::reports::of_subtree(api.conn(), &scope.path).await?);
    let roster = store::rosters::entries_under(api.conn(), &scope.path).await?;
    let found = reconcile::compare(Inputs {
        ledger: &ledger,
        reported: &reported,
        unsent: &unsent,
        roster: &roster,
    });
    let counts = reconcile::count(&found);
    let count = |kind: DiscrepancyType| counts.get(&(kind as i32)).copied().unwrap_or(0);
    let mut rows: Vec<&reconcile::Discrepancy> = found
        .iter()
        .filter(|discrepancy| only.is_none_or(|kind| discrepancy.kind == kind))
        .filter(|discrepancy| {
            after
                .as_ref()
                .is_none_or(|after| discrepancy.key() > *after)
        })
        .take(usize::try_from(page.fetch_limit()).unwrap_or(usize::MAX))
        .collect();
    let next_page_token = page.finish(&mut rows, |discrepancy| {
        serde_json::to_string(&discrepancy.key()).unwrap_or_default()
    });
    let accounts: HashSet<&str> = reported.keys().map(String::as_str).collect();
    Ok(pb::ReconcileResponse {
        discrepancies: rows.into_iter().map(convert::discrepancy).collect(),
        next_page_token,
        ledger_accounts: ledger.len() as i64,
        reported_accounts: accounts.len() as i64,
        roster_entries: roster.len() as i64,
        wrong: count(DiscrepancyType::Wrong),
        missing: count(DiscrepancyType::Missing),
        concealed: count(DiscrepancyType::Concealed),
        zombie: count(DiscrepancyType::Zombie),
    })
}
