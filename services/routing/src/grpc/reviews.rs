//! Pre-publication review (先审后发, R-33): chains, drafts and their reviews, and the look-up of
//! approved content by hash.

use std::collections::HashSet;

use govmedia_kit::{
    auth::Principal,
    clock::to_proto,
    error::{ApiError, FieldViolation, Violations},
    validate,
};
use govmedia_proto::routing::v1 as pb;
use govmedia_registry_client::strip;
use serde_json::json;

use super::{RoutingApi, check_etag, convert, organization_in, stamp, unvalidated};
use crate::{
    domain::{
        on_line,
        review::{self, Aspect, Chain, Draft, DraftState, Level, Reviewer},
        within,
    },
    error::RoutingError,
    store,
};

/// Most levels of a chain.
const MAX_LEVELS: usize = 5;

/// Most accounts of a draft.
const MAX_ACCOUNTS: usize = 20;

/// Longest draft text.
const MAX_DRAFT: usize = 20_000;

pub(super) async fn create_chain(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::CreateReviewChainRequest,
) -> Result<pb::ReviewChain, RoutingError> {
    let mut v = Violations::new();
    let id = validate::id(&mut v, "chain_id", &req.chain_id).map(str::to_owned);
    validate::request_id(&mut v, "request_id", &req.request_id);
    let Some(source) = &req.chain else {
        v.add("chain", "is required");
        v.finish()?;
        return Err(unvalidated("chain"));
    };
    let organization = validate::resource_id(
        &mut v,
        "chain.organization",
        &source.organization,
        "organizations",
        true,
    );
    validate::text(
        &mut v,
        "chain.display_name",
        &source.display_name,
        100,
        true,
    );
    if source.levels.is_empty() || source.levels.len() > MAX_LEVELS {
        v.add("chain.levels", format!("1 to {MAX_LEVELS} levels"));
    }
    let mut levels = Vec::new();
    let mut named = HashSet::new();
    for (index, level) in source.levels.iter().enumerate().take(MAX_LEVELS) {
        let at = |field: &str| format!("chain.levels[{index}].{field}");
        validate::text(&mut v, &at("title"), &level.title, 50, true);
        match (level.role, level.reviewer.trim().is_empty()) {
            (0, true) => v.add(at("role"), "a role or a named reviewer is required"),
            (0, false) => {
                validate::text(&mut v, &at("reviewer"), &level.reviewer, 200, true);
                if !named.insert(level.reviewer.trim().to_owned()) {
                    v.add(
                        at("reviewer"),
                        "is named at another level: nobody reviews two levels",
                    );
                }
            }
            (_, false) => v.add(at("reviewer"), "a level has a role or a reviewer, not both"),
            (role, true) => {
                if !convert::LEVEL_ROLES.iter().any(|(r, _)| *r as i32 == role) {
                    v.add(
                        at("role"),
                        "must be OPERATOR, HANDLER, LEADER or SUPERVISOR",
                    );
                }
            }
        }
        levels.push(Level {
            title: level.title.trim().to_owned(),
            role: convert::LEVEL_ROLES
                .iter()
                .find(|(r, _)| *r as i32 == level.role)
                .map(|(_, name)| (*name).to_owned()),
            reviewer: (!level.reviewer.trim().is_empty()).then(|| level.reviewer.trim().to_owned()),
        });
    }
    v.finish()?;
    let (Some(id), Some(organization)) = (id, organization) else {
        return Err(unvalidated("chain"));
    };
    if let Some(done) = api
        .writer
        .replayed("CreateReviewChain", principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    let root = api.jurisdiction(principal).await?;
    let (organization, organization_path) =
        organization_in(api, principal, &root, &organization).await?;
    let mut unit = api
        .writer
        .begin("CreateReviewChain", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let chain = Chain {
        id,
        organization,
        organization_path,
        display_name: source.display_name.trim().to_owned(),
        levels,
        created: stamp(&unit),
    };
    if store::reviews::chain(unit.txn(), &chain.id)
        .await?
        .is_some()
    {
        return match unit.into_replay().await? {
            Some(first) => Ok(first),
            None => Err(RoutingError::AlreadyExists(chain.name())),
        };
    }
    store::reviews::insert_chain(unit.txn(), &chain).await?;
    unit.audit(
        &chain.name(),
        &chain.organization_path,
        json!({ "levels": chain.levels.iter().map(|l| &l.title).collect::<Vec<_>>() }),
    );
    Ok(unit.commit(convert::review_chain(&chain)).await?)
}

pub(super) async fn submit(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::SubmitDraftRequest,
) -> Result<pb::Draft, RoutingError> {
    let mut v = Violations::new();
    let id = validate::id(&mut v, "draft_id", &req.draft_id).map(str::to_owned);
    validate::request_id(&mut v, "request_id", &req.request_id);
    let chain_id = validate::resource_id(&mut v, "chain", &req.chain, "reviewChains", false);
    validate::text(&mut v, "title", &req.title, 200, true);
    validate::multiline_text(&mut v, "text", &req.text, MAX_DRAFT, true);
    if review::content_hash(&req.text) == review::content_hash("") && !req.text.trim().is_empty() {
        v.add("text", "must hold a letter, digit or character");
    }
    if req.accounts.is_empty() || req.accounts.len() > MAX_ACCOUNTS {
        v.add("accounts", format!("1 to {MAX_ACCOUNTS} accounts"));
    }
    let mut accounts = Vec::new();
    for (index, name) in req.accounts.iter().enumerate().take(MAX_ACCOUNTS) {
        let field = format!("accounts[{index}]");
        if let Some(account) = validate::resource_id(&mut v, &field, name, "accounts", true) {
            if accounts.contains(&account) {
                v.add(field, "repeats an account named before");
            } else {
                accounts.push(account);
            }
        }
    }
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("draft_id"))?;
    if let Some(done) = api
        .writer
        .replayed("SubmitDraft", principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    let root = api.jurisdiction(principal).await?;
    // Where each account lies, as the caller may see it.
    let asker = api.registry.as_caller(principal);
    let mut paths = Vec::with_capacity(accounts.len());
    for account in &accounts {
        let ledger = asker.account(account).await?;
        let organization = strip(&ledger.organization, "organizations/")?;
        paths.push(api.registry.as_service().unit(organization).await?.path);
    }

    let mut unit = api
        .writer
        .begin("SubmitDraft", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let now = stamp(&unit);
    let existing = store::reviews::draft(unit.txn(), &id).await?;
    let chain_id = match (&existing, chain_id) {
        (Some(draft), _) => draft.chain.clone(),
        (None, Some(chain)) => chain,
        (None, None) => {
            return Err(RoutingError::Api(ApiError::invalid(vec![FieldViolation {
                field: "chain".to_owned(),
                description: "is required for a new draft".to_owned(),
            }])));
        }
    };
    let chain_name = format!("reviewChains/{chain_id}");
    let chain = store::reviews::chain(unit.txn(), &chain_id)
        .await?
        .ok_or_else(|| RoutingError::NotFound(chain_name.clone()))?;
    if !within(&root.path, &chain.organization_path) {
        return Err(RoutingError::OutsideJurisdiction(chain_name));
    }
    for (index, path) in paths.iter().enumerate() {
        if !within(&chain.organization_path, path) {
            return Err(RoutingError::Api(ApiError::invalid(vec![FieldViolation {
                field: format!("accounts[{index}]"),
                description: format!(
                    "is not an account of {}",
                    convert::organization_name(&chain.organization)
                ),
            }])));
        }
    }
    let draft = match existing {
        Some(mut draft) => {
            // Only the author revises: a revision by someone else would make them the author
            // of text they may then approve.
            if draft.created.actor != principal.subject
                || draft.created.actor_organization != principal.organization
            {
                return Err(RoutingError::Api(
                    ApiError::new(
                        govmedia_kit::error::ErrorCode::PermissionDenied,
                        govmedia_proto::common::v1::ErrorReason::StepNotAllowed,
                        format!("{}: only its author submits a new revision", draft.name()),
                    )
                    .with_metadata("draft", draft.name())
                    .localized("只有稿件作者可以提交修改稿"),
                ));
            }
            let expected = draft.version;
            draft
                .revise(req.title.trim(), &req.text, accounts)
                .map_err(|error| RoutingError::Review {
                    draft: draft.name(),
                    error,
                })?;
            draft.version += 1;
            if !store::reviews::update_draft(unit.txn(), &draft, expected).await? {
                return Err(RoutingError::EtagMismatch {
                    resource: draft.name(),
                    current: convert::etag(expected + 1),
                });
            }
            draft
        }
        None => {
            let draft = Draft {
                id,
                chain: chain.id.clone(),
                organization: chain.organization.clone(),
                organization_path: chain.organization_path.clone(),
                title: req.title.trim().to_owned(),
                text: req.text.clone(),
                accounts,
                revision: 1,
                state: DraftState::InReview,
                current_level: 0,
                reviews: Vec::new(),
                content_hash: None,
                approved_at: None,
                created: now,
                version: 1,
            };
            store::reviews::insert_draft(unit.txn(), &draft).await?;
            draft
        }
    };
    unit.audit(
        &draft.name(),
        &draft.organization_path,
        json!({ "revision": draft.revision, "chain": chain.name() }),
    );
    Ok(unit.commit(convert::draft(&draft)).await?)
}

pub(super) async fn review(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::ReviewDraftRequest,
) -> Result<pb::Draft, RoutingError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "drafts", true);
    validate::request_id(&mut v, "request_id", &req.request_id);
    super::validation::reason(&mut v, "comment", &req.comment, !req.approve);
    let mut aspects = Vec::new();
    for (index, number) in req.aspects.iter().enumerate().take(Aspect::ALL.len() * 2) {
        let field = format!("aspects[{index}]");
        if let Some(aspect) = validate::enum_value(&mut v, &field, *number, true, Aspect::from_i32)
            && !aspects.contains(&aspect)
        {
            aspects.push(aspect);
        }
    }
    if req.aspects.len() > Aspect::ALL.len() * 2 {
        v.add("aspects", "at most the five aspects");
    }
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;
    // A named reviewer is named by subject; the subject alone proves nothing outside the
    // draft's line of jurisdiction.
    let root = api.jurisdiction(principal).await?;
    let mut unit = api
        .writer
        .begin("ReviewDraft", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let name = format!("drafts/{id}");
    let mut draft = store::reviews::draft(unit.txn(), &id)
        .await?
        .ok_or_else(|| RoutingError::NotFound(name.clone()))?;
    if !on_line(&root.path, &draft.organization_path) {
        return Err(RoutingError::OutsideJurisdiction(name));
    }
    let chain = store::reviews::chain(unit.txn(), &draft.chain)
        .await?
        .ok_or_else(|| RoutingError::NotFound(format!("reviewChains/{}", draft.chain)))?;
    check_etag(&req.etag, draft.version, &name)?;
    let reviewer = Reviewer {
        subject: principal.subject.clone(),
        organization: principal.organization.clone(),
        roles: principal
            .roles
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect(),
    };
    let now = stamp(&unit);
    let expected = draft.version;
    draft
        .review(&chain, &reviewer, req.approve, &req.comment, &aspects, &now)
        .map_err(|error| RoutingError::Review {
            draft: name.clone(),
            error,
        })?;
    draft.version += 1;
    if !store::reviews::update_draft(unit.txn(), &draft, expected).await? {
        return Err(RoutingError::EtagMismatch {
            resource: name,
            current: convert::etag(expected + 1),
        });
    }
    // Who reviewed what.
    unit.audit(
        &name,
        &draft.organization_path,
        json!({
            "revision": draft.revision,
            "level": draft.reviews.last().map(|r| r.level),
            "approved": req.approve,
            "aspects": aspects.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            "comment": req.comment,
            "state": draft.state.as_str(),
            "content_hash": draft.content_hash,
        }),
    );
    Ok(unit.commit(convert::draft(&draft)).await?)
}

pub(super) async fn get(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::GetDraftRequest,
) -> Result<pb::Draft, RoutingError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "drafts", true);
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;
    let root = api.jurisdiction(principal).await?;
    let name = format!("drafts/{id}");
    let draft = store::reviews::draft(api.conn(), &id)
        .await?
        .ok_or_else(|| RoutingError::NotFound(name.clone()))?;
    if !on_line(&root.path, &draft.organization_path) {
        return Err(RoutingError::OutsideJurisdiction(name));
    }
    Ok(convert::draft(&draft))
}

