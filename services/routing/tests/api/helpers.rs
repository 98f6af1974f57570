//! `Suite`: a registry and a routing service on port 0, each with its own database, sharing one
//! event bus and one clock the test can move; a gateway in front unless a test asks otherwise.
//! Approved replies go to a [`Platform`] the test reads.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::future::BoxFuture;
use govmedia_gateway::GatewayConfig;
use govmedia_kit::{
    CancellationToken,
    auth::{DEV_JWT_SECRET, Role, TokenKeys},
    client::{self, Credentials},
    clock::ManualClock,
    db::Db,
    events::EventBus,
    identity::Keyring,
    server::{self, ServiceContext},
};
use govmedia_proto::{
    common::v1::{AccountKind, AdministrativeLevel, Platform as PlatformKind},
    registry::v1::{self as rpb, registry_service_client::RegistryServiceClient},
    routing::v1::{self as pb, routing_service_client::RoutingServiceClient},
};
use govmedia_registry::RegistryConfig;
use govmedia_routing::{
    RoutingConfig,
    publish::{OutgoingReply, PlatformAdapter, PublishError},
};
use govmedia_test_support::{Backend, TestBackends};
use tokio::sync::Notify;
use tonic::{service::interceptor::InterceptedService, transport::Channel};

pub use govmedia_test_support::{assert_error, assert_invalid};

pub type Routing = RoutingServiceClient<InterceptedService<Channel, Credentials>>;
pub type Ledger = RegistryServiceClient<InterceptedService<Channel, Credentials>>;

/// The personal-data key of every suite.
pub const KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// The platform of the tests: it records what it is given, and refuses for a while when told.
#[derive(Debug, Default)]
pub struct Platform {
    published: Mutex<Vec<OutgoingReply>>,
    failures_left: Mutex<u32>,
    changed: Notify,
}

impl Platform {
    /// What was published so far.
    pub fn published(&self) -> Vec<OutgoingReply> {
        self.published.lock().expect("lock").clone()
    }

    /// The next `n` publications fail (the platform is away).
    pub fn fail_next(&self, n: u32) {
        *self.failures_left.lock().expect("lock") = n;
    }
}

impl PlatformAdapter for Platform {
    fn publish<'a>(
        &'a self,
        reply: &'a OutgoingReply,
    ) -> BoxFuture<'a, Result<String, PublishError>> {
        Box::pin(async move {
            {
                let mut left = self.failures_left.lock().expect("lock");
                if *left > 0 {
                    *left -= 1;
                    return Err(PublishError::Retry("the platform is away".into()));
                }
            }
            let mut published = self.published.lock().expect("lock");
            let id = format!("wx-reply-{}", published.len() + 1);
            published.push(reply.clone());
            self.changed.notify_waiters();
            Ok(id)
        })
    }
}

pub struct Suite {
    pub registry: SocketAddr,
    pub routing: SocketAddr,
    pub gateway: Option<SocketAddr>,
    pub routing_db: Db,
    pub bus: EventBus,
    pub keys: Arc<TokenKeys>,
    pub keyring: Keyring,
    pub backends: TestBackends,
    pub platform: Arc<Platform>,
    /// The services' clock, which the test moves.
    pub time: ManualClock,
    shutdown: CancellationToken,
}

async fn port0() -> tokio::net::TcpListener {
    server::bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind")
}

/// An instant written with its offset.
pub fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("an RFC 3339 time")
        .with_timezone(&chrono::Utc)
}

/// A protobuf timestamp of [`at`].
pub fn timestamp(text: &str) -> prost_types::Timestamp {
    govmedia_kit::clock::to_proto(at(text))
}

/// An instant of a response.
pub fn time_of(timestamp: Option<&prost_types::Timestamp>) -> chrono::DateTime<chrono::Utc> {
    govmedia_kit::clock::from_proto(timestamp.expect("a time")).expect("a valid time")
}

impl Suite {
    /// A suite behind a gateway, its clock at `start`.
    pub async fn spawn(backend: Backend, start: &str) -> Suite {
        Self::spawn_with(backend, start, true).await
    }

