//! Closure recommendations (关停注销建议, R-22): an account still failing after rectification, or
//! failing repeatedly, is to be suspended or cancelled by the supervising department. The rules
//! are counted here from an account's orders and findings; the thresholds are settings.

use chrono::{DateTime, Utc};

use super::{
    period::Quarter,
    rectification::{Change, Order, OrderState},
};

govmedia_kit::numbered! {
    /// Why an account is recommended for closure (`ClosureGround`).
    Ground {
        /// An order rejected again and again without being verified.
        StillFailing = 1 => "STILL_FAILING",
        /// Many findings within a few quarters.
        RepeatedFindings = 2 => "REPEATED_FINDINGS",
    }
}

/// The thresholds of the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// Rejected rounds of one order, not verified, that make an account still failing.
    pub rejected_rounds: u32,
    /// Findings first found within the period that make an account failing repeatedly.
    pub repeat_findings: u32,
    /// The period in calendar quarters, the current one included.
    pub repeat_quarters: u32,
}

/// Most findings a reason lists.
pub const MAX_LISTED: usize = 100;

/// One rule that applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason {
    /// Which.
    pub ground: Ground,
    /// In words.
    pub explanation: String,
    /// What it counted.
    pub count: u32,
    /// The threshold reached.
    pub threshold: u32,
    /// The orders it rests on (ids).
    pub orders: Vec<String>,
    /// The findings it counted (ids, at most [`MAX_LISTED`]).
    pub findings: Vec<String>,
}

/// An account recommended for closure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recommendation {
    /// The account.
    pub account: String,
    /// Its unit.
    pub organization: String,
    /// Why.
    pub reasons: Vec<Reason>,
    /// The orders an enforced closure may name (ids), each once.
    pub grounds: Vec<String>,
}

/// The first instant (Asia/Shanghai) of the calendar quarter `quarters - 1` quarters before
/// `now`'s: the start of a period of `quarters` quarters that ends with the current one.
pub fn period_start(now: DateTime<Utc>, quarters: u32) -> DateTime<Utc> {
    Quarter::of(now)
        .back(i32::try_from(quarters.saturating_sub(1)).unwrap_or(0))
        .start()
}

/// How many of `order`'s answers were rejected.
fn rejections(order: &Order) -> u32 {
    order
        .rounds
        .iter()
        .filter(|round| round.decision == Some(Change::Rejected))
        .count() as u32
}

