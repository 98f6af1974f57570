//! Finding handlers: a supervisor's own findings, and reading findings back.

use govmedia_kit::{
    auth::Principal,
    error::Violations,
    paging::{Page, fingerprint},
    validate,
};
use govmedia_proto::inspection::v1 as pb;
use serde_json::json;

use super::{InspectionApi, convert, stamp, unvalidated, validation};
use crate::{
    domain::{
        Category, Evidence, Finding, Severity,
        finding::{MANUAL, excerpt},
    },
    error::InspectionError,
    events, store,
};

/// Longest summary of a manual finding.
pub const MAX_SUMMARY: usize = 500;

pub(super) async fn create(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::CreateFindingRequest,
) -> Result<pb::Finding, InspectionError> {
    let mut v = Violations::new();
    let account_owned = validate::resource_id(&mut v, "account", &req.account, "accounts", true);
    let account = account_owned.as_deref();
    let category = validate::enum_value(&mut v, "category", req.category, true, Category::from_i32);
    let severity = validate::enum_value(&mut v, "severity", req.severity, true, Severity::from_i32);
    validate::multiline_text(&mut v, "summary", &req.summary, MAX_SUMMARY, true);
    let post_owned = validate::resource_id(&mut v, "post", &req.post, "posts", false);
    let post = post_owned.as_deref();
    if !req.link.is_empty() {
        validation::http_url(&mut v, "link", &req.link);
    }
    validate::request_id(&mut v, "request_id", &req.request_id);
    v.finish()?;
    let (Some(account), Some(category), Some(severity)) = (account, category, severity) else {
        return Err(unvalidated("account"));
    };
    // The registry refuses an account outside the caller's jurisdiction.
    let account = api.ledger_account(principal, account).await?;
    let post = match post {
        None => None,
        Some(id) => {
            let found = store::posts::get(api.conn(), id)
                .await?
                .filter(|post| post.account == account.id);
            Some(found.ok_or_else(|| {
                InspectionError::Api(govmedia_kit::error::ApiError::invalid(vec![
                    govmedia_kit::error::FieldViolation {
                        field: "post".to_owned(),
                        description: format!(
                            "{} is no post of {}",
                            convert::post_name(id),
                            convert::account_name(&account.id)
                        ),
                    },
                ]))
            })?)
        }
    };
    let mut unit = api
        .writer
        .begin("CreateFinding", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let now = stamp(&unit);
    let id = format!("f{}", uuid::Uuid::now_v7().simple());
    let evidence = Evidence {
        post: post.as_ref().map(|post| post.id.clone()),
        platform_post_id: post.as_ref().map(|post| post.platform_post_id.clone()),
        published: post.as_ref().map(|post| post.published),
        link: (!req.link.is_empty()).then(|| req.link.clone()),
        excerpt: post
            .as_ref()
            .map(|post| excerpt(&post.text, 0, 0, 200))
            .unwrap_or_default(),
        source: "supervisor".to_owned(),
        ..Evidence::default()
    };
    let finding = Finding {
        key: format!("{MANUAL}:{id}"),
        id,
        account: account.id.clone(),
        organization: account.organization.clone(),
        path: account.path.clone(),
        category,
        detector: MANUAL.to_owned(),
        severity,
        summary: req.summary.trim().to_owned(),
        evidence,
        created: now.clone(),
        last_check: None,
        last_seen: now.time,
    };
    store::findings::insert(unit.txn(), &finding).await?;
    let response = convert::finding(&finding);
    events::finding_raised(&mut unit, &response).await?;
    unit.audit(
        &response.name,
        &convert::organization_name(&finding.organization),
        json!({ "account": response.account, "category": category.as_str(), "severity": severity.as_str() }),
    );
    Ok(unit.commit(response).await?)
}

pub(super) async fn get(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::GetFindingRequest,
) -> Result<pb::Finding, InspectionError> {
    let mut v = Violations::new();
    let id_owned = validate::resource_id(&mut v, "name", &req.name, "findings", true);
    let id = id_owned.as_deref();
    v.finish()?;
    let Some(id) = id else {
        return Err(unvalidated("name"));
    };
    let finding = store::findings::get(api.conn(), id)
        .await?
        .ok_or_else(|| InspectionError::NotFound(convert::finding_name(id)))?;
    api.in_reach(principal, &finding.path, convert::finding_name(id))
        .await?;
    Ok(convert::finding(&finding))
}

pub(super) async fn list(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::ListFindingsRequest,
) -> Result<pb::ListFindingsResponse, InspectionError> {
    let mut v = Violations::new();
    let account_owned = validate::resource_id(&mut v, "account", &req.account, "accounts", false);
    let account = account_owned.as_deref();
    let organization_owned = validate::resource_id(
        &mut v,
        "organization",
        &req.organization,
        "organizations",
        false,
    );
    let organization = organization_owned.as_deref();
    let category =
        validate::enum_value(&mut v, "category", req.category, false, Category::from_i32);
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[
            "ListFindings",
            &req.account,
            &req.organization,
            &req.category.to_string(),
        ]),
    );
    v.finish()?;
    let scope = api.scope(principal, organization).await?;
    if let Some(account) = account {
        api.account(principal, account).await?;
    }
    let filter = store::findings::Filter {
        path: scope.path,
        account: account.map(str::to_owned),
        category,
    };
    let mut rows = store::findings::list(
        api.conn(),
        &filter,
        page.after_number()?,
        page.fetch_limit(),
    )
    .await?;
    let next = page.finish(&mut rows, |(_, seq)| seq.to_string());
    Ok(pb::ListFindingsResponse {
        findings: rows
            .iter()
            .map(|(finding, _)| convert::finding(finding))
            .collect(),
        next_page_token: next,
    })
}
