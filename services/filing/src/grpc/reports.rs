//! National reporting: queueing a record for every change a filing makes to the ledger,
//! and the handlers that show, export and mark the records.

use std::collections::HashSet;

use govmedia_kit::{
    auth::Principal,
    clock,
    error::Violations,
    paging::{Page, fingerprint},
    unit::Unit,
    validate, worker,
};
use govmedia_proto::filing::v1 as pb;
use serde_json::json;

use super::{FilingApi, convert, filings::unvalidated, organization_field, subtree};
use crate::{
    domain::{
        Filing,
        report::{Report, ReportCause, ReportState},
    },
    error::FilingError,
    national::{export, reporter},
    store::{self, reports::Order},
};

/// Records per export file when the request says 0.
const EXPORT_DEFAULT: u64 = 500;
/// Most records per export file: a JSON Lines file of this many stays well inside the 4 MiB a
/// gRPC client takes by default, and one MarkReports can record its upload.
const EXPORT_MAX: u64 = MARK_MAX as u64;
/// Most records one MarkReports changes.
const MARK_MAX: usize = 1000;

/// What the registry held right after a change, as reported.
#[derive(Clone, Debug, Default)]
pub(crate) struct Registered {
    /// The account (an encoded registry `Account`).
    pub ledger: Vec<u8>,
    /// Its unit (an encoded registry `Organization`; empty if unknown).
    pub unit: Vec<u8>,
}

/// Queues the report of `cause` for `filing` inside `work`, with what the registry held right
/// after the change. Nothing is queued twice for the same change: a second call for the same
/// filing and cause leaves the first record.
pub(crate) async fn queue(
    work: &mut Unit,
    filing: &Filing,
    cause: ReportCause,
    account_id: &str,
    registered: Registered,
) -> Result<(), FilingError> {
    if store::reports::exists(work.txn(), &filing.id, cause).await? {
        return Ok(());
    }
    let now = work.now();
    let report = Report {
        id: format!("r-{}", uuid::Uuid::now_v7().simple()),
        filing: filing.id.clone(),
        cause,
        organization: filing.organization.clone(),
        organization_path: filing.organization_path.clone(),
        management_department: filing.management_department.clone().unwrap_or_default(),
        account_id: account_id.to_owned(),
        account: registered.ledger,
        unit: registered.unit,
        state: ReportState::Pending,
        attempts: 0,
        next_attempt: None,
        last_error: String::new(),
        receipt: String::new(),
        created: now,
        state_time: now,
        version: 1,
    };
    store::reports::insert(work.txn(), &report).await?;
    reporter::enqueue(work, &report.id).await?;
    work.audit(
        &convert::report_name(&report.id),
        &report.organization_path,
        json!({ "action": "QUEUED", "cause": cause.as_str(), "filing": filing.name() }),
    );
    Ok(())
}

pub(super) async fn list(
    api: &FilingApi,
    principal: &Principal,
    req: pb::ListReportsRequest,
) -> Result<pb::ListReportsResponse, FilingError> {
    let mut v = Violations::new();
    let organization = organization_field(&mut v, &req.organization, false);
    let state = validate::enum_value(&mut v, "state", req.state, false, ReportState::from_i32);
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[
            &req.organization,
            &req.state.to_string(),
            &principal.subject,
        ]),
    );
    v.finish()?;
    let after = page.after_number()?;
    let path = subtree(api, principal, organization).await?.path;
    let mut rows = store::reports::list(
        api.conn(),
        &path,
        state,
        Order::NewestFirst,
        after,
        page.fetch_limit(),
    )
    .await?;
    let next_page_token = page.finish(&mut rows, |(seq, _)| seq.to_string());
    Ok(pb::ListReportsResponse {
        reports: rows
            .iter()
            .map(|(_, report)| convert::report(report))
            .collect(),
        next_page_token,
    })
}

