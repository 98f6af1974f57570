//! Rectification order handlers (整改, R-22): a supervisor opens an order from findings, the
//! unit answers, the service re-checks the account under the order's scheme version, the
//! supervisor verifies or rejects; warnings and escalations fire from durable jobs.
//!
//! Every change of an order goes one way ([`change`]): read it, ask the registry what must be
//! asked, open the unit of work, re-read it (ABORTED if it changed meanwhile), let the domain
//! take the step, write it under its version, queue its jobs, publish `RectificationOrderChanged`
//! and audit it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use govmedia_kit::{
    auth::Principal,
    db::is_unique_violation,
    error::{ApiError, Violations},
    jobs::Outcome,
    paging::{Page, fingerprint},
    unit::Unit,
    validate,
};
use govmedia_proto::inspection::v1 as pb;
use serde_json::json;

use super::{InspectionApi, checks, convert, stamp, unvalidated, validation};
use crate::{
    domain::{
        Stamp, closure,
        rectification::{
            Attachment, Change, MAX_DEADLINE_DAYS, MAX_FINDINGS, Opening, Order, OrderError,
            OrderState, Recheck, Schedule,
        },
        scheme::{ItemStatus, NATIONAL, Verdict},
        within,
    },
    error::InspectionError,
    events,
    rectification::{self as jobs, Rung},
    store,
};

/// Longest requirement or decision comment.
pub const MAX_COMMENT: usize = 2_000;

/// Longest answer.
pub const MAX_ANSWER: usize = 4_000;

/// Most links or attachments in an answer.
pub const MAX_EVIDENCE: usize = 20;

/// How long a timer whose due time the calendar cannot give yet waits before asking again.
const NO_CALENDAR_RETRY: Duration = Duration::from_secs(3_600);

/// The deadline of a request: 0 → the configured default; else 1..=60.
fn deadline_days(v: &mut Violations, field: &str, value: i32, default: u32) -> u32 {
    match u32::try_from(value) {
        Ok(0) => default,
        Ok(days) if days <= MAX_DEADLINE_DAYS => days,
        _ => {
            v.add(
                field,
                format!("must be between 1 and {MAX_DEADLINE_DAYS} working days (0: the default, {default})"),
            );
            default
        }
    }
}

/// The etag of a request: empty, or the order's current one.
fn check_etag(sent: &str, order: &Order) -> Result<(), InspectionError> {
    if sent.is_empty() || sent == convert::etag(order.version) {
        Ok(())
    } else {
        Err(stale(order))
    }
}

fn stale(order: &Order) -> InspectionError {
    InspectionError::EtagMismatch {
        resource: convert::order_name(&order.id),
        current: convert::etag(order.version),
    }
}

fn refused(order: &Order, error: OrderError) -> InspectionError {
    InspectionError::Order {
        order: convert::order_name(&order.id),
        error,
    }
}

/// The order `id`; NOT_FOUND when there is none.
async fn load(conn: &impl sea_orm::ConnectionTrait, id: &str) -> Result<Order, InspectionError> {
    store::rectification::get(conn, id)
        .await?
        .ok_or_else(|| InspectionError::NotFound(convert::order_name(id)))
}

/// PERMISSION_DENIED unless `order`'s account lies in `principal`'s jurisdiction.
async fn within_reach(
    api: &InspectionApi,
    principal: &Principal,
    order: &Order,
) -> Result<(), InspectionError> {
    api.in_reach(principal, &order.path, convert::order_name(&order.id))
        .await
}

