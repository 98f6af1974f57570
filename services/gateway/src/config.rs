//! The gateway's settings (the `[gateway]` section).

use std::{
    collections::BTreeMap,
    net::{Ipv4Addr, SocketAddr},
    path::PathBuf,
};

use serde::{Deserialize, Serialize};

/// Default gRPC port of the suite's front door.
pub const DEFAULT_PORT: u16 = 50051;
/// Default HTTP/JSON port.
pub const DEFAULT_HTTP_PORT: u16 = 8080;

/// See the field docs; every field has a default.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// HTTP/JSON listen address.
    pub http_listen: SocketAddr,
    /// Upstream per service package: `registry` serves `govmedia.registry.v1.*`
    /// (`GOVMEDIA_GATEWAY__UPSTREAMS__REGISTRY=http://registry:50061`).
    pub upstreams: BTreeMap<String, String>,
    /// Deadline given to calls that bring none, in ms.
    pub default_timeout_ms: u64,
    /// Longest deadline a call may ask for, in ms.
    pub max_timeout_ms: u64,
    /// Largest total size of a call's metadata (header names and values), in bytes. Keep it
    /// below HTTP/2's header-list limit (16 KiB), so callers get a clear error instead of a reset.
    pub max_metadata_bytes: usize,
    /// Largest HTTP/JSON request body, in bytes.
    pub max_json_bytes: usize,
    /// Rate limits per caller.
    pub rate_limit: RateLimitConfig,
    /// Budgets for failed authentication.
    pub auth_failures: AuthFailureConfig,
    /// Bearer tokens from an external identity provider.
    pub jwt: ExternalJwtConfig,
    /// How long a looked-up API key is trusted before it is read again (so a revocation takes
    /// effect within this time), in seconds.
    pub api_key_cache_secs: u64,
    /// API keys this gateway reads from its database per minute when they are not cached, at
    /// most: a flood of made-up keys becomes no flood of queries (past the budget such a key is
    /// refused with RESOURCE_EXHAUSTED before the database is asked).
    pub api_key_lookups_per_minute: u32,
    /// Look-ups allowed at once beyond the rate.
    pub api_key_lookup_burst: u32,
    /// How often the gateway's health service republishes each upstream's health, in ms (the
    /// replicas themselves are asked every second by the kit's endpoint watcher).
    pub health_interval_ms: u64,
    /// The most of one call's response the gateway holds while its caller reads, in bytes. The
    /// gateway reads every response as fast as its service sends it, so that a caller who
    /// reads slowly does not hold the connection the service's other callers share.
    pub response_buffer_bytes: usize,
    /// A call whose caller takes nothing of a full response buffer for this long is ended
    /// (RESOURCE_EXHAUSTED, RESPONSE_NOT_READ), in ms.
    pub response_stall_ms: u64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            http_listen: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_HTTP_PORT)),
            upstreams: BTreeMap::from([
                ("registry".to_owned(), "http://127.0.0.1:50061".to_owned()),
                ("filing".to_owned(), "http://127.0.0.1:50062".to_owned()),
                ("vendor".to_owned(), "http://127.0.0.1:50063".to_owned()),
                ("routing".to_owned(), "http://127.0.0.1:50064".to_owned()),
                ("inspection".to_owned(), "http://127.0.0.1:50065".to_owned()),
            ]),
            default_timeout_ms: 30_000,
            max_timeout_ms: 120_000,
            max_metadata_bytes: 8 * 1024,
            max_json_bytes: 1024 * 1024,
            rate_limit: RateLimitConfig::default(),
            auth_failures: AuthFailureConfig::default(),
            jwt: ExternalJwtConfig::default(),
            api_key_cache_secs: 10,
            api_key_lookups_per_minute: 3_000,
            api_key_lookup_burst: 100,
            health_interval_ms: 2_000,
            response_buffer_bytes: 256 * 1024,
            response_stall_ms: 10_000,
        }
    }
}

/// Per-caller budgets, separately for reads and writes (GCRA: `burst` at once, then the rate).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Off only for benchmarks of the proxy itself.
    pub enabled: bool,
    /// Reads per minute per caller.
    pub reads_per_minute: u32,
    /// Reads allowed at once.
    pub read_burst: u32,
    /// Writes per minute per caller.
    pub writes_per_minute: u32,
    /// Writes allowed at once.
    pub write_burst: u32,
    /// Calls of one caller's budget a replica leases from Redis at once and spends without a
    /// round trip (a quarter of the burst at most). See `ratelimit` for what this trades.
    pub lease_cells: u32,
    /// The longest a call waits on Redis for its budget, in ms; past it the replica falls back
    /// to limits of its own until Redis answers again.
    pub redis_timeout_ms: u64,
    /// A Redis for the budgets other than the event bus's (`redis://…`); none: the bus's.
    pub redis_url: Option<String>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            reads_per_minute: 1200,
            read_burst: 200,
            writes_per_minute: 300,
            write_burst: 50,
            lease_cells: 16,
            redis_timeout_ms: 50,
            redis_url: None,
        }
    }
}

/// Failed authentication is budgeted, per peer address and per API key id, in each gateway
/// replica: past the budget, failures from the address are answered RESOURCE_EXHAUSTED with
/// RetryInfo (good credentials from it still pass: systems behind one NAT must not lock each
/// other out), and a key id is refused before its secret is looked at, so guessing a key stops
/// there whatever the addresses.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthFailureConfig {
    /// Failed authentications per minute from one peer address.
    pub per_source_per_minute: u32,
    /// Failed authentications from one address allowed at once.
    pub per_source_burst: u32,
    /// Failed authentications per minute naming one API key id (from any address). A key id
    /// past it is refused even with its right secret until the budget refills: guessing one key
    /// from many addresses stops there.
    pub per_key_per_minute: u32,
    /// Failed authentications naming one key id allowed at once.
    pub per_key_burst: u32,
}

impl Default for AuthFailureConfig {
    fn default() -> Self {
        Self {
            per_source_per_minute: 60,
            per_source_burst: 30,
            per_key_per_minute: 120,
            per_key_burst: 60,
        }
    }
}

/// Verification of tokens from an external issuer (RS256, ES256 or EdDSA). They carry the same
/// `org` and `roles` claims as govmedia's own tokens.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ExternalJwtConfig {
    /// Expected `iss`; required when keys are configured.
    pub issuer: Option<String>,
    /// Expected `aud`; required when keys are configured.
    pub audience: Option<String>,
    /// A JWKS file (`{"keys":[...]}`) with the issuer's public keys.
    pub jwks_file: Option<PathBuf>,
    /// Public keys in PEM files.
    pub public_keys: Vec<PublicKeyConfig>,
}

/// One PEM public key.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PublicKeyConfig {
    /// The `kid` tokens name it by.
    pub kid: String,
    /// `RS256`, `ES256` or `EdDSA`.
    pub algorithm: String,
    /// The PEM file.
    pub pem_file: PathBuf,
}
