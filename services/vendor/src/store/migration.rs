//! The vendor service's schema. Migrations are append-only: a released migration is never
//! edited.

use sea_orm_migration::{prelude::*, schema::*};

/// Runs the kit's tables, then the vendor service's.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = govmedia_kit::schema::migrations();
        migrations.push(Box::new(VendorTables));
        migrations.push(Box::new(DelegationTables));
        migrations.push(Box::new(OversightTables));
        migrations.push(Box::new(PerformanceTables));
        migrations
    }
}

struct VendorTables;

impl MigrationName for VendorTables {
    fn name(&self) -> &str {
        "m20261203_000002_vendor_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for VendorTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("vendors")
                    .if_not_exists()
                    .col(string_len("id", 63).primary_key())
                    .col(string_len("display_name", 400))
                    .col(string_len("credit_code", 18))
                    .col(string_len("organization_id", 63))
                    .col(string_len("org_path", 1000))
                    // JSON: a short list always read with the vendor.
                    .col(text("contacts"))
                    .col(integer("status"))
                    .col(text("status_reason"))
                    .col(timestamp_with_time_zone("status_time"))
                    .col(string_len_null("approval_vetting", 100))
                    .col(timestamp_with_time_zone_null("approval_valid_until"))
                    .col(string_len_null("blacklisted_in", 63))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(string_len("created_by", 200))
                    .col(string_len("created_by_org", 100))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(string_len("updated_by", 200))
                    .col(string_len("updated_by_org", 100))
                    .col(big_integer("version"))
                    .to_owned(),
            )
            .await?;
        for table in [
            "vendor_qualifications",
            "vendor_vettings",
            "vendor_blacklist",
        ] {
            create_child_table(manager, table).await?;
        }
        govmedia_kit::schema::create_indexes(
            manager,
            &[
                // One record of a company per jurisdiction even under concurrent writers; the
                // wider rule (none along a line of jurisdiction) is checked in the unit of work.
                (
                    "vendors_jurisdiction_code",
                    "vendors",
                    &["organization_id", "credit_code"][..],
                    true,
                ),
                ("vendors_code", "vendors", &["credit_code"][..], false),
                ("vendors_org_path", "vendors", &["org_path"][..], false),
                (
                    "vendor_qualifications_vendor",
                    "vendor_qualifications",
                    &["vendor_id", "seq"][..],
                    false,
                ),
                (
                    "vendor_vettings_vendor",
                    "vendor_vettings",
                    &["vendor_id", "seq"][..],
                    false,
                ),
                (
                    "vendor_blacklist_code",
                    "vendor_blacklist",
                    &["credit_code"][..],
                    false,
                ),
            ],
        )
        .await?;
        Ok(())
    }
}

async fn create_child_table(manager: &SchemaManager<'_>, table: &'static str) -> Result<(), DbErr> {
    let mut create = Table::create();
    create
        .table(table)
        .if_not_exists()
        .col(big_pk_auto("seq"))
        .col(string_len("vendor_id", 63));
    match table {
        "vendor_qualifications" => create
            .col(integer("kind"))
            .col(string_len("number", 400))
            .col(string_len("issuer", 400))
            .col(timestamp_with_time_zone("valid_from"))
            .col(timestamp_with_time_zone("valid_until"))
            .col(string_len("file_uri", 2048))
            .col(string_len("file_sha256", 64))
            .col(timestamp_with_time_zone("added_at"))
            .col(string_len("added_by", 200))
            .col(string_len("added_by_org", 100)),
        "vendor_vettings" => create
            // JSON: read and written whole.
            .col(text("assessors"))
            .col(text("scores"))
            .col(text("summary"))
            .col(double("total"))
            .col(integer("pass_threshold"))
            .col(integer("dimension_floor"))
            .col(boolean("passed"))
            .col(timestamp_with_time_zone("valid_until"))
            .col(timestamp_with_time_zone("recorded_at"))
            .col(string_len("recorded_by", 200))
            .col(string_len("recorded_by_org", 100)),
        // Who barred a company (by its credit code) in which jurisdiction, and why.
        _ => create
            .col(string_len("credit_code", 18))
            .col(string_len("organization_id", 63))
            .col(string_len("org_path", 1000))
            .col(text("reason"))
            .col(timestamp_with_time_zone("at"))
            .col(string_len("actor", 200))
            .col(string_len("actor_org", 100)),
    };
    manager.create_table(create.to_owned()).await
}

