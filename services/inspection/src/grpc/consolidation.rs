//! Consolidation handler (清理整合, R-05): a region's active accounts with their numbers over
//! the window, judged by `domain::consolidation`.

use chrono::Duration;
use govmedia_kit::{
    auth::Principal,
    error::Violations,
    paging::{Page, fingerprint},
    validate,
};
use govmedia_proto::inspection::v1 as pb;

use super::{InspectionApi, convert};
use crate::{
    domain::consolidation::{Candidate, Subject, Usage, candidates},
    error::InspectionError,
    store,
};

pub(super) async fn list(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::ListConsolidationCandidatesRequest,
) -> Result<pb::ListConsolidationCandidatesResponse, InspectionError> {
    let mut v = Violations::new();
    let organization = validate::resource_id(
        &mut v,
        "organization",
        &req.organization,
        "organizations",
        false,
    );
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&["ListConsolidationCandidates", &req.organization]),
    );
    v.finish()?;
    // The registry refuses a region outside the caller's jurisdiction.
    let region = api.scope(principal, organization.as_deref()).await?;
    let after: Option<(String, i32, String)> = page.after_json()?;
    let thresholds = api.consolidation;
    let now = api.writer.clock().now();
    let days = i64::from(thresholds.window_days);
    let accounts = api.active_accounts_under(&region).await?;
    let activity =
        store::posts::activity_between(api.conn(), &region.path, now - Duration::days(days), now)
            .await?;
    let messages = api.sources.messages_received(&region.id, now, days).await;
    let (messages, unavailable) = match messages {
        Ok(counts) => (Some(counts), String::new()),
        Err(why) => (None, why),
    };
    let subjects: Vec<(Subject, Usage)> = accounts
        .into_iter()
        .map(|account| {
            let (posts, reads, interactions) =
                activity.get(&account.id).copied().unwrap_or_default();
            let usage = Usage {
                followers: account.followers,
                posts,
                reads,
                interactions,
                messages: messages
                    .as_ref()
                    .map(|counts| counts.get(&account.id).copied().unwrap_or(0)),
            };
            (
                Subject {
                    account: account.id,
                    display_name: account.display_name,
                    organization: account.organization,
                    platform: account.platform,
                    kind: account.kind,
                },
                usage,
            )
        })
        .collect();
    let key = |candidate: &Candidate| {
        (
            candidate.subject.organization.clone(),
            candidate.subject.kind,
            candidate.subject.account.clone(),
        )
    };
    let mut rows: Vec<Candidate> = candidates(&subjects, &thresholds)
        .into_iter()
        .filter(|candidate| after.as_ref().is_none_or(|after| key(candidate) > *after))
        .take(usize::try_from(page.fetch_limit()).unwrap_or(usize::MAX))
        .collect();
    let next = page.finish(&mut rows, |row| {
        serde_json::to_string(&key(row)).unwrap_or_default()
    });
    Ok(pb::ListConsolidationCandidatesResponse {
        candidates: rows.iter().map(convert::candidate).collect(),
        next_page_token: next,
        window_days: i32::try_from(thresholds.window_days).unwrap_or(i32::MAX),
        messages_unavailable_reason: unavailable,
    })
}
