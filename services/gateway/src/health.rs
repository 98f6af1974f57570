//! The suite's health as the gateway sees it: a service serves when at least one of its replicas
//! answers SERVING to the kit's endpoint watcher (which asks each replica every second), and the
//! result is served by the gateway's own health service (per service, and `""` for the whole
//! suite) and at `GET /healthz`. A gateway told to stop reports NOT_SERVING at once, while it
//! still serves, so that callers go to another gateway before its port closes.

use std::{collections::BTreeSet, time::Duration};

use govmedia_kit::CancellationToken;
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::gate::{Gateway, package_of};

/// The gateway's own health, apart from the suite's: SERVING while this gateway takes calls,
/// NOT_SERVING from the moment it is told to stop. Kubernetes probes ask for it (a gateway is
/// not restarted, nor taken out of its Service, because a service behind it is down).
pub const SELF: &str = "govmedia.gateway";

/// The full names of the govmedia services in a package, e.g. `registry`.
pub fn services_of(package: &str) -> BTreeSet<String> {
    govmedia_proto::all_method_access()
        .iter()
        .filter(|rule| package_of(rule.path) == Some(package))
        .filter_map(|rule| rule.path.trim_start_matches('/').split('/').next())
        .map(str::to_owned)
        .collect()
}

/// One round: checks every upstream service and publishes the outcome.
pub async fn refresh(gateway: &Gateway, reporter: &HealthReporter) -> bool {
    let mut all = true;
    for (package, origin) in gateway.upstreams() {
        let serving = origin.endpoints().resolved().await.serving > 0;
        for service in services_of(package) {
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
            SELF,
            if gateway.stopping() {
                ServingStatus::NotServing
            } else {
                ServingStatus::Serving
            },
        )
        .await;
    reporter
        .set_service_status(
            "",
            if all && !gateway.stopping() {
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
        gateway.set_stopping();
        reporter
            .set_service_status(SELF, ServingStatus::NotServing)
            .await;
        reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
    })
}
