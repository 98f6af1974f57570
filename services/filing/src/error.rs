//! Everything a filing call can fail with, and what the caller sees for each: one variant per
//! outcome, one exhaustive match to the shared code set. Database failures are logged with their
//! cause and reach the caller as INTERNAL (or UNAVAILABLE) without any database text; errors of
//! the registry are relayed as the registry gave them (it owns the organizations and accounts).

use govmedia_accounts::{opening::Refusal, status::AccountStatus};
use govmedia_kit::error::{ApiError, ErrorCode};
use govmedia_proto::common::v1::ErrorReason;
use sea_orm::DbErr;

use crate::domain::{FilingKind, FilingState, WorkflowError, report::NotAllowed};

/// How long a caller should wait before asking again about a filing still being applied.
const APPLICATION_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

/// A filing failure.
#[derive(Debug, thiserror::Error)]
pub enum FilingError {
    /// Already shaped: validation (INVALID_ARGUMENT), authentication, unit of work, or an error
    /// of the registry relayed as it came.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// NOT_FOUND: the filing does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// PERMISSION_DENIED: the filing's unit is outside the caller's subtree.
    #[error("{0} is outside the caller's jurisdiction")]
    OutsideJurisdiction(String),
    /// ALREADY_EXISTS: a filing with that id exists.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// ALREADY_EXISTS: the platform id named by an OPEN filing is registered already.
    #[error("{platform_account_id} is already registered as {}", existing.as_deref().unwrap_or("an account of another unit"))]
    PlatformAccountTaken {
        /// The contested id.
        platform_account_id: String,
        /// The account holding it, when the caller may see it.
        existing: Option<String>,
    },
    /// FAILED_PRECONDITION (out of order) or PERMISSION_DENIED (not this caller's step).
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    /// FAILED_PRECONDITION: the filing would hand an account to a vendor outside a delegation.
    #[error(
        "only the vendor service files a change of operator to {vendor}, as the handover of a delegation"
    )]
    DelegationRequired {
        /// The vendor named.
        vendor: String,
    },
    /// FAILED_PRECONDITION: the unit's government has no management department to decide.
    #[error("{government} has no new-media management department to decide filings of {unit}")]
    NoManagementDepartment {
        /// The unit filing.
        unit: String,
        /// Its government (or the unit itself when it has none).
        government: String,
    },
    /// FAILED_PRECONDITION: the account does not belong to the filing unit.
    #[error("{account} does not belong to {unit}")]
    AccountOfAnotherUnit {
        /// The account named.
        account: String,
        /// The filing unit.
        unit: String,
    },
    /// FAILED_PRECONDITION: the account's status does not allow what the filing asks.
    #[error("{account} is {status}; a {kind} filing cannot apply to it")]
    TargetNotEligible {
        /// The account named.
        account: String,
        /// Its status.
        status: AccountStatus,
        /// The filing's kind.
        kind: FilingKind,
    },
    /// FAILED_PRECONDITION: R-03 does not allow the account now.
    #[error("{unit} may not open a further account on {} now", refusal.platform)]
    OpeningNotAllowed {
        /// The unit.
        unit: String,
        /// Why, as the ledger's rule says it.
        refusal: Refusal,
    },
    /// FAILED_PRECONDITION: binding needs an accepted and applied OPEN filing.
    #[error("{filing} is not an accepted OPEN filing (it is a {kind} filing, {state})")]
    NothingToBind {
        /// The filing.
        filing: String,
        /// Its kind.
        kind: &'static str,
        /// Its state.
        state: FilingState,
    },
    /// FAILED_PRECONDITION: the platform id is bound already.
    #[error("{filing} already bound {bound}")]
    AlreadyBound {
        /// The filing.
        filing: String,
        /// The bound id.
        bound: String,
    },
    /// UNAVAILABLE: accepted, still being applied; retry shortly.
    #[error("{0} is still being applied to the registry")]
    ApplicationPending(String),
    /// ABORTED: the etag sent is not the current one (someone changed the filing meanwhile).
    #[error("{resource} has changed (etag {current})")]
    EtagMismatch {
        /// The resource.
        resource: String,
        /// Its current etag.
        current: String,
    },
    /// FAILED_PRECONDITION: a report record may not take the step asked (MarkReports).
    #[error("{report} is {}; it cannot become {}", .step.from, .step.to)]
    ReportStep {
        /// The record.
        report: String,
        /// Its state and the one asked for.
        step: NotAllowed,
    },
    /// FAILED_PRECONDITION: a failed record may not be queued again once a newer record of
    /// the same account has reached the national system.
    #[error("{report} is superseded by {newer}, which the national system already has")]
    ReportSuperseded {
        /// The record.
        report: String,
        /// The newer record.
        newer: String,
    },
    /// ABORTED: a concurrent request replaced the same resource first (two imports of one
    /// roster at once); nothing of this one was kept.
    #[error("{0} was replaced by a concurrent request; send this one again")]
    ConcurrentChange(String),
    /// INTERNAL: an export could not be written.
    #[error("writing the export: {0}")]
    Export(String),
    /// PERMISSION_DENIED: only the management department of the unit's own level enforces a
    /// closure of its accounts.
    #[error(
        "only a supervisor of {department}, the management department of {unit}'s level, enforces the closure of its accounts"
    )]
    NotDecidingDepartment {
        /// `organizations/{id}` of the account's unit.
        unit: String,
        /// `organizations/{id}` of its management department.
        department: String,
    },
    /// FAILED_PRECONDITION: the inspection service does not recommend closing the account on
    /// the grounds named.
    #[error(
        "{grounds} is not grounds for closing {account}: the inspection service recommends no closure of it on that order ({why})"
    )]
    ClosureNotRecommended {
        /// `accounts/{id}`.
        account: String,
        /// `rectificationOrders/{id}`.
        grounds: String,
        /// What the inspection service said.
        why: String,
    },
    /// FAILED_PRECONDITION: a RESUME of an account suspended by an enforced closure waits for
    /// its rectification order to be verified.
    #[error(
        "{account} was suspended by the enforced closure {filing} on the grounds of {grounds}, which is {state}: it resumes only once that order is VERIFIED"
    )]
    RectificationNotVerified {
        /// `accounts/{id}`.
        account: String,
        /// `filings/{id}` of the enforced suspension.
        filing: String,
        /// `rectificationOrders/{id}`.
        grounds: String,
        /// The order's state now.
        state: String,
    },
    /// FAILED_PRECONDITION: enforcement needs the inspection service, which is not configured.
    #[error(
        "the inspection service is not configured (filing.inspection_endpoint): rectification orders cannot be consulted"
    )]
    NoInspection,
    /// INTERNAL or UNAVAILABLE: the database failed.
    #[error("database: {0}")]
    Store(#[from] DbErr),
}