pub(super) async fn open(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::OpenRectificationOrderRequest,
) -> Result<pb::RectificationOrder, InspectionError> {
    let mut v = Violations::new();
    let id = if req.order_id.is_empty() {
        Some(format!("o{}", uuid::Uuid::now_v7().simple()))
    } else {
        validate::id(&mut v, "order_id", &req.order_id).map(str::to_owned)
    };
    if req.findings.is_empty() {
        v.add(
            "findings",
            "is required: the findings the unit must rectify",
        );
    }
    let ids = validation::resource_ids(&mut v, "findings", &req.findings, "findings", MAX_FINDINGS);
    validate::multiline_text(&mut v, "requirement", &req.requirement, MAX_COMMENT, true);
    let days = deadline_days(
        &mut v,
        "deadline_working_days",
        req.deadline_working_days,
        api.rectification.deadline_days,
    );
    validate::request_id(&mut v, "request_id", &req.request_id);
    v.finish()?;
    if let Some(done) = api
        .writer
        .replayed("OpenRectificationOrder", principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    api.management_only(principal, "opening a rectification order")
        .await?;
    // A finding outside the caller's jurisdiction is as unknown to it as one that does not
    // exist: nothing about it is said.
    let root = api.scope(principal, None).await?;
    let mut findings = Vec::with_capacity(ids.len());
    for id in &ids {
        findings.push(
            store::findings::get(api.conn(), id)
                .await?
                .filter(|finding| within(&root.path, &finding.path))
                .ok_or_else(|| InspectionError::NotFound(convert::finding_name(id)))?,
        );
    }
    let (Some(first), Some(id)) = (findings.first(), id) else {
        return Err(unvalidated("findings"));
    };
    let mut v = Violations::new();
    for (i, finding) in findings.iter().enumerate() {
        if finding.account != first.account {
            v.add(
                format!("findings[{i}]"),
                format!(
                    "one account per order: this is {}",
                    convert::account_name(&finding.account)
                ),
            );
        }
    }
    v.finish()?;
    // The registry refuses an account outside the caller's jurisdiction.
    let account = api.ledger_account(principal, &first.account).await?;
    let scheme = order_scheme(api, &findings).await?;
    let mut unit = api
        .writer
        .begin("OpenRectificationOrder", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    if store::rectification::get(unit.txn(), &id).await?.is_some() {
        return Err(InspectionError::AlreadyExists(convert::order_name(&id)));
    }
    if let Some((finding, order)) = store::rectification::citing(unit.txn(), &ids)
        .await?
        .into_iter()
        .next()
    {
        return Err(InspectionError::FindingCited {
            finding: convert::finding_name(&finding),
            order: convert::order_name(&order),
        });
    }
    let created = stamp(&unit);
    let schedule = api.schedule(&account.path, created.time, days);
    let order = Order::open(
        Opening {
            id,
            account: account.id.clone(),
            organization: account.organization.clone(),
            path: account.path.clone(),
            findings: ids,
            requirement: req.requirement.trim().to_owned(),
            scheme: (scheme.id.clone(), scheme.version),
            deadline: (days, schedule),
        },
        created,
    );
    if let Err(error) = store::rectification::insert(unit.txn(), &order, &scheme).await {
        return Err(if is_unique_violation(&error) {
            // Another order citing one of these findings committed first.
            InspectionError::Api(ApiError::new(
                govmedia_kit::error::ErrorCode::Aborted,
                govmedia_proto::common::v1::ErrorReason::ConcurrentChange,
                "another order citing these findings was opened at the same moment; read the findings' orders and try again",
            ))
        } else {
            error.into()
        });
    }
    jobs::schedule(&unit, &order).await?;
    let response = publish(&mut unit, &order, Change::Opened).await?;
    unit.audit(
        &response.name,
        &convert::organization_name(&order.organization),
        json!({
            "account": response.account,
            "findings": response.findings,
            "deadline_working_days": days,
            "scheme": response.scheme,
            "scheme_version": order.scheme_version,
        }),
    );
    let response = unit.commit(response).await?;
    api.rectifier.notify_one();
    Ok(response)
}

/// The scheme an order's re-checks use: that of the latest check that found one of its
/// findings, in the version that check used; the national scheme for manual findings only.
async fn order_scheme(
    api: &InspectionApi,
    findings: &[crate::domain::Finding],
) -> Result<crate::domain::Scheme, InspectionError> {
    let mut latest: Option<crate::domain::Check> = None;
    for id in findings.iter().filter_map(|f| f.last_check.as_deref()) {
        if let Some(check) = store::checks::get(api.conn(), id).await?
            && latest
                .as_ref()
                .is_none_or(|known| check.created.time > known.created.time)
        {
            latest = Some(check);
        }
    }
    match latest {
        Some(check) => super::schemes::find(api, &check.scheme, check.scheme_version).await,
        None => super::schemes::find(api, NATIONAL, 0).await,
    }
}

pub(super) async fn answer(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::AnswerRectificationOrderRequest,
) -> Result<pb::RectificationOrder, InspectionError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "rectificationOrders", true);
    validate::multiline_text(&mut v, "text", &req.text, MAX_ANSWER, true);
    if req.links.len() > MAX_EVIDENCE {
        v.add("links", format!("at most {MAX_EVIDENCE} links"));
    }
    for (i, link) in req.links.iter().take(MAX_EVIDENCE).enumerate() {
        validation::http_url(&mut v, &format!("links[{i}]"), link);
    }
    if req.attachments.len() > MAX_EVIDENCE {
        v.add("attachments", format!("at most {MAX_EVIDENCE} attachments"));
    }
    let mut attachments: Vec<Attachment> = Vec::new();
    for (i, file) in req.attachments.iter().take(MAX_EVIDENCE).enumerate() {
        let field = |name: &str| format!("attachments[{i}].{name}");
        validate::text(&mut v, &field("name"), &file.name, 200, true);
        if attachments.iter().any(|known| known.name == file.name) {
            v.add(field("name"), "is given to two attachments");
        }
        validate::sha256_hex(&mut v, &field("sha256"), &file.sha256);
        if file.size_bytes < 1 {
            v.add(field("size_bytes"), "must be at least 1");
        }
        if !file.uri.is_empty() {
            validation::http_url(&mut v, &field("uri"), &file.uri);
        }
        attachments.push(Attachment {
            name: file.name.clone(),
            sha256: file.sha256.clone(),
            size_bytes: file.size_bytes,
            uri: (!file.uri.is_empty()).then(|| file.uri.clone()),
        });
    }
    validate::request_id(&mut v, "request_id", &req.request_id);
    v.finish()?;
    let Some(id) = id else {
        return Err(unvalidated("name"));
    };
    if let Some(done) = api
        .writer
        .replayed("AnswerRectificationOrder", principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    let read = load(api.conn(), &id).await?;
    within_reach(api, principal, &read).await?;
    // The unit answers: a management department answers only for its own accounts, so the
    // office that opens and judges orders never answers them for a unit.
    if principal.organization != read.organization && api.in_management(principal).await? {
        return Err(refused(&read, OrderError::OwnAnswer));
    }
    let (text, links) = (req.text.trim().to_owned(), req.links.clone());
    let response = change(
        api,
        principal,
        ("AnswerRectificationOrder", &req.request_id, &req),
        (&read, &req.etag),
        |order, stamp| {
            order
                .answer(text, links, attachments, stamp.clone())
                .map(|()| Change::Answered)
        },
    )
    .await?;
    api.rectifier.notify_one();
    Ok(response)
}

pub(super) async fn verify(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::VerifyRectificationOrderRequest,
) -> Result<pb::RectificationOrder, InspectionError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "rectificationOrders", true);
    validate::multiline_text(&mut v, "comment", &req.comment, MAX_COMMENT, false);
    validate::request_id(&mut v, "request_id", &req.request_id);
    v.finish()?;
    let Some(id) = id else {
        return Err(unvalidated("name"));
    };
    if let Some(done) = api
        .writer
        .replayed("VerifyRectificationOrder", principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    let read = decider(api, principal, &id, "verifying a rectification").await?;
    let comment = req.comment.trim().to_owned();
    change(
        api,
        principal,
        ("VerifyRectificationOrder", &req.request_id, &req),
        (&read, &req.etag),
        |order, stamp| {
            order
                .verify(comment, stamp.clone())
                .map(|()| Change::Verified)
        },
    )
    .await
}

