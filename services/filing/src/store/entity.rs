//! sea-orm entities of the filing service's tables. Enums are stored as their proto numbers,
//! which the contracts promise never to renumber.

/// `filings`.
pub mod filing {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "filings")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub id: String,
        pub organization_id: String,
        pub org_path: String,
        pub management_department_id: Option<String>,
        pub kind: i32,
        pub state: i32,
        pub account: Vec<u8>,
        pub platform: Option<i32>,
        pub platform_account_id: Option<String>,
        pub change_mask: String,
        pub target_account_id: Option<String>,
        pub reason: String,
        pub attachments: String,
        pub opening_check: Vec<u8>,
        pub application_state: Option<i32>,
        pub application_error: String,
        pub application_attempts: i32,
        pub application_next_at: Option<DateTimeUtc>,
        pub bound_platform_account_id: Option<String>,
        pub state_time: DateTimeUtc,
        pub due_time: Option<DateTimeUtc>,
        pub overdue_notified: bool,
        pub created_at: DateTimeUtc,
        pub created_by: String,
        pub created_by_org: String,
        pub updated_at: DateTimeUtc,
        pub updated_by: String,
        pub updated_by_org: String,
        pub version: i64,
        pub enforced: bool,
        pub grounds: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `filing_timeline`.
pub mod timeline {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "filing_timeline")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub filing_id: String,
        pub action: i32,
        pub from_state: i32,
        pub to_state: i32,
        pub at: DateTimeUtc,
        pub actor: String,
        pub actor_org: String,
        pub comment: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `filing_reports`: the outbound queue to the national reporting system.
pub mod report {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "filing_reports")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub id: String,
        pub filing_id: String,
        pub cause: i32,
        pub organization_id: String,
        pub org_path: String,
        pub management_department_id: String,
        pub account_id: String,
        pub account: Vec<u8>,
        pub unit: Vec<u8>,
        pub state: i32,
        pub attempts: i32,
        pub next_attempt_at: Option<DateTimeUtc>,
        pub last_error: String,
        pub receipt: String,
        pub created_at: DateTimeUtc,
        pub state_time: DateTimeUtc,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `filing_rosters`: the latest roster imported per organization and platform.
pub mod roster {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "filing_rosters")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub organization_id: String,
        pub org_path: String,
        pub platform: i32,
        pub entries: i32,
        pub imported_at: DateTimeUtc,
        pub imported_by: String,
        pub imported_by_org: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `filing_roster_entries`: the rows of the rosters.
pub mod roster_entry {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "filing_roster_entries")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub organization_id: String,
        pub org_path: String,
        pub platform: i32,
        pub platform_account_id: String,
        pub display_name: String,
        pub verified_subject: String,
        pub line: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `closure_reports`: suspensions and cancellations reported to the government offices.
pub mod closure_report {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "closure_reports")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub id: String,
        pub filing_id: String,
        pub kind: i32,
        pub account_id: String,
        pub account_display_name: String,
        pub organization_id: String,
        pub org_path: String,
        pub government_id: String,
        pub enforced: bool,
        pub grounds: String,
        pub reason: String,
        pub applied_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
