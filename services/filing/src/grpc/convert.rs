//! Domain → protobuf. The only place that knows both shapes; requests are parsed into domain
//! values by the validation in each handler module.

use chrono::{DateTime, Utc};
use govmedia_kit::clock::to_proto;
use govmedia_proto::{common::v1 as common, filing::v1 as pb, registry::v1 as registry};
use prost::Message;

use crate::domain::{Deadlines, Filing, Stamp, TimelineEntry};

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
pub fn filing(
    filing: &Filing,
    timeline: &[TimelineEntry],
    deadlines: &Deadlines,
    now: DateTime<Utc>,
) -> pb::Filing {
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
        overdue: deadlines.is_overdue(filing.state, filing.state_time, now),
        created: Some(stamp(&filing.created)),
        updated: Some(stamp(&filing.updated)),
        etag: etag(filing.version),
        bound_platform_account_id: filing.bound_platform_account_id.clone().unwrap_or_default(),
    }
}