pub(super) async fn lookup(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::LookupApprovedContentRequest,
) -> Result<pb::LookupApprovedContentResponse, RoutingError> {
    let mut v = Violations::new();
    let account = validate::resource_id(&mut v, "account", &req.account, "accounts", false);
    let hash = match (req.content_hash.is_empty(), req.text.trim().is_empty()) {
        (false, true) => {
            if req.content_hash.len() != 64
                || !req
                    .content_hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                v.add(
                    "content_hash",
                    "must be 64 lower-case hexadecimal digits (SHA-256)",
                );
            }
            req.content_hash.clone()
        }
        (true, false) => {
            validate::multiline_text(&mut v, "text", &req.text, MAX_DRAFT, true);
            review::content_hash(&req.text)
        }
        (false, false) => {
            v.add("text", "give a content hash or a text, not both");
            String::new()
        }
        (true, true) => {
            v.add("content_hash", "a content hash or a text is required");
            String::new()
        }
    };
    v.finish()?;
    let root = api.jurisdiction(principal).await?;
    // An account outside the caller's jurisdiction is refused, not answered with nothing.
    if let Some(account) = account.as_deref() {
        api.registry.as_caller(principal).account(account).await?;
    }
    let matches = store::reviews::approved_with_hash(api.conn(), &hash)
        .await?
        .into_iter()
        .filter(|d| within(&root.path, &d.organization_path))
        .filter(|d| account.as_ref().is_none_or(|a| d.accounts.contains(a)))
        .map(|d| pb::ApprovedContent {
            draft: d.name(),
            revision: d.revision as i32,
            approved_time: d.approved_at.map(to_proto),
            accounts: d
                .accounts
                .iter()
                .map(|a| convert::account_name(a))
                .collect(),
        })
        .collect();
    Ok(pb::LookupApprovedContentResponse {
        content_hash: hash,
        matches,
    })
}
