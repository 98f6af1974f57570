//! Post intake, one at a time or as a stream, and the listing of an account's posts.
//!
//! Each post is checked, its account asked of the registry as the caller (so a collector
//! delivers only to accounts of its jurisdiction the ledger holds), then taken idempotently on
//! (account, platform post id): the same post sent again answers with the stored one and changes
//! nothing. Posts of accounts in any ledger status are taken: a cancelled account that still
//! publishes is itself a finding (僵尸号).

use futures::StreamExt as _;
use govmedia_kit::{
    auth::Principal,
    batch,
    db::is_unique_violation,
    error::{ApiError, ErrorCode, Violations},
    paging::{Page, fingerprint},
    validate,
};
use govmedia_proto::{common::v1::ErrorReason, inspection::v1 as pb};
use tonic::Streaming;

use super::{InspectionApi, convert, stamp, unvalidated, validation};
use crate::{
    domain::{Post, post::content_hash},
    error::InspectionError,
    store,
};

/// Most posts of one stream: a collector sends more as further streams.
pub const MAX_BATCH: usize = 1000;

/// Posts of one stream taken at the same time.
const STREAM_CONCURRENCY: usize = 8;

pub(super) async fn submit(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::SubmitPostRequest,
) -> Result<pb::SubmitPostResponse, InspectionError> {
    take(api, principal, req.post.as_ref()).await
}

pub(super) async fn submit_batch(
    api: &InspectionApi,
    principal: &Principal,
    stream: Streaming<pb::SubmitPostsRequest>,
) -> Result<pb::SubmitPostsResponse, InspectionError> {
    let results = batch::in_chunks(
        stream,
        "posts",
        (STREAM_CONCURRENCY * 4, MAX_BATCH),
        |chunk| async move {
            take_chunk(api, principal, chunk)
                .await
                .into_iter()
                .map(|result| result.map_err(ApiError::from))
                .collect()
        },
    )
    .await?;
    let mut response = pb::SubmitPostsResponse::default();
    for (index, result) in results.into_iter().enumerate() {
        let index = i32::try_from(index).unwrap_or(i32::MAX);
        response.results.push(match result {
            Ok(taken) => {
                response.accepted += 1;
                pb::SubmitPostsResult {
                    index,
                    response: Some(taken),
                    ..Default::default()
                }
            }
            Err(error) => {
                response.refused += 1;
                let (error_code, error_reason, error_message) = batch::refusal(&error);
                pb::SubmitPostsResult {
                    index,
                    response: None,
                    error_code,
                    error_reason,
                    error_message,
                }
            }
        });
    }
    Ok(response)
}

/// Takes the posts of `chunk` several at a time, each in its own transaction, returning their
/// results in order. Repeats of one post in a chunk are answered as repeats: the second finds
/// the first stored, or loses the race on the unique index and reads it.
async fn take_chunk(
    api: &InspectionApi,
    principal: &Principal,
    chunk: Vec<pb::SubmitPostsRequest>,
) -> Vec<Result<pb::SubmitPostResponse, InspectionError>> {
    futures::stream::iter(chunk)
        .map(|item| async move { take(api, principal, item.post.as_ref()).await })
        .buffered(STREAM_CONCURRENCY)
        .collect()
        .await
}

/// The response for a post already taken; a different post under the same platform id is
/// refused.
fn replayed(
    stored: &Post,
    new: &validation::NewPost,
) -> Result<pb::SubmitPostResponse, InspectionError> {
    let same = stored.published == new.published
        && stored.title == new.title
        && stored.text == new.text
        && stored.links == new.links;
    if !same {
        return Err(InspectionError::Api(
            ApiError::new(
                ErrorCode::InvalidArgument,
                ErrorReason::RequestIdReused,
                "post.platform_post_id was taken before for another post of this account",
            )
            .with_field_violation(
                "post.platform_post_id",
                "was taken before for another post of this account",
            ),
        ));
    }
    Ok(pb::SubmitPostResponse {
        post: Some(convert::post(stored)),
        replayed: true,
    })
}

pub(super) async fn take(
    api: &InspectionApi,
    principal: &Principal,
    source: Option<&pb::IncomingPost>,
) -> Result<pb::SubmitPostResponse, InspectionError> {
    let mut v = Violations::new();
    let new = validation::post(&mut v, source, api.writer.clock().now());
    v.finish()?;
    let (Some(new), Some(source)) = (new, source) else {
        return Err(unvalidated("post"));
    };
    // Who may deliver comes before whether it was delivered: a replay never shows a post to a
    // caller who could not have submitted it.
    api.management_only(principal, "delivering posts").await?;
    let account = api.account(principal, &new.account).await?;
    if let Some(stored) =
        store::posts::by_platform_id(api.conn(), &account.id, &new.platform_post_id).await?
    {
        return replayed(&stored, &new);
    }
    let unit = api
        .writer
        .begin("SubmitPost", principal, "", source)
        .await?;
    let [reads, likes, comments, shares] = new.counts;
    let post = Post {
        id: format!("p{}", uuid::Uuid::now_v7().simple()),
        account: account.id.clone(),
        organization: account.organization.clone(),
        path: account.path.clone(),
        platform_post_id: new.platform_post_id.clone(),
        published: new.published,
        content_hash: content_hash(&new.title, &new.text),
        title: new.title.clone(),
        text: new.text.clone(),
        links: new.links.clone(),
        media: new.media,
        reads,
        likes,
        comments,
        shares,
        original: new.original,
        relayed_from: new.relayed_from.clone(),
        received: stamp(&unit),
    };
    match store::posts::insert(unit.txn(), &post).await {
        Ok(()) => {}
        Err(error) if is_unique_violation(&error) => {
            // A twin of this post committed first: answer as for a repeat.
            drop(unit);
            let stored =
                store::posts::by_platform_id(api.conn(), &account.id, &new.platform_post_id)
                    .await?
                    .ok_or_else(|| InspectionError::NotFound(convert::post_name(&post.id)))?;
            return replayed(&stored, &new);
        }
        Err(error) => return Err(error.into()),
    }
    let response = pb::SubmitPostResponse {
        post: Some(convert::post(&post)),
        replayed: false,
    };
    Ok(unit.commit(response).await?)
}

pub(super) async fn list(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::ListPostsRequest,
) -> Result<pb::ListPostsResponse, InspectionError> {
    let mut v = Violations::new();
    let account_owned = validate::resource_id(&mut v, "account", &req.account, "accounts", true);
    let account = account_owned.as_deref();
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&["ListPosts", &req.account]),
    );
    v.finish()?;
    let Some(account) = account else {
        return Err(unvalidated("account"));
    };
    // The registry refuses an account outside the caller's jurisdiction.
    let account = api.account(principal, account).await?;
    let after = page.after_json::<store::posts::Key>()?;
    let mut rows = store::posts::list(api.conn(), &account.id, after, page.fetch_limit()).await?;
    let next = page.finish(&mut rows, |(_, key)| {
        serde_json::to_string(key).unwrap_or_default()
    });
    Ok(pb::ListPostsResponse {
        posts: rows.iter().map(|(post, _)| convert::post(post)).collect(),
        next_page_token: next,
    })
}
