use govmedia_test_support::{Backend, backend_test};
use tokio_stream::StreamExt;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::{v1, v1alpha};

use crate::helpers::TestApp;

/// Health and reflection need no credentials; reflection answers both v1 and v1alpha (older
/// grpcurl speaks only v1alpha) and lists the registry with health and reflection.
async fn health_and_reflection_answer_without_credentials(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let channel = app.channel().await;
    let mut health = HealthClient::new(channel.clone());
    for service in ["", govmedia_registry::SERVICE_NAME] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health")
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }

    let mut v1 = v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut stream = v1
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection v1")
        .into_inner();
    let response = stream.next().await.expect("a response").expect("ok");
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        response.message_response
    else {
        panic!("unexpected reflection response");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        govmedia_registry::SERVICE_NAME,
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }

    let mut alpha = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                govmedia_registry::SERVICE_NAME.into(),
            ),
        ),
    };
    let mut stream = alpha
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection v1alpha")
        .into_inner();
    let response = stream.next().await.expect("a response").expect("ok");
    let Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(files)) =
        response.message_response
    else {
        panic!("unexpected reflection response");
    };
    let text: String = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
        .collect();
    assert!(
        text.contains("The account ledger service."),
        "comments are served"
    );

    // Shutdown is graceful and reports the end.
    app.stop().await;
}
backend_test!(
    health_and_reflection_answer_without_credentials_on,
    health_and_reflection_answer_without_credentials
);
