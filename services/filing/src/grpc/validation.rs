//! A filing as sent (CreateFiling, or UpdateFiling's merged result) checked into a [`Draft`]:
//! every field violation at once, named from the request's root (`filing.…`). Drafts are always
//! complete, so submission needs no second validation, only what the registry must say.

use govmedia_kit::{error::Violations, validate};
use govmedia_proto::{
    common::v1 as common,
    filing::v1 as pb,
    registry::v1::{self as registry, OperatorType},
};
use prost::Message;

use crate::domain::{Attachment, CHANGEABLE_FIELDS, FilingKind};

/// Most attachments a filing carries.
const MAX_ATTACHMENTS: usize = 20;
/// Largest attachment accepted (by reference; govmedia never holds the content).
const MAX_ATTACHMENT_BYTES: i64 = 100 * 1024 * 1024;

/// A well-formed filing, ready to store.
#[derive(Clone, Debug)]
pub(super) struct Draft {
    /// The unit filing (id).
    pub organization: String,
    /// What is asked.
    pub kind: FilingKind,
    /// OPEN and CHANGE: the account data, reduced to the fields the kind uses, encoded.
    pub account: Vec<u8>,
    /// OPEN: the platform.
    pub platform: Option<i32>,
    /// OPEN: the id of an account already on the platform.
    pub platform_account_id: Option<String>,
    /// OPEN: the R-03 justification.
    pub justification: String,
    /// CHANGE: the fields to change.
    pub change_mask: Vec<String>,
    /// CHANGE, SUSPEND, CANCEL: the account (id).
    pub target_account: Option<String>,
    /// Why.
    pub reason: String,
    /// Supporting documents.
    pub attachments: Vec<Attachment>,
}

/// Checks `filing` into `v`; `None` when anything is wrong.
pub(super) fn draft(v: &mut Violations, filing: &pb::Filing) -> Option<Draft> {
    let organization = validate::resource_id(
        v,
        "filing.organization",
        &filing.organization,
        "organizations",
        true,
    );
    let kind = validate::enum_value(v, "filing.kind", filing.kind, true, FilingKind::from_i32);
    validate::multiline_text(v, "filing.reason", &filing.reason, 500, true);
    let attachments = attachments(v, &filing.attachments);
    let mut draft = Draft {
        organization: organization.clone().unwrap_or_default(),
        kind: kind.unwrap_or(FilingKind::Open),
        account: Vec::new(),
        platform: None,
        platform_account_id: None,
        justification: String::new(),
        change_mask: Vec::new(),
        target_account: None,
        reason: filing.reason.clone(),
        attachments,
    };
    match kind {
        Some(FilingKind::Open) => {
            match &filing.account {
                Some(account) => {
                    if !account.organization.is_empty()
                        && account.organization != filing.organization
                    {
                        v.add(
                            "filing.account.organization",
                            "must be empty or the filing's organization",
                        );
                    }
                    let platform = validate::enum_value(
                        v,
                        "filing.account.platform",
                        account.platform,
                        true,
                        |n| common::Platform::try_from(n).ok(),
                    );
                    validate::platform_account_id(
                        v,
                        "filing.account.platform_account_id",
                        &account.platform_account_id,
                        false,
                    );
                    validate::multiline_text(
                        v,
                        "filing.account.justification",
                        &account.justification,
                        500,
                        false,
                    );
                    let mut kept = registry::Account {
                        platform: account.platform,
                        platform_account_id: account.platform_account_id.clone(),
                        justification: account.justification.clone(),
                        ..registry::Account::default()
                    };
                    for field in CHANGEABLE_FIELDS {
                        account_field(v, account, field);
                        copy_field(&mut kept, account, field);
                    }
                    draft.platform = platform.map(|platform| platform as i32);
                    draft.platform_account_id = (!account.platform_account_id.is_empty())
                        .then(|| account.platform_account_id.clone());
                    draft.justification = account.justification.clone();
                    draft.account = kept.encode_to_vec();
                }
                None => v.add("filing.account", "is required: the account to open"),
            }
            if filing
                .change_mask
                .as_ref()
                .is_some_and(|mask| !mask.paths.is_empty())
            {
                v.add("filing.change_mask", "is only for CHANGE filings");
            }
        }
        Some(FilingKind::Change) => {
            draft.target_account = target(v, &filing.target_account);
            draft.change_mask = validate::field_mask(
                v,
                "filing.change_mask",
                filing.change_mask.as_ref(),
                CHANGEABLE_FIELDS,
            );
            match &filing.account {
                Some(account) => {
                    let mut kept = registry::Account::default();
                    for field in &draft.change_mask {
                        account_field(v, account, field);
                        copy_field(&mut kept, account, field);
                    }
                    draft.account = kept.encode_to_vec();
                }
                None => v.add(
                    "filing.account",
                    "is required: the new values of the fields in change_mask",
                ),
            }
        }
        Some(FilingKind::Suspend | FilingKind::Cancel) => {
            draft.target_account = target(v, &filing.target_account);
            if filing.account.is_some() {
                v.add("filing.account", "is only for OPEN and CHANGE filings");
            }
            if filing
                .change_mask
                .as_ref()
                .is_some_and(|mask| !mask.paths.is_empty())
            {
                v.add("filing.change_mask", "is only for CHANGE filings");
            }
        }
        None => {}
    }
    (v.is_empty() && organization.is_some() && kind.is_some()).then_some(draft)
}

