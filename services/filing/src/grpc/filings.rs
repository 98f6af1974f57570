//! Filing handlers: create, read, list and edit.

use govmedia_kit::{
    auth::{Principal, Role},
    db::is_unique_violation,
    error::{ApiError, Violations},
    paging::{Page, fingerprint},
    validate,
};
use govmedia_proto::filing::v1 as pb;

use super::{
    FilingApi, Save, Subject, acts_for_units, check_etag, convert, load, organization_field,
    preflight, record, reload, stamp, subtree,
    validation::{self, Draft},
};
use crate::{
    domain::{
        Actor, Application, Filing, FilingAction, FilingKind, FilingState, Step, TimelineEntry,
        workflow::next_state,
    },
    error::FilingError,
    store::{self, filings::Awaiting},
};

/// Fields UpdateFiling may change.
const EDITABLE_FIELDS: &[&str] = &[
    "account",
    "change_mask",
    "target_account",
    "reason",
    "attachments",
];

/// The error for a value that validation let through although it should not have: a bug, not
/// bad input.
pub(super) fn unvalidated(what: &str) -> FilingError {
    FilingError::Api(ApiError::internal(
        "handling a request",
        &format!("validation let an empty {what} through"),
    ))
}

impl Draft {
    fn subject(&self) -> Subject<'_> {
        Subject {
            organization: &self.organization,
            kind: self.kind,
            target: self.target_account.as_deref(),
            platform: self.platform,
            platform_account_id: self.platform_account_id.as_deref(),
        }
    }

    /// Writes the draft's content into `filing`.
    fn apply_to(self, filing: &mut Filing) {
        filing.account = self.account;
        filing.platform = self.platform;
        filing.platform_account_id = self.platform_account_id;
        filing.change_mask = self.change_mask;
        filing.target_account = self.target_account;
        filing.reason = self.reason;
        filing.attachments = self.attachments;
    }
}

/// an account goes to a vendor only through a delegation, whose handover the vendor
/// service files under its own identity; nobody else files a vendor as an operator.
fn delegation_only(principal: &Principal, draft: &validation::Draft) -> Result<(), FilingError> {
    match draft.vendor_operator() {
        Some(vendor) if !principal.is_service(VENDOR_SERVICE) => {
            Err(FilingError::DelegationRequired { vendor })
        }
        Some(_) | None => Ok(()),
    }
}

/// The service that files the handovers of delegations.
const VENDOR_SERVICE: &str = "vendor";

pub(super) async fn create(
    api: &FilingApi,
    principal: &Principal,
    req: pb::CreateFilingRequest,
) -> Result<pb::Filing, FilingError> {
    let mut v = Violations::new();
    let id = if req.filing_id.is_empty() {
        Some(format!("f-{}", uuid::Uuid::now_v7().simple()))
    } else {
        validate::id(&mut v, "filing_id", &req.filing_id).map(str::to_owned)
    };
    validate::request_id(&mut v, "request_id", &req.request_id);
    let draft = match &req.filing {
        Some(filing) => validation::draft(&mut v, filing),
        None => {
            v.add("filing", "is required");
            None
        }
    };
    v.finish()?;
    let (Some(id), Some(draft)) = (id, draft) else {
        return Err(unvalidated("filing"));
    };
    delegation_only(principal, &draft)?;
    let method = "CreateFiling";
    if let Some(done) = api
        .writer
        .replayed(method, principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    let unit = preflight(api, principal, draft.subject()).await?;

    let mut work = api
        .writer
        .begin(method, principal, &req.request_id, &req)
        .await?;
    if let Some(done) = work.replay().await? {
        return Ok(done);
    }
    let name = convert::filing_name(&id);
    if store::filings::get(work.txn(), &id).await?.is_some() {
        return match work.into_replay().await? {
            Some(first) => Ok(first),
            None => Err(FilingError::AlreadyExists(name)),
        };
    }
    let created = stamp(&work);
    let mut filing = Filing {
        id,
        organization: unit.id,
        organization_path: unit.path,
        management_department: None,
        kind: draft.kind,
        state: FilingState::Draft,
        account: Vec::new(),
        platform: None,
        platform_account_id: None,
        change_mask: Vec::new(),
        target_account: None,
        reason: String::new(),
        attachments: Vec::new(),
        opening_check: Vec::new(),
        application: Application::default(),
        bound_platform_account_id: None,
        state_time: created.time,
        due_time: None,
        overdue_notified: false,
        created: created.clone(),
        updated: created.clone(),
        version: 1,
        enforced: false,
        grounds: None,
    };
    draft.apply_to(&mut filing);
    let entry = TimelineEntry {
        action: FilingAction::Created,
        from: FilingState::Draft,
        to: FilingState::Draft,
        stamp: created,
        comment: String::new(),
    };
    match record(&mut work, &filing, Save::New, entry).await {
        Ok(response) => Ok(work.commit(response).await?),
        // A concurrent twin of this request took the id first: answer as it did.
        Err(FilingError::Store(error)) if is_unique_violation(&error) => {
            match work.into_replay().await? {
                Some(first) => Ok(first),
                None => Err(FilingError::AlreadyExists(name)),
            }
        }
        Err(error) => Err(error),
    }
}

/// PERMISSION_DENIED unless the filing's unit lies within the caller's jurisdiction (as the
/// registry defines it).
async fn ensure_visible(
    api: &FilingApi,
    principal: &Principal,
    filing: &Filing,
) -> Result<(), FilingError> {
    let scope = api.registry.as_caller(principal).jurisdiction().await?;
    if filing.organization_path.starts_with(&scope.path) {
        Ok(())
    } else {
        Err(FilingError::OutsideJurisdiction(filing.name()))
    }
}

pub(super) async fn get(
    api: &FilingApi,
    principal: &Principal,
    req: pb::GetFilingRequest,
) -> Result<pb::Filing, FilingError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "filings", true);
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;
    let filing = load(api.conn(), &id).await?;
    ensure_visible(api, principal, &filing).await?;
    let timeline = store::timeline::of(api.conn(), &id).await?;
    Ok(convert::filing(&filing, &timeline, api.now()))
}

