//! Domain values ↔ contract messages. Every response and event is built here.

use chrono::{DateTime, Utc};
use govmedia_kit::clock::to_proto;
use govmedia_proto::{common::v1 as common, inspection::v1 as pb};

use crate::{
    domain::{
        Check, Evidence, Finding, HotEvent, Post, Scheme, SpotCheck, Stamp,
        bulletin::Bulletin,
        closure::Recommendation,
        consolidation::Candidate,
        detect::Spec,
        finding::WordingHit,
        notice::Notice,
        rectification::{Order, Round},
        rollup::Rollup,
        scheme::{Item, ItemKind, ItemResult, Mode, Selector, Weight},
    },
    store::lexicons::Record,
};

/// `accounts/{id}`.
pub fn account_name(id: &str) -> String {
    format!("accounts/{id}")
}

/// `organizations/{id}`, empty for none.
pub fn organization_name(id: &str) -> String {
    if id.is_empty() {
        String::new()
    } else {
        format!("organizations/{id}")
    }
}

/// `posts/{id}`.
pub fn post_name(id: &str) -> String {
    format!("posts/{id}")
}

/// `checks/{id}`.
pub fn check_name(id: &str) -> String {
    format!("checks/{id}")
}

/// `findings/{id}`.
pub fn finding_name(id: &str) -> String {
    format!("findings/{id}")
}

/// `schemes/{id}`.
pub fn scheme_name(id: &str) -> String {
    format!("schemes/{id}")
}

/// `lexicons/{id}`.
pub fn lexicon_name(id: &str) -> String {
    format!("lexicons/{id}")
}

/// An audit stamp.
pub fn stamp(stamp: &Stamp) -> common::AuditStamp {
    common::AuditStamp {
        time: Some(to_proto(stamp.time)),
        actor: stamp.actor.clone(),
        actor_organization: organization_name(&stamp.actor_organization),
    }
}

fn time(value: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    value.map(to_proto)
}

/// A post.
pub fn post(post: &Post) -> pb::Post {
    pb::Post {
        name: post_name(&post.id),
        account: account_name(&post.account),
        organization: organization_name(&post.organization),
        platform_post_id: post.platform_post_id.clone(),
        published_time: Some(to_proto(post.published)),
        title: post.title.clone(),
        text: post.text.clone(),
        links: post.links.clone(),
        media_kind: post.media as i32,
        reads: post.reads,
        likes: post.likes,
        comments: post.comments,
        shares: post.shares,
        original: post.original,
        relayed_from: post.relayed_from.clone(),
        content_hash: post.content_hash.clone(),
        received: Some(stamp(&post.received)),
    }
}

/// A lexicon put through the API.
pub fn lexicon(record: &Record) -> pb::Lexicon {
    pb::Lexicon {
        name: lexicon_name(&record.name),
        version: record.version.clone(),
        wording_count: record.wording_count,
        allowed_count: record.allowed_count,
        sha256: record.sha256.clone(),
        updated: Some(stamp(&record.updated)),
    }
}

fn wording_category(category: &str) -> i32 {
    match category {
        "leader" => pb::WordingCategory::Leader as i32,
        "formulation" => pb::WordingCategory::Formulation as i32,
        "banned" => pb::WordingCategory::Banned as i32,
        "advertising" => pb::WordingCategory::Advertising as i32,
        "vulgar" => pb::WordingCategory::Vulgar as i32,
        "rude" => pb::WordingCategory::Rude as i32,
        _ => pb::WordingCategory::Unspecified as i32,
    }
}

/// A wording hit.
pub fn hit(hit: &WordingHit) -> pb::WordingHit {
    let offset = |value: usize| i32::try_from(value).unwrap_or(i32::MAX);
    pb::WordingHit {
        byte_start: offset(hit.byte_start),
        byte_end: offset(hit.byte_end),
        char_start: offset(hit.char_start),
        char_end: offset(hit.char_end),
        matched: hit.matched.clone(),
        wording: hit.wording.clone(),
        category: wording_category(&hit.category),
        severity: hit.severity as i32,
        suggestion: hit.suggestion.clone().unwrap_or_default(),
        lexicon_version: hit.lexicon_version.clone(),
    }
}

