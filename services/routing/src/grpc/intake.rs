//! Intake: messages from collectors and hotline systems, one at a time or as a stream.
//!
//! Each message is checked, its account asked of the registry as the caller (so a collector
//! delivers only to accounts in its jurisdiction, and only ACTIVE ones take messages), then taken
//! idempotently on (account, platform message id): the same message sent again answers with the
//! case it went to and changes nothing. The citizen's handle, contact and any mobile numbers in
//! the text are sealed before anything is stored; the case keeps masked forms only. A message of
//! the same citizen on the same account, similar to an open case's within the merge window,
//! joins that case; otherwise it opens one, routed at once when a rule matches.

use futures::StreamExt as _;

use govmedia_kit::{
    auth::Principal,
    batch,
    db::is_unique_violation,
    error::{ApiError, ErrorCode, Violations},
};
use govmedia_proto::{common::v1::ErrorReason, registry::v1 as rpb, routing::v1 as pb};
use govmedia_registry_client::{PerCaller, strip};
use tonic::Streaming;

use super::{RoutingApi, convert, stamp, validation};
use crate::{
    domain::{Case, Stamp, escalation, rules, text},
    error::RoutingError,
    events,
    personal::Personal,
    store::{self, messages::StoredMessage},
};

/// Most messages of one stream: a collector sends more as further streams.
pub const MAX_BATCH: usize = 1000;

/// An account as intake needs it: id, organization id and its path.
#[derive(Clone, Debug)]
pub struct Account {
    id: String,
    organization: String,
    path: String,
}

/// Deliverable accounts, per caller (in the caller's jurisdiction, ACTIVE), remembered for
/// [`ACCOUNT_TTL`]; see [`PerCaller`].
pub type Accounts = PerCaller<Account>;

/// How long a deliverable account is remembered.
pub const ACCOUNT_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// The cache of deliverable accounts of a new service.
pub fn accounts() -> Accounts {
    PerCaller::new(ACCOUNT_TTL, 100_000)
}

/// Messages of one stream taken at the same time.
const STREAM_CONCURRENCY: usize = 8;

pub(super) async fn submit(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::SubmitMessageRequest,
) -> Result<pb::SubmitMessageResponse, RoutingError> {
    take(api, principal, req.message.as_ref()).await
}

