//! Vendor handlers: registration, reading, changes, qualifications and the status steps.

use govmedia_kit::{
    auth::Principal,
    error::Violations,
    paging::{Page, fingerprint},
    unit::Unit,
    validate,
};
use govmedia_proto::vendor::v1 as pb;
use serde_json::json;

use super::{
    VendorApi, check_etag, convert, governed, stamp, unvalidated,
    validation::{self, vendor_field},
    visible,
};
use crate::{
    domain::{self, Reach, StatusChange, Vendor, VendorStatus, status},
    error::VendorError,
    events, handover, store,
};

/// Fields UpdateVendor may change.
const MUTABLE_FIELDS: &[&str] = &["display_name", "contacts"];

/// The vendor id of a `vendors/{id}` field.
fn vendor_id(v: &mut Violations, field: &str, value: &str) -> Option<String> {
    validate::resource_id(v, field, value, "vendors", true)
}

pub(super) async fn create(
    api: &VendorApi,
    principal: &Principal,
    req: pb::CreateVendorRequest,
) -> Result<pb::Vendor, VendorError> {
    let mut v = Violations::new();
    let id = validate::id(&mut v, "vendor_id", &req.vendor_id).map(str::to_owned);
    validate::request_id(&mut v, "request_id", &req.request_id);
    match &req.vendor {
        Some(vendor) => {
            for field in ["display_name", "unified_social_credit_code", "contacts"] {
                vendor_field(&mut v, vendor, field);
            }
        }
        None => v.add("vendor", "is required"),
    }
    v.finish()?;
    let (Some(id), Some(source)) = (id, req.vendor.as_ref()) else {
        return Err(unvalidated("vendor"));
    };
    let name = convert::vendor_name(&id);
    let jurisdiction = api.governing(principal).await?;

    let mut unit = api
        .writer
        .begin("CreateVendor", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    if store::vendors::get(unit.txn(), &id).await?.is_some() {
        // A twin of this request may have committed while this one waited: answer as it did.
        return match unit.into_replay().await? {
            Some(first) => Ok(first),
            None => Err(VendorError::AlreadyExists(name)),
        };
    }
    let code = &source.unified_social_credit_code;
    for (organization, path) in store::vendors::barred_in(unit.txn(), code).await? {
        if domain::barred(&path, &jurisdiction.path) {
            return Err(VendorError::Barred {
                code: code.clone(),
                jurisdiction: convert::organization_name(&organization),
            });
        }
    }
    for existing in store::vendors::with_code(unit.txn(), code).await? {
        if domain::reach(&jurisdiction.path, &existing.organization_path) != Reach::None {
            return Err(VendorError::CreditCodeTaken {
                code: code.clone(),
                existing: existing.name(),
            });
        }
    }
    let now = stamp(&unit);
    let vendor = Vendor {
        id,
        display_name: source.display_name.clone(),
        credit_code: code.clone(),
        organization: jurisdiction.id.clone(),
        organization_path: jurisdiction.path.clone(),
        contacts: validation::contacts(source),
        qualifications: Vec::new(),
        status: VendorStatus::Candidate,
        status_reason: String::new(),
        status_time: now.time,
        approval_vetting: None,
        approval_valid_until: None,
        blacklisted_in: None,
        clean_out_flag: String::new(),
        created: now.clone(),
        updated: now,
        version: 1,
    };
    store::vendors::insert(unit.txn(), &vendor)
        .await
        .map_err(|error| {
            // A concurrent registration of the same id or company in this jurisdiction won.
            if govmedia_kit::db::is_unique_violation(&error) {
                VendorError::AlreadyExists(name.clone())
            } else {
                error.into()
            }
        })?;
    let response = convert::vendor(&vendor);
    unit.publish(&name, &events::vendor_created(&response))
        .await?;
    unit.audit(
        &name,
        &vendor.organization_path,
        json!({ "display_name": vendor.display_name, "unified_social_credit_code": vendor.credit_code }),
    );
    Ok(unit.commit(response).await?)
}

pub(super) async fn get(
    api: &VendorApi,
    principal: &Principal,
    req: pb::GetVendorRequest,
) -> Result<pb::Vendor, VendorError> {
    let mut v = Violations::new();
    let id = vendor_id(&mut v, "name", &req.name);
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;
    let caller = api.caller(principal).await?;
    Ok(convert::vendor(&visible(api.conn(), &caller, &id).await?))
}

pub(super) async fn list(
    api: &VendorApi,
    principal: &Principal,
    req: pb::ListVendorsRequest,
) -> Result<pb::ListVendorsResponse, VendorError> {
    let mut v = Violations::new();
    let status = validate::enum_value(&mut v, "status", req.status, false, VendorStatus::from_i32);
    validation::credit_code(
        &mut v,
        "unified_social_credit_code",
        &req.unified_social_credit_code,
        false,
    );
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[
            &principal.organization,
            &req.status.to_string(),
            &req.unified_social_credit_code,
        ]),
    );
    v.finish()?;
    let jurisdiction = api.jurisdiction(principal).await?;
    let filter = store::vendors::Filter {
        line: jurisdiction.path,
        status,
        credit_code: (!req.unified_social_credit_code.is_empty())
            .then(|| req.unified_social_credit_code.clone()),
    };
    let mut rows = store::vendors::list(
        api.conn(),
        &filter,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let next_page_token = page.finish(&mut rows, |vendor| vendor.id.clone());
    Ok(pb::ListVendorsResponse {
        vendors: rows.iter().map(convert::vendor).collect(),
        next_page_token,
    })
}