pub(super) async fn reject(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::RejectRectificationOrderRequest,
) -> Result<pb::RectificationOrder, InspectionError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "rectificationOrders", true);
    validate::multiline_text(&mut v, "comment", &req.comment, MAX_COMMENT, true);
    let days = deadline_days(
        &mut v,
        "deadline_working_days",
        req.deadline_working_days,
        api.rectification.deadline_days,
    );
    validate::request_id(&mut v, "request_id", &req.request_id);
    v.finish()?;
    let Some(id) = id else {
        return Err(unvalidated("name"));
    };
    if let Some(done) = api
        .writer
        .replayed("RejectRectificationOrder", principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    let read = decider(api, principal, &id, "rejecting a rectification").await?;
    let comment = req.comment.trim().to_owned();
    let response = change(
        api,
        principal,
        ("RejectRectificationOrder", &req.request_id, &req),
        (&read, &req.etag),
        |order, stamp| {
            let schedule = api.schedule(&order.path, stamp.time, days);
            order
                .reject(comment, stamp.clone(), days, schedule)
                .map(|()| Change::Rejected)
        },
    )
    .await?;
    api.rectifier.notify_one();
    Ok(response)
}

/// The order `id` for a supervisor who decides on it: a management department's, whose
/// jurisdiction holds the account (the domain refuses the account's own unit).
async fn decider(
    api: &InspectionApi,
    principal: &Principal,
    id: &str,
    what: &str,
) -> Result<Order, InspectionError> {
    let read = load(api.conn(), id).await?;
    within_reach(api, principal, &read).await?;
    api.management_only(principal, what).await?;
    Ok(read)
}

