//! Organization handlers.

use govmedia_kit::{
    auth::{Principal, Role},
    error::Violations,
    paging::{Page, fingerprint},
    unit::Unit,
    validate,
};
use govmedia_proto::registry::v1 as pb;
use serde_json::json;

use super::{
    RegistryApi, check_etag, convert, jurisdiction, read_scope, scope_field, visible_organization,
};
use crate::{
    domain::{
        Level, OrgKind, Organization, RuleViolation, Stamp,
        organization::{self, Placement},
    },
    error::RegistryError,
    events, store,
};

/// Fields a caller sets on create and may change on update.
const MUTABLE_FIELDS: &[&str] = &[
    "display_name",
    "kind",
    "management_department",
    "must_have_account",
    "unified_social_credit_code",
    "region_code",
    "principal_leader",
    "designated_deputy",
];

/// Who changes something in `unit`, and when.
pub(super) fn stamp(unit: &Unit) -> Stamp {
    Stamp {
        time: unit.now(),
        actor: unit.principal().subject.clone(),
        actor_organization: unit.principal().organization.clone(),
    }
}

/// The error for a value that validation let through although it should not have: a bug, not
/// bad input.
pub(super) fn unvalidated(what: &str) -> RegistryError {
    RegistryError::Api(govmedia_kit::error::ApiError::internal(
        "handling a request",
        &format!("validation let an empty {what} through"),
    ))
}

fn check_field(v: &mut Violations, org: &pb::Organization, field: &str) {
    let path = format!("organization.{field}");
    match field {
        "display_name" => validate::text(v, &path, &org.display_name, 100, true),
        "kind" => {
            validate::enum_value(v, &path, org.kind, true, OrgKind::from_i32);
        }
        "unified_social_credit_code" if !org.unified_social_credit_code.is_empty() => {
            if let Some(problem) = govmedia_credit_code::problem(&org.unified_social_credit_code) {
                v.add(path, problem);
            }
        }
        "principal_leader" => validate::text(v, &path, &org.principal_leader, 200, false),
        "designated_deputy" => validate::text(v, &path, &org.designated_deputy, 200, false),
        "region_code"
            if !org.region_code.is_empty()
                && (org.region_code.len() != 6
                    || !org.region_code.bytes().all(|b| b.is_ascii_digit())) =>
        {
            v.add(path, "must be a 6-digit administrative division code");
        }
        _ => {}
    }
}

fn apply_field(org: &mut Organization, source: &pb::Organization, field: &str) {
    let optional = |value: &str| (!value.is_empty()).then(|| value.to_owned());
    match field {
        "display_name" => org.display_name = source.display_name.clone(),
        "kind" => {
            if let Some(kind) = OrgKind::from_i32(source.kind) {
                org.kind = kind;
            }
        }
        "management_department" => org.management_department = source.management_department,
        "must_have_account" => org.set_must_have_account(source.must_have_account),
        "principal_leader" => org.principal_leader = source.principal_leader.trim().to_owned(),
        "designated_deputy" => org.designated_deputy = source.designated_deputy.trim().to_owned(),
        "unified_social_credit_code" => {
            org.credit_code = optional(&source.unified_social_credit_code)
        }
        "region_code" => org.region_code = optional(&source.region_code),
        _ => {}
    }
}

pub(super) async fn get(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::GetOrganizationRequest,
) -> Result<pb::Organization, RegistryError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "organizations", true);
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;
    let org = visible_organization(api.conn(), principal, &id).await?;
    Ok(convert::organization(&org))
}

pub(super) async fn jurisdiction_of(
    api: &RegistryApi,
    principal: &Principal,
    _req: pb::GetJurisdictionRequest,
) -> Result<pb::Organization, RegistryError> {
    Ok(convert::organization(
        &jurisdiction(api.conn(), principal).await?,
    ))
}