pub(super) async fn update(
    api: &VendorApi,
    principal: &Principal,
    req: pb::UpdateVendorRequest,
) -> Result<pb::Vendor, VendorError> {
    let mut v = Violations::new();
    validate::request_id(&mut v, "request_id", &req.request_id);
    let paths = validate::field_mask(
        &mut v,
        "update_mask",
        req.update_mask.as_ref(),
        MUTABLE_FIELDS,
    );
    let id = match &req.vendor {
        Some(vendor) => {
            for path in &paths {
                vendor_field(&mut v, vendor, path);
            }
            vendor_id(&mut v, "vendor.name", &vendor.name)
        }
        None => {
            v.add("vendor", "is required");
            None
        }
    };
    v.finish()?;
    let (Some(id), Some(source)) = (id, req.vendor.as_ref()) else {
        return Err(unvalidated("vendor"));
    };
    let jurisdiction = api.governing(principal).await?;

    let mut unit = api
        .writer
        .begin("UpdateVendor", principal, &req.request_id, &req)
        .await?;
    let mut vendor = governed(unit.txn(), &jurisdiction, &id).await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    if vendor.status == VendorStatus::Blacklisted {
        return Err(blacklisted(&vendor));
    }
    check_etag(&source.etag, &vendor)?;
    let before = vendor.version;
    for path in &paths {
        match path.as_str() {
            "display_name" => vendor.display_name = source.display_name.clone(),
            "contacts" => vendor.contacts = validation::contacts(source),
            _ => {}
        }
    }
    vendor.version += 1;
    vendor.updated = stamp(&unit);
    if !store::vendors::update(unit.txn(), &vendor, before).await? {
        return Err(VendorError::stale(&vendor.name(), before));
    }
    let response = convert::vendor(&vendor);
    let name = vendor.name();
    unit.publish(&name, &events::vendor_updated(&response, &paths))
        .await?;
    unit.audit(
        &name,
        &vendor.organization_path,
        json!({ "changed_fields": paths, "etag": response.etag }),
    );
    Ok(unit.commit(response).await?)
}

