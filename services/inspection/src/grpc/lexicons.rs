//! Lexicon handlers: put a lexicon file in force, list those in force, scan a text with them.

use govmedia_kit::{auth::Principal, error::Violations, validate};
use govmedia_proto::inspection::v1 as pb;
use govmedia_scanner::Lexicon;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{InspectionApi, convert, stamp, unvalidated, validation};
use crate::{
    domain::{STARTER, finding::WordingHit},
    error::InspectionError,
    store::{self, lexicons::Record},
};

/// Largest lexicon file, in bytes: what fits in one call under the 4 MiB message limit.
pub const MAX_LEXICON_BYTES: usize = 4_000_000;

/// Most hits ScanText returns (`total_hits` counts them all).
pub const MAX_SCAN_HITS: usize = 1_000;

/// Longest text ScanText takes, in characters.
pub const MAX_SCAN_CHARS: usize = validation::MAX_TEXT;

pub(super) async fn put(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::PutLexiconRequest,
) -> Result<pb::Lexicon, InspectionError> {
    let mut v = Violations::new();
    let name_owned = validate::resource_id(&mut v, "name", &req.name, "lexicons", true);
    let name = name_owned.as_deref();
    if name == Some(STARTER) {
        v.add(
            "name",
            "lexicons/starter is shipped and cannot be replaced; put another lexicon beside it",
        );
    }
    if api
        .lexicons
        .files()
        .iter()
        .any(|file| Some(file.name.as_str()) == name)
    {
        v.add(
            "name",
            "is a lexicon the settings load from a file; change the file instead",
        );
    }
    if req.text.len() > MAX_LEXICON_BYTES {
        v.add("text", format!("must be at most {MAX_LEXICON_BYTES} bytes"));
    } else if req.text.trim().is_empty() {
        v.add("text", "is required");
    }
    validate::request_id(&mut v, "request_id", &req.request_id);
    v.finish()?;
    let Some(name) = name else {
        return Err(unvalidated("name"));
    };
    // Every check of the suite scans with the lexicons: only the root's supervisors change them.
    let root = api.registry.as_caller(principal).jurisdiction().await?;
    if root.id != api.root {
        return Err(InspectionError::NotRoot {
            root: api.root.clone(),
        });
    }
    let lexicon = Lexicon::parse(&req.text).map_err(|error| InspectionError::Lexicon {
        name: name.to_owned(),
        error,
    })?;
    let mut unit = api
        .writer
        .begin("PutLexicon", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let digest = Sha256::digest(req.text.as_bytes());
    let record = Record {
        name: name.to_owned(),
        version: lexicon.version.clone(),
        text: req.text.clone(),
        sha256: digest.iter().map(|byte| format!("{byte:02x}")).collect(),
        wording_count: i32::try_from(lexicon.entries.len()).unwrap_or(i32::MAX),
        allowed_count: i32::try_from(lexicon.allowed.len()).unwrap_or(i32::MAX),
        updated: stamp(&unit),
    };
    store::lexicons::put(unit.txn(), &record).await?;
    let resource = convert::lexicon_name(name);
    unit.audit(
        &resource,
        &convert::organization_name(&api.root),
        json!({ "version": record.version, "sha256": record.sha256, "wordings": record.wording_count }),
    );
    let response = convert::lexicon(&record);
    Ok(unit.commit(response).await?)
}

pub(super) async fn delete(
    api: &InspectionApi,
    principal: &Principal,
    req: pb::DeleteLexiconRequest,
) -> Result<pb::Lexicon, InspectionError> {
    let mut v = Violations::new();
    let name_owned = validate::resource_id(&mut v, "name", &req.name, "lexicons", true);
    let name = name_owned.as_deref();
    if name == Some(STARTER) {
        v.add("name", "lexicons/starter is shipped and cannot be deleted");
    }
    if api
        .lexicons
        .files()
        .iter()
        .any(|file| Some(file.name.as_str()) == name)
    {
        v.add(
            "name",
            "is a lexicon the settings load from a file; remove it from inspection.lexicon_files",
        );
    }
    v.finish()?;
    let Some(name) = name else {
        return Err(unvalidated("name"));
    };
    let root = api.registry.as_caller(principal).jurisdiction().await?;
    if root.id != api.root {
        return Err(InspectionError::NotRoot {
            root: api.root.clone(),
        });
    }
    let mut unit = api
        .writer
        .begin("DeleteLexicon", principal, "", &req)
        .await?;
    let record = store::lexicons::get(unit.txn(), name)
        .await?
        .ok_or_else(|| InspectionError::NotFound(convert::lexicon_name(name)))?;
    store::lexicons::delete(unit.txn(), name).await?;
    let response = convert::lexicon(&record);
    unit.audit(
        &response.name,
        &convert::organization_name(&api.root),
        json!({ "version": record.version, "sha256": record.sha256 }),
    );
    Ok(unit.commit(response).await?)
}

pub(super) async fn list(
    api: &InspectionApi,
    _principal: &Principal,
    _req: pb::ListLexiconsRequest,
) -> Result<pb::ListLexiconsResponse, InspectionError> {
    let starter = Lexicon::starter();
    let mut lexicons = vec![pb::Lexicon {
        name: convert::lexicon_name(STARTER),
        version: starter.version.clone(),
        wording_count: i32::try_from(starter.entries.len()).unwrap_or(i32::MAX),
        allowed_count: i32::try_from(starter.allowed.len()).unwrap_or(i32::MAX),
        ..Default::default()
    }];
    for file in api.lexicons.files() {
        if let Ok(lexicon) = Lexicon::parse(&file.text) {
            let digest = Sha256::digest(file.text.as_bytes());
            lexicons.push(pb::Lexicon {
                name: convert::lexicon_name(&file.name),
                version: lexicon.version,
                wording_count: i32::try_from(lexicon.entries.len()).unwrap_or(i32::MAX),
                allowed_count: i32::try_from(lexicon.allowed.len()).unwrap_or(i32::MAX),
                sha256: digest.iter().map(|byte| format!("{byte:02x}")).collect(),
                updated: None,
            });
        }
    }
    lexicons.extend(
        store::lexicons::all(api.conn())
            .await?
            .iter()
            .map(convert::lexicon),
    );
    lexicons.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(pb::ListLexiconsResponse { lexicons })
}

pub(super) async fn scan(
    api: &InspectionApi,
    _principal: &Principal,
    req: pb::ScanTextRequest,
) -> Result<pb::ScanTextResponse, InspectionError> {
    let mut v = Violations::new();
    validation::limited(&mut v, "text", &req.text, MAX_SCAN_CHARS);
    if req.text.trim().is_empty() {
        v.add("text", "is required");
    }
    v.finish()?;
    let scanner = api.lexicons.scanner(api.conn()).await?;
    let versions = scanner.versions().to_vec();
    let text = req.text;
    let hits =
        govmedia_kit::worker::blocking("scanning a text", move || scanner.scan(&text)).await?;
    Ok(pb::ScanTextResponse {
        total_hits: i32::try_from(hits.len()).unwrap_or(i32::MAX),
        hits: hits
            .iter()
            .take(MAX_SCAN_HITS)
            .map(|hit| convert::hit(&WordingHit::from(hit)))
            .collect(),
        lexicon_versions: versions,
    })
}