impl From<FilingError> for ApiError {
    fn from(error: FilingError) -> Self {
        let message = error.to_string();
        match error {
            FilingError::Api(error) => error,
            FilingError::NotFound(resource) => ApiError::not_found(&resource),
            FilingError::OutsideJurisdiction(resource) => ApiError::outside_jurisdiction(&resource),
            FilingError::AlreadyExists(resource) => {
                ApiError::new(ErrorCode::AlreadyExists, ErrorReason::AlreadyExists, message)
                    .with_metadata("resource", resource.clone())
                    .localized(format!("{resource} 已存在"))
            }
            FilingError::PlatformAccountTaken {
                existing: Some(existing),
                ..
            } => ApiError::new(ErrorCode::AlreadyExists, ErrorReason::AlreadyExists, message)
                .with_field_violation(
                    "filing.account.platform_account_id",
                    format!("is already registered as {existing}"),
                )
                .with_metadata("existing", existing.clone())
                .localized(format!("该平台账号已登记为 {existing},不得重复开设")),
            FilingError::PlatformAccountTaken { existing: None, .. } => {
                ApiError::new(ErrorCode::AlreadyExists, ErrorReason::AlreadyExists, message)
                    .with_field_violation(
                        "filing.account.platform_account_id",
                        "is already registered to an account of another unit",
                    )
                    .localized("该平台账号已由其他单位登记,不得重复开设")
            }
            FilingError::Workflow(WorkflowError::InvalidTransition { state, step }) => {
                ApiError::new(
                    ErrorCode::FailedPrecondition,
                    ErrorReason::InvalidTransition,
                    message,
                )
                .with_metadata("state", state.as_str())
                .with_metadata("action", step.action().as_str())
                .localized(format!("备案当前状态为“{}”,不能进行此操作", chinese(state)))
            }
            FilingError::Workflow(WorkflowError::StepNotAllowed { state, step, .. }) => {
                ApiError::new(
                    ErrorCode::PermissionDenied,
                    ErrorReason::StepNotAllowed,
                    message,
                )
                .with_metadata("state", state.as_str())
                .with_metadata("action", step.action().as_str())
                .localized(
                    "备案须经本单位主要负责人同意,由同级政务新媒体管理部门受理;撤回由提交人或本单位负责人办理",
                )
            }
            FilingError::NotDecidingDepartment { unit, department } => ApiError::new(
                ErrorCode::PermissionDenied,
                ErrorReason::StepNotAllowed,
                message,
            )
            .with_metadata("organization", unit)
            .with_metadata("department", department)
            .localized("只有本级政务新媒体管理部门可以对账号强制关停注销"),
            FilingError::ClosureNotRecommended {
                account,
                grounds,
                ..
            } => ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::ClosureNotRecommended,
                message,
            )
            .with_field_violation("grounds", "is no order the inspection service recommends closing this account for")
            .with_metadata("account", account)
            .with_metadata("grounds", grounds)
            .localized("该整改通知不构成关停注销的依据（监测检查服务未建议关停该账号）"),
            FilingError::RectificationNotVerified {
                account,
                filing,
                grounds,
                state,
            } => ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::RectificationNotVerified,
                message,
            )
            .with_metadata("account", account)
            .with_metadata("filing", filing)
            .with_metadata("grounds", grounds)
            .with_metadata("state", state)
            .localized("该账号因整改不到位被强制关停，整改通知经核验办结后方可恢复"),
            FilingError::NoInspection => ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::Unavailable,
                message,
            )
            .localized("未配置监测检查服务，无法核对整改通知"),
            FilingError::DelegationRequired { vendor } => ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::DelegationRequired,
                message,
            )
            .with_field_violation(
                "filing.account.operator.vendor",
                "a vendor becomes an account's operator through a delegation (VendorService/CreateDelegation)",
            )
            .with_metadata("vendor", vendor)
            .localized("账号交由代运营机构运营,须经代运营委托(CreateDelegation)办理,不得直接备案变更"),
            FilingError::NoManagementDepartment { unit, government } => ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::NoManagementDepartment,
                message,
            )
            .with_metadata("organization", unit)
            .with_metadata("government", government)
            .localized("本级政府尚未确定政务新媒体管理部门,备案无人受理"),
            FilingError::AccountOfAnotherUnit { account, unit } => ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::OrganizationConstraint,
                message,
            )
            .with_field_violation("filing.target_account", format!("does not belong to {unit}"))
            .with_metadata("account", account)
            .localized("只能为本单位的账号备案"),
            FilingError::TargetNotEligible {
                account,
                status,
                kind,
            } => match kind.ledger_change() {
                Some(change) => govmedia_accounts::status::refusal(&account, status, change),
                None => govmedia_accounts::status::cancelled(&account),
            }
            .with_metadata("kind", kind.as_str()),
            FilingError::OpeningNotAllowed { unit, refusal } => refusal
                .api_error("filing.account.justification")
                .with_metadata("organization", unit),
            FilingError::NothingToBind { filing, .. } => ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::FilingRequired,
                message,
            )
            .with_metadata("filing", filing)
            .localized("未经报备,不得开设:只有已受理并已登记的开设备案才能绑定平台账号"),
            FilingError::AlreadyBound { filing, bound } => ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::InvalidTransition,
                message,
            )
            .with_metadata("filing", filing)
            .with_metadata("platform_account_id", bound)
            .localized("该备案已绑定平台账号"),
            FilingError::ApplicationPending(filing) => ApiError::new(
                ErrorCode::Unavailable,
                ErrorReason::ApplicationPending,
                message,
            )
            .with_metadata("filing", filing)
            .retry_after(APPLICATION_RETRY)
            .localized("备案已受理,正在登记到台账,请稍后再试"),
            FilingError::EtagMismatch { resource, current } => ApiError::new(
                ErrorCode::Aborted,
                ErrorReason::EtagMismatch,
                format!("{resource} was changed by someone else; read it again (etag {current}) and retry"),
            )
            .with_metadata("resource", resource)
            .with_metadata("etag", current),
            FilingError::ReportStep { report, step } => ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::InvalidTransition,
                message,
            )
            .with_metadata("report", report)
            .with_metadata("state", step.from.as_str())
            .with_metadata("requested_state", step.to.as_str())
            .localized("报送记录当前状态不允许此操作(已确认的记录不能再更改,失败的记录只能重新排队)"),
            FilingError::ReportSuperseded { report, newer } => ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::InvalidTransition,
                message,
            )
            .with_metadata("report", report)
            .with_metadata("newer", newer)
            .localized("该账号已有更新的报送记录被接收,旧记录不能重新报送"),
            FilingError::ConcurrentChange(resource) => ApiError::new(
                ErrorCode::Aborted,
                ErrorReason::ConcurrentChange,
                message,
            )
            .with_metadata("resource", resource)
            .localized("同一资源正被另一请求更新,本次未生效,请重试"),
            FilingError::Export(error) => ApiError::internal("writing an export", &error),
            FilingError::Store(error) => govmedia_kit::db::api_error("the filing database", &error),
        }
    }
}

impl From<FilingError> for tonic::Status {
    fn from(error: FilingError) -> Self {
        ApiError::from(error).into()
    }
}

/// The Chinese name of a state, for localized messages.
pub fn chinese(state: FilingState) -> &'static str {
    match state {
        FilingState::Draft => "草稿",
        FilingState::Submitted => "待负责人同意",
        FilingState::LeaderApproved => "待管理部门受理",
        FilingState::Accepted => "已受理",
        FilingState::Rejected => "不予受理",
        FilingState::Withdrawn => "已撤回",
        FilingState::Returned => "已退回修改",
    }
}
