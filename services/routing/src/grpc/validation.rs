//! Field checks of the routing contract, collected into the request's violations before anything
//! touches storage. Violations name the field and never repeat a citizen's personal data.

use chrono::{DateTime, Utc};
use govmedia_kit::{error::Violations, validate};
use govmedia_proto::routing::v1 as pb;

use crate::domain::Category;

/// Longest message text, in characters.
pub const MAX_TEXT: usize = 5000;

/// Longest reply, in characters.
pub const MAX_REPLY: usize = 5000;

/// Longest reason or comment.
pub const MAX_REASON: usize = 2000;

/// Longest platform message id.
pub const MAX_PLATFORM_ID: usize = 128;

/// Longest handle or contact.
pub const MAX_PERSONAL: usize = 100;

/// How far in the future a collector's clock may run.
const SKEW_MINUTES: i64 = 5;

/// A validated incoming message.
#[derive(Clone, Debug)]
pub struct NewMessage {
    /// Account id.
    pub account: String,
    /// The platform's id of it.
    pub platform_message_id: String,
    /// Handle.
    pub handle: String,
    /// Contact.
    pub contact: String,
    /// Text.
    pub text: String,
    /// Category.
    pub category: Category,
    /// When received.
    pub received_time: DateTime<Utc>,
    /// Region code.
    pub region_code: String,
}

/// Checks an incoming message under `message.`.
pub fn message(
    v: &mut Violations,
    source: Option<&pb::IncomingMessage>,
    now: DateTime<Utc>,
) -> Option<NewMessage> {
    let Some(source) = source else {
        v.add("message", "is required");
        return None;
    };
    let account = validate::resource_id(v, "message.account", &source.account, "accounts", true);
    let platform_id = source.platform_message_id.as_str();
    if platform_id.is_empty() {
        v.add("message.platform_message_id", "is required");
    } else if platform_id.len() > MAX_PLATFORM_ID
        || !platform_id.bytes().all(|b| b.is_ascii_graphic())
    {
        v.add(
            "message.platform_message_id",
            format!("must be at most {MAX_PLATFORM_ID} visible ASCII characters"),
        );
    }
    // Personal data is checked for shape only; what was sent is never repeated back.
    personal(v, "message.citizen_handle", &source.citizen_handle);
    personal(v, "message.citizen_contact", &source.citizen_contact);
    let contact = source.citizen_contact.trim();
    if !contact.is_empty() && !is_contact(contact) {
        v.add(
            "message.citizen_contact",
            "must be a phone number (digits, spaces, + - ( )) or an e-mail address",
        );
    }
    if source.citizen_handle.trim().is_empty() && source.citizen_contact.trim().is_empty() {
        v.add(
            "message.citizen_handle",
            "a handle or a contact is required: a case must reach someone",
        );
    }
    validate::multiline_text(v, "message.text", &source.text, MAX_TEXT, true);
    let category = validate::enum_value(
        v,
        "message.category",
        source.category,
        true,
        Category::from_i32,
    );
    let received_time = match &source.received_time {
        None => {
            v.add("message.received_time", "is required");
            None
        }
        Some(time) => validate::past_time(
            v,
            "message.received_time",
            time,
            chrono::Duration::minutes(SKEW_MINUTES),
            now,
        ),
    };
    region_code(v, "message.region_code", &source.region_code);
    Some(NewMessage {
        account: account?,
        platform_message_id: platform_id.to_owned(),
        handle: source.citizen_handle.trim().to_owned(),
        contact: source.citizen_contact.trim().to_owned(),
        text: source.text.clone(),
        category: category?,
        received_time: received_time?,
        region_code: source.region_code.clone(),
    })
}

/// A handle or contact: one line of visible text, at most [`MAX_PERSONAL`] characters (the
/// kit's check, whose messages never repeat the value).
fn personal(v: &mut Violations, field: &str, value: &str) {
    validate::text(v, field, value, MAX_PERSONAL, false);
}

/// A phone number (7 to 20 digits with the usual separators) or an e-mail address.
fn is_contact(value: &str) -> bool {
    if let Some((local, domain)) = value.split_once('@') {
        return !local.is_empty()
            && domain.contains('.')
            && !value.chars().any(char::is_whitespace);
    }
    let digits = value.chars().filter(char::is_ascii_digit).count();
    (7..=20).contains(&digits)
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')'))
}

/// An administrative division code: empty, or 2 to 12 digits (a prefix of one, for rules).
pub fn region_code(v: &mut Violations, field: &str, value: &str) {
    if !value.is_empty()
        && (!(2..=12).contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_digit()))
    {
        v.add(
            field,
            "must be 2 to 12 digits of an administrative division code",
        );
    }
}

/// A reason or comment.
pub fn reason(v: &mut Violations, field: &str, value: &str, required: bool) {
    validate::multiline_text(v, field, value, MAX_REASON, required);
}
