//! Relay tasks.

use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::{entity::relay as row, from_json, json, stamp};
use crate::domain::relay::Task;

fn row_of(task: &Task) -> Result<row::ActiveModel, DbErr> {
    Ok(row::ActiveModel {
        id: Set(task.id.clone()),
        organization_id: Set(task.organization.clone()),
        org_path: Set(task.organization_path.clone()),
        source_account: Set(task.source_account.clone()),
        source_post_id: Set(task.source_post_id.clone()),
        title: Set(task.title.clone()),
        source_url: Set(task.source_url.clone()),
        targets: Set(json(&task.targets)?),
        due_time: Set(task.due),
        created_at: Set(task.created.time),
        created_by: Set(task.created.actor.clone()),
        created_by_org: Set(task.created.actor_organization.clone()),
        version: Set(task.version),
    })
}

fn task_of(model: row::Model) -> Result<Task, DbErr> {
    Ok(Task {
        targets: from_json("relay targets", &model.targets)?,
        id: model.id,
        organization: model.organization_id,
        organization_path: model.org_path,
        source_account: model.source_account,
        source_post_id: model.source_post_id,
        title: model.title,
        source_url: model.source_url,
        due: model.due_time,
        created: stamp(model.created_at, model.created_by, model.created_by_org),
        version: model.version,
    })
}

/// Stores a new task.
pub async fn insert(conn: &impl ConnectionTrait, task: &Task) -> Result<(), DbErr> {
    row::Entity::insert(row_of(task)?)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Writes `task` over the stored one if that is still at version `expected`.
pub async fn update(
    conn: &impl ConnectionTrait,
    task: &Task,
    expected: i64,
) -> Result<bool, DbErr> {
    let result = row::Entity::update_many()
        .set(row_of(task)?)
        .filter(row::Column::Id.eq(task.id.clone()))
        .filter(row::Column::Version.eq(expected))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The task `id`.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Task>, DbErr> {
    row::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .map(task_of)
        .transpose()
}
