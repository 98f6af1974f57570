//! `Suite`: a registry and a vendor service on port 0, each with its own database, sharing one
//! event bus and one clock the test can move; optionally a gateway in front of both.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use govmedia_filing::FilingConfig;
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
    common::v1::{AccountKind, AdministrativeLevel, Platform},
    filing::v1::{self as fpb, filing_service_client::FilingServiceClient},
    registry::v1::{self as rpb, registry_service_client::RegistryServiceClient},
    vendor::v1::{self as pb, vendor_service_client::VendorServiceClient},
};
use govmedia_registry::RegistryConfig;
use govmedia_test_support::{Backend, TestBackends};
use govmedia_vendor::{
    VendorConfig,
    config::{OversightConfig, PerformanceConfig, VettingConfig},
};
use tonic::{Status, service::interceptor::InterceptedService, transport::Channel};

pub use govmedia_test_support::{assert_error, assert_invalid};

pub type Vendors = VendorServiceClient<InterceptedService<Channel, Credentials>>;
pub type Ledger = RegistryServiceClient<InterceptedService<Channel, Credentials>>;
pub type Filings = FilingServiceClient<InterceptedService<Channel, Credentials>>;

/// Valid credit codes (GB 32100-2015 check characters).
pub const QINGYUN_CODE: &str = "91632801MA7QY0001G";
pub const HAIXI_MEDIA_CODE: &str = "91632801MA7QY0002K";
pub const XINING_CODE: &str = "91630100MA7XN0003A";
/// A university's (an assessor's employer).
pub const UNIVERSITY_CODE: &str = "12630000MB1234567A";

/// How the suite is started.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Put a gateway in front and talk through it.
    pub gateway: bool,
}

