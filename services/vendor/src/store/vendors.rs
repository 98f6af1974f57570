//! Queries on `vendors`, `vendor_qualifications` and `vendor_blacklist`.

use std::collections::HashMap;

use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{
    corrupt,
    entity::{blacklist, qualification, vendor as row},
    from_json, json, stamp,
};
use crate::domain::{Qualification, QualificationKind, Stamp, Vendor, VendorStatus};

fn to_domain(model: row::Model, qualifications: Vec<Qualification>) -> Result<Vendor, DbErr> {
    Ok(Vendor {
        status: VendorStatus::from_i32(model.status)
            .ok_or_else(|| corrupt("vendor status", model.status))?,
        contacts: from_json("vendor contacts", &model.contacts)?,
        id: model.id,
        display_name: model.display_name,
        credit_code: model.credit_code,
        organization: model.organization_id,
        organization_path: model.org_path,
        qualifications,
        status_reason: model.status_reason,
        status_time: model.status_time,
        approval_vetting: model.approval_vetting,
        approval_valid_until: model.approval_valid_until,
        blacklisted_in: model.blacklisted_in,
        clean_out_flag: model.clean_out_flag,
        created: stamp(model.created_at, model.created_by, model.created_by_org),
        updated: stamp(model.updated_at, model.updated_by, model.updated_by_org),
        version: model.version,
    })
}

fn to_row(vendor: &Vendor) -> Result<row::ActiveModel, DbErr> {
    Ok(row::ActiveModel {
        id: Set(vendor.id.clone()),
        display_name: Set(vendor.display_name.clone()),
        credit_code: Set(vendor.credit_code.clone()),
        organization_id: Set(vendor.organization.clone()),
        org_path: Set(vendor.organization_path.clone()),
        contacts: Set(json(&vendor.contacts)?),
        status: Set(vendor.status as i32),
        status_reason: Set(vendor.status_reason.clone()),
        status_time: Set(vendor.status_time),
        approval_vetting: Set(vendor.approval_vetting.clone()),
        approval_valid_until: Set(vendor.approval_valid_until),
        blacklisted_in: Set(vendor.blacklisted_in.clone()),
        clean_out_flag: Set(vendor.clean_out_flag.clone()),
        created_at: Set(vendor.created.time),
        created_by: Set(vendor.created.actor.clone()),
        created_by_org: Set(vendor.created.actor_organization.clone()),
        updated_at: Set(vendor.updated.time),
        updated_by: Set(vendor.updated.actor.clone()),
        updated_by_org: Set(vendor.updated.actor_organization.clone()),
        version: Set(vendor.version),
    })
}

fn qualification_to_domain(
    ordinal: usize,
    model: qualification::Model,
) -> Result<Qualification, DbErr> {
    Ok(Qualification {
        // Qualifications are never removed, so the position is a stable id.
        id: format!("q{}", ordinal + 1),
        kind: QualificationKind::from_i32(model.kind)
            .ok_or_else(|| corrupt("qualification kind", model.kind))?,
        number: model.number,
        issuer: model.issuer,
        valid_from: model.valid_from,
        valid_until: model.valid_until,
        file_uri: model.file_uri,
        file_sha256: model.file_sha256,
        added: stamp(model.added_at, model.added_by, model.added_by_org),
    })
}

/// The qualifications of `vendors`, by vendor id, each list in the order added.
async fn qualifications_of(
    conn: &impl ConnectionTrait,
    vendors: &[String],
) -> Result<HashMap<String, Vec<Qualification>>, DbErr> {
    let mut by_vendor: HashMap<String, Vec<qualification::Model>> = HashMap::new();
    if vendors.is_empty() {
        return Ok(HashMap::new());
    }
    for model in qualification::Entity::find()
        .filter(qualification::Column::VendorId.is_in(vendors.iter().cloned()))
        .order_by_asc(qualification::Column::Seq)
        .all(conn)
        .await?
    {
        by_vendor
            .entry(model.vendor_id.clone())
            .or_default()
            .push(model);
    }
    by_vendor
        .into_iter()
        .map(|(vendor, models)| {
            let list = models
                .into_iter()
                .enumerate()
                .map(|(ordinal, model)| qualification_to_domain(ordinal, model))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((vendor, list))
        })
        .collect()
}

async fn with_qualifications(
    conn: &impl ConnectionTrait,
    models: Vec<row::Model>,
) -> Result<Vec<Vendor>, DbErr> {
    let ids: Vec<String> = models.iter().map(|model| model.id.clone()).collect();
    let mut qualifications = qualifications_of(conn, &ids).await?;
    models
        .into_iter()
        .map(|model| {
            let list = qualifications.remove(&model.id).unwrap_or_default();
            to_domain(model, list)
        })
        .collect()
}

/// The vendor `id` with its qualifications.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Vendor>, DbErr> {
    let Some(model) = row::Entity::find_by_id(id.to_owned()).one(conn).await? else {
        return Ok(None);
    };
    Ok(with_qualifications(conn, vec![model]).await?.pop())
}

/// The vendors registered with `credit_code`, anywhere.
pub async fn with_code(
    conn: &impl ConnectionTrait,
    credit_code: &str,
) -> Result<Vec<Vendor>, DbErr> {
    let models = row::Entity::find()
        .filter(row::Column::CreditCode.eq(credit_code))
        .order_by_asc(row::Column::Id)
        .all(conn)
        .await?;
    with_qualifications(conn, models).await
}

