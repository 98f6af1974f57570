//! The routing service's gRPC face: handlers orchestrate (validate at the edge, ask the registry
//! where the caller's jurisdiction lies, open a unit of work, ask the domain, store, publish,
//! audit, commit) and convert. Protobuf types stay in this module and in `events`.
//!
//! The registry is asked before the unit of work opens (a write transaction is never held
//! across a network call).

pub mod convert;
mod intake;
mod knowledge;
mod relays;
mod replies;
mod reviews;
mod rules;
mod statistics;
mod steps;
mod validation;

use std::{sync::Arc, time::Duration};

use govmedia_kit::{
    auth::{self, Principal},
    calendar::Calendar,
    identity::Identity,
    regional::Regional,
    unit::{Unit, Writer},
};
use govmedia_proto::routing::v1::{self as pb, routing_service_server::RoutingService};
use govmedia_registry_client::{OrgRef, RegistryClient};
use tokio::sync::Notify;
use tonic::{Request, Response, Status, Streaming};

use crate::{
    config::{MergeConfig, RoutingConfig},
    domain::{
        Case, Limits, Stamp, Step,
        escalation::{self, Ladder, Timer},
        within,
    },
    error::RoutingError,
    events,
    personal::Vault,
    store,
};

/// The background workers a handler wakes when it gives them work.
#[derive(Clone, Debug, Default)]
pub struct Wake {
    /// The publisher: a reply was approved.
    pub publisher: Arc<Notify>,
    /// The escalation scheduler: timers were added.
    pub escalator: Arc<Notify>,
}

/// The routing service implementation.
#[derive(Clone, Debug)]
pub struct RoutingApi {
    writer: Writer,
    registry: RegistryClient,
    vault: Vault,
    limits: Limits,
    ladder: Ladder,
    merge: MergeConfig,
    calendars: Arc<Regional<Calendar>>,
    wake: Wake,
    accounts: intake::Accounts,
    escalation_poll: chrono::Duration,
}

impl RoutingApi {
    /// A service writing through `writer`, asking `registry` where callers stand, sealing
    /// personal data with `vault`, counting deadlines on `calendars`, waking the workers of
    /// `wake` when it gives them work.
    pub fn new(
        writer: Writer,
        registry: RegistryClient,
        vault: Vault,
        config: &RoutingConfig,
        calendars: Arc<Regional<Calendar>>,
        wake: Wake,
    ) -> Self {
        Self {
            writer,
            registry,
            vault,
            limits: config.limits(),
            ladder: config.ladder(),
            merge: config.merge.clone(),
            calendars,
            wake,
            accounts: intake::accounts(),
            escalation_poll: chrono::Duration::milliseconds(
                i64::try_from(config.escalation.poll_ms).unwrap_or(i64::MAX),
            ),
        }
    }

    /// Wakes the escalation scheduler when one of `timers` fires before it would look again of
    /// itself (it sleeps at most `escalation.poll_ms`); a timer further ahead needs no wake.
    fn wake_escalator(&self, timers: &[Timer]) {
        let soon = self.writer.clock().now() + self.escalation_poll;
        if timers.iter().any(|timer| timer.fire_at <= soon) {
            self.wake.escalator.notify_one();
        }
    }

    fn conn(&self) -> &sea_orm::DatabaseConnection {
        self.writer.db().conn()
    }

    /// The calendar deadlines of accounts at `path` count in.
    fn calendar(&self, path: &str) -> &Calendar {
        self.calendars.for_path(path)
    }

    /// The root of the caller's jurisdiction, as the registry judges it.
    async fn jurisdiction(&self, principal: &Principal) -> Result<OrgRef, RoutingError> {
        Ok(self.registry.as_caller(principal).jurisdiction().await?)
    }
}

/// A client of the registry for the service of `identity`, configured by `config`.
pub fn registry(
    config: &RoutingConfig,
    identity: Arc<Identity>,
) -> Result<RegistryClient, govmedia_kit::endpoints::BadTarget> {
    RegistryClient::new(
        &config.registry_endpoint,
        Duration::from_millis(config.registry_timeout_ms),
        identity,
        &config.system_organization,
    )
}

/// Who changes something in `unit`, and when.
pub(crate) fn stamp(unit: &Unit) -> Stamp {
    Stamp {
        time: unit.now(),
        actor: unit.principal().subject.clone(),
        actor_organization: unit.principal().organization.clone(),
    }
}

