//! Account handlers: the ledger entries and their lifecycle.

use chrono::Duration;
use govmedia_accounts::fields;
use govmedia_kit::{
    auth::Principal,
    clock,
    error::{ApiError, Violations},
    paging::{Page, fingerprint},
    unit::Unit,
    validate,
};
use govmedia_proto::registry::v1 as pb;
use serde_json::json;

use super::{
    RegistryApi, check_etag, convert,
    organizations::{stamp, unvalidated},
    read_scope, scope_field, visible_account, visible_organization,
};
use crate::{
    domain::{
        Account, AccountKind, AccountStatus, Contact, Operator, Platform, RuleViolation,
        account::{assess_opening, check_further_account},
    },
    error::RegistryError,
    events, store,
};

/// Fields a change filing may change, and what an opening sets (one list, with the filing
/// service's checks).
const MUTABLE_FIELDS: &[&str] = fields::CHANGEABLE;

fn check_field(v: &mut Violations, account: &pb::Account, field: &str) {
    fields::check(v, "account", account, field);
}

fn apply_field(account: &mut Account, source: &pb::Account, field: &str) {
    match field {
        "display_name" => account.display_name = source.display_name.clone(),
        "kind" => {
            if let Some(kind) = AccountKind::from_i32(source.kind) {
                account.kind = kind;
            }
        }
        "operator" => {
            if let Some(operator) = &source.operator {
                account.operator = match operator.vendor.strip_prefix("vendors/") {
                    Some(vendor) => Operator::Vendor(vendor.to_owned()),
                    None => Operator::OwnUnit,
                };
            }
        }
        "responsible_person" => {
            if let Some(contact) = &source.responsible_person {
                account.responsible_person = Contact {
                    name: contact.name.clone(),
                    title: contact.title.clone(),
                    phone: contact.phone.clone(),
                };
            }
        }
        "verified_subject" => account.verified_subject = source.verified_subject.clone(),
        "homepage_url" => account.homepage_url = source.homepage_url.clone(),
        "justification" => account.justification = source.justification.clone(),
        "platform_account_id" => {
            account.platform_account_id = Some(source.platform_account_id.clone());
        }
        _ => {}
    }
}

/// Validates a `filings/{id}` reference; an empty one breaks R-10 (FAILED_PRECONDITION), which
/// is reported only once the request is otherwise well-formed.
fn filing_field(v: &mut Violations, value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    validate::resource_id(v, "filing", value, "filings", true)
}

/// The one service whose own identity may change an account's lifecycle: the filing service,
/// applying an accepted filing.
pub const LIFECYCLE_SERVICE: &str = "filing";

/// PERMISSION_DENIED unless the caller is the filing service acting on its own account. Checked
/// before anything else: no other identity, whatever its role, learns more of a lifecycle call.
fn require_filing_service(
    principal: &Principal,
    method: &'static str,
) -> Result<(), RegistryError> {
    if principal.is_service(LIFECYCLE_SERVICE) {
        Ok(())
    } else {
        Err(RegistryError::ServiceOnly {
            method,
            service: LIFECYCLE_SERVICE,
        })
    }
}

/// The filing a lifecycle call cites, which must be the one the filing service vouched for in
/// its identity (the accepted filing it is applying): FAILED_PRECONDITION otherwise.
fn require_filing(principal: &Principal, filing: Option<String>) -> Result<String, RegistryError> {
    let filing = filing.ok_or(RegistryError::Rule(RuleViolation::FilingRequired))?;
    let cited = format!("filings/{filing}");
    if principal.basis.as_deref() == Some(cited.as_str()) {
        Ok(filing)
    } else {
        Err(RegistryError::FilingNotAccepted { filing: cited })
    }
}

/// Where a change of an account starts, inside its unit.
pub(super) enum Loaded<M> {
    /// The account to change.
    Account(Account),
    /// The request already ran: its first response.
    Replayed(M),
}

