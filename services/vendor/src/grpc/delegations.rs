//! Delegation handlers: creating a delegation (and starting its handovers), reading,
//! listing and ending it.

use std::collections::HashSet;

use govmedia_kit::{
    auth::Principal,
    error::{ApiError, FieldViolation, Violations},
    paging::{Page, fingerprint},
    validate,
};
use govmedia_proto::{registry::v1 as rpb, vendor::v1 as pb};
use serde_json::json;

use super::{Caller, VendorApi, check_etag_version, convert, stamp, unvalidated};
use crate::{
    domain::{
        self, Delegation, DelegationStatus, Handover, HandoverState, Reach, Reviewer, Scope,
        VendorStatus,
        delegation::{self as rules},
    },
    error::VendorError,
    handover, store,
};

/// Most accounts of one delegation.
pub const MAX_ACCOUNTS: usize = 50;

/// Longest period of one delegation, in months (five years): a contract is renewed, not
/// open-ended.
pub const MAX_PERIOD_MONTHS: u32 = 60;

/// A validated CreateDelegation.
struct NewDelegation {
    id: String,
    vendor: String,
    organization: String,
    accounts: Vec<String>,
    scope: Scope,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
    reviewer: Reviewer,
    review_mechanism: String,
}

fn check(req: &pb::CreateDelegationRequest) -> Result<NewDelegation, VendorError> {
    let mut v = Violations::new();
    let id = validate::id(&mut v, "delegation_id", &req.delegation_id).map(str::to_owned);
    validate::request_id(&mut v, "request_id", &req.request_id);
    let Some(source) = &req.delegation else {
        v.add("delegation", "is required");
        v.finish()?;
        return Err(unvalidated("delegation"));
    };
    let vendor =
        validate::resource_id(&mut v, "delegation.vendor", &source.vendor, "vendors", true);
    let organization = validate::resource_id(
        &mut v,
        "delegation.organization",
        &source.organization,
        "organizations",
        true,
    );
    if source.accounts.is_empty() {
        v.add("delegation.accounts", "at least one account is required");
    } else if source.accounts.len() > MAX_ACCOUNTS {
        v.add(
            "delegation.accounts",
            format!("at most {MAX_ACCOUNTS} accounts"),
        );
    }
    let mut accounts = Vec::new();
    let mut seen = HashSet::new();
    for (index, name) in source.accounts.iter().enumerate().take(MAX_ACCOUNTS) {
        let field = format!("delegation.accounts[{index}]");
        if let Some(account) = validate::resource_id(&mut v, &field, name, "accounts", true) {
            if seen.insert(account.clone()) {
                accounts.push(account);
            } else {
                v.add(field, "repeats an account named before");
            }
        }
    }
    let scope = validate::enum_value(
        &mut v,
        "delegation.scope",
        source.scope,
        true,
        Scope::from_i32,
    );
    let period = govmedia_kit::validate::period(
        &mut v,
        "delegation",
        ("start_time", source.start_time.as_ref()),
        ("end_time", source.end_time.as_ref()),
    );
    if let Some((start, end)) = period
        && start
            .checked_add_months(chrono::Months::new(MAX_PERIOD_MONTHS))
            .is_none_or(|latest| end > latest)
    {
        v.add(
            "delegation.end_time",
            "a delegation lasts at most five years from its start",
        );
    }
    let (start, end) = period.unzip();
    match &source.unit_reviewer {
        None => v.add(
            "delegation.unit_reviewer",
            "is required: a named person of the unit reviews the vendor's work (R-41)",
        ),
        Some(reviewer) => {
            validate::text(
                &mut v,
                "delegation.unit_reviewer.display_name",
                &reviewer.display_name,
                50,
                true,
            );
            validate::text(
                &mut v,
                "delegation.unit_reviewer.title",
                &reviewer.title,
                50,
                true,
            );
            validate::phone(
                &mut v,
                "delegation.unit_reviewer.phone",
                &reviewer.phone,
                true,
            );
            if reviewer.departed {
                v.add(
                    "delegation.unit_reviewer.departed",
                    "a new delegation needs a reviewer in post",
                );
            }
        }
    }
    validate::multiline_text(
        &mut v,
        "delegation.review_mechanism",
        &source.review_mechanism,
        4000,
        true,
    );
    v.finish()?;
    let (
        Some(id),
        Some(vendor),
        Some(organization),
        Some(scope),
        Some(start),
        Some(end),
        Some(reviewer),
    ) = (
        id,
        vendor,
        organization,
        scope,
        start,
        end,
        source.unit_reviewer.as_ref(),
    )
    else {
        return Err(unvalidated("delegation"));
    };
    Ok(NewDelegation {
        id,
        vendor,
        organization,
        accounts,
        scope,
        start,
        end,
        reviewer: Reviewer {
            display_name: reviewer.display_name.clone(),
            title: reviewer.title.clone(),
            phone: reviewer.phone.clone(),
            departed: false,
        },
        review_mechanism: source.review_mechanism.clone(),
    })
}

