//! Queries on `credential_custody`.

use std::collections::HashMap;

use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::{entity::custody as row, stamp};
use crate::domain::Custody;

fn to_domain(model: row::Model) -> Custody {
    Custody {
        account: model.account_id,
        custodian_name: model.custodian_name,
        custodian_title: model.custodian_title,
        custodian_active: model.custodian_active,
        bound_phone: model.bound_phone,
        bound_email: model.bound_email,
        last_rotation_time: model.last_rotation_time,
        rotation_interval_days: model.rotation_interval_days,
        created: stamp(model.created_at, model.created_by, model.created_by_org),
        updated: stamp(model.updated_at, model.updated_by, model.updated_by_org),
        version: model.version,
    }
}

fn to_row(custody: &Custody) -> row::ActiveModel {
    row::ActiveModel {
        account_id: Set(custody.account.clone()),
        custodian_name: Set(custody.custodian_name.clone()),
        custodian_title: Set(custody.custodian_title.clone()),
        custodian_active: Set(custody.custodian_active),
        bound_phone: Set(custody.bound_phone.clone()),
        bound_email: Set(custody.bound_email.clone()),
        last_rotation_time: Set(custody.last_rotation_time),
        rotation_interval_days: Set(custody.rotation_interval_days),
        created_at: Set(custody.created.time),
        created_by: Set(custody.created.actor.clone()),
        created_by_org: Set(custody.created.actor_organization.clone()),
        updated_at: Set(custody.updated.time),
        updated_by: Set(custody.updated.actor.clone()),
        updated_by_org: Set(custody.updated.actor_organization.clone()),
        version: Set(custody.version),
    }
}

/// The record of an account.
pub async fn get(conn: &impl ConnectionTrait, account: &str) -> Result<Option<Custody>, DbErr> {
    Ok(row::Entity::find_by_id(account.to_owned())
        .one(conn)
        .await?
        .map(to_domain))
}

/// The records of several accounts, by account id.
pub async fn for_accounts(
    conn: &impl ConnectionTrait,
    accounts: &[String],
) -> Result<HashMap<String, Custody>, DbErr> {
    if accounts.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(row::Entity::find()
        .filter(row::Column::AccountId.is_in(accounts.iter().map(String::as_str)))
        .all(conn)
        .await?
        .into_iter()
        .map(|model| (model.account_id.clone(), to_domain(model)))
        .collect())
}

/// Inserts a new record.
pub async fn insert(conn: &impl ConnectionTrait, custody: &Custody) -> Result<(), DbErr> {
    row::Entity::insert(to_row(custody))
        .exec_without_returning(conn)
        .await
        .map(|_| ())
}

/// Stores `custody` if the stored version is still `expected_version`; false when it is not.
pub async fn update(
    conn: &impl ConnectionTrait,
    custody: &Custody,
    expected_version: i64,
) -> Result<bool, DbErr> {
    let result = row::Entity::update_many()
        .set(to_row(custody))
        .filter(row::Column::AccountId.eq(custody.account.as_str()))
        .filter(row::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
