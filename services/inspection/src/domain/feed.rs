//! RSS and Atom feeds that mirror an account's posts: what a feed is, how long to wait after a
//! failure, and how an entry becomes a post. Parsing is feed-rs's (RSS 0.9–2.0, Atom, JSON
//! Feed); fetching is the collector's.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::Stamp;

/// A feed as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feed {
    /// Its id.
    pub id: String,
    /// The account's id.
    pub account: String,
    /// The owning organization's id.
    pub organization: String,
    /// Its materialized path.
    pub path: String,
    /// The URL.
    pub url: String,
    /// ETag of the last full answer.
    pub etag: String,
    /// Last-Modified of the last full answer.
    pub last_modified: String,
    /// Last poll.
    pub last_polled: Option<DateTime<Utc>>,
    /// Next poll.
    pub next_poll: DateTime<Utc>,
    /// Failed polls in a row.
    pub failures: i32,
    /// Why the last poll failed.
    pub last_error: String,
    /// New posts taken from it.
    pub posts_taken: i64,
    /// Who added it.
    pub created: Stamp,
}

/// The wait before the next poll after `failures` failed polls in a row (0 after a success):
/// `interval`, doubled per failure, at most `max`.
pub fn wait(interval: Duration, failures: i32, max: Duration) -> Duration {
    let mut wait = interval;
    for _ in 0..failures.clamp(0, 32) {
        wait = wait + wait;
        if wait >= max {
            return max;
        }
    }
    wait.min(max)
}

/// An entry of a feed, as a post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The platform post id: the entry's id when it is short visible ASCII, else `sha256:` and
    /// the hash of the id.
    pub platform_post_id: String,
    /// When published (or updated), if the feed says.
    pub published: Option<DateTime<Utc>>,
    /// The title, tags removed.
    pub title: String,
    /// The text (content, else summary), tags removed.
    pub text: String,
    /// Its links.
    pub links: Vec<String>,
}

/// The longest platform post id kept as it is.
const MAX_ID: usize = 200;

/// The entries of a feed document, or why it is not one.
pub fn parse(document: &[u8]) -> Result<Vec<Entry>, String> {
    let feed = feed_rs::parser::parse(document).map_err(|error| format!("not a feed: {error}"))?;
    Ok(feed
        .entries
        .into_iter()
        .map(|entry| {
            let platform_post_id = if !entry.id.is_empty()
                && entry.id.len() <= MAX_ID
                && entry.id.bytes().all(|b| b.is_ascii_graphic())
            {
                entry.id.clone()
            } else {
                let digest = Sha256::digest(entry.id.as_bytes());
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                format!("sha256:{hex}")
            };
            let text = entry
                .content
                .as_ref()
                .and_then(|content| content.body.clone())
                .or_else(|| {
                    entry
                        .summary
                        .as_ref()
                        .map(|summary| summary.content.clone())
                })
                .unwrap_or_default();
            Entry {
                platform_post_id,
                published: entry.published.or(entry.updated),
                title: entry
                    .title
                    .as_ref()
                    .map(|title| {
                        if title.content_type.essence().to_string() == "text/html" {
                            strip_tags(&title.content)
                        } else {
                            title
                                .content
                                .split_whitespace()
                                .collect::<Vec<_>>()
                                .join(" ")
                        }
                    })
                    .unwrap_or_default(),
                text: strip_tags(&text),
                links: entry
                    .links
                    .iter()
                    .map(|link| link.href.clone())
                    .filter(|href| href.starts_with("http://") || href.starts_with("https://"))
                    .take(100)
                    .collect(),
            }
        })
        .collect())
}

/// `html` without its tags, with the common entities decoded and white space collapsed.
pub fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_per_failure_up_to_the_cap() {
        let (interval, max) = (Duration::minutes(15), Duration::hours(24));
        assert_eq!(wait(interval, 0, max), interval);
        assert_eq!(wait(interval, 3, max), Duration::minutes(120));
        assert_eq!(wait(interval, 30, max), max);
        assert_eq!(wait(interval, i32::MAX, max), max);
    }

    #[test]
    fn rss_and_atom_entries_become_posts() {
        let rss = r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>格尔木发布</title>
            <item><title>供暖&lt;通知&gt;</title><link>https://www.golmud.gov.cn/a/1.html</link>
            <guid>https://www.golmud.gov.cn/a/1.html</guid><pubDate>Mon, 30 Nov 2026 08:00:00 +0800</pubDate>
            <description><![CDATA[<p>我市供暖工作<b>全面</b>启动。</p>]]></description></item></channel></rss>"#;
        let entries = parse(rss.as_bytes()).expect("rss");
        assert_eq!(entries.len(), 1);
        assert_eq!(
            entries[0].platform_post_id,
            "https://www.golmud.gov.cn/a/1.html"
        );
        assert_eq!(entries[0].text, "我市供暖工作 全面 启动。");
        assert_eq!(entries[0].title, "供暖<通知>");
        assert_eq!(entries[0].links, ["https://www.golmud.gov.cn/a/1.html"]);
        assert!(entries[0].published.is_some());
        let atom = r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
            <title>t</title><id>urn:x</id><updated>2026-11-30T00:00:00Z</updated>
            <entry><title>标题</title><id>urn:uuid:1</id><updated>2026-11-29T00:00:00Z</updated>
            <content type="html">正文</content></entry></feed>"#;
        let entries = parse(atom.as_bytes()).expect("atom");
        assert_eq!(entries[0].platform_post_id, "urn:uuid:1");
        assert_eq!(entries[0].text, "正文");
        assert!(parse(b"<html><body>not a feed</body></html>").is_err());
        assert!(parse(b"\x00\x01garbage").is_err());
    }

    #[test]
    fn a_long_or_odd_id_is_hashed() {
        let rss = format!(
            r#"<rss version="2.0"><channel><title>t</title><item><title>x</title><guid>{}</guid></item><item><title>y</title><guid>编号 7</guid></item></channel></rss>"#,
            "a".repeat(300)
        );
        let entries = parse(rss.as_bytes()).expect("rss");
        assert!(
            entries
                .iter()
                .all(|e| e.platform_post_id.starts_with("sha256:"))
        );
        assert_ne!(entries[0].platform_post_id, entries[1].platform_post_id);
    }
}