pub(super) async fn list(
    api: &FilingApi,
    principal: &Principal,
    req: pb::ListFilingsRequest,
) -> Result<pb::ListFilingsResponse, FilingError> {
    let mut v = Violations::new();
    let scope = organization_field(&mut v, &req.organization, false);
    let kind = validate::enum_value(&mut v, "kind", req.kind, false, FilingKind::from_i32);
    let state = validate::enum_value(&mut v, "state", req.state, false, FilingState::from_i32);
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[
            &req.organization,
            &req.kind.to_string(),
            &req.state.to_string(),
            &req.overdue_only.to_string(),
            &req.awaiting_caller.to_string(),
            &req.filed_after_opening_only.to_string(),
            &principal.subject,
        ]),
    );
    v.finish()?;
    let after = page.after_number()?;
    let scope = subtree(api, principal, scope).await?;
    let now = api.now();
    let filter = store::filings::Filter {
        path: scope.path,
        kind,
        state,
        overdue_at: req.overdue_only.then_some(now),
        awaiting: req.awaiting_caller.then(|| Awaiting {
            leader_of: principal
                .has(Role::Leader)
                .then(|| principal.organization.clone()),
            department: principal
                .has(Role::Supervisor)
                .then(|| principal.organization.clone()),
        }),
        filed_after_opening_only: req.filed_after_opening_only,
    };
    let mut rows = store::filings::list(api.conn(), &filter, after, page.fetch_limit()).await?;
    let next_page_token = page.finish(&mut rows, |(seq, _)| seq.to_string());
    Ok(pb::ListFilingsResponse {
        filings: rows
            .iter()
            .map(|(_, filing)| convert::filing(filing, &[], now))
            .collect(),
        next_page_token,
    })
}

pub(super) async fn update(
    api: &FilingApi,
    principal: &Principal,
    req: pb::UpdateFilingRequest,
) -> Result<pb::Filing, FilingError> {
    let mut v = Violations::new();
    validate::request_id(&mut v, "request_id", &req.request_id);
    let paths = validate::field_mask(
        &mut v,
        "update_mask",
        req.update_mask.as_ref(),
        EDITABLE_FIELDS,
    );
    let id = match &req.filing {
        Some(filing) => validate::resource_id(&mut v, "filing.name", &filing.name, "filings", true),
        None => {
            v.add("filing", "is required");
            None
        }
    };
    v.finish()?;
    let (Some(id), Some(source)) = (id, req.filing.as_ref()) else {
        return Err(unvalidated("filing"));
    };
    let method = "UpdateFiling";
    if let Some(done) = api
        .writer
        .replayed(method, principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    let read = load(api.conn(), &id).await?;
    check_etag(&source.etag, &read)?;
    let actor = Actor {
        unit_member: acts_for_units(principal),
        ..Actor::default()
    };
    next_state(read.state, Step::Edit, actor)?;
    // The filing as it would be: stored values, the masked ones replaced, checked as a whole.
    let mut merged = convert::filing(&read, &[], api.now());
    for path in &paths {
        match path.as_str() {
            "account" => merged.account = source.account.clone(),
            "change_mask" => merged.change_mask = source.change_mask.clone(),
            "target_account" => merged.target_account = source.target_account.clone(),
            "reason" => merged.reason = source.reason.clone(),
            "attachments" => merged.attachments = source.attachments.clone(),
            _ => {}
        }
    }
    let mut v = Violations::new();
    let draft = validation::draft(&mut v, &merged);
    v.finish()?;
    let draft = draft.ok_or_else(|| unvalidated("filing"))?;
    delegation_only(principal, &draft)?;
    // The registry confirms the caller reaches the unit, and what the draft now names.
    preflight(api, principal, draft.subject()).await?;

    let mut work = api
        .writer
        .begin(method, principal, &req.request_id, &req)
        .await?;
    if let Some(done) = work.replay().await? {
        return Ok(done);
    }
    let mut filing = reload(&work, &read).await?;
    draft.apply_to(&mut filing);
    filing.updated = stamp(&work);
    filing.version += 1;
    let entry = TimelineEntry {
        action: Step::Edit.action(),
        from: filing.state,
        to: filing.state,
        stamp: filing.updated.clone(),
        comment: format!("changed {}", paths.join(", ")),
    };
    let response = record(&mut work, &filing, Save::Over(read.version), entry).await?;
    Ok(work.commit(response).await?)
}