/// Stores a new vendor (without qualifications).
pub async fn insert(conn: &impl ConnectionTrait, vendor: &Vendor) -> Result<(), DbErr> {
    row::Entity::insert(to_row(vendor)?).exec(conn).await?;
    Ok(())
}

/// Stores `vendor` if its stored version is still `expected`; false when it is not.
pub async fn update(
    conn: &impl ConnectionTrait,
    vendor: &Vendor,
    expected: i64,
) -> Result<bool, DbErr> {
    let result = row::Entity::update_many()
        .set(to_row(vendor)?)
        .filter(row::Column::Id.eq(vendor.id.clone()))
        .filter(row::Column::Version.eq(expected))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Adds a qualification to `vendor`.
pub async fn add_qualification(
    conn: &impl ConnectionTrait,
    vendor: &str,
    qualification: &Qualification,
) -> Result<(), DbErr> {
    qualification::Entity::insert(qualification::ActiveModel {
        seq: NotSet,
        vendor_id: Set(vendor.to_owned()),
        kind: Set(qualification.kind as i32),
        number: Set(qualification.number.clone()),
        issuer: Set(qualification.issuer.clone()),
        valid_from: Set(qualification.valid_from),
        valid_until: Set(qualification.valid_until),
        file_uri: Set(qualification.file_uri.clone()),
        file_sha256: Set(qualification.file_sha256.clone()),
        added_at: Set(qualification.added.time),
        added_by: Set(qualification.added.actor.clone()),
        added_by_org: Set(qualification.added.actor_organization.clone()),
    })
    .exec(conn)
    .await?;
    Ok(())
}

/// What a listing is filtered by.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// The caller's jurisdiction path: vendors on its line (above, at or below it).
    pub line: String,
    /// Only this status.
    pub status: Option<VendorStatus>,
    /// Only this credit code.
    pub credit_code: Option<String>,
}

/// A page of vendors by id, after `after`.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &Filter,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Vendor>, DbErr> {
    let mut query = row::Entity::find().filter(on_line(&filter.line));
    if let Some(status) = filter.status {
        query = query.filter(row::Column::Status.eq(status as i32));
    }
    if let Some(code) = &filter.credit_code {
        query = query.filter(row::Column::CreditCode.eq(code.clone()));
    }
    if let Some(after) = after {
        query = query.filter(row::Column::Id.gt(after));
    }
    let models = query
        .order_by_asc(row::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    with_qualifications(conn, models).await
}

/// Vendors on the line of `path`: registered in its subtree, or at one of its ancestors (a
/// path that is a prefix of `path`).
fn on_line(path: &str) -> Condition {
    let ancestors: Vec<String> = ancestor_paths(path);
    Condition::any()
        .add(govmedia_kit::store::starts_with(row::Column::OrgPath, path))
        .add(row::Column::OrgPath.is_in(ancestors))
}

/// `/a/b/c/` → `/a/`, `/a/b/`.
fn ancestor_paths(path: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut end = 1;
    while let Some(next) = path[end..].find('/') {
        end += next + 1;
        if end < path.len() {
            paths.push(path[..end].to_owned());
        }
    }
    paths
}

/// The vendors on the line of `path` (registered in its subtree or above it), by id.
pub async fn on_line_of(conn: &impl ConnectionTrait, path: &str) -> Result<Vec<Vendor>, DbErr> {
    let models = row::Entity::find()
        .filter(on_line(path))
        .order_by_asc(row::Column::Id)
        .all(conn)
        .await?;
    with_qualifications(conn, models).await
}

/// Records that the company with `credit_code` (the record `vendor`) is barred in the
/// jurisdiction of `organization` at `path`, by the change `by`.
pub async fn blacklist(
    conn: &impl ConnectionTrait,
    vendor: &Vendor,
    (organization, path): (&str, &str),
    reason: &str,
    by: &Stamp,
) -> Result<(), DbErr> {
    blacklist::Entity::insert(blacklist::ActiveModel {
        seq: NotSet,
        vendor_id: Set(vendor.id.clone()),
        credit_code: Set(vendor.credit_code.clone()),
        organization_id: Set(organization.to_owned()),
        org_path: Set(path.to_owned()),
        reason: Set(reason.to_owned()),
        at: Set(by.time),
        actor: Set(by.actor.clone()),
        actor_org: Set(by.actor_organization.clone()),
    })
    .exec(conn)
    .await?;
    Ok(())
}

/// The jurisdictions (organization id, path) that barred `credit_code`.
pub async fn barred_in(
    conn: &impl ConnectionTrait,
    credit_code: &str,
) -> Result<Vec<(String, String)>, DbErr> {
    Ok(blacklist::Entity::find()
        .filter(blacklist::Column::CreditCode.eq(credit_code))
        .order_by_asc(blacklist::Column::Seq)
        .all(conn)
        .await?
        .into_iter()
        .map(|model| (model.organization_id, model.org_path))
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ancestors_of_a_path() {
        assert_eq!(
            super::ancestor_paths("/qinghai/haixi/golmud/"),
            vec!["/qinghai/", "/qinghai/haixi/"]
        );
        assert!(super::ancestor_paths("/qinghai/").is_empty());
    }
}
