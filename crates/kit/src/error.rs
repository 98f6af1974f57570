//! One place that turns service errors into what a caller sees.
//!
//! Every service has its own error enum (e.g. `RegistryError`) whose variants say which
//! [`ErrorCode`] they become; it converts into an [`ApiError`], and `ApiError` converts into a
//! `tonic::Status` carrying google.rpc details:
//!
//! * `BadRequest` with one field violation per bad request field,
//! * `ErrorInfo` with a stable reason from `govmedia.common.v1.ErrorReason` and domain
//!   [`ERROR_DOMAIN`],
//! * `PreconditionFailure` for rule violations,
//! * a zh-CN `LocalizedMessage` for messages a government operator will read.
//!
//! Internal errors are logged here with their cause and reach the caller only as a generic
//! message with the trace id, so no database text ever leaks.

use std::collections::HashMap;

use govmedia_proto::common::v1::ErrorReason;
use tonic::Code;
use tonic_types::{ErrorDetails, StatusExt};

/// `ErrorInfo.domain` of every govmedia error.
pub const ERROR_DOMAIN: &str = "govmedia.gov.cn";

/// The small code set every service error maps to (quickwit's `ServiceErrorCode` idea): one
/// table from domain outcome to gRPC code and HTTP status, shared by the gRPC servers and the
/// HTTP/JSON gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The request itself is malformed.
    InvalidArgument,
    /// No valid credentials.
    Unauthenticated,
    /// Valid credentials, but the role or jurisdiction does not allow it.
    PermissionDenied,
    /// The named resource does not exist.
    NotFound,
    /// The resource to create exists already.
    AlreadyExists,
    /// A business rule forbids the change in the current state.
    FailedPrecondition,
    /// A concurrent change won (stale etag); re-read and retry.
    Aborted,
    /// A quota or rate limit was hit.
    ResourceExhausted,
    /// A dependency is down; retrying later can succeed.
    Unavailable,
    /// A bug or an unexpected failure; details are in the server log only.
    Internal,
    /// The deadline passed before the answer.
    DeadlineExceeded,
    /// No such method.
    Unimplemented,
    /// The caller cancelled.
    Cancelled,
}

impl ErrorCode {
    /// The gRPC status code.
    pub fn grpc(self) -> Code {
        match self {
            ErrorCode::InvalidArgument => Code::InvalidArgument,
            ErrorCode::Unauthenticated => Code::Unauthenticated,
            ErrorCode::PermissionDenied => Code::PermissionDenied,
            ErrorCode::NotFound => Code::NotFound,
            ErrorCode::AlreadyExists => Code::AlreadyExists,
            ErrorCode::FailedPrecondition => Code::FailedPrecondition,
            ErrorCode::Aborted => Code::Aborted,
            ErrorCode::ResourceExhausted => Code::ResourceExhausted,
            ErrorCode::Unavailable => Code::Unavailable,
            ErrorCode::Internal => Code::Internal,
            ErrorCode::DeadlineExceeded => Code::DeadlineExceeded,
            ErrorCode::Unimplemented => Code::Unimplemented,
            ErrorCode::Cancelled => Code::Cancelled,
        }
    }

    /// The code set entry of a gRPC code (for statuses that come back from another service).
    pub fn from_grpc(code: Code) -> ErrorCode {
        match code {
            Code::InvalidArgument | Code::OutOfRange => ErrorCode::InvalidArgument,
            Code::Unauthenticated => ErrorCode::Unauthenticated,
            Code::PermissionDenied => ErrorCode::PermissionDenied,
            Code::NotFound => ErrorCode::NotFound,
            Code::AlreadyExists => ErrorCode::AlreadyExists,
            Code::FailedPrecondition => ErrorCode::FailedPrecondition,
            Code::Aborted => ErrorCode::Aborted,
            Code::ResourceExhausted => ErrorCode::ResourceExhausted,
            Code::Unavailable => ErrorCode::Unavailable,
            Code::DeadlineExceeded => ErrorCode::DeadlineExceeded,
            Code::Unimplemented => ErrorCode::Unimplemented,
            Code::Cancelled => ErrorCode::Cancelled,
            Code::Ok | Code::Unknown | Code::Internal | Code::DataLoss => ErrorCode::Internal,
        }
    }

