//! `Suite`: a registry and a filing service on port 0, each with its own database, sharing one
//! event bus; optionally a gateway in front of both. The registry can be stopped and started
//! again on the same address.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use govmedia_filing::{
    FilingConfig,
    apply::Applier,
    config::{NationalAdapter, NationalConfig},
    grpc::{Deadlines, Registry},
    reminders::Reminder,
};
use govmedia_gateway::GatewayConfig;
use govmedia_kit::{
    CancellationToken,
    auth::{DEV_JWT_SECRET, Role, TokenKeys},
    client::{self, Credentials},
    clock::{Clock, ManualClock},
    db::Db,
    events::{EventBus, outbox::OutboxSignal},
    identity::Keyring,
    server::{self, ServiceContext},
    unit::Writer,
};
use govmedia_proto::{
    common::v1::{AccountKind, AdministrativeLevel, Platform},
    filing::v1::{self as pb, filing_service_client::FilingServiceClient},
    registry::v1::{self as rpb, registry_service_client::RegistryServiceClient},
};
use govmedia_registry::RegistryConfig;
use govmedia_test_support::{Backend, TestBackends};
use tonic::{Status, service::interceptor::InterceptedService, transport::Channel};
use tonic_types::StatusExt;

pub type Filings = FilingServiceClient<InterceptedService<Channel, Credentials>>;
pub type Ledger = RegistryServiceClient<InterceptedService<Channel, Credentials>>;

/// How the suite is started.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Put a gateway in front and talk through it.
    pub gateway: bool,
    /// Run the filing service's applier and reminder (off: tests drive them).
    pub no_workers: bool,
    /// Start the services' clock at this instant and let the test move it (see
    /// [`Suite::clock`]); the system clock otherwise.
    pub clock_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Deliver national reports by HTTP to this address (else they wait for an export).
    pub national: Option<SocketAddr>,
}

pub struct Suite {
    pub registry: SocketAddr,
    pub filing: SocketAddr,
    pub gateway: Option<SocketAddr>,
    pub registry_db: Db,
    pub filing_db: Db,
    pub bus: EventBus,
    /// The secret of govmedia tokens, which outside callers present to the gateway.
    pub keys: Arc<TokenKeys>,
    /// Every service's identity keys.
    pub keyring: Keyring,
    pub config: FilingConfig,
    pub backends: TestBackends,
    /// The clock of every service of the suite.
    pub clock: Clock,
    /// Moves that clock, when the options set one.
    pub manual_clock: Option<ManualClock>,
    shutdown: CancellationToken,
    registry_shutdown: CancellationToken,
    registry_task: Option<tokio::task::JoinHandle<()>>,
}

async fn port0() -> tokio::net::TcpListener {
    server::bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind")
}

impl Suite {
    pub async fn spawn(backend: Backend) -> Suite {
        Self::spawn_with(backend, Options::default()).await
    }

    pub async fn spawn_with(backend: Backend, options: Options) -> Suite {
        let backends = TestBackends::new(backend).await;
        let keys =
            Arc::new(TokenKeys::hs256(DEV_JWT_SECRET, "govmedia", "govmedia").expect("keys"));
        let keyring = govmedia_test_support::keyring();
        let bus = EventBus::from_settings(&backends.redis, 10_000)
            .await
            .expect("bus");
        let shutdown = CancellationToken::new();

        let registry_db = Db::connect(&backends.database_for("registry"), "registry")
            .await
            .expect("registry db");
        registry_db
            .migrate::<govmedia_registry::Migrator>()
            .await
            .expect("migrate registry");
        let filing_db = Db::connect(&backends.database, "filing")
            .await
            .expect("filing db");
        filing_db
            .migrate::<govmedia_filing::Migrator>()
            .await
            .expect("migrate filing");

        let registry_listener = port0().await;
        let registry = registry_listener.local_addr().expect("addr");
        let filing_listener = port0().await;
        let filing = filing_listener.local_addr().expect("addr");
        let config = FilingConfig {
            listen: filing,
            registry_endpoint: format!("http://{registry}"),
            system_organization: "qinghai".into(),
            registry_timeout_ms: 3_000,
            consent_working_days: 5,
            decision_working_days: 10,
            regions: Default::default(),
            workers: !options.no_workers,
            reminder_interval_ms: 50,
            apply_interval_ms: 50,
            apply_retry_initial_ms: 20,
            apply_retry_max_ms: 200,
            apply_max_attempts: 1000,
            national: match options.national {
                Some(addr) => NationalConfig {
                    adapter: NationalAdapter::Http,
                    endpoint: format!("http://{addr}/reports"),
                    timeout_ms: 2_000,
                    interval_ms: 50,
                    retry_initial_ms: 20,
                    retry_max_ms: 100,
                    max_attempts: 5,
                },
                None => NationalConfig::default(),
            },
            // No inspection service here: enforced closures are tested in inspection's suite,
            // which runs filing beside it.
            inspection_endpoint: String::new(),
            inspection_timeout_ms: 3_000,
        };

        let manual_clock = options.clock_at.map(ManualClock::new);
        let mut suite = Suite {
            clock: manual_clock
                .as_ref()
                .map_or_else(Clock::system, ManualClock::clock),
            manual_clock,
            registry,
            filing,
            gateway: None,
            registry_db,
            filing_db,
            bus,
            keys,
            keyring,
            config: config.clone(),
            backends,
            shutdown: shutdown.clone(),
            registry_shutdown: CancellationToken::new(),
            registry_task: None,
        };
        suite.start_registry_on(registry_listener);
        let context = suite.context(suite.filing_db.clone(), "filing");
        tokio::spawn(async move {
            govmedia_filing::serve(context, config, filing_listener, shutdown)
                .await
                .expect("filing server");
        });
        if options.gateway {
            suite.gateway = Some(suite.start_gateway().await);
        }
        suite.seed().await;
        suite
    }

