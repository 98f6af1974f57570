//! Credential custody handlers.

use govmedia_kit::{
    auth::Principal,
    error::{ApiError, FieldViolation, Violations},
    paging::{Page, fingerprint},
    unit::Unit,
    validate,
};
use govmedia_proto::registry::v1 as pb;
use serde_json::json;

use super::{
    RegistryApi,
    accounts::{Loaded, MAX_SKEW, load_for_change},
    check_etag, convert,
    organizations::{stamp, unvalidated},
    read_scope, scope_field, visible_account,
};
use crate::{
    domain::{
        Account, AccountStatus, Custody, RuleViolation,
        custody::{self, is_masked, mask_email, mask_phone},
    },
    error::RegistryError,
    events, store,
};

const MUTABLE_FIELDS: &[&str] = &[
    "custodian_name",
    "custodian_title",
    "custodian_active",
    "bound_phone",
    "bound_email",
    "rotation_interval_days",
];

const SUFFIX: &str = "/credentialCustody";

/// Parses `accounts/{account}/credentialCustody` into the account id.
fn custody_name(v: &mut Violations, field: &str, value: &str) -> Option<String> {
    match value.strip_suffix(SUFFIX) {
        Some(account) => validate::resource_id(v, field, account, "accounts", true),
        None => {
            v.add(field, "must be `accounts/{account}/credentialCustody`");
            None
        }
    }
}

fn check_field(v: &mut Violations, custody: &pb::CredentialCustody, field: &str) {
    let path = format!("credential_custody.{field}");
    match field {
        "custodian_name" => validate::text(v, &path, &custody.custodian_name, 50, true),
        "custodian_title" => validate::text(v, &path, &custody.custodian_title, 50, false),
        "bound_phone" if !is_masked(&custody.bound_phone) => {
            validate::phone(v, &path, &custody.bound_phone, false);
        }
        "bound_email" if !is_masked(&custody.bound_email) => {
            let email = &custody.bound_email;
            let well_formed = email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.contains('@')
            });
            if !email.is_empty()
                && (email.len() > 254 || !well_formed || email.chars().any(char::is_whitespace))
            {
                v.add(path, "must be an e-mail address");
            }
        }
        "rotation_interval_days" if !(0..=366).contains(&custody.rotation_interval_days) => {
            v.add(path, "must be between 1 and 366 days (0 for the default)");
        }
        _ => {}
    }
}

/// Applies one field; a masked phone or e-mail is accepted only unchanged (a client sending
/// back what it read), since the full value cannot be recovered from it.
fn apply_field(
    record: &mut Custody,
    source: &pb::CredentialCustody,
    field: &str,
    default_days: i32,
) -> Result<(), FieldViolation> {
    let masked_changed = |sent: &str| FieldViolation {
        field: format!("credential_custody.{field}"),
        description: format!(
            "{sent:?} is masked and differs from the stored value; send the full value to change it"
        ),
    };
    match field {
        "custodian_name" => record.custodian_name = source.custodian_name.clone(),
        "custodian_title" => record.custodian_title = source.custodian_title.clone(),
        "custodian_active" => record.custodian_active = source.custodian_active,
        "bound_phone"
            if is_masked(&source.bound_phone) && source.bound_phone != record.bound_phone =>
        {
            return Err(masked_changed(&source.bound_phone));
        }
        "bound_phone" if is_masked(&source.bound_phone) => {}
        "bound_phone" => {
            // Stored masked, without the separators people type.
            let digits: String = source
                .bound_phone
                .chars()
                .filter(|c| !matches!(c, ' ' | '-'))
                .collect();
            record.bound_phone = if digits.is_empty() {
                String::new()
            } else {
                mask_phone(&digits)
            };
        }
        "bound_email"
            if is_masked(&source.bound_email) && source.bound_email != record.bound_email =>
        {
            return Err(masked_changed(&source.bound_email));
        }
        "bound_email" if is_masked(&source.bound_email) => {}
        "bound_email" => {
            record.bound_email = if source.bound_email.is_empty() {
                String::new()
            } else {
                mask_email(&source.bound_email)
            }
        }
        "rotation_interval_days" => {
            record.rotation_interval_days = match source.rotation_interval_days {
                0 => default_days,
                days => days,
            }
        }
        _ => {}
    }
    Ok(())
}

