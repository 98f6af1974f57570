//! Rectification orders: stored whole (rounds as JSON), changed under their version, listed
//! newest first; and the citations that keep a finding in at most one order not yet verified.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};

use super::{
    corrupt,
    entity::{rectification_citation as citation, rectification_order as row},
    from_json, json, stamp, under,
};
use crate::domain::{
    Scheme,
    rectification::{Order, OrderState},
};

fn order_of(model: row::Model) -> Result<Order, DbErr> {
    let rounds: Vec<crate::domain::rectification::Round> =
        from_json("order rounds", &model.rounds)?;
    if rounds.is_empty() {
        return Err(corrupt("order rounds of", &model.id));
    }
    Ok(Order {
        state: OrderState::from_i32(model.state).ok_or_else(|| corrupt("state", model.state))?,
        findings: from_json("order findings", &model.findings)?,
        rounds,
        created: stamp(model.created_at, model.created_by, model.created_by_org),
        id: model.id,
        account: model.account_id,
        organization: model.organization_id,
        path: model.org_path,
        requirement: model.requirement,
        scheme: model.scheme_id,
        scheme_version: model.scheme_version,
        version: model.version,
    })
}

fn round_of(order: &Order) -> i32 {
    i32::try_from(order.round()).unwrap_or(i32::MAX)
}

/// Stores a new order, with the scheme version its re-checks use, and its citations. A unique violation on the citations means another
/// order not yet verified cites one of its findings (see [`citing`]).
pub async fn insert(
    conn: &impl ConnectionTrait,
    order: &Order,
    scheme: &Scheme,
) -> Result<(), DbErr> {
    citation::Entity::insert_many(order.findings.iter().map(|finding| citation::ActiveModel {
        finding_id: Set(finding.clone()),
        order_id: Set(order.id.clone()),
    }))
    .exec_without_returning(conn)
    .await?;
    row::Entity::insert(row::ActiveModel {
        seq: NotSet,
        id: Set(order.id.clone()),
        account_id: Set(order.account.clone()),
        organization_id: Set(order.organization.clone()),
        org_path: Set(order.path.clone()),
        findings: Set(json(&order.findings)?),
        requirement: Set(order.requirement.clone()),
        scheme_id: Set(order.scheme.clone()),
        scheme_version: Set(order.scheme_version),
        scheme_body: Set(json(scheme)?),
        state: Set(order.state as i32),
        round: Set(round_of(order)),
        due_at: Set(order.due()),
        rounds: Set(json(&order.rounds)?),
        version: Set(order.version),
        created_at: Set(order.created.time),
        created_by: Set(order.created.actor.clone()),
        created_by_org: Set(order.created.actor_organization.clone()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Writes `order` changed from `previous_version`; false when someone else changed it
/// meanwhile (nothing written). A verified order releases its findings.
pub async fn update(
    conn: &impl ConnectionTrait,
    order: &Order,
    previous_version: i32,
) -> Result<bool, DbErr> {
    let result = row::Entity::update_many()
        .col_expr(row::Column::State, Expr::value(order.state as i32))
        .col_expr(row::Column::Round, Expr::value(round_of(order)))
        .col_expr(row::Column::DueAt, Expr::value(order.due()))
        .col_expr(row::Column::Rounds, Expr::value(json(&order.rounds)?))
        .col_expr(row::Column::Version, Expr::value(order.version))
        .filter(row::Column::Id.eq(order.id.as_str()))
        .filter(row::Column::Version.eq(previous_version))
        .exec(conn)
        .await?;
    if result.rows_affected != 1 {
        return Ok(false);
    }
    if order.state == OrderState::Verified {
        citation::Entity::delete_many()
            .filter(citation::Column::OrderId.eq(order.id.as_str()))
            .exec(conn)
            .await?;
    }
    Ok(true)
}

/// The order `id`.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Order>, DbErr> {
    row::Entity::find()
        .filter(row::Column::Id.eq(id))
        .one(conn)
        .await?
        .map(order_of)
        .transpose()
}

/// The scheme version the re-checks of order `id` use, as it was when the order was opened.
pub async fn pinned_scheme(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Scheme>, DbErr> {
    row::Entity::find()
        .select_only()
        .column(row::Column::SchemeBody)
        .filter(row::Column::Id.eq(id))
        .into_tuple::<String>()
        .one(conn)
        .await?
        .map(|body| from_json("order scheme", &body))
        .transpose()
}

/// Of `findings`, those an order not yet verified cites, with that order's id.
pub async fn citing(
    conn: &impl ConnectionTrait,
    findings: &[String],
) -> Result<Vec<(String, String)>, DbErr> {
    Ok(citation::Entity::find()
        .filter(citation::Column::FindingId.is_in(findings.iter().cloned()))
        .all(conn)
        .await?
        .into_iter()
        .map(|model| (model.finding_id, model.order_id))
        .collect())
}

/// What a listing of orders is limited to.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Accounts under this path.
    pub path: String,
    /// Only this account.
    pub account: Option<String>,
    /// Only this state.
    pub state: Option<OrderState>,
    /// Only orders waiting for an answer whose due time is at or before this instant.
    pub overdue_at: Option<DateTime<Utc>>,
}

/// A page of orders, newest first, after the sequence `after`; with each its sequence.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &Filter,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<(Order, i64)>, DbErr> {
    let mut query = row::Entity::find().filter(under(row::Column::OrgPath, &filter.path));
    if let Some(account) = &filter.account {
        query = query.filter(row::Column::AccountId.eq(account.clone()));
    }
    if let Some(state) = filter.state {
        query = query.filter(row::Column::State.eq(state as i32));
    }
    if let Some(now) = filter.overdue_at {
        query = query
            .filter(row::Column::State.eq(OrderState::Open as i32))
            .filter(row::Column::DueAt.lte(now));
    }
    if let Some(after) = after {
        query = query.filter(row::Column::Seq.lt(after));
    }
    query
        .order_by_desc(row::Column::Seq)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|model| {
            let seq = model.seq;
            order_of(model).map(|order| (order, seq))
        })
        .collect()
}

/// The orders under `path` (or only of `account`) that a closure recommendation may rest on:
/// those not verified, and those opened at or after `since`.
pub async fn closure_candidates(
    conn: &impl ConnectionTrait,
    path: &str,
    account: Option<&str>,
    since: DateTime<Utc>,
) -> Result<Vec<Order>, DbErr> {
    let mut query = row::Entity::find()
        .filter(under(row::Column::OrgPath, path))
        .filter(
            sea_orm::Condition::any()
                .add(row::Column::State.ne(OrderState::Verified as i32))
                .add(row::Column::CreatedAt.gte(since)),
        );
    if let Some(account) = account {
        query = query.filter(row::Column::AccountId.eq(account));
    }
    query
        .order_by_asc(row::Column::Seq)
        .all(conn)
        .await?
        .into_iter()
        .map(order_of)
        .collect()
}

/// The orders opened in `[start, end)` on accounts under `path`, oldest first.
pub async fn opened_between(
    conn: &impl ConnectionTrait,
    path: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<Order>, DbErr> {
    row::Entity::find()
        .filter(under(row::Column::OrgPath, path))
        .filter(row::Column::CreatedAt.gte(start))
        .filter(row::Column::CreatedAt.lt(end))
        .order_by_asc(row::Column::Seq)
        .all(conn)
        .await?
        .into_iter()
        .map(order_of)
        .collect()
}
