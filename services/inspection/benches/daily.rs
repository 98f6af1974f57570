//! The load of `bench/inspection.sh` (not a test; `cargo test` does not build it). Two
//! commands:
//!
//! ```text
//! daily seed REGISTRY_URL KEY_DIR ACCOUNTS
//!     as the filing service (KEY_DIR/filing.key.pem): a government `bench` with its new-media
//!     office `bench-office` (the management department) and units `bench-u{i}` under it, each
//!     with one ACTIVE publishing account per platform (`bench-a{n}`, nine to a unit, R-03),
//!     ACCOUNTS in all; 64 calls in flight
//! daily run INSPECTION_URL KEY_DIR full|incremental
//!     asks the inspection service for a monitoring run (as the filing service: a SYSTEM
//!     caller), waits for its end and prints it: mode, accounts active and checked, new posts,
//!     outcomes, and the seconds between its start and its end as the service recorded them
//! ```
//!
//! Each prints one JSON object.

use std::{path::Path, sync::Arc, time::Duration};

use futures::StreamExt as _;
use govmedia_kit::{client::Peer, identity::Identity};
use govmedia_proto::{
    common::v1::{AccountKind, AdministrativeLevel, Platform},
    inspection::v1::{self as pb, inspection_service_client::InspectionServiceClient},
    registry::v1::{self as rpb, OperatorType, OrganizationKind},
};
use govmedia_registry_client::RegistryClient;

type Error = Box<dyn std::error::Error + Send + Sync>;

const FILING: &str = "filings/bench-inspection";

/// The platforms a unit has one account on each.
const PLATFORMS: usize = 9;

fn arg(args: &[String], index: usize, what: &str) -> Result<String, Error> {
    args.get(index)
        .cloned()
        .ok_or_else(|| format!("missing {what}").into())
}

fn identity(keys: &str) -> Result<Arc<Identity>, Error> {
    let keys = Path::new(keys);
    Ok(Arc::new(Identity::from_files(
        "filing",
        &keys.join("filing.key.pem"),
        &keys.join("public"),
    )?))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // `cargo bench` passes `--bench`; the script calls the binary directly.
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    match args.get(1).map(String::as_str) {
        Some("seed") => seed(&args).await,
        Some("run") => run(&args).await,
        _ => Err("usage: daily seed|run …".into()),
    }
}

