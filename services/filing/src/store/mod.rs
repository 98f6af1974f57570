//! The filing service's tables: entities, migrations and the queries handlers use. Rows convert
//! to domain types here, so nothing above this module sees a row.

pub mod closures;
pub mod entity;
pub mod filings;
pub mod migration;
pub mod reports;
pub mod rosters;
pub mod timeline;

use sea_orm::DbErr;

use crate::domain::Stamp;

pub use migration::Migrator;

/// A stored value that no longer decodes (an enum number the code does not know): reported as
/// a database error, so the caller gets INTERNAL and the log names the row.
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
