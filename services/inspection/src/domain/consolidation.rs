//! Consolidation (清理整合, R-05): accounts of one unit with the same function (the same account
//! kind) and little attention or use are to be merged into the unit's busiest account of that
//! kind; accounts the unit does not keep up (no post in the window) are to be closed. The
//! numbers are the account's followers (as the ledger last heard them), its posts, their reads
//! and interactions in the window, and the citizens' messages it received (routing).

use std::collections::BTreeMap;

/// The thresholds below which an account counts as little used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// The window, in days before now.
    pub window_days: u32,
    /// Followers (when the ledger knows them).
    pub min_followers: i64,
    /// Posts in the window.
    pub min_posts: u32,
    /// Reads per post.
    pub min_reads_per_post: i64,
    /// Likes, comments and shares per post.
    pub min_interactions_per_post: i64,
    /// Citizens' messages received in the window (when routing answers).
    pub min_messages: i64,
    /// How many of the above must be low for an account to count as little used.
    pub low_signals: u32,
}

/// What an account was used for in the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Followers; none when the ledger has no count.
    pub followers: Option<i64>,
    /// Posts.
    pub posts: u32,
    /// Their reads.
    pub reads: i64,
    /// Their likes, comments and shares.
    pub interactions: i64,
    /// Messages received; none when routing did not say.
    pub messages: Option<i64>,
}

/// An account as consolidation sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// Its id.
    pub account: String,
    /// Its name.
    pub display_name: String,
    /// Its unit.
    pub organization: String,
    /// `Platform` number.
    pub platform: i32,
    /// `AccountKind` number.
    pub kind: i32,
}

govmedia_kit::numbered! {
    /// What to do with an account (`ConsolidationAdvice`).
    Advice {
        /// Merge into the unit's busiest account of the same kind.
        Merge = 1 => "MERGE",
        /// Close: the unit does not keep it up.
        Close = 2 => "CLOSE",
    }
}

/// An account to merge or close, with the numbers that put it there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The account.
    pub subject: Subject,
    /// What to do.
    pub advice: Advice,
    /// The account to merge into (for CLOSE, one the unit could move its content to).
    pub merge_into: Option<String>,
    /// Its numbers.
    pub usage: Usage,
    /// Why, in words.
    pub reasons: Vec<String>,
}

/// The low signals of `usage` under `t`, in words; the post count among them only when
/// `posts` (a silent account's reason says so itself).
fn low(usage: &Usage, t: &Thresholds, posts: bool) -> Vec<String> {
    let mut reasons = Vec::new();
    if let Some(followers) = usage.followers.filter(|f| *f < t.min_followers) {
        reasons.push(format!("粉丝 {followers} 人，低于 {}", t.min_followers));
    }
    if posts && usage.posts < t.min_posts {
        reasons.push(format!(
            "近 {} 天发布 {} 条，低于 {}",
            t.window_days, usage.posts, t.min_posts
        ));
    }
    if usage.posts > 0 {
        let reads = usage.reads / i64::from(usage.posts);
        if reads < t.min_reads_per_post {
            reasons.push(format!("篇均阅读 {reads}，低于 {}", t.min_reads_per_post));
        }
        let interactions = usage.interactions / i64::from(usage.posts);
        if interactions < t.min_interactions_per_post {
            reasons.push(format!(
                "篇均互动 {interactions}，低于 {}",
                t.min_interactions_per_post
            ));
        }
    }
    if let Some(messages) = usage.messages.filter(|m| *m < t.min_messages) {
        reasons.push(if messages == 0 {
            format!("近 {} 天未收到留言", t.window_days)
        } else {
            format!(
                "近 {} 天收到留言 {messages} 件，低于 {}",
                t.window_days, t.min_messages
            )
        });
    }
    reasons
}