pub(super) async fn get(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::GetCredentialCustodyRequest,
) -> Result<pb::CredentialCustody, RegistryError> {
    let mut v = Violations::new();
    let account_id = custody_name(&mut v, "name", &req.name);
    v.finish()?;
    let account_id = account_id.ok_or_else(|| unvalidated("name"))?;
    visible_account(api.conn(), principal, &account_id).await?;
    let record = store::custody::get(api.conn(), &account_id)
        .await?
        .ok_or_else(|| RegistryError::NotFound(req.name.clone()))?;
    Ok(convert::custody(&record))
}

pub(super) async fn update(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::UpdateCredentialCustodyRequest,
) -> Result<pb::CredentialCustody, RegistryError> {
    let mut v = Violations::new();
    validate::request_id(&mut v, "request_id", &req.request_id);
    let paths = validate::field_mask(
        &mut v,
        "update_mask",
        req.update_mask.as_ref(),
        MUTABLE_FIELDS,
    );
    let account_id = match &req.credential_custody {
        Some(source) => {
            for path in &paths {
                check_field(&mut v, source, path);
            }
            custody_name(&mut v, "credential_custody.name", &source.name)
        }
        None => {
            v.add("credential_custody", "is required");
            None
        }
    };
    v.finish()?;
    let (Some(account_id), Some(source)) = (account_id, req.credential_custody.as_ref()) else {
        return Err(unvalidated("credential_custody"));
    };
    let name = convert::custody_name(&account_id);

    let unit = api
        .writer
        .begin("UpdateCredentialCustody", principal, &req.request_id, &req)
        .await?;
    let account = match load_for_change(&unit, principal, &account_id, "").await? {
        Loaded::Account(account) => account,
        Loaded::Replayed(done) => return Ok(done),
    };
    if account.status == AccountStatus::Cancelled {
        return Err(RuleViolation::AccountCancelled(account.name()).into());
    }
    let default_days = i32::try_from(api.config.default_rotation_days).unwrap_or(90);
    let existing = store::custody::get(unit.txn(), &account_id).await?;
    let now = stamp(&unit);
    let (mut record, expected) = match existing {
        Some(record) => {
            check_etag(&source.etag, record.version, &name)?;
            let version = record.version;
            (record, Some(version))
        }
        None if req.allow_missing => {
            if !paths.iter().any(|p| p == "custodian_name") {
                return Err(ApiError::invalid(vec![FieldViolation {
                    field: "update_mask".into(),
                    description: "must include custodian_name to create a custody record".into(),
                }])
                .into());
            }
            let record = Custody {
                account: account_id.clone(),
                custodian_name: String::new(),
                custodian_title: String::new(),
                custodian_active: true,
                bound_phone: String::new(),
                bound_email: String::new(),
                last_rotation_time: None,
                rotation_interval_days: default_days,
                created: now.clone(),
                updated: now.clone(),
                version: 0,
            };
            (record, None)
        }
        None => return Err(RegistryError::NotFound(name)),
    };
    let mut bad = Vec::new();
    for path in &paths {
        if let Err(violation) = apply_field(&mut record, source, path, default_days) {
            bad.push(violation);
        }
    }
    if !bad.is_empty() {
        return Err(ApiError::invalid(bad).into());
    }
    record.updated = now;
    let details = json!({ "changed_fields": paths, "created": expected.is_none() });
    save(unit, record, expected, &account, details).await
}

/// Stores a new (`expected` is `None`) or changed record with the next version (ABORTED when
/// someone changed it meanwhile), publishes, audits and commits.
async fn save(
    mut unit: Unit,
    mut record: Custody,
    expected: Option<i64>,
    account: &Account,
    details: serde_json::Value,
) -> Result<pb::CredentialCustody, RegistryError> {
    let name = convert::custody_name(&record.account);
    record.version = expected.unwrap_or(0) + 1;
    match expected {
        None => match store::custody::insert(unit.txn(), &record).await {
            // Someone created the record meanwhile: as with any concurrent change, re-read.
            Err(error) if govmedia_kit::db::is_unique_violation(&error) => {
                return Err(RegistryError::stale(&name, 0));
            }
            other => other?,
        },
        Some(expected) => {
            if !store::custody::update(unit.txn(), &record, expected).await? {
                return Err(RegistryError::stale(&name, expected));
            }
        }
    }
    let response = convert::custody(&record);
    unit.publish(
        &name,
        &events::credential_custody_changed(&response, &account.name()),
    )
    .await?;
    unit.audit(&name, &account.organization_path, details);
    Ok(unit.commit(response).await?)
}

