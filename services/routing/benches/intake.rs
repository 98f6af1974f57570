//! The load of `bench/routing.sh` (not a test; `cargo test` does not build it). Three commands:
//!
//! ```text
//! intake seed REGISTRY_URL KEY_DIR ACCOUNTS
//!     as the filing service (KEY_DIR/filing.key.pem), a government `bench` with its new-media
//!     office `bench-office` and ACCOUNTS active accounts `bench-a{i}` of the office
//! intake load GATEWAY_URL TOKEN unary|stream ACCOUNTS CONCURRENCY SECONDS BATCH
//!     SubmitMessage calls (unary) or SubmitMessages streams of BATCH messages, CONCURRENCY in
//!     flight over one HTTP/2 connection, one second of warm-up then SECONDS measured; every
//!     message new (its own platform id), spread over the accounts, from its own citizen
//! intake lateness REDIS_URL STREAM_KEY EXPECTED TIMEOUT_SECONDS
//!     reads CaseEscalated events from the stream until EXPECTED arrived (or the timeout), and
//!     prints how long after its instant each timer fired (from the event) and arrived here
//! ```
//!
//! Each prints one JSON object.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use govmedia_kit::{
    client::{self, Credentials},
    identity::Identity,
};
use govmedia_proto::{
    common::v1::{AccountKind, AdministrativeLevel, EventEnvelope, Platform},
    registry::v1::{self as rpb, OperatorType, OrganizationKind},
    routing::v1::{self as pb, routing_service_client::RoutingServiceClient},
};
use govmedia_registry_client::RegistryClient;
use prost::Message;

type Error = Box<dyn std::error::Error + Send + Sync>;

const FILING: &str = "filings/bench-routing";

