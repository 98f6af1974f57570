//! sea-orm entities of the routing service's tables. Enums are stored as their proto numbers,
//! which the contracts promise never to renumber.

/// `routing_cases`.
pub mod case {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "routing_cases")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub account_id: String,
        pub account_org: String,
        pub account_path: String,
        pub category: i32,
        pub text: String,
        pub citizen_key: String,
        pub handle_masked: String,
        pub contact_masked: String,
        pub region_code: String,
        pub state: i32,
        pub department_id: Option<String>,
        pub department_path: Option<String>,
        pub routed_by_rule: Option<String>,
        pub received_time: DateTimeUtc,
        pub dispatch_due: Option<DateTimeUtc>,
        pub dispatched_time: Option<DateTimeUtc>,
        pub sign_due: Option<DateTimeUtc>,
        pub signed_time: Option<DateTimeUtc>,
        pub handling_due: Option<DateTimeUtc>,
        pub return_window_end: Option<DateTimeUtc>,
        pub dispatcher_overdue: bool,
        pub department_overdue: bool,
        pub message_count: i32,
        pub extension_days: i32,
        pub ever_extended: bool,
        pub extension: Option<String>,
        pub return_reason: String,
        pub return_from: Option<i32>,
        pub return_count: i32,
        pub replies: String,
        pub satisfaction: Option<i32>,
        pub reopen_count: i32,
        pub escalation: Option<i32>,
        pub escalation_due: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub created_by: String,
        pub created_by_org: String,
        pub updated_at: DateTimeUtc,
        pub updated_by: String,
        pub updated_by_org: String,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `routing_messages`: every message taken, with its sealed personal data.
pub mod message {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "routing_messages")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub account_id: String,
        pub platform_message_id: String,
        pub case_id: String,
        pub category: i32,
        pub text: String,
        pub region_code: String,
        pub received_time: DateTimeUtc,
        /// SM4-GCM sealed [`crate::personal::Personal`], bound to the message id.
        pub personal: String,
        pub merged: bool,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `routing_case_steps`: each case's history.
pub mod step {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "routing_case_steps")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub case_id: String,
        pub case_version: i64,
        pub action: i32,
        pub from_state: i32,
        pub to_state: i32,
        pub time: DateTimeUtc,
        pub actor: String,
        pub actor_org: String,
        pub department: String,
        pub comment: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `routing_rules`.
pub mod rule {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "routing_rules")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub org_path: String,
        pub categories: String,
        pub keywords: String,
        pub region_prefixes: String,
        pub department_id: String,
        pub department_path: String,
        pub priority: i32,
        pub created_at: DateTimeUtc,
        pub created_by: String,
        pub created_by_org: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `routing_timers`: the escalation timers of open cases, and those that fired.
pub mod timer {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "routing_timers")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub case_id: String,
        pub level: i32,
        pub due_time: DateTimeUtc,
        pub fire_at: DateTimeUtc,
        pub fired: bool,
        pub fired_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `routing_knowledge`: the policy knowledge base.
pub mod knowledge {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "routing_knowledge")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub org_path: String,
        pub question: String,
        pub answer: String,
        pub source_document: String,
        pub source_url: String,
        pub valid_from: DateTimeUtc,
        pub valid_to: Option<DateTimeUtc>,
        /// Grams indexed (BM25's document length).
        pub gram_count: i32,
        pub created_at: DateTimeUtc,
        pub created_by: String,
        pub created_by_org: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `routing_knowledge_grams`: the inverted index of the knowledge base.
pub mod gram {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "routing_knowledge_grams")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub gram: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub entry_id: String,
        pub count: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `routing_review_chains`.
pub mod chain {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "routing_review_chains")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub org_path: String,
        pub display_name: String,
        pub levels: String,
        pub created_at: DateTimeUtc,
        pub created_by: String,
        pub created_by_org: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `routing_drafts`.
pub mod draft {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "routing_drafts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub chain_id: String,
        pub organization_id: String,
        pub org_path: String,
        pub title: String,
        pub body: String,
        pub accounts: String,
        pub revision: i32,
        pub state: i32,
        pub current_level: i32,
        pub reviews: String,
        pub content_hash: Option<String>,
        pub approved_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub created_by: String,
        pub created_by_org: String,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `routing_relay_tasks`.
pub mod relay {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "routing_relay_tasks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub org_path: String,
        pub source_account: String,
        pub source_post_id: String,
        pub title: String,
        pub source_url: String,
        pub targets: String,
        pub due_time: DateTimeUtc,
        pub created_at: DateTimeUtc,
        pub created_by: String,
        pub created_by_org: String,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