/// Takes one step on the order read as `read` (with the etag the caller sent) for `principal`
/// in a unit of work of `method`: the step `take` decides, with the unit's stamp.
async fn change(
    api: &InspectionApi,
    principal: &Principal,
    (method, request_id, source): (&'static str, &str, &impl prost::Message),
    (read, etag): (&Order, &str),
    take: impl FnOnce(&mut Order, &Stamp) -> Result<Change, OrderError>,
) -> Result<pb::RectificationOrder, InspectionError> {
    let mut unit = api
        .writer
        .begin(method, principal, request_id, source)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let mut order = load(unit.txn(), &read.id).await?;
    if order.version != read.version {
        return Err(stale(&order));
    }
    check_etag(etag, &order)?;
    let previous = order.version;
    let now = stamp(&unit);
    let change = take(&mut order, &now).map_err(|error| refused(&order, error))?;
    if !store::rectification::update(unit.txn(), &order, previous).await? {
        return Err(stale(&order));
    }
    match change {
        Change::Answered => jobs::recheck(&unit, &order, order.round()).await?,
        Change::Rejected => jobs::schedule(&unit, &order).await?,
        _ => {}
    }
    let response = publish(&mut unit, &order, change).await?;
    audit(&mut unit, &order, change, &response);
    Ok(unit.commit(response).await?)
}

/// Publishes `RectificationOrderChanged` for `order` after `change`; returns the order as read.
async fn publish(
    unit: &mut Unit,
    order: &Order,
    change: Change,
) -> Result<pb::RectificationOrder, InspectionError> {
    let response = convert::order(order, unit.now());
    events::rectification_changed(unit, &response, change).await?;
    Ok(response)
}

fn audit(unit: &mut Unit, order: &Order, change: Change, response: &pb::RectificationOrder) {
    let round = order.current();
    unit.audit(
        &response.name,
        &convert::organization_name(&order.organization),
        json!({
            "change": change.as_str(),
            "state": order.state.as_str(),
            "round": round.round,
            "due_time": round.schedule.due,
        }),
    );
}

pub(super) async fn get(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::GetRectificationOrderRequest,
) -> Result<pb::RectificationOrder, InspectionError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "rectificationOrders", true);
    v.finish()?;
    let Some(id) = id else {
        return Err(unvalidated("name"));
    };
    let order = load(api.conn(), &id).await?;
    within_reach(api, principal, &order).await?;
    Ok(convert::order(&order, api.writer.clock().now()))
}

