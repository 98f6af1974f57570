//! `govmedia`: run the whole suite for development, one service for production, migrations,
//! and tokens. Thin by design: every service brings its own `serve`, the kit brings the rest.

#![forbid(unsafe_code)]

mod admin;
mod demo;
mod dev;
mod serve;
mod services;
mod settings;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use govmedia_kit::auth::{Role, TokenKeys};

use crate::settings::Settings;

/// mimalloc instead of the system allocator: rows, messages and scans allocate many small
/// values per call, and glibc's malloc was about a third of the inspection service's time in
/// its daily-run benchmark (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// govmedia: supervision of government new-media accounts (政务新媒体监管).
#[derive(Debug, Parser)]
#[command(name = "govmedia", version, about, long_about = None)]
struct Cli {
    /// TOML configuration file; `GOVMEDIA_*` environment variables override it.
    #[arg(long, global = true, env = "GOVMEDIA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every service in one process on SQLite files with in-process events (127.0.0.1).
    Dev {
        /// Where the SQLite files live.
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
        /// Load the demo dataset (Qinghai → Haixi → Golmud) unless it is already there.
        #[arg(long)]
        demo: bool,
    },
    /// Run one service for production (PostgreSQL via GOVMEDIA_DATABASE_URL, Redis via
    /// GOVMEDIA_REDIS_URL).
    Serve {
        /// The service to run.
        service: String,
        /// Run pending migrations first (otherwise pending migrations stop the start).
        #[arg(long)]
        migrate: bool,
    },
    /// Run the database migrations of the named services (all when none is named).
    Migrate {
        /// Services to migrate.
        services: Vec<String>,
    },
    /// Bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// API keys of other government systems, checked by the gateway.
    Apikey {
        /// The data directory of `govmedia dev` (ignored when GOVMEDIA_DATABASE_URL is set).
        #[arg(long, default_value = "./data", global = true)]
        data_dir: PathBuf,
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// The append-only audit trails.
    Audit {
        /// The data directory of `govmedia dev` (ignored when GOVMEDIA_DATABASE_URL is set).
        #[arg(long, default_value = "./data", global = true)]
        data_dir: PathBuf,
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Events a service's consumers gave up on (dead letters).
    Events {
        /// The data directory of `govmedia dev` (ignored when GOVMEDIA_DATABASE_URL is set).
        #[arg(long, default_value = "./data", global = true)]
        data_dir: PathBuf,
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// A service's durable jobs that were given up.
    Jobs {
        /// The data directory of `govmedia dev` (ignored when GOVMEDIA_DATABASE_URL is set).
        #[arg(long, default_value = "./data", global = true)]
        data_dir: PathBuf,
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Asks a govmedia port's grpc.health.v1 whether it serves; exits 0 only when it does (the
    /// container image's health check).
    Probe {
        /// `host:port` of the gRPC port.
        #[arg(long, default_value = "127.0.0.1:50061")]
        addr: String,
        /// The gRPC service to ask about; the whole server when empty.
        #[arg(long, default_value = "")]
        service: String,
    },
    /// The services' identity keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
enum EventsCommand {
    /// Lists the dead letters of a service's consumers, with the last error of each.
    Dead {
        /// The consuming service, e.g. `registry`.
        service: String,
    },
    /// Has the consumer handle a dead letter again (once its cause is mended).
    Replay {
        /// The consuming service.
        service: String,
        /// The event id, as `events dead` lists it.
        event_id: String,
    },
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// Lists the DEAD jobs of a service, with the last error of each.
    Dead {
        /// The service, e.g. `filing`.
        service: String,
    },
    /// Gives a DEAD job a new round of attempts, due now.
    Revive {
        /// The service.
        service: String,
        /// The job id, as `jobs dead` lists it.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Writes a fresh Ed25519 key pair for every service: `<service>.key.pem` (private; give
    /// each service only its own) and `public/<service>.pub.pem` (every service's
    /// GOVMEDIA_IDENTITY__TRUST_DIR).
    Generate {
        /// Directory to write to; keys already there are never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Prints an identity for calling one service directly, as the service whose private key
    /// is given would pass a caller on (an operator holding that key file checking a service
    /// behind the gateway, a benchmark). It lives five minutes; no SYSTEM role.
    Sign {
        /// The signing service's private key, e.g. /etc/govmedia/keys/gateway.key.pem.
        #[arg(long)]
        key_file: PathBuf,
        /// The service that key belongs to.
        #[arg(long, default_value = "gateway")]
        signer: String,
        /// The service the identity is for.
        #[arg(long = "for")]
        audience: String,
        /// Who.
        #[arg(long)]
        subject: String,
        /// The caller's organization id.
        #[arg(long)]
        org: String,
        /// A role (repeat for several).
        #[arg(long = "role", required = true, value_parser = clap::builder::ValueParser::new(outside_role))]
        roles: Vec<Role>,
    },
}

#[derive(Debug, Subcommand)]
enum ApikeyCommand {
    /// Issue a key; it is printed once, on standard output.
    Issue {
        /// Who the key is for, e.g. "12345 政务服务便民热线".
        #[arg(long)]
        name: String,
        /// The organization it acts for, e.g. `golmud`; for the vendor role, the vendor's id.
        #[arg(long)]
        org: String,
        /// A role (repeatable).
        #[arg(long = "role", required = true, value_parser = clap::builder::ValueParser::new(outside_role))]
        roles: Vec<Role>,
        /// Days until it expires (default: never).
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
    /// List every key (never the secrets).
    List,
    /// Revoke a key by id.
    Revoke {
        /// The key's id (`apiKeys/{id}` or the id).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute a service's audit hash chains, report whether they are intact, and print each chain's latest hash.
    Verify {
        /// The service, e.g. `registry`.
        service: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Print a signed token (HS256, the configured secret or, without one, the development secret).
    Issue {
        /// Who the token speaks for (the `sub` claim).
        #[arg(long)]
        subject: String,
        /// The caller's organization id, e.g. `golmud` (its subtree is the jurisdiction); for
        /// the vendor role, the vendor's id, e.g. `qingyun-media`.
        #[arg(long)]
        org: String,
        /// A role: operator, leader, handler, supervisor, vendor or auditor (never system, which
        /// belongs to govmedia's own services). Repeatable.
        #[arg(long = "role", required = true, value_parser = clap::builder::ValueParser::new(outside_role))]
        roles: Vec<Role>,
        /// Lifetime in seconds, at least 1 (default: auth.token_ttl_secs, 8 hours).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        ttl: Option<u64>,
    },
}

/// A role a person or an outside system may hold: SYSTEM belongs to govmedia's own services.
fn outside_role(value: &str) -> Result<Role, String> {
    // The kit's refusal of an unknown role offers only the outside roles.
    let role = value.parse::<Role>()?;
    if role.is_outside() {
        Ok(role)
    } else {
        Err(
            "the system role belongs to govmedia's own services and is never issued; give the \
             caller the role of what it does (auditor to read)"
                .to_owned(),
        )
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = (|| {
        let settings: Settings = govmedia_kit::config::load(cli.config.as_deref())?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        match cli.command {
            Command::Dev { data_dir, demo } => runtime.block_on(dev::run(settings, data_dir, demo)),
            Command::Serve { service, migrate } => {
                runtime.block_on(serve::run(settings, &service, migrate))
            }
            Command::Migrate { services } => runtime.block_on(serve::migrate(settings, &services)),
            Command::Token {
                command:
                    TokenCommand::Issue {
                        subject,
                        org,
                        roles,
                        ttl,
                    },
            } => vendor_alone(&roles)
                .and_then(|()| issue_token(&settings, &subject, &org, &roles, ttl)),
            Command::Apikey { data_dir, command } => runtime.block_on(async {
                match command {
                    ApikeyCommand::Issue {
                        name,
                        org,
                        roles,
                        expires_in_days,
                    } => {
                        vendor_alone(&roles)?;
                        admin::issue_key(&settings, &data_dir, &name, &org, &roles, expires_in_days)
                            .await
                    }
                    ApikeyCommand::List => admin::list_keys(&settings, &data_dir).await,
                    ApikeyCommand::Revoke { id } => {
                        admin::revoke_key(&settings, &data_dir, &id).await
                    }
                }
            }),
            Command::Audit {
                data_dir,
                command: AuditCommand::Verify { service },
            } => runtime.block_on(admin::verify_audit(&settings, &data_dir, &service)),
            Command::Events { data_dir, command } => runtime.block_on(async {
                match command {
                    EventsCommand::Dead { service } => {
                        admin::dead_letters(&settings, &data_dir, &service).await
                    }
                    EventsCommand::Replay { service, event_id } => {
                        admin::replay_event(&settings, &data_dir, &service, &event_id).await
                    }
                }
            }),
            Command::Jobs { data_dir, command } => runtime.block_on(async {
                match command {
                    JobsCommand::Dead { service } => {
                        admin::dead_jobs(&settings, &data_dir, &service).await
                    }
                    JobsCommand::Revive { service, id } => {
                        admin::revive_job(&settings, &data_dir, &service, &id).await
                    }
                }
            }),
            Command::Probe { addr, service } => runtime.block_on(admin::probe(&addr, &service)),
            Command::Keys { command } => match command {
                KeysCommand::Generate { out } => admin::generate_keys(&out),
                KeysCommand::Sign {
                    key_file,
                    signer,
                    audience,
                    subject,
                    org,
                    roles,
                } => admin::sign_identity(&key_file, &signer, &audience, &subject, &org, &roles),
            },
        }
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A vendor's credential names the vendor (its `--org` is the vendor's id), not an
/// organization of the tree, so it holds no other role: one that did would be read differently
/// by every service.
fn vendor_alone(roles: &[Role]) -> anyhow::Result<()> {
    anyhow::ensure!(
        !roles.contains(&Role::Vendor) || roles.iter().all(|role| *role == Role::Vendor),
        "the vendor role is held alone: a vendor's credential names the vendor (--org is its \
         id), not an organization whose other roles it could also hold"
    );
    Ok(())
}

fn issue_token(
    settings: &Settings,
    subject: &str,
    org: &str,
    roles: &[Role],
    ttl: Option<u64>,
) -> anyhow::Result<()> {
    let org = org
        .strip_prefix("organizations/")
        .or_else(|| org.strip_prefix("vendors/"))
        .unwrap_or(org);
    anyhow::ensure!(
        govmedia_kit::validate::is_id(org),
        "--org must be an organization id such as `golmud`, or a vendor id for the vendor role \
         (2-63 characters of a-z, 0-9 and '-')"
    );
    anyhow::ensure!(!subject.trim().is_empty(), "--subject must not be empty");
    if settings.auth.jwt_secret.is_none() {
        eprintln!(
            "note: signed with the development secret; only `govmedia dev` accepts this token"
        );
    }
    let keys = TokenKeys::from_settings(&settings.auth, true)?;
    let ttl = Duration::from_secs(ttl.unwrap_or(settings.auth.token_ttl_secs));
    println!("{}", keys.issue(subject, org, roles, ttl)?);
    Ok(())
}
