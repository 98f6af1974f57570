//! Operator commands on a service's database: `govmedia apikey …` and `govmedia audit verify`.
//! They open the production database when `GOVMEDIA_DATABASE_URL` is set (migrations must have
//! run), else the SQLite file of `govmedia dev` in the data directory.

use std::{collections::BTreeSet, path::Path, time::Duration};

use anyhow::Context as _;
use govmedia_gateway::apikeys;
use govmedia_kit::{
    auth::{Principal, Role},
    clock::Clock,
    config::DatabaseSettings,
    db::Db,
    identity::Keyring,
};

use crate::{services, settings::Settings};

/// Opens `schema`'s database for an operator command.
async fn open(settings: &Settings, data_dir: &Path, schema: &str) -> anyhow::Result<Db> {
    let found =
        services::find_schema(schema).with_context(|| format!("unknown service {schema:?}"))?;
    if settings.database.url.is_some() {
        let db = crate::serve::open(settings, schema).await?;
        let pending = (found.pending)(db.clone(), found.name).await?;
        anyhow::ensure!(pending == 0, "run `govmedia migrate {schema}` first");
        return Ok(db);
    }
    let database = DatabaseSettings {
        url: Some(format!(
            "sqlite://{}?mode=rwc",
            data_dir.join(format!("{schema}.db")).display()
        )),
        ..settings.database.clone()
    };
    std::fs::create_dir_all(data_dir)?;
    let db = Db::connect(&database, schema).await?;
    (found.migrate)(db.clone()).await?;
    Ok(db)
}

/// [`open`] for a command that reads or changes what is there: a data directory without the
/// service's database is a mistake (a mistyped path), not an empty database to create.
async fn open_existing(settings: &Settings, data_dir: &Path, schema: &str) -> anyhow::Result<Db> {
    let file = data_dir.join(format!("{schema}.db"));
    anyhow::ensure!(
        settings.database.url.is_some() || file.is_file(),
        "no {schema} database at {} (the data directory of `govmedia dev`; or set GOVMEDIA_DATABASE_URL)",
        file.display()
    );
    open(settings, data_dir, schema).await
}

/// The operator running the command, as recorded in the audit trail.
fn operator() -> Principal {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned());
    Principal {
        subject: format!("govmedia-cli:{user}"),
        organization: "govmedia-cli".to_owned(),
        roles: BTreeSet::from([Role::System]),
        issuer: "govmedia-cli".to_owned(),
        service: Some("cli".to_owned()),
        basis: None,
    }
}

pub async fn issue_key(
    settings: &Settings,
    data_dir: &Path,
    name: &str,
    org: &str,
    roles: &[Role],
    days: Option<i64>,
) -> anyhow::Result<()> {
    let db = open(settings, data_dir, govmedia_gateway::NAME).await?;
    let new = apikeys::NewKey {
        display_name: name.to_owned(),
        organization: org.strip_prefix("organizations/").unwrap_or(org).to_owned(),
        roles: roles.iter().copied().collect(),
        valid_for: days.map(chrono::Duration::days),
    };
    let writer = apikeys::writer(&db, Clock::system());
    let (record, key) = apikeys::issue(&writer, &operator(), new).await?;
    eprintln!(
        "issued apiKeys/{} for {} ({}); the key is shown only now:",
        record.id, record.display_name, record.organization
    );
    println!("{key}");
    Ok(())
}

pub async fn list_keys(settings: &Settings, data_dir: &Path) -> anyhow::Result<()> {
    let db = open_existing(settings, data_dir, govmedia_gateway::NAME).await?;
    println!(
        "{:<14} {:<10} {:<20} {:<24} NAME",
        "ID", "STATE", "ORGANIZATION", "ROLES"
    );
    let now = Clock::system().now();
    for key in apikeys::list(&db).await? {
        let state = match key.unusable(now) {
            Some(_) if key.revoked_at.is_some() => "revoked",
            Some(_) => "expired",
            None => "active",
        };
        let roles: Vec<_> = key.roles.iter().map(|r| r.as_str()).collect();
        println!(
            "{:<14} {:<10} {:<20} {:<24} {}",
            key.id,
            state,
            key.organization,
            roles.join(","),
            key.display_name
        );
    }
    Ok(())
}

pub async fn revoke_key(settings: &Settings, data_dir: &Path, id: &str) -> anyhow::Result<()> {
    let db = open_existing(settings, data_dir, govmedia_gateway::NAME).await?;
    let writer = apikeys::writer(&db, Clock::system());
    let record = apikeys::revoke(&writer, &operator(), id).await?;
    println!(
        "revoked apiKeys/{}; gateways refuse it within {} s",
        record.id, settings.gateway.api_key_cache_secs
    );
    Ok(())
}

pub async fn verify_audit(
    settings: &Settings,
    data_dir: &Path,
    schema: &str,
) -> anyhow::Result<()> {
    let db = open_existing(settings, data_dir, schema).await?;
    let entries = govmedia_kit::audit::verify(db.conn()).await?;
    println!("{schema}: the audit trail is intact ({entries} entries)");
    // What to keep elsewhere to notice later that entries were cut off at the end of a chain.
    for head in govmedia_kit::audit::heads(db.conn()).await? {
        println!(
            "  chain {}: {} entries, latest hash {}",
            head.chain, head.length, head.hash
        );
    }
    Ok(())
}

