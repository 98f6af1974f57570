//! Enforced closures and closure reports.
//!
//! An enforced closure is a SUSPEND or CANCEL filing that the management department of the
//! unit's own level starts and accepts in one step, on the grounds of a rectification order the
//! inspection service recommends closure for; from there it is applied like any accepted filing.
//! The unit's leader is not asked: the notice gives the supervising department the closure of
//! accounts still failing after rectification. Every applied suspension or cancellation, enforced
//! or filed by the unit, is reported to the unit's government office (see `apply.rs`).
//!
//! The inspection service is asked on this service's own account (the caller's reach was judged
//! by the registry before): whether it recommends closing the account on the order named, and,
//! before an account suspended so may RESUME, whether that order is VERIFIED.

use govmedia_kit::{
    auth::Principal,
    client::Peer,
    error::{ApiError, Violations},
    paging::{Page, fingerprint},
    validate,
};
use govmedia_proto::{
    filing::v1 as pb,
    inspection::v1::{
        self as ipb, RectificationState, inspection_service_client::InspectionServiceClient,
    },
};
use govmedia_registry_client::strip;

use super::{FilingApi, Save, Subject, convert, filings::unvalidated, preflight, record, stamp};
use crate::{
    domain::{
        Application, ApplicationState, Filing, FilingAction, FilingKind, FilingState, TimelineEntry,
    },
    error::FilingError,
    store,
};

/// A client of the inspection service on this service's own account.
fn inspection(
    peer: Option<&Peer>,
) -> Result<
    InspectionServiceClient<
        tonic::service::interceptor::InterceptedService<
            tonic::transport::Channel,
            govmedia_kit::client::Credentials,
        >,
    >,
    FilingError,
> {
    let peer = peer.ok_or(FilingError::NoInspection)?;
    Ok(InspectionServiceClient::with_interceptor(
        peer.channel(),
        peer.credentials()?,
    ))
}