fn evidence(evidence: &Evidence) -> pb::Evidence {
    pb::Evidence {
        post: evidence.post.as_deref().map(post_name).unwrap_or_default(),
        platform_post_id: evidence.platform_post_id.clone().unwrap_or_default(),
        published_time: time(evidence.published),
        hit: evidence.hit.as_ref().map(hit),
        field: evidence.field.clone().unwrap_or_default(),
        link: evidence.link.clone().unwrap_or_default(),
        figures: evidence
            .figures
            .iter()
            .map(|(name, value)| pb::Figure {
                name: name.clone(),
                value: *value,
            })
            .collect(),
        source: evidence.source.clone(),
        excerpt: evidence.excerpt.clone(),
        reference: evidence.reference.clone().unwrap_or_default(),
    }
}

/// `hotEvents/{id}`.
pub fn hot_event_name(id: &str) -> String {
    format!("hotEvents/{id}")
}

/// A hot event.
pub fn hot_event(event: &HotEvent) -> pb::HotEvent {
    pb::HotEvent {
        name: hot_event_name(&event.id),
        title: event.title.clone(),
        keywords: event.keywords.clone(),
        organization: organization_name(&event.organization),
        start_time: Some(to_proto(event.start)),
        end_time: Some(to_proto(event.end)),
        created: Some(stamp(&event.created)),
    }
}

/// A finding.
pub fn finding(finding: &Finding) -> pb::Finding {
    pb::Finding {
        name: finding_name(&finding.id),
        account: account_name(&finding.account),
        organization: organization_name(&finding.organization),
        category: finding.category as i32,
        detector: finding.detector.clone(),
        severity: finding.severity as i32,
        summary: finding.summary.clone(),
        evidence: Some(evidence(&finding.evidence)),
        created: Some(stamp(&finding.created)),
        last_check: finding
            .last_check
            .as_deref()
            .map(check_name)
            .unwrap_or_default(),
        last_seen_time: Some(to_proto(finding.last_seen)),
    }
}

fn item_result(item: &ItemResult) -> pb::CheckItem {
    pb::CheckItem {
        item: item.item.clone(),
        title: item.title.clone(),
        kind: item.kind as i32,
        detector: item.detector.clone(),
        status: item.status as i32,
        points: item.points,
        weight_percent: item.weight_percent,
        explanation: item.explanation.clone(),
        findings: item.findings.iter().map(|id| finding_name(id)).collect(),
        credited_posts: item.credited_posts.iter().map(|id| post_name(id)).collect(),
    }
}

/// A check.
pub fn check(check: &Check) -> pb::Check {
    pb::Check {
        name: check_name(&check.id),
        account: account_name(&check.account),
        organization: organization_name(&check.organization),
        scheme: scheme_name(&check.scheme),
        scheme_version: check.scheme_version,
        as_of: Some(to_proto(check.as_of)),
        outcome: check.outcome as i32,
        score: check.score,
        items: check.items.iter().map(item_result).collect(),
        not_evaluated: check.not_evaluated,
        created: Some(stamp(&check.created)),
    }
}

fn selector(selector: &Selector) -> pb::Selector {
    pb::Selector {
        levels: selector.levels.clone(),
        platforms: selector.platforms.clone(),
        account_kinds: selector.account_kinds.clone(),
        business_fields: selector.business_fields.clone(),
    }
}