/// Stores `case`, changed by `steps`, over the version it was read at (ABORTED when it changed
/// meanwhile), with its history, its escalation timers when `timers` says what they are now (a
/// step may have moved its deadlines), and one `CaseChanged` per step.
pub(crate) async fn record(
    unit: &mut Unit,
    case: &mut Case,
    steps: &[Step],
    timers: Option<&[Timer]>,
) -> Result<(), RoutingError> {
    let expected = case.version;
    case.version += 1;
    escalation::settle(case);
    if !store::cases::update(unit.txn(), case, expected).await? {
        return Err(RoutingError::EtagMismatch {
            resource: convert::case_name(&case.id),
            current: convert::etag(expected + 1),
        });
    }
    store::cases::add_steps(unit.txn(), &case.id, case.version, steps).await?;
    if let Some(timers) = timers {
        store::timers::reschedule(unit.txn(), &case.id, timers).await?;
    }
    events::case_changed(unit, case, steps).await?;
    Ok(())
}

/// True when the caller whose jurisdiction is rooted at `root` sees `case`: its account's
/// organization or its department lies in the jurisdiction.
fn sees(root: &OrgRef, case: &Case) -> bool {
    within(&root.path, &case.account_path)
        || case
            .department_path
            .as_deref()
            .is_some_and(|path| within(&root.path, path))
}

/// True when the caller whose jurisdiction is rooted at `root` dispatches `case`.
fn dispatches(root: &OrgRef, case: &Case) -> bool {
    within(&root.path, &case.account_path)
}

/// The organization `id` as the caller rooted at `root` may name it (a department to dispatch
/// to, a unit to route for): it exists, the caller may see it, and it lies in the caller's
/// jurisdiction. Returns (id, path).
async fn organization_in(
    api: &RoutingApi,
    principal: &Principal,
    root: &OrgRef,
    id: &str,
) -> Result<(String, String), RoutingError> {
    let unit = api.registry.as_caller(principal).unit(id).await?;
    if !within(&root.path, &unit.path) {
        return Err(RoutingError::OutsideJurisdiction(
            convert::organization_name(id),
        ));
    }
    Ok((unit.id, unit.path))
}

/// ABORTED when a sent etag is not the one of `version` of `resource`.
fn check_etag(sent: &str, version: i64, resource: &str) -> Result<(), RoutingError> {
    if sent.is_empty() || sent == convert::etag(version) {
        Ok(())
    } else {
        Err(RoutingError::EtagMismatch {
            resource: resource.to_owned(),
            current: convert::etag(version),
        })
    }
}

/// The error for a value that validation let through although it should not have: a bug, not
/// bad input.
fn unvalidated(what: &str) -> RoutingError {
    RoutingError::Api(govmedia_kit::error::ApiError::internal(
        "handling a request",
        &format!("validation let an empty {what} through"),
    ))
}