    fn context(&self, db: Db, service: &str) -> ServiceContext {
        self.backends
            .context(db, &self.bus, &self.keyring, service, self.clock.clone())
    }

    fn start_registry_on(&mut self, listener: tokio::net::TcpListener) {
        self.registry_shutdown = self.shutdown.child_token();
        let context = self.context(self.registry_db.clone(), "registry");
        let shutdown = self.registry_shutdown.clone();
        self.registry_task = Some(tokio::spawn(async move {
            govmedia_registry::serve(context, RegistryConfig::default(), listener, shutdown)
                .await
                .expect("registry server");
        }));
    }

    /// Stops the registry (gracefully: in-flight calls finish) and waits until it is gone.
    pub async fn stop_registry(&mut self) {
        self.registry_shutdown.cancel();
        if let Some(task) = self.registry_task.take() {
            task.await.expect("registry task");
        }
    }

    /// Starts the registry again on its old address.
    pub async fn start_registry(&mut self) {
        let listener = server::bind(self.registry).await.expect("rebind registry");
        self.start_registry_on(listener);
    }

    async fn start_gateway(&self) -> SocketAddr {
        let gateway_db = Db::connect(&self.backends.database_for("gateway"), "gateway")
            .await
            .expect("gateway db");
        gateway_db
            .migrate::<govmedia_gateway::Migrator>()
            .await
            .expect("migrate gateway");
        let grpc = port0().await;
        let http = port0().await;
        let addr = grpc.local_addr().expect("addr");
        let mut config = GatewayConfig {
            listen: addr,
            http_listen: http.local_addr().expect("addr"),
            api_key_cache_secs: 0,
            health_interval_ms: 100,
            ..GatewayConfig::default()
        };
        // Only the services this suite runs: the gateway is healthy when they are.
        config.upstreams.clear();
        config
            .upstreams
            .insert("registry".into(), format!("http://{}", self.registry));
        config
            .upstreams
            .insert("filing".into(), format!("http://{}", self.filing));
        let context = self.context(gateway_db, "gateway");
        let (shutdown, keys) = (self.shutdown.clone(), self.keys.clone());
        tokio::spawn(async move {
            govmedia_gateway::serve(context, config, keys, grpc, http, shutdown)
                .await
                .expect("gateway");
        });
        addr
    }

    /// A govmedia token, as a person presents it to the gateway.
    pub fn token(&self, subject: &str, organization: &str, roles: &[Role]) -> String {
        self.keys
            .issue(subject, organization, roles, Duration::from_secs(600))
            .expect("token")
    }

    /// What a person sends to reach `service`: a govmedia token through the gateway when there
    /// is one, else the identity the gateway would have passed on.
    fn credential(
        &self,
        service: &str,
        subject: &str,
        organization: &str,
        roles: &[Role],
    ) -> String {
        if self.gateway.is_some() {
            self.token(subject, organization, roles)
        } else {
            govmedia_test_support::identity_token(
                &self.keyring,
                "gateway",
                &govmedia_test_support::person(subject, organization, roles),
                service,
            )
        }
    }

