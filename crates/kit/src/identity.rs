//! Who is calling, inside the suite, and who vouches for it.
//!
//! Behind the gateway a caller is known only by an *identity token* that the gateway or another
//! govmedia service signed with its own Ed25519 key (EdDSA JWT):
//!
//! * the gateway turns a verified outside credential (a govmedia token, an identity provider's
//!   token, an API key) into one for the service the call goes to;
//! * a service mints one for its own calls (its *service identity*: the SYSTEM role, subject
//!   `govmedia-<service>`), or for the caller it acts for when it asks another service on that
//!   caller's behalf.
//!
//! Every token names its audience, the one service it is for, so a token taken from one hop is
//! refused by every other service. Services verify with public keys only: neither a stolen
//! outside credential nor the public keys can mint an identity, and no outside credential can
//! carry the SYSTEM role (the gateway refuses it, and a token here may carry it only as its
//! issuing service's own identity). A service's own token may also name the *basis* of the call
//! (the accepted filing a ledger change carries out), which the receiving service checks.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    fmt,
    path::Path,
    sync::Mutex,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::{Principal, Role, TokenError, describe_jwt_error};

/// `iss` and `aud` of identity tokens are `govmedia:<service>`.
pub const SERVICE_PREFIX: &str = "govmedia:";

/// How long a minted identity lives; the minting side reuses one until shortly before.
pub const TOKEN_TTL: Duration = Duration::from_secs(300);

/// Verified tokens remembered at most (each is re-verified after its expiry anyway).
const CACHE_LIMIT: usize = 10_000;

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410): the DER up to the 32-byte seed.
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// SubjectPublicKeyInfo prefix of an Ed25519 public key (RFC 8410).
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A key or an identity that cannot be used, in words for the operator.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdentityError(pub String);

/// The subject of a service's own identity, as it appears in audit trails.
pub fn service_subject(service: &str) -> String {
    format!("govmedia-{service}")
}

/// A service's Ed25519 key pair.
#[derive(Clone)]
pub struct Keypair {
    service: String,
    seed: [u8; 32],
    public: [u8; 32],
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl Keypair {
    /// A fresh key pair for `service` from the operating system's random source.
    pub fn generate(service: &str) -> Result<Keypair, IdentityError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|error| IdentityError(format!("no random source: {error}")))?;
        Ok(Self::from_seed(service, seed))
    }

    fn from_seed(service: &str, seed: [u8; 32]) -> Keypair {
        let public = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        Keypair {
            service: service.to_owned(),
            seed,
            public,
        }
    }

    /// The key pair in a PKCS#8 PEM file (`-----BEGIN PRIVATE KEY-----`, as `govmedia keys
    /// generate` or `openssl genpkey -algorithm ed25519` writes it).
    pub fn from_pem(service: &str, pem: &str) -> Result<Keypair, IdentityError> {
        let der = pem_body(pem, "PRIVATE KEY")?;
        match der.strip_prefix(&PKCS8_PREFIX[..]) {
            Some(seed) if seed.len() == 32 => {
                let mut bytes = [0u8; 32];
                bytes.copy_from_slice(seed);
                Ok(Self::from_seed(service, bytes))
            }
            _ => Err(IdentityError(
                "not an Ed25519 private key in PKCS#8 form".to_owned(),
            )),
        }
    }

    /// The service it belongs to.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The public key.
    pub fn public(&self) -> [u8; 32] {
        self.public
    }

    /// The private key as PKCS#8 PEM (keep it secret: whoever holds it is the service).
    pub fn private_pem(&self) -> String {
        let mut der = PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&self.seed);
        pem("PRIVATE KEY", &der)
    }

    /// The public key as SubjectPublicKeyInfo PEM, for every service that trusts this one.
    pub fn public_pem(&self) -> String {
        public_pem(&self.public)
    }

    fn encoding_key(&self) -> EncodingKey {
        let mut der = PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&self.seed);
        EncodingKey::from_ed_der(&der)
    }
}

/// An Ed25519 public key as SubjectPublicKeyInfo PEM.
pub fn public_pem(public: &[u8; 32]) -> String {
    let mut der = SPKI_PREFIX.to_vec();
    der.extend_from_slice(public);
    pem("PUBLIC KEY", &der)
}