/// A scheme.
pub fn scheme(scheme: &Scheme) -> pb::Scheme {
    pb::Scheme {
        name: scheme_name(&scheme.id),
        version: scheme.version,
        title: scheme.title.clone(),
        organization: scheme
            .organization
            .as_deref()
            .map(organization_name)
            .unwrap_or_default(),
        mode: scheme.mode as i32,
        deduction_points: scheme.deduction_points,
        bonus_points: scheme.bonus_points,
        pass_mark: scheme.pass_mark,
        veto_cap: scheme.veto_cap,
        items: scheme
            .items
            .iter()
            .map(|item| pb::SchemeItem {
                id: item.id.clone(),
                title: item.title.clone(),
                kind: item.kind as i32,
                detector: item.detector.clone(),
                parameters: item
                    .parameters
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                points: item.points,
                max_points: item.max_points,
                applies_to: Some(selector(&item.applies_to)),
                weights: item
                    .weights
                    .iter()
                    .map(|weight| pb::Weight {
                        selector: Some(selector(&weight.selector)),
                        percent: weight.percent,
                    })
                    .collect(),
            })
            .collect(),
        fields: scheme
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        updated: scheme.updated.as_ref().map(stamp),
    }
}

fn selector_of(selector: Option<&pb::Selector>) -> Selector {
    selector.map_or_else(Selector::default, |s| Selector {
        levels: s.levels.clone(),
        platforms: s.platforms.clone(),
        account_kinds: s.account_kinds.clone(),
        business_fields: s.business_fields.clone(),
    })
}

/// The domain form of a scheme sent by a caller, for validation (which names every problem,
/// an unset mode or kind included): `id` from its name, version and stamp set by the handler.
/// `Err` names the field whose enum value is unknown.
pub fn scheme_of(id: &str, source: &pb::Scheme) -> Result<Scheme, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let mode = Mode::from_i32(source.mode);
    if mode.is_none() {
        problems.push(("mode".to_owned(), "must be PASS_FAIL or SCORED".to_owned()));
    }
    let mut items = Vec::with_capacity(source.items.len());
    for (index, item) in source.items.iter().enumerate() {
        let Some(kind) = ItemKind::from_i32(item.kind) else {
            problems.push((
                format!("items[{index}].kind"),
                "must be VETO, DEDUCTION or BONUS".to_owned(),
            ));
            continue;
        };
        items.push(Item {
            id: item.id.clone(),
            title: item.title.clone(),
            kind,
            detector: item.detector.clone(),
            parameters: item
                .parameters
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            points: item.points,
            max_points: item.max_points,
            applies_to: selector_of(item.applies_to.as_ref()),
            weights: item
                .weights
                .iter()
                .map(|weight| Weight {
                    selector: selector_of(weight.selector.as_ref()),
                    percent: weight.percent,
                })
                .collect(),
        });
    }
    match mode {
        Some(mode) if problems.is_empty() => Ok(Scheme {
            id: id.to_owned(),
            version: 0,
            title: source.title.trim().to_owned(),
            organization: None,
            path: None,
            mode,
            deduction_points: source.deduction_points,
            bonus_points: source.bonus_points,
            pass_mark: source.pass_mark,
            veto_cap: source.veto_cap,
            items,
            fields: source
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            updated: None,
        }),
        _ => Err(problems),
    }
}

/// A detector of the catalogue.
pub fn detector(spec: &Spec) -> pb::Detector {
    pb::Detector {
        id: spec.id.to_owned(),
        category: spec.category as i32,
        description: spec.description.to_owned(),
        parameters: spec
            .params
            .iter()
            .map(|param| pb::DetectorParameter {
                name: param.name.to_owned(),
                description: param.description.to_owned(),
                default_value: param.default.to_string(),
                min: param.min,
                max: param.max,
            })
            .collect(),
        merit: spec.merit,
    }
}

/// `spotChecks/{id}`.
pub fn spot_check_name(id: &str) -> String {
    format!("spotChecks/{id}")
}