    /// Where clients talk: the gateway when there is one, else the service itself.
    async fn channel(&self, service: SocketAddr) -> Channel {
        let addr = self.gateway.unwrap_or(service);
        client::connect(&format!("http://{addr}"))
            .await
            .expect("connect")
    }

    /// A filing client for `subject` of `organization` with `role`.
    pub async fn filings(&self, subject: &str, organization: &str, role: Role) -> Filings {
        let token = self.credential("filing", subject, organization, &[role]);
        FilingServiceClient::with_interceptor(
            self.channel(self.filing).await,
            Credentials::bearer(&token).expect("creds"),
        )
    }

    /// The operator of golmud-edu.
    pub async fn operator(&self) -> Filings {
        self.filings("zhang.operator", "golmud-edu", Role::Operator)
            .await
    }

    /// The principal leader of golmud-edu.
    pub async fn leader(&self) -> Filings {
        self.filings("li.leader", "golmud-edu", Role::Leader).await
    }

    /// A supervisor of the management department of Golmud (golmud-office).
    pub async fn supervisor(&self) -> Filings {
        self.filings("wang.supervisor", "golmud-office", Role::Supervisor)
            .await
    }

    /// A registry client with `roles` (through the gateway when there is one).
    pub async fn ledger(&self, organization: &str, roles: &[Role]) -> Ledger {
        let token = self.credential("registry", "ledger-reader", organization, roles);
        RegistryServiceClient::with_interceptor(
            self.channel(self.registry).await,
            Credentials::bearer(&token).expect("creds"),
        )
    }

    /// The filing service's own registry client straight to the registry (seeding,
    /// inspection).
    pub async fn ledger_direct(&self) -> Ledger {
        self.ledger_as(None).await
    }

    /// The filing service applying `filing` (`filings/{id}`) straight to the registry: how a
    /// ledger kept before govmedia, or a change made behind the suite's back, gets there.
    pub async fn ledger_applying(&self, filing: &str) -> Ledger {
        self.ledger_as(Some(filing)).await
    }

    async fn ledger_as(&self, basis: Option<&str>) -> Ledger {
        let principal = govmedia_kit::auth::Principal {
            basis: basis.map(str::to_owned),
            ..self
                .keyring
                .identity("filing")
                .expect("identity")
                .own_principal("qinghai")
        };
        let token =
            govmedia_test_support::identity_token(&self.keyring, "filing", &principal, "registry");
        RegistryServiceClient::with_interceptor(
            client::connect(&format!("http://{}", self.registry))
                .await
                .expect("connect"),
            Credentials::bearer(&token).expect("creds"),
        )
    }

    /// A reminder on the filing database, for tests that run a pass by hand.
    pub fn reminder(&self) -> Reminder {
        let writer = Writer::new(
            self.filing_db.clone(),
            OutboxSignal::default(),
            govmedia_filing::events::STREAM,
            self.clock.clone(),
        );
        let registry = Registry::new(&self.config, self.identity()).expect("registry client");
        Reminder::new(
            writer,
            registry.own_principal(),
            Deadlines::new(&self.config, govmedia_test_support::official_calendar()),
            Duration::from_secs(3600),
        )
    }

    /// An applier on the filing database, for tests that drive it by hand.
    pub fn applier(&self) -> Applier {
        let writer = Writer::new(
            self.filing_db.clone(),
            OutboxSignal::default(),
            govmedia_filing::events::STREAM,
            self.clock.clone(),
        );
        let registry = Registry::new(&self.config, self.identity()).expect("registry client");
        // Each applier is a replica of its own.
        Applier::new(
            writer,
            registry,
            &self.config,
            &govmedia_kit::server::replica_id("filing-test"),
        )
    }

