//! Routing rules.

use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::{corrupt, entity::rule as row, from_json, json, stamp};
use crate::domain::{Category, RoutingRule, rules};

fn from_row(model: row::Model) -> Result<RoutingRule, DbErr> {
    let numbers: Vec<i32> = from_json("rule categories", &model.categories)?;
    let categories = numbers
        .into_iter()
        .map(|n| Category::from_i32(n).ok_or_else(|| corrupt("rule category", n)))
        .collect::<Result<_, _>>()?;
    Ok(RoutingRule {
        id: model.id,
        organization: model.organization_id,
        organization_path: model.org_path,
        categories,
        keywords: from_json("rule keywords", &model.keywords)?,
        region_prefixes: from_json("rule region prefixes", &model.region_prefixes)?,
        department: model.department_id,
        department_path: model.department_path,
        priority: model.priority,
        created: stamp(model.created_at, model.created_by, model.created_by_org),
    })
}

/// The rule `id`.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<RoutingRule>, DbErr> {
    row::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .map(from_row)
        .transpose()
}

/// Stores a new rule.
pub async fn insert(conn: &impl ConnectionTrait, rule: &RoutingRule) -> Result<(), DbErr> {
    let categories: Vec<i32> = rule.categories.iter().map(|c| *c as i32).collect();
    row::Entity::insert(row::ActiveModel {
        id: Set(rule.id.clone()),
        organization_id: Set(rule.organization.clone()),
        org_path: Set(rule.organization_path.clone()),
        categories: Set(json(&categories)?),
        keywords: Set(json(&rule.keywords)?),
        region_prefixes: Set(json(&rule.region_prefixes)?),
        department_id: Set(rule.department.clone()),
        department_path: Set(rule.department_path.clone()),
        priority: Set(rule.priority),
        created_at: Set(rule.created.time),
        created_by: Set(rule.created.actor.clone()),
        created_by_org: Set(rule.created.actor_organization.clone()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Deletes the rule `id`; false when there was none.
pub async fn delete(conn: &impl ConnectionTrait, id: &str) -> Result<bool, DbErr> {
    Ok(row::Entity::delete_by_id(id.to_owned())
        .exec(conn)
        .await?
        .rows_affected
        > 0)
}

/// The rules that apply to accounts at `path` (of its organization and every level above), in
/// the order they are tried.
pub async fn applying_to(
    conn: &impl ConnectionTrait,
    path: &str,
) -> Result<Vec<RoutingRule>, DbErr> {
    let mut found = row::Entity::find()
        .filter(row::Column::OrgPath.is_in(super::ancestors(path)))
        .all(conn)
        .await?
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    rules::order(&mut found);
    Ok(found)
}
