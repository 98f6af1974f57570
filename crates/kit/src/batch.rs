//! Client streams of items (posts, messages) that collectors send in batches: read in chunks,
//! each chunk taken by the service, one result per item in stream order, and a limit per stream.
//! The one way every service reads such a stream.

use std::future::Future;

use govmedia_proto::common::v1::ErrorReason;
use tonic::Streaming;

use crate::error::{ApiError, ErrorCode, reason_name};

/// Reads `stream` in chunks of `chunk` items and hands each to `take`, which answers one result
/// per item in order. Past `max` items the call ends with RESOURCE_EXHAUSTED
/// (MESSAGE_TOO_LARGE) naming `what` (e.g. `posts`): the items before, those still waiting in
/// the last chunk included, are taken first, so sending them all again (idempotent) and the
/// rest as another stream loses nothing.
pub async fn in_chunks<Item, Out, F, Fut>(
    mut stream: Streaming<Item>,
    what: &str,
    (chunk, max): (usize, usize),
    mut take: F,
) -> Result<Vec<Result<Out, ApiError>>, ApiError>
where
    F: FnMut(Vec<Item>) -> Fut,
    Fut: Future<Output = Vec<Result<Out, ApiError>>>,
{
    let chunk = chunk.max(1);
    let mut results = Vec::new();
    let mut waiting = Vec::with_capacity(chunk);
    loop {
        let next = stream
            .message()
            .await
            .map_err(|status| ApiError::relay(&format!("the stream of {what}"), &status))?;
        let ended = next.is_none();
        if let Some(item) = next {
            if results.len() + waiting.len() >= max {
                take(std::mem::take(&mut waiting)).await;
                return Err(ApiError::new(
                    ErrorCode::ResourceExhausted,
                    ErrorReason::MessageTooLarge,
                    format!(
                        "a stream carries at most {max} {what}; send the rest as another stream"
                    ),
                )
                .with_metadata(&format!("limit_{what}"), max.to_string()));
            }
            waiting.push(item);
        }
        if waiting.len() == chunk || (ended && !waiting.is_empty()) {
            results.extend(take(std::mem::replace(&mut waiting, Vec::with_capacity(chunk))).await);
        }
        if ended {
            return Ok(results);
        }
    }
}

/// How a refused item of a batch is reported: the gRPC code as a number, the reason's name and
/// the message.
pub fn refusal(error: &ApiError) -> (i32, String, String) {
    (
        error.code().grpc() as i32,
        reason_name(error.reason()).to_owned(),
        error.message().to_owned(),
    )
}