fn target(v: &mut Violations, value: &str) -> Option<String> {
    validate::resource_id(v, "filing.target_account", value, "accounts", true)
}

fn attachments(v: &mut Violations, attachments: &[pb::Attachment]) -> Vec<Attachment> {
    if attachments.len() > MAX_ATTACHMENTS {
        v.add(
            "filing.attachments",
            format!(
                "must be at most {MAX_ATTACHMENTS} (got {})",
                attachments.len()
            ),
        );
    }
    for (index, attachment) in attachments.iter().enumerate() {
        let field = |name: &str| format!("filing.attachments[{index}].{name}");
        validate::text(v, &field("name"), &attachment.name, 200, true);
        if attachment.sha256.len() != 64
            || !attachment
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            v.add(field("sha256"), "must be 64 lower-case hex digits");
        }
        if !(1..=MAX_ATTACHMENT_BYTES).contains(&attachment.size_bytes) {
            v.add(
                field("size_bytes"),
                format!("must be between 1 and {MAX_ATTACHMENT_BYTES}"),
            );
        }
    }
    attachments
        .iter()
        .map(|attachment| Attachment {
            name: attachment.name.clone(),
            sha256: attachment.sha256.clone(),
            size_bytes: attachment.size_bytes,
        })
        .collect()
}

/// Checks one of the [`CHANGEABLE_FIELDS`] of the proposed account.
fn account_field(v: &mut Violations, account: &registry::Account, field: &str) {
    let path = format!("filing.account.{field}");
    match field {
        "display_name" => validate::text(v, &path, &account.display_name, 100, true),
        "kind" => {
            validate::enum_value(v, &path, account.kind, true, |n| {
                common::AccountKind::try_from(n).ok()
            });
        }
        "operator" => match &account.operator {
            None => v.add(path, "is required"),
            Some(operator) => {
                let vendor = format!("{path}.vendor");
                match OperatorType::try_from(operator.r#type) {
                    Ok(OperatorType::Self_) if !operator.vendor.is_empty() => {
                        v.add(vendor, "must be empty for a self-operated account");
                    }
                    Ok(OperatorType::Self_) => {}
                    Ok(OperatorType::Vendor) => {
                        validate::resource_id(v, &vendor, &operator.vendor, "vendors", true);
                    }
                    Ok(OperatorType::Unspecified) => v.add(format!("{path}.type"), "is required"),
                    Err(_) => v.add(
                        format!("{path}.type"),
                        format!("{} is not a known value", operator.r#type),
                    ),
                }
            }
        },
        "responsible_person" => match &account.responsible_person {
            None => v.add(path, "is required"),
            Some(contact) => {
                validate::text(v, &format!("{path}.name"), &contact.name, 50, true);
                validate::text(v, &format!("{path}.title"), &contact.title, 50, false);
                validate::phone(v, &format!("{path}.phone"), &contact.phone, false);
            }
        },
        "verified_subject" => validate::text(v, &path, &account.verified_subject, 100, false),
        "homepage_url" => validate::https_url(v, &path, &account.homepage_url),
        _ => {}
    }
}

fn copy_field(kept: &mut registry::Account, account: &registry::Account, field: &str) {
    match field {
        "display_name" => kept.display_name = account.display_name.clone(),
        "kind" => kept.kind = account.kind,
        "operator" => kept.operator = account.operator.clone(),
        "responsible_person" => kept.responsible_person = account.responsible_person.clone(),
        "verified_subject" => kept.verified_subject = account.verified_subject.clone(),
        "homepage_url" => kept.homepage_url = account.homepage_url.clone(),
        _ => {}
    }
}
