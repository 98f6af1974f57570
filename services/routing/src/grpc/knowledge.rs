//! The policy knowledge base: entries owned by departments, and answers suggested for a
//! case or a question from the entries in force on the caller's line of jurisdiction.

use std::collections::HashMap;

use govmedia_kit::{auth::Principal, clock::from_proto, error::Violations, validate};
use govmedia_proto::routing::v1 as pb;
use serde_json::json;

use super::{RoutingApi, convert, organization_in, sees, stamp, unvalidated};
use crate::{
    domain::{
        knowledge::{self, Entry},
        on_line,
    },
    error::RoutingError,
    store,
};

/// Longest question.
const MAX_QUESTION: usize = 500;

/// Longest answer.
const MAX_ANSWER: usize = 5000;

/// 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z: the span a policy's validity is given in.
const EARLIEST: i64 = 946_684_800;
const LATEST: i64 = 4_102_444_800;

/// Most distinct grams of a question that are looked up.
const MAX_QUERY_GRAMS: usize = 300;

pub(super) async fn create(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::CreateKnowledgeEntryRequest,
) -> Result<pb::KnowledgeEntry, RoutingError> {
    let mut v = Violations::new();
    let id = validate::id(&mut v, "entry_id", &req.entry_id).map(str::to_owned);
    validate::request_id(&mut v, "request_id", &req.request_id);
    let Some(source) = &req.entry else {
        v.add("entry", "is required");
        v.finish()?;
        return Err(unvalidated("entry"));
    };
    let organization = validate::resource_id(
        &mut v,
        "entry.organization",
        &source.organization,
        "organizations",
        true,
    );
    validate::multiline_text(
        &mut v,
        "entry.question",
        &source.question,
        MAX_QUESTION,
        true,
    );
    validate::multiline_text(&mut v, "entry.answer", &source.answer, MAX_ANSWER, true);
    validate::text(
        &mut v,
        "entry.source_document",
        &source.source_document,
        200,
        true,
    );
    if !source.source_url.is_empty() {
        validate::https_url(&mut v, "entry.source_url", &source.source_url);
    }
    if knowledge::grams(&source.question).is_empty() && !source.question.trim().is_empty() {
        v.add(
            "entry.question",
            "must hold a letter, digit or character to be found by",
        );
    }
    let mut instant = |field: &str, value: Option<&prost_types::Timestamp>| {
        let time = value?;
        let parsed = from_proto(time).filter(|t| (EARLIEST..LATEST).contains(&t.timestamp()));
        if parsed.is_none() {
            v.add(field, "must be a valid time between 2000 and 2100");
        }
        parsed
    };
    let valid_from = instant("entry.valid_from", source.valid_from.as_ref());
    let valid_to = instant("entry.valid_to", source.valid_to.as_ref());
    v.finish()?;
    let (Some(id), Some(organization)) = (id, organization) else {
        return Err(unvalidated("entry"));
    };
    if let Some(done) = api
        .writer
        .replayed("CreateKnowledgeEntry", principal, &req.request_id, &req)
        .await?
    {
        return Ok(done);
    }
    let root = api.jurisdiction(principal).await?;
    let (organization, organization_path) =
        organization_in(api, principal, &root, &organization).await?;
    let mut unit = api
        .writer
        .begin("CreateKnowledgeEntry", principal, &req.request_id, &req)
        .await?;
    if let Some(done) = unit.replay().await? {
        return Ok(done);
    }
    let now = stamp(&unit);
    let valid_from = valid_from.unwrap_or(now.time);
    if let Some(end) = valid_to
        && end <= valid_from
    {
        return Err(RoutingError::Api(govmedia_kit::error::ApiError::invalid(
            vec![govmedia_kit::error::FieldViolation {
                field: "entry.valid_to".to_owned(),
                description: "must be after entry.valid_from".to_owned(),
            }],
        )));
    }
    let entry = Entry {
        id,
        organization,
        organization_path,
        question: source.question.trim().to_owned(),
        answer: source.answer.trim().to_owned(),
        source_document: source.source_document.trim().to_owned(),
        source_url: source.source_url.clone(),
        valid_from,
        valid_to,
        created: now,
    };
    if store::knowledge::get(unit.txn(), &entry.id)
        .await?
        .is_some()
    {
        return match unit.into_replay().await? {
            Some(first) => Ok(first),
            None => Err(RoutingError::AlreadyExists(entry.name())),
        };
    }
    store::knowledge::insert(unit.txn(), &entry).await?;
    unit.audit(
        &entry.name(),
        &entry.organization_path,
        json!({
            "question": entry.question,
            "source_document": entry.source_document,
        }),
    );
    Ok(unit.commit(convert::knowledge_entry(&entry)).await?)
}

