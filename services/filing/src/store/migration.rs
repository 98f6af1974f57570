//! The filing service's schema. Migrations are append-only: a released migration is never
//! edited.

use sea_orm_migration::{prelude::*, schema::*};

/// Runs the kit's tables, then the filing service's.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = govmedia_kit::schema::migrations();
        migrations.push(Box::new(FilingTables));
        migrations.push(Box::new(ReportTables));
        migrations.push(Box::new(RosterTables));
        migrations.push(Box::new(DueTimes));
        migrations.push(Box::new(ApplyJobs));
        migrations.push(Box::new(DeliveryJobs));
        migrations.push(Box::new(EnforcedClosures));
        migrations
    }
}

struct FilingTables;

impl MigrationName for FilingTables {
    fn name(&self) -> &str {
        "m20261130_000002_filing_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for FilingTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("filings")
                    .if_not_exists()
                    // Insertion order: lists go newest first by it.
                    .col(big_pk_auto("seq"))
                    .col(string_len_uniq("id", 63))
                    .col(string_len("organization_id", 63))
                    .col(string_len("org_path", 1000))
                    .col(string_len_null("management_department_id", 63))
                    .col(integer("kind"))
                    .col(integer("state"))
                    .col(blob("account"))
                    .col(integer_null("platform"))
                    .col(string_len_null("platform_account_id", 100))
                    .col(string_len("change_mask", 500))
                    .col(string_len_null("target_account_id", 63))
                    .col(text("reason"))
                    .col(text("attachments"))
                    .col(blob("opening_check"))
                    .col(integer_null("application_state"))
                    .col(text("application_error"))
                    .col(integer("application_attempts"))
                    .col(timestamp_with_time_zone_null("application_next_at"))
                    .col(string_len_null("bound_platform_account_id", 100))
                    .col(timestamp_with_time_zone("state_time"))
                    .col(boolean("overdue_notified"))
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
        govmedia_kit::schema::create_indexes(
            manager,
            &[
                ("filings_org_path", "filings", &["org_path"][..], false),
                (
                    "filings_department_state",
                    "filings",
                    &["management_department_id", "state"][..],
                    false,
                ),
                // The applier's and the reminder's scans.
                (
                    "filings_application_due",
                    "filings",
                    &["application_state", "application_next_at"][..],
                    false,
                ),
                (
                    "filings_state_time",
                    "filings",
                    &["state", "state_time"][..],
                    false,
                ),
            ],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("filing_timeline")
                    .if_not_exists()
                    .col(big_pk_auto("seq"))
                    .col(string_len("filing_id", 63))
                    .col(integer("action"))
                    .col(integer("from_state"))
                    .col(integer("to_state"))
                    .col(timestamp_with_time_zone("at"))
                    .col(string_len("actor", 200))
                    .col(string_len("actor_org", 100))
                    .col(text("comment"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("filing_timeline_filing")
                    .table("filing_timeline")
                    .col("filing_id")
                    .col("seq")
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}

struct ReportTables;

impl MigrationName for ReportTables {
    fn name(&self) -> &str {
        "m20261202_000003_filing_reports"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ReportTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("filing_reports")
                    .if_not_exists()
                    .col(big_pk_auto("seq"))
                    .col(string_len_uniq("id", 63))
                    .col(string_len("filing_id", 63))
                    .col(integer("cause"))
                    .col(string_len("organization_id", 63))
                    .col(string_len("org_path", 1000))
                    .col(string_len("management_department_id", 63))
                    .col(string_len("account_id", 63))
                    .col(blob("account"))
                    .col(blob("unit"))
                    .col(integer("state"))
                    .col(integer("attempts"))
                    .col(timestamp_with_time_zone_null("next_attempt_at"))
                    .col(text("last_error"))
                    .col(string_len("receipt", 200))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("state_time"))
                    .col(big_integer("version"))
                    .to_owned(),
            )
            .await?;
        govmedia_kit::schema::create_indexes(
            manager,
            &[
                // One record per change: a filing's application or binding is reported once.
                (
                    "filing_reports_filing_cause",
                    "filing_reports",
                    &["filing_id", "cause"][..],
                    true,
                ),
                (
                    "filing_reports_org_path",
                    "filing_reports",
                    &["org_path"][..],
                    false,
                ),
                // The reporter's scan.
                (
                    "filing_reports_due",
                    "filing_reports",
                    &["state", "next_attempt_at"][..],
                    false,
                ),
                (
                    "filing_reports_account",
                    "filing_reports",
                    &["account_id", "seq"][..],
                    false,
                ),
            ],
        )
        .await?;
        Ok(())
    }
}

struct RosterTables;

impl MigrationName for RosterTables {
    fn name(&self) -> &str {
        "m20261202_000004_filing_rosters"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for RosterTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("filing_rosters")
                    .if_not_exists()
                    .col(big_pk_auto("seq"))
                    .col(string_len("organization_id", 63))
                    .col(string_len("org_path", 1000))
                    .col(integer("platform"))
                    .col(integer("entries"))
                    .col(timestamp_with_time_zone("imported_at"))
                    .col(string_len("imported_by", 200))
                    .col(string_len("imported_by_org", 100))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("filing_rosters_organization_platform")
                    .table("filing_rosters")
                    .col("organization_id")
                    .col("platform")
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("filing_roster_entries")
                    .if_not_exists()
                    .col(big_pk_auto("seq"))
                    .col(string_len("organization_id", 63))
                    .col(string_len("org_path", 1000))
                    .col(integer("platform"))
                    .col(string_len("platform_account_id", 100))
                    .col(string_len("display_name", 100))
                    .col(string_len("verified_subject", 100))
                    .col(integer("line"))
                    .to_owned(),
            )
            .await?;
        govmedia_kit::schema::create_indexes(
            manager,
            &[
                (
                    "filing_roster_entries_roster",
                    "filing_roster_entries",
                    &["organization_id", "platform"][..],
                    false,
                ),
                (
                    "filing_roster_entries_org_path",
                    "filing_roster_entries",
                    &["org_path"][..],
                    false,
                ),
            ],
        )
        .await?;
        Ok(())
    }
}

/// The instant a waiting filing becomes overdue, fixed when the wait starts. Filings that
/// were already waiting get theirs from the reminder's first pass.
struct DueTimes;

impl MigrationName for DueTimes {
    fn name(&self) -> &str {
        "m20261203_000005_filing_due_times"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for DueTimes {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("filings")
                    .add_column(timestamp_with_time_zone_null("due_time"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("filings_due_time")
                    .table("filings")
                    .col("due_time")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }
}

/// Applications move to the kit's durable jobs: a filing still APPLYING gets its job, due now.
struct ApplyJobs;

impl MigrationName for ApplyJobs {
    fn name(&self) -> &str {
        "m20261203_000006_filing_apply_jobs"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ApplyJobs {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // `||` concatenates on PostgreSQL and SQLite alike; the job id is `{queue}:{key}`.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO jobs (id, queue, key, state, attempts, run_at, lease_owner, \
                 lease_until, last_error, created_at, updated_at) \
                 SELECT 'apply-filing:' || id, 'apply-filing', id, 1, 0, updated_at, NULL, NULL, \
                 '', updated_at, updated_at FROM filings WHERE application_state = 1 \
                 ON CONFLICT (id) DO NOTHING",
            )
            .await
            .map(drop)
    }
}

/// The records waiting for the national system become delivery jobs (`deliver-report`), due
/// when their next attempt was.
struct DeliveryJobs;

impl MigrationName for DeliveryJobs {
    fn name(&self) -> &str {
        "m20261204_000007_filing_delivery_jobs"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for DeliveryJobs {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO jobs (id, queue, key, state, attempts, run_at, lease_owner, \
                 lease_until, last_error, created_at, updated_at) \
                 SELECT 'deliver-report:' || id, 'deliver-report', id, 1, 0, \
                 COALESCE(next_attempt_at, created_at), NULL, NULL, '', created_at, created_at \
                 FROM filing_reports WHERE state = 1 \
                 ON CONFLICT (id) DO NOTHING",
            )
            .await
            .map(drop)
    }
}

/// Enforced closures and the closure reports to the government offices.
struct EnforcedClosures;

impl MigrationName for EnforcedClosures {
    fn name(&self) -> &str {
        "m20261206_000008_enforced_closures"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for EnforcedClosures {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table("filings")
                    .add_column(boolean("enforced").default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("filings")
                    .add_column(string_len("grounds", 63).default(""))
                    .to_owned(),
            )
            .await?;
        let mut reports = Table::create();
        reports
            .table("closure_reports")
            .if_not_exists()
            .col(big_pk_auto("seq"))
            .col(string_len_uniq("id", 63))
            // One report per applied filing.
            .col(string_len_uniq("filing_id", 63))
            .col(integer("kind"))
            .col(string_len("account_id", 63))
            .col(string_len("account_display_name", 200))
            .col(string_len("organization_id", 63))
            .col(string_len("org_path", 1000))
            .col(string_len("government_id", 63))
            .col(boolean("enforced"))
            .col(string_len("grounds", 63))
            .col(text("reason"))
            .col(timestamp_with_time_zone("applied_at"));
        manager.create_table(reports.to_owned()).await?;
        // The RESUME gate looks up an account's last applied suspension.
        manager
            .create_index(
                Index::create()
                    .name("filings_target_account")
                    .table("filings")
                    .col("target_account_id")
                    .col("seq")
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("closure_reports_org_path")
                    .table("closure_reports")
                    .col("org_path")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }
}
