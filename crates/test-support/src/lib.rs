//! Test helpers shared by every crate's integration tests.
//!
//! Every storage and event test runs twice: on [`Backend::Embedded`] (a fresh SQLite file and the
//! in-process bus) and on [`Backend::Production`] (a fresh PostgreSQL schema and a unique Redis
//! key prefix). The production run needs `GOVMEDIA_TEST_POSTGRES_URL` and
//! `GOVMEDIA_TEST_REDIS_URL`; without them it is skipped, unless
//! `GOVMEDIA_TEST_REQUIRE_BACKENDS=1` (as in CI), which turns a missing or unreachable backend
//! into a failure. Each test gets its own database/schema and prefix, so tests run in parallel,
//! and both are removed when the test ends.

pub mod h2raw;

use std::time::Duration;

use std::sync::Arc;

use govmedia_kit::{
    auth::{Principal, Role},
    calendar::Calendar,
    clock::Clock,
    config::{DatabaseSettings, EventSettings, RedisSettings},
    db::Db,
    events::EventBus,
    identity::Keyring,
    regional::Regional,
    server::ServiceContext,
};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// The shipped working-day calendar, the same everywhere: what a service's context holds when
/// no region has its own.
pub fn official_calendar() -> Arc<Regional<Calendar>> {
    Arc::new(Regional::uniform(Calendar::official()))
}

/// The services whose keys a test suite holds, as `govmedia dev` does.
pub const SERVICES: [&str; 6] = [
    "gateway",
    "registry",
    "filing",
    "vendor",
    "routing",
    "inspection",
];

/// Fresh identity keys for every service of the suite.
pub fn keyring() -> Keyring {
    Keyring::generate(&SERVICES).expect("identity keys")
}

/// A person or an outside system as the gateway vouches for it (issuer `govmedia`, the
/// issuer of `govmedia token issue`).
pub fn person(subject: &str, organization: &str, roles: &[Role]) -> Principal {
    Principal {
        subject: subject.to_owned(),
        organization: organization.to_owned(),
        roles: roles.iter().copied().collect(),
        issuer: "govmedia".to_owned(),
        service: None,
        basis: None,
    }
}

/// The identity `signer` (a service of `keyring`) mints for `principal` to call `audience`.
pub fn identity_token(
    keyring: &Keyring,
    signer: &str,
    principal: &Principal,
    audience: &str,
) -> String {
    keyring
        .identity(signer)
        .expect("identity")
        .mint(principal, audience)
        .expect("mint")
}

/// Which pair of real backends a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file + in-process event bus.
    Embedded,
    /// PostgreSQL schema + Redis Streams.
    Production,
}

const POSTGRES_ENV: &str = "GOVMEDIA_TEST_POSTGRES_URL";
const REDIS_ENV: &str = "GOVMEDIA_TEST_REDIS_URL";
const REQUIRE_ENV: &str = "GOVMEDIA_TEST_REQUIRE_BACKENDS";

fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|value| value == "1" || value == "true")
}

/// Runs `$body(Backend)` as two tests, `embedded` and `production`, in a module `$name`.
#[macro_export]
macro_rules! backend_test {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                super::$body($crate::Backend::Embedded).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn production() {
                if $crate::skip_production() {
                    return;
                }
                super::$body($crate::Backend::Production).await
            }
        }
    };
}

/// True (with a note on stderr) when the production backends are not configured and not
/// required; panics when they are required but not configured.
pub fn skip_production() -> bool {
    let configured = std::env::var(POSTGRES_ENV).is_ok() && std::env::var(REDIS_ENV).is_ok();
    if configured {
        return false;
    }
    if required() {
        panic!("{REQUIRE_ENV}=1 but {POSTGRES_ENV} or {REDIS_ENV} is not set");
    }
    eprintln!("skipping the PostgreSQL/Redis run: set {POSTGRES_ENV} and {REDIS_ENV}");
    true
}

