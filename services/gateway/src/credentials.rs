//! Who is calling: the gateway accepts
//!
//! * govmedia's own HS256 tokens (`govmedia token issue`),
//! * tokens of an external identity provider, RS256, ES256 or EdDSA, verified with public keys
//!   from PEM files or a JWKS file, matched by `kid`, with issuer, audience, `exp` and `nbf`
//!   checked, and
//! * API keys of other government systems (`Authorization: Bearer gmk_…` or `x-api-key`).
//!
//! Verified tokens are cached until they expire (verifying RS256 costs tens of microseconds);
//! API keys are cached for a few seconds, so a revocation takes effect within that time.
//!
//! None of them may carry the SYSTEM role: it belongs to govmedia's own services, whose
//! identities no outside credential can mint.
//!
//! Whatever the caller presented, the service behind the gateway receives a short-lived identity
//! the gateway signs with its own key for the verified principal and for that one service
//! ([`Minter`]): services trust one kind of credential, and nothing a caller sends is passed on
//! as identity.

use std::{
    collections::HashMap,
    fmt::Write as _,
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use govmedia_kit::{
    auth::{Claims, Principal, TokenKeys, describe_jwt_error},
    clock::Clock,
    db::Db,
    identity::Identity,
};
use jsonwebtoken::{
    Algorithm, DecodingKey, Validation,
    jwk::{AlgorithmParameters, JwkSet},
};

use crate::{
    config::ExternalJwtConfig,
    domain::{
        apikey,
        gcra::{self, Decision, Quota},
    },
    error::GatewayError,
    store,
};

/// Longest a verified token is remembered.
const TOKEN_CACHE_MAX: Duration = Duration::from_secs(3600);

/// Most entries a cache keeps before it drops the stale ones (or, failing that, all).
const CACHE_LIMIT: usize = 10_000;

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("gateway.jwt: {0}")]
pub struct KeyConfigError(String);

/// Verifies tokens of the external identity provider.
pub struct ExternalVerifier {
    keys: HashMap<String, (DecodingKey, Validation)>,
}

impl std::fmt::Debug for ExternalVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalVerifier")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn validation(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = 30;
    validation
}

