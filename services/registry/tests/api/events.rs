use std::time::Duration;

use govmedia_proto::{
    common::v1::Platform,
    registry::v1::{self as pb, AccountStatus},
};
use govmedia_test_support::{Backend, backend_test};
use prost::{Message, Name};

use crate::helpers::{TestApp, activate, new_account, open_account, seed_tree};

/// State changes reach the bus (Redis Streams in production, the in-process bus embedded) in
/// commit order, with their payloads, and a failed write publishes nothing.
async fn state_changes_are_published_in_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    open_account(
        &app,
        "edu-wechat",
        new_account("golmud-edu", Platform::WechatOfficialAccount, "格尔木教育"),
    )
    .await
    .expect("create");
    activate(&app, "edu-wechat", "gh_edu")
        .await
        .expect("activate");
    // Refused: no event.
    activate(&app, "edu-wechat", "gh_edu")
        .await
        .expect_err("already active");

    let mut subscriber = app.bus.subscriber().await.expect("subscriber");
    subscriber
        .ensure_group("registry", "test-consumer")
        .await
        .expect("group");
    // Relaying is asynchronous: read until all eight arrived (the deadline only guards a hang).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut deliveries = Vec::new();
    while deliveries.len() < 8 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} events arrived",
            deliveries.len()
        );
        deliveries.extend(
            subscriber
                .read(
                    "registry",
                    "test-consumer",
                    "t",
                    100,
                    Duration::from_millis(200),
                )
                .await
                .expect("read"),
        );
    }
    let types: Vec<_> = deliveries
        .iter()
        .map(|d| d.envelope.r#type.as_str())
        .collect();
    let created = pb::OrganizationCreated::full_name();
    assert_eq!(
        types,
        [
            created.as_str(),
            created.as_str(),
            created.as_str(),
            created.as_str(),
            created.as_str(),
            created.as_str(),
            "govmedia.registry.v1.AccountRegistered",
            "govmedia.registry.v1.AccountStatusChanged",
        ]
    );
    let changed = pb::AccountStatusChanged::decode(deliveries[7].envelope.payload.as_slice())
        .expect("payload");
    assert_eq!(changed.previous_status, AccountStatus::Filed as i32);
    assert_eq!(
        changed.account.expect("account").status,
        AccountStatus::Active as i32
    );
    assert_eq!(deliveries[7].envelope.subject, "accounts/edu-wechat");
    let more = subscriber
        .read(
            "registry",
            "test-consumer",
            "t",
            100,
            Duration::from_millis(300),
        )
        .await
        .expect("read");
    assert!(
        more.is_empty(),
        "the refused activation published nothing: {more:?}"
    );
}
backend_test!(
    state_changes_are_published_in_order_on,
    state_changes_are_published_in_order
);

/// A caller's W3C trace context reaches the event its call published, so consumers continue
/// the caller's trace.
async fn events_carry_the_callers_trace(backend: Backend) {
    govmedia_test_support::trace_everything();
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let token = govmedia_test_support::identity_token(
        &app.keyring,
        "filing",
        &app.service("filing", Some("filings/open-traced")),
        "registry",
    );
    let mut request = tonic::Request::new(pb::CreateAccountRequest {
        account_id: "traced".into(),
        account: Some(new_account("golmud-edu", Platform::Douyin, "格尔木教育")),
        filing: "filings/open-traced".into(),
        request_id: String::new(),
    });
    let metadata = request.metadata_mut();
    metadata.insert(
        "authorization",
        format!("Bearer {token}").parse().expect("metadata"),
    );
    metadata.insert(
        "traceparent",
        format!("00-{trace_id}-b7ad6b7169203331-01")
            .parse()
            .expect("metadata"),
    );
    pb::registry_service_client::RegistryServiceClient::new(app.channel().await)
        .create_account(request)
        .await
        .expect("create");

    let event =
        govmedia_test_support::next_event(&app.bus, "registry", "trace-check", |envelope| {
            envelope.subject == "accounts/traced"
        })
        .await;
    assert!(
        event.traceparent.starts_with(&format!("00-{trace_id}-")),
        "{:?}",
        event.traceparent
    );
}
backend_test!(
    events_carry_the_callers_trace_on,
    events_carry_the_callers_trace
);
