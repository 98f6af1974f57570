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
    let (shared, judged) = judge_one(api, account, scheme).await?;
    let mut unit = api
        .writer
        .begin(method, principal, request_id, source)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let (_, response) = record_one(&mut unit, account, scheme, &shared, judged).await?;
    Ok(unit.commit(response).await?)
}

/// Judges `account` under `scheme` now, reading what a check of one account reads; nothing is
/// recorded yet (see [`record_one`]).
pub(crate) async fn judge_one(
    api: &InspectionApi,
    account: &Account,
    scheme: &Scheme,
) -> Result<(Shared, Judged), InspectionError> {
    let shared = Shared::read(api, scheme, Reach::Account(&account.path)).await?;
    let mut judged = judge_many(api, std::slice::from_ref(account), scheme, &shared).await?;
    let judged = judged.pop().ok_or_else(|| unvalidated("account"))?;
    Ok((shared, judged))
}

/// Records and stores in `unit` the check of `account` that [`judge_one`] judged: its findings,
/// events and audit entry; returns the check and its answer.
pub(crate) async fn record_one(
    unit: &mut govmedia_kit::unit::Unit,
    account: &Account,
    scheme: &Scheme,
    shared: &Shared,
    judged: Judged,
) -> Result<(Check, pb::Check), InspectionError> {
    let (check, response) = record(unit, account, scheme, shared, judged).await?;
    store::checks::insert(unit.txn(), &check).await?;
    Ok((check, response))
}

/// Checks each of `accounts` under `scheme` with what `shared` read for all of them, and records
/// the checks in one unit of work for `method` (no idempotency key): the way a monitoring run or
/// a spot check checks many accounts, reading their posts together and committing once.
pub(crate) async fn perform_many(
    api: &InspectionApi,
    principal: &Principal,
    accounts: &[Account],
    scheme: &Scheme,
    shared: &Shared,
    method: &'static str,
) -> Result<Vec<pb::Check>, InspectionError> {
    let judged = judge_many(api, accounts, scheme, shared).await?;
    let mut unit = api.writer.begin(method, principal, "", &()).await?;
    let mut checks = Vec::with_capacity(accounts.len());
    let mut responses = Vec::with_capacity(accounts.len());
    for (account, judged) in accounts.iter().zip(judged) {
        let (check, response) = record(&mut unit, account, scheme, shared, judged).await?;
        checks.push(check);
        responses.push(response);
    }
    store::checks::insert_many(unit.txn(), &checks).await?;
    unit.commit(()).await?;
    Ok(responses)
}

/// What checks read once however many accounts they judge: the check point, the scanner in
/// force, the hot events and, for a run over the whole tree, other services' facts about every
/// account at once.
#[derive(Debug)]
pub(crate) struct Shared {
    as_of: chrono::DateTime<chrono::Utc>,
    since: chrono::DateTime<chrono::Utc>,
    scanner: std::sync::Arc<govmedia_scanner::Scanner>,
    hot_events: Vec<crate::domain::hot::HotEvent>,
    facts: crate::sources::Prefetched,
}

