//! Feeds: registered, polled when due, listed, deleted.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};

use super::{entity::feed as row, stamp, under};
use crate::domain::feed::Feed;

fn feed_of(model: row::Model) -> Feed {
    Feed {
        created: stamp(model.created_at, model.created_by, model.created_by_org),
        id: model.id,
        account: model.account_id,
        organization: model.organization_id,
        path: model.org_path,
        url: model.url,
        etag: model.etag,
        last_modified: model.last_modified,
        last_polled: model.last_polled_at,
        next_poll: model.next_poll_at,
        failures: model.failures,
        last_error: model.last_error,
        posts_taken: model.posts_taken,
    }
}

/// Stores a new feed; a unique violation means its id is taken.
pub async fn insert(conn: &impl ConnectionTrait, feed: &Feed) -> Result<(), DbErr> {
    row::Entity::insert(row::ActiveModel {
        seq: NotSet,
        id: Set(feed.id.clone()),
        account_id: Set(feed.account.clone()),
        organization_id: Set(feed.organization.clone()),
        org_path: Set(feed.path.clone()),
        url: Set(feed.url.clone()),
        etag: Set(feed.etag.clone()),
        last_modified: Set(feed.last_modified.clone()),
        last_polled_at: Set(feed.last_polled),
        next_poll_at: Set(feed.next_poll),
        failures: Set(feed.failures),
        last_error: Set(feed.last_error.clone()),
        posts_taken: Set(feed.posts_taken),
        created_at: Set(feed.created.time),
        created_by: Set(feed.created.actor.clone()),
        created_by_org: Set(feed.created.actor_organization.clone()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Records a poll of `feed` (its validators, times, failures and counts as they are now);
/// false when the feed was deleted meanwhile.
pub async fn record_poll(conn: &impl ConnectionTrait, feed: &Feed) -> Result<bool, DbErr> {
    Ok(row::Entity::update_many()
        .col_expr(row::Column::Etag, Expr::value(feed.etag.clone()))
        .col_expr(
            row::Column::LastModified,
            Expr::value(feed.last_modified.clone()),
        )
        .col_expr(row::Column::LastPolledAt, Expr::value(feed.last_polled))
        .col_expr(row::Column::NextPollAt, Expr::value(feed.next_poll))
        .col_expr(row::Column::Failures, Expr::value(feed.failures))
        .col_expr(row::Column::LastError, Expr::value(feed.last_error.clone()))
        .col_expr(row::Column::PostsTaken, Expr::value(feed.posts_taken))
        .filter(row::Column::Id.eq(feed.id.clone()))
        .exec(conn)
        .await?
        .rows_affected
        > 0)
}

/// The feed `id`.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Feed>, DbErr> {
    Ok(row::Entity::find()
        .filter(row::Column::Id.eq(id))
        .one(conn)
        .await?
        .map(feed_of))
}

/// Deletes the feed `id`.
pub async fn delete(conn: &impl ConnectionTrait, id: &str) -> Result<(), DbErr> {
    row::Entity::delete_many()
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// At most `limit` feeds due at `now`, the longest waiting first.
pub async fn due(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Feed>, DbErr> {
    Ok(row::Entity::find()
        .filter(row::Column::NextPollAt.lte(now))
        .order_by_asc(row::Column::NextPollAt)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(feed_of)
        .collect())
}

/// A page of the feeds under `path` (of `account`, when given), newest first, after the
/// sequence `after`; with each its sequence.
pub async fn list(
    conn: &impl ConnectionTrait,
    path: &str,
    account: Option<&str>,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<(Feed, i64)>, DbErr> {
    let mut query = row::Entity::find().filter(under(row::Column::OrgPath, path));
    if let Some(account) = account {
        query = query.filter(row::Column::AccountId.eq(account));
    }
    if let Some(after) = after {
        query = query.filter(row::Column::Seq.lt(after));
    }
    Ok(query
        .order_by_desc(row::Column::Seq)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|model| {
            let seq = model.seq;
            (feed_of(model), seq)
        })
        .collect())
}