/// A spot check.
pub fn spot_check(spot: &SpotCheck) -> pb::SpotCheck {
    pb::SpotCheck {
        name: spot_check_name(&spot.id),
        organization: organization_name(&spot.organization),
        period: spot.period.clone(),
        scheme: scheme_name(&spot.scheme),
        scheme_version: spot.scheme_version,
        ratio: f64::from(spot.per_mille) / 1000.0,
        seed: spot.seed,
        strata: spot
            .strata
            .iter()
            .map(|stratum| pb::SpotCheckStratum {
                region: organization_name(&stratum.region),
                platform: stratum.platform,
                population: i32::try_from(stratum.population).unwrap_or(i32::MAX),
                drawn: stratum.drawn.iter().map(|id| account_name(id)).collect(),
            })
            .collect(),
        checks: spot.checks.iter().map(|id| check_name(id)).collect(),
        passed: spot.counts[0],
        failed: spot.counts[1],
        incomplete: spot.counts[2],
        created: Some(stamp(&spot.created)),
    }
}

/// `monitoringRuns/{id}`.
pub fn run_name(id: &str) -> String {
    format!("monitoringRuns/{id}")
}

/// A monitoring run.
pub fn run(run: &crate::domain::run::MonitoringRun) -> pb::MonitoringRun {
    pb::MonitoringRun {
        name: run_name(&run.id),
        mode: run.mode as i32,
        mode_reason: run.mode_reason.clone(),
        state: run.state as i32,
        as_of: time(run.as_of),
        scheme: if run.scheme.0.is_empty() {
            String::new()
        } else {
            scheme_name(&run.scheme.0)
        },
        scheme_version: run.scheme.1,
        accounts_active: run.accounts_active,
        accounts_checked: run.accounts_checked,
        new_posts: run.new_posts,
        passed: run.counts[0],
        failed: run.counts[1],
        incomplete: run.counts[2],
        lexicon_fingerprint: run.lexicon_fingerprint.clone(),
        started_time: time(run.started),
        finished_time: time(run.finished),
        error: run.error.clone(),
        created: Some(stamp(&run.created)),
    }
}

/// `feeds/{id}`.
pub fn feed_name(id: &str) -> String {
    format!("feeds/{id}")
}

/// A feed.
pub fn feed(feed: &crate::domain::feed::Feed) -> pb::Feed {
    pb::Feed {
        name: feed_name(&feed.id),
        account: account_name(&feed.account),
        url: feed.url.clone(),
        etag: feed.etag.clone(),
        last_modified: feed.last_modified.clone(),
        last_polled_time: time(feed.last_polled),
        next_poll_time: Some(to_proto(feed.next_poll)),
        failures: feed.failures,
        last_error: feed.last_error.clone(),
        posts_taken: feed.posts_taken,
        created: Some(stamp(&feed.created)),
    }
}

/// `rectificationOrders/{id}`.
pub fn order_name(id: &str) -> String {
    format!("rectificationOrders/{id}")
}

/// The etag of a version.
pub fn etag(version: i32) -> String {
    version.to_string()
}

/// A rectification order as a caller reads it at `now` (which says whether it is overdue).
pub fn order(order: &Order, now: DateTime<Utc>) -> pb::RectificationOrder {
    pb::RectificationOrder {
        name: order_name(&order.id),
        account: account_name(&order.account),
        organization: organization_name(&order.organization),
        findings: order.findings.iter().map(|id| finding_name(id)).collect(),
        requirement: order.requirement.clone(),
        scheme: scheme_name(&order.scheme),
        scheme_version: order.scheme_version,
        state: order.state as i32,
        rounds: order.rounds.iter().map(round).collect(),
        due_time: time(order.due()),
        overdue: order.overdue(now),
        created: Some(stamp(&order.created)),
        closed: order.closed().map(stamp),
        etag: etag(order.version),
    }
}

