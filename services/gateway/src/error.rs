//! Everything the gateway itself can refuse a call with. Errors of the services behind it pass
//! through untouched.

use std::time::Duration;

use govmedia_kit::error::{ApiError, ErrorCode};
use govmedia_proto::common::v1::ErrorReason;

/// A gateway failure.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Already shaped by the kit.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// UNAUTHENTICATED: no credentials, or credentials that do not verify.
    #[error("{0}")]
    Unauthenticated(String),
    /// PERMISSION_DENIED: the caller holds none of the method's roles.
    #[error("{method} requires one of the roles: {allowed}")]
    RoleNotAllowed {
        /// The gRPC path.
        method: String,
        /// The allowed roles.
        allowed: String,
    },
    /// UNIMPLEMENTED: no govmedia service offers this method.
    #[error("no govmedia service offers {0}")]
    UnknownMethod(String),
    /// UNIMPLEMENTED: HTTP/JSON carries unary calls only.
    #[error("{0} streams; call it over gRPC")]
    Streaming(String),
    /// RESOURCE_EXHAUSTED with RetryInfo: the caller's budget is spent.
    #[error("rate limit for {class} calls reached; retry in {} ms", .retry_after.as_millis())]
    RateLimited {
        /// `read` or `write`.
        class: &'static str,
        /// When the next call can pass.
        retry_after: Duration,
    },
    /// RESOURCE_EXHAUSTED: the metadata are larger than allowed.
    #[error("request metadata is {size} bytes; at most {max} are accepted")]
    MetadataTooLarge {
        /// Their size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// INVALID_ARGUMENT: an HTTP/JSON body that does not match the request message.
    #[error("the JSON body does not match {message}: {reason}")]
    InvalidJson {
        /// The request message's full name.
        message: String,
        /// What is wrong.
        reason: String,
    },
    /// UNAVAILABLE: the service behind the method cannot be reached.
    #[error("{service} is unavailable")]
    UpstreamUnavailable {
        /// The service package, e.g. `registry`.
        service: String,
        /// Why (logged, not sent).
        cause: String,
    },
    /// DEADLINE_EXCEEDED: the service did not answer within the call's deadline.
    #[error("no answer within the deadline of {} ms", .0.as_millis())]
    DeadlineExceeded(Duration),
    /// RESOURCE_EXHAUSTED: the caller left the response unread for too long; the call was cut.
    #[error("the response was not read for {} ms; the call was ended", .0.as_millis())]
    ResponseNotRead(Duration),
    /// INTERNAL: the gateway's own database failed.
    #[error("database: {0}")]
    Store(#[from] sea_orm::DbErr),
}

impl From<GatewayError> for ApiError {
    fn from(error: GatewayError) -> Self {
        let message = error.to_string();
        match error {
            GatewayError::Api(error) => error,
            GatewayError::Unauthenticated(_) => ApiError::new(
                ErrorCode::Unauthenticated,
                ErrorReason::Unauthenticated,
                message,
            )
            .localized("身份认证失败,请提供有效的访问令牌或 API 密钥"),
            GatewayError::RoleNotAllowed { method, .. } => ApiError::new(
                ErrorCode::PermissionDenied,
                ErrorReason::RoleNotAllowed,
                message,
            )
            .with_metadata("method", method)
            .localized("当前角色无权执行此操作"),
            GatewayError::UnknownMethod(method) | GatewayError::Streaming(method) => ApiError::new(
                ErrorCode::Unimplemented,
                ErrorReason::UnknownMethod,
                message,
            )
            .with_metadata("method", method),
            GatewayError::RateLimited { class, retry_after } => ApiError::new(
                ErrorCode::ResourceExhausted,
                ErrorReason::RateLimited,
                message,
            )
            .with_metadata("class", class)
            .retry_after(retry_after)
            .localized("请求过于频繁,请稍后再试"),
            GatewayError::MetadataTooLarge { .. } => ApiError::new(
                ErrorCode::ResourceExhausted,
                ErrorReason::MetadataTooLarge,
                message,
            ),
            GatewayError::InvalidJson { .. } => ApiError::new(
                ErrorCode::InvalidArgument,
                ErrorReason::InvalidJson,
                message,
            ),
            GatewayError::UpstreamUnavailable { service, cause } => {
                tracing::warn!(%service, %cause, "upstream unavailable");
                ApiError::new(ErrorCode::Unavailable, ErrorReason::Unavailable, message)
                    .with_metadata("service", service)
                    .localized("服务暂时不可用,请稍后重试")
            }
            GatewayError::DeadlineExceeded(_) => ApiError::new(
                ErrorCode::DeadlineExceeded,
                ErrorReason::DeadlineExceeded,
                message,
            ),
            GatewayError::ResponseNotRead(_) => ApiError::new(
                ErrorCode::ResourceExhausted,
                ErrorReason::ResponseNotRead,
                message,
            ),
            GatewayError::Store(error) => {
                govmedia_kit::db::api_error("the gateway database", &error)
            }
        }
    }
}

impl From<GatewayError> for tonic::Status {
    fn from(error: GatewayError) -> Self {
        ApiError::from(error).into()
    }
}
