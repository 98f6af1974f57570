//! The HTTP/JSON port: proto3 JSON in and out by descriptor, errors as JSON with the matching
//! HTTP status, health and metrics.

use govmedia_kit::auth::Role;
use govmedia_test_support::{Backend, backend_test};

use crate::helpers::{Suite, http};

async fn call(suite: &Suite, method: &str, token: &str, body: &str) -> (u16, serde_json::Value) {
    let bearer = format!("Bearer {token}");
    let mut headers = vec![("content-type", "application/json")];
    if !token.is_empty() {
        headers.push(("authorization", bearer.as_str()));
    }
    http(
        suite.http,
        "POST",
        &format!("/v1/govmedia.registry.v1.RegistryService/{method}"),
        &headers,
        body,
    )
    .await
}

fn reason(body: &serde_json::Value) -> String {
    body["details"]
        .as_array()
        .and_then(|details| {
            details
                .iter()
                .find(|d| d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo")
        })
        .and_then(|info| info["reason"].as_str())
        .unwrap_or_default()
        .to_owned()
}

async fn json_calls_are_the_same_calls(backend: Backend) {
    let suite = Suite::spawn(backend, |config| {
        config.rate_limit.writes_per_minute = 6;
        config.rate_limit.write_burst = 2;
    })
    .await;
    let supervisor = suite.token("sup", "golmud", &[Role::Supervisor]);

    let (status, body) = call(
        &suite,
        "GetOrganization",
        &supervisor,
        r#"{"name":"organizations/golmud-edu"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["displayName"], "golmud-edu 单位");
    assert_eq!(body["kind"], "ORGANIZATION_KIND_DEPARTMENT");
    let (status, body) = call(
        &suite,
        "CountAccounts",
        &supervisor,
        r#"{"groupBy":["COUNT_DIMENSION_STATUS"]}"#,
    )
    .await;
    assert_eq!((status, body["total"].as_str()), (200, Some("1")), "{body}");
    let (status, _) = call(&suite, "ListAccounts", &supervisor, "").await;
    assert_eq!(status, 200, "an empty body is an empty request");

    // Errors: HTTP status, gRPC code, stable reason.
    for (method, token, body, http_status, code, expected) in [
        (
            "GetOrganization",
            "",
            r#"{"name":"organizations/golmud"}"#,
            401,
            16,
            "UNAUTHENTICATED",
        ),
        (
            "CreateAccount",
            supervisor.as_str(),
            r#"{}"#,
            403,
            7,
            "ROLE_NOT_ALLOWED",
        ),
        (
            "GetOrganization",
            supervisor.as_str(),
            r#"{"name":"organizations/xining"}"#,
            403,
            7,
            "OUTSIDE_JURISDICTION",
        ),
        (
            "GetAccount",
            supervisor.as_str(),
            r#"{"name":"accounts/none-such"}"#,
            404,
            5,
            "NOT_FOUND",
        ),
        (
            "GetOrganization",
            supervisor.as_str(),
            r#"{"name":"organizations/Bad"}"#,
            400,
            3,
            "INVALID_FIELD",
        ),
        (
            "GetOrganization",
            supervisor.as_str(),
            r#"{"name":"x","colour":"red"}"#,
            400,
            3,
            "INVALID_JSON",
        ),
        (
            "GetOrganization",
            supervisor.as_str(),
            r#"{"name":42}"#,
            400,
            3,
            "INVALID_JSON",
        ),
        (
            "ListAccounts",
            supervisor.as_str(),
            r#"{"platform":"PLATFORM_MYSPACE"}"#,
            400,
            3,
            "INVALID_JSON",
        ),
        (
            "ListAccounts",
            supervisor.as_str(),
            r#"{"pageSize": 10"#,
            400,
            3,
            "INVALID_JSON",
        ),
        (
            "Frobnicate",
            supervisor.as_str(),
            r#"{}"#,
            501,
            12,
            "UNKNOWN_METHOD",
        ),
        (
            "SuspendAccount",
            supervisor.as_str(),
            r#"{"name":"accounts/golmud-edu-wechat","reason":"测试"}"#,
            403,
            7,
            "ROLE_NOT_ALLOWED",
        ),
        (
            "CreateOrganization",
            supervisor.as_str(),
            r#"{"organizationId":"golmud-edu","organization":{"parent":"organizations/golmud","displayName":"x","level":"ADMINISTRATIVE_LEVEL_COUNTY","kind":"ORGANIZATION_KIND_DEPARTMENT"}}"#,
            409,
            6,
            "ALREADY_EXISTS",
        ),
        (
            "UpdateOrganization",
            supervisor.as_str(),
            r#"{"organization":{"name":"organizations/golmud","displayName":"x"},"updateMask":"displayName"}"#,
            403,
            7,
            "OUTSIDE_JURISDICTION",
        ),
    ] {
        let (status, body) = call(&suite, method, token, body).await;
        assert_eq!(status, http_status, "{method}: {body}");
        assert_eq!(body["code"], code, "{method}: {body}");
        assert_eq!(reason(&body), expected, "{method}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    // The write budget (burst 2) is spent by the two writes above: 429 with RetryInfo.
    let (status, body) = call(
        &suite,
        "UpdateOrganization",
        &supervisor,
        r#"{"organization":{"name":"organizations/golmud"},"updateMask":"displayName"}"#,
    )
    .await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (429, "RATE_LIMITED"),
        "{body}"
    );
    assert!(
        body["details"]
            .as_array()
            .expect("details")
            .iter()
            .any(|d| d["@type"] == "type.googleapis.com/google.rpc.RetryInfo")
    );

    let (status, body) = http(suite.http, "GET", "/healthz", &[], "").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("SERVING")),
        "{body}"
    );
    let (status, metrics) = http(suite.http, "GET", "/metrics", &[], "").await;
    let metrics = metrics.as_str().expect("text").to_owned();
    assert_eq!(status, 200);
    assert!(metrics.contains("govmedia_gateway_calls_total{method=\"/govmedia.registry.v1.RegistryService/GetOrganization\",code=\"Ok\",transport=\"http\"}"), "{metrics}");
    assert!(
        metrics.contains("govmedia_gateway_call_duration_seconds_bucket"),
        "{metrics}"
    );
}
backend_test!(
    json_calls_are_the_same_calls_on,
    json_calls_are_the_same_calls
);

async fn a_down_suite_says_so_over_http(backend: Backend) {
    let suite = Suite::spawn(backend, |_| {}).await;
    let (_, http_addr) = suite
        .extra_gateway(|config| {
            config
                .upstreams
                .insert("registry".into(), "http://127.0.0.1:1".into());
        })
        .await;
    let token = suite.token("sup", "golmud", &[Role::Supervisor]);
    let bearer = format!("Bearer {token}");
    let headers = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    let (status, body) = http(
        http_addr,
        "POST",
        "/v1/govmedia.registry.v1.RegistryService/CountAccounts",
        &headers,
        "{}",
    )
    .await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (503, "UNAVAILABLE"),
        "{body}"
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (status, body) = http(http_addr, "GET", "/healthz", &[], "").await;
        if status == 503 {
            assert_eq!(body["status"], "NOT_SERVING");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "healthz never reported the outage"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
backend_test!(
    a_down_suite_says_so_over_http_on,
    a_down_suite_says_so_over_http
);
