//! Check handlers: run a check of one account under a scheme, read checks back.
//!
//! A check reads before it writes: the account from the registry, the scheme, the account's
//! posts in the lookback and the lexicons in force; the detectors and the scheme judge without
//! I/O; then one unit of work records the findings (new ones raise `FindingRaised`, known ones
//! are refreshed), the check with every item explained, and `CheckCompleted`.

use chrono::Duration;
use govmedia_kit::{
    auth::Principal,
    db::is_unique_violation,
    error::{ApiError, ErrorCode, Violations},
    paging::{Page, fingerprint},
    validate,
};
use govmedia_proto::{common::v1::ErrorReason, inspection::v1 as pb};
use serde_json::json;

use super::{InspectionApi, convert, schemes, stamp, unvalidated};
use crate::{
    domain::{
        Account, Check, Finding, Scheme,
        detect::{self, Input},
        scheme::{self, NATIONAL, Run, Subject, Verdict},
        within,
    },
    error::InspectionError,
    events, store,
};

/// Most posts a check reads (the newest of the lookback).
pub const MAX_POSTS: u64 = 20_000;

pub(super) async fn run(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::RunCheckRequest,
) -> Result<pb::Check, InspectionError> {
    let mut v = Violations::new();
    let account_owned = validate::resource_id(&mut v, "account", &req.account, "accounts", true);
    let account = account_owned.as_deref();
    let scheme_id = if req.scheme.is_empty() {
        Some(NATIONAL.to_owned())
    } else {
        validate::resource_id(&mut v, "scheme", &req.scheme, "schemes", true)
    };
    let scheme_id = scheme_id.as_deref();
    validate::request_id(&mut v, "request_id", &req.request_id);
    v.finish()?;
    let (Some(account), Some(scheme_id)) = (account, scheme_id) else {
        return Err(unvalidated("account"));
    };
    if let Some(done) = api
        .writer
        .replayed("RunCheck", principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    // The ledger as it is now (not remembered): a check judges the account's current status.
    let account = api.ledger_account(principal, account).await?;
    let scheme = schemes::find(api, scheme_id, 0).await?;
    if !scheme.serves(&account.path) {
        return Err(InspectionError::SchemeNotForAccount {
            scheme: convert::scheme_name(&scheme.id),
            account: convert::account_name(&account.id),
        });
    }
    perform(
        api,
        principal,
        &account,
        &scheme,
        ("RunCheck", &req.request_id, &req),
    )
    .await
}

/// Checks `account` under `scheme` now and records the check, its findings and events in one
/// unit of work for `method` with idempotency key `request_id` over `source`.
pub(super) async fn perform(
    api: &InspectionApi,
    principal: &Principal,
    account: &Account,
    scheme: &Scheme,
    (method, request_id, source): (&'static str, &str, &impl prost::Message),
) -> Result<pb::Check, InspectionError> {
    let as_of = api.writer.clock().now();
    let since = as_of - Duration::days(i64::from(api.lookback_days));
    let posts =
        store::posts::published_between(api.conn(), &account.id, since, as_of, MAX_POSTS).await?;
    let latest = store::posts::latest(api.conn(), &account.id, as_of).await?;
    let scanner = api.lexicons.scanner(api.conn()).await?;
    let hot_events = store::hot_events::concerning(api.conn(), &account.path, since).await?;
    let subject = Subject {
        account,
        field: scheme.field_of(&account.path),
    };
    let applies = scheme::applicability(scheme, &subject);
    let external = api
        .sources
        .gather(account, scheme, &applies, &posts, as_of)
        .await;
    // Scanning is CPU work: on the blocking pool, so that other calls keep being served.
    let texts: Vec<(String, String)> = posts
        .iter()
        .map(|post| (post.title.clone(), post.text.clone()))
        .collect();
    let scans = govmedia_kit::worker::blocking("scanning posts", move || {
        detect::scan_all(&scanner, &texts)
    })
    .await?;
    let input = Input::scanned(account, &posts, scans, latest, as_of, &api.knowledge)
        .with(&hot_events, &external);
    let runs: Vec<Option<Run>> = applies
        .iter()
        .zip(&scheme.items)
        .map(|(weight, item)| {
            weight.map(|_| match detect::spec(&item.detector) {
                Some(spec) => match detect::resolve(spec, &item.parameters) {
                    Ok(params) => match detect::run(spec, &params, &input) {
                        Ok(outcome) => Run::Ran(outcome),
                        Err(why) => Run::NotEvaluated(why),
                    },
                    Err(_) => Run::NotEvaluated(format!("检测项 {} 的参数无效，未能评估", item.id)),
                },
                None => Run::NotEvaluated(format!("检测器 {} 不存在，未能评估", item.detector)),
            })
        })
        .collect();
    let mut evaluation = scheme::evaluate(scheme, &subject, &runs);

    let mut unit = api
        .writer
        .begin(method, principal, request_id, source)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let now = stamp(&unit);
    let check_id = format!("k{}", uuid::Uuid::now_v7().simple());
    let mut raised = Vec::new();
    for ((item, run), result) in scheme.items.iter().zip(&runs).zip(&mut evaluation.items) {
        let (Some(Run::Ran(outcome)), Some(spec)) = (run, detect::spec(&item.detector)) else {
            continue;
        };
        for draft in &outcome.drafts {
            let known =
                store::findings::by_key(unit.txn(), &account.id, spec.id, &draft.key).await?;
            let finding = match known {
                Some(mut finding) => {
                    finding.severity = draft.severity;
                    finding.summary = draft.summary.clone();
                    finding.evidence = draft.evidence.clone();
                    finding.last_check = Some(check_id.clone());
                    finding.last_seen = now.time;
                    store::findings::refresh(unit.txn(), &finding).await?;
                    finding
                }
                None => {
                    let finding = Finding {
                        id: format!("f{}", uuid::Uuid::now_v7().simple()),
                        account: account.id.clone(),
                        organization: account.organization.clone(),
                        path: account.path.clone(),
                        category: spec.category,
                        detector: spec.id.to_owned(),
                        severity: draft.severity,
                        summary: draft.summary.clone(),
                        evidence: draft.evidence.clone(),
                        key: draft.key.clone(),
                        created: now.clone(),
                        last_check: Some(check_id.clone()),
                        last_seen: now.time,
                    };
                    if let Err(error) = store::findings::insert(unit.txn(), &finding).await {
                        return Err(if is_unique_violation(&error) {
                            concurrent(&account.id)
                        } else {
                            error.into()
                        });
                    }
                    raised.push(convert::finding(&finding));
                    finding
                }
            };
            if !result.findings.contains(&finding.id) {
                result.findings.push(finding.id);
            }
        }
    }
    let check = Check {
        id: check_id,
        account: account.id.clone(),
        organization: account.organization.clone(),
        path: account.path.clone(),
        scheme: scheme.id.clone(),
        scheme_version: scheme.version,
        as_of,
        outcome: evaluation.outcome,
        score: evaluation.score,
        items: evaluation.items,
        not_evaluated: evaluation.not_evaluated,
        created: now,
    };
    store::checks::insert(unit.txn(), &check).await?;
    for finding in &raised {
        events::finding_raised(&mut unit, finding).await?;
    }
    let response = convert::check(&check);
    events::check_completed(&mut unit, &response).await?;
    unit.audit(
        &response.name,
        &convert::organization_name(&check.organization),
        json!({
            "account": response.account,
            "scheme": response.scheme,
            "scheme_version": check.scheme_version,
            "outcome": check.outcome.as_str(),
            "findings_raised": raised.len(),
        }),
    );
    Ok(unit.commit(response).await?)
}

/// ABORTED: another check of the account recorded the same finding at the same moment.
fn concurrent(account: &str) -> InspectionError {
    InspectionError::Api(ApiError::new(
        ErrorCode::Aborted,
        ErrorReason::ConcurrentChange,
        format!(
            "another check of {} ran at the same moment; run the check again",
            convert::account_name(account)
        ),
    ))
}

pub(super) async fn get(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::GetCheckRequest,
) -> Result<pb::Check, InspectionError> {
    let mut v = Violations::new();
    let id_owned = validate::resource_id(&mut v, "name", &req.name, "checks", true);
    let id = id_owned.as_deref();
    v.finish()?;
    let Some(id) = id else {
        return Err(unvalidated("name"));
    };
    let check = store::checks::get(api.conn(), id)
        .await?
        .ok_or_else(|| InspectionError::NotFound(convert::check_name(id)))?;
    let root = api.scope(principal, None).await?;
    if !within(&root.path, &check.path) {
        return Err(InspectionError::OutsideJurisdiction(convert::check_name(
            id,
        )));
    }
    Ok(convert::check(&check))
}

pub(super) async fn list(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::ListChecksRequest,
) -> Result<pb::ListChecksResponse, InspectionError> {
    let mut v = Violations::new();
    let account_owned = validate::resource_id(&mut v, "account", &req.account, "accounts", false);
    let account = account_owned.as_deref();
    let organization_owned = validate::resource_id(
        &mut v,
        "organization",
        &req.organization,
        "organizations",
        false,
    );
    let organization = organization_owned.as_deref();
    let outcome = validate::enum_value(&mut v, "outcome", req.outcome, false, Verdict::from_i32);
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[
            "ListChecks",
            &req.account,
            &req.organization,
            &req.outcome.to_string(),
        ]),
    );
    v.finish()?;
    let scope = api.scope(principal, organization).await?;
    if let Some(account) = account {
        // The registry refuses an account outside the caller's jurisdiction.
        api.account(principal, account).await?;
    }
    let filter = store::checks::Filter {
        path: scope.path,
        account: account.map(str::to_owned),
        outcome,
    };
    let mut rows = store::checks::list(
        api.conn(),
        &filter,
        page.after_number()?,
        page.fetch_limit(),
    )
    .await?;
    let next = page.finish(&mut rows, |(_, seq)| seq.to_string());
    Ok(pb::ListChecksResponse {
        checks: rows
            .iter()
            .map(|(check, _)| convert::check(check))
            .collect(),
        next_page_token: next,
    })
}