fn round(round: &Round) -> pb::RectificationRound {
    pb::RectificationRound {
        round: i32::try_from(round.round).unwrap_or(i32::MAX),
        deadline_working_days: i32::try_from(round.days).unwrap_or(i32::MAX),
        start_time: Some(to_proto(round.start)),
        due_time: time(round.schedule.due),
        warning_time: time(round.schedule.warning),
        warned_time: time(round.warned),
        overdue_time: time(round.overdue),
        answer: round.answer.as_ref().map(|answer| pb::RectificationAnswer {
            text: answer.text.clone(),
            links: answer.links.clone(),
            attachments: answer
                .attachments
                .iter()
                .map(|file| pb::Attachment {
                    name: file.name.clone(),
                    sha256: file.sha256.clone(),
                    size_bytes: file.size_bytes,
                    uri: file.uri.clone().unwrap_or_default(),
                })
                .collect(),
            answered: Some(stamp(&answer.answered)),
            late: answer.late,
        }),
        recheck: round.recheck.as_ref().map(|recheck| pb::Recheck {
            check: if recheck.check.is_empty() {
                String::new()
            } else {
                check_name(&recheck.check)
            },
            outcome: recheck.outcome as i32,
            still_found: recheck
                .still_found
                .iter()
                .map(|id| finding_name(id))
                .collect(),
            time: Some(to_proto(recheck.time)),
            not_rechecked: recheck
                .not_rechecked
                .iter()
                .map(|id| finding_name(id))
                .collect(),
        }),
        decision: round.decision.map_or(0, |decision| decision as i32),
        comment: round.comment.clone(),
        decided: round.decided.as_ref().map(stamp),
    }
}

/// A closure recommendation.
pub fn recommendation(recommendation: &Recommendation) -> pb::ClosureRecommendation {
    pb::ClosureRecommendation {
        account: account_name(&recommendation.account),
        organization: organization_name(&recommendation.organization),
        reasons: recommendation
            .reasons
            .iter()
            .map(|reason| pb::ClosureReason {
                ground: reason.ground as i32,
                explanation: reason.explanation.clone(),
                count: i32::try_from(reason.count).unwrap_or(i32::MAX),
                threshold: i32::try_from(reason.threshold).unwrap_or(i32::MAX),
                orders: reason.orders.iter().map(|id| order_name(id)).collect(),
                findings: reason.findings.iter().map(|id| finding_name(id)).collect(),
            })
            .collect(),
        grounds: recommendation
            .grounds
            .iter()
            .map(|id| order_name(id))
            .collect(),
    }
}

/// `criticismNotices/{id}`.
pub fn notice_name(id: &str) -> String {
    format!("criticismNotices/{id}")
}

/// A criticism notice.
pub fn notice(notice: &Notice) -> pb::CriticismNotice {
    pb::CriticismNotice {
        name: notice_name(&notice.id),
        organization: organization_name(&notice.organization),
        period: notice.period.clone(),
        title: notice.title.clone(),
        text: notice.text.clone(),
        findings: notice.findings.iter().map(|id| finding_name(id)).collect(),
        orders: notice.orders.iter().map(|id| order_name(id)).collect(),
        issued: Some(stamp(&notice.issued)),
    }
}

