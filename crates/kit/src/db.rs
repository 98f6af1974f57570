//! Database connection for SQLite (embedded default) and PostgreSQL (production), and the write
//! transactions every service uses.
//!
//! SQLite allows one writer at a time and fails a second one with "database is locked" when a read
//! transaction tries to upgrade. Instead of retrying, [`Db::begin_write`] serializes writers of a
//! SQLite database in-process (readers stay concurrent under WAL) and starts them with
//! `BEGIN IMMEDIATE`, so a writer takes SQLite's write lock before its first read and waits for
//! it (the busy timeout) instead of failing on a snapshot another connection moved meanwhile. On
//! PostgreSQL writers run concurrently and constraints settle races.
//!
//! Every write, the kit's own housekeeping included, goes through [`Db::begin_write`]: a write
//! beside it on SQLite would be the second writer the lock exists to prevent.

use std::{ops::Deref, sync::Arc, time::Duration};

use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    RuntimeErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};
use sea_orm_migration::MigratorTrait;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::{config::DatabaseSettings, error::ApiError};

/// A service's database handle; cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    writer: Option<Arc<Mutex<()>>>,
    audit_chains: u16,
}

/// A database that could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DbOpenError {
    /// No URL configured.
    #[error("no database URL configured (set GOVMEDIA_DATABASE_URL)")]
    MissingUrl,
    /// The URL's scheme is not supported.
    #[error("unsupported database URL {0:?}: use sqlite:// or postgres://")]
    UnsupportedUrl(String),
    /// The schema name is not a plain identifier.
    #[error("invalid schema name {0:?}: use lower-case letters, digits and '_'")]
    InvalidSchema(String),
    /// The number of audit chains is out of range.
    #[error("invalid database.audit_chains {0}: use 1 to {max}", max = crate::audit::MAX_CHAINS)]
    InvalidAuditChains(u16),
    /// Connecting or preparing failed.
    #[error("cannot open the database: {0}")]
    Connect(#[from] DbErr),
}

impl Db {
    /// Opens the database of `service`: on PostgreSQL its tables live in the configured schema,
    /// by default one named after the service, created when missing.
    pub async fn connect(settings: &DatabaseSettings, service: &str) -> Result<Db, DbOpenError> {
        let url = settings.url.as_deref().ok_or(DbOpenError::MissingUrl)?;
        let audit_chains = settings.audit_chains;
        if !(1..=crate::audit::MAX_CHAINS).contains(&audit_chains) {
            return Err(DbOpenError::InvalidAuditChains(audit_chains));
        }
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(settings.max_connections.max(1))
            .connect_timeout(Duration::from_secs(settings.connect_timeout_secs))
            .acquire_timeout(Duration::from_secs(settings.connect_timeout_secs))
            .sqlx_logging(false);

        if url.starts_with("sqlite:") {
            options.map_sqlx_sqlite_opts(|opts| {
                opts.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
            });
            let conn = sea_orm::Database::connect(options).await?;
            Ok(Db {
                conn,
                writer: Some(Arc::new(Mutex::new(()))),
                audit_chains,
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let schema = settings
                .schema
                .clone()
                .unwrap_or_else(|| service.replace('-', "_"));
            if !is_identifier(&schema) {
                return Err(DbOpenError::InvalidSchema(schema));
            }
            // The schema must exist before pooled connections put it first on their search path.
            let admin = sea_orm::Database::connect(
                ConnectOptions::new(url.to_owned())
                    .sqlx_logging(false)
                    .to_owned(),
            )
            .await?;
            admin
                .execute_raw(Statement::from_string(
                    DbBackend::Postgres,
                    format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""),
                ))
                .await?;
            admin.close().await?;
            options.set_schema_search_path(schema);
            let conn = sea_orm::Database::connect(options).await?;
            Ok(Db {
                conn,
                writer: None,
                audit_chains,
            })
        } else {
            Err(DbOpenError::UnsupportedUrl(redact(url)))
        }
    }

    /// The connection pool, for reads.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// How many chains the audit trail spreads over (`database.audit_chains`).
    pub fn audit_chains(&self) -> u16 {
        self.audit_chains
    }

    /// Which engine this is.
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Starts a write transaction (serialized on SQLite, see the module docs).
    ///
    /// The `BEGIN` runs to its end in a task of its own, whatever happens to the caller: a
    /// request dropped while its `BEGIN` is on the wire (its client went away) would otherwise
    /// return its connection to the pool inside a transaction that nothing ends, on PostgreSQL
    /// (sqlx counts the transaction only once `BEGIN` has answered, and its roll-back-on-drop
    /// goes by that count), and the next borrower's statements would run in it. Finished, the
    /// transaction is rolled back as usual when nobody takes it.
    pub async fn begin_write(&self) -> Result<WriteTxn, DbErr> {
        let guard = match &self.writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let conn = self.conn.clone();
        let sqlite = guard.is_some();
        let txn = tokio::spawn(async move {
            if sqlite {
                conn.begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..TransactionOptions::default()
                })
                .await
            } else {
                conn.begin().await
            }
        })
        .await
        .map_err(|error| {
            DbErr::Custom(format!("the task beginning a transaction failed: {error}"))
        })??;
        Ok(WriteTxn { txn, _guard: guard })
    }

    /// Runs the migrations of `M` up to the latest.
    pub async fn migrate<M: MigratorTrait>(&self) -> Result<(), DbErr> {
        M::up(&self.conn, None).await
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.conn.ping().await
    }
}

