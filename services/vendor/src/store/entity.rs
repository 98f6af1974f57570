//! sea-orm entities of the vendor service's tables. Enums are stored as their proto numbers,
//! which the contracts promise never to renumber.

/// `vendors`.
pub mod vendor {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "vendors")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub display_name: String,
        pub credit_code: String,
        pub organization_id: String,
        pub org_path: String,
        pub contacts: String,
        pub status: i32,
        pub status_reason: String,
        pub status_time: DateTimeUtc,
        pub approval_vetting: Option<String>,
        pub approval_valid_until: Option<DateTimeUtc>,
        pub blacklisted_in: Option<String>,
        pub clean_out_flag: String,
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

/// `vendor_qualifications`.
pub mod qualification {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "vendor_qualifications")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub vendor_id: String,
        pub kind: i32,
        pub number: String,
        pub issuer: String,
        pub valid_from: DateTimeUtc,
        pub valid_until: DateTimeUtc,
        pub file_uri: String,
        pub file_sha256: String,
        pub added_at: DateTimeUtc,
        pub added_by: String,
        pub added_by_org: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `vendor_vettings`.
pub mod vetting {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "vendor_vettings")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub vendor_id: String,
        pub assessors: String,
        pub scores: String,
        pub summary: String,
        pub total: f64,
        pub pass_threshold: i32,
        pub dimension_floor: i32,
        pub passed: bool,
        pub valid_until: DateTimeUtc,
        pub recorded_at: DateTimeUtc,
        pub recorded_by: String,
        pub recorded_by_org: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `vendor_blacklist`.
pub mod blacklist {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "vendor_blacklist")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub vendor_id: String,
        pub credit_code: String,
        pub organization_id: String,
        pub org_path: String,
        pub reason: String,
        pub at: DateTimeUtc,
        pub actor: String,
        pub actor_org: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `delegations`.
pub mod delegation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "delegations")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub id: String,
        pub vendor_id: String,
        pub organization_id: String,
        pub org_path: String,
        pub scope: i32,
        pub start_time: DateTimeUtc,
        pub end_time: DateTimeUtc,
        pub reviewer_name: String,
        pub reviewer_title: String,
        pub reviewer_phone: String,
        pub reviewer_departed: bool,
        pub review_mechanism: String,
        pub status: i32,
        pub end_reason: String,
        pub ended_at: Option<DateTimeUtc>,
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

/// `delegation_handovers`.
pub mod handover {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "delegation_handovers")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub delegation_id: String,
        pub position: i32,
        pub account_id: String,
        pub state: i32,
        pub start_filing: String,
        pub end_filing: Option<String>,
        pub detail: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `oversight_signals`.
pub mod signal {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "oversight_signals")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub kind: i32,
        pub signal: Vec<u8>,
        pub raised_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `vendor_assessments`.
pub mod assessment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "vendor_assessments")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub vendor_id: String,
        pub period_start: DateTimeUtc,
        pub period_end: DateTimeUtc,
        pub ratings: String,
        pub inputs: String,
        pub formula_version: String,
        pub score: Option<f64>,
        pub unused_weight: f64,
        pub threshold: f64,
        pub below_threshold: bool,
        pub accounts: String,
        pub recorded_at: DateTimeUtc,
        pub recorded_by: String,
        pub recorded_by_org: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