pub(super) async fn list(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::ListRectificationOrdersRequest,
) -> Result<pb::ListRectificationOrdersResponse, InspectionError> {
    let mut v = Violations::new();
    let organization = validate::resource_id(
        &mut v,
        "organization",
        &req.organization,
        "organizations",
        false,
    );
    let account = validate::resource_id(&mut v, "account", &req.account, "accounts", false);
    let state = validate::enum_value(&mut v, "state", req.state, false, OrderState::from_i32);
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[
            "ListRectificationOrders",
            &req.organization,
            &req.account,
            &req.state.to_string(),
            &req.overdue_only.to_string(),
        ]),
    );
    v.finish()?;
    let scope = api.scope(principal, organization.as_deref()).await?;
    if let Some(account) = &account {
        api.account(principal, account).await?;
    }
    let now = api.writer.clock().now();
    let filter = store::rectification::Filter {
        path: scope.path,
        account,
        state,
        overdue_at: req.overdue_only.then_some(now),
    };
    let mut rows = store::rectification::list(
        api.conn(),
        &filter,
        page.after_number()?,
        page.fetch_limit(),
    )
    .await?;
    let next = page.finish(&mut rows, |(_, seq)| seq.to_string());
    Ok(pb::ListRectificationOrdersResponse {
        orders: rows
            .iter()
            .map(|(order, _)| convert::order(order, now))
            .collect(),
        next_page_token: next,
    })
}

/// Fires `rung` of round `round` of order `id` (a job of the rectification queue): the warning
/// or the escalation when its time has come and the round still waits for an answer; for an
/// escalation whose due time was unknown, the due time once the calendar gives it.
pub(crate) async fn fire(
    api: &InspectionApi,
    id: &str,
    round: u32,
    rung: Rung,
) -> Result<Outcome, InspectionError> {
    let Some(order) = store::rectification::get(api.conn(), id).await? else {
        return Ok(Outcome::Done);
    };
    let Some(entry) = order.rounds.iter().find(|r| r.round == round) else {
        return Ok(Outcome::Done);
    };
    if order.state != OrderState::Open || order.round() != round {
        return Ok(Outcome::Done);
    }
    let now = api.writer.clock().now();
    let at = match rung {
        Rung::Warning => match entry.schedule.warning {
            Some(at) => at,
            None => return Ok(Outcome::Done),
        },
        Rung::Due => match entry.schedule.due {
            Some(due) => due,
            None => {
                // The calendar held no data for the year when the round began: ask it again.
                let schedule = api.schedule(&order.path, entry.start, entry.days);
                if schedule.due.is_none() {
                    return Ok(Outcome::Wait(NO_CALENDAR_RETRY));
                }
                set_schedule(api, &order, round, schedule).await?;
                return Ok(Outcome::Wait(until(now, schedule.due)));
            }
        },
    };
    if now < at {
        return Ok(Outcome::Wait(until(now, Some(at))));
    }
    let own = api.own_principal();
    let mut unit = api
        .writer
        .begin("RectificationDeadline", &own, "", &())
        .await?;
    let mut order = load(unit.txn(), id).await?;
    let previous = order.version;
    let (fired, change) = match rung {
        Rung::Warning => (order.warn(round, unit.now()), Change::Warned),
        Rung::Due => (order.escalate(round, unit.now()), Change::Overdue),
    };
    if !fired {
        return Ok(Outcome::Done);
    }
    if !store::rectification::update(unit.txn(), &order, previous).await? {
        // Changed meanwhile (answered, say): look again.
        return Ok(Outcome::Retry(format!(
            "{} changed while its deadline fired",
            convert::order_name(id)
        )));
    }
    let response = publish(&mut unit, &order, change).await?;
    audit(&mut unit, &order, change, &response);
    unit.commit(()).await?;
    Ok(Outcome::Done)
}

