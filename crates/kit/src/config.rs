//! Layered, typed configuration: built-in defaults, then an optional TOML file, then `GOVMEDIA_*`
//! environment variables (nested keys joined by `__`, e.g. `GOVMEDIA_AUTH__ISSUER`).
//!
//! The sections here are the ones every service shares. Each service adds its own section type
//! (e.g. `registry::config::RegistryConfig`); the `govmedia` binary composes them into one document.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Environment variables that are not configuration keys, although they carry the prefix.
const NON_CONFIG_ENV: &[&str] = &[
    "config",
    "test_postgres_url",
    "test_redis_url",
    "test_require_backends",
];

/// Short aliases documented for operators, mapped to their nested keys.
const ENV_ALIASES: &[(&str, &str)] = &[
    ("database_url", "database.url"),
    ("redis_url", "redis.url"),
    ("jwt_secret", "auth.jwt_secret"),
    ("log", "telemetry.log"),
];

/// Loads a configuration document of type `T`: `T::default()`, merged with `file` when given (it
/// must exist), merged with the environment.
pub fn load<T>(file: Option<&Path>) -> Result<T, ConfigError>
where
    T: DeserializeOwned + Serialize + Default,
{
    let mut figment = Figment::from(Serialized::defaults(T::default()));
    if let Some(file) = file {
        if !file.is_file() {
            return Err(ConfigError(format!(
                "configuration file {} does not exist",
                file.display()
            )));
        }
        figment = figment.merge(Toml::file_exact(file));
    }
    figment
        .merge(environment())
        .extract()
        .map_err(|error| ConfigError(error.to_string()))
}

fn environment() -> Env {
    Env::prefixed("GOVMEDIA_")
        .filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            !NON_CONFIG_ENV.contains(&key.as_str())
        })
        .map(|key| {
            let lower = key.as_str().to_ascii_lowercase();
            ENV_ALIASES
                .iter()
                .find(|(alias, _)| *alias == lower)
                .map(|(_, nested)| (*nested).to_owned())
                .unwrap_or_else(|| lower.replace("__", "."))
                .into()
        })
}

/// A configuration that cannot be loaded; the message names the offending key or file.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

/// Where a service keeps its tables.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH?mode=rwc` or `postgres://user@host/db`. `govmedia dev` fills this in per
    /// service; `govmedia serve` requires it (`GOVMEDIA_DATABASE_URL`).
    pub url: Option<String>,
    /// PostgreSQL schema for the service's tables; defaults to the service name, so several
    /// services can share one database. Ignored for SQLite.
    pub schema: Option<String>,
    /// Connection pool size.
    pub max_connections: u32,
    /// Seconds to wait for a connection.
    pub connect_timeout_secs: u64,
    /// How many hash chains the audit trail spreads over, 1 to 256 (see `audit`): writes
    /// about resources of different chains do not wait for each other. 1 is a single chain
    /// whose every write waits for the one before it to commit. Changing it is safe: each
    /// chain stays verifiable, and resources move to their new chains from then on.
    pub audit_chains: u16,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            schema: None,
            max_connections: 10,
            connect_timeout_secs: 10,
            audit_chains: 16,
        }
    }
}

/// Redis, used for the event streams (and later rate limits and leases). Without a URL the
/// in-process equivalents are used, which is right only for a single-process deployment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://host:port/db` (`GOVMEDIA_REDIS_URL`).
    pub url: Option<String>,
    /// Prefix of every key govmedia writes, so that several deployments can share one Redis.
    pub key_prefix: String,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: None,
            key_prefix: "govmedia:".to_owned(),
        }
    }
}

/// Bearer-token verification.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// HS256 secret (`GOVMEDIA_JWT_SECRET`), at least 32 bytes. `govmedia dev` uses a built-in
    /// development secret when unset; `govmedia serve` refuses to start without a real one.
    pub jwt_secret: Option<String>,
    /// Expected `iss` claim.
    pub issuer: String,
    /// Expected `aud` claim.
    pub audience: String,
    /// Lifetime of tokens issued by `govmedia token issue`, in seconds.
    pub token_ttl_secs: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            issuer: "govmedia".to_owned(),
            audience: "govmedia".to_owned(),
            token_ttl_secs: 8 * 3600,
        }
    }
}

/// Logging and tracing. Traces are exported over OTLP when the standard
/// `OTEL_EXPORTER_OTLP_ENDPOINT` variable is set.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `tracing` filter directives (`GOVMEDIA_LOG`), e.g. `info,govmedia_registry=debug`.
    pub log: String,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log: "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,h2=warn,tower=warn".to_owned(),
        }
    }
}

