//! Messages as taken, with their sealed personal data.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use super::entity::message as row;

/// A stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    /// Id.
    pub id: String,
    /// Account id.
    pub account: String,
    /// The platform's id.
    pub platform_message_id: String,
    /// The case it went to.
    pub case_id: String,
    /// Category number.
    pub category: i32,
    /// Text, phones masked.
    pub text: String,
    /// Region code.
    pub region_code: String,
    /// When the platform received it.
    pub received_time: DateTime<Utc>,
    /// Sealed personal data.
    pub personal: String,
    /// Joined an existing case.
    pub merged: bool,
    /// When taken.
    pub created_at: DateTime<Utc>,
}

fn from_row(model: row::Model) -> StoredMessage {
    StoredMessage {
        id: model.id,
        account: model.account_id,
        platform_message_id: model.platform_message_id,
        case_id: model.case_id,
        category: model.category,
        text: model.text,
        region_code: model.region_code,
        received_time: model.received_time,
        personal: model.personal,
        merged: model.merged,
        created_at: model.created_at,
    }
}

/// Stores a message.
pub async fn insert(conn: &impl ConnectionTrait, message: &StoredMessage) -> Result<(), DbErr> {
    row::Entity::insert(row::ActiveModel {
        id: Set(message.id.clone()),
        account_id: Set(message.account.clone()),
        platform_message_id: Set(message.platform_message_id.clone()),
        case_id: Set(message.case_id.clone()),
        category: Set(message.category),
        text: Set(message.text.clone()),
        region_code: Set(message.region_code.clone()),
        received_time: Set(message.received_time),
        personal: Set(message.personal.clone()),
        merged: Set(message.merged),
        created_at: Set(message.created_at),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The message the platform calls `platform_message_id` on `account`.
pub async fn by_platform_id(
    conn: &impl ConnectionTrait,
    account: &str,
    platform_message_id: &str,
) -> Result<Option<StoredMessage>, DbErr> {
    Ok(row::Entity::find()
        .filter(row::Column::AccountId.eq(account))
        .filter(row::Column::PlatformMessageId.eq(platform_message_id))
        .one(conn)
        .await?
        .map(from_row))
}

/// The messages of `case`, oldest first.
pub async fn of_case(conn: &impl ConnectionTrait, case: &str) -> Result<Vec<StoredMessage>, DbErr> {
    Ok(row::Entity::find()
        .filter(row::Column::CaseId.eq(case))
        .order_by_asc(row::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(from_row)
        .collect())
}