    pub async fn spawn_with(backend: Backend, start: &str, gateway: bool) -> Suite {
        let backends = TestBackends::new(backend).await;
        let keys =
            Arc::new(TokenKeys::hs256(DEV_JWT_SECRET, "govmedia", "govmedia").expect("keys"));
        let keyring = govmedia_test_support::keyring();
        let bus = EventBus::from_settings(&backends.redis, 10_000)
            .await
            .expect("bus");
        let registry_db = Db::connect(&backends.database_for("registry"), "registry")
            .await
            .expect("registry db");
        registry_db
            .migrate::<govmedia_registry::Migrator>()
            .await
            .expect("migrate registry");
        let routing_db = Db::connect(&backends.database, "routing")
            .await
            .expect("routing db");
        routing_db
            .migrate::<govmedia_routing::Migrator>()
            .await
            .expect("migrate routing");
        let (registry_listener, routing_listener) = (port0().await, port0().await);
        let mut suite = Suite {
            registry: registry_listener.local_addr().expect("addr"),
            routing: routing_listener.local_addr().expect("addr"),
            gateway: None,
            routing_db: routing_db.clone(),
            bus,
            keys,
            keyring,
            backends,
            platform: Arc::new(Platform::default()),
            time: ManualClock::new(at(start)),
            shutdown: CancellationToken::new(),
        };
        let context = suite.context(registry_db, "registry");
        let shutdown = suite.shutdown.clone();
        tokio::spawn(async move {
            govmedia_registry::serve(
                context,
                RegistryConfig::default(),
                registry_listener,
                shutdown,
            )
            .await
            .expect("registry server");
        });
        let config = suite.config();
        let context = suite.context(routing_db, "routing");
        let (shutdown, platform) = (suite.shutdown.clone(), suite.platform.clone());
        tokio::spawn(async move {
            govmedia_routing::serve_with(context, config, platform, routing_listener, shutdown)
                .await
                .expect("routing server");
        });
        if gateway {
            suite.gateway = Some(suite.start_gateway().await);
        }
        suite.seed().await;
        suite
    }

    /// The routing service's settings: the defaults (5 working days, returns within 2,
    /// extensions up to 10), a fast publisher.
    pub fn config(&self) -> RoutingConfig {
        let mut config = RoutingConfig {
            listen: self.routing,
            registry_endpoint: format!("http://{}", self.registry),
            system_organization: "qinghai".into(),
            registry_timeout_ms: 3_000,
            contact_key: KEY.into(),
            ..RoutingConfig::default()
        };
        config.publish.interval_ms = 50;
        config.publish.retry_initial_ms = 20;
        config.publish.retry_max_ms = 100;
        config.escalation.poll_ms = 50;
        config
    }

    /// Another escalation scheduler on the routing database: a second replica, or the same one
    /// after a restart.
    pub fn escalator(&self) -> govmedia_routing::escalate::Escalator {
        let writer = govmedia_kit::unit::Writer::new(
            self.routing_db.clone(),
            govmedia_kit::events::outbox::OutboxSignal::default(),
            govmedia_routing::events::STREAM,
            self.time.clock(),
        );
        let system = self
            .keyring
            .identity("routing")
            .expect("identity")
            .own_principal("qinghai");
        govmedia_routing::escalate::Escalator::new(
            writer,
            system,
            &self.config(),
            Arc::new(Notify::new()),
        )
    }

    fn context(&self, db: Db, service: &str) -> ServiceContext {
        self.backends
            .context(db, &self.bus, &self.keyring, service, self.time.clock())
    }

    async fn start_gateway(&self) -> SocketAddr {
        let gateway_db = Db::connect(&self.backends.database_for("gateway"), "gateway")
            .await
            .expect("gateway db");
        gateway_db
            .migrate::<govmedia_gateway::Migrator>()
            .await
            .expect("migrate gateway");
        let (grpc, http) = (port0().await, port0().await);
        let addr = grpc.local_addr().expect("addr");
        let mut config = GatewayConfig {
            listen: addr,
            http_listen: http.local_addr().expect("addr"),
            api_key_cache_secs: 0,
            health_interval_ms: 100,
            ..GatewayConfig::default()
        };
        config.upstreams.clear();
        config
            .upstreams
            .insert("registry".into(), format!("http://{}", self.registry));
        config
            .upstreams
            .insert("routing".into(), format!("http://{}", self.routing));
        let context = self.context(gateway_db, "gateway");
        let (shutdown, keys) = (self.shutdown.clone(), self.keys.clone());
        tokio::spawn(async move {
            govmedia_gateway::serve(context, config, keys, grpc, http, shutdown)
                .await
                .expect("gateway");
        });
        addr
    }

