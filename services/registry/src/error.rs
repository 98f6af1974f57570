//! Everything a registry call can fail with, and what the caller sees for each: one variant per
//! outcome, one exhaustive match to the shared code set. Database failures are logged with their
//! cause and reach the caller as INTERNAL (or UNAVAILABLE) without any database text.

use govmedia_kit::error::{ApiError, ErrorCode};
use govmedia_proto::common::v1::ErrorReason;
use sea_orm::DbErr;

use crate::domain::RuleViolation;

/// A registry failure.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Already shaped by the kit: validation (INVALID_ARGUMENT), authentication, unit of work.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// NOT_FOUND: the named resource does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// PERMISSION_DENIED: the resource is outside the caller's subtree.
    #[error("{0} is outside the caller's jurisdiction")]
    OutsideJurisdiction(String),
    /// PERMISSION_DENIED: the record of the caller's own jurisdiction root is kept by the level
    /// above.
    #[error("{0} is kept by the level above the caller")]
    KeptByLevelAbove(String),
    /// PERMISSION_DENIED: the caller's own organization is unknown, so it has no jurisdiction.
    #[error("the caller's organization {0} is not in the registry")]
    UnknownCallerOrganization(String),
    /// ALREADY_EXISTS: a resource with that id exists.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// ALREADY_EXISTS: the platform id is bound to another ledger entry.
    #[error("{platform_account_id} is already registered as {existing}")]
    PlatformAccountTaken {
        /// The contested id.
        platform_account_id: String,
        /// The account holding it.
        existing: String,
    },
    /// FAILED_PRECONDITION: a business rule forbids the change.
    #[error(transparent)]
    Rule(#[from] RuleViolation),
    /// ABORTED: the etag sent is not the current one (someone changed the resource meanwhile).
    #[error("{resource} has changed (etag {current})")]
    EtagMismatch {
        /// The resource.
        resource: String,
        /// Its current etag.
        current: String,
    },
    /// PERMISSION_DENIED: only the `service`'s own identity may call `method`.
    #[error("only the {service} service may call {method}")]
    ServiceOnly {
        /// The method.
        method: &'static str,
        /// The one service that may.
        service: &'static str,
    },
    /// FAILED_PRECONDITION: the filing cited is not the one the filing service vouched for.
    #[error("{filing} is not the accepted filing this call carries out")]
    FilingNotAccepted {
        /// The filing cited in the request.
        filing: String,
    },
    /// INTERNAL or UNAVAILABLE: the database failed.
    #[error("database: {0}")]
    Store(#[from] DbErr),
}

impl RegistryError {
    /// ABORTED: `resource` changed since version `expected` was read.
    pub fn stale(resource: &str, expected: i64) -> Self {
        RegistryError::EtagMismatch {
            resource: resource.to_owned(),
            current: (expected + 1).to_string(),
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(error: RegistryError) -> Self {
        match error {
            RegistryError::Api(error) => error,
            RegistryError::NotFound(resource) => ApiError::not_found(&resource),
            RegistryError::OutsideJurisdiction(resource) => ApiError::outside_jurisdiction(&resource),
            RegistryError::KeptByLevelAbove(resource) => ApiError::new(
                ErrorCode::PermissionDenied,
                ErrorReason::OutsideJurisdiction,
                format!("{resource} is kept by the level above the caller"),
            )
            .with_metadata("resource", resource)
            .localized("本单位及其上级单位的信息由上级管理部门维护"),
            RegistryError::UnknownCallerOrganization(org) => ApiError::new(
                ErrorCode::PermissionDenied,
                ErrorReason::OutsideJurisdiction,
                format!("the caller's organization {org} is not in the registry"),
            )
            .localized("调用方所属单位未登记,无权访问"),
            RegistryError::AlreadyExists(resource) => ApiError::new(
                ErrorCode::AlreadyExists,
                ErrorReason::AlreadyExists,
                format!("{resource} already exists"),
            )
            .with_metadata("resource", resource.clone())
            .localized(format!("{resource} 已存在")),
            RegistryError::PlatformAccountTaken {
                platform_account_id,
                existing,
            } => ApiError::new(
                ErrorCode::AlreadyExists,
                ErrorReason::AlreadyExists,
                format!("platform account {platform_account_id} is already registered as {existing}"),
            )
            .with_metadata("existing", existing.clone())
            .localized(format!("该平台账号已登记为 {existing},不得重复登记")),
            RegistryError::Rule(rule) => rule_error(rule),
            RegistryError::ServiceOnly { method, service } => ApiError::new(
                ErrorCode::PermissionDenied,
                ErrorReason::ServiceOnly,
                format!(
                    "only the {service} service may call {method}: the ledger changes when an accepted filing is applied"
                ),
            )
            .with_metadata("method", method)
            .with_metadata("service", service)
            .localized("账号的开设、变更、关停和注销只能由备案服务依据已受理的备案执行"),
            RegistryError::FilingNotAccepted { filing } => ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::FilingNotAccepted,
                format!("{filing} is not the accepted filing this call carries out"),
            )
            .with_metadata("filing", filing)
            .localized("所引用的备案未经受理,不能据此变更账号"),
            RegistryError::EtagMismatch { resource, current } => ApiError::new(
                ErrorCode::Aborted,
                ErrorReason::EtagMismatch,
                format!("{resource} was changed by someone else; read it again (etag {current}) and retry"),
            )
            .with_metadata("resource", resource)
            .with_metadata("etag", current),
            RegistryError::Store(error) => govmedia_kit::db::api_error("the registry database", &error),
        }
    }
}

impl From<RegistryError> for tonic::Status {
    fn from(error: RegistryError) -> Self {
        ApiError::from(error).into()
    }
}

fn rule_error(rule: RuleViolation) -> ApiError {
    let message = rule.to_string();
    let failed = |reason| ApiError::new(ErrorCode::FailedPrecondition, reason, message.clone());
    match rule {
        RuleViolation::AccountLimitPerPlatform(refusal) => {
            refusal.api_error("account.justification")
        }
        RuleViolation::FilingRequired => failed(ErrorReason::FilingRequired)
            .localized("未经报备,不得开设、变更、关停或注销账号:须提供已受理的备案"),
        RuleViolation::InvalidTransition { account, from, to } => {
            govmedia_accounts::status::invalid_transition(&account, from, to)
        }
        RuleViolation::AccountCancelled(account) => govmedia_accounts::status::cancelled(&account),
        RuleViolation::InvalidHierarchy(why) => failed(ErrorReason::InvalidHierarchy)
            .with_metadata("rule", why)
            .localized("组织机构的层级或上级单位不符合规定"),
        RuleViolation::KindChangeWithChildren(org) => failed(ErrorReason::OrganizationConstraint)
            .with_metadata("organization", org)
            .localized("该单位有下级单位,不能变更单位类型"),
        RuleViolation::ManagementDepartmentExists {
            government,
            existing,
        } => failed(ErrorReason::ManagementDepartmentExists)
            .with_metadata("government", government)
            .with_metadata("existing", existing)
            .localized("该级政府已有政务新媒体管理部门"),
        RuleViolation::ManagementDepartmentKind => failed(ErrorReason::OrganizationConstraint)
            .localized("只有人民政府或政府部门可以作为政务新媒体管理部门"),
    }
}
