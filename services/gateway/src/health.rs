//! The suite's health as the gateway sees it: every upstream service is checked periodically
//! over grpc.health.v1, and the result is served by the gateway's own health service (per
//! service, and `""` for the whole suite) and at `GET /healthz`.

use std::{collections::BTreeSet, time::Duration};

use govmedia_kit::CancellationToken;
use tonic_health::{
    ServingStatus,
    pb::{HealthCheckRequest, health_check_response, health_client::HealthClient},
    server::HealthReporter,
};

use crate::gate::{Gateway, package_of};

/// The full names of the govmedia services in a package, e.g. `registry`.
pub fn services_of(package: &str) -> BTreeSet<String> {
    govmedia_proto::all_method_access()
        .iter()
        .filter(|rule| package_of(rule.path) == Some(package))
        .filter_map(|rule| rule.path.trim_start_matches('/').split('/').next())
        .map(str::to_owned)
        .collect()
}

async fn check(channel: tonic::transport::Channel, service: &str) -> bool {
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), HealthClient::new(channel).check(request)).await,
        Ok(Ok(response)) if response.get_ref().status == health_check_response::ServingStatus::Serving as i32
    )
}

/// One round: checks every upstream service and publishes the outcome.
pub async fn refresh(gateway: &Gateway, reporter: &HealthReporter) -> bool {
    let mut all = true;
    for (package, origin) in gateway.upstreams() {
        for service in services_of(package) {
            let serving = check(origin.channel().clone(), &service).await;
            gateway.set_health(&service, serving);
            reporter
                .set_service_status(
                    &service,
                    if serving {
                        ServingStatus::Serving
                    } else {
                        ServingStatus::NotServing
                    },
                )
                .await;
            all &= serving;
        }
    }
    reporter
        .set_service_status(
            "",
            if all {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            },
        )
        .await;
    all
}

/// Refreshes every `interval` until `shutdown`, then reports NOT_SERVING.
pub fn spawn_watcher(
    gateway: Gateway,
    reporter: HealthReporter,
    interval: Duration,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            refresh(&gateway, &reporter).await;
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(interval) => {}
            }
        }
        reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
    })
}
