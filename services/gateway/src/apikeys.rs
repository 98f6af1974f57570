//! Issuing, listing and revoking API keys (`govmedia apikey ...`). Each change goes through the
//! kit's unit of work, so it is audited and published like any other state change.

use std::collections::BTreeSet;

use chrono::Duration;
use govmedia_kit::{
    auth::{Principal, Role},
    clock::{self, Clock},
    db::Db,
    events::outbox::OutboxSignal,
    unit::Writer,
};
use govmedia_proto::{common::v1 as common, gateway::v1 as pb};
use serde_json::json;

use crate::{domain::apikey, events, store};

/// A refused key operation.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// No such key.
    #[error("no API key {0}")]
    NotFound(String),
    /// The unit of work refused.
    #[error("{0}")]
    Api(#[from] govmedia_kit::error::ApiError),
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] sea_orm::DbErr),
}

/// What to issue.
#[derive(Clone, Debug)]
pub struct NewKey {
    /// Who it is for.
    pub display_name: String,
    /// Organization id it acts for.
    pub organization: String,
    /// Its roles (at least one).
    pub roles: BTreeSet<Role>,
    /// Lifetime; `None` for a key that does not expire.
    pub valid_for: Option<Duration>,
}

/// The writer key changes go through, stamped by `clock`. The relay of a running gateway
/// publishes what it writes (the command line writes without one).
pub fn writer(db: &Db, clock: Clock) -> Writer {
    Writer::new(db.clone(), OutboxSignal::default(), events::STREAM, clock)
}

/// The proto form of a key, for events.
pub fn to_proto(key: &apikey::ApiKeyRecord) -> pb::ApiKey {
    pb::ApiKey {
        name: format!("apiKeys/{}", key.id),
        display_name: key.display_name.clone(),
        organization: format!("organizations/{}", key.organization),
        roles: key
            .roles
            .iter()
            .filter_map(|role| {
                common::Role::from_str_name(&format!("ROLE_{}", role.as_str().to_uppercase()))
            })
            .map(|role| role as i32)
            .collect(),
        expire_time: key.expires_at.map(clock::to_proto),
        revoke_time: key.revoked_at.map(clock::to_proto),
        created: Some(common::AuditStamp {
            time: Some(clock::to_proto(key.created_at)),
            actor: key.created_by.clone(),
            actor_organization: format!("organizations/{}", key.created_by_org),
        }),
    }
}

/// Issues a key; returns its record and the full key, which is shown this once.
pub async fn issue(
    writer: &Writer,
    actor: &Principal,
    new: NewKey,
) -> Result<(apikey::ApiKeyRecord, String), KeyError> {
    let name = new.display_name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(KeyError::Invalid(
            "the name must be 1-100 characters".into(),
        ));
    }
    if !govmedia_kit::validate::is_id(&new.organization) {
        return Err(KeyError::Invalid(format!(
            "{:?} is not an organization id",
            new.organization
        )));
    }
    if new.roles.is_empty() {
        return Err(KeyError::Invalid("a key needs at least one role".into()));
    }
    if new.roles.iter().any(|role| !role.is_outside()) {
        return Err(KeyError::Invalid(
            "the system role belongs to govmedia's own services and is never given to another system; give it the role of what it does (auditor to read)"
                .into(),
        ));
    }
    if new.valid_for.is_some_and(|d| d <= Duration::zero()) {
        return Err(KeyError::Invalid("the lifetime must be positive".into()));
    }
    let (id, secret, full) = apikey::generate();
    let now = writer.clock().now();
    let record = apikey::ApiKeyRecord {
        id,
        display_name: name.to_owned(),
        organization: new.organization,
        roles: new.roles,
        secret_hash: apikey::hash(&secret),
        expires_at: new.valid_for.map(|d| now + d),
        revoked_at: None,
        created_at: now,
        created_by: actor.subject.clone(),
        created_by_org: actor.organization.clone(),
    };
    let proto = to_proto(&record);
    let mut unit = writer.begin("IssueApiKey", actor, "", &proto).await?;
    store::api_keys::insert(unit.txn(), &record).await?;
    unit.publish(
        &proto.name,
        &pb::ApiKeyIssued {
            api_key: Some(proto.clone()),
        },
    )
    .await?;
    unit.audit(
        &proto.name,
        &format!("/{}/", record.organization),
        json!({ "display_name": record.display_name, "roles": proto.roles, "expires_at": record.expires_at.map(|t| t.to_rfc3339()) }),
    );
    unit.commit(proto).await?;
    Ok((record, full))
}

/// Revokes a key by id (or `apiKeys/{id}`).
pub async fn revoke(
    writer: &Writer,
    actor: &Principal,
    id: &str,
) -> Result<apikey::ApiKeyRecord, KeyError> {
    let id = id.strip_prefix("apiKeys/").unwrap_or(id);
    let mut unit = writer
        .begin("RevokeApiKey", actor, "", &pb::ApiKey::default())
        .await?;
    let Some(mut record) = store::api_keys::get(unit.txn(), id).await? else {
        return Err(KeyError::NotFound(id.to_owned()));
    };
    let now = unit.now();
    if !store::api_keys::revoke(unit.txn(), id, now).await? {
        return Err(KeyError::Invalid(format!(
            "API key {id} is already revoked"
        )));
    }
    record.revoked_at = Some(now);
    let proto = to_proto(&record);
    unit.publish(
        &proto.name,
        &pb::ApiKeyRevoked {
            api_key: Some(proto.clone()),
        },
    )
    .await?;
    unit.audit(
        &proto.name,
        &format!("/{}/", record.organization),
        json!({ "revoked": true }),
    );
    unit.commit(proto).await?;
    Ok(record)
}

/// Every key, oldest first.
pub async fn list(db: &Db) -> Result<Vec<apikey::ApiKeyRecord>, KeyError> {
    Ok(store::api_keys::list(db.conn()).await?)
}
