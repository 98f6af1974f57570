//! Escalation timers: what each open case is waiting to fire, and what fired.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::OnConflict,
};

use super::{corrupt, entity::timer as row};
use crate::domain::escalation::{Level, Timer};

/// A stored timer that has not fired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// Row id.
    pub seq: i64,
    /// The case.
    pub case_id: String,
    /// The timer.
    pub timer: Timer,
}

fn pending(model: row::Model) -> Result<Pending, DbErr> {
    Ok(Pending {
        seq: model.seq,
        case_id: model.case_id,
        timer: Timer {
            level: Level::from_i32(model.level)
                .ok_or_else(|| corrupt("escalation level", model.level))?,
            due: model.due_time,
            fire_at: model.fire_at,
        },
    })
}

/// Makes the unfired timers of `case` exactly `wanted`: the others are dropped, the missing ones
/// added. A timer that fired for the same rung and deadline is not added again.
pub async fn reschedule(
    conn: &impl ConnectionTrait,
    case: &str,
    wanted: &[Timer],
) -> Result<(), DbErr> {
    let stored = row::Entity::find()
        .filter(row::Column::CaseId.eq(case))
        .filter(row::Column::Fired.eq(false))
        .all(conn)
        .await?;
    let stale: Vec<i64> = stored
        .iter()
        .filter(|model| {
            !wanted.iter().any(|timer| {
                timer.level as i32 == model.level
                    && timer.due == model.due_time
                    && timer.fire_at == model.fire_at
            })
        })
        .map(|model| model.seq)
        .collect();
    if !stale.is_empty() {
        row::Entity::delete_many()
            .filter(row::Column::Seq.is_in(stale))
            .exec(conn)
            .await?;
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let rows = wanted.iter().map(|timer| row::ActiveModel {
        case_id: Set(case.to_owned()),
        level: Set(timer.level as i32),
        due_time: Set(timer.due),
        fire_at: Set(timer.fire_at),
        fired: Set(false),
        fired_at: Set(None),
        ..Default::default()
    });
    row::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                row::Column::CaseId,
                row::Column::Level,
                row::Column::DueTime,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// When the earliest unfired timer fires, if any.
pub async fn next_fire(conn: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>, DbErr> {
    Ok(row::Entity::find()
        .filter(row::Column::Fired.eq(false))
        .order_by_asc(row::Column::FireAt)
        .limit(1)
        .one(conn)
        .await?
        .map(|model| model.fire_at))
}

/// The unfired timers due at `now`, earliest first.
pub async fn due(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Pending>, DbErr> {
    row::Entity::find()
        .filter(row::Column::Fired.eq(false))
        .filter(row::Column::FireAt.lte(now))
        .order_by_asc(row::Column::FireAt)
        .order_by_asc(row::Column::Seq)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(pending)
        .collect()
}

/// Marks the timer `seq` fired at `now`; false when it fired already or was dropped (the case
/// changed meanwhile): exactly one transaction wins.
pub async fn mark_fired(
    conn: &impl ConnectionTrait,
    seq: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = row::Entity::update_many()
        .col_expr(row::Column::Fired, true.into())
        .col_expr(row::Column::FiredAt, Some(now).into())
        .filter(row::Column::Seq.eq(seq))
        .filter(row::Column::Fired.eq(false))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
