//! Workflow handlers: submit, consent, return, accept, reject, withdraw, and binding the
//! platform id after an applied opening.

use govmedia_accounts::opening::Refusal;
use govmedia_kit::{
    auth::{Principal, Role},
    error::{ApiError, FieldViolation, Violations},
    validate,
};
use govmedia_proto::{common::v1::Platform, filing::v1 as pb};
use prost::Message;

use super::{
    FilingApi, Save, Subject, acts_for_units, check_etag, convert, filings::unvalidated, load,
    preflight, record, reload, reports, stamp,
};
use crate::{
    domain::{
        Actor, Application, ApplicationState, Filing, FilingAction, FilingKind, FilingState, Step,
        TimelineEntry,
        report::ReportCause,
        workflow::{check_order, next_state},
    },
    error::FilingError,
};

/// A workflow request, reduced to what the steps share.
struct StepRequest<'a> {
    method: &'static str,
    step: Step,
    name: &'a str,
    etag: &'a str,
    comment: &'a str,
    comment_required: bool,
    request_id: &'a str,
}

/// What a step found out before its unit of work: the new state, and what to store with it.
struct Prepared {
    to: FilingState,
    management_department: Option<String>,
    opening_check: Option<Vec<u8>>,
}

impl Prepared {
    fn to(to: FilingState) -> Self {
        Self {
            to,
            management_department: None,
            opening_check: None,
        }
    }
}

/// The handler of a workflow step: its request carries name, etag, comment and request id, and
/// the rest is [`take_step`].
macro_rules! step_handlers {
    ($($handler:ident($request:ident) => $method:literal, $step:ident, comment required: $required:literal;)+) => {
        $(
            pub(super) async fn $handler(
                api: &FilingApi,
                principal: &Principal,
                req: pb::$request,
            ) -> Result<pb::Filing, FilingError> {
                let step = StepRequest {
                    method: $method,
                    step: Step::$step,
                    name: &req.name,
                    etag: &req.etag,
                    comment: &req.comment,
                    comment_required: $required,
                    request_id: &req.request_id,
                };
                take_step(api, principal, step, &req).await
            }
        )+
    };
}

step_handlers! {
    submit(SubmitFilingRequest) => "SubmitFiling", Submit, comment required: false;
    consent(ConsentFilingRequest) => "ConsentFiling", Consent, comment required: false;
    return_for_correction(ReturnFilingRequest) => "ReturnFiling", Return, comment required: true;
    accept(AcceptFilingRequest) => "AcceptFiling", Accept, comment required: false;
    reject(RejectFilingRequest) => "RejectFiling", Reject, comment required: true;
    withdraw(WithdrawFilingRequest) => "WithdrawFiling", Withdraw, comment required: false;
}

async fn take_step(
    api: &FilingApi,
    principal: &Principal,
    req: StepRequest<'_>,
    request: &impl Message,
) -> Result<pb::Filing, FilingError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", req.name, "filings", true);
    validate::multiline_text(&mut v, "comment", req.comment, 500, req.comment_required);
    validate::request_id(&mut v, "request_id", req.request_id);
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;
    if let Some(done) = api
        .writer
        .replayed(req.method, principal, req.request_id, request)
        .await?
    {
        return Ok(done);
    }
    let read = load(api.conn(), &id).await?;
    check_etag(req.etag, &read)?;
    let prepared = prepare(api, principal, &read, req.step).await?;

    let mut work = api
        .writer
        .begin(req.method, principal, req.request_id, request)
        .await?;
    if let Some(done) = work.replay().await? {
        return Ok(done);
    }
    let mut filing = reload(&work, &read).await?;
    let from = filing.state;
    let changed = stamp(&work);
    filing.state = prepared.to;
    filing.state_time = changed.time;
    // The clock of the next wait starts now and its end is fixed now.
    filing.due_time = api.deadlines.due_time(&filing);
    filing.overdue_notified = false;
    if let Some(department) = prepared.management_department {
        filing.management_department = Some(department);
    }
    if let Some(check) = prepared.opening_check {
        filing.opening_check = check;
    }
    if req.step == Step::Accept {
        // Due at once; the applier takes it from here (from its durable job after a restart).
        filing.application = Application {
            state: Some(ApplicationState::Applying),
            ..Application::default()
        };
        crate::apply::enqueue(&work, &filing.id).await?;
    }
    filing.updated = changed.clone();
    filing.version += 1;
    let entry = TimelineEntry {
        action: req.step.action(),
        from,
        to: filing.state,
        stamp: changed,
        comment: req.comment.to_owned(),
    };
    let response = record(&mut work, &filing, Save::Over(read.version), entry).await?;
    let response = work.commit(response).await?;
    if req.step == Step::Accept {
        api.applier.notify_one();
    }
    Ok(response)
}