/// Turns a handler result into what tonic wants.
fn respond<T>(result: Result<T, RoutingError>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

/// Runs a handler with the authenticated caller and the request body.
macro_rules! handle {
    ($self:ident, $request:ident, $handler:path) => {{
        let principal = auth::principal(&$request).map_err(Status::from)?;
        respond($handler($self, &principal, $request.into_inner()).await)
    }};
}

#[tonic::async_trait]
impl RoutingService for RoutingApi {
    async fn submit_message(
        &self,
        request: Request<pb::SubmitMessageRequest>,
    ) -> Result<Response<pb::SubmitMessageResponse>, Status> {
        handle!(self, request, intake::submit)
    }

    async fn submit_messages(
        &self,
        request: Request<Streaming<pb::SubmitMessagesRequest>>,
    ) -> Result<Response<pb::SubmitMessagesResponse>, Status> {
        handle!(self, request, intake::submit_batch)
    }

    async fn get_case(
        &self,
        request: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        handle!(self, request, steps::get)
    }

    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        handle!(self, request, steps::list)
    }

    async fn reveal_contact(
        &self,
        request: Request<pb::RevealContactRequest>,
    ) -> Result<Response<pb::RevealContactResponse>, Status> {
        handle!(self, request, steps::reveal)
    }

    async fn create_routing_rule(
        &self,
        request: Request<pb::CreateRoutingRuleRequest>,
    ) -> Result<Response<pb::RoutingRule>, Status> {
        handle!(self, request, rules::create)
    }

    async fn list_routing_rules(
        &self,
        request: Request<pb::ListRoutingRulesRequest>,
    ) -> Result<Response<pb::ListRoutingRulesResponse>, Status> {
        handle!(self, request, rules::list)
    }

    async fn delete_routing_rule(
        &self,
        request: Request<pb::DeleteRoutingRuleRequest>,
    ) -> Result<Response<pb::RoutingRule>, Status> {
        handle!(self, request, rules::delete)
    }

    async fn dispatch_case(
        &self,
        request: Request<pb::DispatchCaseRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        handle!(self, request, steps::dispatch)
    }

    async fn sign_for_case(
        &self,
        request: Request<pb::SignForCaseRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        handle!(self, request, steps::sign_for)
    }

    async fn return_case(
        &self,
        request: Request<pb::ReturnCaseRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        handle!(self, request, steps::request_return)
    }

    async fn decide_return(
        &self,
        request: Request<pb::DecideReturnRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        handle!(self, request, steps::decide_return)
    }

    async fn request_extension(
        &self,
        request: Request<pb::RequestExtensionRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        handle!(self, request, steps::request_extension)
    }

    async fn decide_extension(
        &self,
        request: Request<pb::DecideExtensionRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        handle!(self, request, steps::decide_extension)
    }

    async fn draft_reply(
        &self,
        request: Request<pb::DraftReplyRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        handle!(self, request, steps::draft_reply)
    }

    async fn review_reply(
        &self,
        request: Request<pb::ReviewReplyRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        handle!(self, request, steps::review_reply)
    }

    async fn record_satisfaction(
        &self,
        request: Request<pb::RecordSatisfactionRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        handle!(self, request, steps::record_satisfaction)
    }

    async fn reopen_case(
        &self,
        request: Request<pb::ReopenCaseRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        handle!(self, request, steps::reopen)
    }

    async fn close_case(
        &self,
        request: Request<pb::CloseCaseRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        handle!(self, request, steps::close)
    }

    async fn create_knowledge_entry(
        &self,
        request: Request<pb::CreateKnowledgeEntryRequest>,
    ) -> Result<Response<pb::KnowledgeEntry>, Status> {
        handle!(self, request, knowledge::create)
    }

    async fn get_knowledge_entry(
        &self,
        request: Request<pb::GetKnowledgeEntryRequest>,
    ) -> Result<Response<pb::KnowledgeEntry>, Status> {
        handle!(self, request, knowledge::get)
    }

    async fn suggest_answers(
        &self,
        request: Request<pb::SuggestAnswersRequest>,
    ) -> Result<Response<pb::SuggestAnswersResponse>, Status> {
        handle!(self, request, knowledge::suggest)
    }

    async fn create_review_chain(
        &self,
        request: Request<pb::CreateReviewChainRequest>,
    ) -> Result<Response<pb::ReviewChain>, Status> {
        handle!(self, request, reviews::create_chain)
    }

    async fn submit_draft(
        &self,
        request: Request<pb::SubmitDraftRequest>,
    ) -> Result<Response<pb::Draft>, Status> {
        handle!(self, request, reviews::submit)
    }

    async fn review_draft(
        &self,
        request: Request<pb::ReviewDraftRequest>,
    ) -> Result<Response<pb::Draft>, Status> {
        handle!(self, request, reviews::review)
    }

    async fn get_draft(
        &self,
        request: Request<pb::GetDraftRequest>,
    ) -> Result<Response<pb::Draft>, Status> {
        handle!(self, request, reviews::get)
    }

    async fn lookup_approved_content(
        &self,
        request: Request<pb::LookupApprovedContentRequest>,
    ) -> Result<Response<pb::LookupApprovedContentResponse>, Status> {
        handle!(self, request, reviews::lookup)
    }

    async fn create_relay_task(
        &self,
        request: Request<pb::CreateRelayTaskRequest>,
    ) -> Result<Response<pb::RelayTask>, Status> {
        handle!(self, request, relays::create)
    }

    async fn confirm_relay(
        &self,
        request: Request<pb::ConfirmRelayRequest>,
    ) -> Result<Response<pb::RelayTask>, Status> {
        handle!(self, request, relays::confirm)
    }

    async fn get_relay_task(
        &self,
        request: Request<pb::GetRelayTaskRequest>,
    ) -> Result<Response<pb::RelayTask>, Status> {
        handle!(self, request, relays::get)
    }

    async fn get_case_statistics(
        &self,
        request: Request<pb::GetCaseStatisticsRequest>,
    ) -> Result<Response<pb::CaseStatistics>, Status> {
        handle!(self, request, statistics::get)
    }

    async fn list_published_replies(
        &self,
        request: Request<pb::ListPublishedRepliesRequest>,
    ) -> Result<Response<pb::ListPublishedRepliesResponse>, Status> {
        handle!(self, request, replies::list)
    }
}
