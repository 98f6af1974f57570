//! Matrix relay: tasks that ask matrix accounts to relay a main account's post by a
//! deadline, confirmations, and the completion report.

use std::collections::HashSet;

use govmedia_kit::{
    auth::Principal,
    clock::from_proto,
    error::{ApiError, FieldViolation, Violations},
    validate,
};
use govmedia_proto::{registry::v1 as rpb, routing::v1 as pb};
use serde_json::json;

use super::{RoutingApi, convert, stamp, unvalidated};
use crate::{
    domain::relay::{self, Target, Task},
    error::RoutingError,
    store,
};

/// Most accounts one task asks.
const MAX_TARGETS: usize = 200;

/// Longest a task may run.
const MAX_DAYS: i64 = 30;

fn post_id(v: &mut Violations, field: &str, value: &str) {
    if value.is_empty() {
        v.add(field, "is required");
    } else if value.len() > 128 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        v.add(field, "must be at most 128 visible ASCII characters");
    }
}

pub(super) async fn create(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::CreateRelayTaskRequest,
) -> Result<pb::RelayTask, RoutingError> {
    let mut v = Violations::new();
    let id = validate::id(&mut v, "task_id", &req.task_id).map(str::to_owned);
    validate::request_id(&mut v, "request_id", &req.request_id);
    let Some(source) = &req.task else {
        v.add("task", "is required");
        v.finish()?;
        return Err(unvalidated("task"));
    };
    let main = validate::resource_id(
        &mut v,
        "task.source_account",
        &source.source_account,
        "accounts",
        true,
    );
    post_id(&mut v, "task.source_post_id", &source.source_post_id);
    validate::text(&mut v, "task.title", &source.title, 200, true);
    if !source.source_url.is_empty() {
        validate::https_url(&mut v, "task.source_url", &source.source_url);
    }
    if source.targets.is_empty() || source.targets.len() > MAX_TARGETS {
        v.add("task.targets", format!("1 to {MAX_TARGETS} accounts"));
    }
    let mut targets = Vec::new();
    let mut seen = HashSet::new();
    for (index, target) in source.targets.iter().enumerate().take(MAX_TARGETS) {
        let field = format!("task.targets[{index}].account");
        if let Some(account) =
            validate::resource_id(&mut v, &field, &target.account, "accounts", true)
        {
            if Some(&account) == main.as_ref() {
                v.add(field, "is the main account itself");
            } else if !seen.insert(account.clone()) {
                v.add(field, "repeats an account named before");
            } else {
                targets.push(account);
            }
        }
    }
    let due = match &source.due_time {
        None => {
            v.add("task.due_time", "is required");
            None
        }
        Some(time) => {
            let due = from_proto(time);
            let now = api.writer.clock().now();
            match due {
                None => v.add("task.due_time", "is not a valid timestamp"),
                Some(due) if due <= now => v.add("task.due_time", "must be in the future"),
                Some(due) if due > now + chrono::Duration::days(MAX_DAYS) => {
                    v.add("task.due_time", format!("must be within {MAX_DAYS} days"))
                }
                Some(_) => {}
            }
            due
        }
    };
    v.finish()?;
    let (Some(id), Some(main), Some(due)) = (id, main, due) else {
        return Err(unvalidated("task"));
    };
    if let Some(done) = api
        .writer
        .replayed("CreateRelayTask", principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    let root = api.jurisdiction(principal).await?;
    // The main account and every target as the caller sees them: in its jurisdiction, and the
    // targets ACTIVE (a suspended account relays nothing).
    let asker = api.registry.as_caller(principal);
    asker.account(&main).await?;
    // Each target's unit path, kept with it: the units below the setter that may see the task
    // are those whose subtree holds a target.
    let mut paths: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut target_paths = Vec::with_capacity(targets.len());
    for (index, account) in targets.iter().enumerate() {
        let ledger = asker.account(account).await?;
        if ledger.status != rpb::AccountStatus::Active as i32 {
            return Err(RoutingError::Api(ApiError::invalid(vec![FieldViolation {
                field: format!("task.targets[{index}].account"),
                description: "is not ACTIVE".to_owned(),
            }])));
        }
        let organization = ledger
            .organization
            .strip_prefix("organizations/")
            .unwrap_or(&ledger.organization)
            .to_owned();
        let path = match paths.get(&organization) {
            Some(path) => path.clone(),
            None => {
                let path = api.registry.as_service().unit(&organization).await?.path;
                paths.insert(organization, path.clone());
                path
            }
        };
        target_paths.push(path);
    }
    let mut unit = api
        .writer
        .begin("CreateRelayTask", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let task = Task {
        id,
        organization: root.id.clone(),
        organization_path: root.path.clone(),
        source_account: main,
        source_post_id: source.source_post_id.clone(),
        title: source.title.trim().to_owned(),
        source_url: source.source_url.clone(),
        targets: targets
            .into_iter()
            .zip(target_paths)
            .map(|(account, organization_path)| Target {
                account,
                organization_path,
                relayed_post_id: String::new(),
                confirmed: None,
            })
            .collect(),
        due,
        created: stamp(&unit),
        version: 1,
    };
    if store::relays::get(unit.txn(), &task.id).await?.is_some() {
        return match unit.into_replay().await? {
            Some(first) => Ok(first),
            None => Err(RoutingError::AlreadyExists(task.name())),
        };
    }
    store::relays::insert(unit.txn(), &task).await?;
    unit.audit(
        &task.name(),
        &task.organization_path,
        json!({ "source_account": task.source_account, "targets": task.targets.len() }),
    );
    let now = unit.now();
    Ok(unit.commit(convert::relay_task(&task, now)).await?)
}

pub(super) async fn confirm(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::ConfirmRelayRequest,
) -> Result<pb::RelayTask, RoutingError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "relayTasks", true);
    let account = validate::resource_id(&mut v, "account", &req.account, "accounts", true);
    post_id(&mut v, "relayed_post_id", &req.relayed_post_id);
    validate::request_id(&mut v, "request_id", &req.request_id);
    v.finish()?;
    let (Some(id), Some(account)) = (id, account) else {
        return Err(unvalidated("name"));
    };
    // Only the account's own unit confirms for it (or a govmedia service): whoever set the
    // task cannot certify its own report.
    let ledger = api.registry.as_caller(principal).account(&account).await?;
    let owner = govmedia_registry_client::strip(&ledger.organization, "organizations/")?;
    if owner != principal.organization && !principal.has(govmedia_kit::auth::Role::System) {
        return Err(RoutingError::Api(
            ApiError::new(
                govmedia_kit::error::ErrorCode::PermissionDenied,
                govmedia_proto::common::v1::ErrorReason::StepNotAllowed,
                format!(
                    "accounts/{account} belongs to {}: only its own unit confirms its relay",
                    ledger.organization
                ),
            )
            .localized("只有账号所属单位可以确认转载"),
        ));
    }
    let mut unit = api
        .writer
        .begin("ConfirmRelay", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let name = format!("relayTasks/{id}");
    let mut task = store::relays::get(unit.txn(), &id)
        .await?
        .ok_or_else(|| RoutingError::NotFound(name.clone()))?;
    let expected = task.version;
    let now = stamp(&unit);
    let changed = task
        .confirm(&account, &req.relayed_post_id, &now)
        .map_err(|error| RoutingError::Relay {
            task: name.clone(),
            error,
        })?;
    if changed {
        task.version += 1;
        if !store::relays::update(unit.txn(), &task, expected).await? {
            return Err(RoutingError::EtagMismatch {
                resource: name,
                current: convert::etag(expected + 1),
            });
        }
        unit.audit(
            &task.name(),
            &task.organization_path,
            json!({
                "account": convert::account_name(&account),
                "relayed_post_id": req.relayed_post_id,
                "late": now.time > task.due,
            }),
        );
    }
    Ok(unit.commit(convert::relay_task(&task, now.time)).await?)
}

pub(super) async fn get(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::GetRelayTaskRequest,
) -> Result<pb::RelayTask, RoutingError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "relayTasks", true);
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;
    let root = api.jurisdiction(principal).await?;
    let name = format!("relayTasks/{id}");
    let task = store::relays::get(api.conn(), &id)
        .await?
        .ok_or_else(|| RoutingError::NotFound(name.clone()))?;
    // The setter's line sees it: the levels above, and the units below that were asked.
    if !relay::visible_to(&task, &root.path) {
        return Err(RoutingError::OutsideJurisdiction(name));
    }
    Ok(convert::relay_task(&task, api.writer.clock().now()))
}