/// The candidates among `accounts` (active accounts with their usage), by unit, kind and id.
pub fn candidates(accounts: &[(Subject, Usage)], t: &Thresholds) -> Vec<Candidate> {
    let mut groups: BTreeMap<(&str, i32), Vec<&(Subject, Usage)>> = BTreeMap::new();
    for entry in accounts {
        groups
            .entry((entry.0.organization.as_str(), entry.0.kind))
            .or_default()
            .push(entry);
    }
    let mut out = Vec::new();
    for (_, mut group) in groups {
        group.sort_by(|a, b| a.0.account.cmp(&b.0.account));
        // The busiest that publishes at all: most reads, then posts, then followers.
        let busiest = group
            .iter()
            .filter(|(_, usage)| usage.posts > 0)
            .max_by_key(|(subject, usage)| {
                (
                    usage.reads,
                    usage.posts,
                    usage.followers.unwrap_or(0),
                    std::cmp::Reverse(subject.account.clone()),
                )
            })
            .map(|(subject, _)| subject.account.clone());
        for (subject, usage) in &group {
            let other = busiest
                .clone()
                .filter(|busiest| *busiest != subject.account && group.len() > 1);
            // Only a publishing account owes posts; a service or interaction account is judged
            // by its use alone.
            if usage.posts == 0 && subject.kind == super::PUBLISHING {
                let mut reasons = vec![format!("近 {} 天无更新，单位无力维护", t.window_days)];
                reasons.extend(low(usage, t, false));
                out.push(Candidate {
                    subject: subject.clone(),
                    advice: Advice::Close,
                    merge_into: other,
                    usage: *usage,
                    reasons,
                });
                continue;
            }
            let reasons = low(usage, t, true);
            if let Some(into) = other
                && reasons.len() as u32 >= t.low_signals.max(1)
            {
                out.push(Candidate {
                    subject: subject.clone(),
                    advice: Advice::Merge,
                    merge_into: Some(into),
                    usage: *usage,
                    reasons,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Thresholds = Thresholds {
        window_days: 90,
        min_followers: 500,
        min_posts: 6,
        min_reads_per_post: 100,
        min_interactions_per_post: 1,
        min_messages: 1,
        low_signals: 2,
    };

    fn subject(id: &str, organization: &str, kind: i32) -> Subject {
        Subject {
            account: id.into(),
            display_name: format!("{id} 账号"),
            organization: organization.into(),
            platform: 1,
            kind,
        }
    }

    fn usage(followers: Option<i64>, posts: u32, reads: i64, interactions: i64) -> Usage {
        Usage {
            followers,
            posts,
            reads,
            interactions,
            messages: None,
        }
    }

    #[test]
    fn little_used_accounts_of_one_function_merge_into_the_busiest_and_silent_ones_close() {
        let accounts = vec![
            (
                subject("main", "golmud", 1),
                usage(Some(20_000), 60, 60_000, 900),
            ),
            (subject("side", "golmud", 1), usage(Some(120), 3, 90, 0)),
            (
                subject("busy-side", "golmud", 1),
                usage(Some(9_000), 40, 20_000, 300),
            ),
            (subject("silent", "golmud", 1), usage(None, 0, 0, 0)),
            // Alone in its kind: little used, but nothing to merge into.
            (subject("service", "golmud", 2), usage(Some(10), 1, 5, 0)),
            // Another unit's account is no merge target for Golmud's.
            (subject("edu", "golmud-edu", 1), usage(Some(50), 2, 10, 0)),
        ];
        let found = candidates(&accounts, &T);
        let advice: Vec<(&str, Advice, Option<&str>)> = found
            .iter()
            .map(|c| {
                (
                    c.subject.account.as_str(),
                    c.advice,
                    c.merge_into.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            advice,
            [
                ("side", Advice::Merge, Some("main")),
                ("silent", Advice::Close, Some("main")),
            ]
        );
        let side = &found[0];
        assert!(
            side.reasons.iter().any(|r| r.contains("粉丝 120")),
            "{:?}",
            side.reasons
        );
        assert!(side.reasons.len() >= 2);
        assert!(found[1].reasons[0].contains("无更新"));
    }
}