/// The Ed25519 public key in a SubjectPublicKeyInfo PEM file.
pub fn public_from_pem(pem: &str) -> Result<[u8; 32], IdentityError> {
    let der = pem_body(pem, "PUBLIC KEY")?;
    match der.strip_prefix(&SPKI_PREFIX[..]) {
        Some(key) if key.len() == 32 => {
            let mut bytes = [0u8; 32];
            bytes.copy_from_slice(key);
            Ok(bytes)
        }
        _ => Err(IdentityError("not an Ed25519 public key".to_owned())),
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

fn pem_body(pem: &str, label: &str) -> Result<Vec<u8>, IdentityError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem
        .find(&begin)
        .ok_or_else(|| IdentityError(format!("no {begin} block")))?
        + begin.len();
    let stop = pem[start..]
        .find(&end)
        .ok_or_else(|| IdentityError(format!("no {end} line")))?
        + start;
    let body: String = pem[start..stop].split_whitespace().collect();
    STANDARD
        .decode(body)
        .map_err(|_| IdentityError(format!("the {label} block is not base64")))
}

/// Every service's key pair, as `govmedia dev` holds them in one process and `govmedia keys
/// generate` writes them for a deployment.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    pairs: BTreeMap<String, Keypair>,
}

impl Keyring {
    /// Fresh key pairs for `services`.
    pub fn generate<S: AsRef<str>>(services: &[S]) -> Result<Keyring, IdentityError> {
        let mut pairs = BTreeMap::new();
        for service in services {
            let service = service.as_ref();
            pairs.insert(service.to_owned(), Keypair::generate(service)?);
        }
        Ok(Keyring { pairs })
    }

    /// The key pair of `service`.
    pub fn pair(&self, service: &str) -> Option<&Keypair> {
        self.pairs.get(service)
    }

    /// Every key pair.
    pub fn pairs(&self) -> impl Iterator<Item = &Keypair> {
        self.pairs.values()
    }

    /// The identity of `service`: its own private key, everyone's public keys.
    pub fn identity(&self, service: &str) -> Result<Identity, IdentityError> {
        let own = self
            .pairs
            .get(service)
            .ok_or_else(|| IdentityError(format!("no key for the {service} service")))?;
        Identity::new(
            own,
            self.pairs
                .values()
                .map(|pair| (pair.service.clone(), pair.public)),
        )
    }
}

/// The claims of an identity token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// `govmedia:<service>` that signed it.
    iss: String,
    /// `govmedia:<service>` it is for.
    aud: String,
    sub: String,
    org: String,
    roles: Vec<String>,
    /// Who vouched for the subject in the first place (see [`Principal::issuer`]).
    src: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    svc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    basis: Option<String>,
    iat: u64,
    nbf: u64,
    exp: u64,
}

