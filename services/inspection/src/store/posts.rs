//! Posts: taken idempotently, listed per account, read for checks.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{corrupt, entity::post as row, from_json, json, stamp};
use crate::domain::{MediaKind, Post};

fn post_of(model: row::Model) -> Result<Post, DbErr> {
    Ok(Post {
        media: MediaKind::from_i32(model.media_kind)
            .ok_or_else(|| corrupt("media kind", model.media_kind))?,
        links: from_json("post links", &model.links)?,
        received: stamp(model.received_at, model.received_by, model.received_by_org),
        id: model.id,
        account: model.account_id,
        organization: model.organization_id,
        path: model.org_path,
        platform_post_id: model.platform_post_id,
        published: model.published_at,
        title: model.title,
        text: model.body,
        reads: model.reads,
        likes: model.likes,
        comments: model.comments,
        shares: model.shares,
        original: model.original,
        relayed_from: model.relayed_from,
        content_hash: model.content_hash,
    })
}

/// Stores a new post; a unique violation means its twin was taken first.
pub async fn insert(conn: &impl ConnectionTrait, post: &Post) -> Result<(), DbErr> {
    row::Entity::insert(row::ActiveModel {
        seq: NotSet,
        id: Set(post.id.clone()),
        account_id: Set(post.account.clone()),
        organization_id: Set(post.organization.clone()),
        org_path: Set(post.path.clone()),
        platform_post_id: Set(post.platform_post_id.clone()),
        published_at: Set(post.published),
        title: Set(post.title.clone()),
        body: Set(post.text.clone()),
        links: Set(json(&post.links)?),
        media_kind: Set(post.media as i32),
        reads: Set(post.reads),
        likes: Set(post.likes),
        comments: Set(post.comments),
        shares: Set(post.shares),
        original: Set(post.original),
        relayed_from: Set(post.relayed_from.clone()),
        content_hash: Set(post.content_hash.clone()),
        received_at: Set(post.received.time),
        received_by: Set(post.received.actor.clone()),
        received_by_org: Set(post.received.actor_organization.clone()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The post of `account` with the platform's id `platform_post_id`.
pub async fn by_platform_id(
    conn: &impl ConnectionTrait,
    account: &str,
    platform_post_id: &str,
) -> Result<Option<Post>, DbErr> {
    row::Entity::find()
        .filter(row::Column::AccountId.eq(account))
        .filter(row::Column::PlatformPostId.eq(platform_post_id))
        .one(conn)
        .await?
        .map(post_of)
        .transpose()
}

/// The post `id`.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Post>, DbErr> {
    row::Entity::find()
        .filter(row::Column::Id.eq(id))
        .one(conn)
        .await?
        .map(post_of)
        .transpose()
}

/// The sort key of a listing of posts: newest published first, then newest taken.
pub type Key = (i64, i64);

/// A page of the posts of `account`, newest published first, after `after`; with each its key.
pub async fn list(
    conn: &impl ConnectionTrait,
    account: &str,
    after: Option<Key>,
    limit: u64,
) -> Result<Vec<(Post, Key)>, DbErr> {
    let mut query = row::Entity::find().filter(row::Column::AccountId.eq(account));
    if let Some((micros, seq)) = after {
        let at = DateTime::<Utc>::from_timestamp_micros(micros)
            .ok_or_else(|| corrupt("page key", micros))?;
        query = query.filter(
            Condition::any().add(row::Column::PublishedAt.lt(at)).add(
                Condition::all()
                    .add(row::Column::PublishedAt.eq(at))
                    .add(row::Column::Seq.lt(seq)),
            ),
        );
    }
    query
        .order_by_desc(row::Column::PublishedAt)
        .order_by_desc(row::Column::Seq)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|model| {
            let key = (model.published_at.timestamp_micros(), model.seq);
            post_of(model).map(|post| (post, key))
        })
        .collect()
}

/// The posts of `account` published in `(since, until]`, newest first, at most `limit`.
pub async fn published_between(
    conn: &impl ConnectionTrait,
    account: &str,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Post>, DbErr> {
    row::Entity::find()
        .filter(row::Column::AccountId.eq(account))
        .filter(row::Column::PublishedAt.gt(since))
        .filter(row::Column::PublishedAt.lte(until))
        .order_by_desc(row::Column::PublishedAt)
        .order_by_desc(row::Column::Seq)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(post_of)
        .collect()
}

/// Posts with their sequence numbers (the order they were taken in), side by side.
#[derive(Debug, Default)]
pub struct Sequenced {
    /// The posts.
    pub posts: Vec<Post>,
    /// Their sequence numbers, in the same order.
    pub seqs: Vec<i64>,
}

/// The posts of each of `accounts` published in `(since, until]`, newest first, at most `limit`
/// of each, with their sequence numbers: [`published_between`] for many accounts, in one read
/// (an account with more than `limit` in the window is read on its own, with the limit).
pub async fn published_between_many(
    conn: &impl ConnectionTrait,
    accounts: &[String],
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u64,
) -> Result<BTreeMap<String, Sequenced>, DbErr> {
    let window = || {
        Condition::all()
            .add(row::Column::PublishedAt.gt(since))
            .add(row::Column::PublishedAt.lte(until))
    };
    let counts: Vec<(String, i64)> = row::Entity::find()
        .select_only()
        .column(row::Column::AccountId)
        .column_as(row::Column::Seq.count(), "posts")
        .filter(row::Column::AccountId.is_in(accounts.iter().cloned()))
        .filter(window())
        .group_by(row::Column::AccountId)
        .into_tuple()
        .all(conn)
        .await?;
    let (many, few): (Vec<_>, Vec<_>) = counts
        .into_iter()
        .partition(|(_, n)| u64::try_from(*n).unwrap_or(u64::MAX) > limit);
    let mut posts: BTreeMap<String, Sequenced> = BTreeMap::new();
    let mut read = |models: Vec<row::Model>| -> Result<(), DbErr> {
        for model in models {
            let seq = model.seq;
            let post = post_of(model)?;
            let of = match posts.get_mut(&post.account) {
                Some(of) => of,
                None => posts.entry(post.account.clone()).or_default(),
            };
            of.posts.push(post);
            of.seqs.push(seq);
        }
        Ok(())
    };
    if !few.is_empty() {
        read(
            row::Entity::find()
                .filter(row::Column::AccountId.is_in(few.into_iter().map(|(account, _)| account)))
                .filter(window())
                .order_by_asc(row::Column::AccountId)
                .order_by_desc(row::Column::PublishedAt)
                .order_by_desc(row::Column::Seq)
                .all(conn)
                .await?,
        )?;
    }
    for (account, _) in many {
        read(
            row::Entity::find()
                .filter(row::Column::AccountId.eq(account))
                .filter(window())
                .order_by_desc(row::Column::PublishedAt)
                .order_by_desc(row::Column::Seq)
                .limit(limit)
                .all(conn)
                .await?,
        )?;
    }
    Ok(posts)
}

/// The latest post of `account` published at or before `until`: (id, published).
pub async fn latest(
    conn: &impl ConnectionTrait,
    account: &str,
    until: DateTime<Utc>,
) -> Result<Option<(String, DateTime<Utc>)>, DbErr> {
    Ok(row::Entity::find()
        .filter(row::Column::AccountId.eq(account))
        .filter(row::Column::PublishedAt.lte(until))
        .order_by_desc(row::Column::PublishedAt)
        .order_by_desc(row::Column::Seq)
        .one(conn)
        .await?
        .map(|model| (model.id, model.published_at)))
}

/// The highest post sequence taken so far (0 for none).
pub async fn mark(conn: &impl ConnectionTrait) -> Result<i64, DbErr> {
    Ok(row::Entity::find()
        .select_only()
        .column_as(row::Column::Seq.max(), "mark")
        .into_tuple::<Option<i64>>()
        .one(conn)
        .await?
        .flatten()
        .unwrap_or(0))
}

/// The accounts with posts taken after the sequence `after` up to `until`, and how many posts.
pub async fn posted_between(
    conn: &impl ConnectionTrait,
    after: i64,
    until: i64,
) -> Result<Vec<(String, i64)>, DbErr> {
    row::Entity::find()
        .select_only()
        .column(row::Column::AccountId)
        .column_as(row::Column::Seq.count(), "posts")
        .filter(row::Column::Seq.gt(after))
        .filter(row::Column::Seq.lte(until))
        .group_by(row::Column::AccountId)
        .into_tuple::<(String, i64)>()
        .all(conn)
        .await
}

/// Every account's latest post, published.
pub async fn latest_per_account(
    conn: &impl ConnectionTrait,
) -> Result<Vec<(String, DateTime<Utc>)>, DbErr> {
    row::Entity::find()
        .select_only()
        .column(row::Column::AccountId)
        .column_as(row::Column::PublishedAt.max(), "latest")
        .group_by(row::Column::AccountId)
        .into_tuple::<(String, DateTime<Utc>)>()
        .all(conn)
        .await
}

/// Per account under `path`: the posts published in `[since, until)`, their reads and their
/// likes, comments and shares.
pub async fn activity_between(
    conn: &impl ConnectionTrait,
    path: &str,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<std::collections::BTreeMap<String, (u32, i64, i64)>, DbErr> {
    // SUM of a bigint is numeric on PostgreSQL: cast back so both backends answer a bigint.
    let rows = row::Entity::find()
        .select_only()
        .column(row::Column::AccountId)
        .column_as(row::Column::Id.count(), "posts")
        .column_as(
            sea_orm::sea_query::Expr::cust("CAST(COALESCE(SUM(reads), 0) AS BIGINT)"),
            "reads",
        )
        .column_as(
            sea_orm::sea_query::Expr::cust(
                "CAST(COALESCE(SUM(likes + comments + shares), 0) AS BIGINT)",
            ),
            "interactions",
        )
        .filter(super::under(row::Column::OrgPath, path))
        .filter(row::Column::PublishedAt.gte(since))
        .filter(row::Column::PublishedAt.lt(until))
        .group_by(row::Column::AccountId)
        .into_tuple::<(String, i64, i64, i64)>()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(account, posts, reads, interactions)| {
            (
                account,
                (
                    u32::try_from(posts).unwrap_or(u32::MAX),
                    reads,
                    interactions,
                ),
            )
        })
        .collect())
}
