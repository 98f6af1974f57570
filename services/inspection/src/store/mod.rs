//! The inspection service's tables: entities, migrations and the queries handlers use. Rows
//! convert to domain types here, so nothing above this module sees a row.

pub mod checks;
pub mod entity;
pub mod feeds;
pub mod findings;
pub mod hot_events;
pub mod lexicons;
pub mod migration;
pub mod notices;
pub mod posts;
pub mod rectification;
pub mod runs;
pub mod schemes;
pub mod spot_checks;

use sea_orm::DbErr;

use crate::domain::Stamp;

pub use migration::Migrator;

/// A stored value that no longer decodes (an enum number the code does not know, JSON that
/// does not parse): reported as a database error, so the caller gets INTERNAL and the log names
/// the row.
fn corrupt(what: &str, value: impl std::fmt::Display) -> DbErr {
    DbErr::Type(format!("stored {what} {value} is not valid"))
}

fn stamp(time: chrono::DateTime<chrono::Utc>, actor: String, organization: String) -> Stamp {
    Stamp {
        time,
        actor,
        actor_organization: organization,
    }
}

/// JSON of a value that always serializes (plain structs of strings and numbers).
fn json<T: serde::Serialize>(value: &T) -> Result<String, DbErr> {
    serde_json::to_string(value).map_err(|error| DbErr::Type(format!("encoding JSON: {error}")))
}

/// A JSON column read back.
fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, DbErr> {
    serde_json::from_str(text).map_err(|error| corrupt(what, error))
}

/// The filter of a listing by jurisdiction: rows whose organization path lies under `path`.
fn under(column: impl sea_orm::ColumnTrait, path: &str) -> sea_orm::sea_query::SimpleExpr {
    govmedia_kit::store::starts_with(column, path)
}

/// `/a/b/c/` → `/a/`, `/a/b/`, `/a/b/c/`: the paths of an organization and its ancestors.
fn lineage(path: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut end = 1;
    while let Some(next) = path.get(end..).and_then(|rest| rest.find('/')) {
        end += next + 1;
        paths.push(path[..end].to_owned());
    }
    paths
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_lineage_of_a_path_is_every_ancestor_and_itself() {
        assert_eq!(super::lineage("/a/b/c/"), ["/a/", "/a/b/", "/a/b/c/"]);
        assert!(super::lineage("").is_empty());
    }
}
