use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use govmedia_kit::auth::Role;
use govmedia_proto::registry::v1 as pb;
use govmedia_test_support::{Backend, backend_test};
use tokio_stream::StreamExt as _;
use tonic::Code;
use tonic_reflection::pb::v1alpha;
use tower::ServiceExt as _;

use crate::helpers::{Suite, assert_error, custody_write};

/// Calls `path` with an empty request and the given token.
async fn raw_call(suite: &Suite, path: &str, token: &str) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(suite.channel().await);
    grpc.ready().await.expect("ready");
    let mut request = tonic::Request::new(());
    if !token.is_empty() {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("metadata"),
        );
    }
    grpc.unary(
        request,
        path.parse().expect("path"),
        tonic_prost::ProstCodec::<(), ()>::default(),
    )
    .await
    .map(|_| ())
}

async fn the_whole_suite_answers_at_one_address(backend: Backend) {
    let suite = Suite::spawn(backend, |_| {}).await;

    // Reflection (v1alpha, as grpcurl 1.8 asks) lists the suite without credentials.
    let mut reflection =
        v1alpha::server_reflection_client::ServerReflectionClient::new(suite.channel().await);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut stream = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection")
        .into_inner();
    let Some(Ok(v1alpha::ServerReflectionResponse {
        message_response:
            Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)),
        ..
    })) = stream.next().await
    else {
        panic!("no service list");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        govmedia_registry::SERVICE_NAME,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }

    // Calls pass through; the service's own errors come back with their details.
    let mut supervisor = suite.client("golmud", &[Role::Supervisor]).await;
    let org = supervisor
        .get_organization(pb::GetOrganizationRequest {
            name: "organizations/golmud-edu".into(),
        })
        .await
        .expect("through the gateway")
        .into_inner();
    assert_eq!(org.parent, "organizations/golmud");
    assert_error(
        supervisor
            .get_account(pb::GetAccountRequest {
                name: "accounts/none-such".into(),
            })
            .await,
        Code::NotFound,
        "NOT_FOUND",
    );
    assert_error(
        supervisor
            .get_organization(pb::GetOrganizationRequest {
                name: "organizations/xining".into(),
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );

    // The service sees the caller the gateway verified.
    let mut operator = suite.client("golmud", &[Role::Operator]).await;
    operator
        .update_credential_custody(custody_write("golmud-edu-wechat", "王敏"))
        .await
        .expect("write through the gateway");
    let trail = govmedia_kit::audit::list(
        suite.registry_db.conn(),
        "/",
        Some("accounts/golmud-edu-wechat/credentialCustody"),
        None,
        1,
    )
    .await
    .expect("audit");
    assert_eq!(trail[0].actor, "operator@golmud");
}
backend_test!(
    the_whole_suite_answers_at_one_address_on,
    the_whole_suite_answers_at_one_address
);

async fn refusals_happen_before_anything_is_forwarded(backend: Backend) {
    let suite = Suite::spawn(backend, |_| {}).await;
    let before = govmedia_kit::audit::verify(suite.registry_db.conn())
        .await
        .expect("chain");
    let operator = suite.token("op", "golmud-edu", &[Role::Operator]);
    let create = "/govmedia.registry.v1.RegistryService/CreateAccount";
    assert_error(
        raw_call(&suite, create, "").await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
    assert_error(
        raw_call(&suite, create, &operator).await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    assert_error(
        raw_call(
            &suite,
            "/govmedia.registry.v1.RegistryService/Nope",
            &operator,
        )
        .await,
        Code::Unimplemented,
        "UNKNOWN_METHOD",
    );
    assert_error(
        raw_call(&suite, "/acme.Foo/Bar", &operator).await,
        Code::Unimplemented,
        "UNKNOWN_METHOD",
    );
    assert_eq!(
        govmedia_kit::audit::verify(suite.registry_db.conn())
            .await
            .expect("chain"),
        before
    );

    // Metadata beyond the configured size.
    let mut client = suite.client("golmud", &[Role::Supervisor]).await;
    let mut request = tonic::Request::new(pb::GetOrganizationRequest {
        name: "organizations/golmud".into(),
    });
    request.metadata_mut().insert(
        "x-padding",
        "x".repeat(10 * 1024).parse().expect("metadata"),
    );
    assert_error(
        client.get_organization(request).await,
        Code::ResourceExhausted,
        "METADATA_TOO_LARGE",
    );

    // A non-gRPC content type on the gRPC port.
    let json = http::Request::post(format!(
        "http://{}/govmedia.registry.v1.RegistryService/GetOrganization",
        suite.gateway
    ))
    .header("content-type", "application/json")
    .body(tonic::body::Body::empty())
    .expect("request");
    let response = suite.channel().await.oneshot(json).await.expect("response");
    assert_eq!(response.status(), http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
}
backend_test!(
    refusals_happen_before_anything_is_forwarded_on,
    refusals_happen_before_anything_is_forwarded
);

async fn a_down_upstream_is_unavailable_and_unhealthy(backend: Backend) {
    let suite = Suite::spawn(backend, |_| {}).await;
    // A second gateway whose upstream is a closed port.
    let (addr, _) = suite
        .extra_gateway(|config| {
            config
                .upstreams
                .insert("registry".into(), "http://127.0.0.1:1".into());
        })
        .await;
    let channel = govmedia_kit::client::connect(&format!("http://{addr}"))
        .await
        .expect("connect");
    let token = suite.token("sup", "golmud", &[Role::Supervisor]);
    let mut client = pb::registry_service_client::RegistryServiceClient::with_interceptor(
        channel.clone(),
        govmedia_kit::client::Credentials::bearer(&token).expect("creds"),
    );
    let call = client.get_organization(pb::GetOrganizationRequest {
        name: "organizations/golmud".into(),
    });
    let result = tokio::time::timeout(Duration::from_secs(20), call)
        .await
        .expect("no hang");
    assert_error(result, Code::Unavailable, "UNAVAILABLE");

    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: govmedia_registry::SERVICE_NAME.into(),
            })
            .await
            .map(|r| r.into_inner().status)
            .ok();
        if status == Some(tonic_health::pb::health_check_response::ServingStatus::NotServing as i32)
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "health never reported the registry down: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
backend_test!(
    a_down_upstream_is_unavailable_and_unhealthy_on,
    a_down_upstream_is_unavailable_and_unhealthy
);

/// A service that restarts is reached again: the gateway's connection to it ends with it and the
/// next call makes a new one, without the caller retrying.
async fn a_restarted_upstream_is_reached_again(backend: Backend) {
    let suite = Suite::spawn(backend, |_| {}).await;
    let listener = govmedia_kit::server::bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let address = listener.local_addr().expect("addr");
    let first = govmedia_kit::CancellationToken::new();
    let running = suite.serve_registry(listener, first.clone());
    let (gateway, _) = suite
        .extra_gateway(|config| {
            config
                .upstreams
                .insert("registry".into(), format!("http://{address}"));
        })
        .await;
    let token = suite.token("sup", "golmud", &[Role::Supervisor]);
    let channel = govmedia_kit::client::connect(&format!("http://{gateway}"))
        .await
        .expect("connect");
    let mut client = pb::registry_service_client::RegistryServiceClient::with_interceptor(
        channel,
        govmedia_kit::client::Credentials::bearer(&token).expect("creds"),
    );
    let read = || pb::GetOrganizationRequest {
        name: "organizations/golmud".into(),
    };
    client
        .get_organization(read())
        .await
        .expect("first registry");

    first.cancel();
    running.await.expect("join").expect("stopped cleanly");
    let listener = govmedia_kit::server::bind(address).await.expect("rebind");
    let second = govmedia_kit::CancellationToken::new();
    let _running = suite.serve_registry(listener, second.clone());
    let organization = client
        .get_organization(read())
        .await
        .expect("second registry");
    assert_eq!(organization.into_inner().name, "organizations/golmud");
    second.cancel();
}
backend_test!(
    a_restarted_upstream_is_reached_again_on,
    a_restarted_upstream_is_reached_again
);

/// A request whose message arrives after its headers (a slow or streaming client) is passed
/// on as it comes.
async fn a_message_that_comes_late_is_forwarded(backend: Backend) {
    let suite = Suite::spawn(backend, |_| {}).await;
    let token = suite.token("sup", "golmud", &[Role::Supervisor]);
    let (response, mut body) = crate::helpers::raw_h2_call(
        &suite,
        "/govmedia.registry.v1.RegistryService/GetOrganization",
        &token,
    )
    .await;
    let message = crate::helpers::grpc_frame(&pb::GetOrganizationRequest {
        name: "organizations/golmud".into(),
    });
    // The length prefix and half the message now, the rest once the call is under way.
    let (head, rest) = message.split_at(message.len() / 2);
    body.send_data(bytes::Bytes::copy_from_slice(head), false)
        .expect("first half");
    tokio::time::sleep(Duration::from_millis(100)).await;
    body.send_data(bytes::Bytes::copy_from_slice(rest), true)
        .expect("second half");
    let response = response.await.expect("response");
    assert_eq!(response.status(), 200);
    let mut received = response.into_body();
    let mut bytes = Vec::new();
    while let Some(data) = received.data().await {
        let data = data.expect("data");
        let _ = received.flow_control().release_capacity(data.len());
        bytes.extend_from_slice(&data);
    }
    let trailers = received.trailers().await.expect("trailers").expect("some");
    assert_eq!(
        trailers.get("grpc-status").map(|v| v.as_bytes()),
        Some(&b"0"[..])
    );
    let organization =
        <pb::Organization as prost::Message>::decode(&bytes[5..]).expect("an organization");
    assert_eq!(organization.name, "organizations/golmud");
}
backend_test!(
    a_message_that_comes_late_is_forwarded_on,
    a_message_that_comes_late_is_forwarded
);

async fn the_gateway_bounds_deadlines(backend: Backend) {
    // A maximum deadline of zero: every call runs out before the service can answer.
    let suite = Suite::spawn(backend, |config| config.max_timeout_ms = 0).await;
    let mut client = suite.client("golmud", &[Role::Supervisor]).await;
    assert_error(
        client
            .get_organization(pb::GetOrganizationRequest {
                name: "organizations/golmud".into(),
            })
            .await,
        Code::DeadlineExceeded,
        "DEADLINE_EXCEEDED",
    );
}
backend_test!(
    the_gateway_bounds_deadlines_on,
    the_gateway_bounds_deadlines
);

/// The caller's trace continues through the gateway into the service and the event it
/// publishes.
async fn the_callers_trace_crosses_the_gateway(backend: Backend) {
    govmedia_test_support::trace_everything();
    let suite = Suite::spawn(backend, |_| {}).await;
    let trace_id = "5b8aa5a2d2c872e8321cf37308d69df2";
    let mut client = suite.client("golmud", &[Role::Operator]).await;
    let mut request = tonic::Request::new(custody_write("golmud-edu-wechat", "王敏"));
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-051581bf3cb55c13-01")
            .parse()
            .expect("metadata"),
    );
    client
        .update_credential_custody(request)
        .await
        .expect("call");

    let event =
        govmedia_test_support::next_event(&suite.bus, "registry", "trace-check", |envelope| {
            envelope.r#type == "govmedia.registry.v1.CredentialCustodyChanged"
        })
        .await;
    assert!(
        event.traceparent.starts_with(&format!("00-{trace_id}-")),
        "{:?}",
        event.traceparent
    );
}
backend_test!(
    the_callers_trace_crosses_the_gateway_on,
    the_callers_trace_crosses_the_gateway
);

/// A replica that says it serves but refuses every call with REFUSED_STREAM, as an HTTP/2 server
/// does with a stream it will not process (one that is stopping, or full): the gateway knows
/// such a call never reached it. Counts the calls it refused.
async fn refusing_replica() -> (std::net::SocketAddr, std::sync::Arc<AtomicUsize>) {
    use prost::Message as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let refused = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = refused.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(mut connection) = h2::server::handshake(socket).await else {
                    return;
                };
                while let Some(Ok((request, mut respond))) = connection.accept().await {
                    if request.uri().path() != "/grpc.health.v1.Health/Check" {
                        counter.fetch_add(1, Ordering::SeqCst);
                        respond.send_reset(h2::Reason::REFUSED_STREAM);
                        continue;
                    }
                    let message = tonic_health::pb::HealthCheckResponse {
                        status: tonic_health::pb::health_check_response::ServingStatus::Serving
                            as i32,
                    }
                    .encode_to_vec();
                    let mut framed = vec![0u8];
                    framed.extend(u32::try_from(message.len()).expect("len").to_be_bytes());
                    framed.extend(message);
                    let head = http::Response::builder()
                        .header("content-type", "application/grpc")
                        .body(())
                        .expect("response");
                    let Ok(mut send) = respond.send_response(head, false) else {
                        continue;
                    };
                    let _ = send.send_data(bytes::Bytes::from(framed), false);
                    let mut trailers = http::HeaderMap::new();
                    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
                    let _ = send.send_trailers(trailers);
                }
            });
        }
    });
    (addr, refused)
}

