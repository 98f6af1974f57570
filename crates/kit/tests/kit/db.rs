//! Write transactions on SQLite when another process writes the same file.

use std::time::Duration;

use govmedia_kit::db::{Db, is_transient};
use govmedia_test_support::{Backend, TestBackends};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

async fn count(db: &Db) -> i64 {
    db.conn()
        .query_one_raw(Statement::from_string(
            db.backend(),
            "SELECT COUNT(*) AS n FROM idempotency_keys",
        ))
        .await
        .expect("count")
        .expect("row")
        .try_get::<i64>("", "n")
        .expect("n")
}

fn insert(backend: DbBackend, id: &str) -> Statement {
    Statement::from_string(
        backend,
        format!(
            "INSERT INTO idempotency_keys (scope, request_id, fingerprint, response, created_at) \
             VALUES ('s', '{id}', 'f', x'00', '2026-01-01T00:00:00Z')"
        ),
    )
}

/// Two handles on one SQLite file behave like two processes: the in-process writer lock does
/// not cover the other. A writer that read before the other committed must wait for the write
/// lock and then see a consistent database, never fail with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sqlite_writer_waits_instead_of_failing() {
    let backends = TestBackends::new(Backend::Embedded).await;
    let first = super::open(&backends).await;
    let second = Db::connect(&backends.database, "kit")
        .await
        .expect("second handle");

    let holding = first.begin_write().await.expect("first writer");
    holding
        .execute_raw(insert(first.backend(), "one"))
        .await
        .expect("first insert");
    let waiting = tokio::spawn(async move {
        let txn = second.begin_write().await?;
        let seen = txn
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT COUNT(*) AS n FROM idempotency_keys",
            ))
            .await?
            .map(|row| row.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or_default();
        txn.execute_raw(insert(DbBackend::Sqlite, "two")).await?;
        txn.commit().await?;
        Ok::<i64, sea_orm::DbErr>(seen)
    });
    // Let the second writer reach its BEGIN and block there.
    tokio::time::sleep(Duration::from_millis(200)).await;
    holding.commit().await.expect("first commit");
    let seen = waiting.await.expect("task").unwrap_or_else(|error| {
        panic!(
            "second writer failed (transient: {}): {error}",
            is_transient(&error)
        )
    });
    assert_eq!(
        seen, 1,
        "the second writer started after the first committed"
    );
    assert_eq!(count(&first).await, 2);
}

/// A request whose caller goes away is dropped wherever it waits, also in the middle of the
/// `BEGIN` of its write. The connection must still go back to the pool outside any transaction:
/// a connection left inside one would run the statements of whoever borrows it next in that
/// stale transaction (their autocommitted writes uncommitted, their locks held).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_dropped_while_it_begins_leaves_no_transaction_open() {
    if govmedia_test_support::skip_production() {
        return;
    }
    let backends = TestBackends::new(Backend::Production).await;
    let mut settings = backends.database.clone();
    // One connection: whoever comes next gets the very connection the dropped write had.
    settings.max_connections = 1;
    let db = Db::connect(&settings, "kit").await.expect("connect");
    // Two statements in a row get two transaction ids, unless they run in the same transaction.
    let xid = || async {
        db.conn()
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT txid_current() AS xid",
            ))
            .await
            .expect("query")
            .expect("row")
            .try_get::<i64>("", "xid")
            .expect("xid")
    };
    let stale = || async { xid().await == xid().await };
    assert!(!stale().await, "the check itself");
    // Drop the write after a varying number of scheduler turns, so that some drops fall while
    // BEGIN is on the wire.
    for turns in 0..300 {
        let write = db.begin_write();
        let give_up = async {
            for _ in 0..turns % 60 {
                tokio::task::yield_now().await;
            }
        };
        tokio::select! {
            txn = write => drop(txn.expect("begin")),
            () = give_up => {}
        }
        assert!(
            !stale().await,
            "after a write dropped at turn {turns}, the next statement ran inside its transaction"
        );
    }
}
