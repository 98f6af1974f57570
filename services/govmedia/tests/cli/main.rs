//! The `govmedia` binary as an operator runs it: real processes, real ports, real databases.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use govmedia_kit::{
    auth::{DEV_JWT_SECRET, Role, TokenKeys},
    client::{self, Credentials},
};
use govmedia_proto::registry::v1::{self as pb, registry_service_client::RegistryServiceClient};
use govmedia_test_support::{Backend, TestBackends, backend_test};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

const BIN: &str = env!("CARGO_BIN_EXE_govmedia");

/// Every address the binary listens on. Tests move all of them to port 0: a fixed port can be
/// held by a running suite or by any outgoing connection (50051-50065 lie inside Linux's
/// ephemeral range).
const LISTEN_VARIABLES: &[&str] = &[
    "GOVMEDIA_REGISTRY__LISTEN",
    "GOVMEDIA_FILING__LISTEN",
    "GOVMEDIA_GATEWAY__LISTEN",
    "GOVMEDIA_GATEWAY__HTTP_LISTEN",
];

/// A command with a clean environment: no `GOVMEDIA_*` from the caller except what a test sets,
/// and every listening address on port 0.
fn govmedia(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).env("GOVMEDIA_LOG", "info");
    for (key, _) in std::env::vars() {
        if key.starts_with("GOVMEDIA_") && key != "GOVMEDIA_LOG" {
            command.env_remove(key);
        }
    }
    for variable in LISTEN_VARIABLES {
        command.env(variable, "127.0.0.1:0");
    }
    command
}