    /// The HTTP status of the same outcome (google.rpc.Code mapping).
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidArgument => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::PermissionDenied => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::AlreadyExists | ErrorCode::Aborted => 409,
            ErrorCode::FailedPrecondition => 412,
            ErrorCode::ResourceExhausted => 429,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
            ErrorCode::DeadlineExceeded => 504,
            ErrorCode::Unimplemented => 501,
            // What nginx and Google's APIs use for a client that went away.
            ErrorCode::Cancelled => 499,
        }
    }
}

/// A field of the request that failed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field, e.g. `account.display_name`.
    pub field: String,
    /// What is wrong, for a developer.
    pub description: String,
}

/// A rule that the current state violates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreconditionViolation {
    /// Kind of violation, e.g. `ACCOUNT_NOT_HEALTHY`.
    pub kind: String,
    /// What it is about, e.g. `accounts/golmud-edu-wechat`.
    pub subject: String,
    /// What is wrong.
    pub description: String,
}

/// An error on its way to the caller. Build it with the constructors, add details, convert with
/// `tonic::Status::from`. Boxed, so that `Result<T, ApiError>` stays one pointer wide.
#[derive(Debug)]
pub struct ApiError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    code: ErrorCode,
    reason: ErrorReason,
    message: String,
    metadata: HashMap<String, String>,
    field_violations: Vec<FieldViolation>,
    preconditions: Vec<PreconditionViolation>,
    localized: Option<String>,
    retry_after: Option<std::time::Duration>,
}