pub(super) async fn record_rotation(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::RecordCredentialRotationRequest,
) -> Result<pb::CredentialCustody, RegistryError> {
    let mut v = Violations::new();
    let account_id = custody_name(&mut v, "name", &req.name);
    validate::request_id(&mut v, "request_id", &req.request_id);
    let rotated = match &req.rotate_time {
        None => Some(api.now()),
        Some(time) => validate::past_time(&mut v, "rotate_time", time, MAX_SKEW, api.now()),
    };
    v.finish()?;
    let (Some(account_id), Some(rotated)) = (account_id, rotated) else {
        return Err(unvalidated("name"));
    };
    let name = convert::custody_name(&account_id);

    let unit = api
        .writer
        .begin("RecordCredentialRotation", principal, &req.request_id, &req)
        .await?;
    let account = match load_for_change(&unit, principal, &account_id, "").await? {
        Loaded::Account(account) => account,
        Loaded::Replayed(done) => return Ok(done),
    };
    if account.status == AccountStatus::Cancelled {
        return Err(RuleViolation::AccountCancelled(account.name()).into());
    }
    let mut record = store::custody::get(unit.txn(), &account_id)
        .await?
        .ok_or_else(|| RegistryError::NotFound(name.clone()))?;
    if let Some(last) = record.last_rotation_time
        && rotated < last
    {
        return Err(ApiError::invalid(vec![FieldViolation {
            field: "rotate_time".into(),
            description: format!(
                "is before the last recorded rotation ({})",
                last.to_rfc3339()
            ),
        }])
        .into());
    }
    let expected = record.version;
    record.last_rotation_time = Some(rotated);
    record.updated = stamp(&unit);
    let details = json!({ "rotated_at": rotated.to_rfc3339() });
    save(unit, record, Some(expected), &account, details).await
}

pub(super) async fn alerts(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::ListCredentialAlertsRequest,
) -> Result<pb::ListCredentialAlertsResponse, RegistryError> {
    let mut v = Violations::new();
    let organization = scope_field(&mut v, "organization", &req.organization);
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[&principal.organization, &req.organization]),
    );
    v.finish()?;
    let scope = read_scope(api.conn(), principal, organization).await?;
    let now = api.now();

    // Alerts are computed, not stored: walk the subtree's live accounts in id order until the
    // page (plus one, to know whether another follows) is full.
    let mut found: Vec<pb::CredentialAlert> = Vec::new();
    let mut after = page.after.clone();
    let chunk = 200;
    while (found.len() as u64) < page.fetch_limit() {
        let rows =
            store::accounts::live_with_custody(api.conn(), &scope.path, after.as_deref(), chunk)
                .await?;
        let exhausted = (rows.len() as u64) < chunk;
        for (account, record) in rows {
            after = Some(account.id.clone());
            let kinds = custody::alerts(record.as_ref(), now);
            if kinds.is_empty() {
                continue;
            }
            found.push(pb::CredentialAlert {
                account: account.name(),
                account_display_name: account.display_name.clone(),
                organization: convert::organization_name(&account.organization),
                kinds: kinds.iter().map(|kind| *kind as i32).collect(),
                custody: record.as_ref().map(convert::custody),
            });
            if found.len() as u64 == page.fetch_limit() {
                break;
            }
        }
        if exhausted {
            break;
        }
    }
    let next_page_token = page.finish(&mut found, |alert| {
        alert.account.trim_start_matches("accounts/").to_owned()
    });
    Ok(pb::ListCredentialAlertsResponse {
        alerts: found,
        next_page_token,
    })
}
