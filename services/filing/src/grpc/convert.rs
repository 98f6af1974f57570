//! Domain → protobuf. The only place that knows both shapes; requests are parsed into domain
//! values by the validation in each handler module.

use chrono::{DateTime, Utc};
use govmedia_kit::clock::to_proto;
use govmedia_proto::{common::v1 as common, filing::v1 as pb, registry::v1 as registry};
use prost::Message;

use crate::{
    domain::{
        ClosureReport, Filing, Stamp, TimelineEntry,
        reconcile::{Discrepancy, Snapshot},
        report::Report,
    },
    national::Record,
};

/// `filings/{id}`.
pub fn filing_name(id: &str) -> String {
    format!("filings/{id}")
}

/// `organizations/{id}`.
pub fn organization_name(id: &str) -> String {
    format!("organizations/{id}")
}

/// `accounts/{id}`.
pub fn account_name(id: &str) -> String {
    format!("accounts/{id}")
}

/// The etag of a version.
pub fn etag(version: i64) -> String {
    version.to_string()
}

/// An audit stamp.
pub fn stamp(stamp: &Stamp) -> common::AuditStamp {
    common::AuditStamp {
        time: Some(to_proto(stamp.time)),
        actor: stamp.actor.clone(),
        actor_organization: organization_name(&stamp.actor_organization),
    }
}

/// A timeline entry.
pub fn timeline_entry(entry: &TimelineEntry) -> pb::TimelineEntry {
    pb::TimelineEntry {
        action: entry.action as i32,
        from_state: entry.from as i32,
        to_state: entry.to as i32,
        stamp: Some(stamp(&entry.stamp)),
        comment: entry.comment.clone(),
    }
}

/// A filing as the caller sees it at `now`, with `timeline` (empty in listings).
pub fn filing(filing: &Filing, timeline: &[TimelineEntry], now: DateTime<Utc>) -> pb::Filing {
    // Both were encoded by this service from validated messages; an undecodable one would be a
    // bug, shown as absent rather than failing the read of the whole filing.
    let account = (!filing.account.is_empty())
        .then(|| registry::Account::decode(filing.account.as_slice()).ok())
        .flatten();
    let opening_check = (!filing.opening_check.is_empty())
        .then(|| pb::OpeningCheck::decode(filing.opening_check.as_slice()).ok())
        .flatten();
    pb::Filing {
        name: filing.name(),
        organization: organization_name(&filing.organization),
        kind: filing.kind as i32,
        account,
        change_mask: (!filing.change_mask.is_empty()).then(|| prost_types::FieldMask {
            paths: filing.change_mask.clone(),
        }),
        target_account: filing
            .target_account
            .as_deref()
            .map(account_name)
            .unwrap_or_default(),
        reason: filing.reason.clone(),
        attachments: filing
            .attachments
            .iter()
            .map(|attachment| pb::Attachment {
                name: attachment.name.clone(),
                sha256: attachment.sha256.clone(),
                size_bytes: attachment.size_bytes,
            })
            .collect(),
        state: filing.state as i32,
        management_department: filing
            .management_department
            .as_deref()
            .map(organization_name)
            .unwrap_or_default(),
        opening_check,
        application_state: filing.application.state.map_or(0, |state| state as i32),
        application_error: filing.application.error.clone(),
        timeline: timeline.iter().map(timeline_entry).collect(),
        state_time: Some(to_proto(filing.state_time)),
        overdue: filing.is_overdue(now),
        due_time: filing.due_time.map(to_proto),
        created: Some(stamp(&filing.created)),
        updated: Some(stamp(&filing.updated)),
        etag: etag(filing.version),
        bound_platform_account_id: filing.bound_platform_account_id.clone().unwrap_or_default(),
        filed_after_opening: filing.filed_after_opening(),
        enforced: filing.enforced,
        grounds: filing
            .grounds
            .as_deref()
            .map(|order| format!("rectificationOrders/{order}"))
            .unwrap_or_default(),
    }
}

/// `reports/{id}`.
pub fn report_name(id: &str) -> String {
    format!("reports/{id}")
}

/// The account snapshot of a report; absent if it does not decode (a bug, shown rather than
/// failing the read).
pub fn report_account(report: &Report) -> Option<registry::Account> {
    registry::Account::decode(report.account.as_slice()).ok()
}

/// A report record as the caller sees it.
pub fn report(report: &Report) -> pb::Report {
    pb::Report {
        name: report_name(&report.id),
        filing: filing_name(&report.filing),
        cause: report.cause as i32,
        organization: organization_name(&report.organization),
        management_department: organization_name(&report.management_department),
        account: report_account(report),
        state: report.state as i32,
        attempts: report.attempts,
        next_attempt_time: report.next_attempt.map(to_proto),
        last_error: report.last_error.clone(),
        receipt: report.receipt.clone(),
        create_time: Some(to_proto(report.created)),
        state_time: Some(to_proto(report.state_time)),
        etag: etag(report.version),
        unit: report_unit(report),
    }
}

