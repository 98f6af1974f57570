//! `Suite`: a registry and a gateway in front of it, seeded with a small tree.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use govmedia_gateway::GatewayConfig;
use govmedia_kit::{
    CancellationToken,
    auth::{DEV_JWT_SECRET, Principal, Role, TokenKeys},
    client::{self, Credentials},
    db::Db,
    events::EventBus,
    identity::Keyring,
    server,
};
use govmedia_proto::{
    common::v1::{AccountKind, AdministrativeLevel, Platform},
    registry::v1::{self as pb, registry_service_client::RegistryServiceClient},
};
use govmedia_registry::RegistryConfig;
use govmedia_test_support::{Backend, TestBackends};
use tonic::{service::interceptor::InterceptedService, transport::Channel};

pub type Client = RegistryServiceClient<InterceptedService<Channel, Credentials>>;

pub struct Suite {
    pub gateway: SocketAddr,
    pub http: SocketAddr,
    pub registry: SocketAddr,
    pub gateway_db: Db,
    pub registry_db: Db,
    pub bus: EventBus,
    pub backends: TestBackends,
    /// The secret of govmedia tokens, which outside callers present to the gateway.
    pub keys: Arc<TokenKeys>,
    /// Every service's identity keys.
    pub keyring: Keyring,
    shutdown: CancellationToken,
}

impl Suite {
    /// Starts a seeded registry and a gateway configured by `tweak`.
    pub async fn spawn(backend: Backend, tweak: impl FnOnce(&mut GatewayConfig)) -> Suite {
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
            .expect("migrate");
        let listener = server::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let registry = listener.local_addr().expect("addr");
        serve_registry(
            &registry_db,
            &bus,
            &keyring,
            &backends,
            listener,
            shutdown.clone(),
        );

        let gateway_db = Db::connect(&backends.database_for("gateway"), "gateway")
            .await
            .expect("gateway db");
        gateway_db
            .migrate::<govmedia_gateway::Migrator>()
            .await
            .expect("migrate");
        let grpc = server::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let http = server::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let (gateway, http_addr) = (
            grpc.local_addr().expect("addr"),
            http.local_addr().expect("addr"),
        );
        let mut config = GatewayConfig {
            listen: gateway,
            http_listen: http_addr,
            api_key_cache_secs: 0,
            health_interval_ms: 100,
            ..GatewayConfig::default()
        };
        // Only the registry runs here; the default filing upstream would never be healthy.
        config.upstreams.clear();
        config
            .upstreams
            .insert("registry".into(), format!("http://{registry}"));
        tweak(&mut config);
        let context = backends.context(
            gateway_db.clone(),
            &bus,
            &keyring,
            "gateway",
            govmedia_kit::clock::Clock::system(),
        );
        tokio::spawn({
            let (shutdown, keys) = (shutdown.clone(), keys.clone());
            async move {
                govmedia_gateway::serve(context, config, keys, grpc, http, shutdown)
                    .await
                    .expect("gateway");
            }
        });
        let suite = Suite {
            gateway,
            http: http_addr,
            registry,
            gateway_db,
            registry_db,
            bus,
            backends,
            keys,
            keyring,
            shutdown,
        };
        suite.seed().await;
        suite
    }

    pub fn token(&self, subject: &str, organization: &str, roles: &[Role]) -> String {
        self.keys
            .issue(subject, organization, roles, Duration::from_secs(600))
            .expect("token")
    }

    pub async fn channel(&self) -> Channel {
        client::connect(&format!("http://{}", self.gateway))
            .await
            .expect("connect")
    }

    /// A registry client through the gateway with a raw credential (empty: none).
    pub async fn client_with(&self, token: &str) -> Client {
        RegistryServiceClient::with_interceptor(
            self.channel().await,
            Credentials::bearer(token).expect("creds"),
        )
    }

    /// A registry client through the gateway.
    pub async fn client(&self, organization: &str, roles: &[Role]) -> Client {
        let subject = format!(
            "{}@{organization}",
            roles.first().map_or("nobody", |r| r.as_str())
        );
        self.client_with(&self.token(&subject, organization, roles))
            .await
    }