fn organization(
    id: &str,
    parent: &str,
    kind: OrganizationKind,
    management: bool,
) -> rpb::CreateOrganizationRequest {
    rpb::CreateOrganizationRequest {
        organization_id: id.into(),
        organization: Some(rpb::Organization {
            parent: parent.into(),
            display_name: format!("基准 {id}"),
            level: AdministrativeLevel::Provincial as i32,
            kind: kind as i32,
            management_department: management,
            principal_leader: "leader".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

async fn seed(args: &[String]) -> Result<(), Error> {
    let endpoint = arg(args, 2, "REGISTRY_URL")?;
    let identity = identity(&arg(args, 3, "KEY_DIR")?)?;
    let accounts: usize = arg(args, 4, "ACCOUNTS")?.parse()?;
    let registry = RegistryClient::new(&endpoint, Duration::from_secs(60), identity, "bench")?;
    let client = registry.applying(FILING).raw()?;
    {
        let mut client = client.clone();
        client
            .create_organization(organization(
                "bench",
                "",
                OrganizationKind::Government,
                false,
            ))
            .await?;
        client
            .create_organization(organization(
                "bench-office",
                "organizations/bench",
                OrganizationKind::Department,
                true,
            ))
            .await?;
    }
    let platforms: Vec<Platform> = (1..=PLATFORMS as i32)
        .filter_map(|v| Platform::try_from(v).ok())
        .collect();
    let units = accounts.div_ceil(PLATFORMS);
    let work = (0..units).map(|unit_index| {
        let mut client = client.clone();
        let platforms = platforms.clone();
        async move {
            let unit = format!("bench-u{unit_index}");
            client
                .create_organization(organization(
                    &unit,
                    "organizations/bench-office",
                    OrganizationKind::InternalBody,
                    false,
                ))
                .await?;
            for (slot, platform) in platforms.iter().enumerate() {
                let index = unit_index * PLATFORMS + slot;
                if index >= accounts {
                    break;
                }
                let id = format!("bench-a{index}");
                client
                    .create_account(rpb::CreateAccountRequest {
                        account_id: id.clone(),
                        account: Some(rpb::Account {
                            organization: format!("organizations/{unit}"),
                            platform: *platform as i32,
                            display_name: format!("基准账号 {index}"),
                            kind: AccountKind::Publishing as i32,
                            operator: Some(rpb::Operator {
                                r#type: OperatorType::Self_ as i32,
                                vendor: String::new(),
                            }),
                            responsible_person: Some(rpb::Contact {
                                name: "王敏".into(),
                                title: "办公室主任".into(),
                                phone: "0979-8412345".into(),
                            }),
                            verified_subject: format!("基准单位 {unit}"),
                            ..Default::default()
                        }),
                        filing: FILING.into(),
                        request_id: String::new(),
                    })
                    .await?;
                client
                    .activate_account(rpb::ActivateAccountRequest {
                        name: format!("accounts/{id}"),
                        platform_account_id: format!("pid-{id}"),
                        filing: FILING.into(),
                        ..Default::default()
                    })
                    .await?;
            }
            Ok::<_, tonic::Status>(())
        }
    });
    let results: Vec<Result<(), tonic::Status>> = futures::stream::iter(work)
        .buffer_unordered(64)
        .collect()
        .await;
    for result in results {
        result?;
    }
    println!("{{\"accounts\":{accounts},\"units\":{units}}}");
    Ok(())
}

async fn run(args: &[String]) -> Result<(), Error> {
    let endpoint = arg(args, 2, "INSPECTION_URL")?;
    let identity = identity(&arg(args, 3, "KEY_DIR")?)?;
    let full = match arg(args, 4, "full|incremental")?.as_str() {
        "full" => true,
        "incremental" => false,
        other => return Err(format!("not a run mode: {other}").into()),
    };
    let peer = Peer::new(
        &endpoint,
        Duration::from_secs(60),
        identity,
        "bench",
        "inspection",
    )?;
    let client = || -> Result<_, Error> {
        Ok(InspectionServiceClient::with_interceptor(
            peer.channel(),
            peer.credentials().map_err(|e| e.to_string())?,
        ))
    };
    let run = client()?
        .start_monitoring_run(pb::StartMonitoringRunRequest {
            full,
            request_id: String::new(),
        })
        .await?
        .into_inner();
    let done = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = client()?
            .get_monitoring_run(pb::GetMonitoringRunRequest {
                name: run.name.clone(),
            })
            .await?
            .into_inner();
        if matches!(
            pb::RunState::try_from(now.state),
            Ok(pb::RunState::Done | pb::RunState::Failed)
        ) {
            break now;
        }
    };
    let seconds = match (&done.started_time, &done.finished_time) {
        (Some(start), Some(end)) => {
            (end.seconds - start.seconds) as f64 + f64::from(end.nanos - start.nanos) / 1e9
        }
        _ => f64::NAN,
    };
    println!(
        "{}",
        serde_json::json!({
            "mode": pb::RunMode::try_from(done.mode).map(|m| m.as_str_name()).unwrap_or("?"),
            "state": pb::RunState::try_from(done.state).map(|s| s.as_str_name()).unwrap_or("?"),
            "accounts_active": done.accounts_active,
            "accounts_checked": done.accounts_checked,
            "new_posts": done.new_posts,
            "passed": done.passed,
            "failed": done.failed,
            "incomplete": done.incomplete,
            "seconds": seconds,
            "error": done.error,
        })
    );
    Ok(())
}
