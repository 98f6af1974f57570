//! A post of a government account, as a collector delivered it.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{MediaKind, Stamp};

/// A stored post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Post {
    /// `p` + a time-ordered id.
    pub id: String,
    /// The account's id.
    pub account: String,
    /// The owning organization's id.
    pub organization: String,
    /// Its materialized path.
    pub path: String,
    /// The platform's id of the post.
    pub platform_post_id: String,
    /// When the platform published it.
    pub published: DateTime<Utc>,
    /// The title (may be empty).
    pub title: String,
    /// The text.
    pub text: String,
    /// Links in the post.
    pub links: Vec<String>,
    /// What it carries besides text.
    pub media: MediaKind,
    /// Reads when collected.
    pub reads: i64,
    /// Likes.
    pub likes: i64,
    /// Comments.
    pub comments: i64,
    /// Shares.
    pub shares: i64,
    /// The account's own post.
    pub original: bool,
    /// Where a relayed post comes from.
    pub relayed_from: String,
    /// See [`content_hash`].
    pub content_hash: String,
    /// Who delivered it and when.
    pub received: Stamp,
}

/// SHA-256 (hex) of the title and the text as the scanner folds them: the same content with
/// other widths, traditional characters, punctuation or spacing has the same hash, so a
/// published post is matched to the approved draft it came from.
pub fn content_hash(title: &str, text: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(govmedia_scanner::fold::fold_str(title).as_bytes());
    hasher.update([0]);
    hasher.update(govmedia_scanner::fold::fold_str(text).as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The host of an absolute http(s) link, lower-cased; `None` for anything else.
pub fn link_host(link: &str) -> Option<String> {
    let uri = link.parse::<http::Uri>().ok()?;
    match uri.scheme_str() {
        Some("http" | "https") => uri.host().map(|host| host.to_ascii_lowercase()),
        _ => None,
    }
}

/// True when `host` is `domain` or one of its subdomains.
pub fn host_in(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_ignores_what_the_fold_ignores() {
        assert_eq!(
            content_hash("通知", "我市召开会议，部署工作。"),
            content_hash("通知", "我市 召開會議, 部署工作!")
        );
        assert_ne!(
            content_hash("通知", "部署工作"),
            content_hash("通知部署", "工作")
        );
    }

    #[test]
    fn hosts_match_their_domain_and_subdomains_only() {
        assert_eq!(
            link_host("https://WWW.Gov.cn/a?b=1").as_deref(),
            Some("www.gov.cn")
        );
        assert_eq!(link_host("ftp://gov.cn/x"), None);
        assert!(host_in("www.gov.cn", "gov.cn"));
        assert!(host_in("gov.cn", "gov.cn"));
        assert!(!host_in("notgov.cn", "gov.cn"));
    }
}