/// A fresh database and event-bus configuration for one test; removed on drop.
pub struct TestBackends {
    /// The backend pair.
    pub backend: Backend,
    /// Settings pointing at the fresh database.
    pub database: DatabaseSettings,
    /// Settings pointing at Redis with a unique prefix (no URL for the embedded backend).
    pub redis: RedisSettings,
    /// Event settings tuned for tests (short claim idle time).
    pub events: EventSettings,
    _dir: tempfile::TempDir,
    cleanup: Option<Cleanup>,
}

struct Cleanup {
    postgres_url: String,
    schema: String,
    redis_url: String,
    prefix: String,
}

impl TestBackends {
    /// What `service` runs with in a test: its database, the suite's bus, its identity from
    /// `keyring`, these backends' event settings, `clock`, the official calendar and the
    /// default port limits.
    pub fn context(
        &self,
        db: Db,
        bus: &EventBus,
        keyring: &Keyring,
        service: &str,
        clock: Clock,
    ) -> ServiceContext {
        ServiceContext {
            db,
            bus: bus.clone(),
            identity: Arc::new(keyring.identity(service).expect("identity")),
            events: self.events.clone(),
            clock,
            calendar: official_calendar(),
            listen: Default::default(),
        }
    }

    /// Creates the database (a SQLite file, or a PostgreSQL schema `t_<uuid>`) and picks a
    /// Redis prefix.
    pub async fn new(backend: Backend) -> TestBackends {
        let dir = tempfile::tempdir().expect("temporary directory");
        let events = EventSettings {
            relay_interval_ms: 50,
            relay_batch: 100,
            consumer_block_ms: 100,
            claim_idle_ms: 300,
            max_stream_len: 10_000,
            ..EventSettings::default()
        };
        match backend {
            Backend::Embedded => TestBackends {
                backend,
                database: DatabaseSettings {
                    url: Some(format!(
                        "sqlite://{}?mode=rwc",
                        dir.path().join("test.db").display()
                    )),
                    ..DatabaseSettings::default()
                },
                redis: RedisSettings::default(),
                events,
                _dir: dir,
                cleanup: None,
            },
            Backend::Production => {
                let postgres_url = std::env::var(POSTGRES_ENV).expect(POSTGRES_ENV);
                let redis_url = std::env::var(REDIS_ENV).expect(REDIS_ENV);
                let id = uuid::Uuid::new_v4().simple().to_string();
                let schema = format!("t_{id}");
                let prefix = format!("govmedia-test:{id}:");
                check_postgres(&postgres_url).await;
                check_redis(&redis_url).await;
                TestBackends {
                    backend,
                    database: DatabaseSettings {
                        url: Some(postgres_url.clone()),
                        schema: Some(schema.clone()),
                        max_connections: 5,
                        ..DatabaseSettings::default()
                    },
                    redis: RedisSettings {
                        url: Some(redis_url.clone()),
                        key_prefix: prefix.clone(),
                    },
                    events,
                    _dir: dir,
                    cleanup: Some(Cleanup {
                        postgres_url,
                        schema,
                        redis_url,
                        prefix,
                    }),
                }
            }
        }
    }

    /// A directory that lives as long as this value.
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// A further database for service `name` in the same test (several services, each with its
    /// own tables): another SQLite file, or another PostgreSQL schema; removed with the rest.
    pub fn database_for(&self, name: &str) -> DatabaseSettings {
        match &self.database.schema {
            Some(schema) => DatabaseSettings {
                schema: Some(format!("{schema}_{name}")),
                ..self.database.clone()
            },
            None => DatabaseSettings {
                url: Some(format!(
                    "sqlite://{}?mode=rwc",
                    self.dir().join(format!("{name}.db")).display()
                )),
                ..self.database.clone()
            },
        }
    }
}

async fn check_postgres(url: &str) {
    let result =
        tokio::time::timeout(Duration::from_secs(10), sea_orm::Database::connect(url)).await;
    match result {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
        }
        Ok(Err(error)) => panic!("PostgreSQL at {POSTGRES_ENV} does not answer: {error}"),
        Err(_) => panic!("PostgreSQL at {POSTGRES_ENV} does not answer within 10 s"),
    }
}