    /// What a caller sends: a govmedia token through the gateway when there is one, else the
    /// identity the gateway would have passed on.
    fn credential(&self, subject: &str, organization: &str, roles: &[Role]) -> String {
        if self.gateway.is_some() {
            self.keys
                .issue(subject, organization, roles, Duration::from_secs(600))
                .expect("token")
        } else {
            govmedia_test_support::identity_token(
                &self.keyring,
                "gateway",
                &govmedia_test_support::person(subject, organization, roles),
                "routing",
            )
        }
    }

    async fn channel(&self, service: SocketAddr) -> Channel {
        let addr = self.gateway.unwrap_or(service);
        client::connect(&format!("http://{addr}"))
            .await
            .expect("connect")
    }

    /// A routing client for `subject` of `organization` with `roles`.
    pub async fn client(&self, subject: &str, organization: &str, roles: &[Role]) -> Routing {
        let token = self.credential(subject, organization, roles);
        RoutingServiceClient::with_interceptor(
            self.channel(self.routing).await,
            Credentials::bearer(&token).expect("creds"),
        )
    }

    /// The collector of Golmud's government accounts (an outside system with the OPERATOR
    /// role).
    pub async fn collector(&self) -> Routing {
        self.client("collector", "golmud", &[Role::Operator]).await
    }

    /// The dispatcher of Golmud's government (an operator of `golmud`).
    pub async fn dispatcher(&self) -> Routing {
        self.client("zhou.dispatcher", "golmud", &[Role::Operator])
            .await
    }

    /// The handler of the education bureau.
    pub async fn edu_handler(&self) -> Routing {
        self.client("chen.handler", "golmud-edu", &[Role::Handler])
            .await
    }

    /// A leader of the education bureau.
    pub async fn edu_leader(&self) -> Routing {
        self.client("li.leader", "golmud-edu", &[Role::Leader])
            .await
    }

    /// A handler of the health commission.
    pub async fn health_handler(&self) -> Routing {
        self.client("he.handler", "golmud-health", &[Role::Handler])
            .await
    }

    /// A leader of the health commission.
    pub async fn health_leader(&self) -> Routing {
        self.client("liu.leader", "golmud-health", &[Role::Leader])
            .await
    }