/// Which accounts checks that share their reads are of.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Reach<'a> {
    /// The one account at this path (RunCheck).
    Account(&'a str),
    /// Accounts of the subtree of this organization (its id): runs and spot checks.
    Tree(&'a str),
}

impl Shared {
    /// Reads them now for checks of `reach` under `scheme`. For a tree, other services are
    /// asked once for the facts of every account of it, and the hot events of every region are
    /// read; for one account, only those of its region and the levels above.
    pub(crate) async fn read(
        api: &InspectionApi,
        scheme: &Scheme,
        reach: Reach<'_>,
    ) -> Result<Self, InspectionError> {
        let as_of = api.writer.clock().now();
        // Only as far back as the scheme's items look (the lookback caps it), however many
        // years of posts are stored: the national scheme reads 120 days.
        let since = as_of - Duration::days(scheme.horizon().min(i64::from(api.lookback_days)));
        let scanner = api.lexicons.scanner(api.conn()).await?;
        let (hot_events, facts) = match reach {
            Reach::Account(path) => (
                store::hot_events::concerning(api.conn(), path, since).await?,
                crate::sources::Prefetched::default(),
            ),
            Reach::Tree(root) => (
                store::hot_events::ending_after(api.conn(), since).await?,
                api.sources.prefetch(root, scheme, as_of).await,
            ),
        };
        Ok(Shared {
            as_of,
            since,
            scanner,
            hot_events,
            facts,
        })
    }
}

/// An account judged, not yet recorded.
#[derive(Debug)]
pub(crate) struct Judged {
    runs: Vec<Option<Run>>,
    evaluation: scheme::Evaluation,
}

/// Judges `accounts` under `scheme`: their posts read together, scanned (posts the scanner in
/// force saw before are not scanned again), other services asked, then the detectors and the
/// scheme, without I/O. One result per account, in order.
async fn judge_many(
    api: &InspectionApi,
    accounts: &[Account],
    scheme: &Scheme,
    shared: &Shared,
) -> Result<Vec<Judged>, InspectionError> {
    let ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
    let mut posts = store::posts::published_between_many(
        api.conn(),
        &ids,
        shared.since,
        shared.as_of,
        MAX_POSTS,
    )
    .await?;
    let mut gathered = Vec::with_capacity(accounts.len());
    let mut unscanned: Vec<(String, String)> = Vec::new();
    for account in accounts {
        let store::posts::Sequenced { posts, seqs } = posts.remove(&account.id).unwrap_or_default();
        let known = api.scans.known(&shared.scanner, &account.id, &seqs);
        for (post, known) in posts.iter().zip(&known) {
            if known.is_none() {
                unscanned.push((post.title.clone(), post.text.clone()));
            }
        }
        let latest = match posts.first() {
            Some(post) => Some((post.id.clone(), post.published)),
            // Silent for the whole lookback: the latest post is older, if there is one.
            None => store::posts::latest(api.conn(), &account.id, shared.as_of).await?,
        };
        let subject = Subject {
            account,
            field: scheme.field_of(&account.path),
        };
        let applies = scheme::applicability(scheme, &subject);
        let mut external = api
            .sources
            .gather(
                account,
                scheme,
                &applies,
                &posts,
                shared.as_of,
                &shared.facts,
            )
            .await;
        if let Some(Ok(answers)) = &mut external.replies {
            // Replies are few and short: scanned here rather than on the blocking pool.
            for answer in answers {
                answer.hits = shared.scanner.scan(&answer.text);
            }
        }
        gathered.push((posts, seqs, known, latest, applies, external));
    }
    // Scanning is CPU work: on the blocking pool, so that other calls keep being served.
    let scanner = shared.scanner.clone();
    let mut fresh = govmedia_kit::worker::blocking("scanning posts", move || {
        detect::scan_all(&scanner, &unscanned)
    })
    .await?
    .into_iter();
    let mut judged = Vec::with_capacity(accounts.len());
    for (account, (posts, seqs, known, latest, applies, external)) in accounts.iter().zip(gathered)
    {
        let scans: Vec<detect::Scanned> = known
            .into_iter()
            .map(|known| known.or_else(|| fresh.next()).unwrap_or_default())
            .collect();
        api.scans
            .remember(&shared.scanner, &account.id, &seqs, &scans);
        let hot_events: Vec<_> = shared
            .hot_events
            .iter()
            .filter(|event| within(&event.path, &account.path))
            .cloned()
            .collect();
        let subject = Subject {
            account,
            field: scheme.field_of(&account.path),
        };
        // A read cut at MAX_POSTS began at its oldest post, not at the horizon.
        let read_from = if posts.len() >= MAX_POSTS as usize {
            posts.last().map_or(shared.since, |oldest| oldest.published)
        } else {
            shared.since
        };
        let input = Input::scanned(account, &posts, scans, latest, shared.as_of, &api.knowledge)
            .reading_from(read_from)
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
                        Err(_) => {
                            Run::NotEvaluated(format!("检测项 {} 的参数无效，未能评估", item.id))
                        }
                    },
                    None => Run::NotEvaluated(format!("检测器 {} 不存在，未能评估", item.detector)),
                })
            })
            .collect();
        let evaluation = scheme::evaluate(scheme, &subject, &runs);
        judged.push(Judged { runs, evaluation });
    }
    Ok(judged)
}

/// Records the check of `account` judged as `judged` in `unit`: its findings (new ones raise
/// `FindingRaised`, known ones are refreshed) and `CheckCompleted`; returns the check with every
/// item explained, for the caller to store (checks of many accounts go in together), and its
/// answer.
async fn record(
    unit: &mut govmedia_kit::unit::Unit,
    account: &Account,
    scheme: &Scheme,
    shared: &Shared,
    judged: Judged,
) -> Result<(Check, pb::Check), InspectionError> {
    let Judged {
        runs,
        mut evaluation,
    } = judged;
    let now = stamp(unit);
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
        as_of: shared.as_of,
        outcome: evaluation.outcome,
        score: evaluation.score,
        items: evaluation.items,
        not_evaluated: evaluation.not_evaluated,
        created: now,
    };
    for finding in &raised {
        events::finding_raised(unit, finding).await?;
    }
    let response = convert::check(&check);
    events::check_completed(unit, &response).await?;
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
    Ok((check, response))
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