/// INVALID_ARGUMENT for an account of the request that cannot be delegated.
fn bad_account(index: usize, description: String) -> VendorError {
    VendorError::Api(ApiError::invalid(vec![FieldViolation {
        field: format!("delegation.accounts[{index}]"),
        description,
    }]))
}

pub(super) async fn create(
    api: &VendorApi,
    principal: &Principal,
    req: pb::CreateDelegationRequest,
) -> Result<pb::Delegation, VendorError> {
    let new = check(&req)?;
    // A vendor's credential delegates nothing, whatever other roles it claims.
    api.jurisdiction(principal).await?;
    // A retry answers from its key before anything is asked of the registry again.
    if let Some(done) = api
        .writer
        .replayed("CreateDelegation", principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    // The unit and its accounts as the caller sees them: the registry's verdict on the caller's
    // jurisdiction (NOT_FOUND, PERMISSION_DENIED) is relayed unchanged.
    let asker = api.registry.as_caller(principal);
    let unit_ref = asker.unit(&new.organization).await?;
    let own = convert::organization_name(&new.organization);
    for (index, account) in new.accounts.iter().enumerate() {
        let ledger = asker.account(account).await?;
        if ledger.organization != own {
            return Err(bad_account(
                index,
                format!(
                    "belongs to {}, not to the delegating unit {own}",
                    ledger.organization
                ),
            ));
        }
        if ledger.status == rpb::AccountStatus::Cancelled as i32 {
            return Err(bad_account(index, "is cancelled".to_owned()));
        }
    }

    let mut unit = api
        .writer
        .begin("CreateDelegation", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let name = format!("delegations/{}", new.id);
    if store::delegations::get(unit.txn(), &new.id)
        .await?
        .is_some()
    {
        return match unit.into_replay().await? {
            Some(first) => Ok(first),
            None => Err(VendorError::AlreadyExists(name)),
        };
    }
    if new.end <= unit.now() {
        return Err(VendorError::Api(ApiError::invalid(vec![FieldViolation {
            field: "delegation.end_time".to_owned(),
            description: "is already past: a delegation is for a period still to come".to_owned(),
        }])));
    }
    let vendor_name = convert::vendor_name(&new.vendor);
    let vendor = store::vendors::get(unit.txn(), &new.vendor)
        .await?
        .ok_or_else(|| VendorError::NotFound(vendor_name.clone()))?;
    if domain::reach(&unit_ref.path, &vendor.organization_path) == Reach::None {
        return Err(VendorError::OutsideJurisdiction(vendor_name));
    }
    for (organization, path) in store::vendors::barred_in(unit.txn(), &vendor.credit_code).await? {
        if domain::barred(&path, &unit_ref.path) {
            return Err(VendorError::Barred {
                code: vendor.credit_code.clone(),
                jurisdiction: convert::organization_name(&organization),
            });
        }
    }
    if vendor.status != VendorStatus::Approved {
        return Err(VendorError::VendorNotApproved {
            vendor: vendor_name,
            why: format!(" (it is {})", vendor.status),
        });
    }
    if vendor
        .approval_valid_until
        .is_none_or(|until| until <= unit.now())
    {
        return Err(VendorError::VendorNotApproved {
            vendor: vendor_name,
            why: " (the vetting its approval rests on has expired)".to_owned(),
        });
    }
    for other in store::delegations::holding(unit.txn(), &new.accounts).await? {
        if !other.scope.overlaps(new.scope) || !other.period_overlaps(new.start, new.end) {
            continue;
        }
        if let Some(held) = other
            .handovers
            .iter()
            .find(|h| h.state.holds() && new.accounts.contains(&h.account))
        {
            return Err(VendorError::DelegationOverlap {
                account: convert::account_name(&held.account),
                other: other.name(),
            });
        }
    }

    let now = stamp(&unit);
    let mut delegation = Delegation {
        handovers: new
            .accounts
            .iter()
            .map(|account| Handover {
                account: account.clone(),
                state: HandoverState::Starting,
                start_filing: rules::filing_id(&new.id, account, "start"),
                end_filing: None,
                detail: String::new(),
            })
            .collect(),
        id: new.id,
        vendor: new.vendor,
        organization: new.organization,
        organization_path: unit_ref.path,
        scope: new.scope,
        start_time: new.start,
        end_time: new.end,
        reviewer: new.reviewer,
        review_mechanism: new.review_mechanism,
        status: DelegationStatus::Pending,
        end_reason: String::new(),
        ended: None,
        created: now.clone(),
        updated: now,
        version: 1,
    };
    delegation.settle();
    store::delegations::insert(unit.txn(), &delegation)
        .await
        .map_err(|error| {
            if govmedia_kit::db::is_unique_violation(&error) {
                VendorError::AlreadyExists(name.clone())
            } else {
                error.into()
            }
        })?;
    for handover in &delegation.handovers {
        handover::enqueue(
            &unit,
            &delegation.id,
            &handover.account,
            &handover.start_filing,
        )
        .await?;
    }
    handover::publish(&mut unit, &delegation, "CREATED").await?;
    unit.audit(
        &name,
        &delegation.organization_path,
        json!({
            "vendor": convert::vendor_name(&delegation.vendor),
            "accounts": delegation.handovers.iter().map(|h| convert::account_name(&h.account)).collect::<Vec<_>>(),
            "scope": delegation.scope.as_str(),
            "start_time": delegation.start_time,
            "end_time": delegation.end_time,
            "reviewer": delegation.reviewer.display_name,
        }),
    );
    let response = unit.commit(convert::delegation(&delegation)).await?;
    api.handovers.notify_one();
    Ok(response)
}

/// The delegation `id` if `caller` may see it: its unit lies in the caller's jurisdiction, or,
/// for a vendor, it is the vendor's own.
async fn visible(
    conn: &impl sea_orm::ConnectionTrait,
    caller: &Caller,
    id: &str,
) -> Result<Delegation, VendorError> {
    let name = format!("delegations/{id}");
    let delegation = store::delegations::get(conn, id)
        .await?
        .ok_or_else(|| VendorError::NotFound(name.clone()))?;
    let sees = match caller {
        Caller::Official(jurisdiction) => {
            delegation.organization_path.starts_with(&jurisdiction.path)
        }
        Caller::Vendor(own) => *own == delegation.vendor,
    };
    if sees {
        Ok(delegation)
    } else {
        Err(VendorError::OutsideJurisdiction(name))
    }
}

pub(super) async fn get(
    api: &VendorApi,
    principal: &Principal,
    req: pb::GetDelegationRequest,
) -> Result<pb::Delegation, VendorError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "delegations", true);
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;
    let caller = api.caller(principal).await?;
    Ok(convert::delegation(
        &visible(api.conn(), &caller, &id).await?,
    ))
}

