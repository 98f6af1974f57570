//! The routing service's tables: entities, migrations and the queries handlers use. Rows convert
//! to domain types here, so nothing above this module sees a row.

pub mod cases;
pub mod entity;
pub mod knowledge;
pub mod messages;
pub mod migration;
pub mod relays;
pub mod reviews;
pub mod rules;
pub mod timers;

use sea_orm::DbErr;

use crate::domain::Stamp;

pub use migration::Migrator;

/// A stored value that no longer decodes: reported as a database error, so the caller gets
/// INTERNAL and the log names the row.
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

/// JSON of a value that always serializes.
fn json<T: serde::Serialize>(value: &T) -> Result<String, DbErr> {
    serde_json::to_string(value).map_err(|error| DbErr::Type(format!("encoding JSON: {error}")))
}

/// A JSON column read back.
fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, DbErr> {
    serde_json::from_str(text).map_err(|error| corrupt(what, error))
}

/// Every ancestor path of a materialized path, itself included: `/a/b/` → `/a/`, `/a/b/`.
pub fn ancestors(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, c) in path.char_indices().skip(1) {
        if c == '/' {
            out.push(path[..=i].to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn ancestors_run_from_the_root_down() {
        assert_eq!(
            super::ancestors("/qh/hx/gm/"),
            vec!["/qh/", "/qh/hx/", "/qh/hx/gm/"]
        );
        assert!(super::ancestors("").is_empty());
    }
}
