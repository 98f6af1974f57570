//! The knowledge base and its inverted index of character bigrams.

use std::collections::HashMap;

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, Func},
};

use super::{
    entity::{gram as gram_row, knowledge as row},
    stamp,
};
use crate::domain::knowledge::{Corpus, Entry};

fn from_row(model: row::Model) -> Entry {
    Entry {
        id: model.id,
        organization: model.organization_id,
        organization_path: model.org_path,
        question: model.question,
        answer: model.answer,
        source_document: model.source_document,
        source_url: model.source_url,
        valid_from: model.valid_from,
        valid_to: model.valid_to,
        created: stamp(model.created_at, model.created_by, model.created_by_org),
    }
}

/// Stores a new entry and indexes it.
pub async fn insert(conn: &impl ConnectionTrait, entry: &Entry) -> Result<(), DbErr> {
    let grams = entry.grams();
    row::Entity::insert(row::ActiveModel {
        id: Set(entry.id.clone()),
        organization_id: Set(entry.organization.clone()),
        org_path: Set(entry.organization_path.clone()),
        question: Set(entry.question.clone()),
        answer: Set(entry.answer.clone()),
        source_document: Set(entry.source_document.clone()),
        source_url: Set(entry.source_url.clone()),
        valid_from: Set(entry.valid_from),
        valid_to: Set(entry.valid_to),
        gram_count: Set(i32::try_from(grams.values().sum::<u32>()).unwrap_or(i32::MAX)),
        created_at: Set(entry.created.time),
        created_by: Set(entry.created.actor.clone()),
        created_by_org: Set(entry.created.actor_organization.clone()),
    })
    .exec_without_returning(conn)
    .await?;
    if grams.is_empty() {
        return Ok(());
    }
    let rows: Vec<gram_row::ActiveModel> = grams
        .into_iter()
        .map(|(gram, count)| gram_row::ActiveModel {
            gram: Set(gram),
            entry_id: Set(entry.id.clone()),
            count: Set(i32::try_from(count).unwrap_or(i32::MAX)),
        })
        .collect();
    // Bounded batches: a long answer has thousands of grams, and a statement has a limit of
    // bound parameters.
    for chunk in rows.chunks(500) {
        gram_row::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// The entry `id`.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Entry>, DbErr> {
    Ok(row::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .map(from_row))
}

/// The entries `ids`.
pub async fn many(conn: &impl ConnectionTrait, ids: &[String]) -> Result<Vec<Entry>, DbErr> {
    Ok(row::Entity::find()
        .filter(row::Column::Id.is_in(ids.to_vec()))
        .all(conn)
        .await?
        .into_iter()
        .map(from_row)
        .collect())
}

/// Every posting of `grams`: (gram, entry id, count).
pub async fn postings(
    conn: &impl ConnectionTrait,
    grams: &[String],
) -> Result<Vec<(String, String, i32)>, DbErr> {
    let mut found = Vec::new();
    for chunk in grams.chunks(200) {
        let rows = gram_row::Entity::find()
            .filter(gram_row::Column::Gram.is_in(chunk.to_vec()))
            .all(conn)
            .await?;
        found.extend(rows.into_iter().map(|r| (r.gram, r.entry_id, r.count)));
    }
    Ok(found)
}

/// The size of the whole base, for BM25.
pub async fn corpus(conn: &impl ConnectionTrait) -> Result<Corpus, DbErr> {
    let (entries, grams): (i64, Option<i64>) = row::Entity::find()
        .select_only()
        .column_as(
            Expr::expr(Func::count(Expr::col(row::Column::Id))),
            "entries",
        )
        .column_as(
            Expr::expr(Func::sum(Expr::col(row::Column::GramCount))),
            "grams",
        )
        .into_tuple()
        .one(conn)
        .await?
        .unwrap_or((0, None));
    let entries = u64::try_from(entries).unwrap_or(0);
    Ok(Corpus {
        entries,
        mean_length: if entries == 0 {
            0.0
        } else {
            grams.unwrap_or(0) as f64 / entries as f64
        },
    })
}

/// Counts of each gram's documents among `postings`.
pub fn document_frequency(postings: &[(String, String, i32)]) -> HashMap<String, u64> {
    let mut df = HashMap::new();
    for (gram, _, _) in postings {
        *df.entry(gram.clone()).or_insert(0) += 1;
    }
    df
}
