//! The front door against malformed and oversized input: what the caller got wrong gets the
//! caller's code, on both ports and from the services behind them; limits are advertised.

use std::time::Duration;

use bytes::Bytes;
use govmedia_gateway::codec::RawCodec;
use govmedia_kit::auth::Role;
use govmedia_proto::registry::v1 as pb;
use govmedia_test_support::{
    Backend, backend_test,
    h2raw::{self, RawConnection, kind},
};
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::helpers::{Suite, assert_error, grpc_frame, http, raw_h2_call};

const GET: &str = "/govmedia.registry.v1.RegistryService/GetOrganization";

/// Sends `bytes` as the request message of `path` through the gateway's gRPC port.
async fn raw_call(
    suite: &Suite,
    path: &str,
    token: &str,
    bytes: Bytes,
) -> Result<Bytes, tonic::Status> {
    let mut grpc =
        tonic::client::Grpc::new(suite.channel().await).max_encoding_message_size(64 * 1024 * 1024);
    grpc.ready().await.expect("ready");
    let mut request = tonic::Request::new(bytes);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("metadata"),
    );
    grpc.unary(request, path.parse().expect("path"), RawCodec)
        .await
        .map(tonic::Response::into_inner)
}

/// Sends `body` as the raw request body (gRPC framing included, right or wrong) of `path` on an
/// HTTP/2 connection of its own; the response as it arrived.
async fn raw_h2(
    suite: &Suite,
    path: &str,
    token: &str,
    body: Vec<u8>,
) -> http::Response<h2::RecvStream> {
    let (response, mut send) = raw_h2_call(suite, path, token).await;
    send.send_data(Bytes::from(body), true).expect("body");
    response.await.expect("response")
}

/// The `grpc-status` `body` gets as the raw request body of `path`.
async fn raw_frames(suite: &Suite, path: &str, token: &str, body: Vec<u8>) -> Option<String> {
    let response = raw_h2(suite, path, token, body).await;
    if let Some(status) = response.headers().get("grpc-status") {
        return Some(status.to_str().ok()?.to_owned());
    }
    let mut body = response.into_body();
    while body.data().await.is_some() {}
    let trailers = body.trailers().await.ok()??;
    Some(trailers.get("grpc-status")?.to_str().ok()?.to_owned())
}

async fn malformed_and_oversized_messages_are_the_callers_error(backend: Backend) {
    let suite = Suite::spawn(backend, |_| {}).await;
    let token = suite.token("wang.min", "golmud", &[Role::Operator]);

    // Field 1 (name) as a string that is not UTF-8; then a varint that never ends.
    for bytes in [&[0x0a, 0x02, 0xc3, 0x28][..], &[0x08, 0xff, 0xff, 0xff][..]] {
        let status = assert_error(
            raw_call(&suite, GET, &token, Bytes::copy_from_slice(bytes)).await,
            Code::InvalidArgument,
            "MALFORMED_MESSAGE",
        );
        assert!(!status.message().contains("prost"), "{status:?}");
    }
    // A length prefix that promises more than the body holds.
    let truncated = raw_frames(&suite, GET, &token, vec![0, 0, 0, 0, 100, 0x0a, 0x01]).await;
    assert_eq!(
        truncated.as_deref(),
        Some("3"),
        "a truncated message is INVALID_ARGUMENT"
    );
    // Not gRPC framing at all (the first byte is neither 0 nor 1), and no message at all.
    for (body, what) in [(b"hello".to_vec(), "unframed"), (Vec::new(), "empty")] {
        let status = raw_frames(&suite, GET, &token, body).await;
        assert_eq!(
            status.as_deref(),
            Some("3"),
            "an {what} body is INVALID_ARGUMENT"
        );
    }
    // 5 MB where 4 MB is the most a service decodes.
    let status = assert_error(
        raw_call(&suite, GET, &token, Bytes::from(vec![0u8; 5 * 1024 * 1024])).await,
        Code::ResourceExhausted,
        "MESSAGE_TOO_LARGE",
    );
    assert_eq!(
        status
            .get_error_details()
            .error_info()
            .expect("info")
            .metadata["limit_bytes"],
        "4194304"
    );
    // Nothing broke: a good call still goes through.
    suite
        .client("golmud", &[Role::Operator])
        .await
        .get_organization(pb::GetOrganizationRequest {
            name: "organizations/golmud".into(),
        })
        .await
        .expect("a good call");
}