impl ApiError {
    /// An error with a code, a stable reason and a developer message.
    pub fn new(code: ErrorCode, reason: ErrorReason, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            code,
            reason,
            message: message.into(),
            metadata: HashMap::new(),
            field_violations: Vec::new(),
            preconditions: Vec::new(),
            localized: None,
            retry_after: None,
        }))
    }

    /// INVALID_ARGUMENT with the given field violations.
    pub fn invalid(violations: Vec<FieldViolation>) -> Self {
        let message = match violations.as_slice() {
            [only] => format!("invalid {}: {}", clip(&only.field), clip(&only.description)),
            many => {
                let named = many
                    .iter()
                    .take(NAMED_IN_MESSAGE)
                    .map(|v| clip(&v.field))
                    .collect::<Vec<_>>()
                    .join(", ");
                match many.len().checked_sub(NAMED_IN_MESSAGE) {
                    Some(more) if more > 0 => {
                        format!("{} invalid fields: {named} and {more} more", many.len())
                    }
                    _ => format!("{} invalid fields: {named}", many.len()),
                }
            }
        };
        let mut error = Self::new(
            ErrorCode::InvalidArgument,
            ErrorReason::InvalidField,
            message,
        );
        error.0.field_violations = violations;
        error
    }

    /// NOT_FOUND for a resource name.
    pub fn not_found(resource: &str) -> Self {
        Self::new(
            ErrorCode::NotFound,
            ErrorReason::NotFound,
            format!("{resource} does not exist"),
        )
        .with_metadata("resource", resource)
        .localized(format!("{resource} 不存在"))
    }

    /// PERMISSION_DENIED because the resource is outside the caller's subtree.
    pub fn outside_jurisdiction(resource: &str) -> Self {
        Self::new(
            ErrorCode::PermissionDenied,
            ErrorReason::OutsideJurisdiction,
            format!("{resource} is outside the caller's jurisdiction"),
        )
        .with_metadata("resource", resource)
        .localized(format!("{resource} 不在本单位管辖范围内"))
    }

    /// INTERNAL: logs the cause here, tells the caller only where to look.
    pub fn internal(context: &str, cause: &dyn std::fmt::Display) -> Self {
        let trace_id = crate::telemetry::current_trace_id();
        tracing::error!(%cause, trace_id = %trace_id, "{context}");
        Self::new(
            ErrorCode::Internal,
            ErrorReason::Internal,
            format!("internal error while {context}; trace id {trace_id}"),
        )
    }

    /// UNAVAILABLE: a dependency is down; logs the cause.
    pub fn unavailable(context: &str, cause: &dyn std::fmt::Display) -> Self {
        tracing::warn!(%cause, "{context}");
        Self::new(
            ErrorCode::Unavailable,
            ErrorReason::Unavailable,
            format!("{context} is unavailable; retry later"),
        )
    }

    /// Adds an `ErrorInfo.metadata` entry.
    pub fn with_metadata(mut self, key: &str, value: impl Into<String>) -> Self {
        self.0.metadata.insert(key.to_owned(), value.into());
        self
    }

    /// Adds a field violation (a BadRequest detail).
    pub fn with_field_violation(mut self, field: &str, description: impl Into<String>) -> Self {
        self.0.field_violations.push(FieldViolation {
            field: field.to_owned(),
            description: description.into(),
        });
        self
    }

    /// Adds a precondition violation.
    pub fn with_precondition(mut self, violation: PreconditionViolation) -> Self {
        self.0.preconditions.push(violation);
        self
    }

    /// Tells the caller when to retry (a google.rpc.RetryInfo detail).
    pub fn retry_after(mut self, delay: std::time::Duration) -> Self {
        self.0.retry_after = Some(delay);
        self
    }

    /// Sets the zh-CN message for the operator.
    pub fn localized(mut self, message: impl Into<String>) -> Self {
        self.0.localized = Some(message.into());
        self
    }

    /// An error another govmedia service answered with, relayed to this service's caller as it
    /// came: same code, reason and details, so a jurisdiction or validation verdict of the
    /// service that owns the data reaches the caller unchanged. A status that does not come from
    /// a govmedia service (no govmedia ErrorInfo: a transport failure, a proxy) carries no
    /// trustworthy text and becomes UNAVAILABLE or INTERNAL about `service`, its cause logged.
    pub fn relay(service: &str, status: &tonic::Status) -> Self {
        let details = status.get_error_details();
        let reason = details
            .error_info()
            .filter(|info| info.domain == ERROR_DOMAIN)
            .and_then(|info| ErrorReason::from_str_name(&format!("ERROR_REASON_{}", info.reason)));
        let Some(reason) = reason else {
            let cause = format!("{:?}: {}", status.code(), status.message());
            return match status.code() {
                Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
                    Self::unavailable(service, &cause)
                }
                _ => Self::internal(&format!("calling {service}"), &cause),
            };
        };
        let mut error = Self::new(
            ErrorCode::from_grpc(status.code()),
            reason,
            status.message(),
        );
        if let Some(info) = details.error_info() {
            error.0.metadata = info.metadata.clone();
        }
        if let Some(bad_request) = details.bad_request() {
            for violation in &bad_request.field_violations {
                error = error.with_field_violation(&violation.field, violation.description.clone());
            }
        }
        if let Some(failure) = details.precondition_failure() {
            for violation in &failure.violations {
                error = error.with_precondition(PreconditionViolation {
                    kind: violation.r#type.clone(),
                    subject: violation.subject.clone(),
                    description: violation.description.clone(),
                });
            }
        }
        if let Some(message) = details.localized_message() {
            error.0.localized = Some(message.message.clone());
        }
        if let Some(delay) = details.retry_info().and_then(|info| info.retry_delay) {
            error.0.retry_after = Some(delay);
        }
        error
    }

    /// The code of this error.
    pub fn code(&self) -> ErrorCode {
        self.0.code
    }

    /// The reason of this error.
    pub fn reason(&self) -> ErrorReason {
        self.0.reason
    }

    /// The developer message.
    pub fn message(&self) -> &str {
        &self.0.message
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.0.code, self.0.message)
    }
}

impl std::error::Error for ApiError {}

/// The `ErrorInfo.reason` string of a reason: its proto name without the `ERROR_REASON_` prefix.
pub fn reason_name(reason: ErrorReason) -> &'static str {
    let full = reason.as_str_name();
    full.strip_prefix("ERROR_REASON_").unwrap_or(full)
}

/// Field violations one error carries at most; the rest are counted (`field_violations` in the
/// ErrorInfo metadata). Without a cap a request that repeats a bad field a thousand times would
/// get trailers larger than HTTP/2 carries, and the caller a reset instead of an answer.
pub const MAX_FIELD_VIOLATIONS: usize = 20;

/// The longest field path or description an error repeats back, in characters.
const MAX_ECHO_CHARS: usize = 100;

