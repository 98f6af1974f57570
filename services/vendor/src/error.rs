//! Everything a vendor call can fail with, and what the caller sees for each: one variant per
//! outcome, one exhaustive match to the shared code set. Database failures are logged with their
//! cause and reach the caller as INTERNAL (or UNAVAILABLE) without any database text.

use govmedia_kit::error::{ApiError, ErrorCode, FieldViolation};
use govmedia_proto::common::v1::ErrorReason;
use sea_orm::DbErr;

use crate::domain::{StatusError, VendorStatus, delegation::EndError};

/// A vendor-service failure.
#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    /// Already shaped by the kit or relayed from the registry: validation, authentication, the
    /// unit of work, the caller's jurisdiction as the registry judged it.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// NOT_FOUND: the named resource does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// PERMISSION_DENIED: the vendor is not on the caller's line of jurisdiction, is not the
    /// caller's to change, or (for a VENDOR caller) is not the caller.
    #[error("{0} is outside the caller's jurisdiction")]
    OutsideJurisdiction(String),
    /// PERMISSION_DENIED: the vendor is visible to the caller but governed by the jurisdiction
    /// above it that registered it.
    #[error("{0} is governed by the jurisdiction that registered it, above the caller")]
    RegisteredAbove(String),
    /// PERMISSION_DENIED: the caller supervises, but not in a new-media management department.
    #[error("{0} is not a new-media management department")]
    NotManagementDepartment(String),
    /// ALREADY_EXISTS: a vendor with that id exists.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// ALREADY_EXISTS: the company is already registered on the caller's line of jurisdiction.
    #[error("the credit code {code} is already registered as {existing}")]
    CreditCodeTaken {
        /// The credit code.
        code: String,
        /// The vendor that holds it.
        existing: String,
    },
    /// FAILED_PRECONDITION: the company is blacklisted in the caller's jurisdiction or above.
    #[error("the credit code {code} is blacklisted in {jurisdiction}")]
    Barred {
        /// The credit code.
        code: String,
        /// The jurisdiction that barred it, `organizations/{id}`.
        jurisdiction: String,
    },
    /// FAILED_PRECONDITION: the status does not allow the step.
    #[error("{vendor}: {error}")]
    Status {
        /// The vendor.
        vendor: String,
        /// What the lifecycle says.
        error: StatusError,
    },
    /// INVALID_ARGUMENT: an assessor comes from the vendor itself.
    #[error("{field} {problem}")]
    AssessorConflict {
        /// The field, e.g. `vetting.assessors[1].affiliation`.
        field: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// FAILED_PRECONDITION: the vendor is not APPROVED, or its approval ran out.
    #[error("{vendor} is not approved{why}")]
    VendorNotApproved {
        /// The vendor.
        vendor: String,
        /// What is missing, starting with a separator, or empty.
        why: String,
    },
    /// FAILED_PRECONDITION: an account is delegated already for an overlapping scope and period.
    #[error("{account} is already delegated by {other}")]
    DelegationOverlap {
        /// The account.
        account: String,
        /// The delegation that holds it.
        other: String,
    },
    /// FAILED_PRECONDITION: the delegation cannot end now.
    #[error("{delegation}: {error}")]
    End {
        /// The delegation.
        delegation: String,
        /// Why not.
        error: EndError,
    },
    /// ABORTED: the etag sent is not the current one.
    #[error("{resource} has changed (etag {current})")]
    EtagMismatch {
        /// The resource.
        resource: String,
        /// Its current etag.
        current: String,
    },
    /// INTERNAL or UNAVAILABLE: the database failed.
    #[error("database: {0}")]
    Store(#[from] DbErr),
}

impl VendorError {
    /// ABORTED: `resource` changed since version `expected` was read.
    pub fn stale(resource: &str, expected: i64) -> Self {
        VendorError::EtagMismatch {
            resource: resource.to_owned(),
            current: (expected + 1).to_string(),
        }
    }
}

/// The status in Chinese, for the localized messages.
fn chinese(status: VendorStatus) -> &'static str {
    match status {
        VendorStatus::Candidate => "候选",
        VendorStatus::Approved => "已准入",
        VendorStatus::Suspended => "已暂停",
        VendorStatus::Terminated => "已终止",
        VendorStatus::Blacklisted => "已列入黑名单",
    }
}

