//! The limits every govmedia port keeps (`govmedia_kit::listen`), on a real port with clients
//! that misbehave on purpose.

use std::{convert::Infallible, net::SocketAddr, time::Duration};

use bytes::Bytes;
use govmedia_kit::{
    CancellationToken,
    config::ListenSettings,
    listen::{self, Protocol},
};
use govmedia_test_support::h2raw::{self, RawConnection, kind};
use http_body_util::Empty;
use tokio::{io::AsyncWriteExt as _, net::TcpListener};

/// Serves a port that answers every call at once, except `/hold`, which never answers.
async fn start(protocol: Protocol, settings: ListenSettings) -> (SocketAddr, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let shutdown = CancellationToken::new();
    let service = tower::service_fn(|request: http::Request<hyper::body::Incoming>| async move {
        if request.uri().path() == "/hold" {
            std::future::pending::<()>().await;
        }
        Ok::<_, Infallible>(http::Response::new(Empty::<Bytes>::new()))
    });
    let stop = shutdown.clone();
    tokio::spawn(async move {
        listen::serve(
            listener,
            protocol,
            service,
            &settings,
            stop.cancelled_owned(),
        )
        .await;
    });
    (addr, shutdown)
}

fn quick(header_read_timeout_ms: u64) -> ListenSettings {
    ListenSettings {
        header_read_timeout_ms,
        ..ListenSettings::default()
    }
}

