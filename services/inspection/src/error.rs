//! Everything an inspection call can fail with, and what the caller sees for each: one variant
//! per outcome, one exhaustive match to the shared code set. Database failures are logged with
//! their cause and reach the caller as INTERNAL (or UNAVAILABLE) without any database text.

use govmedia_kit::error::{ApiError, ErrorCode, FieldViolation};
use govmedia_proto::common::v1::ErrorReason;
use govmedia_scanner::LexiconError;
use sea_orm::DbErr;

use crate::domain::rectification::OrderError;

/// An inspection-service failure.
#[derive(Debug, thiserror::Error)]
pub enum InspectionError {
    /// Already shaped by the kit or relayed from the registry: validation, authentication, the
    /// unit of work, the caller's jurisdiction as the registry judged it.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// NOT_FOUND: the named resource does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// PERMISSION_DENIED: the resource is outside the caller's jurisdiction.
    #[error("{0} is outside the caller's jurisdiction")]
    OutsideJurisdiction(String),
    /// ALREADY_EXISTS: a resource with that id exists.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// PERMISSION_DENIED: only a supervisor of the suite's root organization manages the
    /// lexicons, which every check of the suite uses.
    #[error("lexicons are managed at the root organization {root}")]
    NotRoot {
        /// The root organization's id.
        root: String,
    },
    /// PERMISSION_DENIED: only a management department's supervisors (or the suite's services)
    /// deliver evidence and set indicators.
    #[error("{what} is for a management department's supervisors")]
    NotManagement {
        /// What was asked, e.g. `delivering posts`.
        what: String,
    },
    /// INVALID_ARGUMENT: a lexicon file with a bad line; nothing changes.
    #[error("lexicon {name}: {error}")]
    Lexicon {
        /// The lexicon's name.
        name: String,
        /// The first bad line and why.
        error: LexiconError,
    },
    /// INVALID_ARGUMENT: a scheme that cannot be used, one violation per problem.
    #[error("the scheme cannot be used ({} problems)", .0.len())]
    Scheme(Vec<(String, String)>),
    /// FAILED_PRECONDITION: the scheme is another organization's, not for this account.
    #[error("{scheme} is not for {account}")]
    SchemeNotForAccount {
        /// `schemes/{id}`.
        scheme: String,
        /// `accounts/{id}`.
        account: String,
    },
    /// A step a rectification order refuses.
    #[error("{order}: {error}")]
    Order {
        /// `rectificationOrders/{id}`.
        order: String,
        /// Why.
        error: OrderError,
    },
    /// ALREADY_EXISTS: a finding is cited by an order that is not verified yet.
    #[error("{finding} is already cited by {order}")]
    FindingCited {
        /// `findings/{id}`.
        finding: String,
        /// `rectificationOrders/{id}`.
        order: String,
    },
    /// ABORTED: the etag sent is not the current one, or someone changed the resource between
    /// reading and writing.
    #[error("{resource} was changed meanwhile (etag {current})")]
    EtagMismatch {
        /// The resource.
        resource: String,
        /// Its current etag.
        current: String,
    },
    /// FAILED_PRECONDITION: what was asked exists only once the period is over.
    #[error("{what} exists only once {period} is over")]
    PeriodNotOver {
        /// What was asked, e.g. `the PUBLIC bulletin`.
        what: String,
        /// The period, `YYYY-Qn`.
        period: String,
    },
    /// INTERNAL: a document could not be written.
    #[error("writing {what}: {error}")]
    Document {
        /// Which.
        what: &'static str,
        /// Why.
        error: String,
    },
    /// INTERNAL or UNAVAILABLE: the database failed.
    #[error("database: {0}")]
    Store(#[from] DbErr),
}

impl From<InspectionError> for ApiError {
    fn from(error: InspectionError) -> Self {
        match error {
            InspectionError::Api(error) => error,
            InspectionError::NotFound(resource) => ApiError::not_found(&resource),
            InspectionError::OutsideJurisdiction(resource) => {
                ApiError::outside_jurisdiction(&resource)
            }
            InspectionError::AlreadyExists(resource) => ApiError::new(
                ErrorCode::AlreadyExists,
                ErrorReason::AlreadyExists,
                format!("{resource} already exists"),
            )
            .with_metadata("resource", resource.clone())
            .localized(format!("{resource} 已存在")),
            InspectionError::NotRoot { root } => ApiError::new(
                ErrorCode::PermissionDenied,
                ErrorReason::OutsideJurisdiction,
                format!(
                    "lexicons apply to every account of the suite: only a SUPERVISOR of organizations/{root} may change them"
                ),
            )
            .with_metadata("organization", format!("organizations/{root}"))
            .localized("词库适用于全部账号，只能由最上级管理部门的管理人员维护"),
            InspectionError::NotManagement { what } => ApiError::new(
                ErrorCode::PermissionDenied,
                ErrorReason::RoleNotAllowed,
                format!(
                    "{what} is for the supervisors of a management department (政务新媒体管理部门) and the suite's own services: an inspected unit does not supply its own evidence or measure"
                ),
            )
            .localized("只有政务新媒体管理部门的管理人员可以进行此操作，被检查单位不能自行提供检查依据"),
            InspectionError::Lexicon { name, error } => ApiError::invalid(vec![FieldViolation {
                field: "text".to_owned(),
                description: format!("line {}: {}", error.line, error.message),
            }])
            .with_metadata("lexicon", name)
            .with_metadata("line", error.line.to_string())
            .localized(format!("词库文件第 {} 行有误，未作任何更改", error.line)),
            InspectionError::Scheme(problems) => ApiError::invalid(
                problems
                    .into_iter()
                    .map(|(field, description)| FieldViolation {
                        field: format!("scheme.{field}"),
                        description,
                    })
                    .collect(),
            )
            .localized("指标体系有误，未作任何更改"),
            InspectionError::SchemeNotForAccount { scheme, account } => ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::OutsideJurisdiction,
                format!("{scheme} belongs to another organization and is not for {account}"),
            )
            .with_metadata("scheme", scheme)
            .with_metadata("account", account)
            .localized("该指标体系不适用于此账号"),
            InspectionError::Order { order, error } => order_error(order, error),
            InspectionError::FindingCited { finding, order } => ApiError::new(
                ErrorCode::AlreadyExists,
                ErrorReason::AlreadyExists,
                format!("{finding} is already cited by {order}, which is not verified yet: answer or decide that order instead of opening another"),
            )
            .with_metadata("finding", finding)
            .with_metadata("order", order)
            .localized("该问题已在未办结的整改通知中，不能重复下发"),
            InspectionError::EtagMismatch { resource, current } => ApiError::new(
                ErrorCode::Aborted,
                ErrorReason::EtagMismatch,
                format!("{resource} was changed by someone else; read it again (etag {current}) and retry"),
            )
            .with_metadata("resource", resource)
            .with_metadata("etag", current)
            .localized("记录已被他人修改，请重新读取后再试"),
            InspectionError::PeriodNotOver { what, period } => ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::PeriodNotOver,
                format!("{what} exists only once {period} is over; ask for the INTERNAL edition (a draft) meanwhile"),
            )
            .with_metadata("period", period)
            .localized("本季度尚未结束，只能生成内部版草稿，不能公开发布"),
            InspectionError::Document { what, error } => {
                ApiError::internal(&format!("writing {what}"), &error)
            }
            InspectionError::Store(error) => {
                govmedia_kit::db::api_error("the inspection database", &error)
            }
        }
    }
}