    /// qinghai → haixi → golmud → golmud-edu (with an account), qinghai → xining → xining-edu
    /// (with an account); created directly on the registry.
    /// A client of the registry itself (not through the gateway) acting as the filing service,
    /// which writes the ledger, citing the filing `basis`.
    pub async fn registry_as_filing(
        &self,
        basis: Option<String>,
    ) -> RegistryServiceClient<InterceptedService<Channel, Credentials>> {
        let channel = client::connect(&format!("http://{}", self.registry))
            .await
            .expect("connect");
        let principal = Principal {
            basis,
            ..self
                .keyring
                .identity("filing")
                .expect("identity")
                .own_principal("qinghai")
        };
        let token =
            govmedia_test_support::identity_token(&self.keyring, "filing", &principal, "registry");
        RegistryServiceClient::with_interceptor(
            channel,
            Credentials::bearer(&token).expect("creds"),
        )
    }

    /// Serves the suite's registry (its database and bus) on `listener` until `shutdown`.
    pub fn serve_registry(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<Result<(), govmedia_kit::server::ServerError>> {
        serve_registry(
            &self.registry_db,
            &self.bus,
            &self.keyring,
            &self.backends,
            listener,
            shutdown,
        )
    }

    async fn seed(&self) {
        let mut registry = self.registry_as_filing(None).await;
        use AdministrativeLevel::{County, Municipal, Provincial};
        use pb::OrganizationKind::{Department, Government};
        for (id, parent, level, kind) in [
            ("qinghai", "", Provincial, Government),
            ("haixi", "qinghai", Municipal, Government),
            ("golmud", "haixi", County, Government),
            ("golmud-edu", "golmud", County, Department),
            ("xining", "qinghai", Municipal, Government),
            ("xining-edu", "xining", Municipal, Department),
        ] {
            registry
                .create_organization(pb::CreateOrganizationRequest {
                    organization_id: id.into(),
                    organization: Some(pb::Organization {
                        parent: if parent.is_empty() {
                            String::new()
                        } else {
                            format!("organizations/{parent}")
                        },
                        display_name: format!("{id} 单位"),
                        level: level as i32,
                        kind: kind as i32,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await
                .expect("seed organization");
        }
        for (id, org) in [
            ("golmud-edu-wechat", "golmud-edu"),
            ("xining-edu-wechat", "xining-edu"),
        ] {
            self.registry_as_filing(Some(format!("filings/open-{id}")))
                .await
                .create_account(pb::CreateAccountRequest {
                    account_id: id.into(),
                    account: Some(account(org, Platform::WechatOfficialAccount)),
                    filing: format!("filings/open-{id}"),
                    request_id: String::new(),
                })
                .await
                .expect("seed account");
        }
        // Wait until the gateway has seen the registry healthy.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let mut health = tonic_health::pb::health_client::HealthClient::new(self.channel().await);
        loop {
            let status = health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .map(|r| r.into_inner().status)
                .ok();
            if status
                == Some(tonic_health::pb::health_check_response::ServingStatus::Serving as i32)
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the gateway never saw the registry healthy"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Another gateway replica on the same database and bus (so, on Redis, the same rate
    /// budgets), configured by `tweak`; returns its gRPC and HTTP addresses. It stops with the
    /// suite.
    pub async fn extra_gateway(
        &self,
        tweak: impl FnOnce(&mut GatewayConfig),
    ) -> (SocketAddr, SocketAddr) {
        let grpc = server::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let http = server::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let addrs = (
            grpc.local_addr().expect("addr"),
            http.local_addr().expect("addr"),
        );
        let mut config = GatewayConfig {
            listen: addrs.0,
            http_listen: addrs.1,
            api_key_cache_secs: 0,
            health_interval_ms: 100,
            ..GatewayConfig::default()
        };
        config.upstreams.clear();
        config
            .upstreams
            .insert("registry".into(), format!("http://{}", self.registry));
        tweak(&mut config);
        let context = self.backends.context(
            self.gateway_db.clone(),
            &self.bus,
            &self.keyring,
            "gateway",
            govmedia_kit::clock::Clock::system(),
        );
        tokio::spawn({
            let (shutdown, keys) = (self.shutdown.clone(), self.keys.clone());
            async move {
                govmedia_gateway::serve(context, config, keys, grpc, http, shutdown)
                    .await
                    .expect("gateway");
            }
        });
        addrs
    }

    /// Writes API keys straight into the gateway's database, as `govmedia apikey` does.
    pub fn key_writer(&self) -> govmedia_kit::unit::Writer {
        govmedia_gateway::apikeys::writer(&self.gateway_db, govmedia_kit::clock::Clock::system())
    }

    /// Issues an API key directly in the gateway's database.
    pub async fn api_key(&self, organization: &str, roles: &[Role]) -> (String, String) {
        let operator = operator();
        let (record, key) = govmedia_gateway::apikeys::issue(
            &self.key_writer(),
            &operator,
            govmedia_gateway::apikeys::NewKey {
                display_name: "12345 热线".into(),
                organization: organization.into(),
                roles: roles.iter().copied().collect(),
                valid_for: None,
            },
        )
        .await
        .expect("issue key");
        (record.id, key)
    }
}

/// Who issues and revokes keys on the command line.
fn serve_registry(
    db: &Db,
    bus: &EventBus,
    keyring: &Keyring,
    backends: &TestBackends,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<Result<(), govmedia_kit::server::ServerError>> {
    let context = backends.context(
        db.clone(),
        bus,
        keyring,
        "registry",
        govmedia_kit::clock::Clock::system(),
    );
    tokio::spawn(govmedia_registry::serve(
        context,
        RegistryConfig::default(),
        listener,
        shutdown,
    ))
}

pub fn operator() -> Principal {
    Principal {
        subject: "test-operator".into(),
        organization: "ops".into(),
        roles: [Role::System].into(),
        issuer: "govmedia-cli".into(),
        service: Some("cli".into()),
        basis: None,
    }
}

/// A write an outside caller may make: the custodian of `account`'s credentials.
pub fn custody_write(account: &str, custodian: &str) -> pb::UpdateCredentialCustodyRequest {
    pb::UpdateCredentialCustodyRequest {
        credential_custody: Some(pb::CredentialCustody {
            name: format!("accounts/{account}/credentialCustody"),
            custodian_name: custodian.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["custodian_name".into()],
        }),
        allow_missing: true,
        request_id: String::new(),
    }
}

impl Drop for Suite {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A valid new account of `organization`.
pub fn account(organization: &str, platform: Platform) -> pb::Account {
    pb::Account {
        organization: format!("organizations/{organization}"),
        platform: platform as i32,
        display_name: "教育发布".into(),
        kind: AccountKind::Publishing as i32,
        operator: Some(pb::Operator {
            r#type: pb::OperatorType::Self_ as i32,
            vendor: String::new(),
        }),
        responsible_person: Some(pb::Contact {
            name: "王敏".into(),
            title: "主任".into(),
            phone: "0979-8412345".into(),
        }),
        ..Default::default()
    }
}

pub use govmedia_test_support::assert_error;

/// One HTTP/1.1 exchange; returns the status and the body as JSON (or a string).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, serde_json::Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes())
        .await
        .expect("write");
    let mut raw = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut raw)
        .await
        .expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = serde_json::from_str(body).unwrap_or(serde_json::Value::String(body.to_owned()));
    (status, body)
}

/// A gRPC message frame (uncompressed) around `message`.
/// Opens a raw HTTP/2 call of `path` on a connection of its own to the gateway, as `token`:
/// the response to come and the request body's stream (still open).
pub async fn raw_h2_call(
    suite: &Suite,
    path: &str,
    token: &str,
) -> (h2::client::ResponseFuture, h2::SendStream<bytes::Bytes>) {
    let tcp = tokio::net::TcpStream::connect(suite.gateway)
        .await
        .expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await.expect("handshake");
    tokio::spawn(connection);
    let mut client = client.ready().await.expect("ready");
    let request = http::Request::post(format!("http://{}{path}", suite.gateway))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .expect("request");
    client.send_request(request, false).expect("send")
}

pub fn grpc_frame(message: &impl prost::Message) -> bytes::Bytes {
    let encoded = message.encode_to_vec();
    let mut frame = bytes::BytesMut::with_capacity(5 + encoded.len());
    bytes::BufMut::put_u8(&mut frame, 0);
    bytes::BufMut::put_u32(&mut frame, u32::try_from(encoded.len()).expect("length"));
    bytes::BufMut::put_slice(&mut frame, &encoded);
    frame.freeze()
}
