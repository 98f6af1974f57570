//! Hot event handlers: a supervisor registers an event for a region of its jurisdiction; the
//! region's people read the events on their line.

use govmedia_kit::{
    auth::Principal,
    error::Violations,
    paging::{Page, fingerprint},
    validate,
};
use govmedia_proto::inspection::v1 as pb;
use serde_json::json;

use super::{InspectionApi, convert, stamp, unvalidated};
use crate::{
    domain::{
        HotEvent,
        hot::{MAX_DAYS, MAX_KEYWORD, MAX_KEYWORDS},
    },
    error::InspectionError,
    store,
};

pub(super) async fn create(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::CreateHotEventRequest,
) -> Result<pb::HotEvent, InspectionError> {
    let mut v = Violations::new();
    let id = validate::id(&mut v, "hot_event_id", &req.hot_event_id).map(str::to_owned);
    validate::request_id(&mut v, "request_id", &req.request_id);
    let Some(source) = req.hot_event.as_ref() else {
        v.add("hot_event", "is required");
        v.finish()?;
        return Err(unvalidated("hot_event"));
    };
    validate::text(&mut v, "hot_event.title", &source.title, 200, true);
    if source.keywords.is_empty() || source.keywords.len() > MAX_KEYWORDS {
        v.add(
            "hot_event.keywords",
            format!("1 to {MAX_KEYWORDS} keywords"),
        );
    }
    for (index, keyword) in source.keywords.iter().enumerate().take(MAX_KEYWORDS) {
        let field = format!("hot_event.keywords[{index}]");
        validate::text(&mut v, &field, keyword, MAX_KEYWORD, true);
        if !keyword.trim().is_empty() && govmedia_scanner::fold::fold_str(keyword).is_empty() {
            v.add(field, "has no letter or number to look for");
        }
    }
    let organization_owned = validate::resource_id(
        &mut v,
        "hot_event.organization",
        &source.organization,
        "organizations",
        true,
    );
    let period = validate::period(
        &mut v,
        "hot_event",
        ("start_time", source.start_time.as_ref()),
        ("end_time", source.end_time.as_ref()),
    );
    if let Some((start, end)) = period
        && end - start > chrono::Duration::days(MAX_DAYS)
    {
        v.add(
            "hot_event.end_time",
            format!("at most {MAX_DAYS} days after start_time"),
        );
    }
    v.finish()?;
    let (Some(id), Some(organization), Some((start, end))) =
        (id, organization_owned.as_deref(), period)
    else {
        return Err(unvalidated("hot_event"));
    };
    let region = api.scope(principal, Some(organization)).await?;
    let mut unit = api
        .writer
        .begin("CreateHotEvent", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let name = convert::hot_event_name(&id);
    if store::hot_events::get(unit.txn(), &id).await?.is_some() {
        return match unit.into_replay().await? {
            Some(first) => Ok(first),
            None => Err(InspectionError::AlreadyExists(name)),
        };
    }
    let event = HotEvent {
        id,
        title: source.title.trim().to_owned(),
        keywords: source
            .keywords
            .iter()
            .map(|k| k.trim().to_owned())
            .collect(),
        organization: region.id.clone(),
        path: region.path.clone(),
        start,
        end,
        created: stamp(&unit),
    };
    store::hot_events::insert(unit.txn(), &event).await?;
    unit.audit(
        &name,
        &convert::organization_name(&region.id),
        json!({ "title": event.title, "keywords": event.keywords }),
    );
    let response = convert::hot_event(&event);
    Ok(unit.commit(response).await?)
}

pub(super) async fn list(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::ListHotEventsRequest,
) -> Result<pb::ListHotEventsResponse, InspectionError> {
    let mut v = Violations::new();
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&["ListHotEvents"]),
    );
    v.finish()?;
    let root = api.scope(principal, None).await?;
    let mut rows = store::hot_events::list(
        api.conn(),
        &root.path,
        page.after_number()?,
        page.fetch_limit(),
    )
    .await?;
    let next = page.finish(&mut rows, |(_, seq)| seq.to_string());
    Ok(pb::ListHotEventsResponse {
        hot_events: rows
            .iter()
            .map(|(event, _)| convert::hot_event(event))
            .collect(),
        next_page_token: next,
    })
}
