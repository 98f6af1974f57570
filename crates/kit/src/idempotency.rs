//! Idempotency keys for writes (AIP-155). The stored response and the key commit in the same
//! transaction as the change, so a repeated request either finds the key and gets the first
//! response, or runs the change for the first time; never both, never twice.
//!
//! Keys are scoped by method and the whole caller (who vouched for it, its organization and its
//! subject), so one caller's ids say nothing about another's, even one with the same subject
//! name in another unit or from another identity provider; they are kept for
//! [`RETENTION_HOURS`] (a retry comes within minutes; a week is generous).

use prost::Message;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set};
use sha2::{Digest, Sha256};

use chrono::{DateTime, Utc};

use crate::{
    auth::Principal,
    error::{ApiError, ErrorCode},
};
use govmedia_proto::common::v1::ErrorReason;

pub(crate) mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub scope: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub request_id: String,
        pub fingerprint: String,
        pub response: Vec<u8>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// How long a key is remembered.
pub const RETENTION_HOURS: i64 = 7 * 24;

/// The scope of a key: the method and a digest of the whole caller (issuer, organization,
/// subject), which keeps the stored scope short whatever an identity provider calls its users.
pub fn scope(method: &str, principal: &Principal) -> String {
    let mut hasher = Sha256::new();
    for part in [
        principal.issuer.as_str(),
        &principal.organization,
        &principal.subject,
    ] {
        hasher.update(part.len().to_le_bytes());
        hasher.update(part.as_bytes());
    }
    format!("{method}:{}", hex(&hasher.finalize()))
}

/// Forgets keys older than [`RETENTION_HOURS`] at `now`; returns how many.
pub async fn sweep(conn: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let before = now - chrono::Duration::hours(RETENTION_HOURS);
    Ok(entity::Entity::delete_many()
        .filter(entity::Column::CreatedAt.lt(before))
        .exec(conn)
        .await?
        .rows_affected)
}

/// Fingerprint of a request by a caller: the same id with another body, or from another caller,
/// is a different request.
pub fn fingerprint(subject: &str, request: &impl Message) -> String {
    let mut hasher = Sha256::new();
    hasher.update(subject.as_bytes());
    hasher.update([0]);
    hasher.update(request.encode_to_vec());
    hex(&hasher.finalize())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Looks up a stored response. `Ok(None)` when the key is new (or empty).
pub async fn lookup<M: Message + Default>(
    conn: &impl ConnectionTrait,
    scope: &str,
    request_id: &str,
    fingerprint: &str,
) -> Result<Option<M>, ApiError> {
    if request_id.is_empty() {
        return Ok(None);
    }
    let row = entity::Entity::find_by_id((scope.to_owned(), request_id.to_owned()))
        .one(conn)
        .await
        .map_err(|error| ApiError::internal("reading an idempotency key", &error))?;
    match row {
        None => Ok(None),
        Some(row) if row.fingerprint != fingerprint => Err(reused(request_id)),
        Some(row) => M::decode(row.response.as_slice())
            .map(Some)
            .map_err(|error| ApiError::internal("decoding a stored response", &error)),
    }
}

/// Stores the response under the key at `now` (no-op for an empty key).
pub async fn remember(
    conn: &impl ConnectionTrait,
    scope: &str,
    request_id: &str,
    fingerprint: &str,
    response: &impl Message,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if request_id.is_empty() {
        return Ok(());
    }
    entity::Entity::insert(entity::ActiveModel {
        scope: Set(scope.to_owned()),
        request_id: Set(request_id.to_owned()),
        fingerprint: Set(fingerprint.to_owned()),
        response: Set(response.encode_to_vec()),
        created_at: Set(now),
    })
    .exec_without_returning(conn)
    .await
    .map(|_| ())
}

fn reused(request_id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidArgument,
        ErrorReason::RequestIdReused,
        format!("request_id {request_id:?} was already used for a different request"),
    )
    .with_field_violation("request_id", "was already used for a different request")
}