/// Fields an error's message names; the details list more.
const NAMED_IN_MESSAGE: usize = 5;

/// `text`, cut to [`MAX_ECHO_CHARS`] characters: errors repeat what the caller sent, and must not
/// grow with it.
fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_ECHO_CHARS) {
        None => std::borrow::Cow::Borrowed(text),
        Some((end, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..end])),
    }
}

impl From<ApiError> for tonic::Status {
    fn from(error: ApiError) -> Self {
        let mut error = *error.0;
        let mut details = ErrorDetails::new();
        if error.field_violations.len() > MAX_FIELD_VIOLATIONS {
            error.metadata.insert(
                "field_violations".to_owned(),
                error.field_violations.len().to_string(),
            );
            error.field_violations.truncate(MAX_FIELD_VIOLATIONS);
        }
        details.set_error_info(reason_name(error.reason), ERROR_DOMAIN, error.metadata);
        for violation in error.field_violations {
            details.add_bad_request_violation(clip(&violation.field), clip(&violation.description));
        }
        for violation in error.preconditions {
            details.add_precondition_failure_violation(
                violation.kind,
                violation.subject,
                violation.description,
            );
        }
        if let Some(message) = error.localized {
            details.set_localized_message("zh-CN", message);
        }
        if let Some(delay) = error.retry_after {
            details.set_retry_info(Some(delay));
        }
        tonic::Status::with_error_details(error.code.grpc(), error.message, details)
    }
}

/// Collects field violations while validating a request, so that the caller learns about every
/// bad field at once.
#[derive(Debug, Default)]
pub struct Violations {
    violations: Vec<FieldViolation>,
    /// A more specific reason than INVALID_FIELD, when one violation has one.
    reason: Option<ErrorReason>,
}

