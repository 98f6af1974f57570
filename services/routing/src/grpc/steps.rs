//! Reading cases and moving them: dispatch, sign-for, return, extension, reply, review,
//! satisfaction, reopening and closing. Every step runs through [`change`]: one unit of work
//! that checks who may take it, asks the domain, stores the case and its history, publishes
//! `CaseChanged`, audits and commits.

use govmedia_kit::{
    auth::Principal,
    calendar::Calendar,
    error::Violations,
    paging::{Page, fingerprint},
    validate,
};
use govmedia_proto::routing::v1 as pb;
use govmedia_registry_client::OrgRef;
use serde_json::json;

use super::{
    RoutingApi, check_etag, convert, dispatches, organization_in, sees, stamp, unvalidated,
    validation::{self, MAX_REPLY},
};
use crate::{
    domain::text::mask_phones,
    domain::{
        Case, CaseAction, CaseError, CaseState, Limits, Satisfaction, Stamp, Step, escalation,
    },
    error::RoutingError,
    publish, store,
};

/// Who must be taking a step.
enum Actor {
    /// The case's dispatcher: its jurisdiction (rooted here) holds the account's organization.
    Dispatcher(OrgRef),
    /// The case's department; the domain checks the caller's organization against it.
    Department,
}

/// A step's request, its case named and checked.
struct Target<'a> {
    method: &'static str,
    id: String,
    etag: &'a str,
    request_id: &'a str,
}

/// Validates the common fields of a step and returns its target.
fn target<'a>(
    v: &mut Violations,
    method: &'static str,
    name: &str,
    etag: &'a str,
    request_id: &'a str,
) -> Option<Target<'a>> {
    let id = validate::resource_id(v, "name", name, "cases", true);
    validate::request_id(v, "request_id", request_id);
    Some(Target {
        method,
        id: id?,
        etag,
        request_id,
    })
}

/// Attempts of a step whose case the service itself changed meanwhile (an escalation fired, a
/// reply was published) before it gives up with ABORTED.
const ATTEMPTS: usize = 3;

/// Takes one step on a case, see the module docs. A caller who sent no etag asked for the step
/// on the case as it is: when the service's own bookkeeping changed the case between the read
/// and the write, the step is taken again on the new version instead of failing.
async fn change<R, F>(
    api: &RoutingApi,
    principal: &Principal,
    target: Target<'_>,
    req: &R,
    actor: Actor,
    apply: F,
) -> Result<pb::Case, RoutingError>
where
    R: prost::Message,
    F: Fn(&mut Case, &Stamp, &Limits, &Calendar) -> Result<Vec<Step>, CaseError>,
{
    let mut attempt = 1;
    loop {
        match change_once(api, principal, &target, req, &actor, &apply).await {
            Err(RoutingError::EtagMismatch { .. })
                if target.etag.is_empty() && attempt < ATTEMPTS =>
            {
                attempt += 1;
            }
            result => return result,
        }
    }
}