/// The unit snapshot of a report, if it has one.
fn report_unit(report: &Report) -> Option<registry::Organization> {
    (!report.unit.is_empty())
        .then(|| registry::Organization::decode(report.unit.as_slice()).ok())
        .flatten()
}

/// A proto enum value's name without its prefix, e.g. `WECHAT_OFFICIAL_ACCOUNT`.
fn bare(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_owned()
}

/// A report record as the national system receives it.
pub fn record(report: &Report) -> Record {
    let account = report_account(report).unwrap_or_default();
    let platform = common::Platform::try_from(account.platform).unwrap_or_default();
    let kind = common::AccountKind::try_from(account.kind).unwrap_or_default();
    let status = registry::AccountStatus::try_from(account.status).unwrap_or_default();
    let operator = account.operator.unwrap_or_default();
    let operated_by = {
        let kind = registry::OperatorType::try_from(operator.r#type).unwrap_or_default();
        let kind = bare(kind.as_str_name(), "OPERATOR_TYPE_");
        match operator.vendor.strip_prefix("vendors/") {
            Some(vendor) => format!("{kind} {vendor}"),
            None => kind,
        }
    };
    let unit = report_unit(report).unwrap_or_default();
    let responsible = account.responsible_person.unwrap_or_default();
    let responsible_person = if responsible.title.is_empty() {
        responsible.name
    } else {
        format!("{}({})", responsible.name, responsible.title)
    };
    Record {
        values: [
            report.id.clone(),
            report.filing.clone(),
            report.cause.as_str().to_owned(),
            report.cause.label().to_owned(),
            report.account_id.clone(),
            report.organization.clone(),
            unit.display_name,
            unit.unified_social_credit_code,
            unit.region_code,
            report.management_department.clone(),
            bare(platform.as_str_name(), "PLATFORM_"),
            account.platform_account_id,
            account.display_name,
            bare(kind.as_str_name(), "ACCOUNT_KIND_"),
            bare(status.as_str_name(), "ACCOUNT_STATUS_"),
            account.verified_subject,
            operated_by,
            responsible_person,
            responsible.phone,
            report
                .created
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            account.filed_after_opening.to_string(),
        ],
    }
}

/// An account of the registry as reconciliation compares it.
pub fn snapshot(account: &registry::Account) -> Snapshot {
    Snapshot {
        account: account
            .name
            .strip_prefix("accounts/")
            .unwrap_or(&account.name)
            .to_owned(),
        organization: account
            .organization
            .strip_prefix("organizations/")
            .unwrap_or(&account.organization)
            .to_owned(),
        platform: account.platform,
        platform_account_id: account.platform_account_id.clone(),
        display_name: account.display_name.clone(),
        kind: account.kind,
        status: account.status,
        verified_subject: account.verified_subject.clone(),
        live: govmedia_accounts::status::AccountStatus::from_i32(account.status)
            .is_some_and(|status| status.is_live()),
        changed: account
            .updated
            .as_ref()
            .and_then(|stamp| stamp.time.as_ref())
            .and_then(govmedia_kit::clock::from_proto),
    }
}

/// A discrepancy as the caller sees it.
pub fn discrepancy(found: &Discrepancy) -> pb::Discrepancy {
    let (roster_organization, roster_line) = found
        .roster
        .as_ref()
        .map(|(organization, line)| (organization_name(organization), *line))
        .unwrap_or_default();
    pb::Discrepancy {
        r#type: found.kind as i32,
        account: found
            .account
            .as_deref()
            .map(account_name)
            .unwrap_or_default(),
        platform: found.platform,
        platform_account_id: found.platform_account_id.clone(),
        display_name: found.display_name.clone(),
        report: found.report.as_deref().map(report_name).unwrap_or_default(),
        differences: found
            .differences
            .iter()
            .map(|field| (*field).to_owned())
            .collect(),
        unsent_report: found.unsent.as_deref().map(report_name).unwrap_or_default(),
        detail: found.detail.clone(),
        roster_organization,
        roster_line,
    }
}

/// A closure report.
pub fn closure_report(report: &ClosureReport) -> pb::ClosureReport {
    pb::ClosureReport {
        name: format!("closureReports/{}", report.id),
        filing: filing_name(&report.filing),
        kind: report.kind as i32,
        account: account_name(&report.account),
        account_display_name: report.account_display_name.clone(),
        organization: organization_name(&report.organization),
        government: organization_name(&report.government),
        enforced: report.enforced,
        grounds: report
            .grounds
            .as_deref()
            .map(|order| format!("rectificationOrders/{order}"))
            .unwrap_or_default(),
        reason: report.reason.clone(),
        applied_time: Some(to_proto(report.applied)),
    }
}