pub(super) async fn list(
    api: &VendorApi,
    principal: &Principal,
    req: pb::ListDelegationsRequest,
) -> Result<pb::ListDelegationsResponse, VendorError> {
    let mut v = Violations::new();
    let vendor = validate::resource_id(&mut v, "vendor", &req.vendor, "vendors", false);
    let organization = validate::resource_id(
        &mut v,
        "organization",
        &req.organization,
        "organizations",
        false,
    );
    let status = validate::enum_value(
        &mut v,
        "status",
        req.status,
        false,
        DelegationStatus::from_i32,
    );
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[
            &principal.organization,
            &req.vendor,
            &req.organization,
            &req.status.to_string(),
        ]),
    );
    v.finish()?;
    let before = page.after_number()?;
    let filter = match api.caller(principal).await? {
        Caller::Vendor(own) => {
            if vendor.as_ref().is_some_and(|asked| *asked != own) {
                return Err(VendorError::OutsideJurisdiction(convert::vendor_name(
                    vendor.as_deref().unwrap_or_default(),
                )));
            }
            store::delegations::Filter {
                path: None,
                vendor: Some(own),
                status,
            }
        }
        Caller::Official(jurisdiction) => {
            let path = match &organization {
                Some(id) => api.registry.as_caller(principal).unit(id).await?.path,
                None => jurisdiction.path,
            };
            store::delegations::Filter {
                path: Some(path),
                vendor,
                status,
            }
        }
    };
    let mut rows =
        store::delegations::list(api.conn(), &filter, before, page.fetch_limit()).await?;
    let next_page_token = page.finish(&mut rows, |(seq, _)| seq.to_string());
    Ok(pb::ListDelegationsResponse {
        delegations: rows
            .iter()
            .map(|(_, delegation)| convert::delegation(delegation))
            .collect(),
        next_page_token,
    })
}

