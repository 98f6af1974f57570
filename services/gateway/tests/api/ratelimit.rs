use std::time::Duration;

use govmedia_kit::{
    auth::Role,
    client::{self, Credentials},
};
use govmedia_proto::registry::v1::{self as pb, registry_service_client::RegistryServiceClient};
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{Suite, assert_error, custody_write};

fn tight(config: &mut govmedia_gateway::GatewayConfig) {
    config.rate_limit.reads_per_minute = 6;
    config.rate_limit.read_burst = 3;
    config.rate_limit.writes_per_minute = 6;
    config.rate_limit.write_burst = 1;
}

fn read() -> pb::GetOrganizationRequest {
    pb::GetOrganizationRequest {
        name: "organizations/golmud".into(),
    }
}

async fn each_caller_has_a_read_and_a_write_budget(backend: Backend) {
    let suite = Suite::spawn(backend, tight).await;
    let mut alice = suite.client("golmud", &[Role::Operator]).await;
    for _ in 0..3 {
        alice
            .get_organization(read())
            .await
            .expect("within the burst");
    }
    let status = assert_error(
        alice.get_organization(read()).await,
        Code::ResourceExhausted,
        "RATE_LIMITED",
    );
    let retry = status
        .get_error_details()
        .retry_info()
        .and_then(|r| r.retry_delay)
        .expect("RetryInfo");
    assert!(
        retry > Duration::ZERO && retry <= Duration::from_secs(10),
        "{retry:?}"
    );

    // Writes have their own budget; another caller has its own.
    alice
        .update_credential_custody(custody_write("golmud-edu-wechat", "王敏"))
        .await
        .expect("the write budget is separate");
    let mut bob = suite.client("golmud", &[Role::Auditor]).await;
    bob.get_organization(read())
        .await
        .expect("another caller's budget");
}
backend_test!(
    each_caller_has_a_read_and_a_write_budget_on,
    each_caller_has_a_read_and_a_write_budget
);

/// On Redis, gateway replicas spend one shared budget per caller.
async fn replicas_share_one_budget(backend: Backend) {
    if backend == Backend::Embedded {
        return; // in-process limits are per replica by design (documented)
    }
    let suite = Suite::spawn(backend, tight).await;
    let (second, _) = suite.extra_gateway(tight).await;
    let token = suite.token("carol", "golmud", &[Role::Auditor]);
    let mut first = suite.client_with(&token).await;
    let channel = client::connect(&format!("http://{second}"))
        .await
        .expect("connect");
    let mut other = RegistryServiceClient::with_interceptor(
        channel,
        Credentials::bearer(&token).expect("creds"),
    );
    first
        .get_organization(read())
        .await
        .expect("1 via the first");
    first
        .get_organization(read())
        .await
        .expect("2 via the first");
    other
        .get_organization(read())
        .await
        .expect("3 via the second");
    assert_error(
        other.get_organization(read()).await,
        Code::ResourceExhausted,
        "RATE_LIMITED",
    );
    assert_error(
        first.get_organization(read()).await,
        Code::ResourceExhausted,
        "RATE_LIMITED",
    );
}
backend_test!(replicas_share_one_budget_on, replicas_share_one_budget);