fn asymmetric(name: &str) -> Result<Algorithm, KeyConfigError> {
    match name {
        "RS256" => Ok(Algorithm::RS256),
        "ES256" => Ok(Algorithm::ES256),
        "EdDSA" => Ok(Algorithm::EdDSA),
        other => Err(KeyConfigError(format!(
            "algorithm {other:?} is not accepted; use RS256, ES256 or EdDSA"
        ))),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, KeyConfigError> {
    std::fs::read(path)
        .map_err(|error| KeyConfigError(format!("cannot read {}: {error}", path.display())))
}

impl ExternalVerifier {
    /// Loads the configured keys; `None` when none are configured.
    pub fn from_config(
        config: &ExternalJwtConfig,
    ) -> Result<Option<ExternalVerifier>, KeyConfigError> {
        if config.jwks_file.is_none() && config.public_keys.is_empty() {
            return Ok(None);
        }
        let (Some(issuer), Some(audience)) = (&config.issuer, &config.audience) else {
            return Err(KeyConfigError(
                "issuer and audience are required with keys".into(),
            ));
        };
        let mut keys = HashMap::new();
        for key in &config.public_keys {
            let algorithm = asymmetric(&key.algorithm)?;
            let pem = read(&key.pem_file)?;
            let decoding = match algorithm {
                Algorithm::RS256 => DecodingKey::from_rsa_pem(&pem),
                Algorithm::ES256 => DecodingKey::from_ec_pem(&pem),
                _ => DecodingKey::from_ed_pem(&pem),
            }
            .map_err(|error| KeyConfigError(format!("{}: {error}", key.pem_file.display())))?;
            keys.insert(
                key.kid.clone(),
                (decoding, validation(algorithm, issuer, audience)),
            );
        }
        if let Some(path) = &config.jwks_file {
            let set: JwkSet = serde_json::from_slice(&read(path)?).map_err(|error| {
                KeyConfigError(format!("{} is not a JWKS: {error}", path.display()))
            })?;
            for jwk in &set.keys {
                let kid = jwk.common.key_id.clone().ok_or_else(|| {
                    KeyConfigError(format!("a key in {} has no kid", path.display()))
                })?;
                let algorithm = match (&jwk.common.key_algorithm, &jwk.algorithm) {
                    (Some(named), _) => asymmetric(&format!("{named:?}"))?,
                    (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
                    (None, AlgorithmParameters::EllipticCurve(_)) => Algorithm::ES256,
                    (None, AlgorithmParameters::OctetKeyPair(_)) => Algorithm::EdDSA,
                    (None, _) => {
                        return Err(KeyConfigError(format!(
                            "{kid}: only RSA, EC P-256 and Ed25519 public keys are accepted"
                        )));
                    }
                };
                let decoding = DecodingKey::from_jwk(jwk)
                    .map_err(|error| KeyConfigError(format!("{kid}: {error}")))?;
                keys.insert(kid, (decoding, validation(algorithm, issuer, audience)));
            }
        }
        Ok(Some(ExternalVerifier { keys }))
    }

    fn verify(&self, token: &str, kid: Option<&str>) -> Result<Principal, GatewayError> {
        let kid =
            kid.ok_or_else(|| GatewayError::Unauthenticated("token names no key (kid)".into()))?;
        let (key, validation) = self.keys.get(kid).ok_or_else(|| {
            GatewayError::Unauthenticated(format!("token key {kid:?} is not known"))
        })?;
        let claims = jsonwebtoken::decode::<Claims>(token, key, validation)
            .map_err(|error| GatewayError::Unauthenticated(describe_jwt_error(&error).to_owned()))?
            .claims;
        claims
            .into_principal()
            .map_err(|error| GatewayError::Unauthenticated(error.to_string()))
    }
}

/// A verified caller, with what every call of it needs precomputed (the calls of one token or
/// key share one `Arc`, so the hot path allocates nothing for identity).
#[derive(Debug)]
pub struct Caller {
    /// Who.
    pub principal: Principal,
    /// Identity key: subject, organization and roles.
    pub identity_key: String,
    /// Rate-limit key of its reads.
    pub read_key: String,
    /// Rate-limit key of its writes.
    pub write_key: String,
}

impl Caller {
    fn new(principal: Principal) -> Arc<Caller> {
        let mut identity_key = format!(
            "{}\u{1f}{}\u{1f}{}",
            principal.issuer, principal.subject, principal.organization
        );
        for role in &principal.roles {
            let _ = write!(identity_key, "\u{1f}{role}");
        }
        let who = format!("{}:{}", principal.organization, principal.subject);
        Arc::new(Caller {
            read_key: format!("read:{who}"),
            write_key: format!("write:{who}"),
            identity_key,
            principal,
        })
    }
}

#[derive(Clone)]
struct CachedToken {
    caller: Arc<Caller>,
    expires: Instant,
}

#[derive(Clone)]
struct CachedKey {
    record: Option<(apikey::ApiKeyRecord, Arc<Caller>)>,
    fetched: Instant,
}

/// Turns presented credentials into a principal.
pub struct Authenticator {
    clock: Clock,
    lookups: Mutex<Option<u64>>,
    lookup_quota: Quota,
    epoch: Instant,
    internal: Arc<TokenKeys>,
    external: Option<ExternalVerifier>,
    db: Db,
    key_ttl: Duration,
    tokens: Mutex<HashMap<String, CachedToken>>,
    keys: Mutex<HashMap<String, CachedKey>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("external", &self.external)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Authenticator {
    /// An authenticator trusting `internal` tokens, the `external` issuer and the API keys in `db`.
    pub fn new(
        clock: Clock,
        internal: Arc<TokenKeys>,
        external: Option<ExternalVerifier>,
        db: Db,
        key_ttl: Duration,
        lookup_quota: Quota,
    ) -> Self {
        Self {
            clock,
            lookups: Mutex::new(None),
            lookup_quota,
            epoch: Instant::now(),
            internal,
            external,
            db,
            key_ttl,
            tokens: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// The caller behind the request's credentials.
    pub async fn authenticate(
        &self,
        headers: &http::HeaderMap,
    ) -> Result<Arc<Caller>, GatewayError> {
        if let Some(key) = headers.get("x-api-key") {
            // Two credentials are one too many: which one the caller meant, and whether the
            // other was forged, is not the gateway's guess to make.
            if headers.contains_key(http::header::AUTHORIZATION) {
                return Err(GatewayError::Unauthenticated(
                    "send one credential: `authorization` or `x-api-key`, not both".into(),
                ));
            }
            let key = key.to_str().map_err(|_| {
                GatewayError::Unauthenticated("x-api-key is not a valid key".into())
            })?;
            return self.api_key(key.trim()).await;
        }
        let credential = govmedia_kit::auth::bearer(headers)
            .map_err(|message| GatewayError::Unauthenticated(message.to_owned()))?
            .ok_or_else(|| {
                GatewayError::Unauthenticated(
                    "missing `authorization: Bearer <token>` or `x-api-key` metadata".into(),
                )
            })?;
        if credential.starts_with(apikey::PREFIX) {
            self.api_key(credential).await
        } else {
            self.token(credential)
        }
    }

    fn token(&self, token: &str) -> Result<Arc<Caller>, GatewayError> {
        let now = Instant::now();
        if let Some(cached) = lock(&self.tokens).get(token)
            && cached.expires > now
        {
            return Ok(cached.caller.clone());
        }
        let header = jsonwebtoken::decode_header(token).map_err(|error| {
            GatewayError::Unauthenticated(describe_jwt_error(&error).to_owned())
        })?;
        let principal = match header.alg {
            Algorithm::HS256 => self
                .internal
                .verify(token)
                .map_err(|error| GatewayError::Unauthenticated(error.to_string()))?,
            _ => self
                .external
                .as_ref()
                .ok_or_else(|| {
                    GatewayError::Unauthenticated("token algorithm is not accepted".into())
                })?
                .verify(token, header.kid.as_deref())?,
        };
        // Cache until the token's own expiry (read unverified: it was verified just now), but
        // never longer than an hour, however far away the issuer put `exp`.
        let expires_in = expiry_of(token)
            .map_or(Duration::ZERO, |exp| {
                Duration::from_secs(exp.saturating_sub(self.clock.now().timestamp().max(0) as u64))
            })
            .min(TOKEN_CACHE_MAX);
        let mut tokens = lock(&self.tokens);
        if tokens.len() >= CACHE_LIMIT {
            tokens.retain(|_, cached| cached.expires > now);
            if tokens.len() >= CACHE_LIMIT {
                tokens.clear();
            }
        }
        let caller = Caller::new(principal);
        tokens.insert(
            token.to_owned(),
            CachedToken {
                caller: caller.clone(),
                expires: now + expires_in,
            },
        );
        Ok(caller)
    }

    async fn api_key(&self, presented: &str) -> Result<Arc<Caller>, GatewayError> {
        let invalid = || GatewayError::Unauthenticated("the API key is not valid".into());
        let presented = apikey::parse(presented).ok_or_else(invalid)?;
        let now = Instant::now();
        let cached = lock(&self.keys)
            .get(&presented.id)
            .filter(|cached| now.duration_since(cached.fetched) < self.key_ttl)
            .cloned();
        let record = match cached {
            Some(cached) => cached.record,
            None => {
                self.spend_lookup()?;
                let record = store::api_keys::get(self.db.conn(), &presented.id)
                    .await?
                    .map(|record| {
                        let caller = Caller::new(record.principal());
                        (record, caller)
                    });
                let mut keys = lock(&self.keys);
                if keys.len() >= CACHE_LIMIT {
                    keys.clear();
                }
                keys.insert(
                    presented.id.clone(),
                    CachedKey {
                        record: record.clone(),
                        fetched: now,
                    },
                );
                record
            }
        };
        let (record, caller) = record.ok_or_else(invalid)?;
        if !apikey::same_hash(&apikey::hash(&presented.secret), &record.secret_hash) {
            return Err(invalid());
        }
        if record.roles.iter().any(|role| !role.is_outside()) {
            // Issued before the system role was reserved to the services: never honoured.
            return Err(GatewayError::Unauthenticated(
                "an API key cannot act as a govmedia service (it holds the system role); issue one with the role of what the system does"
                    .into(),
            ));
        }
        if let Some(why) = record.unusable(self.clock.now()) {
            return Err(GatewayError::Unauthenticated(why.to_owned()));
        }
        Ok(caller)
    }
}

impl Authenticator {
    /// Spends one database look-up of an uncached API key from this gateway's budget, or says
    /// when the next one can be made.
    fn spend_lookup(&self) -> Result<(), GatewayError> {
        let now_us = self.epoch.elapsed().as_micros() as u64;
        let mut tat = lock(&self.lookups);
        match gcra::decide(*tat, now_us, self.lookup_quota) {
            Decision::Allow { tat_us, .. } => {
                *tat = Some(tat_us);
                Ok(())
            }
            Decision::Deny { retry_after_us } => Err(GatewayError::RateLimited {
                class: "api-key-lookup",
                retry_after: Duration::from_micros(retry_after_us),
            }),
        }
    }
}

/// The id of the API key a request presents, if it presents one in the key format (whether or
/// not it is valid).
pub fn presented_key_id(headers: &http::HeaderMap) -> Option<String> {
    let presented = match headers.get("x-api-key") {
        Some(value) => value.to_str().ok()?.trim(),
        None => govmedia_kit::auth::bearer(headers).ok()??,
    };
    apikey::parse(presented).map(|key| key.id)
}

/// The `exp` claim of a token without verifying it (only called after verification).
fn expiry_of(token: &str) -> Option<u64> {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()?
        .get("exp")?
        .as_u64()
}

/// Signs the short-lived identities that carry a verified principal to one service each,
/// reusing each until a minute before it expires.
pub struct Minter {
    identity: Arc<Identity>,
    lifetime: Duration,
    cache: Mutex<HashMap<(String, String), (http::HeaderValue, Instant)>>,
}

impl std::fmt::Debug for Minter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minter")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl Minter {
    /// A minter signing with the gateway's `identity`.
    pub fn new(identity: Arc<Identity>) -> Self {
        Self {
            identity,
            lifetime: govmedia_kit::identity::TOKEN_TTL,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The `authorization` value to send to the `service` upstream for `caller`.
    pub fn authorization(
        &self,
        caller: &Caller,
        service: &str,
    ) -> Result<http::HeaderValue, GatewayError> {
        let now = Instant::now();
        let key = (caller.identity_key.clone(), service.to_owned());
        if let Some((value, valid_until)) = lock(&self.cache).get(&key)
            && *valid_until > now + Duration::from_secs(60)
        {
            return Ok(value.clone());
        }
        let token = self
            .identity
            .mint(&caller.principal, service)
            .map_err(|error| {
                GatewayError::Api(govmedia_kit::error::ApiError::internal(
                    "signing an identity token",
                    &error,
                ))
            })?;
        let value = http::HeaderValue::try_from(format!("Bearer {token}")).map_err(|error| {
            GatewayError::Api(govmedia_kit::error::ApiError::internal(
                "encoding an identity token",
                &error,
            ))
        })?;
        let mut cache = lock(&self.cache);
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, (value.clone(), now + self.lifetime));
        Ok(value)
    }
}
