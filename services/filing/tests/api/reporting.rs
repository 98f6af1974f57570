//! National reporting (R-12): every change a filing makes to the ledger is queued, shown per
//! region, exported for upload by hand (JSON Lines, XLSX) and marked, or delivered by the HTTP
//! adapter to a local stand-in for the national system, with retries.

use std::{
    collections::HashMap,
    io::Read,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use govmedia_kit::auth::Role;
use govmedia_proto::{
    common::v1::Platform,
    filing::v1::{self as pb, ExportFormat, ReportCause, ReportState},
    registry::v1::{self as rpb, AccountStatus},
};
use govmedia_test_support::{Backend, backend_test, eventually};
use tonic::Code;

use crate::helpers::*;

/// Opens `id` through the whole workflow and waits until it is in the ledger.
async fn open_account(suite: &Suite, id: &str, platform: Platform, name: &str) {
    file_and_accept(suite, id, open_filing(platform, name)).await;
    let filing = applied(suite, id).await;
    assert_eq!(
        filing.application_state,
        pb::ApplicationState::Applied as i32
    );
}

async fn list(client: &mut Filings, state: ReportState) -> Vec<pb::Report> {
    client
        .list_reports(pb::ListReportsRequest {
            state: state as i32,
            ..Default::default()
        })
        .await
        .expect("list reports")
        .into_inner()
        .reports
}

async fn export(client: &mut Filings, format: ExportFormat) -> pb::ExportReportsResponse {
    client
        .export_reports(pb::ExportReportsRequest {
            format: format as i32,
            ..Default::default()
        })
        .await
        .expect("export")
        .into_inner()
}

/// The text of one part of an XLSX archive.
fn xlsx_part(content: &[u8], part: &str) -> String {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(content)).expect("the export is a zip archive");
    let mut text = String::new();
    archive
        .by_name(part)
        .unwrap_or_else(|_| panic!("{part} in the workbook"))
        .read_to_string(&mut text)
        .expect("UTF-8 XML");
    text
}