pub(super) async fn summarize(
    api: &FilingApi,
    principal: &Principal,
    req: pb::SummarizeReportsRequest,
) -> Result<pb::SummarizeReportsResponse, FilingError> {
    let mut v = Violations::new();
    let organization = organization_field(&mut v, &req.organization, false);
    v.finish()?;
    let path = subtree(api, principal, organization).await?.path;
    let regions = store::reports::summary(api.conn(), &path).await?;
    let count = |counts: &store::reports::RegionCounts, state: ReportState| {
        counts.by_state.get(&(state as i32)).copied().unwrap_or(0)
    };
    Ok(pb::SummarizeReportsResponse {
        regions: regions
            .iter()
            .map(|(department, counts)| pb::RegionReportSummary {
                management_department: convert::organization_name(department),
                pending: count(counts, ReportState::Pending),
                sent: count(counts, ReportState::Sent),
                confirmed: count(counts, ReportState::Confirmed),
                failed: count(counts, ReportState::Failed),
                oldest_pending_time: counts.oldest_pending.map(clock::to_proto),
            })
            .collect(),
    })
}

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Jsonl,
    Xlsx,
}

impl Format {
    fn from_i32(value: i32) -> Option<Self> {
        match pb::ExportFormat::try_from(value).ok()? {
            pb::ExportFormat::Jsonl => Some(Self::Jsonl),
            pb::ExportFormat::Xlsx => Some(Self::Xlsx),
            pb::ExportFormat::Unspecified => None,
        }
    }
}

pub(super) async fn export(
    api: &FilingApi,
    principal: &Principal,
    req: pb::ExportReportsRequest,
) -> Result<pb::ExportReportsResponse, FilingError> {
    let mut v = Violations::new();
    let organization = organization_field(&mut v, &req.organization, false);
    let state = validate::enum_value(&mut v, "state", req.state, false, ReportState::from_i32)
        .unwrap_or(ReportState::Pending);
    let format = validate::enum_value(&mut v, "format", req.format, true, Format::from_i32);
    let page = Page::parse_sized(
        &mut v,
        (req.page_size, EXPORT_DEFAULT, EXPORT_MAX),
        &req.page_token,
        fingerprint(&[
            &req.organization,
            &req.state.to_string(),
            &req.format.to_string(),
            &principal.subject,
        ]),
    );
    v.finish()?;
    let format = format.ok_or_else(|| unvalidated("format"))?;
    let after = page.after_number()?;
    let path = subtree(api, principal, organization).await?.path;
    let mut rows = store::reports::list(
        api.conn(),
        &path,
        Some(state),
        Order::OldestFirst,
        after,
        page.fetch_limit(),
    )
    .await?;
    let next_page_token = page.finish(&mut rows, |(seq, _)| seq.to_string());
    let records: Vec<_> = rows
        .iter()
        .map(|(_, report)| convert::record(report))
        .collect();
    let stamp = api.now().format("%Y%m%dT%H%M%SZ");
    // Up to a page of 500 records written into a workbook: off the async executor.
    let (content, extension, media_type) = match format {
        Format::Jsonl => (
            worker::blocking("writing an export", move || export::jsonl(&records)).await?,
            "jsonl",
            export::JSONL_MEDIA_TYPE,
        ),
        Format::Xlsx => (
            worker::blocking("writing an export", move || export::xlsx(&records))
                .await?
                .map_err(|error| FilingError::Export(error.to_string()))?,
            "xlsx",
            export::XLSX_MEDIA_TYPE,
        ),
    };
    Ok(pb::ExportReportsResponse {
        file_name: format!("govmedia-reports-{stamp}.{extension}"),
        media_type: media_type.to_owned(),
        content,
        reports: rows
            .iter()
            .map(|(_, report)| convert::report_name(&report.id))
            .collect(),
        next_page_token,
    })
}

/// A validated MarkReports.
struct Marking {
    ids: Vec<String>,
    state: ReportState,
}

