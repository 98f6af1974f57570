//! Field checks of the vendor contract, collected into the request's violations before
//! anything touches storage.

use std::collections::HashSet;

use govmedia_kit::{error::Violations, validate};
use govmedia_proto::vendor::v1 as pb;

use crate::domain::{Assessor, Contact, Dimension, Qualification, QualificationKind, Score, Stamp};

/// Most contacts of one vendor.
pub const MAX_CONTACTS: usize = 10;

/// Most assessors of one vetting.
pub const MAX_ASSESSORS: usize = 20;

/// Longest reason of a status change.
pub const MAX_REASON: usize = 2000;

/// Checks one field of a vendor (`display_name`, `unified_social_credit_code`, `contacts`)
/// under `prefix` (`vendor.`).
pub fn vendor_field(v: &mut Violations, vendor: &pb::Vendor, field: &str) {
    let path = format!("vendor.{field}");
    match field {
        "display_name" => validate::text(v, &path, &vendor.display_name, 100, true),
        "unified_social_credit_code" => {
            credit_code(v, &path, &vendor.unified_social_credit_code, true)
        }
        "contacts" => {
            if vendor.contacts.is_empty() {
                v.add(path, "at least one contact is required");
            } else if vendor.contacts.len() > MAX_CONTACTS {
                v.add(path, format!("at most {MAX_CONTACTS} contacts"));
            }
            for (index, contact) in vendor.contacts.iter().enumerate().take(MAX_CONTACTS) {
                let at = |name: &str| format!("vendor.contacts[{index}].{name}");
                validate::text(v, &at("display_name"), &contact.display_name, 50, true);
                validate::text(v, &at("title"), &contact.title, 50, false);
                validate::phone(v, &at("phone"), &contact.phone, true);
                email(v, &at("email"), &contact.email);
            }
        }
        _ => {}
    }
}

/// The contacts of a validated vendor.
pub fn contacts(vendor: &pb::Vendor) -> Vec<Contact> {
    vendor
        .contacts
        .iter()
        .map(|contact| Contact {
            display_name: contact.display_name.clone(),
            title: contact.title.clone(),
            phone: contact.phone.clone(),
            email: contact.email.clone(),
        })
        .collect()
}

/// Checks a credit code (GB 32100-2015).
pub fn credit_code(v: &mut Violations, field: &str, code: &str, required: bool) {
    if code.is_empty() {
        if required {
            v.add(field, "is required");
        }
    } else if let Some(problem) = govmedia_credit_code::problem(code) {
        v.add(field, problem);
    }
}

/// Checks an optional e-mail address: one `@` with text on both sides, a dot in the domain, no
/// white space, at most 254 characters.
fn email(v: &mut Violations, field: &str, value: &str) {
    if value.is_empty() {
        return;
    }
    let valid = value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(value.split_once('@'), Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
                && !domain.ends_with('.') && !domain.contains('@'));
    if !valid {
        v.add(field, "must be an e-mail address like name@example.cn");
    }
}

/// Checks a status change's reason.
pub fn reason(v: &mut Violations, value: &str) {
    validate::multiline_text(v, "reason", value, MAX_REASON, true);
}

/// Checks a qualification; returns it (without id and stamp) when valid.
pub fn qualification(
    v: &mut Violations,
    source: Option<&pb::Qualification>,
    added: Stamp,
) -> Option<Qualification> {
    let Some(source) = source else {
        v.add("qualification", "is required");
        return None;
    };
    let kind = validate::enum_value(
        v,
        "qualification.type",
        source.r#type,
        true,
        QualificationKind::from_i32,
    );
    validate::text(v, "qualification.number", &source.number, 100, true);
    validate::text(v, "qualification.issuer", &source.issuer, 100, true);
    let (from, until) = validate::period(
        v,
        "qualification",
        ("valid_from", source.valid_from.as_ref()),
        ("valid_until", source.valid_until.as_ref()),
    )
    .unzip();
    match &source.file {
        None => v.add("qualification.file", "is required"),
        Some(file) => {
            validate::text(v, "qualification.file.uri", &file.uri, 2048, true);
            validate::sha256_hex(v, "qualification.file.sha256", &file.sha256);
        }
    }
    let file = source.file.as_ref()?;
    Some(Qualification {
        id: String::new(),
        kind: kind?,
        number: source.number.clone(),
        issuer: source.issuer.clone(),
        valid_from: from?,
        valid_until: until?,
        file_uri: file.uri.clone(),
        file_sha256: file.sha256.clone(),
        added,
    })
}

