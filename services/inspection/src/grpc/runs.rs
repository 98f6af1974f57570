//! Monitoring run handlers: a supervisor of the suite's root asks for a run; the monitor
//! ([`crate::monitor`]) works through them. Runs cover the whole suite, so only the root's
//! supervisors and auditors read them.

use govmedia_kit::{
    auth::{Principal, Role},
    error::Violations,
    paging::{Page, fingerprint},
    validate,
};
use govmedia_proto::inspection::v1 as pb;
use serde_json::json;

use super::{InspectionApi, convert, unvalidated};
use crate::{domain::run::RunMode, error::InspectionError, store};

/// Refuses a person or outside system whose jurisdiction is not the suite's root; the
/// service's own callers (SYSTEM) pass.
async fn at_root(api: &InspectionApi, principal: &Principal) -> Result<(), InspectionError> {
    if principal.roles.contains(&Role::System) {
        return Ok(());
    }
    let root = api.registry.as_caller(principal).jurisdiction().await?;
    if root.id == api.root {
        Ok(())
    } else {
        Err(InspectionError::NotRoot {
            root: api.root.clone(),
        })
    }
}

pub(super) async fn start(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::StartMonitoringRunRequest,
) -> Result<pb::MonitoringRun, InspectionError> {
    let mut v = Violations::new();
    validate::request_id(&mut v, "request_id", &req.request_id);
    v.finish()?;
    at_root(api, principal).await?;
    let mut unit = api
        .writer
        .begin("StartMonitoringRun", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let mode = if req.full {
        RunMode::Full
    } else {
        RunMode::Incremental
    };
    let run = api.new_run(mode, principal, unit.now());
    store::runs::insert(unit.txn(), &run).await?;
    let response = convert::run(&run);
    unit.audit(
        &response.name,
        &convert::organization_name(&api.root),
        json!({ "full": req.full }),
    );
    let response = unit.commit(response).await?;
    api.monitor.notify_one();
    Ok(response)
}

pub(super) async fn get(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::GetMonitoringRunRequest,
) -> Result<pb::MonitoringRun, InspectionError> {
    let mut v = Violations::new();
    let id_owned = validate::resource_id(&mut v, "name", &req.name, "monitoringRuns", true);
    v.finish()?;
    let Some(id) = id_owned.as_deref() else {
        return Err(unvalidated("name"));
    };
    at_root(api, principal).await?;
    let run = store::runs::get(api.conn(), id)
        .await?
        .ok_or_else(|| InspectionError::NotFound(convert::run_name(id)))?;
    Ok(convert::run(&run))
}

pub(super) async fn list(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::ListMonitoringRunsRequest,
) -> Result<pb::ListMonitoringRunsResponse, InspectionError> {
    let mut v = Violations::new();
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&["ListMonitoringRuns"]),
    );
    v.finish()?;
    at_root(api, principal).await?;
    let mut rows = store::runs::list(api.conn(), page.after_number()?, page.fetch_limit()).await?;
    let next = page.finish(&mut rows, |(_, seq)| seq.to_string());
    Ok(pb::ListMonitoringRunsResponse {
        monitoring_runs: rows.iter().map(|(run, _)| convert::run(run)).collect(),
        next_page_token: next,
    })
}