pub(super) async fn list(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::ListOrganizationsRequest,
) -> Result<pb::ListOrganizationsResponse, RegistryError> {
    let mut v = Violations::new();
    let ancestor = scope_field(&mut v, "ancestor", &req.ancestor);
    let level = validate::enum_value(&mut v, "level", req.level, false, Level::from_i32);
    let kind = validate::enum_value(&mut v, "kind", req.kind, false, OrgKind::from_i32);
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[
            &principal.organization,
            &req.ancestor,
            &req.level.to_string(),
            &req.kind.to_string(),
            &format!("{:?}", req.management_department),
        ]),
    );
    v.finish()?;
    let scope = read_scope(api.conn(), principal, ancestor).await?;
    let filter = store::organizations::Filter {
        path: scope.path,
        level,
        kind,
        management_department: req.management_department,
    };
    let mut rows = store::organizations::list(
        api.conn(),
        &filter,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let next_page_token = page.finish(&mut rows, |org| org.id.clone());
    Ok(pb::ListOrganizationsResponse {
        organizations: rows.iter().map(convert::organization).collect(),
        next_page_token,
        total_size: store::organizations::count(api.conn(), &filter).await? as i64,
    })
}

pub(super) async fn create(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::CreateOrganizationRequest,
) -> Result<pb::Organization, RegistryError> {
    let mut v = Violations::new();
    let id = validate::id(&mut v, "organization_id", &req.organization_id).map(str::to_owned);
    validate::request_id(&mut v, "request_id", &req.request_id);
    let (parent_id, level) = match &req.organization {
        Some(org) => {
            for field in MUTABLE_FIELDS {
                check_field(&mut v, org, field);
            }
            (
                validate::resource_id(
                    &mut v,
                    "organization.parent",
                    &org.parent,
                    "organizations",
                    false,
                ),
                validate::enum_value(
                    &mut v,
                    "organization.level",
                    org.level,
                    true,
                    Level::from_i32,
                ),
            )
        }
        None => {
            v.add("organization", "is required");
            (None, None)
        }
    };
    v.finish()?;
    let (Some(id), Some(level), Some(source)) = (id, level, req.organization.as_ref()) else {
        return Err(unvalidated("organization"));
    };
    let kind = OrgKind::from_i32(source.kind).ok_or_else(|| unvalidated("kind"))?;
    let name = convert::organization_name(&id);

    let mut unit = api
        .writer
        .begin("CreateOrganization", principal, &req.request_id, &req)
        .await?;
    let parent = match &parent_id {
        Some(parent_id) => Some(visible_organization(unit.txn(), principal, parent_id).await?),
        // Bootstrapping: only a system caller of the new root itself may create a root.
        None if principal.has(Role::System) && principal.organization == id => None,
        None => return Err(RegistryError::OutsideJurisdiction(name)),
    };
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    if store::organizations::get(unit.txn(), &id).await?.is_some() {
        // A twin of this request may have committed while this one waited: answer as it did.
        return match unit.into_replay().await? {
            Some(first) => Ok(first),
            None => Err(RegistryError::AlreadyExists(name)),
        };
    }
    organization::check_placement(parent.as_ref(), Placement { level, kind })?;
    let government = organization::government_of(&id, kind, parent.as_ref());
    if source.management_department {
        let existing = match &government {
            Some(government) => {
                store::organizations::management_department_of(unit.txn(), government, &id).await?
            }
            None => None,
        };
        organization::check_management_department(
            kind,
            government.as_deref(),
            existing.as_deref(),
        )?;
    }
    let path = organization::child_path(parent.as_ref(), &id);
    if path.len() > organization::MAX_PATH_LEN {
        return Err(RuleViolation::InvalidHierarchy("the tree is nested too deeply".into()).into());
    }
    let now = stamp(&unit);
    let mut org = Organization {
        path,
        id,
        parent: parent_id,
        display_name: String::new(),
        level,
        kind,
        management_department: false,
        must_have_account: false,
        must_have_account_overridden: false,
        principal_leader: String::new(),
        designated_deputy: String::new(),
        credit_code: None,
        region_code: None,
        government,
        created: now.clone(),
        updated: now,
        version: 1,
    };
    for field in MUTABLE_FIELDS {
        apply_field(&mut org, source, field);
    }
    store::organizations::insert(unit.txn(), &org)
        .await
        .map_err(|error| {
            // A concurrent create of the same id (or management department) won the race.
            if govmedia_kit::db::is_unique_violation(&error) {
                RegistryError::AlreadyExists(name.clone())
            } else {
                error.into()
            }
        })?;
    let response = convert::organization(&org);
    unit.publish(&name, &events::organization_created(&response))
        .await?;
    unit.audit(
        &name,
        &org.path,
        json!({ "display_name": org.display_name, "level": response.level, "kind": response.kind, "parent": response.parent }),
    );
    Ok(unit.commit(response).await?)
}

