//! Integration tests of the kit against real backends: every test runs on SQLite + in-process bus
//! and on PostgreSQL + Redis (see govmedia-test-support).

mod audit;
mod db;
mod events;
mod jobs;
mod listen;
mod unit;

use govmedia_kit::{db::Db, schema};
use govmedia_test_support::TestBackends;
use sea_orm_migration::{MigrationTrait, MigratorTrait};

/// A migrator with only the kit's tables.
pub struct KitOnly;

impl MigratorTrait for KitOnly {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        schema::migrations()
    }
}

/// Opens and migrates the test database.
pub async fn open(backends: &TestBackends) -> Db {
    let db = Db::connect(&backends.database, "kit")
        .await
        .expect("connect");
    db.migrate::<KitOnly>().await.expect("migrate");
    db
}
