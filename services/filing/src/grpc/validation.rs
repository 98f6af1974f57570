//! A filing as sent (CreateFiling, or UpdateFiling's merged result) checked into a [`Draft`]:
//! every field violation at once, named from the request's root (`filing.…`). Drafts are always
//! complete, so submission needs no second validation, only what the registry must say.

use govmedia_accounts::fields;
use govmedia_kit::{error::Violations, validate};
use govmedia_proto::{common::v1 as common, filing::v1 as pb, registry::v1 as registry};
use prost::Message;

use crate::domain::{Attachment, FilingKind};

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

impl Draft {
    /// The vendor (`vendors/{id}`) the filing would make the account's operator, if any: an
    /// OPEN of an account operated by a vendor, or a CHANGE of the operator to one.
    pub fn vendor_operator(&self) -> Option<String> {
        let touches_operator = match self.kind {
            FilingKind::Open => true,
            FilingKind::Change => self.change_mask.iter().any(|field| field == "operator"),
            FilingKind::Suspend | FilingKind::Cancel | FilingKind::Resume => false,
        };
        if !touches_operator {
            return None;
        }
        let account = registry::Account::decode(self.account.as_slice()).ok()?;
        let operator = account.operator?;
        (operator.r#type == registry::OperatorType::Vendor as i32).then_some(operator.vendor)
    }
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
                    // The ledger's own rules, named from this request's root.
                    let mut kept = registry::Account {
                        platform: account.platform,
                        platform_account_id: account.platform_account_id.clone(),
                        ..registry::Account::default()
                    };
                    for field in fields::OPENING {
                        fields::check(v, "filing.account", account, field);
                        fields::copy(&mut kept, account, field);
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
                fields::CHANGEABLE,
            );
            match &filing.account {
                Some(account) => {
                    let mut kept = registry::Account::default();
                    for field in &draft.change_mask {
                        fields::check(v, "filing.account", account, field);
                        fields::copy(&mut kept, account, field);
                    }
                    // A corrected platform id must not be another account's (preflight).
                    if draft
                        .change_mask
                        .iter()
                        .any(|field| field == "platform_account_id")
                    {
                        draft.platform_account_id = Some(account.platform_account_id.clone());
                    }
                    draft.account = kept.encode_to_vec();
                }
                None => v.add(
                    "filing.account",
                    "is required: the new values of the fields in change_mask",
                ),
            }
        }
        Some(FilingKind::Suspend | FilingKind::Cancel | FilingKind::Resume) => {
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