pub(super) async fn add_qualification(
    api: &VendorApi,
    principal: &Principal,
    req: pb::AddQualificationRequest,
) -> Result<pb::Vendor, VendorError> {
    let mut v = Violations::new();
    let id = vendor_id(&mut v, "vendor", &req.vendor);
    validate::request_id(&mut v, "request_id", &req.request_id);
    // The stamp is filled in inside the unit; validation needs none.
    let placeholder = domain::Stamp {
        time: chrono::DateTime::UNIX_EPOCH,
        actor: String::new(),
        actor_organization: String::new(),
    };
    let qualification = validation::qualification(&mut v, req.qualification.as_ref(), placeholder);
    v.finish()?;
    let (Some(id), Some(mut qualification)) = (id, qualification) else {
        return Err(unvalidated("qualification"));
    };
    let jurisdiction = api.governing(principal).await?;

    let mut unit = api
        .writer
        .begin("AddQualification", principal, &req.request_id, &req)
        .await?;
    let mut vendor = governed(unit.txn(), &jurisdiction, &id).await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    if vendor.status == VendorStatus::Blacklisted {
        return Err(blacklisted(&vendor));
    }
    check_etag(&req.etag, &vendor)?;
    let before = vendor.version;
    qualification.added = stamp(&unit);
    qualification.id = format!("q{}", vendor.qualifications.len() + 1);
    // The vendor's version moves first: of two concurrent additions, one is refused as stale
    // rather than both numbering their qualification alike.
    vendor.version += 1;
    vendor.updated = stamp(&unit);
    if !store::vendors::update(unit.txn(), &vendor, before).await? {
        return Err(VendorError::stale(&vendor.name(), before));
    }
    store::vendors::add_qualification(unit.txn(), &vendor.id, &qualification).await?;
    let audit = json!({
        "qualification": qualification.id,
        "type": qualification.kind.as_str(),
        "number": qualification.number,
        "valid_until": qualification.valid_until,
        "file_sha256": qualification.file_sha256,
    });
    vendor.qualifications.push(qualification);
    let response = convert::vendor(&vendor);
    let name = vendor.name();
    unit.publish(
        &name,
        &events::vendor_updated(&response, &["qualifications".to_owned()]),
    )
    .await?;
    unit.audit(&name, &vendor.organization_path, audit);
    Ok(unit.commit(response).await?)
}

/// FAILED_PRECONDITION (VENDOR_BLACKLISTED) for any change to a blacklisted vendor.
fn blacklisted(vendor: &Vendor) -> VendorError {
    VendorError::Status {
        vendor: vendor.name(),
        error: domain::StatusError::Blacklisted,
    }
}

/// A status step as every status RPC asks for it.
struct Step<'a> {
    method: &'static str,
    change: StatusChange,
    name: &'a str,
    reason: Option<&'a str>,
    etag: &'a str,
    request_id: &'a str,
}

pub(super) async fn approve(
    api: &VendorApi,
    principal: &Principal,
    req: pb::ApproveVendorRequest,
) -> Result<pb::Vendor, VendorError> {
    let step = Step {
        method: "ApproveVendor",
        change: StatusChange::Approve,
        name: &req.name,
        reason: None,
        etag: &req.etag,
        request_id: &req.request_id,
    };
    change_status(api, principal, step, &req).await
}

pub(super) async fn suspend(
    api: &VendorApi,
    principal: &Principal,
    req: pb::SuspendVendorRequest,
) -> Result<pb::Vendor, VendorError> {
    let step = Step {
        method: "SuspendVendor",
        change: StatusChange::Suspend,
        name: &req.name,
        reason: Some(&req.reason),
        etag: &req.etag,
        request_id: &req.request_id,
    };
    change_status(api, principal, step, &req).await
}

pub(super) async fn terminate(
    api: &VendorApi,
    principal: &Principal,
    req: pb::TerminateVendorRequest,
) -> Result<pb::Vendor, VendorError> {
    let step = Step {
        method: "TerminateVendor",
        change: StatusChange::Terminate,
        name: &req.name,
        reason: Some(&req.reason),
        etag: &req.etag,
        request_id: &req.request_id,
    };
    change_status(api, principal, step, &req).await
}

pub(super) async fn blacklist(
    api: &VendorApi,
    principal: &Principal,
    req: pb::BlacklistVendorRequest,
) -> Result<pb::Vendor, VendorError> {
    let step = Step {
        method: "BlacklistVendor",
        change: StatusChange::Blacklist,
        name: &req.name,
        reason: Some(&req.reason),
        etag: &req.etag,
        request_id: &req.request_id,
    };
    change_status(api, principal, step, &req).await
}

