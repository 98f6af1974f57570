//! The gateway's schema. Migrations are append-only.

use sea_orm_migration::{prelude::*, schema::*};

/// Runs the kit's tables, then the gateway's.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = govmedia_kit::schema::migrations();
        migrations.push(Box::new(GatewayTables));
        migrations
    }
}

struct GatewayTables;

impl MigrationName for GatewayTables {
    fn name(&self) -> &str {
        "m20261130_000001_gateway_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for GatewayTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("api_keys")
                    .if_not_exists()
                    .col(string_len("id", 12).primary_key())
                    .col(string_len("display_name", 200))
                    .col(string_len("organization", 63))
                    .col(string_len("roles", 200))
                    .col(string_len("secret_hash", 64))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(string_len("created_by", 200))
                    .col(string_len("created_by_org", 100))
                    .to_owned(),
            )
            .await
    }
}
