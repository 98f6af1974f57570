//! Statistics of cases per account or department over a period: what the inspection service
//! (hollow interaction) and the vendor service (reply timeliness, satisfaction) read.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use govmedia_kit::{auth::Principal, error::Violations, validate};
use govmedia_proto::routing::v1 as pb;

use super::{RoutingApi, convert};
use crate::{
    domain::{CaseState, Satisfaction},
    error::RoutingError,
    store::{self, cases::Counted},
};

/// Cases read per query.
const PAGE: u64 = 5_000;

fn rate(part: i32, whole: i32) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (f64::from(part) / f64::from(whole) * 10_000.0).round() / 10_000.0
    }
}

/// Whether each side is late on `case` as of `now`: a deadline missed before (the stored flags),
/// or the running one passed already (whether or not the scheduler has fired it yet).
fn late(case: &Counted, now: DateTime<Utc>) -> (bool, bool) {
    let passed = |due: Option<DateTime<Utc>>| due.is_some_and(|due| now > due);
    let state = CaseState::from_i32(case.state);
    let dispatcher = case.dispatcher_overdue
        || (state == Some(CaseState::Received) && passed(case.dispatch_due));
    let department = case.department_overdue
        || (state == Some(CaseState::Dispatched) && passed(case.sign_due))
        || (matches!(state, Some(CaseState::Signed | CaseState::Reviewing))
            && passed(case.handling_due));
    (dispatcher, department)
}

/// Adds `case` to `row`; `returns` says whether the row counts the case's returns (the total
/// and account rows do; a department's row counts the cases that department returned).
fn add(row: &mut pb::CaseStatisticsRow, case: &Counted, now: DateTime<Utc>, returns: bool) {
    let (dispatcher_late, department_late) = late(case, now);
    let dispatched = case.dispatched_time.is_some();
    row.received += 1;
    // A reopened case was answered (and rated dissatisfied) before it went back to the
    // department, whatever its state now.
    let answered = case.state == CaseState::Replied as i32
        || case.state == CaseState::Closed as i32
        || case.reopen_count > 0;
    row.answered += i32::from(answered);
    row.dispatch_on_time += i32::from(!dispatcher_late);
    row.dispatched += i32::from(dispatched);
    row.department_on_time += i32::from(dispatched && !department_late);
    row.overdue += i32::from(dispatcher_late || department_late);
    if returns {
        row.returned += i32::from(case.return_count > 0);
    }
    row.extended += i32::from(case.ever_extended);
    // The case's latest rating: a reopened case not rated again keeps the dissatisfaction
    // that reopened it (reopening clears the case's rating for the next reply).
    let latest = case
        .satisfaction
        .and_then(Satisfaction::from_i32)
        .or((case.reopen_count > 0).then_some(Satisfaction::Dissatisfied));
    if let Some(satisfaction) = latest {
        row.rated += 1;
        row.satisfied += i32::from(satisfaction != Satisfaction::Dissatisfied);
    }
    row.reopened += i32::from(case.reopen_count > 0);
}

fn finish(mut row: pb::CaseStatisticsRow) -> pb::CaseStatisticsRow {
    row.dispatch_on_time_rate = rate(row.dispatch_on_time, row.received);
    row.department_on_time_rate = rate(row.department_on_time, row.dispatched);
    row.satisfaction_rate = rate(row.satisfied, row.rated);
    row.reopen_rate = rate(row.reopened, row.answered);
    row
}

/// The row of `key`, new if need be.
fn row_of(
    groups: &mut BTreeMap<String, pb::CaseStatisticsRow>,
    key: String,
) -> &mut pb::CaseStatisticsRow {
    groups
        .entry(key.clone())
        .or_insert_with(|| pb::CaseStatisticsRow {
            key,
            ..Default::default()
        })
}

pub(super) async fn get(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::GetCaseStatisticsRequest,
) -> Result<pb::CaseStatistics, RoutingError> {
    let mut v = Violations::new();
    let organization = validate::resource_id(
        &mut v,
        "organization",
        &req.organization,
        "organizations",
        false,
    );
    let period = validate::period(
        &mut v,
        "",
        ("period_start", req.period_start.as_ref()),
        ("period_end", req.period_end.as_ref()),
    );
    let grouping = match pb::StatisticsGrouping::try_from(req.grouping) {
        Ok(grouping) => Some(grouping),
        Err(_) => {
            v.add("grouping", "is not a StatisticsGrouping value");
            None
        }
    };
    v.finish()?;
    let (Some((start, end)), Some(grouping)) = (period, grouping) else {
        return Err(super::unvalidated("period"));
    };
    let scope = api
        .registry
        .as_caller(principal)
        .scope(organization.as_deref())
        .await?;
    let mut total = pb::CaseStatisticsRow::default();
    let mut groups: BTreeMap<String, pb::CaseStatisticsRow> = BTreeMap::new();
    let now = api.writer.clock().now();
    let mut after: Option<String> = None;
    loop {
        let page =
            store::cases::counted(api.conn(), &scope.path, start, end, after.as_deref(), PAGE)
                .await?;
        for case in &page {
            add(&mut total, case, now, true);
            let key = match grouping {
                pb::StatisticsGrouping::Unspecified => None,
                pb::StatisticsGrouping::Account => Some(convert::account_name(&case.account_id)),
                pb::StatisticsGrouping::Department => case
                    .department_id
                    .as_deref()
                    .map(convert::organization_name),
            };
            if let Some(key) = key {
                let returns = grouping != pb::StatisticsGrouping::Department;
                add(row_of(&mut groups, key), case, now, returns);
            }
        }
        if grouping == pb::StatisticsGrouping::Department {
            // Returns go to the department that made them, not to the one the case went on to.
            let ids: Vec<String> = page.iter().map(|case| case.id.clone()).collect();
            for (_, department) in store::cases::returned_by(api.conn(), &ids).await? {
                row_of(&mut groups, convert::organization_name(&department)).returned += 1;
            }
        }
        if (page.len() as u64) < PAGE {
            break;
        }
        after = page.last().map(|c| c.id.clone());
    }
    Ok(pb::CaseStatistics {
        total: Some(finish(total)),
        rows: groups.into_values().map(finish).collect(),
    })
}
