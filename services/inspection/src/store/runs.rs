//! Monitoring runs: asked for, taken in order by one replica, updated as they go.

use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};

use super::{corrupt, entity::monitoring_run as row, stamp};
use crate::domain::run::{MonitoringRun, RunMode, RunState};

fn run_of(model: row::Model) -> Result<MonitoringRun, DbErr> {
    Ok(MonitoringRun {
        mode: RunMode::from_i32(model.mode).ok_or_else(|| corrupt("run mode", model.mode))?,
        state: RunState::from_i32(model.state).ok_or_else(|| corrupt("run state", model.state))?,
        created: stamp(model.created_at, model.created_by, model.created_by_org),
        id: model.id,
        mode_reason: model.mode_reason,
        as_of: model.as_of,
        scheme: (model.scheme_id, model.scheme_version),
        accounts_active: model.accounts_active,
        accounts_checked: model.accounts_checked,
        new_posts: model.new_posts,
        counts: [model.passed, model.failed, model.incomplete],
        lexicon_fingerprint: model.lexicon_fingerprint,
        post_mark: model.post_mark,
        started: model.started_at,
        finished: model.finished_at,
        error: model.error,
    })
}

fn model_of(run: &MonitoringRun) -> row::ActiveModel {
    row::ActiveModel {
        seq: NotSet,
        id: Set(run.id.clone()),
        mode: Set(run.mode as i32),
        mode_reason: Set(run.mode_reason.clone()),
        state: Set(run.state as i32),
        as_of: Set(run.as_of),
        scheme_id: Set(run.scheme.0.clone()),
        scheme_version: Set(run.scheme.1),
        accounts_active: Set(run.accounts_active),
        accounts_checked: Set(run.accounts_checked),
        new_posts: Set(run.new_posts),
        passed: Set(run.counts[0]),
        failed: Set(run.counts[1]),
        incomplete: Set(run.counts[2]),
        lexicon_fingerprint: Set(run.lexicon_fingerprint.clone()),
        post_mark: Set(run.post_mark),
        started_at: Set(run.started),
        finished_at: Set(run.finished),
        error: Set(run.error.clone()),
        created_at: Set(run.created.time),
        created_by: Set(run.created.actor.clone()),
        created_by_org: Set(run.created.actor_organization.clone()),
    }
}

/// Stores a new run.
pub async fn insert(conn: &impl ConnectionTrait, run: &MonitoringRun) -> Result<(), DbErr> {
    row::Entity::insert(model_of(run))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Writes `run` over its stored row.
pub async fn update(conn: &impl ConnectionTrait, run: &MonitoringRun) -> Result<(), DbErr> {
    let mut model = model_of(run);
    model.id = NotSet;
    row::Entity::update_many()
        .set(model)
        .filter(row::Column::Id.eq(run.id.clone()))
        .exec(conn)
        .await?;
    Ok(())
}

/// The run `id`.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<MonitoringRun>, DbErr> {
    row::Entity::find()
        .filter(row::Column::Id.eq(id))
        .one(conn)
        .await?
        .map(run_of)
        .transpose()
}

/// The oldest run in `state`.
pub async fn oldest_in(
    conn: &impl ConnectionTrait,
    state: RunState,
) -> Result<Option<MonitoringRun>, DbErr> {
    row::Entity::find()
        .filter(row::Column::State.eq(state as i32))
        .order_by_asc(row::Column::Seq)
        .one(conn)
        .await?
        .map(run_of)
        .transpose()
}

/// The newest run that is done.
pub async fn last_done(conn: &impl ConnectionTrait) -> Result<Option<MonitoringRun>, DbErr> {
    row::Entity::find()
        .filter(row::Column::State.eq(RunState::Done as i32))
        .order_by_desc(row::Column::Seq)
        .one(conn)
        .await?
        .map(run_of)
        .transpose()
}

/// Marks every RUNNING run FAILED with `why`: a replica that took the lease finds what its
/// predecessor left half done.
pub async fn abandon_running(conn: &impl ConnectionTrait, why: &str) -> Result<u64, DbErr> {
    Ok(row::Entity::update_many()
        .col_expr(row::Column::State, Expr::value(RunState::Failed as i32))
        .col_expr(row::Column::Error, Expr::value(why.to_owned()))
        .filter(row::Column::State.eq(RunState::Running as i32))
        .exec(conn)
        .await?
        .rows_affected)
}

/// A page of runs, newest first, after the sequence `after`; with each its sequence.
pub async fn list(
    conn: &impl ConnectionTrait,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<(MonitoringRun, i64)>, DbErr> {
    let mut query = row::Entity::find();
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
            run_of(model).map(|run| (run, seq))
        })
        .collect()
}
