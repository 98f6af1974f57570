//! Calling a govmedia service: a channel, and an interceptor that sends the caller's bearer
//! token and the current trace context with every call. Service-to-service clients, the demo
//! loader and tests all use it, so identity and traces cross every hop the same way.

use std::{sync::Arc, time::Duration};

use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::Interceptor,
    transport::{Channel, Endpoint},
};

use crate::{
    auth::Principal,
    endpoints::{BadTarget, Endpoints, Target},
    error::ApiError,
    identity::Identity,
    telemetry,
};

/// Adds `authorization: Bearer <token>` and `traceparent` to outgoing calls.
#[derive(Clone, Debug)]
pub struct Credentials {
    authorization: Option<MetadataValue<Ascii>>,
}

impl Credentials {
    /// Credentials for `token`; an empty token sends none (for calls that test refusals).
    pub fn bearer(token: &str) -> Result<Self, Status> {
        if token.is_empty() {
            return Ok(Self {
                authorization: None,
            });
        }
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| Status::invalid_argument("the token is not valid metadata"))?;
        Ok(Self {
            authorization: Some(value),
        })
    }
}

impl Interceptor for Credentials {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.authorization {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        telemetry::inject_into_metadata(request.metadata_mut());
        Ok(request)
    }
}

/// Connects to `uri` (e.g. `http://127.0.0.1:50061`) with sane timeouts.
pub async fn connect(uri: &str) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_shared(uri.to_owned())?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .connect()
        .await
}

/// A channel to the service at `target` (`http://host:port`, several comma-separated; a name
/// may resolve to several replicas) that balances its calls over the replicas that serve (see
/// [`crate::endpoints`]), connects on first use and reconnects after failures, so a service
/// starts (and keeps serving what it can) while a service it calls is down. Each call times out
/// after `timeout`. Needs a Tokio runtime.
pub fn lazy(target: &str, timeout: Duration) -> Result<Channel, BadTarget> {
    Ok(Endpoints::watch(Target::parse(target)?).channel(timeout))
}

/// Another govmedia service as this one calls it on its own account: a lazy channel and this
/// service's own identity (SYSTEM, rooted at the organization it serves), minted afresh for
/// every client. Build the generated client with [`Peer::channel`] and [`Peer::credentials`].
/// (The registry has its own client, `govmedia-registry-client`, which also speaks for callers.)
#[derive(Clone, Debug)]
pub struct Peer {
    channel: Channel,
    identity: Arc<Identity>,
    root: String,
    audience: &'static str,
}

impl Peer {
    /// The service `audience` (its short name) at `endpoint`, called as `identity` rooted at
    /// `root`; each call times out after `timeout`. Connects on first use.
    pub fn new(
        endpoint: &str,
        timeout: Duration,
        identity: Arc<Identity>,
        root: &str,
        audience: &'static str,
    ) -> Result<Self, BadTarget> {
        Ok(Self {
            channel: lazy(endpoint, timeout)?,
            identity,
            root: root.to_owned(),
            audience,
        })
    }

    /// This service's own principal, as the peer sees it.
    pub fn own_principal(&self) -> Principal {
        self.identity.own_principal(&self.root)
    }

    /// The channel to the peer.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The peer's short name.
    pub fn name(&self) -> &'static str {
        self.audience
    }

    /// Credentials carrying a fresh identity of this service for the peer.
    pub fn credentials(&self) -> Result<Credentials, ApiError> {
        let token = self
            .identity
            .mint(&self.own_principal(), self.audience)
            .map_err(|error| {
                ApiError::internal(
                    &format!("minting an identity for {}", self.audience),
                    &error,
                )
            })?;
        Credentials::bearer(&token).map_err(|status| ApiError::relay(self.audience, &status))
    }
}

/// Whether a call to another govmedia service that failed with `code` may succeed if made again
/// later: the service (or the way to it) is down, busy or timed out, or it cannot yet recognise
/// this service (keys or configuration being fixed). The other codes are the service's verdict
/// on the request itself, and repeating it changes nothing. The one policy of every
/// service-to-service call and background job.
pub fn is_retryable(code: tonic::Code) -> bool {
    use tonic::Code;
    match code {
        Code::Unavailable
        | Code::DeadlineExceeded
        | Code::ResourceExhausted
        | Code::Aborted
        | Code::Internal
        | Code::Unknown
        | Code::Cancelled
        | Code::Unauthenticated
        | Code::PermissionDenied
        | Code::DataLoss => true,
        Code::Ok
        | Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::FailedPrecondition
        | Code::OutOfRange
        | Code::Unimplemented => false,
    }
}
