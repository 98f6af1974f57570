use std::{
    path::PathBuf,
    time::{SystemTime, UNIX_EPOCH},
};

use govmedia_gateway::config::{ExternalJwtConfig, PublicKeyConfig};
use govmedia_kit::{
    auth::{DEV_JWT_SECRET, Role},
    client::Credentials,
};
use govmedia_proto::registry::v1::{self as pb, registry_service_client::RegistryServiceClient};
use govmedia_test_support::{Backend, backend_test};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tonic::{Code, service::interceptor::InterceptedService, transport::Channel};
use tonic_types::StatusExt as _;

use crate::helpers::{Suite, assert_error, custody_write, operator};

const ISSUER: &str = "https://idp.example.gov.cn";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn external(config: &mut govmedia_gateway::GatewayConfig) {
    config.jwt = ExternalJwtConfig {
        issuer: Some(ISSUER.into()),
        audience: Some("govmedia".into()),
        jwks_file: Some(fixture("jwks.json")),
        public_keys: vec![
            PublicKeyConfig {
                kid: "ed-pem".into(),
                algorithm: "EdDSA".into(),
                pem_file: fixture("ed25519-public.pem"),
            },
            PublicKeyConfig {
                kid: "rsa-pem".into(),
                algorithm: "RS256".into(),
                pem_file: fixture("rsa-public.pem"),
            },
        ],
    };
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn claims(issuer: &str, exp: u64) -> serde_json::Value {
    serde_json::json!({
        "sub": "li.hua", "org": "golmud", "roles": ["supervisor"],
        "iss": issuer, "aud": "govmedia", "iat": now(), "nbf": now() - 5, "exp": exp,
    })
}

fn sign(algorithm: Algorithm, kid: &str, key_file: &str, claims: &serde_json::Value) -> String {
    let pem = std::fs::read(fixture(key_file)).expect("fixture");
    let key = match algorithm {
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem),
        _ => EncodingKey::from_rsa_pem(&pem),
    }
    .expect("key");
    let mut header = Header::new(algorithm);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &key).expect("token")
}

