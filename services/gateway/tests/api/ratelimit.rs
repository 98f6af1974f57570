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

/// Reads the gateway's `/metrics` and returns the value of the series `name` (0 when absent).
async fn metric(suite: &Suite, name: &str) -> f64 {
    let (_, text) = crate::helpers::http(suite.http, "GET", "/metrics", &[], "").await;
    text.as_str()
        .expect("text")
        .lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Most calls spend a budget leased earlier: far fewer round trips to Redis than calls, and
/// two replicas leasing from one budget still never let through more than it holds.
async fn leases_spare_round_trips_and_keep_the_shared_budget(backend: Backend) {
    if backend == Backend::Embedded {
        return; // leases are how replicas share a budget in Redis
    }
    let roomy = |config: &mut govmedia_gateway::GatewayConfig| {
        config.rate_limit.reads_per_minute = 6;
        config.rate_limit.read_burst = 40;
    };
    let suite = Suite::spawn(backend, roomy).await;
    let (second, _) = suite.extra_gateway(roomy).await;
    let token = suite.token("dave", "golmud", &[Role::Auditor]);
    let mut first = suite.client_with(&token).await;
    let channel = client::connect(&format!("http://{second}"))
        .await
        .expect("connect");
    let mut other = RegistryServiceClient::with_interceptor(
        channel,
        Credentials::bearer(&token).expect("creds"),
    );
    let before = metric(&suite, "govmedia_gateway_rate_limiter_round_trips_total").await;
    let mut passed = 0;
    for _ in 0..20 {
        if first.get_organization(read()).await.is_ok() {
            passed += 1;
        }
    }
    let trips = metric(&suite, "govmedia_gateway_rate_limiter_round_trips_total").await - before;
    assert_eq!(passed, 20, "within the burst");
    assert!(trips <= 6.0, "{trips} round trips for 20 calls");
    // Then both replicas spend what is left until neither can: never more than the burst.
    for _ in 0..40 {
        for client in [&mut first, &mut other] {
            if client.get_organization(read()).await.is_ok() {
                passed += 1;
            }
        }
    }
    // 40 in the burst, and at most a call or two of refill at 6 a minute meanwhile.
    assert!((30..=42).contains(&passed), "{passed} calls passed");
}

backend_test!(
    leases_spare_round_trips_and_keep_the_shared_budget_on,
    leases_spare_round_trips_and_keep_the_shared_budget
);

/// Calls of one caller that arrive together, all within its burst, all pass: they wait for one
/// lease instead of each leasing one (which spent the budget on cells nobody used, and refused
/// calls the budget had room for).
async fn a_burst_within_the_budget_passes_whole(backend: Backend) {
    let roomy = |config: &mut govmedia_gateway::GatewayConfig| {
        config.rate_limit.reads_per_minute = 6;
        config.rate_limit.read_burst = 40;
    };
    let suite = Suite::spawn(backend, roomy).await;
    let token = suite.token("erin", "golmud", &[Role::Auditor]);
    let client = suite.client_with(&token).await;
    let before = metric(&suite, "govmedia_gateway_rate_limiter_round_trips_total").await;
    let calls = (0..40).map(|_| {
        let mut client = client.clone();
        async move { client.get_organization(read()).await }
    });
    let refused: Vec<_> = futures::future::join_all(calls)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    assert!(
        refused.is_empty(),
        "{} refused: {:?}",
        refused.len(),
        refused.first()
    );
    let trips = metric(&suite, "govmedia_gateway_rate_limiter_round_trips_total").await - before;
    assert!(trips <= 10.0, "{trips} round trips for 40 calls");
}

backend_test!(
    a_burst_within_the_budget_passes_whole_on,
    a_burst_within_the_budget_passes_whole
);

/// The largest budget the configuration takes is still a budget Redis can lease from: the
/// limiter stays shared instead of falling back to local limits.
async fn the_largest_budget_is_leased_from_redis(backend: Backend) {
    if backend == Backend::Embedded {
        return; // leases are kept in Redis
    }
    let unlimited = |config: &mut govmedia_gateway::GatewayConfig| {
        config.rate_limit.reads_per_minute = u32::MAX;
        config.rate_limit.read_burst = u32::MAX;
    };
    let suite = Suite::spawn(backend, unlimited).await;
    let token = suite.token("dave", "golmud", &[Role::Auditor]);
    let mut client = suite.client_with(&token).await;
    for _ in 0..40 {
        client
            .get_organization(read())
            .await
            .expect("within the budget");
    }
    assert!(metric(&suite, "govmedia_gateway_rate_limiter_round_trips_total").await >= 1.0);
    assert_eq!(
        metric(&suite, "govmedia_gateway_rate_limiter_local").await,
        0.0,
        "the limiter fell back to local limits"
    );
}

backend_test!(
    the_largest_budget_is_leased_from_redis_on,
    the_largest_budget_is_leased_from_redis
);

/// A TCP relay to Redis that can be made to swallow everything (as a Redis that hangs, or a
/// network that drops packets, looks to its clients).
struct Blackhole {
    addr: std::net::SocketAddr,
    swallow: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Blackhole {
    async fn start(redis: &str) -> Blackhole {
        use std::sync::{Arc, atomic::AtomicBool};
        let target = redis
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let swallow = Arc::new(AtomicBool::new(false));
        let flag = swallow.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&target).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(relay(client_read, server_write, flag.clone()));
                tokio::spawn(relay(server_read, client_write, flag.clone()));
            }
        });
        Blackhole { addr, swallow }
    }

    fn swallow(&self, on: bool) {
        self.swallow.store(on, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Copies `from` to `to`, holding what it read while swallowing.
async fn relay(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    swallow: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let Ok(read) = from.read(&mut buffer).await else {
            return;
        };
        if read == 0 {
            return;
        }
        while swallow.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

/// When Redis stops answering, no call waits on it longer than the limiter's timeout: the
/// gateway limits locally at once, says so, and goes back to Redis when it answers again.
async fn a_redis_that_stops_answering_stalls_no_call(backend: Backend) {
    if backend == Backend::Embedded {
        return;
    }
    let redis = std::env::var("GOVMEDIA_TEST_REDIS_URL").expect("redis url");
    let hole = Blackhole::start(&redis).await;
    let suite = Suite::spawn(backend, |config| {
        config.rate_limit.redis_url = Some(format!("redis://{}", hole.addr));
        config.rate_limit.redis_timeout_ms = 100;
    })
    .await;
    // Different callers, so that each needs a lease of its own.
    let callers: Vec<_> = ["a", "b", "c", "d", "e", "f"]
        .iter()
        .map(|name| suite.token(name, "golmud", &[Role::Auditor]))
        .collect();
    for token in &callers[..2] {
        suite
            .client_with(token)
            .await
            .get_organization(read())
            .await
            .expect("Redis answers");
    }
    hole.swallow(true);
    for round in 0..5 {
        for token in &callers {
            let mut client = suite.client_with(token).await;
            tokio::time::timeout(Duration::from_secs(2), client.get_organization(read()))
                .await
                .unwrap_or_else(|_| panic!("round {round}: a call waited on a silent Redis"))
                .expect("let through on local limits");
        }
    }
    let (_, health) = crate::helpers::http(suite.http, "GET", "/healthz", &[], "").await;
    assert_eq!(
        health["rate_limits"], "local (Redis unavailable)",
        "{health}"
    );
    assert_eq!(
        metric(&suite, "govmedia_gateway_rate_limiter_local").await,
        1.0
    );

    hole.swallow(false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        // Calls keep the probe going.
        suite
            .client_with(&callers[0])
            .await
            .get_organization(read())
            .await
            .expect("a call");
        let (_, health) = crate::helpers::http(suite.http, "GET", "/healthz", &[], "").await;
        if health["rate_limits"] == "as configured" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "back on Redis once it answers: {health}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        metric(&suite, "govmedia_gateway_rate_limiter_local").await,
        0.0
    );
}

backend_test!(
    a_redis_that_stops_answering_stalls_no_call_on,
    a_redis_that_stops_answering_stalls_no_call
);