async fn check_redis(url: &str) {
    let client = redis::Client::open(url).expect("redis url");
    let mut conn = tokio::time::timeout(
        Duration::from_secs(10),
        client.get_multiplexed_async_connection(),
    )
    .await
    .expect("Redis answers within 10 s")
    .unwrap_or_else(|error| panic!("Redis at {REDIS_ENV} does not answer: {error}"));
    let _: String = redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .expect("Redis PING");
}

impl Drop for TestBackends {
    fn drop(&mut self) {
        let Some(cleanup) = self.cleanup.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot be blocked on; clean up from a
        // thread with its own small runtime.
        let joined = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Ok(conn) = sea_orm::Database::connect(&cleanup.postgres_url).await {
                    // The test's schema and the further ones of `database_for`.
                    let schemas = conn
                        .query_all_raw(Statement::from_string(
                            DbBackend::Postgres,
                            format!(
                                "SELECT nspname FROM pg_namespace WHERE nspname = '{0}' OR nspname LIKE '{0}\\_%'",
                                cleanup.schema
                            ),
                        ))
                        .await
                        .unwrap_or_default();
                    for row in schemas {
                        if let Ok(schema) = row.try_get::<String>("", "nspname") {
                            let _ = conn
                                .execute_raw(Statement::from_string(
                                    DbBackend::Postgres,
                                    format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"),
                                ))
                                .await;
                        }
                    }
                    let _ = conn.close().await;
                }
                if let Ok(client) = redis::Client::open(cleanup.redis_url.as_str())
                    && let Ok(mut conn) = client.get_multiplexed_async_connection().await
                {
                    let keys: Vec<String> = redis::cmd("KEYS")
                        .arg(format!("{}*", cleanup.prefix))
                        .query_async(&mut conn)
                        .await
                        .unwrap_or_default();
                    if !keys.is_empty() {
                        let _: Result<i64, _> =
                            redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
                    }
                }
            });
        })
        .join();
        if joined.is_err() {
            eprintln!("cleaning up the test database failed");
        }
    }
}

/// Waits until `check` returns `Some`, polling every 20 ms, for at most `limit`; panics with
/// `what` after that. A generous limit guards against hangs; it is not a performance assertion.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Installs, once per test binary, a global subscriber with only the OpenTelemetry layer (no
/// exporter, no output), as `govmedia` does, so that spans carry W3C trace context.
pub fn trace_everything() {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = install_global(None);
    });
}

/// What this test binary has logged since the first call, formatted as `govmedia` writes its log
/// (level, target, span fields, message), at debug for every crate and trace for govmedia's own:
/// for tests that a secret reaches no log line at any level an operator may turn on.
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Starts (once per test binary) capturing every log line of the binary: the first call
/// installs the global subscriber, with the OpenTelemetry layer of [`trace_everything`], so a
/// binary that captures calls this instead of that, before its services start.
pub fn captured_logs() -> CapturedLogs {
    static BUFFER: std::sync::OnceLock<std::sync::Arc<std::sync::Mutex<Vec<u8>>>> =
        std::sync::OnceLock::new();
    let buffer = BUFFER.get_or_init(|| {
        let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        install_global(Some(buffer.clone()))
            .expect("captured_logs is called before any other subscriber is installed");
        buffer
    });
    CapturedLogs(buffer.clone())
}