fn validate_mark(req: &pb::MarkReportsRequest) -> Result<Marking, FilingError> {
    let mut v = Violations::new();
    validate::request_id(&mut v, "request_id", &req.request_id);
    if req.names.is_empty() || req.names.len() > MARK_MAX {
        v.add("names", format!("must hold 1 to {MARK_MAX} records"));
    }
    let mut ids = Vec::new();
    let mut seen = HashSet::new();
    for (index, name) in req.names.iter().enumerate() {
        let field = format!("names[{index}]");
        if let Some(id) = validate::resource_id(&mut v, &field, name, "reports", true) {
            if seen.insert(id.clone()) {
                ids.push(id);
            } else {
                v.add(&field, "names a record twice");
            }
        }
    }
    let state = validate::enum_value(&mut v, "state", req.state, true, ReportState::from_i32);
    let confirmed = state == Some(ReportState::Confirmed);
    let failed = state == Some(ReportState::Failed);
    validate::text(&mut v, "receipt", &req.receipt, 200, confirmed);
    if !confirmed && !req.receipt.is_empty() {
        v.add("receipt", "is only taken with state CONFIRMED");
    }
    validate::multiline_text(&mut v, "comment", &req.comment, 500, failed);
    if !failed && !req.comment.is_empty() {
        v.add("comment", "is only taken with state FAILED");
    }
    v.finish()?;
    Ok(Marking {
        ids,
        state: state.ok_or_else(|| unvalidated("state"))?,
    })
}

pub(super) async fn mark(
    api: &FilingApi,
    principal: &Principal,
    req: pb::MarkReportsRequest,
) -> Result<pb::MarkReportsResponse, FilingError> {
    let marking = validate_mark(&req)?;
    let method = "MarkReports";
    if let Some(done) = api
        .writer
        .replayed(method, principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    let jurisdiction = api.registry.as_caller(principal).jurisdiction().await?;

    let mut work = api
        .writer
        .begin(method, principal, &req.request_id, &req)
        .await?;
    if let Some(done) = work.replay().await? {
        return Ok(done);
    }
    let now = work.now();
    let mut reports = Vec::with_capacity(marking.ids.len());
    for id in &marking.ids {
        let name = convert::report_name(id);
        let mut report = store::reports::get(work.txn(), id)
            .await?
            .ok_or_else(|| FilingError::NotFound(name.clone()))?;
        if !report.organization_path.starts_with(&jurisdiction.path) {
            return Err(FilingError::OutsideJurisdiction(name));
        }
        let read = report.version;
        let from = report.state;
        if marking.state == ReportState::Pending
            && let Some(newer) = store::reports::newer_delivered(work.txn(), &report).await?
        {
            return Err(FilingError::ReportSuperseded {
                report: name,
                newer: convert::report_name(&newer),
            });
        }
        report
            .mark(marking.state, &req.receipt, &req.comment, now)
            .map_err(|step| FilingError::ReportStep {
                report: name.clone(),
                step,
            })?;
        if report.state == ReportState::Pending {
            reporter::enqueue(&work, id).await?;
        } else {
            reporter::forget(&work, id).await?;
        }
        if !store::reports::update(work.txn(), &report, read).await? {
            // Delivered meanwhile by the reporter: the caller should look again.
            let current = store::reports::get(work.txn(), id)
                .await?
                .map_or(read + 1, |current| current.version);
            return Err(FilingError::EtagMismatch {
                resource: name,
                current: convert::etag(current),
            });
        }
        work.audit(
            &name,
            &report.organization_path,
            json!({
                "action": "MARKED",
                "from": from.as_str(),
                "to": report.state.as_str(),
                "receipt": req.receipt,
                "comment": req.comment,
            }),
        );
        reports.push(convert::report(&report));
    }
    let response = work.commit(pb::MarkReportsResponse { reports }).await?;
    if marking.state == ReportState::Pending {
        api.reporter.notify_one();
    }
    Ok(response)
}
