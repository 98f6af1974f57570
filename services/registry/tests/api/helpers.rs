//! `TestApp`: a registry on port 0 with its own database, plus clients and a seeded tree.

use std::net::SocketAddr;

use govmedia_kit::{
    CancellationToken,
    auth::{Principal, Role},
    client::{self, Credentials},
    db::Db,
    events::EventBus,
    identity::Keyring,
    server,
};
use govmedia_proto::{
    common::v1::{AdministrativeLevel, Platform},
    registry::v1::{self as pb, registry_service_client::RegistryServiceClient},
};
use govmedia_registry::{Migrator, RegistryConfig};
use govmedia_test_support::{Backend, TestBackends};
use tonic::{Status, service::interceptor::InterceptedService, transport::Channel};

pub type Client = RegistryServiceClient<InterceptedService<Channel, Credentials>>;

pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Db,
    pub bus: EventBus,
    /// Every service's keys, as `govmedia dev` holds them.
    pub keyring: Keyring,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<()>>,
    _backends: TestBackends,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, RegistryConfig::default()).await
    }

    /// A registry with `config` (its listen address is ignored: port 0).
    pub async fn spawn_with(backend: Backend, config: RegistryConfig) -> TestApp {
        let backends = TestBackends::new(backend).await;
        let db = Db::connect(&backends.database, "registry")
            .await
            .expect("database");
        db.migrate::<Migrator>().await.expect("migrations");
        let bus = EventBus::from_settings(&backends.redis, backends.events.max_stream_len)
            .await
            .expect("bus");
        let keyring = govmedia_test_support::keyring();
        let listener = server::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let context = backends.context(
            db.clone(),
            &bus,
            &keyring,
            "registry",
            govmedia_kit::clock::Clock::system(),
        );
        let server = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                govmedia_registry::serve(context, config, listener, shutdown)
                    .await
                    .expect("registry server");
            }
        });
        TestApp {
            addr,
            db,
            bus,
            keyring,
            shutdown,
            server: Some(server),
            _backends: backends,
        }
    }

    /// The identity the gateway passes on for a person of `organization` with `roles`.
    pub fn token(&self, subject: &str, organization: &str, roles: &[Role]) -> String {
        govmedia_test_support::identity_token(
            &self.keyring,
            "gateway",
            &govmedia_test_support::person(subject, organization, roles),
            "registry",
        )
    }

    /// A client speaking as `principal`, its identity signed by `service`.
    pub async fn client_as(&self, service: &str, principal: &Principal) -> Client {
        let token =
            govmedia_test_support::identity_token(&self.keyring, service, principal, "registry");
        self.client_with_token(&token).await
    }

    pub async fn channel(&self) -> Channel {
        client::connect(&format!("http://{}", self.addr))
            .await
            .expect("connect")
    }

    /// A client with a raw token (empty: no credentials).
    pub async fn client_with_token(&self, token: &str) -> Client {
        RegistryServiceClient::with_interceptor(
            self.channel().await,
            Credentials::bearer(token).expect("creds"),
        )
    }

    pub async fn client(&self, organization: &str, roles: &[Role]) -> Client {
        let subject = format!(
            "{}@{organization}",
            roles.first().map_or("nobody", |r| r.as_str())
        );
        self.client_with_token(&self.token(&subject, organization, roles))
            .await
    }

    /// The filing service on its own account at the root of the seeded tree (seeding,
    /// custody, activity).
    pub async fn system(&self) -> Client {
        self.client_as("filing", &self.service("filing", None))
            .await
    }

    /// The filing service applying `filing` (`filings/{id}`): the only caller whose lifecycle
    /// changes the registry takes.
    pub async fn applying(&self, filing: &str) -> Client {
        self.client_as("filing", &self.service("filing", Some(filing)))
            .await
    }

    /// `service`'s own identity at the root, naming `basis`.
    pub fn service(&self, service: &str, basis: Option<&str>) -> Principal {
        Principal {
            basis: basis.map(str::to_owned),
            ..self
                .keyring
                .identity(service)
                .expect("identity")
                .own_principal("qinghai")
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.await.expect("server task");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub fn org(
    parent: &str,
    name: &str,
    level: AdministrativeLevel,
    kind: pb::OrganizationKind,
) -> pb::Organization {
    pb::Organization {
        parent: if parent.is_empty() {
            String::new()
        } else {
            format!("organizations/{parent}")
        },
        display_name: name.to_owned(),
        level: level as i32,
        kind: kind as i32,
        ..pb::Organization::default()
    }
}

pub async fn create_org(
    client: &mut Client,
    id: &str,
    organization: pb::Organization,
) -> pb::Organization {
    client
        .create_organization(pb::CreateOrganizationRequest {
            organization_id: id.to_owned(),
            organization: Some(organization),
            request_id: String::new(),
        })
        .await
        .unwrap_or_else(|status| panic!("create {id}: {status:?}"))
        .into_inner()
}

/// qinghai (province) → haixi (prefecture) → golmud (county-level city) → golmud-office
/// (management department, must have an account), golmud-edu (department, must have one);
/// qinghai → xining (a sibling subtree).
pub async fn seed_tree(app: &TestApp) {
    use AdministrativeLevel::{County, Municipal, Provincial};
    use pb::OrganizationKind::{Department, Government};
    let mut system = app.system().await;
    create_org(
        &mut system,
        "qinghai",
        org("", "青海省人民政府", Provincial, Government),
    )
    .await;
    create_org(
        &mut system,
        "haixi",
        org(
            "qinghai",
            "海西蒙古族藏族自治州人民政府",
            Municipal,
            Government,
        ),
    )
    .await;
    create_org(
        &mut system,
        "xining",
        org("qinghai", "西宁市人民政府", Municipal, Government),
    )
    .await;
    // County-and-above governments and their departments must have an account (R-04, derived).
    let golmud = org("haixi", "格尔木市人民政府", County, Government);
    create_org(&mut system, "golmud", golmud).await;
    let mut office = org("golmud", "格尔木市人民政府办公室", County, Department);
    office.management_department = true;
    create_org(&mut system, "golmud-office", office).await;
    let edu = org("golmud", "格尔木市教育局", County, Department);
    create_org(&mut system, "golmud-edu", edu).await;
}

pub fn new_account(organization: &str, platform: Platform, name: &str) -> pb::Account {
    pb::Account {
        organization: format!("organizations/{organization}"),
        platform: platform as i32,
        display_name: name.to_owned(),
        kind: govmedia_proto::common::v1::AccountKind::Publishing as i32,
        operator: Some(pb::Operator {
            r#type: pb::OperatorType::Self_ as i32,
            vendor: String::new(),
        }),
        responsible_person: Some(pb::Contact {
            name: "王敏".to_owned(),
            title: "办公室主任".to_owned(),
            phone: "0979-8412345".to_owned(),
        }),
        verified_subject: "格尔木市教育局".to_owned(),
        ..pb::Account::default()
    }
}

pub async fn create_account(
    client: &mut Client,
    id: &str,
    account: pb::Account,
) -> Result<pb::Account, Status> {
    client
        .create_account(pb::CreateAccountRequest {
            account_id: id.to_owned(),
            account: Some(account),
            filing: format!("filings/open-{id}"),
            request_id: String::new(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Registers `account` as the filing service applying `filings/open-{id}` does.
pub async fn open_account(
    app: &TestApp,
    id: &str,
    account: pb::Account,
) -> Result<pb::Account, Status> {
    let mut client = app.applying(&format!("filings/open-{id}")).await;
    create_account(&mut client, id, account).await
}

/// Binds the platform id of `id`, as the filing service applying `filings/open-{id}` does.
pub async fn activate(app: &TestApp, id: &str, platform_id: &str) -> Result<pb::Account, Status> {
    let mut client = app.applying(&format!("filings/open-{id}")).await;
    activate_with(&mut client, id, platform_id).await
}

/// Binds the platform id of `id` with `client`, citing `filings/open-{id}`.
pub async fn activate_with(
    client: &mut Client,
    id: &str,
    platform_id: &str,
) -> Result<pb::Account, Status> {
    client
        .activate_account(pb::ActivateAccountRequest {
            name: format!("accounts/{id}"),
            platform_account_id: platform_id.to_owned(),
            filing: format!("filings/open-{id}"),
            etag: String::new(),
            request_id: String::new(),
        })
        .await
        .map(tonic::Response::into_inner)
}

pub use govmedia_test_support::{assert_error, assert_invalid};

/// Number of audit records, as a cheap "did anything change" probe.
pub async fn audit_count(app: &TestApp) -> u64 {
    govmedia_kit::audit::verify(app.db.conn())
        .await
        .expect("audit chain intact")
}