/// A running child whose output lines arrive on a channel; killed when dropped.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(mut command: Command) -> Running {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start govmedia");
        let (sender, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line containing `needle` and returns it.
    fn wait_for(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {needle:?}; output so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Sends SIGTERM and returns the exit code.
    fn terminate(mut self) -> Option<i32> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("govmedia did not stop within 20 s of SIGTERM");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn address_in(line: &str) -> String {
    line.split_whitespace()
        .map(|word| {
            word.trim_start_matches("addr=")
                .trim_end_matches(|c: char| !c.is_ascii_digit())
        })
        .find(|word| word.starts_with("127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned()
}

#[test]
fn token_issue_prints_a_token_the_dev_keys_accept() {
    let output = govmedia(&[
        "token",
        "issue",
        "--subject",
        "li.hua",
        "--org",
        "golmud",
        "--role",
        "supervisor",
        "--role",
        "auditor",
    ])
    .output()
    .expect("run");
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout).expect("utf-8");
    let keys = TokenKeys::hs256(DEV_JWT_SECRET, "govmedia", "govmedia").expect("keys");
    let principal = keys.verify(token.trim()).expect("valid token");
    assert_eq!(principal.organization, "golmud");
    assert!(principal.has(Role::Supervisor) && principal.has(Role::Auditor));
    assert!(String::from_utf8_lossy(&output.stderr).contains("development secret"));

    let bad_role = govmedia(&[
        "token",
        "issue",
        "--subject",
        "x",
        "--org",
        "golmud",
        "--role",
        "emperor",
    ])
    .output()
    .expect("run");
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("unknown role"));
    let bad_org = govmedia(&[
        "token",
        "issue",
        "--subject",
        "x",
        "--org",
        "Golmud City",
        "--role",
        "auditor",
    ])
    .output()
    .expect("run");
    assert!(!bad_org.status.success());
    assert!(String::from_utf8_lossy(&bad_org.stderr).contains("--org"));
    // The system role is the services' own and is never issued to anyone.
    let system = govmedia(&[
        "token",
        "issue",
        "--subject",
        "x",
        "--org",
        "golmud",
        "--role",
        "system",
    ])
    .output()
    .expect("run");
    assert!(!system.status.success());
    assert!(
        String::from_utf8_lossy(&system.stderr).contains("system role"),
        "{system:?}"
    );
    // A token already expired when issued is no token.
    let expired = govmedia(&[
        "token",
        "issue",
        "--subject",
        "x",
        "--org",
        "golmud",
        "--role",
        "operator",
        "--ttl",
        "0",
    ])
    .output()
    .expect("run");
    assert!(!expired.status.success());
    assert!(
        String::from_utf8_lossy(&expired.stderr).contains("--ttl"),
        "{expired:?}"
    );
    // A vendor's credential names the vendor and holds no other role.
    let mixed = govmedia(&[
        "token",
        "issue",
        "--subject",
        "x",
        "--org",
        "qingyun-media",
        "--role",
        "vendor",
        "--role",
        "operator",
    ])
    .output()
    .expect("run");
    assert!(!mixed.status.success());
    assert!(
        String::from_utf8_lossy(&mixed.stderr).contains("vendor role is held alone"),
        "{mixed:?}"
    );
}

/// Writes every service's keys with `govmedia keys generate` into `dir` (once) and returns the
/// variables that give `service` its identity.
fn identity_of(dir: &std::path::Path, service: &str) -> [(String, String); 2] {
    if !dir.join("public").exists() {
        let generated = govmedia(&["keys", "generate", "--out", dir.to_str().expect("utf-8")])
            .output()
            .expect("run");
        assert!(generated.status.success(), "{generated:?}");
    }
    [
        (
            "GOVMEDIA_IDENTITY__KEY_FILE".to_owned(),
            dir.join(format!("{service}.key.pem")).display().to_string(),
        ),
        (
            "GOVMEDIA_IDENTITY__TRUST_DIR".to_owned(),
            dir.join("public").display().to_string(),
        ),
    ]
}

#[test]
fn keys_are_generated_once_and_never_overwritten() {
    let dir = tempfile::tempdir().expect("dir");
    identity_of(dir.path(), "registry");
    for service in ["registry", "filing", "gateway"] {
        let private = dir.path().join(format!("{service}.key.pem"));
        let text = std::fs::read_to_string(&private).expect("private key");
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&private)
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{service}: readable by others ({mode:o})");
        }
        assert!(
            dir.path()
                .join(format!("public/{service}.pub.pem"))
                .exists()
        );
    }
    let again = govmedia(&[
        "keys",
        "generate",
        "--out",
        dir.path().to_str().expect("utf-8"),
    ])
    .output()
    .expect("run");
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("never overwritten"),
        "{again:?}"
    );
}