/// The wait from `now` until `at` (at least a millisecond, so a job never spins).
fn until(now: DateTime<Utc>, at: Option<DateTime<Utc>>) -> Duration {
    at.and_then(|at| (at - now).to_std().ok())
        .unwrap_or_default()
        .max(Duration::from_millis(1))
}

/// Records the schedule of round `round`, known now, with its warning job.
async fn set_schedule(
    api: &InspectionApi,
    read: &Order,
    round: u32,
    schedule: Schedule,
) -> Result<(), InspectionError> {
    let own = api.own_principal();
    let mut unit = api
        .writer
        .begin("RectificationDeadline", &own, "", &())
        .await?;
    let mut order = load(unit.txn(), &read.id).await?;
    let previous = order.version;
    if !order.set_schedule(round, schedule) {
        return Ok(());
    }
    if !store::rectification::update(unit.txn(), &order, previous).await? {
        return Err(stale(&order));
    }
    jobs::schedule(&unit, &order).await?;
    let response = publish(&mut unit, &order, Change::DeadlineSet).await?;
    audit(&mut unit, &order, Change::DeadlineSet, &response);
    unit.commit(()).await?;
    Ok(())
}

/// Re-checks the account of order `id` after the answer of round `round` (a job of the
/// rectification queue): the account checked as RunCheck checks it, as the service, under the
/// scheme version the order was opened with; the check and the re-check recorded together.
pub(crate) async fn recheck(
    api: &InspectionApi,
    id: &str,
    round: u32,
) -> Result<Outcome, InspectionError> {
    let Some(read) = store::rectification::get(api.conn(), id).await? else {
        return Ok(Outcome::Done);
    };
    if !read.awaits_recheck(round) {
        return Ok(Outcome::Done);
    }
    let Some(scheme) = store::rectification::pinned_scheme(api.conn(), id).await? else {
        return Ok(Outcome::Done);
    };
    let own = api.own_principal();
    // The detector of each cited finding: a re-check judges a finding by its detector's item.
    let mut detectors = Vec::with_capacity(read.findings.len());
    for finding in &read.findings {
        let detector = store::findings::get(api.conn(), finding)
            .await?
            .map(|finding| finding.detector);
        detectors.push((finding.clone(), detector));
    }
    let judged = match api.ledger_account(&own, &read.account).await {
        Ok(account) => match checks::judge_one(api, &account, &scheme).await {
            Ok(judged) => Some((account, judged)),
            Err(error) if permanent(&error) => None,
            Err(error) => return Err(error),
        },
        Err(error) if permanent(&error) => None,
        Err(error) => return Err(error),
    };
    let mut unit = api
        .writer
        .begin("RecheckRectification", &own, "", &())
        .await?;
    let recheck = match judged {
        Some((account, (shared, judged))) => {
            let (check, _) =
                checks::record_one(&mut unit, &account, &scheme, &shared, judged).await?;
            let mut recheck = Recheck {
                check: check.id.clone(),
                outcome: check.outcome,
                still_found: Vec::new(),
                not_rechecked: Vec::new(),
                time: unit.now(),
            };
            for (finding, detector) in &detectors {
                let item = detector
                    .as_deref()
                    .and_then(|detector| check.items.iter().find(|item| item.detector == detector));
                match item.map(|item| (item.status, item.findings.contains(finding))) {
                    Some((_, true)) => recheck.still_found.push(finding.clone()),
                    Some((ItemStatus::Clear | ItemStatus::Triggered, false)) => {}
                    // Not in the scheme, not evaluated, not applicable now, or manual.
                    Some((ItemStatus::NotEvaluated | ItemStatus::NotApplicable, false)) | None => {
                        recheck.not_rechecked.push(finding.clone());
                    }
                }
            }
            recheck
        }
        // The account cannot be checked any more (gone from the ledger, say): the re-check is
        // recorded as incomplete, every finding unjudged, so the supervisor can still decide.
        None => Recheck {
            check: String::new(),
            outcome: Verdict::Incomplete,
            still_found: Vec::new(),
            not_rechecked: read.findings.clone(),
            time: unit.now(),
        },
    };
    let mut order = load(unit.txn(), id).await?;
    let previous = order.version;
    let recorded = order.record_recheck(round, recheck);
    if !recorded {
        // Recorded by another replica meanwhile: this check is not kept.
        return Ok(Outcome::Done);
    }
    if !store::rectification::update(unit.txn(), &order, previous).await? {
        return Ok(Outcome::Retry(format!(
            "{} changed while it was re-checked",
            convert::order_name(id)
        )));
    }
    let response = publish(&mut unit, &order, Change::Rechecked).await?;
    audit(&mut unit, &order, Change::Rechecked, &response);
    unit.commit(()).await?;
    Ok(Outcome::Done)
}

