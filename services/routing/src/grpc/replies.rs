//! The replies published to citizens, by case: what the inspection service scans for rude or
//! brush-off answers (互动回应差). Only published text is shown — no draft, no review comment,
//! nothing of the citizen.

use govmedia_kit::{
    auth::Principal,
    error::Violations,
    paging::{Page, fingerprint},
    validate,
};
use govmedia_proto::routing::v1 as pb;

use super::{RoutingApi, convert, unvalidated};
use crate::{error::RoutingError, store};

pub(super) async fn list(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::ListPublishedRepliesRequest,
) -> Result<pb::ListPublishedRepliesResponse, RoutingError> {
    let mut v = Violations::new();
    let organization = validate::resource_id(
        &mut v,
        "organization",
        &req.organization,
        "organizations",
        false,
    );
    let account = validate::resource_id(&mut v, "account", &req.account, "accounts", false);
    let period = validate::period(
        &mut v,
        "",
        ("period_start", req.period_start.as_ref()),
        ("period_end", req.period_end.as_ref()),
    );
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[
            &principal.organization,
            &req.organization,
            &req.account,
            &period.map_or_else(String::new, |(start, end)| format!("{start}..{end}")),
        ]),
    );
    v.finish()?;
    let period = period.ok_or_else(|| unvalidated("period"))?;
    let scope = api
        .registry
        .as_caller(principal)
        .scope(organization.as_deref())
        .await?;
    // An account outside the scope is filtered away by the path, not refused: whether it
    // exists elsewhere is not this caller's to learn.
    let mut cases = store::cases::published_replies(
        api.conn(),
        &scope.path,
        account.as_deref(),
        period,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let next_page_token = page.finish(&mut cases, |case| case.id.clone());
    Ok(pb::ListPublishedRepliesResponse {
        replies: cases
            .iter()
            .flat_map(|case| {
                case.replies.iter().map(|reply| pb::PublishedReply {
                    r#case: convert::case_name(&case.id),
                    account: convert::account_name(&case.account_id),
                    round: reply.round as i32,
                    text: reply.text.clone(),
                    published_time: reply.published_time.map(govmedia_kit::clock::to_proto),
                    platform_reply_id: reply.platform_reply_id.clone(),
                    // Who drafted it answered: the case may have moved on since.
                    department: convert::organization_name(&reply.drafted.actor_organization),
                })
            })
            .collect(),
        next_page_token,
    })
}
