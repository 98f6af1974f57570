//! Field checks of the inspection contract, collected into the request's violations before
//! anything touches storage.
//!
//! A post is an observation of what was published, so its title and text are taken as they are
//! — invisible characters and odd spacing included, since they are how wording is disguised and
//! what the scanner must see — and only their size is limited.

use chrono::{DateTime, Utc};
use govmedia_kit::{error::Violations, validate};
use govmedia_proto::inspection::v1 as pb;

use crate::domain::MediaKind;

/// Longest post text, in characters.
pub const MAX_TEXT: usize = 100_000;

/// Longest title, in characters.
pub const MAX_TITLE: usize = 500;

/// Longest platform post id.
pub const MAX_PLATFORM_ID: usize = 200;

/// Most links of a post.
pub const MAX_LINKS: usize = 100;

/// Longest link.
pub const MAX_LINK: usize = 2048;

/// Longest `relayed_from`.
pub const MAX_SOURCE: usize = 200;

/// How far in the future a collector's clock may run.
const SKEW_MINUTES: i64 = 5;

/// A validated incoming post.
#[derive(Clone, Debug)]
pub struct NewPost {
    /// Account id.
    pub account: String,
    /// The platform's id of it.
    pub platform_post_id: String,
    /// When published.
    pub published: DateTime<Utc>,
    /// Title.
    pub title: String,
    /// Text.
    pub text: String,
    /// Links.
    pub links: Vec<String>,
    /// Media kind.
    pub media: MediaKind,
    /// Reads, likes, comments, shares.
    pub counts: [i64; 4],
    /// Original.
    pub original: bool,
    /// Source of a relay.
    pub relayed_from: String,
}

/// Checks an incoming post under `post.`.
pub fn post(
    v: &mut Violations,
    source: Option<&pb::IncomingPost>,
    now: DateTime<Utc>,
) -> Option<NewPost> {
    let Some(source) = source else {
        v.add("post", "is required");
        return None;
    };
    let account = validate::resource_id(v, "post.account", &source.account, "accounts", true);
    let platform_id = source.platform_post_id.as_str();
    if platform_id.is_empty() {
        v.add("post.platform_post_id", "is required");
    } else if platform_id.len() > MAX_PLATFORM_ID
        || !platform_id.bytes().all(|b| b.is_ascii_graphic())
    {
        v.add(
            "post.platform_post_id",
            format!(
                "must be 1 to {MAX_PLATFORM_ID} visible ASCII characters (letters, digits, punctuation; no spaces or Chinese characters)"
            ),
        );
    }
    let published = match &source.published_time {
        None => {
            v.add("post.published_time", "is required");
            None
        }
        Some(time) => validate::past_time(
            v,
            "post.published_time",
            time,
            chrono::Duration::minutes(SKEW_MINUTES),
            now,
        ),
    };
    limited(v, "post.title", &source.title, MAX_TITLE);
    limited(v, "post.text", &source.text, MAX_TEXT);
    if source.title.trim().is_empty() && source.text.trim().is_empty() {
        v.add("post.text", "a post needs a title or a text");
    }
    if source.links.len() > MAX_LINKS {
        v.add("post.links", format!("at most {MAX_LINKS} links"));
    }
    for (index, link) in source.links.iter().enumerate().take(MAX_LINKS) {
        http_url(v, &format!("post.links[{index}]"), link);
    }
    let media = if source.media_kind == 0 {
        Some(MediaKind::Text)
    } else {
        validate::enum_value(
            v,
            "post.media_kind",
            source.media_kind,
            false,
            MediaKind::from_i32,
        )
    };
    for (field, value) in [
        ("post.reads", source.reads),
        ("post.likes", source.likes),
        ("post.comments", source.comments),
        ("post.shares", source.shares),
    ] {
        if value < 0 {
            v.add(field, "must not be negative");
        }
    }
    validate::text(
        v,
        "post.relayed_from",
        &source.relayed_from,
        MAX_SOURCE,
        false,
    );
    if source.original && !source.relayed_from.trim().is_empty() {
        v.add(
            "post.relayed_from",
            "must be empty for an original post (original is true)",
        );
    }
    Some(NewPost {
        account: account?,
        platform_post_id: platform_id.to_owned(),
        published: published?,
        title: source.title.clone(),
        text: source.text.clone(),
        links: source.links.clone(),
        media: media?,
        counts: [source.reads, source.likes, source.comments, source.shares],
        original: source.original,
        relayed_from: source.relayed_from.trim().to_owned(),
    })
}

/// Text taken as written, limited to `max` characters and without NUL (which no platform
/// publishes and PostgreSQL cannot store).
pub fn limited(v: &mut Violations, field: &str, value: &str, max: usize) {
    let chars = value.chars().count();
    if chars > max {
        v.add(
            field,
            format!("must be at most {max} characters (got {chars})"),
        );
    }
    if value.contains('\0') {
        v.add(field, "must not contain NUL characters");
    }
}

/// An absolute `http://` or `https://` URL with a host, at most [`MAX_LINK`] characters
/// without white space.
pub fn http_url(v: &mut Violations, field: &str, value: &str) {
    let ok = value.len() <= MAX_LINK
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && crate::domain::post::link_host(value).is_some_and(|host| !host.is_empty());
    if !ok {
        v.add(
            field,
            format!("must be an absolute http(s) URL with a host, at most {MAX_LINK} characters without spaces"),
        );
    }
}

/// The ids of `names`, resource names of `collection`, at most `max` of them, each once;
/// every bad one a violation `field[i]`.
pub fn resource_ids(
    v: &mut Violations,
    field: &str,
    names: &[String],
    collection: &str,
    max: usize,
) -> Vec<String> {
    if names.len() > max {
        v.add(field, format!("at most {max} (got {})", names.len()));
    }
    let mut ids: Vec<String> = Vec::new();
    for (i, name) in names.iter().take(max).enumerate() {
        let item = format!("{field}[{i}]");
        if let Some(id) = govmedia_kit::validate::resource_id(v, &item, name, collection, true) {
            if ids.contains(&id) {
                v.add(item, "is named twice");
            } else {
                ids.push(id);
            }
        }
    }
    ids
}