fn arg(args: &[String], index: usize, what: &str) -> Result<String, Error> {
    args.get(index)
        .cloned()
        .ok_or_else(|| format!("missing {what}").into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // `cargo bench` passes `--bench`; the script calls the binary directly.
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    match args.get(1).map(String::as_str) {
        Some("seed") => seed(&args).await,
        Some("load") => load(&args).await,
        Some("lateness") => lateness(&args).await,
        _ => Err("usage: intake seed|load|lateness …".into()),
    }
}

async fn seed(args: &[String]) -> Result<(), Error> {
    let endpoint = arg(args, 2, "REGISTRY_URL")?;
    let keys = arg(args, 3, "KEY_DIR")?;
    let accounts: usize = arg(args, 4, "ACCOUNTS")?.parse()?;
    let keys = Path::new(&keys);
    let identity =
        Identity::from_files("filing", &keys.join("filing.key.pem"), &keys.join("public"))?;
    let registry = RegistryClient::new(
        &endpoint,
        Duration::from_secs(30),
        Arc::new(identity),
        "bench",
    )?;
    let mut client = registry.applying(FILING).raw()?;
    for (id, parent, kind, management) in [
        ("bench", "", OrganizationKind::Government, false),
        (
            "bench-office",
            "organizations/bench",
            OrganizationKind::Department,
            true,
        ),
    ] {
        client
            .create_organization(rpb::CreateOrganizationRequest {
                organization_id: id.into(),
                organization: Some(rpb::Organization {
                    parent: parent.into(),
                    display_name: format!("基准 {id}"),
                    level: AdministrativeLevel::Provincial as i32,
                    kind: kind as i32,
                    management_department: management,
                    principal_leader: "leader".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await?;
    }
    let platforms: Vec<Platform> = (1..100)
        .filter_map(|v| Platform::try_from(v).ok())
        .collect();
    for index in 0..accounts {
        // One account per platform per unit (R-03): the office gets the first, further ones go
        // to units of their own.
        let unit = format!("bench-u{}", index / platforms.len());
        if index % platforms.len() == 0 {
            client
                .create_organization(rpb::CreateOrganizationRequest {
                    organization_id: unit.clone(),
                    organization: Some(rpb::Organization {
                        parent: "organizations/bench-office".into(),
                        display_name: format!("基准单位 {unit}"),
                        level: AdministrativeLevel::Provincial as i32,
                        kind: OrganizationKind::InternalBody as i32,
                        principal_leader: "leader".into(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await?;
        }
        let id = format!("bench-a{index}");
        client
            .create_account(rpb::CreateAccountRequest {
                account_id: id.clone(),
                account: Some(rpb::Account {
                    organization: format!("organizations/{unit}"),
                    platform: platforms[index % platforms.len()] as i32,
                    display_name: format!("基准账号 {index}"),
                    kind: AccountKind::Publishing as i32,
                    operator: Some(rpb::Operator {
                        r#type: OperatorType::Self_ as i32,
                        vendor: String::new(),
                    }),
                    responsible_person: Some(rpb::Contact {
                        name: "王敏".into(),
                        title: "办公室主任".into(),
                        phone: "0979-8412345".into(),
                    }),
                    verified_subject: format!("基准单位 {unit}"),
                    ..Default::default()
                }),
                filing: FILING.into(),
                request_id: String::new(),
            })
            .await?;
        client
            .activate_account(rpb::ActivateAccountRequest {
                name: format!("accounts/{id}"),
                platform_account_id: format!("pid-{id}"),
                filing: FILING.into(),
                ..Default::default()
            })
            .await?;
    }
    println!("{{\"accounts\":{accounts}}}");
    Ok(())
}

fn message(n: usize, accounts: usize, run: u64) -> pb::IncomingMessage {
    pb::IncomingMessage {
        account: format!("accounts/bench-a{}", n % accounts),
        platform_message_id: format!("bench-{run}-{n}"),
        citizen_handle: format!("市民{run}-{n}"),
        citizen_contact: format!("138{:08}", (run as usize + n) % 100_000_000),
        text: format!("第{n}号留言：小区门口的路灯坏了好几天了，晚上出行很不方便，请尽快维修。"),
        category: pb::MessageCategory::Complaint as i32,
        received_time: Some(govmedia_kit::clock::to_proto(chrono::Utc::now())),
        region_code: String::new(),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn load(args: &[String]) -> Result<(), Error> {
    let gateway = arg(args, 2, "GATEWAY_URL")?;
    let token = arg(args, 3, "TOKEN")?;
    let mode = arg(args, 4, "unary|stream")?;
    let accounts: usize = arg(args, 5, "ACCOUNTS")?.parse()?;
    let concurrency: usize = arg(args, 6, "CONCURRENCY")?.parse()?;
    let seconds: u64 = arg(args, 7, "SECONDS")?.parse()?;
    let batch: usize = arg(args, 8, "BATCH")?.parse()?;
    let channel = client::connect(&gateway).await?;
    let credentials = Credentials::bearer(&token).map_err(|s| s.message().to_owned())?;
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    let next = Arc::new(AtomicUsize::new(0));
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let taken = Arc::new(AtomicUsize::new(0));
    let failures: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let mut client =
            RoutingServiceClient::with_interceptor(channel.clone(), credentials.clone());
        let (next, measuring, stop, taken, failures, latencies, mode) = (
            next.clone(),
            measuring.clone(),
            stop.clone(),
            taken.clone(),
            failures.clone(),
            latencies.clone(),
            mode.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let (ok, failed) = if mode == "unary" {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    match client
                        .submit_message(pb::SubmitMessageRequest {
                            message: Some(message(n, accounts, run)),
                        })
                        .await
                    {
                        Ok(_) => (1, None),
                        Err(status) => (0, Some(format!("{:?}", status.code()))),
                    }
                } else {
                    let first = next.fetch_add(batch, Ordering::Relaxed);
                    let items: Vec<pb::SubmitMessagesRequest> = (first..first + batch)
                        .map(|n| pb::SubmitMessagesRequest {
                            message: Some(message(n, accounts, run)),
                        })
                        .collect();
                    match client.submit_messages(tokio_stream::iter(items)).await {
                        Ok(response) => {
                            let response = response.into_inner();
                            let failed = (response.refused > 0)
                                .then(|| format!("refused in stream: {}", response.refused));
                            (response.accepted as usize, failed)
                        }
                        Err(status) => (0, Some(format!("{:?}", status.code()))),
                    }
                };
                if measuring.load(Ordering::Relaxed) {
                    taken.fetch_add(ok, Ordering::Relaxed);
                    if let Some(code) = failed {
                        *failures.lock().expect("lock").entry(code).or_default() += 1;
                    }
                    latencies
                        .lock()
                        .expect("lock")
                        .push(started.elapsed().as_secs_f64() * 1000.0);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await?;
    }
    let messages = taken.load(Ordering::Relaxed);
    let mut latencies = latencies.lock().expect("lock").clone();
    latencies.sort_by(f64::total_cmp);
    let failures = failures.lock().expect("lock").clone();
    println!(
        "{}",
        serde_json::json!({
            "mode": mode,
            "concurrency": concurrency,
            "batch": if mode == "unary" { 1 } else { batch },
            "messages": messages,
            "per_second": messages as f64 / elapsed,
            "call_p50_ms": percentile(&latencies, 0.5),
            "call_p99_ms": percentile(&latencies, 0.99),
            "failures": failures,
        })
    );
    Ok(())
}

async fn lateness(args: &[String]) -> Result<(), Error> {
    let url = arg(args, 2, "REDIS_URL")?;
    let key = arg(args, 3, "STREAM_KEY")?;
    let expected: usize = arg(args, 4, "EXPECTED")?.parse()?;
    let timeout: u64 = arg(args, 5, "TIMEOUT_SECONDS")?.parse()?;
    let redis = redis::Client::open(url)?;
    let mut conn = redis.get_multiplexed_async_connection().await?;
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let mut last = "$".to_owned();
    let (mut fired, mut arrived) = (Vec::new(), Vec::new());
    while fired.len() < expected && Instant::now() < deadline {
        let reply: redis::streams::StreamReadReply = redis::cmd("XREAD")
            .arg("BLOCK")
            .arg(100)
            .arg("STREAMS")
            .arg(&key)
            .arg(&last)
            .query_async(&mut conn)
            .await?;
        for stream in reply.keys {
            for entry in stream.ids {
                last = entry.id.clone();
                let now = chrono::Utc::now();
                let Some(redis::Value::BulkString(bytes)) = entry.map.get("envelope") else {
                    continue;
                };
                let envelope = EventEnvelope::decode(bytes.as_slice())?;
                if envelope.r#type != "govmedia.routing.v1.CaseEscalated" {
                    continue;
                }
                let event = pb::CaseEscalated::decode(envelope.payload.as_slice())?;
                let time = |t: Option<&prost_types::Timestamp>| {
                    t.and_then(govmedia_kit::clock::from_proto)
                        .unwrap_or_default()
                };
                let due = time(event.fire_time.as_ref());
                fired.push(
                    (time(event.fired_time.as_ref()) - due)
                        .num_microseconds()
                        .unwrap_or(0) as f64
                        / 1000.0,
                );
                arrived.push((now - due).num_microseconds().unwrap_or(0) as f64 / 1000.0);
            }
        }
    }
    fired.sort_by(f64::total_cmp);
    arrived.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({
            "escalations": fired.len(),
            "fired_after_p50_ms": percentile(&fired, 0.5),
            "fired_after_p99_ms": percentile(&fired, 0.99),
            "fired_after_max_ms": fired.last().copied().unwrap_or(0.0),
            "arrived_after_p50_ms": percentile(&arrived, 0.5),
            "arrived_after_max_ms": arrived.last().copied().unwrap_or(0.0),
        })
    );
    Ok(())
}