impl Violations {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` is wrong.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.violations.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Records a violation that has its own stable reason (e.g. INVALID_PAGE_TOKEN); the error
    /// then carries that reason instead of INVALID_FIELD.
    pub fn add_with_reason(
        &mut self,
        field: impl Into<String>,
        description: impl Into<String>,
        reason: ErrorReason,
    ) {
        self.add(field, description);
        self.reason.get_or_insert(reason);
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    /// `Ok(())` when nothing was recorded, the INVALID_ARGUMENT error otherwise.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.violations.is_empty() {
            return Ok(());
        }
        let mut error = ApiError::invalid(self.violations);
        if let Some(reason) = self.reason {
            error.0.reason = reason;
        }
        Err(error)
    }

    /// `Ok(value)` when nothing was recorded, the INVALID_ARGUMENT error otherwise.
    pub fn finish_with<T>(self, value: T) -> Result<T, ApiError> {
        self.finish().map(|()| value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_carries_every_detail() {
        let status = tonic::Status::from(
            ApiError::new(
                ErrorCode::FailedPrecondition,
                ErrorReason::AccountLimitPerPlatform,
                "limit",
            )
            .with_metadata("platform", "PLATFORM_WEIBO")
            .with_precondition(PreconditionViolation {
                kind: "ACCOUNT_NOT_HEALTHY".into(),
                subject: "accounts/a".into(),
                description: "suspended".into(),
            })
            .localized("同一平台原则上只开设一个账号"),
        );
        assert_eq!(status.code(), Code::FailedPrecondition);
        let details = status.get_error_details();
        let info = details.error_info().expect("error info");
        assert_eq!(info.reason, "ACCOUNT_LIMIT_PER_PLATFORM");
        assert_eq!(info.domain, ERROR_DOMAIN);
        assert_eq!(info.metadata["platform"], "PLATFORM_WEIBO");
        assert_eq!(
            details.precondition_failure().expect("pf").violations.len(),
            1
        );
        assert_eq!(details.localized_message().expect("lm").locale, "zh-CN");
    }

    #[test]
    fn a_relayed_error_keeps_code_reason_and_details() {
        let original = ApiError::new(
            ErrorCode::FailedPrecondition,
            ErrorReason::AccountLimitPerPlatform,
            "limit",
        )
        .with_metadata("platform", "PLATFORM_WEIBO")
        .with_field_violation("account.justification", "is required")
        .with_precondition(PreconditionViolation {
            kind: "ACCOUNT_NOT_HEALTHY".into(),
            subject: "accounts/a".into(),
            description: "suspended".into(),
        })
        .localized("同一平台原则上只开设一个账号")
        .retry_after(std::time::Duration::from_secs(3));
        let relayed = tonic::Status::from(ApiError::relay(
            "the registry",
            &tonic::Status::from(original),
        ));
        assert_eq!(relayed.code(), Code::FailedPrecondition);
        assert_eq!(relayed.message(), "limit");
        let details = relayed.get_error_details();
        let info = details.error_info().expect("error info");
        assert_eq!(info.reason, "ACCOUNT_LIMIT_PER_PLATFORM");
        assert_eq!(info.metadata["platform"], "PLATFORM_WEIBO");
        assert_eq!(details.bad_request().expect("br").field_violations.len(), 1);
        assert_eq!(
            details.precondition_failure().expect("pf").violations.len(),
            1
        );
        assert_eq!(
            details.localized_message().expect("lm").message,
            "同一平台原则上只开设一个账号"
        );
        assert_eq!(
            details.retry_info().expect("retry").retry_delay,
            Some(std::time::Duration::from_secs(3))
        );
    }

    #[test]
    fn a_foreign_status_is_not_relayed_verbatim() {
        let transport = tonic::Status::unavailable("tcp connect error: Connection refused");
        let relayed = ApiError::relay("the registry", &transport);
        assert_eq!(relayed.code(), ErrorCode::Unavailable);
        assert!(!relayed.message().contains("tcp"), "{}", relayed.message());
        let odd = tonic::Status::internal("pq: relation \"accounts\" does not exist");
        let relayed = ApiError::relay("the registry", &odd);
        assert_eq!(relayed.code(), ErrorCode::Internal);
        assert!(
            !relayed.message().contains("relation"),
            "{}",
            relayed.message()
        );
    }

    #[test]
    fn a_flood_of_violations_is_cut_to_the_first_ones_and_counted() {
        let mut violations = Violations::new();
        for index in 0..500 {
            violations.add(
                format!("change_mask.paths[{index}]{}", "x".repeat(300)),
                "is repeated",
            );
        }
        let status = tonic::Status::from(violations.finish().unwrap_err());
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(
            status.message().ends_with("and 495 more"),
            "{}",
            status.message()
        );
        let details = status.get_error_details();
        let listed = &details.bad_request().expect("bad request").field_violations;
        assert_eq!(listed.len(), MAX_FIELD_VIOLATIONS);
        assert!(
            listed
                .iter()
                .all(|v| v.field.chars().count() <= MAX_ECHO_CHARS + 1)
        );
        assert_eq!(
            details.error_info().expect("info").metadata["field_violations"],
            "500"
        );
        // What travels: well under HTTP/2's 16 KiB header list.
        let response = status.into_http::<tonic::body::Body>();
        let size: usize = response
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        assert!(size < 8 * 1024, "{size} bytes of trailers");
    }

    #[test]
    fn violations_become_bad_request() {
        let mut violations = Violations::new();
        violations.add("a", "empty");
        violations.add("b", "too long");
        let status = tonic::Status::from(violations.finish().unwrap_err());
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status
                .get_error_details()
                .bad_request()
                .expect("br")
                .field_violations
                .len(),
            2
        );
        assert_eq!(reason_name(ErrorReason::InvalidField), "INVALID_FIELD");
    }

    #[test]
    fn every_code_has_an_http_status() {
        for code in [
            ErrorCode::InvalidArgument,
            ErrorCode::Unauthenticated,
            ErrorCode::PermissionDenied,
            ErrorCode::NotFound,
            ErrorCode::AlreadyExists,
            ErrorCode::FailedPrecondition,
            ErrorCode::Aborted,
            ErrorCode::ResourceExhausted,
            ErrorCode::Unavailable,
            ErrorCode::Internal,
            ErrorCode::DeadlineExceeded,
            ErrorCode::Unimplemented,
            ErrorCode::Cancelled,
        ] {
            assert_eq!(ErrorCode::from_grpc(code.grpc()), code);
            assert!((400..600).contains(&code.http_status()));
        }
    }
}