async fn change_once<R, F>(
    api: &RoutingApi,
    principal: &Principal,
    target: &Target<'_>,
    req: &R,
    actor: &Actor,
    apply: &F,
) -> Result<pb::Case, RoutingError>
where
    R: prost::Message,
    F: Fn(&mut Case, &Stamp, &Limits, &Calendar) -> Result<Vec<Step>, CaseError>,
{
    let mut unit = api
        .writer
        .begin(target.method, principal, target.request_id, req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let name = convert::case_name(&target.id);
    let mut case = store::cases::get(unit.txn(), &target.id)
        .await?
        .ok_or_else(|| RoutingError::NotFound(name.clone()))?;
    if let Actor::Dispatcher(root) = actor
        && !dispatches(root, &case)
    {
        // Who cannot see the case hears what GetCase says; who sees it from its department's
        // line hears that the step is the dispatcher's.
        if !sees(root, &case) {
            return Err(RoutingError::OutsideJurisdiction(name));
        }
        return Err(RoutingError::case(&name, CaseError::NotTheDispatcher));
    }
    check_etag(target.etag, case.version, &name)?;
    let now = stamp(&unit);
    let calendar = api.calendar(&case.account_path);
    let steps = match apply(&mut case, &now, &api.limits, calendar) {
        Ok(steps) => steps,
        // Not the case's department: one that cannot see the case at all hears what GetCase
        // would say (asked only now: the jurisdiction costs a call to the registry).
        Err(CaseError::WrongDepartment) if !sees(&api.jurisdiction(principal).await?, &case) => {
            return Err(RoutingError::OutsideJurisdiction(name));
        }
        Err(error) => return Err(RoutingError::case(&name, error)),
    };
    case.updated = now;
    let timers = escalation::timers(&case, &api.ladder, calendar);
    super::record(&mut unit, &mut case, &steps, Some(&timers)).await?;
    let approved = steps.iter().any(|s| s.action == CaseAction::ReplyApproved);
    if approved && let Some(reply) = case.latest_reply() {
        publish::enqueue(&unit, &case.id, reply.round).await?;
    }
    unit.audit(
        &name,
        &case.account_path,
        json!({
            "steps": steps.iter().map(|s| s.action.as_str()).collect::<Vec<_>>(),
            "state": case.state.as_str(),
            "department": case.department_name(),
        }),
    );
    let history = store::cases::steps(unit.txn(), &case.id, case.version).await?;
    let response = unit.commit(convert::case(&case, &history)).await?;
    if approved {
        api.wake.publisher.notify_one();
    }
    api.wake_escalator(&timers);
    Ok(response)
}

pub(super) async fn get(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::GetCaseRequest,
) -> Result<pb::Case, RoutingError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "cases", true);
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;
    let root = api.jurisdiction(principal).await?;
    let name = convert::case_name(&id);
    let case = store::cases::get(api.conn(), &id)
        .await?
        .ok_or_else(|| RoutingError::NotFound(name.clone()))?;
    if !sees(&root, &case) {
        return Err(RoutingError::OutsideJurisdiction(name));
    }
    let steps = store::cases::steps(api.conn(), &id, case.version).await?;
    Ok(convert::case(&case, &steps))
}

pub(super) async fn list(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::ListCasesRequest,
) -> Result<pb::ListCasesResponse, RoutingError> {
    let mut v = Violations::new();
    let organization = validate::resource_id(
        &mut v,
        "organization",
        &req.organization,
        "organizations",
        false,
    );
    let department = validate::resource_id(
        &mut v,
        "department",
        &req.department,
        "organizations",
        false,
    );
    let account = validate::resource_id(&mut v, "account", &req.account, "accounts", false);
    let state = validate::enum_value(&mut v, "state", req.state, false, CaseState::from_i32);
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[
            &principal.organization,
            &req.organization,
            &req.department,
            &req.account,
            &req.state.to_string(),
        ]),
    );
    v.finish()?;
    let asker = api.registry.as_caller(principal);
    let scope = asker.scope(organization.as_deref()).await?;
    // A department outside the caller's jurisdiction is refused as the organization filter is,
    // not answered with an empty page. (An account filter stays a filter: a department lists
    // the cases of other units' accounts dispatched to it.)
    if let Some(department) = department.as_deref() {
        asker.scope(Some(department)).await?;
    }
    let before = page.after.clone();
    let mut cases = store::cases::list(
        api.conn(),
        &store::cases::Filter {
            path: scope.path,
            state,
            department,
            account,
        },
        before.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let next_page_token = page.finish(&mut cases, |case| case.id.clone());
    Ok(pb::ListCasesResponse {
        cases: cases.iter().map(|case| convert::case(case, &[])).collect(),
        next_page_token,
    })
}

pub(super) async fn reveal(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::RevealContactRequest,
) -> Result<pb::RevealContactResponse, RoutingError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "cases", true);
    validation::reason(&mut v, "reason", &req.reason, true);
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;
    let root = api.jurisdiction(principal).await?;
    // No idempotency key: a replay would keep the revealed data in clear beside its answer.
    let mut unit = api
        .writer
        .begin("RevealContact", principal, "", &req)
        .await?;
    let name = convert::case_name(&id);
    let case = store::cases::get(unit.txn(), &id)
        .await?
        .ok_or_else(|| RoutingError::NotFound(name.clone()))?;
    let handles_it = principal.has(govmedia_kit::auth::Role::Handler)
        && case.department.as_deref() == Some(principal.organization.as_str())
        && case.state != CaseState::Closed;
    if !dispatches(&root, &case) && !handles_it {
        return Err(RoutingError::OutsideJurisdiction(name));
    }
    let messages = store::messages::of_case(unit.txn(), &id).await?;
    let mut revealed = Vec::with_capacity(messages.len());
    for message in &messages {
        let personal = api.vault.open(&message.id, &message.personal)?;
        revealed.push(pb::RevealedMessage {
            message: convert::message_name(&message.id),
            citizen_handle: personal.handle,
            citizen_contact: personal.contact,
            phones_in_text: personal.phones_in_text,
        });
    }
    // Who read whose data, and why; never the data itself.
    unit.audit(
        &name,
        &case.account_path,
        json!({ "reason": mask_phones(&req.reason), "messages": revealed.len() }),
    );
    unit.commit(()).await?;
    Ok(pb::RevealContactResponse {
        name,
        messages: revealed,
    })
}

