//! Queries on `delegations` and `delegation_handovers`.

use std::collections::HashMap;

use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};

use super::{
    corrupt,
    entity::{delegation as row, handover},
    stamp,
};
use crate::domain::{Delegation, DelegationStatus, Handover, HandoverState, Reviewer, Scope};

fn to_domain(model: row::Model, handovers: Vec<Handover>) -> Result<Delegation, DbErr> {
    Ok(Delegation {
        scope: Scope::from_i32(model.scope).ok_or_else(|| corrupt("scope", model.scope))?,
        status: DelegationStatus::from_i32(model.status)
            .ok_or_else(|| corrupt("delegation status", model.status))?,
        id: model.id,
        vendor: model.vendor_id,
        organization: model.organization_id,
        organization_path: model.org_path,
        start_time: model.start_time,
        end_time: model.end_time,
        reviewer: Reviewer {
            display_name: model.reviewer_name,
            title: model.reviewer_title,
            phone: model.reviewer_phone,
            departed: model.reviewer_departed,
        },
        review_mechanism: model.review_mechanism,
        handovers,
        end_reason: model.end_reason,
        ended: model.ended_at,
        created: stamp(model.created_at, model.created_by, model.created_by_org),
        updated: stamp(model.updated_at, model.updated_by, model.updated_by_org),
        version: model.version,
    })
}

fn to_row(delegation: &Delegation) -> row::ActiveModel {
    row::ActiveModel {
        seq: NotSet,
        id: Set(delegation.id.clone()),
        vendor_id: Set(delegation.vendor.clone()),
        organization_id: Set(delegation.organization.clone()),
        org_path: Set(delegation.organization_path.clone()),
        scope: Set(delegation.scope as i32),
        start_time: Set(delegation.start_time),
        end_time: Set(delegation.end_time),
        reviewer_name: Set(delegation.reviewer.display_name.clone()),
        reviewer_title: Set(delegation.reviewer.title.clone()),
        reviewer_phone: Set(delegation.reviewer.phone.clone()),
        reviewer_departed: Set(delegation.reviewer.departed),
        review_mechanism: Set(delegation.review_mechanism.clone()),
        status: Set(delegation.status as i32),
        end_reason: Set(delegation.end_reason.clone()),
        ended_at: Set(delegation.ended),
        created_at: Set(delegation.created.time),
        created_by: Set(delegation.created.actor.clone()),
        created_by_org: Set(delegation.created.actor_organization.clone()),
        updated_at: Set(delegation.updated.time),
        updated_by: Set(delegation.updated.actor.clone()),
        updated_by_org: Set(delegation.updated.actor_organization.clone()),
        version: Set(delegation.version),
    }
}

fn handover_to_domain(model: handover::Model) -> Result<Handover, DbErr> {
    Ok(Handover {
        state: HandoverState::from_i32(model.state)
            .ok_or_else(|| corrupt("handover state", model.state))?,
        account: model.account_id,
        start_filing: model.start_filing,
        end_filing: model.end_filing,
        detail: model.detail,
    })
}

async fn with_handovers(
    conn: &impl ConnectionTrait,
    models: Vec<row::Model>,
) -> Result<Vec<Delegation>, DbErr> {
    if models.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = models.iter().map(|model| model.id.clone()).collect();
    let mut by_delegation: HashMap<String, Vec<Handover>> = HashMap::new();
    for model in handover::Entity::find()
        .filter(handover::Column::DelegationId.is_in(ids))
        .order_by_asc(handover::Column::DelegationId)
        .order_by_asc(handover::Column::Position)
        .all(conn)
        .await?
    {
        by_delegation
            .entry(model.delegation_id.clone())
            .or_default()
            .push(handover_to_domain(model)?);
    }
    models
        .into_iter()
        .map(|model| {
            let handovers = by_delegation.remove(&model.id).unwrap_or_default();
            to_domain(model, handovers)
        })
        .collect()
}

/// The delegation `id` with its handovers.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Delegation>, DbErr> {
    let Some(model) = row::Entity::find()
        .filter(row::Column::Id.eq(id))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(with_handovers(conn, vec![model]).await?.pop())
}

/// Stores a new delegation and its handovers.
pub async fn insert(conn: &impl ConnectionTrait, delegation: &Delegation) -> Result<(), DbErr> {
    row::Entity::insert(to_row(delegation)).exec(conn).await?;
    for (position, handover) in delegation.handovers.iter().enumerate() {
        handover::Entity::insert(handover::ActiveModel {
            seq: NotSet,
            delegation_id: Set(delegation.id.clone()),
            position: Set(position as i32),
            account_id: Set(handover.account.clone()),
            state: Set(handover.state as i32),
            start_filing: Set(handover.start_filing.clone()),
            end_filing: Set(handover.end_filing.clone()),
            detail: Set(handover.detail.clone()),
        })
        .exec(conn)
        .await?;
    }
    Ok(())
}