backend_test!(
    malformed_and_oversized_messages_are_the_callers_error_on,
    malformed_and_oversized_messages_are_the_callers_error
);

/// A request that repeats a bad field hundreds of times gets an answer that fits: the first
/// violations and a count, not trailers so large that the caller sees UNAVAILABLE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_with_hundreds_of_violations_still_fits() {
    let suite = Suite::spawn(Backend::Embedded, |_| {}).await;
    let mut supervisor = suite.client("qinghai", &[Role::Supervisor]).await;
    let status = supervisor
        .update_organization(pb::UpdateOrganizationRequest {
            organization: Some(pb::Organization {
                name: "organizations/golmud".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: (0..600)
                    .map(|index| format!("no_such_field_{index}"))
                    .collect(),
            }),
            request_id: String::new(),
        })
        .await
        .expect_err("a mask of unknown fields");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    let listed = details
        .bad_request()
        .expect("violations")
        .field_violations
        .len();
    assert!(
        listed <= govmedia_kit::error::MAX_FIELD_VIOLATIONS,
        "{listed}"
    );
}

/// The HTTP/JSON port holds metadata to the same limit as gRPC, and refuses a header block
/// far past it before reading it all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_port_keeps_the_metadata_limit() {
    let suite = Suite::spawn(Backend::Embedded, |_| {}).await;
    let token = suite.token("wang.min", "golmud", &[Role::Operator]);
    let bearer = format!("Bearer {token}");
    let padding = "x".repeat(12 * 1024);
    let (status, body) = http(
        suite.http,
        "POST",
        "/v1/govmedia.registry.v1.RegistryService/GetOrganization",
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
            ("x-padding", &padding),
        ],
        r#"{"name":"organizations/golmud"}"#,
    )
    .await;
    assert_eq!(status, 431, "{body}");
    assert_eq!(body["status"], "RESOURCE_EXHAUSTED", "{body}");

    let huge = "x".repeat(100 * 1024);
    let (status, _) = http(
        suite.http,
        "POST",
        "/v1/govmedia.registry.v1.RegistryService/GetOrganization",
        &[("authorization", &huge)],
        "{}",
    )
    .await;
    assert_eq!(status, 431, "a 100 KB header is not read");
}

/// Both the gateway's port and a service's advertise how many calls one connection may have
/// open (the kit's tests show a flood beyond it refused stream by stream).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_grpc_port_advertises_its_stream_limit() {
    let suite = Suite::spawn(Backend::Embedded, |_| {}).await;
    let limit = govmedia_kit::config::ListenSettings::default().max_concurrent_streams;
    for addr in [suite.gateway, suite.registry] {
        let mut connection = RawConnection::open(addr, &[]).await;
        let settings = connection
            .read_until(Duration::from_secs(5), |frame| {
                frame.kind == kind::SETTINGS && frame.flags & 0x1 == 0
            })
            .await
            .expect("settings");
        assert!(
            settings
                .settings()
                .contains(&(h2raw::MAX_CONCURRENT_STREAMS, limit)),
            "{addr}: {:?}",
            settings.settings()
        );
    }
}

/// A service's error passes the gateway as the service sent it, trailers-only: one HEADERS
/// frame carrying `grpc-status` that ends the stream. (tonic accepts an error spread over
/// headers and an empty body; grpc-go and C-core clients do not.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_arrives_trailers_only_as_the_service_sent_it() {
    let suite = Suite::spawn(Backend::Embedded, |_| {}).await;
    let token = suite.token("wang.min", "golmud", &[Role::Operator]);
    let frame = grpc_frame(&pb::GetOrganizationRequest {
        name: "organizations/nowhere".into(),
    });
    let response = raw_h2(&suite, GET, &token, frame.to_vec()).await;
    assert_eq!(
        response.headers().get("grpc-status").map(|v| v.as_bytes()),
        Some(&b"5"[..]),
        "{response:?}"
    );
    assert!(
        response.body().is_end_stream(),
        "the HEADERS frame ends the stream"
    );
}