pub(super) async fn dispatch(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::DispatchCaseRequest,
) -> Result<pb::Case, RoutingError> {
    let mut v = Violations::new();
    let target = target(
        &mut v,
        "DispatchCase",
        &req.name,
        &req.etag,
        &req.request_id,
    );
    let to = validate::resource_id(&mut v, "department", &req.department, "organizations", true);
    validation::reason(&mut v, "comment", &req.comment, false);
    v.finish()?;
    let (Some(target), Some(to)) = (target, to) else {
        return Err(unvalidated("name"));
    };
    let root = api.jurisdiction(principal).await?;
    let (id, path) = organization_in(api, principal, &root, &to).await?;
    change(
        api,
        principal,
        target,
        &req,
        Actor::Dispatcher(root),
        |case, now, limits, calendar| {
            Ok(vec![case.dispatch(
                (&id, &path),
                None,
                now,
                &mask_phones(&req.comment),
                limits,
                calendar,
            )?])
        },
    )
    .await
}

pub(super) async fn sign_for(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::SignForCaseRequest,
) -> Result<pb::Case, RoutingError> {
    let mut v = Violations::new();
    let target = target(&mut v, "SignForCase", &req.name, &req.etag, &req.request_id);
    v.finish()?;
    let target = target.ok_or_else(|| unvalidated("name"))?;
    change(
        api,
        principal,
        target,
        &req,
        Actor::Department,
        |case, now, limits, calendar| Ok(vec![case.sign_for(now, limits, calendar)?]),
    )
    .await
}

pub(super) async fn request_return(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::ReturnCaseRequest,
) -> Result<pb::Case, RoutingError> {
    let mut v = Violations::new();
    let target = target(&mut v, "ReturnCase", &req.name, &req.etag, &req.request_id);
    validation::reason(&mut v, "reason", &req.reason, true);
    v.finish()?;
    let target = target.ok_or_else(|| unvalidated("name"))?;
    change(
        api,
        principal,
        target,
        &req,
        Actor::Department,
        |case, now, _, _| Ok(vec![case.request_return(now, &mask_phones(&req.reason))?]),
    )
    .await
}

pub(super) async fn decide_return(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::DecideReturnRequest,
) -> Result<pb::Case, RoutingError> {
    let mut v = Violations::new();
    let target = target(
        &mut v,
        "DecideReturn",
        &req.name,
        &req.etag,
        &req.request_id,
    );
    let to = validate::resource_id(
        &mut v,
        "redispatch_to",
        &req.redispatch_to,
        "organizations",
        false,
    );
    if !req.accept && to.is_some() {
        v.add(
            "redispatch_to",
            "only an accepted return is dispatched again",
        );
    }
    validation::reason(&mut v, "comment", &req.comment, !req.accept);
    v.finish()?;
    let target = target.ok_or_else(|| unvalidated("name"))?;
    let root = api.jurisdiction(principal).await?;
    let redispatch = match &to {
        Some(to) => Some(organization_in(api, principal, &root, to).await?),
        None => None,
    };
    change(
        api,
        principal,
        target,
        &req,
        Actor::Dispatcher(root),
        |case, now, limits, calendar| {
            case.decide_return(
                req.accept,
                redispatch
                    .as_ref()
                    .map(|(id, path)| (id.as_str(), path.as_str())),
                now,
                &mask_phones(&req.comment),
                limits,
                calendar,
            )
        },
    )
    .await
}

pub(super) async fn request_extension(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::RequestExtensionRequest,
) -> Result<pb::Case, RoutingError> {
    let mut v = Violations::new();
    let target = target(
        &mut v,
        "RequestExtension",
        &req.name,
        &req.etag,
        &req.request_id,
    );
    if req.days < 1 {
        v.add("days", "at least 1 working day");
    }
    validation::reason(&mut v, "reason", &req.reason, true);
    v.finish()?;
    let target = target.ok_or_else(|| unvalidated("name"))?;
    let days = u32::try_from(req.days).map_err(|_| unvalidated("days"))?;
    change(
        api,
        principal,
        target,
        &req,
        Actor::Department,
        |case, now, limits, _| {
            Ok(vec![case.request_extension(
                now,
                days,
                &mask_phones(&req.reason),
                limits,
            )?])
        },
    )
    .await
}