const SOON: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_connection_that_does_not_finish_its_first_request_in_time_is_closed() {
    let (addr, _shutdown) = start(Protocol::Grpc, quick(300)).await;
    // Half a preface; a preface and nothing more; a request whose header block never ends.
    assert!(h2raw::closed_after_sending(addr, &h2raw::PREFACE[..10], SOON).await);
    let mut idle = RawConnection::open(addr, &[]).await;
    assert!(idle.closed_within(SOON).await, "preface only");
    let mut partial = RawConnection::open(addr, &[]).await;
    partial
        .write_raw(&[0, 0, 100, kind::HEADERS, 0x4, 0, 0, 0, 1, 0x00])
        .await;
    assert!(
        partial.closed_within(SOON).await,
        "a header block cut short"
    );

    // Drip-fed: a byte of the preface every 100 ms keeps nothing open.
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    let drip = tokio::spawn(async move {
        for byte in h2raw::PREFACE.iter().cycle().take(200) {
            if write.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let closed = tokio::time::timeout(SOON, async {
        let mut sink = [0u8; 512];
        loop {
            match tokio::io::AsyncReadExt::read(&mut read, &mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    drip.abort();
    assert!(closed.is_ok(), "a drip-fed preface");

    // A client that asks in time keeps its connection past the header timeout.
    let mut polite = RawConnection::open(addr, &[]).await;
    polite.request(1, "test", "/now", &[], true).await;
    let answered = polite
        .read_until(SOON, |frame| {
            frame.kind == kind::HEADERS && frame.stream == 1
        })
        .await;
    assert!(answered.is_some(), "the first call is answered");
    tokio::time::sleep(Duration::from_millis(600)).await;
    polite.request(3, "test", "/now", &[], true).await;
    let again = polite
        .read_until(SOON, |frame| {
            frame.kind == kind::HEADERS && frame.stream == 3
        })
        .await;
    assert!(again.is_some(), "still open after the header timeout");
}

#[tokio::test]
async fn an_http1_request_whose_headers_do_not_arrive_in_time_is_closed() {
    let (addr, _shutdown) = start(Protocol::Http, quick(300)).await;
    assert!(h2raw::closed_after_sending(addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", SOON).await);
}

#[tokio::test]
async fn a_port_holds_at_most_its_connections_in_all_and_per_peer() {
    let settings = ListenSettings {
        max_connections: 3,
        max_connections_per_peer: 2,
        ..ListenSettings::default()
    };
    let (addr, _shutdown) = start(Protocol::Grpc, settings).await;
    let from = |ip: &str| {
        let ip: std::net::IpAddr = ip.parse().expect("address");
        async move {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket.bind(SocketAddr::new(ip, 0)).expect("bind");
            let stream = socket.connect(addr).await.expect("connect");
            let mut connection = RawConnection { stream };
            connection.write_raw(h2raw::PREFACE).await;
            connection.write_frame(kind::SETTINGS, 0, 0, &[]).await;
            connection
        }
    };
    let brief = Duration::from_millis(500);
    let mut first = from("127.0.0.1").await;
    let mut second = from("127.0.0.1").await;
    assert!(!first.closed_within(brief).await && !second.closed_within(brief).await);
    let mut third_of_peer = from("127.0.0.1").await;
    assert!(third_of_peer.closed_within(SOON).await, "a peer's third");
    let mut other_peer = from("127.0.0.2").await;
    assert!(
        !other_peer.closed_within(brief).await,
        "another peer's first"
    );
    let mut over = from("127.0.0.3").await;
    assert!(over.closed_within(SOON).await, "the port is full");
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut after = from("127.0.0.3").await;
    assert!(
        !after.closed_within(brief).await,
        "a closed connection frees its place"
    );
}

#[tokio::test]
async fn the_stream_limit_is_advertised_and_a_flood_of_streams_is_refused() {
    let settings = ListenSettings {
        max_concurrent_streams: 4,
        ..ListenSettings::default()
    };
    let (addr, _shutdown) = start(Protocol::Grpc, settings).await;
    let mut flood = RawConnection::open(addr, &[]).await;
    let settings = flood
        .read_until(SOON, |frame| {
            frame.kind == kind::SETTINGS && frame.flags & 0x1 == 0
        })
        .await
        .expect("the server's settings");
    assert!(
        settings
            .settings()
            .contains(&(h2raw::MAX_CONCURRENT_STREAMS, 4)),
        "{:?}",
        settings.settings()
    );
    for stream in (1..=2 * 20).step_by(2) {
        flood.request(stream, "test", "/hold", &[], true).await;
    }
    let mut refused = 0;
    while flood
        .read_until(SOON, |frame| {
            frame.kind == kind::RST_STREAM && frame.error_code() == Some(h2raw::REFUSED_STREAM)
        })
        .await
        .is_some()
    {
        refused += 1;
        if refused == 16 {
            break;
        }
    }
    assert_eq!(refused, 16, "every stream beyond the four is refused");
}

#[tokio::test]
async fn an_idle_connection_is_asked_to_go_away_and_then_closed() {
    // This client answers no PING, so the GOAWAY handshake never completes: the drain time
    // ends it.
    let settings = ListenSettings {
        idle_timeout_ms: 300,
        drain_timeout_ms: 500,
        ..ListenSettings::default()
    };
    let (addr, _shutdown) = start(Protocol::Grpc, settings).await;
    let mut connection = RawConnection::open(addr, &[]).await;
    connection.request(1, "test", "/now", &[], true).await;
    let goaway = connection
        .read_until(SOON, |frame| frame.kind == kind::GOAWAY)
        .await;
    assert!(goaway.is_some(), "GOAWAY after the idle time");
    assert!(connection.closed_within(SOON).await);
}

#[tokio::test]
async fn shutdown_closes_a_connection_whose_call_does_not_finish_within_the_drain_time() {
    let settings = ListenSettings {
        drain_timeout_ms: 300,
        ..ListenSettings::default()
    };
    let (addr, shutdown) = start(Protocol::Grpc, settings).await;
    let mut connection = RawConnection::open(addr, &[]).await;
    connection.request(1, "test", "/hold", &[], true).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    shutdown.cancel();
    assert!(
        connection
            .read_until(SOON, |frame| frame.kind == kind::GOAWAY)
            .await
            .is_some()
    );
    assert!(connection.closed_within(SOON).await);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the port no longer accepts"
    );
}