/// A compiled bulletin.
pub fn bulletin(bulletin: &Bulletin) -> pb::Bulletin {
    let r = bulletin.rectification;
    let count = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    pb::Bulletin {
        organization: organization_name(&bulletin.organization),
        display_name: bulletin.display_name.clone(),
        period: bulletin.quarter.to_string(),
        edition: bulletin.edition as i32,
        draft: bulletin.draft,
        as_of: Some(to_proto(bulletin.as_of)),
        accounts_checked: count(bulletin.checked),
        passed: count(bulletin.passed),
        failed: count(bulletin.failed),
        incomplete: count(bulletin.incomplete),
        pass_rate: bulletin.pass_rate(),
        vetoes: bulletin
            .vetoes
            .iter()
            .map(|veto| pb::BulletinVeto {
                category: veto.category as i32,
                title: veto.category.zh().to_owned(),
                accounts: count(veto.accounts),
            })
            .collect(),
        deductions: bulletin
            .deductions
            .iter()
            .map(|d| pb::BulletinDeduction {
                item: d.item.clone(),
                title: d.title.clone(),
                accounts: count(d.accounts),
                points: d.points,
            })
            .collect(),
        rectification: Some(pb::BulletinRectification {
            opened: count(r.opened),
            verified: count(r.verified),
            in_progress: count(r.in_progress),
            overdue: count(r.overdue),
        }),
        criticised: bulletin
            .criticised
            .iter()
            .map(|unit| pb::BulletinCriticised {
                organization: organization_name(&unit.organization),
                display_name: unit.display_name.clone(),
                notices: unit.notices.clone(),
            })
            .collect(),
        failing: bulletin
            .failing
            .iter()
            .map(|account| pb::BulletinAccount {
                account: account_name(&account.account),
                display_name: account.display_name.clone(),
                organization: organization_name(&account.organization),
                organization_display_name: account.organization_display_name.clone(),
                categories: account.categories.iter().map(|c| *c as i32).collect(),
                score: account.score,
                problems: account.problems.clone(),
                check: if account.check.is_empty() {
                    String::new()
                } else {
                    check_name(&account.check)
                },
            })
            .collect(),
        notes: bulletin.notes.clone(),
    }
}

/// An annual rollup.
pub fn rollup(rollup: &Rollup) -> pb::AnnualRollup {
    let count = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    let [passed, failed, incomplete] = rollup.checks;
    let o = rollup.orders;
    pb::AnnualRollup {
        organization: organization_name(&rollup.organization),
        display_name: rollup.display_name.clone(),
        year: rollup.year,
        complete: rollup.complete,
        as_of: Some(to_proto(rollup.as_of)),
        accounts_checked: count(rollup.accounts_checked),
        checks: count(rollup.check_count()),
        checks_passed: count(passed),
        checks_failed: count(failed),
        checks_incomplete: count(incomplete),
        findings: rollup
            .findings
            .iter()
            .map(|(category, n)| pb::RollupCategory {
                category: *category as i32,
                title: category.zh().to_owned(),
                findings: count(*n),
            })
            .collect(),
        findings_total: count(rollup.finding_count()),
        orders: Some(pb::RollupOrders {
            opened: count(o.opened),
            verified: count(o.verified),
            in_progress: count(o.in_progress),
            overdue: count(o.overdue),
            late_answers: count(o.late_answers),
            rejected_answers: count(o.rejected_answers),
        }),
        closures: Some(match &rollup.closures {
            Ok(c) => pb::RollupClosures {
                available: true,
                unavailable_reason: String::new(),
                suspended: count(c.suspended),
                cancelled: count(c.cancelled),
                enforced: count(c.enforced),
            },
            Err(why) => pb::RollupClosures {
                available: false,
                unavailable_reason: why.clone(),
                ..Default::default()
            },
        }),
        notices: rollup.notices.iter().map(|n| notice_name(&n.id)).collect(),
        notice_titles: rollup.notices.iter().map(|n| n.title.clone()).collect(),
        summary: rollup.summary(),
    }
}

/// A consolidation candidate.
pub fn candidate(candidate: &Candidate) -> pb::ConsolidationCandidate {
    let usage = candidate.usage;
    pb::ConsolidationCandidate {
        account: account_name(&candidate.subject.account),
        display_name: candidate.subject.display_name.clone(),
        organization: organization_name(&candidate.subject.organization),
        platform: candidate.subject.platform,
        kind: candidate.subject.kind,
        advice: candidate.advice as i32,
        merge_into: candidate
            .merge_into
            .as_deref()
            .map(account_name)
            .unwrap_or_default(),
        figures: Some(pb::ConsolidationFigures {
            followers: usage.followers,
            posts: i32::try_from(usage.posts).unwrap_or(i32::MAX),
            reads: usage.reads,
            interactions: usage.interactions,
            messages: usage.messages,
        }),
        reasons: candidate.reasons.clone(),
    }
}
