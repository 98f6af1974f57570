//! One caller can never stall the others: a caller who opens a connection with a zero receive
//! window and never reads holds only its own calls; its calls are cut when they stall or their
//! deadline passes, however little it reads.

use std::{net::SocketAddr, time::Duration};

use bytes::Bytes;
use govmedia_kit::auth::Role;
use govmedia_proto::registry::v1 as pb;
use govmedia_test_support::{Backend, backend_test};
use tokio::sync::oneshot;

use crate::helpers::{Suite, grpc_frame, http};

/// How long another caller waits for an answer before the test calls it stalled (a bound on
/// a hang, not a measure of speed).
const PATIENCE: Duration = Duration::from_secs(5);

const LIST: &str = "/govmedia.registry.v1.RegistryService/ListOrganizations";

/// Adds `count` departments with long names under qinghai, so that a page of 500 is ~100 KB.
async fn grow(suite: &Suite, count: usize) {
    let mut registry = suite.registry_as_filing(None).await;
    for index in 0..count {
        registry
            .create_organization(pb::CreateOrganizationRequest {
                organization_id: format!("qinghai-dept-{index:04}"),
                organization: Some(pb::Organization {
                    parent: "organizations/qinghai".into(),
                    display_name: format!(
                        "青海省人民政府第{index}号直属工作部门新媒体管理与政务公开协调办公室"
                    ),
                    level: govmedia_proto::common::v1::AdministrativeLevel::Provincial as i32,
                    kind: pb::OrganizationKind::Department as i32,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("grow");
    }
}

/// A caller on its own HTTP/2 connection whose receive window starts at zero: the gateway can
/// send it headers, but not one byte of any response body, until it opens the window.
struct NonReader {
    client: h2::client::SendRequest<Bytes>,
    open_window: Option<oneshot::Sender<()>>,
    token: String,
    addr: SocketAddr,
}

impl NonReader {
    async fn connect(addr: SocketAddr, token: String) -> NonReader {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        // The connection's own window is large, so that once it reads, its streams do not
        // wait on one another; each stream's window is zero until then.
        let (client, mut connection) = h2::client::Builder::new()
            .initial_window_size(0)
            .initial_connection_window_size(64 * 1024 * 1024)
            .handshake::<_, Bytes>(tcp)
            .await
            .expect("handshake");
        let (open_window, opened) = oneshot::channel::<()>();
        tokio::spawn(async move {
            tokio::select! {
                _ = &mut connection => return,
                _ = opened => {}
            }
            let _ = connection.set_initial_window_size(4 * 1024 * 1024);
            let _ = connection.await;
        });
        NonReader {
            client,
            open_window: Some(open_window),
            token,
            addr,
        }
    }

    /// Sends `count` calls of `path` with `body`, waits for their response headers (which take
    /// no window) and reads nothing else.
    async fn call(
        &mut self,
        count: usize,
        path: &str,
        body: &Bytes,
        timeout: Option<&str>,
    ) -> Vec<h2::RecvStream> {
        let mut pending = Vec::new();
        for _ in 0..count {
            let mut request = http::Request::post(format!("http://{}{path}", self.addr))
                .header("content-type", "application/grpc")
                .header("te", "trailers")
                .header("authorization", format!("Bearer {}", self.token));
            if let Some(timeout) = timeout {
                request = request.header("grpc-timeout", timeout);
            }
            let request = request.body(()).expect("request");
            self.client = self.client.clone().ready().await.expect("ready");
            let (response, mut send) = self.client.send_request(request, false).expect("send");
            send.send_data(body.clone(), true).expect("body");
            pending.push(response);
        }
        let mut bodies = Vec::new();
        for response in pending {
            let response = tokio::time::timeout(Duration::from_secs(20), response)
                .await
                .expect("response headers in time")
                .expect("response");
            assert_eq!(response.status(), http::StatusCode::OK);
            bodies.push(response.into_body());
        }
        bodies
    }

    /// Opens the receive window, as a caller that finally reads.
    fn start_reading(&mut self) {
        if let Some(open) = self.open_window.take() {
            let _ = open.send(());
        }
    }
}

/// Reads a response body to its end: the `grpc-status` of its trailers, or what ended the
/// call without one (so that a failure says whether the stream was reset, and how).
async fn status_of(mut body: h2::RecvStream) -> Result<String, String> {
    let mut read = 0;
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|error| format!("reset after {read} bytes: {error:?}"))?;
        read += chunk.len();
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let trailers = body
        .trailers()
        .await
        .map_err(|error| format!("trailers failed after {read} bytes: {error:?}"))?
        .ok_or_else(|| format!("no trailers after {read} bytes"))?;
    trailers
        .get("grpc-status")
        .and_then(|status| status.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| format!("trailers without grpc-status: {trailers:?}"))
}

async fn a_caller_who_never_reads_holds_only_its_own_calls(backend: Backend) {
    // This test is about the others; the attacker's calls are neither cut for stalling nor
    // for their deadline while it waits (a loaded machine may take many seconds over the
    // victims' calls). Cutting is tested on its own below.
    let suite = Suite::spawn(backend, |config| config.response_stall_ms = 120_000).await;
    grow(&suite, 500).await;
    let page = grpc_frame(&pb::ListOrganizationsRequest {
        ancestor: "organizations/qinghai".into(),
        page_size: 500,
        ..Default::default()
    });

    // An auditor of the province: 120 pages of ~100 KB, more than 12 MB, all left unread.
    let attacker_token = suite.token("mallory", "qinghai", &[Role::Auditor]);
    let mut attacker = NonReader::connect(suite.gateway, attacker_token).await;
    let unread = attacker.call(120, LIST, &page, Some("110S")).await;

    // Everyone else goes on as before, small answers and large, each within a 3 s deadline.
    let mut victim = suite.client("golmud", &[Role::Operator]).await;
    for _ in 0..20 {
        let mut request = tonic::Request::new(pb::GetOrganizationRequest {
            name: "organizations/golmud".into(),
        });
        request.set_timeout(Duration::from_secs(3));
        tokio::time::timeout(PATIENCE, victim.get_organization(request))
            .await
            .expect("another caller's small call is answered in time")
            .expect("another caller's small call succeeds");
    }
    let mut province = suite.client("qinghai", &[Role::Supervisor]).await;
    for _ in 0..5 {
        let mut request = tonic::Request::new(pb::ListOrganizationsRequest {
            ancestor: "organizations/qinghai".into(),
            page_size: 500,
            ..Default::default()
        });
        request.set_timeout(Duration::from_secs(3));
        let listed = tokio::time::timeout(PATIENCE, province.list_organizations(request))
            .await
            .expect("another caller's large call is answered in time")
            .expect("another caller's large call succeeds")
            .into_inner();
        assert_eq!(listed.organizations.len(), 500);
    }

    // The attacker's own calls were kept for it: once it reads, they are whole. (It gives up
    // the others first: their data would otherwise fill its own connection window.)
    let kept: Vec<_> = unread.into_iter().take(3).collect();
    attacker.start_reading();
    let statuses = futures::future::join_all(kept.into_iter().map(status_of)).await;
    assert!(
        statuses.iter().all(|status| status.as_deref() == Ok("0")),
        "{statuses:?}"
    );
}

backend_test!(
    a_caller_who_never_reads_holds_only_its_own_calls_on,
    a_caller_who_never_reads_holds_only_its_own_calls
);

/// `count` calls of a 200-organization page (with `timeout`, if any) from a caller who starts
/// reading only a second later, on a gateway configured by `tweak`: the `grpc-status` each
/// call ended with.
async fn read_late(
    tweak: impl FnOnce(&mut govmedia_gateway::GatewayConfig),
    count: usize,
    timeout: Option<&str>,
) -> (Suite, Vec<Result<String, String>>) {
    let suite = Suite::spawn(Backend::Embedded, tweak).await;
    grow(&suite, 200).await;
    let page = grpc_frame(&pb::ListOrganizationsRequest {
        ancestor: "organizations/qinghai".into(),
        page_size: 200,
        ..Default::default()
    });
    let token = suite.token("mallory", "qinghai", &[Role::Auditor]);
    let mut attacker = NonReader::connect(suite.gateway, token).await;
    let unread = attacker.call(count, LIST, &page, timeout).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    attacker.start_reading();
    let statuses = futures::future::join_all(unread.into_iter().map(status_of)).await;
    (suite, statuses)
}

/// Past the stall time, the calls are gone from the gateway; reading later finds them ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_caller_stops_reading_is_cut() {
    let (suite, statuses) = read_late(
        |config| {
            config.response_buffer_bytes = 16 * 1024;
            config.response_stall_ms = 300;
        },
        3,
        None,
    )
    .await;
    assert!(
        statuses.iter().all(|status| status.as_deref() == Ok("8")),
        "RESOURCE_EXHAUSTED: {statuses:?}"
    );
    let (_, metrics) = http(suite.http, "GET", "/metrics", &[], "").await;
    let metrics = metrics.as_str().expect("text").to_owned();
    assert!(
        metrics.contains("govmedia_gateway_calls_cut_total{reason=\"not_read\"} 3"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_covers_the_response_body_too() {
    // The headers come at once; the body would fit the buffer, but is never taken in time.
    let (_suite, statuses) = read_late(|_| {}, 2, Some("500m")).await;
    assert!(
        statuses.iter().all(|status| status.as_deref() == Ok("4")),
        "DEADLINE_EXCEEDED: {statuses:?}"
    );
}
