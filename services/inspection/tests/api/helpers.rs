//! `Suite`: a registry and an inspection service on port 0, each with its own database, sharing
//! one event bus and one clock the test can move; a gateway in front.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use govmedia_gateway::GatewayConfig;
use govmedia_inspection::InspectionConfig;
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
    inspection::v1::{self as pb, inspection_service_client::InspectionServiceClient},
    registry::v1::{self as rpb, registry_service_client::RegistryServiceClient},
};
use govmedia_registry::RegistryConfig;
use govmedia_test_support::{Backend, TestBackends};
use tonic::{service::interceptor::InterceptedService, transport::Channel};

pub use govmedia_test_support::{assert_error, assert_invalid};

pub type Inspection = InspectionServiceClient<InterceptedService<Channel, Credentials>>;
pub type Ledger = RegistryServiceClient<InterceptedService<Channel, Credentials>>;

pub struct Suite {
    pub registry: SocketAddr,
    pub inspection: SocketAddr,
    /// The routing service, when the suite runs one.
    pub routing: Option<SocketAddr>,
    /// The filing service, when the suite runs one.
    pub filing: Option<SocketAddr>,
    pub gateway: SocketAddr,
    pub inspection_db: Db,
    pub bus: EventBus,
    pub keys: Arc<TokenKeys>,
    pub keyring: Keyring,
    pub backends: TestBackends,
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

/// The check point of every suite: the services' clock when the suite starts.
pub const NOW: &str = "2026-11-30T10:00:00+08:00";

impl Suite {
    /// A suite behind a gateway, its clock at `start`, its accounts opened then.
    pub async fn spawn(backend: Backend, start: &str) -> Suite {
        Self::spawn_with(backend, start, Peers::default()).await
    }