/// Establishes who the caller is to the filing, as far as the step needs, and gathers what the
/// registry must say before the step. Steps out of order are refused first, whoever asks.
async fn prepare(
    api: &FilingApi,
    principal: &Principal,
    filing: &Filing,
    step: Step,
) -> Result<Prepared, FilingError> {
    check_order(filing.state, step)?;
    // An account an enforced closure suspended resumes only once its rectification order is
    // verified: asked when the RESUME travels and again when it is decided.
    if filing.kind == FilingKind::Resume
        && matches!(step, Step::Submit | Step::Accept)
        && let Some(account) = filing.target_account.as_deref()
    {
        super::closures::resumable(api, account).await?;
    }
    // the unit's principal leader as its record names them (or their designated deputy),
    // not any leader; asked of the registry only when the step is the leader's to take.
    let leader_step = matches!(step, Step::Consent | Step::Withdraw)
        || (step == Step::Return && filing.state == FilingState::Submitted);
    let unit_leader = leader_step
        && principal.has(Role::Leader)
        && principal.organization == filing.organization
        && {
            let unit = api
                .registry
                .as_service()
                .organization(&filing.organization)
                .await?;
            !principal.subject.is_empty()
                && (principal.subject == unit.principal_leader
                    || principal.subject == unit.designated_deputy)
        };
    let mut actor = Actor {
        unit_member: acts_for_units(principal),
        unit_leader,
        // The same person: the same subject of the same organization.
        creator: filing.created.actor == principal.subject
            && filing.created.actor_organization == principal.organization,
        deciding_department: false,
    };
    let decision = matches!(step, Step::Accept | Step::Reject)
        || (step == Step::Return && filing.state == FilingState::LeaderApproved);
    if step == Step::Submit {
        let to = next_state(filing.state, step, actor)?;
        // The registry confirms the caller reaches the unit and the filing can still apply, and
        // names who will decide.
        let unit = preflight(api, principal, Subject::of(filing)).await?;
        let department = api.registry.management_department(&unit).await?;
        let opening_check = match (filing.kind, filing.platform) {
            (FilingKind::Open, Some(platform)) => Some(
                evaluate_opening(api, filing, platform)
                    .await?
                    .encode_to_vec(),
            ),
            _ => None,
        };
        return Ok(Prepared {
            to,
            management_department: Some(department),
            opening_check,
        });
    }
    if !decision {
        return Ok(Prepared::to(next_state(filing.state, step, actor)?));
    }
    // A decision: only the management department of the unit's own level, as the
    // registry knows it now.
    let mut department = None;
    if principal.has(Role::Supervisor) {
        let unit = api
            .registry
            .as_caller(principal)
            .unit(&filing.organization)
            .await?;
        let deciding = api.registry.management_department(&unit).await?;
        actor.deciding_department = deciding == principal.organization;
        department = Some(deciding);
    }
    let to = next_state(filing.state, step, actor)?;
    let mut opening_check = None;
    if step == Step::Accept {
        preflight(api, principal, Subject::of(filing)).await?;
        if let (FilingKind::Open, Some(platform)) = (filing.kind, filing.platform) {
            let check = evaluate_opening(api, filing, platform).await?;
            if !check.allowed {
                return Err(FilingError::OpeningNotAllowed {
                    unit: convert::organization_name(&filing.organization),
                    refusal: Refusal {
                        platform: Platform::try_from(platform)
                            .map(|platform| platform.as_str_name().to_owned())
                            .unwrap_or_else(|_| platform.to_string()),
                        existing: check
                            .existing
                            .iter()
                            .map(|health| {
                                let problem =
                                    (!health.problem.is_empty()).then(|| health.problem.clone());
                                (health.account.clone(), problem)
                            })
                            .collect(),
                        justification_missing: check.justification_missing,
                    },
                });
            }
            opening_check = Some(check.encode_to_vec());
        }
    }
    Ok(Prepared {
        to,
        management_department: department,
        opening_check,
    })
}

