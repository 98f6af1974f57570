//! The inspection service's schema. Migrations are append-only: a released migration is never
//! edited.

use sea_orm_migration::{prelude::*, schema::*};

/// Runs the kit's tables, then the inspection service's.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = govmedia_kit::schema::migrations();
        migrations.push(Box::new(InspectionTables));
        migrations.push(Box::new(HotEventAndSpotCheckTables));
        migrations.push(Box::new(RectificationTables));
        migrations
    }
}

struct InspectionTables;

impl MigrationName for InspectionTables {
    fn name(&self) -> &str {
        "m20261204_000002_inspection_tables"
    }
}

fn stamp_columns(table: &mut TableCreateStatement, prefix: &str) {
    table
        .col(timestamp_with_time_zone(Alias::new(format!("{prefix}_at"))))
        .col(string_len(Alias::new(format!("{prefix}_by")), 200))
        .col(string_len(Alias::new(format!("{prefix}_by_org")), 100));
}

#[async_trait::async_trait]
impl MigrationTrait for InspectionTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut posts = Table::create();
        posts
            .table("posts")
            .if_not_exists()
            .col(big_pk_auto("seq"))
            .col(string_len_uniq("id", 63))
            .col(string_len("account_id", 63))
            .col(string_len("organization_id", 63))
            .col(string_len("org_path", 1000))
            .col(string_len("platform_post_id", 200))
            .col(timestamp_with_time_zone("published_at"))
            .col(text("title"))
            .col(text("body"))
            // JSON: the links, read and written whole.
            .col(text("links"))
            .col(integer("media_kind"))
            .col(big_integer("reads"))
            .col(big_integer("likes"))
            .col(big_integer("comments"))
            .col(big_integer("shares"))
            .col(boolean("original"))
            .col(string_len("relayed_from", 200))
            .col(string_len("content_hash", 64));
        stamp_columns(&mut posts, "received");
        manager.create_table(posts.to_owned()).await?;

        let mut lexicons = Table::create();
        lexicons
            .table("lexicons")
            .if_not_exists()
            .col(string_len("name", 63).primary_key())
            .col(string_len("version", 200))
            .col(text("body"))
            .col(string_len("sha256", 64))
            .col(integer("wording_count"))
            .col(integer("allowed_count"));
        stamp_columns(&mut lexicons, "updated");
        manager.create_table(lexicons.to_owned()).await?;

        manager
            .create_table(
                Table::create()
                    .table("schemes")
                    .if_not_exists()
                    .col(big_pk_auto("seq"))
                    .col(string_len("scheme_id", 63))
                    .col(integer("version"))
                    .col(string_len("organization_id", 63))
                    .col(string_len("org_path", 1000))
                    // JSON: the scheme version as the domain holds it.
                    .col(text("body"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;

        let mut checks = Table::create();
        checks
            .table("checks")
            .if_not_exists()
            .col(big_pk_auto("seq"))
            .col(string_len_uniq("id", 63))
            .col(string_len("account_id", 63))
            .col(string_len("organization_id", 63))
            .col(string_len("org_path", 1000))
            .col(string_len("scheme_id", 63))
            .col(integer("scheme_version"))
            .col(timestamp_with_time_zone("as_of"))
            .col(integer("outcome"))
            .col(double_null("score"))
            // JSON: every item explained, read and written whole.
            .col(text("items"))
            .col(integer("not_evaluated"));
        stamp_columns(&mut checks, "created");
        manager.create_table(checks.to_owned()).await?;

        let mut findings = Table::create();
        findings
            .table("findings")
            .if_not_exists()
            .col(big_pk_auto("seq"))
            .col(string_len_uniq("id", 63))
            .col(string_len("account_id", 63))
            .col(string_len("organization_id", 63))
            .col(string_len("org_path", 1000))
            .col(integer("category"))
            .col(string_len("detector", 63))
            .col(string_len("finding_key", 500))
            .col(integer("severity"))
            .col(text("summary"))
            // JSON: the evidence, read and written whole.
            .col(text("evidence"));
        stamp_columns(&mut findings, "created");
        findings
            .col(string_len_null("last_check", 63))
            .col(timestamp_with_time_zone("last_seen_at"));
        manager.create_table(findings.to_owned()).await?;

        govmedia_kit::schema::create_indexes(
            manager,
            &[
                // Delivery is idempotent on (account, platform post id), even under concurrent
                // collectors.
                (
                    "posts_account_platform_id",
                    "posts",
                    &["account_id", "platform_post_id"][..],
                    true,
                ),
                (
                    "posts_account_published",
                    "posts",
                    &["account_id", "published_at", "seq"][..],
                    false,
                ),
                ("posts_content_hash", "posts", &["content_hash"][..], false),
                (
                    "schemes_id_version",
                    "schemes",
                    &["scheme_id", "version"][..],
                    true,
                ),
                (
                    "checks_account",
                    "checks",
                    &["account_id", "seq"][..],
                    false,
                ),
                ("checks_org_path", "checks", &["org_path"][..], false),
                // A finding is kept once per account, detector and evidence.
                (
                    "findings_account_detector_key",
                    "findings",
                    &["account_id", "detector", "finding_key"][..],
                    true,
                ),
                ("findings_org_path", "findings", &["org_path"][..], false),
            ],
        )
        .await?;
        Ok(())
    }
}

struct HotEventAndSpotCheckTables;

impl MigrationName for HotEventAndSpotCheckTables {
    fn name(&self) -> &str {
        "m20261204_000003_hot_event_spot_check_run_and_feed_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for HotEventAndSpotCheckTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut spot_checks = Table::create();
        spot_checks
            .table("spot_checks")
            .if_not_exists()
            .col(big_pk_auto("seq"))
            .col(string_len_uniq("id", 63))
            .col(string_len("organization_id", 63))
            .col(string_len("org_path", 1000))
            .col(string_len("period", 7))
            .col(string_len("scheme_id", 63))
            .col(integer("scheme_version"))
            .col(integer("per_mille"))
            // A u64 as decimal text: PostgreSQL has no unsigned 64-bit integer.
            .col(string_len("seed", 20))
            // JSON: the draw and the checks, read and written whole.
            .col(text("strata"))
            .col(text("checks"))
            .col(integer("passed"))
            .col(integer("failed"))
            .col(integer("incomplete"));
        stamp_columns(&mut spot_checks, "created");
        manager.create_table(spot_checks.to_owned()).await?;
        let mut runs = Table::create();
        runs.table("monitoring_runs")
            .if_not_exists()
            .col(big_pk_auto("seq"))
            .col(string_len_uniq("id", 63))
            .col(integer("mode"))
            .col(text("mode_reason"))
            .col(integer("state"))
            .col(timestamp_with_time_zone_null("as_of"))
            .col(string_len("scheme_id", 63))
            .col(integer("scheme_version"))
            .col(integer("accounts_active"))
            .col(integer("accounts_checked"))
            .col(integer("new_posts"))
            .col(integer("passed"))
            .col(integer("failed"))
            .col(integer("incomplete"))
            .col(string_len("lexicon_fingerprint", 64))
            .col(big_integer("post_mark"))
            .col(timestamp_with_time_zone_null("started_at"))
            .col(timestamp_with_time_zone_null("finished_at"))
            .col(text("error"));
        stamp_columns(&mut runs, "created");
        manager.create_table(runs.to_owned()).await?;
        let mut feeds = Table::create();
        feeds
            .table("feeds")
            .if_not_exists()
            .col(big_pk_auto("seq"))
            .col(string_len_uniq("id", 63))
            .col(string_len("account_id", 63))
            .col(string_len("organization_id", 63))
            .col(string_len("org_path", 1000))
            .col(string_len("url", 2048))
            .col(string_len("etag", 400))
            .col(string_len("last_modified", 100))
            .col(timestamp_with_time_zone_null("last_polled_at"))
            .col(timestamp_with_time_zone("next_poll_at"))
            .col(integer("failures"))
            .col(text("last_error"))
            .col(big_integer("posts_taken"));
        stamp_columns(&mut feeds, "created");
        manager.create_table(feeds.to_owned()).await?;
        let mut events = Table::create();
        events
            .table("hot_events")
            .if_not_exists()
            .col(big_pk_auto("seq"))
            .col(string_len_uniq("id", 63))
            .col(string_len("title", 400))
            // JSON: the keywords, read and written whole.
            .col(text("keywords"))
            .col(string_len("organization_id", 63))
            .col(string_len("org_path", 1000))
            .col(timestamp_with_time_zone("start_at"))
            .col(timestamp_with_time_zone("end_at"));
        stamp_columns(&mut events, "created");
        manager.create_table(events.to_owned()).await?;
        govmedia_kit::schema::create_indexes(
            manager,
            &[
                (
                    "hot_events_org_path",
                    "hot_events",
                    &["org_path"][..],
                    false,
                ),
                ("hot_events_end", "hot_events", &["end_at"][..], false),
                (
                    "monitoring_runs_state",
                    "monitoring_runs",
                    &["state", "seq"][..],
                    false,
                ),
                (
                    "checks_created",
                    "checks",
                    &["account_id", "created_at"][..],
                    false,
                ),
                (
                    "spot_checks_org_path",
                    "spot_checks",
                    &["org_path"][..],
                    false,
                ),
            ],
        )
        .await
    }
}

struct RectificationTables;

impl MigrationName for RectificationTables {
    fn name(&self) -> &str {
        "m20261206_000004_rectification_and_notice_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for RectificationTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut orders = Table::create();
        orders
            .table("rectification_orders")
            .if_not_exists()
            .col(big_pk_auto("seq"))
            .col(string_len_uniq("id", 63))
            .col(string_len("account_id", 63))
            .col(string_len("organization_id", 63))
            .col(string_len("org_path", 1000))
            // JSON: the finding ids, read and written whole.
            .col(text("findings"))
            .col(text("requirement"))
            .col(string_len("scheme_id", 63))
            .col(integer("scheme_version"))
            // JSON: that scheme version whole, as it was when the order was opened, so every
            // re-check judges by the same items whatever becomes of the scheme.
            .col(text("scheme_body"))
            .col(integer("state"))
            .col(integer("round"))
            // The current round's due time while the order waits (the overdue list reads it).
            .col(timestamp_with_time_zone_null("due_at"))
            // JSON: the rounds, read and written whole.
            .col(text("rounds"))
            .col(integer("version"));
        stamp_columns(&mut orders, "created");
        manager.create_table(orders.to_owned()).await?;
        // A finding is cited by at most one order that is not verified: its row here, removed
        // when the order is verified. The primary key makes two orders opened at once on the
        // same finding one success and one refusal.
        manager
            .create_table(
                Table::create()
                    .table("rectification_citations")
                    .if_not_exists()
                    .col(string_len("finding_id", 63).primary_key())
                    .col(string_len("order_id", 63))
                    .to_owned(),
            )
            .await?;
        let mut notices = Table::create();
        notices
            .table("criticism_notices")
            .if_not_exists()
            .col(big_pk_auto("seq"))
            .col(string_len_uniq("id", 63))
            .col(string_len("organization_id", 63))
            .col(string_len("org_path", 1000))
            .col(string_len("period", 7))
            .col(string_len("title", 800))
            .col(text("body"))
            // JSON: the finding and order ids, read and written whole.
            .col(text("findings"))
            .col(text("orders"));
        stamp_columns(&mut notices, "created");
        manager.create_table(notices.to_owned()).await?;
        govmedia_kit::schema::create_indexes(
            manager,
            &[
                (
                    "criticism_notices_org_path",
                    "criticism_notices",
                    &["org_path"][..],
                    false,
                ),
                (
                    "rectification_orders_org_path",
                    "rectification_orders",
                    &["org_path"][..],
                    false,
                ),
                (
                    "rectification_orders_account",
                    "rectification_orders",
                    &["account_id", "seq"][..],
                    false,
                ),
                (
                    "rectification_orders_due",
                    "rectification_orders",
                    &["state", "due_at"][..],
                    false,
                ),
                (
                    "rectification_citations_order",
                    "rectification_citations",
                    &["order_id"][..],
                    false,
                ),
            ],
        )
        .await
    }
}