    /// [`Suite::spawn`], with the other services of `peers` that inspection reads (and that
    /// read it).
    pub async fn spawn_with(backend: Backend, start: &str, peers: Peers) -> Suite {
        let Peers { routing, filing } = peers;
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
        let inspection_db = Db::connect(&backends.database, "inspection")
            .await
            .expect("inspection db");
        inspection_db
            .migrate::<govmedia_inspection::Migrator>()
            .await
            .expect("migrate inspection");
        let (registry_listener, inspection_listener) = (port0().await, port0().await);
        let routing_listener = if routing { Some(port0().await) } else { None };
        let filing_listener = if filing { Some(port0().await) } else { None };
        let mut suite = Suite {
            registry: registry_listener.local_addr().expect("addr"),
            inspection: inspection_listener.local_addr().expect("addr"),
            routing: routing_listener
                .as_ref()
                .map(|listener| listener.local_addr().expect("addr")),
            filing: filing_listener
                .as_ref()
                .map(|listener| listener.local_addr().expect("addr")),
            gateway: "127.0.0.1:1".parse().expect("addr"),
            inspection_db: inspection_db.clone(),
            bus,
            keys,
            keyring,
            backends,
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
        if let Some(listener) = routing_listener {
            let routing_db = Db::connect(&suite.backends.database_for("routing"), "routing")
                .await
                .expect("routing db");
            routing_db
                .migrate::<govmedia_routing::Migrator>()
                .await
                .expect("migrate routing");
            let mut config = govmedia_routing::RoutingConfig {
                listen: listener.local_addr().expect("addr"),
                registry_endpoint: format!("http://{}", suite.registry),
                system_organization: "qinghai".into(),
                contact_key: "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
                ..Default::default()
            };
            config.publish.spool_dir = Some(suite.backends.dir().join("replies"));
            let context = suite.context(routing_db, "routing");
            let shutdown = suite.shutdown.clone();
            tokio::spawn(async move {
                govmedia_routing::serve(context, config, listener, shutdown)
                    .await
                    .expect("routing server");
            });
        }
        if let Some(listener) = filing_listener {
            let filing_db = Db::connect(&suite.backends.database_for("filing"), "filing")
                .await
                .expect("filing db");
            filing_db
                .migrate::<govmedia_filing::Migrator>()
                .await
                .expect("migrate filing");
            let config = govmedia_filing::FilingConfig {
                listen: listener.local_addr().expect("addr"),
                registry_endpoint: format!("http://{}", suite.registry),
                system_organization: "qinghai".into(),
                inspection_endpoint: format!("http://{}", suite.inspection),
                reminder_interval_ms: 50,
                apply_interval_ms: 50,
                apply_retry_initial_ms: 20,
                ..Default::default()
            };
            let context = suite.context(filing_db, "filing");
            let shutdown = suite.shutdown.clone();
            tokio::spawn(async move {
                govmedia_filing::serve(context, config, listener, shutdown)
                    .await
                    .expect("filing server");
            });
        }
        let config = suite.config();
        let context = suite.context(inspection_db, "inspection");
        let shutdown = suite.shutdown.clone();
        tokio::spawn(async move {
            govmedia_inspection::serve(context, config, inspection_listener, shutdown)
                .await
                .expect("inspection server");
        });
        suite.gateway = suite.start_gateway().await;
        suite.seed().await;
        suite
    }

    /// The inspection service's settings: the defaults.
    pub fn config(&self) -> InspectionConfig {
        InspectionConfig {
            listen: self.inspection,
            registry_endpoint: format!("http://{}", self.registry),
            system_organization: "qinghai".into(),
            registry_timeout_ms: 3_000,
            // No vendor service in any suite, a routing service in some: the detectors of an
            // absent service are not evaluated.
            routing_endpoint: self
                .routing
                .map(|addr| format!("http://{addr}"))
                .unwrap_or_default(),
            vendor_endpoint: String::new(),
            filing_endpoint: self
                .filing
                .map(|addr| format!("http://{addr}"))
                .unwrap_or_default(),
            // The daily run is not due in a test (its clock stays before 23:59); runs asked
            // for are taken at once.
            monitoring: govmedia_inspection::config::MonitoringConfig {
                daily_at: "23:59".into(),
                poll_ms: 50,
                ..Default::default()
            },
            // Feeds are looked for often; a poll gives up fast, a document is small.
            feeds: govmedia_inspection::config::FeedConfig {
                poll_ms: 50,
                timeout_ms: 1_000,
                max_bytes: 64 * 1024,
                ..Default::default()
            },
            // Order timers and re-checks are looked for often (a change also wakes the worker).
            rectification: govmedia_inspection::config::RectificationConfig {
                poll_ms: 50,
                ..Default::default()
            },
            ..InspectionConfig::default()
        }
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
            .insert("inspection".into(), format!("http://{}", self.inspection));
        if let Some(routing) = self.routing {
            config
                .upstreams
                .insert("routing".into(), format!("http://{routing}"));
        }
        if let Some(filing) = self.filing {
            config
                .upstreams
                .insert("filing".into(), format!("http://{filing}"));
        }
        let context = self.context(gateway_db, "gateway");
        let (shutdown, keys) = (self.shutdown.clone(), self.keys.clone());
        tokio::spawn(async move {
            govmedia_gateway::serve(context, config, keys, grpc, http, shutdown)
                .await
                .expect("gateway");
        });
        addr
    }

    async fn channel(&self) -> Channel {
        client::connect(&format!("http://{}", self.gateway))
            .await
            .expect("connect")
    }

    /// An inspection client for `subject` of `organization` with `roles`, through the gateway.
    pub async fn client(&self, subject: &str, organization: &str, roles: &[Role]) -> Inspection {
        let token = self
            .keys
            .issue(subject, organization, roles, Duration::from_secs(600))
            .expect("token");
        InspectionServiceClient::with_interceptor(
            self.channel().await,
            Credentials::bearer(&token).expect("creds"),
        )
    }

    /// The collector of Golmud's accounts: the monitoring platform of Golmud's management
    /// department, holding its supervisor role (posts are evidence; units do not deliver their
    /// own).
    pub async fn collector(&self) -> Inspection {
        self.client("collector", "golmud-office", &[Role::Supervisor])
            .await
    }

    /// A supervisor of Golmud's new-media management department.
    pub async fn supervisor(&self) -> Inspection {
        self.client("ma.supervisor", "golmud-office", &[Role::Supervisor])
            .await
    }

    /// A supervisor of the province, the suite's root.
    pub async fn root_supervisor(&self) -> Inspection {
        self.client("zhao.supervisor", "qinghai-office", &[Role::Supervisor])
            .await
    }

    /// A supervisor of Xining, another city.
    pub async fn xining_supervisor(&self) -> Inspection {
        self.client("sun.supervisor", "xining-office", &[Role::Supervisor])
            .await
    }

    /// A routing client for the collector of Golmud's accounts, through the gateway.
    pub async fn routing_collector(
        &self,
    ) -> govmedia_proto::routing::v1::routing_service_client::RoutingServiceClient<
        InterceptedService<Channel, Credentials>,
    > {
        self.routing_as("collector", "golmud", &[Role::Operator])
            .await
    }

    /// A routing client for `subject` of `organization` with `roles`, through the gateway.
    pub async fn routing_as(
        &self,
        subject: &str,
        organization: &str,
        roles: &[Role],
    ) -> govmedia_proto::routing::v1::routing_service_client::RoutingServiceClient<
        InterceptedService<Channel, Credentials>,
    > {
        let token = self
            .keys
            .issue(subject, organization, roles, Duration::from_secs(600))
            .expect("token");
        govmedia_proto::routing::v1::routing_service_client::RoutingServiceClient::with_interceptor(
            self.channel().await,
            Credentials::bearer(&token).expect("creds"),
        )
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

    /// qinghai → haixi → golmud (a county government) with golmud-office (its management
    /// department) and golmud-edu; qinghai → xining with xining-office and xining-edu. Active
    /// publishing accounts golmud-wechat, golmud-edu-wechat, xining-edu-weibo; golmud-service is
    /// an active service account; golmud-douyin is cancelled.
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
            ("xining", "qinghai", Municipal, Government, false),
            ("xining-office", "xining", Municipal, Department, true),
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
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await
                .unwrap_or_else(|status| panic!("seed {id}: {status:?}"));
        }
        let basis = "filings/paper-2020-17";
        let mut applying = self.ledger(Some(basis)).await;
        for (id, organization, platform, kind) in [
            (
                "golmud-wechat",
                "golmud",
                PlatformKind::WechatOfficialAccount,
                AccountKind::Publishing,
            ),
            (
                "golmud-edu-wechat",
                "golmud-edu",
                PlatformKind::WechatOfficialAccount,
                AccountKind::Publishing,
            ),
            (
                "golmud-service",
                "golmud",
                PlatformKind::MiniProgram,
                AccountKind::Service,
            ),
            (
                "golmud-douyin",
                "golmud",
                PlatformKind::Douyin,
                AccountKind::Publishing,
            ),
            (
                "xining-edu-weibo",
                "xining-edu",
                PlatformKind::Weibo,
                AccountKind::Publishing,
            ),
        ] {
            applying
                .create_account(rpb::CreateAccountRequest {
                    account_id: id.into(),
                    account: Some(rpb::Account {
                        organization: format!("organizations/{organization}"),
                        platform: platform as i32,
                        display_name: format!("{id} 账号"),
                        kind: kind as i32,
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
                        // A service link nothing answers on (the discard port).
                        homepage_url: if kind == AccountKind::Service {
                            "https://127.0.0.1:9/".into()
                        } else {
                            String::new()
                        },
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
            .cancel_account(rpb::CancelAccountRequest {
                name: "accounts/golmud-douyin".into(),
                filing: basis.into(),
                reason: "撤并".into(),
                ..Default::default()
            })
            .await
            .expect("cancel golmud-douyin");
        govmedia_test_support::serving(self.channel().await).await;
    }

    /// Number of posts stored, as a "did anything change" probe.
    pub async fn post_count(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        govmedia_inspection::store::entity::post::Entity::find()
            .count(self.inspection_db.conn())
            .await
            .expect("count")
    }

    /// Number of findings stored.
    pub async fn finding_count(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        govmedia_inspection::store::entity::finding::Entity::find()
            .count(self.inspection_db.conn())
            .await
            .expect("count")
    }
}

/// The services besides the registry and inspection that a suite runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Peers {
    /// Routing: citizens' messages, approved drafts, published replies.
    pub routing: bool,
    /// Filing: rosters, enforced closures and closure reports.
    pub filing: bool,
}

/// A filing client for `subject` of `organization` with `roles`, through the gateway.
pub type Filings = govmedia_proto::filing::v1::filing_service_client::FilingServiceClient<
    InterceptedService<Channel, Credentials>,
>;

impl Suite {
    /// A filing client for `subject` of `organization` with `roles`, through the gateway.
    pub async fn filing_as(&self, subject: &str, organization: &str, roles: &[Role]) -> Filings {
        let token = self
            .keys
            .issue(subject, organization, roles, Duration::from_secs(600))
            .expect("token");
        govmedia_proto::filing::v1::filing_service_client::FilingServiceClient::with_interceptor(
            self.channel().await,
            Credentials::bearer(&token).expect("creds"),
        )
    }
}

impl Drop for Suite {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A post of `account` published at `published` (an RFC 3339 time), original.
pub fn post(account: &str, platform_id: &str, published: &str, text: &str) -> pb::IncomingPost {
    pb::IncomingPost {
        account: format!("accounts/{account}"),
        platform_post_id: platform_id.into(),
        published_time: Some(govmedia_kit::clock::to_proto(at(published))),
        title: String::new(),
        text: text.into(),
        original: true,
        reads: 120,
        ..Default::default()
    }
}

/// Submits `posts` as one stream through `client`.
pub async fn stream(
    client: &mut Inspection,
    posts: Vec<pb::IncomingPost>,
) -> pb::SubmitPostsResponse {
    let requests = posts
        .into_iter()
        .map(|post| pb::SubmitPostsRequest { post: Some(post) });
    client
        .submit_posts(tokio_stream::iter(requests))
        .await
        .expect("stream accepted")
        .into_inner()
}

/// Runs a check of `account` under `scheme` (empty: national).
pub async fn check(client: &mut Inspection, account: &str, scheme: &str) -> pb::Check {
    client
        .run_check(pb::RunCheckRequest {
            account: format!("accounts/{account}"),
            scheme: scheme.into(),
            request_id: String::new(),
        })
        .await
        .unwrap_or_else(|status| panic!("check {account}: {status:?}"))
        .into_inner()
}

/// The item `id` of `check`.
pub fn item<'a>(check: &'a pb::Check, id: &str) -> &'a pb::CheckItem {
    check
        .items
        .iter()
        .find(|item| item.item == id)
        .unwrap_or_else(|| panic!("no item {id} in {check:?}"))
}
