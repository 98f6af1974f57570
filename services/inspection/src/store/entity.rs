//! sea-orm entities of the inspection service's tables. Enums are stored as their proto
//! numbers, which the contracts promise never to renumber; values read and written whole
//! (links, evidence, a scheme, a check's items) are JSON text.

/// `posts`.
pub mod post {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "posts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub id: String,
        pub account_id: String,
        pub organization_id: String,
        pub org_path: String,
        pub platform_post_id: String,
        pub published_at: DateTimeUtc,
        pub title: String,
        pub body: String,
        pub links: String,
        pub media_kind: i32,
        pub reads: i64,
        pub likes: i64,
        pub comments: i64,
        pub shares: i64,
        pub original: bool,
        pub relayed_from: String,
        pub content_hash: String,
        pub received_at: DateTimeUtc,
        pub received_by: String,
        pub received_by_org: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `lexicons`: the lexicon files put through the API, the version in force of each name.
pub mod lexicon {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "lexicons")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub version: String,
        pub body: String,
        pub sha256: String,
        pub wording_count: i32,
        pub allowed_count: i32,
        pub updated_at: DateTimeUtc,
        pub updated_by: String,
        pub updated_by_org: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `schemes`: every version of every scheme put through the API.
pub mod scheme {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "schemes")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub scheme_id: String,
        pub version: i32,
        pub organization_id: String,
        pub org_path: String,
        pub body: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `checks`.
pub mod check {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "checks")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub id: String,
        pub account_id: String,
        pub organization_id: String,
        pub org_path: String,
        pub scheme_id: String,
        pub scheme_version: i32,
        pub as_of: DateTimeUtc,
        pub outcome: i32,
        pub score: Option<f64>,
        pub items: String,
        pub not_evaluated: i32,
        pub created_at: DateTimeUtc,
        pub created_by: String,
        pub created_by_org: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `findings`.
pub mod finding {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "findings")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub id: String,
        pub account_id: String,
        pub organization_id: String,
        pub org_path: String,
        pub category: i32,
        pub detector: String,
        pub finding_key: String,
        pub severity: i32,
        pub summary: String,
        pub evidence: String,
        pub created_at: DateTimeUtc,
        pub created_by: String,
        pub created_by_org: String,
        pub last_check: Option<String>,
        pub last_seen_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `hot_events`.
pub mod hot_event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "hot_events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub id: String,
        pub title: String,
        pub keywords: String,
        pub organization_id: String,
        pub org_path: String,
        pub start_at: DateTimeUtc,
        pub end_at: DateTimeUtc,
        pub created_at: DateTimeUtc,
        pub created_by: String,
        pub created_by_org: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `spot_checks`.
pub mod spot_check {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "spot_checks")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub id: String,
        pub organization_id: String,
        pub org_path: String,
        pub period: String,
        pub scheme_id: String,
        pub scheme_version: i32,
        pub per_mille: i32,
        pub seed: String,
        pub strata: String,
        pub checks: String,
        pub passed: i32,
        pub failed: i32,
        pub incomplete: i32,
        pub created_at: DateTimeUtc,
        pub created_by: String,
        pub created_by_org: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `monitoring_runs`.
pub mod monitoring_run {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "monitoring_runs")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub id: String,
        pub mode: i32,
        pub mode_reason: String,
        pub state: i32,
        pub as_of: Option<DateTimeUtc>,
        pub scheme_id: String,
        pub scheme_version: i32,
        pub accounts_active: i32,
        pub accounts_checked: i32,
        pub new_posts: i32,
        pub passed: i32,
        pub failed: i32,
        pub incomplete: i32,
        pub lexicon_fingerprint: String,
        pub post_mark: i64,
        pub started_at: Option<DateTimeUtc>,
        pub finished_at: Option<DateTimeUtc>,
        pub error: String,
        pub created_at: DateTimeUtc,
        pub created_by: String,
        pub created_by_org: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `feeds`.
pub mod feed {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "feeds")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub id: String,
        pub account_id: String,
        pub organization_id: String,
        pub org_path: String,
        pub url: String,
        pub etag: String,
        pub last_modified: String,
        pub last_polled_at: Option<DateTimeUtc>,
        pub next_poll_at: DateTimeUtc,
        pub failures: i32,
        pub last_error: String,
        pub posts_taken: i64,
        pub created_at: DateTimeUtc,
        pub created_by: String,
        pub created_by_org: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `rectification_orders`.
pub mod rectification_order {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rectification_orders")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub id: String,
        pub account_id: String,
        pub organization_id: String,
        pub org_path: String,
        pub findings: String,
        pub requirement: String,
        pub scheme_id: String,
        pub scheme_version: i32,
        pub scheme_body: String,
        pub state: i32,
        pub round: i32,
        pub due_at: Option<DateTimeUtc>,
        pub rounds: String,
        pub version: i32,
        pub created_at: DateTimeUtc,
        pub created_by: String,
        pub created_by_org: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `rectification_citations`: which order not yet verified cites a finding.
pub mod rectification_citation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rectification_citations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub finding_id: String,
        pub order_id: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `criticism_notices`.
pub mod criticism_notice {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "criticism_notices")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub id: String,
        pub organization_id: String,
        pub org_path: String,
        pub period: String,
        pub title: String,
        pub body: String,
        pub findings: String,
        pub orders: String,
        pub created_at: DateTimeUtc,
        pub created_by: String,
        pub created_by_org: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