async fn get_golmud(suite: &Suite, credential: &str) -> Result<pb::Organization, tonic::Status> {
    suite
        .client_with(credential)
        .await
        .get_organization(pb::GetOrganizationRequest {
            name: "organizations/golmud".into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn tokens_of_an_external_issuer_are_verified(backend: Backend) {
    let suite = Suite::spawn(backend, external).await;
    let valid = claims(ISSUER, now() + 600);
    for (algorithm, kid, key) in [
        (Algorithm::EdDSA, "ed-pem", "ed25519-private.pem"),
        (Algorithm::RS256, "rsa-pem", "rsa-private.pem"),
        (Algorithm::EdDSA, "ed-jwks", "ed25519-private.pem"),
        (Algorithm::RS256, "rsa-jwks", "rsa-private.pem"),
    ] {
        get_golmud(&suite, &sign(algorithm, kid, key, &valid))
            .await
            .unwrap_or_else(|status| panic!("{kid}: {status:?}"));
    }
    let refused = [
        (
            "expired",
            sign(
                Algorithm::EdDSA,
                "ed-pem",
                "ed25519-private.pem",
                &claims(ISSUER, now() - 3600),
            ),
        ),
        (
            "other issuer",
            sign(
                Algorithm::EdDSA,
                "ed-pem",
                "ed25519-private.pem",
                &claims("https://evil.example", now() + 600),
            ),
        ),
        (
            "unknown kid",
            sign(Algorithm::EdDSA, "who", "ed25519-private.pem", &valid),
        ),
        // An RSA signature presented under the Ed25519 key's kid.
        (
            "wrong key",
            sign(Algorithm::RS256, "ed-pem", "rsa-private.pem", &valid),
        ),
        ("malformed", "eyJhbGciOi.JIUzI1NiJ9.garbage".to_owned()),
        ("not a jwt", "hello".to_owned()),
        (
            "wrong audience",
            sign(
                Algorithm::RS256,
                "rsa-pem",
                "rsa-private.pem",
                &serde_json::json!({"sub": "x", "org": "golmud", "roles": ["supervisor"], "iss": ISSUER,
                                    "aud": "someone-else", "nbf": now(), "exp": now() + 600}),
            ),
        ),
        (
            "internal secret unknown",
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims("govmedia", now() + 600),
                &EncodingKey::from_secret(&[7u8; 40]).expect("key"),
            )
            .expect("token"),
        ),
    ];
    for (what, token) in refused {
        let status = assert_error(
            get_golmud(&suite, &token).await,
            Code::Unauthenticated,
            "UNAUTHENTICATED",
        );
        assert!(!status.message().is_empty(), "{what}");
    }
    // govmedia's own tokens still work beside the external issuer's.
    get_golmud(&suite, &suite.token("own", "golmud", &[Role::Auditor]))
        .await
        .expect("own token");
    let _ = DEV_JWT_SECRET;
}
backend_test!(
    tokens_of_an_external_issuer_are_verified_on,
    tokens_of_an_external_issuer_are_verified
);

async fn api_keys_act_for_their_system_until_revoked(backend: Backend) {
    let suite = Suite::spawn(backend, |_| {}).await;
    let (id, key) = suite.api_key("golmud", &[Role::Operator]).await;

    // As a bearer credential and as x-api-key.
    get_golmud(&suite, &key).await.expect("bearer API key");
    let mut client = suite.client_with("").await;
    let mut request = tonic::Request::new(custody_write("golmud-edu-wechat", "王敏"));
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().expect("metadata"));
    client
        .update_credential_custody(request)
        .await
        .expect("x-api-key");
    // With a token beside it, forged or not, the call is refused: the gateway does not pick.
    for token in [
        "forged".to_owned(),
        suite.token("op", "golmud", &[Role::Operator]),
    ] {
        let mut request = tonic::Request::new(pb::GetOrganizationRequest {
            name: "organizations/golmud".into(),
        });
        request
            .metadata_mut()
            .insert("x-api-key", key.parse().expect("metadata"));
        let status = assert_error(
            suite
                .client_with(&token)
                .await
                .get_organization(request)
                .await,
            Code::Unauthenticated,
            "UNAUTHENTICATED",
        );
        assert!(status.message().contains("not both"), "{status:?}");
    }
    // The service recorded the key as the actor: identity crossed the gateway as a token the
    // gateway signed, not as the key itself.
    let trail = govmedia_kit::audit::list(
        suite.registry_db.conn(),
        "/",
        Some("accounts/golmud-edu-wechat/credentialCustody"),
        None,
        1,
    )
    .await
    .expect("audit");
    assert_eq!(trail[0].actor, format!("apikey:{id}"));

    // Keys stay within their organization's jurisdiction and roles.
    assert_error(
        suite
            .client_with(&key)
            .await
            .get_organization(pb::GetOrganizationRequest {
                name: "organizations/xining".into(),
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );

    // A wrong secret, a made-up key, then the revoked key.
    let tampered = format!(
        "{}{}",
        &key[..key.len() - 2],
        if key.ends_with("AA") { "BB" } else { "AA" }
    );
    for bad in [
        tampered.as_str(),
        "gmk_aaaaaaaaaaaa_0123456789012345678901234567890123456789012",
    ] {
        assert_error(
            get_golmud(&suite, bad).await,
            Code::Unauthenticated,
            "UNAUTHENTICATED",
        );
    }
    let operator = operator();
    govmedia_gateway::apikeys::revoke(&suite.key_writer(), &operator, &id)
        .await
        .expect("revoke");
    let status = assert_error(
        get_golmud(&suite, &key).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
    assert!(status.message().contains("revoked"), "{status:?}");
    assert!(
        govmedia_gateway::apikeys::revoke(&suite.key_writer(), &operator, &id)
            .await
            .is_err()
    );
}
backend_test!(
    api_keys_act_for_their_system_until_revoked_on,
    api_keys_act_for_their_system_until_revoked
);

/// The SYSTEM role belongs to govmedia's own services: no API key is issued with it, and no
/// credential that carries it gets past the gateway, whoever signed it; so no outside caller
/// can change an account's status, and nothing reaches the registry.
async fn no_outside_credential_acts_as_a_service(backend: Backend) {
    let suite = Suite::spawn(backend, external).await;
    let before = govmedia_kit::audit::verify(suite.registry_db.conn())
        .await
        .expect("chain");
    let refused = govmedia_gateway::apikeys::issue(
        &suite.key_writer(),
        &operator(),
        govmedia_gateway::apikeys::NewKey {
            display_name: "12345 热线".into(),
            organization: "golmud".into(),
            roles: [Role::System].into(),
            valid_for: None,
        },
    )
    .await;
    assert!(
        refused.is_err_and(|error| error.to_string().contains("system role")),
        "a system key is never issued"
    );

    // A key written with the system role before it was reserved.
    let (id, secret, legacy) = govmedia_gateway::domain::apikey::generate();
    govmedia_gateway::store::api_keys::insert(
        suite.gateway_db.conn(),
        &govmedia_gateway::domain::apikey::ApiKeyRecord {
            id,
            display_name: "旧系统".into(),
            organization: "qinghai".into(),
            roles: [Role::System].into(),
            secret_hash: govmedia_gateway::domain::apikey::hash(&secret),
            expires_at: None,
            revoked_at: None,
            created_at: chrono::Utc::now(),
            created_by: "someone".into(),
            created_by_org: "ops".into(),
        },
    )
    .await
    .expect("insert");
    // A govmedia token signed with the suite's secret, and an identity provider's token.
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &serde_json::json!({
            "sub": "mallory", "org": "qinghai", "roles": ["system"], "iss": "govmedia",
            "aud": "govmedia", "iat": now(), "nbf": now() - 5, "exp": now() + 600,
        }),
        &EncodingKey::from_secret(DEV_JWT_SECRET.as_bytes()).expect("key"),
    )
    .expect("token");
    let mut idp = claims(ISSUER, now() + 600);
    idp["roles"] = serde_json::json!(["supervisor", "system"]);
    let external = sign(Algorithm::EdDSA, "ed-pem", "ed25519-private.pem", &idp);

    for credential in [legacy.as_str(), &forged, &external] {
        let mut client = suite.client_with(credential).await;
        for call in [
            client
                .suspend_account(pb::SuspendAccountRequest {
                    name: "accounts/golmud-edu-wechat".into(),
                    filing: "filings/made-up-0001".into(),
                    reason: "冒充系统".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
            client
                .cancel_account(pb::CancelAccountRequest {
                    name: "accounts/golmud-edu-wechat".into(),
                    filing: "filings/made-up-0001".into(),
                    reason: "冒充系统".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ] {
            assert_error(call, Code::Unauthenticated, "UNAUTHENTICATED");
        }
    }
    let account = govmedia_kit::audit::verify(suite.registry_db.conn())
        .await
        .expect("chain");
    assert_eq!(account, before, "nothing reached the ledger");
}
backend_test!(
    no_outside_credential_acts_as_a_service_on,
    no_outside_credential_acts_as_a_service
);

/// A flood of made-up API keys is not a flood of database queries: keys that are not cached
/// spend a small look-up budget of the gateway, and past it are refused (RESOURCE_EXHAUSTED)
/// before the database is asked; a known key, cached, keeps working meanwhile.
async fn a_flood_of_made_up_api_keys_spends_a_bounded_lookup_budget(backend: Backend) {
    let suite = Suite::spawn(backend, |config| {
        config.api_key_cache_secs = 60;
        config.api_key_lookups_per_minute = 6;
        config.api_key_lookup_burst = 5;
    })
    .await;
    let (_, key) = suite.api_key("golmud", &[Role::Auditor]).await;
    get_golmud(&suite, &key)
        .await
        .expect("a known key (now cached)");
    let (mut looked_up, mut refused) = (0, 0);
    for i in 0..30 {
        let made_up = format!("gmk_{i:0>12}_{}", "x".repeat(43));
        match get_golmud(&suite, &made_up).await {
            Err(status) if status.code() == Code::Unauthenticated => looked_up += 1,
            Err(status) if status.code() == Code::ResourceExhausted => refused += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(looked_up <= 5, "{looked_up} look-ups");
    assert_eq!(looked_up + refused, 30);
    get_golmud(&suite, &key)
        .await
        .expect("the known key still works");
}
backend_test!(
    a_flood_of_made_up_api_keys_spends_a_bounded_lookup_budget_on,
    a_flood_of_made_up_api_keys_spends_a_bounded_lookup_budget
);

/// A token the gateway's own key signed, with any `exp`, `nbf` and `iat` whatever: each call is
/// answered, OK when the times make sense and UNAUTHENTICATED otherwise, never reset by a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_claim_value_breaks_a_call() {
    use proptest::strategy::{Strategy as _, ValueTree as _};
    let suite = Suite::spawn(Backend::Embedded, |config| {
        // Every refused token counts against the caller's failure budget; here they are the
        // point, not an attack.
        config.auth_failures.per_source_per_minute = 100_000;
        config.auth_failures.per_source_burst = 100_000;
    })
    .await;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let claims = (
        govmedia_test_support::claim_value(),
        govmedia_test_support::claim_value(),
        govmedia_test_support::claim_value(),
    );
    let key = EncodingKey::from_secret(DEV_JWT_SECRET.as_bytes()).expect("key");
    for _ in 0..150 {
        let (exp, nbf, iat) = claims.new_tree(&mut runner).expect("values").current();
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({
                "sub": "wang.min", "org": "golmud", "roles": ["operator"],
                "iss": "govmedia", "aud": "govmedia", "exp": exp, "nbf": nbf, "iat": iat,
            }),
            &key,
        )
        .expect("sign");
        let mut client = suite.client_with(&token).await;
        let answer = client
            .get_organization(pb::GetOrganizationRequest {
                name: "organizations/golmud".into(),
            })
            .await;
        if let Err(status) = answer {
            assert_eq!(
                status.code(),
                Code::Unauthenticated,
                "exp {exp}, nbf {nbf}, iat {iat}: {status:?}"
            );
        }
    }
}

/// A registry client through the gateway, connecting from `local` (any 127.0.0.0/8 address is
/// this machine), presenting `credential` as an API key.
async fn client_from(
    suite: &Suite,
    local: &str,
    credential: &str,
) -> RegistryServiceClient<InterceptedService<Channel, Credentials>> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", suite.gateway))
        .expect("endpoint")
        .local_address(Some(local.parse().expect("address")))
        .connect()
        .await
        .expect("connect");
    RegistryServiceClient::with_interceptor(
        channel,
        Credentials::bearer(credential).expect("creds"),
    )
}

fn golmud_request() -> pb::GetOrganizationRequest {
    pb::GetOrganizationRequest {
        name: "organizations/golmud".into(),
    }
}

/// Guessing credentials from one address: past its failure budget the guesser gets
/// RESOURCE_EXHAUSTED with RetryInfo; good credentials from that address and every other still
/// pass.
async fn failed_credentials_spend_a_budget_per_address(backend: Backend) {
    let suite = Suite::spawn(backend, |config| {
        config.auth_failures.per_source_per_minute = 6;
        config.auth_failures.per_source_burst = 5;
    })
    .await;
    let good = suite.token("wang.min", "golmud", &[Role::Operator]);
    let mut guesser = client_from(
        &suite,
        "127.0.0.7",
        "gmk_0123456789abcdef_wrongwrongwrongwrongwrongwrongwrongwro",
    )
    .await;
    let mut refused = 0;
    let mut limited = None;
    for _ in 0..20 {
        match guesser.get_organization(golmud_request()).await {
            Err(status) if status.code() == Code::Unauthenticated => refused += 1,
            Err(status) if status.code() == Code::ResourceExhausted => {
                limited = Some(status);
                break;
            }
            other => panic!("a made-up key: {other:?}"),
        }
    }
    assert!(refused <= 6, "{refused} failures before the budget held");
    let limited = limited.expect("the address's budget is spent");
    assert!(
        limited.get_error_details().retry_info().is_some(),
        "RetryInfo"
    );
    // Another system behind the same address (a NAT, a proxy) is not locked out by it; the
    // guesser stays held.
    let mut same_address = client_from(&suite, "127.0.0.7", &good).await;
    same_address
        .get_organization(golmud_request())
        .await
        .expect("good credentials pass");
    assert_error(
        guesser.get_organization(golmud_request()).await,
        Code::ResourceExhausted,
        "RATE_LIMITED",
    );
    let mut elsewhere = client_from(&suite, "127.0.0.8", &good).await;
    elsewhere
        .get_organization(golmud_request())
        .await
        .expect("another address is not held to it");
}

backend_test!(
    failed_credentials_spend_a_budget_per_address_on,
    failed_credentials_spend_a_budget_per_address
);

/// Guessing one API key's secret from many addresses: past the key id's failure budget the key
/// is refused whatever secret comes with it, until the budget refills.
async fn failed_guesses_at_one_key_spend_its_budget(backend: Backend) {
    let suite = Suite::spawn(backend, |config| {
        config.auth_failures.per_key_per_minute = 6;
        config.auth_failures.per_key_burst = 5;
    })
    .await;
    let (id, key) = suite.api_key("golmud", &[Role::Operator]).await;
    let secret_len = key.len() - "gmk_".len() - id.len() - 1;
    let wrong = format!("gmk_{id}_{}", "x".repeat(secret_len));
    let mut limited = false;
    'guessing: for address in ["127.0.0.11", "127.0.0.12", "127.0.0.13"] {
        let mut guesser = client_from(&suite, address, &wrong).await;
        for _ in 0..4 {
            match guesser.get_organization(golmud_request()).await {
                Err(status) if status.code() == Code::Unauthenticated => {}
                Err(status) if status.code() == Code::ResourceExhausted => {
                    limited = true;
                    break 'guessing;
                }
                other => panic!("a wrong secret: {other:?}"),
            }
        }
    }
    assert!(limited, "the key id's budget held");
    let mut owner = client_from(&suite, "127.0.0.14", &key).await;
    assert_error(
        owner.get_organization(golmud_request()).await,
        Code::ResourceExhausted,
        "RATE_LIMITED",
    );
    // Another key of the same unit is not held to it.
    let (_, other) = suite.api_key("golmud", &[Role::Operator]).await;
    client_from(&suite, "127.0.0.14", &other)
        .await
        .get_organization(golmud_request())
        .await
        .expect("another key");
}

backend_test!(
    failed_guesses_at_one_key_spend_its_budget_on,
    failed_guesses_at_one_key_spend_its_budget
);