/// Loads an account for a change inside `unit`: checked against the caller's jurisdiction
/// first, then, for a request that already ran, answered with its first response (so a key
/// never answers a caller who could not make the change now), then checked against the etag.
pub(super) async fn load_for_change<M: prost::Message + Default>(
    unit: &Unit,
    principal: &Principal,
    id: &str,
    etag: &str,
) -> Result<Loaded<M>, RegistryError> {
    let account = visible_account(unit.txn(), principal, id).await?;
    if let Some(done) = unit.replay().await? {
        return Ok(Loaded::Replayed(done));
    }
    check_etag(etag, account.version, &account.name())?;
    Ok(Loaded::Account(account))
}

/// Stores a changed account (bumping its version), or ABORTED when someone changed it meanwhile.
pub(super) async fn store_change(unit: &Unit, account: &mut Account) -> Result<(), RegistryError> {
    let expected = account.version;
    account.version += 1;
    account.updated = stamp(unit);
    match store::accounts::update(unit.txn(), account, expected).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(RegistryError::stale(&account.name(), expected)),
        // Only the platform id is unique: another account bound it concurrently.
        Err(error) if govmedia_kit::db::is_unique_violation(&error) => {
            Err(RegistryError::PlatformAccountTaken {
                platform_account_id: account.platform_account_id.clone().unwrap_or_default(),
                existing: "another account".to_owned(),
            })
        }
        Err(error) => Err(error.into()),
    }
}

pub(super) async fn get(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::GetAccountRequest,
) -> Result<pb::Account, RegistryError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "accounts", true);
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;
    let account = visible_account(api.conn(), principal, &id).await?;
    Ok(convert::account(&account))
}

pub(super) async fn list(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::ListAccountsRequest,
) -> Result<pb::ListAccountsResponse, RegistryError> {
    let mut v = Violations::new();
    let organization = scope_field(&mut v, "organization", &req.organization);
    let platform =
        validate::enum_value(&mut v, "platform", req.platform, false, Platform::from_i32);
    let kind = validate::enum_value(&mut v, "kind", req.kind, false, AccountKind::from_i32);
    let status = validate::enum_value(&mut v, "status", req.status, false, AccountStatus::from_i32);
    let vendor = validate::resource_id(
        &mut v,
        "operator_vendor",
        &req.operator_vendor,
        "vendors",
        false,
    );
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[
            &principal.organization,
            &req.organization,
            &req.platform.to_string(),
            &req.kind.to_string(),
            &req.status.to_string(),
            &req.operator_vendor,
            &req.filed_after_opening_only.to_string(),
        ]),
    );
    v.finish()?;
    let scope = read_scope(api.conn(), principal, organization).await?;
    let filter = store::accounts::Filter {
        path: scope.path,
        platform,
        kind,
        status,
        vendor,
        text: None,
        filed_after_opening_only: req.filed_after_opening_only,
    };
    let (accounts, next_page_token, total_size) = account_page(api, &filter, &page).await?;
    Ok(pb::ListAccountsResponse {
        accounts,
        next_page_token,
        total_size,
    })
}

/// One page of the accounts matching `filter`, the next page token and the total count.
async fn account_page(
    api: &RegistryApi,
    filter: &store::accounts::Filter,
    page: &Page,
) -> Result<(Vec<pb::Account>, String, i64), RegistryError> {
    let mut rows = store::accounts::list(
        api.conn(),
        filter,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let next_page_token = page.finish(&mut rows, |account| account.id.clone());
    let total = store::accounts::count(api.conn(), filter).await? as i64;
    Ok((
        rows.iter().map(convert::account).collect(),
        next_page_token,
        total,
    ))
}

pub(super) async fn search(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::SearchAccountsRequest,
) -> Result<pb::SearchAccountsResponse, RegistryError> {
    let mut v = Violations::new();
    validate::text(&mut v, "query", &req.query, 50, true);
    let organization = scope_field(&mut v, "organization", &req.organization);
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[&principal.organization, &req.organization, &req.query]),
    );
    v.finish()?;
    let scope = read_scope(api.conn(), principal, organization).await?;
    let filter = store::accounts::Filter {
        path: scope.path,
        text: Some(req.query.clone()),
        ..store::accounts::Filter::default()
    };
    let (accounts, next_page_token, total_size) = account_page(api, &filter, &page).await?;
    Ok(pb::SearchAccountsResponse {
        accounts,
        next_page_token,
        total_size,
    })
}

