//! Scheme handlers: put a version, read one, list the latest, list the detectors they may bind.

use govmedia_kit::{auth::Principal, db::is_unique_violation, error::Violations, validate};
use govmedia_proto::inspection::v1 as pb;
use serde_json::json;

use super::{InspectionApi, convert, stamp, unvalidated};
use crate::{
    domain::{
        Scheme, detect,
        scheme::{self, is_shipped, shipped},
        within,
    },
    error::InspectionError,
    store,
};

/// The scheme `id` in version `version` (0: the latest), shipped or put.
pub(super) async fn find(
    api: &InspectionApi,
    id: &str,
    version: i32,
) -> Result<Scheme, InspectionError> {
    let found = match shipped().into_iter().find(|scheme| scheme.id == id) {
        Some(scheme) if version == 0 || version == scheme.version => Some(scheme),
        Some(_) => None,
        None => store::schemes::get(api.conn(), id, version).await?,
    };
    found.ok_or_else(|| {
        InspectionError::NotFound(if version == 0 {
            convert::scheme_name(id)
        } else {
            format!("{} version {version}", convert::scheme_name(id))
        })
    })
}

pub(super) async fn put(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::PutSchemeRequest,
) -> Result<pb::Scheme, InspectionError> {
    let mut v = Violations::new();
    validate::request_id(&mut v, "request_id", &req.request_id);
    let Some(source) = req.scheme.as_ref() else {
        v.add("scheme", "is required");
        v.finish()?;
        return Err(unvalidated("scheme"));
    };
    let id_owned = validate::resource_id(&mut v, "scheme.name", &source.name, "schemes", true);
    let id = id_owned.as_deref();
    if id.is_some_and(is_shipped) {
        v.add(
            "scheme.name",
            "is a shipped scheme, which cannot be replaced; put a scheme of another name",
        );
    }
    let organization_owned = validate::resource_id(
        &mut v,
        "scheme.organization",
        &source.organization,
        "organizations",
        true,
    );
    let organization = organization_owned.as_deref();
    v.finish()?;
    let (Some(id), Some(organization)) = (id, organization) else {
        return Err(unvalidated("scheme"));
    };
    let mut scheme = convert::scheme_of(id, source).map_err(InspectionError::Scheme)?;
    let problems = scheme::problems(&scheme);
    if !problems.is_empty() {
        return Err(InspectionError::Scheme(problems));
    }
    // A scheme is put by a management department for an organization of its jurisdiction; a
    // new version only by whoever's jurisdiction holds the organization that owns the scheme.
    api.management_only(principal, "setting indicator schemes")
        .await?;
    let owner = api.scope(principal, Some(organization)).await?;
    let previous = store::schemes::get(api.conn(), id, 0).await?;
    if let Some(previous) = &previous {
        let root = api.registry.as_caller(principal).jurisdiction().await?;
        if !previous
            .path
            .as_deref()
            .is_some_and(|path| within(&root.path, path))
        {
            return Err(InspectionError::OutsideJurisdiction(convert::scheme_name(
                id,
            )));
        }
    }
    let mut unit = api
        .writer
        .begin("PutScheme", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let latest = store::schemes::get(unit.txn(), id, 0).await?;
    scheme.version = latest.map_or(1, |latest| latest.version + 1);
    scheme.organization = Some(owner.id.clone());
    scheme.path = Some(owner.path.clone());
    scheme.updated = Some(stamp(&unit));
    match store::schemes::insert(unit.txn(), &scheme).await {
        Ok(()) => {}
        Err(error) if is_unique_violation(&error) => {
            return match unit.into_replay().await? {
                Some(first) => Ok(first),
                None => Err(InspectionError::Api(govmedia_kit::error::ApiError::new(
                    govmedia_kit::error::ErrorCode::Aborted,
                    govmedia_proto::common::v1::ErrorReason::ConcurrentChange,
                    format!(
                        "{} got another version at the same moment; read it and put yours again",
                        convert::scheme_name(id)
                    ),
                ))),
            };
        }
        Err(error) => return Err(error.into()),
    }
    let resource = convert::scheme_name(id);
    unit.audit(
        &resource,
        &convert::organization_name(&owner.id),
        json!({ "version": scheme.version, "items": scheme.items.len() }),
    );
    let response = convert::scheme(&scheme);
    Ok(unit.commit(response).await?)
}

pub(super) async fn get(
    api: &InspectionApi,
    _principal: &Principal,
    req: pb::GetSchemeRequest,
) -> Result<pb::Scheme, InspectionError> {
    let mut v = Violations::new();
    let id_owned = validate::resource_id(&mut v, "name", &req.name, "schemes", true);
    let id = id_owned.as_deref();
    if req.version < 0 {
        v.add("version", "must not be negative (0 means the latest)");
    }
    v.finish()?;
    let Some(id) = id else {
        return Err(unvalidated("name"));
    };
    Ok(convert::scheme(&find(api, id, req.version).await?))
}

pub(super) async fn list(
    api: &InspectionApi,
    _principal: &Principal,
    _req: pb::ListSchemesRequest,
) -> Result<pb::ListSchemesResponse, InspectionError> {
    let mut schemes: Vec<pb::Scheme> = shipped().iter().map(convert::scheme).collect();
    schemes.extend(
        store::schemes::latest(api.conn())
            .await?
            .iter()
            .map(convert::scheme),
    );
    schemes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(pb::ListSchemesResponse { schemes })
}

pub(super) async fn detectors(
    _api: &InspectionApi,
    _principal: &Principal,
    _req: pb::ListDetectorsRequest,
) -> Result<pb::ListDetectorsResponse, InspectionError> {
    Ok(pb::ListDetectorsResponse {
        detectors: detect::DETECTORS.iter().map(convert::detector).collect(),
    })
}