/// Outbox relay and consumer tuning.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct EventSettings {
    /// How often the outbox relay looks for unpublished events when nothing woke it, in ms.
    pub relay_interval_ms: u64,
    /// Events moved per relay round.
    pub relay_batch: u64,
    /// How long a consumer blocks waiting for new entries, in ms.
    pub consumer_block_ms: u64,
    /// Entries delivered but not acknowledged for this long are claimed by another consumer, in ms.
    pub claim_idle_ms: u64,
    /// Entries a stream keeps (older ones are trimmed, approximately, on Redis). Size it so that
    /// the slowest consumer never falls this far behind.
    pub max_stream_len: u64,
    /// Failed attempts at one event before a consumer gives it up as a dead letter.
    pub max_deliveries: u32,
    /// Outbox rows are kept this long after they were relayed (for inspection), in hours.
    pub outbox_retention_hours: u64,
    /// A consumer remembers the ids of processed events this long, in hours: longer than any
    /// redelivery can come late (a consumer away longer replays from its dead letters).
    pub processed_retention_hours: u64,
}

impl Default for EventSettings {
    fn default() -> Self {
        Self {
            relay_interval_ms: 1000,
            relay_batch: 100,
            consumer_block_ms: 1000,
            claim_idle_ms: 30_000,
            max_stream_len: 1_000_000,
            max_deliveries: 5,
            outbox_retention_hours: 72,
            processed_retention_hours: 30 * 24,
        }
    }
}

/// Where a service finds its identity keys (`govmedia keys generate` writes them). `govmedia
/// dev` ignores these and makes fresh keys in memory for every service it runs.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct IdentitySettings {
    /// This service's Ed25519 private key, PKCS#8 PEM (`GOVMEDIA_IDENTITY__KEY_FILE`). Whoever
    /// holds it can act as the service: give it to that service's processes only.
    pub key_file: Option<PathBuf>,
    /// The directory of every service's public key, `<service>.pub.pem`
    /// (`GOVMEDIA_IDENTITY__TRUST_DIR`); a service believes identities signed by these keys only.
    pub trust_dir: Option<PathBuf>,
}

impl IdentitySettings {
    /// The identity of `service` from the configured files.
    pub fn load(
        &self,
        service: &str,
    ) -> Result<crate::identity::Identity, crate::identity::IdentityError> {
        let missing = |variable: &str| {
            crate::identity::IdentityError(format!(
                "no identity keys for the {service} service: set {variable} (`govmedia keys generate` makes them)"
            ))
        };
        let key_file = self
            .key_file
            .as_deref()
            .ok_or_else(|| missing("GOVMEDIA_IDENTITY__KEY_FILE"))?;
        let trust_dir = self
            .trust_dir
            .as_deref()
            .ok_or_else(|| missing("GOVMEDIA_IDENTITY__TRUST_DIR"))?;
        crate::identity::Identity::from_files(service, key_file, trust_dir)
    }
}

/// The working-day calendar deadlines count in. The official holidays and adjusted working
/// days ship with govmedia; these settings add to them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct CalendarSettings {
    /// Files in the shipped format (one `{"date","off","name"}` object a line) that extend or
    /// correct the official data for every region: a new year's State Council notice before a
    /// release ships it.
    pub files: Vec<PathBuf>,
    /// The office hours of a working day, for limits counted in working hours, as `HH:MM-HH:MM`
    /// windows in order.
    pub office_hours: Vec<String>,
    /// Regional holidays (e.g. 藏历新年 in Xizang), by the id of the organization whose subtree
    /// keeps them: further files applied over the national calendar.
    pub regions: BTreeMap<String, RegionCalendarSettings>,
}

/// A region's own calendar days.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RegionCalendarSettings {
    /// Files in the shipped format, applied after the national ones.
    pub files: Vec<PathBuf>,
}

impl Default for CalendarSettings {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            office_hours: vec!["09:00-12:00".to_owned(), "13:30-17:30".to_owned()],
            regions: BTreeMap::new(),
        }
    }
}