/// The one global subscriber of a test binary: the OpenTelemetry layer (W3C trace context on
/// every span, as `govmedia` has it) and, when `capture` is given, the log formatted as
/// `govmedia` formats it into that buffer.
fn install_global(
    capture: Option<std::sync::Arc<std::sync::Mutex<Vec<u8>>>>,
) -> Result<(), tracing::subscriber::SetGlobalDefaultError> {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::{Layer as _, layer::SubscriberExt as _};
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let log = capture.map(|buffer| {
        tracing_subscriber::fmt::layer()
            .with_target(true)
            .with_ansi(false)
            .with_writer(move || Appender(buffer.clone()))
            .with_filter(tracing_subscriber::EnvFilter::new(
                "debug,govmedia=trace,govmedia_kit=trace,govmedia_gateway=trace,\
                 govmedia_registry=trace,govmedia_routing=trace,govmedia_inspection=trace",
            ))
    });
    let subscriber = tracing_subscriber::registry()
        .with(log)
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("tests")));
    tracing::subscriber::set_global_default(subscriber)
}

/// Appends what the log writes to the captured text.
struct Appender(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Appender {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads `stream` as consumer group `group` until an event matches `wanted`, for at most 30 s
/// (a guard against hangs, not a performance assertion).
pub async fn next_event(
    bus: &govmedia_kit::events::EventBus,
    stream: &str,
    group: &str,
    wanted: impl Fn(&govmedia_kit::events::EventEnvelope) -> bool,
) -> govmedia_kit::events::EventEnvelope {
    let mut subscriber = bus.subscriber().await.expect("subscriber");
    subscriber.ensure_group(stream, group).await.expect("group");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no matching event on {stream}"
        );
        let deliveries = subscriber
            .read(stream, group, "test", 100, Duration::from_millis(200))
            .await
            .expect("read");
        if let Some(delivery) = deliveries.into_iter().find(|d| wanted(&d.envelope)) {
            return delivery.envelope;
        }
    }
}

/// Asserts that a call failed with `code` and an ErrorInfo of govmedia's domain with `reason`;
/// returns the status for further checks.
pub fn assert_error(
    result: Result<impl std::fmt::Debug, tonic::Status>,
    code: tonic::Code,
    reason: &str,
) -> tonic::Status {
    use tonic_types::StatusExt;
    let status = result.expect_err("the call must fail");
    assert_eq!(status.code(), code, "{status:?}");
    let details = status.get_error_details();
    let info = details
        .error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason, "{status:?}");
    assert_eq!(info.domain, govmedia_kit::error::ERROR_DOMAIN, "{status:?}");
    status
}

/// Asserts INVALID_ARGUMENT (reason INVALID_FIELD) with a violation of exactly `field`, among
/// possibly others; returns the status.
pub fn assert_invalid(
    result: Result<impl std::fmt::Debug, tonic::Status>,
    field: &str,
) -> tonic::Status {
    use tonic_types::StatusExt;
    let status = assert_error(result, tonic::Code::InvalidArgument, "INVALID_FIELD");
    let details = status.get_error_details();
    let violations = &details
        .bad_request()
        .expect("BadRequest detail")
        .field_violations;
    assert!(
        violations.iter().any(|v| v.field == field),
        "no violation of {field} in {violations:?}"
    );
    status
}

/// A value of a token's time claim (`exp`, `nbf`, `iat`) as anyone may write it: any integer, a
/// fraction, the largest numbers, a string, nothing. Verifiers must answer every one of them,
/// never panic.
pub fn claim_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    prop_oneof![
        any::<u64>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |value| value.is_finite())
            .prop_map(serde_json::Value::from),
        Just(serde_json::Value::from(u64::MAX)),
        Just(serde_json::Value::from(i64::MIN)),
        Just(serde_json::json!(1e300)),
        Just(serde_json::json!("2030-01-01")),
        Just(serde_json::Value::Null),
    ]
}

/// Waits until grpc.health.v1 on `channel` (a gateway, for a suite behind one) answers SERVING for
/// the whole server: the gateway has seen its upstreams healthy.
pub async fn serving(channel: tonic::transport::Channel) {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let health = HealthClient::new(channel);
    eventually(
        "the gateway to see the services healthy",
        Duration::from_secs(20),
        || {
            let mut health = health.clone();
            async move {
                let status = health
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                    .ok()?
                    .into_inner()
                    .status;
                (status == ServingStatus::Serving as i32).then_some(())
            }
        },
    )
    .await;
}