#[test]
fn serve_refuses_to_start_unsafely() {
    let keys = tempfile::tempdir().expect("dir");
    let no_keys = govmedia(&["serve", "registry"])
        .env(
            "GOVMEDIA_JWT_SECRET",
            "a-production-secret-of-at-least-32-bytes",
        )
        .output()
        .expect("run");
    assert!(!no_keys.status.success());
    assert!(
        String::from_utf8_lossy(&no_keys.stderr).contains("GOVMEDIA_IDENTITY__KEY_FILE"),
        "{no_keys:?}"
    );
    // Another service's private key is not this service's identity.
    let [(_, filing_key), trust] = identity_of(keys.path(), "filing");
    let wrong_key = govmedia(&["serve", "registry"])
        .env(
            "GOVMEDIA_JWT_SECRET",
            "a-production-secret-of-at-least-32-bytes",
        )
        .env("GOVMEDIA_IDENTITY__KEY_FILE", filing_key)
        .env(trust.0, trust.1)
        .output()
        .expect("run");
    assert!(!wrong_key.status.success());
    assert!(
        String::from_utf8_lossy(&wrong_key.stderr).contains("is not the private key"),
        "{wrong_key:?}"
    );

    let no_database = govmedia(&["serve", "registry"])
        .env(
            "GOVMEDIA_JWT_SECRET",
            "a-production-secret-of-at-least-32-bytes",
        )
        .envs(identity_of(keys.path(), "registry"))
        .output()
        .expect("run");
    assert!(!no_database.status.success());
    assert!(
        String::from_utf8_lossy(&no_database.stderr).contains("GOVMEDIA_DATABASE_URL"),
        "{no_database:?}"
    );

    // The gateway, which checks the tokens of people and systems, refuses the development
    // secret; a service behind it never reads the secret at all.
    let dev_secret = govmedia(&["serve", "gateway"])
        .env("GOVMEDIA_JWT_SECRET", DEV_JWT_SECRET)
        .env("GOVMEDIA_DATABASE_URL", "sqlite::memory:")
        .output()
        .expect("run");
    assert!(!dev_secret.status.success());
    assert!(String::from_utf8_lossy(&dev_secret.stderr).contains("development JWT secret"));
    let no_secret = govmedia(&["serve", "gateway"])
        .envs(identity_of(keys.path(), "gateway"))
        .env("GOVMEDIA_DATABASE_URL", "sqlite::memory:")
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&no_secret.stderr).contains("GOVMEDIA_JWT_SECRET"),
        "{no_secret:?}"
    );
    // Every unusable upstream is named by its setting, all at once.
    let upstreams = tempfile::tempdir().expect("dir");
    let bad_upstreams = govmedia(&["serve", "gateway", "--migrate"])
        .envs(identity_of(keys.path(), "gateway"))
        .env(
            "GOVMEDIA_JWT_SECRET",
            "a-production-secret-of-at-least-32-bytes",
        )
        .env(
            "GOVMEDIA_DATABASE_URL",
            format!(
                "sqlite://{}?mode=rwc",
                upstreams.path().join("gateway.db").display()
            ),
        )
        .env("GOVMEDIA_GATEWAY__UPSTREAMS__REGISTRY", "https://x:1")
        .env("GOVMEDIA_GATEWAY__UPSTREAMS__FILING", "http://a:1,")
        .output()
        .expect("run");
    assert!(!bad_upstreams.status.success());
    let stderr = String::from_utf8_lossy(&bad_upstreams.stderr);
    assert!(
        stderr.contains("gateway.upstreams.registry")
            && stderr.contains("gateway.upstreams.filing"),
        "{stderr}"
    );

    let unknown = govmedia(&["serve", "bulletin"]).output().expect("run");
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown service"));

    // A service whose settings cannot work stops at once with every problem named, before it
    // touches the database.
    let data = tempfile::tempdir().expect("dir");
    let unconfigured = govmedia(&["serve", "filing", "--migrate"])
        .envs(identity_of(keys.path(), "filing"))
        .env(
            "GOVMEDIA_JWT_SECRET",
            "a-production-secret-of-at-least-32-bytes",
        )
        .env(
            "GOVMEDIA_DATABASE_URL",
            format!("sqlite://{}?mode=rwc", data.path().join("f.db").display()),
        )
        .env("GOVMEDIA_FILING__APPLY_INTERVAL_MS", "0")
        .output()
        .expect("run");
    assert!(!unconfigured.status.success(), "{unconfigured:?}");
    let stderr = String::from_utf8_lossy(&unconfigured.stderr);
    assert!(
        stderr.contains("filing.system_organization") && stderr.contains("apply_interval_ms"),
        "{stderr}"
    );
    assert!(!data.path().join("f.db").exists(), "{stderr}");

    // A calendar file with a bad line is refused with the file and the line.
    let calendar = data.path().join("2027.jsonl");
    std::fs::write(
        &calendar,
        "{\"date\":\"2027-01-01\",\"off\":true,\"name\":\"元旦\"}\n{\"date\":\"2027-02-30\",\"off\":true,\"name\":\"春节\"}\n",
    )
    .expect("write");
    let bad_calendar = govmedia(&["serve", "registry"])
        .envs(identity_of(keys.path(), "registry"))
        .env(
            "GOVMEDIA_JWT_SECRET",
            "a-production-secret-of-at-least-32-bytes",
        )
        .env("GOVMEDIA_CALENDAR__FILES", format!("[{:?}]", calendar))
        .output()
        .expect("run");
    assert!(!bad_calendar.status.success());
    let stderr = String::from_utf8_lossy(&bad_calendar.stderr);
    assert!(
        stderr.contains("2027.jsonl line 2") && stderr.contains("YYYY-MM-DD"),
        "{stderr}"
    );

    let typo = govmedia(&["serve", "registry"])
        .env("GOVMEDIA_REGISTRY__LISTN", "127.0.0.1:1")
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&typo.stderr).contains("listn"),
        "{typo:?}"
    );
}