    /// The registry, as the filing service applying `basis`: how accounts get there.
    pub async fn ledger(&self, basis: Option<&str>) -> Ledger {
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

    /// qinghai → haixi → golmud (a county government) with its departments golmud-office (the
    /// new-media management department), golmud-edu, golmud-health; qinghai → xining →
    /// xining-edu. Active accounts: golmud-wechat (of the government), golmud-edu-wechat,
    /// golmud-health-weibo, xining-edu-weibo; golmud-douyin is suspended.
    async fn seed(&self) {
        use AdministrativeLevel::{County, Municipal, Provincial};
        use rpb::OrganizationKind::{Department, Government};
        let mut registry = self.ledger(None).await;
        for (id, parent, level, kind, department) in [
            ("qinghai", "", Provincial, Government, false),
            ("qinghai-office", "qinghai", Provincial, Department, true),
            ("haixi", "qinghai", Municipal, Government, false),
            ("golmud", "haixi", County, Government, false),
            ("golmud-office", "golmud", County, Department, true),
            ("golmud-edu", "golmud", County, Department, false),
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
                        principal_leader: "leader".into(),
                        region_code: match id {
                            "golmud" => "632801".into(),
                            _ => String::new(),
                        },
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await
                .unwrap_or_else(|status| panic!("seed {id}: {status:?}"));
        }
        let basis = "filings/paper-2020-17";
        let mut applying = self.ledger(Some(basis)).await;
        for (id, organization, platform) in [
            (
                "golmud-wechat",
                "golmud",
                PlatformKind::WechatOfficialAccount,
            ),
            ("golmud-douyin", "golmud", PlatformKind::Douyin),
            ("golmud-health-weibo", "golmud-health", PlatformKind::Weibo),
            (
                "golmud-edu-wechat",
                "golmud-edu",
                PlatformKind::WechatOfficialAccount,
            ),
            ("xining-edu-weibo", "xining-edu", PlatformKind::Weibo),
        ] {
            applying
                .create_account(rpb::CreateAccountRequest {
                    account_id: id.into(),
                    account: Some(rpb::Account {
                        organization: format!("organizations/{organization}"),
                        platform: platform as i32,
                        display_name: format!("{id} 账号"),
                        kind: AccountKind::Publishing as i32,
                        operator: Some(rpb::Operator {
                            r#type: rpb::OperatorType::Self_ as i32,
                            vendor: String::new(),
                        }),
                        responsible_person: Some(rpb::Contact {
                            name: "王敏".into(),
                            title: "办公室主任".into(),
                            phone: "0979-8412345".into(),
                        }),
                        verified_subject: format!("{organization} 单位"),
                        ..Default::default()
                    }),
                    filing: basis.into(),
                    request_id: String::new(),
                })
                .await
                .unwrap_or_else(|status| panic!("seed {id}: {status:?}"));
            applying
                .activate_account(rpb::ActivateAccountRequest {
                    name: format!("accounts/{id}"),
                    platform_account_id: format!("pid-{id}"),
                    filing: basis.into(),
                    ..Default::default()
                })
                .await
                .unwrap_or_else(|status| panic!("activate {id}: {status:?}"));
        }
        applying
            .suspend_account(rpb::SuspendAccountRequest {
                name: "accounts/golmud-douyin".into(),
                filing: basis.into(),
                reason: "整改期间暂停".into(),
                ..Default::default()
            })
            .await
            .expect("suspend golmud-douyin");
        if self.gateway.is_some() {
            self.wait_for_gateway().await;
        }
    }

    async fn wait_for_gateway(&self) {
        govmedia_test_support::serving(self.channel(self.routing).await).await;
    }

    /// Waits until `n` replies have been published.
    pub async fn published(&self, n: usize) -> Vec<OutgoingReply> {
        let platform = self.platform.clone();
        tokio::time::timeout(Duration::from_secs(20), async move {
            loop {
                let changed = platform.changed.notified();
                let published = platform.published();
                if published.len() >= n {
                    return published;
                }
                changed.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{n} replies were not published in time"))
    }

    /// Number of cases stored, as a "did anything change" probe.
    pub async fn case_count(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        govmedia_routing::store::entity::case::Entity::find()
            .count(self.routing_db.conn())
            .await
            .expect("count")
    }

    /// Number of audit records (the chain verified on the way).
    pub async fn audit_count(&self) -> u64 {
        govmedia_kit::audit::verify(self.routing_db.conn())
            .await
            .expect("audit chain intact")
    }
}

impl Drop for Suite {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A message left on `account` at `received` (an RFC 3339 time).
pub fn message(
    account: &str,
    platform_id: &str,
    text: &str,
    received: &str,
) -> pb::IncomingMessage {
    pb::IncomingMessage {
        account: format!("accounts/{account}"),
        platform_message_id: platform_id.into(),
        citizen_handle: "张三丰".into(),
        citizen_contact: "13812345678".into(),
        text: text.into(),
        category: pb::MessageCategory::Consult as i32,
        received_time: Some(timestamp(received)),
        region_code: "632801".into(),
    }
}

/// Submits `message` as `client`.
pub async fn submit(
    client: &mut Routing,
    message: pb::IncomingMessage,
) -> Result<pb::SubmitMessageResponse, tonic::Status> {
    client
        .submit_message(pb::SubmitMessageRequest {
            message: Some(message),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// The case of a response.
pub fn case_of(response: &pb::SubmitMessageResponse) -> pb::Case {
    response.case.clone().expect("a case")
}

/// The step actions of `case`, as names.
pub fn actions(case: &pb::Case) -> Vec<String> {
    case.steps
        .iter()
        .map(|step| {
            pb::CaseAction::try_from(step.action)
                .map(|a| {
                    a.as_str_name()
                        .trim_start_matches("CASE_ACTION_")
                        .to_owned()
                })
                .unwrap_or_default()
        })
        .collect()
}

/// The state of `case` as a name.
pub fn state(case: &pb::Case) -> String {
    pb::CaseState::try_from(case.state)
        .map(|s| s.as_str_name().trim_start_matches("CASE_STATE_").to_owned())
        .unwrap_or_default()
}
