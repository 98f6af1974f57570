//! The registry's schema. Migrations are append-only: a released migration is never edited.

use sea_orm_migration::{prelude::*, schema::*};

/// Runs the kit's tables, then the registry's.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = govmedia_kit::schema::migrations();
        migrations.push(Box::new(RegistryTables));
        migrations.push(Box::new(Leaders));
        migrations.push(Box::new(FiledAfterOpening));
        migrations
    }
}

struct RegistryTables;

impl MigrationName for RegistryTables {
    fn name(&self) -> &str {
        "m20261129_000002_registry_tables"
    }
}

fn stamps(table: &mut TableCreateStatement) -> &mut TableCreateStatement {
    table
        .col(timestamp_with_time_zone("created_at"))
        .col(string_len("created_by", 200))
        .col(string_len("created_by_org", 100))
        .col(timestamp_with_time_zone("updated_at"))
        .col(string_len("updated_by", 200))
        .col(string_len("updated_by_org", 100))
        .col(big_integer("version"))
}

#[async_trait::async_trait]
impl MigrationTrait for RegistryTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                stamps(
                    Table::create()
                        .table("organizations")
                        .if_not_exists()
                        .col(string_len("id", 63).primary_key())
                        .col(string_len_null("parent_id", 63))
                        .col(string_len_uniq("path", 1000))
                        .col(string_len("display_name", 400))
                        .col(integer("level"))
                        .col(integer("kind"))
                        .col(boolean("management_department"))
                        .col(boolean("must_have_account"))
                        .col(string_len_null("credit_code", 18))
                        .col(string_len_null("region_code", 6))
                        .col(string_len_null("government_id", 63)),
                )
                .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("organizations_parent", "parent_id"),
            ("organizations_government", "government_id"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table("organizations")
                        .col(column)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        // One management department per government, even under concurrent writers (a partial
        // unique index; both SQLite and PostgreSQL have them).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS organizations_one_management_department \
                 ON organizations (government_id) WHERE management_department",
            )
            .await?;

        manager
            .create_table(
                stamps(
                    Table::create()
                        .table("accounts")
                        .if_not_exists()
                        .col(string_len("id", 63).primary_key())
                        .col(string_len("organization_id", 63))
                        .col(string_len("org_path", 1000))
                        .col(integer("platform"))
                        .col(string_len_null("platform_account_id", 100))
                        .col(string_len("display_name", 400))
                        .col(integer("kind"))
                        .col(integer("operator_type"))
                        .col(string_len_null("operator_vendor", 63))
                        .col(string_len("responsible_name", 200))
                        .col(string_len("responsible_title", 200))
                        .col(string_len("responsible_phone", 20))
                        .col(string_len("verified_subject", 400))
                        .col(integer("status"))
                        .col(integer("level"))
                        .col(text("justification"))
                        .col(string_len("homepage_url", 2048))
                        .col(timestamp_with_time_zone_null("open_time"))
                        .col(timestamp_with_time_zone_null("last_post_time"))
                        .col(big_integer("follower_count"))
                        .col(string_len("last_filing", 63)),
                )
                .to_owned(),
            )
            .await?;
        // A platform id belongs to one ledger entry; unbound (NULL) ids do not collide.
        manager
            .create_index(
                Index::create()
                    .name("accounts_platform_id")
                    .table("accounts")
                    .col("platform")
                    .col("platform_account_id")
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "accounts_org_platform",
                &["organization_id", "platform"][..],
            ),
            ("accounts_org_path", &["org_path"][..]),
            ("accounts_vendor", &["operator_vendor"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table("accounts").if_not_exists();
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                stamps(
                    Table::create()
                        .table("credential_custody")
                        .if_not_exists()
                        .col(string_len("account_id", 63).primary_key())
                        .col(string_len("custodian_name", 200))
                        .col(string_len("custodian_title", 200))
                        .col(boolean("custodian_active"))
                        .col(string_len("bound_phone", 32))
                        .col(string_len("bound_email", 320))
                        .col(timestamp_with_time_zone_null("last_rotation_time"))
                        .col(integer("rotation_interval_days")),
                )
                .to_owned(),
            )
            .await?;
        Ok(())
    }
}

/// Who consents to a unit's filings, and whether R-04's duty was derived or set. A unit
/// recorded before keeps its duty as it was set.
struct Leaders;

impl MigrationName for Leaders {
    fn name(&self) -> &str {
        "m20261203_000003_registry_leaders"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Leaders {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            boolean("must_have_account_overridden")
                .default(true)
                .to_owned(),
            string_len("principal_leader", 200).default("").to_owned(),
            string_len("designated_deputy", 200).default("").to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("organizations")
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// Accounts opened on their platform before they were filed (补报).
struct FiledAfterOpening;

impl MigrationName for FiledAfterOpening {
    fn name(&self) -> &str {
        "m20261204_000004_registry_filed_after_opening"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for FiledAfterOpening {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("accounts")
                    .add_column(boolean("filed_after_opening").default(false))
                    .to_owned(),
            )
            .await
    }
}