pub(super) async fn update(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::UpdateOrganizationRequest,
) -> Result<pb::Organization, RegistryError> {
    let mut v = Violations::new();
    validate::request_id(&mut v, "request_id", &req.request_id);
    let paths = validate::field_mask(
        &mut v,
        "update_mask",
        req.update_mask.as_ref(),
        MUTABLE_FIELDS,
    );
    let id = match &req.organization {
        Some(org) => {
            for path in &paths {
                check_field(&mut v, org, path);
            }
            validate::resource_id(
                &mut v,
                "organization.name",
                &org.name,
                "organizations",
                true,
            )
        }
        None => {
            v.add("organization", "is required");
            None
        }
    };
    v.finish()?;
    let (Some(id), Some(source)) = (id, req.organization.as_ref()) else {
        return Err(unvalidated("organization"));
    };
    let name = convert::organization_name(&id);

    let mut unit = api
        .writer
        .begin("UpdateOrganization", principal, &req.request_id, &req)
        .await?;
    let mut org = visible_organization(unit.txn(), principal, &id).await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    // A unit does not rewrite its own record (e.g. drop out of coverage): the level above does.
    if !principal.has(Role::System) {
        let root = jurisdiction(unit.txn(), principal).await?;
        if org.id == root.id || org.id == principal.organization {
            return Err(RegistryError::KeptByLevelAbove(name));
        }
    }
    check_etag(&source.etag, org.version, &name)?;

    let before = org.clone();
    for path in &paths {
        apply_field(&mut org, source, path);
    }
    let parent = match &org.parent {
        Some(parent) => store::organizations::get(unit.txn(), parent).await?,
        None => None,
    };
    if org.kind != before.kind {
        if !org.must_have_account_overridden {
            org.set_must_have_account(None);
        }
        if store::organizations::has_children(unit.txn(), &org.id).await? {
            return Err(RuleViolation::KindChangeWithChildren(name).into());
        }
        organization::check_placement(
            parent.as_ref(),
            Placement {
                level: org.level,
                kind: org.kind,
            },
        )?;
        org.government = organization::government_of(&org.id, org.kind, parent.as_ref());
    }
    if org.management_department && (!before.management_department || org.kind != before.kind) {
        let existing = match &org.government {
            Some(government) => {
                store::organizations::management_department_of(unit.txn(), government, &org.id)
                    .await?
            }
            None => None,
        };
        organization::check_management_department(
            org.kind,
            org.government.as_deref(),
            existing.as_deref(),
        )?;
    }
    org.version += 1;
    org.updated = stamp(&unit);
    let stored = store::organizations::update(unit.txn(), &org, before.version)
        .await
        .map_err(|error| {
            if store::organizations::is_management_conflict(&error) {
                RuleViolation::ManagementDepartmentExists {
                    government: org
                        .government
                        .as_deref()
                        .map(convert::organization_name)
                        .unwrap_or_default(),
                    existing: String::new(),
                }
                .into()
            } else {
                RegistryError::from(error)
            }
        })?;
    if !stored {
        return Err(RegistryError::stale(&name, before.version));
    }
    let response = convert::organization(&org);
    unit.publish(&name, &events::organization_updated(&response, &paths))
        .await?;
    unit.audit(
        &name,
        &org.path,
        json!({ "changed_fields": paths, "etag": response.etag }),
    );
    Ok(unit.commit(response).await?)
}
