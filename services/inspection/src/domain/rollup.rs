//! The annual rollup of a unit: what a year of inspection and rectification came to, in
//! numbers and in one paragraph for the government-information-disclosure report (政府信息公开
//! 工作年度报告) and the annual performance appraisal (年度目标绩效考核).

use chrono::{DateTime, Utc};

use super::{
    Category,
    notice::Notice,
    rectification::{Change, Order, OrderState},
};

/// The rectification orders of the year.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Orders {
    /// Opened.
    pub opened: u32,
    /// Verified.
    pub verified: u32,
    /// Waiting within the deadline.
    pub in_progress: u32,
    /// Waiting for the unit past the deadline.
    pub overdue: u32,
    /// Answers given late.
    pub late_answers: u32,
    /// Answers rejected.
    pub rejected_answers: u32,
}

impl Orders {
    /// The counts of `orders` at `now`.
    pub fn of(orders: &[Order], now: DateTime<Utc>) -> Orders {
        let mut counts = Orders::default();
        for order in orders {
            counts.opened += 1;
            match order.state {
                OrderState::Verified => counts.verified += 1,
                OrderState::Open if order.overdue(now) => counts.overdue += 1,
                OrderState::Open | OrderState::Answered => counts.in_progress += 1,
            }
            for round in &order.rounds {
                if round.answer.as_ref().is_some_and(|answer| answer.late) {
                    counts.late_answers += 1;
                }
                if round.decision == Some(Change::Rejected) {
                    counts.rejected_answers += 1;
                }
            }
        }
        counts
    }
}

/// The closures of the year, as the filing service reported them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Closures {
    /// Suspensions applied.
    pub suspended: u32,
    /// Cancellations applied.
    pub cancelled: u32,
    /// Of those, enforced.
    pub enforced: u32,
}

/// A unit's year.
#[derive(Clone, Debug, PartialEq)]
pub struct Rollup {
    /// The unit.
    pub organization: String,
    /// Its name.
    pub display_name: String,
    /// The year.
    pub year: i32,
    /// The year is over.
    pub complete: bool,
    /// When compiled.
    pub as_of: DateTime<Utc>,
    /// Accounts checked at least once.
    pub accounts_checked: u32,
    /// Checks by outcome: passed, failed, incomplete.
    pub checks: [u32; 3],
    /// Findings first found in the year, by category (none left out).
    pub findings: Vec<(Category, u32)>,
    /// The orders.
    pub orders: Orders,
    /// The closures, or why the filing service could not tell.
    pub closures: Result<Closures, String>,
    /// The notices against the unit or its subtree.
    pub notices: Vec<Notice>,
}

impl Rollup {
    /// All checks.
    pub fn check_count(&self) -> u32 {
        self.checks.iter().sum()
    }

    /// All findings.
    pub fn finding_count(&self) -> u32 {
        self.findings.iter().map(|(_, n)| n).sum()
    }

    /// The paragraph for the disclosure report.
    pub fn summary(&self) -> String {
        let [passed, failed, incomplete] = self.checks;
        let mut text = format!(
            "{}年{}，{}所属政务新媒体账号共接受监测检查{}次，涉及账号{}个，其中合格{}次、不合格{}次",
            self.year,
            if self.complete {
                ""
            } else {
                "（截至统计日）"
            },
            self.display_name,
            self.check_count(),
            self.accounts_checked,
            passed,
            failed,
        );
        if incomplete > 0 {
            text.push_str(&format!("、未能完成评估{incomplete}次"));
        }
        text.push_str(&format!("；发现问题{}个", self.finding_count()));
        if !self.findings.is_empty() {
            let parts: Vec<String> = self
                .findings
                .iter()
                .map(|(category, n)| format!("{}{}个", category.zh(), n))
                .collect();
            text.push_str(&format!("（{}）", parts.join("、")));
        }
        let o = self.orders;
        text.push_str(&format!(
            "；收到整改通知{}份，已整改到位{}份、整改中{}份、逾期未整改{}份",
            o.opened, o.verified, o.in_progress, o.overdue
        ));
        match &self.closures {
            Ok(c) => text.push_str(&format!(
                "；关停账号{}个、注销账号{}个（其中因整改不到位被强制关停注销{}个）",
                c.suspended, c.cancelled, c.enforced
            )),
            Err(_) => text.push_str("；关停注销情况暂无法统计"),
        }
        text.push_str(&format!("；被通报批评{}次。", self.notices.len()));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_what_the_numbers_say() {
        let rollup = Rollup {
            organization: "golmud".into(),
            display_name: "格尔木市".into(),
            year: 2026,
            complete: true,
            as_of: DateTime::parse_from_rfc3339("2027-01-05T00:00:00Z")
                .expect("time")
                .with_timezone(&Utc),
            accounts_checked: 3,
            checks: [10, 2, 0],
            findings: vec![(Category::LaxReview, 2), (Category::PoorMaintenance, 1)],
            orders: Orders {
                opened: 2,
                verified: 1,
                in_progress: 0,
                overdue: 1,
                late_answers: 1,
                rejected_answers: 2,
            },
            closures: Ok(Closures {
                suspended: 1,
                cancelled: 0,
                enforced: 1,
            }),
            notices: vec![],
        };
        let text = rollup.summary();
        assert!(text.starts_with("2026年，格尔木市所属政务新媒体账号共接受监测检查12次，涉及账号3个，其中合格10次、不合格2次；发现问题3个（审核把关不严2个、运维保障差1个）"), "{text}");
        assert!(text.contains("收到整改通知2份，已整改到位1份、整改中0份、逾期未整改1份"));
        assert!(text.contains("关停账号1个、注销账号0个（其中因整改不到位被强制关停注销1个）"));
        assert!(text.ends_with("被通报批评0次。"));
        let unknown = Rollup {
            closures: Err("备案服务未应答".into()),
            complete: false,
            ..rollup
        };
        assert!(unknown.summary().contains("（截至统计日）"));
        assert!(unknown.summary().contains("关停注销情况暂无法统计"));
    }
}
