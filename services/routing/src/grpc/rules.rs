//! Routing-rule handlers: a unit's dispatchers say which department gets which messages.

use std::collections::HashSet;

use govmedia_kit::{
    auth::Principal,
    error::{ApiError, ErrorCode, Violations},
    validate,
};
use govmedia_proto::{common::v1::ErrorReason, routing::v1 as pb};
use serde_json::json;

use super::{RoutingApi, convert, organization_in, stamp, unvalidated, validation};
use crate::{
    domain::{Category, RoutingRule, within},
    error::RoutingError,
    store,
};

/// Most keywords (and region prefixes, and categories) of one rule.
pub const MAX_TERMS: usize = 50;

/// Longest keyword.
pub const MAX_KEYWORD: usize = 50;

/// A validated CreateRoutingRule.
struct NewRule {
    id: String,
    organization: String,
    categories: Vec<Category>,
    keywords: Vec<String>,
    region_prefixes: Vec<String>,
    department: String,
    priority: i32,
}

fn check(req: &pb::CreateRoutingRuleRequest) -> Result<NewRule, RoutingError> {
    let mut v = Violations::new();
    let id = validate::id(&mut v, "rule_id", &req.rule_id).map(str::to_owned);
    validate::request_id(&mut v, "request_id", &req.request_id);
    let Some(rule) = &req.rule else {
        v.add("rule", "is required");
        v.finish()?;
        return Err(unvalidated("rule"));
    };
    let organization = validate::resource_id(
        &mut v,
        "rule.organization",
        &rule.organization,
        "organizations",
        true,
    );
    let department = validate::resource_id(
        &mut v,
        "rule.department",
        &rule.department,
        "organizations",
        true,
    );
    for (field, len) in [
        ("rule.categories", rule.categories.len()),
        ("rule.keywords", rule.keywords.len()),
        ("rule.region_prefixes", rule.region_prefixes.len()),
    ] {
        if len > MAX_TERMS {
            v.add(field, format!("at most {MAX_TERMS}"));
        }
    }
    let mut categories = Vec::new();
    for (index, number) in rule.categories.iter().enumerate().take(MAX_TERMS) {
        let field = format!("rule.categories[{index}]");
        if let Some(category) =
            validate::enum_value(&mut v, &field, *number, true, Category::from_i32)
        {
            if categories.contains(&category) {
                v.add(field, "repeats a category named before");
            } else {
                categories.push(category);
            }
        }
    }
    let mut seen = HashSet::new();
    for (index, keyword) in rule.keywords.iter().enumerate().take(MAX_TERMS) {
        let field = format!("rule.keywords[{index}]");
        validate::text(&mut v, &field, keyword, MAX_KEYWORD, true);
        if crate::domain::text::fold(keyword).is_empty() {
            v.add(&field, "must hold a letter, digit or character to match");
        } else if !seen.insert(crate::domain::text::fold(keyword)) {
            v.add(field, "repeats a keyword named before");
        }
    }
    for (index, prefix) in rule.region_prefixes.iter().enumerate().take(MAX_TERMS) {
        let field = format!("rule.region_prefixes[{index}]");
        if prefix.is_empty() {
            v.add(field, "is required");
        } else {
            validation::region_code(&mut v, &field, prefix);
        }
    }
    if !(0..=1000).contains(&rule.priority) {
        v.add("rule.priority", "must be between 0 and 1000");
    }
    v.finish()?;
    let (Some(id), Some(organization), Some(department)) = (id, organization, department) else {
        return Err(unvalidated("rule"));
    };
    Ok(NewRule {
        id,
        organization,
        categories,
        keywords: rule.keywords.iter().map(|k| k.trim().to_owned()).collect(),
        region_prefixes: rule.region_prefixes.clone(),
        department,
        priority: rule.priority,
    })
}

pub(super) async fn create(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::CreateRoutingRuleRequest,
) -> Result<pb::RoutingRule, RoutingError> {
    let new = check(&req)?;
    if let Some(done) = api
        .writer
        .replayed("CreateRoutingRule", principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    let root = api.jurisdiction(principal).await?;
    let (organization, organization_path) =
        organization_in(api, principal, &root, &new.organization).await?;
    let (department, department_path) =
        organization_in(api, principal, &root, &new.department).await?;

    let mut unit = api
        .writer
        .begin("CreateRoutingRule", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let rule = RoutingRule {
        id: new.id,
        organization,
        organization_path,
        categories: new.categories,
        keywords: new.keywords,
        region_prefixes: new.region_prefixes,
        department,
        department_path,
        priority: new.priority,
        created: stamp(&unit),
    };
    if store::rules::get(unit.txn(), &rule.id).await?.is_some() {
        return match unit.into_replay().await? {
            Some(first) => Ok(first),
            None => Err(RoutingError::AlreadyExists(rule.name())),
        };
    }
    store::rules::insert(unit.txn(), &rule).await?;
    unit.audit(
        &rule.name(),
        &rule.organization_path,
        json!({
            "department": convert::organization_name(&rule.department),
            "categories": rule.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            "keywords": rule.keywords,
            "region_prefixes": rule.region_prefixes,
            "priority": rule.priority,
        }),
    );
    Ok(unit.commit(convert::rule(&rule)).await?)
}

pub(super) async fn list(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::ListRoutingRulesRequest,
) -> Result<pb::ListRoutingRulesResponse, RoutingError> {
    let mut v = Violations::new();
    let organization = validate::resource_id(
        &mut v,
        "organization",
        &req.organization,
        "organizations",
        false,
    );
    v.finish()?;
    let scope = api
        .registry
        .as_caller(principal)
        .scope(organization.as_deref())
        .await?;
    let rules = store::rules::applying_to(api.conn(), &scope.path).await?;
    Ok(pb::ListRoutingRulesResponse {
        rules: rules.iter().map(convert::rule).collect(),
    })
}

pub(super) async fn delete(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::DeleteRoutingRuleRequest,
) -> Result<pb::RoutingRule, RoutingError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "routingRules", true);
    validate::request_id(&mut v, "request_id", &req.request_id);
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;
    let root = api.jurisdiction(principal).await?;
    let mut unit = api
        .writer
        .begin("DeleteRoutingRule", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let name = format!("routingRules/{id}");
    let rule = store::rules::get(unit.txn(), &id)
        .await?
        .ok_or_else(|| RoutingError::NotFound(name.clone()))?;
    if !within(&root.path, &rule.organization_path) {
        return Err(RoutingError::OutsideJurisdiction(name));
    }
    // A rule set from above for a unit is the upper level's to withdraw, not the unit's.
    let setter = &rule.created.actor_organization;
    let setter_path = api.registry.as_service().unit(setter).await?.path;
    if !within(&root.path, &setter_path) {
        return Err(RoutingError::Api(
            ApiError::new(
                ErrorCode::PermissionDenied,
                ErrorReason::OutsideJurisdiction,
                format!(
                    "{name} was set by organizations/{setter}: only a caller whose jurisdiction holds it deletes it"
                ),
            )
            .localized("该规则由上级设置，只能由上级删除"),
        ));
    }
    store::rules::delete(unit.txn(), &id).await?;
    unit.audit(
        &name,
        &rule.organization_path,
        json!({ "department": convert::organization_name(&rule.department) }),
    );
    Ok(unit.commit(convert::rule(&rule)).await?)
}