pub(super) async fn create(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::CreateAccountRequest,
) -> Result<pb::Account, RegistryError> {
    require_filing_service(principal, "CreateAccount")?;
    let mut v = Violations::new();
    let account_id = if req.account_id.is_empty() {
        Some(format!("acc-{}", uuid::Uuid::now_v7().simple()))
    } else {
        validate::id(&mut v, "account_id", &req.account_id).map(str::to_owned)
    };
    validate::request_id(&mut v, "request_id", &req.request_id);
    let filing = filing_field(&mut v, &req.filing);
    let (organization, platform) = match &req.account {
        Some(account) => {
            for field in fields::OPENING {
                check_field(&mut v, account, field);
            }
            validate::platform_account_id(
                &mut v,
                "account.platform_account_id",
                &account.platform_account_id,
                false,
            );
            (
                validate::resource_id(
                    &mut v,
                    "account.organization",
                    &account.organization,
                    "organizations",
                    true,
                ),
                validate::enum_value(
                    &mut v,
                    "account.platform",
                    account.platform,
                    true,
                    Platform::from_i32,
                ),
            )
        }
        None => {
            v.add("account", "is required");
            (None, None)
        }
    };
    v.finish()?;
    let (Some(id), Some(organization), Some(platform), Some(source)) =
        (account_id, organization, platform, req.account.as_ref())
    else {
        return Err(unvalidated("account"));
    };
    let filing = require_filing(principal, filing)?;
    let name = convert::account_name(&id);

    let mut unit = api
        .writer
        .begin("CreateAccount", principal, &req.request_id, &req)
        .await?;
    let org = visible_organization(unit.txn(), principal, &organization).await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    // R-03 reads the unit's accounts, then adds one: hold the unit so no twin interleaves.
    store::organizations::lock(unit.txn(), &organization).await?;
    if store::accounts::get(unit.txn(), &id).await?.is_some() {
        // A twin of this request may have committed while this one waited: answer as it did.
        return match unit.into_replay().await? {
            Some(first) => Ok(first),
            None => Err(RegistryError::AlreadyExists(name)),
        };
    }
    let existing = store::accounts::on_platform(unit.txn(), &organization, platform).await?;
    let now = unit.now();
    check_further_account(
        platform,
        &existing,
        &source.justification,
        now,
        *api.health_windows.for_path(&org.path),
    )?;
    // An account already on the platform (补报) is bound at once: its id is taken from now on.
    let named =
        (!source.platform_account_id.is_empty()).then(|| source.platform_account_id.clone());
    if let Some(platform_id) = &named
        && let Some(holder) =
            store::accounts::by_platform_id(unit.txn(), platform, platform_id).await?
    {
        return Err(RegistryError::PlatformAccountTaken {
            platform_account_id: platform_id.clone(),
            existing: holder.name(),
        });
    }
    let created = stamp(&unit);
    let mut account = Account {
        id,
        organization,
        organization_path: org.path,
        platform,
        platform_account_id: named.clone(),
        display_name: String::new(),
        kind: AccountKind::Publishing,
        operator: Operator::OwnUnit,
        responsible_person: Contact::default(),
        verified_subject: String::new(),
        status: AccountStatus::Filed,
        level: org.level,
        justification: String::new(),
        homepage_url: String::new(),
        open_time: None,
        last_post_time: None,
        follower_count: 0,
        last_filing: filing,
        filed_after_opening: named.is_some(),
        created: created.clone(),
        updated: created,
        version: 1,
    };
    for field in fields::OPENING {
        apply_field(&mut account, source, field);
    }
    if let Err(error) = store::accounts::insert(unit.txn(), &account).await {
        if !govmedia_kit::db::is_unique_violation(&error) {
            return Err(error.into());
        }
        // A concurrent writer took this id, or the platform id, first: if it was this very
        // request, answer as it did.
        if let Some(first) = unit.into_replay().await? {
            return Ok(first);
        }
        if let Some(platform_id) = &named
            && let Some(holder) =
                store::accounts::by_platform_id(api.conn(), platform, platform_id).await?
            && holder.id != account.id
        {
            return Err(RegistryError::PlatformAccountTaken {
                platform_account_id: platform_id.clone(),
                existing: holder.name(),
            });
        }
        return Err(RegistryError::AlreadyExists(name));
    }
    let response = convert::account(&account);
    unit.publish(&name, &events::account_registered(&response))
        .await?;
    unit.audit(
        &name,
        &account.organization_path,
        json!({
            "organization": response.organization,
            "platform": response.platform,
            "display_name": response.display_name,
            "filing": response.last_filing,
            "filed_after_opening": response.filed_after_opening,
        }),
    );
    Ok(unit.commit(response).await?)
}