async fn change_status(
    api: &VendorApi,
    principal: &Principal,
    step: Step<'_>,
    request: &impl prost::Message,
) -> Result<pb::Vendor, VendorError> {
    let mut v = Violations::new();
    let id = vendor_id(&mut v, "name", step.name);
    validate::request_id(&mut v, "request_id", step.request_id);
    if let Some(reason) = step.reason {
        validation::reason(&mut v, reason);
    }
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;
    let jurisdiction = api.governing(principal).await?;

    let mut unit = api
        .writer
        .begin(step.method, principal, step.request_id, request)
        .await?;
    let mut vendor = governed(unit.txn(), &jurisdiction, &id).await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    check_etag(step.etag, &vendor)?;
    let latest = match step.change {
        StatusChange::Approve => store::vettings::latest(unit.txn(), &vendor.id).await?,
        StatusChange::Suspend | StatusChange::Terminate | StatusChange::Blacklist => None,
    };
    let latest_name = latest
        .as_ref()
        .map(|vetting| convert::vetting_name(&vendor.id, &vetting.id));
    status::check(
        vendor.status,
        step.change,
        latest_name.as_deref().zip(latest.as_ref()),
        unit.now(),
    )
    .map_err(|error| VendorError::Status {
        vendor: vendor.name(),
        error,
    })?;

    let previous = vendor.status;
    let before = vendor.version;
    let now = stamp(&unit);
    vendor.status = step.change.target();
    vendor.status_reason = step.reason.unwrap_or_default().to_owned();
    vendor.status_time = now.time;
    if let (Some(name), Some(vetting)) = (&latest_name, &latest) {
        vendor.approval_vetting = Some(name.clone());
        vendor.approval_valid_until = Some(vetting.valid_until);
    }
    if step.change == StatusChange::Blacklist {
        vendor.blacklisted_in = Some(jurisdiction.id.clone());
        store::vendors::blacklist(
            unit.txn(),
            &vendor,
            (&jurisdiction.id, &jurisdiction.path),
            &vendor.status_reason,
            &now,
        )
        .await?;
    }
    vendor.version += 1;
    vendor.updated = now;
    if !store::vendors::update(unit.txn(), &vendor, before).await? {
        return Err(VendorError::stale(&vendor.name(), before));
    }
    // Clean-out: a vendor no longer approved operates nothing; its delegations end with it.
    let ended = match step.change {
        StatusChange::Approve => Vec::new(),
        StatusChange::Suspend | StatusChange::Terminate | StatusChange::Blacklist => {
            end_delegations(&mut unit, &vendor, step.change).await?
        }
    };
    let response = convert::vendor(&vendor);
    let name = vendor.name();
    unit.publish(
        &name,
        &events::vendor_status_changed(&response, previous as i32, &vendor.status_reason),
    )
    .await?;
    unit.audit(
        &name,
        &vendor.organization_path,
        json!({
            "from": previous.as_str(),
            "to": vendor.status.as_str(),
            "reason": vendor.status_reason,
            "vetting": latest_name,
            "jurisdiction": vendor.blacklisted_in,
            "ended_delegations": ended,
        }),
    );
    let response = unit.commit(response).await?;
    if !ended.is_empty() {
        api.handovers.notify_one();
    }
    Ok(response)
}

/// Ends every delegation of `vendor` still running, as `change` demands: each account it
/// operates is filed back to its unit (the handover worker files the CHANGE filings). Returns
/// the names of the delegations ended.
async fn end_delegations(
    unit: &mut Unit,
    vendor: &Vendor,
    change: StatusChange,
) -> Result<Vec<String>, VendorError> {
    let why = match change {
        StatusChange::Suspend => "代运营机构被暂停准入",
        StatusChange::Terminate => "代运营机构被终止使用",
        StatusChange::Blacklist => "代运营机构被列入黑名单",
        StatusChange::Approve => return Ok(Vec::new()),
    };
    let reason = format!("{why}:{}", vendor.status_reason);
    let mut ended = Vec::new();
    for mut delegation in store::delegations::open_of_vendor(unit.txn(), &vendor.id).await? {
        match handover::end(unit, &mut delegation, &reason).await {
            Ok(_) => ended.push(delegation.name()),
            // Ended already in the meantime: nothing to do for it.
            Err(VendorError::End { .. }) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(ended)
}
