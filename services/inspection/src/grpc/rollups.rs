//! Annual rollup handlers: a unit's year of checks, findings, orders, closures and
//! notices, as the contract's message (JSON through the gateway) or as a workbook.

use govmedia_kit::{auth::Principal, error::Violations, table::XLSX_MEDIA_TYPE, validate};
use govmedia_proto::inspection::v1 as pb;

use super::{InspectionApi, convert, unvalidated};
use crate::{
    documents,
    domain::{
        period::Quarter,
        rollup::{Orders, Rollup},
    },
    error::InspectionError,
    store,
};

/// The unit and year of a request, validated.
fn parse(
    v: &mut Violations,
    organization: &str,
    year: i32,
    now: chrono::DateTime<chrono::Utc>,
) -> (Option<String>, Option<i32>) {
    let organization =
        validate::resource_id(v, "organization", organization, "organizations", true);
    let current = Quarter::of(now).year;
    let year = if !(2000..=2100).contains(&year) {
        v.add("year", "must be a year from 2000 to 2100");
        None
    } else if year > current {
        v.add("year", format!("{year} has not begun"));
        None
    } else {
        Some(year)
    };
    (organization, year)
}

async fn rollup_of(
    api: &InspectionApi,
    principal: &Principal,
    organization: &str,
    year: i32,
) -> Result<Rollup, InspectionError> {
    let now = api.writer.clock().now();
    // The registry refuses a unit outside the caller's jurisdiction.
    let unit = api.scope(principal, Some(organization)).await?;
    let display_name = api
        .registry
        .as_caller(principal)
        .organization(&unit.id)
        .await?
        .display_name;
    let first = Quarter { year, quarter: 1 };
    let (start, end) = (first.start(), first.back(-4).start());
    let (accounts_checked, checks) =
        store::checks::outcomes_between(api.conn(), &unit.path, start, end).await?;
    let findings = store::findings::categories_between(api.conn(), &unit.path, start, end).await?;
    let orders = store::rectification::opened_between(api.conn(), &unit.path, start, end).await?;
    let notices = store::notices::list(api.conn(), &unit.path, &format!("{year}-Q"), None, 0)
        .await?
        .into_iter()
        .map(|(notice, _)| notice)
        .collect();
    let closures = api.sources.closures(&unit.id, start, end).await;
    Ok(Rollup {
        organization: unit.id,
        display_name,
        year,
        complete: now >= end,
        as_of: now,
        accounts_checked,
        checks,
        findings,
        orders: Orders::of(&orders, now),
        closures,
        notices,
    })
}

pub(super) async fn get(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::GetAnnualRollupRequest,
) -> Result<pb::AnnualRollup, InspectionError> {
    let mut v = Violations::new();
    let (organization, year) = parse(
        &mut v,
        &req.organization,
        req.year,
        api.writer.clock().now(),
    );
    v.finish()?;
    let (Some(organization), Some(year)) = (organization, year) else {
        return Err(unvalidated("organization"));
    };
    let rollup = rollup_of(api, principal, &organization, year).await?;
    Ok(convert::rollup(&rollup))
}

pub(super) async fn export(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::ExportAnnualRollupRequest,
) -> Result<pb::ExportAnnualRollupResponse, InspectionError> {
    let mut v = Violations::new();
    let (organization, year) = parse(
        &mut v,
        &req.organization,
        req.year,
        api.writer.clock().now(),
    );
    v.finish()?;
    let (Some(organization), Some(year)) = (organization, year) else {
        return Err(unvalidated("organization"));
    };
    let rollup = rollup_of(api, principal, &organization, year).await?;
    Ok(pb::ExportAnnualRollupResponse {
        content: documents::rollup_xlsx(&rollup).map_err(|error| InspectionError::Document {
            what: "the rollup workbook",
            error: error.to_string(),
        })?,
        media_type: XLSX_MEDIA_TYPE.to_owned(),
        file_name: format!("rollup-{}-{}.xlsx", rollup.organization, rollup.year),
    })
}