impl CalendarSettings {
    /// Reads the calendar files: the national calendar and one per configured region. A bad
    /// file is refused with its name and line.
    pub fn load(
        &self,
    ) -> Result<
        crate::regional::Regional<govmedia_calendar::Calendar>,
        govmedia_calendar::CalendarError,
    > {
        use govmedia_calendar::{Calendar, OfficeHours};
        let national = Calendar::load(&self.files, OfficeHours::parse(&self.office_hours)?)?;
        let mut calendars = crate::regional::Regional::uniform(national.clone());
        for (region, settings) in &self.regions {
            calendars.regions.insert(
                region.clone(),
                national.clone().extended_by_files(&settings.files)?,
            );
        }
        Ok(calendars)
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail API returns its own large error type
mod tests {
    use super::*;

    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Doc {
        database: DatabaseSettings,
        auth: AuthSettings,
    }

    #[test]
    fn file_then_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "govmedia.toml",
                "[auth]\nissuer = \"from-file\"\naudience = \"file\"\n",
            )?;
            jail.set_env("GOVMEDIA_AUTH__AUDIENCE", "from-env");
            jail.set_env("GOVMEDIA_DATABASE_URL", "postgres://x/y");
            jail.set_env("GOVMEDIA_TEST_REQUIRE_BACKENDS", "1");
            let doc: Doc = load(Some(Path::new("govmedia.toml"))).map_err(|e| e.0)?;
            assert_eq!(doc.auth.issuer, "from-file");
            assert_eq!(doc.auth.audience, "from-env");
            assert_eq!(doc.database.url.as_deref(), Some("postgres://x/y"));
            assert_eq!(doc.database.max_connections, 10);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "[auth]\nisuer = \"typo\"\n")?;
            let error = load::<Doc>(Some(Path::new("bad.toml"))).unwrap_err();
            assert!(error.0.contains("isuer"), "{error}");
            let error = load::<Doc>(Some(Path::new("absent.toml"))).unwrap_err();
            assert!(error.0.contains("does not exist"), "{error}");
            Ok(())
        });
    }
}

/// The limits of every listening port (each service's, and the gateway's gRPC and HTTP/JSON
/// ports), the `[listen]` section. They keep one client from holding what the others need:
/// connections, streams, and the time a connection may sit without asking for anything.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ListenSettings {
    /// Connections a port holds open at once; one more is closed as soon as it is accepted.
    pub max_connections: u32,
    /// Connections one peer address holds open at once on one port.
    pub max_connections_per_peer: u32,
    /// HTTP/2 streams (calls) one connection may have open at once, advertised to the client.
    pub max_concurrent_streams: u32,
    /// A new connection must have sent its first complete request within this time, else it is
    /// closed (a client that sends its headers slowly, or never, holds nothing for long), in ms.
    /// On HTTP/1 every request's headers must arrive within it.
    pub header_read_timeout_ms: u64,
    /// A connection with no call in flight and no new call for this long is asked to close
    /// (HTTP/2 GOAWAY; the client reconnects when it next calls), in ms.
    pub idle_timeout_ms: u64,
    /// After a connection was asked to close (idle, or the server is stopping), its calls in
    /// flight get this long to finish before it is closed regardless, in ms.
    pub drain_timeout_ms: u64,
    /// When the server is told to stop, it first reports NOT_SERVING and goes on serving for
    /// this long, new connections included, and only then closes its port and drains: the time
    /// callers (a Kubernetes endpoint controller, the gateway's and peers' health checks, DNS)
    /// need to stop sending it new calls, so that none is refused. 0 closes at once (dev, tests),
    /// in ms.
    pub shutdown_delay_ms: u64,
    /// How often an idle HTTP/2 connection is pinged to find peers that are gone, in ms; one that
    /// does not answer within the same time is closed.
    pub keepalive_interval_ms: u64,
}

impl Default for ListenSettings {
    fn default() -> Self {
        Self {
            max_connections: 2048,
            max_connections_per_peer: 256,
            max_concurrent_streams: 256,
            header_read_timeout_ms: 5_000,
            idle_timeout_ms: 120_000,
            drain_timeout_ms: 30_000,
            shutdown_delay_ms: 0,
            keepalive_interval_ms: 60_000,
        }
    }
}

impl ListenSettings {
    /// What makes these settings unusable, one line each.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, value) in [
            ("listen.max_connections", u64::from(self.max_connections)),
            (
                "listen.max_connections_per_peer",
                u64::from(self.max_connections_per_peer),
            ),
            (
                "listen.max_concurrent_streams",
                u64::from(self.max_concurrent_streams),
            ),
            ("listen.header_read_timeout_ms", self.header_read_timeout_ms),
            ("listen.idle_timeout_ms", self.idle_timeout_ms),
            ("listen.drain_timeout_ms", self.drain_timeout_ms),
            ("listen.keepalive_interval_ms", self.keepalive_interval_ms),
        ] {
            if value == 0 {
                problems.push(format!("{name} must be positive"));
            }
        }
        if self.max_connections_per_peer > self.max_connections {
            problems.push(
                "listen.max_connections_per_peer must not exceed listen.max_connections".into(),
            );
        }
        problems
    }
}