    /// qinghai → haixi (with its management department haixi-office) → golmud (with
    /// golmud-office) → golmud-edu → golmud-edu-news (an internal body); qinghai → xining
    /// (no management department) → xining-edu.
    async fn seed(&self) {
        use AdministrativeLevel::{County, Municipal, Provincial};
        use rpb::OrganizationKind::{Department, Government, InternalBody};
        let mut registry = self.ledger_direct().await;
        for (id, parent, level, kind, department) in [
            ("qinghai", "", Provincial, Government, false),
            ("haixi", "qinghai", Municipal, Government, false),
            ("haixi-office", "haixi", Municipal, Department, true),
            ("golmud", "haixi", County, Government, false),
            ("golmud-office", "golmud", County, Department, true),
            ("golmud-edu", "golmud", County, Department, false),
            ("golmud-edu-news", "golmud-edu", County, InternalBody, false),
            ("golmud-health", "golmud", County, Department, false),
            ("xining", "qinghai", Municipal, Government, false),
            ("xining-edu", "xining", Municipal, Department, false),
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
                        display_name: format!("{id} 单位"),
                        level: level as i32,
                        kind: kind as i32,
                        management_department: department,
                        // who consents to the unit's filings.
                        principal_leader: if id == "golmud-edu" {
                            "li.leader".into()
                        } else {
                            "leader".into()
                        },
                        designated_deputy: if id == "golmud-edu" {
                            "deputy.leader".into()
                        } else {
                            String::new()
                        },
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await
                .unwrap_or_else(|status| panic!("seed {id}: {status:?}"));
        }
        if self.gateway.is_some() {
            self.wait_for_gateway().await;
        }
    }

    async fn wait_for_gateway(&self) {
        govmedia_test_support::serving(self.channel(self.filing).await).await;
    }

    /// Number of filings stored, as a "did anything change" probe.
    pub async fn filing_count(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        govmedia_filing::store::entity::filing::Entity::find()
            .count(self.filing_db.conn())
            .await
            .expect("count")
    }

    /// Number of audit records of the filing service (the chain verified on the way).
    pub async fn audit_count(&self) -> u64 {
        govmedia_kit::audit::verify(self.filing_db.conn())
            .await
            .expect("audit chain intact")
    }
}

impl Suite {
    /// The filing service's identity.
    pub fn identity(&self) -> Arc<govmedia_kit::identity::Identity> {
        Arc::new(self.keyring.identity("filing").expect("identity"))
    }

    /// Starts another replica of the filing service on the same database (its own connection
    /// pool) and bus, with its workers on; it runs until the returned token is cancelled.
    pub async fn filing_replica(&self) -> CancellationToken {
        let db = Db::connect(&self.backends.database, "filing")
            .await
            .expect("filing db");
        let listener = port0().await;
        let config = FilingConfig {
            listen: listener.local_addr().expect("addr"),
            workers: true,
            ..self.config.clone()
        };
        let stop = self.shutdown.child_token();
        let context = self.context(db, "filing");
        let shutdown = stop.clone();
        tokio::spawn(async move {
            govmedia_filing::serve(context, config, listener, shutdown)
                .await
                .expect("filing replica");
        });
        stop
    }

    /// The test's hand on the clock; panics unless the suite was started with `clock_at`.
    pub fn time(&self) -> &ManualClock {
        self.manual_clock
            .as_ref()
            .expect("start the suite with Options::clock_at to move its clock")
    }
}