pub(super) async fn submit_batch(
    api: &RoutingApi,
    principal: &Principal,
    stream: Streaming<pb::SubmitMessagesRequest>,
) -> Result<pb::SubmitMessagesResponse, RoutingError> {
    let results = batch::in_chunks(
        stream,
        "messages",
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
    let mut response = pb::SubmitMessagesResponse::default();
    for (index, result) in results.into_iter().enumerate() {
        let index = i32::try_from(index).unwrap_or(i32::MAX);
        response.results.push(match result {
            Ok(taken) => {
                response.accepted += 1;
                pb::SubmitMessagesResult {
                    index,
                    response: Some(taken),
                    ..Default::default()
                }
            }
            Err(error) => {
                response.refused += 1;
                let (error_code, error_reason, error_message) = batch::refusal(&error);
                pb::SubmitMessagesResult {
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

/// Takes the messages of `chunk`, returning their results in order. Messages of one citizen on
/// one account (and repeats of one message) are taken one after the other, in stream order, so a
/// repeat is answered as one and a near-duplicate joins the case its predecessor opened; the
/// others are taken several at a time, each in its own transaction.
async fn take_chunk(
    api: &RoutingApi,
    principal: &Principal,
    chunk: Vec<pb::SubmitMessagesRequest>,
) -> Vec<Result<pb::SubmitMessageResponse, RoutingError>> {
    let count = chunk.len();
    let mut groups: std::collections::BTreeMap<String, Vec<(usize, pb::SubmitMessagesRequest)>> =
        std::collections::BTreeMap::new();
    for (index, item) in chunk.into_iter().enumerate() {
        let key = item
            .message
            .as_ref()
            .map(|m| {
                let who = if m.citizen_handle.trim().is_empty() {
                    m.citizen_contact.trim()
                } else {
                    m.citizen_handle.trim()
                };
                format!("{}\0{who}", m.account)
            })
            .unwrap_or_default();
        groups.entry(key).or_default().push((index, item));
    }
    let done: Vec<Vec<(usize, Result<pb::SubmitMessageResponse, RoutingError>)>> =
        futures::stream::iter(groups.into_values())
            .map(|items| async move {
                let mut out = Vec::with_capacity(items.len());
                for (index, item) in items {
                    out.push((index, take(api, principal, item.message.as_ref()).await));
                }
                out
            })
            .buffer_unordered(STREAM_CONCURRENCY)
            .collect()
            .await;
    let mut results: Vec<Option<Result<pb::SubmitMessageResponse, RoutingError>>> =
        (0..count).map(|_| None).collect();
    for (index, result) in done.into_iter().flatten() {
        results[index] = Some(result);
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(super::unvalidated("message"))))
        .collect()
}

/// The account `id` as `principal` may deliver to it: in its jurisdiction and ACTIVE.
async fn account(
    api: &RoutingApi,
    principal: &Principal,
    id: &str,
) -> Result<Account, RoutingError> {
    if let Some(known) = api.accounts.get(principal, id).await {
        return Ok(known);
    }
    let ledger = api.registry.as_caller(principal).account(id).await?;
    if ledger.status != rpb::AccountStatus::Active as i32 {
        let status = rpb::AccountStatus::try_from(ledger.status)
            .map(|s| {
                s.as_str_name()
                    .trim_start_matches("ACCOUNT_STATUS_")
                    .to_owned()
            })
            .unwrap_or_else(|_| ledger.status.to_string());
        return Err(RoutingError::AccountNotActive {
            account: convert::account_name(id),
            status,
        });
    }
    let organization = strip(&ledger.organization, "organizations/")?.to_owned();
    let unit = api.registry.as_service().unit(&organization).await?;
    let found = Account {
        id: id.to_owned(),
        organization,
        path: unit.path,
    };
    api.accounts.insert(principal, id, found.clone()).await;
    Ok(found)
}

/// The response for a message already taken: the case it went to.
async fn replayed(
    api: &RoutingApi,
    stored: &StoredMessage,
    redacted: &str,
) -> Result<pb::SubmitMessageResponse, RoutingError> {
    if stored.text != redacted {
        return Err(RoutingError::Api(
            ApiError::new(
                ErrorCode::InvalidArgument,
                ErrorReason::RequestIdReused,
                "message.platform_message_id was taken before for another message on this account",
            )
            .with_field_violation(
                "message.platform_message_id",
                "was taken before for another message on this account",
            ),
        ));
    }
    let conn = api.conn();
    let case = store::cases::get(conn, &stored.case_id)
        .await?
        .ok_or_else(|| RoutingError::NotFound(convert::case_name(&stored.case_id)))?;
    let steps = store::cases::steps(conn, &case.id, case.version).await?;
    Ok(pb::SubmitMessageResponse {
        message: convert::message_name(&stored.id),
        case: Some(convert::case(&case, &steps)),
        merged: stored.merged,
        replayed: true,
    })
}

async fn take(
    api: &RoutingApi,
    principal: &Principal,
    source: Option<&pb::IncomingMessage>,
) -> Result<pb::SubmitMessageResponse, RoutingError> {
    let mut v = Violations::new();
    let new = validation::message(&mut v, source, api.writer.clock().now());
    v.finish()?;
    let (Some(new), Some(source)) = (new, source) else {
        return Err(super::unvalidated("message"));
    };
    // Who may deliver comes before whether it was delivered: a replay never shows a case to a
    // caller who could not have submitted the message.
    let account = account(api, principal, &new.account).await?;
    let (redacted, phones_in_text) = text::redact_phones(&new.text);
    if let Some(stored) =
        store::messages::by_platform_id(api.conn(), &account.id, &new.platform_message_id).await?
    {
        return replayed(api, &stored, &redacted).await;
    }
    let calendar = api.calendar(&account.path);
    let rules = store::rules::applying_to(api.conn(), &account.path).await?;
    let rule = rules::route(&rules, new.category, &redacted, &new.region_code).cloned();

    let mut unit = api
        .writer
        .begin("SubmitMessage", principal, "", source)
        .await?;
    let now = stamp(&unit);
    let message_id = format!("m{}", uuid::Uuid::now_v7().simple());
    let citizen_key = api
        .vault
        .citizen_key(&account.id, &new.handle, &new.contact);
    let personal = api.vault.seal(
        &message_id,
        &Personal {
            handle: new.handle.clone(),
            contact: new.contact.clone(),
            phones_in_text: phones_in_text.clone(),
        },
    )?;

    let mut merged_into = None;
    if api.merge.window_hours > 0 {
        let since = now.time - chrono::Duration::hours(i64::from(api.merge.window_hours));
        let threshold = f64::from(api.merge.min_similarity_percent) / 100.0;
        merged_into = store::cases::open_of_citizen(unit.txn(), &account.id, &citizen_key, since)
            .await?
            .into_iter()
            .find(|case| text::similarity(&case.text, &redacted) >= threshold);
    }
    let merged = merged_into.is_some();
    let (mut case, steps, opened) = match merged_into {
        Some(mut case) => {
            let step = case.merge(&now, &convert::message_name(&message_id));
            case.updated = now.clone();
            (case, vec![step], false)
        }
        None => {
            let contact_shown = if new.contact.is_empty() {
                phones_in_text
                    .first()
                    .map(|p| text::mask_contact(p))
                    .unwrap_or_default()
            } else {
                text::mask_contact(&new.contact)
            };
            let (mut case, opened) = Case::open(
                format!("c{}", uuid::Uuid::now_v7().simple()),
                (
                    account.id.clone(),
                    account.organization.clone(),
                    account.path.clone(),
                ),
                new.category,
                redacted.clone(),
                (citizen_key, text::mask_handle(&new.handle), contact_shown),
                new.region_code.clone(),
                new.received_time,
                &now,
                &api.limits,
                calendar,
            );
            let mut steps = vec![opened];
            if let Some(rule) = &rule {
                // The rule dispatches, on the service's own account.
                let system = api.registry.own_principal();
                let by_rule = Stamp {
                    time: now.time,
                    actor: system.subject,
                    actor_organization: system.organization,
                };
                let step = case
                    .dispatch(
                        (&rule.department, &rule.department_path),
                        Some(&rule.id),
                        &by_rule,
                        &format!("routing rule {}", rule.name()),
                        &api.limits,
                        calendar,
                    )
                    .map_err(|error| RoutingError::case(&convert::case_name(&case.id), error))?;
                steps.push(step);
            }
            store::cases::insert(unit.txn(), &case).await?;
            (case, steps, true)
        }
    };
    let stored = StoredMessage {
        id: message_id.clone(),
        account: account.id.clone(),
        platform_message_id: new.platform_message_id.clone(),
        case_id: case.id.clone(),
        category: new.category as i32,
        text: redacted.clone(),
        region_code: new.region_code.clone(),
        received_time: new.received_time,
        personal,
        merged,
        created_at: now.time,
    };
    match store::messages::insert(unit.txn(), &stored).await {
        Ok(()) => {}
        Err(error) if is_unique_violation(&error) => {
            // A twin of this message committed first: answer as for a repeat.
            drop(unit);
            let stored =
                store::messages::by_platform_id(api.conn(), &account.id, &new.platform_message_id)
                    .await?
                    .ok_or_else(|| concurrent(&case.id))?;
            return replayed(api, &stored, &redacted).await;
        }
        Err(error) => return Err(error.into()),
    }
    let timers = if opened {
        // A new case: stored as opened, then its steps and first timers.
        let timers = escalation::timers(&case, &api.ladder, calendar);
        store::cases::add_steps(unit.txn(), &case.id, case.version, &steps).await?;
        store::timers::reschedule(unit.txn(), &case.id, &timers).await?;
        events::case_changed(&mut unit, &case, &steps).await?;
        timers
    } else {
        super::record(&mut unit, &mut case, &steps, None).await?;
        Vec::new()
    };
    // A new case's history is what was just written; a merged one's is read.
    let history = if opened {
        steps.clone()
    } else {
        store::cases::steps(unit.txn(), &case.id, case.version).await?
    };
    let response = pb::SubmitMessageResponse {
        message: convert::message_name(&message_id),
        case: Some(convert::case(&case, &history)),
        merged,
        replayed: false,
    };
    let response = unit.commit(response).await?;
    api.wake_escalator(&timers);
    Ok(response)
}

/// ABORTED: another request changed the case at the same moment.
fn concurrent(case: &str) -> RoutingError {
    RoutingError::Api(ApiError::new(
        ErrorCode::Aborted,
        ErrorReason::ConcurrentChange,
        format!(
            "{} changed at the same moment; send the message again",
            convert::case_name(case)
        ),
    ))
}