pub(super) async fn enforce(
    api: &FilingApi,
    principal: &Principal,
    req: pb::EnforceClosureRequest,
) -> Result<pb::Filing, FilingError> {
    let mut v = Violations::new();
    let id = if req.filing_id.is_empty() {
        Some(format!("f-{}", uuid::Uuid::now_v7().simple()))
    } else {
        validate::id(&mut v, "filing_id", &req.filing_id).map(str::to_owned)
    };
    let account = validate::resource_id(&mut v, "account", &req.account, "accounts", true);
    let kind = match FilingKind::from_i32(req.kind) {
        Some(kind @ (FilingKind::Suspend | FilingKind::Cancel)) => Some(kind),
        _ => {
            v.add("kind", "must be SUSPEND or CANCEL");
            None
        }
    };
    let grounds =
        validate::resource_id(&mut v, "grounds", &req.grounds, "rectificationOrders", true);
    validate::multiline_text(&mut v, "reason", &req.reason, 500, true);
    validate::request_id(&mut v, "request_id", &req.request_id);
    v.finish()?;
    let (Some(id), Some(account), Some(kind), Some(grounds)) = (id, account, kind, grounds) else {
        return Err(unvalidated("account"));
    };
    let method = "EnforceClosure";
    if let Some(done) = api
        .writer
        .replayed(method, principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    // The registry judges the caller's reach, the account's unit and whether its status still
    // allows the change; only the unit's own management department enforces.
    let ledger = api.registry.as_caller(principal).account(&account).await?;
    let organization = strip(&ledger.organization, "organizations/")?.to_owned();
    let unit = preflight(
        api,
        principal,
        Subject {
            organization: &organization,
            kind,
            target: Some(&account),
            platform: None,
            platform_account_id: None,
        },
    )
    .await?;
    let department = api.registry.management_department(&unit).await?;
    if department != principal.organization {
        return Err(FilingError::NotDecidingDepartment {
            unit: convert::organization_name(&unit.id),
            department: convert::organization_name(&department),
        });
    }
    recommended(api, &account, &grounds).await?;

    let mut work = api
        .writer
        .begin(method, principal, &req.request_id, &req)
        .await?;
    if let Some(done) = work.replay().await? {
        return Ok(done);
    }
    if store::filings::get(work.txn(), &id).await?.is_some() {
        return Err(FilingError::AlreadyExists(convert::filing_name(&id)));
    }
    let now = stamp(&work);
    let filing = Filing {
        id,
        organization: unit.id,
        organization_path: unit.path,
        management_department: Some(department),
        kind,
        state: FilingState::Accepted,
        account: Vec::new(),
        platform: None,
        platform_account_id: None,
        change_mask: Vec::new(),
        target_account: Some(account),
        reason: req.reason.trim().to_owned(),
        attachments: Vec::new(),
        opening_check: Vec::new(),
        // Due at once; the applier takes it from here.
        application: Application {
            state: Some(ApplicationState::Applying),
            ..Application::default()
        },
        bound_platform_account_id: None,
        state_time: now.time,
        due_time: None,
        overdue_notified: false,
        created: now.clone(),
        updated: now.clone(),
        version: 1,
        enforced: true,
        grounds: Some(grounds),
    };
    crate::apply::enqueue(&work, &filing.id).await?;
    let entry = TimelineEntry {
        action: FilingAction::Enforced,
        from: FilingState::Draft,
        to: FilingState::Accepted,
        stamp: now,
        comment: filing.reason.clone(),
    };
    let response = record(&mut work, &filing, Save::New, entry).await?;
    let response = work.commit(response).await?;
    api.applier.notify_one();
    Ok(response)
}

/// Refuses `grounds` unless the inspection service recommends closing `account` on it.
async fn recommended(api: &FilingApi, account: &str, grounds: &str) -> Result<(), FilingError> {
    let answer = inspection(api.inspection.as_ref())?
        .list_closure_recommendations(ipb::ListClosureRecommendationsRequest {
            account: convert::account_name(account),
            ..Default::default()
        })
        .await
        .map_err(|status| ApiError::relay("inspection", &status))?
        .into_inner();
    let order = format!("rectificationOrders/{grounds}");
    let recommendation = answer
        .recommendations
        .iter()
        .find(|r| r.account == convert::account_name(account));
    match recommendation {
        Some(r) if r.grounds.contains(&order) => Ok(()),
        Some(r) => Err(FilingError::ClosureNotRecommended {
            account: convert::account_name(account),
            grounds: order,
            why: format!(
                "it recommends closure on {}",
                if r.grounds.is_empty() {
                    "no order yet".to_owned()
                } else {
                    r.grounds.join(", ")
                }
            ),
        }),
        None => Err(FilingError::ClosureNotRecommended {
            account: convert::account_name(account),
            grounds: order,
            why: "the account is not recommended for closure".to_owned(),
        }),
    }
}

/// Refuses a RESUME of `account` while the enforced closure that suspended it rests on an order
/// that is not VERIFIED. An account suspended by its unit's own filing resumes as before.
pub(super) async fn resumable(api: &FilingApi, account: &str) -> Result<(), FilingError> {
    let Some(suspension) = store::filings::last_applied_suspension(api.conn(), account).await?
    else {
        return Ok(());
    };
    let (true, Some(grounds)) = (suspension.enforced, suspension.grounds.as_deref()) else {
        return Ok(());
    };
    let order = inspection(api.inspection.as_ref())?
        .get_rectification_order(ipb::GetRectificationOrderRequest {
            name: format!("rectificationOrders/{grounds}"),
        })
        .await
        .map_err(|status| ApiError::relay("inspection", &status))?
        .into_inner();
    if order.state == RectificationState::Verified as i32 {
        return Ok(());
    }
    Err(FilingError::RectificationNotVerified {
        account: convert::account_name(account),
        filing: suspension.name(),
        grounds: order.name,
        state: RectificationState::try_from(order.state)
            .map(|state| {
                state
                    .as_str_name()
                    .trim_start_matches("RECTIFICATION_STATE_")
                    .to_owned()
            })
            .unwrap_or_default(),
    })
}

pub(super) async fn list_reports(
    api: &FilingApi,
    principal: &Principal,
    req: pb::ListClosureReportsRequest,
) -> Result<pb::ListClosureReportsResponse, FilingError> {
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
        fingerprint(&["ListClosureReports", &req.organization]),
    );
    v.finish()?;
    let scope = super::subtree(api, principal, organization).await?;
    let mut rows = store::closures::list(
        api.conn(),
        &scope.path,
        page.after_number()?,
        page.fetch_limit(),
    )
    .await?;
    let next = page.finish(&mut rows, |(_, seq)| seq.to_string());
    Ok(pb::ListClosureReportsResponse {
        reports: rows
            .iter()
            .map(|(report, _)| convert::closure_report(report))
            .collect(),
        next_page_token: next,
    })
}
