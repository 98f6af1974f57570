//! Tables the kit keeps in every service's database: the event outbox, the processed-event log
//! of consumers, idempotency keys and the audit trail. A service's migrator lists
//! [`migrations`] first, then its own.

use sea_orm_migration::{prelude::*, schema::*};

/// The kit's migrations, in order.
pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(KitTables),
        Box::new(Jobs),
        Box::new(PruneIndexes),
        Box::new(DeadLetters),
        Box::new(AuditChains),
    ]
}

struct KitTables;

impl MigrationName for KitTables {
    fn name(&self) -> &str {
        "m20261129_000001_kit_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for KitTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("outbox_events")
                    .if_not_exists()
                    .col(big_pk_auto("seq"))
                    .col(string_len_uniq("event_id", 64))
                    .col(string_len("stream", 100))
                    .col(string_len("event_type", 200))
                    .col(string_len("subject", 300))
                    .col(blob("payload"))
                    .col(string_len("traceparent", 100))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("published_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("outbox_events_unpublished")
                    .table("outbox_events")
                    .col("published_at")
                    .col("seq")
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("processed_events")
                    .if_not_exists()
                    .col(string_len("consumer_group", 100))
                    .col(string_len("event_id", 64))
                    .col(timestamp_with_time_zone("processed_at"))
                    .primary_key(Index::create().col("consumer_group").col("event_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("idempotency_keys")
                    .if_not_exists()
                    .col(string_len("scope", 400))
                    .col(string_len("request_id", 128))
                    .col(string_len("fingerprint", 64))
                    .col(blob("response"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("scope").col("request_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("audit_log")
                    .if_not_exists()
                    .col(big_integer("seq").primary_key())
                    .col(timestamp_with_time_zone("recorded_at"))
                    .col(string_len("actor", 200))
                    .col(string_len("actor_organization", 100))
                    .col(string_len("action", 100))
                    .col(string_len("resource", 300))
                    .col(string_len("scope", 1000))
                    .col(string_len("request_id", 128))
                    .col(text("details"))
                    .col(string_len("previous_hash", 64))
                    .col(string_len("hash", 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_log_resource")
                    .table("audit_log")
                    .col("resource")
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}

/// The durable jobs of [`crate::jobs`].
struct Jobs;

impl MigrationName for Jobs {
    fn name(&self) -> &str {
        "m20261203_000002_kit_jobs"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Jobs {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("jobs")
                    .if_not_exists()
                    .col(string_len("id", 400).primary_key())
                    .col(string_len("queue", 100))
                    .col(string_len("key", 300))
                    .col(integer("state"))
                    .col(integer("attempts"))
                    .col(timestamp_with_time_zone("run_at"))
                    .col(string_len_null("lease_owner", 100))
                    .col(timestamp_with_time_zone_null("lease_until"))
                    .col(text("last_error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("jobs_due")
                    .table("jobs")
                    .col("queue")
                    .col("state")
                    .col("run_at")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }
}

/// Housekeeping forgets processed-event ids by age: an index to find them.
struct PruneIndexes;

impl MigrationName for PruneIndexes {
    fn name(&self) -> &str {
        "m20261203_000003_kit_prune_indexes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for PruneIndexes {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("processed_events_processed_at")
                    .table("processed_events")
                    .col("processed_at")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }
}

/// The dead letters of consumers ([`crate::events::consumer`]).
struct DeadLetters;

impl MigrationName for DeadLetters {
    fn name(&self) -> &str {
        "m20261203_000004_kit_dead_letters"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for DeadLetters {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("dead_events")
                    .if_not_exists()
                    .col(string_len("consumer_group", 100))
                    .col(string_len("event_id", 64))
                    .col(string_len("stream", 100))
                    .col(string_len("event_type", 200))
                    .col(string_len("subject", 300))
                    .col(blob("envelope"))
                    .col(integer("state"))
                    .col(integer("attempts"))
                    .col(text("last_error"))
                    .col(timestamp_with_time_zone("first_failed_at"))
                    .col(timestamp_with_time_zone("last_failed_at"))
                    .primary_key(Index::create().col("consumer_group").col("event_id"))
                    .to_owned(),
            )
            .await
    }
}

/// The audit trail in several chains (see [`crate::audit`]): the entries written so far become
/// chain 0 at their positions, so their hashes stay valid.
struct AuditChains;

impl MigrationName for AuditChains {
    fn name(&self) -> &str {
        "m20261204_000005_kit_audit_chains"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AuditChains {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            integer("chain").default(0).to_owned(),
            big_integer("chain_seq").default(0).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("audit_log")
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared("UPDATE audit_log SET chain_seq = seq")
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_log_chain")
                    .table("audit_log")
                    .col("chain")
                    .col("chain_seq")
                    .unique()
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            db.execute_unprepared("CREATE SEQUENCE IF NOT EXISTS audit_log_seq")
                .await?;
            db.execute_unprepared(
                "SELECT setval('audit_log_seq', COALESCE((SELECT MAX(seq) FROM audit_log), 0) + 1, false)",
            )
            .await?;
        }
        Ok(())
    }
}

/// One index a migration creates: its name, its table, its columns in order, and whether it is
/// unique.
pub type IndexSpec = (&'static str, &'static str, &'static [&'static str], bool);

/// Creates each index of `specs` that does not exist yet: the one way a service's migration
/// declares its indexes.
pub async fn create_indexes(manager: &SchemaManager<'_>, specs: &[IndexSpec]) -> Result<(), DbErr> {
    for (name, table, columns, unique) in specs {
        let mut index = Index::create();
        index.name(*name).table(*table).if_not_exists();
        for column in *columns {
            index.col(*column);
        }
        if *unique {
            index.unique();
        }
        manager.create_index(index.to_owned()).await?;
    }
    Ok(())
}
