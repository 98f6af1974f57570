//! Bulletin handlers: compile a region's quarterly bulletin from the checks, orders and
//! notices of the quarter, and export it as HTML or XLSX.

use std::collections::BTreeMap;

use govmedia_kit::{auth::Principal, error::Violations, table::XLSX_MEDIA_TYPE, validate};
use govmedia_proto::{inspection::v1 as pb, registry::v1 as rpb};
use govmedia_registry_client::strip;

use super::{InspectionApi, convert, unvalidated};
use crate::{
    documents,
    domain::{
        bulletin::{Bulletin, Edition, Sources, compile},
        detect,
        period::Quarter,
        scheme::Verdict,
    },
    error::InspectionError,
    store,
};

/// The region, quarter and edition of a request, validated.
fn parse(
    v: &mut Violations,
    organization: &str,
    period: &str,
    edition: i32,
    now: chrono::DateTime<chrono::Utc>,
) -> (Option<String>, Option<Quarter>, Option<Edition>) {
    let organization =
        validate::resource_id(v, "organization", organization, "organizations", true);
    let quarter = match Quarter::parse(period) {
        None => {
            v.add(
                "period",
                "must be a quarter like 2026-Q4 (a year from 2000 to 2100)",
            );
            None
        }
        Some(quarter) if !quarter.begun(now) => {
            v.add("period", format!("{quarter} has not begun"));
            None
        }
        Some(quarter) => Some(quarter),
    };
    let edition = if edition == 0 {
        Some(Edition::Internal)
    } else {
        validate::enum_value(v, "edition", edition, true, Edition::from_i32)
    };
    (organization, quarter, edition)
}

/// Compiles the bulletin of `organization` for `quarter` in `edition` for `principal`.
async fn bulletin_of(
    api: &InspectionApi,
    principal: &Principal,
    (organization, quarter, edition): (&str, Quarter, Edition),
) -> Result<Bulletin, InspectionError> {
    let now = api.writer.clock().now();
    if edition == Edition::Public && !quarter.ended(now) {
        return Err(InspectionError::PeriodNotOver {
            what: "the PUBLIC bulletin".to_owned(),
            period: quarter.to_string(),
        });
    }
    // The registry refuses a region outside the caller's jurisdiction.
    let region = api.scope(principal, Some(organization)).await?;
    let asker = api.registry.as_caller(principal);
    let checks =
        store::checks::latest_between(api.conn(), &region.path, quarter.start(), quarter.end())
            .await?;
    let orders = store::rectification::opened_between(
        api.conn(),
        &region.path,
        quarter.start(),
        quarter.end(),
    )
    .await?;
    let notices: Vec<_> =
        store::notices::list(api.conn(), &region.path, &quarter.to_string(), None, 0)
            .await?
            .into_iter()
            .map(|(notice, _)| notice)
            .collect();
    // Names, as the ledger has them now: every account of the region in one listing, and the
    // units the bulletin names.
    let mut accounts = BTreeMap::new();
    let filter = rpb::ListAccountsRequest {
        organization: convert::organization_name(&region.id),
        ..Default::default()
    };
    let mut page_token = String::new();
    loop {
        let (entries, next) = asker.account_page(&filter, page_token).await?;
        for entry in entries {
            accounts.insert(
                strip(&entry.name, "accounts/")?.to_owned(),
                entry.display_name,
            );
        }
        if next.is_empty() {
            break;
        }
        page_token = next;
    }
    let mut units = BTreeMap::new();
    let named = std::iter::once(region.id.as_str())
        .chain(
            checks
                .iter()
                .filter(|check| check.outcome == Verdict::Fail)
                .map(|check| check.organization.as_str()),
        )
        .chain(notices.iter().map(|notice| notice.organization.as_str()));
    for id in named {
        if !units.contains_key(id) {
            // A unit the registry will not show now (moved, say) keeps its id for a name.
            let name = match asker.organization(id).await {
                Ok(unit) => unit.display_name,
                Err(error) if id == region.id => return Err(error.into()),
                Err(_) => id.to_owned(),
            };
            units.insert(id.to_owned(), name);
        }
    }
    let display_name = units.get(&region.id).cloned().unwrap_or_default();
    Ok(compile(Sources {
        region: (&region.id, &display_name),
        quarter,
        edition,
        now,
        checks: &checks,
        orders: &orders,
        notices: &notices,
        accounts: &accounts,
        units: &units,
        category_of: |detector| detect::spec(detector).map(|spec| spec.category),
    }))
}

pub(super) async fn get(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::GetBulletinRequest,
) -> Result<pb::Bulletin, InspectionError> {
    let mut v = Violations::new();
    let (organization, quarter, edition) = parse(
        &mut v,
        &req.organization,
        &req.period,
        req.edition,
        api.writer.clock().now(),
    );
    v.finish()?;
    let (Some(organization), Some(quarter), Some(edition)) = (organization, quarter, edition)
    else {
        return Err(unvalidated("organization"));
    };
    let bulletin = bulletin_of(api, principal, (&organization, quarter, edition)).await?;
    Ok(convert::bulletin(&bulletin))
}

pub(super) async fn export(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::ExportBulletinRequest,
) -> Result<pb::ExportBulletinResponse, InspectionError> {
    let mut v = Violations::new();
    let (organization, quarter, edition) = parse(
        &mut v,
        &req.organization,
        &req.period,
        req.edition,
        api.writer.clock().now(),
    );
    let format = match pb::BulletinFormat::try_from(req.format) {
        Ok(pb::BulletinFormat::Unspecified | pb::BulletinFormat::Html) => {
            Some(pb::BulletinFormat::Html)
        }
        Ok(pb::BulletinFormat::Xlsx) => Some(pb::BulletinFormat::Xlsx),
        Err(_) => {
            v.add("format", "must be HTML or XLSX");
            None
        }
    };
    v.finish()?;
    let (Some(organization), Some(quarter), Some(edition), Some(format)) =
        (organization, quarter, edition, format)
    else {
        return Err(unvalidated("organization"));
    };
    let bulletin = bulletin_of(api, principal, (&organization, quarter, edition)).await?;
    let stem = format!(
        "bulletin-{}-{}-{}",
        bulletin.organization,
        bulletin.quarter,
        bulletin.edition.as_str().to_ascii_lowercase()
    );
    Ok(match format {
        pb::BulletinFormat::Xlsx => pb::ExportBulletinResponse {
            content: documents::bulletin_xlsx(&bulletin).map_err(|error| {
                InspectionError::Document {
                    what: "the bulletin workbook",
                    error: error.to_string(),
                }
            })?,
            media_type: XLSX_MEDIA_TYPE.to_owned(),
            file_name: format!("{stem}.xlsx"),
        },
        pb::BulletinFormat::Html | pb::BulletinFormat::Unspecified => pb::ExportBulletinResponse {
            content: documents::bulletin_html(&bulletin).into_bytes(),
            media_type: documents::HTML_MEDIA_TYPE.to_owned(),
            file_name: format!("{stem}.html"),
        },
    })
}
