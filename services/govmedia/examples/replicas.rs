//! The replica proof: two processes of every service and two gateways, all on one PostgreSQL and
//! one Redis, started from the real `govmedia` binary as an operator would (`migrate`, then
//! `serve`), and shown to behave:
//!
//! 1. **leases**: each service's leader work (its outbox relay) runs on exactly one replica; after
//!    `kill -9` of the holder, the other replica takes it within the lease's life;
//! 2. **events**: a burst of filing events is handled once across the vendor service's two
//!    replicas, and the entries a replica held when it was killed are delivered again to the
//!    other, which applies each event not yet applied and recognises the rest;
//! 3. **idempotent writes**: one write with one `request_id` sent to both registry replicas at
//!    once has one effect, and both callers get the same answer;
//! 4. **rolling restart**: every service and both gateways are restarted one replica at a time
//!    (SIGTERM, drain, start again) under a steady load of reads through the gateways, and no
//!    call fails;
//! 5. **shared rate budget**: one caller's reads, spread over both gateways, are held to one
//!    budget, not one per gateway.
//!
//! It also reads every process's memory and CPU time during a steady load (docs/operations.md,
//! "Sizing"). It prints what it saw and exits non-zero when any of it does not hold.
//!
//!   GOVMEDIA_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!   GOVMEDIA_TEST_REDIS_URL=redis://127.0.0.1:6379 \
//!   cargo run --release --example replicas -- target/release/govmedia
//!
//! `.ci/run` runs it after building the release binary. Its schemas (`t_<id>_<service>`) and
//! Redis keys (`govmedia-test:<id>:`) are removed at the end.

use std::{
    collections::{BTreeMap, BTreeSet},
    io::{BufRead as _, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};
use govmedia_kit::{
    auth::{Role, TokenKeys},
    client::{self, Credentials},
    config::IdentitySettings,
};
use govmedia_proto::{
    common::v1 as cpb,
    filing::v1::{self as fpb, filing_service_client::FilingServiceClient},
    inspection::v1::{self as ipb, inspection_service_client::InspectionServiceClient},
    registry::v1::{self as rpb, registry_service_client::RegistryServiceClient},
    routing::v1::{self as opb, routing_service_client::RoutingServiceClient},
    vendor::v1::{self as vpb, vendor_service_client::VendorServiceClient},
};
use govmedia_test_support::{Backend, TestBackends};
use tonic::{codegen::InterceptedService, transport::Channel};

const JWT_SECRET: &str = "replica-proof-secret-of-at-least-32-bytes";
/// The services in the order they start (each after those it calls).
const SERVICES: [&str; 5] = ["registry", "vendor", "filing", "routing", "inspection"];
/// How long a stopping replica serves on after reporting NOT_SERVING.
const SHUTDOWN_DELAY_MS: u64 = 5_000;
/// The lease life of the kit (`lease::TTL`) plus one renewal beat: the longest a dead holder's
/// work may wait for another replica.
const LEASE_MOVE_LIMIT: Duration = Duration::from_secs(30 + 10 + 5);

fn main() -> anyhow::Result<()> {
    let bin = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/release/govmedia".to_owned()),
    );
    ensure!(bin.exists(), "no govmedia binary at {}", bin.display());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(prove(bin));
    match &result {
        Ok(()) => println!("\nreplica proof: every claim held"),
        Err(error) => println!("\nreplica proof FAILED: {error:#}"),
    }
    result
}

/// One `govmedia` process whose output is kept.
struct Proc {
    service: &'static str,
    replica: char,
    port: u16,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn label(&self) -> String {
        format!("{}-{}", self.service, self.replica)
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()?;
        ensure!(status.success(), "kill {signal} {}", self.label());
        Ok(())
    }