impl From<VendorError> for ApiError {
    fn from(error: VendorError) -> Self {
        match error {
            VendorError::Api(error) => error,
            VendorError::NotFound(resource) => ApiError::not_found(&resource),
            VendorError::OutsideJurisdiction(resource) => ApiError::outside_jurisdiction(&resource),
            VendorError::RegisteredAbove(resource) => ApiError::new(
                ErrorCode::PermissionDenied,
                ErrorReason::OutsideJurisdiction,
                format!("{resource} is governed by the jurisdiction that registered it, above the caller"),
            )
            .with_metadata("resource", resource)
            .localized("该代运营机构由上级登记,由上级管理部门管理"),
            VendorError::NotManagementDepartment(organization) => ApiError::new(
                ErrorCode::PermissionDenied,
                ErrorReason::RoleNotAllowed,
                format!("{organization} is not a new-media management department: only its supervisors register, vet, approve, assess and bar vendors"),
            )
            .with_metadata("organization", organization)
            .localized("只有政务新媒体管理部门可以登记、评估、准入和清理代运营机构"),
            VendorError::AlreadyExists(resource) => ApiError::new(
                ErrorCode::AlreadyExists,
                ErrorReason::AlreadyExists,
                format!("{resource} already exists"),
            )
            .with_metadata("resource", resource.clone())
            .localized(format!("{resource} 已存在")),
            VendorError::CreditCodeTaken { code, existing } => ApiError::new(
                ErrorCode::AlreadyExists,
                ErrorReason::AlreadyExists,
                format!("the unified social credit code {code} is already registered as {existing}"),
            )
            .with_metadata("existing", existing.clone())
            .with_field_violation(
                "vendor.unified_social_credit_code",
                format!("is already registered as {existing}"),
            )
            .localized(format!("该统一社会信用代码已登记为 {existing},不得重复登记")),
            VendorError::Barred { code, jurisdiction } => ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::VendorBlacklisted,
                format!("the unified social credit code {code} is blacklisted in {jurisdiction}"),
            )
            .with_metadata("jurisdiction", jurisdiction)
            .localized("该机构已被列入代运营机构黑名单,本辖区内不得登记或使用"),
            VendorError::Status { vendor, error } => status_error(vendor, error),
            VendorError::AssessorConflict { field, problem } => {
                ApiError::invalid(vec![FieldViolation {
                    field,
                    description: problem.to_owned(),
                }])
                .localized("评审人员不得来自被评审的代运营机构")
            }
            VendorError::VendorNotApproved { vendor, why } => ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::VendorNotApproved,
                format!("{vendor} is not approved{why}"),
            )
            .with_metadata("vendor", vendor)
            .localized("只能委托经评估准入且在有效期内的代运营机构"),
            VendorError::DelegationOverlap { account, other } => ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::DelegationOverlap,
                format!("{account} is already delegated by {other} for an overlapping scope and period"),
            )
            .with_metadata("account", account)
            .with_metadata("delegation", other)
            .localized("该账号在相同范围和期间内已有代运营委托"),
            VendorError::End { delegation, error } => match error {
                EndError::AlreadyEnded => ApiError::new(
                    ErrorCode::FailedPrecondition,
                    ErrorReason::InvalidTransition,
                    format!("{delegation} has ended"),
                )
                .with_metadata("delegation", delegation)
                .localized("该委托已终止"),
            },
            VendorError::EtagMismatch { resource, current } => ApiError::new(
                ErrorCode::Aborted,
                ErrorReason::EtagMismatch,
                format!("{resource} was changed by someone else; read it again (etag {current}) and retry"),
            )
            .with_metadata("resource", resource)
            .with_metadata("etag", current),
            VendorError::Store(error) => govmedia_kit::db::api_error("the vendor database", &error),
        }
    }
}

fn status_error(vendor: String, error: StatusError) -> ApiError {
    let message = format!("{vendor}: {error}");
    match error {
        StatusError::Blacklisted => ApiError::new(
            ErrorCode::FailedPrecondition,
            ErrorReason::VendorBlacklisted,
            message,
        )
        .with_metadata("vendor", vendor)
        .localized("该代运营机构已被列入黑名单,不能再做任何变更"),
        StatusError::InvalidTransition { from, to } => ApiError::new(
            ErrorCode::FailedPrecondition,
            ErrorReason::InvalidTransition,
            message,
        )
        .with_metadata("vendor", vendor)
        .with_metadata("from", from.to_string())
        .with_metadata("to", to.to_string())
        .localized(format!(
            "代运营机构当前状态为“{}”,不能变更为“{}”",
            chinese(from),
            chinese(to)
        )),
        StatusError::VettingRequired { latest } => {
            let mut error = ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::VettingRequired,
                message,
            )
            .with_metadata("vendor", vendor);
            if let Some((vetting, why)) = latest {
                error = error
                    .with_metadata("latest_vetting", vetting)
                    .with_metadata("why", why);
            }
            error.localized("代运营机构须经评估合格且评估结果在有效期内,方可准入")
        }
    }
}

impl From<VendorError> for tonic::Status {
    fn from(error: VendorError) -> Self {
        ApiError::from(error).into()
    }
}