/// Whether `account` of `organization` is recommended for closure under `thresholds` at `now`,
/// from its `orders` and the `findings` first found on it by the detectors (a supervisor's own
/// findings do not count) within the period that begins at `since`.
pub fn recommend(
    account: &str,
    organization: &str,
    orders: &[Order],
    findings: &[String],
    thresholds: Thresholds,
    (since, now): (DateTime<Utc>, DateTime<Utc>),
) -> Option<Recommendation> {
    let mut reasons = Vec::new();
    for order in orders {
        if order.state == OrderState::Verified {
            continue;
        }
        let rejected = rejections(order);
        if rejected >= thresholds.rejected_rounds.max(1) {
            reasons.push(Reason {
                ground: Ground::StillFailing,
                explanation: format!(
                    "整改通知 rectificationOrders/{} 已被退回 {rejected} 次，仍未整改到位（阈值 {} 次）",
                    order.id, thresholds.rejected_rounds
                ),
                count: rejected,
                threshold: thresholds.rejected_rounds,
                orders: vec![order.id.clone()],
                findings: order.findings.clone(),
            });
        }
    }
    let count = findings.len() as u32;
    if count >= thresholds.repeat_findings.max(1) {
        // Grounds are orders the unit has failed: answered and rejected at least once, or left
        // past their deadline. A verified order is history (closing on it would let the account
        // resume at once), and one still within its first deadline gives the unit its chance.
        let orders: Vec<String> = orders
            .iter()
            .filter(|order| {
                order.created.time >= since
                    && order.state != OrderState::Verified
                    && (rejections(order) > 0 || order.overdue(now))
            })
            .map(|order| order.id.clone())
            .collect();
        reasons.push(Reason {
            ground: Ground::RepeatedFindings,
            explanation: format!(
                "最近 {} 个季度内新发现问题 {count} 个（阈值 {} 个）",
                thresholds.repeat_quarters, thresholds.repeat_findings
            ),
            count,
            threshold: thresholds.repeat_findings,
            orders,
            findings: findings.iter().take(MAX_LISTED).cloned().collect(),
        });
    }
    if reasons.is_empty() {
        return None;
    }
    let mut grounds: Vec<String> = Vec::new();
    for order in reasons.iter().flat_map(|reason| &reason.orders) {
        if !grounds.contains(order) {
            grounds.push(order.clone());
        }
    }
    Some(Recommendation {
        account: account.to_owned(),
        organization: organization.to_owned(),
        reasons,
        grounds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Stamp,
        rectification::{Opening, Schedule},
    };

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    const THRESHOLDS: Thresholds = Thresholds {
        rejected_rounds: 2,
        repeat_findings: 3,
        repeat_quarters: 2,
    };

    fn order(id: &str, created: &str, rejections: u32) -> Order {
        let stamp = |time: &str| Stamp {
            time: at(time),
            actor: "ma".into(),
            actor_organization: "golmud-office".into(),
        };
        let mut order = Order::open(
            Opening {
                id: id.into(),
                account: "a".into(),
                organization: "golmud".into(),
                path: "/qinghai/golmud/".into(),
                findings: vec!["f1".into()],
                requirement: "改".into(),
                scheme: ("national".into(), 2),
                deadline: (5, Schedule::default()),
            },
            stamp(created),
        );
        for _ in 0..rejections {
            order
                .answer(
                    "已改".into(),
                    vec![],
                    vec![],
                    Stamp {
                        actor: "li".into(),
                        actor_organization: "golmud".into(),
                        ..stamp(created)
                    },
                )
                .expect("answer");
            order
                .reject("未改".into(), stamp(created), 5, Schedule::default())
                .expect("reject");
        }
        order
    }

    #[test]
    fn periods_start_with_a_quarter_in_shanghai_time() {
        // 1 April 2026 at 07:00 in Shanghai is still 31 March in UTC: the second quarter.
        let now = at("2026-03-31T23:00:00Z");
        assert_eq!(period_start(now, 1), at("2026-04-01T00:00:00+08:00"));
        assert_eq!(period_start(now, 2), at("2026-01-01T00:00:00+08:00"));
        assert_eq!(period_start(now, 5), at("2025-04-01T00:00:00+08:00"));
        assert_eq!(
            period_start(at("2026-12-06T10:00:00+08:00"), 4),
            at("2026-01-01T00:00:00+08:00")
        );
    }

    #[test]
    fn an_order_rejected_twice_recommends_closure_until_verified() {
        let since = at("2026-07-01T00:00:00+08:00");
        let now = at("2026-11-30T10:00:00+08:00");
        let once = order("o1", "2026-11-02T10:00:00+08:00", 1);
        assert_eq!(
            recommend("a", "golmud", &[once], &[], THRESHOLDS, (since, now)),
            None
        );
        let twice = order("o2", "2026-11-02T10:00:00+08:00", 2);
        let recommended = recommend(
            "a",
            "golmud",
            std::slice::from_ref(&twice),
            &[],
            THRESHOLDS,
            (since, now),
        )
        .expect("recommended");
        assert_eq!(recommended.reasons.len(), 1);
        assert_eq!(recommended.reasons[0].ground, Ground::StillFailing);
        assert_eq!(recommended.reasons[0].count, 2);
        assert_eq!(recommended.grounds, ["o2"]);
        let mut verified = twice;
        verified.state = OrderState::Verified;
        assert_eq!(
            recommend("a", "golmud", &[verified], &[], THRESHOLDS, (since, now)),
            None
        );
    }

    #[test]
    fn many_findings_in_the_period_recommend_closure_with_the_orders_of_the_period() {
        let since = at("2026-07-01T00:00:00+08:00");
        let now = at("2026-11-30T10:00:00+08:00");
        let findings: Vec<String> = (1..=3).map(|i| format!("f{i}")).collect();
        let old = order("o-old", "2026-03-02T10:00:00+08:00", 0);
        // Rejected once: the unit had its chance. Just opened, within its deadline: not yet.
        let recent = order("o-new", "2026-10-12T10:00:00+08:00", 1);
        let fresh = order("o-fresh", "2026-11-29T10:00:00+08:00", 0);
        let recommended = recommend(
            "a",
            "golmud",
            &[old.clone(), recent, fresh],
            &findings,
            THRESHOLDS,
            (since, now),
        )
        .expect("recommended");
        assert_eq!(recommended.reasons[0].ground, Ground::RepeatedFindings);
        assert_eq!(recommended.reasons[0].count, 3);
        assert_eq!(recommended.grounds, ["o-new"], "only orders of the period");
        // A verified order of the period is no grounds: the account would resume at once.
        let mut verified = order("o-done", "2026-10-12T10:00:00+08:00", 0);
        verified.state = OrderState::Verified;
        let only_verified = recommend(
            "a",
            "golmud",
            &[verified],
            &findings,
            THRESHOLDS,
            (since, now),
        )
        .expect("recommended");
        assert!(only_verified.grounds.is_empty());
        // Without an order of the period there is nothing to name as grounds yet.
        let bare =
            recommend("a", "golmud", &[old], &findings, THRESHOLDS, (since, now)).expect("rec");
        assert!(bare.grounds.is_empty());
        assert_eq!(
            recommend("a", "golmud", &[], &findings[..2], THRESHOLDS, (since, now)),
            None
        );
    }
}
