//! The routing service's schema. Migrations are append-only: a released migration is never
//! edited.

use sea_orm_migration::{prelude::*, schema::*};

/// Runs the kit's tables, then the routing service's.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = govmedia_kit::schema::migrations();
        migrations.push(Box::new(CaseTables));
        migrations.push(Box::new(KnowledgeReviewRelayTables));
        migrations
    }
}

struct CaseTables;

impl MigrationName for CaseTables {
    fn name(&self) -> &str {
        "m20261204_000002_routing_case_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CaseTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("routing_cases")
                    .if_not_exists()
                    .col(string_len("id", 63).primary_key())
                    .col(string_len("account_id", 63))
                    .col(string_len("account_org", 63))
                    .col(string_len("account_path", 1000))
                    .col(integer("category"))
                    .col(text("text"))
                    // A keyed hash: finds the same citizen without revealing who.
                    .col(string_len("citizen_key", 64))
                    .col(string_len("handle_masked", 100))
                    .col(string_len("contact_masked", 200))
                    .col(string_len("region_code", 12))
                    .col(integer("state"))
                    .col(string_len_null("department_id", 63))
                    .col(string_len_null("department_path", 1000))
                    .col(string_len_null("routed_by_rule", 63))
                    .col(timestamp_with_time_zone("received_time"))
                    .col(timestamp_with_time_zone_null("dispatch_due"))
                    .col(timestamp_with_time_zone_null("dispatched_time"))
                    .col(timestamp_with_time_zone_null("sign_due"))
                    .col(timestamp_with_time_zone_null("signed_time"))
                    .col(timestamp_with_time_zone_null("handling_due"))
                    .col(timestamp_with_time_zone_null("return_window_end"))
                    .col(boolean("dispatcher_overdue"))
                    .col(boolean("department_overdue"))
                    .col(integer("message_count"))
                    .col(integer("extension_days"))
                    .col(boolean("ever_extended"))
                    // JSON: the latest extension, read and written whole.
                    .col(text_null("extension"))
                    .col(text("return_reason"))
                    .col(integer_null("return_from"))
                    .col(integer("return_count"))
                    // JSON: the replies, a short list always read with the case.
                    .col(text("replies"))
                    .col(integer_null("satisfaction"))
                    .col(integer("reopen_count"))
                    .col(integer_null("escalation"))
                    .col(timestamp_with_time_zone_null("escalation_due"))
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
                    .table("routing_messages")
                    .if_not_exists()
                    .col(string_len("id", 63).primary_key())
                    .col(string_len("account_id", 63))
                    .col(string_len("platform_message_id", 128))
                    .col(string_len("case_id", 63))
                    .col(integer("category"))
                    .col(text("text"))
                    .col(string_len("region_code", 12))
                    .col(timestamp_with_time_zone("received_time"))
                    // SM4-GCM sealed handle, contact and phone numbers; never in clear.
                    .col(text("personal"))
                    .col(boolean("merged"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("routing_case_steps")
                    .if_not_exists()
                    .col(big_pk_auto("seq"))
                    .col(string_len("case_id", 63))
                    // The case's version after the change that made the step.
                    .col(big_integer("case_version"))
                    .col(integer("action"))
                    .col(integer("from_state"))
                    .col(integer("to_state"))
                    .col(timestamp_with_time_zone("time"))
                    .col(string_len("actor", 200))
                    .col(string_len("actor_org", 100))
                    .col(string_len("department", 100))
                    .col(text("comment"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("routing_rules")
                    .if_not_exists()
                    .col(string_len("id", 63).primary_key())
                    .col(string_len("organization_id", 63))
                    .col(string_len("org_path", 1000))
                    // JSON lists, read and written whole.
                    .col(text("categories"))
                    .col(text("keywords"))
                    .col(text("region_prefixes"))
                    .col(string_len("department_id", 63))
                    .col(string_len("department_path", 1000))
                    .col(integer("priority"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(string_len("created_by", 200))
                    .col(string_len("created_by_org", 100))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("routing_timers")
                    .if_not_exists()
                    .col(big_pk_auto("seq"))
                    .col(string_len("case_id", 63))
                    .col(integer("level"))
                    .col(timestamp_with_time_zone("due_time"))
                    .col(timestamp_with_time_zone("fire_at"))
                    .col(boolean("fired"))
                    .col(timestamp_with_time_zone_null("fired_at"))
                    .to_owned(),
            )
            .await?;
        govmedia_kit::schema::create_indexes(
            manager,
            &[
                // One timer per rung and deadline: a rung that fired is never fired again for the
                // same deadline, however often the case is rescheduled.
                (
                    "routing_timers_rung",
                    "routing_timers",
                    &["case_id", "level", "due_time"][..],
                    true,
                ),
                // The scheduler's question: the earliest timer that has not fired.
                (
                    "routing_timers_next",
                    "routing_timers",
                    &["fired", "fire_at"][..],
                    false,
                ),
                // The intake's idempotency: one message per platform id per account, even under
                // concurrent collectors.
                (
                    "routing_messages_platform_id",
                    "routing_messages",
                    &["account_id", "platform_message_id"][..],
                    true,
                ),
                (
                    "routing_messages_case",
                    "routing_messages",
                    &["case_id"][..],
                    false,
                ),
                (
                    "routing_cases_citizen",
                    "routing_cases",
                    &["account_id", "citizen_key", "state"][..],
                    false,
                ),
                (
                    "routing_cases_account_path",
                    "routing_cases",
                    &["account_path"][..],
                    false,
                ),
                (
                    "routing_cases_department_path",
                    "routing_cases",
                    &["department_path"][..],
                    false,
                ),
                (
                    "routing_case_steps_case",
                    "routing_case_steps",
                    &["case_id", "seq"][..],
                    false,
                ),
                (
                    "routing_rules_org_path",
                    "routing_rules",
                    &["org_path"][..],
                    false,
                ),
            ],
        )
        .await
    }
}

struct KnowledgeReviewRelayTables;

impl MigrationName for KnowledgeReviewRelayTables {
    fn name(&self) -> &str {
        "m20261204_000003_routing_knowledge_review_relay"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for KnowledgeReviewRelayTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("routing_knowledge")
                    .if_not_exists()
                    .col(string_len("id", 63).primary_key())
                    .col(string_len("organization_id", 63))
                    .col(string_len("org_path", 1000))
                    .col(text("question"))
                    .col(text("answer"))
                    .col(string_len("source_document", 400))
                    .col(string_len("source_url", 2048))
                    .col(timestamp_with_time_zone("valid_from"))
                    .col(timestamp_with_time_zone_null("valid_to"))
                    .col(integer("gram_count"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(string_len("created_by", 200))
                    .col(string_len("created_by_org", 100))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("routing_knowledge_grams")
                    .if_not_exists()
                    .col(string_len("gram", 16))
                    .col(string_len("entry_id", 63))
                    .col(integer("count"))
                    .primary_key(Index::create().col("gram").col("entry_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("routing_review_chains")
                    .if_not_exists()
                    .col(string_len("id", 63).primary_key())
                    .col(string_len("organization_id", 63))
                    .col(string_len("org_path", 1000))
                    .col(string_len("display_name", 200))
                    // JSON: the ordered levels, read and written whole.
                    .col(text("levels"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(string_len("created_by", 200))
                    .col(string_len("created_by_org", 100))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("routing_drafts")
                    .if_not_exists()
                    .col(string_len("id", 63).primary_key())
                    .col(string_len("chain_id", 63))
                    .col(string_len("organization_id", 63))
                    .col(string_len("org_path", 1000))
                    .col(string_len("title", 400))
                    .col(text("body"))
                    // JSON: account ids and the reviews, read and written whole.
                    .col(text("accounts"))
                    .col(integer("revision"))
                    .col(integer("state"))
                    .col(integer("current_level"))
                    .col(text("reviews"))
                    .col(string_len_null("content_hash", 64))
                    .col(timestamp_with_time_zone_null("approved_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(string_len("created_by", 200))
                    .col(string_len("created_by_org", 100))
                    .col(big_integer("version"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("routing_relay_tasks")
                    .if_not_exists()
                    .col(string_len("id", 63).primary_key())
                    .col(string_len("organization_id", 63))
                    .col(string_len("org_path", 1000))
                    .col(string_len("source_account", 63))
                    .col(string_len("source_post_id", 128))
                    .col(string_len("title", 400))
                    .col(string_len("source_url", 2048))
                    // JSON: the targets and their confirmations, read and written whole.
                    .col(text("targets"))
                    .col(timestamp_with_time_zone("due_time"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(string_len("created_by", 200))
                    .col(string_len("created_by_org", 100))
                    .col(big_integer("version"))
                    .to_owned(),
            )
            .await?;
        govmedia_kit::schema::create_indexes(
            manager,
            &[
                (
                    "routing_knowledge_org_path",
                    "routing_knowledge",
                    &["org_path"][..],
                    false,
                ),
                (
                    "routing_knowledge_grams_entry",
                    "routing_knowledge_grams",
                    &["entry_id"][..],
                    false,
                ),
                (
                    "routing_drafts_hash",
                    "routing_drafts",
                    &["content_hash"][..],
                    false,
                ),
                (
                    "routing_relay_tasks_org_path",
                    "routing_relay_tasks",
                    &["org_path"][..],
                    false,
                ),
            ],
        )
        .await
    }
}