pub struct Suite {
    pub registry: SocketAddr,
    pub filing: SocketAddr,
    pub vendor: SocketAddr,
    pub gateway: Option<SocketAddr>,
    pub vendor_db: Db,
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

/// The instant every suite starts at: a working Monday morning in Golmud.
pub fn start_time() -> chrono::DateTime<chrono::Utc> {
    at("2026-06-01T09:00:00+08:00")
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
        let registry_db = Db::connect(&backends.database_for("registry"), "registry")
            .await
            .expect("registry db");
        registry_db
            .migrate::<govmedia_registry::Migrator>()
            .await
            .expect("migrate registry");
        let filing_db = Db::connect(&backends.database_for("filing"), "filing")
            .await
            .expect("filing db");
        filing_db
            .migrate::<govmedia_filing::Migrator>()
            .await
            .expect("migrate filing");
        let vendor_db = Db::connect(&backends.database, "vendor")
            .await
            .expect("vendor db");
        vendor_db
            .migrate::<govmedia_vendor::Migrator>()
            .await
            .expect("migrate vendor");
        let (registry_listener, filing_listener, vendor_listener) =
            (port0().await, port0().await, port0().await);
        let registry = registry_listener.local_addr().expect("addr");
        let filing = filing_listener.local_addr().expect("addr");
        let vendor = vendor_listener.local_addr().expect("addr");
        let mut suite = Suite {
            registry,
            filing,
            vendor,
            gateway: None,
            vendor_db: vendor_db.clone(),
            bus,
            keys,
            keyring,
            backends,
            time: ManualClock::new(start_time()),
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
        let config = FilingConfig {
            listen: filing,
            registry_endpoint: format!("http://{registry}"),
            system_organization: "qinghai".into(),
            apply_interval_ms: 50,
            apply_retry_initial_ms: 20,
            apply_retry_max_ms: 200,
            reminder_interval_ms: 1_000,
            ..FilingConfig::default()
        };
        let context = suite.context(filing_db, "filing");
        let shutdown = suite.shutdown.clone();
        tokio::spawn(async move {
            govmedia_filing::serve(context, config, filing_listener, shutdown)
                .await
                .expect("filing server");
        });
        let config = suite.config();
        let context = suite.context(vendor_db, "vendor");
        let shutdown = suite.shutdown.clone();
        tokio::spawn(async move {
            govmedia_vendor::serve(context, config, vendor_listener, shutdown)
                .await
                .expect("vendor server");
        });
        if options.gateway {
            suite.gateway = Some(suite.start_gateway().await);
        }
        suite.seed().await;
        suite
    }

    /// The vendor service's settings: a vetting passes at a mean of 80 with no dimension below
    /// 60, and counts for 180 days.
    pub fn config(&self) -> VendorConfig {
        VendorConfig {
            listen: self.vendor,
            registry_endpoint: format!("http://{}", self.registry),
            system_organization: "qinghai".into(),
            registry_timeout_ms: 3_000,
            filing_endpoint: format!("http://{}", self.filing),
            filing_timeout_ms: 3_000,
            workers: true,
            handover_interval_ms: 50,
            handover_retry_initial_ms: 20,
            handover_retry_max_ms: 200,
            handover_max_attempts: 1_000,
            vetting: VettingConfig {
                pass_threshold: 80,
                dimension_floor: 60,
                validity_days: 180,
            },
            // The tests run the daily evaluation by hand (`Suite::watch`).
            oversight: OversightConfig {
                expiring_within_days: 30,
                interval_ms: 3_600_000,
            },
            performance: PerformanceConfig::default(),
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
            .insert("filing".into(), format!("http://{}", self.filing));
        config
            .upstreams
            .insert("vendor".into(), format!("http://{}", self.vendor));
        let context = self.context(gateway_db, "gateway");
        let (shutdown, keys) = (self.shutdown.clone(), self.keys.clone());
        tokio::spawn(async move {
            govmedia_gateway::serve(context, config, keys, grpc, http, shutdown)
                .await
                .expect("gateway");
        });
        addr
    }

    /// What a caller sends to reach `service`: a govmedia token through the gateway when there
    /// is one, else the identity the gateway would have passed on.
    fn credential(
        &self,
        service: &str,
        subject: &str,
        organization: &str,
        roles: &[Role],
    ) -> String {
        if self.gateway.is_some() {
            self.keys
                .issue(subject, organization, roles, Duration::from_secs(600))
                .expect("token")
        } else {
            govmedia_test_support::identity_token(
                &self.keyring,
                "gateway",
                &govmedia_test_support::person(subject, organization, roles),
                service,
            )
        }
    }

    async fn channel(&self, service: SocketAddr) -> Channel {
        let addr = self.gateway.unwrap_or(service);
        client::connect(&format!("http://{addr}"))
            .await
            .expect("connect")
    }

    /// A vendor-service client for `subject` of `organization` with `roles`.
    pub async fn vendors(&self, subject: &str, organization: &str, roles: &[Role]) -> Vendors {
        let token = self.credential("vendor", subject, organization, roles);
        VendorServiceClient::with_interceptor(
            self.channel(self.vendor).await,
            Credentials::bearer(&token).expect("creds"),
        )
    }

    /// A supervisor of Golmud's management department (golmud-office).
    pub async fn golmud(&self) -> Vendors {
        self.vendors("wang.supervisor", "golmud-office", &[Role::Supervisor])
            .await
    }

    /// A supervisor of Qinghai's management department (qinghai-office), above Golmud.
    pub async fn province(&self) -> Vendors {
        self.vendors("ma.supervisor", "qinghai-office", &[Role::Supervisor])
            .await
    }

    /// A supervisor of Xining's management department (xining-office), Golmud's sibling.
    pub async fn xining(&self) -> Vendors {
        self.vendors("han.supervisor", "xining-office", &[Role::Supervisor])
            .await
    }

    /// The operator of golmud-edu.
    pub async fn operator(&self) -> Vendors {
        self.vendors("zhang.operator", "golmud-edu", &[Role::Operator])
            .await
    }

    /// A filing-service client for `subject` of `organization` with `role`.
    pub async fn filings(&self, subject: &str, organization: &str, role: Role) -> Filings {
        let token = self.credential("filing", subject, organization, &[role]);
        FilingServiceClient::with_interceptor(
            self.channel(self.filing).await,
            Credentials::bearer(&token).expect("creds"),
        )
    }

    /// A registry client reading as a supervisor of Golmud.
    pub async fn golmud_ledger(&self) -> Ledger {
        let token = self.credential(
            "registry",
            "wang.supervisor",
            "golmud-office",
            &[Role::Supervisor],
        );
        RegistryServiceClient::with_interceptor(
            self.channel(self.registry).await,
            Credentials::bearer(&token).expect("creds"),
        )
    }

    /// The vendor `id` itself, with a VENDOR credential.
    pub async fn as_vendor(&self, id: &str) -> Vendors {
        self.vendors("staff", id, &[Role::Vendor]).await
    }

    /// The registry, as the filing service would call it (seeding), applying `basis` when given:
    /// how a ledger kept before govmedia, or a change made behind the suite's back, gets there.
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

    /// qinghai (qinghai-office) → haixi → golmud (golmud-office) → golmud-edu (whose principal
    /// leader is li.leader) and golmud-health; qinghai → xining (xining-office) → xining-edu.
    /// Accounts, registered before govmedia and active: golmud-edu-wechat, golmud-edu-douyin,
    /// golmud-health-weibo, xining-edu-weibo.
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
                        principal_leader: if id == "golmud-edu" {
                            "li.leader".into()
                        } else {
                            "leader".into()
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
                "golmud-edu-wechat",
                "golmud-edu",
                Platform::WechatOfficialAccount,
            ),
            ("golmud-edu-douyin", "golmud-edu", Platform::Douyin),
            ("golmud-health-weibo", "golmud-health", Platform::Weibo),
            ("xining-edu-weibo", "xining-edu", Platform::Weibo),
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
        if self.gateway.is_some() {
            self.wait_for_gateway().await;
        }
    }

    async fn wait_for_gateway(&self) {
        govmedia_test_support::serving(self.channel(self.vendor).await).await;
    }

    /// The daily oversight evaluation on the vendor database, for tests that run a pass by hand.
    pub fn watch(&self) -> govmedia_vendor::oversight::Watch {
        let writer = govmedia_kit::unit::Writer::new(
            self.vendor_db.clone(),
            govmedia_kit::events::outbox::OutboxSignal::default(),
            govmedia_vendor::events::STREAM,
            self.time.clock(),
        );
        let config = self.config();
        let registry = govmedia_vendor::grpc::registry(
            &config,
            Arc::new(self.keyring.identity("vendor").expect("identity")),
        )
        .expect("registry client");
        govmedia_vendor::oversight::Watch::new(writer, registry, config.oversight)
    }

    /// Number of vendors stored, as a "did anything change" probe.
    pub async fn vendor_count(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        govmedia_vendor::store::entity::vendor::Entity::find()
            .count(self.vendor_db.conn())
            .await
            .expect("count")
    }

    /// Number of audit records of the vendor service (the chain verified on the way).
    pub async fn audit_count(&self) -> u64 {
        govmedia_kit::audit::verify(self.vendor_db.conn())
            .await
            .expect("audit chain intact")
    }
}

impl Drop for Suite {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A vendor to register.
pub fn new_vendor(display_name: &str, code: &str) -> pb::Vendor {
    pb::Vendor {
        display_name: display_name.into(),
        unified_social_credit_code: code.into(),
        contacts: vec![pb::VendorContact {
            display_name: "李明".into(),
            title: "项目经理".into(),
            phone: "0979-8412345".into(),
            email: "li.ming@qingyun-media.cn".into(),
        }],
        ..Default::default()
    }
}

/// Registers `vendor` as `client` under `id`.
pub async fn create(
    client: &mut Vendors,
    id: &str,
    vendor: pb::Vendor,
) -> Result<pb::Vendor, Status> {
    client
        .create_vendor(pb::CreateVendorRequest {
            vendor_id: id.into(),
            vendor: Some(vendor),
            request_id: String::new(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Two outside assessors.
pub fn assessors() -> Vec<pb::Assessor> {
    vec![
        pb::Assessor {
            display_name: "赵教授".into(),
            affiliation: "青海大学新闻传播学院".into(),
            affiliation_credit_code: UNIVERSITY_CODE.into(),
        },
        pb::Assessor {
            display_name: "钱主任".into(),
            affiliation: "格尔木市委网信办".into(),
            affiliation_credit_code: String::new(),
        },
    ]
}

/// The four dimension scores, in dimension order.
pub fn scores(values: [i32; 4]) -> Vec<pb::DimensionScore> {
    [
        pb::VettingDimension::Dissemination,
        pb::VettingDimension::MediaOperation,
        pb::VettingDimension::PoliticalSensitivity,
        pb::VettingDimension::PolicyUnderstanding,
    ]
    .into_iter()
    .zip(values)
    .map(|(dimension, score)| pb::DimensionScore {
        dimension: dimension as i32,
        score,
        comment: "现场考察与材料审查".into(),
    })
    .collect()
}

/// Records a vetting of `id` with `values` by the two usual assessors.
pub async fn vet(client: &mut Vendors, id: &str, values: [i32; 4]) -> Result<pb::Vetting, Status> {
    client
        .record_vetting(pb::RecordVettingRequest {
            vendor: format!("vendors/{id}"),
            vetting: Some(pb::Vetting {
                assessors: assessors(),
                scores: scores(values),
                summary: "具备代运营能力".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Approves `id`.
pub async fn approve(client: &mut Vendors, id: &str) -> Result<pb::Vendor, Status> {
    client
        .approve_vendor(pb::ApproveVendorRequest {
            name: format!("vendors/{id}"),
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Reads `id`.
pub async fn get(client: &mut Vendors, id: &str) -> Result<pb::Vendor, Status> {
    client
        .get_vendor(pb::GetVendorRequest {
            name: format!("vendors/{id}"),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// A business licence valid for the year.
pub fn licence() -> pb::Qualification {
    pb::Qualification {
        r#type: pb::QualificationType::BusinessLicense as i32,
        number: "632801000012345".into(),
        issuer: "格尔木市市场监督管理局".into(),
        valid_from: Some(timestamp("2026-01-01T00:00:00+08:00")),
        valid_until: Some(timestamp("2027-01-01T00:00:00+08:00")),
        file: Some(pb::FileReference {
            uri: "dms://vendors/qingyun/营业执照.pdf".into(),
            sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        }),
        ..Default::default()
    }
}

/// The operator of golmud-edu delegates `accounts` to `vendor` for a year from the start time,
/// with `scope`.
pub fn delegation(vendor: &str, accounts: &[&str], scope: pb::DelegationScope) -> pb::Delegation {
    pb::Delegation {
        vendor: format!("vendors/{vendor}"),
        organization: "organizations/golmud-edu".into(),
        accounts: accounts.iter().map(|a| format!("accounts/{a}")).collect(),
        scope: scope as i32,
        start_time: Some(govmedia_kit::clock::to_proto(start_time())),
        end_time: Some(govmedia_kit::clock::to_proto(
            start_time() + chrono::Duration::days(365),
        )),
        unit_reviewer: Some(pb::Reviewer {
            display_name: "张丽".into(),
            title: "宣传科科长".into(),
            phone: "0979-8412345".into(),
            departed: false,
        }),
        review_mechanism: "稿件由代运营机构起草,宣传科科长初审、分管领导终审后发布(三审三校)"
            .into(),
        ..Default::default()
    }
}

/// Creates `delegation` as `client` under `id`.
pub async fn delegate(
    client: &mut Vendors,
    id: &str,
    delegation: pb::Delegation,
) -> Result<pb::Delegation, Status> {
    client
        .create_delegation(pb::CreateDelegationRequest {
            delegation_id: id.into(),
            delegation: Some(delegation),
            request_id: String::new(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Registers, vets and approves `id` in Golmud.
pub async fn approved_vendor(suite: &Suite, id: &str, name: &str, code: &str) {
    let mut golmud = suite.golmud().await;
    create(&mut golmud, id, new_vendor(name, code))
        .await
        .expect("register");
    vet(&mut golmud, id, [90, 90, 90, 90]).await.expect("vet");
    approve(&mut golmud, id).await.expect("approve");
}

/// The filing `name` as golmud-edu's leader reads it, once it is submitted.
pub async fn submitted(suite: &Suite, name: &str) -> fpb::Filing {
    let leader = suite.filings("li.leader", "golmud-edu", Role::Leader).await;
    govmedia_test_support::eventually(
        "the handover filing to be submitted",
        Duration::from_secs(20),
        || {
            let mut leader = leader.clone();
            async move {
                let filing = leader
                    .get_filing(fpb::GetFilingRequest {
                        name: name.to_owned(),
                    })
                    .await
                    .ok()?
                    .into_inner();
                (filing.state == fpb::FilingState::Submitted as i32).then_some(filing)
            }
        },
    )
    .await
}

/// Golmud-edu's leader consents to the filing `name`, and Golmud's management department
/// accepts it (or rejects it, with `accept` false).
pub async fn decide(suite: &Suite, name: &str, accept: bool) {
    submitted(suite, name).await;
    suite
        .filings("li.leader", "golmud-edu", Role::Leader)
        .await
        .consent_filing(fpb::ConsentFilingRequest {
            name: name.into(),
            comment: "同意".into(),
            ..Default::default()
        })
        .await
        .expect("consent");
    let mut office = suite
        .filings("wang.supervisor", "golmud-office", Role::Supervisor)
        .await;
    if accept {
        office
            .accept_filing(fpb::AcceptFilingRequest {
                name: name.into(),
                comment: "准予备案".into(),
                ..Default::default()
            })
            .await
            .expect("accept");
    } else {
        office
            .reject_filing(fpb::RejectFilingRequest {
                name: name.into(),
                comment: "委托材料不全".into(),
                ..Default::default()
            })
            .await
            .expect("reject");
    }
}

/// Waits until the delegation `id`, as golmud-edu's operator reads it, satisfies `done`.
pub async fn delegation_when(
    suite: &Suite,
    id: &str,
    what: &str,
    done: impl Fn(&pb::Delegation) -> bool,
) -> pb::Delegation {
    let operator = suite.operator().await;
    let done = &done;
    govmedia_test_support::eventually(what, Duration::from_secs(20), || {
        let mut operator = operator.clone();
        async move {
            let delegation = operator
                .get_delegation(pb::GetDelegationRequest {
                    name: format!("delegations/{id}"),
                })
                .await
                .ok()?
                .into_inner();
            done(&delegation).then_some(delegation)
        }
    })
    .await
}

/// The operator of `account` as the ledger says: `(type, vendor)`.
pub async fn operator_of(suite: &Suite, account: &str) -> (i32, String) {
    let account = suite
        .golmud_ledger()
        .await
        .get_account(rpb::GetAccountRequest {
            name: format!("accounts/{account}"),
        })
        .await
        .expect("account")
        .into_inner();
    let operator = account.operator.unwrap_or_default();
    (operator.r#type, operator.vendor)
}