/// Checks the assessors and scores of a vetting; returns them when valid.
pub fn vetting(
    v: &mut Violations,
    source: Option<&pb::Vetting>,
) -> Option<(Vec<Assessor>, Vec<Score>)> {
    let Some(source) = source else {
        v.add("vetting", "is required");
        return None;
    };
    let assessors: Vec<Assessor> = source
        .assessors
        .iter()
        .map(|assessor| Assessor {
            display_name: assessor.display_name.clone(),
            affiliation: assessor.affiliation.clone(),
            affiliation_credit_code: assessor.affiliation_credit_code.clone(),
        })
        .collect();
    if assessors.len() < crate::domain::vetting::MIN_ASSESSORS {
        v.add(
            "vetting.assessors",
            "at least two named assessors are required (R-40)",
        );
    } else if assessors.len() > MAX_ASSESSORS {
        v.add(
            "vetting.assessors",
            format!("at most {MAX_ASSESSORS} assessors"),
        );
    }
    for (index, assessor) in assessors.iter().enumerate().take(MAX_ASSESSORS) {
        let at = |name: &str| format!("vetting.assessors[{index}].{name}");
        validate::text(v, &at("display_name"), &assessor.display_name, 50, true);
        validate::text(v, &at("affiliation"), &assessor.affiliation, 100, true);
        credit_code(
            v,
            &at("affiliation_credit_code"),
            &assessor.affiliation_credit_code,
            false,
        );
    }
    for index in crate::domain::vetting::repeated_assessors(&assessors) {
        v.add(
            format!("vetting.assessors[{index}]"),
            "repeats an earlier assessor: each assessor is a different person",
        );
    }
    let mut seen = HashSet::new();
    for (index, score) in source
        .scores
        .iter()
        .enumerate()
        .take(Dimension::ALL.len() + 1)
    {
        let at = |name: &str| format!("vetting.scores[{index}].{name}");
        if let Some(dimension) = validate::enum_value(
            v,
            &at("dimension"),
            score.dimension,
            true,
            Dimension::from_i32,
        ) && !seen.insert(dimension)
        {
            v.add(at("dimension"), format!("{dimension} is scored twice"));
        }
        if !(0..=crate::domain::vetting::MAX_SCORE).contains(&score.score) {
            v.add(at("score"), "must be between 0 and 100");
        }
        validate::multiline_text(v, &at("comment"), &score.comment, 2000, false);
    }
    if source.scores.len() != Dimension::ALL.len() {
        v.add(
            "vetting.scores",
            "needs exactly one score for each of the four dimensions",
        );
    } else {
        for dimension in Dimension::ALL {
            if !seen.contains(dimension) {
                v.add("vetting.scores", format!("{dimension} is not scored"));
            }
        }
    }
    validate::multiline_text(v, "vetting.summary", &source.summary, 4000, false);
    let scores = source
        .scores
        .iter()
        .map(|score| Score {
            dimension: score.dimension,
            score: score.score,
            comment: score.comment.clone(),
        })
        .collect();
    Some((assessors, scores))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_mail_addresses() {
        for good in ["", "a@b.cn", "li.ming@qingyun-media.com.cn"] {
            let mut v = Violations::new();
            email(&mut v, "email", good);
            assert!(v.is_empty(), "{good}");
        }
        for bad in [
            "a", "@b.cn", "a@b", "a@.cn", "a b@c.cn", "a@b@c.cn", "a@b.cn.",
        ] {
            let mut v = Violations::new();
            email(&mut v, "email", bad);
            assert!(!v.is_empty(), "{bad}");
        }
    }
}