pub(super) async fn get(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::GetKnowledgeEntryRequest,
) -> Result<pb::KnowledgeEntry, RoutingError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "name", &req.name, "knowledgeEntries", true);
    v.finish()?;
    let id = id.ok_or_else(|| unvalidated("name"))?;
    let root = api.jurisdiction(principal).await?;
    let name = format!("knowledgeEntries/{id}");
    let entry = store::knowledge::get(api.conn(), &id)
        .await?
        .ok_or_else(|| RoutingError::NotFound(name.clone()))?;
    if !on_line(&root.path, &entry.organization_path) {
        return Err(RoutingError::OutsideJurisdiction(name));
    }
    Ok(convert::knowledge_entry(&entry))
}

pub(super) async fn suggest(
    api: &RoutingApi,
    principal: &Principal,
    req: pb::SuggestAnswersRequest,
) -> Result<pb::SuggestAnswersResponse, RoutingError> {
    let mut v = Violations::new();
    let case = validate::resource_id(&mut v, "case", &req.case, "cases", false);
    let organization = validate::resource_id(
        &mut v,
        "organization",
        &req.organization,
        "organizations",
        false,
    );
    match (&case, req.text.trim().is_empty()) {
        (Some(_), false) => v.add("text", "name a case or give a text, not both"),
        (None, true) => v.add("text", "a case or a text is required"),
        _ => validate::multiline_text(&mut v, "text", &req.text, MAX_QUESTION, case.is_none()),
    }
    if case.is_some() && organization.is_some() {
        v.add("organization", "is for a text; a case's own line is used");
    }
    if !(0..=20).contains(&req.limit) {
        v.add("limit", "must be between 1 and 20 (0 means 5)");
    }
    v.finish()?;
    let limit = if req.limit == 0 {
        5
    } else {
        req.limit as usize
    };
    let root = api.jurisdiction(principal).await?;
    let (text, scope) = match &case {
        Some(id) => {
            let name = convert::case_name(id);
            let case = store::cases::get(api.conn(), id)
                .await?
                .ok_or_else(|| RoutingError::NotFound(name.clone()))?;
            if !sees(&root, &case) {
                return Err(RoutingError::OutsideJurisdiction(name));
            }
            (case.text, root.path)
        }
        None => {
            let scope = match &organization {
                Some(id) => api.registry.as_caller(principal).unit(id).await?.path,
                None => root.path,
            };
            (req.text.clone(), scope)
        }
    };
    let mut query = knowledge::grams(&text);
    if query.len() > MAX_QUERY_GRAMS {
        let mut kept: Vec<(String, u32)> = query.into_iter().collect();
        kept.sort();
        kept.truncate(MAX_QUERY_GRAMS);
        query = kept.into_iter().collect();
    }
    let grams: Vec<String> = query.keys().cloned().collect();
    let conn = api.conn();
    let postings = store::knowledge::postings(conn, &grams).await?;
    let df = store::knowledge::document_frequency(&postings);
    let corpus = store::knowledge::corpus(conn).await?;
    let mut ids: Vec<String> = postings.iter().map(|(_, id, _)| id.clone()).collect();
    ids.sort();
    ids.dedup();
    let now = api.writer.clock().now();
    let entries: HashMap<String, Entry> = store::knowledge::many(conn, &ids)
        .await?
        .into_iter()
        // Expired (or not yet valid) entries and those off the line are never suggested.
        .filter(|e| e.in_force(now) && on_line(&scope, &e.organization_path))
        .map(|e| (e.id.clone(), e))
        .collect();
    let mut candidates: HashMap<String, (u32, HashMap<String, u32>)> = HashMap::new();
    for (gram, id, count) in &postings {
        let Some(entry) = entries.get(id) else {
            continue;
        };
        let slot = candidates
            .entry(id.clone())
            .or_insert_with(|| (entry.grams().values().sum(), HashMap::new()));
        slot.1
            .insert(gram.clone(), u32::try_from(*count).unwrap_or(0));
    }
    let ranked = knowledge::rank(&query, &candidates, &df, corpus);
    Ok(pb::SuggestAnswersResponse {
        suggestions: ranked
            .into_iter()
            .take(limit)
            .filter_map(|scored| {
                let entry = entries.get(&scored.id)?;
                Some(pb::Suggestion {
                    entry: Some(convert::knowledge_entry(entry)),
                    score: (scored.score * 1000.0).round() / 1000.0,
                    matched: scored.matched.into_iter().take(10).collect(),
                })
            })
            .collect(),
    })
}
