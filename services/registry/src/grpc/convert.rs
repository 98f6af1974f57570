//! Domain → protobuf. The only place that knows both shapes; requests are parsed into domain
//! values by the validation in each handler module.

use govmedia_kit::{audit::AuditRecord, clock::to_proto};
use govmedia_proto::{common::v1 as common, registry::v1 as pb};

use crate::domain::{Account, Custody, Operator, Organization, Stamp};

/// `organizations/{id}`.
pub fn organization_name(id: &str) -> String {
    format!("organizations/{id}")
}

/// `accounts/{id}`.
pub fn account_name(id: &str) -> String {
    format!("accounts/{id}")
}

/// `accounts/{id}/credentialCustody`.
pub fn custody_name(account: &str) -> String {
    format!("accounts/{account}/credentialCustody")
}

/// The etag of a version.
pub fn etag(version: i64) -> String {
    version.to_string()
}

fn prefixed(collection: &str, id: &str) -> String {
    if id.is_empty() {
        String::new()
    } else {
        format!("{collection}/{id}")
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

/// An organization.
pub fn organization(org: &Organization) -> pb::Organization {
    pb::Organization {
        name: organization_name(&org.id),
        parent: org
            .parent
            .as_deref()
            .map(organization_name)
            .unwrap_or_default(),
        display_name: org.display_name.clone(),
        level: org.level as i32,
        kind: org.kind as i32,
        management_department: org.management_department,
        must_have_account: Some(org.must_have_account),
        must_have_account_overridden: org.must_have_account_overridden,
        principal_leader: org.principal_leader.clone(),
        designated_deputy: org.designated_deputy.clone(),
        unified_social_credit_code: org.credit_code.clone().unwrap_or_default(),
        region_code: org.region_code.clone().unwrap_or_default(),
        government: org
            .government
            .as_deref()
            .map(organization_name)
            .unwrap_or_default(),
        created: Some(stamp(&org.created)),
        updated: Some(stamp(&org.updated)),
        etag: etag(org.version),
        ancestors: org.ancestors().map(organization_name).collect(),
    }
}

/// An account.
pub fn account(account: &Account) -> pb::Account {
    let operator = match &account.operator {
        Operator::OwnUnit => pb::Operator {
            r#type: pb::OperatorType::Self_ as i32,
            vendor: String::new(),
        },
        Operator::Vendor(vendor) => pb::Operator {
            r#type: pb::OperatorType::Vendor as i32,
            vendor: prefixed("vendors", vendor),
        },
    };
    pb::Account {
        name: account_name(&account.id),
        organization: organization_name(&account.organization),
        platform: account.platform as i32,
        platform_account_id: account.platform_account_id.clone().unwrap_or_default(),
        display_name: account.display_name.clone(),
        kind: account.kind as i32,
        operator: Some(operator),
        responsible_person: Some(pb::Contact {
            name: account.responsible_person.name.clone(),
            title: account.responsible_person.title.clone(),
            phone: account.responsible_person.phone.clone(),
        }),
        verified_subject: account.verified_subject.clone(),
        status: account.status as i32,
        level: account.level as i32,
        justification: account.justification.clone(),
        homepage_url: account.homepage_url.clone(),
        open_time: account.open_time.map(to_proto),
        last_post_time: account.last_post_time.map(to_proto),
        follower_count: account.follower_count,
        last_filing: prefixed("filings", &account.last_filing),
        filed_after_opening: account.filed_after_opening,
        created: Some(stamp(&account.created)),
        updated: Some(stamp(&account.updated)),
        etag: etag(account.version),
    }
}

/// A custody record.
pub fn custody(custody: &Custody) -> pb::CredentialCustody {
    pb::CredentialCustody {
        name: custody_name(&custody.account),
        custodian_name: custody.custodian_name.clone(),
        custodian_title: custody.custodian_title.clone(),
        custodian_active: custody.custodian_active,
        bound_phone: custody.bound_phone.clone(),
        bound_email: custody.bound_email.clone(),
        last_rotation_time: custody.last_rotation_time.map(to_proto),
        rotation_interval_days: custody.rotation_interval_days,
        rotation_due_time: Some(to_proto(custody.rotation_due())),
        created: Some(stamp(&custody.created)),
        updated: Some(stamp(&custody.updated)),
        etag: etag(custody.version),
    }
}

/// An audit entry. The registry's audit scope is the organization path, whose last segment is
/// the organization the resource belongs to.
pub fn audit_record(record: &AuditRecord) -> pb::AuditRecord {
    let organization = record
        .scope
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .map(organization_name)
        .unwrap_or_default();
    pb::AuditRecord {
        sequence: record.seq,
        stamp: Some(common::AuditStamp {
            time: Some(to_proto(record.recorded_at)),
            actor: record.actor.clone(),
            actor_organization: organization_name(&record.actor_organization),
        }),
        action: record.action.clone(),
        resource: record.resource.clone(),
        organization,
        request_id: record.request_id.clone(),
        details: record.details.clone(),
        previous_hash: record.previous_hash.clone(),
        hash: record.hash.clone(),
    }
}
