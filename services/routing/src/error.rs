//! Everything a routing call can fail with, and what the caller sees for each: one variant per
//! outcome, one exhaustive match to the shared code set. Database and cryptographic failures are
//! logged with their cause and reach the caller as INTERNAL (or UNAVAILABLE) without any database
//! text or personal data.

use govmedia_kit::error::{ApiError, ErrorCode, FieldViolation};
use govmedia_proto::common::v1::ErrorReason;
use sea_orm::DbErr;

use crate::{
    domain::{CaseError, relay::RelayError, review::ReviewError},
    personal::VaultError,
};

/// A routing-service failure.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    /// Already shaped by the kit or relayed from the registry: validation, authentication, the
    /// unit of work, the caller's jurisdiction as the registry judged it.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// NOT_FOUND: the named resource does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// PERMISSION_DENIED: the resource is outside the caller's jurisdiction, or the caller is
    /// not the case's dispatcher.
    #[error("{0} is outside the caller's jurisdiction")]
    OutsideJurisdiction(String),
    /// ALREADY_EXISTS: a resource with that id exists.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// FAILED_PRECONDITION: the account takes no messages.
    #[error("{account} is {status}, not ACTIVE")]
    AccountNotActive {
        /// `accounts/{id}`.
        account: String,
        /// Its ledger status.
        status: String,
    },
    /// The case's rules refuse the step.
    #[error("{case}: {error}")]
    Case {
        /// `cases/{id}`.
        case: String,
        /// Why.
        error: CaseError,
    },
    /// A review step the chain's rules refuse.
    #[error("{draft}: {error}")]
    Review {
        /// `drafts/{id}`.
        draft: String,
        /// Why.
        error: ReviewError,
    },
    /// A relay confirmation the task refuses.
    #[error("{task}: {error}")]
    Relay {
        /// `relayTasks/{id}`.
        task: String,
        /// Why.
        error: RelayError,
    },
    /// ABORTED: the etag sent is not the current one.
    #[error("{resource} has changed (etag {current})")]
    EtagMismatch {
        /// The resource.
        resource: String,
        /// Its current etag.
        current: String,
    },
    /// INTERNAL: personal data could not be sealed or opened (a wrong key, a damaged value).
    #[error("personal data: {0}")]
    Vault(#[from] VaultError),
    /// INTERNAL or UNAVAILABLE: the database failed.
    #[error("database: {0}")]
    Store(#[from] DbErr),
}

impl RoutingError {
    /// The case's rules refuse a step of `case` (`cases/{id}`).
    pub fn case(case: &str, error: CaseError) -> Self {
        RoutingError::Case {
            case: case.to_owned(),
            error,
        }
    }
}

impl From<RoutingError> for ApiError {
    fn from(error: RoutingError) -> Self {
        match error {
            RoutingError::Api(error) => error,
            RoutingError::NotFound(resource) => ApiError::not_found(&resource),
            RoutingError::OutsideJurisdiction(resource) => ApiError::outside_jurisdiction(&resource),
            RoutingError::AlreadyExists(resource) => ApiError::new(
                ErrorCode::AlreadyExists,
                ErrorReason::AlreadyExists,
                format!("{resource} already exists"),
            )
            .with_metadata("resource", resource.clone())
            .localized(format!("{resource} 已存在")),
            RoutingError::AccountNotActive { account, status } => ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::AccountNotActive,
                format!("{account} is {status}: only an ACTIVE account takes messages"),
            )
            .with_metadata("account", account)
            .with_metadata("status", status)
            .localized("该账号不在正常运行状态,不能受理留言"),
            RoutingError::Case { case, error } => case_error(case, error),
            RoutingError::Review { draft, error } => review_error(draft, error),
            RoutingError::Relay { task, error } => match error {
                RelayError::NotTarget(account) => ApiError::invalid(vec![FieldViolation {
                    field: "account".to_owned(),
                    description: format!("accounts/{account} is not asked to relay in {task}"),
                }])
                .localized("该账号不在本次转载任务之中"),
                RelayError::AlreadyConfirmed { account, post } => ApiError::new(
                    ErrorCode::AlreadyExists,
                    ErrorReason::AlreadyExists,
                    format!("{task}: accounts/{account} confirmed already with post {post}"),
                )
                .with_metadata("task", task)
                .with_metadata("relayed_post_id", post)
                .localized("该账号已确认转载"),
            },
            RoutingError::EtagMismatch { resource, current } => ApiError::new(
                ErrorCode::Aborted,
                ErrorReason::EtagMismatch,
                format!("{resource} was changed by someone else; read it again (etag {current}) and retry"),
            )
            .with_metadata("resource", resource)
            .with_metadata("etag", current),
            RoutingError::Vault(error) => ApiError::internal("handling personal data", &error),
            RoutingError::Store(error) => {
                govmedia_kit::db::api_error("the routing database", &error)
            }
        }
    }
}