    /// Waits for a line containing `needle`.
    async fn wait_for(&self, needle: &str, limit: Duration) -> anyhow::Result<String> {
        let until = Instant::now() + limit;
        loop {
            if let Some(line) = self.lines().into_iter().find(|line| line.contains(needle)) {
                return Ok(line);
            }
            if Instant::now() > until {
                bail!(
                    "{}: no line with {needle:?} within {limit:?}; its output:\n{}",
                    self.label(),
                    self.lines().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Resident memory (kB) and CPU time (ms) so far.
    fn usage(&self) -> (u64, u64) {
        let pid = self.pid();
        let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find(|line| line.starts_with("VmRSS:"))
                    .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0);
        let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                // After the command name in parentheses: utime and stime are fields 14 and 15.
                let rest = stat.rsplit_once(')')?.1;
                let fields: Vec<&str> = rest.split_whitespace().collect();
                Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
            })
            .unwrap_or(0);
        // Linux's USER_HZ is 100 on every platform govmedia runs on.
        (rss, ticks * 10)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The suite under test: its backends, keys, and processes by label.
struct Suite {
    bin: PathBuf,
    backends: TestBackends,
    dir: tempfile::TempDir,
    procs: BTreeMap<String, Proc>,
    ports: BTreeMap<String, u16>,
}

impl Suite {
    fn keys(&self) -> PathBuf {
        self.dir.path().join("keys")
    }

    fn command(&self, service: &str, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command.args(args);
        for (key, _) in std::env::vars() {
            if key.starts_with("GOVMEDIA_") || key.starts_with("OTEL_") {
                command.env_remove(key);
            }
        }
        let database = self.backends.database_for(service);
        command
            .env("GOVMEDIA_LOG", "info,govmedia_kit::events::consumer=debug")
            .env(
                "GOVMEDIA_DATABASE_URL",
                database.url.as_deref().unwrap_or(""),
            )
            .env(
                "GOVMEDIA_DATABASE__SCHEMA",
                database.schema.as_deref().unwrap_or(""),
            )
            .env(
                "GOVMEDIA_REDIS_URL",
                self.backends.redis.url.as_deref().unwrap_or(""),
            )
            .env(
                "GOVMEDIA_REDIS__KEY_PREFIX",
                &self.backends.redis.key_prefix,
            )
            .env(
                "GOVMEDIA_IDENTITY__KEY_FILE",
                self.keys().join(format!("{service}.key.pem")),
            )
            .env("GOVMEDIA_IDENTITY__TRUST_DIR", self.keys().join("public"))
            .env(
                "GOVMEDIA_LISTEN__SHUTDOWN_DELAY_MS",
                SHUTDOWN_DELAY_MS.to_string(),
            )
            .env("GOVMEDIA_LISTEN__DRAIN_TIMEOUT_MS", "10000")
            .env("GOVMEDIA_EVENTS__CLAIM_IDLE_MS", "2000")
            .env("GOVMEDIA_EVENTS__CONSUMER_BLOCK_MS", "200")
            .env("GOVMEDIA_EVENTS__RELAY_INTERVAL_MS", "100");
        command
    }

    /// Both replicas' addresses of `service`, as a peer setting names them.
    fn endpoint(&self, service: &str) -> String {
        ['a', 'b']
            .iter()
            .map(|replica| {
                format!(
                    "http://127.0.0.1:{}",
                    self.ports[&format!("{service}-{replica}")]
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Starts replica `replica` of `service` (on its earlier port when it had one) and waits
    /// until it serves.
    async fn start(&mut self, service: &'static str, replica: char) -> anyhow::Result<()> {
        let label = format!("{service}-{replica}");
        let port = self.ports.get(&label).copied().unwrap_or(0);
        let http_port = self
            .ports
            .get(&format!("{label}-http"))
            .copied()
            .unwrap_or(0);
        let mut command = self.command(service, &["serve", service]);
        let upper = service.to_uppercase();
        if service == "gateway" {
            // The event burst writes 120 filings at once; reads keep the default budget, which
            // the last proof spends.
            command
                .env("GOVMEDIA_GATEWAY__RATE_LIMIT__WRITE_BURST", "1000")
                .env("GOVMEDIA_GATEWAY__RATE_LIMIT__WRITES_PER_MINUTE", "60000")
                .env("GOVMEDIA_JWT_SECRET", JWT_SECRET)
                .env("GOVMEDIA_GATEWAY__LISTEN", format!("127.0.0.1:{port}"))
                .env(
                    "GOVMEDIA_GATEWAY__HTTP_LISTEN",
                    format!("127.0.0.1:{http_port}"),
                );
            for upstream in SERVICES {
                command.env(
                    format!("GOVMEDIA_GATEWAY__UPSTREAMS__{}", upstream.to_uppercase()),
                    self.endpoint(upstream),
                );
            }
        } else {
            command.env(
                format!("GOVMEDIA_{upper}__LISTEN"),
                format!("127.0.0.1:{port}"),
            );
            if service != "registry" {
                command
                    .env(format!("GOVMEDIA_{upper}__SYSTEM_ORGANIZATION"), "proof")
                    .env(
                        format!("GOVMEDIA_{upper}__REGISTRY_ENDPOINT"),
                        self.endpoint("registry"),
                    );
            }
            match service {
                "vendor" => {
                    // Vendor asks filing only when it files for a unit; filing starts after it.
                    command.env("GOVMEDIA_VENDOR__FILING_ENDPOINT", "http://127.0.0.1:9");
                }
                "filing" => {
                    command.env("GOVMEDIA_FILING__INSPECTION_ENDPOINT", "");
                }
                "routing" => {
                    let key = self.dir.path().join("contact.key");
                    if !key.exists() {
                        std::fs::write(&key, "00112233445566778899aabbccddeeff")?;
                    }
                    command.env("GOVMEDIA_ROUTING__CONTACT_KEY_FILE", key).env(
                        "GOVMEDIA_ROUTING__PUBLISH__SPOOL_DIR",
                        self.dir.path().join("replies"),
                    );
                }
                "inspection" => {
                    command
                        .env(
                            "GOVMEDIA_INSPECTION__ROUTING_ENDPOINT",
                            self.endpoint("routing"),
                        )
                        .env(
                            "GOVMEDIA_INSPECTION__VENDOR_ENDPOINT",
                            self.endpoint("vendor"),
                        )
                        .env(
                            "GOVMEDIA_INSPECTION__FILING_ENDPOINT",
                            self.endpoint("filing"),
                        );
                }
                _ => {}
            }
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {label}"))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().expect("lines").push(line);
                }
            });
        }
        let proc = Proc {
            service,
            replica,
            port,
            child,
            lines,
        };
        let line = proc.wait_for("serving", Duration::from_secs(60)).await?;
        let port = port_after(&line, "addr=").context("no address in the serving line")?;
        self.ports.insert(label.clone(), port);
        if service == "gateway" {
            let http = port_after(&line, "http=").context("no HTTP address")?;
            self.ports.insert(format!("{label}-http"), http);
        }
        let mut proc = proc;
        proc.port = port;
        serving(port, Duration::from_secs(30)).await?;
        self.procs.insert(label, proc);
        Ok(())
    }

    fn proc(&self, label: &str) -> &Proc {
        &self.procs[label]
    }
}

/// The port in `key=127.0.0.1:PORT` of a log line.
fn port_after(line: &str, key: &str) -> Option<u16> {
    let rest = &line[line.find(key)? + key.len()..];
    let address: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect();
    address.rsplit_once(':')?.1.parse().ok()
}

/// Waits until the port at `port` answers SERVING.
async fn serving(port: u16, limit: Duration) -> anyhow::Result<()> {
    let until = Instant::now() + limit;
    loop {
        let answered = async {
            let channel = client::connect(&format!("http://127.0.0.1:{port}"))
                .await
                .ok()?;
            let response = tonic_health::pb::health_client::HealthClient::new(channel)
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await
                .ok()?;
            Some(response.into_inner().status)
        }
        .await;
        if answered == Some(tonic_health::pb::health_check_response::ServingStatus::Serving as i32)
        {
            return Ok(());
        }
        ensure!(Instant::now() < until, "port {port} does not serve");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

type Intercepted = InterceptedService<Channel, Credentials>;

/// Clients of every service through the given channel, as one caller.
#[derive(Clone)]
struct Clients {
    registry: RegistryServiceClient<Intercepted>,
    filing: FilingServiceClient<Intercepted>,
    vendor: VendorServiceClient<Intercepted>,
    routing: RoutingServiceClient<Intercepted>,
    inspection: InspectionServiceClient<Intercepted>,
}

impl Clients {
    fn new(channel: Channel, token: &str) -> anyhow::Result<Clients> {
        let credentials = Credentials::bearer(token)?;
        Ok(Clients {
            registry: RegistryServiceClient::with_interceptor(channel.clone(), credentials.clone()),
            filing: FilingServiceClient::with_interceptor(channel.clone(), credentials.clone()),
            vendor: VendorServiceClient::with_interceptor(channel.clone(), credentials.clone()),
            routing: RoutingServiceClient::with_interceptor(channel.clone(), credentials.clone()),
            inspection: InspectionServiceClient::with_interceptor(channel, credentials),
        })
    }

    /// The `n`th read of the steady load: each service in turn.
    async fn read(&mut self, n: u64) -> Result<(), tonic::Status> {
        match n % 5 {
            0 => self
                .registry
                .get_organization(rpb::GetOrganizationRequest {
                    name: "organizations/proof-unit".into(),
                })
                .await
                .map(drop),
            1 => self
                .filing
                .list_filings(fpb::ListFilingsRequest {
                    organization: "organizations/proof-unit".into(),
                    page_size: 5,
                    ..Default::default()
                })
                .await
                .map(drop),
            2 => self
                .vendor
                .list_vendors(vpb::ListVendorsRequest {
                    page_size: 5,
                    ..Default::default()
                })
                .await
                .map(drop),
            3 => self
                .routing
                .list_cases(opb::ListCasesRequest {
                    organization: "organizations/proof-unit".into(),
                    page_size: 5,
                    ..Default::default()
                })
                .await
                .map(drop),
            _ => self
                .inspection
                .list_checks(ipb::ListChecksRequest {
                    organization: "organizations/proof-unit".into(),
                    page_size: 5,
                    ..Default::default()
                })
                .await
                .map(drop),
        }
    }
}

fn token(subject: &str, org: &str, roles: &[Role]) -> anyhow::Result<String> {
    Ok(TokenKeys::hs256(JWT_SECRET, "govmedia", "govmedia")?.issue(
        subject,
        org,
        roles,
        Duration::from_secs(3600),
    )?)
}

/// What the steady load counted.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    failures: Mutex<Vec<String>>,
}

/// Reads through the gateways from `tasks` tasks until `stop`: each task is a caller of its own
/// (an auditor of the root) reading about 15 times a second, within the default read budget of
/// 20 a second per caller.
fn load(
    gateways: &Channel,
    tasks: u64,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut handles = Vec::new();
    for task in 0..tasks {
        let auditor = token(&format!("audit.proof.{task}"), "proof", &[Role::Auditor])?;
        let mut clients = Clients::new(gateways.clone(), &auditor)?;
        let (stop, tally) = (stop.clone(), tally.clone());
        handles.push(tokio::spawn(async move {
            let mut n = task;
            while !stop.load(Ordering::Relaxed) {
                match clients.read(n).await {
                    Ok(()) => {
                        tally.ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(status) => {
                        tally.failed.fetch_add(1, Ordering::Relaxed);
                        tally.failures.lock().expect("failures").push(format!(
                            "read {}: {:?} {}",
                            n % 5,
                            status.code(),
                            status.message()
                        ));
                    }
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(60)).await;
            }
        }));
    }
    Ok(handles)
}

async fn prove(bin: PathBuf) -> anyhow::Result<()> {
    if govmedia_test_support::skip_production() {
        bail!(
            "the replica proof needs PostgreSQL and Redis (GOVMEDIA_TEST_POSTGRES_URL, GOVMEDIA_TEST_REDIS_URL)"
        );
    }
    let started = Instant::now();
    let mut suite = Suite {
        bin,
        backends: TestBackends::new(Backend::Production).await,
        dir: tempfile::tempdir()?,
        procs: BTreeMap::new(),
        ports: BTreeMap::new(),
    };
    let generated = Command::new(&suite.bin)
        .args(["keys", "generate", "--out"])
        .arg(suite.keys())
        .output()?;
    ensure!(generated.status.success(), "keys generate: {generated:?}");
    for service in SERVICES.iter().chain(&["gateway"]) {
        let migrated = suite.command(service, &["migrate", service]).output()?;
        ensure!(migrated.status.success(), "migrate {service}: {migrated:?}");
    }
    for service in SERVICES.into_iter().chain(["gateway"]) {
        for replica in ['a', 'b'] {
            suite.start(service, replica).await?;
        }
    }
    println!(
        "started 2 replicas of registry, vendor, filing, routing, inspection and gateway on PostgreSQL schemas {}_* and Redis prefix {} ({:.1} s)",
        suite.backends.database.schema.as_deref().unwrap_or(""),
        suite.backends.redis.key_prefix,
        started.elapsed().as_secs_f64()
    );

    let gateways = format!(
        "http://127.0.0.1:{},http://127.0.0.1:{}",
        suite.ports["gateway-a"], suite.ports["gateway-b"]
    );
    let through_gateways = client::lazy(&gateways, Duration::from_secs(30))?;
    setup(&suite).await?;

    let leases = prove_leases(&mut suite).await?;
    prove_events(&mut suite).await?;
    leases.await??;
    // The killed registry replica comes back on its port (once the lease has moved, so that
    // it is the survivor that took it).
    suite.start("registry", 'a').await?;
    prove_idempotent_writes(&suite).await?;
    let sizing = measure(&suite, &through_gateways).await?;
    prove_rolling_restart(&mut suite, &through_gateways).await?;
    prove_shared_budget(&suite).await?;
    println!("\nsizing (release binary, steady reads through the gateways):\n{sizing}");
    println!("total {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The organizations the proof works in: a root, its management department, and one unit.
async fn setup(suite: &Suite) -> anyhow::Result<()> {
    // The registry takes a tree's root only from a govmedia service on its own account: the
    // proof signs as the filing service would.
    let identity = IdentitySettings {
        key_file: Some(suite.keys().join("filing.key.pem")),
        trust_dir: Some(suite.keys().join("public")),
    }
    .load("filing")?;
    let system = identity.mint(&identity.own_principal("proof"), "registry")?;
    let channel =
        client::connect(&format!("http://127.0.0.1:{}", suite.ports["registry-a"])).await?;
    let mut registry =
        RegistryServiceClient::with_interceptor(channel, Credentials::bearer(&system)?);
    for (id, parent, name, kind, management, leader) in [
        (
            "proof",
            "",
            "验证省人民政府",
            rpb::OrganizationKind::Government,
            false,
            "gao.root",
        ),
        (
            "proof-office",
            "proof",
            "验证省人民政府办公厅",
            rpb::OrganizationKind::Department,
            true,
            "gao.office",
        ),
        (
            "proof-unit",
            "proof",
            "验证省文化和旅游厅",
            rpb::OrganizationKind::Department,
            false,
            "gao.unit",
        ),
    ] {
        registry
            .create_organization(rpb::CreateOrganizationRequest {
                organization_id: id.into(),
                organization: Some(rpb::Organization {
                    parent: if parent.is_empty() {
                        String::new()
                    } else {
                        format!("organizations/{parent}")
                    },
                    display_name: name.into(),
                    level: cpb::AdministrativeLevel::Provincial as i32,
                    kind: kind as i32,
                    management_department: management,
                    principal_leader: leader.into(),
                    ..Default::default()
                }),
                request_id: format!("proof-org-{id}"),
            })
            .await
            .with_context(|| format!("creating {id}"))?;
    }
    Ok(())
}

/// Whether `line` says its process took `lease`.
fn took(line: &str, lease: &str) -> bool {
    line.contains("took the lease")
        && (line.contains(&format!("lease=\"{lease}\""))
            || line.contains(&format!("lease={lease} ")))
}

/// Which processes logged taking `lease`.
fn holders(suite: &Suite, lease: &str) -> Vec<String> {
    suite
        .procs
        .values()
        .filter(|proc| proc.lines().iter().any(|line| took(line, lease)))
        .map(Proc::label)
        .collect()
}

/// Each service's outbox relay runs on one replica; `kill -9` of the registry's holder moves it
/// to the other. Returns the wait for the move, which runs beside the next proofs.
async fn prove_leases(
    suite: &mut Suite,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<()>>> {
    println!("\n1. leases (one replica leads; a killed leader's work moves)");
    for service in SERVICES.into_iter().chain(["gateway"]) {
        let lease = format!("{service}-outbox-relay");
        // A replica takes its leases just after it starts serving.
        let until = Instant::now() + Duration::from_secs(10);
        while holders(suite, &lease).is_empty() && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let held = holders(suite, &lease);
        ensure!(
            held.len() == 1,
            "{lease} is held by {held:?}, not by exactly one replica"
        );
        println!("   {lease}: held by {} only", held[0]);
    }
    let victim = holders(suite, "registry-outbox-relay").remove(0);
    let other = if victim.ends_with('a') {
        "registry-b"
    } else {
        "registry-a"
    }
    .to_owned();
    let killed = suite.procs.remove(&victim).context("victim")?;
    killed.signal("-KILL")?;
    let at = Instant::now();
    drop(killed);
    println!("   kill -9 {victim} (the registry's relay leader)");
    // A replica that died without a word is dropped by its callers once it has left their health
    // checks unanswered twice (every second, one second to answer); calls sent to it before that
    // fail, so the next proof waits that long.
    tokio::time::sleep(
        (govmedia_kit::endpoints::CHECK_EVERY + govmedia_kit::endpoints::CHECK_TIMEOUT)
            * u32::from(govmedia_kit::endpoints::MISSES_ALLOWED)
            + Duration::from_secs(1),
    )
    .await;
    let survivor_lines = suite.proc(&other).lines.clone();
    let victim_port = suite.ports[&victim];
    Ok(tokio::spawn(async move {
        loop {
            let moved = survivor_lines
                .lock()
                .expect("lines")
                .iter()
                .any(|line| took(line, "registry-outbox-relay"));
            if moved {
                println!(
                    "   registry-outbox-relay moved to {other} {:.1} s after the kill (lease life 30 s; port {victim_port} stays down until the restart)",
                    at.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            ensure!(
                at.elapsed() < LEASE_MOVE_LIMIT,
                "registry-outbox-relay did not move to {other} within {LEASE_MOVE_LIMIT:?}; its lease lines: {:?}",
                survivor_lines
                    .lock()
                    .expect("lines")
                    .iter()
                    .filter(|line| line.contains("lease"))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }))
}

/// Event ids a process logged as applied or recognised.
fn handled(proc: &Proc) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut applied, mut duplicate) = (BTreeSet::new(), BTreeSet::new());
    for line in proc.lines() {
        if !line.contains("event handled") {
            continue;
        }
        let Some(start) = line.find("event.id=") else {
            continue;
        };
        let id: String = line[start + 9..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '}')
            .collect();
        if line.contains("outcome=Applied") {
            applied.insert(id);
        } else if line.contains("outcome=Duplicate") {
            duplicate.insert(id);
        }
    }
    (applied, duplicate)
}

/// A burst of filing events while both vendor replicas are paused; one is resumed and killed
/// with entries in hand; the other takes them over.
async fn prove_events(suite: &mut Suite) -> anyhow::Result<()> {
    println!(
        "\n2. events (each handled once across replicas; a dead consumer's entries redelivered)"
    );
    const BURST: usize = 120;
    let operator = token("ops.proof", "proof-unit", &[Role::Operator])?;
    let gateways = format!(
        "http://127.0.0.1:{},http://127.0.0.1:{}",
        suite.ports["gateway-a"], suite.ports["gateway-b"]
    );
    let clients = Clients::new(client::lazy(&gateways, Duration::from_secs(30))?, &operator)?;
    suite.proc("vendor-a").signal("-STOP")?;
    suite.proc("vendor-b").signal("-STOP")?;
    let calls = (0..BURST).map(|n| {
        let mut filing = clients.filing.clone();
        async move {
            filing
                .create_filing(fpb::CreateFilingRequest {
                    filing_id: format!("proof-open-{n}"),
                    request_id: format!("proof-open-{n}"),
                    filing: Some(fpb::Filing {
                        organization: "organizations/proof-unit".into(),
                        kind: fpb::FilingKind::Open as i32,
                        reason: "验证多副本事件处理".into(),
                        account: Some(rpb::Account {
                            platform: cpb::Platform::WechatOfficialAccount as i32,
                            display_name: format!("验证账号{n}"),
                            kind: cpb::AccountKind::Publishing as i32,
                            operator: Some(rpb::Operator {
                                r#type: rpb::OperatorType::Self_ as i32,
                                vendor: String::new(),
                            }),
                            responsible_person: Some(rpb::Contact {
                                name: "高验".into(),
                                title: "办公室主任".into(),
                                phone: "0971-8000000".into(),
                            }),
                            verified_subject: "验证省文化和旅游厅".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                })
                .await
        }
    });
    let results = futures::future::join_all(calls).await;
    let refused: Vec<String> = results
        .iter()
        .filter_map(|result| {
            result
                .as_ref()
                .err()
                .map(|status| format!("{:?} {}", status.code(), status.message()))
        })
        .collect();
    ensure!(refused.is_empty(), "creating filings failed: {refused:?}");

    // Every filing's FilingChanged is in the stream once the filing service's relay has run.
    let redis = redis::Client::open(suite.backends.redis.url.as_deref().unwrap_or(""))?;
    let mut conn = redis.get_multiplexed_async_connection().await?;
    let stream = format!("{}events:filing", suite.backends.redis.key_prefix);
    let until = Instant::now() + Duration::from_secs(30);
    let published: usize = loop {
        let len: usize = redis::cmd("XLEN")
            .arg(&stream)
            .query_async(&mut conn)
            .await?;
        if len >= BURST || Instant::now() > until {
            break len;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    ensure!(
        published >= BURST,
        "only {published} filing events reached the stream"
    );

    // Both vendor replicas were frozen inside a blocking read, and Redis handed each of them an
    // entry all the same. vendor-a resumes, reads a batch of the rest, and is killed while it
    // holds many of them unacknowledged.
    suite.proc("vendor-a").signal("-CONT")?;
    let until = Instant::now() + Duration::from_secs(20);
    let held: u64 = loop {
        let pending = pending(&mut conn, &stream).await?;
        if pending >= 20 {
            suite.proc("vendor-a").signal("-KILL")?;
            break pending;
        }
        ensure!(Instant::now() < until, "vendor-a never held a batch");
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    let dead = suite.procs.remove("vendor-a").context("vendor-a")?;
    drop(dead);
    // What vendor-a applied before it died, from its database: its log may have lost the last.
    let rows_at_kill = count(
        suite,
        "vendor",
        "SELECT count(*) FROM processed_events WHERE consumer_group = 'vendor'",
    )
    .await?;
    println!(
        "   {published} FilingChanged events; kill -9 vendor-a holding {held} unacknowledged entries (the group had applied {rows_at_kill})"
    );
    suite.proc("vendor-b").signal("-CONT")?;

    // vendor-b reads the rest and, after events.claim_idle_ms, claims what vendor-a held.
    let until = Instant::now() + Duration::from_secs(60);
    let rows = loop {
        let pending = pending(&mut conn, &stream).await?;
        let rows = count(
            suite,
            "vendor",
            "SELECT count(*) FROM processed_events WHERE consumer_group = 'vendor'",
        )
        .await?;
        if pending == 0 && rows >= published as i64 {
            break rows;
        }
        ensure!(
            Instant::now() < until,
            "vendor-b did not take over: {rows} of {published} applied, {pending} pending"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    ensure!(
        rows == published as i64,
        "{rows} processed rows for {published} events"
    );
    let (b_applied, b_recognised) = handled(suite.proc("vendor-b"));
    ensure!(
        b_applied.len() as i64 == published as i64 - rows_at_kill,
        "vendor-b applied {} events; {} were left when vendor-a died",
        b_applied.len(),
        published as i64 - rows_at_kill
    );
    println!(
        "   vendor-b applied the other {} (the redelivered ones among them) and recognised {} redelivered events vendor-a had applied but not acknowledged; processed rows: {rows} = events: {published}; pending: 0",
        b_applied.len(),
        b_recognised.len()
    );
    // The registry's replicas consume the same stream in their own group, both running.
    let (ra, _) = handled(suite.proc(&survivor(suite, "registry")));
    let rows = count(
        suite,
        "registry",
        "SELECT count(*) FROM processed_events WHERE consumer_group = 'registry'",
    )
    .await?;
    ensure!(
        rows == published as i64,
        "registry: {rows} processed rows for {published} events"
    );
    println!(
        "   registry group: {rows} processed rows = events ({} applied by {} after the other was killed)",
        ra.len(),
        survivor(suite, "registry")
    );

    // Restart the killed replicas on their ports.
    suite.start("vendor", 'a').await?;
    Ok(())
}

/// How many entries of `stream` the vendor group has been given and not acknowledged.
async fn pending(
    conn: &mut redis::aio::MultiplexedConnection,
    stream: &str,
) -> anyhow::Result<u64> {
    let summary: redis::Value = redis::cmd("XPENDING")
        .arg(stream)
        .arg("vendor")
        .query_async(conn)
        .await?;
    Ok(match &summary {
        redis::Value::Array(items) => match items.first() {
            Some(redis::Value::Int(count)) => u64::try_from(*count).unwrap_or(0),
            _ => 0,
        },
        _ => 0,
    })
}

/// The living replica of `service` when one was killed.
fn survivor(suite: &Suite, service: &str) -> String {
    ['a', 'b']
        .iter()
        .map(|replica| format!("{service}-{replica}"))
        .find(|label| suite.procs.contains_key(label))
        .unwrap_or_default()
}

/// `SELECT count(*)` in the schema of `service`.
async fn count(suite: &Suite, service: &str, sql: &str) -> anyhow::Result<i64> {
    use sea_orm::{ConnectionTrait as _, Statement};
    let database = suite.backends.database_for(service);
    let conn = sea_orm::Database::connect(database.url.as_deref().unwrap_or("")).await?;
    let schema = database.schema.unwrap_or_default();
    let sql = sql.replace("FROM ", &format!("FROM \"{schema}\"."));
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await?
        .context("no row")?;
    let value: i64 = row.try_get_by_index(0)?;
    conn.close().await?;
    Ok(value)
}

/// One CreateOrganization, one request id, sent to both registry replicas at once.
async fn prove_idempotent_writes(suite: &Suite) -> anyhow::Result<()> {
    println!("\n3. idempotent writes (one request id, two replicas, one effect)");
    let identity = IdentitySettings {
        key_file: Some(suite.keys().join("gateway.key.pem")),
        trust_dir: Some(suite.keys().join("public")),
    }
    .load("gateway")?;
    // As the gateway passes a supervisor of the root on: the proof holds the gateway's key.
    let person = govmedia_test_support::person("sup.proof", "proof", &[Role::Supervisor]);
    let as_gateway = identity.mint(&person, "registry")?;
    let mut answers = Vec::new();
    let calls = ['a', 'b'].map(|replica| {
        let port = suite.ports.get(&format!("registry-{replica}")).copied();
        let token = as_gateway.clone();
        async move {
            let port = port.context("registry replica")?;
            let channel = client::connect(&format!("http://127.0.0.1:{port}")).await?;
            let mut registry =
                RegistryServiceClient::with_interceptor(channel, Credentials::bearer(&token)?);
            let answer = registry
                .create_organization(rpb::CreateOrganizationRequest {
                    organization_id: "proof-idem".into(),
                    organization: Some(rpb::Organization {
                        parent: "organizations/proof".into(),
                        display_name: "验证省大数据局".into(),
                        level: cpb::AdministrativeLevel::Provincial as i32,
                        kind: rpb::OrganizationKind::Department as i32,
                        principal_leader: "gao.data".into(),
                        ..Default::default()
                    }),
                    request_id: "proof-idem-create".into(),
                })
                .await?
                .into_inner();
            anyhow::Ok((port, answer))
        }
    });
    for answer in futures::future::join_all(calls).await {
        answers.push(answer?);
    }
    ensure!(
        answers[0].1 == answers[1].1,
        "the two replicas answered differently"
    );
    let rows = count(
        suite,
        "registry",
        "SELECT count(*) FROM organizations WHERE id = 'proof-idem'",
    )
    .await?;
    ensure!(rows == 1, "{rows} organizations from one request id");
    println!(
        "   CreateOrganization proof-idem to ports {} and {} at once: the same answer (etag {}), 1 row",
        answers[0].0, answers[1].0, answers[0].1.etag
    );
    Ok(())
}

/// Memory and CPU of every process over ten seconds of steady reads.
async fn measure(suite: &Suite, gateways: &Channel) -> anyhow::Result<String> {
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let before: BTreeMap<String, (u64, u64)> = suite
        .procs
        .iter()
        .map(|(label, proc)| (label.clone(), proc.usage()))
        .collect();
    let tasks = load(gateways, 8, stop.clone(), tally.clone())?;
    tokio::time::sleep(Duration::from_secs(10)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await?;
    }
    let calls = tally.ok.load(Ordering::Relaxed);
    ensure!(
        tally.failed.load(Ordering::Relaxed) == 0,
        "reads failed while measuring: {:?}",
        tally.failures.lock().expect("f")
    );
    let mut table = String::from(
        "   service    | RSS idle→load (MB, per replica) | CPU ms per 1k calls (all replicas)\n",
    );
    for service in SERVICES.into_iter().chain(["gateway"]) {
        let mut rss = Vec::new();
        let mut cpu = 0;
        for replica in ['a', 'b'] {
            let label = format!("{service}-{replica}");
            let (rss_before, cpu_before) = before[&label];
            let (rss_after, cpu_after) = suite.proc(&label).usage();
            rss.push(format!("{}→{}", rss_before / 1024, rss_after / 1024));
            cpu += cpu_after.saturating_sub(cpu_before);
        }
        table.push_str(&format!(
            "   {service:<10} | {:<31} | {:.0}\n",
            rss.join(", "),
            cpu as f64 * 1000.0 / calls.max(1) as f64
        ));
    }
    table.push_str(&format!("   ({calls} reads in 10 s from 8 tasks, each service read in turn; a gateway call is one fifth per service)"));
    Ok(table)
}

/// Every replica restarted in turn under steady reads through the gateways; none may fail.
async fn prove_rolling_restart(suite: &mut Suite, gateways: &Channel) -> anyhow::Result<()> {
    println!(
        "\n4. rolling restart under load (SIGTERM, NOT_SERVING, {SHUTDOWN_DELAY_MS} ms serving on, drain, restart)"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let tasks = load(gateways, 6, stop.clone(), tally.clone())?;
    let began = Instant::now();
    for service in SERVICES.into_iter().chain(["gateway"]) {
        for replica in ['a', 'b'] {
            let label = format!("{service}-{replica}");
            let proc = suite.procs.remove(&label).context("replica")?;
            let port = proc.port;
            proc.signal("-TERM")?;
            let mut proc = proc;
            let exit = tokio::task::spawn_blocking(move || {
                let status = proc.child.wait();
                (proc, status)
            })
            .await?;
            let (proc, status) = exit;
            ensure!(status?.success(), "{label} did not stop cleanly");
            ensure!(
                proc.lines()
                    .iter()
                    .any(|line| line.contains("serving on until callers have gone elsewhere")),
                "{label} did not serve on after SIGTERM"
            );
            drop(proc);
            suite.start(service, replica).await?;
            ensure!(
                suite.ports[&label] == port,
                "{label} came back on another port"
            );
            // Callers learn that it serves again at their next health check (what Kubernetes'
            // minReadySeconds waits for).
            tokio::time::sleep(Duration::from_millis(2500)).await;
        }
        println!(
            "   {service}: both replicas restarted ({} calls so far, {} failed)",
            tally.ok.load(Ordering::Relaxed),
            tally.failed.load(Ordering::Relaxed)
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await?;
    }
    let (ok, failed) = (
        tally.ok.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed),
    );
    println!(
        "   {ok} reads through the gateways in {:.0} s while 12 processes restarted; calls failed during the rolling restart: {failed}",
        began.elapsed().as_secs_f64()
    );
    ensure!(
        failed == 0,
        "calls failed during the rolling restart: {:?}",
        tally.failures.lock().expect("failures")
    );
    Ok(())
}

/// One caller's reads alternate between the two gateways as fast as they go: with one budget
/// in Redis, about `read_burst` of them pass, not twice that.
async fn prove_shared_budget(suite: &Suite) -> anyhow::Result<()> {
    println!("\n5. shared rate budget (one caller, two gateways)");
    const CALLS: u64 = 320;
    const BURST: u64 = 200; // gateway.rate_limit.read_burst (default)
    let reader = token("budget.proof", "proof", &[Role::Auditor])?;
    let mut clients = Vec::new();
    for gateway in ["gateway-a", "gateway-b"] {
        let channel =
            client::connect(&format!("http://127.0.0.1:{}", suite.ports[gateway])).await?;
        clients.push(Clients::new(channel, &reader)?);
    }
    let started = Instant::now();
    let (mut passed, mut limited, mut by_gateway) = (0u64, 0u64, [0u64; 2]);
    for n in 0..CALLS {
        let which = usize::try_from(n % 2)?;
        match clients[which]
            .registry
            .get_organization(rpb::GetOrganizationRequest {
                name: "organizations/proof".into(),
            })
            .await
        {
            Ok(_) => {
                passed += 1;
                by_gateway[which] += 1;
            }
            Err(status) if status.code() == tonic::Code::ResourceExhausted => limited += 1,
            Err(status) => bail!("unexpected refusal: {status:?}"),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // The budget refills at reads_per_minute (1200) = 20 a second; each gateway may hold a
    // lease of lease_cells (16) not yet spent.
    let allowed = BURST as f64 + 20.0 * seconds + 2.0 * 16.0;
    println!(
        "   {CALLS} reads in {seconds:.1} s, alternating gateways: {passed} passed ({} + {}), {limited} refused RESOURCE_EXHAUSTED; one budget allows ≤ {allowed:.0}, two would pass all {CALLS}",
        by_gateway[0], by_gateway[1]
    );
    ensure!(
        limited > 0,
        "no read was refused: each gateway kept a budget of its own"
    );
    ensure!(
        (passed as f64) <= allowed,
        "{passed} reads passed, more than one budget allows ({allowed:.0})"
    );
    Ok(())
}
