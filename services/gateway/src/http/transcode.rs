//! proto3 JSON ↔ protobuf by descriptor, and the unary call in between.

use axum::{body::Body, extract::Request, response::Response};
use bytes::Bytes;
use govmedia_kit::{
    error::{ApiError, ErrorCode, reason_name},
    telemetry,
};
use govmedia_proto::common::v1::ErrorReason;
use http::{StatusCode, header};
use prost::Message as _;
use prost_reflect::{DeserializeOptions, DynamicMessage, SerializeOptions};

use crate::{
    codec::RawCodec,
    domain::deadline,
    error::GatewayError,
    gate::{Gateway, peer_of},
};

fn refuse(error: GatewayError) -> tonic::Status {
    ApiError::from(error).into()
}

/// Runs one unary call given as JSON; returns the response as JSON.
pub async fn unary(
    gateway: &Gateway,
    path: &str,
    request: Request,
) -> Result<Vec<u8>, tonic::Status> {
    let (service, method) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or_default();
    let method = gateway
        .pool()
        .get_service_by_name(service)
        .and_then(|service| {
            service
                .methods()
                .find(|candidate| candidate.name() == method)
        })
        .ok_or_else(|| refuse(GatewayError::UnknownMethod(path.to_owned())))?;
    if method.is_client_streaming() || method.is_server_streaming() {
        return Err(refuse(GatewayError::Streaming(path.to_owned())));
    }
    gateway.check_metadata(request.headers()).map_err(refuse)?;
    let admission = gateway
        .admit(path, request.headers(), peer_of(&request))
        .await
        .map_err(refuse)?;
    let requested = request
        .headers()
        .get("grpc-timeout")
        .and_then(|value| value.to_str().ok())
        .and_then(deadline::parse);
    let timeout = gateway.deadline(requested);

    let input = method.input();
    let invalid = |reason: String| {
        refuse(GatewayError::InvalidJson {
            message: input.full_name().to_owned(),
            reason,
        })
    };
    let json_body = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_none_or(|value| value.starts_with("application/json"));
    let max = gateway.config().max_json_bytes;
    let body = axum::body::to_bytes(request.into_body(), max)
        .await
        .map_err(|_| invalid(format!("the body is larger than {max} bytes")))?;
    let message = if body.iter().all(u8::is_ascii_whitespace) {
        DynamicMessage::new(input.clone())
    } else {
        if !json_body {
            return Err(invalid("content-type must be application/json".to_owned()));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&body);
        let message = DynamicMessage::deserialize_with_options(
            input.clone(),
            &mut deserializer,
            &DeserializeOptions::new().deny_unknown_fields(true),
        )
        .map_err(|error| invalid(error.to_string()))?;
        deserializer
            .end()
            .map_err(|error| invalid(error.to_string()))?;
        message
    };

    let mut call = tonic::Request::new(Bytes::from(message.encode_to_vec()));
    call.set_timeout(timeout);
    call.metadata_mut().insert(
        "authorization",
        tonic::metadata::MetadataValue::try_from(
            gateway
                .identity(&admission.caller, admission.service)
                .map_err(refuse)?
                .as_bytes(),
        )
        .map_err(|_| tonic::Status::internal("identity token is not valid metadata"))?,
    );
    telemetry::inject_into_metadata(call.metadata_mut());
    let mut grpc = tonic::client::Grpc::new(admission.origin.channel().clone());
    let unavailable = |cause: String| {
        refuse(GatewayError::UpstreamUnavailable {
            service: admission.service.to_owned(),
            cause,
        })
    };
    grpc.ready()
        .await
        .map_err(|error| unavailable(error.to_string()))?;
    let path =
        http::uri::PathAndQuery::try_from(path).map_err(|error| unavailable(error.to_string()))?;
    let response = match tokio::time::timeout(timeout, grpc.unary(call, path, RawCodec)).await {
        Err(_) => return Err(refuse(GatewayError::DeadlineExceeded(timeout))),
        // A status made here by the transport (it has a source error) means the service was
        // not reached; a status the service sent passes through as it is.
        Ok(Err(status)) if std::error::Error::source(&status).is_some() => {
            return Err(unavailable(status.message().to_owned()));
        }
        Ok(result) => result?,
    };
    let output =
        DynamicMessage::decode(method.output(), response.into_inner()).map_err(|error| {
            tonic::Status::internal(format!(
                "the service answered with an undecodable message: {error}"
            ))
        })?;
    let mut json = Vec::new();
    let mut serializer = serde_json::Serializer::new(&mut json);
    output
        .serialize_with_options(&mut serializer, &SerializeOptions::new())
        .map_err(|error| tonic::Status::internal(format!("cannot write JSON: {error}")))?;
    Ok(json)
}

/// `PermissionDenied` → `PERMISSION_DENIED` (google.rpc.Code names).
fn code_name(code: tonic::Code) -> String {
    let name = format!("{code:?}");
    let mut out = String::with_capacity(name.len() + 4);
    for (index, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The JSON error response of a failed call, with the matching HTTP status.
pub fn error_response(gateway: &Gateway, status: &tonic::Status) -> Response {
    let details = gateway
        .pool()
        .get_message_by_name("google.rpc.Status")
        .and_then(|descriptor| DynamicMessage::decode(descriptor, status.details()).ok())
        .and_then(|rpc_status| serde_json::to_value(&rpc_status).ok())
        .and_then(|value| value.get("details").cloned())
        .unwrap_or_else(|| serde_json::Value::Array(Vec::new()));
    let body = serde_json::json!({
        "code": status.code() as i32,
        "status": code_name(status.code()),
        "message": status.message(),
        "details": details,
    });
    let http_status = http_status_of(status);
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = http_status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// The HTTP status of a failed call: the one of its gRPC code, except where HTTP has a closer
/// one (headers too large are 431, which clients and proxies know, not a rate limit's 429).
fn http_status_of(status: &tonic::Status) -> StatusCode {
    use tonic_types::StatusExt as _;
    let too_large = reason_name(ErrorReason::MetadataTooLarge);
    if status
        .get_details_error_info()
        .is_some_and(|info| info.reason == too_large)
    {
        return StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
    }
    StatusCode::from_u16(ErrorCode::from_grpc(status.code()).http_status())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_match_google_rpc() {
        assert_eq!(code_name(tonic::Code::Ok), "OK");
        assert_eq!(
            code_name(tonic::Code::PermissionDenied),
            "PERMISSION_DENIED"
        );
        assert_eq!(
            code_name(tonic::Code::ResourceExhausted),
            "RESOURCE_EXHAUSTED"
        );
    }
}
