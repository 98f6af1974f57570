//! Review chains and drafts.

use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::{
    corrupt,
    entity::{chain as chain_row, draft as draft_row},
    from_json, json, stamp,
};
use crate::domain::review::{Chain, Draft, DraftState};

fn chain_of(model: chain_row::Model) -> Result<Chain, DbErr> {
    Ok(Chain {
        id: model.id,
        organization: model.organization_id,
        organization_path: model.org_path,
        display_name: model.display_name,
        levels: from_json("chain levels", &model.levels)?,
        created: stamp(model.created_at, model.created_by, model.created_by_org),
    })
}

/// Stores a new chain.
pub async fn insert_chain(conn: &impl ConnectionTrait, chain: &Chain) -> Result<(), DbErr> {
    chain_row::Entity::insert(chain_row::ActiveModel {
        id: Set(chain.id.clone()),
        organization_id: Set(chain.organization.clone()),
        org_path: Set(chain.organization_path.clone()),
        display_name: Set(chain.display_name.clone()),
        levels: Set(json(&chain.levels)?),
        created_at: Set(chain.created.time),
        created_by: Set(chain.created.actor.clone()),
        created_by_org: Set(chain.created.actor_organization.clone()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The chain `id`.
pub async fn chain(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Chain>, DbErr> {
    chain_row::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .map(chain_of)
        .transpose()
}

fn draft_row_of(draft: &Draft) -> Result<draft_row::ActiveModel, DbErr> {
    Ok(draft_row::ActiveModel {
        id: Set(draft.id.clone()),
        chain_id: Set(draft.chain.clone()),
        organization_id: Set(draft.organization.clone()),
        org_path: Set(draft.organization_path.clone()),
        title: Set(draft.title.clone()),
        body: Set(draft.text.clone()),
        accounts: Set(json(&draft.accounts)?),
        revision: Set(i32::try_from(draft.revision).unwrap_or(i32::MAX)),
        state: Set(draft.state as i32),
        current_level: Set(i32::try_from(draft.current_level).unwrap_or(i32::MAX)),
        reviews: Set(json(&draft.reviews)?),
        content_hash: Set(draft.content_hash.clone()),
        approved_at: Set(draft.approved_at),
        created_at: Set(draft.created.time),
        created_by: Set(draft.created.actor.clone()),
        created_by_org: Set(draft.created.actor_organization.clone()),
        version: Set(draft.version),
    })
}

fn draft_of(model: draft_row::Model) -> Result<Draft, DbErr> {
    Ok(Draft {
        state: DraftState::from_i32(model.state)
            .ok_or_else(|| corrupt("draft state", model.state))?,
        id: model.id,
        chain: model.chain_id,
        organization: model.organization_id,
        organization_path: model.org_path,
        title: model.title,
        text: model.body,
        accounts: from_json("draft accounts", &model.accounts)?,
        revision: u32::try_from(model.revision).unwrap_or(0),
        current_level: u32::try_from(model.current_level).unwrap_or(0),
        reviews: from_json("draft reviews", &model.reviews)?,
        content_hash: model.content_hash,
        approved_at: model.approved_at,
        created: stamp(model.created_at, model.created_by, model.created_by_org),
        version: model.version,
    })
}

/// Stores a new draft.
pub async fn insert_draft(conn: &impl ConnectionTrait, draft: &Draft) -> Result<(), DbErr> {
    draft_row::Entity::insert(draft_row_of(draft)?)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Writes `draft` over the stored one if that is still at version `expected`.
pub async fn update_draft(
    conn: &impl ConnectionTrait,
    draft: &Draft,
    expected: i64,
) -> Result<bool, DbErr> {
    let result = draft_row::Entity::update_many()
        .set(draft_row_of(draft)?)
        .filter(draft_row::Column::Id.eq(draft.id.clone()))
        .filter(draft_row::Column::Version.eq(expected))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The draft `id`.
pub async fn draft(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Draft>, DbErr> {
    draft_row::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .map(draft_of)
        .transpose()
}

/// The approved drafts whose content hash is `hash`.
pub async fn approved_with_hash(
    conn: &impl ConnectionTrait,
    hash: &str,
) -> Result<Vec<Draft>, DbErr> {
    draft_row::Entity::find()
        .filter(draft_row::Column::ContentHash.eq(hash))
        .filter(draft_row::Column::State.eq(DraftState::Approved as i32))
        .all(conn)
        .await?
        .into_iter()
        .map(draft_of)
        .collect()
}