/// What a caller sees when an order refuses a step.
fn order_error(order: String, error: OrderError) -> ApiError {
    let message = format!("{order}: {error}");
    match error {
        OrderError::InvalidTransition { state, .. } => ApiError::new(
            ErrorCode::FailedPrecondition,
            ErrorReason::InvalidTransition,
            message,
        )
        .with_metadata("order", order)
        .with_metadata("state", state.as_str())
        .localized("整改通知当前状态不允许此操作，未作任何更改"),
        OrderError::RecheckPending { round } => ApiError::new(
            ErrorCode::FailedPrecondition,
            ErrorReason::RecheckPending,
            message,
        )
        .with_metadata("order", order)
        .with_metadata("round", round.to_string())
        .retry_after(std::time::Duration::from_secs(2))
        .localized("整改回复正在复查，复查完成后再审核"),
        OrderError::CommentRequired { .. } => ApiError::invalid(vec![FieldViolation {
            field: "comment".to_owned(),
            description: error.to_string(),
        }])
        .with_metadata("order", order)
        .localized("复查仍发现原有问题，认定整改到位须说明理由"),
        OrderError::OwnAnswer => ApiError::new(
            ErrorCode::PermissionDenied,
            ErrorReason::StepNotAllowed,
            message,
        )
        .with_metadata("order", order)
        .localized("整改单位不能审核本单位的整改"),
    }
}

impl From<InspectionError> for tonic::Status {
    fn from(error: InspectionError) -> Self {
        ApiError::from(error).into()
    }
}
