//! Criticism notice handlers (通报批评, R-22): a management department's supervisor issues a
//! notice against a unit of its jurisdiction, citing findings and orders on accounts of that
//! unit's subtree; everyone on the line reads them by region and period.

use govmedia_kit::{
    auth::Principal,
    error::Violations,
    paging::{Page, fingerprint},
    validate,
};
use govmedia_proto::inspection::v1 as pb;
use serde_json::json;

use super::{InspectionApi, convert, stamp, unvalidated, validation};
use crate::{
    domain::{
        notice::{MAX_CITED, Notice},
        period::{Quarter, period_filter},
        within,
    },
    error::InspectionError,
    events, store,
};

/// Longest title.
pub const MAX_TITLE: usize = 200;

/// Longest text.
pub const MAX_TEXT: usize = 4_000;

pub(super) async fn issue(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::IssueCriticismNoticeRequest,
) -> Result<pb::CriticismNotice, InspectionError> {
    let mut v = Violations::new();
    let id = if req.notice_id.is_empty() {
        Some(format!("n{}", uuid::Uuid::now_v7().simple()))
    } else {
        validate::id(&mut v, "notice_id", &req.notice_id).map(str::to_owned)
    };
    let organization = validate::resource_id(
        &mut v,
        "organization",
        &req.organization,
        "organizations",
        true,
    );
    let now = api.writer.clock().now();
    match Quarter::parse(&req.period) {
        None => v.add(
            "period",
            "must be a quarter like 2026-Q4 (a year from 2000 to 2100)",
        ),
        Some(quarter) if !quarter.begun(now) => {
            v.add("period", format!("{quarter} has not begun"));
        }
        // The quarter running, or the one just over (its results are published after it):
        // a notice does not rewrite an older bulletin.
        Some(quarter) if quarter < Quarter::of(now).back(1) => {
            v.add(
                "period",
                format!(
                    "must be {} or {}",
                    Quarter::of(now).back(1),
                    Quarter::of(now)
                ),
            );
        }
        Some(_) => {}
    }
    validate::text(&mut v, "title", &req.title, MAX_TITLE, true);
    validate::multiline_text(&mut v, "text", &req.text, MAX_TEXT, true);
    let findings =
        validation::resource_ids(&mut v, "findings", &req.findings, "findings", MAX_CITED);
    let orders = validation::resource_ids(
        &mut v,
        "orders",
        &req.orders,
        "rectificationOrders",
        MAX_CITED,
    );
    if req.findings.is_empty() && req.orders.is_empty() {
        v.add(
            "findings",
            "a notice cites at least one finding or rectification order",
        );
    }
    validate::request_id(&mut v, "request_id", &req.request_id);
    v.finish()?;
    let (Some(organization), Some(id)) = (organization, id) else {
        return Err(unvalidated("organization"));
    };
    if let Some(done) = api
        .writer
        .replayed("IssueCriticismNotice", principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    api.management_only(principal, "issuing a criticism notice")
        .await?;
    // The registry refuses a unit outside the caller's jurisdiction.
    let unit = api.scope(principal, Some(&organization)).await?;
    // What lies outside the caller's jurisdiction is as unknown to it as what does not exist.
    let root = api.scope(principal, None).await?;
    let mut v = Violations::new();
    for (i, id) in findings.iter().enumerate() {
        let finding = store::findings::get(api.conn(), id)
            .await?
            .filter(|finding| within(&root.path, &finding.path))
            .ok_or_else(|| InspectionError::NotFound(convert::finding_name(id)))?;
        if !within(&unit.path, &finding.path) {
            v.add(
                format!("findings[{i}]"),
                format!(
                    "is a finding of {}, not of an account of {}",
                    convert::account_name(&finding.account),
                    convert::organization_name(&unit.id)
                ),
            );
        }
    }
    for (i, id) in orders.iter().enumerate() {
        let order = store::rectification::get(api.conn(), id)
            .await?
            .filter(|order| within(&root.path, &order.path))
            .ok_or_else(|| InspectionError::NotFound(convert::order_name(id)))?;
        if !within(&unit.path, &order.path) {
            v.add(
                format!("orders[{i}]"),
                format!(
                    "is an order on {}, not on an account of {}",
                    convert::account_name(&order.account),
                    convert::organization_name(&unit.id)
                ),
            );
        }
    }
    v.finish()?;
    let mut work = api
        .writer
        .begin("IssueCriticismNotice", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = work.replay().await? {
        return Ok(done);
    }
    if store::notices::get(work.txn(), &id).await?.is_some() {
        return Err(InspectionError::AlreadyExists(convert::notice_name(&id)));
    }
    let notice = Notice {
        id,
        organization: unit.id.clone(),
        path: unit.path.clone(),
        period: req.period.clone(),
        title: req.title.trim().to_owned(),
        text: req.text.trim().to_owned(),
        findings,
        orders,
        issued: stamp(&work),
    };
    store::notices::insert(work.txn(), &notice).await?;
    let response = convert::notice(&notice);
    events::criticism_notice_issued(&mut work, &response).await?;
    work.audit(
        &response.name,
        &response.organization,
        json!({
            "period": notice.period,
            "findings": response.findings,
            "orders": response.orders,
        }),
    );
    Ok(work.commit(response).await?)
}

pub(super) async fn get(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::GetCriticismNoticeRequest,
) -> Result<pb::CriticismNotice, InspectionError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "criticismNotices", true);
    v.finish()?;
    let Some(id) = id else {
        return Err(unvalidated("name"));
    };
    let notice = store::notices::get(api.conn(), &id)
        .await?
        .ok_or_else(|| InspectionError::NotFound(convert::notice_name(&id)))?;
    api.in_reach(principal, &notice.path, convert::notice_name(&id))
        .await?;
    Ok(convert::notice(&notice))
}

pub(super) async fn list(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::ListCriticismNoticesRequest,
) -> Result<pb::ListCriticismNoticesResponse, InspectionError> {
    let mut v = Violations::new();
    let organization = validate::resource_id(
        &mut v,
        "organization",
        &req.organization,
        "organizations",
        false,
    );
    let period = if req.period.is_empty() {
        Some(String::new())
    } else {
        let period = period_filter(&req.period);
        if period.is_none() {
            v.add(
                "period",
                "must be a quarter like 2026-Q4 or a year like 2026",
            );
        }
        period
    };
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&["ListCriticismNotices", &req.organization, &req.period]),
    );
    v.finish()?;
    let scope = api.scope(principal, organization.as_deref()).await?;
    let mut rows = store::notices::list(
        api.conn(),
        &scope.path,
        &period.unwrap_or_default(),
        page.after_number()?,
        page.fetch_limit(),
    )
    .await?;
    let next = page.finish(&mut rows, |(_, seq)| seq.to_string());
    Ok(pb::ListCriticismNoticesResponse {
        notices: rows
            .iter()
            .map(|(notice, _)| convert::notice(notice))
            .collect(),
        next_page_token: next,
    })
}