/// Of two replicas that both report SERVING, one refuses every stream: the gateway sends each
/// call it refused to the other, a write as well as a read (the refusing one never saw it), so no
/// caller sees the refusal and the write happens once.
async fn a_call_a_replica_refused_goes_to_another(backend: Backend) {
    let suite = Suite::spawn(backend, |_| {}).await;
    let (refusing, refused) = refusing_replica().await;
    let live = suite.registry;
    let (addr, _) = suite
        .extra_gateway(|config| {
            config.upstreams.insert(
                "registry".into(),
                format!("http://{refusing},http://{live}"),
            );
        })
        .await;
    let channel = govmedia_kit::client::connect(&format!("http://{addr}"))
        .await
        .expect("connect");
    let token = suite.token("sup", "qinghai", &[Role::Supervisor]);
    let mut client = pb::registry_service_client::RegistryServiceClient::with_interceptor(
        channel,
        govmedia_kit::client::Credentials::bearer(&token).expect("creds"),
    );
    for _ in 0..6 {
        client
            .get_organization(pb::GetOrganizationRequest {
                name: "organizations/qinghai".into(),
            })
            .await
            .expect("a read refused by one replica is answered by the other");
    }
    let mut created = Vec::new();
    for index in 0..4 {
        created.push(
            client
                .create_organization(pb::CreateOrganizationRequest {
                    organization_id: format!("qinghai-resent-{index}"),
                    organization: Some(pb::Organization {
                        parent: "organizations/qinghai".into(),
                        display_name: format!("青海省重发验证部门{index}"),
                        level: govmedia_proto::common::v1::AdministrativeLevel::Provincial as i32,
                        kind: pb::OrganizationKind::Department as i32,
                        ..Default::default()
                    }),
                    request_id: format!("resent-{index}"),
                })
                .await
                .expect("a write refused by one replica is made by the other")
                .into_inner(),
        );
    }
    // Turn by turn, half the calls went to the refusing replica first.
    assert!(
        refused.load(Ordering::SeqCst) >= 2,
        "the refusing replica was never tried: {}",
        refused.load(Ordering::SeqCst)
    );
    for organization in created {
        assert_eq!(organization.etag, "1", "{organization:?}");
    }
}
backend_test!(
    a_call_a_replica_refused_goes_to_another_on,
    a_call_a_replica_refused_goes_to_another
);