/// The R-03 justification an OPEN filing carries.
/// R-03 for the account an OPEN `filing` would register on `platform`, as the registry rules it
/// now (asked on the service's own account: the rule, not the caller's reach, is in question).
async fn evaluate_opening(
    api: &FilingApi,
    filing: &Filing,
    platform: i32,
) -> Result<pb::OpeningCheck, FilingError> {
    let justification = govmedia_proto::registry::v1::Account::decode(filing.account.as_slice())
        .map(|account| account.justification)
        .unwrap_or_default();
    let answer = api
        .registry
        .as_service()
        .evaluate_opening(&filing.organization, platform, &justification)
        .await?;
    Ok(pb::OpeningCheck {
        allowed: answer.allowed,
        further_account: answer.further_account,
        justification_missing: answer.justification_missing,
        existing: answer.existing,
        check_time: answer.evaluate_time,
    })
}

pub(super) async fn bind(
    api: &FilingApi,
    principal: &Principal,
    req: pb::BindPlatformAccountRequest,
) -> Result<pb::Filing, FilingError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "filings", true);
    validate::platform_account_id(
        &mut v,
        "platform_account_id",
        &req.platform_account_id,
        false,
    );
    validate::request_id(&mut v, "request_id", &req.request_id);
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;
    let method = "BindPlatformAccount";
    if let Some(done) = api
        .writer
        .replayed(method, principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    let read = load(api.conn(), &id).await?;
    // The caller must reach the unit (the registry says); its role was checked on the way in.
    // The unit as it is now also goes into the national report of the activation.
    let unit = api
        .registry
        .as_caller(principal)
        .organization(&read.organization)
        .await?;
    let nothing_to_bind = || FilingError::NothingToBind {
        filing: read.name(),
        kind: read.kind.as_str(),
        state: read.state,
    };
    if read.kind != FilingKind::Open || read.state != FilingState::Accepted {
        return Err(nothing_to_bind());
    }
    match read.application.state {
        Some(ApplicationState::Applied) => {}
        Some(ApplicationState::Applying) => {
            return Err(FilingError::ApplicationPending(read.name()));
        }
        Some(ApplicationState::Failed) | None => return Err(nothing_to_bind()),
    }
    let platform_account_id = match (req.platform_account_id.as_str(), &read.platform_account_id) {
        ("", Some(named)) => named.clone(),
        ("", None) => {
            return Err(invalid_platform_account_id(
                "is required: the filing named none".to_owned(),
            ));
        }
        (sent, Some(named)) if sent != named => {
            return Err(invalid_platform_account_id(format!(
                "must be empty or the id the filing named ({named})"
            )));
        }
        (sent, _) => sent.to_owned(),
    };
    if let Some(bound) = &read.bound_platform_account_id {
        if *bound == platform_account_id {
            // Already done: answer with the filing as it is.
            let timeline = crate::store::timeline::of(api.conn(), &read.id).await?;
            return Ok(convert::filing(&read, &timeline, api.now()));
        }
        return Err(FilingError::AlreadyBound {
            filing: read.name(),
            bound: bound.clone(),
        });
    }
    let account = read
        .target_account
        .clone()
        .unwrap_or_else(|| read.account_to_register());
    let ledger = api
        .registry
        .bind(&read, &account, &platform_account_id)
        .await?;

    let mut work = api
        .writer
        .begin(method, principal, &req.request_id, &req)
        .await?;
    if let Some(done) = work.replay().await? {
        return Ok(done);
    }
    let mut filing = reload(&work, &read).await?;
    filing.bound_platform_account_id = Some(platform_account_id.clone());
    filing.updated = stamp(&work);
    filing.version += 1;
    let entry = TimelineEntry {
        action: FilingAction::PlatformAccountBound,
        from: filing.state,
        to: filing.state,
        stamp: filing.updated.clone(),
        comment: format!(
            "{} is {platform_account_id}",
            convert::account_name(&account)
        ),
    };
    let response = record(&mut work, &filing, Save::Over(read.version), entry).await?;
    // The account went live: the national system learns its platform id.
    let registered = reports::Registered {
        ledger: ledger.encode_to_vec(),
        unit: unit.encode_to_vec(),
    };
    reports::queue(
        &mut work,
        &filing,
        ReportCause::Activated,
        &account,
        registered,
    )
    .await?;
    let response = work.commit(response).await?;
    api.reporter.notify_one();
    Ok(response)
}

fn invalid_platform_account_id(description: String) -> FilingError {
    FilingError::Api(ApiError::invalid(vec![FieldViolation {
        field: "platform_account_id".to_owned(),
        description,
    }]))
}