/// Production: `migrate` then `serve` on the test database and Redis (or a SQLite file for the
/// embedded run); pending migrations stop `serve`; SIGTERM stops it cleanly.
async fn migrate_then_serve(backend: Backend) {
    let backends = TestBackends::new(backend).await;
    let keys = tempfile::tempdir().expect("dir");
    let identity = identity_of(keys.path(), "registry");
    let with_backends = |args: &[&str]| {
        let mut command = govmedia(args);
        command
            .envs(identity.clone())
            .env(
                "GOVMEDIA_DATABASE_URL",
                backends.database.url.as_deref().expect("url"),
            )
            .env(
                "GOVMEDIA_JWT_SECRET",
                "a-production-secret-of-at-least-32-bytes",
            );
        if let Some(schema) = &backends.database.schema {
            command.env("GOVMEDIA_DATABASE__SCHEMA", schema);
        }
        if let Some(url) = &backends.redis.url {
            command
                .env("GOVMEDIA_REDIS_URL", url)
                .env("GOVMEDIA_REDIS__KEY_PREFIX", &backends.redis.key_prefix);
        }
        command
    };

    let pending = with_backends(&["serve", "registry"]).output().expect("run");
    assert!(!pending.status.success());
    assert!(
        String::from_utf8_lossy(&pending.stderr).contains("govmedia migrate registry"),
        "{pending:?}"
    );

    // One database (a SQLite file, or the fixed schema of this test) holds one service.
    let all = with_backends(&["migrate"]).output().expect("run");
    assert!(!all.status.success());
    assert!(
        String::from_utf8_lossy(&all.stderr).contains("name it"),
        "{all:?}"
    );
    let migrated = with_backends(&["migrate", "registry"])
        .output()
        .expect("run");
    assert!(migrated.status.success(), "{migrated:?}");
    assert!(String::from_utf8_lossy(&migrated.stdout).contains("registry: 8 migration(s) applied"));
    let again = with_backends(&["migrate", "registry"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&again.stdout).contains("registry: 0 migration(s) applied"));

    // A newer release migrated the database further (expand first, contract later): this
    // release still starts on it, as a replica of it must during a rolling upgrade.
    {
        use sea_orm::ConnectionTrait as _;
        let db = govmedia_kit::db::Db::connect(&backends.database, "registry")
            .await
            .expect("database");
        db.conn()
            .execute_unprepared(
                "INSERT INTO seaql_migrations (version, applied_at) \
                 VALUES ('m29990101_000001_a_later_release', 0)",
            )
            .await
            .expect("a later release's migration");
    }

    let mut server = Running::start(with_backends(&["serve", "registry"]));
    let addr = address_in(&server.wait_for("serving"));
    let channel = client::connect(&format!("http://{addr}"))
        .await
        .expect("connect");
    let status = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: govmedia_registry::SERVICE_NAME.into(),
        })
        .await
        .expect("health")
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);
    // The container's health check: SERVING exits 0; a service the port does not serve, or a
    // port nobody serves, does not.
    let probe = govmedia(&["probe", "--addr", &addr]).output().expect("run");
    assert!(probe.status.success(), "{probe:?}");
    let unknown = govmedia(&["probe", "--addr", &addr, "--service", "govmedia.nothing"])
        .output()
        .expect("run");
    assert!(!unknown.status.success(), "{unknown:?}");
    let closed = govmedia(&["probe", "--addr", "127.0.0.1:1"])
        .output()
        .expect("run");
    assert!(!closed.status.success(), "{closed:?}");
    assert!(
        String::from_utf8_lossy(&closed.stderr).contains("cannot connect to 127.0.0.1:1"),
        "{closed:?}"
    );
    // A caller's own token, even one signed with the suite's secret, is refused by a service:
    // it takes only identities the gateway or another service signed.
    let dev_token = TokenKeys::hs256(DEV_JWT_SECRET, "govmedia", "govmedia")
        .expect("keys")
        .issue("x", "qinghai", &[Role::Auditor], Duration::from_secs(60))
        .expect("token");
    let refused = RegistryServiceClient::with_interceptor(
        channel,
        Credentials::bearer(&dev_token).expect("creds"),
    )
    .list_accounts(pb::ListAccountsRequest::default())
    .await
    .expect_err("dev token");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    assert_eq!(server.terminate(), Some(0));
}
backend_test!(migrate_then_serve_on, migrate_then_serve);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_loads_the_demo_once_and_stops_on_sigterm() {
    let data = tempfile::tempdir().expect("dir");
    let dev = |data: &std::path::Path| {
        govmedia(&["dev", "--demo", "--data-dir", data.to_str().expect("utf-8")])
    };
    let mut first = Running::start(dev(data.path()));
    first.wait_for("Demo data loaded: 21 organizations");
    // The gateway is the address to use; the services stay reachable for the suite itself.
    let addr = address_in(&first.wait_for("<- use this address"));
    let token = TokenKeys::hs256(DEV_JWT_SECRET, "govmedia", "govmedia")
        .expect("keys")
        .issue("t", "qinghai", &[Role::Auditor], Duration::from_secs(60))
        .expect("token");
    let channel = client::connect(&format!("http://{addr}"))
        .await
        .expect("connect");
    let mut registry = RegistryServiceClient::with_interceptor(
        channel,
        Credentials::bearer(&token).expect("creds"),
    );
    let count = registry
        .count_accounts(pb::CountAccountsRequest::default())
        .await
        .expect("count")
        .into_inner();
    assert_eq!(count.total, 35);
    assert_eq!(first.terminate(), Some(0));

    // Operator commands work on the same data directory.
    let dir = data.path().to_str().expect("utf-8");
    let verified = govmedia(&["audit", "verify", "registry", "--data-dir", dir])
        .output()
        .expect("run");
    assert!(verified.status.success(), "{verified:?}");
    assert!(String::from_utf8_lossy(&verified.stdout).contains("intact"));
    assert!(String::from_utf8_lossy(&verified.stdout).contains("chain "));
    // A mistyped data directory is an error, not an intact empty trail (and nothing is created).
    let elsewhere = data.path().join("mistyped");
    let missing = govmedia(&[
        "audit",
        "verify",
        "registry",
        "--data-dir",
        elsewhere.to_str().expect("utf-8"),
    ])
    .output()
    .expect("run");
    assert!(!missing.status.success(), "{missing:?}");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no registry database"));
    assert!(!elsewhere.exists());
    let letters = govmedia(&["events", "dead", "registry", "--data-dir", dir])
        .output()
        .expect("run");
    assert!(letters.status.success(), "{letters:?}");
    assert!(String::from_utf8_lossy(&letters.stdout).contains("no dead letters"));
    let dead = govmedia(&["jobs", "dead", "filing", "--data-dir", dir])
        .output()
        .expect("run");
    assert!(dead.status.success(), "{dead:?}");
    assert!(String::from_utf8_lossy(&dead.stdout).contains("no dead jobs"));
    let revive = govmedia(&[
        "jobs",
        "revive",
        "filing",
        "apply-filing:none",
        "--data-dir",
        dir,
    ])
    .output()
    .expect("run");
    assert!(!revive.status.success(), "{revive:?}");
    let issued = govmedia(&[
        "apikey",
        "issue",
        "--name",
        "12345 热线",
        "--org",
        "golmud",
        "--role",
        "auditor",
        "--data-dir",
        dir,
    ])
    .output()
    .expect("run");
    assert!(issued.status.success(), "{issued:?}");
    let key = String::from_utf8(issued.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    assert!(key.starts_with("gmk_"), "{key}");
    let system_key = govmedia(&[
        "apikey",
        "issue",
        "--name",
        "x",
        "--org",
        "golmud",
        "--role",
        "system",
        "--data-dir",
        dir,
    ])
    .output()
    .expect("run");
    assert!(!system_key.status.success(), "{system_key:?}");
    let listed = govmedia(&["apikey", "list", "--data-dir", dir])
        .output()
        .expect("run");
    let listing = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listing.contains("active") && listing.contains("12345 热线") && !listing.contains(&key),
        "{listing}"
    );

    let mut second = Running::start(dev(data.path()));
    second.wait_for("Demo data is already present");
    let gateway = address_in(&second.wait_for("<- use this address"));
    // The key issued from the command line works at the gateway.
    let channel = client::connect(&format!("http://{gateway}"))
        .await
        .expect("connect");
    let mut registry =
        RegistryServiceClient::with_interceptor(channel, Credentials::bearer(&key).expect("creds"));
    registry
        .get_organization(pb::GetOrganizationRequest {
            name: "organizations/golmud".into(),
        })
        .await
        .expect("API key through the gateway");
    let id = key
        .trim_start_matches("gmk_")
        .split('_')
        .next()
        .expect("id")
        .to_owned();
    let revoked = govmedia(&["apikey", "revoke", &id, "--data-dir", dir])
        .output()
        .expect("run");
    assert!(revoked.status.success(), "{revoked:?}");
    assert_eq!(second.terminate(), Some(0));
}

