//! The fields of an account as the contract carries them, and their limits. The registry
//! checks a write against them; the filing service checks a proposal against the same calls,
//! naming each field from its own request's root (`account.…` or `filing.account.…`).

use govmedia_kit::{error::Violations, validate};
use govmedia_proto::{
    common::v1::AccountKind,
    registry::v1::{Account, OperatorType},
};

/// The fields a change of an account's data may touch (a CHANGE filing's mask, UpdateAccount's).
/// `platform_account_id` corrects the id of a bound account (one bound by mistake); a FILED
/// account is bound, not changed.
pub const CHANGEABLE: &[&str] = &[
    "display_name",
    "kind",
    "operator",
    "responsible_person",
    "verified_subject",
    "homepage_url",
    "platform_account_id",
];

/// The fields an opening sets besides the platform: the changeable ones and the R-03
/// justification.
pub const OPENING: &[&str] = &[
    "display_name",
    "kind",
    "operator",
    "responsible_person",
    "verified_subject",
    "homepage_url",
    "justification",
];

/// Checks `field` of `account` into `v`, naming it `{prefix}.{field}`.
pub fn check(v: &mut Violations, prefix: &str, account: &Account, field: &str) {
    let path = format!("{prefix}.{field}");
    match field {
        "display_name" => validate::text(v, &path, &account.display_name, 100, true),
        "kind" => {
            validate::enum_value(v, &path, account.kind, true, |n| {
                AccountKind::try_from(n).ok()
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
        "justification" => validate::multiline_text(v, &path, &account.justification, 500, false),
        "platform_account_id" => {
            validate::platform_account_id(v, &path, &account.platform_account_id, true);
        }
        _ => {}
    }
}

/// Copies `field` from `source` into `into` (the fields [`check`] knows).
pub fn copy(into: &mut Account, source: &Account, field: &str) {
    match field {
        "display_name" => into.display_name = source.display_name.clone(),
        "kind" => into.kind = source.kind,
        "operator" => into.operator = source.operator.clone(),
        "responsible_person" => into.responsible_person = source.responsible_person.clone(),
        "verified_subject" => into.verified_subject = source.verified_subject.clone(),
        "homepage_url" => into.homepage_url = source.homepage_url.clone(),
        "justification" => into.justification = source.justification.clone(),
        "platform_account_id" => into.platform_account_id = source.platform_account_id.clone(),
        _ => {}
    }
}
