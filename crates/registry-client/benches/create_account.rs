//! The load of `bench/create-account.sh`: CreateAccount calls to a running registry, made as the
//! filing service makes them when it applies accepted openings. Not a test; run it through the
//! script, which starts the registry on a fresh PostgreSQL database:
//!
//! ```text
//! cargo bench -p govmedia-registry-client --bench create_account -- \
//!     http://127.0.0.1:50261 KEY_DIR UNITS CONCURRENCY SECONDS
//! ```
//!
//! It signs the filing service's identity with `KEY_DIR/filing.key.pem` (from `govmedia keys
//! generate`; the registry must trust `KEY_DIR/public`), creates a provincial government and
//! UNITS departments, then keeps CONCURRENCY calls in flight over one HTTP/2 connection for one
//! second of warm-up and SECONDS measured, and then makes calls one at a time for SECONDS more.
//! Every call opens the first account of a unit on a platform (R-03 would refuse a further one
//! whose siblings have not posted yet), so a run needs UNITS × platforms calls at most; it stops
//! with an error when they run out. No call carries an idempotency key. It prints one JSON
//! object: calls that ended Ok, their rate, latencies, and the codes of the calls that did not.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use govmedia_kit::identity::Identity;
use govmedia_proto::{
    common::v1::{AccountKind, AdministrativeLevel, Platform},
    registry::v1::{self as pb, OperatorType, OrganizationKind},
};
use govmedia_registry_client::{Client, RegistryClient};

const ROOT: &str = "bench";
const FILING: &str = "filings/bench-open";

/// Every platform an account can be on.
fn platforms() -> Vec<Platform> {
    (1..100)
        .filter_map(|value| Platform::try_from(value).ok())
        .collect()
}

fn account(unit: usize, platform: Platform) -> pb::CreateAccountRequest {
    pb::CreateAccountRequest {
        account_id: String::new(),
        account: Some(pb::Account {
            organization: format!("organizations/{ROOT}-u{unit}"),
            platform: platform as i32,
            display_name: format!("基准测试账号 {unit}"),
            kind: AccountKind::Publishing as i32,
            operator: Some(pb::Operator {
                r#type: OperatorType::Self_ as i32,
                vendor: String::new(),
            }),
            responsible_person: Some(pb::Contact {
                name: "王敏".into(),
                title: "办公室主任".into(),
                phone: "0979-8412345".into(),
            }),
            verified_subject: format!("基准测试厅 {unit}"),
            ..pb::Account::default()
        }),
        filing: FILING.into(),
        request_id: String::new(),
    }
}

async fn seed(client: &mut Client, units: usize) -> Result<(), tonic::Status> {
    let organization = |id: &str, parent: &str, name: String, kind: OrganizationKind| {
        pb::CreateOrganizationRequest {
            organization_id: id.to_owned(),
            organization: Some(pb::Organization {
                parent: parent.to_owned(),
                display_name: name,
                level: AdministrativeLevel::Provincial as i32,
                kind: kind as i32,
                ..pb::Organization::default()
            }),
            request_id: format!("seed-{id}"),
        }
    };
    client
        .create_organization(organization(
            ROOT,
            "",
            "基准测试省人民政府".into(),
            OrganizationKind::Government,
        ))
        .await?;
    for unit in 0..units {
        client
            .create_organization(organization(
                &format!("{ROOT}-u{unit}"),
                &format!("organizations/{ROOT}"),
                format!("基准测试厅 {unit}"),
                OrganizationKind::Department,
            ))
            .await?;
    }
    Ok(())
}

/// What one phase saw.
#[derive(Default)]
struct Tally {
    /// Latencies of the calls that ended Ok within the measured time, in microseconds.
    ok: Vec<u64>,
    /// Calls that ended otherwise, by code.
    failed: BTreeMap<String, u64>,
}

/// Keeps `concurrency` calls in flight until `warmup + measure` has passed, counting only the
/// calls that start after the warm-up.
async fn phase(
    client: &Client,
    work: Arc<(Vec<(usize, Platform)>, AtomicUsize)>,
    concurrency: usize,
    warmup: Duration,
    measure: Duration,
) -> Result<(Tally, Duration), String> {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let start = Instant::now();
    let (measured_from, end) = (start + warmup, start + warmup + measure);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (mut client, work, tally) = (client.clone(), work.clone(), tally.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let began = Instant::now();
                if began >= end {
                    return Ok(());
                }
                let next = work.1.fetch_add(1, Ordering::Relaxed);
                let Some(&(unit, platform)) = work.0.get(next) else {
                    return Err(
                        "every unit has an account on every platform: raise UNITS".to_owned()
                    );
                };
                let result = client.create_account(account(unit, platform)).await;
                if began < measured_from {
                    continue;
                }
                let mut tally = tally.lock().expect("tally");
                match result {
                    Ok(_) => tally.ok.push(began.elapsed().as_micros() as u64),
                    Err(status) => {
                        *tally
                            .failed
                            .entry(format!("{:?}", status.code()))
                            .or_default() += 1
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.map_err(|error| error.to_string())??;
    }
    let tally = std::mem::take(&mut *tally.lock().expect("tally"));
    Ok((tally, measure))
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(index).copied().unwrap_or_default() as f64 / 1000.0
}

fn summary(name: &str, (mut tally, measured): (Tally, Duration)) -> String {
    tally.ok.sort_unstable();
    format!(
        r#""{name}": {{"ok": {}, "per_second": {:.1}, "p50_ms": {:.3}, "p99_ms": {:.3}, "failed": {:?}}}"#,
        tally.ok.len(),
        tally.ok.len() as f64 / measured.as_secs_f64(),
        percentile(&tally.ok, 0.5),
        percentile(&tally.ok, 0.99),
        tally.failed
    )
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; the script passes the five values.
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let [endpoint, keys, units, concurrency, seconds] = args[..] else {
        return Err("usage: create_account ENDPOINT KEY_DIR UNITS CONCURRENCY SECONDS".into());
    };
    let number = |value: &str| {
        value
            .parse::<usize>()
            .map_err(|error| format!("{value}: {error}"))
    };
    let (units, concurrency) = (number(units)?, number(concurrency)?);
    let measure = Duration::from_secs(number(seconds)? as u64);
    let keys = Path::new(keys);
    let identity =
        Identity::from_files("filing", &keys.join("filing.key.pem"), &keys.join("public"))
            .map_err(|error| error.to_string())?;
    let registry = RegistryClient::new(endpoint, Duration::from_secs(30), Arc::new(identity), ROOT)
        .map_err(|error| error.to_string())?;
    let client = registry
        .applying(FILING)
        .raw()
        .map_err(|error| error.to_string())?;
    seed(&mut client.clone(), units)
        .await
        .map_err(|status| format!("seeding: {status:?}"))?;

    // Units first, platforms second: concurrent calls go to different units.
    let work: Vec<(usize, Platform)> = platforms()
        .into_iter()
        .flat_map(|platform| (0..units).map(move |unit| (unit, platform)))
        .collect();
    let work = Arc::new((work, AtomicUsize::new(0)));
    let saturated = phase(
        &client,
        work.clone(),
        concurrency,
        Duration::from_secs(1),
        measure,
    )
    .await?;
    let alone = phase(&client, work, 1, Duration::from_secs(1), measure).await?;
    println!(
        "{{{}, {}}}",
        summary("saturated", saturated),
        summary("alone", alone)
    );
    Ok(())
}
