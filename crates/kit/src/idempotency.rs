//! Idempotency keys for writes (AIP-155). The stored response and the key commit in the same
//! transaction as the change, so a repeated request either finds the key and gets the first
//! response, or runs the change for the first time; never both, never twice.
//!
//! The key is claimed first thing in the write's transaction ([`claim`]): a twin of the request
//! running at the same moment (a retry that reached another replica) waits on the claim until the
//! first commits, then finds its response, instead of racing it to the change and failing on
//! whatever unique constraint the change meets first.
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

/// Claims the key for this transaction at `now`: true when it is this request's to run (or the
/// key is empty), false when a request with the same key committed first (its response, or a
/// REQUEST_ID_REUSED, is then what [`lookup`] finds). A twin still running holds the claim, and
/// this waits until it commits or rolls back (PostgreSQL; SQLite runs one write at a time).
pub async fn claim(
    conn: &impl ConnectionTrait,
    scope: &str,
    request_id: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    if request_id.is_empty() {
        return Ok(true);
    }
    let inserted = entity::Entity::insert(entity::ActiveModel {
        scope: Set(scope.to_owned()),
        request_id: Set(request_id.to_owned()),
        fingerprint: Set(fingerprint.to_owned()),
        response: Set(Vec::new()),
        created_at: Set(now),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::columns([entity::Column::Scope, entity::Column::RequestId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(inserted > 0)
}

/// Stores the response under a key this transaction claimed (no-op for an empty key).
pub async fn remember(
    conn: &impl ConnectionTrait,
    scope: &str,
    request_id: &str,
    response: &impl Message,
) -> Result<(), DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    if request_id.is_empty() {
        return Ok(());
    }
    entity::Entity::update_many()
        .col_expr(
            entity::Column::Response,
            Expr::value(response.encode_to_vec()),
        )
        .filter(entity::Column::Scope.eq(scope))
        .filter(entity::Column::RequestId.eq(request_id))
        .exec(conn)
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
