//! sea-orm entities of the registry's tables. Enums are stored as their proto numbers, which
//! the contracts promise never to renumber.

/// `organizations`.
pub mod organization {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "organizations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub parent_id: Option<String>,
        pub path: String,
        pub display_name: String,
        pub level: i32,
        pub kind: i32,
        pub management_department: bool,
        pub must_have_account: bool,
        pub must_have_account_overridden: bool,
        pub principal_leader: String,
        pub designated_deputy: String,
        pub credit_code: Option<String>,
        pub region_code: Option<String>,
        pub government_id: Option<String>,
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

/// `accounts`.
pub mod account {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub org_path: String,
        pub platform: i32,
        pub platform_account_id: Option<String>,
        pub display_name: String,
        pub kind: i32,
        pub operator_type: i32,
        pub operator_vendor: Option<String>,
        pub responsible_name: String,
        pub responsible_title: String,
        pub responsible_phone: String,
        pub verified_subject: String,
        pub status: i32,
        pub level: i32,
        pub justification: String,
        pub homepage_url: String,
        pub open_time: Option<DateTimeUtc>,
        pub last_post_time: Option<DateTimeUtc>,
        pub follower_count: i64,
        pub last_filing: String,
        pub filed_after_opening: bool,
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

/// `credential_custody`.
pub mod custody {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "credential_custody")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: String,
        pub custodian_name: String,
        pub custodian_title: String,
        pub custodian_active: bool,
        pub bound_phone: String,
        pub bound_email: String,
        pub last_rotation_time: Option<DateTimeUtc>,
        pub rotation_interval_days: i32,
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