pub(super) async fn decide_extension(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::DecideExtensionRequest,
) -> Result<pb::Case, RoutingError> {
    let mut v = Violations::new();
    let target = target(
        &mut v,
        "DecideExtension",
        &req.name,
        &req.etag,
        &req.request_id,
    );
    validation::reason(&mut v, "comment", &req.comment, !req.approve);
    v.finish()?;
    let target = target.ok_or_else(|| unvalidated("name"))?;
    let root = api.jurisdiction(principal).await?;
    change(
        api,
        principal,
        target,
        &req,
        Actor::Dispatcher(root),
        |case, now, limits, calendar| {
            Ok(vec![case.decide_extension(
                req.approve,
                now,
                &mask_phones(&req.comment),
                limits,
                calendar,
            )?])
        },
    )
    .await
}

pub(super) async fn draft_reply(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::DraftReplyRequest,
) -> Result<pb::Case, RoutingError> {
    let mut v = Violations::new();
    let target = target(&mut v, "DraftReply", &req.name, &req.etag, &req.request_id);
    validate::multiline_text(&mut v, "text", &req.text, MAX_REPLY, true);
    v.finish()?;
    let target = target.ok_or_else(|| unvalidated("name"))?;
    change(
        api,
        principal,
        target,
        &req,
        Actor::Department,
        |case, now, _, _| Ok(vec![case.draft_reply(now, &mask_phones(&req.text))?]),
    )
    .await
}

pub(super) async fn review_reply(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::ReviewReplyRequest,
) -> Result<pb::Case, RoutingError> {
    let mut v = Violations::new();
    let target = target(&mut v, "ReviewReply", &req.name, &req.etag, &req.request_id);
    validation::reason(&mut v, "comment", &req.comment, !req.approve);
    v.finish()?;
    let target = target.ok_or_else(|| unvalidated("name"))?;
    change(
        api,
        principal,
        target,
        &req,
        Actor::Department,
        |case, now, _, _| {
            Ok(vec![case.review_reply(
                now,
                req.approve,
                &mask_phones(&req.comment),
            )?])
        },
    )
    .await
}

pub(super) async fn record_satisfaction(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::RecordSatisfactionRequest,
) -> Result<pb::Case, RoutingError> {
    let mut v = Violations::new();
    let target = target(
        &mut v,
        "RecordSatisfaction",
        &req.name,
        &req.etag,
        &req.request_id,
    );
    let satisfaction = validate::enum_value(
        &mut v,
        "satisfaction",
        req.satisfaction,
        true,
        Satisfaction::from_i32,
    );
    validation::reason(&mut v, "comment", &req.comment, false);
    v.finish()?;
    let (Some(target), Some(satisfaction)) = (target, satisfaction) else {
        return Err(unvalidated("name"));
    };
    let root = api.jurisdiction(principal).await?;
    change(
        api,
        principal,
        target,
        &req,
        Actor::Dispatcher(root),
        |case, now, _, _| case.record_satisfaction(now, satisfaction, &mask_phones(&req.comment)),
    )
    .await
}

pub(super) async fn reopen(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::ReopenCaseRequest,
) -> Result<pb::Case, RoutingError> {
    let mut v = Violations::new();
    let target = target(&mut v, "ReopenCase", &req.name, &req.etag, &req.request_id);
    validation::reason(&mut v, "reason", &req.reason, true);
    v.finish()?;
    let target = target.ok_or_else(|| unvalidated("name"))?;
    let root = api.jurisdiction(principal).await?;
    change(
        api,
        principal,
        target,
        &req,
        Actor::Dispatcher(root),
        |case, now, limits, calendar| {
            Ok(vec![case.reopen(
                now,
                &mask_phones(&req.reason),
                limits,
                calendar,
            )?])
        },
    )
    .await
}

pub(super) async fn close(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::CloseCaseRequest,
) -> Result<pb::Case, RoutingError> {
    let mut v = Violations::new();
    let target = target(&mut v, "CloseCase", &req.name, &req.etag, &req.request_id);
    validation::reason(&mut v, "reason", &req.reason, true);
    v.finish()?;
    let target = target.ok_or_else(|| unvalidated("name"))?;
    let root = api.jurisdiction(principal).await?;
    change(
        api,
        principal,
        target,
        &req,
        Actor::Dispatcher(root),
        |case, now, _, _| Ok(vec![case.close(now, &mask_phones(&req.reason))?]),
    )
    .await
}
