//! Domain values → contract messages. Every response and event is built here; personal data
//! reaches them only masked.

use chrono::{DateTime, Utc};
use govmedia_kit::clock::to_proto;
use govmedia_proto::{
    common::v1::{self as common, Role as ProtoRole},
    routing::v1 as pb,
};

use crate::domain::{
    Case, Extension, Reply, RoutingRule, Stamp, Step,
    knowledge::Entry,
    relay::Task,
    review::{Chain, Draft},
};

/// The etag of a version.
pub fn etag(version: i64) -> String {
    version.to_string()
}

/// `cases/{id}`.
pub fn case_name(id: &str) -> String {
    format!("cases/{id}")
}

/// `messages/{id}`.
pub fn message_name(id: &str) -> String {
    format!("messages/{id}")
}

/// `accounts/{id}`.
pub fn account_name(id: &str) -> String {
    format!("accounts/{id}")
}

/// `organizations/{id}`, empty for none.
pub fn organization_name(id: &str) -> String {
    if id.is_empty() {
        String::new()
    } else {
        format!("organizations/{id}")
    }
}

/// An audit stamp.
pub fn stamp(stamp: &Stamp) -> common::AuditStamp {
    common::AuditStamp {
        time: Some(to_proto(stamp.time)),
        actor: stamp.actor.clone(),
        actor_organization: organization_name(&stamp.actor_organization),
    }
}

fn time(value: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    value.map(to_proto)
}

fn reply(reply: &Reply) -> pb::Reply {
    pb::Reply {
        round: reply.round as i32,
        text: reply.text.clone(),
        state: reply.state,
        drafted: Some(stamp(&reply.drafted)),
        reviewed: reply.reviewed.as_ref().map(stamp),
        review_comment: reply.review_comment.clone(),
        published_time: time(reply.published_time),
        platform_reply_id: reply.platform_reply_id.clone(),
    }
}

fn extension(extension: &Extension) -> pb::Extension {
    let (approved, comment, ruled) = match &extension.ruling {
        Some(ruling) => (
            ruling.approved,
            ruling.comment.clone(),
            Some(stamp(&ruling.by)),
        ),
        None => (false, String::new(), None),
    };
    pb::Extension {
        days: extension.days as i32,
        reason: extension.reason.clone(),
        requested: Some(stamp(&extension.requested)),
        decided: extension.ruling.is_some(),
        approved,
        ruled,
        comment,
    }
}

/// One step of the history.
pub fn step(step: &Step) -> pb::CaseStep {
    pb::CaseStep {
        action: step.action as i32,
        from_state: step.from as i32,
        to_state: step.to as i32,
        stamp: Some(stamp(&step.stamp)),
        department: step.department.clone(),
        comment: step.comment.clone(),
    }
}

/// A case with its history.
pub fn case(case: &Case, steps: &[Step]) -> pb::Case {
    pb::Case {
        name: case_name(&case.id),
        account: account_name(&case.account),
        account_organization: organization_name(&case.account_organization),
        category: case.category as i32,
        text: case.text.clone(),
        citizen: Some(pb::MaskedCitizen {
            handle: case.handle_masked.clone(),
            contact: case.contact_masked.clone(),
        }),
        region_code: case.region_code.clone(),
        state: case.state as i32,
        department: case.department_name(),
        routed_by_rule: case
            .routed_by_rule
            .as_deref()
            .map(|id| format!("routingRules/{id}"))
            .unwrap_or_default(),
        received_time: Some(to_proto(case.received_time)),
        dispatch_due_time: time(case.dispatch_due),
        dispatched_time: time(case.dispatched_time),
        sign_due_time: time(case.sign_due),
        signed_time: time(case.signed_time),
        handling_due_time: time(case.handling_due),
        return_window_end_time: time(case.return_window_end),
        dispatcher_overdue: case.dispatcher_overdue,
        department_overdue: case.department_overdue,
        message_count: case.message_count,
        extension_days: case.extension_days as i32,
        extension: case.extension.as_ref().map(extension),
        return_reason: case.return_reason.clone(),
        return_count: case.return_count,
        replies: case.replies.iter().map(reply).collect(),
        satisfaction: case.satisfaction.map_or(0, |s| s as i32),
        reopen_count: case.reopen_count,
        steps: steps.iter().map(self::step).collect(),
        created: Some(stamp(&case.created)),
        updated: Some(stamp(&case.updated)),
        etag: etag(case.version),
        escalation: case.escalation.map_or(0, |(level, _)| level as i32),
    }
}

