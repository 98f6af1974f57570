//! Who is calling: roles, the principal, bearer tokens, and the server layer that checks them.
//!
//! Outside callers present govmedia tokens (HS256, [`TokenKeys`]), an identity provider's
//! tokens or API keys, and only to the gateway. Services accept nothing but identities the
//! gateway or another govmedia service signed ([`crate::identity`]), checked by [`AuthLayer`]
//! from the `authorization: Bearer …` metadata. The allowed roles of every method come from the
//! `(govmedia.common.v1.access)` option in the proto, through [`govmedia_proto::method_access`];
//! a method can therefore not drift from its contract. Jurisdiction (the caller's organization
//! subtree) is data, so handlers check it.

use std::{
    collections::BTreeSet,
    fmt,
    str::FromStr,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use futures::future::BoxFuture;
use govmedia_proto::common::v1::{ErrorReason, Role as ProtoRole};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};

use crate::{
    config::AuthSettings,
    error::{ApiError, ErrorCode},
    identity::Identity,
};

/// The development secret `govmedia dev` falls back to. Anything that is not `dev` refuses it.
pub const DEV_JWT_SECRET: &str = "govmedia-development-secret-never-use-in-production";

/// Minimum HS256 secret length in bytes (RFC 7518 §3.2: at least the hash size).
pub const MIN_SECRET_LEN: usize = 32;

/// A role from domain.md; see `govmedia.common.v1.Role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// 运营人员.
    Operator,
    /// 主要负责人 / 主管领导.
    Leader,
    /// 业务部门承办人.
    Handler,
    /// 政务新媒体管理部门.
    Supervisor,
    /// 代运营机构.
    Vendor,
    /// Read-only auditor.
    Auditor,
    /// A govmedia service acting on its own account. Never held by a person or an outside
    /// system: no outside credential carries it (see [`Role::is_outside`]).
    System,
}

impl Role {
    /// Every role, in proto order.
    pub const ALL: [Role; 7] = [
        Role::Operator,
        Role::Leader,
        Role::Handler,
        Role::Supervisor,
        Role::Vendor,
        Role::Auditor,
        Role::System,
    ];

    /// The roles a person or an outside system may hold: every role but SYSTEM, which only the
    /// suite's own service identities carry.
    pub fn is_outside(self) -> bool {
        self != Role::System
    }

    /// The lower-case name used in tokens and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Leader => "leader",
            Role::Handler => "handler",
            Role::Supervisor => "supervisor",
            Role::Vendor => "vendor",
            Role::Auditor => "auditor",
            Role::System => "system",
        }
    }

    fn from_proto(role: ProtoRole) -> Option<Role> {
        match role {
            ProtoRole::Unspecified => None,
            ProtoRole::Operator => Some(Role::Operator),
            ProtoRole::Leader => Some(Role::Leader),
            ProtoRole::Handler => Some(Role::Handler),
            ProtoRole::Supervisor => Some(Role::Supervisor),
            ProtoRole::Vendor => Some(Role::Vendor),
            ProtoRole::Auditor => Some(Role::Auditor),
            ProtoRole::System => Some(Role::System),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(value))
            .ok_or_else(|| {
                // SYSTEM is parsed (service identities carry it) but never offered: no person
                // or outside system may hold it.
                let offered: Vec<&str> = Role::ALL
                    .into_iter()
                    .filter(|role| role.is_outside())
                    .map(Role::as_str)
                    .collect();
                format!(
                    "unknown role {value:?}; expected one of {}",
                    offered.join(", ")
                )
            })
    }
}