/// Stores `delegation` (and its handovers' states) if its stored version is still `expected`;
/// false when it is not.
pub async fn update(
    conn: &impl ConnectionTrait,
    delegation: &Delegation,
    expected: i64,
) -> Result<bool, DbErr> {
    let mut changed = to_row(delegation);
    changed.created_at = NotSet;
    changed.created_by = NotSet;
    changed.created_by_org = NotSet;
    let result = row::Entity::update_many()
        .set(changed)
        .filter(row::Column::Id.eq(delegation.id.clone()))
        .filter(row::Column::Version.eq(expected))
        .exec(conn)
        .await?;
    if result.rows_affected != 1 {
        return Ok(false);
    }
    for handover in &delegation.handovers {
        handover::Entity::update_many()
            .set(handover::ActiveModel {
                state: Set(handover.state as i32),
                end_filing: Set(handover.end_filing.clone()),
                detail: Set(handover.detail.clone()),
                ..Default::default()
            })
            .filter(handover::Column::DelegationId.eq(delegation.id.clone()))
            .filter(handover::Column::AccountId.eq(handover.account.clone()))
            .exec(conn)
            .await?;
    }
    Ok(true)
}

/// The delegations that hold any of `accounts` (a handover that is starting, operating, ending
/// or whose return was refused), for the overlap check. On PostgreSQL the accounts are locked
/// first (in one order, to the end of the transaction), so two delegations of one account that
/// are created at once are checked one after the other; SQLite serializes writers anyway.
pub async fn holding(
    conn: &impl ConnectionTrait,
    accounts: &[String],
) -> Result<Vec<Delegation>, DbErr> {
    if conn.get_database_backend() == DbBackend::Postgres {
        let mut sorted = accounts.to_vec();
        sorted.sort();
        sorted.dedup();
        for account in sorted {
            conn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':delegation:' || $1))",
                [account.into()],
            ))
            .await?;
        }
    }
    let holders: Vec<i32> = HandoverState::ALL
        .iter()
        .filter(|state| state.holds())
        .map(|state| *state as i32)
        .collect();
    let ids: Vec<String> = handover::Entity::find()
        .filter(handover::Column::AccountId.is_in(accounts.iter().cloned()))
        .filter(handover::Column::State.is_in(holders))
        .all(conn)
        .await?
        .into_iter()
        .map(|model| model.delegation_id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let models = row::Entity::find()
        .filter(row::Column::Id.is_in(ids))
        .order_by_asc(row::Column::Seq)
        .all(conn)
        .await?;
    with_handovers(conn, models).await
}

/// The delegation whose handover waits for the filing `filing` (as start or end filing).
pub async fn by_filing(
    conn: &impl ConnectionTrait,
    filing: &str,
) -> Result<Option<Delegation>, DbErr> {
    let Some(model) = handover::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(handover::Column::StartFiling.eq(filing))
                .add(handover::Column::EndFiling.eq(filing)),
        )
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    get(conn, &model.delegation_id).await
}

/// What a listing is filtered by.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Delegations of units in this subtree.
    pub path: Option<String>,
    /// Delegations to this vendor.
    pub vendor: Option<String>,
    /// In this status.
    pub status: Option<DelegationStatus>,
}

/// A page of delegations, newest first, before the one numbered `before`. Returns each with its
/// sequence number (the page key).
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &Filter,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<(i64, Delegation)>, DbErr> {
    let mut query = row::Entity::find();
    if let Some(path) = &filter.path {
        query = query.filter(govmedia_kit::store::starts_with(row::Column::OrgPath, path));
    }
    if let Some(vendor) = &filter.vendor {
        query = query.filter(row::Column::VendorId.eq(vendor.clone()));
    }
    if let Some(status) = filter.status {
        query = query.filter(row::Column::Status.eq(status as i32));
    }
    if let Some(before) = before {
        query = query.filter(row::Column::Seq.lt(before));
    }
    let models = query
        .order_by_desc(row::Column::Seq)
        .limit(limit)
        .all(conn)
        .await?;
    let seqs: Vec<i64> = models.iter().map(|model| model.seq).collect();
    let delegations = with_handovers(conn, models).await?;
    Ok(seqs.into_iter().zip(delegations).collect())
}

/// The delegations of `vendor` that have not been ended, oldest first.
pub async fn open_of_vendor(
    conn: &impl ConnectionTrait,
    vendor: &str,
) -> Result<Vec<Delegation>, DbErr> {
    let models = row::Entity::find()
        .filter(row::Column::VendorId.eq(vendor))
        .filter(row::Column::EndedAt.is_null())
        .order_by_asc(row::Column::Seq)
        .all(conn)
        .await?;
    with_handovers(conn, models).await
}

/// The delegations of units in the subtree at `path` that may still hold an account (not
/// REFUSED or ENDED), oldest first.
pub async fn live_in(conn: &impl ConnectionTrait, path: &str) -> Result<Vec<Delegation>, DbErr> {
    let models = row::Entity::find()
        .filter(govmedia_kit::store::starts_with(row::Column::OrgPath, path))
        .filter(row::Column::Status.is_not_in([
            DelegationStatus::Refused as i32,
            DelegationStatus::Ended as i32,
        ]))
        .order_by_asc(row::Column::Seq)
        .all(conn)
        .await?;
    with_handovers(conn, models).await
}

/// Every delegation of `vendor`, oldest first.
pub async fn of_vendor(
    conn: &impl ConnectionTrait,
    vendor: &str,
) -> Result<Vec<Delegation>, DbErr> {
    let models = row::Entity::find()
        .filter(row::Column::VendorId.eq(vendor))
        .order_by_asc(row::Column::Seq)
        .all(conn)
        .await?;
    with_handovers(conn, models).await
}