/// `govmedia keys generate --out DIR`: a key pair for every service the binary runs.
pub fn generate_keys(out: &Path) -> anyhow::Result<()> {
    let public = out.join("public");
    std::fs::create_dir_all(&public)
        .with_context(|| format!("cannot create {}", public.display()))?;
    let mut names: Vec<&str> = services::SERVICES.iter().map(|s| s.name).collect();
    names.push(govmedia_gateway::NAME);
    for name in &names {
        let private = out.join(format!("{name}.key.pem"));
        anyhow::ensure!(
            !private.exists(),
            "{} exists already; keys are never overwritten (move the old ones away first)",
            private.display()
        );
    }
    let keyring = Keyring::generate(&names)?;
    for pair in keyring.pairs() {
        let private = out.join(format!("{}.key.pem", pair.service()));
        write_private(&private, &pair.private_pem())?;
        let public_file = public.join(format!("{}.pub.pem", pair.service()));
        std::fs::write(&public_file, pair.public_pem())
            .with_context(|| format!("cannot write {}", public_file.display()))?;
        println!("{}: {}", pair.service(), private.display());
    }
    println!(
        "public keys: {}\nGive each service its own key (GOVMEDIA_IDENTITY__KEY_FILE) and every \
         service the public keys (GOVMEDIA_IDENTITY__TRUST_DIR={}).",
        public.display(),
        public.display()
    );
    Ok(())
}

/// Writes a private key readable by its owner only.
fn write_private(path: &Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(pem.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// `govmedia keys sign`: an identity for `audience`, signed with `signer`'s key file.
pub fn sign_identity(
    key_file: &Path,
    signer: &str,
    audience: &str,
    subject: &str,
    organization: &str,
    roles: &[Role],
) -> anyhow::Result<()> {
    let pem = std::fs::read_to_string(key_file)
        .with_context(|| format!("cannot read {}", key_file.display()))?;
    let pair = govmedia_kit::identity::Keypair::from_pem(signer, &pem)
        .with_context(|| format!("{}", key_file.display()))?;
    let identity =
        govmedia_kit::identity::Identity::new(&pair, [(signer.to_owned(), pair.public())])?;
    let organization = organization
        .strip_prefix("organizations/")
        .unwrap_or(organization);
    anyhow::ensure!(
        govmedia_kit::validate::is_id(organization),
        "{organization:?} is not an organization id"
    );
    let principal = Principal {
        subject: subject.to_owned(),
        organization: organization.to_owned(),
        roles: roles.iter().copied().collect(),
        issuer: format!("govmedia-cli:{signer}"),
        service: None,
        basis: None,
    };
    println!("{}", identity.mint(&principal, audience)?);
    Ok(())
}

/// `govmedia jobs dead <service>`.
pub async fn dead_jobs(settings: &Settings, data_dir: &Path, service: &str) -> anyhow::Result<()> {
    let db = open_existing(settings, data_dir, service).await?;
    let dead = govmedia_kit::jobs::dead(db.conn(), None, 1000).await?;
    if dead.is_empty() {
        println!("{service}: no dead jobs");
    }
    for job in dead {
        println!(
            "{}\tattempts {}\tsince {}\t{}",
            job.id,
            job.attempts,
            job.run_at.to_rfc3339(),
            job.last_error
        );
    }
    Ok(())
}

/// `govmedia jobs revive <service> <id>`.
pub async fn revive_job(
    settings: &Settings,
    data_dir: &Path,
    service: &str,
    id: &str,
) -> anyhow::Result<()> {
    let db = open_existing(settings, data_dir, service).await?;
    let txn = db.begin_write().await?;
    let revived = govmedia_kit::jobs::revive(&*txn, id, Clock::system().now()).await?;
    txn.commit().await?;
    anyhow::ensure!(revived, "{service} has no dead job {id}");
    println!("{id}: due again now; the service's workers take it from here");
    Ok(())
}

/// `govmedia events dead <service>`.
pub async fn dead_letters(
    settings: &Settings,
    data_dir: &Path,
    service: &str,
) -> anyhow::Result<()> {
    let db = open_existing(settings, data_dir, service).await?;
    let letters = govmedia_kit::events::consumer::dead_letters(&db, 1000).await?;
    if letters.is_empty() {
        println!("{service}: no dead letters");
    }
    for letter in letters {
        println!(
            "{}\t{} from {}\t{}\tattempts {}{}\t{}",
            letter.event_id,
            letter.event_type,
            letter.stream,
            letter.subject,
            letter.attempts,
            if letter.replay_requested {
                " (replay requested)"
            } else {
                ""
            },
            letter.last_error
        );
    }
    Ok(())
}

/// `govmedia events replay <service> <event-id>`.
pub async fn replay_event(
    settings: &Settings,
    data_dir: &Path,
    service: &str,
    event_id: &str,
) -> anyhow::Result<()> {
    let db = open_existing(settings, data_dir, service).await?;
    let requested = govmedia_kit::events::consumer::replay(&db, event_id).await?;
    anyhow::ensure!(requested, "{service} has no dead letter {event_id}");
    println!("{event_id}: the {service} consumer handles it again at its next round");
    Ok(())
}

/// `govmedia probe`: SERVING or an error that says what was answered instead.
pub async fn probe(addr: &str, service: &str) -> anyhow::Result<()> {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    const WITHIN: Duration = Duration::from_secs(3);
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .with_context(|| format!("{addr:?} is not host:port"))?
        .connect_timeout(WITHIN)
        .timeout(WITHIN)
        .connect()
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .map_err(|status| {
            anyhow::anyhow!("{addr} answered {:?}: {}", status.code(), status.message())
        })?
        .into_inner()
        .status;
    let status = ServingStatus::try_from(answer).unwrap_or(ServingStatus::Unknown);
    anyhow::ensure!(
        status == ServingStatus::Serving,
        "{addr} is {}",
        status.as_str_name()
    );
    println!("SERVING");
    Ok(())
}