fn case_error(case: String, error: CaseError) -> ApiError {
    let message = format!("{case}: {error}");
    match error {
        CaseError::InvalidTransition { state, .. } => ApiError::new(
            ErrorCode::FailedPrecondition,
            ErrorReason::InvalidTransition,
            message,
        )
        .with_metadata("case", case)
        .with_metadata("state", state.to_string())
        .localized("工单当前状态不允许这一步操作"),
        CaseError::WrongDepartment => ApiError::new(
            ErrorCode::PermissionDenied,
            ErrorReason::StepNotAllowed,
            message,
        )
        .with_metadata("case", case)
        .localized("只有工单派往的承办部门可以办理此工单"),
        CaseError::ReturnWindowClosed { closed } => ApiError::new(
            ErrorCode::FailedPrecondition,
            ErrorReason::ReturnWindowClosed,
            message,
        )
        .with_metadata("case", case)
        .with_metadata("closed", closed.to_rfc3339())
        .localized("已超过退单时限,不能退单"),
        CaseError::ExtensionCap { remaining } => ApiError::invalid(vec![FieldViolation {
            field: "days".to_owned(),
            description: format!(
                "at most {remaining} more working days can be granted to this case"
            ),
        }])
        .with_metadata("case", case)
        .localized(format!(
            "延期天数超过上限,最多还可延期 {remaining} 个工作日"
        )),
        CaseError::ExtensionPending | CaseError::NoExtensionPending => ApiError::new(
            ErrorCode::FailedPrecondition,
            ErrorReason::InvalidTransition,
            message,
        )
        .with_metadata("case", case)
        .localized("延期申请状态不允许这一步操作"),
        CaseError::NotTheDispatcher => ApiError::new(
            ErrorCode::PermissionDenied,
            ErrorReason::StepNotAllowed,
            message,
        )
        .with_metadata("case", case)
        .localized("只有交办单位可以进行这一步操作"),
        CaseError::OwnReply => ApiError::new(
            ErrorCode::PermissionDenied,
            ErrorReason::StepNotAllowed,
            message,
        )
        .with_metadata("case", case)
        .localized("答复的起草人不能审核自己起草的答复"),
        CaseError::NotPublished => ApiError::new(
            ErrorCode::FailedPrecondition,
            ErrorReason::InvalidTransition,
            message,
        )
        .with_metadata("case", case)
        .localized("答复尚未发布"),
        CaseError::NotDissatisfied => ApiError::new(
            ErrorCode::FailedPrecondition,
            ErrorReason::InvalidTransition,
            message,
        )
        .with_metadata("case", case)
        .localized("只有群众不满意的工单才能重办"),
        CaseError::SameDepartment => ApiError::invalid(vec![FieldViolation {
            field: "redispatch_to".to_owned(),
            description: "is the department that returned the case".to_owned(),
        }])
        .with_metadata("case", case),
    }
}

fn review_error(draft: String, error: ReviewError) -> ApiError {
    let message = format!("{draft}: {error}");
    match error {
        ReviewError::State(state) => ApiError::new(
            ErrorCode::FailedPrecondition,
            ErrorReason::InvalidTransition,
            message,
        )
        .with_metadata("draft", draft)
        .with_metadata("state", state.to_string())
        .localized("稿件当前状态不允许这一步操作"),
        ReviewError::NotTheLevel { level, .. } => ApiError::new(
            ErrorCode::PermissionDenied,
            ErrorReason::StepNotAllowed,
            message,
        )
        .with_metadata("draft", draft)
        .with_metadata("level", level.to_string())
        .localized("只有本级审核人可以审核，且须按顺序逐级审核"),
        ReviewError::OwnDraft => ApiError::new(
            ErrorCode::PermissionDenied,
            ErrorReason::StepNotAllowed,
            message,
        )
        .with_metadata("draft", draft)
        .localized("作者不能审核自己的稿件"),
        ReviewError::SecondLevel(level) => ApiError::new(
            ErrorCode::PermissionDenied,
            ErrorReason::StepNotAllowed,
            message,
        )
        .with_metadata("draft", draft)
        .with_metadata("approved_level", level.to_string())
        .localized("同一人不得审核通过两个层级"),
        ReviewError::MissingAspects(missing) => ApiError::invalid(vec![FieldViolation {
            field: "aspects".to_owned(),
            description: format!("an approval checks all five aspects; missing: {missing}"),
        }])
        .with_metadata("draft", draft)
        .localized("审核通过须把好政治关、法律关、政策关、保密关、文字关"),
    }
}

impl From<RoutingError> for tonic::Status {
    fn from(error: RoutingError) -> Self {
        ApiError::from(error).into()
    }
}