/// One service's identity: it signs with its own key and believes the public keys it trusts.
pub struct Identity {
    service: String,
    signer: EncodingKey,
    trusted: BTreeMap<String, DecodingKey>,
    validation: Validation,
    verified: Mutex<HashMap<String, (Principal, Instant)>>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("service", &self.service)
            .field("trusted", &self.trusted.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

impl Identity {
    /// The identity of `own`'s service, trusting the services whose public keys are given
    /// (its own among them).
    pub fn new(
        own: &Keypair,
        trusted: impl IntoIterator<Item = (String, [u8; 32])>,
    ) -> Result<Identity, IdentityError> {
        let trusted: BTreeMap<String, DecodingKey> = trusted
            .into_iter()
            .map(|(service, public)| (service, DecodingKey::from_ed_der(&public)))
            .collect();
        if !trusted.contains_key(&own.service) {
            return Err(IdentityError(format!(
                "the trusted keys lack the {} service's own public key",
                own.service
            )));
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[format!("{SERVICE_PREFIX}{}", own.service)]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        Ok(Identity {
            service: own.service.clone(),
            signer: own.encoding_key(),
            trusted,
            validation,
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// The identity of `service` from its key file and the directory of public keys
    /// (`<service>.pub.pem` each); the key file must match the directory's key of `service`.
    pub fn from_files(
        service: &str,
        key_file: &Path,
        trust_dir: &Path,
    ) -> Result<Identity, IdentityError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map_err(|error| IdentityError(format!("cannot read {}: {error}", path.display())))
        };
        let own = Keypair::from_pem(service, &read(key_file)?)
            .map_err(|error| IdentityError(format!("{}: {error}", key_file.display())))?;
        let entries = std::fs::read_dir(trust_dir).map_err(|error| {
            IdentityError(format!("cannot read {}: {error}", trust_dir.display()))
        })?;
        let mut trusted = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|error| IdentityError(format!("{}: {error}", trust_dir.display())))?
                .path();
            let Some(name) = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_suffix(".pub.pem"))
            else {
                continue;
            };
            let public = public_from_pem(&read(&path)?)
                .map_err(|error| IdentityError(format!("{}: {error}", path.display())))?;
            trusted.push((name.to_owned(), public));
        }
        match trusted.iter().find(|(name, _)| name == service) {
            Some((_, public)) if *public == own.public => {}
            Some(_) => {
                return Err(IdentityError(format!(
                    "{} is not the private key of {}/{service}.pub.pem",
                    key_file.display(),
                    trust_dir.display()
                )));
            }
            None => {
                return Err(IdentityError(format!(
                    "{} holds no {service}.pub.pem",
                    trust_dir.display()
                )));
            }
        }
        Identity::new(&own, trusted)
    }

    /// The service this identity belongs to.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The services whose tokens this one believes.
    pub fn trusts(&self, service: &str) -> bool {
        self.trusted.contains_key(service)
    }

    /// This service acting on its own account: SYSTEM, rooted at `organization` (the root of
    /// the tree it serves).
    pub fn own_principal(&self, organization: &str) -> Principal {
        Principal {
            subject: service_subject(&self.service),
            organization: organization.to_owned(),
            roles: [Role::System].into(),
            issuer: format!("{SERVICE_PREFIX}{}", self.service),
            service: Some(self.service.clone()),
            basis: None,
        }
    }

    /// A token for `audience` (a service name) that carries `principal`, valid for
    /// [`TOKEN_TTL`]. A service identity can only be this service's own: nobody mints another
    /// service's identity, and no outside caller is given the SYSTEM role.
    pub fn mint(&self, principal: &Principal, audience: &str) -> Result<String, IdentityError> {
        let own = principal.service.as_deref() == Some(self.service.as_str());
        if principal.service.is_some() && !own {
            return Err(IdentityError(format!(
                "the {} service cannot speak as the {} service",
                self.service,
                principal.service.as_deref().unwrap_or_default()
            )));
        }
        if principal.has(Role::System) && !own {
            return Err(IdentityError(
                "only a govmedia service's own identity carries the system role".to_owned(),
            ));
        }
        let now = unix_now();
        let claims = Claims {
            iss: format!("{SERVICE_PREFIX}{}", self.service),
            aud: format!("{SERVICE_PREFIX}{audience}"),
            sub: principal.subject.clone(),
            org: principal.organization.clone(),
            roles: principal
                .roles
                .iter()
                .map(|role| role.as_str().to_owned())
                .collect(),
            src: principal.issuer.clone(),
            svc: principal.service.clone(),
            basis: principal.basis.clone(),
            iat: now,
            nbf: now,
            exp: now + TOKEN_TTL.as_secs(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.service.clone());
        jsonwebtoken::encode(&header, &claims, &self.signer)
            .map_err(|error| IdentityError(format!("cannot sign an identity: {error}")))
    }

    /// The principal of a token addressed to this service, signed by a service it trusts.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let now = Instant::now();
        if let Some((principal, until)) = self.cache().get(token)
            && *until > now
        {
            return Ok(principal.clone());
        }
        let refuse = |message: &str| TokenError(message.to_owned());
        let header = jsonwebtoken::decode_header(token)
            .map_err(|error| TokenError(describe_jwt_error(&error).to_owned()))?;
        if header.alg != Algorithm::EdDSA {
            return Err(refuse(
                "not a govmedia identity: services accept only identities the gateway or \
                 another govmedia service signed",
            ));
        }
        let issuer = header
            .kid
            .as_deref()
            .filter(|kid| self.trusted.contains_key(*kid))
            .ok_or_else(|| refuse("the identity is signed by no service this one trusts"))?;
        let key = &self.trusted[issuer];
        let mut validation = self.validation.clone();
        validation.set_issuer(&[format!("{SERVICE_PREFIX}{issuer}")]);
        let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map_err(|error| TokenError(describe_jwt_error(&error).to_owned()))?
            .claims;
        // Remembered until the token's expiry, and never longer than a minted token lives
        // (however far away a signer put `exp`).
        let ttl = Duration::from_secs(claims.exp.saturating_sub(unix_now())).min(TOKEN_TTL);
        let principal = principal_of(claims, issuer)?;
        let mut cache = self.cache();
        if cache.len() >= CACHE_LIMIT {
            cache.retain(|_, (_, until)| *until > now);
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
        }
        cache.insert(token.to_owned(), (principal.clone(), now + ttl));
        Ok(principal)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Principal, Instant)>> {
        self.verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The principal verified claims describe, or why they may not stand.
fn principal_of(claims: Claims, issuer: &str) -> Result<Principal, TokenError> {
    let refuse = |message: &str| Err(TokenError(message.to_owned()));
    let roles = claims
        .roles
        .iter()
        .map(|role| role.parse::<Role>())
        .collect::<Result<BTreeSet<_>, _>>()
        .map_err(TokenError)?;
    if roles.is_empty() {
        return refuse("the identity grants no role");
    }
    match claims.svc.as_deref() {
        // A service speaks only for itself, and as itself only with the system role.
        Some(service) if service != issuer => {
            return refuse("a service identity must be signed by that service");
        }
        Some(_) if roles != BTreeSet::from([Role::System]) => {
            return refuse("a service identity carries the system role only");
        }
        None if roles.contains(&Role::System) => {
            return refuse("only a govmedia service's own identity carries the system role");
        }
        _ => {}
    }
    if claims.basis.is_some() && claims.svc.is_none() {
        return refuse("only a service identity names the basis of its call");
    }
    if claims.src.trim().is_empty() {
        return refuse("the identity does not say who vouched for its subject");
    }
    let organization = claims.org;
    if claims.sub.trim().is_empty()
        || claims.sub.chars().count() > 200
        || !crate::validate::is_id(&organization)
    {
        return refuse("the identity's subject or organization is invalid");
    }
    Ok(Principal {
        subject: claims.sub,
        organization,
        roles,
        issuer: claims.src,
        service: claims.svc,
        basis: claims.basis,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(roles: &[Role]) -> Principal {
        Principal {
            subject: "wang.min".into(),
            organization: "golmud-edu".into(),
            roles: roles.iter().copied().collect(),
            issuer: "govmedia".into(),
            service: None,
            basis: None,
        }
    }

    fn ring() -> Keyring {
        Keyring::generate(&["gateway", "registry", "filing"]).expect("keys")
    }

    #[test]
    fn a_minted_identity_verifies_only_at_its_audience() {
        let ring = ring();
        let gateway = ring.identity("gateway").expect("gateway");
        let registry = ring.identity("registry").expect("registry");
        let filing = ring.identity("filing").expect("filing");
        let token = gateway
            .mint(&user(&[Role::Operator]), "registry")
            .expect("mint");
        let principal = registry.verify(&token).expect("verified");
        assert_eq!(principal, user(&[Role::Operator]));
        // Cached, and still the same.
        assert_eq!(registry.verify(&token).expect("cached"), principal);
        let error = filing.verify(&token).unwrap_err();
        assert_eq!(error.to_string(), "token audience is not accepted");
    }

    #[test]
    fn nobody_mints_the_system_role_for_someone_else() {
        let ring = ring();
        let gateway = ring.identity("gateway").expect("gateway");
        let filing = ring.identity("filing").expect("filing");
        assert!(gateway.mint(&user(&[Role::System]), "registry").is_err());
        assert!(
            gateway
                .mint(&filing.own_principal("qinghai"), "registry")
                .is_err(),
            "the gateway cannot speak as the filing service"
        );
        let own = filing
            .mint(
                &Principal {
                    basis: Some("filings/open-1".into()),
                    ..filing.own_principal("qinghai")
                },
                "registry",
            )
            .expect("own identity");
        let principal = ring
            .identity("registry")
            .expect("registry")
            .verify(&own)
            .expect("verified");
        assert_eq!(principal.service.as_deref(), Some("filing"));
        assert_eq!(principal.basis.as_deref(), Some("filings/open-1"));
        assert_eq!(principal.subject, "govmedia-filing");
    }

    #[test]
    fn foreign_keys_and_forged_claims_are_refused() {
        let ring = ring();
        let registry = ring.identity("registry").expect("registry");
        // Another deployment's gateway key, same service name.
        let stranger = Keyring::generate(&["gateway"])
            .expect("keys")
            .pair("gateway")
            .cloned()
            .expect("pair");
        let forged = Identity::new(&stranger, [("gateway".to_owned(), stranger.public())])
            .expect("identity")
            .mint(&user(&[Role::Operator]), "registry")
            .expect("mint");
        assert_eq!(
            registry.verify(&forged).unwrap_err().to_string(),
            "token signature is invalid"
        );
        // An HS256 token (an outside govmedia token) is not an identity.
        let outside =
            crate::auth::TokenKeys::hs256(crate::auth::DEV_JWT_SECRET, "govmedia", "govmedia")
                .expect("keys")
                .issue("x", "golmud", &[Role::Operator], Duration::from_secs(60))
                .expect("token");
        assert!(registry.verify(&outside).is_err());
        // Claims a valid key signed but that may not stand.
        let key = ring.pair("gateway").expect("pair").encoding_key();
        let sign = |claims: &Claims| {
            let mut header = Header::new(Algorithm::EdDSA);
            header.kid = Some("gateway".into());
            jsonwebtoken::encode(&header, claims, &key).expect("sign")
        };
        let claims = |roles: &[&str], svc: Option<&str>| Claims {
            iss: "govmedia:gateway".into(),
            aud: "govmedia:registry".into(),
            sub: "x".into(),
            org: "golmud".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            src: "govmedia".into(),
            svc: svc.map(str::to_owned),
            basis: None,
            iat: unix_now(),
            nbf: unix_now(),
            exp: unix_now() + 60,
        };
        for (roles, svc) in [
            (&["system"][..], None),
            (&["system"], Some("filing")),
            (&["operator"], Some("gateway")),
        ] {
            assert!(
                registry.verify(&sign(&claims(roles, svc))).is_err(),
                "{roles:?} {svc:?}"
            );
        }
        assert!(registry.verify(&sign(&claims(&["operator"], None))).is_ok());
    }

    #[test]
    fn keys_round_trip_through_pem_files() {
        let dir = tempfile::tempdir().expect("dir");
        let ring = ring();
        for pair in ring.pairs() {
            std::fs::write(
                dir.path().join(format!("{}.pub.pem", pair.service())),
                pair.public_pem(),
            )
            .expect("write");
        }
        let key_file = dir.path().join("filing.key");
        std::fs::write(&key_file, ring.pair("filing").expect("pair").private_pem()).expect("write");
        let filing = Identity::from_files("filing", &key_file, dir.path()).expect("identity");
        let token = filing
            .mint(&filing.own_principal("qinghai"), "registry")
            .expect("mint");
        assert!(
            ring.identity("registry")
                .expect("registry")
                .verify(&token)
                .is_ok()
        );
        // The wrong private key for the name is refused at start-up.
        let error = Identity::from_files("registry", &key_file, dir.path()).unwrap_err();
        assert!(error.0.contains("is not the private key"), "{error}");
        assert!(
            Keypair::from_pem(
                "x",
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
            )
            .is_err()
        );
    }

    proptest::proptest! {
        /// A service's signature on any `exp`, `nbf` and `iat` is answered, never a panic:
        /// verified when the times make sense, refused otherwise.
        #[test]
        fn no_claim_value_makes_verification_panic(
            exp in govmedia_test_support::claim_value(),
            nbf in govmedia_test_support::claim_value(),
            iat in govmedia_test_support::claim_value(),
        ) {
            let ring = ring();
            let registry = ring.identity("registry").expect("registry");
            let pair = ring.pair("gateway").expect("pair");
            let claims = serde_json::json!({
                "iss": "govmedia:gateway", "aud": "govmedia:registry", "sub": "wang.min",
                "org": "golmud-edu", "roles": ["operator"], "src": "govmedia",
                "exp": exp, "nbf": nbf, "iat": iat,
            });
            let mut header = Header::new(Algorithm::EdDSA);
            header.kid = Some("gateway".into());
            let key = EncodingKey::from_ed_pem(pair.private_pem().as_bytes()).expect("key");
            let token = jsonwebtoken::encode(&header, &claims, &key).expect("sign");
            // Twice: the second answer may come from the cache, whose lifetime `exp` sets.
            let first = registry.verify(&token).is_ok();
            proptest::prop_assert_eq!(registry.verify(&token).is_ok(), first);
        }
    }
}