/// `serve gateway`: migrations first, then both ports; its health reports an upstream that is
/// down; SIGTERM stops it cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_gateway_fronts_its_upstreams() {
    let data = tempfile::tempdir().expect("dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        data.path().join("gateway.db").display()
    );
    let identity = identity_of(data.path(), "gateway");
    let with_env = |args: &[&str]| {
        let mut command = govmedia(args);
        command
            .envs(identity.clone())
            .env("GOVMEDIA_DATABASE_URL", &url)
            .env(
                "GOVMEDIA_JWT_SECRET",
                "a-production-secret-of-at-least-32-bytes",
            )
            .env(
                "GOVMEDIA_GATEWAY__UPSTREAMS__REGISTRY",
                "http://127.0.0.1:1",
            );
        command
    };
    let migrated = with_env(&["migrate", "gateway"]).output().expect("run");
    assert!(migrated.status.success(), "{migrated:?}");
    let mut gateway = Running::start(with_env(&["serve", "gateway"]));
    let line = gateway.wait_for("serving");
    let http = line
        .split_whitespace()
        .find_map(|word| word.strip_prefix("http="))
        .expect("http address")
        .to_owned();
    let channel = client::connect(&format!("http://{}", address_in(&line)))
        .await
        .expect("connect");
    let mut health = HealthClient::new(channel);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = health
            .check(HealthCheckRequest {
                service: govmedia_registry::SERVICE_NAME.into(),
            })
            .await
            .map(|response| response.into_inner().status)
            .ok();
        if status == Some(ServingStatus::NotServing as i32) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no health verdict: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut stream = tokio::net::TcpStream::connect(&http)
        .await
        .expect("http port");
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert_eq!(gateway.terminate(), Some(0));
}