impl Drop for Suite {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The account data of an OPEN filing.
pub fn proposed_account(platform: Platform, name: &str) -> rpb::Account {
    rpb::Account {
        platform: platform as i32,
        display_name: name.to_owned(),
        kind: AccountKind::Publishing as i32,
        operator: Some(rpb::Operator {
            r#type: rpb::OperatorType::Self_ as i32,
            vendor: String::new(),
        }),
        responsible_person: Some(rpb::Contact {
            name: "王敏".to_owned(),
            title: "办公室主任".to_owned(),
            phone: "0979-8412345".to_owned(),
        }),
        verified_subject: "格尔木市教育局".to_owned(),
        ..rpb::Account::default()
    }
}

/// An attachment reference.
pub fn attachment(name: &str) -> pb::Attachment {
    pb::Attachment {
        name: name.to_owned(),
        sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_owned(),
        size_bytes: 48_213,
    }
}

/// An OPEN filing of golmud-edu on `platform`.
pub fn open_filing(platform: Platform, name: &str) -> pb::Filing {
    pb::Filing {
        organization: "organizations/golmud-edu".into(),
        kind: pb::FilingKind::Open as i32,
        account: Some(proposed_account(platform, name)),
        reason: "面向家长和学生发布教育政策与招生信息".into(),
        attachments: vec![attachment("开设申请表.pdf")],
        ..pb::Filing::default()
    }
}

/// A CHANGE, SUSPEND or CANCEL filing of golmud-edu about `account`.
pub fn filing_about(kind: pb::FilingKind, account: &str) -> pb::Filing {
    pb::Filing {
        organization: "organizations/golmud-edu".into(),
        kind: kind as i32,
        target_account: format!("accounts/{account}"),
        reason: "工作调整".into(),
        ..pb::Filing::default()
    }
}

/// Creates `filing` as `client`, with `id`.
pub async fn create(
    client: &mut Filings,
    id: &str,
    filing: pb::Filing,
) -> Result<pb::Filing, Status> {
    client
        .create_filing(pb::CreateFilingRequest {
            filing_id: id.to_owned(),
            filing: Some(filing),
            request_id: String::new(),
        })
        .await
        .map(tonic::Response::into_inner)
}

pub fn filing_name(id: &str) -> String {
    format!("filings/{id}")
}

pub async fn submit(client: &mut Filings, id: &str) -> Result<pb::Filing, Status> {
    client
        .submit_filing(pb::SubmitFilingRequest {
            name: filing_name(id),
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

pub async fn consent(client: &mut Filings, id: &str) -> Result<pb::Filing, Status> {
    client
        .consent_filing(pb::ConsentFilingRequest {
            name: filing_name(id),
            comment: "同意".into(),
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

pub async fn accept(client: &mut Filings, id: &str) -> Result<pb::Filing, Status> {
    client
        .accept_filing(pb::AcceptFilingRequest {
            name: filing_name(id),
            comment: "准予备案".into(),
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

pub async fn get(client: &mut Filings, id: &str) -> pb::Filing {
    client
        .get_filing(pb::GetFilingRequest {
            name: filing_name(id),
        })
        .await
        .unwrap_or_else(|status| panic!("get {id}: {status:?}"))
        .into_inner()
}

/// Creates, submits, consents and accepts `filing` with the suite's usual people; returns the
/// accepted filing.
pub async fn file_and_accept(suite: &Suite, id: &str, filing: pb::Filing) -> pb::Filing {
    let mut operator = suite.operator().await;
    create(&mut operator, id, filing).await.expect("create");
    submit(&mut operator, id).await.expect("submit");
    consent(&mut suite.leader().await, id)
        .await
        .expect("consent");
    accept(&mut suite.supervisor().await, id)
        .await
        .expect("accept")
}

/// [`file_and_accept`] for another unit of Golmud: its own operator and leader file and
/// consent, the city's management department accepts.
pub async fn file_and_accept_for(
    suite: &Suite,
    unit: &str,
    id: &str,
    filing: pb::Filing,
) -> pb::Filing {
    let mut operator = suite.filings("op", unit, Role::Operator).await;
    create(&mut operator, id, filing).await.expect("create");
    submit(&mut operator, id).await.expect("submit");
    // The principal leader each unit's record names (see `seed`).
    let leader = if unit == "golmud-edu" {
        "li.leader"
    } else {
        "leader"
    };
    consent(&mut suite.filings(leader, unit, Role::Leader).await, id)
        .await
        .expect("consent");
    accept(&mut suite.supervisor().await, id)
        .await
        .expect("accept")
}

/// Binds `platform_account_id` to the account of the applied OPEN filing `id`, as the operator.
pub async fn bind(suite: &Suite, id: &str, platform_account_id: &str) -> pb::Filing {
    suite
        .operator()
        .await
        .bind_platform_account(pb::BindPlatformAccountRequest {
            name: filing_name(id),
            platform_account_id: platform_account_id.into(),
            request_id: format!("bind-{id}"),
        })
        .await
        .expect("bind")
        .into_inner()
}

/// The `(type, subject)` of every precondition violation in a failed call's details.
pub fn preconditions(status: &Status) -> Vec<(String, String)> {
    status
        .get_error_details()
        .precondition_failure()
        .expect("precondition failure")
        .violations
        .iter()
        .map(|violation| (violation.r#type.clone(), violation.subject.clone()))
        .collect()
}

/// Waits until the filing's application is no longer APPLYING; returns the filing (as the
/// Golmud management department, which sees every unit of the city, reads it).
pub async fn applied(suite: &Suite, id: &str) -> pb::Filing {
    let operator = suite.supervisor().await;
    govmedia_test_support::eventually("the filing to be applied", Duration::from_secs(20), || {
        let mut operator = operator.clone();
        async move {
            let filing = get(&mut operator, id).await;
            (filing.application_state != pb::ApplicationState::Applying as i32).then_some(filing)
        }
    })
    .await
}

pub use govmedia_test_support::{assert_error, assert_invalid};

/// An instant written with its offset, e.g. `2026-09-30T15:00:00+08:00`.
pub fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("an RFC 3339 time")
        .with_timezone(&chrono::Utc)
}

/// A protobuf timestamp of [`at`].
pub fn timestamp(text: &str) -> prost_types::Timestamp {
    govmedia_kit::clock::to_proto(at(text))
}
