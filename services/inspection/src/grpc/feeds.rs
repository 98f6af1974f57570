//! Feed handlers: register an account's RSS/Atom feed, list feeds, stop one.

use govmedia_kit::{
    auth::Principal,
    error::Violations,
    paging::{Page, fingerprint},
    validate,
};
use govmedia_proto::inspection::v1 as pb;
use serde_json::json;

use super::{InspectionApi, convert, stamp, unvalidated, validation};
use crate::{
    domain::{feed::Feed, within},
    error::InspectionError,
    store,
};

pub(super) async fn add(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::AddFeedRequest,
) -> Result<pb::Feed, InspectionError> {
    let mut v = Violations::new();
    let id = validate::id(&mut v, "feed_id", &req.feed_id).map(str::to_owned);
    validate::request_id(&mut v, "request_id", &req.request_id);
    let Some(source) = req.feed.as_ref() else {
        v.add("feed", "is required");
        v.finish()?;
        return Err(unvalidated("feed"));
    };
    let account_owned =
        validate::resource_id(&mut v, "feed.account", &source.account, "accounts", true);
    validation::http_url(&mut v, "feed.url", &source.url);
    v.finish()?;
    let (Some(id), Some(account)) = (id, account_owned.as_deref()) else {
        return Err(unvalidated("feed"));
    };
    api.management_only(principal, "adding feeds").await?;
    // The registry refuses an account outside the caller's jurisdiction.
    let account = api.ledger_account(principal, account).await?;
    let mut unit = api
        .writer
        .begin("AddFeed", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let name = convert::feed_name(&id);
    if store::feeds::get(unit.txn(), &id).await?.is_some() {
        return match unit.into_replay().await? {
            Some(first) => Ok(first),
            None => Err(InspectionError::AlreadyExists(name)),
        };
    }
    let now = stamp(&unit);
    let feed = Feed {
        id,
        account: account.id.clone(),
        organization: account.organization.clone(),
        path: account.path.clone(),
        url: source.url.clone(),
        etag: String::new(),
        last_modified: String::new(),
        last_polled: None,
        next_poll: now.time,
        failures: 0,
        last_error: String::new(),
        posts_taken: 0,
        created: now,
    };
    store::feeds::insert(unit.txn(), &feed).await?;
    unit.audit(
        &name,
        &convert::organization_name(&feed.organization),
        json!({ "account": convert::account_name(&feed.account), "url": feed.url }),
    );
    let response = unit.commit(convert::feed(&feed)).await?;
    api.collector.notify_one();
    Ok(response)
}

pub(super) async fn list(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::ListFeedsRequest,
) -> Result<pb::ListFeedsResponse, InspectionError> {
    let mut v = Violations::new();
    let account_owned = validate::resource_id(&mut v, "account", &req.account, "accounts", false);
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&["ListFeeds", &req.account]),
    );
    v.finish()?;
    let account = account_owned.as_deref();
    let root = api.scope(principal, None).await?;
    if let Some(account) = account {
        api.account(principal, account).await?;
    }
    let mut rows = store::feeds::list(
        api.conn(),
        &root.path,
        account,
        page.after_number()?,
        page.fetch_limit(),
    )
    .await?;
    let next = page.finish(&mut rows, |(_, seq)| seq.to_string());
    Ok(pb::ListFeedsResponse {
        feeds: rows.iter().map(|(feed, _)| convert::feed(feed)).collect(),
        next_page_token: next,
    })
}

pub(super) async fn delete(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::DeleteFeedRequest,
) -> Result<pb::Feed, InspectionError> {
    let mut v = Violations::new();
    let id_owned = validate::resource_id(&mut v, "name", &req.name, "feeds", true);
    v.finish()?;
    let Some(id) = id_owned.as_deref() else {
        return Err(unvalidated("name"));
    };
    let feed = store::feeds::get(api.conn(), id)
        .await?
        .ok_or_else(|| InspectionError::NotFound(convert::feed_name(id)))?;
    let root = api.scope(principal, None).await?;
    if !within(&root.path, &feed.path) {
        return Err(InspectionError::OutsideJurisdiction(convert::feed_name(id)));
    }
    api.management_only(principal, "deleting feeds").await?;
    let mut unit = api.writer.begin("DeleteFeed", principal, "", &req).await?;
    store::feeds::delete(unit.txn(), id).await?;
    let response = convert::feed(&feed);
    unit.audit(
        &response.name,
        &convert::organization_name(&feed.organization),
        json!({ "url": feed.url }),
    );
    Ok(unit.commit(response).await?)
}