pub(super) async fn update(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::UpdateAccountRequest,
) -> Result<pb::Account, RegistryError> {
    require_filing_service(principal, "UpdateAccount")?;
    let mut v = Violations::new();
    validate::request_id(&mut v, "request_id", &req.request_id);
    let filing = filing_field(&mut v, &req.filing);
    let paths = validate::field_mask(
        &mut v,
        "update_mask",
        req.update_mask.as_ref(),
        MUTABLE_FIELDS,
    );
    let id = match &req.account {
        Some(account) => {
            for path in &paths {
                check_field(&mut v, account, path);
            }
            validate::resource_id(&mut v, "account.name", &account.name, "accounts", true)
        }
        None => {
            v.add("account", "is required");
            None
        }
    };
    v.finish()?;
    let (Some(id), Some(source)) = (id, req.account.as_ref()) else {
        return Err(unvalidated("account"));
    };
    let filing = require_filing(principal, filing)?;

    let mut unit = api
        .writer
        .begin("UpdateAccount", principal, &req.request_id, &req)
        .await?;
    let mut account = match load_for_change(&unit, principal, &id, &source.etag).await? {
        Loaded::Account(account) => account,
        Loaded::Replayed(done) => return Ok(done),
    };
    if account.status == AccountStatus::Cancelled {
        return Err(RuleViolation::AccountCancelled(account.name()).into());
    }
    if paths.iter().any(|path| path == "platform_account_id") {
        // A correction of a bound id: a FILED account is bound (ActivateAccount) instead, and
        // the new id must not be another account's.
        if account.platform_account_id.is_none() {
            return Err(govmedia_accounts::status::unbound(&account.name()).into());
        }
        if let Some(holder) = store::accounts::by_platform_id(
            unit.txn(),
            account.platform,
            &source.platform_account_id,
        )
        .await?
            && holder.id != account.id
        {
            return Err(RegistryError::PlatformAccountTaken {
                platform_account_id: source.platform_account_id.clone(),
                existing: holder.name(),
            });
        }
    }
    for path in &paths {
        apply_field(&mut account, source, path);
    }
    account.last_filing = filing;
    store_change(&unit, &mut account).await?;
    let name = account.name();
    let response = convert::account(&account);
    unit.publish(&name, &events::account_updated(&response, &paths))
        .await?;
    unit.audit(
        &name,
        &account.organization_path,
        json!({ "changed_fields": paths, "filing": response.last_filing }),
    );
    Ok(unit.commit(response).await?)
}

