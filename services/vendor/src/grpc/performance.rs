//! Performance assessment handlers.

use std::collections::{BTreeSet, HashSet};

use govmedia_kit::{
    auth::Principal,
    error::Violations,
    paging::{Page, fingerprint},
    validate,
};
use govmedia_proto::vendor::v1 as pb;
use serde_json::json;

use super::{VendorApi, convert, governed, stamp, unvalidated, visible};
use crate::{
    domain::{
        Flag, HandoverState, VendorStatus,
        performance::{Assessment, InputKind, Rating, rating_input},
    },
    error::VendorError,
    events, store,
};

/// Most ratings of one assessment.
const MAX_RATINGS: usize = 20;

/// Why the inputs of other services are missing: the vendor service does not read the
/// inspection service's checks nor the routing service's statistics yet; a missing input is
/// reported as missing, never guessed.
const NO_INSPECTION: &str =
    "the vendor service does not read the inspection service's checks yet: not evaluated";
const NO_ROUTING: &str =
    "the vendor service does not read the message-routing statistics yet: not evaluated";

pub(super) async fn assess(
    api: &VendorApi,
    principal: &Principal,
    req: pb::AssessPerformanceRequest,
) -> Result<pb::PerformanceAssessment, VendorError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "vendor", &req.vendor, "vendors", true);
    validate::request_id(&mut v, "request_id", &req.request_id);
    let Some(source) = &req.assessment else {
        v.add("assessment", "is required");
        v.finish()?;
        return Err(unvalidated("assessment"));
    };
    let period = govmedia_kit::validate::period(
        &mut v,
        "assessment",
        ("period_start", source.period_start.as_ref()),
        ("period_end", source.period_end.as_ref()),
    );
    if let Some((_, end)) = period
        && end > api.writer.clock().now()
    {
        v.add(
            "assessment.period_end",
            "is in the future: a period is assessed once it is over",
        );
    }
    let (start, end) = period.unzip();
    if source.supervisor_ratings.len() > MAX_RATINGS {
        v.add(
            "assessment.supervisor_ratings",
            format!("at most {MAX_RATINGS} ratings"),
        );
    }
    let mut raters = HashSet::new();
    for (index, rating) in source
        .supervisor_ratings
        .iter()
        .enumerate()
        .take(MAX_RATINGS)
    {
        let at = |name: &str| format!("assessment.supervisor_ratings[{index}].{name}");
        validate::text(&mut v, &at("rater"), &rating.rater, 50, true);
        if !raters.insert(rating.rater.trim().to_owned()) {
            v.add(at("rater"), "rates twice: each rater once");
        }
        if !(0..=100).contains(&rating.score) {
            v.add(at("score"), "must be between 0 and 100");
        }
        validate::multiline_text(&mut v, &at("comment"), &rating.comment, 2000, false);
    }
    v.finish()?;
    let (Some(id), Some(start), Some(end)) = (id, start, end) else {
        return Err(unvalidated("assessment"));
    };
    let ratings: Vec<Rating> = source
        .supervisor_ratings
        .iter()
        .map(|rating| Rating {
            rater: rating.rater.trim().to_owned(),
            score: rating.score,
            comment: rating.comment.clone(),
        })
        .collect();
    let jurisdiction = api.governing(principal).await?;

    let mut unit = api
        .writer
        .begin("AssessPerformance", principal, &req.request_id, &req)
        .await?;
    let mut vendor = governed(unit.txn(), &jurisdiction, &id).await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    if vendor.status == VendorStatus::Blacklisted {
        return Err(VendorError::Status {
            vendor: vendor.name(),
            error: crate::domain::StatusError::Blacklisted,
        });
    }
    // The accounts the vendor operated at some time in the period: those its delegations of
    // an overlapping period handed to it.
    let accounts: BTreeSet<String> = store::delegations::of_vendor(unit.txn(), &vendor.id)
        .await?
        .iter()
        .filter(|d| d.period_overlaps(start, end))
        .flat_map(|d| d.handovers.iter())
        .filter(|h| {
            matches!(
                h.state,
                HandoverState::Operating
                    | HandoverState::Ending
                    | HandoverState::Returned
                    | HandoverState::ReturnRefused
            )
        })
        .map(|h| h.account.clone())
        .collect();
    let formula = &api.performance;
    let scored = formula.score(|kind| match kind {
        InputKind::Inspection => (None, NO_INSPECTION.to_owned()),
        InputKind::ReplyTimeliness | InputKind::Satisfaction => (None, NO_ROUTING.to_owned()),
        InputKind::SupervisorRating => rating_input(&ratings),
    });
    let recorded = store::performance::insert(
        unit.txn(),
        &vendor.id,
        &Assessment {
            id: String::new(),
            period_start: start,
            period_end: end,
            ratings,
            inputs: scored.inputs,
            formula_version: formula.version.clone(),
            score: scored.score,
            unused_weight: scored.unused_weight,
            threshold: f64::from(formula.threshold),
            below_threshold: scored.below_threshold,
            accounts: accounts.into_iter().collect(),
            recorded: stamp(&unit),
        },
    )
    .await?;
    let response = convert::assessment(&vendor.id, &recorded);
    // Flag (or clear) the vendor for clean-out; an assessment without a score says nothing.
    if let Some(score) = recorded.score {
        let flag = if recorded.below_threshold {
            Flag::Failed {
                source: "performance",
                why: format!(
                    "score {score:.1} below {} ({})",
                    formula.threshold, response.name
                ),
            }
        } else {
            Flag::Passed {
                source: "performance",
            }
        };
        let before = vendor.version;
        if vendor.flag(flag) {
            vendor.version += 1;
            vendor.updated = stamp(&unit);
            if !store::vendors::update(unit.txn(), &vendor, before).await? {
                return Err(VendorError::stale(&vendor.name(), before));
            }
        }
    }
    let name = vendor.name();
    unit.publish(&name, &events::vendor_assessed(&name, &response))
        .await?;
    unit.audit(
        &name,
        &vendor.organization_path,
        json!({
            "assessment": response.name,
            "score": recorded.score,
            "unused_weight": recorded.unused_weight,
            "formula_version": recorded.formula_version,
            "below_threshold": recorded.below_threshold,
        }),
    );
    Ok(unit.commit(response).await?)
}

pub(super) async fn list(
    api: &VendorApi,
    principal: &Principal,
    req: pb::ListPerformanceAssessmentsRequest,
) -> Result<pb::ListPerformanceAssessmentsResponse, VendorError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "vendor", &req.vendor, "vendors", true);
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[&principal.organization, &req.vendor]),
    );
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("vendor"))?;
    let before = page.after_number()?;
    let caller = api.caller(principal).await?;
    let vendor = visible(api.conn(), &caller, &id).await?;
    let mut rows =
        store::performance::list(api.conn(), &vendor.id, before, page.fetch_limit()).await?;
    let next_page_token = page.finish(&mut rows, |assessment| {
        store::performance::seq_of(&assessment.id)
            .unwrap_or_default()
            .to_string()
    });
    Ok(pb::ListPerformanceAssessmentsResponse {
        assessments: rows
            .iter()
            .map(|assessment| convert::assessment(&vendor.id, assessment))
            .collect(),
        next_page_token,
    })
}