/// The verified caller of a request. Handlers read it from the request extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Who: the token's `sub`.
    pub subject: String,
    /// The caller's organization id (not the resource name): the root of its jurisdiction.
    pub organization: String,
    /// The caller's roles.
    pub roles: BTreeSet<Role>,
    /// Who vouched for the subject first: the issuer of the govmedia token (`govmedia`), of an
    /// identity provider's token, `apikey` for an API key, `govmedia:<service>` for a service's
    /// own identity. Two callers with the same subject from different issuers are different
    /// callers (idempotency keys are scoped by issuer, organization and subject).
    pub issuer: String,
    /// Set when the caller is a govmedia service acting on its own account: its name.
    pub service: Option<String>,
    /// What a service's call carries out, vouched for by that service: the accepted filing of a
    /// ledger change, `filings/{id}`.
    pub basis: Option<String>,
}

impl Principal {
    /// True when the caller holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The caller's organization as a resource name.
    pub fn organization_name(&self) -> String {
        format!("organizations/{}", self.organization)
    }

    /// True when the caller is the govmedia service `service` acting on its own account.
    pub fn is_service(&self, service: &str) -> bool {
        self.service.as_deref() == Some(service) && self.has(Role::System)
    }
}

/// Reads the principal that the auth layer put into the request.
pub fn principal<T>(request: &tonic::Request<T>) -> Result<Principal, ApiError> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| {
            // Only reachable if a service is mounted without the auth layer: refuse, never guess.
            ApiError::new(
                ErrorCode::Unauthenticated,
                ErrorReason::Unauthenticated,
                "no authenticated caller",
            )
        })
}

/// The claims of a govmedia bearer token. External issuers (verified by the gateway) use the
/// same `org` and `roles` claims.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Subject.
    pub sub: String,
    /// Organization id (or `organizations/{id}`).
    pub org: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (seconds since the epoch).
    #[serde(default)]
    pub iat: u64,
    /// Not before.
    pub nbf: u64,
    /// Expires.
    pub exp: u64,
}

impl Claims {
    /// The principal these (already verified) claims of an outside credential describe. The
    /// SYSTEM role is refused: it belongs to the suite's own services, never to a person or an
    /// outside system.
    pub fn into_principal(self) -> Result<Principal, TokenError> {
        let organization = self
            .org
            .strip_prefix("organizations/")
            .unwrap_or(&self.org)
            .to_owned();
        if self.sub.trim().is_empty()
            || self.sub.chars().count() > 200
            || !crate::validate::is_id(&organization)
        {
            return Err(TokenError(
                "token subject or organization is invalid".to_owned(),
            ));
        }
        let roles = self
            .roles
            .iter()
            .map(|role| role.parse::<Role>())
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(TokenError)?;
        if roles.is_empty() {
            return Err(TokenError("token grants no role".to_owned()));
        }
        if roles.iter().any(|role| !role.is_outside()) {
            return Err(TokenError(
                "the system role belongs to govmedia's own services; no token may claim it"
                    .to_owned(),
            ));
        }
        Ok(Principal {
            subject: self.sub,
            organization,
            roles,
            issuer: self.iss,
            service: None,
            basis: None,
        })
    }
}

/// Why a JWT was refused, in words fit for the caller.
pub fn describe_jwt_error(error: &jsonwebtoken::errors::Error) -> &'static str {
    match error.kind() {
        ErrorKind::ExpiredSignature => "token expired",
        ErrorKind::ImmatureSignature => "token not valid yet (nbf)",
        ErrorKind::InvalidSignature => "token signature is invalid",
        ErrorKind::InvalidIssuer => "token issuer is not accepted",
        ErrorKind::InvalidAudience => "token audience is not accepted",
        ErrorKind::InvalidAlgorithm => "token algorithm is not accepted",
        ErrorKind::MissingRequiredClaim(_) => "token lacks a required claim",
        _ => "token is malformed",
    }
}

/// Signs and verifies govmedia's own bearer tokens for people and outside systems (HS256 with
/// the suite's secret): `govmedia token issue` signs them, the gateway verifies them.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeys")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// A token that cannot be accepted, with a message fit for the caller.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TokenError(pub String);