pub(super) async fn end(
    api: &VendorApi,
    principal: &Principal,
    req: pb::EndDelegationRequest,
) -> Result<pb::Delegation, VendorError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "delegations", true);
    validate::request_id(&mut v, "request_id", &req.request_id);
    super::validation::reason(&mut v, &req.reason);
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;
    let jurisdiction = api.jurisdiction(principal).await?;

    let mut unit = api
        .writer
        .begin("EndDelegation", principal, &req.request_id, &req)
        .await?;
    let mut delegation = visible(unit.txn(), &Caller::Official(jurisdiction), &id).await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    check_etag_version(&req.etag, delegation.version, &delegation.name())?;
    handover::end(&mut unit, &mut delegation, &req.reason).await?;
    let response = unit.commit(convert::delegation(&delegation)).await?;
    api.handovers.notify_one();
    Ok(response)
}

/// Fields UpdateDelegation may change.
const MUTABLE_FIELDS: &[&str] = &["unit_reviewer", "review_mechanism"];

pub(super) async fn update(
    api: &VendorApi,
    principal: &Principal,
    req: pb::UpdateDelegationRequest,
) -> Result<pb::Delegation, VendorError> {
    let mut v = Violations::new();
    validate::request_id(&mut v, "request_id", &req.request_id);
    let paths = validate::field_mask(
        &mut v,
        "update_mask",
        req.update_mask.as_ref(),
        MUTABLE_FIELDS,
    );
    let id = match &req.delegation {
        Some(source) => {
            for path in &paths {
                match path.as_str() {
                    "unit_reviewer" => match &source.unit_reviewer {
                        None => v.add("delegation.unit_reviewer", "is required"),
                        Some(reviewer) => {
                            validate::text(
                                &mut v,
                                "delegation.unit_reviewer.display_name",
                                &reviewer.display_name,
                                50,
                                true,
                            );
                            validate::text(
                                &mut v,
                                "delegation.unit_reviewer.title",
                                &reviewer.title,
                                50,
                                true,
                            );
                            validate::phone(
                                &mut v,
                                "delegation.unit_reviewer.phone",
                                &reviewer.phone,
                                true,
                            );
                        }
                    },
                    "review_mechanism" => validate::multiline_text(
                        &mut v,
                        "delegation.review_mechanism",
                        &source.review_mechanism,
                        4000,
                        true,
                    ),
                    _ => {}
                }
            }
            validate::resource_id(&mut v, "delegation.name", &source.name, "delegations", true)
        }
        None => {
            v.add("delegation", "is required");
            None
        }
    };
    v.finish()?;
    let (Some(id), Some(source)) = (id, req.delegation.as_ref()) else {
        return Err(unvalidated("delegation"));
    };
    let jurisdiction = api.jurisdiction(principal).await?;

    let mut unit = api
        .writer
        .begin("UpdateDelegation", principal, &req.request_id, &req)
        .await?;
    let mut delegation = visible(unit.txn(), &Caller::Official(jurisdiction), &id).await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    if delegation.ended.is_some() {
        return Err(VendorError::End {
            delegation: delegation.name(),
            error: rules::EndError::AlreadyEnded,
        });
    }
    check_etag_version(&source.etag, delegation.version, &delegation.name())?;
    let before = delegation.version;
    for path in &paths {
        match path.as_str() {
            "unit_reviewer" => {
                if let Some(reviewer) = &source.unit_reviewer {
                    delegation.reviewer = Reviewer {
                        display_name: reviewer.display_name.clone(),
                        title: reviewer.title.clone(),
                        phone: reviewer.phone.clone(),
                        departed: reviewer.departed,
                    };
                }
            }
            "review_mechanism" => delegation.review_mechanism = source.review_mechanism.clone(),
            _ => {}
        }
    }
    delegation.version += 1;
    delegation.updated = stamp(&unit);
    if !store::delegations::update(unit.txn(), &delegation, before).await? {
        return Err(VendorError::stale(&delegation.name(), before));
    }
    handover::publish(&mut unit, &delegation, "UPDATED").await?;
    unit.audit(
        &delegation.name(),
        &delegation.organization_path,
        json!({
            "changed_fields": paths,
            "reviewer": delegation.reviewer.display_name,
            "reviewer_departed": delegation.reviewer.departed,
        }),
    );
    Ok(unit.commit(convert::delegation(&delegation)).await?)
}
