//! Spot check handlers (季度抽查, R-20): draw a stratified sample of an organization's ACTIVE
//! accounts with a recorded seed, check each account drawn, and keep the draw with the checks.

use std::collections::BTreeMap;

use govmedia_kit::{
    auth::Principal,
    error::{ApiError, ErrorCode, Violations},
    paging::{Page, fingerprint},
    validate,
};
use govmedia_proto::{common::v1::ErrorReason, inspection::v1 as pb};
use serde_json::json;

use super::{InspectionApi, checks, convert, schemes, stamp, unvalidated};
use crate::{
    domain::{
        Account, SpotCheck,
        sample::{self, Member},
        scheme::{NATIONAL, Verdict},
        within,
    },
    error::InspectionError,
    store,
};

/// Most accounts one spot check draws: a larger draw is split by region.
pub const MAX_DRAWN: usize = 500;

/// Accounts of a draw checked together (their posts read at once, their checks recorded in one
/// unit of work).
const CHECKED_TOGETHER: usize = 100;

/// A `YYYY-Qn` period.
fn is_period(value: &str) -> bool {
    crate::domain::period::Quarter::parse(value).is_some()
}

pub(super) async fn start(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::StartSpotCheckRequest,
) -> Result<pb::SpotCheck, InspectionError> {
    let mut v = Violations::new();
    let id = validate::id(&mut v, "spot_check_id", &req.spot_check_id).map(str::to_owned);
    let organization_owned = validate::resource_id(
        &mut v,
        "organization",
        &req.organization,
        "organizations",
        true,
    );
    if !is_period(&req.period) {
        v.add(
            "period",
            "must be a quarter like 2026-Q4 (a year from 2000 to 2100)",
        );
    }
    let scheme_owned = if req.scheme.is_empty() {
        Some(NATIONAL.to_owned())
    } else {
        validate::resource_id(&mut v, "scheme", &req.scheme, "schemes", true)
    };
    let per_mille = if req.full_coverage {
        if req.ratio != 0.0 && req.ratio != 1.0 {
            v.add("ratio", "must be 0 or 1 with full_coverage");
        }
        1000
    } else if req.ratio == 0.0 {
        api.spot_check_per_mille
    } else if req.ratio.is_finite() && req.ratio > 0.0 && req.ratio <= 1.0 {
        ((req.ratio * 1000.0).round() as u32).max(1)
    } else {
        v.add(
            "ratio",
            "must be more than 0 and at most 1 (0 takes the configured default)",
        );
        0
    };
    validate::request_id(&mut v, "request_id", &req.request_id);
    v.finish()?;
    let (Some(id), Some(organization), Some(scheme_id)) =
        (id, organization_owned.as_deref(), scheme_owned.as_deref())
    else {
        return Err(unvalidated("spot check"));
    };
    if let Some(done) = api
        .writer
        .replayed("StartSpotCheck", principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    let name = convert::spot_check_name(&id);
    if store::spot_checks::get(api.conn(), &id).await?.is_some() {
        return Err(InspectionError::AlreadyExists(name));
    }
    let root = api.scope(principal, Some(organization)).await?;
    let scheme = schemes::find(api, scheme_id, 0).await?;
    if !scheme.serves(&root.path) {
        return Err(InspectionError::SchemeNotForAccount {
            scheme: convert::scheme_name(&scheme.id),
            account: convert::organization_name(&root.id),
        });
    }

    // The population: the subtree's ACTIVE accounts, each with its region (the organization
    // directly under the root on its path).
    let mut members = Vec::new();
    let mut accounts: BTreeMap<String, Account> = BTreeMap::new();
    for account in api.active_accounts_under(&root).await? {
        let region = account.path[root.path.len()..]
            .split('/')
            .find(|segment| !segment.is_empty())
            .unwrap_or(&root.id)
            .to_owned();
        members.push(Member {
            account: account.id.clone(),
            region,
            platform: account.platform,
        });
        accounts.insert(account.id.clone(), account);
    }
    let seed = req.seed.unwrap_or_else(|| {
        let bytes = uuid::Uuid::new_v4().into_bytes();
        u64::from_le_bytes([
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
        ])
    });
    let strata = sample::draw(&members, per_mille, seed);
    let drawn: Vec<&String> = strata.iter().flat_map(|s| &s.drawn).collect();
    if drawn.len() > MAX_DRAWN {
        return Err(InspectionError::Api(
            ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::MessageTooLarge,
                format!(
                    "the draw holds {} accounts, more than the {MAX_DRAWN} one spot check runs; start one per region",
                    drawn.len()
                ),
            )
            .with_metadata("drawn", drawn.len().to_string()),
        ));
    }

    // The accounts drawn, checked in groups (each group's checks in one unit of work), with
    // what checks read once read once.
    let drawn: Vec<Account> = drawn
        .into_iter()
        .filter_map(|account| accounts.get(account).cloned())
        .collect();
    let shared = checks::Shared::read(api, &scheme, checks::Reach::Tree(&root.id)).await?;
    let mut checks = Vec::with_capacity(drawn.len());
    let mut counts = [0; 3];
    for group in drawn.chunks(CHECKED_TOGETHER) {
        for check in
            checks::perform_many(api, principal, group, &scheme, &shared, "StartSpotCheck").await?
        {
            match Verdict::from_i32(check.outcome) {
                Some(Verdict::Pass) => counts[0] += 1,
                Some(Verdict::Fail) => counts[1] += 1,
                Some(Verdict::Incomplete) | None => counts[2] += 1,
            }
            checks.push(check.name.trim_start_matches("checks/").to_owned());
        }
    }

    let mut unit = api
        .writer
        .begin("StartSpotCheck", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let spot = SpotCheck {
        id,
        organization: root.id.clone(),
        path: root.path.clone(),
        period: req.period.clone(),
        scheme: scheme.id.clone(),
        scheme_version: scheme.version,
        per_mille,
        seed,
        strata,
        checks,
        counts,
        created: stamp(&unit),
    };
    if let Err(error) = store::spot_checks::insert(unit.txn(), &spot).await {
        return Err(if govmedia_kit::db::is_unique_violation(&error) {
            InspectionError::AlreadyExists(name)
        } else {
            error.into()
        });
    }
    unit.audit(
        &name,
        &convert::organization_name(&spot.organization),
        json!({
            "period": spot.period,
            "scheme": convert::scheme_name(&spot.scheme),
            "per_mille": spot.per_mille,
            "seed": spot.seed.to_string(),
            "checks": spot.checks.len(),
        }),
    );
    let response = convert::spot_check(&spot);
    Ok(unit.commit(response).await?)
}

pub(super) async fn get(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::GetSpotCheckRequest,
) -> Result<pb::SpotCheck, InspectionError> {
    let mut v = Violations::new();
    let id_owned = validate::resource_id(&mut v, "name", &req.name, "spotChecks", true);
    v.finish()?;
    let Some(id) = id_owned.as_deref() else {
        return Err(unvalidated("name"));
    };
    let spot = store::spot_checks::get(api.conn(), id)
        .await?
        .ok_or_else(|| InspectionError::NotFound(convert::spot_check_name(id)))?;
    let root = api.scope(principal, None).await?;
    if !within(&root.path, &spot.path) {
        return Err(InspectionError::OutsideJurisdiction(
            convert::spot_check_name(id),
        ));
    }
    Ok(convert::spot_check(&spot))
}

pub(super) async fn list(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::ListSpotChecksRequest,
) -> Result<pb::ListSpotChecksResponse, InspectionError> {
    let mut v = Violations::new();
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&["ListSpotChecks"]),
    );
    v.finish()?;
    let root = api.scope(principal, None).await?;
    let mut rows = store::spot_checks::list(
        api.conn(),
        &root.path,
        page.after_number()?,
        page.fetch_limit(),
    )
    .await?;
    let next = page.finish(&mut rows, |(_, seq)| seq.to_string());
    Ok(pb::ListSpotChecksResponse {
        spot_checks: rows
            .iter()
            .map(|(spot, _)| convert::spot_check(spot))
            .collect(),
        next_page_token: next,
    })
}
