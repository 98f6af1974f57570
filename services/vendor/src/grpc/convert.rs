//! Domain values → contract messages. Every response and event is built here.

use govmedia_kit::clock::to_proto;
use govmedia_proto::{common::v1 as common, vendor::v1 as pb};

use crate::domain::{
    Contact, Delegation, Qualification, Stamp, Vendor, Vetting, performance::Assessment,
};

/// The etag of a version.
pub fn etag(version: i64) -> String {
    version.to_string()
}

/// `vendors/{id}`.
pub fn vendor_name(id: &str) -> String {
    format!("vendors/{id}")
}

/// `vendors/{vendor}/vettings/{id}`.
pub fn vetting_name(vendor: &str, id: &str) -> String {
    format!("vendors/{vendor}/vettings/{id}")
}

/// `accounts/{id}`.
pub fn account_name(id: &str) -> String {
    format!("accounts/{id}")
}

/// `filings/{id}`.
pub fn filing_name(id: &str) -> String {
    format!("filings/{id}")
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

fn contact(contact: &Contact) -> pb::VendorContact {
    pb::VendorContact {
        display_name: contact.display_name.clone(),
        title: contact.title.clone(),
        phone: contact.phone.clone(),
        email: contact.email.clone(),
    }
}

fn qualification(qualification: &Qualification) -> pb::Qualification {
    pb::Qualification {
        id: qualification.id.clone(),
        r#type: qualification.kind as i32,
        number: qualification.number.clone(),
        issuer: qualification.issuer.clone(),
        valid_from: Some(to_proto(qualification.valid_from)),
        valid_until: Some(to_proto(qualification.valid_until)),
        file: Some(pb::FileReference {
            uri: qualification.file_uri.clone(),
            sha256: qualification.file_sha256.clone(),
        }),
        added: Some(stamp(&qualification.added)),
    }
}

/// A vendor.
pub fn vendor(vendor: &Vendor) -> pb::Vendor {
    pb::Vendor {
        name: vendor.name(),
        display_name: vendor.display_name.clone(),
        unified_social_credit_code: vendor.credit_code.clone(),
        organization: organization_name(&vendor.organization),
        contacts: vendor.contacts.iter().map(contact).collect(),
        qualifications: vendor.qualifications.iter().map(qualification).collect(),
        status: vendor.status as i32,
        status_reason: vendor.status_reason.clone(),
        status_time: Some(to_proto(vendor.status_time)),
        approval_vetting: vendor.approval_vetting.clone().unwrap_or_default(),
        approval_valid_until: vendor.approval_valid_until.map(to_proto),
        blacklisted_in: vendor
            .blacklisted_in
            .as_deref()
            .map(organization_name)
            .unwrap_or_default(),
        created: Some(stamp(&vendor.created)),
        updated: Some(stamp(&vendor.updated)),
        etag: etag(vendor.version),
        clean_out_flag: vendor.clean_out_flag.clone(),
    }
}

/// A vetting of the vendor `vendor` (id).
pub fn vetting(vendor: &str, vetting: &Vetting) -> pb::Vetting {
    pb::Vetting {
        name: vetting_name(vendor, &vetting.id),
        assessors: vetting
            .assessors
            .iter()
            .map(|assessor| pb::Assessor {
                display_name: assessor.display_name.clone(),
                affiliation: assessor.affiliation.clone(),
                affiliation_credit_code: assessor.affiliation_credit_code.clone(),
            })
            .collect(),
        scores: vetting
            .scores
            .iter()
            .map(|score| pb::DimensionScore {
                dimension: score.dimension,
                score: score.score,
                comment: score.comment.clone(),
            })
            .collect(),
        summary: vetting.summary.clone(),
        total_score: vetting.total,
        pass_threshold: vetting.pass_threshold as i32,
        dimension_floor: vetting.dimension_floor as i32,
        passed: vetting.passed,
        valid_until: Some(to_proto(vetting.valid_until)),
        recorded: Some(stamp(&vetting.recorded)),
    }
}

/// A delegation.
pub fn delegation(delegation: &Delegation) -> pb::Delegation {
    pb::Delegation {
        name: delegation.name(),
        vendor: vendor_name(&delegation.vendor),
        organization: organization_name(&delegation.organization),
        accounts: delegation
            .handovers
            .iter()
            .map(|handover| account_name(&handover.account))
            .collect(),
        scope: delegation.scope as i32,
        start_time: Some(to_proto(delegation.start_time)),
        end_time: Some(to_proto(delegation.end_time)),
        unit_reviewer: Some(pb::Reviewer {
            display_name: delegation.reviewer.display_name.clone(),
            title: delegation.reviewer.title.clone(),
            phone: delegation.reviewer.phone.clone(),
            departed: delegation.reviewer.departed,
        }),
        review_mechanism: delegation.review_mechanism.clone(),
        status: delegation.status as i32,
        handovers: delegation
            .handovers
            .iter()
            .map(|handover| pb::Handover {
                account: account_name(&handover.account),
                state: handover.state as i32,
                start_filing: filing_name(&handover.start_filing),
                end_filing: handover
                    .end_filing
                    .as_deref()
                    .map(filing_name)
                    .unwrap_or_default(),
                detail: handover.detail.clone(),
            })
            .collect(),
        end_reason: delegation.end_reason.clone(),
        ended_time: delegation.ended.map(to_proto),
        created: Some(stamp(&delegation.created)),
        updated: Some(stamp(&delegation.updated)),
        etag: etag(delegation.version),
    }
}

/// A performance assessment of the vendor `vendor` (id).
pub fn assessment(vendor: &str, assessment: &Assessment) -> pb::PerformanceAssessment {
    pb::PerformanceAssessment {
        name: format!("vendors/{vendor}/assessments/{}", assessment.id),
        period_start: Some(to_proto(assessment.period_start)),
        period_end: Some(to_proto(assessment.period_end)),
        supervisor_ratings: assessment
            .ratings
            .iter()
            .map(|rating| pb::SupervisorRating {
                rater: rating.rater.clone(),
                score: rating.score,
                comment: rating.comment.clone(),
            })
            .collect(),
        inputs: assessment
            .inputs
            .iter()
            .map(|input| pb::PerformanceInput {
                kind: input.kind,
                weight: input.weight,
                available: input.value.is_some(),
                value: input.value.unwrap_or_default(),
                source: input.source.clone(),
            })
            .collect(),
        formula_version: assessment.formula_version.clone(),
        score: assessment.score.unwrap_or_default(),
        scored: assessment.score.is_some(),
        unused_weight: assessment.unused_weight,
        threshold: assessment.threshold,
        below_threshold: assessment.below_threshold,
        accounts: assessment
            .accounts
            .iter()
            .map(|a| account_name(a))
            .collect(),
        recorded: Some(stamp(&assessment.recorded)),
    }
}
