//! The national reporting system (全国政务新媒体信息报送系统, R-12) as govmedia reaches it.
//!
//! The national system is external and its interface differs by deployment, so govmedia speaks
//! to it through one flat record ([`Record`], the same columns in every form) and one trait
//! ([`NationalSystem`]) with an adapter per way in: [`http::HttpAdapter`] posts records to a
//! configured endpoint, and where no endpoint is reachable an operator exports them
//! ([`export`]) and uploads the file by hand. Nothing here knows about the database: the
//! [`reporter`] worker and the handlers move records between states.

pub mod export;
pub mod http;
pub mod reporter;

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};

use crate::domain::report::Delivery;

/// One column of a record: its JSON key and its spreadsheet header in both languages.
pub use govmedia_kit::table::Column;

/// Number of columns of a record.
pub const WIDTH: usize = 21;

/// The columns, in file order.
pub const COLUMNS: [Column; WIDTH] = [
    Column {
        key: "report",
        zh: "记录编号",
        en: "Report",
    },
    Column {
        key: "filing",
        zh: "备案编号",
        en: "Filing",
    },
    Column {
        key: "cause",
        zh: "事项代码",
        en: "Cause",
    },
    Column {
        key: "cause_name",
        zh: "事项",
        en: "Cause name",
    },
    Column {
        key: "account",
        zh: "账号编号",
        en: "Account",
    },
    Column {
        key: "organization",
        zh: "主办单位编号",
        en: "Organization",
    },
    Column {
        key: "organization_name",
        zh: "主办单位",
        en: "Organization name",
    },
    Column {
        key: "credit_code",
        zh: "统一社会信用代码",
        en: "Unified social credit code",
    },
    Column {
        key: "region_code",
        zh: "行政区划代码",
        en: "Region code",
    },
    Column {
        key: "management_department",
        zh: "管理部门",
        en: "Management department",
    },
    Column {
        key: "platform",
        zh: "平台",
        en: "Platform",
    },
    Column {
        key: "platform_account_id",
        zh: "平台账号ID",
        en: "Platform account ID",
    },
    Column {
        key: "display_name",
        zh: "账号名称",
        en: "Account name",
    },
    Column {
        key: "account_kind",
        zh: "账号类型",
        en: "Account kind",
    },
    Column {
        key: "account_status",
        zh: "账号状态",
        en: "Account status",
    },
    Column {
        key: "verified_subject",
        zh: "认证主体",
        en: "Verified subject",
    },
    Column {
        key: "operator",
        zh: "运营方式",
        en: "Operated by",
    },
    Column {
        key: "responsible_person",
        zh: "负责人",
        en: "Responsible person",
    },
    Column {
        key: "responsible_phone",
        zh: "负责人电话",
        en: "Responsible person's phone",
    },
    Column {
        key: "changed_at",
        zh: "变更时间",
        en: "Changed at",
    },
    // Last, so that readers of the earlier 20-column files keep their positions.
    Column {
        key: "filed_after_opening",
        zh: "未经报备先开设",
        en: "Filed after opening",
    },
];

/// A report record as the national system receives it: every value a string, in
/// [`COLUMNS`] order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The values.
    pub values: [String; WIDTH],
}

impl Record {
    /// The record's id (its first column).
    pub fn id(&self) -> &str {
        &self.values[0]
    }

    /// The record as a JSON object keyed by [`Column::key`].
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        for (column, value) in COLUMNS.iter().zip(&self.values) {
            object.insert(column.key.to_owned(), Value::String(value.clone()));
        }
        Value::Object(object)
    }
}

/// A future an adapter returns (boxed, so adapters can sit behind `dyn`).
pub type DeliveryFuture<'a> = Pin<Box<dyn Future<Output = Delivery> + Send + 'a>>;

/// A way to hand one record to the national system.
pub trait NationalSystem: Send + Sync + std::fmt::Debug {
    /// Delivers `record` once and says how the national system answered. Called again for the
    /// same record after [`Delivery::Unreachable`], so the receiving side must treat the record
    /// id as an idempotency key.
    fn deliver<'a>(&'a self, record: &'a Record) -> DeliveryFuture<'a>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_snake_case_and_headers_are_bilingual() {
        let mut keys: Vec<_> = COLUMNS.iter().map(|column| column.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), WIDTH);
        for column in COLUMNS {
            assert!(
                column
                    .key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_'),
                "{column:?}"
            );
            assert!(!column.zh.is_ascii(), "{column:?} needs a Chinese header");
            assert!(column.en.is_ascii() && !column.en.is_empty(), "{column:?}");
        }
    }

    #[test]
    fn json_follows_the_columns() {
        let record = Record {
            values: std::array::from_fn(|index| format!("v{index}")),
        };
        let json = record.to_json();
        assert_eq!(json["report"], "v0");
        assert_eq!(json["changed_at"], "v19");
        assert_eq!(record.id(), "v0");
    }
}
