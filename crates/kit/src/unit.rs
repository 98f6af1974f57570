//! The unit of work: every write in every service goes through one, so a state change, the
//! events it publishes, its audit entry and its idempotency key commit together or not at all.
//!
//! ```text
//! let mut unit = writer.begin("CreateAccount", &principal, &req.request_id, &req).await?;
//! if let Some(done) = unit.replay().await? { return Ok(done) }   // a retried request
//! ... change rows through unit.txn() ...
//! unit.publish(&subject, &event).await?;
//! unit.audit(resource, scope, details);                         // appended at commit
//! unit.commit(response).await                                    // key + commit + wake relay
//! ```

use chrono::{DateTime, Utc};
use prost::{Message, Name};
use sea_orm::DatabaseTransaction;

use crate::{
    audit::{self, AuditEntry},
    auth::Principal,
    clock::Clock,
    db::{Db, WriteTxn},
    error::ApiError,
    events::outbox::{self, OutboxSignal},
    idempotency,
};

/// Starts units of work for one service. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Writer {
    db: Db,
    signal: OutboxSignal,
    stream: &'static str,
    clock: Clock,
}

impl Writer {
    /// A writer for the service whose events go to `stream`, stamping with `clock`.
    pub fn new(db: Db, signal: OutboxSignal, stream: &'static str, clock: Clock) -> Self {
        Self {
            db,
            signal,
            stream,
            clock,
        }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The service's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The stored response of a request that already ran (see [`Unit::replay`]), read without
    /// opening a write transaction: for handlers that must call another service before they
    /// write, so that a retried request answers from the key instead of calling again.
    pub async fn replayed<M: Message + Default>(
        &self,
        method: &'static str,
        principal: &Principal,
        request_id: &str,
        request: &impl Message,
    ) -> Result<Option<M>, ApiError> {
        idempotency::lookup(
            self.db.conn(),
            &idempotency::scope(method, principal),
            request_id,
            &idempotency::fingerprint(&principal.subject, request),
        )
        .await
    }

    /// Opens a write transaction for `method` called by `principal` with idempotency key
    /// `request_id` (may be empty) over `request`.
    pub async fn begin(
        &self,
        method: &'static str,
        principal: &Principal,
        request_id: &str,
        request: &impl Message,
    ) -> Result<Unit, ApiError> {
        let txn = self
            .db
            .begin_write()
            .await
            .map_err(|error| ApiError::unavailable("the database", &error))?;
        let now = self.clock.now();
        let scope = idempotency::scope(method, principal);
        let fingerprint = idempotency::fingerprint(&principal.subject, request);
        let claimed = idempotency::claim(&*txn, &scope, request_id, &fingerprint, now)
            .await
            .map_err(|error| crate::db::api_error("claiming the idempotency key", &error))?;
        Ok(Unit {
            txn,
            now,
            db: self.db.clone(),
            signal: self.signal.clone(),
            stream: self.stream,
            method,
            scope,
            principal: principal.clone(),
            request_id: request_id.to_owned(),
            fingerprint,
            claimed,
            events: Vec::new(),
            audits: Vec::new(),
        })
    }
}

/// One open write; see the module docs. Dropping it without commit rolls everything back.
pub struct Unit {
    txn: WriteTxn,
    now: DateTime<Utc>,
    db: Db,
    signal: OutboxSignal,
    stream: &'static str,
    method: &'static str,
    scope: String,
    principal: Principal,
    request_id: String,
    fingerprint: String,
    /// Whether this unit holds the key (false: a twin with the same key committed first).
    claimed: bool,
    /// Events published, written at commit.
    events: Vec<outbox::Pending>,
    audits: Vec<AuditEntry>,
}

impl Unit {
    /// The first response when this request (same key, same body, same caller) already ran;
    /// INVALID_ARGUMENT (REQUEST_ID_REUSED) when the key was used for something else.
    pub async fn replay<M: Message + Default>(&self) -> Result<Option<M>, ApiError> {
        if self.claimed {
            // The key is this unit's own claim: no earlier request ran under it.
            return Ok(None);
        }
        idempotency::lookup(&*self.txn, &self.scope, &self.request_id, &self.fingerprint).await
    }

    /// After a write lost a race on a unique constraint: the response of a twin request with the
    /// same key that committed first, if that is what happened. Ends the unit (rolled back).
    /// Since the key is claimed at [`Writer::begin`], a twin with the same key cannot commit
    /// while this unit holds the claim, so for a unit that holds it this finds nothing and the
    /// race was with another request: the handler answers with its own error (ALREADY_EXISTS).
    pub async fn into_replay<M: Message + Default>(self) -> Result<Option<M>, ApiError> {
        drop(self.txn);
        idempotency::lookup(
            self.db.conn(),
            &self.scope,
            &self.request_id,
            &self.fingerprint,
        )
        .await
    }

    /// The transaction, for the service's own queries.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// The caller.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The time of this change: read once when the unit began, so that every row, event and
    /// audit entry of one change carries the same instant.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Publishes an event about `subject`: written into the outbox at [`Unit::commit`], with
    /// the unit's other events in as few statements as they fit (a unit recording a hundred
    /// checks writes their events in one).
    pub async fn publish<M: Message + Name>(
        &mut self,
        subject: &str,
        payload: &M,
    ) -> Result<(), ApiError> {
        self.events.push(outbox::Pending::new(
            self.stream,
            subject,
            payload,
            self.now,
        ));
        Ok(())
    }

    /// Adds an audit entry of this change about `resource`. The entries are appended to the
    /// trail at [`Unit::commit`], all at once: the chains they go to are locked only for the end
    /// of the transaction, and in one order for every unit (see [`crate::audit`]).
    pub fn audit(&mut self, resource: &str, scope: &str, details: serde_json::Value) {
        self.audits.push(AuditEntry {
            action: self.method.to_owned(),
            resource: resource.to_owned(),
            scope: scope.to_owned(),
            details,
        });
    }

    /// Stores the idempotency key with `response`, commits, and wakes the outbox relay. When a
    /// concurrent twin of this request committed first, returns the twin's response instead.
    pub async fn commit<M: Message + Default>(self, response: M) -> Result<M, ApiError> {
        if !self.claimed {
            // A twin committed first: its answer is this request's answer.
            drop(self.txn);
            return idempotency::lookup(
                self.db.conn(),
                &self.scope,
                &self.request_id,
                &self.fingerprint,
            )
            .await?
            .ok_or_else(|| {
                ApiError::internal(
                    "replaying a concurrent request",
                    &"the key's first request left no response",
                )
            });
        }
        idempotency::remember(&*self.txn, &self.scope, &self.request_id, &response)
            .await
            .map_err(|error| ApiError::internal("storing the idempotency key", &error))?;
        let published = !self.events.is_empty();
        if published {
            outbox::insert(&*self.txn, self.events)
                .await
                .map_err(|error| ApiError::internal("writing events", &error))?;
        }
        if !self.audits.is_empty() {
            audit::append(
                &*self.txn,
                self.db.audit_chains(),
                &self.principal,
                &self.request_id,
                self.audits,
                self.now,
            )
            .await
            .map_err(|error| crate::db::api_error("the audit trail", &error))?;
        }
        self.txn
            .commit()
            .await
            .map_err(|error| ApiError::unavailable("committing to the database", &error))?;
        if published {
            self.signal.notify();
        }
        Ok(response)
    }
}