impl TokenKeys {
    /// Keys from a secret of at least [`MIN_SECRET_LEN`] bytes.
    pub fn hs256(secret: &str, issuer: &str, audience: &str) -> Result<Self, TokenError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(TokenError(format!(
                "the JWT secret must be at least {MIN_SECRET_LEN} bytes long"
            )));
        }
        let encoding = EncodingKey::from_secret(secret.as_bytes())
            .map_err(|error| TokenError(format!("bad JWT secret: {error}")))?;
        let decoding = DecodingKey::from_secret(secret.as_bytes())
            .map_err(|error| TokenError(format!("bad JWT secret: {error}")))?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        Ok(Self {
            encoding,
            decoding,
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// Keys from settings; `allow_dev_secret` is true only for `govmedia dev` and tests.
    pub fn from_settings(
        settings: &AuthSettings,
        allow_dev_secret: bool,
    ) -> Result<Self, TokenError> {
        let secret = match settings.jwt_secret.as_deref() {
            Some(secret) if secret == DEV_JWT_SECRET && !allow_dev_secret => {
                return Err(TokenError(
                    "the development JWT secret is refused outside `govmedia dev`; set GOVMEDIA_JWT_SECRET"
                        .to_owned(),
                ));
            }
            Some(secret) => secret,
            None if allow_dev_secret => DEV_JWT_SECRET,
            None => {
                return Err(TokenError(
                    "no JWT secret configured; set GOVMEDIA_JWT_SECRET (at least 32 bytes)"
                        .to_owned(),
                ));
            }
        };
        Self::hs256(secret, &settings.issuer, &settings.audience)
    }

    /// Issues a token for `subject` in `organization` (an id) with `roles`, valid for `ttl`.
    /// Refuses the SYSTEM role.
    pub fn issue(
        &self,
        subject: &str,
        organization: &str,
        roles: &[Role],
        ttl: Duration,
    ) -> Result<String, TokenError> {
        if roles.iter().any(|role| !role.is_outside()) {
            return Err(TokenError(
                "the system role belongs to govmedia's own services and is never issued".to_owned(),
            ));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|error| TokenError(error.to_string()))?
            .as_secs();
        let claims = Claims {
            sub: subject.to_owned(),
            org: organization.to_owned(),
            roles: roles.iter().map(|role| role.as_str().to_owned()).collect(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            nbf: now,
            exp: now.saturating_add(ttl.as_secs()),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| TokenError(format!("cannot sign token: {error}")))
    }

    /// Verifies a token and returns its principal.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|error| TokenError(describe_jwt_error(&error).to_owned()))?
            .claims
            .into_principal()
    }
}

/// The roles a govmedia method allows, from its proto option; `None` for other paths (health,
/// reflection), which need no credentials.
pub fn allowed_roles(path: &str) -> Option<Vec<Role>> {
    govmedia_proto::method_access(path).map(|rule| {
        rule.roles
            .iter()
            .filter_map(|role| Role::from_proto(*role))
            .collect()
    })
}

/// The token of an `authorization: Bearer <token>` header: `Ok(None)` when there is no such
/// header, `Err` with a caller-fit message when it is not a bearer credential.
pub fn bearer(headers: &http::HeaderMap) -> Result<Option<&str>, &'static str> {
    let Some(header) = headers.get(http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    header
        .to_str()
        .ok()
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(Some)
        .ok_or("authorization metadata is not `Bearer <token>`")
}

/// Authenticates a request's metadata for `path` (an identity signed by the gateway or another
/// service) and checks the method's roles.
pub fn authorize(
    identity: &Identity,
    path: &str,
    headers: &http::HeaderMap,
) -> Result<Option<Principal>, ApiError> {
    let Some(allowed) = allowed_roles(path) else {
        return Ok(None);
    };
    let unauthenticated = |message: String| {
        ApiError::new(
            ErrorCode::Unauthenticated,
            ErrorReason::Unauthenticated,
            message,
        )
        .localized("身份认证失败,请提供有效的访问令牌")
    };
    let token = bearer(headers)
        .map_err(|message| unauthenticated(message.into()))?
        .ok_or_else(|| {
            unauthenticated("missing `authorization: Bearer <token>` metadata".into())
        })?;
    let principal = identity
        .verify(token)
        .map_err(|error| unauthenticated(error.to_string()))?;
    if !allowed.iter().any(|role| principal.has(*role)) {
        let method = path.rsplit('/').next().unwrap_or(path);
        return Err(ApiError::new(
            ErrorCode::PermissionDenied,
            ErrorReason::RoleNotAllowed,
            format!(
                "{method} requires one of the roles: {}",
                allowed
                    .iter()
                    .map(|role| role.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with_metadata("method", path)
        .localized("当前角色无权执行此操作"));
    }
    Ok(Some(principal))
}

/// Tower layer: authenticates every govmedia method, enforces its roles and puts the
/// [`Principal`] into the request extensions. Requests it refuses never reach a handler.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    identity: Arc<Identity>,
}

impl AuthLayer {
    /// A layer verifying with `identity`.
    pub fn new(identity: Arc<Identity>) -> Self {
        Self { identity }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            identity: self.identity.clone(),
        }
    }
}

/// The service of [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    identity: Arc<Identity>,
}

impl<S, B> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        match authorize(&self.identity, request.uri().path(), request.headers()) {
            Ok(principal) => {
                if let Some(principal) = principal {
                    tracing::Span::current().record("principal", principal.subject.as_str());
                    request.extensions_mut().insert(principal);
                }
                // The clone that was polled ready is the one that must be called.
                let clone = self.inner.clone();
                let mut ready = std::mem::replace(&mut self.inner, clone);
                Box::pin(ready.call(request))
            }
            Err(error) => {
                let response = tonic::Status::from(error).into_http();
                Box::pin(async move { Ok(response) })
            }
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_unknown_role_is_told_the_roles_it_may_hold() {
        let refused = "bogus".parse::<Role>().expect_err("no such role");
        assert!(
            refused.contains("operator") && refused.contains("auditor"),
            "{refused}"
        );
        assert!(!refused.contains("system"), "{refused}");
        // Service identities carry SYSTEM, so it still parses.
        assert_eq!("system".parse::<Role>(), Ok(Role::System));
    }
    use super::*;
    use crate::identity::Keyring;

    fn keys() -> TokenKeys {
        TokenKeys::hs256(DEV_JWT_SECRET, "govmedia", "govmedia").expect("keys")
    }

    fn headers(token: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().expect("header"),
        );
        headers
    }

    const CREATE_ACCOUNT: &str = "/govmedia.registry.v1.RegistryService/CreateAccount";
    const GET_ACCOUNT: &str = "/govmedia.registry.v1.RegistryService/GetAccount";

    #[test]
    fn issued_tokens_verify_and_carry_roles_and_issuer() {
        let keys = keys();
        let token = keys
            .issue(
                "alice",
                "golmud",
                &[Role::Supervisor],
                Duration::from_secs(60),
            )
            .expect("token");
        let principal = keys.verify(&token).expect("valid");
        assert_eq!(principal.organization, "golmud");
        assert_eq!(principal.issuer, "govmedia");
        assert!(principal.has(Role::Supervisor));
        assert_eq!(principal.service, None);
    }

    #[test]
    fn no_outside_token_carries_the_system_role() {
        let keys = keys();
        let refused = keys.issue("x", "golmud", &[Role::System], Duration::from_secs(60));
        assert!(refused.is_err());
        let claims = Claims {
            sub: "x".into(),
            org: "golmud".into(),
            roles: vec!["operator".into(), "system".into()],
            iss: "govmedia".into(),
            aud: "govmedia".into(),
            iat: 0,
            nbf: 0,
            exp: u64::MAX,
        };
        assert!(claims.into_principal().is_err());
        // Even an expiry at the end of time cannot overflow the issuer.
        assert!(
            keys.issue(
                "x",
                "golmud",
                &[Role::Auditor],
                Duration::from_secs(u64::MAX)
            )
            .is_ok()
        );
    }

    #[test]
    fn wrong_secret_issuer_or_audience_are_refused() {
        let token = keys()
            .issue("alice", "golmud", &[Role::Auditor], Duration::from_secs(60))
            .expect("token");
        let other = TokenKeys::hs256(&"x".repeat(40), "govmedia", "govmedia").expect("keys");
        assert_eq!(
            other.verify(&token).unwrap_err().to_string(),
            "token signature is invalid"
        );
        let other = TokenKeys::hs256(DEV_JWT_SECRET, "other", "govmedia").expect("keys");
        assert_eq!(
            other.verify(&token).unwrap_err().to_string(),
            "token issuer is not accepted"
        );
        let other = TokenKeys::hs256(DEV_JWT_SECRET, "govmedia", "other").expect("keys");
        assert_eq!(
            other.verify(&token).unwrap_err().to_string(),
            "token audience is not accepted"
        );
        assert!(keys().verify("not.a.jwt").is_err());
    }

    #[test]
    fn services_take_identities_not_outside_tokens_and_roles_come_from_the_proto() {
        let ring = Keyring::generate(&["gateway", "registry", "filing"]).expect("keys");
        let registry = ring.identity("registry").expect("registry");
        let gateway = ring.identity("gateway").expect("gateway");
        let filing = ring.identity("filing").expect("filing");
        let operator = Principal {
            subject: "bob".into(),
            organization: "golmud".into(),
            roles: [Role::Operator].into(),
            issuer: "govmedia".into(),
            service: None,
            basis: None,
        };
        let minted = gateway.mint(&operator, "registry").expect("identity");
        assert!(
            authorize(&registry, GET_ACCOUNT, &headers(&minted))
                .expect("ok")
                .is_some()
        );
        let error = authorize(&registry, CREATE_ACCOUNT, &headers(&minted)).unwrap_err();
        assert_eq!(error.code(), ErrorCode::PermissionDenied);
        let own = filing
            .mint(&filing.own_principal("qinghai"), "registry")
            .expect("identity");
        let caller = authorize(&registry, CREATE_ACCOUNT, &headers(&own))
            .expect("ok")
            .expect("principal");
        assert!(caller.is_service("filing"));
        // The caller's own govmedia token, sent straight to a service, is refused.
        let outside = keys()
            .issue("bob", "golmud", &[Role::Operator], Duration::from_secs(60))
            .expect("token");
        let error = authorize(&registry, GET_ACCOUNT, &headers(&outside)).unwrap_err();
        assert_eq!(error.code(), ErrorCode::Unauthenticated);
        let error = authorize(&registry, CREATE_ACCOUNT, &http::HeaderMap::new()).unwrap_err();
        assert_eq!(error.code(), ErrorCode::Unauthenticated);
        assert!(
            authorize(
                &registry,
                "/grpc.health.v1.Health/Check",
                &http::HeaderMap::new()
            )
            .expect("public")
            .is_none()
        );
    }

    #[test]
    fn dev_secret_is_refused_outside_dev() {
        let settings = AuthSettings {
            jwt_secret: Some(DEV_JWT_SECRET.to_owned()),
            ..AuthSettings::default()
        };
        assert!(TokenKeys::from_settings(&settings, false).is_err());
        assert!(TokenKeys::from_settings(&settings, true).is_ok());
        assert!(TokenKeys::from_settings(&AuthSettings::default(), false).is_err());
        let short = AuthSettings {
            jwt_secret: Some("short".to_owned()),
            ..AuthSettings::default()
        };
        assert!(TokenKeys::from_settings(&short, false).is_err());
    }
}