/// A routing rule.
pub fn rule(rule: &RoutingRule) -> pb::RoutingRule {
    pb::RoutingRule {
        name: rule.name(),
        organization: organization_name(&rule.organization),
        categories: rule.categories.iter().map(|c| *c as i32).collect(),
        keywords: rule.keywords.clone(),
        region_prefixes: rule.region_prefixes.clone(),
        department: organization_name(&rule.department),
        priority: rule.priority,
        created: Some(stamp(&rule.created)),
    }
}

/// A knowledge entry.
pub fn knowledge_entry(entry: &Entry) -> pb::KnowledgeEntry {
    pb::KnowledgeEntry {
        name: entry.name(),
        organization: organization_name(&entry.organization),
        question: entry.question.clone(),
        answer: entry.answer.clone(),
        source_document: entry.source_document.clone(),
        source_url: entry.source_url.clone(),
        valid_from: Some(to_proto(entry.valid_from)),
        valid_to: entry.valid_to.map(to_proto),
        created: Some(stamp(&entry.created)),
    }
}

/// The roles a level may name, by proto value and token name.
pub const LEVEL_ROLES: [(ProtoRole, &str); 4] = [
    (ProtoRole::Operator, "operator"),
    (ProtoRole::Handler, "handler"),
    (ProtoRole::Leader, "leader"),
    (ProtoRole::Supervisor, "supervisor"),
];

/// A review chain.
pub fn review_chain(chain: &Chain) -> pb::ReviewChain {
    pb::ReviewChain {
        name: chain.name(),
        organization: organization_name(&chain.organization),
        display_name: chain.display_name.clone(),
        levels: chain
            .levels
            .iter()
            .map(|level| pb::ReviewLevel {
                title: level.title.clone(),
                role: level
                    .role
                    .as_deref()
                    .and_then(|name| LEVEL_ROLES.iter().find(|(_, n)| *n == name))
                    .map_or(0, |(role, _)| *role as i32),
                reviewer: level.reviewer.clone().unwrap_or_default(),
            })
            .collect(),
        created: Some(stamp(&chain.created)),
    }
}

/// A draft with its reviews.
pub fn draft(draft: &Draft) -> pb::Draft {
    pb::Draft {
        name: draft.name(),
        chain: format!("reviewChains/{}", draft.chain),
        organization: organization_name(&draft.organization),
        title: draft.title.clone(),
        text: draft.text.clone(),
        accounts: draft.accounts.iter().map(|a| account_name(a)).collect(),
        revision: draft.revision as i32,
        state: draft.state as i32,
        current_level: draft.current_level as i32,
        reviews: draft
            .reviews
            .iter()
            .map(|r| pb::DraftReview {
                revision: r.revision as i32,
                level: r.level as i32,
                approved: r.approved,
                comment: r.comment.clone(),
                aspects: r.aspects.clone(),
                stamp: Some(stamp(&r.stamp)),
            })
            .collect(),
        content_hash: draft.content_hash.clone().unwrap_or_default(),
        approved_time: draft.approved_at.map(to_proto),
        created: Some(stamp(&draft.created)),
        etag: etag(draft.version),
    }
}

/// A relay task with its report as of `now`.
pub fn relay_task(task: &Task, now: DateTime<Utc>) -> pb::RelayTask {
    let report = task.report(now);
    pb::RelayTask {
        name: task.name(),
        organization: organization_name(&task.organization),
        source_account: account_name(&task.source_account),
        source_post_id: task.source_post_id.clone(),
        title: task.title.clone(),
        source_url: task.source_url.clone(),
        targets: task
            .targets
            .iter()
            .map(|t| pb::RelayTarget {
                account: account_name(&t.account),
                confirmed: t.confirmed.is_some(),
                relayed_post_id: t.relayed_post_id.clone(),
                confirmed_stamp: t.confirmed.as_ref().map(stamp),
                late: task.is_late(t, now),
            })
            .collect(),
        due_time: Some(to_proto(task.due)),
        report: Some(pb::RelayReport {
            targets: report.targets as i32,
            on_time: report.on_time as i32,
            late: report.late as i32,
            missing: report.missing as i32,
            overdue: report.overdue,
            complete: report.complete,
        }),
        created: Some(stamp(&task.created)),
        etag: etag(task.version),
    }
}