/// A write transaction; commits only when told, rolls back when dropped.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _guard: Option<OwnedMutexGuard<()>>,
}

impl WriteTxn {
    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }
}

impl Deref for WriteTxn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &Self::Target {
        &self.txn
    }
}

/// True when a database error is a unique-constraint violation (a lost race or a duplicate).
pub fn is_unique_violation(error: &DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// True when a database error means "not now" rather than "never": the pool or the connection
/// is gone, or the engine refused because of another writer (SQLite busy or locked; a
/// PostgreSQL serialization failure, deadlock or lock timeout). The same request can succeed
/// when sent again.
pub fn is_transient(error: &DbErr) -> bool {
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(sqlx_error))
        | DbErr::Query(RuntimeErr::SqlxError(sqlx_error)) => match &**sqlx_error {
            sea_orm::sqlx::Error::Database(database) => {
                let code = database.code().unwrap_or_default();
                // SQLite: 5 BUSY (and its extended codes 261, 517, 773), 6 LOCKED (262).
                // PostgreSQL: 40001 serialization failure, 40P01 deadlock, 55P03 lock timeout.
                matches!(
                    &*code,
                    "5" | "6" | "261" | "262" | "517" | "773" | "40001" | "40P01" | "55P03"
                )
            }
            sea_orm::sqlx::Error::Io(_)
            | sea_orm::sqlx::Error::PoolTimedOut
            | sea_orm::sqlx::Error::PoolClosed
            | sea_orm::sqlx::Error::WorkerCrashed => true,
            _ => false,
        },
        _ => false,
    }
}

/// What a caller sees of a failed database access of `database` (e.g. "the registry
/// database"): UNAVAILABLE for a transient failure (retry), INTERNAL otherwise; either way the
/// cause is logged here and never sent.
pub fn api_error(database: &str, error: &DbErr) -> ApiError {
    if is_transient(error) {
        ApiError::unavailable(database, error)
    } else {
        ApiError::internal(&format!("accessing {database}"), error)
    }
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.as_bytes()[0].is_ascii_lowercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn schema_names() {
        assert!(is_identifier("registry"));
        assert!(is_identifier("t_0a1b"));
        assert!(!is_identifier("Registry"));
        assert!(!is_identifier("a;drop"));
        assert!(!is_identifier(""));
    }
}