struct DelegationTables;

impl MigrationName for DelegationTables {
    fn name(&self) -> &str {
        "m20261203_000003_delegation_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for DelegationTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("delegations")
                    .if_not_exists()
                    // Creation order: lists go newest first by it.
                    .col(big_pk_auto("seq"))
                    .col(string_len_uniq("id", 63))
                    .col(string_len("vendor_id", 63))
                    .col(string_len("organization_id", 63))
                    .col(string_len("org_path", 1000))
                    .col(integer("scope"))
                    .col(timestamp_with_time_zone("start_time"))
                    .col(timestamp_with_time_zone("end_time"))
                    .col(string_len("reviewer_name", 200))
                    .col(string_len("reviewer_title", 200))
                    .col(string_len("reviewer_phone", 20))
                    .col(text("review_mechanism"))
                    .col(integer("status"))
                    .col(text("end_reason"))
                    .col(timestamp_with_time_zone_null("ended_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(string_len("created_by", 200))
                    .col(string_len("created_by_org", 100))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(string_len("updated_by", 200))
                    .col(string_len("updated_by_org", 100))
                    .col(big_integer("version"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("delegation_handovers")
                    .if_not_exists()
                    .col(big_pk_auto("seq"))
                    .col(string_len("delegation_id", 63))
                    .col(integer("position"))
                    .col(string_len("account_id", 63))
                    .col(integer("state"))
                    .col(string_len_uniq("start_filing", 63))
                    .col(string_len_null("end_filing", 63))
                    .col(text("detail"))
                    .to_owned(),
            )
            .await?;
        govmedia_kit::schema::create_indexes(
            manager,
            &[
                (
                    "delegations_vendor",
                    "delegations",
                    &["vendor_id"][..],
                    false,
                ),
                (
                    "delegations_org_path",
                    "delegations",
                    &["org_path"][..],
                    false,
                ),
                (
                    "delegation_handovers_delegation",
                    "delegation_handovers",
                    &["delegation_id", "position"][..],
                    false,
                ),
                (
                    "delegation_handovers_account",
                    "delegation_handovers",
                    &["account_id"][..],
                    false,
                ),
                (
                    "delegation_handovers_end_filing",
                    "delegation_handovers",
                    &["end_filing"][..],
                    false,
                ),
            ],
        )
        .await?;
        Ok(())
    }
}

struct OversightTables;

impl MigrationName for OversightTables {
    fn name(&self) -> &str {
        "m20261203_000004_oversight_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for OversightTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("delegations")
                    .add_column(boolean("reviewer_departed").default(false))
                    .to_owned(),
            )
            .await?;
        // The signals the daily evaluation last found, to publish only what changed.
        manager
            .create_table(
                Table::create()
                    .table("oversight_signals")
                    .if_not_exists()
                    .col(string_len("key", 300).primary_key())
                    .col(integer("kind"))
                    .col(blob("signal"))
                    .col(timestamp_with_time_zone("raised_at"))
                    .to_owned(),
            )
            .await
    }
}

struct PerformanceTables;

impl MigrationName for PerformanceTables {
    fn name(&self) -> &str {
        "m20261203_000005_performance_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for PerformanceTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("vendors")
                    .add_column(text("clean_out_flag").default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("vendor_assessments")
                    .if_not_exists()
                    .col(big_pk_auto("seq"))
                    .col(string_len("vendor_id", 63))
                    .col(timestamp_with_time_zone("period_start"))
                    .col(timestamp_with_time_zone("period_end"))
                    // JSON: read and written whole, the inputs exactly as they were used.
                    .col(text("ratings"))
                    .col(text("inputs"))
                    .col(string_len("formula_version", 50))
                    .col(double_null("score"))
                    .col(double("unused_weight"))
                    .col(double("threshold"))
                    .col(boolean("below_threshold"))
                    .col(text("accounts"))
                    .col(timestamp_with_time_zone("recorded_at"))
                    .col(string_len("recorded_by", 200))
                    .col(string_len("recorded_by_org", 100))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("vendor_assessments_vendor")
                    .table("vendor_assessments")
                    .col("vendor_id")
                    .col("seq")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }
}