/// The request of a status change, reduced to what the three transitions share.
struct Transition<'a> {
    method: &'static str,
    name: &'a str,
    filing: &'a str,
    etag: &'a str,
    request_id: &'a str,
    reason: Option<&'a str>,
    platform_account_id: &'a str,
    to: AccountStatus,
}

async fn transition(
    api: &RegistryApi,
    principal: &Principal,
    change: Transition<'_>,
    request: &impl prost::Message,
) -> Result<pb::Account, RegistryError> {
    require_filing_service(principal, change.method)?;
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", change.name, "accounts", true);
    let filing = filing_field(&mut v, change.filing);
    validate::request_id(&mut v, "request_id", change.request_id);
    if let Some(reason) = change.reason {
        validate::multiline_text(&mut v, "reason", reason, 500, true);
    }
    validate::platform_account_id(
        &mut v,
        "platform_account_id",
        change.platform_account_id,
        false,
    );
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;
    let filing = require_filing(principal, filing)?;

    let mut unit = api
        .writer
        .begin(change.method, principal, change.request_id, request)
        .await?;
    let mut account = match load_for_change(&unit, principal, &id, change.etag).await? {
        Loaded::Account(account) => account,
        Loaded::Replayed(done) => return Ok(done),
    };
    let previous = account.transition(change.to)?;
    if change.to == AccountStatus::Active {
        let bound = account.platform_account_id.clone();
        match (previous, bound, change.platform_account_id) {
            (_, Some(bound), platform_id) if !platform_id.is_empty() && platform_id != bound => {
                return Err(ApiError::invalid(vec![govmedia_kit::error::FieldViolation {
                    field: "platform_account_id".into(),
                    description: format!("must be empty or the bound id {bound:?}"),
                }])
                .into());
            }
            // Bound when it was registered (补报) or before it was suspended: it stays.
            (_, Some(_), _) => {}
            (AccountStatus::Filed, None, "") => {
                return Err(ApiError::invalid(vec![govmedia_kit::error::FieldViolation {
                    field: "platform_account_id".into(),
                    description:
                        "is required to activate a FILED account (binding its platform id)".into(),
                }])
                .into());
            }
            (AccountStatus::Filed, None, platform_id) => {
                if let Some(holder) =
                    store::accounts::by_platform_id(unit.txn(), account.platform, platform_id)
                        .await?
                {
                    return Err(RegistryError::PlatformAccountTaken {
                        platform_account_id: platform_id.to_owned(),
                        existing: holder.name(),
                    });
                }
                account.platform_account_id = Some(platform_id.to_owned());
            }
            (_, None, _) => {}
        }
        if account.open_time.is_none() {
            account.open_time = Some(unit.now());
        }
    }
    account.last_filing = filing;
    store_change(&unit, &mut account).await?;
    let name = account.name();
    let response = convert::account(&account);
    unit.publish(
        &name,
        &events::account_status_changed(
            &response,
            previous as i32,
            change.reason.unwrap_or_default(),
        ),
    )
    .await?;
    unit.audit(
        &name,
        &account.organization_path,
        json!({
            "from": previous.to_string(),
            "to": account.status.to_string(),
            "filing": response.last_filing,
            "reason": change.reason,
            "platform_account_id": response.platform_account_id,
        }),
    );
    Ok(unit.commit(response).await?)
}

pub(super) async fn activate(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::ActivateAccountRequest,
) -> Result<pb::Account, RegistryError> {
    let change = Transition {
        method: "ActivateAccount",
        name: &req.name,
        filing: &req.filing,
        etag: &req.etag,
        request_id: &req.request_id,
        reason: None,
        platform_account_id: &req.platform_account_id,
        to: AccountStatus::Active,
    };
    transition(api, principal, change, &req).await
}

