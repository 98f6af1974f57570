//! Vetting handlers: recording an assessment and listing them.

use govmedia_kit::{
    auth::Principal,
    error::Violations,
    paging::{Page, fingerprint},
    validate,
};
use govmedia_proto::vendor::v1 as pb;
use serde_json::json;

use super::{VendorApi, convert, governed, stamp, unvalidated, validation, visible};
use crate::{
    domain::{Flag, VendorStatus, Vetting, vetting},
    error::VendorError,
    events, store,
};

pub(super) async fn record(
    api: &VendorApi,
    principal: &Principal,
    req: pb::RecordVettingRequest,
) -> Result<pb::Vetting, VendorError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "vendor", &req.vendor, "vendors", true);
    validate::request_id(&mut v, "request_id", &req.request_id);
    let parts = validation::vetting(&mut v, req.vetting.as_ref());
    v.finish()?;
    let (Some(id), Some((assessors, scores)), Some(source)) = (id, parts, req.vetting.as_ref())
    else {
        return Err(unvalidated("vetting"));
    };
    let jurisdiction = api.governing(principal).await?;

    let mut unit = api
        .writer
        .begin("RecordVetting", principal, &req.request_id, &req)
        .await?;
    let vendor = governed(unit.txn(), &jurisdiction, &id).await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    if vendor.status == VendorStatus::Blacklisted {
        return Err(VendorError::Status {
            vendor: vendor.name(),
            error: crate::domain::StatusError::Blacklisted,
        });
    }
    for (index, assessor) in assessors.iter().enumerate() {
        if let Some((field, problem)) =
            vetting::conflict(assessor, &vendor.display_name, &vendor.credit_code)
        {
            return Err(VendorError::AssessorConflict {
                field: format!("vetting.assessors[{index}].{field}"),
                problem,
            });
        }
    }
    let verdict = api.vetting.judge(&scores, unit.now());
    let recorded = store::vettings::insert(
        unit.txn(),
        &vendor.id,
        &Vetting {
            id: String::new(),
            assessors,
            scores,
            summary: source.summary.clone(),
            total: verdict.total,
            pass_threshold: api.vetting.pass_threshold,
            dimension_floor: api.vetting.dimension_floor,
            passed: verdict.passed,
            valid_until: verdict.valid_until,
            recorded: stamp(&unit),
        },
    )
    .await?;
    let response = convert::vetting(&vendor.id, &recorded);
    let flag = if recorded.passed {
        Flag::Passed { source: "vetting" }
    } else {
        Flag::Failed {
            source: "vetting",
            why: format!("the latest vetting failed ({})", response.name),
        }
    };
    let mut vendor = vendor;
    let before = vendor.version;
    if vendor.flag(flag) {
        vendor.version += 1;
        vendor.updated = stamp(&unit);
        if !store::vendors::update(unit.txn(), &vendor, before).await? {
            return Err(VendorError::stale(&vendor.name(), before));
        }
    }
    let name = vendor.name();
    unit.publish(&name, &events::vendor_vetted(&name, &response))
        .await?;
    unit.audit(
        &name,
        &vendor.organization_path,
        json!({
            "vetting": response.name,
            "total_score": recorded.total,
            "passed": recorded.passed,
            "assessors": recorded.assessors.iter().map(|a| &a.display_name).collect::<Vec<_>>(),
        }),
    );
    Ok(unit.commit(response).await?)
}

pub(super) async fn list(
    api: &VendorApi,
    principal: &Principal,
    req: pb::ListVettingsRequest,
) -> Result<pb::ListVettingsResponse, VendorError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "vendor", &req.vendor, "vendors", true);
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[&principal.organization, &req.vendor]),
    );
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("vendor"))?;
    let before = page.after_number()?;
    let caller = api.caller(principal).await?;
    let vendor = visible(api.conn(), &caller, &id).await?;
    let mut rows =
        store::vettings::list(api.conn(), &vendor.id, before, page.fetch_limit()).await?;
    let next_page_token = page.finish(&mut rows, |vetting| {
        store::vettings::seq_of(&vetting.id)
            .unwrap_or_default()
            .to_string()
    });
    Ok(pb::ListVettingsResponse {
        vettings: rows
            .iter()
            .map(|vetting| convert::vetting(&vendor.id, vetting))
            .collect(),
        next_page_token,
    })
}