pub(super) async fn recommendations(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::ListClosureRecommendationsRequest,
) -> Result<pb::ListClosureRecommendationsResponse, InspectionError> {
    let mut v = Violations::new();
    let organization = validate::resource_id(
        &mut v,
        "organization",
        &req.organization,
        "organizations",
        false,
    );
    let account = validate::resource_id(&mut v, "account", &req.account, "accounts", false);
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[
            "ListClosureRecommendations",
            &req.organization,
            &req.account,
        ]),
    );
    v.finish()?;
    let scope = api.scope(principal, organization.as_deref()).await?;
    if let Some(account) = &account {
        api.account(principal, account).await?;
    }
    let after: Option<String> = page.after_json()?;
    let thresholds = api.closure;
    let now = api.writer.clock().now();
    let since = closure::period_start(now, thresholds.repeat_quarters);
    let orders = store::rectification::closure_candidates(
        api.conn(),
        &scope.path,
        account.as_deref(),
        since,
    )
    .await?;
    let found = store::findings::first_found_since(
        api.conn(),
        &scope.path,
        account.as_deref(),
        since,
        (
            u64::from(thresholds.repeat_findings),
            closure::MAX_LISTED as u64,
        ),
    )
    .await?;
    // Every account with an order or with findings enough, by id.
    let mut accounts: std::collections::BTreeMap<String, (String, Vec<Order>, Vec<String>)> =
        std::collections::BTreeMap::new();
    for order in orders {
        accounts
            .entry(order.account.clone())
            .or_insert_with(|| (order.organization.clone(), Vec::new(), Vec::new()))
            .1
            .push(order);
    }
    for (account, organization, ids) in found {
        accounts
            .entry(account)
            .or_insert_with(|| (organization, Vec::new(), Vec::new()))
            .2 = ids;
    }
    let mut rows: Vec<closure::Recommendation> = accounts
        .into_iter()
        .filter(|(id, _)| after.as_ref().is_none_or(|after| id > after))
        .filter_map(|(id, (organization, orders, findings))| {
            closure::recommend(
                &id,
                &organization,
                &orders,
                &findings,
                thresholds,
                (since, now),
            )
        })
        .take(usize::try_from(page.fetch_limit()).unwrap_or(usize::MAX))
        .collect();
    let next = page.finish(&mut rows, |row| {
        serde_json::to_string(&row.account).unwrap_or_default()
    });
    Ok(pb::ListClosureRecommendationsResponse {
        recommendations: rows.iter().map(convert::recommendation).collect(),
        next_page_token: next,
    })
}

/// Whether `error` will not go away by trying again (the account or the scheme is gone, the
/// service may not see it): a re-check then records that it could not judge.
fn permanent(error: &InspectionError) -> bool {
    use govmedia_kit::error::ErrorCode;
    match error {
        InspectionError::NotFound(_) | InspectionError::OutsideJurisdiction(_) => true,
        InspectionError::Api(error) => matches!(
            error.code(),
            ErrorCode::NotFound | ErrorCode::PermissionDenied | ErrorCode::FailedPrecondition
        ),
        _ => false,
    }
}