pub(super) async fn suspend(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::SuspendAccountRequest,
) -> Result<pb::Account, RegistryError> {
    let change = Transition {
        method: "SuspendAccount",
        name: &req.name,
        filing: &req.filing,
        etag: &req.etag,
        request_id: &req.request_id,
        reason: Some(&req.reason),
        platform_account_id: "",
        to: AccountStatus::Suspended,
    };
    transition(api, principal, change, &req).await
}

pub(super) async fn cancel(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::CancelAccountRequest,
) -> Result<pb::Account, RegistryError> {
    let change = Transition {
        method: "CancelAccount",
        name: &req.name,
        filing: &req.filing,
        etag: &req.etag,
        request_id: &req.request_id,
        reason: Some(&req.reason),
        platform_account_id: "",
        to: AccountStatus::Cancelled,
    };
    transition(api, principal, change, &req).await
}

/// Clock skew tolerated on times reported by collectors.
pub(super) const MAX_SKEW: Duration = Duration::minutes(5);

pub(super) async fn report_activity(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::ReportAccountActivityRequest,
) -> Result<pb::Account, RegistryError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "accounts", true);
    validate::request_id(&mut v, "request_id", &req.request_id);
    let last_post = req
        .last_post_time
        .as_ref()
        .and_then(|time| validate::past_time(&mut v, "last_post_time", time, MAX_SKEW, api.now()));
    if req.follower_count.is_some_and(|count| count < 0) {
        v.add("follower_count", "must not be negative");
    }
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;

    let mut unit = api
        .writer
        .begin("ReportAccountActivity", principal, &req.request_id, &req)
        .await?;
    let mut account = match load_for_change(&unit, principal, &id, "").await? {
        Loaded::Account(account) => account,
        Loaded::Replayed(done) => return Ok(done),
    };
    if account.status == AccountStatus::Cancelled {
        return Err(RuleViolation::AccountCancelled(account.name()).into());
    }
    // Observations arrive out of order; the latest post time never moves backwards.
    if let Some(last_post) = last_post {
        account.last_post_time = Some(
            account
                .last_post_time
                .map_or(last_post, |known| known.max(last_post)),
        );
    }
    if let Some(count) = req.follower_count {
        account.follower_count = count;
    }
    store_change(&unit, &mut account).await?;
    let name = account.name();
    let response = convert::account(&account);
    unit.publish(&name, &events::account_activity_reported(&response))
        .await?;
    unit.audit(
        &name,
        &account.organization_path,
        json!({ "last_post_time": account.last_post_time.map(|t| t.to_rfc3339()), "follower_count": account.follower_count }),
    );
    Ok(unit.commit(response).await?)
}

pub(super) async fn evaluate_opening(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::EvaluateAccountOpeningRequest,
) -> Result<pb::EvaluateAccountOpeningResponse, RegistryError> {
    let mut v = Violations::new();
    let organization = validate::resource_id(
        &mut v,
        "organization",
        &req.organization,
        "organizations",
        true,
    );
    let platform = validate::enum_value(&mut v, "platform", req.platform, true, Platform::from_i32);
    validate::multiline_text(&mut v, "justification", &req.justification, 500, false);
    v.finish()?;
    let (Some(organization), Some(platform)) = (organization, platform) else {
        return Err(unvalidated("organization"));
    };
    let org = visible_organization(api.conn(), principal, &organization).await?;
    let existing = store::accounts::on_platform(api.conn(), &organization, platform).await?;
    let now = api.now();
    let assessment = assess_opening(
        &existing,
        &req.justification,
        now,
        *api.health_windows.for_path(&org.path),
    );
    Ok(pb::EvaluateAccountOpeningResponse {
        allowed: assessment.allowed(),
        further_account: assessment.further_account,
        justification_missing: assessment.justification_missing,
        existing: assessment
            .existing
            .into_iter()
            .map(|(account, status, problem)| pb::AccountHealth {
                account,
                status: status as i32,
                problem: problem.unwrap_or_default(),
            })
            .collect(),
        evaluate_time: Some(clock::to_proto(now)),
    })
}
