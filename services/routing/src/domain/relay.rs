//! Matrix relay (矩阵协同联动, R-34): a main account's authoritative post, relayed by chosen
//! matrix accounts by a deadline, each confirming with the relayed post's platform id; a task is
//! tracked until every target has confirmed, and reports who did, on time or late, and who not.

use chrono::{DateTime, Utc};

use super::Stamp;

/// One account asked to relay.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Target {
    /// The account's id.
    pub account: String,
    /// The path of the account's unit, as it was when the task was set: the units below the
    /// task's that may see it are those whose subtree holds a target.
    #[serde(default)]
    pub organization_path: String,
    /// The relayed post's platform id, once confirmed.
    pub relayed_post_id: String,
    /// Who confirmed, when.
    pub confirmed: Option<Stamp>,
}

/// Whether the jurisdiction rooted at `root` may see `task`: the setter's line above and at it,
/// and below it only the units whose subtree holds an account asked to relay.
pub fn visible_to(task: &Task, root: &str) -> bool {
    if root.is_empty() {
        return false;
    }
    if task.organization_path.starts_with(root) {
        return true;
    }
    root.starts_with(&task.organization_path)
        && task.targets.iter().any(|target| {
            !target.organization_path.is_empty() && target.organization_path.starts_with(root)
        })
}

/// A relay task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// Id.
    pub id: String,
    /// The organization that set it.
    pub organization: String,
    /// Its path.
    pub organization_path: String,
    /// The main account.
    pub source_account: String,
    /// Its post's platform id.
    pub source_post_id: String,
    /// The post's title.
    pub title: String,
    /// The post's address.
    pub source_url: String,
    /// The accounts asked.
    pub targets: Vec<Target>,
    /// The deadline.
    pub due: DateTime<Utc>,
    /// Created.
    pub created: Stamp,
    /// Version.
    pub version: i64,
}

/// How a task went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// Targets.
    pub targets: usize,
    /// Confirmed by the deadline.
    pub on_time: usize,
    /// Confirmed after it.
    pub late: usize,
    /// Not confirmed.
    pub missing: usize,
    /// The deadline passed with targets missing.
    pub overdue: bool,
    /// Every target confirmed.
    pub complete: bool,
}

/// Why a confirmation is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    /// The account is not a target.
    #[error("accounts/{0} is not asked to relay in this task")]
    NotTarget(String),
    /// Confirmed before with another post.
    #[error("accounts/{account} confirmed already with post {post}")]
    AlreadyConfirmed {
        /// The account.
        account: String,
        /// The post it confirmed with.
        post: String,
    },
}

impl Task {
    /// `relayTasks/{id}`.
    pub fn name(&self) -> String {
        format!("relayTasks/{}", self.id)
    }

    /// `account` relayed the post as `post`; false when it had confirmed exactly that already.
    pub fn confirm(
        &mut self,
        account: &str,
        post: &str,
        stamp: &Stamp,
    ) -> Result<bool, RelayError> {
        let target = self
            .targets
            .iter_mut()
            .find(|t| t.account == account)
            .ok_or_else(|| RelayError::NotTarget(account.to_owned()))?;
        if target.confirmed.is_some() {
            return if target.relayed_post_id == post {
                Ok(false)
            } else {
                Err(RelayError::AlreadyConfirmed {
                    account: account.to_owned(),
                    post: target.relayed_post_id.clone(),
                })
            };
        }
        target.relayed_post_id = post.to_owned();
        target.confirmed = Some(stamp.clone());
        Ok(true)
    }

    /// True when `target` is (or went) past the deadline: confirmed late, or still missing
    /// after it.
    pub fn is_late(&self, target: &Target, now: DateTime<Utc>) -> bool {
        match &target.confirmed {
            Some(stamp) => stamp.time > self.due,
            None => now > self.due,
        }
    }

    /// The report as of `now`.
    pub fn report(&self, now: DateTime<Utc>) -> Report {
        let on_time = self
            .targets
            .iter()
            .filter(|t| t.confirmed.as_ref().is_some_and(|s| s.time <= self.due))
            .count();
        let late = self
            .targets
            .iter()
            .filter(|t| t.confirmed.as_ref().is_some_and(|s| s.time > self.due))
            .count();
        let missing = self.targets.len() - on_time - late;
        Report {
            targets: self.targets.len(),
            on_time,
            late,
            missing,
            overdue: missing > 0 && now > self.due,
            complete: missing == 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn stamp(time: &str) -> Stamp {
        Stamp {
            time: at(time),
            actor: "op".into(),
            actor_organization: "u".into(),
        }
    }

    #[test]
    fn confirmations_are_tracked_against_the_deadline() {
        let target = |a: &str| Target {
            account: a.into(),
            organization_path: String::new(),
            relayed_post_id: String::new(),
            confirmed: None,
        };
        let mut task = Task {
            id: "t".into(),
            organization: "o".into(),
            organization_path: "/o/".into(),
            source_account: "main".into(),
            source_post_id: "p".into(),
            title: "权威发布".into(),
            source_url: String::new(),
            targets: vec![target("a"), target("b"), target("c")],
            due: at("2026-06-02T18:00:00+08:00"),
            created: stamp("2026-06-01T09:00:00+08:00"),
            version: 1,
        };
        assert_eq!(
            task.confirm("a", "pa", &stamp("2026-06-01T10:00:00+08:00")),
            Ok(true)
        );
        assert_eq!(
            task.confirm("a", "pa", &stamp("2026-06-01T11:00:00+08:00")),
            Ok(false)
        );
        assert!(matches!(
            task.confirm("a", "other", &stamp("2026-06-01T11:00:00+08:00")),
            Err(RelayError::AlreadyConfirmed { .. })
        ));
        assert_eq!(
            task.confirm("z", "pz", &stamp("2026-06-01T11:00:00+08:00")),
            Err(RelayError::NotTarget("z".into()))
        );
        task.confirm("b", "pb", &stamp("2026-06-03T09:00:00+08:00"))
            .expect("late");
        let report = task.report(at("2026-06-03T10:00:00+08:00"));
        assert_eq!((report.on_time, report.late, report.missing), (1, 1, 1));
        assert!(report.overdue && !report.complete);
        task.confirm("c", "pc", &stamp("2026-06-03T11:00:00+08:00"))
            .expect("late too");
        let report = task.report(at("2026-06-03T12:00:00+08:00"));
        assert!(report.complete && !report.overdue);
    }
}