async fn changes_are_queued_exported_and_marked_by_hand(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut supervisor = suite.supervisor().await;
    open_account(&suite, "edu-weibo", Platform::Weibo, "格尔木教育微博").await;
    bind(&suite, "edu-weibo", "7781234567").await;

    // Two changes of the ledger, two records, newest first; each holds the account as the
    // ledger had it right after the change.
    let pending = list(&mut supervisor, ReportState::Pending).await;
    let causes: Vec<i32> = pending.iter().map(|report| report.cause).collect();
    assert_eq!(
        causes,
        [ReportCause::Activated as i32, ReportCause::Opened as i32]
    );
    let activated = &pending[0];
    let opened = &pending[1];
    assert_eq!(opened.filing, "filings/edu-weibo");
    assert_eq!(opened.organization, "organizations/golmud-edu");
    assert_eq!(opened.management_department, "organizations/golmud-office");
    let unit = opened.unit.as_ref().expect("the unit as it was");
    assert_eq!(unit.name, "organizations/golmud-edu");
    assert_eq!(
        activated.unit.as_ref().expect("unit").display_name,
        "golmud-edu 单位"
    );
    let snapshot = opened.account.as_ref().expect("snapshot");
    assert_eq!(snapshot.status, AccountStatus::Filed as i32);
    assert_eq!(snapshot.name, "accounts/edu-weibo");
    let snapshot = activated.account.as_ref().expect("snapshot");
    assert_eq!(snapshot.status, AccountStatus::Active as i32);
    assert_eq!(snapshot.platform_account_id, "7781234567");

    // The unit sees its own records; the province's summary shows the Golmud region pending.
    let own = list(&mut suite.operator().await, ReportState::Unspecified).await;
    assert_eq!(own.len(), 2);
    let summary = suite
        .filings("province", "qinghai", Role::Supervisor)
        .await
        .summarize_reports(pb::SummarizeReportsRequest::default())
        .await
        .expect("summary")
        .into_inner();
    assert_eq!(summary.regions.len(), 1);
    let region = &summary.regions[0];
    assert_eq!(region.management_department, "organizations/golmud-office");
    assert_eq!(
        (region.pending, region.sent, region.confirmed, region.failed),
        (2, 0, 0, 0)
    );
    assert!(region.oldest_pending_time.is_some());

    // JSON Lines: oldest first, English keys.
    let jsonl = export(&mut supervisor, ExportFormat::Jsonl).await;
    assert_eq!(jsonl.media_type, "application/jsonl");
    assert!(jsonl.file_name.ends_with(".jsonl"), "{}", jsonl.file_name);
    let lines: Vec<serde_json::Value> = std::str::from_utf8(&jsonl.content)
        .expect("UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["cause"], "OPENED");
    assert_eq!(lines[0]["cause_name"], "开设");
    assert_eq!(lines[0]["platform"], "WEIBO");
    assert_eq!(lines[0]["display_name"], "格尔木教育微博");
    assert_eq!(lines[0]["account_status"], "FILED");
    assert_eq!(lines[0]["responsible_person"], "王敏(办公室主任)");
    assert_eq!(lines[0]["organization"], "golmud-edu");
    assert_eq!(lines[0]["organization_name"], "golmud-edu 单位");
    assert_eq!(lines[1]["platform_account_id"], "7781234567");
    assert_eq!(jsonl.reports, [opened.name.clone(), activated.name.clone()]);
    assert!(jsonl.next_page_token.is_empty());

    // XLSX: a header row in Chinese and English, one row per record, values as text.
    let xlsx = export(&mut supervisor, ExportFormat::Xlsx).await;
    assert!(xlsx.file_name.ends_with(".xlsx"), "{}", xlsx.file_name);
    let strings = xlsx_part(&xlsx.content, "xl/sharedStrings.xml");
    for header in [
        "账号名称\nAccount name",
        "平台账号ID\nPlatform account ID",
        "认证主体\nVerified subject",
    ] {
        assert!(strings.contains(header), "header {header:?} in {strings}");
    }
    assert!(strings.contains("格尔木教育微博") && strings.contains("7781234567"));
    let sheet = xlsx_part(&xlsx.content, "xl/worksheets/sheet1.xml");
    assert_eq!(sheet.matches("<row ").count(), 3, "header and two records");

    // Each record waits for a reporter as a delivery job (none runs with the export adapter);
    // marking a record by hand settles it, and its job goes.
    let deliveries = || async {
        govmedia_kit::jobs::count(
            suite.filing_db.conn(),
            "deliver-report",
            govmedia_kit::jobs::JobState::Ready,
        )
        .await
        .expect("count jobs")
    };
    assert_eq!(deliveries().await, 2);

    // Uploaded by hand, then confirmed by the national system.
    let marked = supervisor
        .mark_reports(pb::MarkReportsRequest {
            names: jsonl.reports.clone(),
            state: ReportState::Sent as i32,
            request_id: "upload-1".into(),
            ..Default::default()
        })
        .await
        .expect("mark sent")
        .into_inner();
    assert!(
        marked
            .reports
            .iter()
            .all(|report| report.state == ReportState::Sent as i32)
    );
    assert_eq!(deliveries().await, 0);
    let confirmed = supervisor
        .mark_reports(pb::MarkReportsRequest {
            names: jsonl.reports.clone(),
            state: ReportState::Confirmed as i32,
            receipt: "青海-2026-1202-001".into(),
            request_id: "confirm-1".into(),
            ..Default::default()
        })
        .await
        .expect("mark confirmed")
        .into_inner();
    assert!(
        confirmed
            .reports
            .iter()
            .all(|report| report.state == ReportState::Confirmed as i32
                && report.receipt == "青海-2026-1202-001")
    );
    // The same request again answers as the first time.
    let replay = supervisor
        .mark_reports(pb::MarkReportsRequest {
            names: jsonl.reports.clone(),
            state: ReportState::Confirmed as i32,
            receipt: "青海-2026-1202-001".into(),
            request_id: "confirm-1".into(),
            ..Default::default()
        })
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(replay, confirmed);
    assert!(list(&mut supervisor, ReportState::Pending).await.is_empty());
    let empty = export(&mut supervisor, ExportFormat::Jsonl).await;
    assert!(empty.content.is_empty() && empty.reports.is_empty());
}
backend_test!(
    changes_are_queued_exported_and_marked_by_hand_on,
    changes_are_queued_exported_and_marked_by_hand
);

/// An account opened on its platform before it was filed (补报) is marked so in the filing, the
/// ledger and the national report, and each listing can pick such accounts out.
async fn accounts_filed_after_opening_are_marked(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut supervisor = suite.supervisor().await;
    open_account(&suite, "edu-weibo", Platform::Weibo, "格尔木教育微博").await;
    bind(&suite, "edu-weibo", "7781234567").await;
    let mut retro = open_filing(Platform::Douyin, "格尔木教育抖音");
    retro.account.as_mut().expect("account").platform_account_id = "dy_golmud_edu".into();
    let accepted = file_and_accept(&suite, "edu-douyin", retro).await;
    assert!(accepted.filed_after_opening);
    applied(&suite, "edu-douyin").await;
    // The id the filing named is the one bound.
    let bound = bind(&suite, "edu-douyin", "").await;
    assert_eq!(bound.bound_platform_account_id, "dy_golmud_edu");

    let filings = supervisor
        .list_filings(pb::ListFilingsRequest {
            filed_after_opening_only: true,
            ..Default::default()
        })
        .await
        .expect("list filings")
        .into_inner()
        .filings;
    let names: Vec<_> = filings.iter().map(|filing| filing.name.as_str()).collect();
    assert_eq!(names, ["filings/edu-douyin"]);

    let mut ledger = suite.ledger("golmud-edu", &[Role::Operator]).await;
    let marked = ledger
        .list_accounts(rpb::ListAccountsRequest {
            filed_after_opening_only: true,
            ..Default::default()
        })
        .await
        .expect("list accounts")
        .into_inner();
    assert_eq!(marked.total_size, 1);
    let account = &marked.accounts[0];
    assert_eq!(account.name, "accounts/edu-douyin");
    assert!(account.filed_after_opening);
    assert_eq!(account.status, AccountStatus::Active as i32);

    let jsonl = export(&mut supervisor, ExportFormat::Jsonl).await;
    let marks: Vec<(String, String)> = std::str::from_utf8(&jsonl.content)
        .expect("UTF-8")
        .lines()
        .map(|line| {
            let record: serde_json::Value = serde_json::from_str(line).expect("JSON");
            (
                record["account"].as_str().expect("account").to_owned(),
                record["filed_after_opening"]
                    .as_str()
                    .expect("mark")
                    .to_owned(),
            )
        })
        .collect();
    let mark = |account: &str, value: &str| (account.to_owned(), value.to_owned());
    assert_eq!(
        marks,
        [
            mark("edu-weibo", "false"),
            mark("edu-weibo", "false"),
            mark("edu-douyin", "true"),
            mark("edu-douyin", "true"),
        ]
    );
    let xlsx = export(&mut supervisor, ExportFormat::Xlsx).await;
    let strings = xlsx_part(&xlsx.content, "xl/sharedStrings.xml");
    assert!(
        strings.contains("未经报备先开设\nFiled after opening"),
        "{strings}"
    );
}
backend_test!(
    accounts_filed_after_opening_are_marked_on,
    accounts_filed_after_opening_are_marked
);

async fn report_requests_are_checked_and_change_nothing(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut supervisor = suite.supervisor().await;
    open_account(&suite, "edu-weibo", Platform::Weibo, "格尔木教育微博").await;
    let record = list(&mut supervisor, ReportState::Pending).await.remove(0);
    let audit = suite.audit_count().await;
    let mark = |names: Vec<String>, state: ReportState, receipt: &str, request_id: &str| {
        pb::MarkReportsRequest {
            names,
            state: state as i32,
            receipt: receipt.into(),
            request_id: request_id.into(),
            ..Default::default()
        }
    };

    // Malformed requests.
    assert_invalid(
        supervisor
            .mark_reports(mark(
                vec![record.name.clone()],
                ReportState::Confirmed,
                "",
                "m-1",
            ))
            .await,
        "receipt",
    );
    assert_invalid(
        supervisor
            .mark_reports(mark(vec![], ReportState::Sent, "", "m-2"))
            .await,
        "names",
    );
    assert_invalid(
        supervisor
            .mark_reports(mark(
                vec![record.name.clone(), record.name.clone()],
                ReportState::Sent,
                "",
                "m-3",
            ))
            .await,
        "names[1]",
    );
    assert_invalid(
        supervisor
            .mark_reports(mark(
                vec!["filings/edu-weibo".into()],
                ReportState::Sent,
                "",
                "m-4",
            ))
            .await,
        "names[0]",
    );
    assert_invalid(
        supervisor
            .mark_reports(pb::MarkReportsRequest {
                names: vec![record.name.clone()],
                state: ReportState::Failed as i32,
                request_id: "m-5".into(),
                ..Default::default()
            })
            .await,
        "comment",
    );
    assert_invalid(
        supervisor
            .export_reports(pb::ExportReportsRequest::default())
            .await,
        "format",
    );
    assert_invalid(
        supervisor
            .export_reports(pb::ExportReportsRequest {
                format: ExportFormat::Xlsx as i32,
                page_size: 1001,
                ..Default::default()
            })
            .await,
        "page_size",
    );

    assert_invalid(
        supervisor
            .export_reports(pb::ExportReportsRequest {
                format: ExportFormat::Jsonl as i32,
                state: 99,
                ..Default::default()
            })
            .await,
        "state",
    );
    assert_invalid(
        supervisor
            .list_reports(pb::ListReportsRequest {
                state: 99,
                ..Default::default()
            })
            .await,
        "state",
    );
    assert_error(
        supervisor
            .list_reports(pb::ListReportsRequest {
                page_token: "not-a-token".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "INVALID_PAGE_TOKEN",
    );
    assert_invalid(
        supervisor
            .summarize_reports(pb::SummarizeReportsRequest {
                organization: "golmud".into(),
            })
            .await,
        "organization",
    );

    // Wrong steps, unknown records, other jurisdictions, other roles.
    assert_error(
        supervisor
            .mark_reports(mark(
                vec![record.name.clone()],
                ReportState::Pending,
                "",
                "m-6",
            ))
            .await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
    assert_error(
        supervisor
            .mark_reports(mark(
                vec!["reports/r-nothing".into()],
                ReportState::Sent,
                "",
                "m-7",
            ))
            .await,
        Code::NotFound,
        "NOT_FOUND",
    );
    assert_error(
        suite
            .filings("xining.supervisor", "xining", Role::Supervisor)
            .await
            .mark_reports(mark(
                vec![record.name.clone()],
                ReportState::Sent,
                "",
                "m-8",
            ))
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    assert_error(
        suite
            .operator()
            .await
            .mark_reports(mark(
                vec![record.name.clone()],
                ReportState::Sent,
                "",
                "m-9",
            ))
            .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    // All or nothing: one record that may not take the step leaves the others as they were.
    assert_error(
        supervisor
            .mark_reports(mark(
                vec![record.name.clone(), "reports/r-nothing".into()],
                ReportState::Sent,
                "",
                "m-10",
            ))
            .await,
        Code::NotFound,
        "NOT_FOUND",
    );

    let after = list(&mut supervisor, ReportState::Unspecified).await;
    assert_eq!(after, [record]);
    assert_eq!(suite.audit_count().await, audit);
}
backend_test!(
    report_requests_are_checked_and_change_nothing_on,
    report_requests_are_checked_and_change_nothing
);

async fn an_older_record_never_follows_a_newer_one(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut supervisor = suite.supervisor().await;
    open_account(&suite, "edu-weibo", Platform::Weibo, "格尔木教育微博").await;
    bind(&suite, "edu-weibo", "7781234567").await;
    let pending = list(&mut supervisor, ReportState::Pending).await;
    let (activated, opened) = (pending[0].name.clone(), pending[1].name.clone());
    supervisor
        .mark_reports(pb::MarkReportsRequest {
            names: vec![opened.clone()],
            state: ReportState::Failed as i32,
            comment: "上传时被退回".into(),
            request_id: "fail-opened".into(),
            ..Default::default()
        })
        .await
        .expect("mark failed");
    supervisor
        .mark_reports(pb::MarkReportsRequest {
            names: vec![activated.clone()],
            state: ReportState::Confirmed as i32,
            receipt: "青海-003".into(),
            request_id: "confirm-activated".into(),
            ..Default::default()
        })
        .await
        .expect("confirm the newer record");
    // The national system holds the newer copy; the older one may not be sent after it.
    let status = assert_error(
        supervisor
            .mark_reports(pb::MarkReportsRequest {
                names: vec![opened.clone()],
                state: ReportState::Pending as i32,
                request_id: "requeue-opened".into(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        "INVALID_TRANSITION",
    );
    assert!(status.message().contains(&activated), "{status:?}");
    let failed = list(&mut supervisor, ReportState::Failed).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].name, opened);
}
backend_test!(
    an_older_record_never_follows_a_newer_one_on,
    an_older_record_never_follows_a_newer_one
);

/// A stand-in for the national system: answers 503 to the first two deliveries of a record,
/// then confirms it; refuses outright a record of an account named "拒收".
#[derive(Clone, Default)]
struct NationalSystem {
    seen: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
}

async fn receive(
    State(national): State<NationalSystem>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let key = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let Ok(record) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, r#"{"message":"not JSON"}"#.into());
    };
    let attempts = {
        let mut seen = national.seen.lock().expect("lock");
        seen.push((key.clone(), record.clone()));
        seen.iter().filter(|(seen, _)| *seen == key).count()
    };
    if record["display_name"] == "拒收" {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            r#"{"message":"账号名称不规范"}"#.into(),
        );
    }
    if attempts <= 2 {
        return (StatusCode::SERVICE_UNAVAILABLE, String::new());
    }
    (StatusCode::OK, format!(r#"{{"receipt":"GB-{key}"}}"#))
}

async fn start_national_system() -> (SocketAddr, NationalSystem) {
    let national = NationalSystem::default();
    let app = Router::new()
        .route("/reports", post(receive))
        .with_state(national.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("national system");
    });
    (addr, national)
}

async fn the_http_adapter_retries_until_the_national_system_answers(backend: Backend) {
    let (addr, national) = start_national_system().await;
    let suite = Suite::spawn_with(
        backend,
        Options {
            national: Some(addr),
            ..Options::default()
        },
    )
    .await;
    let mut supervisor = suite.supervisor().await;
    open_account(&suite, "edu-weibo", Platform::Weibo, "格尔木教育微博").await;
    // Bound while its opening is still being retried: the activation waits for the opening.
    bind(&suite, "edu-weibo", "7781234567").await;
    open_account(&suite, "edu-douyin", Platform::Douyin, "拒收").await;

    let settled = eventually("every record to settle", Duration::from_secs(20), || {
        let mut supervisor = supervisor.clone();
        async move {
            let reports = list(&mut supervisor, ReportState::Unspecified).await;
            (reports.len() == 3
                && reports.iter().all(|report| {
                    report.state == ReportState::Confirmed as i32
                        || report.state == ReportState::Failed as i32
                }))
            .then_some(reports)
        }
    })
    .await;
    let by_filing: HashMap<(&str, i32), &pb::Report> = settled
        .iter()
        .map(|report| ((report.filing.as_str(), report.cause), report))
        .collect();

    let confirmed = by_filing[&("filings/edu-weibo", ReportCause::Opened as i32)];
    let activated = by_filing[&("filings/edu-weibo", ReportCause::Activated as i32)];
    assert_eq!(activated.state, ReportState::Confirmed as i32);
    assert_eq!(confirmed.state, ReportState::Confirmed as i32);
    assert_eq!(confirmed.attempts, 3, "two 503s, then the confirmation");
    let id = confirmed.name.trim_start_matches("reports/");
    assert_eq!(confirmed.receipt, format!("GB-{id}"));
    assert!(confirmed.last_error.is_empty());

    let refused = by_filing[&("filings/edu-douyin", ReportCause::Opened as i32)];
    assert_eq!(refused.state, ReportState::Failed as i32);
    assert_eq!(refused.attempts, 1, "a refusal is not retried");
    assert!(
        refused.last_error.contains("账号名称不规范"),
        "{}",
        refused.last_error
    );

    // Every delivery of a record carried the record id as its idempotency key, and the body
    // held the record's columns.
    let seen = national.seen.lock().expect("lock").clone();
    let deliveries: Vec<_> = seen.iter().filter(|(key, _)| key == id).collect();
    assert_eq!(deliveries.len(), 3);
    assert_eq!(deliveries[0].1["report"], id);
    assert_eq!(deliveries[0].1["display_name"], "格尔木教育微博");
    assert_eq!(deliveries[0].1["management_department"], "golmud-office");
    // The records of one account arrived in the order they were queued.
    let activated_id = activated.name.trim_start_matches("reports/");
    let position = |wanted: &str, last: bool| {
        let mut positions = seen
            .iter()
            .enumerate()
            .filter(|(_, (key, _))| key == wanted);
        let found = if last {
            positions.next_back()
        } else {
            positions.next()
        };
        found.map(|(index, _)| index).expect("delivered")
    };
    assert!(
        position(id, true) < position(activated_id, false),
        "the activation was sent before the opening was confirmed"
    );

    // Queued again by hand, the refused record is tried again (and refused again).
    let requeued = supervisor
        .mark_reports(pb::MarkReportsRequest {
            names: vec![refused.name.clone()],
            state: ReportState::Pending as i32,
            request_id: "requeue-1".into(),
            ..Default::default()
        })
        .await
        .expect("requeue")
        .into_inner();
    assert_eq!(requeued.reports[0].attempts, 0);
    let name = refused.name.clone();
    eventually(
        "the requeued record to fail again",
        Duration::from_secs(20),
        || {
            let mut supervisor = supervisor.clone();
            let name = name.clone();
            async move {
                list(&mut supervisor, ReportState::Failed)
                    .await
                    .into_iter()
                    .find(|report| report.name == name && report.attempts == 1)
            }
        },
    )
    .await;

    let summary = supervisor
        .summarize_reports(pb::SummarizeReportsRequest::default())
        .await
        .expect("summary")
        .into_inner();
    let region = &summary.regions[0];
    assert_eq!(
        (region.pending, region.sent, region.confirmed, region.failed),
        (0, 0, 2, 1)
    );
    assert!(region.oldest_pending_time.is_none());
}
backend_test!(
    the_http_adapter_retries_on,
    the_http_adapter_retries_until_the_national_system_answers
);
